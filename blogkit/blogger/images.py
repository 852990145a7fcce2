"""Download images from Blogger's hosts only (checked on every redirect); a failure is reported, never fatal."""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlparse

MAX_BYTES = 50 * 1024 * 1024
TIMEOUT = 30
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
              "image/svg+xml": ".svg", "image/bmp": ".bmp"}


MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Fetched:
    data: bytes | None
    content_type: str | None
    error: str | None


class Refused(Exception):
    """A download the importer will not make: not a Blogger image host, another port, or a non-public address."""


def _system_resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def check_url(url: str, resolve: Callable[[str], list[str]] | None = None) -> str:
    """Return the one public address to connect to for a Blogger image URL, or raise Refused saying why.

    Only Blogger's image hosts, only on their default port, and only when every address the name
    resolves to is public: a redirect (or a DNS answer) pointing at 127.0.0.1, 10.x, 169.254.x
    and the like would otherwise let an export read the importing machine's own network.
    """
    from .convert import IMAGE_HOST

    parts = urlparse(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in DEFAULT_PORTS:
        raise Refused(f"refused: {parts.scheme or 'no'} scheme (only http and https)")
    if not IMAGE_HOST.match(host):
        raise Refused(f"refused: {host or 'no host'} is not one of Blogger's image hosts")
    try:
        port = parts.port
    except ValueError:
        raise Refused("refused: unreadable port") from None
    if port not in (None, DEFAULT_PORTS[parts.scheme]):
        raise Refused(f"refused: port {port} (Blogger's image hosts answer on the default port only)")
    if parts.username or parts.password:
        raise Refused("refused: the URL carries a user name or password")
    try:
        addresses = (resolve or _system_resolve)(host)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise Refused(f"cannot resolve {host}")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise Refused(f"refused: {host} resolves to {address}, not a public address")
    return addresses[0]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand every redirect back to fetch(), which checks the new address before following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, msg, headers, fp)


def _pinned(base):
    """An HTTP(S) connection that connects to the address check_url approved, never to a fresh DNS answer."""

    class Pinned(base):
        address: str | None = None

        def connect(self):
            address = type(self).address
            if address:
                create = self._create_connection
                self._create_connection = lambda where, *a, **k: create((address, where[1]), *a, **k)
            super().connect()

    return Pinned


def _opener(address: str, proxy: str | None) -> urllib.request.OpenerDirector:
    if proxy:  # tests only: the proxy answers for Blogger's hosts
        return urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}), _NoRedirects)
    http_conn, https_conn = _pinned(http.client.HTTPConnection), _pinned(http.client.HTTPSConnection)
    http_conn.address = https_conn.address = address

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_conn, req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_conn, req, context=self._context)

    # No proxy from the environment: the connection must go to the address that was checked.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), HTTP, HTTPS, _NoRedirects)


def fetch(url: str, proxy: str | None = None, resolve: Callable[[str], list[str]] | None = None) -> Fetched:
    """GET a Blogger image; return its bytes, or the reason it could not (or would not) be had.

    Redirects are followed by hand, each new address checked like the first. `proxy` and
    `resolve` exist for tests, which reach "Blogger" through a proxy on 127.0.0.1 and a
    resolver giving public addresses; the host, port, address and redirect checks run either way.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            address = check_url(url, resolve)
        except Refused as exc:
            return Fetched(None, None, f"{exc} ({url})" if _hop else str(exc))
        use = _opener(address, proxy)
        request = urllib.request.Request(url, headers={"User-Agent": "blogkit-import-blogger/1"})
        try:
            with use.open(request, timeout=TIMEOUT) as response:
                content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if not content_type.startswith("image/"):
                    return Fetched(None, content_type, f"not an image (Content-Type {content_type or 'missing'})")
                data = response.read(MAX_BYTES + 1)
                if len(data) > MAX_BYTES:
                    return Fetched(None, content_type, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
                return Fetched(data, content_type, None)
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if exc.code in (301, 302, 303, 307, 308) else None
            exc.close()
            if not location:
                return Fetched(None, None, f"HTTP {exc.code} {exc.reason}")
            url = urljoin(url, location)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return Fetched(None, None, f"{type(exc).__name__}: {reason}")
    return Fetched(None, None, f"more than {MAX_REDIRECTS} redirects")


def file_name(url: str, content_type: str | None, taken: set[str]) -> str:
    """Pick a safe file name for an image URL, unique inside one post's folder."""
    path = unquote(urlparse(url).path)
    base = PurePosixPath(path.split("=")[0]).name
    stem, _, ext = base.rpartition(".")
    if not stem:
        stem, ext = base, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:80] or "image"
    ext = ext.lower() if ext and re.fullmatch(r"[A-Za-z0-9]{2,5}", ext) else ""
    if not ext:
        ext = EXTENSIONS.get(content_type or "", ".img").lstrip(".")
    name = f"{stem}.{ext}"
    number = 2
    while name.lower() in taken:
        name = f"{stem}-{number}.{ext}"
        number += 1
    taken.add(name.lower())
    return name
