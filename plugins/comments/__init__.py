"""Comments: settings, per-post comment mode and archived comments rendered statically.

Ours rather than a PyPI plugin: the published Pelican comment plugins either
turn comments into Markdown files of their own format (pelican-comment-system,
unmaintained since 2017), or only paste a provider's embed code. We need one
setting for Isso or giscus, a `Comments:` mode per post, and comments that
live in no service any more (imported from Blogger, exported from Isso)
validated, threaded and sanitised at build time, with a clear error for a
bad file. The embed itself stays in the theme (partials/comments*.html) and
loads lazily through theme/static/js/comments.js, which adds live comments to the same list.

Settings (all under COMMENTS, defaults applied in `resolve_settings`):
    provider      "isso" | "giscus" | None
    load          "lazy" (when the block nears the viewport) | "click"
    policy        text above the form; blank lines separate paragraphs (`invoke
                  import-blogger` sets it from Blogger's comment-form message)
    default_mode  "open" | "closed" | "off" for posts without `Comments:`
    count         fetch live comment counts for index pages (Isso only)
    isso          {"url": ...}: the Isso server (its JSON API; Isso's embed.js is not used)
    giscus        {"repo", "repo_id", "category", "category_id", "mapping", ...}
    path          folder under PATH holding archived comments ("comments")
The environment variable ISSO_URL overrides COMMENTS["isso"]["url"].

    moderation    the line by the form saying comments wait for approval ("" for none)

Every article gets `comments_mode` ("open" | "closed" | "off"); an article with a
comments file also gets `archived_comments` (a list of the comments readers see, in
reading order, so its length is the number of comments; `.roots` holds the threads).
Each comment carries `level` (its indent, capped at MAX_NESTING), `opens` (its replies
follow, one level in) and `closes` (how many reply lists end after it), so the theme
renders any depth with one flat loop: Jinja's recursive loops hit Python's recursion
limit on a long reply chain. A comment's `note` is for the author and is never
rendered; a comment with "status": "held" (waiting for approval when it was imported)
is neither shown nor counted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from markupsafe import Markup
from pelican import signals

from blogkit import plugin_settings
from blogkit.problems import report

logger = logging.getLogger(__name__)

PROVIDERS = ("isso", "giscus", None)
MODES = ("open", "closed", "off")
LOADS = ("lazy", "click")

# The old Blogger blog's comment-form message, word for word.
DEFAULT_POLICY = (
    "Feedback Welcome\n\n"
    "Please note, however, that spam will be deleted, as will abusive posts.\n\n"
    "Disagreements welcome!"
)

DEFAULTS = {
    "provider": "isso",
    "load": "lazy",
    "policy": DEFAULT_POLICY,
    "moderation": "Comments appear here after the author approves them.",
    "default_mode": "open",
    "count": True,
    "path": "comments",
    # Isso is reached through its JSON API by theme/static/js/comments.js, not its embed.js
    # (which writes a second heading and count, and forgets a reader's held comment on reload).
    "isso": {"url": ""},
    "giscus": {
        "repo": "",
        "repo_id": "",
        "category": "",
        "category_id": "",
        "mapping": "pathname",
        "strict": True,
        "reactions": True,
        "input_position": "bottom",
        "theme": "preferred_color_scheme",
        "lang": "en",
        "origin": "https://giscus.app",
    },
}

GISCUS_REQUIRED = ("repo", "repo_id", "category", "category_id")

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


# --- Settings ------------------------------------------------------------------------------------

def resolve_settings(given: dict | None, environ=os.environ) -> tuple[dict, list[str]]:
    """Apply defaults and ISSO_URL to a COMMENTS setting; return it and what is wrong with it."""
    conf, errors = plugin_settings.resolve(given, "COMMENTS", DEFAULTS)
    own: list[str] = []
    if environ.get("ISSO_URL"):
        conf["isso"]["url"] = environ["ISSO_URL"]
    conf["isso"]["url"] = (conf["isso"]["url"] or "").rstrip("/")
    if conf["provider"] not in PROVIDERS:
        own.append(f'provider is {conf["provider"]!r}; use "isso", "giscus" or None')
    if conf["load"] not in LOADS:
        own.append(f'load is {conf["load"]!r}; use "lazy" or "click"')
    if conf["default_mode"] not in MODES:
        own.append(f'default_mode is {conf["default_mode"]!r}; use "open", "closed" or "off"')
    url = conf["isso"]["url"]
    if conf["provider"] == "isso" and url and urlsplit(url).scheme not in ("http", "https"):
        own.append(f"isso url {url!r} is not an http(s) URL, e.g. https://comments.example.com")
    if conf["provider"] == "giscus":
        missing = [key for key in GISCUS_REQUIRED if not conf["giscus"].get(key)]
        if missing:
            own.append(f"giscus needs {', '.join(missing)} (copy them from https://giscus.app)")
    errors += [f"COMMENTS: {e}" for e in own]
    policy = conf["policy"] or ""
    conf["policy_paragraphs"] = [" ".join(p.split()) for p in policy.split("\n\n") if p.strip()]
    conf["origin"] = comment_origin(conf)
    return conf, errors


def comment_origin(conf: dict) -> str:
    """The origin the browser talks to for live comments ('' when there is none)."""
    if conf["provider"] == "isso" and conf["isso"]["url"]:
        parts = urlsplit(conf["isso"]["url"])
        return f"{parts.scheme}://{parts.netloc}"
    if conf["provider"] == "giscus":
        return conf["giscus"]["origin"].rstrip("/")
    return ""


def initialized(pelican) -> None:
    """Resolve COMMENTS once, so templates and the CSP plugin see the final values."""
    conf, errors = resolve_settings(pelican.settings.get("COMMENTS"))
    for error in errors:
        report("pelicanconf.py", error, "see the COMMENTS section of the README")
    pelican.settings["COMMENTS"] = conf


# --- Archived comments ---------------------------------------------------------------------------

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


def _published_url(article) -> str:
    """A draft's URL once published, so its comment file is recognised (and kept back)."""
    try:
        return str(article.settings["ARTICLE_URL"]).format(**article.url_format)
    except (KeyError, ValueError, AttributeError):
        return article.url


