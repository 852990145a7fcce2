"""The preview server's hot path: one post's body edited, only the pages that show it rendered again.

A full build re-runs Pelican's whole pipeline (about 2 s at 1,000 posts with
nothing to render). When the preview server says exactly one published post
was saved (`blogkit.build.build(..., changed=[path])`) and the file's metadata
header is the same as in the last build of this process, nothing of the
site's structure can have changed, only that post's body. Then, in this
process:

1. the file is read again with Pelican's own reader;
2. the plugins' per-post work is redone on it (`article_generator_finalized`
   sent for a stand-in generator holding only the new object, e.g. reading
   time and table of contents), and the body attributes
   (`memo.BODY_ATTRIBUTES`) are copied onto the object every kept context
   refers to;
3. the pages and feeds whose recorded reads include that body (the render
   memo's entries, and the reads noted for pages written after the flush) are
   rendered again from the templates and contexts kept from the last build,
   into a staging folder;
4. the page post-processors (plugins/csp: its `initialized` receiver before
   the pages are rendered, so each gets its policy as it is rendered, and its
   `finalized` one after) run for that folder, which holds only those pages;
5. the new pages replace the old ones (one rename each) and update() returns:
   the preview reloads the open tab now;
6. the feeds that carry the post follow in a thread (no tab shows a feed,
   and they are about half the work): rendered, swapped in, then the memo is
   updated so the next full build reuses every file, and the last build's
   after-swap callbacks run again (plugins/search re-indexes in the
   background). The next build, hot or full, waits for it first (`wait()`).

Drafts and hidden posts are taken too (a draft being written is the
author's usual loop). Anything else (metadata, a new, renamed or deleted
file, a page, a translation, a template, a setting, a comment file, several
files) takes the full build, and
so does any warning or error logged on the way: nothing is swapped in then,
and the full build reports it with its usual messages.

Source checks: plugins/strict's checks run in Pelican's
`all_generators_finalized`, which the hot path does not send. Instead, after
step 2 it sends the `fastbuild.body_saved` signal (BODY_SAVED, blinker's named
signal) with the updated post and the live site's folder; plugins/strict checks
that one file, its links and its images, and a problem it reports (a logged
error) makes the hot path give way to the full build, which reports it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path

from blinker import signal

from blogkit import runhooks

from . import memo, write

logger = logging.getLogger(__name__)
stats = {"taken": False, "declined": ""}
# Page post-processors, named by module: their `initialized` and `finalized` receivers run
# around the hot path's rendering, for its folder of re-rendered pages.
POST_PROCESSORS = ("plugins.csp",)
# Receivers check the saved post (plugins/strict): send(post, output=live site folder).
BODY_SAVED = signal("fastbuild.body_saved")

_kept: dict = {}  # what the last fast, incremental build in this process left for the hot path
# The lists of posts in Pelican's context the hot path takes a body edit in.
KINDS = ("articles", "drafts", "hidden_articles")


@dataclass
class Result:
    """What the hot path did."""

    source: str
    pages: list[str]
    seconds: float


def forget(target=None) -> None:
    """Drop what was kept (for one target, or all)."""
    if target is None or _kept.get("target") == Path(target):
        _kept.clear()


def _header(path: str) -> str | None:
    """The metadata header of a Markdown source: its lines up to the first blank one."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = []
            for line in handle:
                if not line.strip():
                    break
                lines.append(line)
            return "".join(lines)
    except (OSError, UnicodeDecodeError):
        return None


def keep(run, started: float) -> None:
    """After a fast build went live: keep its templates, contexts and memo for the hot path."""
    _kept.clear()
    context = write.kept.get("context")
    if context is None or "memo" not in memo.last:
        return
    articles, kinds = {}, {}
    # Published, draft and hidden posts: a draft being written is the author's usual edit loop.
    for kind, article in [(kind, item) for kind in KINDS for item in context.get(kind, [])]:
        source = getattr(article, "source_path", None)
        if not source or not source.endswith(".md"):
            continue
        try:
            if os.stat(source).st_mtime > started:
                continue  # saved while the build ran: what was built may not be what is there
        except OSError:
            continue
        articles[os.path.abspath(source)] = (article, _header(source))
        kinds[os.path.abspath(source)] = kind
    jobs, direct = write.kept["jobs"], write.kept["direct"]
    _kept.update(
        copies=_copies(Path(run.target), set(jobs) | set(direct)),
        target=Path(run.target), cache=run.settings.get("CACHE_PATH"), context=context,
        jobs=write.kept["jobs"], direct=write.kept["direct"], memo=memo.last["memo"],
        settings=memo.last["settings"], articles=articles, kinds=kinds,
        after_swap=[cb for cb in run._after_swap if getattr(cb, "__self__", None) is not _HOT],
    )
    runhooks.offer_hot_path(update)


