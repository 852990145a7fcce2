"""The build's one vocabulary for what is wrong: Problem, BuildError, and report().

A foundation module: it imports nothing of blogkit or plugins/, so every floor
(plugins that Pelican calls, blogkit's tools, tasks.py) can use it.

A plugin reports a problem with report(), and a note that stops nothing with
notice() (shown once as "note: ..." whatever the logger's level); blogkit.build
collects every record that carries one, and a run with problems fails listing
them all, file by file:

    from blogkit.problems import report
    report("content/posts/x.md", "unknown label slug", "rename the label", line=4)

A signal handler never lets a bare exception out for a problem in the sources:
it reports and goes on, so the author sees every problem of the run at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("blogkit.problems")

SITE = "(site)"  # the path of a problem that belongs to no one file


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


def source_name(path, content_root) -> str:
    """Name a source file as problems do, from the repository root: content/posts/x.md."""
    content_root = Path(content_root)
    full = content_root / path
    try:
        return str(full.resolve().relative_to(content_root.parent))
    except ValueError:
        return str(path)


class BuildError(Exception):
    """The build found problems; nothing was written to the output folder."""

    def __init__(self, problems: list[Problem], notices: list[str] | None = None):
        self.problems = problems
        self.notices = notices or []
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"build failed with {len(problems)} problem(s):\n{lines}")


def report(path, message: str = "", hint: str = "", line: int | None = None, *,
           covers=(), log: logging.Logger | None = None) -> Problem:
    """Report one problem of the run (a Problem, or its parts); return it.

    `covers` names texts of Pelican's own messages that only restate this
    problem (the file it then skipped), so the author reads it once.
    """
    problem = path if isinstance(path, Problem) else Problem(str(path), message, hint, line)
    (log or logger).error("%s", problem, extra={"problem": problem, "covers": list(covers)})
    return problem


def notice(text: str, log: logging.Logger | None = None) -> None:
    """Tell the author something that does not stop the build (printed once as 'note: ...')."""
    log = log or logger
    # Handed straight to the handlers: log.info() would be dropped by a logger left at
    # NOTSET, which takes the root's WARNING. blogkit.build's collector keeps each text once.
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "%s", (text,), None,
                              extra={"notice": text}))
