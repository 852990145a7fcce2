"""Production settings: everything else comes from pelicanconf.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: E402,F403

# The public address; feeds and canonical links must be absolute.
SITEURL = os.environ.get("SITEURL", "https://blog.example.com")
FEED_DOMAIN = SITEURL

# A production build starts from nothing: no stale pages, no stale cache.
DELETE_OUTPUT_DIRECTORY = True
LOAD_CONTENT_CACHE = False

# The production comment server (docs/comments.md); ISSO_URL in the environment overrides it.
COMMENTS = {**COMMENTS, "isso": {**COMMENTS["isso"], "url": "https://comments.blog.example.com"}}  # noqa: F405
