"""Build the site and save Chromium screenshots of its main page types, light and dark, wide and phone-sized.

    uv run python bench/screenshots.py                 # -> bench/screenshots/current/
    uv run python bench/screenshots.py --label before  # -> bench/screenshots/before/
    uv run python bench/screenshots.py --out /tmp/shots/after   # any folder

Pages: the home page, the seed post and a label page of the real content/ (built with
pelicanconf.py), and an image-heavy post from a temporary site (our own sample post with
photographs generated here by Pillow, so content/ holds only the blog's real posts).
Each page is shot at 1280x900 and 390x844 in the light and the dark scheme: once as the
reader first sees it (the viewport) and once whole (``-full``). A real Isso runs on
127.0.0.1 while they are shot, so the posts show the live comment form readers get. bench/screenshots/ is
git-ignored; look at the PNGs before calling a design change done.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blogkit.build import build, load_settings  # noqa: E402
from blogkit.comments import start_isso  # noqa: E402
from blogkit.serve import free_port, serve_in_child  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORTS = {"wide": (1280, 900), "phone": (390, 844)}
SCHEMES = ("light", "dark")
REAL_PAGES = {"home": "/", "post": "/2007/01/psychotherapy-of-sales.html", "label": "/search/label/sales.html", "year": "/2007/"}
IMAGE_POST = "/2024/06/a-day-at-the-data-centre.html"

SAMPLE_POST = """\
Title: A day at the data centre
Date: 2024-06-18 08:30
Slug: a-day-at-the-data-centre
Tags: Disaster Recovery, Clients
Summary: A sample post with photographs, for looking at how the theme lays out images.

This is a sample post of the screenshot bench, not a post of the blog: a few paragraphs
and photographs of different shapes, so the layout of images can be looked at.

![A wide view of the racks]({attach}a-day-at-the-data-centre/racks.jpg "Row after row of racks, seen from the cold aisle.")

The first photograph is a wide landscape picture with a caption. The next one is a
portrait picture, then a small one that should not be blown up past its own size.

![A tall cabinet]({attach}a-day-at-the-data-centre/cabinet.jpg)

Some more text between the images, long enough to wrap over several lines on a phone and
to show the measure and rhythm of the body text next to the pictures.

![A small label]({attach}a-day-at-the-data-centre/label.png "A small picture stays at its own size.")

## After the visit

A last picture, wide again, further down the page: it loads only when the reader nears it.

![Cables at the back of a rack]({attach}a-day-at-the-data-centre/cables.jpg)
"""


def photo(path: Path, size: tuple[int, int], seed: int) -> None:
    """Write a photograph-like JPEG or PNG (gradients, shapes and noise, so it compresses like a photo)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top, bottom = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 40 + 1, width // 6 + 2)
        draw.rectangle([x, y, x + r, y + r * 2], fill=tuple(rng.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(size, 24).convert("RGB")
    image = Image.blend(image, noise, 0.15)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92) if path.suffix == ".jpg" else image.save(path)


def build_image_site(base: Path, settings_file: Path = ROOT / "pelicanconf.py") -> Path:
    """Write and build the temporary site holding the image-heavy sample post; return its output."""
    content = base / "content"
    (content / "posts").mkdir(parents=True)
    (content / "pages").mkdir(parents=True)
    (content / "posts" / "a-day-at-the-data-centre.md").write_text(SAMPLE_POST, encoding="utf-8")
    (content / "pages" / "about.md").write_text(textwrap.dedent("""\
        Title: About
        Slug: about
        Summary: The screenshot bench's sample site.

        The screenshot bench's sample site.
        """), encoding="utf-8")
    # Laid out as the Blogger importer lays out a post's photographs: a folder beside the post.
    images = content / "posts" / "a-day-at-the-data-centre"
    photo(images / "racks.jpg", (2400, 1350), 1)
    photo(images / "cabinet.jpg", (1200, 1600), 2)
    photo(images / "label.png", (320, 200), 3)
    photo(images / "cables.jpg", (1600, 1067), 4)
    output = base / "output"
    # The photographs are the same bytes every run: their sized copies come from the project's cache.
    images = {**load_settings(settings_file)["IMAGES"], "cache": str(ROOT / "cache" / "images")}
    build(settings_file, output, {"PATH": str(content), "CACHE_PATH": str(base / "cache"), "IMAGES": images})
    return output


def shoot(sites: dict[str, tuple[Path, str]], folder: Path, ports: dict[Path, int] | None = None) -> list[Path]:
    """Serve each site (on ports[its output] if given) and save every page x viewport x scheme; return the files written."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    servers = {}  # one server per site folder: several pages of one site share it (and its port)
    try:
        for output, _ in sites.values():
            if output not in servers:
                port = (ports or {}).get(output) or free_port()
                servers[output] = (serve_in_child(output, port), f"http://127.0.0.1:{port}")
        with tempfile.TemporaryDirectory(prefix="shots-profile-") as profile, sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            for name, (output, path) in sites.items():
                url = servers[output][1] + path
                for view, (width, height) in VIEWPORTS.items():
                    page.set_viewport_size({"width": width, "height": height})
                    for scheme in SCHEMES:
                        page.emulate_media(color_scheme=scheme)
                        page.goto(url, wait_until="load")
                        if page.locator(".comments-live[data-comments-provider]").count():
                            # Bring the comments near so the live thread and form are in the full shot.
                            page.locator("#comments").scroll_into_view_if_needed()
                            page.wait_for_selector(".comments-live[data-comments-ready], .comments-live[data-comments-error]",
                                                   state="attached", timeout=15000)
                            page.evaluate("window.scrollTo(0, 0)")
                        # Lazy images below the fold would be blank in a full-page shot: load them all first.
                        page.evaluate("""Promise.all([...document.images].map(i => { i.loading = 'eager';
                            return i.complete ? null : new Promise(r => { i.onload = i.onerror = r; }); }))""")
                        # ...and decoded: a decoding="async" image loaded just now may not be painted yet.
                        page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
                        page.wait_for_timeout(100)
                        stem = f"{name}-{width}x{height}-{scheme}"
                        for suffix, full in (("", False), ("-full", True)):
                            target = folder / f"{stem}{suffix}.png"
                            page.screenshot(path=str(target), full_page=full)
                            written.append(target)
                        header = page.evaluate("(document.querySelector('main h1:not(.visually-hidden), main .post-title') || document.body).getBoundingClientRect().top")
                        print(f"{stem:28} first title at {header:5.0f}px")
            browser.close()
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    return written


def main() -> None:
    """Build the real site and the image sample site, then screenshot them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current", help="subfolder of bench/screenshots/ to write (e.g. before, after)")
    parser.add_argument("--out", type=Path, help="write the PNGs into this folder instead")
    args = parser.parse_args()
    folder = (args.out or ROOT / "bench" / "screenshots" / args.label).resolve()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        base = Path(tmp)
        real = base / "real"
        ports = {real / "output": free_port(), base / "images" / "output": free_port()}
        isso = start_isso(base / "isso", free_port(), [f"http://127.0.0.1:{port}" for port in ports.values()])
        try:
            os.environ["ISSO_URL"] = isso.url
            build(ROOT / "pelicanconf.py", real / "output", {"CACHE_PATH": str(real / "cache")})
            images = build_image_site(base / "images")
            sites = {page: (real / "output", path) for page, path in REAL_PAGES.items()}
            sites["images"] = (images, IMAGE_POST)
            written = shoot(sites, folder, ports)
        finally:
            isso.stop()
    print(f"{len(written)} screenshots in {folder}/")


if __name__ == "__main__":
    main()
