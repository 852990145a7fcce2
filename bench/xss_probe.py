"""Run a corpus of XSS vectors through every channel a reader or an import has into the blog; print what executed.

    uv run python bench/xss_probe.py            # the whole corpus (about a minute on 2 shared cores)
    uv run python bench/xss_probe.py --limit 10 # the first 10 vectors only

Channels: post body (each vector raw, and entity-encoded as a blogger writes about
HTML), title, label, author name (all four from a Blogger export through the real
importer), Blogger comment (body, entity-encoded body, author name), archived
comment file (content/comments/*.json: body, author, URL) and live Isso comment
(a real Isso on 127.0.0.1, moderation off so every comment shows: text, author,
website). The site is built strictly with the real settings, served on 127.0.0.1
and every page is loaded in headless Chromium (nothing may leave 127.0.0.1; each
post's live thread is brought into view, and the pointer moved over the page).

A vector "executed" when its alert() opened a dialog or its refresh/redirect
navigated the tab. "Armed" counts vectors that reached a page's DOM in a form
that would run without the Content-Security-Policy (a handler attribute, a
javascript: URL, srcdoc, a script, a refresh): the sanitisers' misses, each
stopped only by the policy. Every vector is our own (written in the styles of the
public XSS cheat sheets: tag and attribute breakouts, handlers, URL schemes and
their encodings, SVG/MathML, mXSS parser confusions, DOM clobbering, refresh/base).
A post whose fields the build refuses (a named problem) counts as refused, not run.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from blogger_export import write_export  # noqa: E402
from blogkit.blogger import Options, import_blogger  # noqa: E402
from blogkit.build import BuildError, build  # noqa: E402
from blogkit.comments import start_isso  # noqa: E402
from blogkit.serve import free_port, serve_in_child  # noqa: E402

# One vector a line; § is replaced by a number that names the channel, vector and slot.
VECTORS = r"""
<script>alert(§)</script>
<SCRIPT>alert(§)</SCRIPT>
<script >alert(§)</script >
<script/x>alert(§)</script>
"><script>alert(§)</script>
'><script>alert(§)</script>
</title><script>alert(§)</script>
</textarea><script>alert(§)</script>
</style><script>alert(§)</script>
<img src=x onerror=alert(§)>
<img src="x" onerror="alert(§)">
<img/src=x/onerror=alert(§)>
<img src=x onerror=&#97;lert(§)>
<image src=x onerror=alert(§)>
<svg onload=alert(§)>
<svg><script>alert(§)</script></svg>
<svg><animate onbegin=alert(§) attributeName=x dur=1s>
<svg><a xlink:href="javascript:alert(§)"><text y=20>x</text></a></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(§)>
<body onload=alert(§)>
<details open ontoggle=alert(§)>
<input autofocus onfocus=alert(§)>
<select autofocus onfocus=alert(§)>
<textarea autofocus onfocus=alert(§)>x</textarea>
<video><source onerror=alert(§)></video>
<audio src=x onerror=alert(§)>
<marquee onstart=alert(§)>x</marquee>
<div onmouseover=alert(§) style="position:fixed;inset:0">x</div>
<p onclick=alert(§)>click</p>
<a href="javascript:alert(§)">link</a>
<a href="JaVaScRiPt:alert(§)">link</a>
<a href="jav&#x09;ascript:alert(§)">link</a>
<a href="jav&#x0A;ascript:alert(§)">link</a>
<a href="&#106;avascript:alert(§)">link</a>
<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(§)">link</a>
<a href=" javascript:alert(§)">link</a>
<a href="javascript&colon;alert(§)">link</a>
<a href="data:text/html,<script>alert(§)</script>">link</a>
<iframe src="javascript:alert(§)"></iframe>
<iframe srcdoc="<script>alert(§)</script>"></iframe>
<iframe srcdoc="&lt;img src=x onerror=alert(§)&gt;"></iframe>
<object data="javascript:alert(§)"></object>
<embed src="javascript:alert(§)">
<form action="javascript:alert(§)"><button>go</button></form>
<form><button formaction="javascript:alert(§)">go</button></form>
<isindex action="javascript:alert(§)">
<meta http-equiv="refresh" content="0;url=/nav-§.html">
<meta http-equiv="refresh" content="0;url=javascript:alert(§)">
<base href="javascript:alert(§)//">
<link rel="stylesheet" href="javascript:alert(§)">
<style>@import "javascript:alert(§)";</style>
<div style="background:url(javascript:alert(§))">x</div>
<noscript><p title="</noscript><img src=x onerror=alert(§)>"></noscript>
<noscript><img src=x onerror=alert(§)></noscript>
<template><img src=x onerror=alert(§)></template>
<svg><style><img src=x onerror=alert(§)></style></svg>
<math><style><img src=x onerror=alert(§)></style></math>
<table><td><svg><style><img src=x onerror=alert(§)></table>
<!--<img src="--><img src=x onerror=alert(§)//">
<![CDATA[><img src=x onerror=alert(§)>]]>
<xmp><img src=x onerror=alert(§)></xmp>
<title><img src=x onerror=alert(§)></title>
<plaintext><img src=x onerror=alert(§)>
<img src="x` `<script>alert(§)</script>"` `>
<a id=defaultView name=defaultView href="javascript:alert(§)">clobber</a>
<form id=blogComments><input name=x value=§></form>
<img name=getElementById src=x onerror=alert(§)>
"onmouseover="alert(§)
' onfocus='alert(§)' autofocus='
javascript:alert(§)
&lt;script&gt;alert(§)&lt;/script&gt;
&#60;img src=x onerror=alert(§)&#62;
\u003cscript\u003ealert(§)\u003c/script\u003e
%3Cscript%3Ealert(§)%3C/script%3E
{{ 7*7 }}<img src=x onerror=alert(§)>
[link](javascript:alert(§))
![img](x" onerror="alert(§))
<https://x.example/"onmouseover="alert(§)>
""".strip().splitlines()

CHANNELS = {  # name -> slots (the field each slot fills)
    "post body": ("raw HTML", "entity-encoded"),
    "title": ("text",),
    "label": ("text",),
    "author": ("name",),
    "Blogger comment": ("body", "entity-encoded body", "author"),
    "archived comment file": ("body", "author", "url"),
    "live Isso comment": ("text", "author", "website"),
}
NAMES = list(CHANNELS)
# The marker each channel's carrier also holds as plain text, to count the vectors a page really shows.
MARKERS = {"PB": "post body", "PT": "title", "PL": "label", "PA": "author", "BC": "Blogger comment",
           "AC": "archived comment file", "LC": "live Isso comment"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def code(channel: str, vector: int, slot: int) -> int:
    """The number a vector carries: 1CCVVVS (channel, vector, slot), never a prefix of another."""
    return 1_000_000 + NAMES.index(channel) * 100_000 + vector * 10 + slot


def decode(number: int) -> tuple[str, int]:
    rest = number - 1_000_000
    return NAMES[rest // 100_000], rest % 100_000 // 10


def carry(template: str, channel: str, vector: int, slot: int) -> str:
    return template.replace("§", str(code(channel, vector, slot)))


def remote(body: str) -> str:
    # In a body, src=x is a missing image the strict build refuses; an image on a Blogger host stays remote (no
    # downloads here) and fails to load in Chromium (nothing leaves 127.0.0.1), so an onerror left on it fires.
    return re.sub(r"src=(\"?)x\b", r"src=\1http://1.bp.blogspot.com/_p/x/s400/x.png", body)


def export_posts(vectors: list[str]) -> list[dict]:
    posts = []
    for k, v in enumerate(vectors):
        posts.append({
            "slug": f"probe-{k}",
            # Letters of its own after each field, so a field that is all markup still has a slug.
            "title": f"{carry(v, 'title', k, 0)} PT{k}",
            "body": f"<p>PB{k}</p>{remote(carry(v, 'post body', k, 0))}<p>{html.escape(carry(v, 'post body', k, 1))}</p>",
            # Blogger labels hold no commas; Pelican splits a Tags line on ';' (the importer writes it).
            "labels": [f"PL{k} {carry(v, 'label', k, 0)}".replace(",", " ").replace(";", " ")],
            "author": f"PA{k} {carry(v, 'author', k, 0)}".replace(",", " ").replace(";", " "),
            "comments": [{"body": carry(v, "Blogger comment", k, 0) + "<br>"
                          + html.escape(carry(v, "Blogger comment", k, 1)) + f" BC{k}",
                          "author": f"{carry(v, 'Blogger comment', k, 2)} R{k}"}],
        })
    return posts


def add_archived(content: Path, vectors: list[str], skip: set[int]) -> None:
    """Append one archived comment per vector to each post's comment file (the importer wrote the Blogger ones)."""
    for k, v in enumerate(vectors):
        if k in skip:
            continue
        [post] = content.rglob(f"probe-{k}.md")
        relative = post.relative_to(content / "posts").with_suffix(".json")
        path = content / "comments" / relative
        data = json.loads(path.read_text()) if path.exists() else {
            "post": relative.with_suffix(".html").as_posix(), "source": "Blogger", "comments": []}
        data["comments"].append({
            "id": f"x{k}", "parent": None, "author": carry(v, "archived comment file", k, 1),
            # (a javascript: URL is refused by the file format, naming the file: an http URL that breaks out instead)
            "url": f"https://x.example/{carry(v, 'archived comment file', k, 2)}",
            "date": "2021-06-01T12:00:00-05:00", "body": carry(v, "archived comment file", k, 0) + f" AC{k}"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))


