"""Content-Security-Policy: a <meta> first in every page's head, put in as the page is rendered.

Ours rather than a PyPI plugin: GitHub Pages cannot send headers, so the policy
has to be a meta element, and none of the Pelican CSP helpers trust inline
scripts by hash. The policy trusts only our own scripts: the inline scripts
written in the theme's templates (read from the template files at start-up)
and those a plugin registers (register_inline_script), by their sha256 hash;
never a script because a page happens to hold it.

Every page a template renders goes through PolicyTemplate, which inserts the
meta into the rendered text before it is written: no second pass reads the
pages again. HTML written another way (redirect stubs, an .html among the
static files) gets its meta from a pass over those files only, on `finalized`.

Content is checked before anything is rendered (`all_generators_finalized`),
parsed as a browser parses it (entities and tabs decoded in URLs, handlers
inside <noscript> and <template>): an inline script, an event handler, a
javascript: URL, an inline style, a meta refresh or a third-party script in a
post or page is a problem naming its source file and line. A rendered page
holding anything else the policy would block (a template's mistake) is a
problem naming the page and template. A page the last pass changes is rewritten
in place only when it has no other hard link (_replace); one that has (it may be a
hard link of a file outside the build) is replaced by a new file renamed over it.
Tags and attributes of rendered pages are read with blogkit/htmlscan.py, the scanner
the gate and plugins/strict use; a content's own HTML with html.parser, as a browser reads it.

The policy allows 'self'; the comment service's origin (from the comments
plugin: Isso's server for API calls only, as our own comments-live.js talks to
its JSON API; giscus for its script, stylesheet and frame); our inline scripts present on the page, by hash;
'wasm-unsafe-eval' on the pages that run Pagefind (search.html, or any page
whose scripts name pagefind): its search runs as WebAssembly; elsewhere nothing
needs it, and the Nu HTML checker's CSP parser predates the keyword and reports
it as an error; images from the origins that the page's own <img> elements name
(an imported post may still show an image on its old host); the frame origins
receivers of the `csp.frame_sources` signal name for a page (plugins/embeds'
click-to-load players); and anything added under CSP["extra"].

Settings (under CSP, defaults applied in `resolve_settings`):
    enabled   write the meta element and check pages (True)
    wasm      pages (glob patterns under the output folder) that get 'wasm-unsafe-eval'
              besides those whose scripts name pagefind (["search.html"]); True: all; False: none
    extra     {"img-src": ["https://example.org"], ...} added to the policy
    pages     {"search.html": {"form-action": ["https://duckduckgo.com/"]}}: added on the pages
              (glob patterns under the output folder) that need them, e.g. the no-JS search form's target
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import fnmatch
import functools
import hashlib
import html
import logging
import os
import re
import stat
import tempfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

import jinja2
from blinker import signal
from pelican import signals

from blogkit import htmlscan, plugin_settings, runhooks
from blogkit.problems import report

logger = logging.getLogger(__name__)

# Other plugins name the frame origins one page may load (plugins/embeds: a click-to-load
# player); receivers get the page's HTML and return origins. Pages no receiver names keep 'none'.
FRAME_SOURCES = signal("csp.frame_sources")

DEFAULTS = {"enabled": True, "wasm": ["search.html"], "extra": {}, "pages": {}}
WASM = "'wasm-unsafe-eval'"
PAGEFIND_RE = re.compile(r"pagefind", re.I)

# Script types that are data, not code: the browser never runs them, CSP ignores them.
DATA_SCRIPT_TYPES = {"application/ld+json", "application/json", "text/plain", "text/template"}

SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)
CHARSET_RE = re.compile(r"<meta\s+charset\s*=[^>]*>", re.I)
RESOURCE_RE = re.compile(r"<(?:script|link|style|base)\b", re.I)
OLD_META_RE = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"[^>]*>\s*', re.I)
TAG_RE = htmlscan.TAG_RE  # the one tag scanner of the house (blogkit/htmlscan.py)
RESOURCE_TAGS = {"script", "link", "iframe", "img"}
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


def resolve_settings(given: dict | None) -> dict:
    """Apply the defaults to a CSP setting; report unknown keys."""
    conf, errors = plugin_settings.resolve(given, "CSP", DEFAULTS)
    for error in errors:
        report(plugin_settings.SETTINGS_FILE, error, "fix CSP in the settings (see plugins/csp's docstring)", log=logger)
    conf["extra"] = {key: list(values) for key, values in (conf.get("extra") or {}).items()}
    return conf


def sha256_source(script: str) -> str:
    """The CSP source allowing exactly this inline script text."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _origin(url: str) -> str:
    if ":" not in url:  # no scheme (urlsplit only drops characters, it never adds a ":")
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def base_policy(comments: dict | None, extra: dict, wasm=False) -> dict[str, list[str]]:
    """Directives shared by every page: 'self', the comment service, extras (and WebAssembly if wasm is True)."""
    policy = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    if wasm is True:
        policy["script-src"].append(WASM)
    comments = comments or {}
    origin = comments.get("origin")
    if origin and comments.get("provider") == "isso":
        # Our own comments-live.js (from 'self') talks to Isso's JSON API: no script, style or frame from there.
        policy["connect-src"].append(origin)
    elif origin and comments.get("provider") == "giscus":
        # client.js from there adds its default.css <link> and the giscus <iframe>.
        policy["script-src"].append(origin)
        policy["style-src"].append(origin)
        policy["frame-src"] = [origin]
    for directive, sources in extra.items():
        policy.setdefault(directive, ["'self'"])
        policy[directive] = [s for s in policy[directive] if s != "'none'"] + [s for s in sources if s not in policy[directive]]
    return policy


