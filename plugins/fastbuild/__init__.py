"""Build faster without changing a byte of the output; the one seam onto Pelican's internals.

Ours, not from PyPI: no published Pelican plugin parses in parallel, renders
only what changed, or keeps template work linear. This package is the only
code of the blog that touches Pelican's private internals; blogkit.build,
plugins/csp and plugins/search reach it only through blogkit.runhooks (and
the small API at the bottom of this module). Its parts:

- read.py: a pool of worker processes parsing Markdown and highlighting code
  ahead of Pelican's reader loop;
- write.py: the article and page generators' pages recorded, then rendered in
  forked processes (or linked from the last build);
- render.py: memoised groupby/sort for sidebars that group every post on every
  page, URLs computed once per object while pages are written;
- sitewide.py: `{% sitewide %}`, the theme's sidebar rendered once per build;
- linear.py: Pelican's period archives and tag, category and author dates
  built in one pass instead of a list search per post (quadratic);
- memo.py: the render memo (a page whose inputs did not change since the last
  build is linked from it, not rendered again);
- hot.py: the preview server's hot path (one post's body edited: re-render
  only the pages that read that body, in the running process);
- heap.py: Python's garbage collector run less often during a build, and the
  heap frozen once every source is read;
- compat.py: the start-up check that every internal used is as expected. If
  one is not (a new Pelican), the build runs on Pelican's own serial path,
  with one notice, and stays correct.

Settings (defaults and checks in config.py, applied by `options`; a bad key
or value is reported at start-up and fails the build, naming it):

    FASTBUILD = {
        "enabled": True,     # False: Pelican's serial path, untouched
        "workers": None,     # processes for parsing and rendering; None: the number of CPUs
        "min_sources": 40,   # fewer uncached sources than this: parse serially
                             # (forking is not worth it for a handful of posts)
        "incremental": True, # reuse unchanged pages of the last build (only when
                             # LOAD_CONTENT_CACHE is on, so never in publishconf.py)
        "hot": True,         # the preview server's hot path for body edits (needs incremental)
    }
"""

from __future__ import annotations

import logging
import os
import time

from pelican import signals

from blogkit import runhooks
from blogkit.problems import notice

from . import compat

logger = logging.getLogger(__name__)

from .config import DEFAULTS, _last, options  # noqa: E402,F401 (hot.py reads them there, not from this package)


def _fast(settings: dict) -> bool:
    return _last["fast"] and options(settings)["enabled"]


def _use_fast_reader(readers) -> None:
    from . import read

    if not _fast(readers.settings):
        return
    for ext, cls in list(readers.reader_classes.items()):
        if cls is read._PelicanMarkdownReader:
            readers.reader_classes[ext] = read.MarkdownReader


def _memoise_filters(generator) -> None:
    from . import memo, render, sitewide

    if not _fast(generator.settings):
        return
    opts = options(generator.settings)
    render.install(generator.env)
    sitewide.enable_cache(generator.env)
    if opts["incremental"]:
        memo.track_environment(generator.env)
        if memo.may_reuse(generator.settings):
            # Compiling the theme's templates costs about half a second per build: kept outside
            # CACHE_PATH (so a cold build has them too), named by everything they depend on (render.py).
            generator.env.bytecode_cache = render.bytecode_cache(generator.settings)


def _prefetch(generator, paths_key: str, excludes_key: str) -> None:
    from . import read

    opts = options(generator.settings)
    if not _fast(generator.settings) or opts["workers"] < 2:
        return
    markdown_exts = {ext for ext, cls in generator.readers.reader_classes.items() if cls is read.MarkdownReader}
    files = generator.get_files(generator.settings[paths_key], exclude=generator.settings[excludes_key])
    todo = []
    for rel in files:  # the same set, so the same order, as the generator's own loop
        path = os.path.abspath(os.path.join(generator.path, rel))
        if path.rsplit(".", 1)[-1] in markdown_exts and generator.readers.get_cached_data(path, None) is None:
            todo.append(path)
    prefetcher = read.current_for(generator.settings)
    if prefetcher is None:
        if len(todo) < opts["min_sources"]:
            return
        prefetcher = read.start(generator.settings, opts["workers"])
    prefetcher.submit(todo)