def build_site(base: Path, vectors: list[str], isso_url: str, site_url: str) -> tuple[Path, dict[str, set[int]]]:
    """Import, add archived comments, build; a post or comment file the build refuses is taken out and counted."""
    content = base / "content"
    (content / "posts").mkdir(parents=True)
    (content / "pages").mkdir()
    report = import_blogger(write_export(base / "export.xml", export_posts(vectors)),
                            Options(content=content, download_images=False))
    refused: dict[str, set[int]] = {name: set() for name in NAMES}
    for problem in report.problems:  # the importer refused the whole entry
        match = re.search(r"probe-(\d+)", str(problem))
        for name in NAMES[:5]:
            refused[name].add(int(match[1])) if match else None
    add_archived(content, vectors, refused["post body"])
    os.environ["ISSO_URL"] = isso_url  # the comments plugin reads it: the pages point at our Isso
    for _attempt in range(20):
        try:
            build(ROOT / "pelicanconf.py", base / "output",
                  {"PATH": str(content), "CACHE_PATH": str(base / "cache"), "SITEURL": site_url, "FEED_DOMAIN": site_url})
            return base / "output", refused
        except BuildError as exc:
            print(f"  build refused: {len(exc.problems)} problem(s); taking those carriers out and building again")
            handled = set()  # a file may have several problems: one step per file and build
            for problem in exc.problems:
                match = re.search(r"probe-(\d+)\.(md|json)", str(problem.path))
                if not match:
                    raise
                k, kind = int(match[1]), match[2]
                if (k, kind) in handled:
                    continue
                handled.add((k, kind))
                source = content / str(problem.path).removeprefix("content/")
                if kind == "json" and source.exists():
                    refused["archived comment file"].add(k)
                    data = json.loads(source.read_text())
                    data["comments"] = [c for c in data["comments"] if c["id"] != f"x{k}"]
                    source.write_text(json.dumps(data))
                elif kind == "md" and source.exists() and k not in refused["post body"]:
                    # The body is refused (a named problem): keep the post with a plain body, so its other fields count.
                    refused["post body"].add(k)
                    header = source.read_text(encoding="utf-8").split("\n\n", 1)[0]
                    source.write_text(f"{header}\n\nPB{k}: the build refused this body.\n", encoding="utf-8")
                elif kind == "md" and source.exists():
                    for name in NAMES[:5]:
                        refused[name].add(k)
                    source.unlink()
                    comments = content / "comments" / source.relative_to(content / "posts").with_suffix(".json")
                    comments.unlink(missing_ok=True)
    raise SystemExit("the build kept failing; see the problems above")


