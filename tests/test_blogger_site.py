"""Import each fixture export into a fixture site, build it with the real settings, and follow every old URL."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from blogkit.blogger import Options, import_blogger
from blogkit.build import load_settings
from conftest import Site

FIXTURES = Path(__file__).parent / "fixtures" / "blogger"

OLD_POSTS = {
    "2007/03/backups-nobody-tests.html": "Backups Nobody Tests",
    "2007/12/year-end-thoughts.html": "Year-End Thoughts",
    "2007/02/blog-post.html": "Quick note: the server room flooded again. More tomorrow.",
    "2007/04/monthly-update.html": "Monthly Update",
    "2007/05/monthly-update.html": "Monthly Update",
}


@pytest.fixture(scope="module", params=["classic", "blogger2018"])
def built(request, tmp_path_factory):
    """A fixture site holding one imported export, built strictly with the real settings (read-only)."""
    site = Site(tmp_path_factory.mktemp(request.param))
    import_blogger(FIXTURES / f"{request.param}.xml", Options(content=site.content, download_images=False))
    site.build()
    return site


def html(site, relpath: str) -> BeautifulSoup:
    return BeautifulSoup(site.read(relpath), "html.parser")


def test_every_old_post_and_page_is_at_its_blogger_path(built):
    for path, title in OLD_POSTS.items():
        page = html(built, path)
        assert page.h1.get_text(strip=True) == title, path
    assert html(built, "p/about-me.html").h1.get_text(strip=True) == "About Me"


def test_the_31_december_post_is_dated_and_filed_as_on_blogger(built):
    page = html(built, "2007/12/year-end-thoughts.html")
    assert page.select_one(".date-header time")["datetime"] == "2007-12-31T23:30:00-08:00"
    assert "Monday, December 31, 2007" in page.select_one(".date-header").get_text()
    assert "Year-End Thoughts" in built.read("2007/12/index.html")
    assert not (built.output / "2008").exists()


def test_post_html_is_clean_and_links_point_at_the_new_site(built):
    body = html(built, "2007/03/backups-nobody-tests.html").select_one(".post-body")
    assert [li.get_text() for li in body.select("ul > li")] == [
        "When did you last restore a file?", "Who knows the password?", "Where is the second copy?"]
    assert body.select_one("table td").get_text() == "First"
    assert "rsync -a /srv/ backup:/srv/" in body.select_one("pre").get_text()
    hrefs = {a.get_text(): a["href"] for a in body.select("a")}
    assert hrefs["my year-end thoughts"] == "/2007/12/year-end-thoughts.html"
    assert hrefs["flood note"] == "/2007/02/blog-post.html"
    assert hrefs["disaster recovery"] == "/search/label/disaster-recovery.html"
    assert hrefs["December archive"] == "/2007/12/"
    text = str(body)
    for cruft in ("onblur", "onclick", "style=", "<script", "owned", "blogspot.com/2007"):
        assert cruft not in text, cruft


def test_labels_answer_at_blogger_label_urls(built, serve_folder):
    """Blogger served /search/label/Sales%20%26%20Marketing; the same request still reaches the label."""
    tag = html(built, "search/label/sales-marketing.html")
    assert "Backups Nobody Tests" in tag.get_text()
    served = serve_folder(built.output)
    for label, slug in [("Disaster Recovery", "disaster-recovery"), ("Sales & Marketing", "sales-marketing"),
                        ("Updates", "updates")]:
        with urllib.request.urlopen(f"{served.url}/search/label/{quote(label)}") as response:
            stub = BeautifulSoup(response.read().decode("utf-8"), "html.parser")
        assert stub.select_one('link[rel="canonical"]')["href"] == f"/search/label/{slug}.html"
        assert stub.select_one('meta[http-equiv="refresh"]')["content"] == f"0; url=/search/label/{slug}.html"
        with urllib.request.urlopen(f"{served.url}{stub.a['href']}") as response:
            assert response.status == 200


def test_month_archives_answer_at_both_blogger_forms(built, serve_folder):
    served = serve_folder(built.output)
    with urllib.request.urlopen(f"{served.url}/2007/03/") as response:
        assert "Backups Nobody Tests" in response.read().decode("utf-8")
    with urllib.request.urlopen(f"{served.url}/2007_03_01_archive.html") as response:
        stub = BeautifulSoup(response.read().decode("utf-8"), "html.parser")
    assert stub.select_one('link[rel="canonical"]')["href"] == "/2007/03/"
    assert stub.html["lang"] == "en" and stub.title.get_text() == "March 2007"
    with pytest.raises(urllib.error.HTTPError):  # no stub for a month without posts
        urllib.request.urlopen(f"{served.url}/2007_08_01_archive.html")


def test_blogger_feed_address_serves_the_atom_feed(built, serve_folder):
    import feedparser

    served = serve_folder(built.output)
    with urllib.request.urlopen(f"{served.url}/feeds/posts/default") as response:
        feed = feedparser.parse(response.read())
    assert not feed.bozo
    assert "Backups Nobody Tests" in [entry.title for entry in feed.entries]


def test_the_draft_and_its_comment_are_published_nowhere(built):
    for path in built.output.rglob("*"):
        if path.is_file() and (path.suffix in (".html", ".xml") or path.name == "default") and "drafts" not in path.parts:
            text = path.read_text(encoding="utf-8")
            assert "DRAFT-SECRET-TEXT" not in text and "Unfinished Thoughts" not in text, path
            assert "DRAFT-COMMENT-TEXT" not in text, path


def test_same_slug_pair_both_listed_in_their_months(built):
    assert "April: three new clients." in built.read("2007/04/monthly-update.html")
    assert "May: one client left, two arrived." in built.read("2007/05/monthly-update.html")
    assert "2007/05/monthly-update.html" in built.read("2007/05/index.html")


def test_comment_json_names_a_post_the_build_wrote(built):
    import json

    for path in (built.content / "comments").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert (built.output / data["post"]).is_file()
        assert path.relative_to(built.content / "comments").with_suffix(".html").as_posix() == data["post"]


def test_a_post_already_in_content_is_kept_and_gets_its_comments(site):
    """The author re-typed one old post by hand: the import keeps it, adds its comments, and the build has no clash."""
    site.post("backups-nobody-tests", title="Backups Nobody Tests", date="2007-03-05 10:15",
              body="MY-OWN-COPY of the post.", category="Consulting")
    report = import_blogger(FIXTURES / "classic.xml", Options(content=site.content, download_images=False))
    assert ("post 2007/03/backups-nobody-tests.html", "already in content/ as posts/backups-nobody-tests.md") in [
        (s.what, s.reason) for s in report.skipped]
    assert not (site.content / "posts/2007/03/backups-nobody-tests.md").exists()
    assert (site.content / "comments/2007/03/backups-nobody-tests.json").is_file()
    site.build()
    assert "MY-OWN-COPY" in site.read("2007/03/backups-nobody-tests.html")


def test_the_real_blog_answers_at_blogger_label_and_archive_urls(real_site):
    """The seed post's labels and month at the addresses Blogger gave them."""
    for label in ("Sales", "Clients", "Consulting"):
        stub = BeautifulSoup((real_site / f"search/label/{label}.html").read_text(encoding="utf-8"), "html.parser")
        target = stub.select_one('link[rel="canonical"]')["href"]
        assert target == f"/search/label/{label.lower()}.html"
        assert "The Psychotherapy of Sales" in (real_site / target.lstrip("/")).read_text(encoding="utf-8")
    stub = (real_site / "2007_01_01_archive.html").read_text(encoding="utf-8")
    assert '<link rel="canonical" href="/2007/01/">' in stub


