"""Strict builds: find every problem in the site's sources in one run, and say how to fix each.

Pelican logs a post with a broken date or no title, drops it and exits 0; it
accepts a misspelt metadata key, a post with no body or a link to a draft
without a word; a dead {filename} link is only a warning and ships as a
literal href. This plugin finds all of these and reports each as one
`blogkit.problems.Problem` (file, line, what is wrong, how to fix it) with
`blogkit.problems.report`, so `blogkit.build.build` fails the run and keeps the
previous site. Future-dated posts are not errors: each is reported as a
notice ("scheduled") and left out unless WITH_FUTURE_DATES is on.

Ours rather than PyPI's: no published plugin checks metadata keys, clashing
output paths or draft links, and none reports through our build's Problems.

Settings (defaults in DEFAULTS):
  STRICT_METADATA_KEYS        the metadata keys Pelican and our plugins read
  STRICT_EXTRA_METADATA_KEYS  more keys a site allows (extend this one)
  STRICT_CHECK_IMAGES         check that every <img> in a post exists in the output
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pelican import signals

from blogkit import runhooks
from blogkit.plugin_settings import prefixed
from blogkit.problems import Problem, notice, report, source_name

from . import site as site_checks, sources
from .sources import check_source

logger = logging.getLogger(__name__)
# Sent by plugins/fastbuild's hot path for a post whose body alone was saved (see check_saved).
BODY_SAVED = runhooks.BODY_SAVED
# plugins/fastbuild's read workers scan each file they parse for check_sources (WORKER_BODY) and
# send the scan back with the file's mtime (BODY_VALUES); see _scan_in_worker.
WORKER_BODY, BODY_VALUES = runhooks.WORKER_BODY, runhooks.BODY_VALUES

DEFAULTS = {
    "STRICT_METADATA_KEYS": [
        # Pelican's own
        "title", "date", "modified", "slug", "category", "tags", "author", "authors",
        "summary", "status", "lang", "translation", "template", "save_as", "url",
        # our plugins: the comments mode ("open" | "closed" | "off")
        "comments",
    ],
    "STRICT_EXTRA_METADATA_KEYS": [],
    "STRICT_CHECK_IMAGES": True,
}


def _keys(value) -> bool:
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(k, str) for k in value))


CHECKS = {
    "STRICT_METADATA_KEYS": (_keys, "a list of metadata key names"),
    "STRICT_EXTRA_METADATA_KEYS": (_keys, "a list of metadata key names"),
    "STRICT_CHECK_IMAGES": (lambda value: isinstance(value, bool), "True or False"),
}


def settings_of(settings: dict) -> dict:
    """Return the plugin's settings with the defaults applied (one key given as a string is a list of one)."""
    options = prefixed(settings, "STRICT_", DEFAULTS, CHECKS)
    for key in ("STRICT_METADATA_KEYS", "STRICT_EXTRA_METADATA_KEYS"):
        value = options[key]
        options[key] = [value] if isinstance(value, str) else list(value or [])
    return options


class _Run:
    """What one build learnt, from reading the sources to checking the written site."""

    def __init__(self):
        self.sources: dict[str, object] = {}  # absolute path -> Source
        self.settings: dict = {}
        self.written: dict[str, object] = {}  # absolute path -> published content
        self.outputs: dict[str, list] = {}  # output file -> who wrote it, in order
        self.save_as: dict[int, str] = {}  # id(content) -> its save_as, within one signal
        # What check_links needs, kept from the last run for check_saved (the preview's hot path).
        self.links: dict = {}
        self.namers: dict = {}  # content folder -> its memoised source_name (see _name)
        self.scans: dict[str, tuple] = {}  # absolute path -> (mtime_ns, sources.scan()) from a read worker
        self.keys: dict[str, str] = {}  # a content's source_path -> str(Path(it)) (see _key)
        # Pelican's signals are global: a plugin once registered in a process keeps
        # receiving them, even in a later build whose PLUGINS leave it out.
        self.active = False


_run = _Run()


def _name(settings: dict):
    """Return a function naming a source file as Problems do (content/posts/x.md), memoised for the run."""
    from functools import lru_cache

    root = str(settings["PATH"])
    # One per run and content folder: each name resolves its path on disk (about 0.2 ms), and
    # _check_file asks for the folder's own name once per file.
    namer = _run.namers.get(root)
    if namer is None:
        namer = _run.namers[root] = lru_cache(maxsize=None)(lambda path: source_name(path, Path(root)))
    return namer


