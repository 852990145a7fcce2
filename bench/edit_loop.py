"""Time what the author feels: save a post, see the open tab show it, while the preview server runs.

    uv run python bench/edit_loop.py                 # 1,000 posts, 5 body edits, 1 title edit
    uv run python bench/edit_loop.py --size 100 --edits 3
    uv run python bench/edit_loop.py --cpu           # CPU time of the title edit's structure path, one process

Prints figures, asserts nothing. The preview server is the one `invoke
livereload` runs (`blogkit.serve.livereload`, with pelicanconf.py and its
preview settings), started in a child process on a free 127.0.0.1 port with
PATH pointed at a copy of the bench corpus (so the corpus itself stays as
generated). The newest post is opened in headless Chromium (/usr/bin/chromium
through Playwright, a fresh user-data-dir) and then, one after another:

- body edits: a sentence of the post's first paragraph is rewritten and the
  file saved; the figure is from the moment the save returns until the open
  tab shows the new sentence. Nothing here reloads the tab: the page's own
  preview script does, when the server says a new site is live;
- one title edit, timed the same way until the tab shows the new title. The
  preview takes it on the hot path's structure path (plugins/fastbuild/hot.py):
  the page the tab shows is rendered and put in place first, the tab reloads,
  and the rest of the site (about 1,700 files at 1,000 posts) follows in the
  background; the bench also reports when the server said the rest was in
  place ("Updated the rest of the site"). If the server ran the full build
  instead, it says so.

`--cpu` measures instead, in one process without server or browser, the CPU
time (time.process_time) of the title edit's structure path up to the open
page and then for the rest, and of one body edit.

Between saves the bench waits `--gap` seconds, as an author types between
saves; the search index, which the server rebuilds in the background after
each save, has that long to finish. Each figure is split in what the server
logged: noticing the save (save -> "Changed: ..."; the OS wakes the server),
the build's own seconds ("Built ... in X s") and the reload in the tab (built
-> drawn; reload.js updates the page in place when it can, else a reload
whose parts are printed too, from the tab's navigation timing, with the files
it fetched again over the network).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The preview server as `invoke livereload` runs it, on the bench's copy of the corpus.
SERVER = """
import sys, time
from pathlib import Path
from blogkit.serve import livereload


class Stamped:
    # Each line the server prints, with the moment it printed it (time.time(), this machine's clock).
    def __init__(self, stream):
        self.stream, self.start = stream, True

    def write(self, text):
        for piece in text.splitlines(keepends=True):
            if self.start:
                self.stream.write(f"{time.time():.4f} ")
            self.stream.write(piece)
            self.start = piece.endswith("\\n")
        return len(text)

    def flush(self):
        self.stream.flush()


sys.stdout = sys.stderr = Stamped(sys.stdout)
content, output, cache, port = sys.argv[1:5]
root = Path.cwd()
livereload(root / "pelicanconf.py", Path(output), port=int(port),
           overrides={"PATH": content, "CACHE_PATH": cache},
           watched=[Path(content), root / "theme", root / "plugins", root / "pelicanconf.py"])
