"""Serve the built site on 127.0.0.1, optionally rebuilding and reloading on change."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from blogkit.build import ROOT, BuildError, build

WATCHED = ("content", "theme", "plugins", "pelicanconf.py")


def serve(output: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve a built site the way GitHub Pages does (foo -> foo.html, dir/ -> index.html)."""
    from pelican.server import ComplexHTTPRequestHandler, RootedHTTPServer

    handler = functools.partial(ComplexHTTPRequestHandler, directory=str(output))
    httpd = RootedHTTPServer(str(output), (host, port), handler)
    print(f"Serving {output} on http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def rebuild_or_report(settings_file: Path, overrides: dict | None = None) -> bool:
    """Build; on failure print every problem and keep the last good site."""
    try:
        result = build(settings_file, overrides=overrides)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        print("Still serving the last good build.", file=sys.stderr)
        return False
    print(f"Built {result.output} in {result.seconds:.2f} s")
    return True


def livereload(settings_file: Path, output: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Rebuild on every change under content/, theme/ and plugins/; the browser reloads."""
    from livereload import Server

    overrides = {"SITEURL": f"http://{host}:{port}"}
    rebuild = functools.partial(rebuild_or_report, settings_file, overrides)
    rebuild()
    server = Server()
    for name in WATCHED:
        server.watch(str(ROOT / name), rebuild)
    server.serve(host=host, port=port, root=str(output), open_url_delay=None)
