"""Parse Markdown sources in a pool of worker processes, ahead of Pelican asking for them.

Pelican reads one file at a time on one core and builds a new Markdown object
(and new Pygments lexers and formatters) for every file. Here, as soon as the
articles and pages generators exist, every source that is not in Pelican's
content cache is sent to a pool of forked workers. Each worker keeps one
Markdown instance (reset between files), reuses Pygments lexers and
formatters and does not try inline patterns or block tests that cannot match; it returns
the HTML and the raw metadata strings. Pelican's own
reader loop then runs unchanged in the main process: our reader takes the
worker's result for the file it is asked for and turns the metadata into
Pelican objects exactly as `MarkdownReader._parse_metadata` does, so the
content objects, the cache entries and every warning are the same as in a
serial build. A file a worker could not parse is read again serially, so its
error is reported exactly as Pelican reports it.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor
from types import SimpleNamespace

from markdown import util
from pelican.generators import Generator
from pelican.readers import DUPLICATES_DEFINITIONS_ALLOWED, MarkdownReader as _PelicanMarkdownReader
from pelican.utils import pelican_open

from blogkit import runhooks

# Warnings come from the logger Pelican uses, so they read (and are filtered) the same.
logger = logging.getLogger("pelican.readers")

# Per-body values worked out in the workers (runhooks.WORKER_BODY, BODY_VALUES), for plugins whose
# per-post pass would otherwise run on one core after the read (e.g. plugins/readtime's word count).
WORKER_BODY, BODY_VALUES = runhooks.WORKER_BODY, runhooks.BODY_VALUES

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


# --- inline patterns that cannot match are not tried ---
#
# Python-Markdown tries each of its ~15 inline patterns (links, emphasis, code, entities, ...) on
# every text of every element, one regex search each, even on a text holding none of the
# characters the pattern needs: that is about 40 % of a post's conversion. Each pattern's regex
# says what every match must contain (e.g. a link needs "[", an entity "&"); a text without any
# of it is passed over exactly as a failed search would pass it (same text, the next pattern,
# start index 0), so the HTML is the same. A regex we cannot read that way is always tried.

_re_parser, _re_constants = re._parser, re._constants


def _needs(regex: str, flags: int = 0) -> tuple[str, ...] | None:
    """Texts one of which every match of regex contains, or None when it cannot be told."""
    if flags & re.IGNORECASE:
        return None
    try:
        return _needs_in(list(_re_parser.parse(regex, flags)))
    except Exception:  # a regex the parser of this Python reads otherwise: always try it
        return None


def _needs_in(items) -> tuple[str, ...] | None:
    """The rarest requirement of any one part of a sequence (runs of literals read as one text)."""
    best, run = None, ""
    for op, arg in items + [(None, None)]:
        if op is _re_constants.LITERAL:
            run += chr(arg)
            continue
        if run:
            best, run = _rarer(best, (run,)), ""
        if op is not None:
            best = _rarer(best, _needs_of(op, arg))
    return best


def _needs_of(op, arg) -> tuple[str, ...] | None:
    c = _re_constants
    if op is c.ASSERT:  # a lookahead or lookbehind: what it requires is in the string searched
        _direction, items = arg
        return _needs_in(list(items))
    if op is c.IN:  # a set of plain characters, not negated
        if all(kind is c.LITERAL for kind, _ in arg):
            return tuple(chr(code) for _, code in arg)
        return None
    if op is c.SUBPATTERN:
        _group, add_flags, _del_flags, items = arg
        return None if add_flags & re.IGNORECASE else _needs_in(list(items))
    if op is c.ATOMIC_GROUP:
        return _needs_in(list(arg))
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        least, _most, items = arg
        return _needs_in(list(items)) if least >= 1 else None
    if op is c.BRANCH:
        alternatives = [_needs_in(list(items)) for items in arg[1]]
        if any(needs is None for needs in alternatives):
            return None
        return tuple(dict.fromkeys(text for needs in alternatives for text in needs))
    return None  # anything else (lookarounds, anchors, classes like \w) requires nothing we use


def _rarer(one, other):
    """Of two requirements, the one a text is less likely to meet (None: no requirement)."""
    if one is None or other is None:
        return other if one is None else one

    def commonness(needs):
        # Letters, digits and spaces are in nearly every text; punctuation is not.
        return (sum(len(text) == 1 and (text.isalnum() or text.isspace()) for text in needs),
                len(needs), -min(map(len, needs)))

    return min(one, other, key=commonness)


def _skip_unmatchable(md) -> None:
    """Make md's inline processor pass over patterns whose needed text is not in the text at hand."""
    from markdown import util

    inline = md.treeprocessors["inline"] if "inline" in md.treeprocessors else None
    if inline is None:
        return
    apply = inline._InlineProcessor__applyPattern
    needs_of: dict = {}  # pattern -> what it needs (patterns may be added later: looked up as met)

    def needs(pattern):
        if pattern not in needs_of:
            compiled = pattern.getCompiledRegExp()
            needs_of[pattern] = _needs(compiled.pattern, compiled.flags)
        return needs_of[pattern]

    # InlineProcessor.__handleInline, with the one test added before each pattern is applied.
    def handle_inline(data, patternIndex=0):
        if not isinstance(data, util.AtomicString):
            startIndex = 0
            patterns = inline.inlinePatterns
            count = len(patterns)
            while patternIndex < count:
                pattern = patterns[patternIndex]
                needed = needs(pattern)
                if needed is not None and not any(text in data for text in needed):
                    patternIndex, startIndex = patternIndex + 1, 0  # what a failed search returns
                    continue
                data, matched, startIndex = apply(pattern, data, patternIndex, startIndex)
                if not matched:
                    patternIndex += 1
        return data

    inline._InlineProcessor__handleInline = handle_inline