def post_isso(isso_url: str, site_url: str, uri: str, fields: dict) -> int:
    request = urllib.request.Request(f"{isso_url}/new?uri={urllib.request.quote(uri)}", method="POST",
                                     data=json.dumps({"title": "Probe", **fields}).encode(),
                                     headers={"Content-Type": "application/json", "Origin": site_url})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# A handler, srcdoc, or a URL attribute with a script scheme (not a title or content that merely reads "javascript:").
ARMED = """() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => /^on/i.test(a.name) || a.name === 'srcdoc' ||
      (/^(href|src|action|formaction|data|xlink:href|poster|background|ping|srcset)$/i.test(a.name) &&
       /^[\\s\\u0000-\\u001f]*(javascript|data|vbscript):/i.test(a.value)))
    .map(a => a.value))
  .concat([...document.querySelectorAll('body script, meta[http-equiv=refresh], base, iframe, object, embed')]
    .map(el => el.outerHTML))"""


def probe(output: Path, site_url: str, vectors: list[str]):
    """Load every page: {channel: vector numbers} executed, armed and shown; pages loaded; unexplained navigations."""
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    executed = {name: set() for name in NAMES}
    armed = {name: set() for name in NAMES}
    shown = {name: set() for name in NAMES}
    marker = re.compile(r"\b(PB|PT|PL|PA|BC|AC|LC)(\d+)\b")
    numbers = re.compile(r"1\d{6}")

    def mark(found: dict, text: str) -> None:
        for number in numbers.findall(text):
            channel, k = decode(int(number))
            found[channel].add(k)

    def navigated(path: str, target: str) -> None:
        # The corpus's refreshes go to /nav-<number>.html: that names the vector. Any other is unexplained.
        if re.search(r"/nav-1\d{6}\.html", target):
            mark(executed, target)
        else:
            elsewhere.append((path, target))

    elsewhere: list[tuple[str, str]] = []
    pages = sorted(p.relative_to(output).as_posix() for p in output.rglob("*.html"))
    with sync_playwright() as driver, tempfile.TemporaryDirectory(prefix="xss-probe-profile-") as profile:
        context = driver.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium",
                                                            headless=True, args=CHROMIUM_ARGS)
        try:
            context.route(lambda url: not url.startswith(site_url) and not url.startswith("http://127.0.0.1"),
                          lambda route: route.abort())
            tab = context.new_page()
            tab.on("dialog", lambda d: (mark(executed, d.message), d.dismiss()))
            for path in pages:
                text = (output / path).read_text(encoding="utf-8")
                url = f"{site_url}/{urllib.request.quote(path)}"
                if 'name="robots" content="noindex"' in text:  # a redirect stub: it must land on a page of the site
                    try:
                        tab.goto(url, wait_until="commit")
                        tab.wait_for_url(lambda landed, url=url: unquote(landed) != unquote(url), timeout=5000)
                        tab.wait_for_load_state()
                    except PlaywrightError as exc:
                        elsewhere.append((path, f"stub did not redirect: {str(exc).splitlines()[0]}"))
                        continue
                    if not tab.url.startswith(site_url + "/"):
                        elsewhere.append((path, tab.url))
                    continue
                try:
                    tab.goto(url)
                    if 'data-isso-id=' in text and 'id="comments"' in text:  # bring the live thread in, let it render
                        tab.locator("#comments").scroll_into_view_if_needed(timeout=5000)
                        try:
                            tab.wait_for_selector(".comments-live[data-comments-ready]", state="attached", timeout=5000)
                        except PlaywrightError:
                            print(f"  (the live thread of {path} did not load)")
                    tab.mouse.move(200, 200)
                    tab.wait_for_timeout(40)
                    if unquote(tab.url) != unquote(url):
                        navigated(path, tab.url)
                    for found in tab.evaluate(ARMED):
                        mark(armed, found)
                    for prefix, k in marker.findall(tab.evaluate("document.documentElement.innerText")):
                        shown[MARKERS[prefix]].add(int(k))
                except PlaywrightError as exc:  # a navigation interrupted the load
                    target = re.search(r"interrupted by another navigation to \"([^\"]+)\"", str(exc))
                    navigated(path, target[1] if target else str(exc).splitlines()[0])
        finally:
            context.close()
    return executed, armed, shown, len(pages), elsewhere


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N vectors")
    args = parser.parse_args()
    vectors = VECTORS[: args.limit] if args.limit else VECTORS
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="xss-probe-") as tmp:
        base = Path(tmp)
        site_port = free_port()
        site_url = f"http://127.0.0.1:{site_port}"
        isso = start_isso(base / "isso", free_port(), [site_url], moderation=False, guard=False)
        server = None
        try:
            phases = {"Isso start": time.monotonic() - started}
            output, refused = build_site(base / "site", vectors, isso.url, site_url)
            phases["import and build"] = time.monotonic() - started - sum(phases.values())
            isso_refused = set()
            for k, v in enumerate(vectors):
                found = list(output.rglob(f"probe-{k}.html"))
                if not found:  # the build took the whole post out
                    isso_refused.add(k)
                    continue
                [page] = found
                uri = "/" + page.relative_to(output).as_posix()
                fields = {"text": carry(v, "live Isso comment", k, 0) + f" LC{k}",
                          "author": carry(v, "live Isso comment", k, 1),
                          "website": f"https://x.example/{carry(v, 'live Isso comment', k, 2)}"}
                status = post_isso(isso.url, site_url, uri, fields)
                if status == 400:  # Isso refuses a website it does not like: the text and author still go in
                    status = post_isso(isso.url, site_url, uri, {**fields, "website": ""})
                if status not in (201, 202):
                    isso_refused.add(k)
                    print(f"  Isso answered {status} for vector {k}")
            refused["live Isso comment"] = isso_refused
            phases["Isso comments"] = time.monotonic() - started - sum(phases.values())
            server = serve_in_child(output, site_port)
            executed, armed, shown, pages, elsewhere = probe(output, site_url, vectors)
            phases["Chromium"] = time.monotonic() - started - sum(phases.values())
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            isso.stop()
    print(f"XSS probe: {len(vectors)} vectors (our own) through {len(NAMES)} channels; {pages} pages loaded "
          f"in Chromium; {time.monotonic() - started:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in phases.items())})")
    print(f"{'channel':24} {'vectors':>7} {'carriers':>8} {'shown':>6} {'executed':>8} {'armed':>6} {'refused':>8}")
    for name, slots in CHANNELS.items():
        print(f"{name:24} {len(vectors):7} {len(vectors) * len(slots):8} {len(shown[name]):6} {len(executed[name]):8} "
              f"{len(armed[name]):6} {len(refused[name]):8}   ({', '.join(slots)})")
    total = sum(len(e) for e in executed.values())
    print(f"executed in all: {total} of {len(vectors)} vectors x {len(NAMES)} channels; "
          f"{len(elsewhere)} unexplained navigation(s)")
    for path, target in elsewhere:
        print(f"  NAVIGATED: {path} -> {target}")
    for name in NAMES:
        for k in sorted(executed[name] | armed[name]):
            state = "EXECUTED" if k in executed[name] else "armed"
            print(f"  {state}: {name}: vector {k}: {vectors[k]}")
    # What never reached a reader: refused with a named problem, or dropped whole by a sanitiser (not a failure).
    for name in NAMES:
        for k in sorted(refused[name]):
            print(f"  refused: {name}: vector {k}: {vectors[k]}")
        for k in sorted(set(range(len(vectors))) - shown[name] - refused[name]):
            print(f"  not shown (its marker text went too): {name}: vector {k}: {vectors[k]}")


if __name__ == "__main__":
    main()
