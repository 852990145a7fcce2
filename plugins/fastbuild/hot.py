"""The preview server's hot path: one post's body or title edited, without Pelican's pipeline.

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

A header edit that changes only the summary (a Summary: line) is a body
edit too: the summary is body (memo.BODY_METADATA).

**The structure path** (a title edit): when the saved post's metadata differs
only in display metadata (DISPLAY_METADATA: the title) and everything Pelican
made of the rest of its header is as it was (slug, URL, save_as, date,
category, tags, authors, status, language: a title edit of a post whose slug
comes from its title changes its URL and is declined), the site keeps every
output path and its order, but any page may show the title. Then:

1. the file is read again, the plugins' per-post work redone (as above), and
   the kept object updated in place (its body and its metadata, in the new
   header's order); the site-wide work that depends on display metadata is
   redone for the whole kept site (SITE_RECEIVERS: related posts break ties
   by title); plugins/strict checks the file (BODY_SAVED);
2. what was computed once from the structure is dropped: the sitewide parts
   and the memoised groupby/sort of each kept Jinja environment (URLs are
   memoised afresh for each hot render anyway);
3. the pages the open preview tabs show (runhooks.pages_shown(), from the
   preview's event streams; without one, the post's own page) are rendered,
   with csp's receivers around them, and put in place; update() returns and
   the tabs reload;
4. a thread renders every other page and feed of the kept build into a
   staging folder, puts them in place, gives the memo every page's reads
   and files and the new structure digest (so the next full build reuses
   every page), saves it, tells the preview (runhooks.pages_updated: the tabs
   on those pages reload) and runs the after-swap callbacks (search index).
   Meanwhile other pages may show the old title for a few seconds. The next
   hot edit gives that rest up if it is not in place yet (wait(cancel=True)):
   the kept site is then "stale" and that edit, even a body edit, renders
   every page the same way; the memo on disk keeps the last complete
   structure, so a full build then renders every page. A problem
   logged there leaves the rest as it was and forgets what was kept: the
   next save takes the full build, which renders everything again (the memo
   on disk still has the old structure) and reports it.

Drafts and hidden posts are taken too (a draft being written is the
author's usual loop). Anything else (other metadata, a new, renamed or
deleted file, a page, a site with translations, a template, a setting, a
comment file, several files) takes the full build, and so does any warning
or error logged before update() returns: nothing is swapped in then, and the
full build reports it with its usual messages. `invoke build` and publish
never take either path: only the preview passes `changed`.

Source checks: plugins/strict's checks run in Pelican's
`all_generators_finalized`, which the hot path does not send. Instead, after
step 2 it sends the `fastbuild.body_saved` signal (runhooks.BODY_SAVED, blinker's named
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

from blogkit import runhooks

from . import memo, write

logger = logging.getLogger(__name__)
# path: "body" or "structure"; first: the files a structure edit put in place before update()
# returned (the open tabs' pages); order: every file it put in place, in that order.
stats: dict = {"taken": False, "declined": "", "path": "", "first": [], "order": []}
# Page post-processors, named by module: their `initialized` and `finalized` receivers run
# around the hot path's rendering, for its folder of re-rendered pages.
POST_PROCESSORS = ("plugins.csp",)
# Receivers check the saved post (plugins/strict): send(post, output=live site folder).
BODY_SAVED = runhooks.BODY_SAVED

_kept: dict = {}  # what the last fast, incremental build in this process left for the hot path
# The lists of posts in Pelican's context the hot path takes a body edit in.
KINDS = ("articles", "drafts", "hidden_articles")
# Metadata a structure edit may change: shown on pages, but no output file's path and no order
# of the site depends on it (the theme shows it; URLs, sorting and grouping use other keys).
DISPLAY_METADATA = ("title",)
# article_generator_finalized receivers whose site-wide result depends on display metadata
# (plugins/related breaks ties between posts of the same date by title): sent again, for the
# whole kept site, on a structure edit.
SITE_RECEIVERS = ("plugins.related",)
# article_generator_finalized receivers not sent for the stand-in holding the saved post: their
# per-post work depends on neither its body nor its display metadata, and they check the whole
# site on the way (plugins/comments would find every other post's comment file unclaimed).
NOT_PER_POST = ("plugins.comments",)
# Article orders (ARTICLE_ORDER_BY) that no display metadata takes part in.
DATE_ORDERS = ("reversed-date", "date")


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
    """After a fast build went live: keep its templates, contexts and memo for the hot path.

    Only while a preview server runs in this process (runhooks.previewing()): it alone passes
    build() the saved files, so a plain build, a publish or the benchmark would pay for this
    (reading every post's header and every output file's size, ~0.15 CPU-s at 1,000 posts,
    with the other core idle) for nothing.
    """
    _kept.clear()
    if not runhooks.previewing():
        return
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
# Set by the next hot edit: the rest of a structure edit not yet in place is given up (that
# edit renders the whole site again anyway; _kept["stale"] says it must).
_cancel = threading.Event()


def wait(cancel: bool = False) -> None:
    """Wait until the rest of the last hot edit is in place (the next build, tests, the benchmark).

    cancel: a structure edit's rest still being rendered is given up instead (the next hot edit).
    """
    if cancel and _following:
        _cancel.set()
    try:
        while _following:
            _following.pop().join()
    finally:
        _cancel.clear()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _begin(target: Path, urls: bool = True) -> tuple[_Capture, Path]:
    """Start a hot render: warnings captured, body reads tracked, URLs memoised, a staging folder beside target."""
    from . import render

    capture = _Capture()
    logging.getLogger().addHandler(capture)
    memo.track_content_methods()
    if urls:
        render.start_url_memo()
    return capture, Path(tempfile.mkdtemp(prefix=f".{target.name}.hot-", dir=target.parent))


def _end(capture: _Capture, staging: Path | None) -> None:
    """Undo what _begin did (whatever happened in between); staging None: the thread that follows removes it."""
    from . import render

    render.stop_url_memo()
    memo.untrack_content_methods()
    logging.getLogger().removeHandler(capture)
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


def _decline(reason: str) -> None:
    stats["declined"] = reason
    return None


def update(settings: dict, target: Path, changed: list) -> Result | None:
    """Update the live site for one post's body or display-metadata edit; None when the full build must run."""
    started = time.perf_counter()
    wait(cancel=True)
    stats.update(taken=False, declined="", path="", first=[], order=[])
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
    now = _header(source)
    if header is None or now is None:
        return _decline("the metadata header cannot be read")
    # The last build's settings: the same (one fingerprint), with the plugins' defaults applied.
    settings = _kept["settings"]
    capture, staging = _begin(Path(target), urls=False)  # the URL memo starts once the edit is read
    structure = False
    swapped = False  # then the thread that follows removes the staging folder (its emptied folders)
    try:
        new, readers = _read(settings, source, old)
        keys = _changed_metadata(old, new)
        if keys and now == header:
            return _decline("the metadata differs")  # the same header must give the same metadata
        if keys:
            reason = _structure_declines(old, new, keys, settings)
            if reason:
                return _decline(reason)
        # A structure edit whose rest was given up leaves pages of the old structure: any edit renders all.
        structure = bool(keys) or _kept.get("stale", False)
        render.start_url_memo()  # neither edit changes a URL
        if structure:
            rendered = _render_structure(settings, source, old, new, readers, keys, staging)
        else:
            rendered = _render(settings, source, old, new, readers, staging)
        if rendered is None:
            forget()  # the kept objects may be half-updated: the full build starts afresh
            return None
        pages, feeds = rendered
        if capture.records:
            # Say nothing here: the full build that follows reports them properly.
            forget()
            return _decline("a warning or error on the hot path")
        if structure:
            _put(staging, Path(target), pages)
        else:
            _swap(staging, Path(target), pages, source)
        swapped = True
    except Exception as exc:  # anything unexpected: the full build is always right
        forget()
        return _decline(f"{type(exc).__name__}: {exc}")
    finally:
        # Removing the staging folders costs ~20 ms (a few rmdir); the tab need not wait for it.
        _end(capture, None if swapped else staging)
    _kept["articles"][source] = (old, now)
    if structure:
        _kept["stale"] = True  # until the rest is in place
        stats["path"], stats["first"] = "structure", sorted(pages)
        thread = threading.Thread(target=_follow_structure, args=(settings, pages, Path(target), started, staging),
                                  name="hot-path-rest")
    else:
        stats["path"] = "body"
        thread = threading.Thread(target=_follow, args=(settings, source, feeds, Path(target), staging),
                                  name="hot-path-feeds")
    rest = len(set(_kept["jobs"]) | set(_kept["direct"])) - len(pages)  # before the thread may forget()
    _following.append(thread)
    thread.start()
    if structure:
        runhooks.pages_following(pages, rest)
    stats["taken"] = True
    return Result(source, sorted(pages) + sorted(feeds), time.perf_counter() - started)


