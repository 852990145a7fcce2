"""Index the built site with Pagefind so readers can search posts and pages.

Ours rather than PyPI's: pelican-search is built on Stork, which is no longer
developed (pelican-plugins/search #35 asks for Pagefind). This plugin drives
the Pagefind program (from the `pagefind[extended]` package on PyPI) in its
service mode (`Pagefind` below): each page to index is sent to it, then it
writes the bundle into `pelican.output_path` before `finalized` is over, so a
failure fails the build before anything is swapped into place.

What gets indexed: the theme marks the body of a *published* post or page
with `data-pagefind-body`; Pagefind then leaves out every page without it
(listing pages, the 404 page, the search page, drafts). The plugin checks
that Pagefind indexed no more pages than there are published posts and
pages (fewer is fine: it skips a page with no words), so a theme change that
loses the marker (Pagefind then indexes every page) or marks a draft stops
the build instead of shipping a wrong index.

Only the pages that can change the bundle are sent (see `pages_to_index`):
the published posts and pages, in the order Pelican writes them, then any
other page that names the marker and one that does not. The pages Pagefind
would leave out (tag, category, author and archive listings, pagination,
redirect stubs) are two fifths of the site and are not read by it at all.
Pagefind numbers pages in the order it is given them, so that order is
fixed by the site, not by a folder listing: the bundle is the same, byte for
byte, however the pages were written.

While the site is written: on the fast path (plugins/fastbuild's writer,
`run.streams_pages`), Pagefind does not wait for the pages. Of a post's page
it keeps only the post's title and body, known once the contents are read, so
as the read ends (`all_generators_finalized`) a thread sends it a small page of
each published post and page holding just those (`record_page`), in the order
above, and writes the bundle while the site is rendered. As each page is
final (`run.on_page`) another thread checks that it shows Pagefind exactly
that record (`shows_record`), and that no other page names the marker; at
`finalized` the pages the writer did not announce are checked too. If one
page does not, the bundle is thrown away and the written pages are indexed
instead, as the serial path (FASTBUILD off) always does: the same bundle, byte
for byte, either way.

livereload builds with `"index": "background"`: the new site goes live with
the last index (hard links), and a thread indexes the new site and swaps its
bundle in a few seconds later, so a preview does not wait for Pagefind. A
published site is always indexed before the build ends.

Any failure of this step (Pagefind missing, stopped, refusing a page, a
bundle that cannot be read) is one build problem saying what failed, the
page when one is to blame, and how to fix it.
"""

from __future__ import annotations

import base64
import collections
import html as html_module
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import markupsafe
from pelican import signals

from blogkit import runhooks
from blogkit.plugin_settings import one_of, with_defaults
from blogkit.problems import SITE, report

log = logging.getLogger(__name__)

INDEX_MODES = (True, False, "background")

DEFAULTS = {
    # True: build the Pagefind index before the build ends. False: no index.
    # "background" (what livereload uses): the new site goes live with the last
    # index, and Pagefind's new one replaces it a few seconds later.
    "index": True,
    # Load theme/js/search.js on the search page (the form works without it).
    "js": True,
    # Where the search page's form goes when JavaScript is off (absolute SITEURL only).
    "fallback_action": "https://duckduckgo.com/",
    "fallback_site_param": "sites",
    # Pagefind's output folder inside the site.
    "bundle_dir": "pagefind",
}


class SearchIndexError(RuntimeError):
    """Pagefind could not build a correct index of the site; `hint` says how to fix it, `page` names the page to blame."""

    def __init__(self, message: str, hint: str = "", page: str | None = None):
        super().__init__(message)
        self.hint = hint
        self.page = page


INSTALL_HINT = "check that the `pagefind[extended]` package is installed with `uv sync`, then build again"


def search_settings(settings: dict) -> dict:
    """Return the SEARCH setting with every default filled in (the one place defaults live)."""
    return with_defaults(settings, "SEARCH", DEFAULTS, {"index": (one_of(*INDEX_MODES), 'True, False or "background"')})


def apply_defaults(pelican) -> None:
    """Store the complete SEARCH setting so templates can read SEARCH.js etc."""
    pelican.settings["SEARCH"] = search_settings(pelican.settings)


def _language(settings: dict) -> str:
    return (settings.get("DEFAULT_LANG") or "en").split("_")[0]


# Published posts and pages of the run being built, keyed by output folder, in the
# order Pelican writes them; filled when the generators are done, read once the site is written.
_expected: dict[str, list[str]] = {}
# The records being indexed while the site is written, keyed the same way.
_ahead: dict[str, "_Ahead"] = {}
_lock = threading.Lock()
# What the last foreground index did (the benchmark prints it).
stats: dict = {}


