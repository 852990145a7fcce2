"""Print where one cold build runs on one core and where on two: the phases and what the build process does in each.

    uv run python bench/timeline.py                 # 1,000 posts, every component on
    uv run python bench/timeline.py 1000 no-fork    # a component of bench/one_build.py switched off
    uv run python bench/timeline.py 1000 full --receivers 0.01   # list each signal receiver over 10 ms of CPU

Prints figures, asserts nothing. The build runs as `bench/one_build.py SIZE
COMPONENT` in a child process (interpreter start-up, imports and the exit
included); this process samples the CPU time of that process and of all its
descendants (the read pool, the forked renderers, Pagefind) every 20 ms from
/proc, so the sampling costs the build nothing. The build process writes
phase marks (Pelican's signals, each generator's generate_context and
generate_output, blogkit.build's before-swap, swap, after-swap and end) with
its main thread's CPU time; the receivers of each signal are timed one by
one.

"one core" is a sampled interval in which no descendant used more than a
fifth of a core: the build process alone works (the critical path's serial
part). On a loaded machine the walls stretch, but "build process CPU while
alone" does not: it is what the build costs in seconds on one core at best,
whatever else runs, and the figure to cut. "The cores kept busy" is the
build's CPU over the cores times its wall: near 100 %, the build is bound by
its CPU, and no change to the order of its steps makes it shorter than that
CPU divided by the cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TICK = os.sysconf("SC_CLK_TCK")
INTERVAL = 0.02
# As bench/build_speed.py runs a build: our own modules' bytecode cached (with PYTHONDONTWRITEBYTECODE
# every run compiles blogkit/ and plugins/ again, about 0.15 CPU-s of start-up).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# Our steps inside the signals that get a mark of their own (module.function, patched where it is looked up).
STEPS = ("plugins.fastbuild.read.start", "plugins.fastbuild.memo.plan", "plugins.fastbuild.write.render_parallel", "plugins.fastbuild.hot.keep",
         "plugins.fastbuild.memo.commit")


def _cpu(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def sample(proc: subprocess.Popen) -> list[tuple[float, float, float]]:
    """(time, build process CPU, descendants' CPU) every INTERVAL until the process ends."""
    rows = []
    seen: dict[int, float] = {}  # descendant -> its last CPU reading (a finished one keeps its total)
    while proc.poll() is None:
        now = time.time()
        for pid in _descendants(proc.pid):
            seen[pid] = max(seen.get(pid, 0.0), _cpu(pid))
        rows.append((now, _cpu(proc.pid), sum(seen.values())))
        time.sleep(INTERVAL)
    return rows


def inner(marks_path: str, size: str, component: str) -> None:
    """In the build process: write phase marks, then run bench/one_build.py."""
    out = open(marks_path, "w", buffering=1)

    def mark(label: str, cpu: float | None = None) -> None:
        out.write(json.dumps([time.time(), time.thread_time() if cpu is None else cpu, label]) + "\n")

    mark("python started")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import pelican
    import pelican.generators as generators
    from blinker import NamedSignal
    from pelican.plugins import signals

    from blogkit import runhooks

    mark("pelican imported")

    def timed_send(signal):
        def send(sender=None, **kwargs):
            mark(f"signal {signal.name}")
            results = []
            for receiver in signal.receivers_for(sender):
                before = time.thread_time()
                results.append((receiver, receiver(sender, **kwargs)))
                spent = time.thread_time() - before
                name = f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', receiver)}"
                out.write(json.dumps(["receiver", signal.name, name, spent]) + "\n")
            return results
        return send

    per_item = {"content_written", "content_object_init", "feed_written", "article_generator_write_article",
                "article_generator_preread", "page_generator_preread", "article_generator_context",
                "page_generator_context", "page_generator_write_page", "static_generator_context",
                "static_generator_preread", "feed_generated"}
    for signal in vars(signals).values():
        if isinstance(signal, NamedSignal) and signal.name not in per_item:
            signal.send = timed_send(signal)
    for cls in (generators.ArticlesGenerator, generators.PagesGenerator, generators.StaticGenerator,
                generators.TemplatePagesGenerator, generators.SourceFileGenerator):
        for name in ("generate_context", "generate_output"):
            if name in cls.__dict__:
                def wrapped(self, *args, _orig=cls.__dict__[name], _label=f"{cls.__name__}.{name}", **kwargs):
                    mark(_label + " begins")
                    try:
                        return _orig(self, *args, **kwargs)
                    finally:
                        mark(_label + " ends")
                setattr(cls, name, wrapped)
    for name, label in (("fire_before_swap", "before swap"), ("fire_after_swap", "after swap"), ("end", "run end")):
        def hooked(*args, _orig=getattr(runhooks, name), _label=label, **kwargs):
            mark(_label)
            return _orig(*args, **kwargs)
        setattr(runhooks, name, hooked)
    import blogkit.build

    replace = blogkit.build.replace_dir

    def replace_dir(*args, **kwargs):
        mark("swap")
        return replace(*args, **kwargs)

    blogkit.build.replace_dir = replace_dir
    # Steps inside the signals worth a mark of their own, patched once the build imports their module
    # (imported here first, plugins.fastbuild would not start its read pool as the build imports it).
    from one_build import after_import

    for where in STEPS:
        module_name, name = where.rsplit(".", 1)

        def patch(module, _name=name, _label=where.replace("plugins.", "")):
            if callable(getattr(module, _name, None)):
                def step(*args, _orig=getattr(module, _name), **kwargs):
                    mark(_label + " begins")
                    try:
                        return _orig(*args, **kwargs)
                    finally:
                        mark(_label + " ends")
                setattr(module, _name, step)

        after_import(module_name, patch)
    build = blogkit.build.build

    def timed_build(*args, **kwargs):
        try:
            return build(*args, **kwargs)
        finally:
            mark("build() returned (then the bench deletes its folder)")

    blogkit.build.build = timed_build
    run = pelican.Pelican.run

    def pelican_run(self):
        mark("Pelican.run begins")
        return run(self)

    pelican.Pelican.run = pelican_run
    sys.argv = ["one_build.py", size, component]
    import runpy

    runpy.run_path(str(HERE / "one_build.py"), run_name="__main__")
    mark("main returned")
    import atexit

    atexit.register(lambda: mark("atexit (then the interpreter frees its heap)"))


def report(rows, marks, receivers, started: float, ended: float, threshold: float) -> None:
    """Print the totals, the phases and the costly receivers."""
    if not rows:
        print("no samples: the build ended at once")
        return
    alone = both = 0.0
    alone_cpu = 0.0
    spans = []  # (t0, t1, parent cpu delta, children cpu delta)
    for (t0, p0, c0), (t1, p1, c1) in zip(rows, rows[1:]):
        spans.append((t0, t1, p1 - p0, c1 - c0))
    for t0, t1, parent, children in spans:
        if children <= 0.2 * (t1 - t0):
            alone += t1 - t0
            alone_cpu += parent
        else:
            both += t1 - t0
    parent_total, children_total = rows[-1][1], rows[-1][2]
    print(f"one cold build ({' '.join(sys.argv[1:3]) or '1000 full'}): wall {ended - started:.2f} s, "
          f"CPU {parent_total + children_total:.2f} s (build process {parent_total:.2f}, its children {children_total:.2f})")
    print(f"  build process alone (no child working): {alone:.2f} s wall, {alone_cpu:.2f} CPU-s in it")
    print(f"  children working too:                   {both:.2f} s wall")
    # CPU-bound or waiting: the share of the cores the build kept busy, and the wall it would take at full use.
    cores, total = os.cpu_count() or 1, parent_total + children_total
    print(f"  the cores kept busy: {total / (cores * (ended - started)):.0%} of {cores} x {ended - started:.2f} s;"
          f" at full use this CPU would take {total / cores:.2f} s")
    print()
    print(f"{'phase (from its mark to the next)':58} {'at s':>6} {'wall s':>7} {'alone s':>7} {'proc CPU':>8} {'kids CPU':>8}")
    bounds = [(started, "process started")] + [(t, label) for t, _, label in marks] + [(ended, "process ended")]
    for (t0, label), (t1, _next) in zip(bounds, bounds[1:]):
        if t1 - t0 < 0.05:
            continue
        inside = [s for s in spans if t0 <= (s[0] + s[1]) / 2 < t1]
        lone = sum(s[1] - s[0] for s in inside if s[3] <= 0.2 * (s[1] - s[0]))
        print(f"{label[:58]:58} {t0 - started:6.2f} {t1 - t0:7.2f} {lone:7.2f} "
              f"{sum(s[2] for s in inside):8.2f} {sum(s[3] for s in inside):8.2f}")
    costly = sorted((r for r in receivers if r[3] >= threshold), key=lambda r: -r[3])
    if costly:
        print()
        print(f"signal receivers over {threshold * 1000:.0f} ms of the main thread's CPU (they run in the build process):")
        for _, signal, name, spent in costly:
            print(f"  {spent:6.3f} s  {signal:28} {name}")


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--inner":
        inner(*args[1:4])
        return
    threshold = 0.02
    if "--receivers" in args:
        at = args.index("--receivers")
        threshold = float(args[at + 1])
        del args[at:at + 2]
    size, component = (args + ["1000", "full"][len(args):])[:2]
    sys.argv[1:3] = [size, component]
    with tempfile.NamedTemporaryFile("r", suffix=".marks") as marks_file:
        started = time.time()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--inner", marks_file.name, size, component],
                                cwd=ROOT, stdout=subprocess.PIPE, env=CHILD_ENV)
        rows = sample(proc)
        ended = time.time()
        output = proc.stdout.read().decode()
        lines = [json.loads(line) for line in open(marks_file.name) if line.strip()]
    if proc.returncode:
        sys.exit(f"the build exited with {proc.returncode}:\n{output}")
    marks = [line for line in lines if line[0] != "receiver"]
    receivers = [line for line in lines if line[0] == "receiver"]
    print(output.strip().splitlines()[-1] if output.strip() else "")
    report(rows, marks, receivers, started, ended, threshold)


if __name__ == "__main__":
    main()
