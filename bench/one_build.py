"""One cold build of the bench corpus with one speed component switched off: a whole process to time.

    uv run python bench/one_build.py 1000 full         # every component on
    uv run python bench/one_build.py 1000 no-pool      # no worker-pool parse (Markdown in the main process)
    uv run python bench/one_build.py 1000 no-fork      # no pool and no forked rendering (one process)
    uv run python bench/one_build.py 1000 no-sitewide  # the sidebar rendered on every page
    uv run python bench/one_build.py 1000 no-memo      # no render memo (incremental off)
    uv run python bench/one_build.py 1000 no-filters   # no memoised groupby/sort and URLs (fastbuild/render.py)
    uv run python bench/one_build.py 1000 serial       # FASTBUILD off: Pelican's serial path

Time it from outside, in turn with another component (A B A B ...), e.g. with
`/usr/bin/time -v` or a harness that alternates two commands; compare ratios.
Output and cache go to a fresh temporary folder, deleted at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
# Pelican's plugin loader puts the current folder first on sys.path: run from another checkout,
# the build would import that checkout's plugins beside this one's blogkit.
os.chdir(ROOT)

import corpus  # noqa: E402

OPTIONS = {
    "full": {},
    "no-pool": {"min_sources": 10**9},
    "no-fork": {"workers": 1},
    "no-memo": {"incremental": False},
    "no-sitewide": {},
    "no-filters": {},
    "serial": {"enabled": False},
}


def main() -> None:
    size, component = int(sys.argv[1]), sys.argv[2]
    content = corpus.CORPORA / f"posts-{size}"
    if not content.exists():
        corpus.generate(size)
    # Pelican is first imported inside build(), as in `invoke build` and bench/build_speed.py's runs
    # (build() sets the collector's thresholds for its start-up).
    from blogkit.build import build

    if component in ("no-sitewide", "no-filters"):
        # The modules the build imports (plugins.fastbuild.*, one import name), not copies under another name.
        from plugins.fastbuild import render, sitewide

        if component == "no-sitewide":
            sitewide.enable_cache = lambda environment: None
        else:
            render.install = lambda environment: None
            render.start_url_memo = lambda: None
    work = Path(tempfile.mkdtemp(prefix="one-build-"))
    try:
        build(ROOT / "pelicanconf.py", work / "output",
              {"PATH": str(content), "CACHE_PATH": str(work / "cache"), "FASTBUILD": OPTIONS[component]})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from plugins import fastbuild

    print(f"one_build {size} {component}: {json.dumps(fastbuild.stats())}")  # which components really ran


if __name__ == "__main__":
    main()
