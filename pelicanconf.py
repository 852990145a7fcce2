"""Pelican settings for local builds; publishconf.py overrides what differs in production."""

import os
import sys

# Plugins (plugins.<name>) and the build helpers (blogkit) are packages beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Identity of the blog.
AUTHOR = "The Consultant"
SITENAME = "Consulting Notes"
SITESUBTITLE = "An IT consultant on clients, sales and keeping systems running. Since 2007."
SITEURL = ""
DEFAULT_LANG = "en"  # until invoke import-blogger sets the blog's own (edit this line to choose one)

# Where content lives and where it goes.
PATH = "content"
ARTICLE_PATHS = ["posts"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images", "extra"]
EXTRA_PATH_METADATA = {}
# Folders are years (and months for imported posts), not categories.
USE_FOLDER_AS_CATEGORY = False
DEFAULT_CATEGORY = "Consulting"
OUTPUT_PATH = "output"
THEME = "theme"

# Dates: the blog's timezone and Blogger's day header ("Thursday, January 11, 2007").
TIMEZONE = "America/New_York"
DEFAULT_DATE_FORMAT = "%A, %B %-d, %Y"
DEFAULT_DATE = None
# A post dated in the future is scheduled: left out (and reported) until its date.
WITH_FUTURE_DATES = False

# URLs identical to Blogger's, so every old link keeps working.
ARTICLE_URL = "{date:%Y}/{date:%m}/{slug}.html"
ARTICLE_SAVE_AS = ARTICLE_URL
DRAFT_URL = "drafts/{slug}.html"
DRAFT_SAVE_AS = DRAFT_URL
PAGE_URL = "p/{slug}.html"
PAGE_SAVE_AS = PAGE_URL
YEAR_ARCHIVE_URL = "{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
MONTH_ARCHIVE_URL = "{date:%Y}/{date:%m}/"
MONTH_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/index.html"
DAY_ARCHIVE_SAVE_AS = ""
# Tag pages at clean slugs (search/label/disaster-recovery.html); plugins/blogger_redirects
# answers Blogger's own label URLs (/search/label/Disaster%20Recovery) with a stub to them.
TAG_URL = "search/label/{slug}.html"
TAG_SAVE_AS = TAG_URL
TAGS_URL = "tags.html"
TAGS_SAVE_AS = TAGS_URL
CATEGORY_URL = "category/{slug}.html"
CATEGORY_SAVE_AS = CATEGORY_URL
AUTHOR_URL = "author/{slug}.html"
AUTHOR_SAVE_AS = AUTHOR_URL
ARCHIVES_URL = "archives.html"
ARCHIVES_SAVE_AS = ARCHIVES_URL
DIRECT_TEMPLATES = ["index", "archives", "tags", "categories", "authors", "404", "search"]

# Listing and pagination.
DEFAULT_PAGINATION = 10
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
SUMMARY_MAX_LENGTH = 60

# Feeds: Atom and RSS, whole site plus one per category and per tag, full content. A feed
# needs absolute links: here those of `invoke serve`'s address (serve and livereload use
# their own port), in publishconf.py the public one. Drafts never enter a feed.
FEED_DOMAIN = "http://127.0.0.1:8000"
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/category/{slug}.atom.xml"
CATEGORY_FEED_RSS = "feeds/category/{slug}.rss.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False

# Sitemap (pelican-sitemap) and robots.txt: every published post and page, no drafts, no 404/search page.
SITEMAP = {
    "format": "xml",
    "exclude": [r"^404\.html$", r"^search\.html$", r"^drafts/"],
    "changefreqs": {"articles": "monthly", "pages": "monthly", "indexes": "weekly"},
}
ROBOTS = {"sitemap": "sitemap.xml", "disallow": []}

# Markdown: fenced code, tables, footnotes, heading anchors; Pygments highlights with CSS classes.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {"permalink": False},
    },
    "output_format": "html5",
}
TYPOGRIFY = False

