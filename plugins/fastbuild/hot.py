"""The preview server's hot path (placeholder until it lands)."""

from __future__ import annotations

stats = {"taken": False}


def keep(run) -> None:
    """Keep what the hot path needs of the build that just went live."""


def forget_unless_kept() -> None:
    """Nothing kept yet."""


def update(settings, target, changed):
    """Always a full build for now."""
    return None