def render_policy(policy: dict[str, list[str]]) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


def allows(sources: list[str], origin: str, site_origin: str = "") -> bool:
    """Whether a source list lets the page load from origin ('self' is the site's own origin)."""
    if origin == site_origin and "'self'" in sources:
        return True
    return origin in sources or "*" in sources or f"{urlsplit(origin).scheme}:" in sources


def page_policy(text: str, base: dict[str, list[str]], wasm=False, site_origin: str = "",
                known: frozenset[str] | set[str] = frozenset()) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The policy for one page, and what in the page it would block: [(message, hint)].

    wasm: True to allow WebAssembly on this page, "auto" to allow it if the page's scripts name pagefind.
    site_origin: the origin of an absolute SITEURL, which 'self' covers once the site is published.
    known: the sha256 sources of our own inline scripts (the theme's and the plugins'); an inline
    script of the page is allowed by its hash only if it is one of them, else it is a problem.
    """
    return _page_policy(text, _scan(text), base, wasm, site_origin, known)


UNKNOWN_SCRIPT = ("an inline <script> that is not one of the theme's or a plugin's own scripts; the CSP allows only those",
                  "move the code to a file in theme/static/js/ (or have its plugin call plugins.csp.register_inline_script)")


def _page_policy(text: str, scan: _Scan, base: dict[str, list[str]], wasm, site_origin: str, known=frozenset()):
    """page_policy, given the page's _scan."""
    policy = {key: list(values) for key, values in base.items()}
    scripts = _scripts(text, scan.script_starts)
    uses_pagefind = unknown = False
    for match in scripts:
        attr_text, body = match.group(1), match.group(2)
        parsed = htmlscan.attributes(attr_text)
        if parsed.get("type", "").strip().lower() in DATA_SCRIPT_TYPES:
            continue
        uses_pagefind = uses_pagefind or bool(PAGEFIND_RE.search(parsed.get("src", "") + body))
        if "src" in parsed:
            continue
        source = sha256_source(body)
        if source not in known:
            unknown = True
        elif source not in policy["script-src"]:
            policy["script-src"].append(source)
    if (wasm is True or (wasm == "auto" and uses_pagefind)) and WASM not in policy["script-src"]:
        policy["script-src"].insert(1, WASM)

    for _receiver, origins in FRAME_SOURCES.send(text):
        for origin in origins or ():
            if origin not in policy["frame-src"]:
                policy["frame-src"] = [s for s in policy["frame-src"] if s != "'none'"] + [origin]

    problems = [UNKNOWN_SCRIPT] if unknown else []
    markup, candidates = _without_script_bodies(text, scripts, scan.candidates)
    for match in _tags_to_check(markup, candidates):
        _check_tag(match.group(1), match.group(2), policy, problems, site_origin)
    return policy, problems


# Finding what to check. Most of a page is tags with nothing to check, and matching TAG_RE on
# every tag was most of the cost, so the page is first searched for candidates: places inside
# every tag that _check_tag may act on (a resource tag, or attribute text holding "style",
# "javascript" or whitespace before "on"), and only the tags around them are matched.
# The search runs over the page's UTF-8 with ASCII letters folded, by bytes.find (many times
# faster here than the regex engine). That misses nothing: no character but an ASCII letter
# lowercases to a letter of these words (U+0130 and U+212A lowercase to "i\u0307" and "k").
RESOURCE_CANDIDATE_RE = re.compile(rb"<(?:script|link|iframe|img)")
CANDIDATES = [b"style", b"javascript"]
# The fold: ASCII letters to lowercase; ASCII whitespace (str.isspace, as TAG_RE's \s) and every
# byte of a non-ASCII character to a space, so that one search for b" on" finds every handler
# name (a non-ASCII character before "on" makes a needless candidate, which does no harm).
_FOLD = bytes(ord(" ") if byte >= 0x80 or chr(byte).isspace() else ord(chr(byte).lower()) for byte in range(256))
# The only non-ASCII characters that SCRIPT_RE and OLD_META_RE match case-insensitively:
# "İ" and "ı" for "i", "ſ" for "s" (in UTF-8, led by bytes that most pages never hold).
_CASE_LEAD_BYTES = (b"\xc4", b"\xc5")
_CASE_CHARACTERS = ("\u0130".encode(), "\u0131".encode(), "\u017f".encode())
_OLD_META_NEEDLE = b'http-equiv="content-security-policy"'


class _Scan(NamedTuple):
    """What one pass over a page found."""

    candidates: list[int]  # offsets in the page, ascending
    script_starts: list[int] | None  # where SCRIPT_RE can match, or None: anywhere
    old_meta: bool  # whether the page may hold a policy meta (OLD_META_RE)


