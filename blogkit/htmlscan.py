"""One scanner for the HTML our builds write: start tags and their attributes, by regex.

A foundation module (it imports nothing of blogkit or plugins/). Its readers:
blogkit/check (the links, ids and JSON-LD of a built site), plugins/csp (what a
rendered page's policy must allow or would block) and plugins/strict (the links
and images in a post's HTML). It reads markup as our templates and Markdown write
it, several times faster than html.parser, which matters at 5,000 posts: a start
tag is its name and attributes separated by whitespace, a value quoted or bare;
a tag that breaks that grammar is not a tag here (the Nu HTML checker fails the
page that holds one). Where markup may be hostile and must be read exactly as a
browser reads it (a post's own HTML, in plugins/csp's content check), html.parser
does that job, not this.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import NamedTuple

# A start tag: group 1 its name, group 2 its attributes (each after whitespace), then an optional "/".
TAG_RE = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*/?>"
)
# One attribute of a start tag's attribute text: its name, and its value as written (quotes and all).
ATTR_RE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
# Comments and CDATA hold no tags; TAG_RE's groups stay groups 1 and 2.
TOKEN_RE = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|" + TAG_RE.pattern, re.S)
# Elements whose text is not markup: what looks like a tag inside them is not one.
RAW_TEXT = {"script", "style", "textarea", "title"}


def raw_attributes(text: str) -> dict[str, str]:
    """The attributes of a start tag's attribute text, names lowercased, values as written (the first of a name wins)."""
    found: dict[str, str] = {}
    for name, value in ATTR_RE.findall(text):
        value = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
        found.setdefault(name.lower(), value)
    return found


def attributes(text: str) -> dict[str, str]:
    """raw_attributes with the values' character references decoded, as a browser reads them."""
    return {name: html.unescape(value) for name, value in raw_attributes(text).items()}


class StartTag(NamedTuple):
    """One start tag of a page: its name (lowercase), attribute text and where it stands."""

    name: str
    attr_text: str
    start: int  # offset of its "<"
    end: int  # offset after its ">"
    body_end: int  # for a raw-text element (RAW_TEXT), where its text ends; else `end`

    @property
    def attrs(self) -> dict[str, str]:
        return attributes(self.attr_text)


def start_tags(text: str) -> Iterator[StartTag]:
    """Every start tag of the page in order, none from inside a comment, CDATA or a raw-text element."""
    lower = None
    pos = 0
    while match := TOKEN_RE.search(text, pos):
        pos = match.end()
        if not match.group(1):
            continue
        name = match.group(1).lower()
        body_end = pos
        if name in RAW_TEXT:
            lower = text.lower() if lower is None else lower
            body_end = lower.find(f"</{name}", pos)
            body_end = len(text) if body_end < 0 else body_end
        yield StartTag(name, match.group(2), match.start(), pos, body_end)
        pos = body_end
