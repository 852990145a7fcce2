"""The Content-Security-Policy meta: placed first, trusts only our own inline scripts by hash, and refuses what it would block."""

import base64
import hashlib
import os
import random
import re

import pytest
from bs4 import BeautifulSoup

from blogkit.build import ROOT, BuildError
from conftest import snapshot
from plugins.csp import base_policy, insert_meta, page_policy, sha256_source

META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@pytest.fixture(autouse=True)
def no_isso_url(monkeypatch):
    monkeypatch.delenv("ISSO_URL", raising=False)


def policy_of(html):
    import html as html_lib

    [content] = META.findall(html)
    return {d.split()[0]: d.split()[1:] for d in html_lib.unescape(content).split("; ")}


def test_every_real_page_has_the_policy_before_anything_it_governs(real_site):
    pages = sorted(real_site.rglob("*.html"))
    assert len(pages) > 5 and real_site / "search.html" in pages
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert len(META.findall(html)) == 1, path
        head = html[html.index("<head"):html.index("</head>")]
        meta_at = head.index('http-equiv="Content-Security-Policy"')
        for tag in ("<script", "<link", "<style", "<base"):
            assert tag not in head[:meta_at], f"{path}: {tag} comes before the CSP"
        charset = re.search(r"<meta charset[^>]*>", html)
        assert charset and charset.start() < 1024, f"{path}: <meta charset> must stay in the first 1024 bytes"
        policy = policy_of(html)
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        # WebAssembly only where Pagefind runs: the search page.
        assert ("'wasm-unsafe-eval'" in policy["script-src"]) == (path.name == "search.html"), path
        assert "'unsafe-inline'" not in " ".join(sum(policy.values(), []))


def inline_script_hashes(html):
    """sha256 sources of the page's inline scripts, computed independently of the plugin (data blocks left out)."""
    page = BeautifulSoup(html, "html.parser")
    return {"'sha256-" + base64.b64encode(hashlib.sha256(tag.string.encode()).digest()).decode() + "'"
            for tag in page.find_all("script") if not tag.get("src") and tag.get("type") != "application/ld+json"
            and tag.string}


