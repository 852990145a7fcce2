"""`invoke publish` against real git: a clone of the project, a local bare repository as origin.

Nothing here is faked: the project's files are committed to a fresh repository,
pushed to a bare repository, cloned, and `python -m invoke publish --push` runs
in the clone as the author would run it. (GitHub itself is never contacted: a
bare repository stands in for it, and nothing here needs the GitHub API.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blogkit.build import ROOT
from blogkit.publish import cname_for, commit_message

POST = "2007/01/psychotherapy-of-sales.html"
IDENTITY = {"GIT_AUTHOR_NAME": "Author", "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Author", "GIT_COMMITTER_EMAIL": "author@example.com"}
DRAFT = """\
Title: Secret Plans For World Domination
Date: 2026-01-01 10:00
Slug: secret-plans
Category: Consulting
Status: draft

First we take the printers, then we take the fax machines of the whole office.
"""


# The repository variables a real deployment sets (placeholders are refused with --push).
PRODUCTION = {"SITEURL": "https://notes.consultant.net", "ISSO_URL": "https://comments.consultant.net"}


def env(**production) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "SITEURL", "PUBLISH_CNAME", "ISSO_URL", "CI")}
    return {**clean, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", **PRODUCTION, **production}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env(), check=True, capture_output=True, text=True).stdout.strip()


def project_files() -> list[str]:
    """The project as a clone would have it: tracked and new files, nothing ignored (no output/, no .venv)."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture
def clone(tmp_path) -> Path:
    """A clone of the project whose origin is a local bare repository."""
    source, bare, work = tmp_path / "source", tmp_path / "origin.git", tmp_path / "clone"
    for name in project_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    git(tmp_path, "init", "-q", "-b", "main", str(source))
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "The blog")
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(source, "push", "-q", str(bare), "main")
    git(tmp_path, "clone", "-q", str(bare), str(work))
    return work


def publish(clone: Path, *args: str, **production) -> subprocess.CompletedProcess:
    """Run `invoke publish` in the clone, as the author would (the clone's own tasks.py and blogkit/)."""
    environ = {k: v for k, v in env(**production).items() if v is not None}
    return subprocess.run([sys.executable, "-m", "invoke", "publish", *args], cwd=clone, env=environ,
                          capture_output=True, text=True, timeout=600)


def bare(clone: Path) -> Path:
    return clone.parent / "origin.git"


def tip(repo: Path, ref: str = "gh-pages") -> str | None:
    run = subprocess.run(["git", "rev-parse", "--verify", "-q", ref], cwd=repo, capture_output=True, text=True)
    return run.stdout.strip() or None


def tree(repo: Path) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", "gh-pages").splitlines())


