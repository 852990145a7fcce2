"""Render the article and page generators' pages on all cores, in forked processes.

Pelican renders and writes every page in one process. Our writer lets
Pelican's own `Writer.write_file` run as usual (pagination, the path checks
that refuse two contents writing the same file, `os.makedirs`, the log
lines), but hands it a stand-in template that only records what to render,
and no file is created until the page is rendered (nor a folder until the
flush, which makes each folder Pelican asked for once). When the articles and
pages generators have finished (`page_writer_finalized`; Pelican runs the
pages generator right after the articles one), the recorded pages are
rendered, the posts' and pages' own pages first, then the lists: the first one
in this process (which compiles the templates and fills the memoised sidebar
data before the fork, so the children inherit them), the rest taken one by
one, in order, by this process and `workers - 1` forked children from a
shared counter, so they end together; the feeds come last, shared the same
way. A
child sends back its warnings and, if a template failed, the exception; both
are raised again here, so a failed render fails the build exactly as it does
in a serial build. After the flush the writer writes immediately, as
Pelican's does.

Feeds written by the articles generator are deferred the same way: the path
is claimed at once (so a clash is refused where Pelican refuses it) and the
feed is built and written after the pages. `feed_written` is sent in this
process, so that its receivers (plugins/strict notes who wrote each file) run
here: as the feed is written, or, for a feed a child wrote or one reused from
the last build, afterwards with feed=None.

`content_written` (pelican-sitemap listens to it) is held back while pages
are recorded and sent here, in this process, once they are written: every
receiver gets the same (path, context) pairs in the same order as in a serial
build, and finds the file complete. If a plugin listens to `feed_generated`
(it is handed the feed before it is written), feeds are not deferred.

Every HTML page this writer writes is announced, in this process, through
`runhooks.page_final` as soon as it is final in the staging folder (so that
plugins/search can check it while the rest is rendered): pages linked from
the last build when they are linked, pages rendered here as each is
written, pages rendered in a child as the child reports each done (it writes
the page's path down a pipe of its own; this process reads those between
its own pages, and to the end once its share is done), and pages written
after the flush as Pelican's writer closes them. `run.streams_pages` is set
at `initialized` (plugins/fastbuild), before this writer is made.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import pickle
import traceback

import pelican.writers
from pelican.log import FilteredMessage
from pelican.plugins import signals
from pelican.writers import Writer

from blogkit import runhooks

from . import heap, memo as rendermemo, render as renderfilters

logger = logging.getLogger(__name__)
# What the last flush did, for tests and the benchmark.
stats = {"rendered": 0, "rendered_in_children": 0, "reused": 0}
# What the hot path needs of the last build (hot.py): every page's template and context, by
# path in the output folder ("jobs": the article and page generators'; "direct": written after the
# flush, with the bodies each read), and Pelican's context.
kept: dict = {}


class _Tracking:
    """Stands in for a template written directly (after the flush): notes the bodies it read."""

    def __init__(self, template, writer: "ParallelWriter"):
        self.template, self.writer = template, writer

    def render(self, context):
        result = []
        reads = rendermemo.render_tracked(lambda: result.append(self.template.render(context)))
        self.writer._direct = (self.template, context, frozenset(reads))
        return result[0]


class _Recorder:
    """Stands in for a Jinja template: remembers the context it was asked to render."""

    def __init__(self, template, writer: "ParallelWriter"):
        self.template = template
        self.writer = writer

    def render(self, context):
        self.writer._pending = (self.template, context)
        return ""


class _NoFile:
    """What `open` gives Pelican's writer for a recorded page: a name, and nowhere to write."""

    def __init__(self, name, mode="r", encoding=None):
        self.name = name

    def write(self, text):
        return len(text)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _HeldSignal:
    """Stands in for `content_written` while pages are recorded: keeps each send for later."""

    def __init__(self, held: list):
        self.held = held

    def send(self, sender, **kwargs):
        self.held.append((sender, kwargs))
        return []


class _SignalsWhileRecording:
    """pelican.writers' view of the signals module while pages are recorded."""

    def __init__(self, held: list):
        self.content_written = _HeldSignal(held)

    def __getattr__(self, name):
        return getattr(signals, name)


