"""Tell which language a blog's posts are written in, to check the locale Blogger exported.

Blogger's locale is the language of the blog's interface, which many authors
never changed from English: a Portuguese blog exported with locale "en" then
gets lang="en" on every page, which is wrong for screen readers and search
engines (and the HTML checker flags it). Counting very common words (and, for
scripts such as Cyrillic or Hangul, letters) is enough to see that; anything
less clear-cut leaves the locale alone.
"""

from __future__ import annotations

import re
from collections import Counter

# A few dozen of each language's commonest words that are rare in the others.
STOPWORDS = {
    "en": "the and of to is that it for with as was on are be this have from or by not but what all were when".split(),
    "pt": "de que não em um uma para com os as do da dos das se mais por como foi ao são também muito isso está".split(),
    "es": "de que el en los las por con una para es del se más pero como fue al sus está también muy esto".split(),
    "fr": "de la le et les des est en que une pour pas qui dans sur au du avec ce il sont mais ou très".split(),
    "de": "der die und das ist nicht ein eine zu den mit sich auf für von dem auch es wird sind oder".split(),
    "it": "di che il la per non una sono del della con gli le si più anche come questo ma nel alla".split(),
    "nl": "de het een van en is dat niet op te voor met zijn er maar ook als bij om aan".split(),
}
SCRIPTS = {"ru": r"[\u0400-\u04FF]", "ko": r"[\uAC00-\uD7AF]", "ja": r"[\u3040-\u30FF]", "zh": r"[\u4E00-\u9FFF]",
           "el": r"[\u0370-\u03FF]", "ar": r"[\u0600-\u06FF]", "he": r"[\u0590-\u05FF]"}


def detect(text: str) -> str | None:
    """Return the language the text is clearly written in ("pt", "ru", ...), or None when unsure."""
    letters = re.findall(r"\w", text)
    if len(letters) < 200:
        return None
    for language, pattern in SCRIPTS.items():
        if len(re.findall(pattern, text)) > 0.5 * len(letters):
            return language
    words = Counter(re.findall(r"[^\W\d_]+", text.lower()))
    scores = {lang: sum(words[w] for w in stop) for lang, stop in STOPWORDS.items()}
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    total = sum(words.values())
    # Clear-cut only: the commonest words are a good share of the text, and well ahead of the next language.
    return best if top > 0.08 * total and top > 1.5 * second else None