def _find_all(data: bytes, needle: bytes) -> list[int]:
    """Every offset in data where needle starts."""
    found = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _scan(text: str) -> _Scan:
    """Find the page's candidates, where its scripts can start, and whether it may hold a policy meta."""
    raw = text.encode("utf-8", "surrogatepass")
    data = raw.translate(_FOLD)
    found = [match.start() for match in RESOURCE_CANDIDATE_RE.finditer(data)]
    plain = not any(lead in raw for lead in _CASE_LEAD_BYTES) or not any(char in raw for char in _CASE_CHARACTERS)
    script_starts = [at for at in found if data[at + 1] == ord("s")] if plain else None
    old_meta = not plain or _OLD_META_NEEDLE in data
    for needle in CANDIDATES:
        found += _find_all(data, needle)
    found += [at + 1 for at in _find_all(data, b" on")]  # the "o": ASCII, and in the same tag
    found.sort()
    if len(raw) != len(text):
        # Byte offsets to character offsets; every offset found is at an ASCII character.
        chars, last, offsets = 0, 0, {}
        for at in found:
            chars += len(raw[last:at].decode("utf-8", "surrogatepass"))
            offsets[at], last = chars, at
        found = [offsets[at] for at in found]
        script_starts = [offsets[at] for at in script_starts] if script_starts is not None else None
    return _Scan(found, script_starts, old_meta)


def _scripts(text: str, starts: list[int] | None) -> list[re.Match]:
    """SCRIPT_RE.finditer(text), trying the pattern only at `starts` when they are known."""
    if starts is None:
        return list(SCRIPT_RE.finditer(text))
    found, end = [], 0
    for at in starts:
        if at >= end and (match := SCRIPT_RE.match(text, at)):
            found.append(match)
            end = match.end()
    return found


def _without_script_bodies(text: str, scripts: list[re.Match], candidates: list[int]) -> tuple[str, list[int]]:
    """The page with each script's body left out, and the candidates outside bodies at their new offsets.

    Script bodies are code, not markup: the tags stay (their src counts), what is inside goes.
    Each script tag is a candidate: its name is written "script" (SCRIPT_RE also matches "ſcript").
    """
    if not scripts:
        return text, candidates
    pieces, kept, last, shift, low = [], [], 0, 0, 0
    for match in scripts:
        start, body, end = match.start(), match.start(2), match.end()
        pieces += [text[last:start], f"<script{match.group(1)}></script>"]
        high = bisect.bisect_left(candidates, start, low)
        kept += [at - shift for at in candidates[low:high]]
        kept.append(start - shift)
        low, high = high, bisect.bisect_left(candidates, body, high)
        kept += [at - shift for at in candidates[low:high]]
        low = bisect.bisect_left(candidates, end, high)  # those in the body and end tag go
        shift += end - body - len("</script>")
        last = end
    pieces.append(text[last:])
    kept += [at - shift for at in candidates[low:]]
    return "".join(pieces), kept


def _tags_to_check(markup: str, candidates: list[int]):
    """The matches of TAG_RE.finditer(markup) that hold a candidate: every tag _check_tag may act on.

    Which tag holds a candidate depends on where the left-to-right scan stands (a quoted
    value may hold '<' and '>'), so the scan starts over only where no tag of the full
    scan can span: after a '>' that cannot be inside a quoted value (_ends_tag).
    """
    rfind, search = markup.rfind, TAG_RE.search
    cursor = 0  # no tag of the full scan spans this offset, so a scan from here is the full scan
    end = 0  # where the last tag yielded ends
    for at in candidates:
        if at < end:
            continue  # inside the tag just yielded
        lt = rfind("<", cursor, at + 1)
        if lt < 0:
            cursor = at + 1  # no tag starts between cursor and the candidate, so none spans it
            continue
        start, gt = cursor, rfind(">", cursor, at)
        for _ in range(8):  # a few tries, then the scan starts from cursor
            if gt < 0:
                break
            if _ends_tag(markup, cursor, gt):
                start = gt + 1
                break
            gt = rfind(">", cursor, gt)
        if start > lt:
            cursor = start
            continue  # text: no '<' between the end of a tag and the candidate
        match = search(markup, start)
        while match is not None and match.end() <= at:
            match = search(markup, match.end())
        if match is None:
            return
        if match.start() <= at:
            yield match
            cursor = end = match.end()
        else:
            cursor = match.start()


def _ends_tag(markup: str, cursor: int, gt: int) -> bool:
    """Whether the '>' at gt cannot be inside a quoted value of a tag that starts at or after cursor.

    Inside a quoted value, the last quote of its kind before gt opens the value, so it
    follows '=' and optional whitespace (all after cursor); outside quoted values, a '>' ends its tag.
    """
    for quote in "\"'":
        at = markup.rfind(quote, cursor, gt)
        if at > cursor:
            before = markup[at - 1]
            if before == "=":
                return False
            if before.isspace():
                before = markup[max(cursor, at - 64):at].rstrip()
                if before.endswith("=") or (not before and at - 64 > cursor):
                    return False
    return True


SPACE_ON_RE = re.compile(r"\son")
URL_IGNORED_RE = re.compile(r"[\s\x00-\x1f]")


