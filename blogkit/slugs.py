"""Slugs for labels (Pelican tags), authors and categories: Pelican's own, or a stable short hash when that comes out empty.

Pelican transliterates with unidecode ("Новости" -> "novosti", "뉴스" -> "nyuseu"),
but a name made only of punctuation or symbols ("(", "★") slugs to "", and
Pelican then writes the tag page at search/label/.html and warns without naming
a file. The importer (for the {tag} links it writes) and plugins/label_slugs
(for every tag, author and category the build reads) use this one function, so both agree.
"""

from __future__ import annotations

import hashlib
import unicodedata

from pelican.settings import DEFAULT_CONFIG

# Pelican's own default SLUG_REGEX_SUBSTITUTIONS (read from Pelican, not copied), for callers without a site's settings.
DEFAULT_SUBS = DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"]
FALLBACK_PREFIX = "label-"


def pelican_slug(name: str, settings: dict | None = None, kind: str = "TAG") -> str:
    """Return the slug Pelican itself would give `name` (possibly empty)."""
    from pelican.utils import slugify

    settings = settings or {}
    subs = settings.get(f"{kind}_REGEX_SUBSTITUTIONS", settings.get("SLUG_REGEX_SUBSTITUTIONS", DEFAULT_SUBS))
    return slugify(name, regex_subs=subs, preserve_case=settings.get("SLUGIFY_PRESERVE_CASE", False),
                   use_unicode=settings.get("SLUGIFY_USE_UNICODE", False))


def fallback_slug(name: str, prefix: str = FALLBACK_PREFIX) -> str:
    """Return a stable slug for a name with no letters or digits: the prefix ('label-') and 8 hex digits of its hash."""
    key = unicodedata.normalize("NFC", name.strip()).casefold()
    return prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def label_slug(name: str, settings: dict | None = None) -> str:
    """Return a usable slug for a label: Pelican's when it has one, else the stable fallback."""
    return pelican_slug(name, settings) or (fallback_slug(name) if name.strip() else "")
