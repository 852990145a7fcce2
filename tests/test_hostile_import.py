"""Issue 18's hostile import: a Blogger export carrying script everywhere imports, builds strictly and runs nothing.

The export is our own (tests/blogger_export.py writes it): body text, titles,
labels, author names and a comment carry script both raw and entity-encoded. It
goes through the real importer and the strict build with the real settings;
every page is loaded in real Chromium (requests leaving 127.0.0.1 are refused, so
a surviving onerror on a remote image would fire). Also: the published policy
(publishconf.py) of every page, of this site and of the real blog, lists only
the hashes of the theme's own inline scripts.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from playwright.sync_api import Error as PlaywrightError

from blogger_export import write_export
from blogkit.blogger import Options, import_blogger
from blogkit.build import ROOT, build
from conftest import Site

pytestmark = pytest.mark.browser

IMG = "http://1.bp.blogspot.com/_h/AAA/s400/chart.png"  # a Blogger image host: kept as a remote image
POSTS = [
    {
        "slug": "testing-the-form",
        "title": 'Testing <script>alert("t1")</script> & "quotes"',
        "body": (
            # How a blogger writes *about* HTML: entity-encoded, it must stay visible code.
            "To test, type &lt;script&gt;alert(&quot;b1&quot;)&lt;/script&gt; in the box."
            "<pre>&lt;img src=x onerror=alert(&quot;b2&quot;)&gt;</pre>"
            "<p>&amp;lt;b&amp;gt; is how you write a tag in a comment box.</p>"
            # Raw markup that would run: the importer's sanitiser must take it out.
            '<script>alert("b3")</script>'
            f'<p><img src="{IMG}" onerror="alert(\'b4\')" alt="A chart"></p>'
            '<p><a href="javascript:alert(\'b5\')">a link</a> and <a href="jav&#x09;ascript:alert(6)">another</a></p>'
            '<svg onload="alert(\'b7\')"><circle r="1"/></svg>'
            '<iframe srcdoc="&lt;script&gt;alert(8)&lt;/script&gt;"></iframe>'
            "<noscript><p onclick=\"alert('b9')\">x</p></noscript>"
            '<meta http-equiv="refresh" content="0;url=https://example.org/b10">'
            '<form action="javascript:alert(11)"><button>go</button></form>'
            '<div style="background:url(javascript:alert(12))" onmouseover="alert(13)">hover</div>'
        ),
        "labels": ['<script>alert("l1")</script>', "<img src=x onerror=alert('l2')>", "Plain label"],
        "author": "<img src=x onerror=alert('a1')>Mallory",
        "comments": [{
            "body": ('<script>alert("c1")</script>A reader says &lt;script&gt;alert("c2")&lt;/script&gt; is '
                     'how it starts. <img src=x onerror=alert("c3")> HOSTILE-COMMENT'),
            "author": '<svg onload=alert("c4")>', "uri": "javascript:alert('c5')",
        }],
    },
    {
        "slug": "encoded-fields",
        "title": "&lt;script&gt;alert(&quot;t2&quot;)&lt;/script&gt; in a title",
        "body": "<p>Nothing here but text.</p>",
        "labels": ["&lt;svg onload=alert(&quot;l3&quot;)&gt;", "Plain label"],
        "author": "&lt;script&gt;alert(&quot;a2&quot;)&lt;/script&gt;",
    },
    {
        "slug": "refresh-in-the-title",
        "title": '<meta http-equiv="refresh" content="0;url=https://example.org/t3">Moved?',
        "body": '<p>Hello.</p><base href="https://example.org/">',
        "labels": ['"><script>alert("l4")</script>', "</title><script>alert('l5')</script>"],
        "author": 'Eve "><svg onload=alert("a3")>',
    },
]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The hostile export imported into a fixture site and built strictly with the real settings."""
    base = tmp_path_factory.mktemp("hostile-import")
    site = Site(base)
    report = import_blogger(write_export(base / "export.xml", POSTS), Options(content=site.content, download_images=False))
    assert report.problems == [] and report.counts, report.summary()
    site.build()
    site.report = report
    return site


# Handlers, script URLs, srcdoc, and in the body: a script not from the theme, a refresh, a frame or a <base>.
ARMED = """() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value) || a.name === 'srcdoc')
    .map(a => el.tagName + ' ' + a.name))
  .concat([...document.querySelectorAll('body script:not([src^="/theme/"]), body meta[http-equiv], iframe, object, embed, base')]
    .map(el => el.outerHTML.slice(0, 80)))"""


def _pages(output: Path) -> list[str]:
    return sorted(p.relative_to(output).as_posix() for p in output.rglob("*.html"))


def _is_stub(text: str) -> bool:
    # blogger_redirects' stubs for old Blogger addresses: sending the reader on is their job.
    return 'name="robots" content="noindex"' in text


