"""Give every post `article.reading_time`: whole minutes to read it, at least 1.

Ours rather than PyPI's pelican-readtime: that plugin sets `readtime` as a
dict of minutes and seconds, while our theme's contract is an int in
`article.reading_time`; and the count here skips code blocks (a reader scans
code, not reads it at prose speed) and takes words from the rendered HTML, so
it is the same for every input format. It is a dozen lines with no extra
dependency.
"""

from __future__ import annotations

import math
import re

from pelican import signals

from blogkit import runhooks
from blogkit.plugin_settings import whole_number, with_defaults

DEFAULTS = {
    # Adult silent-reading speed for non-fiction prose.
    "words_per_minute": 230,
}

_CODE = re.compile(r"<(pre|script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[\w'’-]+")


def readtime_settings(settings: dict) -> dict:
    """Return the READTIME setting with every default filled in."""
    return with_defaults(settings, "READTIME", DEFAULTS, {"words_per_minute": (whole_number(1), "a whole number > 0")})


# For ASCII text: every byte _WORD matches (a letter, a digit, _ ' -) becomes "a", every other a space,
# so the words are what bytes.split() returns: the same count as _WORD.findall, four times faster.
_WORDISH = bytes(0x61 if chr(b).isalnum() or chr(b) in "_'-" else 0x20 for b in range(128)) + b" " * 128


def count_words(html: str) -> int:
    """Count the words of prose in an HTML fragment, leaving code blocks out."""
    text = _TAG.sub(" ", _CODE.sub(" ", html or ""))
    if text.isascii():
        return len(text.encode("ascii").translate(_WORDISH).split())
    return len(_WORD.findall(text))


def minutes(words: int, words_per_minute: int) -> int:
    """Minutes to read so many words, rounded up, at least 1."""
    return max(1, math.ceil(words / words_per_minute))


# Word counts by body, so a rebuild in a running process (livereload) counts only edited posts.
_counted: dict[str, int] = {}

# plugins/fastbuild's read workers count each body they parse (WORKER_BODY) and the count comes
# back with the HTML (BODY_VALUES) into _counted, so attach() finds it there instead of counting
# on one core after the read. A body changed after the read, or read another way, is counted here.
WORKER_BODY, BODY_VALUES = runhooks.WORKER_BODY, runhooks.BODY_VALUES


def _count_in_worker(html: str, **_) -> dict:
    return {"readtime.words": count_words(html)}


def _take_count(html: str, values: dict, **_) -> None:
    words = values.get("readtime.words")
    if words is not None:
        _counted[html] = words


WORKER_BODY.connect(_count_in_worker)  # at import: a fresh process's read pool forks before register()


def _disconnect(_pelican) -> None:
    """Leave a later build of this process that does not list the plugin alone."""
    WORKER_BODY.disconnect(_count_in_worker)
    BODY_VALUES.disconnect(_take_count)


def check_settings(pelican) -> None:
    """Report a bad READTIME at start-up."""
    readtime_settings(pelican.settings)


def attach(generator) -> None:
    """Set reading_time on every post and draft."""
    wpm = readtime_settings(generator.settings)["words_per_minute"]
    contents = generator.articles + generator.translations + generator.drafts
    if len(_counted) > 4 * len(contents) + 1000:
        _counted.clear()  # bodies of old versions
    for article in contents:
        body = article._content or ""
        words = _counted.get(body)
        if words is None:
            words = _counted[body] = count_words(body)
        article.reading_time = minutes(words, wpm)


def register():
    """Hook the plugin into Pelican."""
    signals.initialized.connect(check_settings)
    signals.article_generator_finalized.connect(attach)
    WORKER_BODY.connect(_count_in_worker)
    BODY_VALUES.connect(_take_count)
    signals.finalized.connect(_disconnect)
