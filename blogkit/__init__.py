"""Build, check and publish helpers for the blog; tasks.py only calls into here."""