def _follow(settings: dict, source: str, feeds: dict, target: Path, used: Path) -> None:
    """Render the feeds that carry the edited post, swap them in, save the memo, run the after-swap callbacks.

    used: the staging folder of the pages, emptied by their swap, to remove.
    """
    from pelican.writers import Writer

    shutil.rmtree(used, ignore_errors=True)
    capture, staging = _begin(target)
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
        _end(capture, staging)
    if capture.records:
        forget()  # a feed that logged a problem: the next save takes the full build, which reports it
    run = runhooks.Run(target, target, settings)
    for callback in _kept.get("after_swap", ()):
        callback(run)


def _read(settings: dict, source: str, old):
    """Read the saved post again with Pelican's reader: (the new object, the readers)."""
    from pelican.readers import Readers

    readers = Readers(settings)
    new = readers.read_file(base_path=settings["PATH"], path=os.path.relpath(source, settings["PATH"]),
                            content_class=type(old), context=_kept["context"])
    return new, readers


_MISSING = object()


def _same(a, b) -> bool:
    """Equal as a page shows them: tags, categories and authors by name and slug (Pelican compares slugs only)."""
    from pelican.urlwrappers import URLWrapper

    if isinstance(a, URLWrapper) or isinstance(b, URLWrapper):
        return type(a) is type(b) and a.name == b.name and a.slug == b.slug
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    try:
        return bool(a == b)
    except Exception:  # values that cannot be compared are not the same
        return False


