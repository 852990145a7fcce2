"""Serve the built site on 127.0.0.1 like GitHub Pages; the preview server also rebuilds and reloads.

The preview (`invoke livereload`) is ours rather than the livereload package's:
that package injects an inline <script>, which the site's own CSP blocks, and
its watcher missed edits. Here a thread serves the site while the main thread
waits for the OS to report a save (Watcher: watchfiles, which comes with
Pelican), looks at the files it names and rebuilds; a whole scan of the
sources' mtimes now and then (or every 0.2 s without OS notifications) catches
what the OS did not report. Each build that goes live bumps a generation
number that open pages hear about by Server-Sent Events. The small script that
listens (reload.js: it puts what changed into the page, or reloads it) is
served from the site's own origin ('self' in the CSP) and is added to HTML
responses by this server only, so no built site (`invoke build`, `publish`)
ever contains it. The theme's bundles, named by their content, are cached by
the tab; every other file is asked after on each load.

Each open page's event stream names the page it shows (`?page=<its path>`);
the server keeps the set of open pages and hands it to the build's hot path
(blogkit.runhooks.attach_preview), which renders those first after a title
edit and the rest of the site behind them. When the rest is in place the
server says so and wakes the tabs showing one of those other pages only.
"""

from __future__ import annotations

import errno
import os
import re
import select
import signal
import socket
import stat
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from blogkit import runhooks
from blogkit.build import ROOT, BuildError, build, load_settings

WATCHED = ("content", "theme", "plugins", "pelicanconf.py")
# The preview's own addresses, beside the site's pages (no site path starts with "_preview").
RELOAD_SCRIPT = "/_preview/reload.js"
RELOAD_EVENTS = "/_preview/events"
RELOAD_JS = Path(__file__).with_name("reload.js")
# The theme's bundles, named by a hash of their content (plugins/assets): site.<10 hex digits>.css/.js.
HASHED = re.compile(r"/site\.[0-9a-f]{10}\.(?:css|js)$")
# Editors' swap and backup files are not sources.
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".part", "___jb_tmp___", "___jb_old___")


class ServeError(Exception):
    """The server cannot start; the message says why and what to do."""


