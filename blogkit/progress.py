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
    """Redraw one line from describe(seconds) while the block runs; erase it after."""
    stream = stream or sys.stderr
    if not wanted(stream):
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def draw():
        while True:  # at once, then every `every` seconds
            try:
                text = describe(time.monotonic() - started)
            except OSError:  # a folder vanished while we counted
                text = ""
            if text:
                stream.write(f"\r\x1b[K{text}")
                stream.flush()
            if done.wait(every):
                return

    thread = threading.Thread(target=draw, name="status-line", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        stream.write("\r\x1b[K")
        stream.flush()


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

    return status(describe, stream)


def check_status(output: Path, stream=None):
    """While the gate runs on a site: how many pages it checks and for how long."""
    pages = sum(1 for _ in Path(output).rglob("*.html")) if Path(output).is_dir() else 0

    def describe(seconds: float) -> str:
        return f"Checking {pages} pages: links, anchors, HTML, drafts, feeds ({seconds:.0f} s)"

    return status(describe, stream)