def _copies(target: Path, covered: set) -> dict[str, list[str]]:
    """Files the build wrote as copies of a rendered page or feed (plugins/blogger_redirects copies
    the Atom feed to Blogger's address): the same bytes as it, found among files of the same size."""
    by_size: dict[int, list[str]] = {}
    for root, _dirs, files in os.walk(target):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), target)
            if rel not in covered:
                try:
                    by_size.setdefault(os.stat(os.path.join(root, name)).st_size, []).append(rel)
                except OSError:
                    pass
    copies: dict[str, list[str]] = {}
    for rel in covered:
        try:
            candidates = by_size.get(os.stat(target / rel).st_size)
            if candidates:
                data = (target / rel).read_bytes()
                same = [other for other in candidates if (target / other).read_bytes() == data]
                if same:
                    copies[rel] = same
        except OSError:
            pass
    return copies


class _Hot:
    """Marks the hot path's own after-swap callback, which it does not run again."""

    def keep(self, run) -> None:
        keep(run, self.started)


_HOT = _Hot()


_following: list[threading.Thread] = []  # the feeds of the last hot edit, still being written


def wait() -> None:
    """Wait until the feeds of the last hot edit are in place (the next build, tests, the benchmark)."""
    while _following:
        _following.pop().join()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _decline(reason: str) -> None:
    stats["declined"] = reason
    return None


def update(settings: dict, target: Path, changed: list) -> Result | None:
    """Update the live site for one post's body edit; None when the full build must run."""
    started = time.perf_counter()
    wait()
    stats["taken"], stats["declined"] = False, ""
    from . import render
    from .config import _last, options

    if not (options(settings)["enabled"] and options(settings)["hot"] and options(settings)["incremental"]):
        return _decline("FASTBUILD's hot path is off in these settings")
    if "fastbuild" not in [str(p).rsplit(".", 1)[-1] for p in settings.get("PLUGINS") or []]:
        return _decline("plugins/fastbuild is not in PLUGINS")
    if not _last["fast"]:  # the compatibility check of this process's last build
        return _decline("Pelican's internals are not as expected")
    if not memo.may_reuse(settings):
        return _decline("a build that must not reuse the last one (LOAD_CONTENT_CACHE off)")
    if not _kept or _kept["target"] != Path(target) or _kept["cache"] != settings.get("CACHE_PATH"):
        return _decline("nothing kept for this site and these settings")
    if len(changed) != 1:
        return _decline("not exactly one file saved")
    source = os.path.abspath(str(changed[0]))
    found = _kept["articles"].get(source)
    if found is None or not os.path.isfile(source):
        return _decline("not a post of the last build (new, renamed, deleted, a page or a translation)")
    old, header = found
    if header is None or _header(source) != header:
        return _decline("the metadata header changed")
    # The last build's settings: the same (one fingerprint), with the plugins' defaults applied.
    settings = _kept["settings"]
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    memo.track_content_methods()
    render.start_url_memo()  # a body edit changes no URL
    staging = Path(tempfile.mkdtemp(prefix=f".{Path(target).name}.hot-", dir=Path(target).parent))
    try:
        rendered = _render(settings, source, old, staging)
        if rendered is None:
            forget()  # the kept objects may be half-updated: the full build starts afresh
            return None
        pages, feeds = rendered
        if capture.records:
            # Say nothing here: the full build that follows reports them properly.
            forget()
            return _decline("a warning or error on the hot path")
        _swap(staging, Path(target), pages, source)
    except Exception as exc:  # anything unexpected: the full build is always right
        forget()
        return _decline(f"{type(exc).__name__}: {exc}")
    finally:
        render.stop_url_memo()
        memo.untrack_content_methods()
        root.removeHandler(capture)
        shutil.rmtree(staging, ignore_errors=True)
    _kept["articles"][source] = (old, header)
    thread = threading.Thread(target=_follow, args=(settings, source, feeds, Path(target)), name="hot-path-feeds")
    _following.append(thread)
    thread.start()
    stats["taken"] = True
    return Result(source, sorted(pages) + sorted(feeds), time.perf_counter() - started)


def _follow(settings: dict, source: str, feeds: dict, target: Path) -> None:
    """Render the feeds that carry the edited post, swap them in, save the memo, run the after-swap callbacks."""
    from pelican.writers import Writer

    from . import render

    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    memo.track_content_methods()
    render.start_url_memo()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.hot-", dir=target.parent))
    try:
        writer = Writer(str(staging), settings=settings)
        rendered = {}
        for rel, feed in feeds.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            rendered[rel] = memo.render_tracked(lambda f=feed: Writer.write_feed(writer, *f.args))
        _swap(staging, target, rendered, source)
        memo.save(_kept["memo"], _kept["settings"])
    except Exception:  # anything: the next save takes the full build, which reports what is wrong
        forget()
        return
    finally:
        render.stop_url_memo()
        memo.untrack_content_methods()
        root.removeHandler(capture)
        shutil.rmtree(staging, ignore_errors=True)
    if capture.records:
        forget()  # a feed that logged a problem: the next save takes the full build, which reports it
    run = runhooks.Run(target, target, settings)
    for callback in _kept.get("after_swap", ()):
        callback(run)