def test_publish_pushes_a_checked_site_and_refuses_a_broken_one(clone):
    origin = bare(clone)
    (clone / "content/posts/2026").mkdir(parents=True)
    (clone / "content/posts/2026/secret-plans.md").write_text(DRAFT, encoding="utf-8")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "A draft")
    source = git(clone, "rev-parse", "HEAD")

    # First publish: a new gh-pages branch on the remote, with the site and no draft.
    run = publish(clone, "--push")
    assert run.returncode == 0, run.stdout + run.stderr
    files = tree(origin)
    assert {"index.html", ".nojekyll", POST, "CNAME", "feeds/all.atom.xml", "404.html"} <= files
    assert git(origin, "show", "gh-pages:CNAME") == "notes.consultant.net"
    assert not [name for name in files if "secret-plans" in name or name.startswith("drafts/")]
    leaks = subprocess.run(["git", "grep", "-I", "-i", "-e", "secret plans", "-e", "secret-plans", "-e", "fax machines", "gh-pages"],
                           cwd=origin, capture_output=True, text=True)
    assert leaks.returncode == 1, f"draft found on gh-pages:\n{leaks.stdout}"
    first = tip(origin)
    message = git(origin, "log", "-1", "--format=%B", "gh-pages")
    assert source in message and "dirty" not in message
    assert "The Psychotherapy of Sales" in git(origin, "show", f"gh-pages:{POST}")

    # Second publish, with an uncommitted edit: a new commit on top, saying it was dirty.
    about = clone / "content/pages/about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nNow publishing from one command.\n", encoding="utf-8")
    scheduled = clone / "content/posts/2026/next-year.md"
    scheduled.write_text("Title: Next year\nDate: 2099-01-01 09:00\nSlug: next-year\n\nNot yet.\n", encoding="utf-8")
    run = publish(clone, "--push")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"note: .*next-year\.md.*scheduled", run.stdout), run.stdout
    assert not [name for name in tree(origin) if "next-year" in name]
    scheduled.unlink()
    second = tip(origin)
    assert second != first
    assert git(origin, "rev-parse", "gh-pages^") == first
    assert git(origin, "log", "-1", "--format=%s", "gh-pages").endswith("(dirty)")
    assert "Now publishing from one command." in git(origin, "show", "gh-pages:p/about.html")
    git(clone, "checkout", "-q", "--", "content/pages/about.md")

    # The remote refuses the push (a real pre-receive hook): the local gh-pages goes back too.
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'gh-pages is frozen today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    run = publish(clone, "--push")
    assert run.returncode != 0
    assert "gh-pages is frozen today" in run.stderr and "gh-pages branch is unchanged" in run.stderr
    assert tip(origin) == second and tip(clone) == second
    hook.unlink()

    # A post linking to a page that does not exist: the gate refuses it; gh-pages is untouched.
    broken = clone / "content/posts/2026/sequel.md"
    broken.write_text("Title: The Sequel\nDate: 2026-02-01 10:00\nSlug: the-sequel\n\n"
                      "As I said [before](/2007/02/no-such-post.html), sales is therapy.\n", encoding="utf-8")
    run = publish(clone, "--push")
    assert run.returncode != 0
    assert "2026/02/the-sequel.html" in run.stderr and "dead link '/2007/02/no-such-post.html'" in run.stderr
    assert "gh-pages branch is unchanged" in run.stderr
    assert tip(origin) == second and tip(clone) == second

    # A dead {filename} link: the strict build stops before the gate (naming the missing
    # target; naming the linking file is the strict-build issue's work); still untouched.
    broken.write_text("Title: The Sequel\nDate: 2026-02-01 10:00\nSlug: the-sequel\n\n"
                      "As I said [before]({filename}/posts/2007/missing.md).\n", encoding="utf-8")
    run = publish(clone, "--push")
    assert run.returncode != 0
    assert "build failed" in run.stderr and "missing.md" in run.stderr and "gh-pages branch is unchanged" in run.stderr
    assert tip(origin) == second and tip(clone) == second
    assert git(origin, "rev-list", "--count", "gh-pages") == "2"

    # Restoring the previous site as the README says: revert the last publish in a worktree, push.
    restore = clone.parent / "site-restore"
    git(clone, "fetch", "-q", "origin", "gh-pages")
    git(clone, "worktree", "add", "-q", "--detach", str(restore), "origin/gh-pages")
    git(restore, "revert", "--no-edit", second)
    git(restore, "push", "-q", "origin", "HEAD:gh-pages")
    git(clone, "worktree", "remove", str(restore))
    assert git(origin, "rev-parse", "gh-pages^{tree}") == git(origin, "rev-parse", f"{first}^{{tree}}")
    assert git(origin, "rev-list", "--count", "gh-pages") == "3"


def test_publish_to_a_missing_remote_stops_before_building(clone):
    run = publish(clone, "--push", "--remote", "nowhere")
    assert run.returncode != 0
    assert "no git remote 'nowhere'" in run.stderr
    assert tip(clone) is None and tip(bare(clone)) is None


def test_publish_outside_git_or_before_the_first_commit_says_so(tmp_path):
    from blogkit.publish import PublishError, publish as publish_site

    with pytest.raises(PublishError, match="is not a git repository"):
        publish_site(tmp_path)
    git(tmp_path, "init", "-q")
    with pytest.raises(PublishError, match="has no commit yet"):
        publish_site(tmp_path)


def test_cname_comes_from_the_setting_or_the_siteurl():
    assert cname_for({"SITEURL": "https://blog.example.com"}) == "blog.example.com"
    assert cname_for({"SITEURL": "https://consultant.github.io"}) is None
    assert cname_for({"SITEURL": "https://consultant.github.io/blog"}) is None
    assert cname_for({"SITEURL": "https://example.com/blog"}) is None
    assert cname_for({"SITEURL": "https://x.github.io", "PUBLISH_CNAME": "www.consultant.net"}) == "www.consultant.net"
    assert cname_for({"SITEURL": "https://blog.example.com", "PUBLISH_CNAME": ""}) is None


