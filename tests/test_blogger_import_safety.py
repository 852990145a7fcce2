"""The importer stays inside its folder, downloads only from Blogger, and never crashes on bad markup."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from blogkit.blogger import MANIFEST, Options, import_blogger
from blogkit.blogger.images import Refused, check_url, fetch
from conftest import handler_server

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "blogger"
PUBLIC = lambda host: ["142.250.80.1"]  # noqa: E731 - a public address for Blogger's names (no DNS in tests)


@pytest.mark.parametrize("fixture", ["traversal-classic.xml", "traversal-2018.xml"])
def test_a_post_path_with_dot_dot_is_refused_and_nothing_lands_outside(tmp_path, fixture):
    content = tmp_path / "a" / "b" / "content"
    # Where content/comments/../../../../tmp/elsewhere/victim.json would resolve to.
    victim = tmp_path / "tmp" / "elsewhere" / "victim.json"
    victim.parent.mkdir(parents=True)
    victim.write_text("precious\n", encoding="utf-8")
    before = sorted(p for p in tmp_path.rglob("*"))
    report = import_blogger(FIXTURES / fixture, Options(content=content, download_images=False))
    assert victim.read_text(encoding="utf-8") == "precious\n"
    outside = [p for p in tmp_path.rglob("*") if p not in before and not p.is_relative_to(content)]
    assert outside == [p for p in [tmp_path / "a", tmp_path / "a" / "b"] if p in outside]  # only content's parents
    assert not any("TRAVERSAL-TEXT" in p.read_text(encoding="utf-8") for p in content.rglob("*.md"))
    assert (content / "posts/2010/02/harmless.md").is_file()
    assert [p.what for p in report.problems] == ["post Victim at '../../../../tmp/elsewhere/victim.html'"]
    assert "climbs out of the site" in report.problems[0].reason
    assert "problem   post Victim" in report.summary()
    assert report.counts.get("comments", 0) == 0


def test_the_last_guard_refuses_a_resolved_path_outside_content(tmp_path):
    from blogkit.blogger.importer import Report, _Manifest

    content = tmp_path / "content"
    (content / "comments").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (content / "comments" / "link").symlink_to(tmp_path / "outside")  # a symlink out of content/
    report = Report()
    manifest = _Manifest(content, {})
    manifest.write("comments/link/x.json", "{}", Options(content=content), report)
    manifest.write("comments/../../escape.json", "{}", Options(content=content), report)
    assert not (tmp_path / "outside" / "x.json").exists() and not (tmp_path / "escape.json").exists()
    assert [p.what for p in report.problems] == ["comments/link/x.json", "comments/../../escape.json"]
    assert report.written == []


def test_markup_the_parser_rejects_is_reported_for_that_post_not_a_traceback(tmp_path):
    report = import_blogger(FIXTURES / "rejected-markup.xml", Options(content=tmp_path, download_images=False))
    assert (tmp_path / "posts/2012/05/fine.md").is_file()
    assert "2012/05/unparseable.html: markup the HTML parser rejects" in report.summary()


def test_the_importer_guards_its_call_sites_if_the_converter_raises(tmp_path, monkeypatch):
    """convert.py reads rejected markup as a browser would; should a parser still give up, the post is reported."""
    from bs4.exceptions import ParserRejectedMarkup

    from blogkit.blogger import convert

    real = convert.to_markdown

    def rejecting(raw, *args, **kwargs):
        if "<![>" in raw:
            raise ParserRejectedMarkup("expected name token")
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(convert, "to_markdown", rejecting)
    report = import_blogger(FIXTURES / "rejected-markup.xml", Options(content=tmp_path, download_images=False))
    assert (tmp_path / "posts/2012/05/fine.md").is_file()
    assert not (tmp_path / "posts/2012/05/unparseable.md").exists()
    assert len(report.problems) == 1 and "2012/05/unparseable.html" in report.problems[0].what
    assert "could not be parsed (expected name token)" in report.problems[0].reason


def test_the_task_prints_a_refused_entry_and_exits_non_zero(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "import-blogger", str(FIXTURES / "traversal-classic.xml"),
         "--content", str(tmp_path / "content"), "--no-download-images"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "problem   post Victim at '../../../../tmp/elsewhere/victim.html'" in done.stdout
    assert "1 entr(ies) not imported" in done.stderr
    assert (tmp_path / "content" / MANIFEST).is_file()


@pytest.mark.parametrize(("url", "why"), [
    ("http://1.bp.blogspot.com:8080/a/s1600/x.jpg", "port 8080"),
    ("https://blogger.googleusercontent.com:444/img/x.png", "port 444"),
    ("http://127.0.0.1/x.png", "not one of Blogger's image hosts"),
    ("http://evil.example/x.png", "not one of Blogger's image hosts"),
    ("file:///etc/passwd", "scheme"),
    ("http://user:pw@1.bp.blogspot.com/x.jpg", "user name"),
])
def test_only_blogger_image_hosts_on_the_default_port(url, why):
    with pytest.raises(Refused, match=why):
        check_url(url, PUBLIC)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.5", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"])
def test_a_blogger_name_resolving_to_a_non_public_address_is_refused(address):
    with pytest.raises(Refused, match="not a public address"):
        check_url("http://1.bp.blogspot.com/a/s1600/x.jpg", lambda host: [address])


class Hosts(BaseHTTPRequestHandler):
    """A proxy for 'Blogger' on 127.0.0.1 that answers 302 to an internal address, and serves that address too."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requested.append(self.path)
        port = self.server.server_address[1]
        if self.path == "http://1.bp.blogspot.com/a/s1600/inside.jpg":
            self._redirect(f"http://127.0.0.1:{port}/secret.png")
        elif self.path == "http://1.bp.blogspot.com/a/s1600/moved.jpg":
            self._redirect("http://2.bp.blogspot.com/a/s1600/moved.jpg")
        elif self.path in ("/secret.png", "http://2.bp.blogspot.com/a/s1600/moved.jpg"):
            body = b"\x89PNG\r\n\x1a\nSECRET" if "secret" in self.path else b"\xff\xd8\xffMOVED"
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def _redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hosts():
    with handler_server(Hosts) as server:
        yield server


