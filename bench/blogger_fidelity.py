"""Import Blogger exports into fresh copies of the project, publish each to a local bare remote; print what survived.

    uv run python bench/blogger_fidelity.py /work/shared/blogger-real/*.xml

For each export, exactly what a new user does, with no hand edits: a fresh temporary
copy of the project (its tracked files, sample content included), `invoke
import-blogger EXPORT --no-download-images`, a git commit, then `invoke publish --push`
to a file:// bare remote (which builds strictly with publishconf.py, runs the gate and
commits the site to gh-pages). The row says whether the remote's gh-pages holds that
commit, and the fidelity is measured on the site as published (the gh-pages tree):
old post/page URLs that resolve, live comments shown under their post with their
parent, images and videos shown in the post pages. If the publish fails, a production
build is made apart to measure what it can. Every expected count comes from reading the
export XML here, with its own small parser, never from the importer's report.
Images are imported with --no-download-images (no network); their count is the <img>
elements each built page shows for the post.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import defusedxml.ElementTree as SafeET

ROOT = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"
B2018 = "{http://schemas.google.com/blogger/2018}"
THR = "{http://purl.org/syndication/thread/1.0}"
APP = ("{http://purl.org/atom/app#}", "{http://www.w3.org/2007/app}")
KIND = "http://schemas.google.com/g/2005#kind"
REMOVED = re.compile(r"^\s*This (comment|post) has been removed by", re.I)
VIDEO = re.compile(r"(youtube(-nocookie)?\.com|youtube\.googleapis\.com|player\.vimeo\.com)/", re.I)
# The public addresses the publish is given: not placeholders (publish --push refuses those), never fetched.
BENCH_ENV = {"SITEURL": "https://blogger-bench.github.io", "ISSO_URL": "https://comments.blogger-bench.github.io",
             "GIT_AUTHOR_NAME": "fidelity bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
             "GIT_COMMITTER_NAME": "fidelity bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


@dataclass
class Expected:
    """What the export holds that a reader should find on the new site."""

    urls: list[str] = field(default_factory=list)  # old paths of live posts and pages
    comments: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (post path, parent id)
    images: dict[str, int] = field(default_factory=dict)  # post path -> <img> count
    videos: dict[str, int] = field(default_factory=dict)  # post path -> video embed count


class _Counter(HTMLParser):
    """Count images and video embeds in post HTML (an <embed> inside an <object> is one video)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images = self.videos = 0
        self.object_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and (attrs.get("src") or "").strip():
            self.images += 1
        if tag == "object":
            if not self.object_depth:
                self.videos += bool(VIDEO.search(attrs.get("data") or "") or "youtube" in (attrs.get("class") or "").lower())
            self.object_depth += 1
        elif tag == "param" and self.object_depth == 1 and (attrs.get("name") or "").lower() == "movie":
            pass  # counted with its object
        elif tag in ("iframe", "embed") and not self.object_depth:
            self.videos += bool(VIDEO.search(attrs.get("src") or ""))

    def handle_endtag(self, tag):
        if tag == "object" and self.object_depth:
            self.object_depth -= 1


def _count(html: str) -> tuple[int, int]:
    counter = _Counter()
    counter.feed(html or "")
    counter.close()
    return counter.images, counter.videos


