"""Create a Markdown stub for a new post, as a draft."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from blogkit.slugs import pelican_slug

STUB = """Title: {title}
Date: {date:%Y-%m-%d %H:%M}
Slug: {slug}
Category: {category}
Tags:
Summary:
Status: draft

Write the post here. Remove `Status: draft` (or set `Status: published`) to publish it.
"""
# Where `invoke livereload` serves the drafts.
PREVIEW_SITEURL = "http://127.0.0.1:8000"


class NewPostError(ValueError):
    """No post was created; the message says why and what to do."""


def slug_for(title: str) -> str:
    """The slug Pelican would give `title`."""
    return pelican_slug(title, kind="SLUG")


def new_post(title: str, content_dir: Path, category: str = "Consulting", now: dt.datetime | None = None) -> Path:
    """Write content/posts/YYYY/<slug>.md for `title` and return its path; never overwrite."""
    if not title.strip():
        raise NewPostError('a post needs a title: invoke new-post "My title"')
    if title.strip().startswith("-"):
        raise NewPostError(f"{title!r} looks like an option, not a title: invoke new-post \"My title\" (options: --help)")
    now = now or dt.datetime.now()
    slug = slug_for(title)
    if not slug:
        raise NewPostError(f"{title!r} has no letters or digits to make an address from: choose a title with words")
    path = content_dir / "posts" / f"{now:%Y}" / f"{slug}.md"
    if path.exists():
        raise NewPostError(f"{path} already exists: pick another title or edit that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as stub:  # "x": never overwrite, even in a race
            stub.write(STUB.format(title=title.strip(), date=now, slug=slug, category=category))
    except FileExistsError:
        raise NewPostError(f"{path} already exists: pick another title or edit that file") from None
    return path


def preview_url(path: Path, settings: dict, siteurl: str = PREVIEW_SITEURL) -> str | None:
    """The address of the draft's preview while `invoke livereload` runs (None if drafts are not written)."""
    pattern = settings.get("DRAFT_URL") or ""
    if not pattern or not settings.get("DRAFT_SAVE_AS"):
        return None
    slug = path.stem
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lower().startswith("slug:"):
            slug = line.split(":", 1)[1].strip() or slug
            break
    try:
        return f"{siteurl}/{pattern.format(slug=slug, lang=settings.get('DEFAULT_LANG', 'en'))}"
    except (KeyError, IndexError, AttributeError):  # a DRAFT_URL naming more than the slug
        return None
