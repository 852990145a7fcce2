"""The theme autoescapes: a title, summary, label, author or setting full of `"`, `<`, `&` and script renders as text."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from blogkit.build import ROOT

TITLE = 'Tom & Jerry say "hi" <script>alert("title")</script> 1 < 2'
# Pelican renders a Summary as Markdown: an encoded tag stays an entity in its HTML.
SUMMARY = 'A "quoted" summary & more: type &lt;script&gt;alert("summary")&lt;/script&gt; in the box, 1 &lt; 2.'
SUMMARY_TEXT = 'A "quoted" summary & more: type <script>alert("summary")</script> in the box, 1 < 2.'
LABEL = 'R&D "<b>" <script>alert("label")</script>'
AUTHOR = 'Eve "<i>" & <script>alert("author")</script>'
SITENAME = 'Notes "<&>" <script>alert("sitename")</script>'
# What Jinja's (and Pelican's) striptags leaves of a value, used where the theme wants plain text.
STRIPPED_TITLE = 'Tom & Jerry say "hi" alert("title") 1 < 2'
STRIPPED_SITENAME = 'Notes "" alert("sitename")'


class _Page(HTMLParser):
    """The parts of a page a browser would act on: elements, attributes, script bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        else:
            self.text.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    from conftest import Site

    site = Site(tmp_path_factory.mktemp("escaping"))
    site.post("hostile", title=TITLE, date="2021-03-14 10:00", body="Plain body text.",
              summary=SUMMARY, tags=LABEL, author=AUTHOR)
    site.post("neighbour", title="A plain neighbour", date="2021-03-10 10:00", body="More text.", tags=LABEL)
    site.build(SITENAME=SITENAME)
    return site


def pages(site):
    return sorted(site.output.rglob("*.html"))


def test_every_page_parses_with_no_script_of_theirs(hostile_site):
    written = pages(hostile_site)
    assert len(written) > 8
    for path in written:
        text = path.read_text(encoding="utf-8")
        page = parse(text)
        for attrs, body in page.scripts:
            if attrs.get("type") == "application/ld+json":
                json.loads(body)  # a data block that stays one block (tojson escapes < and >)
                assert "<" not in body, path
            else:
                assert "alert(" not in body, f"{path}: a hostile value became script: {body[:80]!r}"
        for tag, attrs in page.tags:
            assert not tag.startswith("script") or tag == "script", path
            assert not any(name.startswith("on") for name in attrs), f"{path}: {tag} {attrs}"
            assert tag not in ("b", "i") or "post-body" in text, path  # the <b>/<i> of a label or name never became elements


def test_meta_description_is_well_formed_and_carries_the_text(hostile_site):
    text = hostile_site.read("2021/03/hostile.html")
    match = re.search(r'<meta name="description" content="([^"<>]*)">', text)
    assert match, "the description meta is broken by a quote or bracket"
    assert html.unescape(match.group(1)) == SUMMARY_TEXT
    assert "&#34;" in match.group(1) and "&lt;script&gt;" in match.group(1) and "&amp;" in match.group(1)
    og = re.search(r'<meta property="og:description" content="([^"<>]*)">', text)
    assert og and html.unescape(og.group(1)) == SUMMARY_TEXT


@pytest.mark.parametrize("value", [TITLE, LABEL, AUTHOR, SITENAME], ids=["title", "label", "author", "sitename"])
def test_hostile_values_show_as_text(hostile_site, value):
    text = hostile_site.read("2021/03/hostile.html")
    page = parse(text)
    visible = " ".join(" ".join(page.text).split())
    assert value in visible, f"{value!r} is not visible as text"
    assert str(escape(value)) in text  # written escaped (Jinja writes " as &#34;), never raw


def test_author_meta_and_listing_pages_escape(hostile_site):
    text = hostile_site.read("2021/03/hostile.html")
    metas = [attrs["content"] for tag, attrs in parse(text).tags if tag == "meta" and attrs.get("name") == "author"]
    assert metas == [AUTHOR]
    index = parse(hostile_site.read("index.html"))
    assert SITENAME in " ".join(index.text)
    # Attributes carry Pelican's text of a name that may hold markup (tags stripped, as in its feeds).
    assert [attrs.get("content") for tag, attrs in index.tags if attrs.get("property") == "og:site_name"] == [STRIPPED_SITENAME]
    tags_page = " ".join(parse(hostile_site.read("tags.html")).text)
    assert LABEL in " ".join(tags_page.split())


def test_feeds_and_sitemap_stay_well_formed(hostile_site):
    from xml.etree import ElementTree

    feeds = sorted((hostile_site.output / "feeds").rglob("*.xml"))
    assert feeds
    for feed in feeds + [hostile_site.output / "sitemap.xml"]:
        ElementTree.parse(feed)  # raises on a stray < or &
    atom = ElementTree.parse(hostile_site.output / "feeds" / "all.atom.xml").getroot()
    titles = [el.text for el in atom.iter("{http://www.w3.org/2005/Atom}title")]
    # Pelican's feed writer strips tags from titles (it treats them as HTML); what is left is text.
    assert STRIPPED_SITENAME in titles and STRIPPED_TITLE in titles


def test_autoescape_is_on_for_the_theme():
    from pelican.settings import read_settings

    settings = read_settings(str(ROOT / "pelicanconf.py"))
    assert settings["JINJA_ENVIRONMENT"]["autoescape"] is True
