"""Measure the floors of a cold build: the parts no change to our own code can make cheaper.

    uv run python bench/floors.py                 # 1,000 posts; builds the site once for Pagefind and the writes
    uv run python bench/floors.py --site bench/corpora/work/1000/out-ours   # a site built already
    uv run python bench/floors.py 5000 --json

Prints figures, asserts nothing. Each part alone, at the given size, on this
machine (cpu = user + system seconds of this process and the children it
waited for; wall = elapsed):

- Python-Markdown with Pygments (codehilite) on every post of the corpus, with
  the build's own Markdown settings, in one process with one Markdown
  instance reused (what a worker of plugins/fastbuild/read.py does per file);
- the same through read.py's worker pool on every core (start-up, parsing,
  the results sent back, shut-down): the read step's wall floor;
- Pagefind alone on what the build indexes, as plugins/search runs it: its
  service mode, each published post and page sent as its record page (its
  title and body; with --site, each marked page from its <main> on; the
  program's own CLI on whole pages costs over
  twice the CPU; its non-extended binary and fewer threads gave the same
  figures and the same bundle, 2026-12-03);
- the interpreter alone, and the interpreter importing Pelican, blogkit's
  build and every plugin in pelicanconf.py's PLUGINS (the start-up of a build);
- writing the site's files (the same folders, names and bytes) into an empty
  folder;
- the site's pages rendered again once the build is over, every memo warm
  (each URL, date, summary and sitewide part worked out already): what the
  theme's templates and the CSP meta cost for every page, without the work
  the first rendering does on the contents (the second of two such passes,
  in one process; feeds and writing not included). Not a floor of Pelican
  (a plainer theme renders faster) but of this theme;
- Hugo's whole build of the same posts (bench/hugo/), for the target "cold
  build <= 2.5x Hugo".

The last lines add the floors a build must pay one after another (start-up,
the read step in the pool, writing the files, Pagefind) and set the sum
against 2.5x Hugo's build: when the floors alone exceed it, the target
cannot be met by any change to the rest (templates, checks, plugins). The
line after divides the floors' CPU by the cores: the least wall a build could
take were every floor shared perfectly between them; the next adds the warm
rendering of the pages to that CPU. The last is the least any build doing
this work can take on these cores: the start-up (interpreter and imports)
cannot be shared, since until it is over there is nothing for another core
to do but import the same modules again, so it runs alone and the rest of
the CPU (with the warm rendering) is shared perfectly. What it leaves under
2.5x Hugo is all there is for the rest: Pelican's own work on the contents,
the feeds, the checks, the first rendering's work, the one-core steps.

The very last line adds what the rest costs today: bench/profile_build.py's
cold build in one process (a process of its own), every step but those a
floor stands for (FLOORED_STEPS), each at its profiled CPU, shared perfectly
too. It still leaves out the glue a real build pays (the results sent back
from the pool, the fork, the first rendering's work, the one-core steps),
so it is the least a build with every feature on can take unless one of
those steps is made cheaper; Hugo's figure is the median of --hugo-runs
builds, since its time moves by a fifth from one build to the next here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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

MARKER = b"data-pagefind-body"


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(function, *args) -> tuple[float, float]:
    """(cpu s, wall s) of function(*args), its reaped children included."""
    cpu, wall = _cpu(), time.perf_counter()
    function(*args)
    return _cpu() - cpu, time.perf_counter() - wall


def _sources(content: Path) -> list[str]:
    return [str(path) for path in sorted(content.rglob("*.md"))]


def markdown_serial(settings: dict, sources: list[str]) -> None:
    """Every source through one reused Markdown instance, as a read.py worker does."""
    from plugins.fastbuild import read

    read._init_worker(read._markdown_settings(settings), list(settings["FORMATTED_FIELDS"]))
    for path in sources:
        read._parse(path)


def markdown_pool(settings: dict, sources: list[str], workers: int) -> None:
    """Every source through read.py's pool: start it, parse all, take every result back, stop it."""
    from plugins.fastbuild import read

    prefetcher = read.Prefetcher(settings, workers)
    try:
        prefetcher.submit(sources)
        for path in sources:
            if prefetcher.take(path) is None:
                raise SystemExit(f"the read pool could not parse {path}")
    finally:
        prefetcher.close()


