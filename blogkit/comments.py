"""Run a local Isso comment server and export its approved comments to archived-comment files.

`comments-server` (tasks.py) writes a config with moderation on and a SQLite
database under comments-data/, starts the pinned Isso on 127.0.0.1 and prints
the admin URL. `comments-export` reads the approved comments of every thread the
built site shows, through Isso's public API (which only ever returns approved
comments), and writes them in the format of content/comments/ (blogkit/comment_files.py,
which the build reads too), so the blog keeps its comments if the service goes away.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from blogkit.build import ROOT
from blogkit.comment_files import CommentFileError, comment_file_for, parse_comment_file

ISSO_VERSION = "0.14.0"
DATA = ROOT / "comments-data"
PRODUCTION_TEMPLATE = ROOT / "docs" / "isso.production.cfg"
PASSWORD_ENV = "ISSO_ADMIN_PASSWORD"


class CommentsError(Exception):
    """Something about the comment server or an export went wrong; the message says what to do."""


def _ini(value: str) -> str:
    # Isso's parser interpolates "%": a password with one must reach it doubled.
    return value.replace("%", "%%")


def isso_config(
    *,
    db: Path,
    sites: list[str],
    port: int,
    admin_password: str,
    moderation: bool = True,
    ratelimit: int = 2,
    guard: bool = True,
    host: str = "127.0.0.1",
) -> str:
    """Return an Isso config for a local server: moderation on, SQLite, admin UI, 127.0.0.1 only."""
    site_lines = "\n    ".join(sites)
    return f"""\
# Written by blogkit.comments for a local preview; see docs/comments.md for production.
[general]
dbpath = {db}
host =
    {site_lines}
max-age = 15m
notify = stdout
reply-notifications = false
gravatar = false
latest-enabled = false

[admin]
enabled = true
password = {_ini(admin_password)}

[moderation]
enabled = {"true" if moderation else "false"}
approve-if-email-previously-approved = false
purge-after = 30d

[server]
listen = http://{host}:{port}/
public-endpoint = http://{host}:{port}
# Nobody: readers connect directly, so a client's X-Forwarded-For is never believed
# (blogkit/isso_server.py drops it before Isso's ProxyFix could take it).
trusted-proxies =
reload = false
profile = false

[guard]
enabled = {"true" if guard else "false"}
ratelimit = {ratelimit}
direct-reply = 3
reply-to-self = false
require-author = false
require-email = false

[markup]
renderer = mistune
allowed-elements =
allowed-attributes =

[hash]
salt = {secrets.token_hex(12)}
algorithm = pbkdf2
"""


def require_isso() -> None:
    """Fail in one line when the isso package is missing from this environment."""
    import importlib.util

    if importlib.util.find_spec("isso") is None:
        raise CommentsError(f"Isso is not installed for {sys.executable}: run `uv sync` (it installs isso=={ISSO_VERSION})")


def write_private(path: Path, text: str) -> None:
    """Write text to path through a file created 0600, so the content is never readable by others."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _open_private_log(path: Path):
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if os.fstat(fd).st_mode & 0o077:  # a log left by an older version; it holds signed moderation links
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


