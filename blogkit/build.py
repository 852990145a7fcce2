"""Run Pelican strictly and atomically.

Pelican logs a bad post, skips it and exits 0. Here every warning or error
logged during a run becomes a Problem, the run fails when there is any, and
the new site replaces the output folder only when the run was clean, so a
failed or interrupted build never leaves a half-written site behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the site's sources, said so an author can fix it."""

    path: str
    message: str
    hint: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        text = f"{where}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class BuildError(Exception):
    """The build found problems; nothing was written to the output folder."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"build failed with {len(problems)} problem(s):\n{lines}")


@dataclass
class BuildResult:
    """What a successful build wrote and how long it took."""

    output: Path
    seconds: float
    notices: list[str] = field(default_factory=list)


class _Collector(logging.Handler):
    """Turn every warning or error logged during a run into a Problem."""

    def __init__(self, content_root: Path):
        super().__init__(level=logging.WARNING)
        self.content_root = content_root
        self.problems: list[Problem] = []

    def emit(self, record: logging.LogRecord) -> None:
        problem = getattr(record, "problem", None)
        if problem is None:
            problem = self._from_record(record)
        if problem not in self.problems:
            self.problems.append(problem)

    def _from_record(self, record: logging.LogRecord) -> Problem:
        message = record.getMessage()
        path = "(site)"
        for arg in record.args if isinstance(record.args, tuple) else ():
            if isinstance(arg, (str, os.PathLike)) and str(arg).endswith((".md", ".html", ".rst", ".txt")):
                path = _relative(arg, self.content_root)
                break
        # Pelican logs "Could not process X" from inside its except block with the
        # cause hidden; the exception being handled is still in sys.exc_info().
        exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if exc is not None and str(exc) not in message:
            message = f"{type(exc).__name__}: {exc}" if path != "(site)" else f"{message}: {exc}"
        return Problem(path=path, message=message)


def _relative(path, content_root: Path) -> str:
    """Name a source file from the repository root, e.g. content/posts/x.md."""
    full = content_root / path
    try:
        return str(full.resolve().relative_to(content_root.parent))
    except ValueError:
        return str(path)


def _reset_pelican_log_dedup() -> None:
    # Pelican's LimitFilter remembers messages across runs in one process, which
    # would hide a repeated problem from the second build of a livereload session.
    from pelican.log import LimitFilter

    LimitFilter._raised_messages.clear()
    LimitFilter._group_count.clear()


def load_settings(settings_file: str | Path = ROOT / "pelicanconf.py", overrides: dict | None = None) -> dict:
    """Read Pelican settings from a file, with overrides applied."""
    from pelican.settings import read_settings

    return read_settings(str(settings_file), override=overrides or {})


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder `new` at `target`, replacing what was there in two renames."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def build(
    settings_file: str | Path = ROOT / "pelicanconf.py",
    output: str | Path | None = None,
    overrides: dict | None = None,
) -> BuildResult:
    """Build the site into a fresh folder and swap it in only if nothing went wrong."""
    from pelican import Pelican

    started = time.perf_counter()
    settings = load_settings(settings_file, overrides)
    target = Path(output or settings["OUTPUT_PATH"]).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    settings["OUTPUT_PATH"] = str(staging)
    # The staging folder starts empty, so there is nothing stale to delete.
    settings["DELETE_OUTPUT_DIRECTORY"] = False

    collector = _Collector(Path(settings["PATH"]))
    root_logger = logging.getLogger()
    _reset_pelican_log_dedup()
    root_logger.addHandler(collector)
    try:
        try:
            Pelican(settings).run()
        except Exception as exc:  # the run itself broke: report it like any problem
            collector.problems.append(Problem("(site)", f"{type(exc).__name__}: {exc}"))
        if collector.problems:
            raise BuildError(collector.problems)
        replace_dir(staging, target)
    finally:
        root_logger.removeHandler(collector)
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(output=target, seconds=time.perf_counter() - started)
