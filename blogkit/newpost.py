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


def new_post(title: str, content_dir: Path, category: str = "Consulting", now: dt.datetime | None = None) -> Path:
    """Write content/posts/YYYY/<slug>.md for `title` and return its path; never overwrite."""
    if not title.strip():
        raise ValueError("a post needs a title: invoke new-post \"My title\"")
    now = now or dt.datetime.now()
    slug = pelican_slug(title, kind="SLUG")
    path = content_dir / "posts" / f"{now:%Y}" / f"{slug}.md"
    if path.exists():
        raise FileExistsError(f"{path} already exists: pick another title or edit that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STUB.format(title=title.strip(), date=now, slug=slug, category=category), encoding="utf-8")
    return path
