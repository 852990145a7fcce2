"""Readers find and follow: feeds, sitemap, robots.txt, SEO metadata, related posts, reading time, toc, neighbours.

Each test reads what a real Pelican run of a small fixture site wrote, built
once with the local settings and once with publishconf.py.
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup

from blogkit.build import ROOT
from discovery_site import (
    DRAFT_PAGE_SLUG,
    DRAFT_SLUG,
    DRAFT_WORD,
    PUBLISHED_PAGES,
    PUBLISHED_POSTS,
    build_site,
    make_site,
)

SITEURL = "https://blog.example.com"


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """The fixture site built with pelicanconf.py."""
    site = make_site(tmp_path_factory.mktemp("local"))
    build_site(site, ROOT / "pelicanconf.py")
    return site.output


@pytest.fixture(scope="module")
def published(tmp_path_factory, monkeypatch_module) -> Path:
    """The fixture site built with publishconf.py (absolute URLs)."""
    monkeypatch_module.setenv("SITEURL", SITEURL)
    site = make_site(tmp_path_factory.mktemp("published"))
    build_site(site, ROOT / "publishconf.py")
    return site.output


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def html(output: Path, relpath: str) -> BeautifulSoup:
    return BeautifulSoup((output / relpath).read_text(encoding="utf-8"), "html.parser")


def probe(output: Path, slug: str) -> dict:
    """What the discovery plugins handed the article template of one post."""
    page = html(output, PUBLISHED_POSTS[slug])
    return json.loads(page.find("script", id="discovery-probe").string)


def feed_files(output: Path) -> list[Path]:
    return sorted((output / "feeds").rglob("*.xml"))


# --- Feeds ------------------------------------------------------------------------


def test_feeds_exist_for_site_each_category_and_each_tag_in_atom_and_rss(published):
    names = {str(p.relative_to(published / "feeds")) for p in feed_files(published)}
    expected = {"all.atom.xml", "all.rss.xml"}
    for kind, slugs in {"category": ["tech", "business"], "tag": ["servers", "backups", "sales"]}.items():
        for slug in slugs:
            expected |= {f"{kind}/{slug}.atom.xml", f"{kind}/{slug}.rss.xml"}
    assert names == expected


def test_feeds_parse_cleanly_with_ids_dates_self_links_and_absolute_urls(published):
    for path in feed_files(published):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
        assert parsed.version in {"atom10", "rss20"}, path
        assert parsed.feed.get("updated"), f"{path.name}: no feed-level updated date"
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [f"{SITEURL}/{path.relative_to(published).as_posix()}"], path
        assert parsed.entries, f"{path.name} is empty"
        for entry in parsed.entries:
            assert entry.get("id"), f"{path.name}: entry without id"
            assert entry.get("updated") or entry.get("published"), f"{path.name}: entry without date"
            assert entry.link.startswith(SITEURL + "/"), entry.link


def test_feeds_carry_full_content_not_summaries(published):
    atom = feedparser.parse((published / "feeds/all.atom.xml").read_bytes())
    rss = feedparser.parse((published / "feeds/all.rss.xml").read_bytes())
    for parsed in (atom, rss):
        long_read = next(e for e in parsed.entries if e.title == "Backups, a long read")
        body = long_read.content[0].value if "content" in long_read else long_read.summary
        assert "Test your restores." in body and "That is all." in body


def test_feed_entries_have_distinct_ids_and_atom_updated_dates(published):
    parsed = feedparser.parse((published / "feeds/all.atom.xml").read_bytes())
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)) == len(PUBLISHED_POSTS)
    assert all(e.get("updated") for e in parsed.entries)


def test_tag_feed_holds_exactly_the_posts_with_that_tag(published):
    parsed = feedparser.parse((published / "feeds/tag/sales.atom.xml").read_bytes())
    assert sorted(e.title for e in parsed.entries) == ["Alpha", "Delta"]


def test_local_feeds_parse_cleanly_too(local):
    for path in feed_files(local):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"


def test_every_page_links_its_feeds_in_the_head(published):
    pages = [p for p in published.rglob("*.html") if "drafts" not in p.parts and "pagefind" not in p.parts]
    assert len(pages) > 10
    for path in pages:
        head = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").head
        feeds = {link["href"] for link in head.find_all("link", rel="alternate")}
        assert {f"{SITEURL}/feeds/all.atom.xml", f"{SITEURL}/feeds/all.rss.xml"} <= feeds, path
    tag_head = html(published, "search/label/sales.html").head
    assert {link["href"] for link in tag_head.find_all("link", rel="alternate")} >= {
        f"{SITEURL}/feeds/tag/sales.atom.xml", f"{SITEURL}/feeds/tag/sales.rss.xml"}
    category_head = html(published, "category/business.html").head
    assert f"{SITEURL}/feeds/category/business.rss.xml" in {
        link["href"] for link in category_head.find_all("link", rel="alternate")}


# --- Sitemap and robots.txt ------------------------------------------------------


def sitemap_locs(output: Path) -> set[str]:
    tree = ET.parse(output / "sitemap.xml")
    ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    return {loc.text for loc in tree.getroot().findall("sm:url/sm:loc", ns)}


def test_sitemap_lists_every_published_post_and_page(published):
    locs = sitemap_locs(published)
    for relpath in [*PUBLISHED_POSTS.values(), *PUBLISHED_PAGES.values()]:
        assert f"{SITEURL}/{relpath}" in locs
    assert f"{SITEURL}/" in locs
    assert all(loc.startswith(SITEURL + "/") for loc in locs)


def test_sitemap_leaves_out_drafts_404_and_search_page(published):
    text = (published / "sitemap.xml").read_text(encoding="utf-8")
    assert DRAFT_SLUG not in text and DRAFT_PAGE_SLUG not in text and "drafts/" not in text
    assert not {loc for loc in sitemap_locs(published) if loc.endswith(("404.html", "search.html"))}


def test_robots_txt_points_to_the_absolute_sitemap_in_production(published):
    lines = (published / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Sitemap: {SITEURL}/sitemap.xml" in lines


def test_robots_txt_has_no_relative_sitemap_line_locally(local):
    text = (local / "robots.txt").read_text(encoding="utf-8")
    assert "User-agent: *" in text
    assert not re.search(r"^Sitemap:", text, re.M)


# --- Metadata: canonical, Open Graph, Twitter, JSON-LD --------------------------


def meta(head, attr: str, name: str) -> str | None:
    tag = head.find("meta", attrs={attr: name})
    return tag["content"] if tag else None


def test_article_head_has_canonical_og_and_twitter_tags(published):
    head = html(published, PUBLISHED_POSTS["alpha"]).head
    url = f"{SITEURL}/2021/01/alpha.html"
    assert head.find("link", rel="canonical")["href"] == url
    assert meta(head, "property", "og:url") == url
    assert meta(head, "property", "og:type") == "article"
    assert meta(head, "property", "og:title") == "Alpha"
    assert meta(head, "property", "og:description") == "Alpha's summary."
    assert meta(head, "name", "description") == "Alpha's summary."
    assert meta(head, "name", "twitter:card") == "summary"
    assert meta(head, "name", "twitter:title") == "Alpha"
    assert meta(head, "property", "article:published_time").startswith("2021-01-10T10:00:00")
    assert len(head.find_all("link", rel="canonical")) == 1


def test_pages_and_listings_have_canonical_and_og_tags(published):
    about = html(published, "p/about.html").head
    assert about.find("link", rel="canonical")["href"] == f"{SITEURL}/p/about.html"
    assert meta(about, "property", "og:type") == "website"
    index = html(published, "index.html").head
    assert index.find("link", rel="canonical")["href"] == f"{SITEURL}/"
    month = html(published, "2021/01/index.html").head
    assert month.find("link", rel="canonical")["href"] == f"{SITEURL}/2021/01/"
    assert not about.find("script", type="application/ld+json")
    assert not index.find("script", type="application/ld+json")


def json_ld(output: Path, relpath: str) -> dict:
    scripts = html(output, relpath).find_all("script", type="application/ld+json")
    assert len(scripts) == 1
    return json.loads(scripts[0].string)


def test_json_ld_blogposting_has_required_fields(published):
    data = json_ld(published, PUBLISHED_POSTS["alpha"])
    url = f"{SITEURL}/2021/01/alpha.html"
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "Alpha"
    assert data["datePublished"].startswith("2021-01-10T10:00:00")
    assert data["dateModified"].startswith("2021-01-10T10:00:00")
    assert data["author"][0]["@type"] == "Person" and data["author"][0]["name"]
    assert data["url"] == url
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}


def test_json_ld_cannot_be_broken_out_of_by_a_title(published):
    text = (published / PUBLISHED_POSTS["escaping"]).read_text(encoding="utf-8")
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S).group(1)
    assert "<" not in block, "markup inside JSON-LD must be escaped as \\u003c"
    title = 'Less </script><script>alert(1)</script> is "more"'
    assert json.loads(block)["headline"] == title
    # the same title stays inside its attributes (quotes escaped)
    head = BeautifulSoup(text, "html.parser").head
    assert meta(head, "property", "og:title") == title
    assert meta(head, "name", "twitter:title") == title


# --- Related posts, reading time, table of contents, Newer/Older ------------------


def test_related_posts_rank_by_shared_tags_then_closeness_in_time(local):
    # alpha {servers, backups, sales}: bravo shares 2; charlie (10 days) and
    # delta (7 months) share 1 each; long-read shares 1 (7 weeks away).
    assert probe(local, "alpha")["related"] == ["bravo", "charlie", "long-read", "delta"]
    assert probe(local, "bravo")["related"][0] == "alpha"
    assert probe(local, "delta")["related"] == ["alpha"]


def test_related_posts_never_list_the_post_itself_drafts_or_untagged_posts(local):
    for slug in PUBLISHED_POSTS:
        related = probe(local, slug)["related"]
        assert slug not in related and DRAFT_SLUG not in related and "echo" not in related
    assert probe(local, "echo")["related"] == []


def test_reading_time_is_whole_minutes_from_the_words(local):
    assert probe(local, "alpha")["reading_time"] == 1
    # the long read has about 480 words: 3 minutes at 230 words a minute
    assert probe(local, "long-read")["reading_time"] == 3


def test_toc_lists_headings_of_long_posts_only(local):
    toc = BeautifulSoup(probe(local, "long-read")["toc"], "html.parser")
    top = [a.get_text() for a in toc.select("ol > li > a") if a.find_parent("ol").find_parent("li") is None]
    assert top == ["Why back up", "How to restore", "Closing"]
    assert [a.get_text() for a in toc.select("ol ol a")] == ["Disks"]
    body = html(local, PUBLISHED_POSTS["long-read"]).select_one(".post-body")
    for link in toc.find_all("a"):
        assert body.find(id=link["href"][1:]), f"{link['href']} points at no heading"
    assert probe(local, "alpha")["toc"] == ""


def test_newer_and_older_links_follow_dates_and_skip_drafts(local):
    # by date: delta, bravo, alpha, (draft), charlie, echo, long-read, escaping
    assert probe(local, "alpha")["older"] == "bravo"
    assert probe(local, "alpha")["newer"] == "charlie"
    assert probe(local, "delta")["older"] is None
    assert probe(local, "escaping")["newer"] is None


# --- Drafts appear nowhere ----------------------------------------------------------


def readable(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # Pagefind's index files are gzipped
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@pytest.mark.parametrize("build", ["local", "published"])
def test_drafts_appear_nowhere_outside_their_preview_folder(build, request):
    output = request.getfixturevalue(build)
    checked = 0
    for path in output.rglob("*"):
        if not path.is_file() or path.relative_to(output).parts[0] == "drafts":
            continue
        text = readable(path)
        checked += 1
        for secret in (DRAFT_WORD, DRAFT_SLUG, DRAFT_PAGE_SLUG, "Secret plans", "Unfinished"):
            assert secret not in text, f"{secret!r} leaked into {path.relative_to(output)}"
    assert checked > 30
    if build == "local":
        assert (output / "drafts" / f"{DRAFT_SLUG}.html").exists()  # the preview itself is still built
    else:
        assert not (output / "drafts").exists()  # publishconf.py never writes drafts (the publish gate refuses them)
