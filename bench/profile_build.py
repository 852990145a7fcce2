"""Profile one cold build of the bench corpus by component: where our build's time goes.

    uv run python bench/profile_build.py            # 1,000 posts
    uv run python bench/profile_build.py 5000 --json
    uv run python bench/profile_build.py --vanilla  # vanilla Pelican (no plugins, default theme), the same steps
    uv run python bench/profile_build.py --sizes 1000 5000 [--vanilla]   # each size in a process of its own,
                                                    # then each step's CPU at the larger size over the smaller

Prints figures, asserts nothing. One cold build (fresh output and cache) of
pelicanconf.py on the corpus, in this process with FASTBUILD's `workers: 1`
so that every step runs here and is counted (the forked rendering of a
normal build would hide the pages' cost in child processes); the worker-pool
parse is off with it, so Markdown and Pygments count under "read". Each step's
time is its own (exclusive: a step running inside another, e.g. a
content_written receiver inside the writer, is counted once, for itself):

- every receiver of every Pelican signal, by plugin (plugins.strict,
  plugins.csp, plugins.search, ...);
- each generator's generate_context ("read ...": what is left of it once the
  reader is counted apart) and generate_output ("write ...": e.g. the redirect
  stubs, Pelican's page loops);
- Pelican's reader per file ("read: Pelican's reader ...": Markdown, Pygments,
  metadata) and its article steps that grow with the square of the posts when
  Pelican's own code runs them (period archives; tag, category, author dates:
  plugins/fastbuild/linear.py makes them linear);
- the writer: pages (Jinja templates) and feeds;
- csp's policy for each page as it is rendered, and the sitewide parts.

Python's garbage collector runs inside the steps: its time is printed on a
line of its own (it is part of each step's figure, not a step).

With --sizes, a ratio near the ratio of the sizes (5x for 1000 -> 5000) is
linear; a step well above it is what makes the build scale worse than linear.

"cpu s" is this process's CPU time in the step plus its children's (Pagefind
is a child process). "(rest)" is what no step above covers (Pelican's own
glue, settings, the swap). Peak memory: ru_maxrss of this process and of its
largest child.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
# Pelican's plugin loader puts the current folder first on sys.path: run from another checkout,
# the build would import that checkout's plugins beside this one's blogkit.
os.chdir(ROOT)

import corpus  # noqa: E402

_totals: dict[str, list[float]] = {}  # label -> [wall, cpu, calls]
_stack: list[list[float]] = []  # per open step: [time of nested steps (wall), (cpu)]


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(label: str, function, *args, **kwargs):
    _stack.append([0.0, 0.0])
    wall, cpu = time.perf_counter(), _cpu()
    try:
        return function(*args, **kwargs)
    finally:
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        nested_wall, nested_cpu = _stack.pop()
        if _stack:
            _stack[-1][0] += wall
            _stack[-1][1] += cpu
        total = _totals.setdefault(label, [0.0, 0.0, 0])
        total[0] += wall - nested_wall
        total[1] += cpu - nested_cpu
        total[2] += 1


def _wrap_method(cls, name: str, label) -> None:
    plain = cls.__dict__[name]

    # functools.wraps: plugins/fastbuild's compatibility check reads the source and signature
    # through it (inspect unwraps), so the wrapped methods still pass it.
    @functools.wraps(plain)
    def wrapper(self, *args, **kwargs):
        return _timed(label(self) if callable(label) else label, plain, self, *args, **kwargs)

    setattr(cls, name, wrapper)


def _component(receiver) -> str:
    module = getattr(receiver, "__module__", None) or "?"
    parts = module.split(".")
    if parts[0] == "plugins" and len(parts) > 1:
        return f"plugins.{parts[1]}"
    if parts[:2] == ["pelican", "plugins"] and len(parts) > 2:
        return f"pelican.plugins.{parts[2]}"
    return module


_gc = {"started": 0.0, "cpu": 0.0, "collections": 0}


def _gc_callback(phase: str, info: dict) -> None:
    if phase == "start":
        _gc["started"] = time.process_time()
    else:
        _gc["cpu"] += time.process_time() - _gc["started"]
        _gc["collections"] += 1


# Pelican's ArticlesGenerator steps timed apart (inside "read"/"write (ArticlesGenerator)").
PELICAN_STEPS = {
    "_build_period_archives": "pelican: period archives (articles per year/month)",
    "generate_feeds": "pelican: feeds loop (ArticlesGenerator)",
    "generate_articles": "pelican: article pages loop",
    "generate_period_archives": "pelican: period archive pages loop",
    "generate_direct_templates": "pelican: direct templates loop",
    "generate_tags": "pelican: tag pages loop (with each tag's dates)",
    "generate_categories": "pelican: category pages loop (with each category's dates)",
    "generate_authors": "pelican: author pages loop (with each author's dates)",
}


def install(vanilla: bool = False) -> None:
    """Wrap signal receivers, generators, the reader, the writer, csp's per-page policy and sitewide parts."""
    from blinker import Signal
    from pelican import generators, readers, writers

    plain_receivers = Signal.receivers_for

    def receivers_for(self, sender):
        for receiver in plain_receivers(self, sender):
            label = f"{_component(receiver)} ({getattr(self, 'name', '?')})"

            def timed(*args, _receiver=receiver, _label=label, **kwargs):
                return _timed(_label, _receiver, *args, **kwargs)

            yield timed

    Signal.receivers_for = receivers_for
    # Pelican's generators and those plugins add (e.g. the Blogger redirect stubs), imported by now.
    todo, seen = [generators.Generator], set()
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls in seen:
            continue
        seen.add(cls)
        name_of = cls.__name__ if cls.__module__.startswith("pelican") else cls.__module__
        for name, verb in (("generate_context", "read"), ("generate_output", "write")):
            if name in cls.__dict__:
                _wrap_method(cls, name, f"{verb} ({name_of})")
    for name, label in PELICAN_STEPS.items():
        _wrap_method(generators.ArticlesGenerator, name, label)
    _wrap_method(readers.Readers, "read_file", "read: Pelican's reader per file (Markdown, Pygments, metadata)")
    gc.callbacks.append(_gc_callback)
    if vanilla:
        _wrap_method(writers.Writer, "write_file", "writer: pages (templates)")
        _wrap_method(writers.Writer, "write_feed", "writer: feeds")
        return

    import plugins.csp as csp
    from plugins.fastbuild import sitewide, write

    plain_render_one = write._render_one

    def render_one(path, template, context):
        label = "writer: feeds" if isinstance(template, write._Feed) else "writer: pages (templates)"
        return _timed(label, plain_render_one, path, template, context)

    write._render_one = render_one
    plain_policy = csp.policy_for_render
    csp.policy_for_render = lambda *args, **kwargs: _timed("plugins.csp (policy per page)", plain_policy, *args, **kwargs)
    _wrap_method(sitewide.SitewideExtension, "_render", "sitewide parts")




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, nargs="?", default=1000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--vanilla", action="store_true", help="profile vanilla Pelican instead of our build")
    parser.add_argument("--imported", action="store_true", help="the corpus shaped like an imported Blogger blog")
    parser.add_argument("--sizes", type=int, nargs="+", help="profile each size in its own process and compare")
    args = parser.parse_args()
    if args.sizes:
        compare(args.sizes, args.vanilla, args.json)
        return
    shape = "imported" if args.imported else "generated"
    content = corpus.folder(args.size, shape)
    if not content.exists():
        corpus.generate(args.size, shape=shape)
    work = Path(tempfile.mkdtemp(prefix="profile-build-", dir=corpus.CORPORA))  # as bench/one_build.py, not in /tmp
    try:
        if args.vanilla:
            install(vanilla=True)
            from pelican import Pelican
            from pelican.settings import read_settings

            (work / "settings.py").write_text(corpus.VANILLA_SETTINGS, encoding="utf-8")
            settings = read_settings(str(work / "settings.py"),
                                     override={"PATH": str(content), "OUTPUT_PATH": str(work / "output")})
            started, cpu = time.perf_counter(), _cpu()
            _timed("(build)", lambda: Pelican(settings).run())
        else:
            for plugin in ("plugins.strict", "plugins.blogger_redirects", "plugins.search"):
                __import__(plugin)  # imported before install(), so their generator classes are wrapped too
            install()
            from blogkit.build import build, load_settings

            search = {**load_settings(ROOT / "pelicanconf.py").get("SEARCH", {})}
            started, cpu = time.perf_counter(), _cpu()
            _timed("(build)", build, ROOT / "pelicanconf.py", work / "output",
                   {"PATH": str(content), "CACHE_PATH": str(work / "cache"), "FASTBUILD": {"workers": 1},
                    "SEARCH": search})
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
    finally:
        corpus.set_aside(work)
    if not args.vanilla:
        from plugins import fastbuild

        if not fastbuild.stats()["fast"]:  # this profile would be of the serial path, not of ours
            print("the fast path was OFF in this build (see its notice): not our build's profile")
    report(args.size, wall, cpu, args.json, "vanilla Pelican" if args.vanilla else "ours")


