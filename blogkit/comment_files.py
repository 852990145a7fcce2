"""The archived-comment file format: parse, validate and thread a post's comments file; name its path.

A foundation module (it imports nothing of blogkit or plugins/): plugins/comments
renders the files at build time, blogkit/comments.py writes them from Isso, and
both read the format here, so it is written down once.

A file is content/comments/<post URL without .html>.json (comment_file_for):

    {"post": "2007/01/x.html", "source": "Blogger",
     "comments": [{"id": "c1", "parent": null, "author": "Ann", "url": null,
                   "date": "2007-01-12T07:10:00-05:00", "body": "<p>Hi</p>"}]}

Each comment may also carry "note" (for the author, never rendered) and "status"
("live", or "held": waiting for approval, never shown). parse_comment_file raises
CommentFileError, whose message says what is wrong and where, for anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from markupsafe import Markup

# What an archived comment body may keep: text formatting and links, no media.
ALLOWED_TAGS = {"p", "br", "a", "em", "strong", "i", "b", "u", "s", "del", "ins", "blockquote",
                "code", "pre", "ul", "ol", "li", "sub", "sup", "q"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
LINK_REL = "nofollow ugc noopener"
COMMENT_KEYS = {"id", "parent", "author", "url", "date", "body", "note", "status"}
STATUSES = ("live", "held")
# Replies deeper than this sit beside their parent, marked "in reply to": a 40-deep thread
# indented 40 times would leave no room for text on a phone.
MAX_NESTING = 3
# Blogger's own comment anchors (post.html?showComment=123#c123); the importer keeps them as ids.
BLOGGER_ID = re.compile(r"c\d+")
FILE_KEYS = {"post", "source", "comments"}


@dataclass
class ArchivedComment:
    """One comment that lives in no service any more, ready to render."""

    id: str
    parent: str | None
    author: str
    url: str | None
    date: dt.datetime
    body: str
    note: str = ""
    status: str = "live"
    replies: list = field(default_factory=list)
    depth: int = 0
    level: int = 0
    opens: bool = False
    closes: int = 0
    reply_to: "ArchivedComment | None" = None

    @property
    def anchor(self) -> str:
        return f"comment-{self.id}"

    @property
    def blogger_anchor(self) -> str | None:
        """Blogger's anchor for this comment (c123), so old showComment links land on it."""
        return self.id if BLOGGER_ID.fullmatch(self.id) else None

    @property
    def display_date(self) -> str:
        """Blogger's style: 'January 12, 2007 at 7:10 AM'."""
        hour = self.date.hour % 12 or 12
        return f"{self.date:%B} {self.date.day}, {self.date.year} at {hour}:{self.date:%M %p}"


class ArchivedComments(list):
    """All archived comments of a post in reading order; `.roots` holds the top-level ones."""

    roots: list

    def __init__(self, roots=()):
        self.roots = list(roots)
        super().__init__(self._walk(self.roots))
        self._mark_levels()

    @staticmethod
    def _walk(comments):
        """Yield every comment depth first, without recursion (a reply chain may be thousands deep)."""
        stack = list(reversed(comments))
        while stack:
            comment = stack.pop()
            yield comment
            stack.extend(reversed(comment.replies))

    @property
    def twins(self) -> int:
        """How many of these were exported from Isso (isso-N) and so are also counted live."""
        return sum(1 for comment in self if comment.id.startswith("isso-"))

    def _mark_levels(self) -> None:
        """Set level, opens, closes and reply_to, which let the theme nest lists in one loop."""
        for comment in self:
            comment.level = min(comment.depth, MAX_NESTING)
        for comment in self:
            comment.reply_to = None
        for comment in self:
            for reply in comment.replies:
                if reply.depth > MAX_NESTING:
                    reply.reply_to = comment
        for here, after in zip(self, self[1:] + [None]):
            next_level = after.level if after is not None else 0
            here.opens = next_level > here.level
            here.closes = max(here.level - next_level, 0)


def sanitise_body(html: str) -> Markup:
    """Keep text formatting and http(s)/mailto links; links get rel="nofollow ugc noopener"."""
    import nh3

    # Markup: nh3 has made it safe, so the autoescaping theme prints it as HTML.
    return Markup(nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        clean_content_tags={"script", "style"},
    ).strip())


