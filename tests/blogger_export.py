"""Write small Blogger exports (the classic Atom format) of our own making, for the hostile-import test and bench.

Each post is a dict: slug, title, body (the HTML Blogger stores), labels, author,
and comments (dicts: body, author, uri). Text is escaped once for XML here, as
Blogger's own exporter does, so the importer sees exactly the strings given.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

BLOG = "http://hostile-notes.blogspot.com"
HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' \
xmlns:gd='http://schemas.google.com/g/2005' xmlns:thr='http://purl.org/syndication/thread/1.0'>
<id>tag:blogger.com,1999:blog-77</id>
<updated>2021-06-01T10:00:00.000-05:00</updated>
<title type='text'>Hostile Notes</title>
<link rel='alternate' type='text/html' href='{blog}/'/>
<author><name>Owner</name></author>
<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>
"""
KIND = "<category scheme='http://schemas.google.com/g/2005#kind' term='http://schemas.google.com/blogger/2008/kind#{}'/>"


def _author(name: str, uri: str | None = None) -> str:
    uri_xml = f"<uri>{escape(uri)}</uri>" if uri else ""
    return f"<author><name>{escape(name)}</name>{uri_xml}<email>noreply@blogger.com</email></author>"


def export_xml(posts: list[dict]) -> str:
    """The export's text: one entry per post, then one per comment."""
    entries, comments = [], []
    for n, post in enumerate(posts, start=1):
        post_id = f"tag:blogger.com,1999:blog-77.post-{n}"
        when = f"2021-{(n - 1) // 28 % 12 + 1:02d}-{(n - 1) % 28 + 1:02d}T10:00:00.000-05:00"
        url = f"{BLOG}/2021/{(n - 1) // 28 % 12 + 1:02d}/{post['slug']}.html"
        labels = "".join(f"<category scheme='http://www.blogger.com/atom/ns#' term={quoteattr(label)}/>"
                         for label in post.get("labels", ()))
        entries.append(
            f"<entry><id>{post_id}</id><published>{when}</published><updated>{when}</updated>{KIND.format('post')}"
            f"{labels}<title type='text'>{escape(post['title'])}</title>"
            f"<content type='html'>{escape(post['body'])}</content>"
            f"<link rel='alternate' type='text/html' href={quoteattr(url)} title={quoteattr(post['title'])}/>"
            f"{_author(post.get('author', 'Owner'))}</entry>")
        for m, comment in enumerate(post.get("comments", ()), start=1):
            comments.append(
                f"<entry><id>tag:blogger.com,1999:blog-77.post-{n}{m:04d}</id>"
                f"<published>{when.replace('T10', 'T11')}</published>{KIND.format('comment')}"
                f"<title type='text'>{escape(comment['body'][:40])}</title>"
                f"<content type='html'>{escape(comment['body'])}</content>"
                f"{_author(comment.get('author', 'Reader'), comment.get('uri'))}"
                f"<thr:in-reply-to href={quoteattr(url)} ref='{post_id}' type='text/html'/></entry>")
    return HEAD.format(blog=BLOG) + "\n".join(entries + comments) + "\n</feed>\n"


def write_export(path: Path, posts: list[dict]) -> Path:
    """Write the export for posts to path."""
    path.write_text(export_xml(posts), encoding="utf-8")
    return path
