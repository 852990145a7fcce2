"""The real blog builds, and the first post is where Blogger had it, faithful to the original."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from blogkit.build import ROOT, BuildError

POST = "2007/01/psychotherapy-of-sales.html"
# A copy of ../shared/seed/ travels with the repository, so a clone anywhere can run this test.
SEED = ROOT / "tests" / "fixtures" / "seed" / "the-psychotherapy-of-sales.txt"
SHARED_SEED = ROOT.parent / "shared" / "seed" / SEED.name


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def post_text(real_site: Path) -> str:
    return soup(real_site / POST).select_one(".post-body").get_text(" ", strip=True)


def test_post_is_at_its_blogger_url_with_title_and_day_header(real_site):
    page = soup(real_site / POST)
    assert page.h1.get_text(strip=True) == "The Psychotherapy of Sales"
    assert "Thursday, January 11, 2007" in page.select_one(".date-header").get_text()
    assert page.title.get_text().startswith("The Psychotherapy of Sales")


def test_post_keeps_the_three_objections_as_a_list(real_site):
    items = [li.get_text(" ", strip=True) for li in soup(real_site / POST).select(".post-body ul > li")]
    assert len(items) == 3
    assert items[0].startswith("Yeah. I saw a thing at Computer Mart")
    assert "we don't really need technical support" in items[1]
    assert items[2].endswith("and there's no warranty.")


def test_post_keeps_the_emphasis(real_site):
    ems = [em.get_text() for em in soup(real_site / POST).select(".post-body em")]
    assert ems == ["really", "my", "I"]
    assert "it's my problem and I have to answer" in post_text(real_site)


def test_seed_copy_matches_the_shared_original():
    if SHARED_SEED.exists():  # beside a CI clone and the main checkout; not beside a clone in /tmp
        assert SEED.read_bytes() == SHARED_SEED.read_bytes()
    assert SEED.read_text(encoding="utf-8").startswith("Thursday, January 11, 2007")


def test_post_is_faithful_to_every_line_of_the_seed(real_site):
    """Every paragraph of the original, in order; the comment and form text are not body."""
    original = SEED.read_text(encoding="utf-8").split("1 comment:")[0]
    lines = [line.strip().lstrip("- ").replace("*", "") for line in original.splitlines()[3:]]
    lines = [line for line in lines if line]
    text = post_text(real_site)
    position = 0
    for line in lines:
        found = text.find(line, position)
        assert found >= 0, f"missing or out of order: {line!r}"
        position = found + len(line)
    assert text.endswith("Must control fist of destruction. I need to let go. I need to let go.")
    assert "long pause" in text and "uhhh . . ." in text


@pytest.mark.parametrize(
    "listing",
    ["index.html", "archives.html", "2007/index.html", "2007/01/index.html", "search/label/sales.html", "category/consulting.html"],
)
def test_listings_link_to_the_post(real_site, listing):
    hrefs = [a.get("href") for a in soup(real_site / listing).find_all("a")]
    assert f"/{POST}" in hrefs


@pytest.mark.parametrize("feed", ["feeds/all.atom.xml", "feeds/all.rss.xml"])
def test_feeds_link_to_the_post(real_site, feed):
    assert f"/{POST}" in (real_site / feed).read_text(encoding="utf-8")


def test_about_page_and_404(real_site):
    assert soup(real_site / "p/about.html").h1.get_text(strip=True) == "About"
    assert "Page not found" in (real_site / "404.html").read_text(encoding="utf-8")


def test_every_page_has_landmarks_lang_and_a_title(real_site):
    for page in ["index.html", POST, "p/about.html", "archives.html", "404.html"]:
        html = soup(real_site / page)
        assert html.html["lang"] == "en", page
        assert html.find("main") and html.find("header") and html.find("nav") and html.find("footer"), page
        assert html.title.get_text(strip=True), page


def test_malformed_date_fails_the_build_naming_the_file(site):
    site.post("good", title="Good")
    site.post("broken", title="Broken", date="2007-13-45")
    with pytest.raises(BuildError) as failure:
        site.build()
    assert "posts/broken.md" in str(failure.value)
    assert "not a valid date" in str(failure.value)
    assert not site.output.exists(), "a failed build must write nothing"


def test_build_task_exits_non_zero_naming_the_file(site):
    site.post("broken", title="Broken", date="yesterday-ish")
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--content", str(site.content), "--output", str(site.output)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode != 0
    assert "posts/broken.md" in run.stderr
    assert not site.output.exists()


def test_new_post_writes_a_draft_stub(tmp_path):
    from blogkit.newpost import NewPostError, new_post

    path = new_post("Backups: Why Bother?", tmp_path)
    text = path.read_text()
    assert path.relative_to(tmp_path).parts[0] == "posts" and path.name == "backups-why-bother.md"
    assert "Title: Backups: Why Bother?" in text and "Status: draft" in text
    with pytest.raises(NewPostError, match="already exists"):
        new_post("Backups: Why Bother?", tmp_path)