def remember_published(generators) -> None:
    """Note which files hold published posts and pages, and on the fast path start indexing their records."""
    contents: list = []
    output_path = settings = None
    for generator in generators:
        output_path = output_path or getattr(generator, "output_path", None)
        settings = settings or getattr(generator, "settings", None)
        # The order in which Pelican writes them (generate_articles, PagesGenerator.generate_output).
        if hasattr(generator, "articles"):
            contents += generator.translations + generator.articles
        if hasattr(generator, "pages"):
            contents += generator.translations + generator.pages
    if output_path is None:
        return
    site = str(Path(output_path).resolve())
    expected = list(dict.fromkeys(content.save_as for content in contents))
    with _lock:
        _expected[site] = expected
    run = runhooks.current()
    if run is None or not run.streams_pages or settings is None or not MAIN_ROOT:
        return
    config = search_settings(settings)
    records: dict[str, tuple[str, str]] = {}
    for content in contents:
        if content.save_as:
            records[content.save_as] = record_of(content)  # the last content written at a path is the page
    if config["index"] is True and records:
        ahead = _Ahead(Path(site), records, _language(settings), Path(site) / config["bundle_dir"], output_path)
        _ahead[site] = ahead
        run.on_page(ahead.page)
        run.on_html(ahead.html)
        run.on_end(lambda _run, _ok: ahead.close())


# --- Pagefind's service mode -------------------------------------------------------------


def _pagefind_binary() -> Path:
    from pagefind.service import get_executable

    binary = get_executable()
    if binary is None:
        raise SearchIndexError("Pagefind's program was not found", INSTALL_HINT)
    return binary


