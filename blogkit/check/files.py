"""The built site's files as the gate's checks read them: by path relative to the output folder."""

from __future__ import annotations

from pathlib import Path


def rel(path: Path, root: Path) -> str:
    """A file's path under the output folder, as problems name it (posts/x.html)."""
    return path.relative_to(root).as_posix()


def files(root: Path, *suffixes: str) -> list[Path]:
    """Every file under root (with one of these suffixes, if given), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and (not suffixes or p.suffix.lower() in suffixes))
