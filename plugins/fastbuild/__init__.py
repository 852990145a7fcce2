"""Build faster without changing a byte of the output.

Ours, not from PyPI: no published Pelican plugin parses in parallel or keeps
template work linear; the logic lives in blogkit/fastread.py (a pool of
worker processes parsing Markdown and highlighting code ahead of Pelican's
reader loop), blogkit/fastwrite.py (the article generator's pages rendered
in forked processes) and blogkit/fastrender.py (memoised groupby for
sidebars that group every post on every page, URLs computed once per post
while pages are written), blogkit/sitewide.py (the theme's sidebar rendered
once per build) and blogkit/rendermemo.py (a page whose inputs did
not change since the last build is linked from it, not rendered again).

Settings (defaults applied in `_settings`):

    FASTBUILD = {
        "enabled": True,     # False: Pelican's serial path, untouched
        "workers": None,     # worker processes; None: the number of CPUs
        "min_sources": 40,   # fewer uncached sources than this: parse serially
                             # (forking is not worth it for a handful of posts)
        "incremental": True, # reuse unchanged pages of the last build (only when
                             # LOAD_CONTENT_CACHE is on, so never in publishconf.py)
    }
"""

from __future__ import annotations

import logging
import os

from jinja2 import FileSystemBytecodeCache
from pelican import signals

from blogkit import fastread, fastrender, fastwrite, rendermemo, sitewide

logger = logging.getLogger(__name__)

DEFAULTS = {"enabled": True, "workers": None, "min_sources": 40, "incremental": True}


def _settings(settings: dict) -> dict:
    """FASTBUILD with defaults applied; a bad value is reported, not crashed on."""
    raw = settings.get("FASTBUILD") or {}
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        logger.error("FASTBUILD: unknown option(s) %s; known: %s", ", ".join(unknown), ", ".join(DEFAULTS))
    merged = {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}
    if merged["workers"] is None:
        merged["workers"] = os.cpu_count() or 1
    return merged


def _use_fast_reader(readers) -> None:
    if not _settings(readers.settings)["enabled"]:
        return
    for ext, cls in list(readers.reader_classes.items()):
        if cls is fastread._PelicanMarkdownReader:
            readers.reader_classes[ext] = fastread.MarkdownReader


def _memoise_filters(generator) -> None:
    options = _settings(generator.settings)
    if options["enabled"]:
        fastrender.install(generator.env)
        sitewide.enable_cache(generator.env)
    if options["enabled"] and options["incremental"]:
        rendermemo.track_environment(generator.env)
        if rendermemo.may_reuse(generator.settings):
            # Compiling the theme's templates costs about half a second per build; Jinja
            # keys its bytecode by each template's source, so an edited template is compiled again.
            folder = os.path.join(generator.settings["CACHE_PATH"], "jinja")
            os.makedirs(folder, exist_ok=True)
            generator.env.bytecode_cache = FileSystemBytecodeCache(folder)


def _prefetch(generator, paths_key: str, excludes_key: str) -> None:
    options = _settings(generator.settings)
    if not options["enabled"] or options["workers"] < 2:
        return
    markdown_exts = {ext for ext, cls in generator.readers.reader_classes.items() if cls is fastread.MarkdownReader}
    files = generator.get_files(generator.settings[paths_key], exclude=generator.settings[excludes_key])
    todo = []
    for rel in files:  # the same set, so the same order, as the generator's own loop
        path = os.path.abspath(os.path.join(generator.path, rel))
        if path.rsplit(".", 1)[-1] in markdown_exts and generator.readers.get_cached_data(path, None) is None:
            todo.append(path)
    prefetcher = fastread.current()
    if prefetcher is None:
        if len(todo) < options["min_sources"]:
            return
        prefetcher = fastread.start(generator.settings, options["workers"])
    prefetcher.submit(todo)


def _prefetch_articles(generator) -> None:
    _prefetch(generator, "ARTICLE_PATHS", "ARTICLE_EXCLUDES")


def _prefetch_pages(generator) -> None:
    _prefetch(generator, "PAGE_PATHS", "PAGE_EXCLUDES")


def _stop_pool(*_args, **_kwargs) -> None:
    fastread.stop()


def _start_clean(_pelican) -> None:
    # Whatever an earlier build left behind when it failed half-way.
    fastread.stop()
    fastrender.stop_url_memo()
    fastwrite.release_signals()
    rendermemo.untrack_content_methods()
    fastread.stats["parsed_in_workers"] = 0
    fastwrite.stats.update(rendered=0, rendered_in_children=0, reused=0)


def _finish(_pelican) -> None:
    fastread.stop()
    fastrender.stop_url_memo()
    fastwrite.release_signals()
    rendermemo.untrack_content_methods()


def _writer(pelican):
    options = _settings(pelican.settings)
    if options["enabled"]:
        fastrender.start_url_memo()  # writing starts now; finalized stops it
    if options["enabled"] and options["incremental"]:
        rendermemo.track_content_methods()
    if options["enabled"] and (options["workers"] > 1 or options["incremental"]):
        return type("ParallelWriter", (fastwrite.ParallelWriter,), {"workers": options["workers"]})
    return None


def _flush(generator, writer=None) -> None:
    if isinstance(writer, fastwrite.ParallelWriter):
        writer.flush(generator.context if _settings(generator.settings)["incremental"] else None)


def register() -> None:
    signals.initialized.connect(_start_clean)
    signals.readers_init.connect(_use_fast_reader)
    signals.generator_init.connect(_memoise_filters)
    signals.article_generator_init.connect(_prefetch_articles)
    signals.page_generator_init.connect(_prefetch_pages)
    signals.all_generators_finalized.connect(_stop_pool)
    signals.finalized.connect(_finish)
    signals.get_writer.connect(_writer)
    signals.article_writer_finalized.connect(_flush)