"""
# The moment each page the tab loads is first drawn (the frame after its DOM is ready), on
# this machine's clock: Playwright's own waiting polls at intervals that would add to the figure.
SHOWN_AT = """
document.addEventListener("DOMContentLoaded", () => requestAnimationFrame(() => { window.__shownAt = Date.now(); }));
document.addEventListener("preview:updated", () => requestAnimationFrame(() => { window.__shownAt = Date.now(); }));
"""
# Where the reload's time went, from the tab's navigation and resource timing: the moment the
# new document's navigation began, its HTML arrived, and each subresource it fetched over the network.
TIMING = """
(since) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fetched = performance.getEntriesByType("resource")  // since the save, over the network (0: from the cache)
    .filter((entry) => performance.timeOrigin + entry.startTime >= since && entry.transferSize > 0
            && entry.initiatorType !== "fetch" && !entry.name.includes("/_preview/"));
  return {origin: performance.timeOrigin, responseEnd: nav ? performance.timeOrigin + nav.responseEnd : null,
          fetched: fetched.map((entry) => entry.name)};
}
"""
BUILT = re.compile(r"^Built .* in ([0-9.]+) s$")
# What the preview prints when a title edit took the hot path's structure path (blogkit/serve.py).
FOLLOWING = "The open pages are in place"
REST = "Updated the rest of the site"
STAMPED = re.compile(r"^([0-9]+\.[0-9]+) (.*)$")
# Children may write bytecode caches (the author's interpreter does).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Preview:
    """The preview server in a child process; its log lines are read from a file."""

    def __init__(self, content: Path, work: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = work / "output"
        self.log_path = work / "preview.log"
        self.log = open(self.log_path, "w+", encoding="utf-8")  # closed in stop()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(content), str(self.output), str(work / "cache"), str(self.port)],
            cwd=ROOT, env=CHILD_ENV, stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )
        self.read = 0

    def lines(self) -> list[str]:
        """Log lines written since the last call."""
        with open(self.log_path, encoding="utf-8") as handle:
            handle.seek(self.read)
            text = handle.read()
        complete = text[: text.rfind("\n") + 1]
        self.read += len(complete.encode("utf-8"))
        return complete.splitlines()

    def wait_for(self, pattern: str, timeout: float) -> list[str]:
        """Wait until a log line contains pattern; return the lines read meanwhile."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the preview server exited ({self.process.returncode}):\n"
                                 + self.log_path.read_text(encoding="utf-8")[-3000:])
            seen += self.lines()
            if any(pattern in line for line in seen):
                return seen
            time.sleep(0.02)
        raise SystemExit(f"no '{pattern}' from the preview server within {timeout} s:\n" + "\n".join(seen[-20:]))

    def stop(self) -> None:
        """Stop the server by its own PID (SIGTERM ends it like Ctrl-C)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _post_url(output: Path, slug: str) -> str:
    found = sorted(output.rglob(f"{slug}.html"))
    if not found:
        raise SystemExit(f"the built site has no page for {slug}")
    return "/" + found[0].relative_to(output).as_posix()


def _stamped(lines: list[str], prefix: str) -> tuple[float | None, str]:
    """The moment (time.time()) the server printed the first line starting with prefix, and the line."""
    for line in lines:
        match = STAMPED.match(line.strip())
        if match and match.group(2).startswith(prefix):
            return float(match.group(1)), match.group(2)
    return None, ""


def _phases(lines: list[str], saved: float, shown: float) -> dict:
    """Split save -> shown: noticing the save, the server's build, the reload in the tab."""
    changed, _ = _stamped(lines, "Changed: ")
    built, line = _stamped(lines, "Built ")
    match = BUILT.match(line)
    return {
        "total": shown - saved,
        "notice": changed - saved if changed else None,
        "build": float(match.group(1)) if match else None,
        "reload": shown - built if built else None,
    }


def measure(size: int = 1000, edits: int = 5, gap: float = 3.0, timeout: float = 120.0) -> dict:
    """Run the edit loop once; return its figures (seconds)."""
    from playwright.sync_api import sync_playwright

    source = corpus.CORPORA / f"posts-{size}"
    if not source.exists():
        corpus.generate(size)
    work = Path(tempfile.mkdtemp(prefix=f"edit-loop-{size}-", dir=corpus.CORPORA))
    content = work / "content"
    shutil.copytree(source, content)
    post = sorted((content / "posts").rglob("*.md"), key=lambda p: int(p.stem.split("-")[1]))[-1]  # the newest
    preview = Preview(content, work)
    figures: dict = {"size": size, "body": [], "title": None}
    try:
        lines = preview.wait_for("Previewing on", timeout=900)
        figures["server_ready"] = time.perf_counter() - preview.started
        _, line = _stamped(lines, "Built ")
        match = BUILT.match(line)
        figures["first_build"] = float(match.group(1)) if match else None
        url = preview.url + _post_url(preview.output, post.stem)
        with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="edit-loop-chromium-") as profile:
            browser = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                            headless=True)
            try:
                page = browser.new_page()
                page.add_init_script(SHOWN_AT)
                page.goto(url, wait_until="load")
                time.sleep(gap)  # the first build's background search index settles
                text = post.read_text(encoding="utf-8")
                head, body = text.split("\n\n", 1)
                previous = " ".join(body.split()[:6])
                if page.get_by_text(previous).count() < 1:
                    raise SystemExit(f"the tab at {url} does not show {previous!r}")
                title = head.splitlines()[0]
                edits_to_make = [(f"Edited sentence number {n} of the edit loop", "body") for n in range(1, edits + 1)]
                edits_to_make.append(("A retitled post for the edit loop", "title"))
                for marker, kind in edits_to_make:
                    if kind == "body":
                        text = text.replace(previous, marker, 1)
                        previous = marker
                    else:
                        text = text.replace(title, f"Title: {marker}", 1)
                    preview.lines()
                    saved = _save(post, text)
                    page.get_by_text(marker).first.wait_for(state="visible", timeout=timeout * 1000)
                    shown = time.time()
                    drawn = page.evaluate("window.__shownAt")  # this document: the one showing the marker
                    if drawn and saved < drawn / 1000 <= shown:
                        shown = drawn / 1000
                    timing = page.evaluate(TIMING, saved * 1000)
                    lines = preview.wait_for("Built ", timeout)
                    phases = _phases(lines, saved, shown)
                    _reload_split(phases, lines, timing, saved, shown)
                    if kind == "body":
                        figures["body"].append(phases)
                    else:
                        # The structure path: the open page first, then the server says the rest is in place.
                        if any(FOLLOWING in line for line in lines):
                            if not any(REST in line for line in lines):
                                try:  # under a heavy load the rest may take minutes: the figures so far still count
                                    lines += preview.wait_for(REST, timeout * 5)
                                except SystemExit:
                                    pass
                            rest, _ = _stamped(lines, REST)
                            phases["path"], phases["rest"] = "structure", rest - saved if rest else None
                        else:
                            phases["path"] = "full build"
                        figures["title"] = phases
                    time.sleep(gap)
            finally:
                browser.close()
    finally:
        preview.stop()
        corpus.set_aside(work)
    return figures


