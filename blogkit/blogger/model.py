"""One model for a Blogger blog, whichever export format it came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


class BloggerExportError(Exception):
    """The file is not a Blogger export this importer can read; nothing was written."""


@dataclass
class Comment:
    """A reader's comment as Blogger exported it."""

    id: str
    post_id: str
    parent_id: str | None
    author: str
    author_url: str | None
    published: dt.datetime
    body_html: str
    removed: str | None = None  # why it is dropped ("deleted", "spam", ...), None when live
    held: bool = False  # awaiting moderation on Blogger: never published, kept in the import record
    post_path: str | None = None  # the post's old path, when the export names the post only by its link


@dataclass
class Entry:
    """A post or a page."""

    kind: str  # "post" | "page"
    id: str
    title: str
    published: dt.datetime
    updated: dt.datetime | None
    author: str | None
    labels: list[str]
    html: str
    draft: bool
    old_path: str | None  # e.g. "2007/01/psychotherapy-of-sales.html", None for a draft never published
    comments: list[Comment] = field(default_factory=list)
    untitled: bool = False  # the title was made up from the text


@dataclass
class Skipped:
    """An entry left out, and why."""

    what: str
    reason: str


@dataclass
class Blog:
    """Everything worth importing from one export."""

    format: str  # "classic" | "blogger2018"
    title: str
    hosts: set[str]  # the old blog's hosts, e.g. {"consultant.blogspot.com"}
    comment_form_message: str | None
    posts: list[Entry]
    pages: list[Entry]
    skipped: list[Skipped]
    locale: str | None = None  # the blog's language as Blogger names it ("en", "pt-BR"); None when unknown
    refused: list[Skipped] = field(default_factory=list)  # entries not imported because they are unsafe
