"""Images at build time (plugins/images): sized AVIF/WebP copies, width/height, lazy loading, captions, og:image, the cache."""

from __future__ import annotations

import random
import re

import pytest
from bs4 import BeautifulSoup
from PIL import Image

POST = "2020/05/photos.html"
BODY = """\
Opening words.

![The big photo]({attach}photos/big.jpg "Racks in the cold aisle")

Text between the photos, with an inline ![icon]({static}/images/small.png) in it.

![Another photo]({attach}photos/second.jpg)

![Elsewhere](https://example.org/remote.jpg)
"""


def photo(path, size, seed):
    """A large noisy JPEG, so it weighs what a camera's photograph weighs."""
    rng = random.Random(seed)
    image = Image.effect_noise(size, 40).convert("RGB")
    pixels = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    Image.blend(image, pixels, 0.6).save(path, quality=95)


@pytest.fixture
def photo_site(site):
    site.post("photos", title="Photos", body=BODY)
    folder = site.content / "posts" / "photos"
    folder.mkdir()
    photo(folder / "big.jpg", (2400, 1600), 1)
    photo(folder / "second.jpg", (1200, 1600), 2)
    (site.content / "images").mkdir()
    Image.new("RGBA", (64, 48), (200, 30, 30, 255)).save(site.content / "images" / "small.png")
    return site


def soup(site, relpath=POST):
    return BeautifulSoup(site.read(relpath), "html.parser")


def test_every_image_has_size_srcset_webp_and_lazy_loading_except_the_first(photo_site):
    photo_site.build()
    body = soup(photo_site).select_one(".post-body")
    imgs = body.find_all("img")
    assert len(imgs) == 4
    local = [img for img in imgs if not img["src"].startswith("https://")]
    for img in local:
        assert img["width"].isdigit() and img["height"].isdigit(), img
        assert img.get("srcset"), img
        picture = img.find_parent("picture")
        webp = picture.find("source", type="image/webp")
        assert webp and ".webp " in webp["srcset"], img
    assert (imgs[0]["width"], imgs[0]["height"]) == ("2400", "1600")
    assert (imgs[2]["width"], imgs[2]["height"]) == ("1200", "1600")
    # The first image is the page's largest paint: eager, high priority; the others wait.
    assert not imgs[0].has_attr("loading") and imgs[0]["fetchpriority"] == "high"
    for img in imgs[1:]:
        assert img["loading"] == "lazy" and img["decoding"] == "async", img
    # The original stays the src (the fallback), where Pelican put it.
    assert imgs[0]["src"] == "/2020/05/photos/big.jpg"
    assert (photo_site.output / "2020/05/photos/big.jpg").is_file()
    # Widths: the configured ones below the original's, never wider than it.
    webp = [s.split()[1] for s in imgs[0].find_parent("picture").find("source", type="image/webp")["srcset"].split(", ")]
    assert webp == ["480w", "960w", "1440w"]


def test_copies_exist_and_are_smaller_than_the_original(photo_site):
    photo_site.build()
    body = soup(photo_site).select_one(".post-body")
    original = (photo_site.content / "posts/photos/big.jpg").stat().st_size
    picture = body.find("img", alt="The big photo").find_parent("picture")
    urls = [c.split()[0] for s in picture.find_all("source") for c in s["srcset"].split(", ")]
    urls += [c.split()[0] for c in picture.img["srcset"].split(", ")]
    assert len(urls) >= 6
    for url in urls:
        file = photo_site.output / url.lstrip("/")
        assert file.is_file(), url
        assert file.stat().st_size < original, f"{url}: {file.stat().st_size} >= {original}"
        with Image.open(file) as copy:
            declared = int(re.search(r"-(\d+)(?:-q\d+)?\.\w+$", url).group(1))
            assert copy.width == declared and abs(copy.height - declared * 2 / 3) <= 1, url


def test_a_titled_image_alone_in_its_paragraph_becomes_a_captioned_figure(photo_site):
    photo_site.build()
    body = soup(photo_site).select_one(".post-body")
    figures = body.find_all("figure")
    assert len(figures) == 1
    assert figures[0].figcaption.get_text() == "Racks in the cold aisle"
    assert figures[0].find("img")["alt"] == "The big photo"
    assert not figures[0].find("img").has_attr("title"), "the caption is said once"
    assert not figures[0].find_parent("p")
    # Without a title, or inside a sentence, an image stays where it was.
    assert body.find("img", alt="Another photo").find_parent("p")
    assert body.find("img", alt="icon").find_parent("p")