def _check_tag(tag: str, attr_text: str, policy: dict[str, list[str]], problems: list, site_origin: str) -> None:
    """Add what one tag would break to problems, and the origin of an image it loads to the policy."""
    if not attr_text:
        return
    tag, found, url, origin, stylesheet = _tag_facts(tag, attr_text)
    problems += found
    if not origin:
        return
    if tag == "img":
        if not allows(policy["img-src"], origin, site_origin):
            policy["img-src"].append(origin)
    elif tag == "script" and not allows(policy["script-src"], origin, site_origin):
        problems.append((f"<script src=\"{url}\"> loads third-party code the CSP does not allow",
                         "serve the script from the site itself, or load it only on request"))
    elif tag == "link" and stylesheet and not allows(policy["style-src"], origin, site_origin):
        problems.append((f"<link rel=stylesheet href=\"{url}\"> loads a third-party stylesheet the CSP does not allow",
                         "put the CSS in theme/static/css/"))
    elif tag == "iframe" and not allows(policy["frame-src"], origin, site_origin):
        problems.append((f"<iframe src=\"{url}\"> embeds a page the CSP does not allow",
                         'add its origin to CSP["extra"]["frame-src"] if you trust it'))


# The same tags (the head's links and scripts, the navigation) come back on every page.
@functools.lru_cache(maxsize=4096)
def _tag_facts(tag: str, attr_text: str) -> tuple[str, tuple[tuple[str, str], ...], str, str, bool]:
    """What one tag's own text says: (tag, problems of its attributes, URL it loads, that URL's origin, rel=stylesheet)."""
    tag = tag.lower()
    if tag not in RESOURCE_TAGS:
        # Most tags have nothing to check, and parsing attributes is the costly part. Every
        # attribute follows whitespace, so " on" catches every event handler.
        low = attr_text.lower()
        if "style" not in low and "javascript" not in low and not SPACE_ON_RE.search(low):
            return tag, (), "", "", False
    attrs = htmlscan.attributes(attr_text)
    problems = []
    for name, value in attrs.items():
        if name.startswith("on"):
            problems.append((f"<{tag} {name}=...> is an inline event handler; the CSP blocks it",
                             "attach the handler from a script file in theme/static/js/"))
        elif name == "style":
            problems.append((f'<{tag} style="{value[:40]}"> is an inline style; the CSP blocks it',
                             "use a class and put the rule in a CSS file"))
        # Without a ":" there is no "javascript:" (nothing lowercases to ":"): most URLs skip the regex.
        elif name in URL_ATTRS and ":" in value and URL_IGNORED_RE.sub("", value).lower().startswith("javascript:"):
            problems.append((f"<{tag} {name}=\"javascript:...\"> runs script from a URL; the CSP blocks it",
                             "use a button with a handler in a script file"))
    url = attrs.get("src") or (attrs.get("href") if tag == "link" else None)
    origin = _origin("https:" + url if url.startswith("//") else url) if url else ""
    return tag, tuple(problems), url or "", origin, "stylesheet" in attrs.get("rel", "").lower()


def insert_meta(text: str, policy: str) -> str | None:
    """Put the CSP meta first in the head (after <meta charset>); None if there is no head."""
    return _insert_meta(text, policy, old_meta=True)


def _insert_meta(text: str, policy: str, old_meta: bool) -> str | None:
    """insert_meta; old_meta False when the page's _scan found no policy meta to replace."""
    if old_meta:
        text = OLD_META_RE.sub("", text)
    head = HEAD_RE.search(text)
    if not head:
        return None
    position = head.end()
    charset = CHARSET_RE.search(text, head.end())
    resource = RESOURCE_RE.search(text, head.end())
    if charset and (resource is None or charset.start() < resource.start()):
        position = charset.end()
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=False).replace(chr(34), "&quot;")}">'
    return text[:position] + meta + text[position:]


# Below this many pages a second process costs more than it saves.
PARALLEL_MIN_PAGES = 200


