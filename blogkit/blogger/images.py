"""Download images from Blogger's hosts; a failure is reported, never fatal."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

MAX_BYTES = 50 * 1024 * 1024
TIMEOUT = 30
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
              "image/svg+xml": ".svg", "image/bmp": ".bmp"}


@dataclass
class Fetched:
    data: bytes | None
    content_type: str | None
    error: str | None


def fetch(url: str, opener: urllib.request.OpenerDirector | None = None) -> Fetched:
    """GET an image; return its bytes, or the reason it could not be had."""
    opener = opener or urllib.request.build_opener()
    request = urllib.request.Request(url, headers={"User-Agent": "blogkit-import-blogger/1"})
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                return Fetched(None, content_type, f"not an image (Content-Type {content_type or 'missing'})")
            data = response.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                return Fetched(None, content_type, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
            return Fetched(data, content_type, None)
    except urllib.error.HTTPError as exc:
        return Fetched(None, None, f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Fetched(None, None, f"{type(exc).__name__}: {reason}")


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