# --- block tests that cannot match are not run ---
#
# The block parser asks each block processor in turn whether it takes a block, and seven of them
# (both kinds of heading, rules, both kinds of list, definition lists, block quotes) answer with
# one regex search or match of the block: five of them were about a fifth of a post's conversion,
# mostly on paragraphs. These are the test bodies that do only that and, when the regex finds
# nothing, return False and change nothing (Python-Markdown 3.x). A block holding none of the
# texts the regex needs is answered False without the search, as the search would answer. A
# processor whose test reads otherwise (another version of Markdown, a subclass, an extension's
# own) is always asked.
# The four test bodies, written here as Python-Markdown writes them, to be compared by their code
# (bytecode, constants, names), not their source text, which cost a read and a parse of Markdown's
# files in every worker (17 ms). The same source compiles to the same code in one interpreter when
# its names are bound the same way: `util` is a module here as in Markdown's blockprocessors (the
# compiler calls a module's function otherwise than an object's method). Never run.
def _searches(self, parent, block):
    return bool(self.RE.search(block))


def _matches(self, parent, block):
    return bool(self.RE.match(block))


def _searches_short_of_recursion_limit(self, parent, block):
    return bool(self.RE.search(block)) and not util.nearing_recursion_limit()


def _searches_and_keeps_the_match(self, parent, block):
    m = self.SEARCH_RE.search(block)
    if m:
        self.match = m
        return True
    return False


def _code(function) -> tuple:
    code = function.__code__
    return code.co_code, code.co_consts, code.co_names, code.co_varnames


_PLAIN_TESTS = {_code(_searches): "RE", _code(_matches): "RE", _code(_searches_short_of_recursion_limit): "RE",
                _code(_searches_and_keeps_the_match): "SEARCH_RE"}


def _plain_test_regex(processor):
    """The regex a block processor's test only searches, or None if its test does anything else."""
    test = getattr(type(processor), "test", None)
    attribute = _PLAIN_TESTS.get(_code(test)) if hasattr(test, "__code__") else None
    regex = getattr(processor, attribute, None) if attribute else None
    return regex if isinstance(regex, re.Pattern) else None