def _reload_split(phases: dict, lines: list[str], timing: dict, saved: float, shown: float) -> None:
    """Split the reload: the server's word reaching the tab, the page's HTML, the page drawn; what it refetched."""
    built, _ = _stamped(lines, "Built ")
    origin = timing["origin"] / 1000
    phases["refetched"] = len(timing["fetched"])
    if built is None or origin < saved:
        return  # no new document (the page was updated in place): the reload is one step
    phases["to_tab"] = origin - built
    if timing.get("responseEnd"):
        phases["html"] = timing["responseEnd"] / 1000 - origin
        phases["draw"] = shown - timing["responseEnd"] / 1000


def _save(path: Path, text: str) -> float:
    """Write the file as an editor saves it; return the moment (time.time()) the save returned."""
    path.write_text(text, encoding="utf-8")
    return time.time()


def _split(phases: dict) -> str:
    parts = [f"{name} {phases[name]:.2f}" for name in ("notice", "build", "reload") if phases.get(name) is not None]
    return " + ".join(parts)


def report(figures: dict) -> list[str]:
    """The edit loop's lines for the benchmark's output."""
    body = figures["body"]
    lines = [f"edit loop, {figures['size']} posts: the preview server (blogkit.serve.livereload, as `invoke livereload` "
             f"runs it) and headless Chromium; save -> the open tab shows the new text, no reload asked for"]
    if body:
        totals = [p["total"] for p in body]
        median = statistics.median
        p50 = {name: median(p[name] for p in body if p.get(name) is not None)
               for name in ("notice", "build", "reload") if any(p.get(name) is not None for p in body)}
        lines.append(f"  body edit x{len(body)}: p50 {median(totals):.2f} s, max {max(totals):.2f} s "
                     f"(runs {', '.join(f'{t:.2f}' for t in totals)}; p50 split: {_split(p50)} s)")
        inside = {name: median(p[name] for p in body if p.get(name) is not None)
                  for name in ("to_tab", "html", "draw") if any(p.get(name) is not None for p in body)}
        if inside:
            lines.append("  reload p50: " + " + ".join(f"{name} {value:.2f}" for name, value in inside.items())
                         + f" s; files refetched over the network per reload: "
                         f"{', '.join(str(p.get('refetched', '?')) for p in body)}")
        else:
            lines.append("  reload: the page updated in place (reload.js; no new document); files refetched per update: "
                         f"{', '.join(str(p.get('refetched', '?')) for p in body)}")
    if figures.get("title"):
        title = figures["title"]
        if title.get("path") == "structure":
            rest = f"{title['rest']:.2f} s" if title.get("rest") is not None else "unknown"
            how = f"structure path: the open tab's page first; every other page and feed in place {rest} after the save"
        else:
            how = "the full build"
        lines.append(f"  title edit: {title['total']:.2f} s (split: {_split(title)} s; {how})")
    lines.append(f"  preview start: serving after {figures.get('server_ready', 0):.2f} s "
                 f"(first build {figures.get('first_build') or 0:.2f} s)")
    lines.append("  split: notice = save -> the server prints 'Changed' (woken by the OS, else its 0.2 s poll); build = its "
                 "'Built in' seconds; reload = 'Built' -> the tab draws the page with the text "
                 "(the first frame after its DOM is ready, or after reload.js updated it in place); "
                 "a reload that loads a new document splits into to_tab (the server's word reaching the tab), "
                 "html (the page's HTML) and draw (HTML -> first frame)")
    return lines


