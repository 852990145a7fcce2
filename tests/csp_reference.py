"""The CSP plugin's page checks as they were before they were made fast (commit f526feb), kept as the oracle.

Changed since in one respect, in both: an inline script is allowed only if its hash is one of
the `known` scripts of the theme and plugins (never because a page happens to hold it).

plugins/csp now matches TAG_RE only around candidate places in a page; this is the
straightforward version it must agree with, to the byte and to the order of the
problems: every tag of the page matched, one after the other. Copied verbatim, so
that no helper is shared with the code under test.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import html
import re
from pathlib import Path
from urllib.parse import urlsplit

from plugins.csp import UNKNOWN_SCRIPT, base_policy, render_policy

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


def allows(sources: list[str], origin: str, site_origin: str = "") -> bool:
    """Whether a source list lets the page load from origin ('self' is the site's own origin)."""
    if origin == site_origin and "'self'" in sources:
        return True
    return origin in sources or "*" in sources or f"{urlsplit(origin).scheme}:" in sources


def page_policy(text: str, base: dict[str, list[str]], wasm=False, site_origin: str = "",
                known=frozenset()) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The policy for one page, and what in the page it would block: [(message, hint)].

    wasm: True to allow WebAssembly on this page, "auto" to allow it if the page's scripts name pagefind.
    site_origin: the origin of an absolute SITEURL, which 'self' covers once the site is published.
    """
    policy = {key: list(values) for key, values in base.items()}
    uses_pagefind = unknown = False
    for attrs, body in SCRIPT_RE.findall(text):
        parsed = _attrs(attrs)
        if parsed.get("type", "").strip().lower() in DATA_SCRIPT_TYPES:
            continue
        uses_pagefind = uses_pagefind or bool(PAGEFIND_RE.search(parsed.get("src", "") + body))
        if "src" in parsed:
            continue
        source = sha256_source(body)
        # Since the CSP trusts only our own scripts: a known one by its hash, any other a problem (once a page).
        if source not in known:
            unknown = True
        elif source not in policy["script-src"]:
            policy["script-src"].append(source)
    if (wasm is True or (wasm == "auto" and uses_pagefind)) and WASM not in policy["script-src"]:
        policy["script-src"].insert(1, WASM)

    problems = [UNKNOWN_SCRIPT] if unknown else []
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


def _apply_to_pages(pages: list[Path], output: Path, comments: dict | None, conf: dict, siteurl: str,
                    known=frozenset()) -> list[tuple[str, str, str]]:
    """Write the CSP meta into the given pages; return [(page, message, hint)]."""
    base = base_policy(comments, conf["extra"], wasm=conf["wasm"] is True)
    patterns = conf["wasm"] if isinstance(conf["wasm"], (list, tuple)) else []
    problems = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        page = path.relative_to(output).as_posix()
        wasm = True if any(fnmatch.fnmatch(page, p) for p in patterns) else ("auto" if conf["wasm"] is not False else False)
        policy, found = page_policy(text, base, wasm=wasm, site_origin=_origin(siteurl), known=known)
        problems += [(page, message, hint) for message, hint in found]
        new = insert_meta(text, render_policy(policy))
        if new is not None and new != text:
            path.write_text(new, encoding="utf-8")
    return problems
