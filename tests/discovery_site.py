"""The fixture site the discovery tests build: tagged posts, a long post, a draft, pages."""

from __future__ import annotations

from pathlib import Path

from conftest import Site

# A word and slugs that only the drafts carry: none of them may appear outside drafts/.
DRAFT_WORD = "zorblaxian"
DRAFT_SLUG = "secret-plans"
DRAFT_PAGE_SLUG = "unfinished-page"

# Templates layered over the theme: each article page also writes what the
# discovery plugins gave it as JSON, so the tests read the real template context.
PROBE = """{% extends "!theme/article.html" %}
{% block head %}{{ super() }}
<script type="application/json" id="discovery-probe">{{ {
  "related": article.related_posts|map(attribute="slug")|list,
  "reading_time": article.reading_time,
  "toc": article.toc,
  "older": article.prev_article.slug if article.prev_article else none,
  "newer": article.next_article.slug if article.next_article else none,
}|tojson }}</script>
{% endblock %}
"""

LONG_BODY = "\n\n".join(
    [
        "An introduction paragraph about backups.",
        "## Why back up",
        "Because disks fail. " * 40,
        "### Disks",
        "Spinning rust and flash both fail. " * 40,
        "## How to restore",
        "Test your restores. " * 40,
        "## Closing",
        "That is all.",
    ]
)


def make_site(base: Path) -> Site:
    """Write the fixture site under base (not built)."""
    site = Site(base)
    site.post("alpha", "Alpha", "2021-01-10 10:00", "Alpha is about servers and a psychotherapist.",
              tags="servers, backups, sales", category="Tech", summary="Alpha's summary.")
    site.post("bravo", "Bravo", "2021-01-05 10:00", "Bravo shares two tags.", tags="servers, backups", category="Tech")
    site.post("charlie", "Charlie", "2021-01-20 10:00", "Charlie shares one tag, close in time.", tags="servers", category="Tech")
    site.post("delta", "Delta", "2020-06-01 10:00", "Delta shares one tag, far in time.", tags="sales", category="Business")
    site.post("echo", "Echo", "2021-02-01 10:00", "Echo has no tags at all.", category="Business")
    site.post("long-read", "Backups, a long read", "2021-03-01 10:00", LONG_BODY, tags="backups", category="Tech")
    # A title that would break out of a <script> if the JSON-LD were not escaped.
    site.post("escaping", "Less &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; is &quot;more&quot;", "2021-04-01 10:00",
              "A post whose title holds markup.", category="Tech", summary="About &lt;/script&gt; tags.")
    site.post(DRAFT_SLUG, "Secret plans", "2021-01-11 10:00", f"The {DRAFT_WORD} plan must not leak.",
              tags="servers, backups, sales", category="Tech", status="draft")
    site.write("pages/about.md", "Title: About\nSlug: about\nSummary: Who writes here.\n\nI write about consulting.\n")
    site.write(f"pages/{DRAFT_PAGE_SLUG}.md",
               f"Title: Unfinished\nSlug: {DRAFT_PAGE_SLUG}\nStatus: draft\n\nA {DRAFT_WORD} page in progress.\n")
    site.write("../templates/article.html", PROBE)
    return site


def build_site(site: Site, settings_file: Path, **extra):
    """Build the fixture site with the probe templates layered over the theme."""
    return site.build(settings_file, THEME_TEMPLATES_OVERRIDES=[str(site.base / "templates")], **extra)


PUBLISHED_POSTS = {
    "alpha": "2021/01/alpha.html",
    "bravo": "2021/01/bravo.html",
    "charlie": "2021/01/charlie.html",
    "delta": "2020/06/delta.html",
    "echo": "2021/02/echo.html",
    "long-read": "2021/03/long-read.html",
    "escaping": "2021/04/escaping.html",
}
PUBLISHED_PAGES = {"about": "p/about.html"}