def pagefind(site: Path, language: str, records: dict | None = None) -> tuple[int, tuple[float, float]]:
    """Index what the build indexes as plugins/search does: (how many, (cpu, wall)).

    records (the published posts' and pages' titles and bodies, by page): each sent as its record
    page, as the fast path does. Without them (a --site built elsewhere), each marked page's <main> part.
    """
    from plugins import search

    folder = Path(tempfile.mkdtemp(prefix="floors-pagefind-", dir=site.parent))  # as the builds: not in /tmp
    try:
        if records:
            return len(records), _measure(search.index_records, site, records, folder / "bundle", language)
        pages = [str(path.relative_to(site)) for path in sorted(site.rglob("*.html")) if MARKER in path.read_bytes()]
        return len(pages), _measure(search._index_now, site, pages, folder / "bundle", language)
    finally:
        corpus.set_aside(folder)


def write_files(site: Path, bundle_dir: str) -> tuple[int, int, tuple[float, float]]:
    """Write the site's files again (folders, names, bytes) into an empty folder: (files, bytes, (cpu, wall)).

    Not the search bundle: Pagefind writes it, and its time is Pagefind's row.
    """
    files = [(path.relative_to(site), path.read_bytes()) for path in sorted(site.rglob("*"))
             if path.is_file() and path.relative_to(site).parts[0] != bundle_dir]
    target = Path(tempfile.mkdtemp(prefix="floors-write-", dir=site.parent))
    try:
        def write() -> None:
            for rel, data in files:
                path = target / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(data)

        figures = _measure(write)
    finally:
        corpus.set_aside(target)
    return len(files), sum(len(data) for _, data in files), figures


def start_up(runs: int = 3) -> dict[str, tuple[float, float]]:
    """The interpreter alone, and importing what a build imports before it reads anything: median (cpu, wall)."""
    from blogkit.build import load_settings

    plugins = load_settings(ROOT / "pelicanconf.py")["PLUGINS"]
    imports = "import pelican, pelican.generators, pelican.readers, pelican.writers, blogkit.build\n" + "".join(
        f"import {name}\n" for name in plugins)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    found = {}
    for label, code in (("interpreter", "pass"), ("imports", imports)):
        figures = []
        for _ in range(runs + 1):  # the first fills the bytecode and disk caches
            figures.append(_measure(lambda: subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)))
        found[label] = (statistics.median(f[0] for f in figures[1:]), statistics.median(f[1] for f in figures[1:]))
    return found


def hugo(content: Path, size: int, runs: int = 3) -> tuple[float, float] | None:
    import build_speed

    binary = build_speed.hugo_binary()
    if binary is None:
        return None
    site = build_speed.hugo_site(content)
    work = Path(tempfile.mkdtemp(prefix="floors-hugo-", dir=HERE / "corpora"))  # as the table's Hugo builds
    try:
        # Each run into a folder of its own that does not exist yet, as the table's cold builds: into the
        # last run's output, --cleanDestinationDir has Hugo compare and delete what is there (1.5-2x the time).
        commands = [build_speed.hugo_cmd(binary, site, work / f"out-{number}") for number in range(runs + 1)]
        subprocess.run(commands[0], check=True, capture_output=True)  # warm: disk cache
        runs = [_measure(lambda command=command: subprocess.run(command, check=True, capture_output=True))
                for command in commands[1:]]
    finally:
        corpus.set_aside(work)
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


# The profile's steps a floor above already stands for (the reader's Markdown and Pygments: the pool's
# row; the pages' templates, CSP meta and sitewide parts: the warm rendering; Pagefind: its row). Also
# left out: the build's own time outside every step, "(rest)". The steps left are the other features and
# Pelican's own work on the contents, each at what it costs in the build today.
FLOORED_STEPS = (
    "read: Pelican's reader per file (Markdown, Pygments, metadata)",
    "writer: pages (templates)",
    "plugins.csp (policy per page)",
    "sitewide parts",
    "plugins.search (pelican_finalized)",
    "(rest)",
)