def _changed_metadata(old, new) -> set[str]:
    """The metadata keys whose values differ between the kept post and the saved one (bodies aside)."""
    keys = (set(old.metadata) | set(new.metadata)) - set(memo.BODY_METADATA)
    return {key for key in keys if not _same(old.metadata.get(key, _MISSING), new.metadata.get(key, _MISSING))}


def _structure_declines(old, new, keys: set, settings: dict) -> str:
    """Why a metadata edit cannot be taken as a structure edit ('' when it can)."""
    context = _kept["context"]
    other = sorted(keys - set(DISPLAY_METADATA))
    if other:
        return f"the metadata changed: {', '.join(other)} (only {', '.join(DISPLAY_METADATA)} is taken in place)"
    if any(key not in old.metadata or key not in new.metadata for key in keys):
        return f"the metadata changed: {', '.join(sorted(keys))} added or removed"
    order = settings.get("ARTICLE_ORDER_BY", "reversed-date")
    if order not in DATE_ORDERS and (not isinstance(order, str) or order.removeprefix("reversed-") in keys):
        return f"ARTICLE_ORDER_BY ({order!r}) may sort by what changed"
    if any(getattr(item, "translations", None) for kind in KINDS for item in context.get(kind, ())):
        return "the site has translations"
    # Everything Pelican made of the rest of the header must be as it was: slug (a slug from the
    # title changes with it), URL, save_as, date, category, tags, authors, status, language.
    skip = set(memo.NOT_STATE) | {"metadata", "translations"} | {key.lower() for key in keys}
    for name, value in vars(new).items():
        if name not in skip and not _same(vars(old).get(name, _MISSING), value):
            return f"{name} changed with the {', '.join(sorted(keys))} (a path or an order of the site may change)"
    for name in ("url", "save_as"):
        if getattr(old, name) != getattr(new, name):
            return f"the {name} changed"
    return ""


def _per_post(settings: dict, old, new, readers) -> None:
    """Redo the plugins' per-post work on the new object and give the kept one its new body."""
    from pelican import signals

    context = _kept["context"]
    # The article generator as its receivers see it, holding only the new object: each
    # plugin's per-post work is done on it; site-wide lists are empty (a receiver that
    # needs more fails, and the full build runs).
    kind = _kept["kinds"][os.path.abspath(old.source_path)]
    stand_in = types.SimpleNamespace(settings=settings, context=context, articles=[new] if kind == "articles" else [],
                                     translations=[], drafts=[new] if kind == "drafts" else [], drafts_translations=[],
                                     hidden_articles=[new] if kind == "hidden_articles" else [],
                                     hidden_translations=[], dates=[], tags={}, categories=[], authors=[],
                                     related_posts=[], readers=readers, path=settings["PATH"])
    for receiver in list(signals.article_generator_finalized.receivers_for(stand_in)):
        if not getattr(receiver, "__module__", "").startswith(NOT_PER_POST):
            receiver(stand_in)
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


def _forget_content_caches(old) -> str:
    """Drop Pelican's memoised get_content/get_summary of the kept object; a reason to decline, or ''."""
    for name in ("get_content", "get_summary"):  # Pelican memoises both per object
        cache = getattr(memo._patched.get(name), "cache", None)
        if cache is None:
            return f"Content.{name} keeps no cache we know"
        for key in [key for key in cache if key and key[0] is old]:
            del cache[key]
    return ""