def apply_csp(output: Path, comments: dict | None, conf: dict, siteurl: str = "",
              known: frozenset[str] | set[str] = frozenset(), skip=frozenset()) -> list[tuple[str, str, str]]:
    """Write the CSP meta into every HTML page under output (but those in skip); return [(page, message, hint)].

    The build itself puts the policy in each page it renders (PolicyTemplate); this pass is
    for HTML written another way (redirect stubs, an .html among the static files).
    Pages are independent, so a large site is split between the machine's cores
    (forked workers: the settings need no pickling); the problems come back in page order.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A page the render memo linked from the last build carries its policy already.
    run = runhooks.current()
    pages = sorted(Path(page) for page in _html_files(str(output))
                   if page not in skip and not (run is not None and run.is_final(page)))
    workers = min(os.cpu_count() or 1, 4)
    if len(pages) < PARALLEL_MIN_PAGES or workers < 2 or multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        return _apply_to_pages(pages, output, comments, conf, siteurl, known)
    chunks = [pages[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = pool.map(_apply_to_pages, chunks, [output] * workers, [comments] * workers,
                           [conf] * workers, [siteurl] * workers, [known] * workers)
        order = {page.relative_to(output).as_posix(): index for index, page in enumerate(pages)}
        return sorted((problem for result in results for problem in result), key=lambda p: order[p[0]])


def _html_files(folder: str) -> list[str]:
    """The paths of Path(folder).rglob("*.html") as strings, in no order (most are skipped, and a Path costs).

    As rglob: every entry whose name ends in ".html", in every folder below, symbolic links
    to folders not followed, a folder that cannot be read left out.
    """
    found = []
    try:
        entries = list(os.scandir(folder))
    except PermissionError:
        return found
    for entry in entries:
        if entry.name.endswith(".html"):
            found.append(entry.path)  # folder + "/" + name, as rglob's paths
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            found += _html_files(entry.path)
    return found


def _wasm_for(page: str, conf: dict):
    """True, "auto" or False: whether the page at this output path may run WebAssembly."""
    patterns = conf["wasm"] if isinstance(conf["wasm"], (list, tuple)) else []
    if conf["wasm"] is True or any(fnmatch.fnmatch(page, p) for p in patterns):
        return True
    return "auto" if conf["wasm"] is not False else False


def _for_page(base: dict[str, list[str]], page: str, conf: dict) -> dict[str, list[str]]:
    """base with what CSP["pages"] adds to the page at this output path."""
    extra = [sources for pattern, sources in (conf.get("pages") or {}).items() if fnmatch.fnmatch(page, pattern)]
    if not extra:
        return base
    policy = {key: list(values) for key, values in base.items()}
    for directives in extra:
        for directive, sources in directives.items():
            policy[directive] = [s for s in policy.get(directive, ["'self'"]) if s != "'none'"]
            policy[directive] += [s for s in sources if s not in policy[directive]]
    return policy


def _apply_to_pages(pages: list[Path], output: Path, comments: dict | None, conf: dict, siteurl: str,
                    known=frozenset()) -> list[tuple[str, str, str]]:
    """Write the CSP meta into the given pages; return [(page, message, hint)]."""
    base = base_policy(comments, conf["extra"], wasm=conf["wasm"] is True)
    site_origin = _origin(siteurl)
    problems = []
    for path in pages:
        text = _universal_newlines(path.read_bytes().decode("utf-8"))
        page = path.relative_to(output).as_posix()
        new, found = _with_policy(text, page, base, conf, site_origin, known)
        problems += found
        if new is not None and new != text:
            _replace(path, new)
    return problems


def _universal_newlines(text: str) -> str:
    """The text as reading it in text mode gives it."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _with_policy(text: str, page: str, base: dict, conf: dict, site_origin: str, known) -> tuple[str | None, list]:
    """The page with its policy meta (None: none can go in), and [(page, message, hint)] for what the policy blocks."""
    scan = _scan(text)
    policy, found = _page_policy(text, scan, base, _wasm_for(page, conf), site_origin, known)
    return _insert_meta(text, render_policy(policy), scan.old_meta), [(page, message, hint) for message, hint in found]


def _finish_html(run, path, text: str) -> str:
    """Put the policy into a page a plugin writes itself (runhooks.Run.finish_html); finalized reports what it blocks."""
    state = _state.get("build")
    if state is None:
        return text
    page = Path(os.path.relpath(path, run.staging)).as_posix()
    text = _universal_newlines(text)
    new, found = _with_policy(text, page, state["base"], state["conf"], state["site_origin"], state["known"])
    state["finished"] += found
    return text if new is None else new


def _replace(path: Path, text: str) -> None:
    """Write text to path; a file with other hard links gets a new file renamed over it.

    A page may be a hard link of a file elsewhere (a previous build's output, say),
    which truncating and rewriting would change too. A file with one link is
    rewritten in place: a new file and a rename cost four times as long on this
    kind of disk, and most pages of a build are such files.
    """
    if os.stat(path).st_nlink == 1:
        path.write_text(text, encoding="utf-8")
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".csp-tmp")
    try:
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
        with open(fd, "w", encoding="utf-8") as file:  # text mode, newlines as write_text writes them
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# --- Our own inline scripts -------------------------------------------------------------

_registered: set[str] = set()


def register_inline_script(text: str) -> str:
    """Trust this inline script (a plugin emits it into pages); return its CSP source."""
    _registered.add(text)
    return sha256_source(text)


JINJA_MARK_RE = re.compile(r"\{[{%#]")


def theme_scripts(settings: dict) -> tuple[set[str], list[tuple[str, str, str]]]:
    """The sha256 sources of the inline scripts in the theme's templates, and [(template, message, hint)].

    Read from the template files, never from a page: a script whose text holds template
    syntax would differ page by page, so it cannot be trusted ahead and is a problem.
    """
    folders = [Path(settings.get("THEME", "")) / "templates"]
    folders += [Path(folder) for folder in settings.get("THEME_TEMPLATES_OVERRIDES") or []]
    known, problems = set(), []
    for folder in folders:
        for template in sorted(folder.rglob("*.html")) if folder.is_dir() else []:
            for match in SCRIPT_RE.finditer(template.read_text(encoding="utf-8")):
                attrs = htmlscan.attributes(match.group(1))
                if "src" in attrs or attrs.get("type", "").strip().lower() in DATA_SCRIPT_TYPES:
                    continue
                if JINJA_MARK_RE.search(match.group(2)):
                    problems.append((str(template), "an inline <script> built from template variables cannot be trusted by hash",
                                     "put the code in theme/static/js/ and pass values in data-* attributes"))
                    continue
                known.add(sha256_source(match.group(2)))
    return known, problems


# --- The content check ------------------------------------------------------------------

URL_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
# Schemes that run script, or a page of its own, where a link or resource names them.
SCRIPT_SCHEMES = {"javascript", "vbscript", "livescript"}


def browser_url(value: str) -> str:
    """A URL attribute's value as the browser resolves it (its entities already decoded).

    The URL parser drops leading and trailing C0 controls and spaces, and every tab and
    newline anywhere: "jav&#x0A;ascript:" runs as "javascript:".
    """
    return re.sub(r"[\t\n\r]", "", value).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                              "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")