def safe_url(url) -> str | None:
    """Return url if it is an absolute http(s) URL, else None."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


class CommentFileError(ValueError):
    """An archived-comments file breaks the format; the message says where and how."""


def _parse_date(value, tz) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string such as 2007-01-12T07:10:00-05:00")
    date = dt.datetime.fromisoformat(value)
    return date if date.tzinfo else date.replace(tzinfo=tz)


def parse_comment_file(text: str, expected_post: str | None, tz=dt.timezone.utc) -> tuple[dict, ArchivedComments]:
    """Validate one archived-comments file and return its header and threaded comments.

    Raises CommentFileError with a message an author can act on.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommentFileError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise CommentFileError('must be a JSON object with "post" and "comments"')
    unknown = set(data) - FILE_KEYS
    if unknown:
        raise CommentFileError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(FILE_KEYS)}")
    post = data.get("post")
    if not isinstance(post, str) or not post:
        raise CommentFileError('"post" must name the post\'s URL, e.g. "2007/01/psychotherapy-of-sales.html"')
    if expected_post is not None and post != expected_post:
        raise CommentFileError(f'"post" says {post!r} but the file\'s place means {expected_post!r}')
    if "source" in data and not isinstance(data["source"], str):
        raise CommentFileError('"source" must be a string such as "Blogger" or "Isso"')
    comments = data.get("comments")
    if not isinstance(comments, list):
        raise CommentFileError('"comments" must be a list')

    parsed: dict[str, ArchivedComment] = {}
    for index, raw in enumerate(comments):
        where = f"comment #{index + 1}"
        if not isinstance(raw, dict):
            raise CommentFileError(f"{where} must be an object")
        unknown = set(raw) - COMMENT_KEYS
        if unknown:
            raise CommentFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(COMMENT_KEYS)}")
        cid = raw.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise CommentFileError(f'{where}: "id" must be a non-empty string')
        where = f'comment "{cid}"'
        if cid in parsed:
            raise CommentFileError(f'{where}: the id is used twice; ids must be unique in a file')
        for key in ("author", "note", "body", "status"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise CommentFileError(f'{where}: "{key}" must be a string')
        if not (raw.get("body") or "").strip():
            raise CommentFileError(f'{where}: "body" is missing or empty')
        status = raw.get("status") or "live"
        if status not in STATUSES:
            raise CommentFileError(f'{where}: "status" {status!r} is not one of {", ".join(STATUSES)} '
                                   '("held": waiting for approval, never shown)')
        parent = raw.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise CommentFileError(f'{where}: "parent" must be null or the id of another comment')
        url = raw.get("url")
        if url not in (None, "") and safe_url(url) is None:
            raise CommentFileError(f'{where}: "url" {url!r} is not an http(s) URL; use null or https://...')
        try:
            date = _parse_date(raw.get("date"), tz)
        except ValueError as exc:
            raise CommentFileError(f'{where}: "date" {raw.get("date")!r} {exc}'.replace("Invalid isoformat string: ", "")) from None
        parsed[cid] = ArchivedComment(
            id=cid, parent=parent, author=(raw.get("author") or "").strip() or "Anonymous",
            url=safe_url(url), date=date, body=sanitise_body(raw["body"]), note=(raw.get("note") or "").strip(),
            status=status,
        )

    for comment in parsed.values():
        if comment.parent is not None and comment.parent not in parsed:
            raise CommentFileError(f'comment "{comment.id}": "parent" {comment.parent!r} is no comment in this file')
    _check_acyclic(parsed)
    # A held comment is never shown; its replies move up to the nearest comment that is.
    for comment in parsed.values():
        while comment.parent is not None and parsed[comment.parent].status == "held":
            comment.parent = parsed[comment.parent].parent
    roots = []
    for comment in parsed.values():
        if comment.status == "held":
            continue
        if comment.parent is None:
            roots.append(comment)
        else:
            parsed[comment.parent].replies.append(comment)
    by_date = lambda c: c.date  # noqa: E731
    roots.sort(key=by_date)
    stack = [(root, 0) for root in roots]
    while stack:  # depth first without recursion: a reply chain may be thousands deep
        comment, depth = stack.pop()
        comment.depth = depth
        comment.replies.sort(key=by_date)
        stack.extend((reply, depth + 1) for reply in comment.replies)
    return data, ArchivedComments(roots)


def _check_acyclic(parsed: dict) -> None:
    """Refuse a "parent" chain that loops, each comment walked once (a long chain stays linear)."""
    settled: set[str] = set()
    for comment in parsed.values():
        path, seen, current = [], set(), comment
        while current.parent is not None and current.id not in settled:
            if current.id in seen:
                raise CommentFileError(f'comment "{comment.id}": its "parent" chain loops back on itself '
                                       f'({" -> ".join(path[path.index(current.id):] + [current.id])}); '
                                       'one of them must have another parent or null')
            seen.add(current.id)
            path.append(current.id)
            current = parsed[current.parent]
        settled.update(path)
        settled.add(current.id)


def comment_file_for(url: str) -> str:
    """content/comments/<this>.json for a post URL, e.g. 2007/01/x.html -> 2007/01/x.json."""
    return (url[:-5] if url.endswith(".html") else url.rstrip("/") + "/index") + ".json"


def timezone(name) -> dt.tzinfo:
    """The tzinfo of a TIMEZONE setting (UTC when it is empty), for comment dates without an offset."""
    if not name:
        return dt.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)

