"""Image download against a local HTTP server standing in for Blogger's image hosts.

The test cannot reach bp.blogspot.com, so a server on 127.0.0.1 acts as the HTTP
proxy the importer's downloads go through: the importer requests the real
Blogger URLs (we assert which), the server answers them from memory.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from blogkit.blogger import Options, import_blogger
from conftest import free_port, handler_server

FIXTURE = Path(__file__).parent / "fixtures" / "blogger" / "classic.xml"
JPEG = b"\xff\xd8\xff\xe0" + b"server room" * 20
PNG = b"\x89PNG\r\n\x1a\n" + b"rack" * 20
IMAGES = {
    "http://1.bp.blogspot.com/_abc/R1/AAAA/xyz/s1600/server-room.jpg": ("image/jpeg", JPEG),
    "http://blogger.googleusercontent.com/img/b/R29v/AVvX/s0/rack.png": ("image/png", PNG),
}


class FakeBloggerHosts(BaseHTTPRequestHandler):
    requested: list[str]

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requested.append(self.path)  # a proxy request line carries the full URL
        found = IMAGES.get(self.path)
        if found is None:
            self.send_error(404, "Not Found")
            return
        content_type, data = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_proxy():
    """A proxy on 127.0.0.1 answering for Blogger's image hosts; stopped after the test."""
    with handler_server(FakeBloggerHosts) as server:
        yield server


def via(port: int) -> dict:
    """Options reaching "Blogger" through the proxy; a resolver giving the hosts a public address.

    Faked because the test cannot reach Blogger or its DNS: the address is never connected to
    (the proxy is), but the importer's check that it is public still runs on it.
    """
    return {"proxy": f"http://127.0.0.1:{port}", "resolve": lambda host: ["142.250.80.1"]}


def test_images_are_downloaded_at_their_largest_size_into_the_post_folder(site, image_proxy):
    port = image_proxy.server_address[1]
    report = import_blogger(FIXTURE, Options(content=site.content, **via(port)))
    assert sorted(image_proxy.requested) == sorted([*IMAGES, "http://2.bp.blogspot.com/_abc/R2/AAAA/zzz/s1600/missing.png"])
    assert (site.content / "posts/2007/03/backups-nobody-tests/server-room.jpg").read_bytes() == JPEG
    assert (site.content / "posts/2007/12/year-end-thoughts/rack.png").read_bytes() == PNG
    post = (site.content / "posts/2007/03/backups-nobody-tests.md").read_text(encoding="utf-8")
    assert "![The server room]({attach}backups-nobody-tests/server-room.jpg)" in post
    # The failed one keeps its (largest) original URL and is reported; the import went on.
    assert "](http://2.bp.blogspot.com/_abc/R2/AAAA/zzz/s1600/missing.png)" in post
    assert report.images_failed == [("http://2.bp.blogspot.com/_abc/R2/AAAA/zzz/s1600/missing.png", "HTTP 404 Not Found")]
    assert "image failed http://2.bp.blogspot.com/" in report.summary()
    assert report.counts["images_downloaded"] == 2

    site.build()
    assert (site.output / "2007/03/backups-nobody-tests/server-room.jpg").read_bytes() == JPEG
    assert 'src="/2007/03/backups-nobody-tests/server-room.jpg"' in site.read("2007/03/backups-nobody-tests.html")
    assert 'src="/2007/12/year-end-thoughts/rack.png"' in site.read("2007/12/year-end-thoughts.html")

    # A re-run downloads nothing again and changes nothing.
    image_proxy.requested.clear()
    again = import_blogger(FIXTURE, Options(content=site.content, **via(port)))
    assert image_proxy.requested == ["http://2.bp.blogspot.com/_abc/R2/AAAA/zzz/s1600/missing.png"]
    assert again.written == [] and again.counts["images_kept"] == 2


def test_unreachable_image_host_is_reported_never_fatal(tmp_path):
    closed = free_port()  # nothing listens there
    report = import_blogger(FIXTURE, Options(content=tmp_path, **via(closed)))
    assert len(report.images_failed) == 3
    assert all("URLError" in reason for _, reason in report.images_failed)
    assert report.counts["posts"] == 5
    post = (tmp_path / "posts/2007/03/backups-nobody-tests.md").read_text(encoding="utf-8")
    assert "http://1.bp.blogspot.com/_abc/R1/AAAA/xyz/s1600/server-room.jpg" in post


def test_no_download_images_leaves_urls_and_fetches_nothing(tmp_path, image_proxy):
    port = image_proxy.server_address[1]
    import_blogger(FIXTURE, Options(content=tmp_path, download_images=False, **via(port)))
    assert image_proxy.requested == []
    assert not (tmp_path / "posts/2007/03/backups-nobody-tests").exists()