def _render_page(template, page_context, path: Path) -> set:
    """Render one kept page into path; return the bodies it read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    html = []
    reads = memo.render_tracked(lambda: html.append(template.render(page_context)))
    path.write_text(html[0], encoding="utf-8")
    return reads


def _render(settings: dict, source: str, old, new, readers, staging: Path) -> dict | None:
    """Give the kept object its new body, render the pages that read it into staging.

    Returns (pages rendered, the feeds to render after them), or None to decline.
    """
    from pelican import signals

    _per_post(settings, old, new, readers)
    BODY_SAVED.send(old, output=_kept["target"])  # e.g. plugins/strict: a problem logged here declines
    reason = _forget_content_caches(old)
    if reason:
        return _decline(reason)
    entries = _kept["memo"].pages
    todo = {rel: job for rel, job in _kept["jobs"].items() if rel in entries and source in entries[rel].bodies}
    direct = {rel: item for rel, item in _kept["direct"].items() if source in item[2]}
    # A sitewide part that read this body is rendered again, once, with the pages. Each
    # environment's cache is looked through once (not once per page: ~25 ms at 1,000 posts).
    environments = {}
    for template, _context in list(todo.values()) + [item[:2] for item in direct.values()]:
        environment = getattr(template, "environment", None)
        if environment is not None:
            environments[id(environment)] = environment
    for environment in environments.values():
        cache = getattr(environment, "sitewide_cache", None)
        if cache:
            for name in [name for name, (_html, reads) in cache.items() if source in reads]:
                del cache[name]
    pelican = types.SimpleNamespace(settings={**settings, "OUTPUT_PATH": str(staging)}, output_path=str(staging))
    _post_processors(signals.initialized, pelican)  # e.g. csp: the policy goes in as pages are rendered
    rendered: dict[str, set] = {}
    feeds = {rel: template for rel, (template, _context) in todo.items() if isinstance(template, write._Feed)}
    for rel, (template, page_context) in todo.items():
        if rel not in feeds:  # feeds after the pages, in a thread (_follow)
            rendered[rel] = _render_page(template, page_context, staging / rel)
    for rel, (template, page_context, _reads) in direct.items():
        reads = _render_page(template, page_context, staging / rel)
        _kept["direct"][rel] = (template, page_context, frozenset(reads))
    _post_processors(signals.finalized, pelican)
    return {rel: rendered.get(rel) for rel in [*todo, *direct] if rel not in feeds}, feeds


# --- the structure path: display metadata edited, every page rendered, the open ones first ------


def _render_structure(settings: dict, source: str, old, new, readers, keys: set, staging: Path):
    """Update the kept post's metadata in place and render the pages the open tabs show into staging.

    Returns ({rel: bodies read} of the pages rendered, {}), or None to decline.
    """
    from pelican import signals

    context = _kept["context"]
    _per_post(settings, old, new, readers)
    # The header's new display values, in the new header's order (a fresh build's).
    values = {key: (new.metadata[key] if key in keys else old.metadata[key]) for key in new.metadata
              if key in old.metadata or key in memo.BODY_METADATA}
    values.update({key: old.metadata[key] for key in old.metadata if key not in values})
    old.metadata.clear()
    old.metadata.update(values)
    for key in keys:
        setattr(old, key.lower(), getattr(new, key.lower()))
    # Site-wide work that depends on display metadata (related posts' ties), for the whole site.
    site = types.SimpleNamespace(settings=settings, context=context, articles=context.get("articles", []),
                                 translations=[], drafts=context.get("drafts", []), drafts_translations=[],
                                 hidden_articles=context.get("hidden_articles", []), hidden_translations=[],
                                 readers=readers, path=settings["PATH"])
    _post_processors(signals.article_generator_finalized, site, SITE_RECEIVERS)
    BODY_SAVED.send(old, output=_kept["target"])  # plugins/strict checks the file, header included
    reason = _forget_content_caches(old)
    if reason:
        return _decline(reason)
    _invalidate_structure()
    pages = _pages()
    shown = [rel for rel in sorted(runhooks.pages_shown()) if rel in pages]
    first = shown or [rel for rel in [os.path.normpath(old.save_as)] if rel in pages]
    pelican = types.SimpleNamespace(settings={**settings, "OUTPUT_PATH": str(staging)}, output_path=str(staging))
    _post_processors(signals.initialized, pelican)
    rendered = {rel: _render_page(*pages[rel], staging / rel) for rel in first}
    _post_processors(signals.finalized, pelican)
    return rendered, {}


def _pages() -> dict[str, tuple]:
    """Every page of the kept build (not its feeds): rel -> (template, context)."""
    pages = {rel: job for rel, job in _kept["jobs"].items() if not isinstance(job[0], write._Feed)}
    pages.update({rel: item[:2] for rel, item in _kept["direct"].items()})
    return pages


def _environments() -> list:
    """The Jinja environments of the kept pages' templates."""
    found = {}
    for template, _context in _pages().values():
        environment = getattr(template, "environment", None)
        if environment is not None:
            found[id(environment)] = environment
    return list(found.values())


