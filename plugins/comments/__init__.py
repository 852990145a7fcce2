"""Comments: settings, per-post comment mode and archived comments rendered statically.

Ours rather than a PyPI plugin: the published Pelican comment plugins either
turn comments into Markdown files of their own format (pelican-comment-system,
unmaintained since 2017), or only paste a provider's embed code. We need one
setting for Isso or giscus, a `Comments:` mode per post, and comments that
live in no service any more (imported from Blogger, exported from Isso)
validated, threaded and sanitised at build time, with a clear error for a
bad file (the file format itself is blogkit/comment_files.py, shared with the export). The embed itself stays in the theme (partials/comments*.html) and
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

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals

from blogkit import plugin_settings
from blogkit.comment_files import CommentFileError, comment_file_for, parse_comment_file, timezone
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
    tz = timezone(generator.settings.get("TIMEZONE"))
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
        if not existing:
            continue  # no comment files: no URL to work out (Pelican formats one anew on each access)
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

    read = None  # the sources this run read, resolved only if a comments file is left unclaimed
    for name, path in existing.items():
        if name not in claimed:
            if read is None:
                read = {os.path.realpath(a.source_path)
                        for a in articles + drafts + list(getattr(generator, "hidden_articles", []))}
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


def register():
    """Connect to Pelican."""
    signals.initialized.connect(initialized)
    signals.article_generator_finalized.connect(attach_comments)