def _key(source_path: str) -> str:
    """A content's source path as check_sources keys _run.sources (str(Path(...))), worked out once per path."""
    key = _run.keys.get(source_path)
    if key is None:
        key = _run.keys[source_path] = str(Path(source_path))
    return key


def _error(problem: Problem, covers=()) -> None:
    report(problem, covers=covers, log=logger)


def check_sources(generators) -> None:
    """Read every article and page source as it is on disk and report what is wrong with it."""
    from pelican.generators import ArticlesGenerator, PagesGenerator

    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            kind, paths, exclude = "article", "ARTICLE_PATHS", "ARTICLE_EXCLUDES"
        elif isinstance(generator, PagesGenerator):
            kind, paths, exclude = "page", "PAGE_PATHS", "PAGE_EXCLUDES"
        else:
            continue
        settings = generator.settings
        allowed = _allowed_keys(settings)
        for relative in sorted(generator.get_files(settings[paths], exclude=settings[exclude])):
            full = Path(generator.path) / relative
            _check_file(full, relative, kind, settings, allowed, _scanned(full))
    _run.scans.clear()


def _allowed_keys(settings: dict) -> set[str]:
    options = settings_of(settings)
    allowed = {k.lower() for k in options["STRICT_METADATA_KEYS"] + options["STRICT_EXTRA_METADATA_KEYS"]}
    # Keys the site's own settings rely on are known too: DEFAULT_METADATA and
    # an *_ORDER_BY that sorts by a metadata attribute (e.g. PAGE_ORDER_BY = "order").
    allowed |= {str(k).lower() for k in dict(settings.get("DEFAULT_METADATA", {}))}
    for order in ("ARTICLE_ORDER_BY", "PAGE_ORDER_BY"):
        if isinstance(settings.get(order), str):
            allowed.add(settings[order].lower().removeprefix("reversed-"))
    return allowed


def _scan_in_worker(_html, path=None, settings=None, **_) -> dict | None:
    """In a read worker: scan the file it has just parsed, as check_sources would (sources.scan).

    The mtime is taken before reading: check_sources uses the scan only if the
    file's mtime is still the same then, and reads the file itself otherwise.
    Whether the build lists this plugin comes from the settings: the worker may
    have been forked before `initialized` set _run.active.
    """
    if path is None or settings is None or not _listed(settings):
        return None
    try:
        stamp = os.stat(path).st_mtime_ns
        return {"strict.scan": (stamp, sources.scan(Path(path)))}
    except OSError:
        return None  # check_sources reads it and reports what is wrong


def _take_scan(_html, values=None, path=None, **_) -> None:
    scanned = (values or {}).get("strict.scan")
    if scanned is not None and path is not None and _run.active:
        _run.scans[path] = scanned


WORKER_BODY.connect(_scan_in_worker)  # at import: a fresh process's read pool forks before register()


def _scanned(full: Path) -> tuple | None:
    """A read worker's scan of this file, if the file is still as the worker read it."""
    entry = _run.scans.pop(os.path.abspath(full), None)
    if entry is None:
        return None
    try:
        return entry[1] if os.stat(full).st_mtime_ns == entry[0] else None
    except OSError:
        return None


class _Derived:
    """The metadata Pelican gives a file from the settings and its path, worked out on the first lookup.

    check_source asks only whether it holds a title or a date, and only for a
    file whose header has none.
    """

    def __init__(self, full: str, relative: str, settings: dict):
        self.args, self.found = (full, relative, settings), None

    def __contains__(self, key) -> bool:
        if self.found is None:
            from pelican.readers import default_metadata, parse_path_metadata, path_metadata

            full, relative, settings = self.args
            self.found = {
                **default_metadata(settings=settings),
                **path_metadata(full, relative, settings=settings),
                **parse_path_metadata(relative, settings=settings),
            }
        return key in self.found


def _check_file(full: Path, relative: str, kind: str, settings: dict, allowed: set[str], scanned=None):
    """Check one source file as it is on disk; report its problems and return its Source."""
    path = str(full)
    prefix = _name(settings)(".")  # e.g. "content": sources are named from the repository root
    source = check_source(full, f"{prefix}/{relative}", kind, allowed, _Derived(path, relative, settings), scanned)
    _run.sources[path] = source
    for problem in source.problems:
        # A fatal problem is why Pelican skips the file: its own line would only restate it.
        _error(problem, [path, relative] if source.fatal else ())
    return source


