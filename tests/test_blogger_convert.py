"""Blogger post bodies come across whole: figures, images everywhere, click-to-load videos, safe text, reported losses.

The fixture tests/fixtures/blogger/conversion.xml is our own (a kite blog), built to
reproduce the structures of real exports: Blogger's caption tables (nested, inside a
heading), images in headings, list items and table cells, the 2008-2015
BLOGGER-youtube-video <object>, a protocol-relative YouTube <iframe>, an unknown iframe,
a gist <script>, an <h1> and empty elements in a body, non-NFC text, entity-encoded
markup, markup html.parser rejects, and a post that opens with a long table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from blogkit.blogger import Options, import_blogger
from blogkit.blogger.convert import LinkMap, to_markdown
from conftest import Site

FIXTURE = Path(__file__).parent / "fixtures" / "blogger" / "conversion.xml"
KITES = "2015/03/kites-and-videos.html"
HTML_POST = "2015/04/writing-about-html.html"
NOCOOKIE = "https://www.youtube-nocookie.com"



@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The fixture export imported into a fresh site's content/ (no downloads): (site, report)."""
    site = Site(tmp_path_factory.mktemp("convert"))
    report = import_blogger(FIXTURE, Options(content=site.content, download_images=False))
    return site, report


@pytest.fixture(scope="module")
def built(imported):
    """That site built strictly with the real settings."""
    site, _ = imported
    site.build()
    return site


def markdown(site: Site, post: str) -> str:
    return (site.content / "posts" / post.replace(".html", ".md")).read_text(encoding="utf-8")


def post_body(site: Site, page: str) -> BeautifulSoup:
    return BeautifulSoup(site.read(page), "html.parser").select_one(".post-body")


def test_caption_tables_become_figures_with_their_captions_and_full_size_links(imported):
    site, _ = imported
    text = markdown(site, KITES)
    assert "tr-caption" not in text and "<table" not in text
    full = "https://1.bp.blogspot.com/-kite/AAAA/BBBB/s1600/kite-red.jpg"
    assert (f'<figure><a href="{full}"><img alt="Image: kite red" src="{full}"/></a>'
            "<figcaption>A red kite over the <b>hill</b></figcaption></figure>") in text
    # A caption table nested in another's cell: a figure inside the outer figure, both captions kept.
    outer = re.search(r"<figure>.*kite-outer.*?</figure>.*?</figure>", text).group(0)
    assert "<figcaption>The small one</figcaption>" in outer and "<figcaption>Two kites &amp; a string</figcaption>" in outer


def test_images_in_headings_lists_and_cells_survive_as_images(imported):
    site, report = imported
    text = markdown(site, KITES)
    assert "### ![Title kite](https://1.bp.blogspot.com/-kite/AAAA/BBBB/s1600/kite-title.jpg) Windy part" in text
    assert "-   First ![Kite in a list](" in text
    assert "| Delta | ![Image: kite cell](" in text
    # The caption table Blogger put inside a heading: the heading stays, the figure follows it (reported).
    assert re.search(r"### Launch\n\n<figure><a [^>]*kite-heading", text)
    assert (KITES, "figure inside <h2>: moved to just after it") in report.conversion
    assert "[![Café kite](" in text


def test_videos_become_click_to_load_figures_and_unknown_embeds_visible_reported_links(imported):
    site, report = imported
    text = markdown(site, KITES)
    for video in ("AbCdEfGhIjK", "ZyXwVuTsRqP"):  # the <object> of 2008-2015 and a //www.youtube.com iframe
        assert (f'<figure class="embed embed-youtube" data-embed-src="{NOCOOKIE}/embed/{video}">'
                f'<a href="https://www.youtube.com/watch?v={video}">YouTube video</a></figure>') in text
    assert "<object" not in text and "<iframe" not in text and "<script" not in text
    assert "[Embedded content from maps.example.org](https://maps.example.org/embed?spot=field)" in text
    assert "[Code on GitHub Gist: kiteflyer/0123456789abcdef](https://gist.github.com/kiteflyer/0123456789abcdef)" in text
    summary = report.summary()
    assert f"converted with changes {KITES}: <iframe> embed of maps.example.org: not a known player" in summary
    assert f"converted with changes {KITES}: <script> embed of gist.github.com" in summary


def test_the_summary_ends_with_a_fidelity_line_counted_from_the_export(imported):
    _, report = imported
    last = report.summary().splitlines()[-1]
    assert last.strip() == ("fidelity  images 8/8, videos and embeds 4/4 (2 as plain links), "
                            "internal links 0/0, comments 2/2")


def test_headings_demoted_empty_elements_dropped_text_nfc(imported):
    site, _ = imported
    text = markdown(site, KITES)
    assert text.split("\n\n")[1] == "## Flying day"  # the body's <h1>, one level down like the rest
    assert not re.search(r"(?m)^# ", text) and not re.search(r"(?m)^#+\s*$", text)
    assert "e\u0301" not in text and "The café by the field." in text and "![Café kite]" in text