def _skip_unmatchable_blocks(md) -> None:
    """Make md's block parser answer False, without a search, for a block lacking what a test's regex needs."""
    for processor in md.parser.blockprocessors:
        regex = _plain_test_regex(processor)
        needed = _needs(regex.pattern, regex.flags) if regex is not None and isinstance(regex.pattern, str) else None
        if needed is None:
            continue

        def test(parent, block, _test=processor.test, _needed=needed):
            for text in _needed:
                if text in block:
                    return _test(parent, block)
            return False

        processor.test = test


def _init_worker(markdown_settings: dict, formatted_fields: list[str]) -> None:
    from markdown import Markdown

    _cache_pygments()
    _worker["md"] = Markdown(**markdown_settings)
    _skip_unmatchable(_worker["md"])
    _skip_unmatchable_blocks(_worker["md"])
    # Pelican converts formatted metadata (e.g. Summary) with the meta preprocessor removed.
    fields_md = Markdown(**markdown_settings)
    fields_md.preprocessors.deregister("meta")
    _skip_unmatchable(fields_md)
    _skip_unmatchable_blocks(fields_md)
    _worker["fields_md"] = fields_md
    _worker["formatted_fields"] = formatted_fields


def _body_values(html: str, path: str) -> dict | None:
    """What the WORKER_BODY receivers work out from one body, merged (None for nothing)."""
    values: dict = {}
    for _receiver, result in WORKER_BODY.send(html, path=path, settings=_worker.get("settings")):
        if result:
            values.update(result)
    return values or None


def _parse(path: str):
    """Return (mtime, html, raw metadata, formatted metadata, per-body values) of one Markdown file."""
    md, fields_md = _worker["md"], _worker["fields_md"]
    md.reset()
    # Stamped before reading: a file saved while (or after) it is parsed then differs from
    # its stamp, and the main process reads it again itself (see Prefetcher.take).
    stamp = os.stat(path).st_mtime_ns
    with pelican_open(path) as text:
        content = md.convert(text)
    meta = getattr(md, "Meta", None)
    formatted = {}
    if meta is not None:
        for name, value in meta.items():
            if name.lower() in _worker["formatted_fields"]:
                fields_md.reset()
                formatted[name] = fields_md.convert("\n".join(value))
    return stamp, content, meta, formatted, _body_values(content, path)


def _parse_many(paths: list[str]) -> list:
    """Parse a batch of files: one task per batch, not per file, costs both sides far less in the pool."""
    results = []
    for path in paths:
        try:
            results.append(_parse(path))
        except Exception:  # the serial read raises it again and reports it the way Pelican does
            results.append(None)
    return results


# --- in the main process ---------------------------------------------------------------


# Files per task: a task costs both processes about a millisecond (pickling, the queues, the
# executor's threads), as much as a short post's parse; batches of this many cut that to a sixteenth.
BATCH = 16


