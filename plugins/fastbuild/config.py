"""FASTBUILD's settings and what the last build did: below hot.py and the package, so neither imports the other."""

from __future__ import annotations

import os

from blogkit.plugin_settings import one_of, whole_number, with_defaults

DEFAULTS = {"enabled": True, "workers": None, "min_sources": 40, "incremental": True, "hot": True}
CHECKS = {
    "enabled": (one_of(True, False), "True or False"),
    "workers": (lambda value: value is None or whole_number(1)(value), "None (one per CPU) or a whole number >= 1"),
    "min_sources": (whole_number(0), "a whole number >= 0"),
    "incremental": (one_of(True, False), "True or False"),
    "hot": (one_of(True, False), "True or False"),
}
# What the last build did, for tests and the benchmark (see stats()).
_last = {"fast": False}


def options(settings: dict) -> dict:
    """FASTBUILD with defaults applied; an unknown key or bad value is reported (the build fails naming it)."""
    merged = with_defaults(settings, "FASTBUILD", DEFAULTS, CHECKS)
    if merged["workers"] is None:
        merged["workers"] = os.cpu_count() or 1
    return merged
