"""Publish to GitHub Pages: a clean strict build, the gate, then one new commit on gh-pages.

Nothing is half-done: the site is built into a fresh temporary folder and
checked there; the gh-pages branch is touched only once both have passed, and
if committing or pushing fails the local branch is put back where it was.
ghp-import writes the commit (with .nojekyll and CNAME); we run its command
line as a child process so that a failure shows up as an exit status.

With --push, or in CI (CI=true), a placeholder address (SITEURL, the CNAME,
the comment server) stops the publish before anything is built or committed:
GitHub Pages would take the CNAME as the site's custom domain. A site equal to
what gh-pages already holds is not committed again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from blogkit.build import ROOT, BuildError, build, load_settings, sweep_leftovers
from blogkit.check import check_site, format_report
from blogkit.progress import build_status, check_status

UNCHANGED = "Nothing was published: the {branch} branch is unchanged."
# Temporary folders are named <prefix><pid>-...: a killed publish's folder is deleted by the next one.
TMP_PREFIX = "blog-publish-"
# Domains reserved for examples (RFC 2606), which the settings use as placeholders.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "example", "invalid", "test", "localhost")
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
    unchanged: bool = False  # the site equals what the branch held: no new commit


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


def is_placeholder(url: str | None) -> bool:
    """Whether a URL or host is empty or one of the reserved example domains."""
    text = (url or "").strip()
    host = (urlsplit(text if "//" in text else f"//{text}").hostname or "").lower().rstrip(".")
    return not host or host == "127.0.0.1" or any(host == d or host.endswith(f".{d}") for d in PLACEHOLDER_DOMAINS)


def placeholders(settings: dict, environ: dict | None = None) -> list[str]:
    """One line per production setting still at a placeholder, naming the variable to set."""
    environ = os.environ if environ is None else environ
    found = []
    siteurl = settings.get("SITEURL") or ""
    if is_placeholder(siteurl):
        found.append(f"SITEURL is {siteurl or 'empty'!r}: set the SITEURL variable to the public address "
                     "(e.g. https://www.example.net or https://<user>.github.io/<repo>)")
    cname = cname_for(settings)
    if cname and is_placeholder(cname) and not is_placeholder(siteurl):
        found.append(f"the CNAME would be {cname!r}: set PUBLISH_CNAME to the custom domain")
    comments = settings.get("COMMENTS") or {}
    if comments.get("provider") == "isso":
        isso = environ.get("ISSO_URL") or (comments.get("isso") or {}).get("url") or ""
        if isso and is_placeholder(isso):
            found.append(f"the comment server is {isso!r}: set ISSO_URL to your Isso's address (docs/comments.md)")
    return found


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
    production = push or os.environ.get("CI", "").lower() in ("true", "1")
    wrong = placeholders(load_settings(settings_file))
    if wrong and production:
        why = "--push" if push else "CI=true"
        raise PublishError(f"{'; '.join(wrong)} (placeholders are refused with {why}; see README, Publishing). {unchanged}")
    for line in wrong:
        log(f"warning: {line}")

    with publish_folder() as tmp:
        site, settings = build_and_check(settings_file, tmp, f"{sha[:12]}{' (dirty)' if dirty else ''}", log)
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
        same = old is not None and _tree(repo, old) == _tree(repo, new)
        if same:  # the very site gh-pages holds: no commit that changes nothing
            _restore(repo, branch, old)
            new = old

    if push:
        log(f"Pushing {branch} to {remote}")
        pushed = git(repo, "push", remote, f"refs/heads/{branch}:refs/heads/{branch}", check=False)
        if pushed.returncode != 0:
            if not same:
                _restore(repo, branch, old)
            raise PublishError(f"git push {remote} {branch} failed: {pushed.stderr.strip()}\n{unchanged}")
    if same:
        log(f"The site is unchanged: {branch} stays at {new[:12]}, no new commit"
            + (f" ({remote} has it)" if push else ""))
    else:
        log(f"Published {new[:12]} on {branch}" + (f" and pushed it to {remote}" if push else " (not pushed: use --push)"))
    return PublishResult(commit=new, branch=branch, message=message, pushed=push, cname=cname, unchanged=same)


def publish_folder() -> tempfile.TemporaryDirectory:
    """A fresh temporary folder for a publish, after deleting those a killed publish left behind."""
    sweep_leftovers(Path(tempfile.gettempdir()), TMP_PREFIX)
    return tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}{os.getpid()}-")


def build_and_check(settings_file: Path, tmp: str | Path, what: str, log=print) -> tuple[Path, dict]:
    """Build with the production settings into tmp/site and run the gate there; return the site and settings."""
    site = Path(tmp) / "site"
    overrides = {"CACHE_PATH": str(Path(tmp) / "cache")}
    log(f"Building {what} with {Path(settings_file).name} into a fresh folder")
    try:
        with build_status():
            result = build(settings_file, site, overrides)
    except BuildError as exc:
        raise PublishError(f"{exc}\n{UNCHANGED.format(branch='gh-pages')}") from None
    for notice in result.notices:  # e.g. a scheduled post left out of this publish
        log(f"note: {notice}")
    settings = load_settings(settings_file, overrides)
    log("Checking links, anchors, HTML, drafts and feeds")
    notes: list[str] = []
    with check_status(site):
        problems = check_site(site, settings, notes=notes)
    for note in notes:  # e.g. the HTML checker's language guesses, which are not failures
        log(f"note: {note}")
    if problems:
        raise PublishError(f"{format_report(problems)}\n{UNCHANGED.format(branch='gh-pages')}")
    return site, settings


def check_production(repo: Path = ROOT, settings_file: Path = ROOT / "publishconf.py", log=print) -> None:
    """Build and check the site `publish` would commit, committing nothing."""
    with publish_folder() as tmp:
        build_and_check(settings_file, tmp, "the working tree", log)
    log("The production build passed the gate: links, anchors, HTML, drafts and feeds are fine (nothing committed)")


def is_preview(problem, settings: dict) -> bool:
    """Whether a gate problem is a draft preview that these settings write on purpose (local builds)."""
    return bool(settings.get("DRAFT_SAVE_AS") or settings.get("DRAFT_PAGE_SAVE_AS")) and \
        problem.message.startswith("the draft ") and problem.message.endswith("was written to the site")


def check_built(output: Path, settings_file: Path, siteurl: str | None = None, log=print) -> None:
    """Run the gate on a built site; a local build's draft previews are counted, not refused."""
    settings = load_settings(settings_file)
    notes: list[str] = []
    with check_status(output):
        problems = check_site(output, settings, siteurl=siteurl, notes=notes)
    for note in notes:
        log(f"note: {note}")
    previews = [problem for problem in problems if is_preview(problem, settings)]
    problems = [problem for problem in problems if problem not in previews]
    if problems:
        raise PublishError(format_report(problems))
    log(f"{output} passed the gate: links, anchors, HTML, drafts and feeds are fine")
    if previews:
        log(f"note: {len(previews)} draft preview(s) left out of the check ({Path(settings_file).name} writes them "
            "for previewing); `uv run invoke check --production` checks the site publish would write")


def _tree(repo: Path, commit: str) -> str:
    return git(repo, "rev-parse", f"{commit}^{{tree}}").stdout.strip()


def _fetch(repo: Path, remote: str, branch: str) -> None:
    """Bring the remote's gh-pages in, so the new commit goes on top of what is published."""
    listed = git(repo, "ls-remote", "--heads", remote, branch, check=False)
    if listed.returncode != 0:
        raise PublishError(f"cannot reach the remote {remote!r}: {listed.stderr.strip()}\n{UNCHANGED.format(branch=branch)}")
    if listed.stdout.strip():
        git(repo, "fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