def test_commit_message_names_the_source_commit_and_dirtiness():
    sha = "0123456789abcdef0123456789abcdef01234567"
    clean, dirty = commit_message(sha, "main", False), commit_message(sha, "main", True)
    assert clean.splitlines()[0] == "Publish site from 0123456789ab" and sha in clean and "dirty" not in clean
    assert dirty.splitlines()[0] == "Publish site from 0123456789ab (dirty)" and "uncommitted changes" in dirty


def test_workflow_runs_the_readme_test_command_then_publishes():
    workflow = (ROOT / ".github/workflows/publish.yml").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "uv run pytest" in readme and "run: uv run pytest" in workflow
    assert workflow.index("run: uv run pytest") < workflow.index("uv run invoke publish --push")
    assert "contents: write" in workflow and "astral-sh/setup-uv@" in workflow


@pytest.mark.parametrize("variables, named", [
    ({"SITEURL": None}, "SITEURL is 'https://blog.example.com': set the SITEURL variable"),
    ({"ISSO_URL": None}, "the comment server is 'https://comments.blog.example.com': set ISSO_URL"),
    ({"PUBLISH_CNAME": "blog.example.org"}, "the CNAME would be 'blog.example.org': set PUBLISH_CNAME"),
])
def test_push_refuses_placeholders_before_anything_is_built_or_committed(clone, variables, named):
    run = publish(clone, "--push", **variables)
    assert run.returncode == 1
    assert named in run.stderr and "refused with --push" in run.stderr and "Traceback" not in run.stderr
    assert "Building" not in run.stdout
    assert tip(clone) is None and tip(bare(clone)) is None


def test_ci_refuses_placeholders_without_push_and_a_local_publish_only_warns(clone):
    run = publish(clone, SITEURL=None, CI="true")
    assert run.returncode == 1 and "refused with CI=true" in run.stderr and "SITEURL" in run.stderr
    assert tip(clone) is None
    run = publish(clone, SITEURL=None, ISSO_URL=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning: SITEURL is 'https://blog.example.com'" in run.stdout
    assert "warning: the comment server is 'https://comments.blog.example.com'" in run.stdout
    assert tip(clone) is not None


def test_a_second_publish_of_unchanged_sources_adds_no_commit(clone):
    origin = bare(clone)
    run = publish(clone, "--push")
    assert run.returncode == 0, run.stdout + run.stderr
    first = tip(origin)
    run = publish(clone, "--push")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "The site is unchanged: gh-pages stays at" in run.stdout
    assert tip(origin) == first and tip(clone) == first
    assert git(origin, "rev-list", "--count", "gh-pages") == "1"
    # The sitemap dates index pages by the newest content, not by the build clock.
    sitemap = git(origin, "show", "gh-pages:sitemap.xml")
    assert "<loc>https://notes.consultant.net/</loc>" in sitemap


def test_a_killed_publish_leaves_no_folder_after_the_next_one(clone, tmp_path):
    import tempfile

    tmp = Path(tempfile.gettempdir())
    # What a publish killed with SIGKILL leaves: its folder, named after a process that is gone.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp / f"blog-publish-{dead.stdout.strip()}-abc123"
    (leftover / "site").mkdir(parents=True)
    (leftover / "site" / "index.html").write_text("old", encoding="utf-8")
    mine = tmp / f"blog-publish-{os.getpid()}-alive"  # a live process's folder stays
    mine.mkdir()
    try:
        run = publish(clone, SITEURL=None, ISSO_URL=None)
        assert run.returncode == 0, run.stdout + run.stderr
        assert not leftover.exists()
        assert mine.exists()
        # A failed publish leaves nothing in /tmp either.
        before = set(tmp.glob("blog-publish-*"))
        (clone / "content/posts/2026").mkdir(parents=True)
        (clone / "content/posts/2026/bad.md").write_text("Title: Bad\nDate: 2026-13-45\n\nText.\n", encoding="utf-8")
        run = publish(clone)
        assert run.returncode == 1 and "malformed" in run.stderr
        # (Other tests' publishes may be running: only a folder whose process is gone would be a leftover.)
        from blogkit.build import _alive

        left = [p for p in set(tmp.glob("blog-publish-*")) - before if not _alive(int(p.name.split("-")[2]))]
        assert left == []
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        shutil.rmtree(leftover, ignore_errors=True)
