"""Read a Blogger export, classic Atom backup or the current blogger:2018 format, into one model.

The file is parsed with defusedxml: an export is a file someone downloaded,
and it must not be able to expand entities or reach for external resources.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zipfile
from pathlib import Path
from urllib.parse import urlparse
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .model import Blog, BloggerExportError, Comment, Entry, Skipped

ATOM = "http://www.w3.org/2005/Atom"
B2018 = "http://schemas.google.com/blogger/2018"
THR = "http://purl.org/syndication/thread/1.0"
GD = "http://schemas.google.com/g/2005"
APP_NAMESPACES = ("http://purl.org/atom/app#", "http://www.w3.org/2007/app")
KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
LABEL_SCHEME = "http://www.blogger.com/atom/ns#"

A = f"{{{ATOM}}}"
B = f"{{{B2018}}}"

# Blogger puts this text in place of a comment removed by its author or the blog's owner.
REMOVED_TEXT = re.compile(r"^\s*This (comment|post) has been removed by (the author|a blog administrator)\.?\s*$", re.I)


def read_export(path: str | Path) -> Blog:
    """Parse a Blogger export file, or raise BloggerExportError saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise BloggerExportError(f"{path}: no such file (give the .xml or feed.atom file Blogger exported)")
    data = _export_bytes(path)
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise BloggerExportError(
            f"{path}: refused: the file declares XML entities or a DTD ({type(exc).__name__}); "
            "a real Blogger export never does"
        ) from exc
    except ParseError as exc:
        if not data.strip():
            reason = "the file is empty"
        elif _looks_truncated(exc, data):
            reason = f"the file ends before the XML is complete (truncated download?), at line {exc.position[0]}"
        else:
            reason = f"it is not well-formed XML: {exc}"
        raise BloggerExportError(f"{path}: cannot read it as a Blogger export: {reason}. Download the export again.") from exc
    if root.tag != f"{A}feed":
        raise BloggerExportError(
            f"{path}: not a Blogger export: the root element is <{_local(root.tag)}>, expected an Atom <feed> "
            "(Blogger: Settings > Manage blog > Back up content)"
        )
    if root.find(f"{A}entry/{B}type") is not None:
        return _parse_2018(root)
    if _is_classic(root):
        return _parse_classic(root)
    raise BloggerExportError(
        f"{path}: an Atom feed, but not a Blogger export: it has neither blogger:type entries (current format) "
        "nor Blogger kind categories (classic backup). A blog's public feed holds no comments or drafts; "
        "use Settings > Manage blog > Back up content"
    )


def _export_bytes(path: Path) -> bytes:
    """Read the export's bytes; from a Google Takeout zip, its one Blogger feed.atom."""
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        feeds = [name for name in archive.namelist() if name.endswith("/feed.atom") and "/Blogger/" in f"/{name}"]
        if len(feeds) != 1:
            found = ", ".join(feeds) if feeds else "none"
            raise BloggerExportError(
                f"{path}: a zip file that should hold exactly one Blogger/Blogs/<blog>/feed.atom; found {found}. "
                "Extract the blog you want and give its feed.atom"
            )
        return archive.read(feeds[0])


def _looks_truncated(exc: ParseError, data: bytes) -> bool:
    message = str(exc)
    if "no element found" in message or "unclosed token" in message:
        return True
    # The error is on the last line: the parser ran out of input.
    return exc.position[0] >= data.count(b"\n") + 1 and b"<feed" in data[:4000]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _is_classic(root: Element) -> bool:
    for category in root.iter(f"{A}category"):
        if category.get("scheme") == KIND_SCHEME and "schemas.google.com/blogger/2008/kind#" in (category.get("term") or ""):
            return True
    return False


