"""Blogger's old addresses that have no page of their own here get a redirect stub.

Posts, pages, year and month archives already live at Blogger's paths
(pelicanconf.py). Two kinds of old address remain:

- label pages: Blogger served `/search/label/Disaster%20Recovery`; our tag
  pages live at `search/label/<slug>.html` (e.g. `disaster-recovery.html`),
  so every link we write is a clean, valid URL and tag feeds keep their slug
  names. For each tag a stub `search/label/<Label name>.html` (spaces, `&`
  and capitals as in Blogger) points to it; GitHub Pages and `invoke serve`
  answer `/search/label/Disaster%20Recovery` with that file.
- classic archive pages `/YYYY_MM_01_archive.html`: a stub per month with
  posts, pointing to the month archive `/YYYY/MM/`.

Feed readers follow no HTML redirect, so Blogger's feed address
`/feeds/posts/default` gets a copy of the site's Atom feed instead (for a blog
whose own domain now points here; a *.blogspot.com feed URL stays Blogger's).

A stub is a small valid HTML page: `<link rel="canonical">` to the new page,
an instant `<meta http-equiv="refresh">`, a plain link, and `noindex`. No
script, so it works under the site's Content-Security-Policy.

Ours rather than a PyPI plugin: pelican-redirect-stubs style plugins take a
hand-written list of old URLs; these are derived from the content itself, so
a new label or month gets its Blogger address without anyone listing it.

Settings (defaults applied in `settings`):
    BLOGGER_REDIRECTS = {"labels": True, "month_archives": True, "feed": True}
"""

from __future__ import annotations

import html
import logging
import os
import shutil

from pelican import signals
from pelican.generators import Generator
from pelican.utils import sanitised_join

from blogkit import runhooks
from blogkit.plugin_settings import with_defaults

logger = logging.getLogger(__name__)

DEFAULTS = {"labels": True, "month_archives": True, "feed": True}
BLOGGER_FEED = "feeds/posts/default"

STUB = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="description" content="Moved to {href}">
<meta name="robots" content="noindex">
{feeds}
<link rel="canonical" href="{href}">
<meta http-equiv="refresh" content="0; url={href}">
</head>
<body>
<p>This page has moved to <a href="{href}">{title}</a>.</p>
</body>
</html>
"""


def settings(pelican_settings: dict) -> dict:
    """Return the plugin's settings with defaults applied."""
    flag = (lambda value: isinstance(value, bool), "True or False")
    return with_defaults(pelican_settings, "BLOGGER_REDIRECTS", DEFAULTS, dict.fromkeys(DEFAULTS, flag))


def check_settings(pelican) -> None:
    """Report a bad BLOGGER_REDIRECTS at start-up."""
    settings(pelican.settings)


def stubs(context: dict, pelican_settings: dict) -> dict[str, tuple[str, str]]:
    """Map each old Blogger path to (new URL, title) for this site's content."""
    conf = settings(pelican_settings)
    found: dict[str, tuple[str, str]] = {}
    if conf["month_archives"] and pelican_settings.get("MONTH_ARCHIVE_SAVE_AS"):
        for article in context.get("articles", []):
            date = article.date
            old = f"{date:%Y}_{date:%m}_01_archive.html"
            found[old] = (pelican_settings["MONTH_ARCHIVE_URL"].format(date=date), f"{date:%B %Y}")
    if conf["labels"] and pelican_settings.get("TAG_SAVE_AS"):
        # Every spelling a post used: Blogger's "Sales" and "sales" are one tag here, two URLs there.
        tags = [tag for article in context.get("articles", []) for tag in getattr(article, "tags", [])]
        tags += [tag for tag, _articles in context.get("tags", [])]
        for tag in tags:
            name = str(tag.name)
            if "/" in name or name.startswith(".") or not name.strip():
                logger.info("blogger_redirects: no label stub for %r (not a file name)", name)
                continue
            old = f"search/label/{name}.html"
            if old != tag.save_as:
                found[old] = (tag.url, name)
    return found


class BloggerRedirectsGenerator(Generator):
    """Write a redirect stub for each old Blogger address without a page of its own."""

    def generate_output(self, writer=None):
        siteurl = self.settings.get("SITEURL", "").rstrip("/")
        # Finished as they are written (plugins/csp puts in each one's policy), so that none is read again.
        run = runhooks.current()
        feeds = self._feed_links()
        for old, (url, title) in sorted(stubs(self.context, self.settings).items()):
            path = sanitised_join(self.output_path, old)
            # On a case-insensitive disk "Sales.html" is the tag page "sales.html" itself.
            if os.path.exists(path):
                continue
            href = f"{siteurl}/{url}" if siteurl else f"/{url}"
            text = STUB.format(lang=self.settings.get("DEFAULT_LANG", "en"), title=html.escape(title),
                               href=html.escape(href), feeds=feeds)
            if run is not None:
                text = run.finish_html(path, text)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        self._copy_feed()

    def _copy_feed(self) -> None:
        """Put the site's Atom feed at Blogger's feed address, for readers subscribed to it."""
        atom = self.settings.get("FEED_ALL_ATOM")
        source = os.path.join(self.output_path, atom) if atom else None
        if not settings(self.settings)["feed"] or not source or not os.path.isfile(source):
            return
        target = sanitised_join(self.output_path, BLOGGER_FEED)
        if os.path.exists(target):
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)

    def _feed_links(self) -> str:
        """Render the site-wide feed links every page carries in its head."""
        domain = (self.settings.get("FEED_DOMAIN") or "").rstrip("/")
        links = []
        for key, kind in (("FEED_ALL_ATOM", "atom"), ("FEED_ALL_RSS", "rss")):
            if self.settings.get(key):
                href = html.escape(f"{domain}/{self.settings[key]}")
                title = html.escape(f"{self.settings.get('SITENAME', '')} ({kind.upper() if kind == 'rss' else 'Atom'})")
                links.append(f'<link rel="alternate" type="application/{kind}+xml" title="{title}" href="{href}">')
        return "\n".join(links)


def get_generators(pelican_object):
    return BloggerRedirectsGenerator


def register():
    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
