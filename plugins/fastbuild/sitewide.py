"""`{% sitewide "name" %}...{% endsitewide %}`: a part of the theme that is the same on every page.

The sidebar's archive tree and label list are the same on each of a build's
thousands of pages, yet Jinja renders them again for each. Inside this tag the
body is rendered once per build (per Jinja environment, which Pelican makes
anew for every run) and the HTML reused, when plugins/fastbuild switches the
cache on; otherwise the body is rendered every time, which is how
tests/test_fast_build.py proves a cached part really is the same everywhere:
the serial build renders it on every page and must write the same bytes.

A sitewide part may use only what is the same on every page (the site's
context: period_archives, tags, pages, settings), never `article`, `page`
or `output_file`. The bodies it reads are credited to every page that shows
it (blogkit.rendermemo), so incremental rendering sees them.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.ext import Extension

from . import memo as rendermemo


class SitewideExtension(Extension):
    """Render the body once per build and reuse it on every page."""

    tags = {"sitewide"}

    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(sitewide_cache=None)  # a dict once plugins/fastbuild switches caching on

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        name = parser.parse_expression()
        body = parser.parse_statements(("name:endsitewide",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", [name]), [], [], body).set_lineno(lineno)

    def _render(self, name, caller):
        cache = self.environment.sitewide_cache
        if cache is None:
            return caller()
        hit = cache.get(name)
        if hit is None:
            hit = cache[name] = rendermemo.capture_reads(caller)
        html, reads = hit
        rendermemo.note_reads(reads)
        return html


def enable_cache(environment) -> None:
    """Render each sitewide part once in this environment (one build's)."""
    if hasattr(environment, "sitewide_cache"):
        environment.sitewide_cache = {}
