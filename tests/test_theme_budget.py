"""The page budget as Chromium fetches the production site: every request before the reader does anything.

The real content/ plus a post with photographs of our own is built with
publishconf.py (SITEURL pointed at where it is served, its comment service a real
Isso on 127.0.0.1), loaded in Chromium at a phone's and a desktop's size, and left
alone until the network is quiet. Every request the browser sends is read from the
DevTools protocol (CORS preflights included); each of the site's files is gzipped at
level 6, as a server would send it. The article must stay within 15 KB gzipped in 3
requests (images aside), and nothing may go to a host that is neither the site nor
its comment service.
"""

from __future__ import annotations

import gzip
import shutil
from urllib.parse import urlsplit

import pytest
from PIL import Image

from blogkit.build import ROOT, build
from blogkit.comments import start_isso
from conftest import Served, Site, free_port

pytestmark = pytest.mark.browser

BUDGET_BYTES = 15 * 1024
BUDGET_REQUESTS = 3
SEED = "/2007/01/psychotherapy-of-sales.html"
PHOTOS = "/2020/05/photos.html"
VIEWPORTS = [(412, 823), (1280, 900)]  # Lighthouse's phone, and a desktop
IMAGE_TYPES = {"Image"}


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """The production build of content/ and a photo post, served, with its Isso; both stopped after."""
    base = tmp_path_factory.mktemp("budget")
    site = Site(base)
    shutil.copytree(ROOT / "content", site.content, dirs_exist_ok=True)
    site.post("photos", title="Photos", body="Some words.\n\n![A wide photo]({attach}photos/wide.jpg \"A caption\")\n\n"
              "More words.\n\n![A tall photo]({attach}photos/tall.jpg)\n")
    (site.content / "posts" / "photos").mkdir()
    for name, size in (("wide.jpg", (2400, 1350)), ("tall.jpg", (1200, 1600))):
        Image.effect_noise(size, 30).convert("RGB").save(site.content / "posts" / "photos" / name, quality=90)
    port = free_port()
    siteurl = f"http://127.0.0.1:{port}"
    isso = start_isso(base / "isso", free_port(), [siteurl])
    served = None
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SITEURL", siteurl)
            env.setenv("ISSO_URL", isso.url)
            build(ROOT / "publishconf.py", site.output, site.overrides())
        served = Served(site.output, port)
        yield site, served, isso
    finally:
        if served is not None:
            served.stop()
        isso.stop()


def record(page) -> list[dict]:
    """Start listing every request Chromium sends for `page` (preflights too), the cache off."""
    sent = []
    cdp = page.context.new_cdp_session(page)
    cdp.on("Network.requestWillBeSent", lambda e: sent.append(
        {"url": e["request"]["url"], "method": e["request"]["method"], "type": e.get("type", "")}))
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return sent


def before_interaction(page, url: str, viewport: tuple[int, int]) -> list[dict]:
    """Every request Chromium sends loading `url` until the network is quiet, the reader idle."""
    sent = record(page)
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)
    return sent


def gzipped_size(site: Site, served: Served, url: str) -> int:
    """The bytes a server sends for one of the site's files, gzipped at level 6."""
    path = urlsplit(url).path
    file = site.output / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
    return len(gzip.compress(file.read_bytes(), compresslevel=6))


def load_and_weigh(production, page, path: str, viewport: tuple[int, int], label: str):
    """Load one page of the production site as a reader does and print its weight; (sent, *weigh's four)."""
    site, served, isso = production
    sent = before_interaction(page, served.url + path, viewport)
    requests, size, images, others = weigh(site, served, isso, sent)
    print(f"{label} {viewport}: {len(requests)} requests, {size} bytes gzipped, {len(images)} images, "
          f"Isso: {[r['url'] for r in sent if r['url'].startswith(isso.url)]}: {[r['url'] for r in requests]}")
    return sent, requests, size, images, others


def weigh(site, served, isso, sent):
    """(requests but images, gzipped bytes of them, image requests, requests to other hosts)."""
    ours = [r for r in sent if r["url"].startswith(served.url + "/")]
    others = [r for r in sent if not r["url"].startswith((served.url + "/", isso.url + "/", "data:"))]
    non_image = [r for r in sent if r["type"] not in IMAGE_TYPES and not r["url"].startswith("data:")]
    size = sum(gzipped_size(site, served, r["url"]) for r in ours if r["type"] not in IMAGE_TYPES)
    return non_image, size, [r for r in ours if r["type"] in IMAGE_TYPES], others


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_the_article_is_within_15_kb_gzipped_in_3_requests_before_interaction(production, page, viewport):
    site, served, isso = production
    sent, requests, size, images, others = load_and_weigh(production, page, SEED, viewport, "article")
    assert others == [], "nothing third-party before the reader asks"
    assert [r for r in sent if r["url"].startswith(isso.url)] == [], "the comment service waits for the comments"
    assert len(requests) <= BUDGET_REQUESTS, requests
    assert size <= BUDGET_BYTES, f"{size} bytes gzipped"
    assert images == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_the_index_is_within_the_budget_and_asks_the_comment_service_once_without_a_preflight(production, page, viewport):
    """The live counts on the index: one simple POST to Isso (no CORS preflight) once they near the screen."""
    site, served, isso = production
    sent, requests, size, images, others = load_and_weigh(production, page, "/", viewport, "index")
    ours = [r for r in requests if r["url"].startswith(served.url)]
    assert others == []
    assert len(ours) <= BUDGET_REQUESTS and size <= BUDGET_BYTES
    # The counts are asked for when the first of them nears the screen (at once on a phone, where
    # the seed post's summary is short; after some scrolling on a desktop, below the photo post).
    page.locator("a.comment-count").first.scroll_into_view_if_needed()
    page.wait_for_selector("a.comment-count[data-comments-counted]", state="attached")
    to_isso = [(r["method"], r["url"], r["type"]) for r in sent if r["url"].startswith(isso.url)]
    assert to_isso == [("POST", isso.url + "/count", "Fetch")], to_isso


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_a_post_with_photos_is_within_the_budget_images_aside_and_loads_only_our_copies(production, page, viewport):
    site, served, isso = production
    sent, requests, size, images, others = load_and_weigh(production, page, PHOTOS, viewport, "photos")
    assert others == []
    assert len(requests) <= BUDGET_REQUESTS and size <= BUDGET_BYTES
    assert images and all("/images/sized/" in r["url"] for r in images), "a sized copy, never the original"
    assert len({urlsplit(r["url"]).path.rsplit("-", 2)[0] for r in images}) == len(images), "one copy per photo"
