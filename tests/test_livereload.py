"""`invoke livereload` as the author runs it: a copy of the project, the real task, real Chromium.

The open tab must show every saved edit by itself (the test never reloads it),
under the site's own Content-Security-Policy, and keep the last good site
through a failed build.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from blogkit.build import ROOT
from tests.conftest import free_port, wait_for_port

POST_SOURCE = "content/posts/2007/psychotherapy-of-sales.md"
POST = "2007/01/psychotherapy-of-sales.html"


def copy_project(target: Path) -> Path:
    """The project's files as a clone has them (no output/, cache or .venv)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def child_env() -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SITEURL", "ISSO_URL", "CI")}
    return {**environ, "PYTHONUNBUFFERED": "1"}


class Preview:
    """`python -m invoke livereload --port N` running in a project folder; its output goes to a log."""

    def __init__(self, project: Path, port: int):
        self.project, self.port = project, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = project / "livereload.log"
        self._out = self.log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "invoke", "livereload", "--port", str(port)],
                                        cwd=project, env=child_env(), stdout=self._out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_log(self, needle: str, count: int = 1, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return self.text()
            if self.process.poll() is not None:
                pytest.fail(f"livereload exited with {self.process.returncode}:\n{self.text()}")
            time.sleep(0.2)
        pytest.fail(f"{needle!r} (x{count}) never appeared in the log:\n{self.text()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._out.close()


@pytest.fixture
def preview(tmp_path):
    project = copy_project(tmp_path / "blog")
    running = Preview(project, free_port())
    yield running
    running.stop()


def shows(page, text: str, timeout: float = 90) -> bool:
    """Wait until the open tab shows `text`, without ever reloading it ourselves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if text in page.inner_text("body", timeout=2000):
                return True
        except Exception:  # the page was navigating (its own reload) at that moment
            pass
        time.sleep(0.2)
    return False


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_every_saved_edit_shows_in_the_open_tab_by_itself_under_the_csp(preview, page):
    wait_for_port(preview.port, preview.process, timeout=60)
    preview.wait_for_log("Previewing on")
    source = preview.project / POST_SOURCE
    original = source.read_text(encoding="utf-8")
    navigations = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.goto(f"{preview.url}/{POST}")
    assert "The Psychotherapy of Sales" in page.title()
    assert page.locator('script[src="/_preview/reload.js"]').count() == 1
    # The page's own policy is in force and allows the script: it is served from 'self'.
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy

    for number in range(1, 6):
        builds = preview.text().count("Built ")
        save(source, original + f"\nSaved edit number {number}.\n")
        assert shows(page, f"Saved edit number {number}."), preview.text()
        assert preview.text().count("Built ") > builds
    # Never reloaded, not even by itself: the page's preview script put each new paragraph in place
    # (tests/test_preview_watch.py checks that such a page equals a fresh load of it).
    assert navigations == [f"{preview.url}/{POST}"], navigations

    # A build that fails: the terminal says why, the tab keeps the last good site.
    failures = preview.text().count("Still serving the last good build")
    save(source, original.replace("Date: 2007-01-11", "Date: 2007-13-45", 1) + "\nBroken edit.\n")
    log = preview.wait_for_log("Still serving the last good build", failures + 1)
    assert "content/posts/2007/psychotherapy-of-sales.md" in log and "2007-13-45" in log
    assert "Saved edit number 5." in page.inner_text("body")
    assert "Broken edit." not in page.inner_text("body")
    # Fixed: the tab shows the fix by itself.
    save(source, original + "\nFixed edit.\n")
    assert shows(page, "Fixed edit."), preview.text()
    assert page.console_errors == []

    # Built files never carry the preview's script; only the preview server adds it.
    output = preview.project / "output"
    assert "_preview" not in (output / POST).read_text(encoding="utf-8")
    assert not list(output.rglob("reload.js"))


def test_the_preview_answers_like_serve_and_lists_its_drafts(preview):
    draft = preview.project / "content/posts/2026/work-in-progress.md"
    draft.parent.mkdir(parents=True)
    draft.write_text("Title: Work in progress\nDate: 2026-01-01 10:00\nSlug: work-in-progress\nStatus: draft\n\n"
                     "Not ready.\n", encoding="utf-8")
    wait_for_port(preview.port, preview.process, timeout=60)
    log = preview.wait_for_log("Previewing on")
    assert f"Drafts (1): \n  {preview.url}/drafts/work-in-progress.html" in log
    with urlopen(f"{preview.url}/2007/01/psychotherapy-of-sales", timeout=10) as answer:  # no .html
        assert answer.status == 200 and b"The Psychotherapy of Sales" in answer.read()
    with pytest.raises(HTTPError) as missing:
        urlopen(f"{preview.url}/2007/01/no-such-post", timeout=10)
    body = missing.value.read()
    assert missing.value.code == 404
    assert body.startswith((preview.project / "output/404.html").read_bytes()[:200])
    assert b'src="/_preview/reload.js"' in body


@pytest.mark.parametrize("task", ["serve", "livereload"])
def test_a_busy_port_is_one_line_naming_it_and_how_to_choose_another(task):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "invoke", task, "--port", str(port)], cwd=ROOT,
                             env=child_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"{task}: port {port} on 127.0.0.1 is already in use (another `invoke serve` or `livereload`?): "
        f"choose another with --port {port + 1}"]
    assert "Built" not in run.stdout


def test_the_quick_start_serve_builds_then_serves_the_first_post_at_its_blogger_path(tmp_path):
    """README's quick start: `uv run invoke serve` on a fresh clone, then the first post at its old address."""
    project = copy_project(tmp_path / "blog")
    port = free_port()
    log = project / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "invoke", "serve", "--port", str(port)], cwd=project,
                                   env=child_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            # serve holds its port from the start (a busy one fails before the build), so wait for its word.
            deadline = time.monotonic() + 300
            while f"Serving {project}/output on" not in log.read_text(encoding="utf-8"):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.2)
            for address in (POST, POST.removesuffix(".html")):
                with urlopen(f"{url}/{address}", timeout=60) as answer:
                    assert answer.status == 200
                    page = answer.read().decode("utf-8")
                assert "<title>The Psychotherapy of Sales" in page and "_preview" not in page
            with pytest.raises(HTTPError) as missing:
                urlopen(f"{url}/nope", timeout=60)
            assert missing.value.code == 404
            assert missing.value.read() == (project / "output/404.html").read_bytes()
        finally:
            process.terminate()
            process.wait(timeout=30)
    printed = log.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith(f"Built {project}/output in ") for line in printed), printed
    assert f"Serving {project}/output on {url}/ (Ctrl-C to stop)" in printed


def test_a_child_server_whose_port_another_holds_fails_instead_of_answering_through_the_other(tmp_path):
    """serve_in_child trusts its child's own word: a connection to a taken port would reach the other server."""
    from blogkit.serve import ServeError, serve_in_child

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve_in_child(tmp_path, port)
