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