def read_expected(path: Path) -> Expected:
    """Read what a reader should find from the export XML itself (classic or blogger:2018)."""
    root = SafeET.parse(path).getroot()
    expected = Expected()
    posts_by_id: dict[str, str] = {}
    pending: list[tuple[str, str | None, str | None, str]] = []  # (comment id, post id or path, parent, body)
    for entry in root.findall(f"{ATOM}entry"):
        kind = entry.findtext(f"{B2018}type")
        entry_id = entry.findtext(f"{ATOM}id") or ""
        if kind is not None:  # blogger:2018
            status = entry.findtext(f"{B2018}status") or ""
            if kind in ("POST", "PAGE"):
                filename = (entry.findtext(f"{B2018}filename") or "").lstrip("/")
                if status != "LIVE" or not filename or (entry.findtext(f"{B2018}trashed") or "").strip():
                    continue
                _add_entry(expected, filename, entry.findtext(f"{ATOM}content") or "")
                posts_by_id[_number(entry_id)] = filename
            elif kind == "COMMENT" and status == "LIVE":
                pending.append((entry_id, entry.findtext(f"{B2018}parent"), entry.findtext(f"{B2018}inReplyTo"),
                                entry.findtext(f"{ATOM}content") or ""))
            continue
        terms = [c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("scheme") == KIND]
        term = terms[0].rsplit("#", 1)[-1] if terms else ""
        draft = any(entry.find(f"{app}control/{app}draft") is not None and
                    (entry.findtext(f"{app}control/{app}draft") or "").strip() == "yes" for app in APP)
        if term in ("post", "page"):
            link = _link(entry, "alternate")
            if draft or not link:
                continue
            old = urlparse(link).path.lstrip("/")
            _add_entry(expected, old, entry.findtext(f"{ATOM}content") or "")
            posts_by_id[_number(entry_id)] = old
        elif term == "comment":
            reply = entry.find(f"{THR}in-reply-to")
            post = reply.get("ref", "") if reply is not None else None
            if post is None:
                post = "path:" + urlparse(_link(entry, "alternate") or "").path.lstrip("/")
            removed = any(p.get("name") == "blogger.contentRemoved" and p.get("value") == "true"
                          for p in entry.findall("{http://schemas.google.com/g/2005}extendedProperty"))
            pending.append((entry_id, post, _link(entry, "related"), "" if removed else entry.findtext(f"{ATOM}content") or ""))
    parents = {_number(c): _number(parent) for c, _, parent, _ in pending}
    live = set()
    for comment_id, post, parent, body in pending:
        text = re.sub(r"<[^>]*>", "", body).strip()
        if not text or REMOVED.match(text):
            continue
        target = post[5:] if post and post.startswith("path:") else posts_by_id.get(_number(post))
        if target is None or target not in expected.images:
            continue  # a comment on a draft or a removed post: not shown anywhere
        live.add(_number(comment_id))
        expected.comments[_number(comment_id)] = (target, _number(parent))
    for comment_id, (target, parent) in expected.comments.items():
        while parent and parent not in live:  # a reply to a removed comment shows under that one's parent
            parent = parents.get(parent)
        expected.comments[comment_id] = (target, parent)
    return expected


def _link(entry, rel: str) -> str | None:
    """The href of an Atom entry's first link with this rel."""
    return next((link.get("href") for link in entry.findall(f"{ATOM}link") if link.get("rel") == rel), None)


def _number(value: str | None) -> str | None:
    """The number ending a Blogger id or feed URL ('tag:...post-5678', '.../5678')."""
    match = re.search(r"(\d+)/?$", (value or "").strip())
    return match.group(1) if match else None


def _add_entry(expected: Expected, old: str, html: str) -> None:
    expected.urls.append(old)
    expected.images[old], expected.videos[old] = _count(html)


class _Page(HTMLParser):
    """Find, in a built page, the post body's images and embeds and each comment's parent comment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, str | None]] = []  # (tag, in post body, comment id)
        self.images = self.videos = 0
        self.comments: dict[str, str | None] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        in_body = any(b for _, b, _ in self.stack) or "post-body" in (attrs.get("class") or "").split()
        comment = None
        if tag == "li" and "comment" in (attrs.get("class") or "").split():
            comment = re.sub(r"^(comment-)?c", "", attrs.get("id") or "")
            parents = [c for _, _, c in self.stack if c]
            self.comments[comment] = parents[-1] if parents else None
        if in_body and tag == "img":
            self.images += 1
        if in_body and tag == "figure" and "embed" in (attrs.get("class") or "").split() and VIDEO.search(attrs.get("data-embed-src") or ""):
            self.videos += 1
        if tag not in ("img", "br", "hr", "meta", "link", "input", "source", "col", "wbr"):
            self.stack.append((tag, in_body, comment))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return


def _read_page(path: Path) -> _Page:
    page = _Page()
    if path.is_file():
        page.feed(path.read_text(encoding="utf-8"))
        page.close()
    return page


def _project(workdir: Path) -> Path:
    """Make a fresh copy of the project: every file git tracks (or would), as in a new clone."""
    project = workdir / "project"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for relpath in sorted(set(filter(None, listed.split("\0")))):
        source = ROOT / relpath
        if source.is_file():  # a deleted, not yet committed file is listed too
            target = project / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return project


BUILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, ".")
    from blogkit.build import BuildError, build
    try:
        build(Path("publishconf.py").resolve(), Path("output").resolve(), None)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
""")


def _git(cwd: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)