def _linear(generator) -> None:
    from . import linear

    if _fast(generator.settings):
        linear.install(generator)


def _prefetch_articles(generator) -> None:
    _prefetch(generator, "ARTICLE_PATHS", "ARTICLE_EXCLUDES")


def _prefetch_pages(generator) -> None:
    _prefetch(generator, "PAGE_PATHS", "PAGE_EXCLUDES")


def _all_read(_generator) -> None:
    """Every source is read (page_generator_finalized): freeze the heap, start the URL memo."""
    from . import heap, render

    heap.freeze()  # every source is read: the posts stay out of the collections from now on
    # And nothing changes a content object's URL any more (our plugins set slugs at
    # content_object_init; strict only withdraws contents): strict's clash check, the search
    # plugin's list, the writer and the sitemap share one answer per object.
    render.start_url_memo()


def _stop_pool(*_args, **_kwargs) -> None:
    if _last["fast"]:
        from . import read

        read.stop()


def _reset() -> None:
    """Undo whatever an earlier build left patched (also one that failed half-way)."""
    from . import heap, hot, memo, read, render, write

    heap.end()
    hot.wait()  # the feeds of a hot edit still being written use the same patches
    if not _early_pool():
        read.stop()
    render.stop_url_memo()
    write.release_signals()
    memo.untrack_content_methods()
    write.kept.clear()
    memo.last.clear()


def _zero_stats() -> None:
    """Start stats() afresh: it describes this build, whichever path it takes."""
    from . import hot, read, write

    read.stats.update(parsed_in_workers=0, early_start=_early_pool())
    write.stats.update(rendered=0, rendered_in_children=0, reused=0)
    hot.stats["taken"] = False


def _start(pelican) -> None:
    from . import heap, hot, memo, read, render

    _reset()  # stats() was zeroed by register(), which every build runs
    if not _fast(pelican.settings):
        return
    run = runhooks.current()
    opts = options(pelican.settings)
    heap.begin()
    if run is not None:
        run.on_end(heap.end)
        run.on_end(lambda _run, _ok: render.stop_url_memo())
        # Known now, before the contents are read: plugins/search starts Pagefind on the posts
        # as the read ends, and only when the written pages will come through to be checked.
        run.streams_pages = _parallel_writer(opts)
    if not _early_pool():
        read.start_early(pelican.path, pelican.settings, opts["workers"], opts["min_sources"])
    if run is not None:
        hot.forget(run.target)  # this build replaces what was kept of that site
    if run is not None and opts["incremental"]:
        memo.begin(previous_output=run.target, staging=run.staging)
        run.before_swap(lambda _run: memo.commit())  # before the swap: it stamps the files where they are now
        if opts["hot"]:
            hot._HOT.started = time.time()
            run.after_swap(hot._HOT.keep)
        run.on_end(lambda _run, _ok: memo.end())


def _finish(_pelican) -> None:
    if _last["fast"]:
        from . import heap, memo, read, render, write

        heap.end()
        read.stop()
        if runhooks.current() is None:  # a bare `pelican`: else the run's end stops it, after the sitemap
            render.stop_url_memo()
        write.release_signals()
        memo.untrack_content_methods()


def _parallel_writer(opts: dict) -> bool:
    """Whether this build's pages are written by write.ParallelWriter (else Pelican's own Writer)."""
    return opts["workers"] > 1 or opts["incremental"]


def _writer(pelican):
    from . import memo, render, write

    if not _fast(pelican.settings):
        return None
    opts = options(pelican.settings)
    render.start_url_memo()  # on since page_generator_finalized (_all_read); never write without it
    if opts["incremental"]:
        memo.track_content_methods()
    if _parallel_writer(opts):
        return type("ParallelWriter", (write.ParallelWriter,), {"workers": opts["workers"]})
    return None


def _flush(generator, writer=None) -> None:
    from . import write

    if isinstance(writer, write.ParallelWriter):
        writer.flush(generator.context if options(generator.settings)["incremental"] else None)


