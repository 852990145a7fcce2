"""Publish to GitHub Pages: a clean strict build, the gate, then one new commit on gh-pages.

Nothing is half-done: the site is built into a fresh temporary folder and
checked there; the gh-pages branch is touched only once both have passed, and
if committing or pushing fails the local branch is put back where it was.
ghp-import writes the commit (with .nojekyll and CNAME); we run its command
line as a child process so that a failure shows up as an exit status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from blogkit.build import ROOT, BuildError, build, load_settings
from blogkit.check import check_site, format_report

UNCHANGED = "Nothing was published: the {branch} branch is unchanged."
# Used only when git has no identity configured (a bare CI runner).
FALLBACK_IDENTITY = {"GIT_COMMITTER_NAME": "blog publisher", "GIT_COMMITTER_EMAIL": "publish@localhost"}


class PublishError(Exception):
    """Publishing stopped; the message says why and that gh-pages was left as it was."""


@dataclass
class PublishResult:
    """What a successful publish committed (and pushed)."""

    commit: str
    branch: str
    message: str
    pushed: bool
    cname: str | None


def git(repo: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run git in `repo`, capturing its output."""
    run = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    if check and run.returncode != 0:
        raise PublishError(f"git {' '.join(args)} failed: {(run.stderr or run.stdout).strip()}")
    return run


def source_state(repo: Path) -> tuple[str, str, bool]:
    """The source commit, its branch name, and whether the working tree has uncommitted changes."""
    if git(repo, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise PublishError(f"{repo} is not a git repository: publishing commits the site to its gh-pages branch")
    head = git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False)
    if head.returncode != 0:
        raise PublishError(f"{repo} has no commit yet: commit the site's sources first, so gh-pages can name them")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    dirty = bool(git(repo, "status", "--porcelain", "--untracked-files=normal").stdout.strip())
    return head.stdout.strip(), branch, dirty


def commit_message(sha: str, branch: str, dirty: bool) -> str:
    """The gh-pages commit message: which source commit the site was built from, and whether it was dirty."""
    title = f"Publish site from {sha[:12]}" + (" (dirty)" if dirty else "")
    body = f"Built from source commit {sha} ({branch})"
    if dirty:
        body += " plus uncommitted changes (dirty working tree)"
    return f"{title}\n\n{body} by `invoke publish`."


def cname_for(settings: dict) -> str | None:
    """The custom domain for the CNAME file: PUBLISH_CNAME, else SITEURL's host unless it is *.github.io."""
    configured = settings.get("PUBLISH_CNAME")
    if configured is not None:
        return configured.strip() or None
    parts = urlsplit(settings.get("SITEURL") or "")
    host = (parts.hostname or "").lower()
    if not host or host.endswith(".github.io") or host in ("localhost", "127.0.0.1"):
        return None
    # A custom domain serves the site at its root; a SITEURL with a path is a project site.
    if parts.path.strip("/"):
        return None
    return host


def _ref(repo: Path, branch: str) -> str | None:
    run = git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False)
    return run.stdout.strip() if run.returncode == 0 else None


def _restore(repo: Path, branch: str, old: str | None) -> None:
    if old is None:
        git(repo, "update-ref", "-d", f"refs/heads/{branch}", check=False)
    else:
        git(repo, "update-ref", f"refs/heads/{branch}", old, check=False)


def _identity_env(repo: Path) -> dict:
    env = dict(os.environ)
    for key, config in (("GIT_COMMITTER_NAME", "user.name"), ("GIT_COMMITTER_EMAIL", "user.email")):
        if not env.get(key) and not git(repo, "config", config, check=False).stdout.strip():
            env[key] = FALLBACK_IDENTITY[key]
    return env


def publish(
    repo: Path = ROOT,
    settings_file: Path = ROOT / "publishconf.py",
    push: bool = False,
    remote: str = "origin",
    branch: str = "gh-pages",
    log=print,
) -> PublishResult:
    """Build with the production settings, run the gate, commit to `branch` and optionally push it."""
    repo = Path(repo)
    unchanged = UNCHANGED.format(branch=branch)
    sha, source_branch, dirty = source_state(repo)
    if push and git(repo, "remote", "get-url", remote, check=False).returncode != 0:
        raise PublishError(f"there is no git remote {remote!r} to push to (see `git remote -v`). {unchanged}")

    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        site = Path(tmp) / "site"
        overrides = {"CACHE_PATH": str(Path(tmp) / "cache")}
        log(f"Building {sha[:12]}{' (dirty)' if dirty else ''} with {Path(settings_file).name} into a fresh folder")
        try:
            result = build(settings_file, site, overrides)
        except BuildError as exc:
            raise PublishError(f"{exc}\n{unchanged}") from None
        for notice in result.notices:  # e.g. a scheduled post left out of this publish
            log(f"note: {notice}")
        settings = load_settings(settings_file, overrides)
        if "example." in (urlsplit(settings.get("SITEURL") or "").hostname or ""):
            log(f"warning: SITEURL is the placeholder {settings['SITEURL']}; set SITEURL (see README, Publishing)")

        log("Checking links, anchors, HTML, drafts and feeds")
        problems = check_site(site, settings)
        if problems:
            raise PublishError(f"{format_report(problems)}\n{unchanged}")

        old = _ref(repo, branch)
        if push:
            _fetch(repo, remote, branch)
        cname = cname_for(settings)
        message = commit_message(sha, source_branch, dirty)
        command = [sys.executable, "-m", "ghp_import", str(site), "--no-jekyll", "--message", message,
                   "--branch", branch, "--remote", remote]
        if cname:
            command += ["--cname", cname]
        log(f"Committing the site to {branch}" + (f" (CNAME {cname})" if cname else ""))
        run = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=_identity_env(repo))
        new = _ref(repo, branch)
        if run.returncode != 0 or new is None or new == old or "Failed" in run.stdout + run.stderr:
            _restore(repo, branch, old)
            raise PublishError(f"ghp-import could not commit the site: {(run.stderr or run.stdout).strip()}\n{unchanged}")

    if push:
        log(f"Pushing {branch} to {remote}")
        pushed = git(repo, "push", remote, f"refs/heads/{branch}:refs/heads/{branch}", check=False)
        if pushed.returncode != 0:
            _restore(repo, branch, old)
            raise PublishError(f"git push {remote} {branch} failed: {pushed.stderr.strip()}\n{unchanged}")
    log(f"Published {new[:12]} on {branch}" + (f" and pushed it to {remote}" if push else " (not pushed: use --push)"))
    return PublishResult(commit=new, branch=branch, message=message, pushed=push, cname=cname)


def _fetch(repo: Path, remote: str, branch: str) -> None:
    """Bring the remote's gh-pages in, so the new commit goes on top of what is published."""
    listed = git(repo, "ls-remote", "--heads", remote, branch, check=False)
    if listed.returncode != 0:
        raise PublishError(f"cannot reach the remote {remote!r}: {listed.stderr.strip()}\n{UNCHANGED.format(branch=branch)}")
    if listed.stdout.strip():
        git(repo, "fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