class _OsWhileRecording:
    """pelican.writers' view of the os module while pages are recorded.

    Pelican makes a page's folder (os.makedirs, three system calls) before it
    writes the page: for a recorded page the folder is only noted here and made
    at the flush, once per folder (a cold build at 1,000 posts asks for some 60
    folders 1,600 times: ~0.2 CPU-s with the other core idle). Any other call
    (a feed written at once, with no page recorded) goes to os itself.
    """

    def __init__(self, writer: "ParallelWriter"):
        self.writer = writer

    def makedirs(self, name, mode=0o777, exist_ok=False):
        if self.writer._pending is not None and exist_ok:
            self.writer._folders.add(name)
            return None
        return os.makedirs(name, mode, exist_ok)

    def __getattr__(self, name):
        return getattr(os, name)


def release_signals() -> None:
    """Give pelican.writers the real signals and os modules back (also after a failed build)."""
    pelican.writers.signals = signals
    pelican.writers.os = os


def _page_done(path: str) -> None:
    """Announce a page of the run in progress as final (runhooks.page_final), if it is HTML under its staging."""
    run = runhooks.current()
    if run is None or not path.endswith(".html"):
        return
    rel = os.path.relpath(path, run.staging)
    if not rel.startswith(".."):
        runhooks.page_final(run, rel.replace(os.sep, "/"))