def features(size: int, profile: Path | None = None) -> tuple[float, list[tuple[str, float]]]:
    """The other features' CPU in one cold build: (sum, steps).

    From profile (bench/profile_build.py's JSON line, saved by a caller that ran it already),
    else from a run of bench/profile_build.py in a process of its own.
    """
    if profile is not None:
        line = profile.read_text(encoding="utf-8")
    else:
        line = subprocess.run([sys.executable, str(HERE / "profile_build.py"), str(size), "--json"], check=True,
                              capture_output=True, text=True).stdout.splitlines()[-1]
    steps = json.loads(line)["steps"]
    rest = sorted(((label, values[1]) for label, values in steps.items() if label not in FLOORED_STEPS),
                  key=lambda item: -item[1])
    return sum(cpu for _, cpu in rest), rest


def build_site(content: Path, rendered: dict | None = None) -> Path:
    """One cold build of ours into a temporary folder (for Pagefind's pages and the files to write).

    rendered, when given, receives the (template, context) of every page the build renders
    ("pages") and plugins/csp's state while it renders them ("csp", gone once the build ends).
    """
    from blogkit.build import build, load_settings
    from plugins.fastbuild import write

    work = Path(tempfile.mkdtemp(prefix="floors-site-", dir=HERE / "corpora"))
    search = {**load_settings(ROOT / "pelicanconf.py").get("SEARCH", {}), "index": False}
    render_parallel = write.render_parallel

    def keep(jobs, *args, **kwargs):
        if rendered is not None:
            from plugins import csp, search as search_plugin

            rendered["pages"] += [(template, context) for _, template, context in jobs if hasattr(template, "render")]
            for _, _template, context in jobs:
                content = context.get("article") or context.get("page") if isinstance(context, dict) else None
                if content is not None and getattr(content, "status", None) == "published" and content.save_as:
                    rendered["records"][content.save_as] = search_plugin.record_of(content)
            rendered["csp"] = dict(csp._state)
        return render_parallel(jobs, *args, **kwargs)

    write.render_parallel = keep
    try:
        build(ROOT / "pelicanconf.py", work / "output", {"PATH": str(content), "CACHE_PATH": str(work / "cache"),
                                                         "SEARCH": search})
    finally:
        write.render_parallel = render_parallel
    return work / "output"


