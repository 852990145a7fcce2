"""Run Pelican strictly and atomically.

Pelican logs a bad post, skips it and exits 0. Here every warning or error
logged during a run becomes a Problem, the run fails when there is any, and
the new site replaces the output folder only when the run was clean, so a
failed or interrupted build never leaves a half-written site behind.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from blogkit import runhooks
from blogkit.problems import BuildError, Problem, source_name  # noqa: F401 (BuildError re-exported for callers of build())

ROOT = Path(__file__).resolve().parent.parent

# At exit the interpreter runs its cycle collector over the whole heap while it tears the
# modules down: after a build (1,000 posts: every post, page context and memo kept) that cost
# about 0.45 CPU-s, alone, after the site was in place. Frozen objects are left out of it; the
# build's own files are closed and complete before build() returns, so nothing waits on it.
atexit.register(gc.freeze)

# Start-up (Pelican's imports, the settings) allocates some 80,000 container objects, nearly all
# modules, classes and functions that live as long as the process: at CPython's default thresholds
# about 110 young and 10 middle collections walk them (0.04-0.05 CPU-s, on one core, before the read
# pool starts) and find next to nothing. The collector is off until Pelican is imported and the
# settings read; what exists then is frozen (left out of every collection of this build, and put
# back in the oldest generation when the build ends). The plugins' imports that follow run at
# plugins/fastbuild's heap.py thresholds, which it sets again itself at `initialized`.
_THRESHOLDS = (20_000, 20, 20)


@dataclass
class BuildResult:
    """What a successful build wrote and how long it took."""

    output: Path
    seconds: float
    notices: list[str] = field(default_factory=list)


# Pelican's messages that only restate a problem a plugin has already explained
# better (the file it skipped, the link it could not replace). A plugin names
# what it explained with extra={"problem": ..., "covers": [text, ...]}: a record
# starting like one of these whose message contains one of those texts is left out.
CONSEQUENCES = (
    "Could not process %s",
    "Skipping %s: could not find information about '%s'",
    "Unknown status '%s' for file %s, skipping it. (Not in %s)",
    "Unable to find '%s', skipping url replacement.",
    "Replacement Indicator %r not recognized in %r, skipping replacement",
    "Cannot get modification stamp for %s",
    "There are %s ",  # two contents with one slug, restated per language
    'Unable to generate valid slug for %s "%s".',  # plugins/strict names the file and line
)
# Pelican's warnings that change nothing a reader sees, told as notes: the RST reader's
# labels fall back to English for a DEFAULT_LANG Docutils lacks ("pt", "tr", ...), and
# this site's sources are Markdown.
NOT_PROBLEMS = ("Docutils has no localization for",)
_LINK_HINT = (
    "check the path: {filename}/{static} paths are relative to the linking file, "
    "or start with / for the content folder (e.g. {filename}/posts/2007/x.md)"
)


class _Collector(logging.Handler):
    """Turn every warning or error logged during a run into a Problem, and notices into notes."""

    def __init__(self, content_root: Path):
        # NOTSET: plugins' INFO records may carry notices; levels are sorted in emit().
        super().__init__(level=logging.NOTSET)
        self.content_root = content_root
        self.found: list[Problem] = []  # from plugins, ready-made
        self.pelican: list[tuple[str, str, Problem]] = []  # (template, message, problem)
        self.covers: list[str] = []
        self.notices: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        notice = getattr(record, "notice", None)
        if notice is not None:
            if notice not in self.notices:
                self.notices.append(str(notice))
            return
        if record.levelno < logging.WARNING:
            return
        problem = getattr(record, "problem", None)
        if problem is not None:
            self.found.append(problem)
            self.covers.extend(getattr(record, "covers", ()))
            return
        if str(record.msg).startswith(NOT_PROBLEMS):
            if record.getMessage() not in self.notices:
                self.notices.append(record.getMessage())
            return
        self.pelican.append((str(record.msg), record.getMessage(), self._from_record(record)))

    def crashed(self, exc: Exception) -> None:
        """Record a run that broke off, saying what Pelican was doing in an author's words."""
        from pelican.writers import FileOverwriteFailedError

        if isinstance(exc, FileOverwriteFailedError):
            name = re.search(r'"(.*?)"', str(exc))
            where = name.group(1) if name else "a file"
            where = re.sub(r"^.*?/\.[^/]*\.building-[^/]*/", "", where)
            problem = Problem("(site)", f"two things would be written to {where}",
                              "give one of them another slug, save_as or URL setting")
        else:
            path, line = _template_frame(exc)
            hint = "fix the template at that line" if path != "(site)" else ""
            problem = Problem(path, f"{type(exc).__name__}: {exc}", hint, line)
        self.found.append(problem)

    def problems(self) -> list[Problem]:
        """Every problem of the run, each once, Pelican's restatements of plugin findings left out."""
        result: list[Problem] = []
        for template, message, problem in self.pelican:
            if template.startswith(CONSEQUENCES) and any(cover in message for cover in self.covers):
                continue
            result.append(problem)
        unique: list[Problem] = []
        for problem in self.found + result:
            if problem not in unique:
                unique.append(problem)
        # Files in order, each file's problems by line; site-wide problems last.
        return sorted(unique, key=lambda p: (p.path == "(site)", p.path, p.line or 0))

    def _from_record(self, record: logging.LogRecord) -> Problem:
        message = record.getMessage()
        args = record.args if isinstance(record.args, tuple) else ()
        path = "(site)"
        for arg in args:
            source = getattr(arg, "source_path", arg)  # a Content object names its file
            # A link target ("Unable to find 'x.md'") is not the file the problem is in.
            if (
                isinstance(source, (str, os.PathLike))
                and str(source).endswith((".md", ".html", ".rst", ".txt"))
                and not str(record.msg).startswith(("Unable to find", "Replacement Indicator"))
            ):
                path = source_name(source, self.content_root)
                break
        # Pelican logs "Could not process X" from inside its except block with the
        # cause hidden; the exception being handled is still in sys.exc_info().
        exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        improved = _improve(str(record.msg), args, exc)
        if improved is not None:
            return Problem(path, *improved)
        if exc is not None and str(exc) not in message:
            message = f"{type(exc).__name__}: {exc}" if path != "(site)" else f"{message}: {exc}"
        return Problem(path=path, message=message)


