"""Index the built site with Pagefind so readers can search posts and pages.

Ours rather than PyPI's: pelican-search is built on Stork, which is no longer
developed (pelican-plugins/search #35 asks for Pagefind). This plugin drives
Pagefind's bundled binary (from the `pagefind[extended]` package on PyPI)
after the site is written, on `pelican.output_path`, so a failure fails the
build before anything is swapped into place.

What gets indexed: the theme marks the body of a *published* post or page
with `data-pagefind-body`; Pagefind then leaves out every page without it
(listing pages, the 404 page, the search page, drafts). The plugin checks
that Pagefind indexed no more pages than there are published posts and
pages (fewer is fine: it skips a page with no words), so a theme change that
loses the marker (Pagefind then indexes every page) or marks a draft stops
the build instead of shipping a wrong index.

Pagefind is run on a folder of hard links to the published posts and pages
(see `pages_to_index`), not on the whole site, because it reads and parses
every HTML file it is given and the pages it then leaves out (tag, category,
author and archive listings, pagination, redirect stubs) are two fifths of
them: 689 of 1,690 at 1,000 posts. The bundle is the same, byte for byte.

livereload builds with `"index": "background"`: the new site goes live with
the last index (hard links), and a thread indexes the new site and swaps its
bundle in a few seconds later, so a preview does not wait for Pagefind. A
published site is always indexed before the build ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

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
    """Pagefind could not build a correct index of the site; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def search_settings(settings: dict) -> dict:
    """Return the SEARCH setting with every default filled in (the one place defaults live)."""
    return with_defaults(settings, "SEARCH", DEFAULTS, {"index": (one_of(*INDEX_MODES), 'True, False or "background"')})


def apply_defaults(pelican) -> None:
    """Store the complete SEARCH setting so templates can read SEARCH.js etc."""
    pelican.settings["SEARCH"] = search_settings(pelican.settings)


# Published posts and pages of the run being built, keyed by output folder;
# filled when the generators are done, read once the site is written.
_expected: dict[str, list[str]] = {}
_lock = threading.Lock()


def remember_published(generators) -> None:
    """Note which files hold published posts and pages, for checking the index."""
    files: list[str] = []
    output_path = None
    for generator in generators:
        output_path = output_path or getattr(generator, "output_path", None)
        if hasattr(generator, "articles"):
            files += [a.save_as for a in generator.articles + generator.translations]
        if hasattr(generator, "pages"):
            files += [p.save_as for p in generator.pages + generator.translations]
    if output_path is not None:
        with _lock:
            _expected[str(Path(output_path).resolve())] = sorted(set(files))


def _index_with_cli(site: Path, bundle: Path, language: str) -> None:
    """Index the HTML files under `site` with the Pagefind binary and write the bundle into `bundle`.

    The binary is run directly rather than through the package's asyncio API:
    that API waits 0.1 s per message and, under load, now and then hands back a
    half-read reply (JSONDecodeError), which made builds fail at random.
    """
    from pagefind.service import _must_get_executable

    command = [str(_must_get_executable()), "--site", str(site), "--output-path", str(bundle),
               "--force-language", language, "--quiet"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise SearchIndexError(f"pagefind exited with {run.returncode}: {(run.stderr or run.stdout).strip()}")


MARKER = b"data-pagefind-body"


def pages_to_index(site: Path, expected: list[str]) -> list[str] | None:
    """The pages (paths relative to site) that make the bundle Pagefind writes for the whole site; None: the whole site.

    They are the published posts and pages that were written; any other page that
    names the marker, so that a listing page or a draft the theme marks by mistake
    is still indexed (and the count check still catches it); and one other page
    that does not name it, so that if the marker is only words in a post and no
    element carries it, Pagefind still indexes a page too many. Once a page is
    marked Pagefind skips every unmarked page, so none of these changes the bundle.
    If no page names the marker, Pagefind would index every page: the whole site
    it is, as before.
    """
    published = {page for page in expected if page and (site / page).is_file()}
    if not published:
        return None
    marked, unmarked = [], []
    for path in sorted(site.rglob("*.html")):
        page = path.relative_to(site).as_posix()
        if page in published:
            continue
        if MARKER in path.read_bytes():
            marked.append(page)
        elif not unmarked:
            unmarked.append(page)
    if not marked and not any(MARKER in (site / page).read_bytes() for page in sorted(published)):
        return None
    return sorted(published.union(marked, unmarked))


def _index_pages(site: Path, pages: list[str], bundle: Path, language: str) -> None:
    """Index only `pages` (paths relative to site): hard links of them in a folder of their own, same paths."""
    folder = Path(tempfile.mkdtemp(prefix=f".{site.name}.pagefind-", dir=site.parent))
    try:
        link = os.link
        for page in pages:
            target = folder / page
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                link(site / page, target)
            except OSError:  # no hard links here (another file system, say): copy, from now on
                link = shutil.copyfile
                link(site / page, target)
        _index_with_cli(folder, bundle, language)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _empty_bundle(bundle: Path, language: str) -> None:
    """Write an empty Pagefind bundle (the binary refuses to index nothing)."""
    from pagefind.index import PagefindIndex

    async with PagefindIndex(config={"output_path": str(bundle), "force_language": language}):
        pass


def indexed_page_count(bundle: Path) -> int:
    """Return how many pages a written Pagefind bundle holds, from its pagefind-entry.json."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(int(language["page_count"]) for language in entry["languages"].values())


def _run(coro):
    """Run a coroutine to completion, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="pagefind")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def build_index(pelican) -> None:
    """Run Pagefind over the written site; report a problem if it fails or indexes the wrong pages."""
    try:
        _build_index(pelican)
    except SearchIndexError as error:
        report(SITE, str(error), error.hint, log=log)


def _build_index(pelican) -> None:
    """Run Pagefind over the written site; raise SearchIndexError if it fails or indexes the wrong pages."""
    config = search_settings(pelican.settings)
    if not config["index"]:
        return
    site = Path(pelican.output_path).resolve()
    with _lock:
        expected = _expected.pop(str(site), None)
    language = (pelican.settings.get("DEFAULT_LANG") or "en").split("_")[0]
    bundle = site / config["bundle_dir"]
    if config["index"] == "background" and expected and _index_in_background(bundle, config["bundle_dir"], language, expected):
        return
    try:
        # With nothing marked for indexing Pagefind would index every page, so a
        # site without published posts or pages gets an empty bundle instead.
        if expected is not None and not expected:
            _run(_empty_bundle(bundle, language))
        elif expected is not None and (pages := pages_to_index(site, expected)) is not None:
            _index_pages(site, pages, bundle, language)
        else:
            _index_with_cli(site, bundle, language)
        count = indexed_page_count(bundle)
    except Exception as exc:
        raise SearchIndexError(
            f"Pagefind failed to index {site}: {type(exc).__name__}: {exc}",
            "check that the `pagefind[extended]` package is installed with `uv sync`",
        ) from exc
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
            if pages is None:
                _index_with_cli(target, fresh, language)
            else:
                _index_pages(target, pages, fresh, language)
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
                hint = getattr(exc, "hint", "")
                print(f"search: the index was not updated: {type(exc).__name__}: {exc}" + (f" (fix: {hint})" if hint else ""),
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
