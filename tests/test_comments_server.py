"""The local comment server and the export, against a real Isso (isso==0.14.0) on 127.0.0.1."""

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from blogkit.build import ROOT
from blogkit.comments import export_comments, site_thread_ids, start_isso
from conftest import free_port, wait_for_port
from tests.test_livereload import child_env, copy_project

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


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("comments-server") / "blog")


def run_task(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invoke", "comments-server", *args], cwd=project,
                          env=env or child_env(), capture_output=True, text=True, timeout=60)


def test_comments_server_task_takes_the_password_from_the_environment_never_argv_and_stops_with_its_isso(project):
    port, password = free_port(), "s3cret-from-the-environment"
    task = subprocess.Popen(
        [sys.executable, "-m", "invoke", "comments-server", f"--port={port}", "--site-port=8765"],
        cwd=project, env={**child_env(), "ISSO_ADMIN_PASSWORD": password},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = [task.stdout.readline() for _ in range(3)]
        assert lines[1].startswith(f"Admin:  http://127.0.0.1:{port}/admin/  password: $ISSO_ADMIN_PASSWORD"), lines
        assert password not in "".join(lines)
        assert "moderation on" in lines[0] and f"ISSO_URL=http://127.0.0.1:{port}" in lines[2]
        wait_for_port(port, task)
        [isso_pid] = _children(task.pid)
        assert "blogkit.isso_server run" in _cmdline(isso_pid)
        for pid in (task.pid, isso_pid):  # what `ps` shows every user of the machine
            assert password not in _cmdline(pid)
        data = project / "comments-data"
        assert {p.name: p.stat().st_mode & 0o777 for p in data.iterdir()} == {
            "isso.cfg": 0o600, "comments.db": 0o600, "isso.log": 0o600}
        assert data.stat().st_mode & 0o777 == 0o700
        login = urllib.request.Request(f"http://127.0.0.1:{port}/login/", data=f"password={password}".encode(),
                                       method="POST")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(login) as response:
            assert "Administration" in response.read().decode() and response.url.endswith("/admin/")
    finally:
        task.terminate()
        task.wait(timeout=15)
    with pytest.raises(OSError):  # its Isso went with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2)


def test_a_new_random_password_is_printed_when_none_is_set(project):
    port = free_port()
    task = subprocess.Popen([sys.executable, "-m", "invoke", "comments-server", f"--port={port}"], cwd=project,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [task.stdout.readline() for _ in range(2)]
        match = re.match(rf"Admin:  http://127.0.0.1:{port}/admin/  password: (\S+) \(new each run; "
                         r"set \$ISSO_ADMIN_PASSWORD to choose\)$", lines[1].rstrip("\n"))
        assert match and len(match[1]) >= 16, lines
        wait_for_port(port, task)
        [isso_pid] = _children(task.pid)
        assert match[1] not in _cmdline(task.pid) + _cmdline(isso_pid)
    finally:
        task.terminate()
        task.wait(timeout=15)


def test_a_killed_task_leaves_no_isso_running(project):
    import os
    import signal
    import time

    port = free_port()
    task = subprocess.Popen([sys.executable, "-m", "invoke", "comments-server", f"--port={port}"], cwd=project,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        task.stdout.readline()
        wait_for_port(port, task)
        [isso_pid] = _children(task.pid)
    finally:
        task.kill()  # no cleanup at all: its Isso must notice on its own
        task.wait(timeout=15)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{isso_pid}").exists() and "isso_server" in _cmdline(isso_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    gone = not Path(f"/proc/{isso_pid}").exists() or "isso_server" not in _cmdline(isso_pid)
    if not gone:
        os.kill(isso_pid, signal.SIGTERM)
    assert gone


def _without_isso(tmp_path: Path) -> dict:
    """An environment whose Python finds every installed package except isso (a clean uninstall, simulated)."""
    import site

    packages = tmp_path / "site-packages"
    packages.mkdir()
    for entry in Path(site.getsitepackages()[0]).iterdir():
        if not entry.name.lower().startswith("isso"):
            (packages / entry.name).symlink_to(entry)
    return {**child_env(), "PYTHONPATH": str(packages)}


def test_expected_failures_of_the_task_are_one_line_each(project, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = [
            (["--port", "abc"], None, "--port must be a number from 1 to 65535, not 'abc'"),
            (["--site-port", "0"], None, "--site-port must be a number from 1 to 65535, not '0'"),
            ([f"--port={port}"], None,
             f"comments-server: port {port} on 127.0.0.1 is busy: stop what uses it, or choose another with --port"),
            ([f"--port={free_port()}"], {**child_env(), "ISSO_ADMIN_PASSWORD": "CHANGE-ME"},
             "comments-server: refusing to start Isso: {cfg}: [admin] password is still the placeholder "
             "'CHANGE-ME'; set a long random value "
             "(python3 -c \"import secrets; print(secrets.token_urlsafe(24))\") before starting Isso"),
        ]
        for args, env, line in cases:
            run = run_task(project, *args, env=env)
            assert run.returncode != 0 and "Traceback" not in run.stderr, (args, run.stderr)
            assert run.stderr.strip().splitlines() == [line.format(cfg=project / "comments-data/isso.cfg")], args
            assert run.stdout == ""
    # No isso in the environment: `python -S` skips the venv's site-packages, PYTHONPATH gives back all but isso.
    run = subprocess.run([sys.executable, "-S", "-m", "invoke", "comments-server", f"--port={free_port()}"],
                         cwd=project, env=_without_isso(tmp_path), capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.strip().splitlines() == [
        f"comments-server: Isso is not installed for {sys.executable}: run `uv sync` (it installs isso==0.14.0)"]


def test_config_database_and_log_are_created_private_never_widened_then_narrowed(tmp_path, monkeypatch):
    import os

    changed = []
    monkeypatch.setattr(os, "chmod", lambda *a, **k: changed.append(a))
    monkeypatch.setattr(os, "fchmod", lambda *a, **k: changed.append(a))
    old = os.umask(0)  # with no umask, a file written the ordinary way would be 0666
    try:
        server = start_isso(tmp_path / "isso", free_port(), [SITE], admin_password="pw")
    finally:
        os.umask(old)
    try:
        modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "isso").iterdir()}
        assert modes == {"isso.cfg": 0o600, "comments.db": 0o600, "isso.log": 0o600}
        assert (tmp_path / "isso").stat().st_mode & 0o777 == 0o700
        _, comment = new_comment(server, "/2020/05/a.html", text="A first comment.")  # the journal is private too
        assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "isso").iterdir())
        assert changed == []
    finally:
        server.stop()


def post(url: str, uri: str, text: str, forwarded_for: str, source: str = "127.0.0.1") -> int:
    """POST a new comment from `source` (a loopback address) claiming to be `forwarded_for`; the status."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        connection.request("POST", f"/new?uri={uri}", body=json.dumps({"title": "A post", "text": text}),
                           headers={"Content-Type": "application/json", "Origin": SITE,
                                    "X-Forwarded-For": forwarded_for})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_local_servers_rate_limit_holds_against_spoofed_forwarded_for(tmp_path):
    server = start_isso(tmp_path / "isso", free_port(), [SITE], admin_password="pw", guard=True, ratelimit=2)
    try:
        # Each request claims another reader (another /24, as Isso anonymises them); Isso 0.14 alone accepts all.
        statuses = [post(server.url, f"/2020/05/{i}.html", f"Comment number {i}.", f"198.51.{i}.7")
                    for i in range(5)]
    finally:
        server.stop()
    assert statuses == [202, 202, 403, 403, 403]


def production_config(tmp_path: Path, port: int) -> Path:
    """docs/isso.production.cfg with its placeholders filled in, on a local port, mailing nobody."""
    text = (ROOT / "docs/isso.production.cfg").read_text()
    text = text.replace("CHANGE-ME-to-a-long-random-password", "a-long-random-admin-password")
    text = text.replace("salt = CHANGE-ME", "salt = 0123456789abcdef01234567")
    text = text.replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{port}/")
    text = text.replace("/var/lib/isso/comments.db", str(tmp_path / "comments.db"))
    text = text.replace("log-file = /var/log/isso/isso.log", "log-file =")
    text = text.replace("notify = smtp", "notify = stdout").replace("https://blog.example.com", SITE)
    path = tmp_path / "isso.cfg"
    path.write_text(text)
    return path


def launcher(tmp_path: Path) -> Path:
    """blogkit/isso_server.py copied alone into a folder, as the deploy guide installs it."""
    alone = tmp_path / "opt-isso"
    alone.mkdir()
    return Path(shutil.copy(ROOT / "blogkit/isso_server.py", alone / "isso_server.py"))


def test_production_template_believes_forwarded_for_only_from_its_proxy(tmp_path):
    from blogkit.comments import _wait_until_up

    port = free_port()
    config = production_config(tmp_path, port)
    log = (tmp_path / "isso.log").open("wb")
    isso = subprocess.Popen([sys.executable, str(launcher(tmp_path)), "run", str(config)], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", isso, tmp_path / "isso.log")
        url = f"http://127.0.0.1:{port}"
        # From 127.0.0.1, the listed proxy: its X-Forwarded-For names the reader, three readers are three.
        from_proxy = [post(url, f"/p/{i}.html", f"Proxied comment {i}.", f"198.51.{i}.7") for i in range(3)]
        # From 127.0.0.2, not listed: its headers are dropped, and it is one reader however it varies them.
        direct = [post(url, f"/d/{i}.html", f"Direct comment {i}.", f"203.0.{i}.9", source="127.0.0.2")
                  for i in range(4)]
    finally:
        isso.terminate()
        isso.wait(timeout=10)
        log.close()
    assert from_proxy == [202, 202, 202]
    assert direct == [202, 202, 403, 403]


def test_the_checked_start_refuses_the_templates_placeholders_in_one_line(tmp_path):
    script = launcher(tmp_path)
    template = tmp_path / "isso.cfg"
    template.write_text((ROOT / "docs/isso.production.cfg").read_text())

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), command, str(template)], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)

    hint = "set a long random value (python3 -c \"import secrets; print(secrets.token_urlsafe(24))\") before starting Isso"
    for command in ("check", "run"):
        refused = run(command)
        assert refused.returncode == 78 and refused.stdout == ""
        assert refused.stderr.splitlines() == [
            f"isso: refusing to start: {template}: [admin] password is still the placeholder "
            f"'CHANGE-ME-to-a-long-random-password'; {hint}"]
    template.write_text(template.read_text().replace("CHANGE-ME-to-a-long-random-password", "x7Hq-long-and-random"))
    assert run("check").stderr.splitlines() == [
        f"isso: refusing to start: {template}: [hash] salt is still the placeholder 'CHANGE-ME'; {hint}"]
    template.write_text(template.read_text().replace("salt = CHANGE-ME", "salt = "))
    assert run("check").stderr.splitlines() == [f"isso: refusing to start: {template}: [hash] salt is empty; {hint}"]
    template.write_text(template.read_text().replace("salt = ", "salt = 9f8e7d6c5b4a"))
    ok = run("check")
    assert ok.returncode == 0 and ok.stdout == f"{template}: no placeholder secrets\n" and ok.stderr == ""
    assert not (tmp_path / "comments.db").exists()  # `check` starts nothing


def test_deploy_guide_runs_isso_through_the_checked_start():
    guide = (ROOT / "docs/comments.md").read_text()
    assert "ExecStart=/opt/isso/bin/python /opt/isso/isso_server.py run /etc/isso/isso.cfg" in guide
    assert "RestartPreventExitStatus=78" in guide and "UMask=0077" in guide
    assert "/opt/isso/bin/isso -c" not in guide  # the unchecked start, which believes any X-Forwarded-For
    assert "limit_req_zone" in guide and "location = /login/" in guide


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
    # Only the proxy in front may say who the reader is (isso_server.py enforces it; see the test above).
    assert list(conf.getiter("server", "trusted-proxies")) == ["127.0.0.1"]


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
