"""Give every tag, author and category a usable slug, in imported and hand-written posts alike.

Pelican slugs a tag by transliterating it; a tag made only of punctuation or
symbols (a real Blogger label "(") comes out empty, and Pelican then warns
'Unable to generate valid slug for Tag "("' and writes its page at
search/label/.html. This plugin sets such a tag's slug to a stable short hash
(blogkit.slugs.fallback_slug) as each post or page is read, so the tag page,
its feed and links to it work, and plugins/blogger_redirects can point the
Blogger address /search/label/( at it. Authors and categories get the same,
prefixed "author-" and "category-": a Blogger display name such as "★" or
"~~~" becomes each imported post's Author, and without a slug the strict
build stops on every one of them.

Build-side rather than in the importer: the slug then belongs to the tag name,
whoever wrote the file (an author typing "Tags: (" gets it too), and a later
Pelican or settings change cannot leave imported Slug lines disagreeing with
the build. Ours: no PyPI plugin does this (pelican-tag-slugs style plugins map
names by a hand-written table).

Settings (defaults applied in `settings`):
    LABEL_SLUGS = {"fallback": True}   # False: leave empty slugs to the strict build's report
"""

from __future__ import annotations

from pelican import signals
from pelican.urlwrappers import Author, Category, Tag

from blogkit.plugin_settings import with_defaults
from blogkit.slugs import FALLBACK_PREFIX, fallback_slug, pelican_slug

DEFAULTS = {"fallback": True}
_active = {"fallback": True}  # this run's settings, read once at start-up
# Whether Pelican slugs a name to nothing, per (kind, name), for this run: a blog has a few dozen labels
# on thousands of posts, and slugify (unidecode, regex substitutions) is the receiver's whole cost.
_empty: dict[tuple[str, str], bool] = {}


def settings(pelican_settings: dict) -> dict:
    """Return the plugin's settings with defaults applied (a bad value is reported as a problem)."""
    flag = (lambda value: isinstance(value, bool), "True or False")
    return with_defaults(pelican_settings, "LABEL_SLUGS", DEFAULTS, {"fallback": flag})


def start(pelican) -> None:
    """Read LABEL_SLUGS once per run, reporting a bad one at start-up."""
    _active.update(settings(pelican.settings))
    _empty.clear()  # the slug settings may differ from the last run's


# Which of Pelican's URL wrappers get a fallback: (its kind in Pelican's *_REGEX_SUBSTITUTIONS, prefix).
KINDS = {Tag: ("TAG", FALLBACK_PREFIX), Author: ("AUTHOR", "author-"), Category: ("CATEGORY", "category-")}


def _named(content):
    """The content's tags, authors and category (Pelican's Tag, Author and Category objects)."""
    yield from getattr(content, "tags", None) or []
    yield from getattr(content, "authors", None) or []
    category = getattr(content, "category", None)
    if category is not None:
        yield category


def give_slugs(content) -> None:
    """Set the fallback slug on each of the content's tags, authors and category whose Pelican slug is empty."""
    if not _active["fallback"]:
        return
    for named in _named(content):
        # Read Pelican's slug without touching .slug, whose first read warns when it is empty.
        kind = KINDS.get(type(named))
        if kind is None or named._slug is not None or not named.name.strip():
            continue
        key = (kind[0], named.name)
        empty = _empty.get(key)
        if empty is None:
            empty = _empty[key] = not pelican_slug(named.name, content.settings, kind[0])
        if empty:
            named.slug = fallback_slug(named.name, kind[1])


def register():
    signals.initialized.connect(start)
    signals.content_object_init.connect(give_slugs)
