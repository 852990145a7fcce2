"""Parse Markdown sources in a pool of worker processes, ahead of Pelican asking for them.

Pelican reads one file at a time on one core and builds a new Markdown object
(and new Pygments lexers and formatters) for every file. Here, as soon as the
articles and pages generators exist, every source that is not in Pelican's
content cache is sent to a pool of forked workers. Each worker keeps one
Markdown instance (reset between files) and reuses Pygments lexers and
formatters; it returns the HTML and the raw metadata strings. Pelican's own
reader loop then runs unchanged in the main process: our reader takes the
worker's result for the file it is asked for and turns the metadata into
Pelican objects exactly as `MarkdownReader._parse_metadata` does, so the
content objects, the cache entries and every warning are the same as in a
serial build. A file a worker could not parse is read again serially, so its
error is reported exactly as Pelican reports it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from pelican.readers import DUPLICATES_DEFINITIONS_ALLOWED, MarkdownReader as _PelicanMarkdownReader
from pelican.utils import pelican_open

# Warnings come from the logger Pelican uses, so they read (and are filtered) the same.
logger = logging.getLogger("pelican.readers")

# --- in the worker processes -----------------------------------------------------------

_worker: dict = {}


def _markdown_settings(settings: dict) -> dict:
    """The MARKDOWN settings completed the way Pelican's MarkdownReader completes them."""
    return _PelicanMarkdownReader(settings).settings["MARKDOWN"]


def _cache_pygments() -> None:
    """Make codehilite reuse lexers and formatters instead of building one per code block."""
    import markdown.extensions.codehilite as codehilite

    if getattr(codehilite, "_blogkit_cached", False):
        return

    def frozen(options: dict):
        return tuple(sorted((k, repr(v)) for k, v in options.items()))

    lexers: dict = {}
    formatters: dict = {}
    get_lexer, get_formatter = codehilite.get_lexer_by_name, codehilite.get_formatter_by_name

    def get_lexer_by_name(alias, **options):
        key = (alias, frozen(options))
        if key not in lexers:
            lexers[key] = get_lexer(alias, **options)
        return lexers[key]

    def get_formatter_by_name(alias, **options):
        key = (alias, frozen(options))
        if key not in formatters:
            formatters[key] = get_formatter(alias, **options)
        return formatters[key]

    codehilite.get_lexer_by_name = get_lexer_by_name
    codehilite.get_formatter_by_name = get_formatter_by_name
    codehilite._blogkit_cached = True


def _init_worker(markdown_settings: dict, formatted_fields: list[str]) -> None:
    from markdown import Markdown

    _cache_pygments()
    _worker["md"] = Markdown(**markdown_settings)
    # Pelican converts formatted metadata (e.g. Summary) with the meta preprocessor removed.
    fields_md = Markdown(**markdown_settings)
    fields_md.preprocessors.deregister("meta")
    _worker["fields_md"] = fields_md
    _worker["formatted_fields"] = formatted_fields


def _parse(path: str):
    """Return (html, raw metadata, formatted metadata) of one Markdown file."""
    md, fields_md = _worker["md"], _worker["fields_md"]
    md.reset()
    with pelican_open(path) as text:
        content = md.convert(text)
    meta = getattr(md, "Meta", None)
    formatted = {}
    if meta is not None:
        for name, value in meta.items():
            if name.lower() in _worker["formatted_fields"]:
                fields_md.reset()
                formatted[name] = fields_md.convert("\n".join(value))
    return content, meta, formatted


# --- in the main process ---------------------------------------------------------------


class Prefetcher:
    """A pool of workers parsing the Markdown sources of one build ahead of time."""

    def __init__(self, settings: dict, workers: int):
        ctx = multiprocessing.get_context("fork")
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(_markdown_settings(settings), list(settings["FORMATTED_FIELDS"])),
        )
        self.futures: dict[str, Future] = {}

    def submit(self, paths) -> None:
        for path in paths:
            path = os.path.abspath(path)
            if path not in self.futures:
                self.futures[path] = self.pool.submit(_parse, path)

    def take(self, path: str):
        """The worker's result for path, or None when it has none (then read serially)."""
        future = self.futures.pop(os.path.abspath(path), None)
        if future is None:
            return None
        try:
            return future.result()
        except Exception:  # the serial read will raise and report it the way Pelican does
            return None

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        self.futures.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)


_current: Prefetcher | None = None
# What the last build did, for tests and the benchmark: files parsed by workers.
stats = {"parsed_in_workers": 0}


def start(settings: dict, workers: int) -> Prefetcher:
    """Start the pool for this build (stopping a leftover one)."""
    global _current
    stop()
    stats["parsed_in_workers"] = 0
    _current = Prefetcher(settings, workers)
    return _current


def current() -> Prefetcher | None:
    return _current


def stop() -> None:
    """Stop this build's pool; pending work is dropped."""
    global _current
    if _current is not None:
        _current.close()
        _current = None


class MarkdownReader(_PelicanMarkdownReader):
    """Pelican's Markdown reader, taking the HTML a worker has already produced.

    It keeps Pelican's class name on purpose: Pelican stores the reader's name
    in every content object's `reader` metadata.
    """

    def read(self, source_path):
        prefetcher = current()
        result = prefetcher.take(source_path) if prefetcher else None
        if result is None:
            return super().read(source_path)
        content, meta, formatted = result
        stats["parsed_in_workers"] += 1
        self._source_path = source_path
        if meta is None:
            return content, {}
        return content, self._metadata_from(meta, formatted)

    def _metadata_from(self, meta: dict, formatted: dict) -> dict:
        """Pelican's _parse_metadata, with formatted fields already converted by the worker."""
        output = {}
        for name, value in meta.items():
            key = name.lower()
            if name in formatted:
                output[key] = self.process_metadata(key, formatted[name])
            elif not DUPLICATES_DEFINITIONS_ALLOWED.get(key, True):
                if len(value) > 1:
                    logger.warning(
                        "Duplicate definition of `%s` for %s. Using first one.", key, self._source_path
                    )
                output[key] = self.process_metadata(key, value[0])
            elif len(value) > 1:
                output[key] = self.process_metadata(key, value)
            else:
                output[key] = self.process_metadata(key, value[0])
        return output

