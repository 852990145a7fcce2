"""Draft leaks: no draft is written, linked, listed, fed, indexed or quoted anywhere in a built site."""

from __future__ import annotations

import gzip
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from blogkit import progress
from blogkit.problems import Problem

from .files import files as _files, rel as _rel

_GZIP_MAGIC = b"\x1f\x8b"
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Draft:
    """A draft source and the strings that would betray it in the built site."""

    source: str
    urls: tuple[str, ...]  # every path it is or would be written at, and its slug as a file name
    texts: tuple[str, ...]  # its title and a sentence of its body, as plain text


def _plain(text: str) -> str:
    """Text as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", html.unescape(text)))).strip()


@dataclass
class _Published:
    """What published content legitimately shows, so a draft sharing it is not a false alarm."""

    titles: set[str] = field(default_factory=set)
    slugs: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)

    def add(self, item) -> None:
        self.titles.add(_plain(getattr(item, "title", "")).lower())
        self.slugs.add(getattr(item, "slug", ""))
        for attr in ("url", "save_as"):
            self.urls.add(str(getattr(item, attr, "") or "").lstrip("/"))
        self.texts.append(_plain(getattr(item, "_content", "") or ""))


def find_drafts(settings: dict) -> tuple[list[Draft], list[Problem]]:
    """Read the content folder with Pelican's own readers; return its drafts and what could not be read."""
    import os

    from pelican.contents import Article, Page
    from pelican.readers import Readers

    content = Path(settings["PATH"])
    readers = Readers(settings)
    ignored = settings.get("IGNORE_FILES", [".*"])
    drafts, published, problems = [], _Published(), []
    kinds = (
        ("ARTICLE", Article, settings["ARTICLE_PATHS"], settings["ARTICLE_EXCLUDES"]),
        ("PAGE", Page, settings["PAGE_PATHS"], settings["PAGE_EXCLUDES"]),
    )
    for kind, klass, paths, excludes in kinds:
        for base in paths:
            for root, dirs, files in os.walk(content / base):
                rel_root = Path(root).relative_to(content).as_posix()
                dirs[:] = [d for d in dirs if _keep(d, rel_root, excludes, ignored)]
                for name in sorted(files):
                    if name.rsplit(".", 1)[-1] not in readers.extensions or not _keep(name, rel_root, (), ignored):
                        continue
                    relpath = (Path(root) / name).relative_to(content).as_posix()
                    try:
                        item = readers.read_file(base_path=str(content), path=relpath, content_class=klass, context={})
                    except Exception as exc:  # the build reports these; here we cannot vouch for the site
                        problems.append(Problem(f"{content.name}/{relpath}", f"cannot be read to look for drafts: {exc}",
                                                "fix the file so the build reads it"))
                        continue
                    if getattr(item, "status", "published") == "draft":
                        drafts.append((kind, relpath, item))
                    else:
                        published.add(item)
    return [_draft(kind, relpath, item, settings, published) for kind, relpath, item in drafts], problems


def _keep(name: str, rel_root: str, excludes, ignored) -> bool:
    """Skip what Pelican skips: excluded folders and IGNORE_FILES patterns."""
    import fnmatch

    rel = name if rel_root in ("", ".") else f"{rel_root}/{name}"
    return rel not in excludes and not any(fnmatch.fnmatch(name, pattern) for pattern in ignored)


def _draft(kind: str, relpath: str, item, settings: dict, published: _Published) -> Draft:
    """The URLs and texts that would betray this draft, minus what published content shares with it."""
    formats = item.url_format
    urls = set()
    draft_prefix = "DRAFT" if kind == "ARTICLE" else "DRAFT_PAGE"
    # Where it is written as a draft, and where it would be once published.
    for key in (f"{draft_prefix}_URL", f"{draft_prefix}_SAVE_AS", f"{kind}_URL", f"{kind}_SAVE_AS"):
        if settings.get(key):
            value = str(settings[key]).format(**formats).lstrip("/")
            if value and value not in published.urls:
                urls.add(value)
                if value.endswith("/index.html"):
                    urls.add(value[: -len("index.html")])
    slug = getattr(item, "slug", "")
    if slug and slug not in published.slugs:
        urls.add(f"/{slug}.html")
    texts = []
    title = _plain(getattr(item, "title", ""))
    # A short title, or one a published post shares, proves nothing when found.
    if len(title) >= 12 and title.lower() not in published.titles:
        texts.append(title)
    # Its longest sentence that no published content quotes (JSON escapes double quotes: skip those).
    published_text = "\n".join(published.texts)
    sentences = re.split(r"(?<=[.!?])\s+", _plain(getattr(item, "_content", "") or ""))
    candidates = [s[:80] for s in sentences if '"' not in s and "\\" not in s and len(s) >= 40]
    candidates = [s for s in candidates if s not in published_text]
    if candidates:
        texts.append(max(candidates, key=len))
    return Draft(source=f"{Path(settings['PATH']).name}/{relpath}", urls=tuple(sorted(urls)), texts=tuple(texts))


def _read_text(file: Path) -> str | None:
    """A file's text, gunzipped if needed (Pagefind's index); None for binary files."""
    data = file.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return None
        # Pagefind's fragments are JSON behind a short signature, its indexes CBOR:
        # both carry page URLs and words as UTF-8, so read them leniently.
        return data.decode("utf-8", errors="replace")
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_drafts(output: Path, settings: dict) -> list[Problem]:
    """No draft is written, linked, listed, fed, indexed or quoted anywhere in the output."""
    output = Path(output)
    progress.steps().begin("the sources for drafts", 0, counted=False)
    drafts, problems = find_drafts(settings)
    if not drafts:
        return problems
    written = set()
    for draft in drafts:
        for url in draft.urls:
            if not url.startswith("/") and (output / unquote(url)).is_file():
                written.add(output / unquote(url))
                problems.append(Problem(url, f"the draft {draft.source} was written to the site",
                                        "publish builds no drafts: check that build with `uv run invoke check --production`"))
    steps = progress.steps()
    every_file = _files(output)
    steps.begin(f"the site for {len(drafts)} draft(s)", len(every_file), "files")
    for file in every_file:
        steps.step()
        text = None if file in written else _read_text(file)
        if text is None:
            continue
        rel = _rel(file, output)
        plain = None
        for draft in drafts:
            leaked = [url for url in draft.urls if url in text or url in unquote(text)]
            if plain is None and draft.texts:
                plain = _plain(text)
            leaked += [f"text {t!r}" for t in draft.texts if plain and t in plain]
            if leaked:
                problems.append(Problem(rel, f"mentions the draft {draft.source}: {', '.join(leaked)}",
                                        "publish the draft or remove what links to it"))
    return problems