def run(export: Path, keep: bool = False) -> dict:
    """Import one export into a fresh project, publish it to a local bare remote; compare the site with the export."""
    import os

    expected = read_expected(export)
    workdir = Path(tempfile.mkdtemp(prefix="blogger-fidelity-"))
    env = {**os.environ, **BENCH_ENV}
    env.pop("CI", None)
    row = {"export": export.name}
    try:
        project = _project(workdir)
        imported = subprocess.run(
            [sys.executable, "-m", "invoke", "import-blogger", str(export), "--no-download-images"],
            cwd=project, capture_output=True, text=True, env=env)
        row["import"] = "ok" if imported.returncode == 0 else "FAILED: " + _last(imported.stderr or imported.stdout)
        row["summary"] = imported.stdout
        remote = workdir / "remote.git"
        _git(workdir, "init", "-q", "--bare", str(remote), env=env)
        for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", f"Import {export.name}"),
                     ("remote", "add", "origin", remote.as_uri())):
            _git(project, *args, env=env)
        published = subprocess.run([sys.executable, "-m", "invoke", "publish", "--push"],
                                   cwd=project, capture_output=True, text=True, env=env)
        report = published.stdout + published.stderr
        row["publish_report"] = report
        head = _git(project, "rev-parse", "HEAD", env=env).stdout.strip()
        pages_commit = _git(remote, "rev-parse", "-q", "--verify", "refs/heads/gh-pages", env=env).stdout.strip()
        message = _git(remote, "log", "-1", "--format=%B", "refs/heads/gh-pages", env=env).stdout if pages_commit else ""
        output = project / "output"
        if published.returncode == 0 and pages_commit and head in message:
            row["build"] = row["gate"] = "ok"
            row["publish"] = f"gh-pages {pages_commit[:10]}"
            # Measure the site as published: the remote's gh-pages tree.
            output.mkdir()
            archive = subprocess.run(["git", "--git-dir", str(remote), "archive", "--format=tar", "refs/heads/gh-pages"],
                                     capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(output)], input=archive.stdout, check=True)
        else:
            row["publish"] = "FAILED" + (" (no gh-pages commit on the remote)" if published.returncode == 0 else "")
            if "build failed" in report:
                row["build"], row["gate"] = "FAILED: " + _first_problem(report[report.index("build failed"):]), "not run"
            elif "failed the gate" in report:
                row["build"], row["gate"] = "ok", "FAILED: " + _first_problem(report[report.index("The site failed"):])
            else:
                row["build"] = row["gate"] = "not run: " + _last(report)
            # Measure what a production build of it shows, to see what the failure costs.
            built = subprocess.run([sys.executable, "-c", BUILD], cwd=project, capture_output=True, text=True, env=env)
            row["build_report"] = built.stderr
        pages = {old: _read_page(output / old) for old in expected.urls}
        row["urls"] = (sum(page_exists(output, old) for old in expected.urls), len(expected.urls))
        kept = 0
        for comment_id, (post, parent) in expected.comments.items():
            found = pages.get(post) or _read_page(output / post)
            kept += comment_id in found.comments and found.comments[comment_id] == parent
        row["comments"] = (kept, len(expected.comments))
        row["images"] = (sum(min(pages[o].images, n) for o, n in expected.images.items()), sum(expected.images.values()))
        row["videos"] = (sum(min(pages[o].videos, n) for o, n in expected.videos.items()), sum(expected.videos.values()))
    finally:
        if keep:
            row["project"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return row


def page_exists(output: Path, old: str) -> bool:
    """Tell whether an old URL answers on the built site (a page at that path)."""
    return (output / old).is_file() or (output / old / "index.html").is_file()


def _first_problem(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    head = lines[0] if lines else "(no message)"
    return head + (f" | {lines[1][:160]}" if len(lines) > 1 else "")


def _last(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no message)"


def _ratio(pair: tuple[int, int]) -> str:
    kept, total = pair
    percent = 100 * kept / total if total else 100.0
    return f"{kept}/{total} ({percent:.0f}%)"


def main(argv: list[str] | None = None) -> int:
    """Run the bench on each export given; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="+", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects (their paths are printed)")
    parser.add_argument("--verbose", action="store_true", help="print each import summary and gate report")
    args = parser.parse_args(argv)
    rows = []
    for export in args.exports:
        row = run(export, keep=args.keep)
        rows.append(row)
        if args.verbose:
            print(f"== {export.name}\n{row.get('summary', '')}\n{row.get('publish_report', '')}{row.get('build_report', '')}")
    header = ["export", "old URLs", "comments w/ parent", "images", "videos", "import", "build", "gate", "publish"]
    table = [[r["export"], _ratio(r["urls"]), _ratio(r["comments"]), _ratio(r["images"]), _ratio(r["videos"]),
              r["import"][:60], r["build"][:70], r["gate"][:70], r["publish"][:40]] for r in rows]
    widths = [max(len(str(line[i])) for line in [header] + table) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths]] + table:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(line, widths)))
    for row in rows:
        if row.get("project"):
            print(f"{row['export']}: project kept in {row['project']}")
    return 0 if all(r["publish"].startswith("gh-pages") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
