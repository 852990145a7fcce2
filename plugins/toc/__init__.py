"""Give every post `article.toc`: a nested list of links to its headings, or "" for a short post.

Ours: the Markdown `toc` extension (configured in MARKDOWN) already gives
every heading an `id`, but Pelican does not hand the extension's table to
templates, and the PyPI pelican-toc plugin rewrites the content with
BeautifulSoup and its own ids. This plugin reads the headings (and the ids
the toc extension wrote) from the rendered HTML and builds the list only when
a post has at least `min_headings` of them, so short posts get none.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from markupsafe import Markup
from pelican import signals

from blogkit import runhooks
from blogkit.plugin_settings import resolve, whole_number, with_defaults

DEFAULTS = {
    # A post with fewer headings than this gets an empty toc.
    "min_headings": 3,
    # Heading levels listed (h1 is the post title).
    "levels": (2, 3),
}


def _heading_levels(levels) -> bool:
    return isinstance(levels, (list, tuple)) and all(whole_number(1)(n) and n <= 6 for n in levels)


CHECKS = {
    "min_headings": (whole_number(0), "a whole number >= 0"),
    "levels": (_heading_levels, "a list of heading levels from 1 to 6, e.g. (2, 3)"),
}


def toc_settings(settings: dict) -> dict:
    """Return the TOC setting with every default filled in."""
    config = with_defaults(settings, "TOC", DEFAULTS, CHECKS)
    config["levels"] = tuple(sorted(int(level) for level in config["levels"]))
    return config


class _Headings(HTMLParser):
    """Collect (level, id, text) of the headings of the wanted levels that carry an id."""

    def __init__(self, levels):
        super().__init__(convert_charrefs=True)
        self.levels = {f"h{level}": level for level in levels}
        self.found: list[tuple[int, str, str]] = []
        self._open: tuple[int, str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.levels and self._open is None:
            ident = dict(attrs).get("id")
            if ident:
                self._open = (self.levels[tag], ident, [])

    def handle_data(self, data):
        if self._open is not None:
            self._open[2].append(data)

    def handle_endtag(self, tag):
        if self._open is not None and tag == f"h{self._open[0]}":
            level, ident, parts = self._open
            self.found.append((level, ident, " ".join("".join(parts).split())))
            self._open = None


# Whole heading elements; only these are parsed (parsing every post's whole body
# took about a tenth of a 1,000-post build).
HEADING_RE = re.compile(r"<h([1-6])\b[^>]*>.*?</h\1\s*>", re.I | re.S)


def headings(html: str, levels=(2, 3)) -> list[tuple[int, str, str]]:
    """Return (level, id, text) for each heading of the given levels in an HTML fragment."""
    parser = _Headings(levels)
    parser.feed("".join(m.group(0) for m in HEADING_RE.finditer(html or "") if int(m.group(1)) in levels))
    parser.close()
    return parser.found


def render_toc(found: list[tuple[int, str, str]]) -> Markup:
    """Render headings as nested <ol> lists (deeper levels nest under the heading before them)."""
    out: list[str] = []
    depth: list[int] = []
    for level, ident, text in found:
        if not depth or level > depth[-1]:
            out.append("<ol>")
            depth.append(level)
        else:
            while len(depth) > 1 and level < depth[-1]:
                out.append("</li></ol>")
                depth.pop()
            out.append("</li>")
        out.append(f'<li><a href="#{escape(ident)}">{escape(text)}</a>')
    while depth:
        out.append("</li></ol>")
        depth.pop()
    # Markup: every id and text above is escaped here, so the autoescaping theme prints it as is.
    return Markup("".join(out))


# plugins/fastbuild's read workers find each body's headings (WORKER_BODY), for the levels the
# settings asked for when the pool started, and send them back with the HTML (BODY_VALUES):
# (body, levels) -> headings. attach() takes them when body and levels are still the same, and
# reads any other body itself.
WORKER_BODY, BODY_VALUES = runhooks.WORKER_BODY, runhooks.BODY_VALUES
_found: dict[tuple[str, tuple], list] = {}


def _headings_in_worker(html: str, settings=None, **_) -> dict | None:
    if settings is None:
        return None
    config, errors = resolve(settings.get("TOC"), "TOC", DEFAULTS, CHECKS)  # reported by the main process
    if errors:
        return None
    levels = tuple(sorted(int(level) for level in config["levels"]))
    return {"toc.headings": (levels, headings(html, levels))}


def _take_headings(html: str, values: dict, **_) -> None:
    found = values.get("toc.headings")
    if found is not None:
        _found[(html, found[0])] = found[1]


WORKER_BODY.connect(_headings_in_worker)  # at import: a fresh process's read pool forks before register()


def check_settings(pelican) -> None:
    """Report a bad TOC at start-up."""
    _found.clear()
    toc_settings(pelican.settings)


def attach(generator) -> None:
    """Set toc on every post and draft."""
    config = toc_settings(generator.settings)
    levels = config["levels"]
    for article in generator.articles + generator.translations + generator.drafts:
        found = _found.pop((article._content, levels), None)
        if found is None:
            found = headings(article._content, levels)
        article.toc = render_toc(found) if len(found) >= config["min_headings"] else ""
    _found.clear()


def _disconnect(_pelican) -> None:
    """Leave a later build of this process that does not list the plugin alone."""
    WORKER_BODY.disconnect(_headings_in_worker)
    BODY_VALUES.disconnect(_take_headings)
    _found.clear()


def register():
    """Hook the plugin into Pelican."""
    signals.initialized.connect(check_settings)
    signals.article_generator_finalized.connect(attach)
    WORKER_BODY.connect(_headings_in_worker)
    BODY_VALUES.connect(_take_headings)
    signals.finalized.connect(_disconnect)
