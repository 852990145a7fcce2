"""The publishing gate on small crafted output folders: each fault is found and named with its file."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from blogkit.build import ROOT, load_settings
from blogkit.check import check_drafts, check_feeds, check_html, check_links, check_site, format_report

SITEURL = "https://blog.example.com"


def page(body: str = "<p>Hello.</p>", title: str = "A page", head: str = "") -> str:
    """A small valid HTML5 page around `body`."""
    return textwrap.dedent(f"""\
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>{title}</title>{head}</head>
        <body><main>
        {body}
        </main></body>
        </html>
        """)


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return folder


def paths(problems) -> set[str]:
    return {p.path for p in problems}


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
<link href="{site}/" rel="alternate"/><link href="{site}/feeds/all.atom.xml" rel="self"/>
<id>{site}/</id><updated>2007-01-11T09:00:00-05:00</updated>
<entry><title>The Psychotherapy of Sales</title><link href="{site}/{post}" rel="alternate"/>
<id>tag:blog.example.com,2007-01-11:/{post}</id><updated>2007-01-11T09:00:00-05:00</updated>
<summary type="html">A post.</summary></entry>
</feed>
"""


@pytest.fixture
def good(tmp_path) -> Path:
    """A crafted site whose every link resolves the GitHub Pages way."""
    post = "2007/01/psychotherapy-of-sales.html"
    return write(tmp_path / "out", {
        "index.html": page(f"""
            <a href="/2007/01/psychotherapy-of-sales">extensionless, as GitHub Pages serves it</a>
            <a href="/2007/">year folder</a> <a href="/2007">year folder without slash</a>
            <a href="{SITEURL}/p/about.html#team">SITEURL-absolute with anchor</a>
            <a href="search/label/Caf%C3%A9%20%26%20Bar.html">percent-encoded</a>
            <a href="#intro" id="intro">own anchor</a> <a href="#">top</a>
            <a href="https://example.org/nowhere.html">external, not ours to check</a>
            <a href="mailto:me@example.com">mail</a>
            <img src="/images/a.png" srcset="/images/a.png 1x, images/a@2x.png 2x" alt="a">
            """, head='<link rel="stylesheet" href="theme/css/main.css"><link rel="preconnect" href="https://comments.example.net">'),
        post: page('<a href="../../p/about.html">relative up</a> <a href="./index.html">month</a>'),
        "2007/01/index.html": page(f'<a href="{post.split("/")[-1]}">the post</a>'),
        "2007/index.html": page(),
        "p/about.html": page('<h2 id="team">Team</h2>'),
        "search/label/Café & Bar.html": page(),
        "images/a.png": b"\x89PNG\r\n\x1a\n\x00",
        "images/a@2x.png": b"\x89PNG\r\n\x1a\n\x00",
        "theme/css/main.css": "body{background:url('../img/bg.svg')}",
        "theme/img/bg.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
        "feeds/all.atom.xml": ATOM.format(site=SITEURL, post=post),
        "sitemap.xml": f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{SITEURL}/{post}</loc></url></urlset>',
    })


def test_links_resolve_the_github_pages_way(good):
    assert check_links(good, SITEURL) == []


def test_scripts_comments_and_quoted_brackets_are_read_as_a_browser_would(good):
    write(good, {"2007/index.html": page(
        """<script>var s = '<a href="/nope.html">';</script>
        <!-- <a href="/commented-out.html"> -->
        <a title="a > b" data-x='<' href="/p/about.html#team">ok</a>
        <a title="a > b" href="/p/about.html#gone">dead anchor after a quoted bracket</a>
        <script type="application/ld+json">{"url": "https://blog.example.com/nope.html"</script>""")})
    problems = check_links(good, SITEURL)
    assert sorted(p.message.split(":")[0] for p in problems) == ["JSON-LD is not valid JSON", "dead anchor '/p/about.html#gone'"]


def test_dead_link_is_reported_with_file_and_line(good):
    write(good, {"p/about.html": page('<h2 id="team">Team</h2>\n<a href="/2007/02/no-such-post.html">gone</a>')})
    problems = check_links(good, SITEURL)
    assert [(p.path, p.line) for p in problems] == [("p/about.html", 6)]
    assert "dead link '/2007/02/no-such-post.html'" in problems[0].message


def test_dead_anchor_is_reported(good):
    write(good, {"2007/index.html": page('<a href="/p/about.html#no-such-id">x</a> <a href="#missing">y</a>')})
    problems = check_links(good, SITEURL)
    assert paths(problems) == {"2007/index.html"}
    messages = " ".join(p.message for p in problems)
    assert "p/about.html has no id 'no-such-id'" in messages
    assert "2007/index.html has no id 'missing'" in messages