def test_label_stubs_cover_every_spelling_of_a_label(site):
    site.post("one", title="One", date="2020-05-04 10:00", tags="Sales", category="Consulting")
    site.post("two", title="Two", date="2020-05-05 10:00", tags="SALES", category="Consulting")
    site.build()
    for spelling in ("Sales", "SALES"):
        assert 'href="/search/label/sales.html"' in site.read(f"search/label/{spelling}.html")
    assert "One" in site.read("search/label/sales.html") and "Two" in site.read("search/label/sales.html")


def test_stubs_are_written_with_their_policy_and_never_read_again(site, monkeypatch, tmp_path):
    from plugins import csp

    site.post("one", title="One", date="2020-05-04 10:00", tags="Sales & Marketing", category="Consulting")
    passed, real = [], csp._apply_to_pages
    monkeypatch.setattr(csp, "_apply_to_pages", lambda pages, *args: (passed.extend(pages), real(pages, *args))[1])
    site.build()
    settings = load_settings(overrides=site.overrides())
    stubs = [site.output / "search/label/Sales & Marketing.html", site.output / "2020_05_01_archive.html"]
    # The pass ran on the staging folder, before it became the output.
    read_again = {page.relative_to(next(up for up in page.parents if up.name.startswith(".output.building-"))) for page in passed}
    assert not read_again & {stub.relative_to(site.output) for stub in stubs}, "a stub was read again to get its policy"
    for stub in stubs:
        text = stub.read_text(encoding="utf-8")
        assert text.count('http-equiv="Content-Security-Policy"') == 1, stub
        # The same bytes as that pass gives the stub without its policy.
        bare = tmp_path / stub.name
        bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text), encoding="utf-8")
        assert real([bare], tmp_path, settings["COMMENTS"], csp.resolve_settings(settings.get("CSP")), settings["SITEURL"]) == []
        assert bare.read_text(encoding="utf-8") == text, stub


def test_redirect_stubs_can_be_switched_off(site):
    site.post("one", title="One", date="2020-05-04 10:00", tags="Sales & Marketing", category="Consulting")
    site.build(BLOGGER_REDIRECTS={"labels": False, "month_archives": False})
    assert (site.output / "search/label/sales-marketing.html").is_file()
    assert not (site.output / "search/label/Sales & Marketing.html").exists()
    assert not (site.output / "2020_05_01_archive.html").exists()
