"""Build, check and publish helpers for the blog; tasks.py only calls into here.

Two floors, with Pelican and plugins/ between them (README, "Where things live"):
the tools (build, serve, publish, check/, comments, newpost, progress, blogger/)
stand above the plugins and may import them; the foundations (problems, runhooks,
plugin_settings, slugs, comment_files, htmlscan) stand below and import nothing of
blogkit's tools or plugins/, so every floor can use them. tests/test_house.py
checks that imports only run down, and never round a loop.
"""
