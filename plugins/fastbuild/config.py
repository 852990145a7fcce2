"""FASTBUILD's settings and what the last build did: below hot.py and the package, so neither imports the other."""

from __future__ import annotations

import os

from blogkit.plugin_settings import with_defaults

DEFAULTS = {"enabled": True, "workers": None, "min_sources": 40, "incremental": True, "hot": True}
# What the last build did, for tests and the benchmark (see stats()).
_last = {"fast": False}


def options(settings: dict) -> dict:
    """FASTBUILD with defaults applied; a bad value is reported, not crashed on."""
    merged = with_defaults(settings, "FASTBUILD", DEFAULTS)
    if merged["workers"] is None:
        merged["workers"] = os.cpu_count() or 1
    return merged
