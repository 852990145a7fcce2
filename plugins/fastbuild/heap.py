"""Python's garbage collector during a build: run less often, and not over the posts once they are read.

A cold build allocates millions of container objects (content objects,
metadata, Jinja's contexts). CPython collects its youngest generation every
700 of them and the whole heap whenever the long-lived objects have grown by
a quarter, so its full collections walk every post already read, again and
again, more often and longer as the blog grows (in the build process: 0.33
CPU-s at 1,000 posts, 2.75 at 5,000). During a build, here: the generations
are collected less often (THRESHOLDS), and once every source is read the
heap is frozen (`gc.freeze()`: what exists then, the site's posts, which live
until the build ends anyway, is left out of every later collection). At the
end of the build both are undone, so a long-running preview process collects
whatever the build left, as before.
"""

from __future__ import annotations

import gc

# Young objects collected every 20,000 allocations (not 700), the middle and old generations
# after 20 collections of the one below (not 10).
THRESHOLDS = (20_000, 20, 20)

_saved: dict = {}


def begin() -> None:
    """Collect less often for the rest of this build."""
    if "thresholds" not in _saved:
        _saved["thresholds"] = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)


def freeze() -> None:
    """Leave everything alive now (every post has been read) out of the collections of this build."""
    if "thresholds" in _saved and not _saved.get("frozen"):
        gc.freeze()
        _saved["frozen"] = True


def end(*_args) -> None:
    """Undo begin() and freeze(): the process collects as before."""
    if _saved.pop("frozen", False):
        gc.unfreeze()
    thresholds = _saved.pop("thresholds", None)
    if thresholds is not None:
        gc.set_threshold(*thresholds)


def frozen() -> bool:
    """Whether this build froze the heap (write.py then leaves it frozen after its forks)."""
    return bool(_saved.get("frozen"))
