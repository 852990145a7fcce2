"""The local comment server and the export, against a real Isso (isso==0.14.0) on 127.0.0.1."""

import datetime as dt
import json
import re
import subprocess
import sys
import urllib.request

import pytest

from blogkit.build import ROOT
from blogkit.comments import export_comments, site_thread_ids, start_isso
from conftest import free_port, wait_for_port

SITE = "http://127.0.0.1:8000"
SEED = "/2007/01/psychotherapy-of-sales.html"


def new_comment(isso, uri, **fields):
    body = json.dumps({"title": "A post", **fields}).encode()
    request = urllib.request.Request(f"{isso.url}/new?uri={uri}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Origin": SITE})
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response)


def signed_link(isso, action, comment_id):
    """The approve/delete link Isso puts in the moderator's notification (here: its stdout log)."""
    [link] = re.findall(rf"{action.capitalize()} comment: (\S+/id/{comment_id}/{action}/\S+)", isso.log_text())
    return link


def activate(isso, comment_id):
    with urllib.request.urlopen(urllib.request.Request(signed_link(isso, "activate", comment_id), method="POST")) as r:
        assert r.read() == b"Comment has been activated"


@pytest.fixture
def isso(tmp_path):
    # Guard off: every comment here comes from one address within seconds, replies to itself included.
    server = start_isso(tmp_path / "isso", free_port(), [SITE], admin_password="pw", guard=False)
    yield server
    server.stop()


def test_moderation_holds_comments_and_export_writes_only_approved_ones(isso, site, tmp_path):
    status, first = new_comment(isso, "/2020/05/a.html", text="First, *approved*.", author="Ann & Bob",
                                website="https://ann.example/")
    assert status == 202 and first["mode"] == 2
    _, pending = new_comment(isso, "/2020/05/a.html", text="Still waiting for the moderator.")
    activate(isso, first["id"])
    _, reply = new_comment(isso, "/2020/05/a.html", text="A reply, approved.", parent=first["id"])
    activate(isso, reply["id"])

    folder = tmp_path / "comments"
    result = export_comments(isso.url, ["/2020/05/a.html", "/2020/05/b.html"], folder, dt.timezone.utc)
    path = folder / "2020/05/a.json"
    assert result.written == {path: 2} and result.threads == 2
    data = json.loads(path.read_text())
    assert data["post"] == "2020/05/a.html" and data["source"] == "Isso"
    by_id = {c["id"]: c for c in data["comments"]}
    assert set(by_id) == {f"isso-{first['id']}", f"isso-{reply['id']}"}  # the pending one stays out
    top = by_id[f"isso-{first['id']}"]
    assert top["author"] == "Ann & Bob" and top["url"] == "https://ann.example/" and top["parent"] is None
    assert top["body"] == "<p>First, <em>approved</em>.</p>"
    assert by_id[f"isso-{reply['id']}"]["parent"] == top["id"]
    assert "Still waiting" not in path.read_text()

    # The exported file builds and renders threaded.
    site.post("a")
    site.post("b", date="2020-05-03 10:00")
    site.write("comments/2020/05/a.json", path.read_text())
    site.build(COMMENTS={"provider": None})
    html = site.read("2020/05/a.html")
    assert "First, <em>approved</em>." in html and 'class="comment-replies"' in html and "Ann &amp; Bob" in html

    # Exporting again replaces, never duplicates.
    export_comments(isso.url, ["/2020/05/a.html"], folder, dt.timezone.utc)
    assert len(json.loads(path.read_text())["comments"]) == 2
    assert pending["id"] not in {int(c["id"].split("-")[1]) for c in json.loads(path.read_text())["comments"]}


def test_export_keeps_archived_blogger_comments(isso, tmp_path):
    folder = tmp_path / "comments"
    seed = (ROOT / "content/comments/2007/01/psychotherapy-of-sales.json").read_text()
    (folder / "2007/01").mkdir(parents=True)
    (folder / "2007/01/psychotherapy-of-sales.json").write_text(seed)
    _, comment = new_comment(isso, SEED, text="Fifteen years later: still true.")
    activate(isso, comment["id"])
    export_comments(isso.url, [SEED], folder, dt.timezone.utc)
    data = json.loads((folder / "2007/01/psychotherapy-of-sales.json").read_text())
    assert data["source"] == "Blogger + Isso"
    assert [c["id"] for c in data["comments"]] == ["c1", f"isso-{comment['id']}"]


def test_export_finds_the_threads_of_the_real_site(isso):
    assert SEED in site_thread_ids(ROOT / "pelicanconf.py", isso.url)


def test_signed_delete_link_removes_a_pending_comment(isso):
    _, comment = new_comment(isso, "/2020/05/a.html", text="Spam spam spam.")
    with urllib.request.urlopen(urllib.request.Request(signed_link(isso, "delete", comment["id"]), method="POST")) as r:
        assert r.read() == b"Comment has been deleted"
    activate_link = signed_link(isso, "activate", comment["id"])
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(urllib.request.Request(activate_link, method="POST"))
    assert gone.value.code == 404


def test_comments_server_task_prints_the_admin_url_and_stops_with_its_isso(tmp_path):
    port = free_port()
    task = subprocess.Popen(
        [sys.executable, "-m", "invoke", "comments-server", f"--port={port}", "--site-port=8765", "--password=s3cret"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = [task.stdout.readline() for _ in range(3)]
        assert lines[1].startswith(f"Admin:  http://127.0.0.1:{port}/admin/  password: s3cret"), lines
        assert "moderation on" in lines[0] and f"ISSO_URL=http://127.0.0.1:{port}" in lines[2]
        wait_for_port(port, task)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config") as response:
            assert response.status == 200
        login = urllib.request.Request(f"http://127.0.0.1:{port}/login/", data=b"password=s3cret", method="POST")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(login) as response:
            assert "Administration" in response.read().decode() and response.url.endswith("/admin/")
    finally:
        task.terminate()
        task.wait(timeout=15)
    with pytest.raises(OSError):  # its Isso went with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2)


def test_production_template_is_a_moderated_isso_config():
    from isso import config

    conf = config.load(config.default_file(), str(ROOT / "docs/isso.production.cfg"))
    assert conf.getboolean("moderation", "enabled") is True
    assert conf.getboolean("moderation", "approve-if-email-previously-approved") is False
    assert conf.get("general", "notify") == "smtp" and conf.get("smtp", "to")
    assert conf.getboolean("admin", "enabled") is True
    assert list(conf.getiter("general", "host")) == ["https://blog.example.com"]
    assert conf.get("server", "public-endpoint").startswith("https://")
    assert conf.get("server", "listen") == "http://127.0.0.1:8080/"
    assert conf.getboolean("general", "gravatar") is False


def test_deleted_comment_with_replies_hands_them_to_its_parent():
    from blogkit.comments import to_archived

    comments = [
        {"id": 1, "parent": None, "mode": 1, "author": None, "website": None, "created": 0, "text": "<p>a</p>"},
        {"id": 2, "parent": 1, "mode": 4, "author": "x", "website": None, "created": 1, "text": ""},
        {"id": 3, "parent": 2, "mode": 1, "author": "y", "website": "javascript:x", "created": 2, "text": "<p>c</p>"},
    ]
    archived = to_archived(comments, dt.timezone.utc)
    assert [(c["id"], c["parent"], c["author"], c["url"]) for c in archived] == [
        ("isso-1", None, "Anonymous", None), ("isso-3", "isso-1", "y", None)]
    assert archived[0]["date"] == "1970-01-01T00:00:00+00:00"