# Caching: Pelican's content cache makes local rebuilds fast.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
CHECK_MODIFIED_METHOD = "mtime"
GZIP_CACHE = False  # gzip costs more time than the disk space it saves

# Local builds: root-relative links, served by `invoke serve` / `invoke livereload`.
RELATIVE_URLS = False
DELETE_OUTPUT_DIRECTORY = False

# Plugins: PyPI namespace plugins plus our own in plugins/, in the order they must run. Ours are
# named plugins.<name>, the one module name Pelican, blogkit and the tests all import.
PLUGINS = [
    "plugins.strict",  # first: it withdraws contents it stops before other plugins count them
    "plugins.fastbuild",  # parallel parsing and rendering, same output
    "plugins.label_slugs",  # a usable slug for every tag, e.g. the label "(" (before anything reads tag.slug)
    "plugins.blogger_redirects",  # old Blogger label and archive addresses
    "plugins.assets",  # one CSS and one JS bundle
    "plugins.comments",  # archived comments and the live comment service
    "plugins.images",  # sized AVIF/WebP copies, width/height, lazy loading, captions, first_image
    "pelican.plugins.sitemap",
    "plugins.robots",
    "plugins.search",  # Pagefind index of the written site
    "plugins.related",
    "plugins.readtime",
    "plugins.toc",
    "plugins.embeds",  # click-to-load video and document players; tells csp which frames a page may load
    "plugins.summaries",  # list-page summaries that end between elements, never inside one
    "pelican.plugins.neighbors",  # Newer/Older links
    "plugins.csp",  # last: it reads the finished pages
]

# Comments: Isso by default (its URL can come from the ISSO_URL environment variable; empty
# means no live comments in local builds), loaded when a reader nears them. See plugins/comments.
COMMENTS = {
    "provider": "isso",
    "load": "lazy",
    "isso": {"url": ""},
}

# Discovery: the search page (Pagefind; its no-JS form goes to a web search), related posts,
# reading time, table of contents.
SEARCH = {"index": True, "js": True, "fallback_action": "https://duckduckgo.com/", "fallback_site_param": "sites"}
RELATED_POSTS = {"max": 5, "candidates_per_tag": 30}
READTIME = {"words_per_minute": 230}
TOC = {"min_headings": 3, "levels": (2, 3)}

# Content-Security-Policy meta on every page (plugins/csp): 'self', the comment service, hashed
# inline scripts, WebAssembly on the search page.
# The no-JS search form submits to the web search (SEARCH's fallback_action): allowed on search.html only.
CSP = {
    "enabled": True,
    "wasm": ["search.html"],
    "extra": {},
    "pages": {"search.html": {"form-action": [SEARCH["fallback_action"]]}},
}

# Templates: everything printed is escaped unless it is HTML we made safe (Pelican's rendered
# bodies, the sanitised comments, the toc); the sidebar is rendered once per build (plugins/fastbuild/sitewide.py).
JINJA_ENVIRONMENT = {
    "autoescape": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": ["plugins.fastbuild.sitewide.SitewideExtension"],
}

# Navigation and sidebar: the sidebar lists the SIDEBAR_LABELS most used labels (None: every label)
# and links to the page of all of them.
DISPLAY_PAGES_ON_MENU = True
DISPLAY_CATEGORIES_ON_MENU = False
MENUITEMS = ()
SIDEBAR_LABELS = 40

# Theme assets (plugins/assets): one CSS and one JS bundle; Pygments styles must pass 4.5:1 contrast.
ASSETS_PYGMENTS_LIGHT = "default"
ASSETS_PYGMENTS_DARK = "github-dark"
ASSETS_JS = ["frame-guard.js", "theme-toggle.js", "copy-code.js", "comments.js", "embeds.js"]  # drop a name to switch that feature off

# Images (plugins/images): copies at these widths in AVIF and WebP, cached under CACHE_PATH;
# `sizes` is the post column's width in the theme.
IMAGES = {"widths": [480, 960, 1440], "sizes": "(min-width: 60rem) 44rem, calc(100vw - 2rem)"}