class ParallelWriter(Writer):
    """Pelican's Writer, rendering the article and page generators' pages in parallel."""

    workers = 2

    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self._jobs: dict[str, tuple] = {}
        self._pending = None
        self._held: list = []
        # Deferred also with one worker: the render memo decides at the flush what to render.
        self.deferring = True
        pelican.writers.signals = _SignalsWhileRecording(self._held)
        self._folders: set[str] = set()  # the recorded pages' folders, made at the flush
        pelican.writers.os = _OsWhileRecording(self)
        self.deferring_feeds = not signals.feed_generated.receivers
        self._opened: list | None = None  # files opened by a direct write_file, announced once it is done
        self._feed_items: dict | None = None  # while the flush renders: each feed item's XML (render.py)

    def _create_new_feed(self, feed_type, feed_title, context):
        feed = super()._create_new_feed(feed_type, feed_title, context)
        if self._feed_items is not None:
            renderfilters.memoise_feed_items(feed, self._feed_items)
        return feed

    def _add_item_to_the_feed(self, feed, item):
        if self._feed_items is None:
            return super()._add_item_to_the_feed(feed, item)
        return renderfilters.add_feed_item(super()._add_item_to_the_feed, self, feed, item, self._feed_items)

    def _claim(self, filename, encoding, override):
        """Pelican's checks and notes for a write to filename (two contents on one path), creating no file."""
        pelican.writers.open = _NoFile
        try:
            return Writer._open_w(self, filename, encoding, override)
        finally:
            del pelican.writers.open

    def write_feed(self, elements, context, path=None, url=None, feed_type="atom", override_output=False, feed_title=None):
        if not (self.deferring_feeds and path):
            return super().write_feed(elements, context, path, url, feed_type, override_output, feed_title)
        from pelican.utils import sanitised_join

        complete_path = sanitised_join(self.output_path, path)
        # The path claimed now; the flush writes the file (an imported blog's 1,638 tag feeds,
        # created empty here, were as many file creations one by one before the render).
        self._claim(complete_path, "utf-8", override_output)
        feed = _Feed(self, elements, context, path, url, feed_type, override_output, feed_title)
        self._jobs.pop(complete_path, None)
        self._jobs[complete_path] = (feed, None)
        return None

    def write_file(self, name, template, context, *args, **kwargs):
        if self.deferring and name:
            template = _Recorder(template, self)
        else:
            if name and rendermemo.active():
                template = _Tracking(template, self)
            self._opened = []
            try:
                return super().write_file(name, template, context, *args, **kwargs)
            finally:
                opened, self._opened = self._opened, None
                for path in opened:
                    _page_done(path)
        return super().write_file(name, template, context, *args, **kwargs)

    def _open_w(self, filename, encoding, override=False):
        direct, self._direct = getattr(self, "_direct", None), None
        if direct is not None and "direct" in kept:
            kept["direct"][os.path.relpath(filename, self.output_path)] = direct
        if self._pending is None:
            if rendermemo.was_reused(filename) and os.path.exists(filename):
                # A later write over a page linked from the last build (a Save_as over a
                # generated page): a new file, so the last build's stays as it was.
                os.unlink(filename)
            handle = super()._open_w(filename, encoding, override)
            if self._opened is not None:
                self._opened.append(handle.name)
            return handle
        job, self._pending = self._pending, None
        # The flush writes the file, or links it from the last build (an empty file made
        # here would cost a file creation per page for nothing).
        handle = self._claim(filename, encoding, override)
        if handle.name != os.devnull:
            # A later write to the same path replaces the earlier one, as in a serial build.
            self._jobs.pop(handle.name, None)
            self._jobs[handle.name] = job
        return handle

    def flush(self, context: dict | None = None) -> None:
        """Render every recorded page and feed, then write immediately from now on.

        Given the generator's context, pages whose inputs did not change since
        the last build are linked from it instead (blogkit.rendermemo).
        """
        self.deferring = self.deferring_feeds = False
        release_signals()
        jobs = [(path, template, page_context) for path, (template, page_context) in self._jobs.items()]
        if context is not None:
            kept.clear()
            kept.update(context=context, direct={},
                        jobs={os.path.relpath(path, self.output_path): (template, page_context)
                              for path, template, page_context in jobs})
        held, self._jobs, self._held = self._held, {}, []
        # Every folder Pelican asked for, as a serial build makes them. A page's own folder is made
        # by the process that writes the page (_render_one, memo's link), on every core: made here
        # one by one before the fork, they were half of this process's work before it.
        for folder in sorted(self._folders - {os.path.dirname(job[0]) for job in jobs if not isinstance(job[1], _Feed)}):
            os.makedirs(folder, exist_ok=True)
        self._folders = set()
        reused = []
        if jobs and context is not None:
            todo = rendermemo.plan(jobs, context, self.settings)
            to_render = {id(job) for job in todo}
            reused, jobs = [job for job in jobs if id(job) not in to_render], todo
            for path, template, _ in reused:
                if not isinstance(template, _Feed):
                    _page_done(path)
        # The posts' and pages' own pages first (the pages Pagefind indexes: plugins/search can
        # finish its index while the lists and feeds are rendered), then the lists, in Pelican's order.
        pages = sorted((job for job in jobs if not isinstance(job[1], _Feed)), key=lambda job: not _own_page(job))
        feeds = [job for job in jobs if isinstance(job[1], _Feed)]
        if pages:
            _note_reads(_render(pages[:1], _page_done))  # compiles templates and fills memos before the fork
        self._feed_items = renderfilters.new_feed_memo()
        try:
            render_parallel(pages[1:], self.workers, feeds, sum(map(_own_page, pages[1:])))
        finally:
            self._feed_items = None
        stats["rendered"], stats["reused"] = len(jobs), len(reused)
        for path, template, _ in reused:
            if isinstance(template, _Feed):
                signals.feed_written.send(path, context=template.args[1], feed=None)
        for sender, kwargs in held:
            signals.content_written.send(sender, **kwargs)


class _Feed:
    """A deferred `Writer.write_feed` call; `render` writes the feed itself."""

    def __init__(self, writer, *args):
        self.writer, self.args = writer, args

    def write(self, complete_path: str) -> None:
        # The path was claimed when the feed was recorded; let Pelican's own
        # write_feed claim it again in this process.
        self.writer._written_files.discard(complete_path)
        self.writer._overridden_files.discard(complete_path)
        Writer.write_feed(self.writer, *self.args)


def _render_one(path, template, context) -> None:
    if isinstance(template, _Feed):
        template.write(path)
        return
    output = template.render(context)
    try:
        handle = open(path, "w", encoding="utf-8")
    except FileNotFoundError:  # the first page of its folder (see flush)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "w", encoding="utf-8")
    with handle:
        handle.write(output)