def test_a_redirect_to_127_0_0_1_is_refused_and_never_requested(hosts):
    proxy = f"http://127.0.0.1:{hosts.server_address[1]}"
    got = fetch("http://1.bp.blogspot.com/a/s1600/inside.jpg", proxy, resolve=PUBLIC)
    assert got.data is None and "not one of Blogger's image hosts" in got.error
    assert hosts.requested == ["http://1.bp.blogspot.com/a/s1600/inside.jpg"]  # /secret.png never asked for


def test_a_redirect_to_another_blogger_host_is_followed(hosts):
    proxy = f"http://127.0.0.1:{hosts.server_address[1]}"
    got = fetch("http://1.bp.blogspot.com/a/s1600/moved.jpg", proxy, resolve=PUBLIC)
    assert got.error is None and got.data == b"\xff\xd8\xffMOVED"


def test_a_redirect_to_a_blogger_name_on_a_private_address_is_refused(hosts):
    proxy = f"http://127.0.0.1:{hosts.server_address[1]}"
    resolve = {"1.bp.blogspot.com": ["142.250.80.1"], "2.bp.blogspot.com": ["10.0.0.7"]}.__getitem__
    got = fetch("http://1.bp.blogspot.com/a/s1600/moved.jpg", proxy, resolve=resolve)
    assert got.data is None and "10.0.0.7, not a public address" in got.error
    assert hosts.requested == ["http://1.bp.blogspot.com/a/s1600/moved.jpg"]


def test_without_a_proxy_the_connection_goes_to_the_address_that_was_checked(hosts):
    """The production path pins the connection to the checked address: no second DNS answer is used."""
    import urllib.request

    from blogkit.blogger.images import _opener

    port = hosts.server_address[1]
    # The sandbox cannot resolve 1.bp.blogspot.com; the request still reaches the pinned address.
    request = urllib.request.Request(f"http://1.bp.blogspot.com:{port}/secret.png")
    with _opener("127.0.0.1", None).open(request, timeout=10) as response:
        assert response.read().endswith(b"SECRET")
    assert hosts.requested == ["/secret.png"]
