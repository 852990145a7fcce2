"""Time what the author feels: save a post, see the open tab show it, while the preview server runs.

    uv run python bench/edit_loop.py                 # 1,000 posts, 5 body edits, 1 title edit
    uv run python bench/edit_loop.py --size 100 --edits 3

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
- one title edit (the metadata changes, so the server runs the full build),
  timed the same way until the tab shows the new title.

Between saves the bench waits `--gap` seconds, as an author types between
saves; the search index, which the server rebuilds in the background after
each save, has that long to finish. Each figure is split in what the server
logged: the build's own seconds ("Built ... in X s"); the rest is noticing
the save (a poll every 0.2 s) plus the reload in the tab.
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
"""
BUILT = re.compile(r"^Built .* in ([0-9.]+) s$")
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
                    phases = _phases(preview.wait_for("Built ", timeout), saved, shown)
                    if kind == "body":
                        figures["body"].append(phases)
                    else:
                        figures["title"] = phases
                    time.sleep(gap)
            finally:
                browser.close()
    finally:
        preview.stop()
        shutil.rmtree(work, ignore_errors=True)
    return figures


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
    if figures.get("title"):
        title = figures["title"]
        lines.append(f"  title edit: {title['total']:.2f} s (split: {_split(title)} s)")
    lines.append(f"  preview start: serving after {figures.get('server_ready', 0):.2f} s "
                 f"(first build {figures.get('first_build') or 0:.2f} s)")
    lines.append("  split: notice = save -> the server prints 'Changed' (woken by the OS, else its 0.2 s poll); build = its "
                 "'Built in' seconds; reload = 'Built' -> the tab draws the page with the text "
                 "(the first frame after its DOM is ready)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between saves")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    figures = measure(args.size, args.edits, args.gap)
    print("\n".join(report(figures)))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