def render_warm(pages: list, csp_state: dict) -> tuple[float, float]:
    """Render every page twice more in this process: (cpu, wall) of the second pass, every memo full."""
    from plugins import csp
    from plugins.fastbuild import render

    def render_all() -> None:
        for template, context in pages:
            template.render(context)

    # The build turned its URL and date memos off at its end, and csp's per-build state went with it.
    render.start_url_memo()
    csp._state.update(csp_state)
    try:
        render_all()
        return _measure(render_all)
    finally:
        render.stop_url_memo()
        csp._state.clear()



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, nargs="?", default=1000)
    parser.add_argument("--site", type=Path, help="a site built already from this corpus (default: build one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--hugo-runs", type=int, default=5, help="Hugo's timed builds (its median is the yardstick)")
    parser.add_argument("--no-features", action="store_true",
                        help="leave out the other features' profiled CPU (a profile build of its own)")
    parser.add_argument("--profile", type=Path, help="bench/profile_build.py's JSON line of this size, run already")
    args = parser.parse_args()
    content = corpus.CORPORA / f"posts-{args.size}"
    if not content.exists():
        corpus.generate(args.size)
    from blogkit.build import load_settings

    settings = load_settings(ROOT / "pelicanconf.py", {"PATH": str(content)})
    sources = _sources(content)
    workers = os.cpu_count() or 1
    built = None
    site = args.site
    rendered: dict = {"pages": [], "csp": {}, "records": {}}
    pages = rendered["pages"]
    if site is None:
        site = built = build_site(content, rendered)
    try:
        rows = {}
        rows["render"] = render_warm(pages, rendered["csp"]) if pages else None
        rows["markdown"] = _measure(markdown_serial, settings, sources)
        rows["pool"] = _measure(markdown_pool, settings, sources, workers)
        indexed, rows["pagefind"] = pagefind(site, settings.get("DEFAULT_LANG", "en"), rendered["records"])
        files, size_bytes, rows["write"] = write_files(site, settings.get("SEARCH", {}).get("bundle_dir", "pagefind"))
        rows.update(start_up())
        rows["hugo"] = hugo(content, args.size, args.hugo_runs)
        extra = None if args.no_features or not pages else features(args.size, args.profile)
    finally:
        if built is not None:
            corpus.set_aside(built.parent)

    def row(label: str, key: str, how: str) -> None:
        if rows.get(key) is None:
            print(f"| {label} | - | - | not measured ({how}) |")
        else:
            cpu, wall = rows[key]
            print(f"| {label} | {cpu:.2f} | {wall:.2f} | {how} |")

    print(f"floors, {args.size} posts, {workers} cores, load average {os.getloadavg()[0]:.1f}:")
    print("| part | cpu s | wall s | what |")
    print("|---|---:|---:|---|")
    row("Python-Markdown + Pygments, one process", "markdown",
        f"{len(sources)} sources, the build's Markdown settings, one instance reused")
    row(f"the same in the read pool ({workers} workers)", "pool", "plugins/fastbuild/read.py: start, parse, results back, stop")
    row("Pagefind alone", "pagefind", f"the {indexed} pages the build indexes, sent as plugins/search sends them")
    row("writing the files", "write", f"{files} files, {size_bytes / 2**20:.1f} MiB, into an empty folder")
    row("interpreter alone", "interpreter", "python -c pass, median of 3")
    row("interpreter + Pelican + blogkit + plugins imported", "imports", "what a build imports before reading, median of 3")
    row("the pages rendered again, every memo warm", "render",
        f"{len(pages)} pages: templates and CSP meta, one process, no feeds, nothing written" if pages
        else "only when this run builds the site")
    row("Hugo's whole build", "hugo", f"bench/hugo/ on the same posts, median of {args.hugo_runs} (uv sync --group bench)")
    floor = rows["imports"][1] + rows["pool"][1] + rows["write"][1] + rows["pagefind"][1]
    line = (f"floor of our cold build, one after another (start-up + read pool + writing + Pagefind): {floor:.2f} s wall"
            f" (without Pagefind, were it fully overlapped: {floor - rows['pagefind'][1]:.2f} s)")
    if rows["hugo"] is not None:
        limit = 2.5 * rows["hugo"][1]
        line += (f"; 2.5x Hugo's build = {limit:.2f} s: the floors alone are "
                 f"{floor / rows['hugo'][1]:.2f}x Hugo ({(floor - rows['pagefind'][1]) / rows['hugo'][1]:.2f}x without Pagefind)")
    print(line)
    def against_hugo(text: str, wall: float) -> None:
        print(text + (f" = {wall / rows['hugo'][1]:.2f}x Hugo" if rows["hugo"] is not None else ""))

    cpu = rows["imports"][0] + rows["pool"][0] + rows["write"][0] + rows["pagefind"][0]
    against_hugo(f"the same floors' CPU shared perfectly by {workers} cores: {cpu:.2f} CPU-s / {workers} = "
                 f"{cpu / workers:.2f} s wall", cpu / workers)
    with_render = least = None
    if rows.get("render") is not None:
        with_render = cpu + rows["render"][0]
        against_hugo(f"with the pages rendered again (memos warm): {with_render:.2f} CPU-s / {workers} = "
                     f"{with_render / workers:.2f} s wall", with_render / workers)
        alone = rows["imports"][1]
        least = alone + (with_render - alone) / workers
        against_hugo(f"the least a build doing this work can take on {workers} cores (the start-up alone, the rest "
                     f"shared perfectly): {alone:.2f} s + {with_render - alone:.2f} CPU-s / {workers} = {least:.2f} s wall",
                     least)
    least_with_features = None
    if extra is not None and least is not None:
        extra_cpu, steps = extra
        print(f"the other features and Pelican's own steps at their profiled cost ({extra_cpu:.2f} CPU-s; "
              + ", ".join(f"{label} {step_cpu:.2f}" for label, step_cpu in steps[:8]) + ", ...)")
        least_with_features = least + extra_cpu / workers
        against_hugo(f"the least with every feature on (the line above, plus those {extra_cpu:.2f} CPU-s shared "
                     f"perfectly): {least_with_features:.2f} s wall", least_with_features)
    if args.json:
        print(json.dumps({"size": args.size, "workers": workers, "rows": rows, "files": files, "bytes": size_bytes,
                          "indexed": indexed, "floor_wall": floor, "shared_wall": cpu / workers,
                          "shared_wall_with_render": with_render / workers if with_render is not None else None,
                          "least_wall": least, "features_cpu": extra[0] if extra is not None else None,
                          "least_wall_with_features": least_with_features}))


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