def url_runs_script(value: str) -> bool:
    """Whether a (decoded) URL attribute value would run script when followed or loaded."""
    match = URL_SCHEME_RE.match(browser_url(value))
    if not match:
        return False
    scheme = match.group(1).lower()
    return scheme in SCRIPT_SCHEMES or (scheme == "data" and browser_url(value)[5:].lstrip().lower().startswith(("text/html", "image/svg")))


# The content check's fast path. Most bodies (Markdown's and Pygments' output) are text and
# plain tags: a name, then attributes each after ASCII whitespace, each value quoted or a bare
# word. PLAIN_BODY_RE matches a whole body only if it is nothing else and holds nothing
# content_problems looks for, so html.parser (ten times the cost) would find nothing in it:
# - every "<" opens a start tag or an end tag of that grammar: no comment, declaration or
#   stray "<", so no tokenizer state where the parsers could differ;
# - no tag whose name the check looks at or that changes how its text is parsed (script,
#   style, meta, base, link, frames, and the raw-text and foreign elements);
# - no attribute named on..., style or srcdoc (names are ASCII: they lowercase alike);
# - a URL attribute's value cannot resolve to a script scheme: it starts with a scheme
#   that is not one (spelt out, so no entity, tab or control character is in it), or with
#   a character no scheme starts with, or it holds neither ":" nor "&" (an entity could make one).
# ASCII and IGNORECASE together: [a-z] is the 52 ASCII letters only (not "\u017f" or "\u212a").
# Anything else is parsed, as before.
_WS = r"[ \t\n\r\f]"
_NAME_END = r"(?![-a-z0-9_:.])"
_URL_ATTR = r"(?:href|src|action|formaction|xlink:href|data|poster)" + _NAME_END
_CHECKED_ATTR = r"(?:on|(?:style|srcdoc)" + _NAME_END + r")"
_SAFE_URL_START = r"(?:(?!(?:javascript|vbscript|livescript|data):)[a-z][a-z0-9+.-]*+:|[/#?.0-9])"
_URL_VALUE = (rf'''=(?:"(?:{_SAFE_URL_START}[^"<>]*+|[^"<>&:]*+)"'''
              rf'''|'(?:{_SAFE_URL_START}[^'<>]*+|[^'<>&:]*+)')''')
_VALUE = r'''=(?:"[^"<>]*+"|'[^'<>]*+'|[-a-z0-9_.]++)'''
_ATTR = rf"{_WS}++(?:{_URL_ATTR}(?:{_URL_VALUE})?|(?!{_CHECKED_ATTR}|{_URL_ATTR})[a-z_:][-a-z0-9_:.]*+(?:{_VALUE})?)"
_CHECKED_TAG = (r"(?:script|style|meta|base|link|i?frame|frameset|title|textarea|xmp|noembed|noframes|noscript"
                r"|plaintext|template|svg|math|object|embed|applet|portal)(?![a-z0-9])")
PLAIN_BODY_RE = re.compile(rf"(?:[^<]++|<(?!{_CHECKED_TAG})[a-z][a-z0-9]*+(?:{_ATTR})*+{_WS}*+/?>|</[a-z][a-z0-9]*+>)*+",
                           re.ASCII | re.IGNORECASE)


# PLAIN_BODY_RE, a tag at a time. Its tags hold no "<" or ">" but the last: each "<" of a plain
# body opens a piece "<...>" that ends at the next ">", with no "<" before it (_PIECE_RE finds
# them all, one per "<", or the body is not plain), and the piece is one of its tags. Its
# lookaheads never read past a tag's ">", so a tag is plain or not wherever it stands: each
# distinct piece is matched once per process (the same <p>, <a href=...> and Pygments <span>s
# come back in every post), the text between them (anything but "<") not at all.
_PIECE_RE = re.compile(r"<[^<>]*>")
_PLAIN_TAG_RE = re.compile(rf"<(?!{_CHECKED_TAG})[a-z][a-z0-9]*+(?:{_ATTR})*+{_WS}*+/?>|</[a-z][a-z0-9]*+>",
                           re.ASCII | re.IGNORECASE)
_plain_pieces: set[str] = set()


def plain_body(markup: str) -> bool:
    """Whether a content's HTML is only text and plain tags with nothing content_problems would report.

    The same answer as PLAIN_BODY_RE.fullmatch(markup) (tests/test_csp_fast.py).
    """
    pieces = _PIECE_RE.findall(markup)
    if len(pieces) != markup.count("<"):
        return False
    new = set(pieces).difference(_plain_pieces)
    if any(_PLAIN_TAG_RE.fullmatch(piece) is None for piece in new):
        return False
    if len(_plain_pieces) > 200_000:
        _plain_pieces.clear()
    _plain_pieces.update(new)
    return True


def content_problems(markup: str, policy: dict[str, list[str]] | None = None, site_origin: str = "") -> list[tuple[int, str, str, str]]:
    """What in a content's HTML the policy would block or a browser would run: [(line, needle, message, hint)].

    Parsed as a browser parses it: entities in attribute values decoded as the HTML parser
    decodes them, tabs and newlines dropped from URLs; <noscript>, <template> and SVG are
    markup like the rest, and so is a <style>'s text (inside SVG a browser parses it as markup).
    `needle` is what to look for in the source file to name the line. A plain body (plain_body)
    holds nothing of that, provably, so it is not parsed.
    """
    if plain_body(markup):
        return []
    return parsed_content_problems(markup, policy, site_origin)


