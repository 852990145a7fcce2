"""Check an Isso config for placeholder secrets, then run Isso so that only a listed proxy may say who the reader is.

Isso 0.14 wraps its app in werkzeug's ProxyFix unconditionally, so the last
address in any client's `X-Forwarded-For` becomes the reader's address, and the
`[server] trusted-proxies` option cannot undo that (it is only consulted after
ProxyFix has already rewritten the address). Its guard (`[guard] ratelimit`,
`direct-reply`) keys on that address, so varying the header bypasses it. This
launcher removes the `X-Forwarded-*` headers of every request whose connection
does not come from an address listed in `trusted-proxies` (none: the header is
never believed), before Isso sees them.

It needs only the standard library and isso, so the production host runs this
very file (docs/comments.md):

    python isso_server.py check /etc/isso/isso.cfg   # one line and exit 78 on a placeholder secret
    python isso_server.py run /etc/isso/isso.cfg     # the same check, then serve

Everything it creates (database, log) is private to the user running it
(umask 077), from the moment it is created.
"""

from __future__ import annotations

import configparser
import errno
import socket
import sys
from pathlib import Path

# sysexits' EX_CONFIG: systemd's RestartPreventExitStatus=78 stops retrying a refused config.
EX_CONFIG = 78
EX_UNAVAILABLE = 69
PLACEHOLDER = "change-me"
# The headers ProxyFix (as Isso configures it) and Isso's own address lookup read.
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")
SECRETS = (("admin", "password"), ("hash", "salt"))


class ConfigRefused(Exception):
    """The config would start Isso with a placeholder or empty secret; the message says which and what to do."""


def read_config(path: Path) -> configparser.ConfigParser:
    """The config file as Isso reads it (no interpolation surprises for the check)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise ConfigRefused(f"{path}: cannot read it ({exc.strerror})") from None
    except configparser.Error as exc:
        raise ConfigRefused(f"{path}: not an INI file Isso can read ({str(exc).splitlines()[0]})") from None
    return parser


def check_config(path: Path) -> configparser.ConfigParser:
    """Refuse a config whose admin password or hash salt is empty or still a CHANGE-ME placeholder."""
    parser = read_config(path)
    for section, option in SECRETS:
        value = parser.get(section, option, fallback="").strip()
        enabled = section != "admin" or parser.getboolean("admin", "enabled", fallback=False)
        if enabled and (not value or PLACEHOLDER in value.lower()):
            what = "is empty" if not value else f"is still the placeholder {value!r}"
            raise ConfigRefused(
                f"{path}: [{section}] {option} {what}; set a long random value "
                f"(python3 -c \"import secrets; print(secrets.token_urlsafe(24))\") before starting Isso")
    return parser


def trusted_proxies(parser: configparser.ConfigParser) -> frozenset[str]:
    """The addresses listed in `[server] trusted-proxies` (one per line or comma-separated)."""
    raw = parser.get("server", "trusted-proxies", fallback="")
    return frozenset(item.strip() for line in raw.splitlines() for item in line.split(",") if item.strip())


class ForwardedOnlyFromProxies:
    """WSGI middleware: drop X-Forwarded-* unless the connection comes from a trusted proxy."""

    def __init__(self, app, trusted: frozenset[str]):
        self.app = app
        self.trusted = trusted

    def __call__(self, environ, start_response):
        if environ.get("REMOTE_ADDR") not in self.trusted:
            for key in FORWARDED:
                environ.pop(key, None)
        return self.app(environ, start_response)


def _listen_address(parser: configparser.ConfigParser) -> tuple[str, int]:
    from urllib.parse import urlsplit

    listen = parser.get("server", "listen", fallback="http://localhost:8080")
    parts = urlsplit(listen)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigRefused(f"[server] listen = {listen}: this launcher serves http://HOST:PORT/ only")
    return parts.hostname, parts.port or 80


def port_is_free(host: str, port: int) -> bool:
    """Whether host:port can be bound now (as the server will, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serve(path: Path) -> None:
    """Check the config, then serve Isso on its `[server] listen` address with forwarded headers guarded."""
    import logging
    import os

    os.umask(0o077)  # the database, its journal and the log are created private
    parser = check_config(path)
    host, port = _listen_address(parser)
    if not port_is_free(host, port):
        raise OSError(errno.EADDRINUSE, f"port {port} on {host} is busy: stop what uses it or choose another port")

    from isso import config, make_app
    from werkzeug.serving import make_server

    conf = config.load(config.default_file(), str(path))
    if conf.get("general", "log-file"):  # as `isso run` does
        handler = logging.FileHandler(conf.get("general", "log-file"))
        handler.setFormatter(logging.Formatter("%(asctime)s:%(levelname)s: %(message)s"))
        for name in ("isso", "werkzeug"):
            logging.getLogger(name).addHandler(handler)
            logging.getLogger(name).propagate = False
    app = ForwardedOnlyFromProxies(make_app(conf), trusted_proxies(parser))
    server = make_server(host, port, app, threaded=True)
    _leave_with_parent()
    server.serve_forever()


def _leave_with_parent() -> None:
    """Exit when the process that started this one is gone (a killed `invoke comments-server` leaves no Isso)."""
    import os
    import threading
    import time

    parent = os.getppid()  # under systemd this is 1 and never changes

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    """`check CONFIG` or `run CONFIG`; one line on stderr and a non-zero exit for every refusal."""
    if len(argv) != 2 or argv[0] not in ("check", "run"):
        print("usage: isso_server.py check|run CONFIG", file=sys.stderr)
        return 2
    command, path = argv[0], Path(argv[1])
    try:
        if command == "check":
            check_config(path)
            print(f"{path}: no placeholder secrets")
        else:
            serve(path)
    except ConfigRefused as exc:
        print(f"isso: refusing to start: {exc}", file=sys.stderr)
        return EX_CONFIG
    except ImportError as exc:
        print(f"isso: cannot start: {exc.name or 'isso'} is not installed in {sys.prefix} (pip install isso==0.14.0)",
              file=sys.stderr)
        return EX_UNAVAILABLE
    except OSError as exc:
        print(f"isso: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