def test_the_import_takes_the_script_out_and_keeps_the_encoded_code(imported):
    # (The metadata header keeps titles, labels and authors as the text they are; the theme escapes them.)
    body = next(imported.content.rglob("testing-the-form.md")).read_text(encoding="utf-8").split("\n\n", 1)[1]
    code = re.findall(r"```\n(.*?)```", body, re.S)
    assert code == ['<img src=x onerror=alert("b2")>\n']  # a <pre> the blogger wrote: code, shown as text
    body = re.sub(r"```\n.*?```", "", body, flags=re.S)
    assert "<script" not in body and "onerror" not in body and "javascript:" not in body.lower()
    assert "<svg" not in body and "srcdoc" not in body and "refresh" not in body and "onmouseover" not in body
    assert "&lt;script&gt;" in body  # written about, not written in
    assert "script removed" in imported.report.summary()


def test_every_page_of_the_hostile_import_runs_nothing_in_chromium(imported, serve_folder, chromium_browser):
    served = serve_folder(imported.output)
    pages = _pages(imported.output)
    stubs = {p for p in pages if _is_stub((imported.output / p).read_text(encoding="utf-8"))}
    assert len(pages) >= 20 and stubs  # the old label addresses are among them
    dialogs, navigations, stub_landings, armed = [], [], {}, []
    context = chromium_browser.new_context()
    try:
        # Nothing leaves 127.0.0.1: the remote chart fails to load, so an onerror left on it would fire.
        context.route(lambda url: not url.startswith(served.url), lambda route: route.abort())
        tab = context.new_page()
        tab.on("dialog", lambda d: (dialogs.append((tab.url, d.message)), d.dismiss()))
        for path in pages:
            url = f"{served.url}/{quote(path)}"
            if path in stubs:
                tab.goto(url, wait_until="commit")
                tab.wait_for_url(lambda landed, url=url: landed != url)
                tab.wait_for_load_state()
                stub_landings[path] = tab.url
                continue
            try:
                tab.goto(url)
            except PlaywrightError as exc:  # a navigation that starts before the page has loaded
                navigations.append((url, str(exc).splitlines()[0]))
                continue
            tab.wait_for_timeout(60)
            tab.mouse.move(300, 300)  # over whatever is there: an onmouseover left in would fire
            if tab.url != url:
                navigations.append((url, tab.url))
            # Behind the policy (which would block them anyway): no armed markup reached the page at all.
            armed += [(path, found) for found in tab.evaluate(ARMED)]
        post = f"{served.url}/2021/01/testing-the-form.html"
        tab.goto(post)
        body, title = tab.inner_text(".post-body"), tab.inner_text("h1")
        comments = tab.inner_text("#comments")
        tab.goto(f"{served.url}/2021/01/encoded-fields.html")
        encoded_title = tab.inner_text("h1")
    finally:
        context.close()
    print(f"hostile import: {len(POSTS)} posts, 1 comment, {len(pages)} pages loaded ({len(stubs)} redirect stubs); "
          f"executed: {len(dialogs)} dialogs, {len(navigations)} navigations")
    assert dialogs == [] and navigations == []
    # A stub sends the reader to a page of this site, never elsewhere.
    for path, landed in stub_landings.items():
        assert landed.startswith(served.url + "/"), (path, landed)
        target = imported.output / unquote(landed[len(served.url) + 1:].split("#")[0])
        assert (target / "index.html" if target.is_dir() else target).is_file(), (path, landed)
    assert armed == []
    # The encoded code shows as text, exactly as the blogger wrote it.
    assert 'type <script>alert("b1")</script> in the box' in body
    assert '<img src=x onerror=alert("b2")>' in body
    assert "&lt;b&gt; is how you write a tag" in body
    assert title == 'Testing <script>alert("t1")</script> & "quotes"'  # a raw title is text too
    assert 'A reader says <script>alert("c2")</script> is how it starts.' in comments
    assert "HOSTILE-COMMENT" in comments
    assert "in a title" in encoded_title


def _policies(output: Path):
    for path in sorted(output.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        found = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
        yield path, text, found


def test_the_published_policy_of_every_page_lists_only_our_own_script_hashes(imported, tmp_path):
    """publishconf.py builds of the hostile import and of the real blog: hashes only of the theme's scripts."""
    from pelican.settings import read_settings

    from plugins.csp import sha256_source, theme_scripts

    ours, problems = theme_scripts(read_settings(str(ROOT / "pelicanconf.py")))
    assert ours and problems == []
    sites = {
        "hostile import": build(ROOT / "publishconf.py", tmp_path / "hostile",
                                {"PATH": str(imported.content), "CACHE_PATH": str(tmp_path / "cache1")}).output,
        "real blog": build(ROOT / "publishconf.py", tmp_path / "real", {"CACHE_PATH": str(tmp_path / "cache2")}).output,
    }
    used = set()
    for name, output in sites.items():
        for path, text, found in _policies(output):
            assert len(found) == 1, (name, path)  # every page carries its policy
            hashes = set(re.findall(r"'sha256-[^']+'", html.unescape(found[0])))
            assert hashes <= ours, (name, path, hashes - ours)
            # ...and each one is the hash of an inline script this very page carries.
            inline = {sha256_source(m) for m in re.findall(r"<script>(.*?)</script>", text, re.S)}
            assert hashes <= inline, (name, path)
            used |= hashes
    assert used  # the theme's scripts are really on the pages: the check above compared something