def parsed_content_problems(markup: str, policy: dict[str, list[str]] | None = None,
                            site_origin: str = "") -> list[tuple[int, str, str, str]]:
    """content_problems without the fast path: the markup parsed by html.parser, whatever it is."""
    from html.parser import HTMLParser

    policy = policy or base_policy(None, {})
    found: list[tuple[int, str, str, str]] = []

    class Scan(HTMLParser):
        def __init__(self, first_line=0):
            super().__init__(convert_charrefs=True)
            self.first_line, self.in_style = first_line, False

        def handle_starttag(self, tag, attrs):
            line = self.first_line + self.getpos()[0]
            names = {}
            for name, value in attrs:
                names.setdefault(name.lower(), value or "")

            def add(needle, message, hint):
                found.append((line, needle, message, hint))

            kind = names.get("type", "").strip().lower()
            if tag == "script" and kind not in DATA_SCRIPT_TYPES and "src" not in names:
                add("<script", "an inline <script> in the content; the CSP allows only the theme's own scripts",
                    "show code as code (a fenced block, or &lt;script&gt; in text), or put a script in theme/static/js/")
            if tag == "meta" and names.get("http-equiv", "").strip().lower() in ("refresh", "content-security-policy", "set-cookie"):
                add("http-equiv", f'<meta http-equiv="{names["http-equiv"]}"> in the content changes the page (a refresh navigates away)',
                    "link to the other page instead")
            if tag == "base":
                add("<base", "a <base> in the content changes where every link of the page goes", "remove it")
            for name, value in names.items():
                if name.startswith("on"):
                    add(name, f"<{tag} {name}=...> is an inline event handler; the CSP blocks it",
                        "attach the handler from a script file in theme/static/js/")
                elif name == "style":
                    add("style", f'<{tag} style="{value[:40]}"> is an inline style; the CSP blocks it',
                        "use a class and put the rule in a CSS file")
                elif name == "srcdoc":
                    add("srcdoc", f"<{tag} srcdoc=...> embeds a whole page, scripts and all", "link to the page instead")
                elif name in URL_ATTRS and url_runs_script(value):
                    add(name, f"<{tag} {name}=\"javascript:...\"> runs script from a URL; the CSP blocks it",
                        "link to a page, or use a button with a handler in a script file")
            url = names.get("src") or (names.get("href") if tag == "link" else "")
            origin = _origin("https:" + url if url.startswith("//") else url) if url else ""
            if not origin:
                return
            if tag == "script" and not allows(policy["script-src"], origin, site_origin):
                add("<script", f"<script src=\"{url}\"> loads third-party code the CSP does not allow",
                    "serve the script from the site itself, or load it only on request")
            elif tag == "link" and "stylesheet" in names.get("rel", "").lower() and not allows(policy["style-src"], origin, site_origin):
                add("<link", f"<link rel=stylesheet href=\"{url}\"> loads a third-party stylesheet the CSP does not allow",
                    "put the CSS in theme/static/css/")
            elif tag in ("iframe", "frame") and not allows(policy["frame-src"], origin, site_origin):
                add("<iframe", f"<iframe src=\"{url}\"> embeds a page the CSP does not allow",
                    "use a click-to-load embed, or add its origin to CSP[\"extra\"][\"frame-src\"] if you trust it")

        handle_startendtag = handle_starttag

        def handle_data(self, data):
            if self.in_style and "<" in data:
                inner = Scan(self.first_line + self.getpos()[0] - 1)
                inner.feed(data)
                inner.close()

        def handle_endtag(self, tag):
            if tag == "style":
                self.in_style = False

    class Top(Scan):
        def handle_starttag(self, tag, attrs):
            super().handle_starttag(tag, attrs)
            if tag == "style":
                self.in_style = True

    scan = Top()
    scan.feed(markup)
    scan.close()
    return found


