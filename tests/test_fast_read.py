"""The read workers' Markdown: inline patterns and block tests that cannot match are passed over, the HTML is the same.

plugins/fastbuild/read.py reads from each inline pattern's regex (and from the
regex of each block processor whose test only searches it) what every match
must contain, and does not try it on a text without it. These
tests convert the same sources with the workers' Markdown and with a plain one
(the blog's MARKDOWN settings) and compare, check what is read from a regex,
and check that the passing over really happens (else the tests above would
pass on plain Markdown too).
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from pathlib import Path

import pytest
from markdown import Markdown
from markdown.inlinepatterns import InlineProcessor
from pelican.settings import read_settings

from plugins.fastbuild import read

ROOT = Path(__file__).resolve().parent.parent

# Every inline pattern of the blog's Markdown, alone, together, nested, escaped and at the edges of a text.
SNIPPETS = [
    "Plain words, nothing else.",
    "Code `a` and ``b ` c`` and \\`not code\\` and \\\\`code after two backslashes`.",
    "Escapes \\* \\_ \\[ \\& \\< \\\\ and a lone backslash \\ here.",
    "A footnote[^1] and [^missing].\n\n[^1]: The note, with *emphasis* and a [link](/x).",
    "Links [inline](/a \"title\"), [ref][r], [short], [r] and ![img](/i.png), ![ref img][r], ![r].\n\n[r]: /ref\n[short]: /s",
    "Auto <https://example.com/x?a=1&b=2>, mail <me@example.com>, not auto <example.com>.",
    "A line break  \nafter two spaces, and one \nafter one.",
    "Raw <span class=\"x\">html *stays*</span> and <!-- a comment --> and a < lone sign.",
    "Entities &amp; &#169; &#x2603; &nbsp; and a lone & sign.",
    "*em* **strong** ***both*** _em_ __strong__ ___both___ a*b*c snake_case_name 2 * 3 * 4 and * spaced *.",
    "Nested **bold with `code` and [a *link*](/l)** then _under [x](/y)_.",
    "# Heading with *em*\n\n- item `code`\n- item [l](/l)\n\n| a | *b* |\n|---|---|\n| `c` | &amp; |\n\nTerm\n:   Definition *em*",
    "<div markdown=\"1\">\n*inside* html\n</div>\n\n```python\nx = '*not em*'\n```\n\n    indented *code*",
    "Abbreviations: HTML here.\n\n*[HTML]: Hyper Text Markup Language",
    "Attributes {: #id } on a paragraph with *em*.\n{: .cls }",
    # Every block test the workers may answer without a search, with and without what it needs.
    "> A quote\n> on two lines\n\nNot > a quote, and a\n>lazy one.\n\n>> nested",
    "Setext one\n==========\n\nSetext two\n---\n\nNot a heading\n= sign\n\nA - dash and = sign.",
    "Rules:\n\n* * *\n\n***\n\n- - -\n\n---\n\n___\n\n_ _ _\n\n** not a rule\n\n-- nor this",
    "1. one\n2. two\n\n3) not ordered\n\n2026. A year at the start.\n\n- a\n+ b\n* c\n\n-not a list",
    "Term\n: Definition\n\nTime: 7:10 AM, a colon that is no definition.\n\n:   Lone definition",
    "#hashtag\n\n## Two ##\n\nA # in the middle and a closing #\n\n###### Six\n\n####### Seven",
    "",
]


def _markdowns():
    settings = read_settings(str(ROOT / "pelicanconf.py"))
    read._init_worker(*read._initargs(settings))
    return read._worker["md"], Markdown(**read._markdown_settings(settings))


def _convert(md, text: str) -> str:
    md.reset()
    return md.convert(text)


def _sources() -> list[Path]:
    return sorted(ROOT.glob("content/**/*.md")) + sorted((ROOT / "tests" / "fixtures").glob("**/*.md"))


def test_the_workers_markdown_writes_what_plain_markdown_writes():
    fast, plain = _markdowns()
    texts = SNIPPETS + ["\n\n".join(SNIPPETS)] + [path.read_text(encoding="utf-8") for path in _sources()]
    assert len(texts) > len(SNIPPETS) + 2  # the real posts are among them
    for text in texts:
        assert _convert(fast, text) == _convert(plain, text), text[:80]


@pytest.mark.parametrize(("regex", "needs"), [
    (r"\[", ("[",)),
    (r"(?<!\!)\[", ("[",)),  # a negative lookbehind requires nothing
    (r"(?=ab)a", ("ab",)),  # what a lookahead requires is in the string searched
    (r"(?<=#)x", ("#",)),
    (r"(?!a)b", ("b",)),
    (r"\!\[", ("![",)),  # a run of literals is one text
    (r"  \n", ("  \n",)),
    (r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>", ("://",)),  # the rarer of '<' and '://'
    (r"\*|_", ("*", "_")),
    (r"(?:a|b)c?", ("a", "b")),  # the optional part requires nothing
    (r"(&(?:\#[0-9]+|[a-z]+);)", ("&",)),
    (r"x+", ("x",)),
    (r"x*y", ("y",)),
    (r"x*", None),
    (r"\w+", None),
    (r"[^a]", None),
    (r"(?i)a", None),  # case-insensitive: 'A' matches too
    (r"b(?i:a)", ("b",)),
    (r"(?i:a)", None),
    (r"a|\d", None),  # one alternative requires nothing we can test for
    (r"(", None),  # not a regex at all
])
def test_what_a_regex_says_every_match_contains(regex, needs):
    flags = 2 if regex.startswith("(?i)") else 0  # re.IGNORECASE, as the compiled pattern reports it
    assert read._needs(regex, flags) == needs


def _counting(md) -> list[str]:
    """The names of the patterns md's inline processor applies from now on (searches, matched or not)."""
    applied: list[str] = []
    inline = md.treeprocessors["inline"]
    apply = inline._InlineProcessor__applyPattern
    inline._InlineProcessor__applyPattern = lambda pattern, *args: applied.append(type(pattern).__name__) or apply(pattern, *args)
    return applied