def _date(text: str | None, what: str) -> dt.datetime:
    if not text or not text.strip():
        raise BloggerExportError(f"{what}: has no date")
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BloggerExportError(f"{what}: unreadable date {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.replace(microsecond=0)


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _content_html(entry: Element) -> str:
    content = entry.find(f"{A}content")
    if content is None:
        return ""
    kind = content.get("type", "html")
    if kind == "xhtml":
        from xml.etree.ElementTree import tostring

        return "".join(tostring(child, encoding="unicode") for child in content)
    if kind == "text":
        return "<p>" + html.escape(content.text or "") + "</p>"
    return content.text or ""


def _title(entry: Element) -> str:
    title = entry.find(f"{A}title")
    if title is None:
        return ""
    text = title.text or ""
    if title.get("type") == "html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return " ".join(text.split())


def _numeric_id(value: str | None) -> str | None:
    """Return the number ending a Blogger id or feed URL: 'tag:...post-5678' and '.../5678' give '5678'."""
    if not value:
        return None
    match = re.search(r"(\d+)/?$", value.strip())
    return match.group(1) if match else None


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    path = urlparse(url.strip()).path.lstrip("/")
    return path or None


def unsafe_path(path: str | None) -> str | None:
    """Say why an old path cannot name a file inside the site ('..', '.', a backslash...), or None if it can."""
    if not path:
        return None
    if "\\" in path or "\0" in path or any(ord(c) < 32 for c in path):
        return "it holds a backslash or a control character"
    segments = path.split("/")
    if any(s in ("..", ".") for s in segments):
        return "it climbs out of the site with '..'" if ".." in segments else "it holds a '.' segment"
    if path.startswith("/") or ":" in segments[0]:
        return "it is an absolute path"
    return None


# Blogger's comment statuses that mean "not yet approved" (the classic API's "pending").
HELD_STATUS = re.compile(r"PENDING|MODERAT|AWAITING|HELD|REVIEW", re.I)


def _host_of(url: str | None) -> str | None:
    return urlparse(url).hostname if url else None


def _author(entry: Element) -> tuple[str | None, str | None]:
    author = entry.find(f"{A}author")
    if author is None:
        return None, None
    return _text(author.find(f"{A}name")) or None, _text(author.find(f"{A}uri")) or None


def _labels(entry: Element, scheme_ok) -> list[str]:
    labels = []
    for category in entry.findall(f"{A}category"):
        term = (category.get("term") or "").strip()
        if term and scheme_ok(category.get("scheme")) and term not in labels:
            labels.append(term)
    return labels


# --- classic Atom backup ---------------------------------------------------------------


def _kind(entry: Element) -> str | None:
    for category in entry.findall(f"{A}category"):
        if category.get("scheme") == KIND_SCHEME:
            return (category.get("term") or "").rsplit("#", 1)[-1]
    return None


def _alternate(entry: Element) -> str | None:
    for link in entry.findall(f"{A}link"):
        if link.get("rel") == "alternate" and link.get("type", "text/html") == "text/html":
            return link.get("href")
    return None


def _classic_draft(entry: Element) -> bool:
    for namespace in APP_NAMESPACES:
        draft = entry.find(f"{{{namespace}}}control/{{{namespace}}}draft")
        if draft is not None and _text(draft).lower() == "yes":
            return True
    return False


def _parse_classic(root: Element) -> Blog:
    hosts = {h for h in [_host_of(_alternate(root))] if h}
    title = _text(root.find(f"{A}title"))
    form_message = locale = None
    entries, comments, skipped = [], [], []
    for element in root.findall(f"{A}entry"):
        entry_id = _text(element.find(f"{A}id"))
        kind = _kind(element)
        if kind in ("post", "page"):
            link = _alternate(element)
            if link and _host_of(link):
                hosts.add(_host_of(link))
            author, _ = _author(element)
            entries.append(Entry(
                kind=kind, id=_numeric_id(entry_id) or entry_id, title=_title(element),
                published=_date(_text(element.find(f"{A}published")), f"entry {entry_id}"),
                updated=_date(_text(element.find(f"{A}updated")), f"entry {entry_id}") if element.find(f"{A}updated") is not None else None,
                author=author, labels=_labels(element, lambda scheme: scheme == LABEL_SCHEME),
                html=_content_html(element), draft=_classic_draft(element), old_path=_path_of(link),
            ))
        elif kind == "comment":
            reply_to = element.find(f"{{{THR}}}in-reply-to")
            parent = None
            for link in element.findall(f"{A}link"):
                if link.get("rel") == "related":
                    parent = _numeric_id(link.get("href"))
            name, url = _author(element)
            body = _content_html(element)
            removed = None
            for prop in element.findall(f"{{{GD}}}extendedProperty"):
                if prop.get("name") == "blogger.contentRemoved" and prop.get("value") == "true":
                    removed = "deleted"
                if prop.get("name") in ("blogger.spam", "blogger.isSpam") and prop.get("value") == "true":
                    removed = "spam"
            if removed is None and REMOVED_TEXT.match(re.sub(r"<[^>]+>", "", body)):
                removed = "deleted"
            comments.append(Comment(
                id=_numeric_id(entry_id) or entry_id,
                post_id=_numeric_id(reply_to.get("ref") if reply_to is not None else None) or "",
                parent_id=parent, author=name or "Anonymous", author_url=url,
                published=_date(_text(element.find(f"{A}published")), f"comment {entry_id}"),
                body_html=body, removed=removed, post_path=_path_of(_alternate(element)),
            ))
        elif kind == "settings":
            if entry_id.endswith(".settings.BLOG_COMMENT_FORM_MESSAGE"):
                form_message = _text(element.find(f"{A}content")) or None
            elif entry_id.endswith(".settings.BLOG_LOCALE"):
                locale = _text(element.find(f"{A}content")) or None
            else:
                skipped.append(Skipped(f"setting {entry_id.rsplit('.', 1)[-1]}", "blog settings are not content"))
        elif kind == "template":
            skipped.append(Skipped("template", "the Blogger layout is replaced by the theme"))
        else:
            skipped.append(Skipped(f"entry {entry_id}", f"unknown kind {kind!r}"))
    return _assemble("classic", title, hosts, form_message, entries, comments, skipped, locale)


# --- current format (blogger:2018) ------------------------------------------------------


def _parse_2018(root: Element) -> Blog:
    title = _text(root.find(f"{A}title"))
    hosts: set[str] = set()
    entries, comments, skipped = [], [], []
    for element in root.findall(f"{A}entry"):
        entry_id = _text(element.find(f"{A}id"))
        kind = _text(element.find(f"{B}type")).upper()
        status = _text(element.find(f"{B}status")).upper()
        trashed = _text(element.find(f"{B}trashed"))
        published_text = _text(element.find(f"{A}published")) or _text(element.find(f"{B}created"))
        if kind in ("POST", "PAGE"):
            if status in ("DELETED", "SOFT_TRASHED", "TRASHED") or trashed:
                skipped.append(Skipped(f"{kind.lower()} {_title(element) or entry_id}", f"status {status or 'trashed'} in Blogger"))
                continue
            filename = _text(element.find(f"{B}filename"))
            author, _ = _author(element)
            updated = _text(element.find(f"{A}updated"))
            entries.append(Entry(
                kind=kind.lower(), id=_numeric_id(entry_id) or entry_id, title=_title(element),
                published=_date(published_text, f"entry {entry_id}"),
                updated=_date(updated, f"entry {entry_id}") if updated else None,
                author=author, labels=_labels(element, lambda scheme: True),
                html=_content_html(element), draft=status != "LIVE", old_path=filename.lstrip("/") or None,
            ))
        elif kind == "COMMENT":
            name, url = _author(element)
            removed, held = None, False
            if status in ("DELETED", "SOFT_TRASHED", "TRASHED") or trashed:
                removed = "deleted"
            elif status in ("SPAM", "SPAM_COMMENT"):
                removed = "spam"
            elif status == "GHOSTED_COMMENT":  # emptied on Blogger: no author, no text
                removed = "deleted"
            elif HELD_STATUS.search(status):
                held = True
            elif status != "LIVE":
                removed = f"status {status or 'missing'}"
            comments.append(Comment(
                id=_numeric_id(entry_id) or entry_id,
                post_id=_numeric_id(_text(element.find(f"{B}parent"))) or "",
                parent_id=_numeric_id(_text(element.find(f"{B}inReplyTo"))),
                author=name or "Anonymous", author_url=url,
                published=_date(published_text, f"comment {entry_id}"),
                body_html=_content_html(element), removed=removed, held=held,
            ))
        else:
            skipped.append(Skipped(f"entry {entry_id}", f"type {kind or 'missing'} is not a post, page or comment"))
    return _assemble("blogger2018", title, hosts, None, entries, comments, skipped)


def _assemble(fmt, title, hosts, form_message, entries, comments, skipped, locale=None) -> Blog:
    """Refuse entries whose old path leaves the site; attach comments to their posts; record what cannot be."""
    refused, refused_keys = [], set()
    for entry in list(entries):
        why = unsafe_path(entry.old_path)
        if why:
            # A crafted export: its path would put the post (and its comment file) outside content/.
            entries.remove(entry)
            refused_keys |= {entry.id, entry.old_path}
            refused.append(Skipped(f"{entry.kind} {entry.title or entry.id} at {entry.old_path!r}",
                                   f"not imported: its old address is unsafe ({why}); nothing was written for it"))
    by_id = {entry.id: entry for entry in entries}
    by_path = {entry.old_path: entry for entry in entries if entry.old_path}
    for comment in comments:
        # Old classic exports may lack thr:in-reply-to; the comment's own link names its post.
        entry = by_id.get(comment.post_id) or by_path.get(comment.post_path or "")
        if entry is None and (comment.post_id in refused_keys or comment.post_path in refused_keys):
            continue  # its post was refused, and that is reported once
        if entry is None:
            skipped.append(Skipped(f"comment {comment.id} by {comment.author}", "its post is not in the export"))
            continue
        entry.comments.append(comment)
    for entry in entries:
        entry.comments.sort(key=lambda c: (c.published, c.id))
    return Blog(
        format=fmt, title=title, hosts=hosts, comment_form_message=form_message,
        posts=[e for e in entries if e.kind == "post"], pages=[e for e in entries if e.kind == "page"],
        skipped=skipped, locale=_language_tag(locale), refused=refused,
    )


def _language_tag(locale: str | None) -> str | None:
    """Turn Blogger's locale ("en", "pt-BR", "pt_BR", "zh_TW") into an HTML language tag, or None."""
    if not locale:
        return None
    tag = locale.strip().replace("_", "-")
    return tag if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag) else None
