"""A live status line for long work when the output is a terminal; nothing in CI, pipes or logs."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from blogkit import runhooks


def wanted(stream=None) -> bool:
    """Whether a status line belongs on `stream`: a terminal, and not in CI."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("CI", "").lower() not in ("true", "1") \
        and os.environ.get("TERM") != "dumb"


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


@contextlib.contextmanager
def status(describe, stream=None, every: float = 0.5):
    """Redraw one line from describe(seconds) while the block runs; erase it after.

    The block gets a function that redraws the line at once (when the work moves on
    to a new stage); on a stream that wants no status line it does nothing.
    """
    stream = stream or sys.stderr
    if not wanted(stream):
        yield lambda: None
        return
    done = threading.Event()
    lock = threading.Lock()  # the line is drawn by the timer and by the work itself
    started = time.monotonic()

    def redraw():
        with lock:
            if done.is_set():
                return
            try:
                text = describe(time.monotonic() - started)
            except OSError:  # a folder vanished while we counted
                text = ""
            if text:
                stream.write(f"\r\x1b[K{text}")
                stream.flush()

    def draw():
        while True:  # at once, then every `every` seconds
            redraw()
            if done.wait(every):
                return

    thread = threading.Thread(target=draw, name="status-line", daemon=True)
    thread.start()
    try:
        yield redraw
    finally:
        with lock:
            done.set()
        thread.join()
        stream.write("\r\x1b[K")
        stream.flush()


class Steps:
    """How far long work has got: its stage and how many of the stage's items are done."""

    def __init__(self):
        self.stage, self.done, self.total, self.unit, self.counted = "", 0, 0, "pages", True
        self.changed = lambda: None  # a status line's redraw, while one shows these steps

    def begin(self, stage: str, total: int, unit: str = "pages", counted: bool = True) -> None:
        """Start a stage of `total` items, stepped through one by one unless not `counted` (shown at once)."""
        self.stage, self.done, self.total, self.unit, self.counted = stage, 0, total, unit, counted
        self.changed()

    def step(self) -> None:
        """One more item of the stage is done."""
        self.done += 1


# The steps of the work in progress in this process: the gate's checks report to them
# whether or not a status line shows them (counting costs nothing).
_steps = Steps()


def steps() -> Steps:
    """The Steps long work reports to; check_status shows them on a terminal."""
    return _steps


@contextlib.contextmanager
def build_status(stream=None):
    """While a build runs in this process: the source files it has and the pages it has written so far."""
    sources: dict[str, int] = {}

    def describe(seconds: float) -> str:
        run = runhooks.current()
        if run is None:  # settings still loading
            return f"Building: starting ({seconds:.0f} s)"
        root = run.settings.get("PATH")
        if root and root not in sources:
            sources[root] = sum(1 for p in Path(root).rglob("*") if p.suffix in (".md", ".html", ".rst"))
        read = f"{sources.get(root, 0)} sources, " if root else ""
        return f"Building: {read}{_count_files(run.staging)} files written ({seconds:.0f} s)"

    with status(describe, stream) as redraw:
        # The line moves on from "starting" as soon as the settings are loaded, not at the next tick:
        # a build shorter than one tick still shows what it is working on.
        def begun(run):
            redraw()

        runhooks.when_begun(begun)
        try:
            yield redraw
        finally:
            runhooks.forget_begun(begun)


@contextlib.contextmanager
def check_status(output: Path, stream=None):
    """While the gate runs on a site: the check it is at, the page it has reached, and for how long."""
    pages = sum(1 for _ in Path(output).rglob("*.html")) if Path(output).is_dir() else 0
    _steps.begin("", 0)

    def describe(seconds: float) -> str:
        if not _steps.stage:
            return f"Checking {pages} pages: links, anchors, HTML, drafts, feeds ({seconds:.0f} s)"
        count = f"{_steps.done} of {_steps.total} {_steps.unit}" if _steps.counted else \
            f"{_steps.total} {_steps.unit}" if _steps.total else ""
        return f"Checking {_steps.stage}{': ' + count if count else ''} ({seconds:.0f} s)"

    with status(describe, stream) as redraw:
        _steps.changed = redraw
        try:
            yield
        finally:
            _steps.changed = lambda: None