def compare(sizes: list[int], vanilla: bool, as_json: bool) -> None:
    """Profile each size in a child process; print each profile, then each step's CPU ratio."""
    figures = []
    for size in sizes:
        cmd = [sys.executable, __file__, str(size), "--json", *(["--vanilla"] if vanilla else [])]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()
        figures.append(json.loads(out[-1]))
        print("\n".join(line for line in out[:-1] if not line.startswith(("Done: ", "pages and "))))
        print()
    small, large = figures[0], figures[-1]
    factor = large["size"] / small["size"]
    print(f"scaling by step ({'vanilla Pelican' if vanilla else 'ours'}), cpu s at {large['size']} posts over "
          f"{small['size']} (linear: {factor:.1f}x); 'excess' = cpu at {large['size']} - {factor:.0f} x cpu at {small['size']}:")
    print(f"| step | cpu s {small['size']} | cpu s {large['size']} | ratio | excess s |")
    print("|---|---:|---:|---:|---:|")
    labels = set(small["steps"]) | set(large["steps"])
    rows = []
    for label in labels:
        a = small["steps"].get(label, [0, 0, 0])[1]
        b = large["steps"].get(label, [0, 0, 0])[1]
        rows.append((b - factor * a, label, a, b))
    rows.append((large["cpu"] - factor * small["cpu"], "(whole build)", small["cpu"], large["cpu"]))
    rows.append((large["gc_cpu"] - factor * small["gc_cpu"], "(garbage collector, inside the steps)",
                 small["gc_cpu"], large["gc_cpu"]))
    for excess, label, a, b in sorted(rows, key=lambda row: -abs(row[0])):
        if a >= 0.02 or b >= 0.02:
            ratio = f"{b / a:.1f}x" if a > 0.001 else "-"
            print(f"| {label} | {a:.2f} | {b:.2f} | {ratio} | {excess:+.2f} |")
    print(f"peak memory (ru_maxrss): this process {small['rss_mib']:.0f} -> {large['rss_mib']:.0f} MiB, "
          f"largest child {small['child_rss_mib']:.0f} -> {large['child_rss_mib']:.0f} MiB")
    if as_json:
        print(json.dumps({"profiles": figures}))


