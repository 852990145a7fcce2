"""Every task answers like a well-made command: --help never acts, an expected failure is one clear line.

Each runs as the author runs it (`python -m invoke ...`) in a copy of the project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blogkit.build import ROOT
from tests.test_livereload import child_env, copy_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("tasks") / "blog")


def invoke(project: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=project, env=env or child_env(),
                          capture_output=True, text=True, timeout=timeout)


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def task_names() -> list[str]:
    listed = subprocess.run([sys.executable, "-m", "invoke", "--list", "--list-format", "json"], cwd=ROOT,
                            capture_output=True, text=True, check=True, env=child_env()).stdout
    return [entry["name"] for entry in json.loads(listed)["tasks"]]


def test_every_task_is_listed_here():
    # A new task gets its --help checked below without anyone adding it by hand.
    assert {"build", "serve", "livereload", "new-post", "import-blogger", "check", "publish"} <= set(task_names())


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("where", ["alone", "after a value"])
def test_help_after_any_task_shows_its_help_and_does_nothing(project, name, where):
    before = files(project)
    args = [name, "--help"] if where == "alone" else [name, "Some title", "--help"]
    if where == "after a value" and name not in ("new-post", "import-blogger"):
        args = [name, "--help"]
    run = invoke(project, *args, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"Usage: inv[oke] [--core-opts] {name}"), run.stdout
    assert "Docstring:" in run.stdout and run.stderr == ""
    assert files(project) == before, f"{name} --help changed files"


def test_new_post_prints_the_file_and_the_preview_address_then_refuses_a_second(project):
    run = invoke(project, "new-post", "Backups: why bother?")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Created content/posts/") and lines[0].endswith("/backups-why-bother.md (Status: draft)")
    assert lines[1] == ("Preview: http://127.0.0.1:8000/drafts/backups-why-bother.html "
                        "while `uv run invoke livereload` runs")
    path = project / lines[0].split()[1]
    text = path.read_text(encoding="utf-8")
    again = invoke(project, "new-post", "Backups: why bother?")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.splitlines() == [f"new-post: {path} already exists: pick another title or edit that file"]
    assert path.read_text(encoding="utf-8") == text
    path.unlink()


@pytest.mark.parametrize("args, line", [
    (["new-post", ""], 'new-post: a post needs a title: invoke new-post "My title"'),
    (["serve", "--port", "abc"], "--port must be a number from 1 to 65535, not 'abc'"),
    (["livereload", "--port", "70000"], "--port must be a number from 1 to 65535, not '70000'"),
    (["build", "--content", "no-such-folder"], "build: there is no content folder no-such-folder: give --content an existing folder"),
    (["import-blogger", "no-such-export.xml"], "import-blogger: no-such-export.xml: no such file (give the .xml or feed.atom file Blogger exported)"),
    (["check", "--output", "no-such-site"], "check: {project}/no-such-site is not a built site (no index.html): build it first with `uv run invoke build`"),
    (["comments-export", "--isso", "http://127.0.0.1:1"],
     "comments-export: cannot reach Isso at http://127.0.0.1:1 ([Errno 111] Connection refused): start it with "
     "`uv run invoke comments-server`, or name the running one with --isso URL"),
    (["no-such-task"], "No idea what 'no-such-task' is!"),
])
def test_an_expected_failure_is_one_clear_line(project, args, line):
    before = files(project)
    run = invoke(project, *args, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[0] == line.format(project=project), run.stderr
    assert files(project) == before


def test_check_and_publish_without_java_say_how_to_install_it(project, tmp_path):
    no_java = {**child_env(), "PATH": str(tmp_path)}  # an empty PATH: no java (and no git)
    for name in ("check", "publish"):
        run = invoke(project, name, env=no_java, timeout=60)
        assert run.returncode == 1
        assert run.stderr.strip().splitlines() == [
            f"{name}: Java is missing, and the gate's HTML check (the Nu HTML checker) needs it: "
            "install Java 17 (e.g. apt-get install default-jre-headless)"]


def test_check_of_a_local_build_passes_with_its_draft_previews_and_production_checks_the_publish_build(project):
    draft = project / "content/posts/2026/plans.md"
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text("Title: Plans\nDate: 2026-01-01 10:00\nSlug: plans\nStatus: draft\n\nNot yet.\n", encoding="utf-8")
    try:
        assert invoke(project, "build").returncode == 0
        assert (project / "output/drafts/plans.html").is_file()
        run = invoke(project, "check")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "passed the gate" in run.stdout
        assert ("note: 1 draft preview(s) left out of the check (pelicanconf.py writes them for previewing); "
                "`uv run invoke check --production` checks the site publish would write") in run.stdout
        run = invoke(project, "check", "--production")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "The production build passed the gate" in run.stdout and "nothing committed" in run.stdout
        assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"blog-publish-{os.getpid()}-*"))
    finally:
        draft.unlink()


def test_no_run_prints_pelicans_feed_warning(project):
    run = invoke(project, "build")
    assert run.returncode == 0, run.stderr
    assert "Feeds generated without SITEURL" not in run.stdout + run.stderr


def test_a_post_left_out_for_its_own_problem_gets_no_hint_to_delete_its_comments(project):
    source = project / "content/posts/2007/psychotherapy-of-sales.md"
    original = source.read_text(encoding="utf-8")
    source.write_text(original.replace("Date: 2007-01-11", "Date: 2007-13-45", 1), encoding="utf-8")
    try:
        run = invoke(project, "build")
    finally:
        source.write_text(original, encoding="utf-8")
    assert run.returncode == 1
    assert "content/posts/2007/psychotherapy-of-sales.md" in run.stderr and "2007-13-45" in run.stderr
    comments = [line for line in run.stderr.splitlines() if "content/comments/2007/01/psychotherapy-of-sales.json" in line]
    assert comments and all("delete" not in line for line in comments), run.stderr
    assert "was left out for its own problem" in comments[0] and "keep this file" in comments[0]


def test_a_killed_builds_leftovers_go_at_the_next_build(project):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    staging = project / f".output.building-{dead}-x1y2"
    replaced = project / f".output.old-{dead}-abcd1234"
    alive = project / f".output.building-{os.getpid()}-live"  # a build still running in a live process
    for folder in (staging, replaced, alive):
        (folder / "2007").mkdir(parents=True)
        (folder / "index.html").write_text("half a site", encoding="utf-8")
    try:
        run = invoke(project, "build")
        assert run.returncode == 0, run.stderr
        assert not staging.exists() and not replaced.exists()
        assert alive.exists()
        assert [p.name for p in project.glob(".output.*")] == [alive.name]
    finally:
        import shutil

        shutil.rmtree(alive, ignore_errors=True)


def run_on_a_terminal(project: Path, *args: str, **extra) -> tuple[int, str]:
    """Run a task with its stdout and stderr on a pseudo-terminal, as in an author's shell."""
    import pty

    primary, secondary = pty.openpty()
    environ = {**child_env(), "TERM": "xterm", **extra}
    process = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=project, env=environ,
                               stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_a_build_shows_a_live_status_line_on_a_terminal_and_nothing_in_a_pipe_or_ci(project):
    code, shown = run_on_a_terminal(project, "build")
    assert code == 0, shown
    assert "\r\x1b[KBuilding: " in shown and "files written" in shown
    assert "Built " in shown
    piped = invoke(project, "build")
    assert piped.returncode == 0 and "Building: " not in piped.stdout + piped.stderr and "\r" not in piped.stderr
    code, shown = run_on_a_terminal(project, "build", CI="true")
    assert code == 0 and "Built " in shown and "Building: " not in shown


def test_the_status_line_says_what_a_build_does_as_soon_as_its_run_opens_not_at_the_next_tick(tmp_path, monkeypatch):
    # A build shorter than the line's tick (0.5 s) must still show "files written": CI once caught a
    # 0.3 s build whose only line was "starting".
    import io

    from blogkit import progress, runhooks

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = Terminal()
    monkeypatch.setenv("CI", "")
    monkeypatch.setenv("TERM", "xterm")
    with progress.build_status(shown):
        time.sleep(0.05)  # the first tick has drawn "starting"
        run = runhooks.begin(tmp_path / "output", tmp_path / "staging", {"PATH": str(tmp_path)})
        try:
            assert "files written" in shown.getvalue()
        finally:
            runhooks.end(run, False)
    assert "Building: starting" in shown.getvalue()