def check_site(generators) -> None:
    """Check what the sources make together: output paths, links, drafts, scheduled posts."""
    from pelican.generators import ArticlesGenerator

    items = site_checks.contents(generators)
    if not items:
        return
    settings = items[0].settings
    _run.settings = settings
    context = items[0]._context
    name = _name(settings)

    save_as_of = _run.save_as  # Pelican works save_as out anew on each access: once here
    save_as_of.update({id(item): item.save_as for item in items})
    withdrawn: list = []
    statics = site_checks.statics(generators)
    for problem, covers in site_checks.clashing_outputs(items, statics, name, save_as_of, withdrawn):
        _error(problem, covers)
    generated = site_checks.generated_outputs(generators, settings)
    for problem in site_checks.clashing_generated(items, generated, name, save_as_of, withdrawn):
        _error(problem)
    # An empty post is not written either, so nothing downstream (e.g. the search
    # index's count of published pages) restates its problem in other words.
    withdrawn += [item for item in items if getattr(_run.sources.get(_key(item.source_path)), "bodiless", False)]
    site_checks.withdraw(withdrawn, generators)

    for problem, covers in _unsluggable(items, name):
        _error(problem, covers)

    tags, categories, authors = {}, {}, {}
    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            for article in generator.articles:
                for tag in getattr(article, "tags", []):
                    tags[tag.slug] = tag.name
                if hasattr(article, "category"):
                    categories[article.category.slug] = article.category.name
                for author in getattr(article, "authors", []):
                    authors[author.slug] = author.name
    drafts = {item.url: item for item in items if item.status == "draft" and item.url}
    _run.links = {"context": context, "settings": settings, "tags": tags, "categories": categories,
                  "authors": authors, "drafts": drafts}
    known_files: set[str] = set()
    for item in items:
        source = _run.sources.get(_key(item.source_path))
        for problem, covers in site_checks.check_links(
            item, source, context, settings, tags, categories, authors, drafts, name, known_files,
        ):
            _error(problem, covers)

    for item in items:
        if type(item).__name__ != "Article" or not site_checks.scheduled(item):
            continue
        when = f"{item.date:%Y-%m-%d %H:%M}"
        if item.status == "draft":
            note = (f"{name(item.source_path)}: scheduled for {when}, left out of this build "
                      "(build with WITH_FUTURE_DATES = True, or `invoke build --future`, to include it)")
        else:
            note = f"{name(item.source_path)}: dated {when}, in the future, and published because WITH_FUTURE_DATES is on"
        notice(note)


def _unsluggable(items, name):
    """Yield a Problem for each tag, category or author whose slug came out empty, at the line naming it."""
    for item in items:
        source = _run.sources.get(_key(item.source_path))
        lines = source.lines if source is not None else {}
        named = [("tags", "label", t) for t in getattr(item, "tags", None) or []]
        named += [("category", "category", c) for c in [getattr(item, "category", None)] if c is not None]
        named += [("authors" if "authors" in lines else "author", "author", a) for a in getattr(item, "authors", None) or []]
        for key, what, value in named:
            if str(value.name).strip() and not value.slug:
                # Pelican's own "(site): Unable to generate valid slug" restates this without the file.
                yield Problem(
                    name(item.source_path), f'{what} "{value.name}" has no usable slug (no letter or digit in it)',
                    f"rename the {what}, or enable plugins/label_slugs, which gives such names a stable slug",
                    lines.get(key),
                ), [f'{type(value).__name__} "{value.name}"']


def check_saved(item, output=None, **_) -> None:
    """Check one post again after a save that changed its body only (the preview's hot path).

    The hot path (plugins/fastbuild/hot.py) re-renders the post's pages without
    Pelican's generators, so check_sources and check_site do not run; it sends
    the `fastbuild.body_saved` signal (BODY_SAVED) with the post, body updated,
    before rendering. What this reports makes the hot path give way to the full
    build, which reports it as usual: the file's own checks, its links (against
    the last run's posts, labels and drafts) and its images (in `output`, the
    live site).
    """
    if not _run.active or not _run.links:
        return
    settings = _run.links["settings"]
    full = Path(item.source_path)
    source = _check_file(full, os.path.relpath(full, settings["PATH"]), "article", settings, _allowed_keys(settings))
    if source.problems:
        return
    links = _run.links
    for problem, covers in site_checks.check_links(item, source, links["context"], settings, links["tags"],
                                                   links["categories"], links["authors"], links["drafts"],
                                                   _name(settings), set()):
        _error(problem, covers)
    if output is not None and settings_of(settings)["STRICT_CHECK_IMAGES"]:
        for problem in site_checks.missing_images(item, Path(output), settings, source, _name(settings), {}):
            _error(problem)


