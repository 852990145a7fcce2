"""The preview server hears of a save from the OS at once, and knows which pages its open tabs show."""

from __future__ import annotations

import contextlib
import http.client
import queue
import socket
import threading
import time

from blogkit.serve import ReloadHub, changes, free_port, make_server, sources, wake_on_changes


def test_a_save_wakes_the_preview_and_the_scan_names_the_file(tmp_path):
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    post = posts / "a.md"
    post.write_text("Title: A\n\nBody.\n", encoding="utf-8")
    woken, stop = wake_on_changes([tmp_path / "content", tmp_path / "missing-folder"])
    try:
        seen = sources([tmp_path / "content"])
        time.sleep(0.5)  # the watcher is up
        woken.clear()
        post.write_text("Title: A\n\nAn edited body.\n", encoding="utf-8")
        # Far sooner than this in practice (tens of milliseconds); the bound only keeps a loaded machine from failing it.
        assert woken.wait(10), "no wake-up after a save"
        assert changes(seen, sources([tmp_path / "content"])) == [post]
    finally:
        stop.set()


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