def _template_frame(exc: BaseException) -> tuple[str, int | None]:
    """Find the template (and its line) a rendering error came from; Jinja puts it in the traceback."""
    path, line = "(site)", None
    traceback = exc.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".j2", ".jinja")):
            path, line = filename, traceback.tb_lineno
        traceback = traceback.tb_next
    filename = getattr(exc, "filename", None)  # a TemplateSyntaxError says where itself
    if filename and getattr(exc, "lineno", None):
        path, line = filename, exc.lineno
    if path != "(site)":
        try:
            path = str(Path(path).resolve().relative_to(ROOT))
        except ValueError:
            pass
    return path, line


def _improve(template: str, args: tuple, exc: BaseException | None) -> tuple[str, str] | None:
    """Say what one of Pelican's terse messages means, and how to fix it."""
    if template == "Could not process %s" and isinstance(exc, UnicodeDecodeError):
        return (f"not UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} cannot be decoded",
                "re-save the file as UTF-8 in your editor")
    if template == "Could not process %s" and exc is not None and "is not a valid date" in str(exc):
        return (f"malformed date: {exc}", "write it as 'Date: YYYY-MM-DD HH:MM', e.g. 2007-01-11 09:00")
    if template.startswith("Skipping %s: could not find information about") and len(args) > 1:
        prop = str(args[1])
        return (f"missing {prop}", f"add a line '{prop.capitalize()}: ...' at the top of the file")
    if template.startswith("Unknown status") and len(args) > 2:
        return (f"invalid Status '{args[0]}'", f"use one of: {', '.join(args[2])}")
    if template.startswith("Unable to find") and args:
        return (f"a link points to '{args[0]}', which is not in the content folder", _LINK_HINT)
    if template.startswith("Replacement Indicator") and args:
        return (f"unknown link prefix '{{{args[0]}}}' in '{args[1]}'",
                "use {filename}, {static}, {attach}, {index}, {tag}, {category} or {author}")
    if template.startswith("Cannot get modification stamp") and args:
        return (f"a linked file does not exist: {args[0]}", _LINK_HINT)
    if template.startswith("Empty alt attribute") and args:
        return (f"image {args[0]} has an empty alt text", "describe the image in its alt text: ![what it shows](...)")
    return None


def _reset_pelican_log_dedup() -> None:
    # Pelican's LimitFilter remembers messages across runs in one process, which
    # would hide a repeated problem from the second build of a livereload session.
    from pelican.log import LimitFilter

    LimitFilter._raised_messages.clear()
    LimitFilter._group_count.clear()


def _disconnect_plugins() -> None:
    """Disconnect every receiver from Pelican's signals before a run.

    Signals live as long as the process, and Pelican connects each configured
    plugin again on every run: without this, a plugin of an earlier build in
    the same process (livereload, tests) would still run in the next one,
    even when that build's settings do not name it.
    """
    import weakref

    from blinker import NamedSignal
    from pelican.plugins import signals

    for signal in vars(signals).values():
        if isinstance(signal, NamedSignal):
            for ref in list(signal.receivers.values()):
                receiver = ref() if isinstance(ref, weakref.ref) else ref
                if receiver is not None:
                    signal.disconnect(receiver)


# Settings that say where a run writes, not what it makes.
_UNFINGERPRINTED = {"OUTPUT_PATH", "CACHE_PATH", "DELETE_OUTPUT_DIRECTORY", "OUTPUT_RETENTION"}


