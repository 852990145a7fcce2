"""Content-Security-Policy: a <meta> first in every page's head, written after the build.

Ours rather than a PyPI plugin: none of the Pelican CSP helpers hash the inline
scripts of each written page, and GitHub Pages cannot send headers, so the
policy has to be a meta element computed from the finished HTML. It runs on
Pelican's `finalized` signal over the staging folder, so a page that breaks the
policy (an inline event handler, a `javascript:` URL, a style="" attribute, a
third-party script or stylesheet) fails the build before anything is swapped in.

The policy allows 'self'; the comment service's origin (from the comments
plugin: Isso's server for scripts and API calls, giscus for its script,
stylesheet and frame); each inline <script> of the page by its sha256 hash;
'wasm-unsafe-eval' on the pages that run Pagefind (search.html, or any page
whose scripts name pagefind): its search runs as WebAssembly; elsewhere nothing
needs it, and the Nu HTML checker's CSP parser predates the keyword and reports
it as an error; images from the origins that the
page's own <img> elements name (an imported post may still show an image on its
old host); and anything added under CSP["extra"].

Settings (under CSP, defaults applied in `resolve_settings`):
    enabled   write the meta element and check pages (True)
    wasm      pages (glob patterns under the output folder) that get 'wasm-unsafe-eval'
              besides those whose scripts name pagefind (["search.html"]); True: all; False: none
    extra     {"img-src": ["https://example.org"], ...} added to the policy
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import html
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals

from blogkit import rendermemo

logger = logging.getLogger(__name__)

DEFAULTS = {"enabled": True, "wasm": ["search.html"], "extra": {}}
WASM = "'wasm-unsafe-eval'"
PAGEFIND_RE = re.compile(r"pagefind", re.I)

# Script types that are data, not code: the browser never runs them, CSP ignores them.
DATA_SCRIPT_TYPES = {"application/ld+json", "application/json", "text/plain", "text/template"}

SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)
CHARSET_RE = re.compile(r"<meta\s+charset\s*=[^>]*>", re.I)
RESOURCE_RE = re.compile(r"<(?:script|link|style|base)\b", re.I)
OLD_META_RE = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"[^>]*>\s*', re.I)
TAG_RE = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*/?>"
)
ATTR_RE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
RESOURCE_TAGS = {"script", "link", "iframe", "img"}
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


def _problem(path: str, message: str, hint: str = ""):
    """Log an error the strict build turns into a Problem naming the file."""
    try:
        from blogkit.build import Problem
    except ImportError:
        logger.error("%s: %s (%s)", path, message, hint)
        return
    logger.error("%s: %s", path, message, extra={"problem": Problem(path, message, hint)})


def resolve_settings(given: dict | None) -> dict:
    """Apply the defaults to a CSP setting."""
    conf = {**DEFAULTS, **(given or {})}
    conf["extra"] = {key: list(values) for key, values in (conf.get("extra") or {}).items()}
    return conf


def sha256_source(script: str) -> str:
    """The CSP source allowing exactly this inline script text."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _attrs(text: str) -> dict:
    found = {}
    for name, value in ATTR_RE.findall(text):
        value = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
        found.setdefault(name.lower(), html.unescape(value))
    return found


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
        policy["script-src"].append(origin)
        policy["connect-src"].append(origin)
    elif origin and comments.get("provider") == "giscus":
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


