"""The preview server hears of a save from the OS at once, builds from a complete save, and knows which pages its open tabs show."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import socket
import threading
import time

import pytest

from blogkit import serve
from blogkit.serve import ReloadHub, Watcher, changes, free_port, looked_again, make_server, sources


@pytest.fixture
def watched(tmp_path):
    """A content folder with one post, watched as the preview watches it (OS notifications on)."""
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    post = posts / "a.md"
    post.write_text("Title: A\n\nBody.\n", encoding="utf-8")
    roots = [tmp_path / "content"]
    watcher = Watcher([*roots, tmp_path / "missing-folder"])
    try:
        assert wait_until(lambda: watcher.active, timeout=10), "the OS watch did not start"
        watcher.take()
        yield watcher, roots, post
    finally:
        watcher.stop.set()


def test_a_save_wakes_the_preview_and_the_os_names_the_file(watched):
    watcher, roots, post = watched
    seen = sources(roots)
    post.write_text("Title: A\n\nAn edited body.\n", encoding="utf-8")
    # Far sooner than this in practice (tens of milliseconds); the bound only keeps a loaded machine from failing it.
    assert watcher.woken.wait(10), "no wake-up after a save"
    reported = watcher.take()
    assert str(post) in reported
    # The files the OS named, looked at again, say what the whole scan says.
    assert looked_again(seen, reported, roots) == sources(roots)
    assert changes(seen, looked_again(seen, reported, roots)) == [post]
    # A folder that appears needs the whole scan (its files may predate the watch on it).
    (roots[0] / "posts" / "2026").mkdir()
    assert looked_again(seen, {str(roots[0] / "posts" / "2026")}, roots) is None
    # Editors' own files are not sources.
    assert looked_again(seen, {str(post) + "~", str(roots[0] / ".#a.md"), str(post) + "___jb_tmp___"}, roots) == seen


def save_in_steps(post, text: str, how: str, pause: float = 0.1) -> None:
    """Save as an editor does, with a pause (longer than the OS watch's step) between its steps."""
    if how == "truncate, then write":
        with open(post, "w", encoding="utf-8") as handle:
            handle.flush()
            time.sleep(pause)
            handle.write(text)
    elif how == "temporary file, then rename":
        temporary = post.with_name("tmp3k1x9q")  # the name Python's tempfile gives: not an editor's suffix
        temporary.write_text(text, encoding="utf-8")
        time.sleep(pause)
        os.replace(temporary, post)
    else:  # the old file moved away (to a backup), then the new one written
        os.replace(post, post.with_name(post.name + "~"))
        time.sleep(pause)
        post.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("how", ["truncate, then write", "temporary file, then rename", "backup, then write"])
def test_a_save_in_steps_is_built_once_it_is_complete(watched, how):
    """The look the preview builds from shows the whole save, never the file half-way, and names only the post."""
    watcher, roots, post = watched
    seen = sources(roots)
    text = "Title: A\n\nA body saved in steps, as some editors save.\n"
    saver = threading.Thread(target=save_in_steps, args=(post, text, how))
    saver.start()
    try:
        now = serve._next_look(watcher, roots, seen, interval=0.2)
        while now == seen:  # a report of nothing that counts (the editor's own files)
            now = serve._next_look(watcher, roots, seen, interval=0.2)
    finally:
        saver.join()
    assert changes(seen, now) == [post]
    assert now[post][1] == len(text.encode()), "built from a file caught half-way through its save"
    assert now == sources(roots)


def test_a_plain_save_is_looked_at_without_scanning_every_source(watched, monkeypatch):
    """The usual save (in place, not empty) is built from the OS's report alone: no scan of the other files."""
    watcher, roots, post = watched
    seen = sources(roots)
    scans = []
    monkeypatch.setattr(serve, "sources", lambda paths: scans.append(paths) or {})
    post.write_text("Title: A\n\nSaved once.\n", encoding="utf-8")
    now = serve._next_look(watcher, roots, seen, interval=0.2)
    assert changes(seen, now) == [post] and scans == []


def test_the_preview_caches_the_hashed_bundles_and_asks_after_everything_else(tmp_path):
    """A reload takes the theme's content-named bundles from the cache; an image saved again shows at once."""
    (tmp_path / "theme/css").mkdir(parents=True)
    (tmp_path / "theme/css/site.0123abcdef.css").write_text("body{}", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"not really a png")
    (tmp_path / "index.html").write_text("<html><head></head><body>page</body></html>", encoding="utf-8")
    hub = ReloadHub()
    httpd = make_server(tmp_path, port=free_port(), hub=hub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        def get(path: str, **headers):
            connection = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=10)
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            connection.close()
            return answer

        assert get("/theme/css/site.0123abcdef.css").getheader("Cache-Control") == "max-age=31536000, immutable"
        image = get("/photo.png")
        assert image.status == 200 and image.getheader("Cache-Control") == "no-cache"
        # Asked after, it is not sent again while unchanged.
        assert get("/photo.png", **{"If-Modified-Since": image.getheader("Last-Modified")}).status == 304
        assert get("/").getheader("Cache-Control") == "no-store"
    finally:
        hub.close()
        httpd.shutdown()
        httpd.server_close()


class Stream:
    """One open tab's event stream, as reload.js opens it (?page=<its location.pathname>, encoded)."""

    def __init__(self, port: int, pathname: str):
        from urllib.parse import quote

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.connection.request("GET", "/_preview/events?page=" + quote(pathname, safe=""))
        self.sock = self.connection.sock
        self.response = self.connection.getresponse()
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self.response:
                self.lines.put(line.decode().strip())
        except (OSError, ValueError):
            pass

    def next_build(self, timeout: float) -> str | None:
        """The data of the next build event within timeout, else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line.startswith("data: "):
                return line.removeprefix("data: ")
        return None

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def wait_until(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_preview_knows_which_pages_the_open_tabs_show_and_wakes_only_those_a_partial_update_changed(tmp_path):
    """The hot path renders the open tabs' pages first; its later files reload only the tabs that show one of them."""
    for rel in ("index.html", "2007/01/a-post.html", "2007/index.html", "search/label/Security & Risk.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html><head></head><body>page</body></html>", encoding="utf-8")
    hub = ReloadHub()
    hub.bump()
    httpd = make_server(tmp_path, port=free_port(), hub=hub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    streams = []
    try:
        port = httpd.server_address[1]
        for pathname in ("/", "/2007/01/a-post.html", "/2007/", "/search/label/Security%20%26%20Risk.html", "/nope"):
            streams.append(Stream(port, pathname))
        first = [stream.next_build(10) for stream in streams]
        assert first == [str(hub.generation)] * 5  # each tab hears the generation it may already show
        assert wait_until(lambda: hub.shown() == {"index.html", "2007/01/a-post.html", "2007/index.html",
                                                  "search/label/Security & Risk.html"}), hub.shown()
        home, post, year, label, unknown = streams

        # The rest of a title edit: only the tabs on those files reload (and one whose page is unknown).
        hub.bump(only={"index.html", "2007/index.html"})
        partial = str(hub.generation)
        assert home.next_build(5) == partial and year.next_build(5) == partial and unknown.next_build(5) == partial
        assert post.next_build(1.5) is None and label.next_build(0.1) is None
        hub.bump()  # a whole new site: every tab
        assert all(stream.next_build(5) == str(hub.generation) for stream in streams)

        # A closed tab (or one that reloaded or went elsewhere) no longer counts as open, within a second or two.
        post.close()
        assert wait_until(lambda: "2007/01/a-post.html" not in hub.shown(), timeout=5), hub.shown()
        assert "index.html" in hub.shown()
    finally:
        for stream in streams:
            with contextlib.suppress(OSError):
                stream.close()
        hub.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_body_edit_updates_the_open_tab_in_place_as_a_fresh_load_shows_it(site, tmp_path, page):
    """In real Chromium: a saved paragraph goes into the open tab without a reload (no stylesheet or
    script fetched again), the theme's enhancements stay, and the page equals a fresh load of it; an
    edit of a part the theme's scripts changed (a code block with its copy button) reloads the page."""
    from test_fast_build import write_posts
    from test_hot_structure import Preview

    write_posts(site)
    with Preview(site, tmp_path) as preview:
        port, log = preview.port, preview.log

        def shows(text: str) -> bool:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):  # the page may be navigating (its own reload)
                    if text in page.inner_text("main", timeout=2000):
                        return True
                time.sleep(0.1)
            return False

        url = f"http://127.0.0.1:{port}/2009/02/post-13.html"
        navigations, fetched = [], []
        page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
        page.goto(url)
        assert page.locator("button.copy-code").count() == 1  # the theme's enhancement of the code block
        page.on("request", lambda request: fetched.append(request.url))
        post = site.content / "posts" / "post-13.md"
        text = post.read_text(encoding="utf-8")
        for n in range(1, 3):
            text = text.replace("Last paragraph of post 13." if n == 1 else "Paragraph edited 1 times.",
                                f"Paragraph edited {n} times.", 1)
            post.write_text(text, encoding="utf-8")
            assert shows(f"Paragraph edited {n} times."), log.read_text(encoding="utf-8")
        assert len(navigations) == 1, navigations  # never reloaded: updated in place
        assert [u for u in fetched if "/_preview/" not in u] == [url, url], fetched  # the page's HTML, nothing else
        assert page.locator("button.copy-code").count() == 1
        assert page.evaluate("document.title") and page.console_errors == []

        # The tab equals a fresh load of the page (after the theme's scripts ran on both).
        fresh = page.context.new_page()
        try:
            fresh.goto(url)
            fresh.locator("button.copy-code").wait_for()
            assert page.evaluate("document.body.innerHTML") == fresh.evaluate("document.body.innerHTML")
            assert page.evaluate("document.head.innerHTML.replace(/data-generation=\"\\d+\"/, '')") == \
                fresh.evaluate("document.head.innerHTML.replace(/data-generation=\"\\d+\"/, '')")
        finally:
            fresh.close()

        # Inside the code block the theme gave a copy button: in place, the button stays.
        text = text.replace("return sum(i.price for i in items)", "return sum(i.cost for i in items)")
        post.write_text(text, encoding="utf-8")
        assert shows("i.cost"), log.read_text(encoding="utf-8")
        assert len(navigations) == 1 and page.locator("button.copy-code").count() == 1
        # A new code block would miss the button the theme's script gives each as the page loads: a reload.
        post.write_text(text.replace("- one\n", "```python\nprint('a second block')\n```\n\n- one\n", 1),
                        encoding="utf-8")
        assert shows("a second block"), log.read_text(encoding="utf-8")
        assert len(navigations) == 2 and page.locator("button.copy-code").count() == 2
        assert page.console_errors == []