def _render(jobs, done=None) -> list[tuple[str, set]]:
    """Render and write the jobs, calling done(path) after each; return what each read, when a render memo is kept."""
    reads = []
    tracked = rendermemo.active()
    for job in jobs:
        if tracked:
            reads.append((job[0], rendermemo.render_tracked(lambda: _render_one(*job))))
        else:
            _render_one(*job)
        if done is not None:
            done(job[0])
    return reads


def _note_reads(reads) -> None:
    for path, sources in reads:
        rendermemo.record(path, sources)


class _Capture(logging.Handler):
    """In a child: keep warnings and errors to send back to the parent."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _child(jobs, write_fd: int, done_fd: int, feeds=frozenset()) -> None:
    capture = _Capture()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(capture)
    error, reads, count = None, [], 0
    # A feed written here is announced to the parent, which sends `feed_written` (feed=None, as
    # for a feed reused from the last build): its receivers (plugins/strict's) keep their notes there.
    written_feeds: list[str] = []
    signals.feed_written.send = lambda path, **_: written_feeds.append(path)

    def done(path: str) -> None:  # one short line: written whole, never interleaved
        nonlocal count
        count += 1
        if path not in feeds:  # a feed is no page (plugins/search must not be told of it)
            os.write(done_fd, os.fsencode(path) + b"\n")

    try:
        reads = _render(jobs, done)
    except BaseException as exc:  # sent to the parent, which raises it
        try:
            pickle.dumps(exc)
            error = exc
        except Exception:
            error = RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        # Before the result: the parent reads this pipe to its end first.
        os.close(done_fd)
    try:
        payload = pickle.dumps((capture.records, error, reads, count, written_feeds, renderfilters.feed_stats))
    except Exception:
        payload = pickle.dumps(([], RuntimeError("a render worker could not report its result"), [], count, [], {}))
    with os.fdopen(write_fd, "wb") as out:
        out.write(payload)


class _Progress:
    """This process's end of a child's pipe of finished pages: announce each as it comes."""

    def __init__(self, fd: int):
        self.fd, self.rest = fd, b""
        os.set_blocking(fd, False)

    def poll(self) -> None:
        """Announce the pages the child has finished so far, without waiting."""
        try:
            while chunk := os.read(self.fd, 65536):
                self._lines(chunk)
        except BlockingIOError:
            pass

    def finish(self) -> None:
        """Announce the rest, waiting until the child closes the pipe."""
        os.set_blocking(self.fd, True)
        with os.fdopen(self.fd, "rb") as inp:
            self._lines(inp.read())

    def _lines(self, chunk: bytes) -> None:
        *lines, self.rest = (self.rest + chunk).split(b"\n")
        for line in lines:
            _page_done(os.fsdecode(line))


def _own_page(job) -> bool:
    """True for a post's or page's own page (its save_as), not a list of them."""
    context = job[2]
    content = context.get("article") or context.get("page")
    save_as = getattr(content, "save_as", None)
    return bool(save_as) and job[0].endswith(save_as) and job[0][-len(save_as) - 1:-len(save_as)] in ("/", os.sep)


class _Queue:
    """The next job's number, shared by this process and its forked children (each takes the next one free)."""

    def __init__(self, start: int):
        import mmap
        import multiprocessing

        self.shared = mmap.mmap(-1, 8)  # anonymous and shared: the forked children see the same bytes
        self.shared[:8] = start.to_bytes(8, "little")
        self.lock = multiprocessing.Lock()

    def take(self) -> int:
        with self.lock:
            number = int.from_bytes(self.shared[:8], "little")
            self.shared[:8] = (number + 1).to_bytes(8, "little")
        return number


def _taking(jobs, queue: _Queue, first: int | None = None):
    """Job `first` (if given and there is one), then each job this process takes from the queue, until none is left."""
    if first is not None and first < len(jobs):
        yield jobs[first]
    while (number := queue.take()) < len(jobs):
        yield jobs[number]