def report(size: int, wall: float, cpu: float, as_json: bool = False, what: str = "ours") -> None:
    rows = {label: values for label, values in _totals.items() if label != "(build)"}
    rows["(rest)"] = list(_totals["(build)"])
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    how = "FASTBUILD workers: 1" if what == "ours" else "the pelican command's defaults, no plugins"
    print(f"profile of {what}, {size} posts, one cold build in one process ({how}): "
          f"{wall:.2f} s wall, {cpu:.2f} s cpu; peak memory (ru_maxrss) {me:.0f} MiB, largest child {kids:.0f} MiB")
    print("| step | wall s | cpu s | share | calls |")
    print("|---|---:|---:|---:|---:|")
    for label, (step_wall, step_cpu, calls) in sorted(rows.items(), key=lambda item: -item[1][1]):
        if step_wall >= 0.005 or step_cpu >= 0.005:
            print(f"| {label} | {step_wall:.2f} | {step_cpu:.2f} | {100 * step_cpu / cpu:.0f} % | {calls} |")
    print(f"Python's garbage collector, inside the steps above: {_gc['cpu']:.2f} s cpu in {_gc['collections']} collections")
    if as_json:
        print(json.dumps({"size": size, "what": what, "wall": wall, "cpu": cpu, "rss_mib": me, "child_rss_mib": kids,
                          "gc_cpu": _gc["cpu"], "gc_collections": _gc["collections"], "steps": rows}))


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