def test_a_text_without_what_the_patterns_need_is_not_searched():
    md = Markdown(**read._markdown_settings(read_settings(str(ROOT / "pelicanconf.py"))))
    applied = _counting(md)
    _convert(md, "Plain words, nothing else.")
    assert len(applied) >= 10  # plain Markdown searches the text for every pattern
    read._skip_unmatchable(md)
    applied.clear()
    _convert(md, "Plain words, nothing else.")
    assert applied == []
    assert _convert(md, "A [link](/l).") == '<p>A <a href="/l">link</a>.</p>'
    assert set(applied) == {"ReferenceInlineProcessor", "LinkInlineProcessor"}


def test_a_pattern_whose_regex_cannot_be_read_is_always_tried():
    class Digits(InlineProcessor):
        def handleMatch(self, match, data):  # noqa: N802 (Markdown's name)
            element = etree.Element("b")
            element.text = match.group(0)
            return element, match.start(0), match.end(0)

    md = Markdown()
    md.inlinePatterns.register(Digits(r"\d{3}", md), "digits", 5)
    read._skip_unmatchable(md)
    assert read._needs(r"\d{3}") is None
    assert _convert(md, "Call 555 now.") == "<p>Call <b>555</b> now.</p>"


def _asked(md) -> list[str]:
    """The names of the block processors md's parser asks about a block from now on (by calling their test)."""
    asked: list[str] = []
    for processor in md.parser.blockprocessors:
        def test(parent, block, _test=processor.test, _name=type(processor).__name__):
            asked.append(_name)
            return _test(parent, block)
        processor.test = test
    return asked


def test_a_block_without_what_a_test_needs_is_not_searched():
    skippable = {"DefListProcessor", "BlockQuoteProcessor", "HashHeaderProcessor", "SetextHeaderProcessor", "HRProcessor",
                 "OListProcessor", "UListProcessor"}
    md = Markdown(**read._markdown_settings(read_settings(str(ROOT / "pelicanconf.py"))))
    ran = _asked(md)  # each test as it really runs (inside the guards put on next)
    _convert(md, "Plain words, nothing else")
    assert skippable <= set(ran)  # plain Markdown runs each of them on the paragraph
    assert {type(p).__name__ for p in md.parser.blockprocessors if read._plain_test_regex(p) is not None} == skippable
    read._skip_unmatchable_blocks(md)
    ran.clear()
    assert _convert(md, "Plain words, nothing else") == "<p>Plain words, nothing else</p>"
    assert "ParagraphProcessor" in ran and not skippable & set(ran)
    ran.clear()
    assert _convert(md, "> quoted") == "<blockquote>\n<p>quoted</p>\n</blockquote>"
    assert "BlockQuoteProcessor" in ran and "DefListProcessor" not in ran


def test_a_block_test_that_does_more_than_search_is_always_run():
    from markdown.blockprocessors import BlockProcessor

    class Marker(BlockProcessor):
        """Takes a block starting with "!!": its test reads no regex, so it must always be asked."""

        def test(self, parent, block):
            return block.startswith("!!")

        def run(self, parent, blocks):
            element = etree.SubElement(parent, "aside")
            element.text = blocks.pop(0)[2:]

    md = Markdown()
    md.parser.blockprocessors.register(Marker(md.parser), "marker", 200)
    read._skip_unmatchable_blocks(md)
    assert read._plain_test_regex(md.parser.blockprocessors["marker"]) is None
    assert _convert(md, "!!note") == "<aside>note</aside>"