def test_entity_encoded_markup_stays_visible_text(imported, built):
    site, _ = imported
    text = markdown(site, HTML_POST)
    assert "type &lt;script&gt;alert(\"x\")&lt;/script&gt; in the box" in text
    assert "<script" not in text.replace("`<img src=x onerror=alert(1)>`", "")
    body = post_body(built, HTML_POST)
    assert body.find("script") is None and body.find("b") is None and body.find("img") is None
    assert 'type <script>alert("x")</script> in the box and see <b>nothing</b> happen.' in body.get_text()
    assert body.find("code").get_text() == "<img src=x onerror=alert(1)>"


def test_markup_the_parser_rejects_is_a_reported_problem_not_a_traceback(imported):
    site, report = imported
    assert (site.content / "posts/2015/05/broken-markup.md").is_file()
    notes = [what for url, what in report.conversion if url == "2015/05/broken-markup.html"]
    assert notes and notes[0].startswith("markup the HTML parser rejects")


@pytest.mark.parametrize("hostile", [
    '<img src="https://1.bp.blogspot.com/a/s320/x.jpg" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<figure class="embed" data-embed-src="https://evil.example/x"><a href="https://evil.example/">x</a></figure>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
])
def test_imported_html_is_sanitised(hostile):
    md = to_markdown(hostile, LinkMap(hosts=set(), targets={})).markdown
    assert not re.search(r"onerror|onload|javascript:|style=|<svg|<style|evil\.example/x", md), md


def test_built_pages_show_every_image_and_frame_only_their_own_players(built):
    body = post_body(built, KITES)
    assert len(body.find_all("img")) == 8
    assert len(body.find_all("figcaption")) == 4
    embeds = body.select("figure.embed[data-embed-src]")
    assert [e["data-embed-src"] for e in embeds] == [f"{NOCOOKIE}/embed/AbCdEfGhIjK", f"{NOCOOKIE}/embed/ZyXwVuTsRqP"]
    assert body.find("iframe") is None  # nothing third-party in the page itself

    def frame_src(page: str) -> str:
        policy = BeautifulSoup(built.read(page), "html.parser").find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        return re.search(r"frame-src ([^;]*)", policy["content"]).group(1)

    assert frame_src(KITES) == NOCOOKIE
    assert frame_src(HTML_POST) == "'none'"


def test_list_page_summary_never_cuts_a_table(built):
    index = BeautifulSoup(built.read("index.html"), "html.parser")
    summary = next(a for a in index.select("article.post-summary") if "Table first" in a.get_text()).select_one(".post-body")
    assert summary.find(["table", "tr", "td"]) is None
    assert summary.get_text().startswith("Row 1 of the flying log") and summary.get_text().endswith("…")


def test_whole_element_summary_cuts_text_and_omits_structures():
    from plugins.summaries import whole_element_summary

    assert whole_element_summary("<p>a b c</p>", 5) is None  # short: Pelican's own summary (the whole post)
    assert whole_element_summary("<p>one two three</p><table><tr><td>a b c d</td></tr></table><p>x</p>", 5) == \
        "<p>one two three</p><p>…</p>"
    assert whole_element_summary("<div><p>one two</p><p>three <b>four five</b> six</p><ul><li>x</li></ul></div>", 4) == \
        "<div><p>one two</p><p>three <b>four …</b></p></div>"  # Pelican's truncation, its suffix


# Beginnings cut anywhere: inside a tag, an attribute, an entity, a comment, a script, a table;
# posts wrapped in one container; text at the top level; markup never closed.
SUMMARY_BODIES = [
    "<p>" + " ".join(f"w{n}" for n in range(80)) + "</p>",
    "".join(f"<p>Paragraph {n} with <a href=\"/x?a=1&amp;b={n}\" title=\"a <b> c\">a link</a> &amp; more &eacute; words.</p>\n"
            for n in range(40)),
    "<div class=\"wrap\">" + "".join(f"<p>Inside {n} <em>one two</em> three</p>" for n in range(60)) + "</div>",
    "Top level text " * 30 + "<br>" + "<p>after</p>" * 20,
    "<!-- a comment with <p>markup</p> inside --><p>" + "word " * 60 + "</p><script>var a = '<p>' + 1;</script>",
    "<table>" + "".join(f"<tr><td>cell {n} a b c</td></tr>" for n in range(50)) + "</table><p>" + "tail " * 30 + "</p>",
    "<p>one two" + "<p>never closed " * 40,
    "<ul>" + "<li>item a b c d e" * 30 + "</ul><p>x</p>",
    "<section><div><p>" + "deep " * 20 + "</p><pre>code a b c d e f g</pre>" + "<p>more words here</p>" * 30 + "</div></section>",
]


