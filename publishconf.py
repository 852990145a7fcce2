"""Production settings: everything else comes from pelicanconf.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: E402,F403

# The public address; feeds and canonical links must be absolute. An empty
# SITEURL variable (e.g. an unset CI variable) counts as unset.
SITEURL = os.environ.get("SITEURL") or "https://blog.example.com"
FEED_DOMAIN = SITEURL

# A production build starts from nothing: no stale pages, no stale cache.
DELETE_OUTPUT_DIRECTORY = True
LOAD_CONTENT_CACHE = False

# Drafts are built locally for previewing, never for publishing.
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""

# Publishing (invoke publish): the CNAME file for GitHub Pages. None derives it
# from SITEURL's host (none for *.github.io); set "" here to write no CNAME.
PUBLISH_CNAME = os.environ.get("PUBLISH_CNAME") or None
