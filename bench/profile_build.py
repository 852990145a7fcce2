"""Profile one cold build of the bench corpus by component: where our build's time goes.

    uv run python bench/profile_build.py            # 1,000 posts
    uv run python bench/profile_build.py 5000 --json

Prints figures, asserts nothing. One cold build (fresh output and cache) of
pelicanconf.py on the corpus, in this process with FASTBUILD's `workers: 1`
so that every step runs here and is counted (the forked rendering of a
normal build would hide the pages' cost in child processes); the worker-pool
parse is off with it, so Markdown and Pygments count under "read". Each step's
time is its own (exclusive: a step running inside another, e.g. a
content_written receiver inside the writer, is counted once, for itself):

- every receiver of every Pelican signal, by plugin (plugins.strict,
  plugins.csp, plugins.search, ...);
- each generator's generate_context ("read ...": Pelican reading the sources,
  Markdown, Pygments) and generate_output ("write ...": e.g. the redirect stubs);
- the writer: pages (Jinja templates) and feeds;
- csp's policy for each page as it is rendered, and the sitewide parts.

"cpu s" is this process's CPU time in the step plus its children's (Pagefind
is a child process). "(rest)" is what no step above covers (Pelican's own
glue, settings, the swap). Peak memory: ru_maxrss of this process and of its
largest child.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

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


def install() -> None:
    """Wrap signal receivers, generators, the writer, csp's per-page policy and sitewide parts."""
    from blinker import Signal
    from pelican import generators

    import plugins.csp as csp
    from plugins.fastbuild import sitewide, write

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
    args = parser.parse_args()
    content = corpus.CORPORA / f"posts-{args.size}"
    if not content.exists():
        corpus.generate(args.size)
    for plugin in ("plugins.strict", "plugins.blogger_redirects", "plugins.search"):
        __import__(plugin)  # imported before install(), so their generator classes are wrapped too
    install()
    from blogkit.build import build, load_settings

    search = {**load_settings(ROOT / "pelicanconf.py").get("SEARCH", {})}
    work = Path(tempfile.mkdtemp(prefix="profile-build-"))
    try:
        started, cpu = time.perf_counter(), _cpu()
        _timed("(build)", build, ROOT / "pelicanconf.py", work / "output",
               {"PATH": str(content), "CACHE_PATH": str(work / "cache"), "FASTBUILD": {"workers": 1}, "SEARCH": search})
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args.size, wall, cpu, args.json)


def report(size: int, wall: float, cpu: float, as_json: bool = False) -> None:
    rows = {label: values for label, values in _totals.items() if label != "(build)"}
    rows["(rest)"] = list(_totals["(build)"])
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"profile, {size} posts, one cold build in one process (FASTBUILD workers: 1): "
          f"{wall:.2f} s wall, {cpu:.2f} s cpu; peak memory (ru_maxrss) {me:.0f} MiB, largest child {kids:.0f} MiB")
    print("| step | wall s | cpu s | share | calls |")
    print("|---|---:|---:|---:|---:|")
    for label, (step_wall, step_cpu, calls) in sorted(rows.items(), key=lambda item: -item[1][1]):
        if step_wall >= 0.005 or step_cpu >= 0.005:
            print(f"| {label} | {step_wall:.2f} | {step_cpu:.2f} | {100 * step_cpu / cpu:.0f} % | {calls} |")
    if as_json:
        print(json.dumps({"size": size, "wall": wall, "cpu": cpu, "rss_mib": me, "child_rss_mib": kids,
                          "steps": rows}))


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
