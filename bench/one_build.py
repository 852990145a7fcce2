"""One cold build of the bench corpus with one speed component switched off: a whole process to time.

    uv run python bench/one_build.py 1000 full         # every component on
    uv run python bench/one_build.py 1000 no-pool      # no worker-pool parse (Markdown in the main process)
    uv run python bench/one_build.py 1000 no-fork      # no pool and no forked rendering (one process)
    uv run python bench/one_build.py 1000 no-sitewide  # the sidebar rendered on every page
    uv run python bench/one_build.py 1000 no-memo      # no render memo (incremental off)
    uv run python bench/one_build.py 1000 no-filters   # no memoised groupby/sort and URLs (fastbuild/render.py)
    uv run python bench/one_build.py 1000 serial       # FASTBUILD off: Pelican's serial path
    uv run python bench/one_build.py imported-1000 full   # the corpus shaped like an imported blog

Time it from outside, in turn with another component (A B A B ...), e.g. with
`/usr/bin/time -v` or a harness that alternates two commands; compare ratios.
Output and cache go to a fresh folder beside the corpora (bench/corpora), deleted at the end.
"""

from __future__ import annotations

import json
import os
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


class _AfterImport:
    """A sys.meta_path finder calling patch(module) right after the build imports `name`."""

    def __init__(self, name: str, patch):
        self.name, self.patch = name, patch

    def find_spec(self, name, path, target=None):
        if name != self.name:
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            self.patch(module)

        spec.loader.exec_module = exec_module
        return spec


def after_import(name: str, patch) -> None:
    """Patch a module of the build once the build imports it, without importing it before build().

    plugins.fastbuild starts its read pool when a build imports it (before the other plugins load):
    imported here first, every component's build would start its pool later, at `initialized`.
    """
    if name in sys.modules:
        patch(sys.modules[name])
    else:
        sys.meta_path.insert(0, _AfterImport(name, patch))

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
    # SIZE is a number of posts ("1000"), or "imported-1000" for bench/corpus.py's imported shape.
    shape, _, size = sys.argv[1].rpartition("-")
    shape, size, component = shape or "generated", int(size), sys.argv[2]
    content = corpus.folder(size, shape)
    if not content.exists():
        corpus.generate(size, shape=shape)
    # Pelican is first imported inside build(), as in `invoke build` and bench/build_speed.py's runs
    # (build() sets the collector's thresholds for its start-up).
    from blogkit.build import build

    # The modules the build imports (plugins.fastbuild.*, one import name), not copies under another name.
    if component == "no-sitewide":
        after_import("plugins.fastbuild.sitewide", lambda sitewide: setattr(sitewide, "enable_cache", lambda environment: None))
    elif component == "no-filters":
        def no_filters(render):
            render.install = lambda environment: None
            render.start_url_memo = lambda: None

        after_import("plugins.fastbuild.render", no_filters)
    # Beside the corpora, as bench/build_speed.py builds, not in /tmp: on this machine's disk, creating
    # files in /tmp cost several times as much (the kernel skipping recently deleted inodes).
    work = Path(tempfile.mkdtemp(prefix="one-build-", dir=corpus.CORPORA))
    try:
        build(ROOT / "pelicanconf.py", work / "output",
              {"PATH": str(content), "CACHE_PATH": str(work / "cache"), "FASTBUILD": OPTIONS[component]})
    finally:
        corpus.set_aside(work)
    from plugins import fastbuild

    print(f"one_build {size} {component}: {json.dumps(fastbuild.stats())}")  # which components really ran


if __name__ == "__main__":
    main()