def cpu(size: int = 1000, edits: int = 3) -> dict:
    """CPU time of the hot path's title edit (the structure path) in one process, as the preview runs it.

    The build and the edits run here (no server, no browser), with the preview's settings but
    no search index (Pagefind is a process of its own, not counted by time.process_time): the
    first full build, then `edits` title edits of the newest post, each a build(changed=[post])
    as the preview server calls it, timed up to its return (the open tab's page is in place)
    and on until the rest of the site is (hot.wait()); then one body edit for comparison.
    """
    from blogkit import runhooks
    from blogkit.build import build, load_settings
    from plugins.fastbuild import hot

    source = corpus.CORPORA / f"posts-{size}"
    if not source.exists():
        corpus.generate(size)
    work = Path(tempfile.mkdtemp(prefix=f"edit-cpu-{size}-", dir=corpus.CORPORA))
    try:
        content = work / "content"
        shutil.copytree(source, content)
        post = sorted((content / "posts").rglob("*.md"), key=lambda p: int(p.stem.split("-")[1]))[-1]
        settings_file = ROOT / "pelicanconf.py"
        search = {**load_settings(settings_file).get("SEARCH", {}), "index": False}
        overrides = {"PATH": str(content), "CACHE_PATH": str(work / "cache"), "SEARCH": search}
        output = work / "output"
        runhooks.attach_preview(lambda: set(), lambda rels: None)  # as the preview server does: the hot path is kept
        build(settings_file, output, overrides)
        figures: dict = {"size": size, "title": [], "body": None}
        text = post.read_text(encoding="utf-8")
        title = text.splitlines()[0]
        for n in range(edits + 1):
            if n < edits:
                text = text.replace(text.splitlines()[0], f"{title} (retitled {n + 1})", 1)
            else:
                words = text.split("\n\n", 1)[1].split()[:6]
                text = text.replace(" ".join(words), "An edited sentence for the CPU bench", 1)
            post.write_text(text, encoding="utf-8")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            build(settings_file, output, overrides, changed=[post])
            cpu1, wall1 = time.process_time(), time.perf_counter()
            hot.wait()
            cpu2, wall2 = time.process_time(), time.perf_counter()
            one = {"path": hot.stats["path"] or "full build", "declined": hot.stats["declined"],
                   "first_files": len(hot.stats["first"]), "rest_files": max(0, len(hot.stats["order"]) - len(hot.stats["first"])),
                   "cpu_first": cpu1 - cpu0, "cpu_rest": cpu2 - cpu1, "wall_first": wall1 - wall0, "wall_rest": wall2 - wall1}
            if n < edits:
                figures["title"].append(one)
            else:
                figures["body"] = one
        return figures
    finally:
        runhooks.detach_preview()
        corpus.set_aside(work)


def cpu_report(figures: dict) -> list[str]:
    """The CPU bench's lines."""
    median = statistics.median
    lines = [f"hot path CPU, {figures['size']} posts, one process (time.process_time; no search index):"]
    titles = figures["title"]
    paths = sorted({t["path"] for t in titles})
    if titles:
        runs = ", ".join(f"{t['cpu_first']:.2f}+{t['cpu_rest']:.2f}" for t in titles)
        lines.append(
            f"  title edit x{len(titles)} ({', '.join(paths)}): tab's page in place after {median(t['cpu_first'] for t in titles):.2f} CPU-s "
            f"({titles[0]['first_files']} file), the rest ({titles[0]['rest_files']} files) {median(t['cpu_rest'] for t in titles):.2f} CPU-s "
            f"more (runs: {runs}; "
            f"wall under this load {median(t['wall_first'] for t in titles):.2f} s + {median(t['wall_rest'] for t in titles):.2f} s)")
        declined = {t["declined"] for t in titles if t["declined"]}
        if declined:
            lines.append(f"  declined: {'; '.join(sorted(declined))}")
    body = figures.get("body")
    if body:
        lines.append(f"  body edit ({body['path']}): {body['cpu_first']:.2f} CPU-s to return, {body['cpu_rest']:.2f} more for its feeds")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between saves")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--cpu", action="store_true",
                        help="instead: CPU time of the title edit's structure path in one process (no server, no browser)")
    args = parser.parse_args()
    if args.cpu:
        figures = cpu(args.size, min(args.edits, 3))
        print("\n".join(cpu_report(figures)))
    else:
        figures = measure(args.size, args.edits, args.gap)
        print("\n".join(report(figures)))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