def attach_comments(generator) -> None:
    """Give every article its comments mode and archived comments; report bad files."""
    conf = generator.settings["COMMENTS"]
    content_root = Path(generator.settings["PATH"])
    folder = content_root / conf["path"]
    tz = _timezone(generator.settings.get("TIMEZONE"))
    shown = lambda p: str(Path(os.path.relpath(p, content_root.parent)))  # noqa: E731

    articles = list(generator.articles) + [t for a in generator.articles for t in a.translations]
    drafts = list(getattr(generator, "drafts", [])) + [t for a in getattr(generator, "drafts", []) for t in a.translations]
    published = {id(a) for a in articles}
    # The comment files, listed once: a thousand posts without one cost no lookups.
    existing = {}
    if folder.is_dir():
        existing = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.json")) if p.is_file()}
    claimed = set()
    for article in articles + drafts:
        mode = str(article.metadata.get("comments", conf["default_mode"])).strip().lower()
        if mode not in MODES:
            report(shown(article.source_path), f"Comments: {article.metadata.get('comments')!r} is not a comments mode",
                     'write "Comments: open", "Comments: closed" or "Comments: off"')
            mode = "off"
        article.comments_mode = mode
        # Only a post with a comments file gets archived_comments; a cached article must not keep an old list.
        if "archived_comments" in vars(article):
            del article.archived_comments
        is_published = id(article) in published
        url = article.url if is_published else _published_url(article)
        name = os.path.normpath(comment_file_for(url)).replace(os.sep, "/")
        claimed.add(name)
        path = existing.get(name)
        if not is_published or path is None:
            continue
        try:
            _, comments = parse_comment_file(path.read_text(encoding="utf-8"), url, tz)
        except (CommentFileError, UnicodeDecodeError) as exc:
            report(shown(path), str(exc), "fix the file; the format is described in the README (Comments)")
            continue
        article.archived_comments = comments

    read = {os.path.realpath(a.source_path) for a in articles + drafts + list(getattr(generator, "hidden_articles", []))}
    for name, path in existing.items():
        if name not in claimed:
            url = path.relative_to(folder).with_suffix(".html").as_posix()
            left_out = _unread_source(generator, Path(name).stem, read)
            if left_out is not None:
                # The post was not built because of its own problem: deleting this file would lose its comments.
                report(shown(path), f"no post has the URL {url}: {shown(left_out)}, which would, was left out "
                         "for its own problem", "fix that post (its problem is listed too) and keep this file")
                continue
            report(shown(path), f"no post has the URL {url}",
                     "move the file to content/comments/<post URL without .html>.json, or delete it")


def _unread_source(generator, stem: str, read: set) -> str | None:
    """A source file of the post paths named like the comments file that this run could not read, if any."""
    root = Path(generator.settings["PATH"])
    for folder in generator.settings.get("ARTICLE_PATHS") or [""]:
        for source in sorted((root / folder).rglob(f"{stem}.*")):
            if source.is_file() and os.path.realpath(source) not in read:
                return str(source)
    return None


def _timezone(name):
    if not name:
        return dt.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def register():
    """Connect to Pelican."""
    signals.initialized.connect(initialized)
    signals.article_generator_finalized.connect(attach_comments)
