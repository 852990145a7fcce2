"""plugins/readtime's word count: the fast ASCII path counts exactly what the word pattern finds.

The reading time a real build writes is tested in test_discovery.py; this pins
the count itself against the plain regular-expression count it replaced.
"""

from __future__ import annotations

import random

from plugins.readtime import _CODE, _TAG, _WORD, count_words


def regex_count(html: str) -> int:
    """The count as it was: every run of word characters after code and tags are taken out."""
    return len(_WORD.findall(_TAG.sub(" ", _CODE.sub(" ", html or ""))))


CASES = [
    "", None, "word", "  two words ", "don't stop-me now_", "a<b>c</b>d", "x<y", "<p>one</p><p>two</p>",
    "<pre><code>not counted at all</code></pre> counted", "<SCRIPT>x y z</SCRIPT>w", "it&rsquo;s 2007 &amp; 12:30",
    "tab\tand\nnewline\r\x0bvertical\x0cfeed\x1cfs", "punctuation, only; here! (yes) [no] {maybe} a.b/c",
    "’ curly ’s and café naïve", "Ünïcödé wörds and ascii", "\x00\x7f edge bytes",
]


def test_fast_count_equals_the_regex_count_on_chosen_cases():
    for html in CASES:
        assert count_words(html) == regex_count(html), repr(html)


def test_fast_count_equals_the_regex_count_on_random_ascii():
    rng = random.Random(16)
    alphabet = [chr(i) for i in range(128)] + ["<p>", "</p>", "<pre>", "</pre>", " ", " ", "word"]
    for _ in range(3000):
        html = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert count_words(html) == regex_count(html), repr(html)


# --- in a real build: the read workers count, the main process takes their counts --------------

FAST = {"FASTBUILD": {"workers": 2, "min_sources": 0}, "SEARCH": {"index": False}}
SERIAL = {"FASTBUILD": {"enabled": False}, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, "SEARCH": {"index": False}}

# A plugin that lengthens one post's body as it is read (after the worker counted the words it parsed).
LENGTHEN = """
from pelican import signals


def lengthen(content):
    if getattr(content, "slug", "") == "grows":
        content._content += "<p>" + "more " * 1000 + "</p>"


def register():
    signals.content_object_init.connect(lengthen)
"""


def minutes_shown(site, slug: str) -> int:
    import re

    found = re.search(r"(\d+) min read", site.read(f"2020/05/{slug}.html"))
    return int(found.group(1))


def _posts(site) -> None:
    site.post("short", body="A few words only.")
    site.post("long", body=" ".join(f"word{n}" for n in range(700)) + "\n\n```python\nnot counted = 1\n```\n")
    site.post("grows", body="Short at first.")
    site.post("curly", body="It’s café time: " + "naïve " * 300)


def test_a_fast_build_takes_the_workers_counts_and_counts_a_changed_body_itself(site, tmp_path, monkeypatch):
    import plugins.readtime as readtime
    from plugins.fastbuild import read as fastread
    from test_fast_build import with_test_plugin

    _posts(site)
    counted_here = []
    real = readtime.count_words
    # The workers are forked from this process, so they count through this too, but into their own list.
    monkeypatch.setattr(readtime, "count_words", lambda html: counted_here.append(html) or real(html))
    plugin = with_test_plugin(tmp_path, "lengthen", LENGTHEN)
    site.build(**FAST, **plugin)
    assert fastread.stats["parsed_in_workers"] == 4
    # Only the body changed after the read was counted in the main process.
    assert len(counted_here) == 1 and "more more" in counted_here[0]
    shown = {slug: minutes_shown(site, slug) for slug in ("short", "long", "grows", "curly")}
    assert shown == {"short": 1, "long": 4, "grows": 5, "curly": 2}

    # The same minutes as Pelican's serial path, where every count is made in the main process.
    counted_here.clear()
    readtime._counted.clear()  # the memo of this process would serve the same bodies
    site.output = tmp_path / "serial-output"
    site.build(**SERIAL, **plugin)
    assert len(counted_here) >= 4
    assert {slug: minutes_shown(site, slug) for slug in shown} == shown