def test_siteurl_absolute_links_map_to_the_output_root(good):
    write(good, {"2007/index.html": page(f'<a href="{SITEURL}/2007/01/gone.html">x</a> <link rel="canonical" href="{SITEURL}/2007/">')})
    problems = check_links(good, SITEURL)
    assert [p.path for p in problems] == ["2007/index.html"]
    assert "nothing at /2007/01/gone.html" in problems[0].message
    # Under another SITEURL the same link is external and not ours to check.
    assert check_links(good, "https://other.example.org") == []


def test_dead_links_in_feeds_sitemaps_css_and_images(good):
    write(good, {
        "sitemap.xml": f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{SITEURL}/drafts/x.html</loc></url></urlset>',
        "feeds/all.atom.xml": ATOM.format(site=SITEURL, post="2007/01/renamed.html"),
        "theme/css/main.css": "body{background:url(../img/missing.svg)}",
        "2007/index.html": page('<img src="/images/missing.png" alt="x">'),
    })
    assert paths(check_links(good, SITEURL)) == {"sitemap.xml", "feeds/all.atom.xml", "theme/css/main.css", "2007/index.html"}


def test_json_ld_and_open_graph_urls_of_the_site_must_exist(good):
    jsonld = f'<script type="application/ld+json">{{"@type": "BlogPosting", "url": "{SITEURL}/2007/01/nope.html", "publisher": {{"url": "https://example.org/x"}}}}</script>'
    write(good, {"2007/index.html": page(head=jsonld + f'<meta property="og:image" content="{SITEURL}/images/og.png">')})
    problems = check_links(good, SITEURL)
    assert paths(problems) == {"2007/index.html"}
    messages = " ".join(p.message for p in problems)
    assert len(problems) == 2
    assert "nothing at /2007/01/nope.html" in messages and "nothing at /images/og.png" in messages


def test_relative_links_in_the_404_page_are_refused(good):
    write(good, {"404.html": page('<a href="archives.html">archives</a> <a href="/index.html">home</a>')})
    problems = check_links(good, SITEURL)
    assert [p.path for p in problems] == ["404.html"]
    assert "served at another path" in problems[0].message


def test_bozo_feed_is_reported(good):
    write(good, {
        "feeds/all.rss.xml": '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Blog</title>\n<item><title>Unclosed</item></channel></rss>',
        "feeds/tag/sales.atom.xml": ATOM.format(site=SITEURL, post="2007/01/psychotherapy-of-sales.html"),
        "sitemap.xml": "<urlset><url><loc>x</loc></urlset>",
    })
    problems = check_feeds(good)
    assert paths(problems) == {"feeds/all.rss.xml", "sitemap.xml"}
    bozo = next(p for p in problems if p.path == "feeds/all.rss.xml")
    assert "feedparser bozo" in bozo.message and bozo.line == 3


def test_valid_feeds_pass(good):
    assert check_feeds(good) == []


@pytest.fixture
def draft_settings(site):
    """Content with one published post and one draft, read with the real settings."""
    site.post("psychotherapy-of-sales", title="The Psychotherapy of Sales", date="2007-01-11 09:00", body="A published post.")
    site.post("secret-plans", title="Secret Plans For World Domination", date="2026-01-01 10:00", status="draft",
              body="First we take the printers, then we take the fax machines of the whole office.")
    return load_settings(ROOT / "publishconf.py", site.overrides())


def test_leaked_draft_is_found_everywhere(good, draft_settings):
    fragment = b'pagefind_dcd{"url":"/x/","content":"First we take the printers, then we take the fax machines of the whole office."}'
    write(good, {
        "drafts/secret-plans.html": page(),
        "archives.html": page("<p>Secret Plans For <em>World</em> Domination</p>"),
        "feeds/all.atom.xml": ATOM.format(site=SITEURL, post="drafts/secret-plans.html"),
        "sitemap.xml": f"<urlset><url><loc>{SITEURL}/2026/01/secret-plans.html</loc></url></urlset>",
        "pagefind/fragment/en_1.pf_fragment": gzip.compress(fragment),
        "pagefind/pagefind-entry.json": '{"version":"1"}',
    })
    problems = check_drafts(good, draft_settings)
    assert paths(problems) == {"drafts/secret-plans.html", "archives.html", "feeds/all.atom.xml", "sitemap.xml",
                               "pagefind/fragment/en_1.pf_fragment"}
    assert all("content/posts/secret-plans.md" in p.message or "draft" in p.message for p in problems)


