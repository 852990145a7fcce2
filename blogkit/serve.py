"""Serve the built site on 127.0.0.1, optionally rebuilding and reloading on change."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from blogkit.build import ROOT, BuildError, build, load_settings

WATCHED = ("content", "theme", "plugins", "pelicanconf.py")


def make_server(output: Path, host: str = "127.0.0.1", port: int = 8000):
    """Return a threaded HTTP server that answers like GitHub Pages does.

    /foo finds foo.html, /dir/ finds dir/index.html, and a missing path gets
    404.html with status 404, so old Blogger links can be tried locally.
    """
    from http.server import ThreadingHTTPServer

    from pelican.server import ComplexHTTPRequestHandler

    class Handler(ComplexHTTPRequestHandler):
        base_path = str(output)

        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.get_path_that_exists(self.path.split("?", 1)[0]) is None:
                return self._not_found()
            return super().do_GET()

        def _not_found(self):
            page = Path(self.base_path) / "404.html"
            body = page.read_bytes() if page.exists() else b"Not found"
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    return ThreadingHTTPServer((host, port), Handler)


def serve(output: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve a built site on host:port until interrupted."""
    httpd = make_server(output, host, port)
    print(f"Serving {output} on http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def free_port() -> int:
    """Ask the OS for a free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process=None, timeout: float = 20.0) -> None:
    """Wait until something listens on 127.0.0.1:port, or fail saying why."""
    import socket
    import time

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


def serve_in_child(folder: Path, port: int):
    """Serve `folder` on 127.0.0.1:port from a child process; return it once it listens (stop it by its PID)."""
    import subprocess

    code = "import sys; from pathlib import Path; from blogkit.serve import serve; serve(Path(sys.argv[1]), port=int(sys.argv[2]))"
    process = subprocess.Popen([sys.executable, "-c", code, str(folder), str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
    except BaseException:
        process.terminate()
        process.wait(timeout=10)
        raise
    return process


def rebuild_or_report(settings_file: Path, overrides: dict | None = None, output: Path | None = None) -> bool:
    """Build; on failure print every problem and keep the last good site."""
    try:
        result = build(settings_file, output, overrides=overrides)
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


def livereload(
    settings_file: Path,
    output: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    overrides: dict | None = None,
    watched: list[Path] | None = None,
) -> None:
    """Rebuild on every change under content/, theme/ and plugins/; the browser reloads."""
    from livereload import Server

    overrides = {"SITEURL": f"http://{host}:{port}", **preview_overrides(settings_file), **(overrides or {})}
    rebuild = functools.partial(rebuild_or_report, settings_file, overrides, output)
    rebuild()
    server = Server()
    for path in watched or [ROOT / name for name in WATCHED]:
        server.watch(str(path), rebuild)
    server.serve(host=host, port=port, root=str(output), open_url_delay=None)
