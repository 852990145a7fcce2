"""List-page summaries that end between elements, never inside a table, list, figure or code block.

Ours rather than a PyPI plugin: pelican-summary cuts at a marker the author writes,
and Pelican's own SUMMARY_MAX_LENGTH truncation counts words through any element and
closes whatever is open, so a summary can end inside a table (half its rows, cells
missing) or a code block. Imported Blogger posts often open with a caption figure or a
table, and the publish gate's HTML check rightly fails such a fragment.

A post or page longer than SUMMARY_MAX_LENGTH words, with no Summary metadata, gets
a summary made of its first whole elements: a paragraph or heading that crosses the
limit is cut at a word (Pelican's truncate_html_words, which closes its inline tags);
a table, list, figure, code block or other structure that crosses it is left out
whole; a container (div, section, article) is entered and cut inside. If nothing fits,
the summary is the start of the post's text as one paragraph. Shorter posts keep
Pelican's behaviour (the whole post, no "Read more").

No settings of its own: SUMMARY_MAX_LENGTH and SUMMARY_END_SUFFIX are Pelican's.
"""

from __future__ import annotations

import html

from pelican import signals
from pelican.utils import truncate_html_words

# Entered and cut inside; they hold other blocks without meaning anything themselves.
CONTAINERS = {"div", "section", "article", "main", "center"}
# Cut at a word when they cross the limit: they hold text and inline elements only.
TEXT_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "span", "a", "em", "strong", "b", "i", "u", "small", "code"}
STRUCTURE = {"table", "ul", "ol", "dl", "pre", "figure", "blockquote", "iframe", "video", "audio", "object", "details"}


# Beautiful Soup is imported the first time a summary is made, not with the plugin: a blog whose
# posts all have a Summary line never needs it, and with soupsieve and html5lib it took 50-80 ms
# of every build's start-up, when one core works and the other waits.


def _parse(markup: str):
    """Beautiful Soup's tree of markup, by Python's HTML parser."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(markup, "html.parser")


def _words(node) -> int:
    from bs4 import Tag

    return len(node.get_text(" ").split()) if isinstance(node, Tag) else len(str(node).split())


def _cut(children, budget: int, suffix: str) -> tuple[list[str], int, bool]:
    """Whole children up to budget words: (HTML pieces, words used, whether something was left out)."""
    from bs4 import Comment as HtmlComment, NavigableString

    pieces, used = [], 0
    for child in children:
        if isinstance(child, HtmlComment):
            continue
        words = _words(child)
        if used + words <= budget:
            pieces.append(html.escape(str(child), quote=False) if isinstance(child, NavigableString) else str(child))
            used += words
            continue
        left = budget - used
        if isinstance(child, NavigableString):
            pieces.append(html.escape(" ".join(str(child).split()[:left]), quote=False) + suffix)
        elif child.name in CONTAINERS:
            inner, _, _ = _cut(child.children, left, suffix)
            attrs = "".join(f' {k}="{html.escape(" ".join(v) if isinstance(v, list) else v)}"' for k, v in child.attrs.items())
            pieces.append(f"<{child.name}{attrs}>{''.join(inner)}</{child.name}>")
        elif child.name in TEXT_BLOCKS and not child.find(STRUCTURE) and left > 0:
            pieces.append(truncate_html_words(str(child), left, suffix))
        elif pieces:
            pieces.append(f"<p>{html.escape(suffix, quote=False)}</p>")  # a structure left out whole
        return pieces, budget, True
    return pieces, used, False


# The summary needs only the post's first elements, and parsing the whole post was nearly all of
# this plugin's cost (about 2 ms a post of an imported Blogger blog, in the build process while
# the read workers wait). So a beginning of the post is parsed first, then four times as much,
# and so on. Python's HTML parser builds the tree from what it has read so far only, so every
# top-level element of a beginning but its last one (which the cut may have cut short) is the
# same as in the whole post; when the limit is crossed within those, the summary is the one the
# whole post gives.
FIRST_PART = 1024  # characters


def whole_element_summary(text: str, max_words: int, suffix: str = "…") -> str | None:
    """A summary of at most max_words words made of whole elements; None if the text is that short already."""
    from bs4.exceptions import ParserRejectedMarkup

    text, size = text or "", FIRST_PART
    while True:
        whole = size >= len(text)
        try:
            soup = _parse(text if whole else text[:size])
        except ParserRejectedMarkup:
            if not whole:  # a construct cut short by the beginning: parse it all
                size = len(text)
                continue
            return None  # the strict build reports the post's markup; Pelican's summary stands
        children = list(soup.children)
        if whole and _words(soup) <= max_words:
            return None
        pieces, _, crossed = _cut(children if whole else children[:-1], max_words, suffix)
        summary = "".join(pieces).strip()
        has_text = (whole or crossed) and bool(_parse(summary).get_text(strip=True))
        if whole or has_text:
            break
        size = len(text) if crossed else size * 4  # nothing fits whole: the fallback reads the whole post
    if not has_text:
        # Nothing fits whole (the post opens with a long table): the start of its text instead.
        words = soup.get_text(" ").split()[:max_words]
        summary = f"<p>{html.escape(' '.join(words), quote=False)}{html.escape(suffix, quote=False)}</p>"
    return summary


def content_init(content) -> None:
    """Give a long post without Summary metadata a summary that ends between elements."""
    settings = getattr(content, "settings", {}) or {}
    max_words = settings.get("SUMMARY_MAX_LENGTH")
    if max_words is None or "summary" in content.metadata or not getattr(content, "_content", None):
        return
    if content.__class__.__name__ not in ("Article", "Page"):
        return
    summary = whole_element_summary(content._content, max_words, settings.get("SUMMARY_END_SUFFIX", "…"))
    if summary is not None:
        content.metadata["summary"] = summary
        content._summary = summary


def register():
    """Connect to Pelican."""
    signals.content_object_init.connect(content_init)