class ReloadHub:
    """The generation of the site being served; open pages wait on it, and say which page they show."""

    KEPT_BUMPS = 64

    def __init__(self):
        self.generation = 0
        self.closed = False
        self._changed = threading.Condition()
        self._open: dict[int, str] = {}  # event stream (its token) -> the output file its tab shows
        self._bumps: list[tuple[int, frozenset | None]] = []  # recent (generation, the pages it concerns or None: all)

    def bump(self, only=None) -> None:
        """A new site is live: wake every open page (only those showing one of the output files `only`, if given)."""
        with self._changed:
            # Milliseconds, not a count: a page opened from an earlier server process
            # still reloads when a restarted one builds.
            self.generation = max(self.generation + 1, int(time.time() * 1000))
            self._bumps = [*self._bumps[-(self.KEPT_BUMPS - 1):], (self.generation, None if only is None else frozenset(only))]
            self._changed.notify_all()

    def close(self) -> None:
        """The server is stopping: let every waiting page go."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Return the generation once it differs from `seen` (or after timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen or self.closed, timeout)
            return self.generation

    def concerns(self, page: str | None, seen: int, generation: int) -> bool:
        """True if a tab showing `page` (an output file), told of `seen`, must hear of `generation`."""
        with self._changed:
            if page is None or not self._bumps or (seen < self._bumps[0][0] and len(self._bumps) == self.KEPT_BUMPS):
                return True  # unknown, or older than what is remembered
            return any(only is None or page in only for g, only in self._bumps if seen < g <= generation)

    def opened(self, page: str) -> int:
        """An open tab shows this output file; return its token for closed_tab()."""
        with self._changed:
            token = max(self._open, default=0) + 1
            self._open[token] = page
            return token

    def closed_tab(self, token: int) -> None:
        """The tab is gone (or reloading)."""
        with self._changed:
            self._open.pop(token, None)

    def shown(self) -> set[str]:
        """The output files the open tabs show now."""
        with self._changed:
            return set(self._open.values())


def make_server(output: Path, host: str = "127.0.0.1", port: int = 8000, hub: ReloadHub | None = None):
    """Return a threaded HTTP server that answers like GitHub Pages does.

    /foo finds foo.html, /dir/ finds dir/index.html, and a missing path gets
    404.html with status 404, so old Blogger links can be tried locally. With
    a hub (the preview), HTML pages get the reload script and nothing is cached.
    """
    from http.server import ThreadingHTTPServer

    from pelican.server import ComplexHTTPRequestHandler

    class Handler(ComplexHTTPRequestHandler):
        base_path = str(output)

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._answer(head=False)

        def do_HEAD(self):  # noqa: N802 - http.server's naming
            self._answer(head=True)

        def _answer(self, head: bool):
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if hub is not None and path == RELOAD_EVENTS and not head:
                return self._events()
            if hub is not None and path == RELOAD_SCRIPT:
                return self._send(200, RELOAD_JS.read_bytes(), "text/javascript; charset=utf-8", head)
            found = self._find(path)
            if found is None:
                page = Path(self.base_path) / "404.html"
                body = page.read_bytes() if page.exists() else b"Not found"
                return self._send(404, self._with_reload(body), "text/html; charset=utf-8", head)
            if hub is not None and found.endswith(".html") and os.path.isfile(self.translate_path(found)):
                try:
                    body = Path(self.translate_path(found)).read_bytes()
                except OSError:  # the site was swapped between the look-up and the read
                    return self._send(503, b"Rebuilding, try again", "text/plain", head)
                return self._send(200, self._with_reload(body), "text/html; charset=utf-8", head)
            self.path = found
            if hub is not None:
                # A bundle named by its content (plugins/assets) never changes under its name: a reload
                # takes it from the cache without asking. Anything else is asked after on every load,
                # so an image saved again under its old name shows at once.
                self._cache = "max-age=31536000, immutable" if HASHED.search(found) else "no-cache"
            return super().do_HEAD() if head else super().do_GET()

        _cache = ""

        def end_headers(self):
            if self._cache:
                self.send_header("Cache-Control", self._cache)
            super().end_headers()

        def _find(self, path: str) -> str | None:
            # Pelican's own look-up logs a warning for every miss, which a build running
            # at that moment in this process would count as a build problem.
            trailing = path.endswith("/")
            stem = path.rstrip("/")
            for suffix in self.SUFFIXES:
                if suffix == "/" and not trailing:
                    continue
                if os.path.exists(self.translate_path(stem + suffix)):
                    return stem + suffix
            return None

        def _with_reload(self, body: bytes) -> bytes:
            if hub is None:
                return body
            tag = f'<script src="{RELOAD_SCRIPT}" data-generation="{hub.generation}" defer></script>'.encode()
            at = body.find(b"</head>")
            # Before the page's own scripts: deferred scripts run in order, so reload.js copies the
            # page as it was served before the theme's scripts change it (it updates the page in place).
            first = body.find(b"<script", 0, at) if at >= 0 else -1
            at = first if first >= 0 else at
            return body[:at] + tag + body[at:] if at >= 0 else tag + body

        def _send(self, status: int, body: bytes, content_type: str, head: bool):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if hub is not None:
                self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _events(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            page = self._shown_page()
            token = hub.opened(page) if page is not None else None
            seen = None
            try:
                self.wfile.write(b"retry: 500\n\n")
                while not hub.closed:
                    generation = hub.generation if seen is None else self._wait(seen)
                    if generation is None:
                        break  # the tab is gone: it no longer counts as open
                    if generation != seen and seen is not None and not hub.concerns(page, seen, generation):
                        seen = generation  # a newer site that leaves this tab's page as it is
                        continue
                    # A comment line every 15 s finds a closed tab (the write fails).
                    message = f"event: build\ndata: {generation}\n\n" if generation != seen else ": still here\n\n"
                    self.wfile.write(message.encode())
                    self.wfile.flush()
                    seen = generation
            except OSError:  # the tab was closed or reloaded
                pass
            finally:
                if token is not None:
                    hub.closed_tab(token)
            self.close_connection = True

        def _wait(self, seen: int) -> int | None:
            """The next generation, or `seen` after 15 s (a keep-alive is due), or None once the tab has gone."""
            for _ in range(15):
                generation = hub.wait(seen, timeout=1)
                if generation != seen or hub.closed:
                    return generation
                readable, _, _ = select.select([self.connection], [], [], 0)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return None  # the browser closed the stream (the tab closed, reloaded or went elsewhere)
            return seen

        def _shown_page(self) -> str | None:
            """The output file the tab shows, from the stream's ?page=<its location.pathname> (reload.js)."""
            query = parse_qs(urlsplit(self.path).query)
            pathname = (query.get("page") or [""])[0]
            if not pathname.startswith("/"):
                return None
            found = self._find(pathname)
            if found is None:
                return None
            if found.endswith("/"):
                found += "index.html"
            return unquote(found).lstrip("/")

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True  # open event streams never hold the process at exit
        allow_reuse_address = True

    try:
        return Server((host, port), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is already in use (another `invoke serve` or "
                             f"`livereload`?): choose another with --port {port + 1}") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"port {port} needs administrator rights: choose one above 1023 with --port 8000") from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(output: Path, host: str = "127.0.0.1", port: int = 8000, httpd=None) -> None:
    """Serve a built site on host:port until interrupted."""
    httpd = httpd or make_server(output, host, port)
    print(f"Serving {output} on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def free_port() -> int:
    """Ask the OS for a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process=None, timeout: float = 20.0) -> None:
    """Wait until something listens on 127.0.0.1:port, or fail saying why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def serve_in_child(folder: Path, port: int, timeout: float = 30.0):
    """Serve `folder` on 127.0.0.1:port from a child process; return it once it listens (stop it by its PID).

    The sign is the child's own "Serving" line, not a connection to the port: when
    another server took the port first, a connection would reach that one instead.
    """
    import subprocess
    import threading

    code = ("import sys; from pathlib import Path; from blogkit.serve import ServeError, serve\n"
            "try: serve(Path(sys.argv[1]), port=int(sys.argv[2]))\n"
            "except ServeError as exc: sys.exit(str(exc))")
    process = subprocess.Popen([sys.executable, "-c", code, str(folder), str(port)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    said = first[0].strip() if first else ""
    if not said.startswith("Serving "):
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        raise ServeError(said or f"the server for {folder} did not start within {timeout} s")
    return process


def rebuild_or_report(settings_file: Path, overrides: dict | None = None, output: Path | None = None,
                      changed: list[Path] | None = None) -> bool:
    """Build; on failure print every problem and keep the last good site."""
    from blogkit.progress import build_status

    try:
        with build_status():
            result = build(settings_file, output, overrides=overrides, changed=changed)
    except BuildError as exc:
        for notice in exc.notices:
            print(f"note: {notice}", file=sys.stderr)
        print(exc, file=sys.stderr)
        print("Still serving the last good build.", file=sys.stderr, flush=True)
        return False
    for notice in result.notices:
        print(f"note: {notice}")
    print(f"Built {result.output} in {result.seconds:.2f} s", flush=True)
    return True


def preview_overrides(settings_file: Path) -> dict:
    """Settings for livereload's builds: the search index follows each new site in the background."""
    search = dict(load_settings(settings_file).get("SEARCH") or {})
    if search.get("index", True) is True:
        search["index"] = "background"
    return {"SEARCH": search}


def _ignored(name: str) -> bool:
    """Hidden files, editors' lock, swap, backup and temporary files are not sources."""
    return name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES)


def _ignored_folder(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def sources(paths: list[Path]) -> dict[Path, tuple[int, int, int]]:
    """Every watched file with its (mtime_ns, size, inode): any save changes one of them."""
    found = {}

    def add(path: Path) -> None:
        try:
            stat = path.stat()
        except OSError:  # deleted while we looked
            return
        found[path] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    for root in paths:
        if root.is_file():
            add(root)
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not _ignored_folder(d)]
            for name in files:
                if not _ignored(name):
                    add(Path(folder, name))
    return found


def changes(before: dict, after: dict) -> list[Path]:
    """The files saved, added or deleted between two looks."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def looked_again(before: dict, reported: set[str], roots: list[Path]) -> dict | None:
    """`before` with the files the OS reported looked at again; None when only a whole scan can tell.

    The OS names the files a save touched, so the ~1,100 other files need no
    look (a scan of them all costs about 30 ms of CPU at 1,000 posts). A folder
    created, moved or deleted needs the whole scan (sources()).
    """
    now = dict(before)
    for name in reported:
        path = Path(name)
        root = next((root for root in roots if path == root or path.is_relative_to(root)), None)
        if root is None or _ignored(path.name) or any(_ignored_folder(part) for part in path.relative_to(root).parts[:-1]):
            continue
        try:
            info = path.stat()
        except OSError:
            inside = name.rstrip(os.sep) + os.sep
            if now.pop(path, None) is None and any(str(known).startswith(inside) for known in now):
                return None  # a folder went away
            continue
        if stat.S_ISDIR(info.st_mode):
            return None  # a folder came (its files may predate the OS's watch on it)
        now[path] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return now


def in_steps(before: dict, now: dict) -> bool:
    """True if the look may have caught a save half-way: a file added, deleted or empty.

    Editors save in place (truncate, then write: the file is empty in between) or
    write a new file and rename it over the old one (a temporary file exists in
    between; some first move the old file away, so it is missing in between).
    A save in place of a file that is not empty, the usual save, is complete.
    """
    return any(path not in before or path not in now or now[path][1] == 0 for path in changes(before, now))


class Watcher:
    """What the OS reports under the watched paths: a wake-up, and the files it named.

    watchfiles (which comes with Pelican) hands over the changes once none has
    come for `STEP_MS`, so the steps of one save (truncate and write; write a
    temporary file and rename it) arrive together. Without OS notifications
    (watchfiles missing, out of inotify watches) `active` stays False and the
    preview polls with sources() alone, as before.
    """

    STEP_MS = 20

    def __init__(self, paths: list[Path]):
        self.woken, self.stop = threading.Event(), threading.Event()
        self.active = False
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        existing = [str(path) for path in paths if path.exists()]
        threading.Thread(target=self._watch, args=(existing,), name="preview-watch", daemon=True).start()

    def _watch(self, paths: list[str]) -> None:
        try:
            import watchfiles

            # No filter of watchfiles' own: looked_again() applies the same rules as sources().
            # yield_on_timeout: an empty set every second says the watch is up.
            for batch in watchfiles.watch(*paths, watch_filter=None, step=self.STEP_MS, stop_event=self.stop,
                                          rust_timeout=1000, yield_on_timeout=True, raise_interrupt=False):
                self.active = True
                if batch:
                    with self._lock:
                        self._reported.update(path for _change, path in batch)
                    self.woken.set()
        except Exception:  # no notifications (any reason): the poll goes on alone
            pass
        self.active = False

    def take(self) -> set[str]:
        """The files reported since the last call."""
        with self._lock:
            self.woken.clear()
            reported, self._reported = self._reported, set()
        return reported


def draft_urls(output: Path, settings: dict, siteurl: str) -> list[str]:
    """The addresses of the draft previews in a built site."""
    pattern = settings.get("DRAFT_SAVE_AS") or ""
    folder = pattern.split("{", 1)[0].rsplit("/", 1)[0] if "/" in pattern.split("{", 1)[0] else ""
    if not pattern or not folder or not (output / folder).is_dir():
        return []
    return [f"{siteurl}/{path.relative_to(output).as_posix()}" for path in sorted((output / folder).rglob("*.html"))]


def livereload(
    settings_file: Path,
    output: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    overrides: dict | None = None,
    watched: list[Path] | None = None,
    interval: float = 0.2,
) -> None:
    """Serve the site, rebuild on every save under content/, theme/, plugins/ and pelicanconf.py, reload open pages."""
    siteurl = f"http://{host}:{port}"
    overrides = {"SITEURL": siteurl, "FEED_DOMAIN": siteurl, **preview_overrides(settings_file), **(overrides or {})}
    # Absolute, as the OS reports them (looked_again matches its paths against these).
    watched = [Path(os.path.abspath(path)) for path in (watched or [ROOT / name for name in WATCHED])]
    output = Path(output).resolve()
    hub = ReloadHub()
    httpd = make_server(output, host, port, hub)  # first: a busy port fails before a long build
    if threading.current_thread() is threading.main_thread():
        # `kill` (or a test stopping us) ends a build like Ctrl-C: its staging folder is removed.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=httpd.serve_forever, name="preview-server", daemon=True).start()
    settings = load_settings(settings_file, overrides)
    watcher = Watcher(watched)

    def rest_in_place(rels: set[str]) -> None:
        # A hot path put the rest of the site in place after the build returned: the tabs on those pages reload.
        print(f"Updated the rest of the site: {len(rels)} files", flush=True)
        hub.bump(only=rels)

    def following(first: list[str], count: int) -> None:
        print(f"The open pages are in place ({', '.join(first) or 'none'}); {count} more files follow", flush=True)

    runhooks.attach_preview(hub.shown, rest_in_place, following)
    try:
        seen = sources(watched)
        if rebuild_or_report(settings_file, overrides, output):
            hub.bump()
        print(f"Previewing on {siteurl}/ : rebuilds on every save and updates the open pages (Ctrl-C to stop)", flush=True)
        drafts = _print_drafts(output, settings, siteurl, None)
        while True:
            now = _next_look(watcher, watched, seen, interval)
            if now == seen:
                continue
            changed = changes(seen, now)
            # Compared with the look taken before the build: a save during a build starts the next one.
            seen = now
            print(f"Changed: {', '.join(_name(path) for path in changed[:5])}"
                  + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""), flush=True)
            if rebuild_or_report(settings_file, overrides, output, changed=changed):
                hub.bump()
                drafts = _print_drafts(output, settings, siteurl, drafts)
    except KeyboardInterrupt:
        pass
    finally:
        runhooks.detach_preview()
        watcher.stop.set()
        hub.close()
        httpd.shutdown()
        httpd.server_close()


# While the OS reports changes, a whole scan now and then still catches what it cannot
# (a watched file replaced by a rename loses its watch, a full notification queue).
SAFETY_SCAN = 2.0
# A save caught half-way (in_steps) is complete once the OS has reported nothing for this long.
QUIET = 0.3


def _next_look(watcher: Watcher, watched: list[Path], seen: dict, interval: float) -> dict:
    """Wait for a save and return the look at the sources to build from (== seen: nothing changed)."""
    if watcher.woken.wait(SAFETY_SCAN if watcher.active else interval):
        now = looked_again(seen, watcher.take(), watched)
        if now is not None:
            # The OS's report came once the save's steps were over (Watcher.STEP_MS); a look
            # that still shows a step under way waits for the OS to go quiet.
            deadline = time.monotonic() + 2.0
            while in_steps(seen, now) and time.monotonic() < deadline and watcher.woken.wait(QUIET):
                now = looked_again(now, watcher.take(), watched)
                if now is None:
                    break
            if now is not None:
                return now
    now = sources(watched)
    if now == seen:
        return now
    # Found by a scan, not reported: let a save that writes in steps finish, then build from what is on disk.
    for _ in range(10):
        time.sleep(0.05)
        settled = sources(watched)
        if settled == now:
            break
        now = settled
    return now


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _print_drafts(output: Path, settings: dict, siteurl: str, shown: list[str] | None) -> list[str]:
    urls = draft_urls(output, settings, siteurl)
    if urls != shown and (urls or shown is not None):
        print(f"Drafts ({len(urls)}): " + ("none" if not urls else ""), flush=True)
        for url in urls:
            print(f"  {url}", flush=True)
    return urls