def settings_fingerprint(settings: dict) -> str:
    """Return a short hash of everything in the settings that can change what is built."""
    import hashlib
    import json

    def stable(value):
        # Functions and classes by name: their repr holds a memory address.
        name = getattr(value, "__qualname__", None)
        return f"{getattr(value, '__module__', '')}.{name}" if name else type(value).__name__

    data = {key: value for key, value in settings.items() if key not in _UNFINGERPRINTED}
    text = json.dumps(data, sort_keys=True, default=stable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_settings(settings_file: str | Path = ROOT / "pelicanconf.py", overrides: dict | None = None) -> dict:
    """Read Pelican settings from a file, with overrides applied."""
    from pelican.settings import read_settings

    return read_settings(str(settings_file), override=overrides or {})


# Deleting the replaced site takes a moment on a big blog (a few thousand files
# and folders); it runs in a thread while the author looks at the new site.
_deletions: list[threading.Thread] = []


def _finish_deletions() -> None:
    """Wait until the sites replaced by earlier builds are deleted."""
    while _deletions:
        _deletions.pop().join()


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder `new` at `target`, replacing what was there in two renames."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    try:
        new.rename(target)
    except BaseException:  # never leave the author with no site at all
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    if old.exists():
        # Not a daemon: the interpreter waits for it at exit, so nothing is left behind.
        thread = threading.Thread(target=shutil.rmtree, args=(old,), kwargs={"ignore_errors": True},
                                  name="delete-old-site")
        thread.start()
        _deletions.append(thread)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_leftovers(folder: Path, prefix: str, legacy_age: float = 3600.0) -> list[Path]:
    """Delete folder/<prefix><pid>-* folders whose process is gone (a build or publish that was killed).

    Names without a pid (written before names carried one) go once they are
    older than legacy_age seconds. Returns what was deleted.
    """
    swept = []
    try:
        candidates = [path for path in Path(folder).iterdir() if path.name.startswith(prefix) and path.is_dir()]
    except OSError:
        return swept
    for path in candidates:
        owner = path.name[len(prefix):].split("-", 1)[0]
        if owner.isdigit():
            if int(owner) == os.getpid() or _alive(int(owner)):
                continue
        else:
            try:
                if time.time() - path.stat().st_mtime < legacy_age:
                    continue
            except OSError:
                continue
        shutil.rmtree(path, ignore_errors=True)
        swept.append(path)
    return swept


def build(
    settings_file: str | Path = ROOT / "pelicanconf.py",
    output: str | Path | None = None,
    overrides: dict | None = None,
    changed: list[Path] | None = None,
) -> BuildResult:
    """Build the site into a fresh folder and swap it in only if nothing went wrong.

    `changed`: the source files saved since the last build in this process, when
    the caller knows them (the preview server does); None means unknown.
    """
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.disable()
    try:
        return _build(settings_file, output, overrides, changed, enabled)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if enabled:
            gc.enable()


def _build(settings_file, output, overrides, changed, collect: bool) -> BuildResult:
    from pelican import Pelican

    started = time.perf_counter()
    _finish_deletions()
    settings = load_settings(settings_file, overrides)
    # Pelican imported, settings read: before a hot path renders, the plugins load or anything forks.
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
    if collect:
        gc.enable()
    target = Path(output or settings["OUTPUT_PATH"]).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Pelican's content cache is not invalidated when settings change (a new
    # Markdown extension would leave old posts rendered the old way), so each
    # set of settings gets a cache of its own.
    settings["CACHE_PATH"] = str(Path(settings["CACHE_PATH"]) / settings_fingerprint(settings))
    if changed and target.is_dir():
        # One post's body edited in a running preview: plugins/fastbuild may update only
        # the pages that show it; anything else it declines, and the full build runs.
        if runhooks.try_hot_path(settings, target, changed) is not None:
            return BuildResult(output=target, seconds=time.perf_counter() - started)
    # What a killed build left beside the output (its staging folder, a replaced site
    # it had no time to delete) goes now; the pid in the name tells a live build's apart.
    sweep_leftovers(target.parent, f".{target.name}.building-")
    sweep_leftovers(target.parent, f".{target.name}.old-")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-{os.getpid()}-", dir=target.parent))
    settings["OUTPUT_PATH"] = str(staging)
    # The staging folder starts empty, so there is nothing stale to delete.
    settings["DELETE_OUTPUT_DIRECTORY"] = False

    run = runhooks.begin(target, staging, settings)
    ok = False
    collector = _Collector(Path(settings["PATH"]))
    root_logger = logging.getLogger()
    _reset_pelican_log_dedup()
    _disconnect_plugins()
    root_logger.addHandler(collector)
    try:
        try:
            Pelican(settings).run()
        except Exception as exc:  # the run itself broke: report it like any problem
            collector.crashed(exc)
        problems = collector.problems()
        if problems:
            raise BuildError(problems, collector.notices)
        runhooks.fire_before_swap(run)
        replace_dir(staging, target)
        ok = True
        runhooks.fire_after_swap(run)
    finally:
        runhooks.end(run, ok)
        root_logger.removeHandler(collector)
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(output=target, seconds=time.perf_counter() - started, notices=collector.notices)
