"""`{% sitewide "name" [per a, b] %}...{% endsitewide %}`: a part of the theme that is the same on every page.

The sidebar's archive tree and label list are the same on each of a build's
thousands of pages, yet Jinja renders them again for each. Inside this tag the
body is rendered once per build (per Jinja environment, which Pelican makes
anew for every run) and the HTML reused, when plugins/fastbuild switches the
cache on; otherwise the body is rendered every time, which is how
tests/test_fast_build.py proves a cached part really is the same everywhere:
the serial build renders it on every page and must write the same bytes.

A sitewide part may use only what is the same on every page (the site's
context: period_archives, tags, pages, settings), never `article`, `page`
or `output_file`, unless it names them after `per`: `{% sitewide "summary"
per article, lazy %}` is rendered once for each article and value of `lazy`
(a post's summary in a listing, the same in each of the eight or so lists
that show it) and may use those. Plain values (strings, numbers, None) are
told apart by value, objects by identity: a part keyed `per article` is
reused only for that very object. SITEURL is always part of the key: with
RELATIVE_URLS it differs by page. The bodies a part reads are credited to
every page that shows it (memo.py), so incremental rendering and the hot
path see them.
"""

from __future__ import annotations

from jinja2 import Undefined, nodes
from jinja2.ext import Extension

from . import memo as rendermemo


class SitewideExtension(Extension):
    """Render the body once per build (and per `per` values) and reuse it on every page."""

    tags = {"sitewide"}

    def __init__(self, environment):
        super().__init__(environment)
        # sitewide_cache: a dict once plugins/fastbuild switches caching on, key -> (html, reads);
        # sitewide_held: key -> the `per` objects, held so that their ids are not reused.
        environment.extend(sitewide_cache=None, sitewide_held=None)

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        name = parser.parse_expression()
        per = []
        if parser.stream.skip_if("name:per"):
            per.append(parser.parse_expression())
            while parser.stream.skip_if("comma"):
                per.append(parser.parse_expression())
        body = parser.parse_statements(("name:endsitewide",), drop_needle=True)
        args = [name, nodes.Name("SITEURL", "load"), nodes.List(per)]
        return nodes.CallBlock(self.call_method("_render", args), [], [], body).set_lineno(lineno)

    def _render(self, name, siteurl, per, caller):
        cache = self.environment.sitewide_cache
        if cache is None:
            return caller()
        key = (name, str(siteurl), *map(_key_part, per))
        held = self.environment.sitewide_held
        hit = cache.get(key)
        if hit is None or any(a is not b for a, b in zip(held.get(key, ()), _objects(per))):
            hit = cache[key] = rendermemo.capture_reads(caller)
            if per:
                held[key] = _objects(per)
        html, reads = hit
        rendermemo.note_reads(reads)
        return html


_SCALARS = (str, int, float, bool, type(None))


def _key_part(value):
    """A `per` value as part of the key: a plain value by value, an undefined one as such, an object by identity."""
    if isinstance(value, _SCALARS):
        return (type(value), value)
    if isinstance(value, Undefined):
        return (Undefined, None)
    return (object, id(value))


def _objects(per) -> list:
    return [value for value in per if not isinstance(value, (*_SCALARS, Undefined))]


def enable_cache(environment) -> None:
    """Render each sitewide part once in this environment (one build's)."""
    if hasattr(environment, "sitewide_cache"):
        environment.sitewide_cache = {}
        environment.sitewide_held = {}