def _render(settings: dict, source: str, old, staging: Path) -> dict | None:
    """Read the post again, give the kept object its new body, render the pages that read it into staging.

    Returns (pages rendered, the feeds to render after them), or None to decline.
    """
    from pelican import signals
    from pelican.readers import Readers

    context = _kept["context"]
    readers = Readers(settings)
    new = readers.read_file(base_path=settings["PATH"], path=os.path.relpath(source, settings["PATH"]),
                            content_class=type(old), context=context)
    # The same header gives the same metadata, except what plugins derive from the body
    # (plugins/summaries' summary of a long post without a Summary: line).
    if any(old.metadata.get(key, object()) != value for key, value in new.metadata.items()
           if key not in memo.BODY_METADATA) or set(old.metadata) - set(new.metadata) - set(memo.BODY_METADATA):
        return _decline("the metadata differs")
    # The article generator as its receivers see it, holding only the new object: each
    # plugin's per-post work is done on it; site-wide lists are empty (a receiver that
    # needs more fails, and the full build runs).
    kind = _kept["kinds"][source]
    stand_in = types.SimpleNamespace(settings=settings, context=context, articles=[new] if kind == "articles" else [],
                                     translations=[], drafts=[new] if kind == "drafts" else [], drafts_translations=[],
                                     hidden_articles=[new] if kind == "hidden_articles" else [],
                                     hidden_translations=[], dates=[], tags={}, categories=[], authors=[],
                                     related_posts=[], readers=readers, path=settings["PATH"])
    signals.article_generator_finalized.send(stand_in)
    for name in memo.BODY_ATTRIBUTES:
        if name in vars(new):
            setattr(old, name, getattr(new, name))
        else:
            vars(old).pop(name, None)
    for key in memo.BODY_METADATA:
        if key in new.metadata:
            old.metadata[key] = new.metadata[key]
        else:
            old.metadata.pop(key, None)
    BODY_SAVED.send(old, output=_kept["target"])  # e.g. plugins/strict: a problem logged here declines
    for name in ("get_content", "get_summary"):  # Pelican memoises both per object
        cache = getattr(memo._patched.get(name), "cache", None)
        if cache is None:
            return _decline(f"Content.{name} keeps no cache we know")
        for key in [key for key in cache if key and key[0] is old]:
            del cache[key]
    entries = _kept["memo"].pages
    todo = {rel: job for rel, job in _kept["jobs"].items() if rel in entries and source in entries[rel].bodies}
    direct = {rel: item for rel, item in _kept["direct"].items() if source in item[2]}
    # A sitewide part that read this body is rendered again, once, with the pages.
    for template, _context in list(todo.values()) + [item[:2] for item in direct.values()]:
        cache = getattr(getattr(template, "environment", None), "sitewide_cache", None)
        if cache:
            for name in [name for name, (_html, reads) in cache.items() if source in reads]:
                del cache[name]
    pelican = types.SimpleNamespace(settings={**settings, "OUTPUT_PATH": str(staging)}, output_path=str(staging))
    _post_processors(signals.initialized, pelican)  # e.g. csp: the policy goes in as pages are rendered
    rendered: dict[str, set] = {}
    feeds = {rel: template for rel, (template, _context) in todo.items() if isinstance(template, write._Feed)}
    for rel, (template, page_context) in todo.items():
        if rel in feeds:
            continue  # after the pages, in a thread (_follow)
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        html = []
        reads = memo.render_tracked(lambda t=template, c=page_context: html.append(t.render(c)))
        path.write_text(html[0], encoding="utf-8")
        rendered[rel] = reads
    for rel, (template, page_context, _reads) in direct.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        html = []
        reads = memo.render_tracked(lambda t=template, c=page_context: html.append(t.render(c)))
        path.write_text(html[0], encoding="utf-8")
        _kept["direct"][rel] = (template, page_context, frozenset(reads))
    _post_processors(signals.finalized, pelican)
    return {rel: rendered.get(rel) for rel in [*todo, *direct] if rel not in feeds}, feeds


def _post_processors(signal, pelican) -> None:
    """Send signal to the page post-processors' receivers only, for the hot path's folder."""
    for receiver in list(signal.receivers_for(pelican)):
        if getattr(receiver, "__module__", "").startswith(POST_PROCESSORS):
            receiver(pelican)


def _swap(staging: Path, target: Path, pages: dict, source: str) -> None:
    """Put each re-rendered file in place (one rename each) and update the memo's entries to match."""
    entries = _kept["memo"].pages
    digest = memo.body_digest(_kept["articles"][source][0])
    bodies = memo._Bodies(_kept["context"])
    for rel, reads in pages.items():
        os.replace(staging / rel, target / rel)
        for copy in _kept["copies"].get(rel, ()):
            temporary = staging / f".copy-{os.getpid()}"
            shutil.copyfile(target / rel, temporary)
            os.replace(temporary, target / copy)
        entry = entries.get(rel)
        if entry is None or reads is None:
            continue
        entry.bodies = {s: (digest if s == source else entry.bodies.get(s) or bodies.get(s, "?")) for s in sorted(reads)}
        stat = (target / rel).stat()
        entry.stamp = (stat.st_size, stat.st_mtime_ns)