def _source_line(source_path: str, needle: str) -> int | None:
    """The first line of the source file that holds needle (case-insensitive), if any."""
    try:
        lines = Path(source_path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    needle = needle.lower()
    return next((number for number, line in enumerate(lines, 1) if needle in line.lower()), None)


def check_contents(generators) -> None:
    """Report any script a content's HTML would run, naming its source file (and line)."""
    settings = generators[0].settings if generators else {}
    if not resolve_settings(settings.get("CSP"))["enabled"]:
        return
    from blogkit.problems import source_name

    _state["flagged"] = flagged = set()
    state = _state.get("build")
    seen = set()
    for generator in generators:
        for name in ("articles", "translations", "drafts", "drafts_translations", "hidden_articles", "hidden_translations",
                     "pages", "hidden_pages", "draft_pages", "hidden_translations"):
            for content in getattr(generator, name, None) or []:
                if id(content) in seen or not getattr(content, "source_path", None):
                    continue
                seen.add(id(content))
                markup = (content._content or "") + "\n" + (content.metadata.get("summary") or "")
                policy = state["base"] if state else None
                for line, needle, message, hint in content_problems(markup, policy, state["site_origin"] if state else ""):
                    flagged.add(content.source_path)
                    report(source_name(content.relative_source_path, settings["PATH"]), message, hint,
                           line=_source_line(content.source_path, needle))


# --- The policy, written while each page is rendered -------------------------------------

_state: dict = {}


def _page_items(context: dict) -> list:
    """The contents a rendered page may show: its article or page, or those of its listing."""
    items = [context.get(key) for key in ("article", "page")]
    listing = context.get("articles_page")
    items += list(getattr(listing, "object_list", None) or [])
    items += list(context.get("dates") or []) if listing is None else []  # archive pages list summaries of these
    return [item for item in items if item is not None and hasattr(item, "source_path")]


def policy_for_render(text: str, context: dict, template: str = "") -> str:
    """The rendered page with its policy meta, and its problems reported (PolicyTemplate's work)."""
    state = _state.get("build")
    if state is None or "<head" not in text[:4096].lower():
        return text
    page = str(context.get("output_file") or "")
    base = _for_page(state["base"], page, state["conf"])
    scan = _scan(text)
    policy, found = _page_policy(text, scan, base, _wasm_for(page, state["conf"]), state["site_origin"], state["known"])
    # A content already reported by name fails the build; its markup shown here again says nothing new.
    # Its contents are looked up only then: an article page's fallback is every post (`dates`), so
    # listing them for every page made this step quadratic (16x CPU from 1,000 to 5,000 posts).
    if found and not any(item.source_path in _state.get("flagged", ()) for item in _page_items(context)):

        for message, hint in found:
            if (message, hint) not in state["reported"]:
                state["reported"].add((message, hint))
                report(f"built page {page}" + (f" (template {template})" if template else ""), message, hint)
    new = _insert_meta(text, render_policy(policy), scan.old_meta)
    if new is not None:
        state["written"].add(page)
    return new if new is not None else text


class PolicyTemplate(jinja2.Template):
    """A template whose rendered page carries its CSP meta: no second pass reads the pages again."""

    def render(self, *args, **kwargs):
        text = super().render(*args, **kwargs)
        context = dict(*args, **kwargs)
        return policy_for_render(text, context, self.name or "")


def use_policy_template(generator) -> None:
    """Render this generator's pages through PolicyTemplate."""
    if _state.get("build") is not None:
        generator.env.template_class = PolicyTemplate


def start(pelican) -> None:
    """Work out this build's known scripts and base policy before anything is rendered."""
    _state.clear()
    conf = resolve_settings(pelican.settings.get("CSP"))
    if not conf["enabled"]:
        return

    known, problems = theme_scripts(pelican.settings)
    for template, message, hint in problems:
        report(template, message, hint)
    known |= {sha256_source(text) for text in _registered}
    comments = pelican.settings.get("COMMENTS") if isinstance(pelican.settings.get("COMMENTS"), dict) else None
    _state["build"] = {
        "conf": conf, "known": frozenset(known), "site_origin": _origin(pelican.settings.get("SITEURL", "")),
        "comments": comments, "reported": set(), "written": set(), "finished": [],
        # The comments plugin (earlier in PLUGINS) has settled COMMENTS, the service's origin, by now.
        "base": base_policy(comments, conf["extra"], wasm=conf["wasm"] is True),
    }
    run = runhooks.current()
    if run is not None:
        run.on_html(_finish_html)


def finalized(pelican) -> None:
    """Give the policy to HTML the templates did not render (redirect stubs, static .html); report what it blocks."""
    state = _state.pop("build", None)
    _state.pop("flagged", None)
    if state is None:
        return
    output = Path(pelican.output_path)
    skip = _skip_paths(output, state["written"], _written_paths)

    # One line per problem, not per page: a template mistake shows on every page.
    pages_by_problem: dict[tuple[str, str], list[str]] = {}
    found = apply_csp(output, state["comments"], state["conf"], pelican.settings.get("SITEURL", ""), state["known"], skip)
    for page, message, hint in sorted(state["finished"] + found, key=lambda problem: PurePosixPath(problem[0]).parts):
        pages_by_problem.setdefault((message, hint), []).append(page)
    for (message, hint), pages in pages_by_problem.items():
        more = f" (and {len(pages) - 1} more page(s))" if len(pages) > 1 else ""
        report(f"built page {pages[0]}{more}", message, hint)
    _written_paths.clear()


_written_paths: set[str] = set()
# A relative path that Path would leave as it is: no empty, "." or leading-"/" part, no trailing "/".
_NORMAL_RELATIVE_RE = re.compile(r"(?!\./|\.\Z)[^/]+(?:/(?!\./|\.\Z)[^/]+)*")


def _skip_paths(output: Path, written, absolute) -> set[str]:
    """{str(output / page) for page in written} | {str(Path(path)) for path in absolute}, without a Path per page.

    The absolute paths come from os.path.abspath, normalised already: str(Path(path)) is the same string.
    """
    root = str(output)
    if os.sep != "/":
        return {str(output / page) for page in written} | {str(Path(path)) for path in absolute}
    skip = {f"{root}/{page}" if _NORMAL_RELATIVE_RE.fullmatch(page) else str(output / page) for page in written}
    return skip | {path if os.path.isabs(path) and os.path.normpath(path) == path else str(Path(path)) for path in absolute}


def _remember_written(path, context=None, **_kwargs) -> None:
    # Pages rendered in forked workers put their meta in there; the parent learns of them here.
    if str(path).endswith(".html") and isinstance(context, dict) and "output_file" in context:
        _written_paths.add(os.path.abspath(path))


def register():
    """Connect to Pelican."""
    signals.initialized.connect(start)
    signals.generator_init.connect(use_policy_template)
    signals.all_generators_finalized.connect(check_contents)
    signals.content_written.connect(_remember_written)
    signals.finalized.connect(finalized)
