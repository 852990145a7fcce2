"""Shared fixtures: real Pelican builds of the real content and of small fixture sites."""

from __future__ import annotations

import contextlib
import os
import textwrap
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from blogkit.build import ROOT, build
from blogkit.serve import ServeError, free_port, serve_in_child, wait_for_port  # noqa: F401  (tests import them from here)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Site:
    """A small site of our own making, built with the real settings and theme."""

    def __init__(self, base: Path):
        self.base = base
        self.content = base / "content"
        self.output = base / "output"
        (self.content / "posts").mkdir(parents=True)
        (self.content / "pages").mkdir(parents=True)

    def write(self, relpath: str, text: str | bytes) -> Path:
        """Write a source file under content/ (text is dedented)."""
        path = self.content / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def post(self, slug: str, title: str = "A post", date: str = "2020-05-04 10:00", body: str = "Body text.", **meta) -> Path:
        """Write a Markdown post with the usual metadata."""
        lines = [f"Title: {title}", f"Date: {date}", f"Slug: {slug}"]
        lines += [f"{key.capitalize()}: {value}" for key, value in meta.items()]
        return self.write(f"posts/{slug}.md", "\n".join(lines) + "\n\n" + body + "\n")

    def overrides(self, **extra) -> dict:
        """Settings that point the real configuration at this site."""
        return {"PATH": str(self.content), "CACHE_PATH": str(self.base / "cache"), **extra}

    def build(self, settings_file: Path = ROOT / "pelicanconf.py", **extra):
        """Build strictly into self.output."""
        return build(settings_file, self.output, self.overrides(**extra))

    def read(self, relpath: str) -> str:
        """Read a file the build wrote."""
        return (self.output / relpath).read_text(encoding="utf-8")


@pytest.fixture
def site(tmp_path) -> Site:
    """An empty fixture site in a temporary folder."""
    return Site(tmp_path)


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """The real content/ built with the real settings into a temporary folder."""
    base = tmp_path_factory.mktemp("real")
    build(ROOT / "pelicanconf.py", base / "output", {"CACHE_PATH": str(base / "cache")})
    return base / "output"


# --- Serving a built site and driving real Chromium --------------------------------
# Our pages carry a CSP without 'unsafe-eval': give page.wait_for_function a function ("() => ..."),
# never a bare expression, which Playwright eval()s in the page whenever it has to poll.

# Debian's Chromium; CHROMIUM_PATH names another build (GitHub's Ubuntu runners ship Google Chrome).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class Served:
    """A folder served on 127.0.0.1 by our own server (the one `invoke serve` uses), in a child process."""

    def __init__(self, folder: Path, port: int | None = None):
        for attempt in range(3):
            # A free port may be taken by another test's server before ours binds it: then try another.
            self.port = port or free_port()
            try:
                self.process = serve_in_child(folder, self.port)
                break
            except ServeError:
                if port or attempt == 2:
                    raise
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server by its own PID."""
        self.process.terminate()
        self.process.wait(timeout=10)


@contextlib.contextmanager
def handler_server(handler):
    """Run an http.server handler on a free 127.0.0.1 port in a thread; shut down on leaving."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def serve_folder():
    """Serve folders on free ports for one test; every server is stopped afterwards."""
    servers = []

    def start(folder: Path, port: int | None = None) -> Served:
        servers.append(Served(folder, port))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright per worker: its sync API cannot run twice in one thread."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/run, or apt-get install chromium")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(playwright_driver, tmp_path_factory):
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
    )
    yield context
    context.close()


@pytest.fixture(scope="session")
def chromium_browser(playwright_driver):
    """Debian's Chromium as a browser that makes fresh, separate contexts (no shared profile)."""
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium):
    """A fresh tab that records console errors and CSP violations; closed after the test."""
    tab = chromium.new_page()
    tab.console_errors = []
    tab.on("console", lambda msg: msg.type == "error" and tab.console_errors.append(msg.text))
    tab.on("pageerror", lambda exc: tab.console_errors.append(str(exc)))
    yield tab
    tab.close()