def test_a_summary_from_the_beginning_of_a_post_is_the_one_from_the_whole_post(monkeypatch):
    import plugins.summaries as summaries

    bodies = SUMMARY_BODIES + [path.read_text(encoding="utf-8") for path in sorted((Path(__file__).resolve().parent.parent / "content").glob("**/*.md"))]

    def summaries_with(first_part: int) -> list:
        monkeypatch.setattr(summaries, "FIRST_PART", first_part)
        return [summaries.whole_element_summary(body, limit) for body in bodies for limit in (3, 5, 50, 200)]

    whole = summaries_with(10 ** 9)
    assert sum(summary is not None for summary in whole) > len(bodies)  # most of them are cut
    for first_part in (1, 7, 64, 300):
        assert summaries_with(first_part) == whole, first_part


def test_only_the_beginning_of_a_long_post_is_parsed(monkeypatch):
    import plugins.summaries as summaries

    parsed = []
    plain = summaries._parse
    monkeypatch.setattr(summaries, "_parse", lambda markup: parsed.append(len(markup)) or plain(markup))
    body = "".join(f"<p>Paragraph {n} has seven words in it.</p>\n" for n in range(2000))
    assert summaries.whole_element_summary(body, 50).count("<p>") == 8
    assert parsed[0] == summaries.FIRST_PART < len(body) // 20


def test_an_embed_figure_on_a_foreign_origin_or_without_link_fails_the_build(site):
    from blogkit.build import BuildError

    site.post("bad-embed", body='<figure class="embed embed-x" data-embed-src="https://player.example/v/1"><a href="https://example.org/">x</a></figure>\n\n'
                               f'<figure class="embed embed-youtube" data-embed-src="{NOCOOKIE}/embed/AbCdEfGhIjK"></figure>')
    with pytest.raises(BuildError) as caught:
        site.build()
    message = str(caught.value)
    assert "bad-embed.md" in message and "https://player.example/v/1" in message and "not allowed" in message
    assert "has no link inside" in message


@pytest.mark.browser
def test_the_player_loads_only_on_click_and_the_link_works_without_javascript(built, serve_folder, chromium, page):
    server = serve_folder(built.output)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    # The player cannot be reached from here: answer its URL with a page of our own (and record it).
    page.route(f"{NOCOOKIE}/**", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>player</p>"))
    # The post's images stay on Blogger's host (imported without downloads): answered here too.
    gif = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
    page.route("https://1.bp.blogspot.com/**", lambda route: route.fulfill(status=200, content_type="image/gif", body=gif))
    page.goto(f"{server.url}/{KITES}")
    buttons = page.locator("figure.embed .embed-play")
    assert buttons.count() == 2
    # Nothing third-party before the click but the post's own images.
    assert [u for u in requests if not u.startswith((server.url, "https://1.bp.blogspot.com/"))] == []
    buttons.first.click()
    frame = page.locator("figure.embed iframe")
    frame.wait_for()
    assert frame.get_attribute("src").startswith(f"{NOCOOKIE}/embed/AbCdEfGhIjK")
    page.wait_for_timeout(300)
    assert any(u.startswith(f"{NOCOOKIE}/embed/AbCdEfGhIjK") for u in requests)
    assert not [u for u in requests if not u.startswith((server.url, NOCOOKIE, "https://1.bp.blogspot.com/"))]
    assert page.console_errors == []  # the page's CSP let the frame load

    without_js = chromium.new_page()
    try:
        chromium.new_cdp_session(without_js).send("Emulation.setScriptExecutionDisabled", {"value": True})
        without_js.goto(f"{server.url}/{KITES}")
        link = without_js.locator("figure.embed a").first
        assert link.get_attribute("href") == "https://www.youtube.com/watch?v=AbCdEfGhIjK" and link.is_visible()
        assert without_js.locator("figure.embed .embed-play").count() == 0
    finally:
        without_js.close()


def test_a_table_markdown_cannot_hold_stays_sanitised_html(site):
    """Spans and line breaks in cells (Blogger's layout and data tables) survive as an HTML table."""
    md = to_markdown('<p>Log</p><table onclick="x()"><tr><td rowspan="2" style="color:red">a<br>b</td><td>c</td></tr>'
                     '<tr><td>d &lt;e&gt;</td></tr></table>', LinkMap(hosts=set(), targets={})).markdown
    assert '<table><tbody><tr><td rowspan="2">a<br/>b</td><td>c</td></tr><tr><td>d &lt;e&gt;</td></tr></tbody></table>' in md
    site.post("table", body=md)
    site.build()
    cell = post_body(site, "2020/05/table.html").find("td")
    assert cell["rowspan"] == "2" and cell.find("br") is not None


def test_a_shell_prompt_in_text_is_no_heading_and_urls_are_valid():
    md = to_markdown('<div>Run:<br># cat /proc/version<br>#<br>C# stays</div><img src="http://maps.example.org/m?a=b|c">',
                     LinkMap(hosts=set(), targets={})).markdown
    assert "\\# cat /proc/version" in md and "\\#  \n" in md and "C# stays" in md
    assert "(http://maps.example.org/m?a=b%7Cc)" in md