def test_no_false_alarm_when_drafts_stay_out(good, draft_settings):
    write(good, {"pagefind/wasm.en.pagefind": gzip.compress(b"\x00asm\x01binary"), "images/b.png": b"\x00\xff\xfe"})
    assert check_drafts(good, draft_settings) == []


def test_a_draft_sharing_a_slug_title_or_sentence_with_published_content_is_no_alarm(good, site):
    site.write("pages/about.md", "Title: About This Consulting Blog\nSlug: about\n\nI am an IT consultant who writes about clients and sales.\n")
    site.post("about", title="About This Consulting Blog", date="2026-01-01 10:00", status="draft",
              body="I am an IT consultant who writes about clients and sales.")
    write(good, {"p/about.html": page('<h1 id="team">About This Consulting Blog</h1><p>I am an IT consultant who writes about clients and sales.</p>')})
    settings = load_settings(ROOT / "publishconf.py", site.overrides())
    assert check_drafts(good, settings) == []
    # The one place it would be written as a draft still betrays it.
    write(good, {"drafts/about.html": page()})
    assert paths(check_drafts(good, settings)) == {"drafts/about.html"}


CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='; style-src 'self'"


def test_nu_checker_reports_invalid_html_and_warnings_per_file(tmp_path):
    out = write(tmp_path / "out", {
        "index.html": page(),
        "bad.html": page('<p><div>a block inside a paragraph</div></p>\n<span id="x"></span><span id="x"></span>'),
        "nolang.html": page().replace(' lang="en"', ""),
        # Nu's CSP parser predates 'wasm-unsafe-eval' (salvation #260): it is read as 'unsafe-eval' ...
        "search.html": page(head=f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'),
        # ... and the rest of the policy is still checked.
        "badcsp.html": page(head=f'<meta http-equiv="Content-Security-Policy" content="{CSP} \'bogus\'">'),
    })
    problems = check_html(out)
    assert paths(problems) == {"bad.html", "nolang.html", "badcsp.html"}
    assert "'bogus'" in next(p.message for p in problems if p.path == "badcsp.html")
    bad = [p for p in problems if p.path == "bad.html"]
    assert any("Duplicate ID" in p.message for p in bad)
    assert all(p.message.startswith("invalid HTML (") and p.line for p in bad)
    assert any(p.message.startswith("invalid HTML (error): No “p” element in scope") and p.line == 5 for p in bad)
    assert "warning" in next(p for p in problems if p.path == "nolang.html").message


def test_gate_passes_a_good_site_and_the_report_groups_by_file(good, draft_settings):
    assert check_site(good, draft_settings, html_check=False) == []
    write(good, {"p/about.html": page('<h2 id="team">T</h2> <a href="/nope.html">x</a> <a href="#nope">y</a>')})
    report = format_report(check_site(good, draft_settings, html_check=False))
    assert report.splitlines()[:2] == ["The site failed the gate: 2 problem(s) in 1 file(s).", "p/about.html"]


def test_check_task_exits_non_zero_naming_the_file(good, site):
    write(good, {"2007/index.html": page('<a href="/2007/02/gone.html">x</a>')})
    run = subprocess.run([sys.executable, "-m", "invoke", "check", "--output", str(good), "--siteurl", SITEURL],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode != 0
    assert "2007/index.html" in run.stderr and "dead link '/2007/02/gone.html'" in run.stderr


def test_the_check_task_shows_each_check_and_its_pages_on_a_terminal_only(good):
    """As the gate goes: the check it is at and its count of pages, redrawn on one line; nothing in a pipe or CI."""
    from tests.test_tasks import run_on_a_terminal

    pages = len(list(good.rglob("*.html")))
    args = ("check", "--output", str(good), "--siteurl", SITEURL)
    code, shown = run_on_a_terminal(ROOT, *args)
    assert code == 0, shown
    for stage in (f"links and anchors: 0 of {pages} pages", "feeds and sitemaps: 0 of 2 files",
                  f"HTML with the Nu HTML checker: {pages} pages"):
        assert f"\r\x1b[KChecking {stage} (" in shown, shown
    assert "passed the gate" in shown
    piped = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True)
    assert piped.returncode == 0 and "Checking " not in piped.stdout + piped.stderr and "\r" not in piped.stderr
    code, shown = run_on_a_terminal(ROOT, *args, CI="true")
    assert code == 0 and "passed the gate" in shown and "Checking " not in shown