class Pagefind:
    """Pagefind's service mode (`pagefind --service`), spoken to directly: pages in, one bundle out.

    Not the package's asyncio client: it waits 0.1 s before it reads each reply,
    and it reads the program's warnings mixed into its replies (a warning then
    breaks a reply: the JSONDecodeError that failed builds at random under load).
    A request is base64 JSON ended by a comma; the program answers each in
    turn, one page after another, and numbers the pages in the order they came.
    """

    def __init__(self, site: Path, language: str, root: str | None = None):
        binary = _pagefind_binary()
        self._stderr = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen([str(binary), "--service"], cwd=site, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            raise SearchIndexError(f"Pagefind's program {binary} could not be started: {exc}", INSTALL_HINT) from exc
        self._replies: dict[int, dict] = {}
        self._pages: dict[int, str] = {}
        self._arrived = threading.Condition()
        self._ended: str | None = None
        self._last_id = 0
        self.index_id: int | None = None
        self.language, self.root = language, root
        threading.Thread(target=self._read, name="pagefind-replies", daemon=True).start()

    def open(self) -> None:
        """Make the index the pages go into (once, before the first page)."""
        config = {"force_language": self.language}
        if self.root is not None:
            config["root_selector"] = self.root
        self.index_id = self._call({"type": "NewIndex", "config": config})["index_id"]

    def add(self, page: str, html: bytes) -> None:
        """Send one page (its path relative to the site, and its HTML) to be indexed; write() checks its reply."""
        if self.index_id is None:
            self.open()
        request = {"type": "AddFile", "index_id": self.index_id, "file_path": page, "url": None,
                   "file_contents": html.decode("utf-8", "replace")}
        self._pages[self._send(request, page)] = page

    @property
    def pages(self) -> list[str]:
        """The pages sent so far, in order."""
        return list(self._pages.values())

    def write(self, bundle: Path) -> None:
        """Write the bundle of every page sent into bundle; raise SearchIndexError naming a page Pagefind refused."""
        if self.index_id is None:
            self.open()
        # The bundle's files are asked for and written here, not by Pagefind's WriteFiles: it
        # answers that before its last writes are on disk (they finish in its background
        # threads), and it exits at once when its input closes, so a file could be cut short.
        reply = self._call({"type": "GetFiles", "index_id": self.index_id})
        # Replies come in the order of the requests: every page's is in by now.
        for message_id, page in self._pages.items():
            if self._replies.get(message_id, {}).get("type") == "Error":
                raise SearchIndexError(f"Pagefind could not index this page: {self._replies[message_id].get('message')}",
                                       "look for HTML Pagefind cannot read in that page (or its template)", page=page)
        write_bundle(bundle, reply.get("files") or [])

    def cpu_seconds(self) -> float | None:
        """CPU time the program has used so far (Linux), or None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        """Stop the program (it ends when its input does) and let go of its pipes."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    def _send(self, request: dict, page: str | None = None) -> int:
        self._last_id += 1
        message = base64.b64encode(json.dumps({"message_id": self._last_id, "payload": request}).encode()) + b","
        try:
            self.process.stdin.write(message)
            self.process.stdin.flush()
        except (OSError, ValueError) as exc:  # a closed pipe: the program has gone
            raise self._stopped(f"before {request['type']}") from exc
        return self._last_id

    def _call(self, request: dict) -> dict:
        message_id = self._send(request)
        with self._arrived:
            while message_id not in self._replies and self._ended is None:
                self._arrived.wait()
            reply = self._replies.get(message_id)
        if reply is None:
            raise self._stopped(f"at {request['type']}")
        if reply.get("type") == "Error":
            raise SearchIndexError(f"Pagefind refused {request['type']}: {reply.get('message')}", INSTALL_HINT)
        return reply

    def _read(self) -> None:
        """Collect the program's replies until it stops (a thread of its own)."""
        parts, ended = [], "it stopped"
        try:
            while chunk := self.process.stdout.read1(1 << 20):
                messages = []
                while (comma := chunk.find(b",")) >= 0:  # a reply ends with a comma (never in base64)
                    parts.append(chunk[:comma])
                    messages.append(b"".join(parts))
                    parts, chunk = [], chunk[comma + 1:]
                parts.append(chunk)
                for message in messages:
                    reply = json.loads(base64.b64decode(message, validate=True))
                    with self._arrived:
                        self._replies[int(reply["message_id"])] = dict(reply["payload"])
                        self._arrived.notify_all()
        except (ValueError, KeyError, TypeError) as exc:
            ended = f"it answered something that is not a reply ({type(exc).__name__}: {exc})"
        except OSError as exc:
            ended = f"its replies could not be read ({exc})"
        with self._arrived:
            self._ended = ended
            self._arrived.notify_all()

    def _stopped(self, doing: str) -> SearchIndexError:
        """The error for a program that has gone (or stopped answering), with its exit status and last words.

        Pagefind answers one page after another, so the page it was on is the first
        one sent without an answer (the page to blame, when it is one).
        """
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:  # still running, but no use any more
            self.process.kill()
            self.process.wait()
            code = None
        with self._arrived:
            # Every answer it wrote before it stopped is read first: an answer still in the pipe
            # would leave its page looking like the one Pagefind stopped at.
            self._arrived.wait_for(lambda: self._ended is not None, timeout=2)
            page = next((page for mid, page in self._pages.items() if mid not in self._replies), None)
        if page is not None:
            doing = "while indexing this page"
        if self._ended not in (None, "it stopped"):
            how = self._ended
        elif code is None:
            how = "it stopped answering"
        elif code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit status {code}"
        self._stderr.seek(0)
        said = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return SearchIndexError(f"Pagefind failed {doing} ({how})" + (f": {said}" if said else ""),
                                INSTALL_HINT + "; if it keeps stopping at one page, look at that page's HTML", page=page)


def write_bundle(bundle: Path, files: list[dict]) -> None:
    """Write Pagefind's bundle files ({"path", "content" in base64}) under bundle; refuse a path leading out of it."""
    # A plain relative path of plain names is checked as text, each folder made once and each
    # file opened once: resolving and making the folders of every file cost about 8 system
    # calls a file, 0.3 of 0.5 CPU-s for the 1,059 files of a 1,000-post site.
    root = os.fspath(bundle)
    made: set[str] = set()
    for file in files:
        rel = file["path"]
        names = rel.split("/")
        if not rel or rel.startswith("/") or "\\" in rel or any(name in ("", ".", "..") for name in names):
            raise SearchIndexError(f"Pagefind named a bundle file outside the bundle: {rel}", INSTALL_HINT)
        folder = os.path.dirname(rel)
        if folder not in made:
            os.makedirs(os.path.join(root, folder), exist_ok=True)
            made.add(folder)
        content = base64.b64decode(file["content"])
        fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


def _index_now(site: Path, pages: list[str], bundle: Path, language: str) -> None:
    """Index `pages` (paths relative to site, in this order) and write the bundle into `bundle`."""
    parts: list[bytes] | None = [] if MAIN_ROOT else None
    for page in pages if MAIN_ROOT else ():
        part = main_part((site / page).read_bytes())
        if part is None:
            parts = None  # the whole pages, rooted at <html>, read again below
            break
        parts.append(part)
    pagefind = Pagefind(site, language, "main" if parts is not None else None)
    try:
        for index, page in enumerate(pages):
            pagefind.add(page, parts[index] if parts is not None else (site / page).read_bytes())
        pagefind.write(bundle)
        stats["pages"] = pagefind.pages
    finally:
        pagefind.close()


MARKER = b"data-pagefind-body"
MARKER_TEXT = MARKER.decode()

# --- what Pagefind is given of a page ------------------------------------------------------
# Pagefind runs its handlers (a node, attributes, an end-tag hook) on every element under its
# root selector, <html> unless told otherwise, though of a page with a data-pagefind-body
# element it keeps only: the words of that element, the first h1 with words (the title), else
# <title>, the first img after the title, data-pagefind-* attributes anywhere, <html lang> and
# script/link addresses (the last two by handlers of their own, whatever the root; its
# fossick/parser.rs). When all of that but <title> is inside the page's one <main>, and an h1
# with words is in it, rooting Pagefind at `main` keeps the page's record the same: the words
# reach main by the same steps and, above it, only gain spaces (normalized away) once one
# element on the way is a block (the body element is checked to be one). The sidebar, header
# and footer are then not walked (about a quarter of Pagefind's CPU on the 1,000-post corpus),
# and what follows </main> is not sent. A page where this does not hold (or cannot be told
# from its bytes: a comment, or a raw-text element left open, before the marker) makes the
# whole index rooted at <html> again, from the whole pages. Same bundle, byte for byte (tested).
MAIN_ROOT = True  # tests switch it off to compare the bundles
_SPACE_OR_END = frozenset(b" \t\n\r\f/>")
_RAW_NAMES = (b"script", b"style", b"title", b"textarea", b"xmp", b"iframe", b"noembed", b"noframes", b"noscript",
              b"plaintext", b"template", b"svg", b"math")
_RAW_TAG_RE = re.compile(rb"<(/?)(" + b"|".join(_RAW_NAMES) + rb")")
_BLOCKS = frozenset(b"h1 h2 h3 h4 h5 h6 p td div ul li article section".split())  # Pagefind's sentence elements
_H1_RE = re.compile(rb"<h1(?:[ \t\n\r\f/][^>]*+)?>(.*?)</h1", re.DOTALL)  # on lowercased bytes
_TAG_RE = re.compile(rb"<[^>]*+>")


_WORD_RE = re.compile(r"\w")  # on str: words in any script


def _has_words(html: str) -> bool:
    """Whether this HTML text (no tags) holds a word once its entities are read ("&amp;" holds none)."""
    return _WORD_RE.search(html_module.unescape(html)) is not None


def _h1_with_words(lower: bytes, start: int, end: int) -> bool:
    """Whether an h1 between start and end has a word (its text decoded)."""
    return any(_has_words(_TAG_RE.sub(b"", match[1]).decode("utf-8", "replace"))
               for match in _H1_RE.finditer(lower, start, end))
_TAG_NAME_RE = re.compile(rb"<([a-z][a-z0-9]*+)", re.IGNORECASE)


def _tag_at(lower: bytes, needle: bytes, start: int = 0) -> int:
    """Where the tag `needle` (e.g. b"<main") begins in lower from start, or -1 (b"<mainx" is not it)."""
    while (at := lower.find(needle, start)) >= 0:
        after = at + len(needle)
        if after == len(lower) or lower[after] in _SPACE_OR_END:
            return at
        start = at + 1
    return -1


def main_part(html: bytes, lower: bytes | None = None) -> bytes | None:
    """The page up to its </main> when Pagefind rooted at `main` makes the same record of it; None: it would not.

    A page without the marker is any page to Pagefind once some page has it (and the count
    check fails the build when none does), so its beginning is given as it is. lower: html.lower(),
    when the caller has it.
    """
    lower = html.lower() if lower is None else lower
    start = _tag_at(lower, b"<main")
    end = lower.find(b"</main")
    if start < 0 or end < start or _tag_at(lower, b"<main", start + 1) >= 0 or lower.find(b"</main", end + 1) >= 0:
        return None if MARKER in lower else html
    close = lower.find(b">", end)
    if close < 0:
        return None
    marker = lower.find(MARKER)
    if marker < 0:
        return html[:close + 1]
    if not start < marker < end or lower.find(b"data-pagefind", 0, start) >= 0 or lower.find(b"data-pagefind", end) >= 0:
        return None
    # The marker is an attribute of a tag, not words in a comment or a script before it.
    tag = lower.rfind(b"<", 0, marker)
    if lower.rfind(b">", 0, marker) > tag or lower.find(b"<!--", 0, marker) >= 0:
        return None
    # Each raw-text element opened before the marker is closed there.
    if not _raw_closed(lower, marker):
        return None
    body = _TAG_NAME_RE.match(lower, tag)
    if body is None or body[1] not in _BLOCKS:
        return None
    # Every h1 in main (the first with words is the title), and one of them has words.
    h1 = _tag_at(lower, b"<h1")
    if h1 < start or _tag_at(lower, b"<h1", end) >= 0 or not _h1_with_words(lower, h1, end):
        return None
    # No img after main (it could be the first after the title), and no old bundle reference after it.
    if lower.find(b"<img", end) >= 0 or lower.find(b"_pagefind", close) >= 0:
        return None
    return html[:close + 1]


def pages_to_index(site: Path, expected: list[str]) -> list[str] | None:
    """The pages (paths relative to site, in the order to index them) that make the bundle of the whole site; None: the whole site.

    They are the published posts and pages that were written, in the order given
    (Pelican's); then, sorted, any other page that names the marker, so that a
    listing page or a draft the theme marks by mistake is still indexed (and the
    count check still catches it); and the first other page that does not name it,
    so that if the marker is only words in a post and no element carries it,
    Pagefind still indexes a page too many. Once a page is marked Pagefind skips
    every unmarked page, so none of these changes the bundle. If no page names
    the marker, Pagefind would index every page: the whole site it is, as before.
    """
    published = [page for page in dict.fromkeys(expected) if page and (site / page).is_file()]
    if not published:
        return None
    chosen = set(published)
    marked, unmarked = [], []
    for path in sorted(site.rglob("*.html")):
        page = path.relative_to(site).as_posix()
        if page in chosen:
            continue
        if MARKER in path.read_bytes():
            marked.append(page)
        elif not unmarked:
            unmarked.append(page)
    if not marked and not any(MARKER in (site / page).read_bytes() for page in published):
        return None
    return published + marked + unmarked


def _every_page(site: Path) -> list[str]:
    """Every .html file under site, relative with "/", in the order of sorted paths (Path.rglob's, at half the cost)."""
    root, pages = os.fspath(site), []
    for folder, _, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        pages += [prefix + name for name in files if name.endswith(".html")]
    return sorted(pages, key=lambda page: page.split("/"))


# --- the posts' records, indexed as the read ends ---------------------------------------------
# Of a page whose one data-pagefind-body element is inside <main>, Pagefind rooted at `main`
# keeps the words of that element, the first h1 with words (the title), the first img after
# the title and data-pagefind-* attributes (see main_part). For a published post or page those
# are its title and its body as the theme shows them, known once the contents are read: so
# the fast path sends Pagefind a small page of just those two (record_page), in Pelican's
# write order (as pages_to_index's), as the read ends, and Pagefind's bundle is written while the site is
# rendered, instead of Pagefind waiting for each page to be rendered and written (it is the
# longest single-threaded step of a build). As each page is final (run.on_page) it is checked to
# show Pagefind exactly that (shows_record), and every other page to name no marker; one page
# that does not (a theme that shows the body otherwise, an image between the title and the
# body, a plugin that changes a body after the read) throws the bundle away, and the build
# indexes the written pages at `finalized`, as the serial path (FASTBUILD off) always does.
# tests/test_search.py compares the two bundles byte for byte (cold and after a body edit).


def record_of(content) -> tuple[str, str]:
    """Return a published post's or page's title and body as article.html and page.html show them (autoescaped title; body_html)."""
    return str(markupsafe.escape(content.title)), content.content.replace("<pre>", '<pre tabindex="0">')


def record_page(title: str, body: str, language: str) -> bytes:
    """The smallest page of which Pagefind rooted at `main` makes the record of a page showing this title and body."""
    # Pygments' spans (about a quarter of a code-heavy body's tags) are left out: an inline
    # element with nothing but a class is no word boundary, and no part of the record, to Pagefind.
    if "<span" in body and _SPAN_WITH_MORE_RE.search(body) is None:
        body = _SPAN_RE.sub("", body)
    return (f'<!DOCTYPE html><html lang="{language}"><body><main><h1>{title}</h1>'
            f'<div data-pagefind-body>{body}</div></main></body></html>').encode()


_SPAN_RE = re.compile(r'<span(?: class="[^"<>]*")?>|</span>')
_SPAN_WITH_MORE_RE = re.compile(r'<span(?! class="[^"<>]*">|>)', re.IGNORECASE)


# A body that could end its element, the <article> or <main> around it, or leave a comment or
# raw-text element open, is parsed otherwise inside the theme's page than inside record_page's.
_BODY_BREAK_RE = re.compile(rb"</?(?:main|article|body|html|head)[\s/>]")


def shows_record(html: bytes, title: str, body: str) -> bool:
    """Whether Pagefind rooted at `main` makes of this written page the record it makes of record_page(title, body)."""
    lower = html.lower()
    if main_part(html, lower) is None:
        return False
    title_b, body_b = title.encode(), body.encode()
    body_lower = body_b.lower()
    if _BODY_BREAK_RE.search(body_lower) or not _closed(body_lower) or b"<" in title_b \
            or not _has_words(title):
        return False
    start, end = _tag_at(lower, b"<main"), lower.find(b"</main")
    # The first h1 in main is the title (main_part checked it comes after <main>).
    h1 = _tag_at(lower, b"<h1", start)
    inner = lower.find(b">", h1) + 1
    if not inner or html[inner:inner + len(title_b)] != title_b or not lower.startswith(b"</h1", inner + len(title_b)):
        return False
    # Then the marker, on a <div> whose content is the body and nothing else, with no img between.
    marker = lower.find(MARKER, inner)
    tag = lower.rfind(b"<", 0, marker)
    if marker < 0 or not lower.startswith(b"<div", tag) or lower.find(b"<img", inner, tag) >= 0:
        return False
    # Exactly the body, not a space more: spaces before </div> change where Pagefind ends a sentence.
    at = lower.find(b">", marker) + 1
    if html[at:at + len(body_b)] != body_b:
        return False
    after = at + len(body_b)
    if not lower.startswith(b"</div", after):
        return False
    # No other data-pagefind attribute, and no img after the body when it has none of its own.
    if lower.count(b"data-pagefind") != body_lower.count(b"data-pagefind") + 1:
        return False
    return b"<img" in body_lower or lower.find(b"<img", after, end) < 0


def _closed(lower: bytes) -> bool:
    """Whether every comment and raw-text element that opens in this HTML closes in it."""
    at = 0
    while (at := lower.find(b"<!--", at)) >= 0:
        at = lower.find(b"-->", at + 4)
        if at < 0:
            return False
    return _raw_closed(lower, len(lower))


def _raw_closed(lower: bytes, end: int) -> bool:
    """Whether each raw-text element opened in lower[:end] is closed there: as many "<name" as "</name"."""
    # One pass for all the names (no name starts another, so each tag counts for one name only).
    tally = collections.Counter(_RAW_TAG_RE.findall(lower, 0, end))
    return all(tally[(b"", name)] == tally[(b"/", name)] for _slash, name in tally)


def _add_and_write(pagefind: Pagefind, pages: list[tuple[str, bytes]], bundle: Path) -> None:
    """Send pages ((path, HTML), in this order) to a started Pagefind and write their bundle into bundle."""
    for rel, html in pages:
        pagefind.add(rel, html)
    pagefind.write(bundle)


def index_records(site: Path, records: dict[str, tuple[str, str]], bundle: Path, language: str) -> None:
    """Index the records ({page: (title, body)}) as the fast path does, in one go (bench/floors.py)."""
    pagefind = Pagefind(site, language, "main")
    try:
        _add_and_write(pagefind, [(rel, record_page(*record, language)) for rel, record in records.items()], bundle)
    finally:
        pagefind.close()


class _Ahead:
    """The run's published posts and pages, indexed from their records while the site is written; each written page checked."""

    def __init__(self, site: Path, records: dict[str, tuple[str, str]], language: str, bundle: Path,
                 output_path: str | None = None):
        self.site, self.records, self.language, self.bundle = site, records, language, bundle
        self.output_path = os.fspath(output_path or site)  # as the plugins join their pages' paths to it
        self.seen: set[str] = set()  # pages checked (the last write of each)
        self.differs: str | None = None  # why the bundle cannot stand: the first page to blame
        self.error: BaseException | None = None
        self.written: float | None = None  # when the bundle was written (perf_counter)
        self.pagefind: Pagefind | None = None
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        # The pages are made here, in the main thread, before the writer tracks what pages read
        # (plugins/fastbuild's render memo): a body read here is no page's input.
        pages = [(rel, record_page(*record, language)) for rel, record in records.items()]
        self.indexer = threading.Thread(target=self._index, args=(pages,), name="search-index", daemon=True)
        self.checker = threading.Thread(target=self._check_as_they_come, name="search-check", daemon=True)
        try:
            # Here, before the writer forks its workers.
            self.pagefind = Pagefind(site, language, "main")
        except SearchIndexError as error:
            self.error = error
            return
        self.indexer.start()
        self.checker.start()

    def _index(self, pages: list[tuple[str, bytes]]) -> None:
        try:
            _add_and_write(self.pagefind, pages, self.bundle)
            self.written = time.perf_counter()
        except Exception as exc:  # handed to finalized, which reports it (naming the page)
            self.error = exc

    def page(self, _run, rel: str) -> None:
        """run.on_page's callback: queue the page to be checked (never raises into the writer)."""
        self.queue.put(rel)

    def html(self, _run, path, text: str) -> str:
        """run.on_html's callback: a page a plugin writes itself (a redirect stub) needs no reading at finish() when unmarked."""
        rel = os.path.relpath(path, self.output_path).replace(os.sep, "/")
        if rel not in self.records and MARKER_TEXT not in text:
            self.seen.add(rel)
        return text

    def _check_as_they_come(self) -> None:
        while (rel := self.queue.get()) is not None:
            if self.differs is None:
                self._check(rel)

    def _check(self, rel: str) -> None:
        try:
            html = (self.site / rel).read_bytes()
        except OSError as exc:
            self.differs = f"{rel} could not be read ({exc})"
            return
        self.seen.add(rel)
        record = self.records.get(rel)
        if record is None:
            if MARKER in html:
                self.differs = f"{rel} names data-pagefind-body but is no published post or page"
        elif not shows_record(html, *record):
            self.differs = f"{rel} does not show Pagefind its post's title and body as record_of() expects"

    def finish(self) -> bool:
        """Check the pages the writer did not announce and wait for the bundle; False: it cannot stand, index the files."""
        self._join()
        if self.differs is None:
            for rel in _every_page(self.site):
                if rel not in self.seen:
                    self._check(rel)
            missing = next((rel for rel in self.records if rel not in self.seen), None)
            if self.differs is None and missing is not None:
                self.differs = f"{missing} was not written"
        if self.differs is not None:
            log.info("search: indexing the written pages, not the posts' records: %s", self.differs)
            shutil.rmtree(self.bundle, ignore_errors=True)
            self.written = None
            return False
        if self.error is not None:
            raise self.error
        return True

    def _join(self) -> None:
        if self.checker.ident is not None:
            self.queue.put(None)
            self.checker.join()
        if self.indexer.ident is not None:
            self.indexer.join()

    def close(self) -> None:
        """Stop Pagefind (the build is over, or failed before `finalized`)."""
        self._join()
        if self.pagefind is not None:
            self.pagefind.close()
            self.pagefind = None


def indexed_page_count(bundle: Path) -> int:
    """Return how many pages a written Pagefind bundle holds, from its pagefind-entry.json."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(int(language["page_count"]) for language in entry["languages"].values())


def build_index(pelican) -> None:
    """Run Pagefind over the written site; report one problem if anything of it fails or it indexes the wrong pages."""
    try:
        _build_index(pelican)
    except SearchIndexError as error:
        report(f"built page {error.page}" if error.page else SITE, str(error), error.hint, log=log)
    except Exception as exc:  # one clear problem instead of a crash naming nothing
        report(SITE, f"the search index could not be built: {type(exc).__name__}: {exc}", INSTALL_HINT, log=log)


def _build_index(pelican) -> None:
    """Run Pagefind over the written site; raise SearchIndexError if it fails or indexes the wrong pages."""
    config = search_settings(pelican.settings)
    site = Path(pelican.output_path).resolve()
    with _lock:
        expected = _expected.pop(str(site), None)
    ahead = _ahead.pop(str(site), None)
    if not config["index"]:
        return
    language = _language(pelican.settings)
    bundle = site / config["bundle_dir"]
    if config["index"] == "background" and expected and _index_in_background(bundle, config["bundle_dir"], language, expected):
        return
    started = time.perf_counter()
    stats.clear()
    try:
        indexed = False
        if ahead is not None:
            before = ahead.pagefind.cpu_seconds() if ahead.pagefind is not None else None
            indexed = ahead.finish()
            if indexed:
                # written_ahead: seconds before `finalized` the bundle was written (< 0: finalized waited)
                stats.update(ahead=len(ahead.records), pagefind_cpu_before_finalized=before,
                             pagefind_cpu=ahead.pagefind.cpu_seconds(), pages=ahead.pagefind.pages,
                             written_ahead=started - ahead.written)
        if not indexed:
            # With nothing marked for indexing Pagefind would index every page, so a
            # site without published posts or pages gets an empty bundle instead.
            pages = [] if expected is not None and not expected else None
            if pages is None and expected is not None:
                pages = pages_to_index(site, expected)
            _index_now(site, _every_page(site) if pages is None else pages, bundle, language)
        count = indexed_page_count(bundle)
    except SearchIndexError:
        raise
    except Exception as exc:  # reading the pages or the bundle: said as one problem
        raise SearchIndexError(f"Pagefind failed to index {site}: {type(exc).__name__}: {exc}", INSTALL_HINT) from exc
    finally:
        if ahead is not None:
            ahead.close()
    stats["finalized_seconds"] = time.perf_counter() - started
    _check_count(count, expected)
    log.info("search: Pagefind indexed %d page(s) into %s", count, bundle)


def _check_count(count: int, expected: list[str] | None) -> None:
    """Raise SearchIndexError if Pagefind indexed more pages than the site publishes."""
    # Fewer is fine (Pagefind skips a page with no words, e.g. a post that is one
    # image); more means a draft or a listing page was marked for indexing, or
    # the marker was lost and Pagefind fell back to indexing every page.
    if expected is not None and count > len(expected):
        raise SearchIndexError(
            f"Pagefind indexed {count} page(s) but the site has only {len(expected)} published post(s) and page(s)",
            "the theme must put data-pagefind-body on the body of published posts and pages only, "
            "in article.html and page.html",
        )


# --- indexing in the background (livereload) -------------------------------------------
# A preview build should not wait seconds for Pagefind: the new site goes live
# with the index of the last one (hard links, so nothing is copied), and a
# thread indexes the new site and swaps its bundle in. Only the newest site is
# indexed: a thread whose site has been replaced meanwhile gives way.

_background: dict = {"newest": 0, "threads": []}
_one_pagefind = threading.Lock()  # one Pagefind at a time: it uses every core
_bundle_swap = threading.Lock()  # held while a live bundle is copied or replaced


def _index_in_background(bundle: Path, bundle_dir: str, language: str, expected: list[str]) -> bool:
    """Give the new site the last index and index it once it is live; False if there is no last index."""
    run = runhooks.current()
    previous = run.target / bundle_dir if run is not None else None
    if previous is None or not (previous / "pagefind-entry.json").is_file():
        return False  # nothing to search meanwhile: index now
    try:
        with _bundle_swap:
            shutil.copytree(previous, bundle, copy_function=os.link)
    except OSError:
        shutil.rmtree(bundle, ignore_errors=True)
        return False

    def start(run: runhooks.Run) -> None:
        target = run.target
        with _lock:
            _background["newest"] += 1
            generation = _background["newest"]
        thread = threading.Thread(target=_index_later, args=(generation, target, bundle_dir, language, expected),
                                  name="search-index")
        _background["threads"].append(thread)
        thread.start()

    run.after_swap(start)
    return True


def _newest(generation: int) -> bool:
    with _lock:
        return generation == _background["newest"]


def _index_later(generation: int, target: Path, bundle_dir: str, language: str, expected: list[str]) -> None:
    """Index the live site `target` and put the new bundle in place, unless a newer site came meanwhile."""
    with _one_pagefind:
        if not _newest(generation):
            return
        fresh = old = None
        try:
            fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.pagefind-", dir=target.parent))
            pages = pages_to_index(target, expected)
            _index_now(target, _every_page(target) if pages is None else pages, fresh, language)
            _check_count(indexed_page_count(fresh), expected)
            with _bundle_swap:
                if not _newest(generation):
                    return
                live = target / bundle_dir
                old = target.parent / f".{target.name}.pagefind-old-{uuid.uuid4().hex[:8]}"
                live.rename(old)
                fresh.rename(live)
                fresh = None
            log.info("search: Pagefind indexed the new site in the background")
        except Exception as exc:  # the build is over: say so where the author looks
            if _newest(generation):
                hint, page = getattr(exc, "hint", ""), getattr(exc, "page", None)
                print(f"search: the index was not updated: {type(exc).__name__}: {exc}" + (f" (built page {page})" if page else "")
                      + (f" (fix: {hint})" if hint else ""),
                      file=sys.stderr, flush=True)
        finally:
            for folder in (fresh, old):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)


def wait_for_index() -> None:
    """Wait until every search index started in the background is written (tests, benchmark, exit)."""
    while _background["threads"]:
        _background["threads"].pop().join()


def register():
    """Hook the plugin into Pelican."""
    signals.initialized.connect(apply_defaults)
    signals.all_generators_finalized.connect(remember_published)
    signals.finalized.connect(build_index)
