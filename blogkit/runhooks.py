"""The run-hook API: what a plugin may know of, and hook into, the build in progress.

A foundation module (imports nothing of blogkit or plugins/). blogkit.build
opens a Run around each Pelican run; plugins (fastbuild, csp, search) reach
it through current() instead of importing the build driver, so imports run
one way: tasks -> blogkit tools (build, serve, publish) -> Pelican with
plugins -> blogkit foundations (problems, runhooks, plugin_settings, slugs,
comment_files, htmlscan).

    run = runhooks.current()          # None under a bare `pelican` command
    if run is not None:
        run.before_swap(commit)       # the run was clean; the new site is about to go live
        run.after_swap(index)         # the new site is in place at run.target
        run.on_end(cleanup)           # always, last, clean or not: cleanup(run, ok)
        run.is_final(path)            # a file linked verbatim from the last build: leave it alone
        run.on_page(add)              # add(run, rel): an HTML page is final in run.staging
        run.streams_pages             # True: every page the writer writes comes through on_page
    runhooks.when_begun(callback)     # callback(run) as each later run opens (a status line), until forget_begun

Callbacks run in the order they were added; before_swap and after_swap get
the Run, on_end gets the Run and whether the new site went live.

Pages as they are final: plugins/fastbuild sets run.streams_pages at
`initialized` when its writer will write this run's pages, and that writer calls
page_final(run, rel) in the main process for every HTML page it writes, as
soon as the page is final in run.staging (rendered with its CSP meta in,
here or in a forked worker, or hard-linked from the last build); rel is the
page's path relative to run.staging, with "/" separators. A page written
again later (Pelican's override of one path by another content) comes
through again. HTML the writer does not write (redirect stubs, static .html)
never does. When streams_pages is False (Pelican's serial path, FASTBUILD
off) no page comes through: a plugin waits for `finalized` as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blinker import signal

# Signals between plugins/fastbuild and the plugins that do per-post work, defined here once so that
# neither side imports the other.
# - WORKER_BODY: sent in each read worker with the HTML of every Markdown file it parses (the sender),
#   path= the file's absolute path, settings= the build's settings as they were when the pool started
#   (a value worked out from them must say which it used). A receiver returns a dict of picklable
#   values, its keys named after the plugin, or None. It is connected when its plugin's module is
#   imported (and again at register(), for a later build of the process): the forked workers have only
#   what was connected when the pool started, and a fresh process's pool starts as plugins.fastbuild is
#   imported, before any plugin's register() (fastbuild imports the build's listed plugins first). A
#   receiver finds nothing the main process set up after that: it works from settings= alone.
# - BODY_VALUES: sent in the main process when Pelican takes such a file's result, with the same HTML
#   (the string the content object's _content starts as), values= every receiver's values merged and
#   path= the file's absolute path. A plugin keys what it takes by the HTML itself (or, for what it read
#   of the file, by the path and the file's mtime), so a body changed later or read without a worker
#   (the cache, the serial path) finds nothing and is worked out in the main process as before.
# - BODY_SAVED: sent by the preview's hot path for a post whose body alone was saved:
#   send(post, output=the live site's folder).
WORKER_BODY = signal("fastbuild.worker_body")
BODY_VALUES = signal("fastbuild.body_values")
BODY_SAVED = signal("fastbuild.body_saved")


@dataclass
class Run:
    """One build in progress: where Pelican writes, and the folder the result replaces."""

    target: Path  # the folder the new site replaces (e.g. output/)
    staging: Path  # where Pelican writes this run's site
    settings: dict = field(default_factory=dict)
    _before_swap: list = field(default_factory=list)
    _after_swap: list = field(default_factory=list)
    _end: list = field(default_factory=list)
    _final: set = field(default_factory=set)
    _page: list = field(default_factory=list)
    _html: list = field(default_factory=list)
    # Set by plugins/fastbuild at `initialized` when its writer will call page_final for every page it writes.
    streams_pages: bool = False

    def before_swap(self, callback) -> None:
        """Call callback(run) after a clean run, before the new site replaces the target."""
        self._before_swap.append(callback)

    def after_swap(self, callback) -> None:
        """Call callback(run) once the new site is in place at run.target."""
        self._after_swap.append(callback)

    def on_end(self, callback) -> None:
        """Call callback(run, ok) when the run is over, whether or not its site went live."""
        self._end.append(callback)

    def on_page(self, callback) -> None:
        """Call callback(run, rel) in the main process whenever the writer has a page final in run.staging."""
        self._page.append(callback)

    def mark_final(self, path) -> None:
        """Note that this output file is final already (linked from the last build, or finished by finish_html)."""
        self._final.add(str(Path(path)))

    def is_final(self, path) -> bool:
        """True for an output file that is final as written (see mark_final): post-processors leave it alone."""
        return str(Path(path)) in self._final

    def on_html(self, callback) -> None:
        """Call callback(run, path, text) -> text to finish each page a plugin writes itself (finish_html)."""
        self._html.append(callback)

    def finish_html(self, path, text: str) -> str:
        """A page a plugin writes itself, not through the templates (a redirect stub), as the on_html callbacks finish it.

        plugins/csp puts the page's policy in. The plugin then writes the text at path (under
        run.staging); path is marked final, so that no post-processor reads the page again:
        thousands of stubs were each written, read, finished and written again.
        """
        for callback in self._html:
            text = callback(self, path, text)
        self.mark_final(path)
        return text


_current: list[Run] = []
_begun: list = []  # callables told when a run opens (a status line redraws at once)


def when_begun(callback) -> None:
    """Call callback(run) whenever a run opens in this process, until forget_begun(callback)."""
    _begun.append(callback)


def forget_begun(callback) -> None:
    """Stop telling callback of runs that open."""
    if callback in _begun:
        _begun.remove(callback)


def begin(target: Path, staging: Path, settings: dict | None = None) -> Run:
    """Open the run blogkit.build is about to start (one at a time per process)."""
    if _current:
        raise RuntimeError("a build is already running in this process")
    run = Run(Path(target), Path(staging), settings if settings is not None else {})
    _current.append(run)
    for callback in list(_begun):
        callback(run)
    return run


def current() -> Run | None:
    """The build in progress in this process, or None."""
    return _current[-1] if _current else None


_hot_paths: list = []


def offer_hot_path(update) -> None:
    """Register update(settings, target, changed) -> result or None: a way to skip a full build.

    plugins/fastbuild offers one once a build in this process has kept what it needs;
    blogkit.build asks it first when the caller says which files were saved.
    """
    if update not in _hot_paths:
        _hot_paths.append(update)


def try_hot_path(settings: dict, target: Path, changed: list) -> object | None:
    """What an offered hot path did for these saved files, or None: then run the full build."""
    for update in _hot_paths:
        result = update(settings, Path(target), list(changed))
        if result is not None:
            return result
    return None


_preview: dict = {}  # the preview server's two callbacks, while it runs in this process


def attach_preview(shown, updated, following=None) -> None:
    """The preview: shown() -> output files open in a tab now (rendered first); following(first, count) when a hot
    path returns with the files first in place and count more to come; updated(rels) when they are in place."""
    _preview.update(shown=shown, updated=updated, following=following)


def previewing() -> bool:
    """True while a preview server runs in this process (the only caller that passes build() the saved files)."""
    return bool(_preview)


def detach_preview() -> None:
    """The preview server has stopped."""
    _preview.clear()


def pages_shown() -> set[str]:
    """The output files (relative paths) a preview tab shows now; empty without a preview."""
    shown = _preview.get("shown")
    return set(shown()) if shown is not None else set()


def pages_following(first, count: int) -> None:
    """Tell the preview that the build returns with the files `first` (the open pages) in place and `count` more to follow."""
    following = _preview.get("following")
    if following is not None:
        following(sorted(first), count)


def pages_updated(rels) -> None:
    """Tell the preview that these output files were replaced after the build returned (a hot path's rest)."""
    updated = _preview.get("updated")
    if updated is not None:
        updated(set(rels))


def page_final(run: Run, rel: str) -> None:
    """Tell the run's on_page callbacks that the page at rel (under run.staging) is final (the writer calls this)."""
    for callback in run._page:
        callback(run, rel)


def fire_before_swap(run: Run) -> None:
    """Run the before-swap callbacks (blogkit.build calls this)."""
    for callback in run._before_swap:
        callback(run)


def fire_after_swap(run: Run) -> None:
    """Run the after-swap callbacks (blogkit.build calls this)."""
    for callback in run._after_swap:
        callback(run)


def end(run: Run, ok: bool) -> None:
    """Close the run, calling its on_end callbacks in order (blogkit.build calls this)."""
    try:
        for callback in run._end:
            callback(run, ok)
    finally:
        if run in _current:
            _current.remove(run)