def check_output(pelican) -> None:
    """Check the written site: every image a post shows must be in the output folder."""
    settings = pelican.settings
    if not _run.active or not settings_of(settings)["STRICT_CHECK_IMAGES"] or not _run.settings:
        return
    output = Path(pelican.output_path)
    name = _name(settings)
    seen: dict[str, bool] = {}
    for source_path, source in _run.sources.items():
        item = _run.written.get(source_path)
        if item is None:
            continue
        for problem in site_checks.missing_images(item, output, settings, source, name, seen):
            _error(problem)


def remember_write(path, context=None, **_) -> None:
    """Note who wrote each output file: Pelican lets a later write replace an earlier one silently."""
    if _run.active:
        context = context or {}
        writer = context.get("article") or context.get("page")
        if writer is None or not hasattr(writer, "source_path"):
            writer = site_checks.describe_generated(context, path)
        _run.outputs.setdefault(os.path.normpath(str(path)), []).append(writer)


def check_overwrites(pelican) -> None:
    """Report a content and a page Pelican generates (index, archive, tag page, feed) sharing a file."""
    if not _run.active:
        return
    name = _name(pelican.settings)
    output = Path(pelican.output_path)
    for path, writers in _run.outputs.items():
        contents = [w for w in writers if not isinstance(w, str)]
        generated = [w for w in writers if isinstance(w, str)]
        if not contents or not generated:
            continue  # content-to-content clashes are found before writing
        relative = Path(path).relative_to(output).as_posix()
        for item in contents:
            if "save_as" in item.metadata:
                note = f"{name(item.source_path)}: replaces {generated[0]} at {relative}, as its Save_as asks"
                notice(note)
            else:
                _error(Problem(
                    name(item.source_path), f"written to {relative}, which is also {generated[0]}",
                    "give it another Slug: so the two do not share an address",
                ))


def remember_contents(generators) -> None:
    """Keep the published contents so their images can be checked once the site is written."""
    _run.written.clear()
    for item in site_checks.contents(generators):
        save_as = _run.save_as[id(item)] if id(item) in _run.save_as else item.save_as
        if item.status in site_checks.PUBLIC and save_as:
            _run.written[_key(item.source_path)] = item


def _listed(settings: dict) -> bool:
    """Whether these settings' PLUGINS name this plugin."""
    names = [getattr(p, "__name__", str(p)) for p in settings.get("PLUGINS") or []]
    return any(n == __name__ or n.endswith(f".{__name__}") for n in names)


def start(pelican) -> None:
    """Forget the previous run (livereload builds many times in one process)."""
    _run.active = _listed(pelican.settings)
    if _run.active:
        settings_of(pelican.settings)  # a bad STRICT_* setting is reported at start-up
    _run.sources.clear()
    _run.namers.clear()
    _run.scans.clear()
    _run.keys.clear()
    _run.settings = {}
    _run.written.clear()
    _run.outputs.clear()
    _run.links = {}


def all_generators_finalized(generators) -> None:
    if not _run.active:
        return
    check_sources(generators)
    check_site(generators)
    remember_contents(generators)
    _run.save_as.clear()


def _disconnect_scans(_pelican) -> None:
    """Leave the read workers of a later build of this process that does not list the plugin alone."""
    WORKER_BODY.disconnect(_scan_in_worker)
    BODY_VALUES.disconnect(_take_scan)


def register():
    BODY_SAVED.connect(check_saved)
    WORKER_BODY.connect(_scan_in_worker)
    BODY_VALUES.connect(_take_scan)
    signals.finalized.connect(_disconnect_scans)
    signals.initialized.connect(start)
    signals.all_generators_finalized.connect(all_generators_finalized)
    signals.content_written.connect(remember_write)
    signals.feed_written.connect(remember_write)
    signals.finalized.connect(check_overwrites)
    signals.finalized.connect(check_output)
