"""Links and anchors: every internal link, image, script, stylesheet and #anchor of a built site resolves.

Links are resolved the way GitHub Pages serves the site: /foo finds foo.html,
/dir/ finds dir/index.html, /dir finds dir/index.html, and absolute links under
SITEURL are mapped onto the output root. Pages are read with blogkit/htmlscan.py,
the scanner plugins/csp and plugins/strict read HTML with too.
"""

from __future__ import annotations

import bisect
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from blogkit import htmlscan, progress
from blogkit.problems import Problem

from .files import files as _files, rel as _rel

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

_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


# --- Reading a page ------------------------------------------------------------------


@dataclass
class _Page:
    """What the gate needs from one HTML file: its ids, its links, its <base>."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, int]] = field(default_factory=list)  # (url, line)
    site_urls: list[tuple[str, int]] = field(default_factory=list)  # checked only if they point into the site
    base: str | None = None
    errors: list[tuple[str, int]] = field(default_factory=list)  # (message, line)


# The tags whose attributes the gate reads; any other is read only when it may carry an id.
_TAGS_READ = set(_URL_ATTRS) | htmlscan.RAW_TEXT | {"meta", "base", "img", "source"}


def _parse_html(path: Path) -> _Page:
    text = path.read_text(encoding="utf-8", errors="replace")
    newlines = [m.start() for m in re.finditer("\n", text)]
    page = _Page()
    for tag in htmlscan.start_tags(text):
        # Most tags carry neither a URL nor an id: skip them without parsing their attributes.
        if tag.name not in _TAGS_READ and "id" not in tag.attr_text:
            continue
        attrs = tag.attrs
        line = bisect.bisect_left(newlines, tag.start) + 1
        _read_tag(page, tag.name, attrs, line)
        if tag.name == "script" and attrs.get("type", "").lower() == "application/ld+json":
            _read_jsonld(page, text[tag.end:tag.body_end], line)
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
    steps = progress.steps()
    pages = _files(output, ".html", ".htm")
    steps.begin("links and anchors", len(pages))
    for file in pages:
        steps.step()
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
    stylesheets, xml_files = _files(output, ".css"), _files(output, ".xml")
    steps.begin("links in stylesheets, feeds and sitemaps", len(stylesheets) + len(xml_files), "files")
    for file in stylesheets:
        steps.step()
        rel = _rel(file, output)
        text = file.read_text(encoding="utf-8", errors="replace")
        for match in _CSS_URL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            resolver.check(match.group(2).strip(), resolver.page_url(rel), rel, line, problems)
    for file, urls in _xml_links(xml_files):
        steps.step()
        rel = _rel(file, output)
        for url in urls:
            resolver.check(url, resolver.page_url(rel), rel, None, problems, must_be_internal=True)
    return problems


def _is_path_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and bool(parts.path) and not parts.path.startswith("/")


def _xml_links(xml_files: list[Path]):
    """The URLs each feed or sitemap gives for this site's pages (parse errors are check_feeds' job)."""
    for file in xml_files:
        try:
            root = ET.parse(file).getroot()
        except ET.ParseError:
            yield file, []
            continue
        urls = []
        for element in root.iter():
            name = element.tag.rsplit("}", 1)[-1]
            if name == "link" and element.get("href"):
                urls.append(element.get("href"))
            elif name in ("link", "loc") and element.text and element.text.strip():
                urls.append(element.text.strip())
        yield file, urls