# --- the small API for blogkit and the benchmark ------------------------------------------


def stats() -> dict:
    """What the last build did: fast path on, files parsed in workers, pages rendered, reused, hot."""
    from . import hot, read, write

    return {"fast": _last["fast"], **read.stats, **write.stats, "hot": hot.stats["taken"]}


def _check_settings(pelican) -> None:
    """Report a bad FASTBUILD setting at start-up, whichever path the build takes."""
    options(pelican.settings)


# --- the read pool started when this package is imported ------------------------------------
#
# Pelican imports every plugin before it registers any, and fires `initialized` only then: in a
# fresh process the plugins listed after this one (summaries' BeautifulSoup, csp, search, ...)
# take about 0.2 s of imports and registers on one core, the other idle. So when this package is
# imported during a build (runhooks.current(): blogkit.build's run, whose settings are Pelican's),
# the pool starts here, and those imports run beside its workers. register() and _start keep it;
# register() stops it when the compatibility check fails. A later build in the same process (the
# package already imported) starts its pool at `initialized`, as before.

_early: dict = {}  # "run": the run whose pool was started at import, while that pool runs


def _early_pool() -> bool:
    """Whether the running pool is the one started at import for the build in progress."""
    from . import read

    run = _early.get("run")
    if run is None or run is not runhooks.current() or read.current() is None:
        _early.clear()
        return False
    return True


def _import_listed(plugins) -> None:
    """Import the build's plugins now, as Pelican would next: their read-worker hooks connect at import."""
    import importlib

    for name in plugins or ():
        if isinstance(name, str) and name != __name__:
            try:
                importlib.import_module(name)
            except Exception:  # Pelican's own loader imports it next and reports what is wrong
                pass


def _start_pool_at_import() -> None:
    from blogkit.plugin_settings import resolve

    from . import read
    from .config import CHECKS

    run = runhooks.current()
    if run is None or "PATH" not in run.settings or __name__ not in (run.settings.get("PLUGINS") or ()):
        return
    opts, errors = resolve(run.settings.get("FASTBUILD"), "FASTBUILD", DEFAULTS, CHECKS)
    if errors or not opts["enabled"]:  # _check_settings reports the errors at `initialized`
        return
    _import_listed(run.settings.get("PLUGINS"))
    read.start_early(run.settings["PATH"], run.settings, opts["workers"] or os.cpu_count() or 1, opts["min_sources"])
    if read.current() is not None:
        _early["run"] = run
        run.on_end(lambda _run, _ok: read.stop())  # a run that broke off before `all_generators_finalized`


_start_pool_at_import()


def register() -> None:
    """Connect the fast path, or nothing (Pelican's serial path) when Pelican is not as expected."""
    _last["fast"] = False
    # Here, not only in _start (connected on the fast path only): a build on Pelican's serial
    # path must not report what an earlier build of this process rendered.
    _zero_stats()
    signals.initialized.connect(_check_settings)
    # A build that broke off (or a test) may have left our own wrappers on Pelican's
    # classes; the check must see Pelican's internals, not them.
    _reset()
    changed = compat.problems()
    if changed:
        if _early_pool():
            from . import read

            read.stop()
            _early.clear()
        notice("fastbuild: Pelican's internals are not as this plugin expects ("
               + "; ".join(changed) + "); building on Pelican's own serial path, which is slower but the same")
        return
    _last["fast"] = True
    signals.initialized.connect(_start)
    signals.readers_init.connect(_use_fast_reader)
    signals.generator_init.connect(_memoise_filters)
    signals.article_generator_init.connect(_linear)
    signals.article_generator_init.connect(_prefetch_articles)
    signals.page_generator_init.connect(_prefetch_pages)
    signals.page_generator_finalized.connect(_all_read)
    signals.all_generators_finalized.connect(_stop_pool)
    signals.finalized.connect(_finish)
    signals.get_writer.connect(_writer)
    signals.page_writer_finalized.connect(_flush)  # the pages generator writes after the articles one