@dataclass
class IssoServer:
    """A running local Isso: its URL, admin password, config and process (stop it by its PID)."""

    url: str
    admin_password: str
    config: Path
    process: subprocess.Popen
    log: Path

    @property
    def admin_url(self) -> str:
        return f"{self.url}/admin/"

    def stop(self) -> None:
        """Stop this server (its own process only)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(its log is empty)"


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommentsError(f"Isso exited with {process.returncode} before it answered: {_last_line(log)} "
                                f"(whole log: {log})")
        try:
            with urllib.request.urlopen(f"{url}/config", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise CommentsError(f"Isso did not answer on {url} within {timeout:.0f} s; its log is {log}")


def start_isso(
    data: Path,
    port: int,
    sites: list[str],
    admin_password: str | None = None,
    moderation: bool = True,
    ratelimit: int = 2,
    guard: bool = True,
) -> IssoServer:
    """Start Isso on 127.0.0.1:port with its database and log in `data`; wait until it answers.

    The password reaches Isso only through its config file (created 0600), never a
    command line; Isso runs under blogkit/isso_server.py, which refuses placeholder
    secrets, ignores X-Forwarded-For (no trusted proxy) and creates the database 0600.
    """
    from blogkit.isso_server import ConfigRefused, check_config, port_is_free

    require_isso()
    if not port_is_free("127.0.0.1", port):
        raise CommentsError(f"port {port} on 127.0.0.1 is busy: stop what uses it, or choose another with --port")
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = admin_password or secrets.token_urlsafe(16)
    config = data / "isso.cfg"
    write_private(config, isso_config(db=data / "comments.db", sites=sites, port=port, admin_password=password,
                                      moderation=moderation, ratelimit=ratelimit, guard=guard))
    try:
        check_config(config)
    except ConfigRefused as exc:
        raise CommentsError(f"refusing to start Isso: {exc}") from None
    for leftover in (data / "comments.db", data / "comments.db-journal"):
        if leftover.exists() and leftover.stat().st_mode & 0o077:  # a database left by an older version
            leftover.chmod(0o600)
    log = data / "isso.log"
    with _open_private_log(log) as out:
        process = subprocess.Popen([sys.executable, "-m", "blogkit.isso_server", "run", str(config)],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
    except BaseException:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        raise
    return IssoServer(url=url, admin_password=password, config=config, process=process, log=log)


# --- Export --------------------------------------------------------------------------------------

def thread_ids(site: Path) -> list[str]:
    """The Isso thread ids (data-isso-id, e.g. /2007/01/x.html) of every page of a built site."""
    import re

    pattern = re.compile(r'data-isso-id="([^"]+)"')
    found = set()
    for page in site.rglob("*.html"):
        found.update(html.unescape(m) for m in pattern.findall(page.read_text(encoding="utf-8", errors="replace")))
    return sorted(found)


def _unreachable(isso_url: str, exc: Exception) -> CommentsError:
    reason = getattr(exc, "reason", exc)  # a URLError's own reason, e.g. [Errno 111] Connection refused
    return CommentsError(f"cannot reach Isso at {isso_url} ({reason}): start it with `uv run invoke comments-server`, "
                         "or name the running one with --isso URL")


def ensure_reachable(isso_url: str, timeout: float = 5.0) -> None:
    """Raise CommentsError unless something answers HTTP at isso_url (before a build is spent on it)."""
    try:
        with urllib.request.urlopen(f"{isso_url.rstrip('/')}/info", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        pass  # it answers: an Isso without /info, or behind a proxy, is still worth trying
    except (OSError, ValueError) as exc:  # ValueError: not a URL at all
        raise _unreachable(isso_url, exc) from None


def site_thread_ids(settings_file: Path, isso_url: str) -> list[str]:
    """Build the site into a temporary folder with Isso at isso_url and return its thread ids."""
    import tempfile

    from blogkit.build import BuildError, build, load_settings

    comments = dict(load_settings(settings_file).get("COMMENTS") or {})
    comments["provider"] = "isso"
    comments["isso"] = {**(comments.get("isso") or {}), "url": isso_url}
    with tempfile.TemporaryDirectory(prefix="comments-export-") as tmp:
        try:
            build(settings_file, Path(tmp) / "site", {"COMMENTS": comments, "CACHE_PATH": str(Path(tmp) / "cache")})
        except BuildError as exc:
            raise CommentsError(f"the site does not build, so its threads are unknown:\n{exc}") from None
        return thread_ids(Path(tmp) / "site")


def fetch_thread(isso_url: str, uri: str, timeout: float = 10.0) -> list[dict]:
    """Approved comments of one thread from Isso's public API, flattened (parents before replies)."""
    query = urllib.parse.urlencode({"uri": uri})
    try:
        with urllib.request.urlopen(f"{isso_url.rstrip('/')}/?{query}", timeout=timeout) as response:
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # Isso answers 404 for a thread nobody has commented on
            return []
        raise CommentsError(f"Isso at {isso_url} answered {exc.code} for {uri}") from None
    except OSError as exc:
        raise _unreachable(isso_url, exc) from None
    flat = []

    def walk(comments):
        for comment in comments:
            flat.append(comment)
            walk(comment.get("replies") or [])

    walk(data.get("replies") or [])
    return flat


def to_archived(comments: list[dict], tz: dt.tzinfo) -> list[dict]:
    """Isso comments -> archived comments; deleted-but-replied-to ones vanish, their replies move up."""
    by_id = {c["id"]: c for c in comments}

    def live_parent(parent):
        while parent is not None and by_id.get(parent, {}).get("mode") == 4:
            parent = by_id[parent].get("parent")
        return parent if parent in by_id else None

    archived = []
    for comment in comments:
        if comment.get("mode") != 1:  # 4: deleted but referenced; 2 never comes out of the public API
            continue
        parent = live_parent(comment.get("parent"))
        website = html.unescape(comment["website"]) if comment.get("website") else None
        archived.append({
            "id": f"isso-{comment['id']}",
            "parent": f"isso-{parent}" if parent is not None else None,
            "author": html.unescape(comment.get("author") or "") or "Anonymous",
            "url": website if website and website.startswith(("http://", "https://")) else None,
            "date": dt.datetime.fromtimestamp(comment["created"], tz).isoformat(timespec="seconds"),
            "body": comment.get("text") or "",
        })
    return archived


@dataclass
class ExportResult:
    """What an export wrote: files and the number of comments in each."""

    written: dict[Path, int] = field(default_factory=dict)
    threads: int = 0


def export_comments(isso_url: str, uris: list[str], folder: Path, tz: dt.tzinfo, dry_run: bool = False) -> ExportResult:
    """Write every approved Isso comment of the site's threads into folder/<post>.json.

    A file that already holds comments from elsewhere (e.g. Blogger) keeps them;
    comments exported from Isso before (ids "isso-N") are replaced, so running
    the export again never duplicates anything.
    """
    if not uris:
        raise CommentsError("no page has an Isso thread (is every post `Comments: off`?)")
    result = ExportResult(threads=len(uris))
    for uri in uris:
        comments = to_archived(fetch_thread(isso_url, uri), tz)
        if not comments:
            continue
        post = uri.lstrip("/")
        path = folder / comment_file_for(post)
        kept, source = [], "Isso"
        if path.exists():
            text = path.read_text(encoding="utf-8")
            try:
                parse_comment_file(text, post)
            except CommentFileError as exc:
                raise CommentsError(f"{path}: {exc}; fix it before exporting into it") from None
            existing = json.loads(text)
            kept = [c for c in existing["comments"] if not str(c["id"]).startswith("isso-")]
            previous = existing.get("source") or ""
            source = previous if "Isso" in previous.split(" + ") else " + ".join(s for s in (previous, "Isso") if s)
        data = {"post": post, "source": source, "comments": kept + comments}
        parse_comment_file(json.dumps(data), post)  # never write a file the build would refuse
        if not dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        result.written[path] = len(comments)
    return result