def test_og_image_is_the_posts_first_image(photo_site):
    photo_site.build()
    head = soup(photo_site).head
    og = head.find("meta", property="og:image")["content"]
    assert og.endswith("-1440-q82.jpg") and (photo_site.output / og.lstrip("/")).is_file()
    assert head.find("meta", property="og:image:width")["content"] == "1440"
    assert head.find("meta", property="og:image:height")["content"] == "960"
    assert head.find("meta", attrs={"name": "twitter:card"})["content"] == "summary_large_image"
    assert not soup(photo_site, "index.html").head.find("meta", property="og:image")


def test_a_second_build_reuses_the_cached_copies(photo_site):
    photo_site.build()
    cache = photo_site.base / "cache" / "images"  # IMAGES["cache"]'s default: beside content/
    first = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert len(first) >= 12
    photo_site.build()
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == first, "nothing re-encoded"
    assert soup(photo_site).find("img", alt="The big photo")["srcset"]
    # A changed photo gets new copies (the cache is keyed by its bytes).
    photo(photo_site.content / "posts/photos/big.jpg", (2000, 1000), 9)
    photo_site.build()
    assert len(list(cache.iterdir())) > len(first)
    assert soup(photo_site).find("img", alt="The big photo")["height"] == "1000"


def test_an_unreadable_image_is_published_as_it_is_with_a_note_naming_it(site):
    site.post("broken", title="Broken", body="Some words.\n\n![A photo]({attach}broken/photo.jpg)")
    (site.content / "posts" / "broken").mkdir()
    (site.content / "posts" / "broken" / "photo.jpg").write_bytes(b"not a jpeg at all")
    result = site.build()
    assert any(n.startswith("content/posts/broken/photo.jpg: not resized, Pillow cannot read it") and "posts/broken.md" in n
               for n in result.notices), result.notices
    img = soup(site, "2020/05/broken.html").select_one(".post-body img")
    assert img["src"] == "/2020/05/broken/photo.jpg" and not img.has_attr("srcset")
    assert (site.output / "2020/05/broken/photo.jpg").read_bytes() == b"not a jpeg at all"


def test_a_second_production_build_with_a_fresh_cache_path_encodes_nothing(photo_site, tmp_path):
    """As `invoke publish` builds: publishconf.py, and a temporary CACHE_PATH each time (blogkit/publish.py)."""
    from blogkit.build import ROOT, build

    def production(n):
        output = tmp_path / f"publish-{n}" / "site"
        build(ROOT / "publishconf.py", output, photo_site.overrides(CACHE_PATH=str(tmp_path / f"publish-{n}" / "cache")))
        return output

    first_site = production(1)
    cache = photo_site.base / "cache" / "images"  # beside content/, git-ignored in the project (/cache/)
    first = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.iterdir()}
    assert len(first) >= 12 and not any(p.suffix == ".tmp" for p in cache.iterdir())
    assert not list((tmp_path / "publish-1" / "cache").rglob("*.webp")), "no copies in the throwaway CACHE_PATH"
    second_site = production(2)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.iterdir()} == first, "nothing re-encoded"
    # The published copies are the cached files themselves (hard links), not new encodings.
    for site in (first_site, second_site):
        copies = list((site / "images" / "sized").iterdir())
        assert len(copies) == len(first)
        assert {c.stat().st_ino for c in copies} == {ino for ino, _ in first.values()}
    page = BeautifulSoup((second_site / POST).read_text(encoding="utf-8"), "html.parser")
    assert ".webp " in page.find("img", alt="The big photo").find_parent("picture").find("source", type="image/webp")["srcset"]


def test_the_image_cache_setting_names_another_folder(photo_site, tmp_path):
    from blogkit.build import load_settings

    images = {**load_settings()["IMAGES"], "cache": str(tmp_path / "elsewhere")}
    photo_site.build(IMAGES=images)
    assert len(list((tmp_path / "elsewhere").glob("*.webp"))) >= 4
    assert not (photo_site.base / "cache" / "images").exists()
