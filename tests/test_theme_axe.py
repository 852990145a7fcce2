"""axe-core in real Chromium on every page type the theme renders, in the light and the dark scheme.

One site holds them all: the real content/ (the seed post, its label, category,
author and archive pages, search, 404), our own Blogger fixture export imported into
it (a post with captioned figures and click-to-load video embeds), and a draft
(its preview page). It is built with the real settings against a real Isso on
127.0.0.1, so the article's live comment form is on the page when axe looks.
Requests to other hosts are answered here (the imported post's images stay on
Blogger's host when imported without downloads) or refused: the test is offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from blogkit.blogger import Options, import_blogger
from blogkit.build import ROOT, build
from blogkit.comments import start_isso
from conftest import Served, Site, free_port

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent / "fixtures"
SEED = "/2007/01/psychotherapy-of-sales.html"
KITES = "/2015/03/kites-and-videos.html"  # tests/fixtures/blogger/conversion.xml's post with figures and embeds
DRAFT = "/drafts/half-written.html"
PAGE_TYPES = {
    "home": "/",
    "article": SEED,
    "label": "/search/label/sales.html",
    "category": "/category/consulting.html",
    "archives": "/archives.html",
    "author": "/author/the-consultant.html",
    "search": "/search.html",
    "404": "/404.html",
    "draft preview": DRAFT,
    "imported Blogger post": KITES,
}
WITH_COMMENTS = {"article", "imported Blogger post"}
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@pytest.fixture(scope="module")
def every_page_type(tmp_path_factory):
    """The site of every page type, built against a real Isso and served; both stopped after."""
    base = tmp_path_factory.mktemp("axe-site")
    site = Site(base)
    # Imported first, into an empty folder: importing another blog into the project removes its sample
    # content (blogkit.blogger.importer.SAMPLE_FILES), and this site wants the seed post beside the import.
    import_blogger(FIXTURES / "blogger" / "conversion.xml", Options(content=site.content, download_images=False))
    shutil.copytree(ROOT / "content", site.content, dirs_exist_ok=True)
    site.post("half-written", title="Half written", date="2024-02-01 09:00", status="draft", tags="Sales",
              body="A draft the author previews before publishing it.\n\n- one point\n- another point")
    port = free_port()
    isso = start_isso(base / "isso", free_port(), [f"http://127.0.0.1:{port}"])
    served = None
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ISSO_URL", isso.url)
            build(ROOT / "pelicanconf.py", site.output, site.overrides())
        served = Served(site.output, port)
        yield served, isso
    finally:
        if served is not None:
            served.stop()
        isso.stop()


@pytest.fixture(scope="module")
def axe():
    return Axe()


def offline(page, served, isso):
    """Answer Blogger's image host with a pixel and refuse every other host but ours and Isso."""
    def route(request_route):
        url = request_route.request.url
        if url.startswith((served.url, isso.url)):
            return request_route.continue_()
        if url.startswith("https://1.bp.blogspot.com/"):
            return request_route.fulfill(status=200, content_type="image/gif", body=GIF)
        return request_route.abort()

    page.route("**/*", route)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_every_page_type(every_page_type, page, axe, scheme):
    served, isso = every_page_type
    offline(page, served, isso)
    page.emulate_media(color_scheme=scheme)
    background = "rgb(13, 17, 23)" if scheme == "dark" else "rgb(255, 255, 255)"
    found = {}
    for kind, path in PAGE_TYPES.items():
        assert page.goto(served.url + path).ok, path
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background, path
        if kind in WITH_COMMENTS:
            # Bring the comments near, so the live thread and its form are there when axe looks.
            page.locator("#comments").scroll_into_view_if_needed()
            page.wait_for_selector(".comments-live[data-comments-ready]", state="attached")
            assert page.locator("form.comment-form textarea").count() == 1, path
        if kind == "imported Blogger post":
            assert page.locator(".post-body figure figcaption").count() >= 2, "the imported figures are there"
            assert page.locator("figure.embed .embed-play").count() == 2, "the click-to-load players are there"
        results = axe.run(page)
        assert len(results.response["passes"]) >= 20, f"axe ran its rules on {path}"
        found[kind] = results.violations_count
        assert results.violations_count == 0, f"{kind} {path} ({scheme}):\n{results.generate_report()}"
    assert found == dict.fromkeys(PAGE_TYPES, 0)
    assert page.console_errors == [], page.console_errors


def test_axe_finds_nothing_on_a_started_player_and_a_reader_chosen_scheme(every_page_type, page, axe):
    """The player a reader started (an iframe of ours), and the scheme chosen with the switch over the system's."""
    served, isso = every_page_type
    offline(page, served, isso)
    page.route("https://www.youtube-nocookie.com/**",
               lambda r: r.fulfill(status=200, content_type="text/html", body="<!doctype html><title>player</title><p>player</p>"))
    page.emulate_media(color_scheme="light")
    page.goto(served.url + KITES)
    page.locator("figure.embed .embed-play").first.click()
    page.locator("figure.embed iframe").wait_for()
    page.locator(".theme-switch button[data-theme-choice=dark]").click()
    assert page.evaluate("document.documentElement.getAttribute('data-theme')") == "dark"
    results = axe.run(page)
    assert results.violations_count == 0, results.generate_report()
    page.evaluate("localStorage.removeItem('theme')")
