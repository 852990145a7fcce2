"""Click-to-load embeds: a video or document player loads only when the reader asks for it.

Ours rather than a PyPI plugin: the Pelican embed plugins (pelican-youtube, liquid_tags)
write the iframe straight into the page, so the third party is contacted (and sets its
cookies) on every page view, and the CSP would have to allow its frames everywhere.

A post holds (the Blogger importer writes it; an author may write it by hand)::

    <figure class="embed embed-youtube" data-embed-src="https://www.youtube-nocookie.com/embed/ID">
      <a href="https://www.youtube.com/watch?v=ID">Title</a></figure>

Without JavaScript that is a link to the video. theme/static/js/embeds.js adds a play
button that replaces the figure's content by the iframe on click, nothing before.
This plugin:
- checks each such figure in a post or page: its player must be on an allowed origin
  and it must hold a link (the no-JS fallback); otherwise the build reports the file;
- gives the content an `embeds` variable: [{"src", "origin", "kind"}] in page order;
- tells plugins/csp, through the "csp.frame_sources" signal, which origins a written
  page may frame: only the allowed origins its own embed figures name, so pages
  without an embed keep `frame-src 'none'`.

Settings (under EMBEDS, defaults applied in `settings`):
    origins   player origins a figure may load on click (youtube-nocookie, Vimeo, Google Docs/Drive)
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from blinker import signal
from pelican import signals

from blogkit.plugin_settings import with_defaults
from blogkit.problems import report

DEFAULTS = {
    "origins": ["https://www.youtube-nocookie.com", "https://player.vimeo.com", "https://docs.google.com",
                "https://drive.google.com"],
}
# plugins/csp sends each page's HTML and adds the origins receivers return to its frame-src.
FRAME_SOURCES = signal("csp.frame_sources")
FIGURE_RE = re.compile(r"<figure\b([^>]*\bdata-embed-src\s*=[^>]*)>(.*?)</figure\s*>", re.I | re.S)
ATTR_RE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")

_allowed: set[str] = set(DEFAULTS["origins"])


def settings(pelican_settings: dict) -> dict:
    """EMBEDS laid over the defaults."""
    return with_defaults(pelican_settings, "EMBEDS", DEFAULTS, {"origins": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(o, str) and origin(o) for o in v),
        'a list of https origins such as "https://www.youtube-nocookie.com"')})


def origin(url: str) -> str:
    """scheme://host[:port] of an https URL, or "" for anything else."""
    parts = urlsplit(url)
    return f"https://{parts.netloc.lower()}" if parts.scheme == "https" and parts.netloc else ""


def find_embeds(text: str) -> list[dict]:
    """The embed figures in HTML: [{"src", "origin", "kind", "has_link"}] in order."""
    found = []
    if "data-embed-src" not in text:
        return found
    for match in FIGURE_RE.finditer(text):
        attrs = {m.group(1).lower(): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
                 for m in ATTR_RE.finditer(match.group(1))}
        classes = attrs.get("class", "").split()
        kind = next((c[len("embed-"):] for c in classes if c.startswith("embed-")), "")
        src = attrs.get("data-embed-src", "")
        found.append({"src": src, "origin": origin(src), "kind": kind,
                      "has_link": bool(re.search(r"<a\b[^>]*\bhref=", match.group(2), re.I))})
    return found


def frame_sources(page_html: str) -> list[str]:
    """The allowed origins the embed figures of a written page load on click (for its CSP frame-src)."""
    return sorted({e["origin"] for e in find_embeds(page_html) if e["origin"] in _allowed})


def initialized(pelican) -> None:
    """Read the allowed origins once per build."""
    global _allowed
    _allowed = {origin(o) or o for o in settings(pelican.settings)["origins"]}


def content_init(content) -> None:
    """Check a post's embed figures and give it the `embeds` variable."""
    text = getattr(content, "_content", "") or ""
    embeds = find_embeds(text)
    content.embeds = [{k: e[k] for k in ("src", "origin", "kind")} for e in embeds]
    source = getattr(content, "source_path", "") or "(content)"
    for embed in embeds:
        if embed["origin"] not in _allowed:
            report(source, f'embed figure with data-embed-src="{embed["src"]}": that player origin is not allowed',
                   f'use one of {sorted(_allowed)}, or add its origin to EMBEDS["origins"]')
        if not embed["has_link"]:
            report(source, f'embed figure for {embed["src"]} has no link inside: readers without JavaScript get nothing',
                   'put <a href="the video\'s page">its title</a> inside the figure')


def register():
    """Connect to Pelican and to plugins/csp."""
    signals.initialized.connect(initialized)
    signals.content_object_init.connect(content_init)
    FRAME_SOURCES.connect(frame_sources)