class Prefetcher:
    """A pool of workers parsing the Markdown sources of one build ahead of time."""

    def __init__(self, settings: dict, workers: int):
        ctx = multiprocessing.get_context("fork")
        self.workers = workers
        self.initargs = _initargs(settings)
        _worker["settings"] = settings  # for WORKER_BODY's receivers in the workers, forked with it
        # A copy: the settings' own MARKDOWN dict may be changed later (see current_for).
        self.options = _snapshot(self.initargs)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=self.initargs)
        self.futures: dict[str, tuple[Future, int]] = {}  # path -> (its batch's future, its place in the batch)

    def submit(self, paths) -> None:
        todo = []
        for path in paths:
            path = os.path.abspath(path)
            if path not in self.futures:
                self.futures[path] = None  # placeholder: a path listed twice is parsed once
                todo.append(path)
        # Smaller batches for a few files, so that every worker gets some.
        size = max(1, min(BATCH, len(todo) // (self.workers * 4)))
        for start in range(0, len(todo), size):
            batch = todo[start:start + size]
            future = self.pool.submit(_parse_many, batch)
            for place, path in enumerate(batch):
                self.futures[path] = (future, place)

    def take(self, path: str):
        """The worker's result for path, or None when it has none (then read serially)."""
        entry = self.futures.pop(os.path.abspath(path), None)
        if entry is None:
            return None
        future, place = entry
        try:
            result = future.result()[place]
        except Exception:  # a worker that died: the serial read will report the file's problem
            return None
        if result is None:
            return None
        stamp, content, meta, formatted, values = result
        try:
            if os.stat(path).st_mtime_ns != stamp:  # saved since the worker read it
                return None
        except OSError:
            return None
        if values:  # the plugins' per-body values come with the result the reader takes
            BODY_VALUES.send(content, values=values, path=os.path.abspath(path))
        return content, meta, formatted

    def close(self) -> None:
        _worker.pop("settings", None)
        for future in {entry[0] for entry in self.futures.values() if entry is not None}:
            future.cancel()
        self.futures.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _initargs(settings: dict) -> tuple:
    return _markdown_settings(settings), list(settings["FORMATTED_FIELDS"])


def _snapshot(value):
    """A deep copy to compare later, or a fresh object (equal to nothing) if it cannot be copied."""
    try:
        return copy.deepcopy(value)
    except Exception:  # an option object that cannot be copied: compare as changed
        return object()


_current: Prefetcher | None = None
# What the last build did, for tests and the benchmark: files parsed by workers, and whether
# the pool started at start-up (start_early) rather than when the generators listed the files.
stats = {"parsed_in_workers": 0, "early_start": False}


def start(settings: dict, workers: int) -> Prefetcher:
    """Start the pool for this build (stopping a leftover one)."""
    global _current
    stop()
    stats.update(parsed_in_workers=0, early_start=False)
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


def current_for(settings: dict) -> Prefetcher | None:
    """This build's pool, if its workers parse with these settings' Markdown options (else it is stopped)."""
    if _current is not None and _current.options != _initargs(settings):
        stop()  # a plugin changed MARKDOWN after the early start: those results would differ
    return _current


class _Lister:
    """What Pelican's Generator.get_files reads of a generator, before any generator exists."""

    get_files = Generator.get_files
    _include_path = Generator._include_path

    def __init__(self, path: str, settings: dict, extensions: list[str]):
        self.path, self.settings = path, settings
        self.readers = SimpleNamespace(extensions=extensions)


def _cold(settings: dict) -> bool:
    """Whether Pelican will find no content cache to load (then every source is parsed)."""
    if not settings.get("LOAD_CONTENT_CACHE"):
        return True
    folder = settings.get("CACHE_PATH") or ""
    try:
        return not any(name.startswith(("ArticlesGenerator", "PagesGenerator")) for name in os.listdir(folder))
    except OSError:
        return True


def start_early(path: str, settings: dict, workers: int, min_sources: int) -> None:
    """In a cold build, start parsing every Markdown source now, while Pelican still sets up.

    Called at Pelican's `initialized`: the generators (and their file lists)
    come about a second later, a second in which the other core is idle. The
    generators' own lists are submitted again then (what is already parsing
    is skipped, what is missing is added), so a list that differs costs time,
    never a wrong result.
    """
    if workers < 2 or not _cold(settings) or not _PelicanMarkdownReader.enabled:
        return
    readers = settings.get("READERS") or {}
    extensions = [ext for ext in _PelicanMarkdownReader.file_extensions
                  if readers.get(ext, _PelicanMarkdownReader) is _PelicanMarkdownReader]
    lister = _Lister(path, settings, extensions)
    todo = []
    for paths, excludes in (("ARTICLE_PATHS", "ARTICLE_EXCLUDES"), ("PAGE_PATHS", "PAGE_EXCLUDES")):
        # Articles first, in the set's order, as the generators will ask for them.
        files = lister.get_files(settings[paths], exclude=settings[excludes])
        todo += [os.path.join(path, rel) for rel in files]
    if todo and len(todo) >= min_sources:
        start(settings, workers).submit(todo)
        stats["early_start"] = True


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