def page_policy(text: str, base: dict[str, list[str]], wasm=False, site_origin: str = "") -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The policy for one page, and what in the page it would block: [(message, hint)].

    wasm: True to allow WebAssembly on this page, "auto" to allow it if the page's scripts name pagefind.
    site_origin: the origin of an absolute SITEURL, which 'self' covers once the site is published.
    """
    policy = {key: list(values) for key, values in base.items()}
    uses_pagefind = False
    for attrs, body in SCRIPT_RE.findall(text):
        parsed = _attrs(attrs)
        if parsed.get("type", "").strip().lower() in DATA_SCRIPT_TYPES:
            continue
        uses_pagefind = uses_pagefind or bool(PAGEFIND_RE.search(parsed.get("src", "") + body))
        if "src" in parsed:
            continue
        source = sha256_source(body)
        if source not in policy["script-src"]:
            policy["script-src"].append(source)
    if (wasm is True or (wasm == "auto" and uses_pagefind)) and WASM not in policy["script-src"]:
        policy["script-src"].insert(1, WASM)

    problems = []
    # Script bodies are code, not markup: keep the tags (their src counts), drop what is inside.
    markup = SCRIPT_RE.sub(lambda m: f"<script{m.group(1)}></script>", text)
    for tag, attr_text in TAG_RE.findall(markup):
        if not attr_text:
            continue
        tag = tag.lower()
        if tag not in RESOURCE_TAGS:
            # Most tags have nothing to check, and parsing attributes is the costly part. Every
            # attribute follows whitespace, so " on" catches every event handler.
            low = attr_text.lower()
            if "style" not in low and "javascript" not in low and not re.search(r"\son", low):
                continue
        attrs = _attrs(attr_text)
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append((f"<{tag} {name}=...> is an inline event handler; the CSP blocks it",
                                 "attach the handler from a script file in theme/static/js/"))
            elif name == "style":
                problems.append((f'<{tag} style="{value[:40]}"> is an inline style; the CSP blocks it',
                                 "use a class and put the rule in a CSS file"))
            elif name in URL_ATTRS and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith("javascript:"):
                problems.append((f"<{tag} {name}=\"javascript:...\"> runs script from a URL; the CSP blocks it",
                                 "use a button with a handler in a script file"))
        url = attrs.get("src") or (attrs.get("href") if tag == "link" else None)
        if not url:
            continue
        origin = _origin("https:" + url if url.startswith("//") else url)
        if not origin:
            continue
        if tag == "img":
            if not allows(policy["img-src"], origin, site_origin):
                policy["img-src"].append(origin)
        elif tag == "script" and not allows(policy["script-src"], origin, site_origin):
            problems.append((f"<script src=\"{url}\"> loads third-party code the CSP does not allow",
                             "serve the script from the site itself, or load it only on request"))
        elif tag == "link" and "stylesheet" in attrs.get("rel", "").lower() and not allows(policy["style-src"], origin, site_origin):
            problems.append((f"<link rel=stylesheet href=\"{url}\"> loads a third-party stylesheet the CSP does not allow",
                             "put the CSS in theme/static/css/"))
        elif tag == "iframe" and not allows(policy["frame-src"], origin, site_origin):
            problems.append((f"<iframe src=\"{url}\"> embeds a page the CSP does not allow",
                             'add its origin to CSP["extra"]["frame-src"] if you trust it'))
    return policy, problems


def insert_meta(text: str, policy: str) -> str | None:
    """Put the CSP meta first in the head (after <meta charset>); None if there is no head."""
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


def apply_csp(output: Path, comments: dict | None, conf: dict, siteurl: str = "") -> list[tuple[str, str, str]]:
    """Write the CSP meta into every HTML page under output; return [(page, message, hint)].

    Pages are independent, so a large site is split between the machine's cores
    (forked workers: the settings need no pickling); the problems come back in page order.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A page the render memo linked from the last build carries its policy already.
    pages = [page for page in sorted(output.rglob("*.html")) if not rendermemo.was_reused(page)]
    workers = min(os.cpu_count() or 1, 4)
    if len(pages) < PARALLEL_MIN_PAGES or workers < 2 or multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        return _apply_to_pages(pages, output, comments, conf, siteurl)
    chunks = [pages[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = pool.map(_apply_to_pages, chunks, [output] * workers, [comments] * workers,
                           [conf] * workers, [siteurl] * workers)
        order = {page.relative_to(output).as_posix(): index for index, page in enumerate(pages)}
        return sorted((problem for result in results for problem in result), key=lambda p: order[p[0]])


def _apply_to_pages(pages: list[Path], output: Path, comments: dict | None, conf: dict, siteurl: str) -> list[tuple[str, str, str]]:
    """Write the CSP meta into the given pages; return [(page, message, hint)]."""
    base = base_policy(comments, conf["extra"], wasm=conf["wasm"] is True)
    patterns = conf["wasm"] if isinstance(conf["wasm"], (list, tuple)) else []
    problems = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        page = path.relative_to(output).as_posix()
        wasm = True if any(fnmatch.fnmatch(page, p) for p in patterns) else ("auto" if conf["wasm"] is not False else False)
        policy, found = page_policy(text, base, wasm=wasm, site_origin=_origin(siteurl))
        problems += [(page, message, hint) for message, hint in found]
        new = insert_meta(text, render_policy(policy))
        if new is not None and new != text:
            path.write_text(new, encoding="utf-8")
    return problems


def finalized(pelican) -> None:
    """Add the policy to every page the build wrote; report what it would block."""
    conf = resolve_settings(pelican.settings.get("CSP"))
    if not conf["enabled"]:
        return
    comments = pelican.settings.get("COMMENTS") if isinstance(pelican.settings.get("COMMENTS"), dict) else None
    # One line per problem, not per page: a template mistake shows on every page.
    pages_by_problem: dict[tuple[str, str], list[str]] = {}
    for page, message, hint in apply_csp(Path(pelican.output_path), comments, conf, pelican.settings.get("SITEURL", "")):
        pages_by_problem.setdefault((message, hint), []).append(page)
    for (message, hint), pages in pages_by_problem.items():
        more = f" (and {len(pages) - 1} more page(s))" if len(pages) > 1 else ""
        _problem(f"built page {pages[0]}{more}", message, hint)


def register():
    """Connect to Pelican."""
    signals.finalized.connect(finalized)