def _invalidate_structure() -> None:
    """Forget what was computed once from the site's structure: sitewide parts, memoised groupby and sort."""
    from . import render

    for environment in _environments():
        if getattr(environment, "sitewide_cache", None) is not None:
            environment.sitewide_cache = {}
        if getattr(environment.filters.get("groupby"), "__name__", "") == "memoised":
            render.install(environment)  # new, empty memos


def _put(staging: Path, target: Path, rels) -> None:
    """Put each file rendered into staging in place (one rename each), with its copies."""
    for rel in rels:
        os.replace(staging / rel, target / rel)
        for copy in _kept["copies"].get(rel, ()):
            temporary = staging / f".copy-{os.getpid()}"
            shutil.copyfile(target / rel, temporary)
            os.replace(temporary, target / copy)
        stats["order"].append(rel)


def _follow_structure(settings: dict, first: dict, target: Path, started: float, used: Path) -> None:
    """Render every other page and feed after a structure edit, swap them in, update and save the memo.

    used: the staging folder of the open pages, emptied by their swap, to remove.
    """
    from pelican import signals
    from pelican.writers import Writer

    shutil.rmtree(used, ignore_errors=True)
    capture, staging = _begin(target)
    try:
        reads = dict(first)
        pelican = types.SimpleNamespace(settings={**settings, "OUTPUT_PATH": str(staging)}, output_path=str(staging))
        _post_processors(signals.initialized, pelican)
        for rel, (template, page_context) in _pages().items():
            if _cancel.is_set():
                break
            if rel not in first:
                reads[rel] = _render_page(template, page_context, staging / rel)
        writer = Writer(str(staging), settings=settings)
        for rel, (feed, _context) in _kept["jobs"].items():
            if _cancel.is_set():
                break
            if isinstance(feed, write._Feed):
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                reads[rel] = memo.render_tracked(lambda f=feed: Writer.write_feed(writer, *f.args))
        _post_processors(signals.finalized, pelican)
        if _cancel.is_set():
            stats["cancelled"] = stats.get("cancelled", 0) + 1  # _kept["stale"] stays: the next edit renders all
            return
        if capture.records:
            forget()  # a problem while rendering: the next save takes the full build, which reports it
            return
        _put(staging, target, [rel for rel in reads if rel not in first])
        _remember(reads, target, settings)
        _kept["stale"] = False
    except Exception:  # anything: the next save takes the full build, which reports what is wrong
        forget()
        return
    finally:
        _end(capture, staging)
    stats["rest_seconds"] = time.perf_counter() - started
    runhooks.pages_updated([rel for rel in reads if rel not in first])
    run = runhooks.Run(target, target, settings)
    for callback in _kept.get("after_swap", ()):
        callback(run)


def _remember(reads: dict, target: Path, settings: dict) -> None:
    """Give the memo what every page now read and its file, and the new structure's digest; save it."""
    kept_memo = _kept["memo"]
    bodies = memo._Bodies(_kept["context"])
    for rel, sources in reads.items():
        if rel in _kept["direct"]:
            template, page_context, _old = _kept["direct"][rel]
            _kept["direct"][rel] = (template, page_context, frozenset(sources))
        entry = kept_memo.pages.get(rel)
        if entry is None:
            continue
        entry.bodies = {source: bodies.get(source, "?") for source in sorted(sources)}
        stat = (target / rel).stat()
        entry.stamp = (stat.st_size, stat.st_mtime_ns)
    structure, _unstable = memo.structure_digest(_kept["context"], settings)
    # Unhashable: no later build matches it, so the next full build renders every page.
    kept_memo.structure = structure or "unhashable"
    memo.save(kept_memo, settings)


def _post_processors(signal, sender, modules=POST_PROCESSORS) -> None:
    """Send signal to the receivers of the given modules only (the page post-processors by default)."""
    for receiver in list(signal.receivers_for(sender)):
        if getattr(receiver, "__module__", "").startswith(modules):
            receiver(sender)


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