def render_parallel(jobs, workers: int, own=(), before_own: int = 0) -> None:
    """Render (path, template, context) jobs in this process and workers - 1 forked children.

    jobs[:before_own] are posts' and pages' own pages, the rest lists of them. Pagefind indexes
    the own pages and builds its index once the last of them is in, so they are done well
    before the end and the index is built while the rest is rendered:

    - the children take the own pages, in order, then help with the lists;
    - this process takes the first two thirds of the lists, then helps with the own pages,
      then with the last third of the lists;
    - then every process takes from `own` (the feeds, never indexed). An imported blog has
      two feeds a label (1,638 for 817 labels): this process alone took a second or two for them.

    Each process takes the next job free of a kind, so the processes end together. The lists go
    to one process as far as they can because they share their parts: a post's summary in a
    listing is rendered once per process (`{% sitewide %}`), and with the lists shared out
    by turns about 1,200 of 2,500 summaries were rendered in both at 1,000 posts. Without
    own pages the processes share the lists from the start (feeds after this process's first).
    A/B at 1,000 posts (2026-12-03, wall): the feeds last 0.91, the last third of the lists
    after the own pages 0.93, 0.99 and 0.90 (8, 8 and 10 pairs), the feeds shared 0.92 (8
    pairs; 0.82 on the imported blog). Each process memoises its own feed items.
    """
    stats["rendered"], stats["rendered_in_children"] = len(jobs) + len(own), 0
    if workers < 2 or len(jobs) < 2 * workers:
        _note_reads(_render(jobs, _page_done))
        _note_reads(_render(own))
        return
    posts, lists = list(jobs[:before_own]), list(jobs[before_own:])
    split = len(lists) * 2 // 3 if posts else len(lists)
    lists, late = lists[:split], lists[split:]  # the lists taken before and after the own pages
    # Each child starts with a job of its own (the first posts, else the first lists after this
    # process's), so every process has work the moment it exists.
    post_queue = _Queue(workers - 1 if posts else 0)
    list_queue = _Queue(0 if posts else workers)
    late_queue = _Queue(0)
    feed_queue = _Queue(0)
    feeds = {job[0] for job in own}
    # Each feed's context, for the `feed_written` this process sends for a child's feeds.
    contexts = {path: template.args[1] if isinstance(template, _Feed) else context
                for path, template, context in own}
    children = []
    gc.freeze()  # the children must not copy every page of the heap by collecting it
    try:
        progress = []
        for number in range(1, workers):
            read_fd, write_fd = os.pipe()
            done_read, done_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                os.close(read_fd)
                os.close(done_read)
                status = 0
                try:
                    if posts:
                        taken = itertools.chain(_taking(posts, post_queue, number - 1), _taking(lists, list_queue),
                                                _taking(late, late_queue), _taking(own, feed_queue))
                    else:
                        taken = _taking(lists, list_queue, number)
                    _child(taken, write_fd, done_write, feeds)
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            os.close(write_fd)
            os.close(done_write)
            children.append((pid, read_fd))
            progress.append(_Progress(done_read))

        def done(path: str) -> None:
            if path not in feeds:
                _page_done(path)
            for child in progress:
                child.poll()

        def mine():
            if posts:
                yield from _taking(lists, list_queue)
                yield from _taking(posts, post_queue)
                yield from _taking(late, late_queue)
                yield from _taking(own, feed_queue)
            else:
                taken = _taking(lists, list_queue, 0)
                yield from itertools.islice(taken, 1)
                yield from own
                yield from taken

        error = None
        try:
            _note_reads(_render(mine(), done))
        except Exception as exc:
            error = exc
        for child in progress:
            child.finish()
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as inp:
                data = inp.read()
            _, status = os.waitpid(pid, 0)
            if not data:
                error = error or RuntimeError(f"a render worker (pid {pid}) died with status {status}")
                continue
            records, child_error, reads, count, written_feeds, feed_stats = pickle.loads(data)
            stats["rendered_in_children"] += count
            for key, value in feed_stats.items():  # the child's own feed items (each process memoises its own)
                renderfilters.feed_stats[key] += value
            _note_reads(reads)
            for path in written_feeds:
                signals.feed_written.send(path, context=contexts.get(path), feed=None)
            for record in records:
                try:
                    logging.getLogger(record.name).handle(record)
                except FilteredMessage:  # Pelican's filter drops a repeat by raising; so do we
                    pass
            error = error or child_error
        if error is not None:
            raise error
    finally:
        if not heap.frozen():  # frozen since the read, until the build ends (heap.py)
            gc.unfreeze()
