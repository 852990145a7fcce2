"""Run Lighthouse on the built article, index and an image-heavy post and print the four scores and the page weight.

    npm ci --prefix bench --no-audit --no-fund      # once; lighthouse from bench/package-lock.json into bench/node_modules
    uv run python bench/lighthouse.py               # production build of content/ in a temp folder, served on 127.0.0.1
    uv run python bench/lighthouse.py --preset desktop --output output
    uv run python bench/lighthouse.py --runs 3      # the median of three runs per page (a busy machine)

Per page it prints the four scores, the raw metrics behind the performance score
(FCP, LCP, TBT, CLS: Lighthouse's simulated throttling, so a busy machine lowers the
score while these stay readable), the requests made before any interaction with
images counted apart, and those requests' bytes gzipped at level 6. The site is
served gzipped (HTML, CSS, JS, SVG, XML, JSON), as GitHub Pages serves it, by a small
server of this bench's own: Lighthouse simulates a slow phone network from the bytes
it sees, so a plain local server would charge the page for bytes no reader downloads
(--plain serves them uncompressed, to compare).

Lighthouse drives Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) with the
project's Chromium flags and a fresh profile. This is a benchmark that prints figures;
the target is 100 in every category on every page (issues 3 and 15). The image-heavy
post is bench/screenshots.py's sample post (our own photographs, generated), built
with publishconf.py in a temporary site of its own, so content/ keeps only real posts.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blogkit.build import build  # noqa: E402
from blogkit.comments import start_isso  # noqa: E402
from blogkit.serve import free_port  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PAGES = {"article": "/2007/01/psychotherapy-of-sales.html", "index": "/"}
IMAGE_PAGE = ("images", "/2024/06/a-day-at-the-data-centre.html")


COMPRESSED = {".html", ".css", ".js", ".svg", ".xml", ".json", ".txt"}


class GzipHandler(SimpleHTTPRequestHandler):
    """Static files, text types gzipped (level 6) for a client that accepts it."""

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "") and not self.server.plain
        if not (gzip_ok and os.path.splitext(path)[1] in COMPRESSED and os.path.isfile(path)):
            return super().send_head()
        body = gzip.compress(Path(path).read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args):
        pass


def serve_gzipped(folder: Path, port: int, plain: bool = False) -> ThreadingHTTPServer:
    """Serve `folder` on 127.0.0.1:port in a thread of this process; shut it down with .shutdown()."""
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(GzipHandler, directory=str(folder)))
    server.plain = plain
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_lighthouse(url: str, preset: str, workdir: Path, name: str = "report") -> dict:
    """Run the Lighthouse CLI once and return its JSON report."""
    report = workdir / f"{name}-{preset}.json"
    profile = tempfile.mkdtemp(prefix="lh-profile-", dir=workdir)
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}", "--throttling-method=simulate",
        f"--chrome-flags={' '.join(CHROMIUM_FLAGS + [f'--user-data-dir={profile}'])}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not report.exists():
        raise SystemExit(f"lighthouse failed on {url} (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(report.read_text(encoding="utf-8"))


def gzipped(url: str) -> int:
    """The bytes of one response gzipped at level 6, as a server would send it."""
    # Asked without Accept-Encoding: the file as it is, gzipped here.
    with urllib.request.urlopen(url, timeout=30) as response:
        return len(gzip.compress(response.read(), compresslevel=6))


def summarise(report: dict, site: str) -> dict:
    """The four scores, the raw metrics, requests and gzipped bytes before interaction, and audits that lost points."""
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    audits = report["audits"]
    requests = [r for r in audits["network-requests"]["details"]["items"] if not r["url"].startswith("data:")]
    images = [r for r in requests if r.get("resourceType") == "Image"]
    others = [r for r in requests if r not in images]
    # Ours gzipped as served in production; the comment service's answers as they came.
    gz = sum(gzipped(r["url"]) if r["url"].startswith(site) else r.get("transferSize", 0) for r in others)
    failing = sorted(
        {
            audit_ref["id"]
            for category in CATEGORIES
            for audit_ref in report["categories"][category]["auditRefs"]
            if audit_ref["weight"] > 0 and (audits[audit_ref["id"]].get("score") is not None)
            and audits[audit_ref["id"]]["score"] < 1
        }
    )
    return {
        **scores,
        "bytes": int(audits["total-byte-weight"]["numericValue"]),
        "requests": len(others),
        "images": len(images),
        "gz": gz,
        "hosts": sorted({r["url"].split("/")[2] for r in requests}),
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "fcp": audits["first-contentful-paint"]["numericValue"],
        "failing": failing,
    }


def main() -> None:
    """Build (or take) a site, serve it, run Lighthouse on each page and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="an already built site to test (default: build content/ with publishconf.py)")
    parser.add_argument("--preset", choices=["mobile", "desktop"], default="mobile", help="Lighthouse's form factor")
    parser.add_argument("--keep", type=Path, help="a folder to keep the JSON reports in")
    parser.add_argument("--plain", action="store_true", help="serve uncompressed (Lighthouse then simulates the plain bytes)")
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the run with the median performance score is shown")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `npm install --prefix bench lighthouse@12.8` first")

    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        workdir = Path(tmp)
        site = args.output
        port = free_port()
        isso = None
        if site is None:
            # The production build (publishconf.py), its SITEURL pointed at where it is served, so
            # canonical and feed URLs are absolute as they are on the real site; its comment
            # service a real local Isso, so the live comment counts are measured as readers get them.
            site = workdir / "output"
            os.environ["SITEURL"] = f"http://127.0.0.1:{port}"
            isso = start_isso(workdir / "isso", free_port(), sites=[os.environ["SITEURL"]])
            os.environ["ISSO_URL"] = isso.url
            build(ROOT / "publishconf.py", site, {"CACHE_PATH": str(workdir / "cache")})
        server = serve_gzipped(site.resolve(), port, args.plain)
        image_server = None
        pages = {name: f"http://127.0.0.1:{port}{path}" for name, path in PAGES.items()}
        if args.output is None:
            sys.path.insert(0, str(ROOT / "bench"))
            from screenshots import build_image_site

            image_port = free_port()
            os.environ["SITEURL"] = f"http://127.0.0.1:{image_port}"
            images = build_image_site(workdir / "images", ROOT / "publishconf.py")
            image_server = serve_gzipped(images.resolve(), image_port, args.plain)
            pages[IMAGE_PAGE[0]] = f"http://127.0.0.1:{image_port}{IMAGE_PAGE[1]}"
        try:
            version = subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True).stdout.strip()
            print(f"Lighthouse {version}, {args.preset}, Chromium at {os.environ.get('CHROME_PATH', '/usr/bin/chromium')}")
            print("reqs: requests before interaction, images apart (+img); KB gz: their bytes gzipped (level 6); "
                  "bytes: Lighthouse's total transfer (images included)")
            print(f"{'page':10} {'perf':>4} {'a11y':>4} {'best':>4} {'seo':>4} {'FCP ms':>6} {'LCP ms':>6} {'TBT ms':>6} {'CLS':>5} "
                  f"{'reqs':>4} {'+img':>4} {'KB gz':>5} {'bytes':>7}  hosts; lost points on")
            for name, url in pages.items():
                origin = "/".join(url.split("/")[:3])
                rows = [summarise(run_lighthouse(url, args.preset, args.keep or workdir, f"{name}-{n}"), origin)
                        for n in range(1, args.runs + 1)]
                # Lighthouse's own advice for noisy machines: several runs, the median one.
                row = sorted(rows, key=lambda r: (r["performance"], -r["tbt"]))[len(rows) // 2]
                if args.runs > 1:
                    name = f"{name}/{args.runs}"
                print(
                    f"{name:10} {row['performance']:>4} {row['accessibility']:>4} {row['best-practices']:>4} {row['seo']:>4} "
                    f"{row['fcp']:>6.0f} {row['lcp']:>6.0f} {row['tbt']:>6.0f} {row['cls']:>5.3f} {row['requests']:>4} "
                    f"{row['images']:>4} {row['gz'] / 1024:>5.1f} {row['bytes']:>7}  {' '.join(row['hosts'])}; {', '.join(row['failing']) or '-'}"
                )
        finally:
            if image_server is not None:
                image_server.shutdown()
            server.shutdown()
            if isso is not None:
                isso.stop()


if __name__ == "__main__":
    main()