def theme_script_hashes():
    """sha256 sources of the inline scripts written in the theme's templates, found independently of the plugin."""
    found = set()
    for template in (ROOT / "theme" / "templates").rglob("*.html"):
        for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", template.read_text(), re.S):
            if "src=" not in attrs and "ld+json" not in attrs:
                found.add("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    return found


def test_only_our_own_inline_scripts_are_allowed_by_hash(site):
    site.post("a", body='Text\n\n<script type="application/ld+json">{"@type": "BlogPosting"}</script>')
    site.build(COMMENTS={"provider": None})
    html = site.read("2020/05/a.html")
    ours = theme_script_hashes()
    assert ours, "the theme has an inline script (the colour scheme, before first paint)"
    sources = {s for s in policy_of(html)["script-src"] if s.startswith("'sha256-")}
    assert sources == inline_script_hashes(html) == ours  # JSON-LD is data, not code


def test_an_inline_script_in_content_fails_the_build_naming_the_file(site):
    site.post("a", body='Text\n\n<script>document.documentElement.dataset.x = "1";</script>\n')
    with pytest.raises(BuildError) as failure:
        site.build(COMMENTS={"provider": None})
    [problem] = failure.value.problems
    assert problem.path == "content/posts/a.md" and problem.line == 7  # Title, Date, Slug, blank, Text, blank
    assert "inline <script> in the content" in problem.message and problem.hint


def test_real_pages_allow_exactly_their_inline_scripts(real_site):
    for path in sorted(real_site.rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        sources = {s for s in policy_of(html)["script-src"] if s.startswith("'sha256-")}
        assert sources == inline_script_hashes(html), path


def test_comment_origin_is_allowed_only_where_the_provider_needs_it(site, monkeypatch):
    monkeypatch.setenv("ISSO_URL", "https://comments.example.org/isso")
    site.post("a")
    site.build()
    policy = policy_of(site.read("2020/05/a.html"))
    # comments-live.js comes from 'self' and only calls Isso's JSON API.
    assert policy["connect-src"] == ["'self'", "https://comments.example.org"]
    assert "https://comments.example.org" not in " ".join(policy["script-src"] + policy["img-src"])
    assert policy["style-src"] == ["'self'"] and policy["frame-src"] == ["'none'"]


def test_giscus_origin_is_allowed_for_its_script_stylesheet_and_frame_only(site):
    site.post("a")
    site.build(COMMENTS={"provider": "giscus", "giscus": {
        "repo": "owner/blog", "repo_id": "R_kgDOExample", "category": "Comments", "category_id": "DIC_kwDOExample"}})
    policy = policy_of(site.read("2020/05/a.html"))
    origin = "https://giscus.app"
    assert [d for d, sources in policy.items() if origin in sources] == ["script-src", "style-src", "frame-src"]
    assert policy["frame-src"] == [origin] and policy["connect-src"] == ["'self'"]


@pytest.mark.parametrize("body, expected", [
    ('<p onclick="go()">x</p>', "<p onclick=...> is an inline event handler"),
    ('<a href="javascript:go()">x</a>', 'runs script from a URL'),
    ('<p style="color: red">x</p>', "is an inline style"),
    ('<script src="https://cdn.example.com/x.js"></script>', "loads third-party code"),
])
def test_markup_the_policy_would_block_fails_the_build(site, body, expected):
    site.post("a", body=f"Text\n\n{body}\n")
    with pytest.raises(BuildError) as failure:
        site.build(COMMENTS={"provider": None})
    [problem] = failure.value.problems
    assert problem.path == "content/posts/a.md" and problem.line == 7  # Title, Date, Slug, blank, Text, blank
    assert expected in problem.message and problem.hint


def test_webassembly_is_allowed_only_where_pagefind_loads(site):
    site.post("a", body='Some text.\n\n<link rel="stylesheet" href="/pagefind/pagefind-ui.css">\n\n<script src="/pagefind/pagefind-ui.js"></script>')
    site.post("b", date="2020-05-03 10:00", body="A post that only mentions pagefind.")
    site.build(COMMENTS={"provider": None})
    assert policy_of(site.read("2020/05/a.html"))["script-src"][:2] == ["'self'", "'wasm-unsafe-eval'"]
    assert "'wasm-unsafe-eval'" not in policy_of(site.read("2020/05/b.html"))["script-src"]


def test_images_on_other_hosts_are_allowed_per_page(site):
    site.post("a", body='Some text.\n\n![old](https://1.bp.blogspot.com/photo.jpg)')
    site.post("b", date="2020-05-03 10:00")
    site.build(COMMENTS={"provider": None})
    assert "https://1.bp.blogspot.com" in policy_of(site.read("2020/05/a.html"))["img-src"]
    assert policy_of(site.read("2020/05/b.html"))["img-src"] == ["'self'", "data:"]


def test_insert_meta_replaces_an_old_policy_and_respects_charset():
    html = '<!doctype html><html><head><title>t</title><meta charset="utf-8"><script>1</script></head></html>'
    once = insert_meta(html, "default-src 'self'")
    assert once.index("Content-Security-Policy") > once.index("charset") and once.index("Content-Security-Policy") < once.index("<script")
    assert insert_meta(once, "default-src 'none'").count("Content-Security-Policy") == 1
    assert insert_meta("<p>fragment</p>", "x") is None
    late = '<html><head><link rel="stylesheet" href="a.css"><meta charset="utf-8"></head></html>'
    placed = insert_meta(late, "default-src 'self'")
    assert placed.index("Content-Security-Policy") < placed.index("<link")


def test_scripts_inside_text_are_not_mistaken_for_attributes():
    policy, problems = page_policy("<html><head></head><body><script>var s = '<p onclick=\"x\">';</script>"
                                   "<pre><code>&lt;p onclick=&quot;x&quot;&gt;</code></pre></body></html>",
                                   base_policy(None, {}), known={sha256_source("var s = '<p onclick=\"x\">';")})
    assert problems == []
    assert sha256_source("var s = '<p onclick=\"x\">';") in policy["script-src"]


def test_absolute_siteurl_is_the_site_itself(site):
    site.write("images/x.png", bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                          "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"))
    site.post("a", body='Some text.\n\n![pic](https://blog.example.com/images/x.png)')
    site.build(SITEURL="https://blog.example.com", COMMENTS={"provider": None})
    html = site.read("2020/05/a.html")
    assert '<link rel="stylesheet" href="https://blog.example.com/theme/' in html
    assert policy_of(html)["img-src"] == ["'self'", "data:"]


def test_a_large_site_is_split_between_processes_with_the_same_result(tmp_path, monkeypatch):
    import plugins.csp as csp

    page = '<!doctype html><html><head><meta charset="utf-8"><script>var n = {n};</script></head><body>{body}</body></html>'
    bodies = ["<p>fine</p>", '<p onclick="x()">bad</p>', '<p style="color:red">bad</p>'] * 4
    conf = csp.resolve_settings({})
    written = {}
    for threshold in (10**9, 0):  # serial, then forked workers
        folder = tmp_path / str(threshold)
        for n, body in enumerate(bodies):
            (folder / f"p{n:02}").mkdir(parents=True)
            (folder / f"p{n:02}" / "index.html").write_text(page.format(n=n, body=body), encoding="utf-8")
        monkeypatch.setattr(csp, "PARALLEL_MIN_PAGES", threshold)
        problems = csp.apply_csp(folder, None, conf, known={sha256_source(f"var n = {n};") for n in range(12)})
        written[threshold] = ({p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.html")}, problems)
    assert written[0] == written[10**9]
    assert [page for page, _, _ in written[0][1]] == [f"p{n:02}/index.html" for n in range(12) if n % 3]
    assert all("Content-Security-Policy" in text for text in written[0][0].values())


# --- The fast page checks against the straightforward ones --------------------------

# The skeleton's inline script stands for the theme's own: known, so allowed by its hash.
KNOWN = frozenset({sha256_source('document.documentElement.classList.add("js")')})
SKELETON = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<script>document.documentElement.classList.add("js")</script>'
            '<link rel="stylesheet" href="/theme/css/site.css"></head>'
            '<body><p>Text on the page, one of many.</p>{}<p>More text on it.</p></body></html>')

HOSTILE = [
    # event handlers, in odd case and spacing, with and without values
    '<p OnClick="go()">x</p>', "<p\tonclick = 'go()'>x</p>", "<p\nONMOUSEOVER=go()>x</p>", '<div data-x="1"\x0conload=go()>',
    "<p onclick>x</p>", "<p on>x</p>", '<p one="1">x</p>', "<p on-x=1 on:y=2>", "<p\u00a0onclick=go()>", "<p\u3000onclick=go()>",
    '<svg><a xlink:href="javascript:go()">x</a></svg>', "<p title=x\x1conclick=go()>",
    # inline styles
    '<p style="color: red">x</p>', "<p STYLE = 'x'>", "<p style>x</p>", '<p data-style="x">', '<ul class="list-style">',
    # javascript: URLs, plain, spaced, with control characters, behind entities
    '<a href="javascript:go()">x</a>', '<a href=" JavaScript:go()">x</a>', '<a href="java\tscript:go()">x</a>',
    '<a href="java\nscript:go()">', '<a href="\x01javascript:go()">', '<a href="jav&#x09;ascript:go()">',
    '<form action="javascript:go()">', "<button formaction=javascript:go()>", '<video poster="javascript:x">',
    '<a class="style" href="java&#115;cript:go()">', '<a title="x on y" href="java&#115;cript:go()">',
    '<img src="java&#115;cript:go()">', '<a href="https://example.com/javascript-tips">',
    # third-party scripts, stylesheets, frames and images
    '<script src="https://cdn.example.com/x.js"></script>', "<SCRIPT SRC=//cdn.example.com/x.js></SCRIPT >",
    '<script src="https://blog.example.com/x.js" defer></script>', '<script type="module" src="/theme/js/x.js"></script>',
    '<script type="application/ld+json">{"image": "<img src=https://x.example/a.png onclick=y>"}</script>',
    '<link rel="stylesheet" href="https://fonts.example.com/a.css">', "<LINK REL=STYLESHEET HREF=//fonts.example.com/a.css>",
    '<link rel="preload" href="https://x.example/a.css">', '<link rel="alternate stylesheet" href="https://x.example/b.css">',
    '<iframe src="https://www.youtube.com/embed/x"></iframe>', "<IFRAME SRC=//player.example.com/x>",
    '<img src="https://1.bp.blogspot.com/a.jpg">', '<img src="//img.example.org/a.png">', '<IMG\nSRC = "http://old.example.com/a.gif">',
    '<img src="https://blog.example.com/a.png">', '<img src="data:image/png;base64,AAAA">', '<img src="ht\ttps://evil.example/x">',
    '<img alt="two" src="https://1.bp.blogspot.com/b.jpg"><img src="https://1.bp.blogspot.com/a.jpg">', '<img-x src="https://x.example/a">',
    # script bodies: '<' and tags inside are code, not markup
    "<script>if (a < b && c > d) document.write('<img src=\"https://evil.example/x.png\" onclick=\"y\">');</script>",
    "<script>var s = \"<script src='https://evil.example/x.js'>\";</script>", '<script>x = "</scr" + "ipt>"</script>',
    "<script>var pagefind = 1;</script>", '<script src="/pagefind/pagefind.js"></script>', "<script>a<b</script><p onclick=x>",
    # '>' and '<' inside quoted values; more quoted '>' than the scan tries before it starts over
    '<a title="a > b" onclick="go()">x</a>', "<a title='<b onclick=x>'>t</a>", '<p title="x>y>z>w>v>u>t>s>r>q>p" onclick=go()>',
    '<p data-x="=" title=">" onclick=go()>', '<p title=' + " " * 70 + '"a>b" onclick=go()>', '<p title="<script>x</script>" onclick=y>',
    '<a href="/x" title="1 > 0">ok</a><p style="x">',
    # comments and stray quotes, '=' and '<' in text
    "<!-- <p onclick=x> -->", "<!-- ' --><p onclick=x>", "don't <p onclick=x>", 'a="b <p onclick=x>', "x='<p onclick=y>'",
    "a < b and c > d on the page <p style=x>", "<p>1 < 2</p><p title=\"=\">on</p>",
    # non-ASCII: names SCRIPT_RE matches case-insensitively, Unicode whitespace
    '<p title="é" onclick=x>', "<ſcript src=https://cdn.example.com/x.js></ſcript>", "<scrİpt>var a;</scrİpt><p style=x>",
    '<p title="İ" onclick=x>', "<p\u2028style=x>", "K<img src=https://k.example/a.png>",
    '<p title="Łódź">x</p><SCRIPT src=https://cdn.example.com/y.js></SCRIPT><p title="ı">',
    # a policy meta already there, in any case
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">", '<META HTTP-EQUIV="content-security-policy" content=x>',
    '<meta http-equiv="Content-ſecurity-Policy" content=x>',
]

BASES = [
    base_policy(None, {}),
    base_policy({"provider": "giscus", "origin": "https://giscus.app"}, {"img-src": ["https://1.bp.blogspot.com"]}),
    base_policy({"provider": "isso", "origin": "https://cdn.example.com"}, {"frame-src": ["*"], "style-src": ["https:"]}),
]


def assert_same_as_reference(text):
    """page_policy, insert_meta and the path _apply_to_pages takes give what the reference gives."""
    import csp_reference as reference
    import plugins.csp as csp

    for base in BASES:
        for wasm, known in ((False, KNOWN), (True, frozenset()), ("auto", KNOWN)):
            for site_origin in ("", "https://blog.example.com"):
                expected = reference.page_policy(text, base, wasm=wasm, site_origin=site_origin, known=known)
                got = page_policy(text, base, wasm=wasm, site_origin=site_origin, known=known)
                assert got[1] == expected[1], text  # the same problems, in the same order
                assert list(got[0].items()) == list(expected[0].items()), text
                scan = csp._scan(text)
                assert csp._page_policy(text, scan, base, wasm, site_origin, known) == got
        rendered = csp.render_policy(expected[0])
        assert insert_meta(text, rendered) == reference.insert_meta(text, rendered)
        assert csp._insert_meta(text, rendered, scan.old_meta) == reference.insert_meta(text, rendered)


@pytest.mark.parametrize("snippet", HOSTILE)
def test_page_checks_agree_with_the_reference_on_hostile_markup(snippet):
    assert_same_as_reference(SKELETON.format(snippet))
    assert_same_as_reference(snippet)  # a fragment without a head
    assert_same_as_reference(SKELETON.format(snippet * 3 + "<p>on and on</p>" + snippet.upper()))


def test_page_checks_agree_with_the_reference_on_random_pages():
    rng = random.Random(9)
    for _ in range(400):
        parts = [rng.choice(HOSTILE) if rng.random() < 0.3 else rng.choice(["<p>", "</p>", " on ", "'", '"', "=", "<", ">", "é",
                 '<a href="/x">', "</a>", "\n", "<div class=\"post-body\">", "</div>"]) for _ in range(rng.randint(1, 30))]
        assert_same_as_reference(SKELETON.format("".join(parts)))


def test_page_checks_agree_with_the_reference_on_real_pages_with_markup_spliced_in(real_site):
    rng = random.Random(10)
    pages = [path.read_text(encoding="utf-8") for path in sorted(real_site.rglob("*.html"))]
    for text in pages:
        assert_same_as_reference(text)
    for _ in range(150):
        text = rng.choice(pages)
        for _ in range(rng.randint(1, 4)):  # anywhere: in text, inside tags, inside quoted values
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(HOSTILE + ['"', "'", "<", ">", "='", '="', " onclick=x", " style=y"]) + text[at:]
        assert_same_as_reference(text)


def test_apply_csp_writes_what_the_reference_wrote(tmp_path):
    import csp_reference as reference
    import plugins.csp as csp

    pages = {
        "a.html": SKELETON.format('<p onclick="x()">bad</p><img src="https://1.bp.blogspot.com/a.jpg">'),
        "crlf.html": SKELETON.format("<p>one</p>\r\n<p>two</p>\r<p>three</p>"),
        "no-head.html": "<p>a fragment\r\n</p>",
        "bom.html": "\ufeff" + SKELETON.format("<p>BOM</p>"),
        "twice.html": csp.insert_meta(SKELETON.format("<p>x</p>"), "default-src 'none'"),
        "search.html": SKELETON.format('<script src="/pagefind/pagefind.js"></script>'),
        "sub/é.html": SKELETON.format('<p title="é on" style="x">ü</p>'),
    }
    conf = csp.resolve_settings({})
    comments = {"provider": "isso", "origin": "https://comments.example.org"}
    written = {}
    for name, apply in (("reference", reference._apply_to_pages), ("fast", csp._apply_to_pages)):
        folder = tmp_path / name
        for page, text in pages.items():
            (folder / page).parent.mkdir(parents=True, exist_ok=True)
            (folder / page).write_bytes(text.encode("utf-8"))
        problems = apply(sorted(folder.rglob("*.html")), folder, comments, conf, "https://blog.example.com", KNOWN)
        written[name] = (snapshot(folder), problems)
    assert written["fast"] == written["reference"]


def test_a_page_that_is_a_hard_link_is_replaced_not_written_through(tmp_path):
    """The other name of a hard-linked page (say, the live site's copy) keeps its bytes."""
    import plugins.csp as csp

    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    (site / "p").mkdir(parents=True)
    elsewhere.mkdir()
    page = site / "p" / "index.html"
    page.write_text(SKELETON.format("<p>Hello</p>"), encoding="utf-8")
    page.chmod(0o640)
    before = page.read_bytes()
    os.link(page, elsewhere / "index.html")
    assert csp.apply_csp(site, None, csp.resolve_settings({}), known=KNOWN) == []
    assert (elsewhere / "index.html").read_bytes() == before
    assert b"Content-Security-Policy" in page.read_bytes() and page.stat().st_nlink == 1
    assert page.stat().st_mode & 0o777 == 0o640  # the page keeps its permissions
    assert sorted(path.name for path in (site / "p").iterdir()) == ["index.html"]  # no temporary file left


# --- The content check's fast path (plain_body) against html.parser ------------------

# Bodies html.parser finds something in, each written where a naive pre-filter (a search for
# "onclick", "javascript:", "<script", or a regex that trusts what looks like an attribute)
# would miss it. plain_body must refuse every one, so that html.parser sees it.
HIDDEN_IN_CONTENT = [
    '<a href="java&#115;cript:go()">x</a>', '<a href="&#106;avascript:go()">x</a>', '<a href="jav&#x09;ascript:go()">x</a>',
    '<a href="java\tscript:go()">x</a>', '<a href="\x01javascript:go()">x</a>', '<a href=" javascript:go()">x</a>',
    '<a href="javascript&colon;go()">x</a>', '<a href="JaVaScRiPt:go()">x</a>', "<a href='vbscript:x'>x</a>",
    '<a href="data:text/html,<b>x</b>">x</a>', '<iframe src="data:image/svg+xml,x"></iframe>', '<img src="livescript:x">',
    '<form action="javascript:go()"><button formaction="javascript:x">b</button></form>', '<video poster="javascript:x"></video>',
    '<svg><a xlink:href="javascript:go()">x</a></svg>', '<a href=javascript:go()>x</a>',
    '<p title="x"onclick="go()">x</p>', "<p title='x'onclick=go()>x</p>", "<a/onclick=go()>x</a>", "<p\x0bclass=a onclick=go()>",
    '<p class=a\u00a0onclick>x</p>', '<p class="a" ONCLICK="go()">x</p>', '<p OnMouseOver=go()>x</p>', "<p onclick>x</p>",
    '<p onmouseover="go()">x</p>', '<img src="/a.png" onerror="go()">', '<input autofocus onfocus="go()">', "<body onload='go()'>",
    '<a href="/x" title="y" onpointerdown="go()">x</a>', '<p on-x="1" one="2" onfoo>x</p>',
    '<p class = "x" onclick="go()">', '<p class=="x" onclick=go()>', '<img src=x onerror=go()>', '<p data-x=1 /onclick=go()>',
    '<noscript><p onclick="go()">x</p></noscript>', '<template><img src=x onerror=go()></template>',
    '<p style="color: red">x</p>', "<p STYLE='x'>x</p>", '<iframe srcdoc="<script>go()</script>"></iframe>',
    "<script>go()</script>", '<SCRIPT>go()</SCRIPT>', '<script src="https://cdn.example.com/x.js"></script>',
    '<link rel="stylesheet" href="https://fonts.example.com/a.css">', '<iframe src="https://evil.example/x"></iframe>',
    '<frame src="https://evil.example/x">', '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">', "<style>p{color:red}</style><svg><style><img src=x onerror=go()></style></svg>",
    "<lin\u212a rel=stylesheet href=//evil.example/a.css>", '<!-- x --><p onclick="go()">x</p>', "<p>1 <2</p><p onclick=x>",
]


def test_content_the_fast_path_must_not_trust_is_parsed_and_refused():
    import plugins.csp as csp

    for body in HIDDEN_IN_CONTENT:
        for markup in (body, f"<p>Some <em>text</em>.</p>\n{body}\n<p>More.</p>", f"<p>x</p>\n<p>{body}</p>"):
            assert not csp.plain_body(markup), markup
            found = csp.content_problems(markup)
            assert found and found == csp.parsed_content_problems(markup), markup


def test_plain_bodies_take_the_fast_path_and_html_parser_agrees_they_hold_nothing():
    import plugins.csp as csp

    plain = ['<h2 id="a-b">A &amp; B</h2>', '<p>Text with <em>on</em> and <code>onclick=x</code>, a &lt;script&gt;.</p>',
             '<div class="highlight"><pre><span></span><code><span class="k">SELECT</span> <span class="s1">&#39;x&#39;</span></code></pre></div>',
             '<p><a href="https://example.com/a?b=1&amp;c=2">link</a> <a href="#fn:1">1</a> <a href="/x/y.html">y</a></p>',
             '<p><img alt="a &amp; b" src="https://1.bp.blogspot.com/a.jpg"/></p>', '<a href="mailto:me@example.com">me</a>',
             '<table><tr><td colspan=2>x</td></tr></table>', '<figure class="embed" data-embed-src="https://www.youtube-nocookie.com/embed/x"><a href="https://www.youtube.com/watch?v=x">v</a></figure>',
             '<a class="style-x" data-on="1" title="javascript: a talk" href="./javascript:x">t</a>', "<br><br/><hr />", "just text"]
    for body in plain:
        assert csp.plain_body(body), body
        assert csp.parsed_content_problems(body) == []


def test_the_fast_path_never_trusts_what_html_parser_would_report_on_random_bodies():
    import plugins.csp as csp

    rng = random.Random(16)
    tricky = HIDDEN_IN_CONTENT + [" on ", "onclick", "=", '"', "'", "<", ">", "&", "&#", "javascript:", ":", "\t", "\u00a0",
                                  " style", " class=x", '<a href="', '<p title="', "<!--", "-->", "<style>", "</style>", "<svg>"]
    plain = ["<p>", "</p>", '<a href="/x">', "</a>", "<em>", "</em>", '<img src="/a.png">', "é", "text", " on and on ", "&amp;"]
    trusted = 0
    for _ in range(3000):
        body = "".join(rng.choice(tricky if rng.random() < 0.25 else plain) for _ in range(rng.randint(1, 12)))
        if csp.plain_body(body):
            trusted += 1
            assert csp.parsed_content_problems(body) == [], body
    assert trusted > 100  # the fast path was taken often enough to mean something
