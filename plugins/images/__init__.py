"""Serve every local image of a post at a few widths in AVIF and WebP, sized and lazy, captioned from Markdown.

Ours rather than a PyPI plugin. pelican-image-process (the maintained one, in the
pelican-plugins organisation) was the candidate: it makes srcset and <picture>
derivatives, but only for images carrying one of its classes (Markdown images and
imported Blogger HTML have none), writes its derivatives into the output folder
(which our strict build replaces on every run, so nothing would be reused), and sets
neither width/height nor loading/decoding, makes no figure captions and gives the
templates no first image for og:image. pelican-figures only does captions. What we
need is one pass over each post's HTML, so this is it:

* Every ``<img>`` whose file is ours (``{attach}``, ``{static}``, ``{filename}``, a
  path relative to the post, or a site-root path) gets width and height from the
  file, and resized copies at IMAGES["widths"] (never wider than the original): AVIF
  (when the installed Pillow can write it) and WebP in ``<source>``\\s of a
  ``<picture>``, copies in the original's own format in the ``<img>``'s srcset, and
  the original file as its ``src`` (Pelican still places it, {attach} included).
  Animated GIFs and SVGs keep their file and get only width/height.
* The first image of a post or page loads eagerly with ``fetchpriority="high"`` (it
  is often the largest paint); every other one gets ``loading="lazy"
  decoding="async"``. Listings make all but the first post's images lazy
  (theme macro ``body_html(..., lazy=True)``).
* Markdown's ``![alt](photo.jpg "A caption")`` alone in its paragraph becomes
  ``<figure>`` with that title as ``<figcaption>``.
* ``content.first_image`` (url, width, height, alt, and the srcsets) is there for
  thumbnails and ``og:image``; it is None when a post has no image of ours.

Copies are made once: they are kept in IMAGES["cache"] (``cache/images/`` beside
the content folder, git-ignored), named by the SHA-256 of the original's bytes, the
width and the encoder settings, and hard-linked (or copied) into the output. That
folder is not Pelican's CACHE_PATH on purpose: blogkit.build gives every set of
settings a CACHE_PATH of its own and a publish builds with a temporary one, while a
copy depends only on the original's bytes and the encoder settings in its name, so
the preview, the production build and a publish all share one cache. Images the Blogger importer saved beside a post are plain
``{attach}`` images, so they go through the same pipeline. A file Pillow cannot read is
published as it is, with a note to the author. Images on other sites are
left as they are (their size cannot be known offline). The copies carry no EXIF
(no camera GPS position leaves with them).

Settings (defaults applied in `_config`):

    IMAGES = {
        "widths": [480, 960, 1440],   # copies at these widths (and the original's, when narrower)
        "formats": ["avif", "webp"],  # modern formats offered in <source>, best first
        "quality": {"avif": 55, "webp": 78, "jpeg": 82},
        "sizes": "(min-width: 60rem) 44rem, calc(100vw - 2rem)",  # the post column's width
        "output": "images/sized",     # folder of the copies in the site
        "cache": "",                  # folder of the copies kept between builds; "" = cache/images
                                      # beside the content folder; relative to the content's parent
    }
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

from pelican import signals

from blogkit.plugin_settings import with_defaults
from blogkit.problems import notice, source_name

logger = logging.getLogger(__name__)

NAME = "IMAGES"
DEFAULTS = {
    "widths": [480, 960, 1440],
    "formats": ["avif", "webp"],
    "quality": {"avif": 55, "webp": 78, "jpeg": 82},
    "sizes": "(min-width: 60rem) 44rem, calc(100vw - 2rem)",
    "output": "images/sized",
    "cache": "",
}
CHECKS = {
    "widths": (lambda v: isinstance(v, list) and v and all(isinstance(w, int) and w > 0 for w in v), "a list of widths > 0"),
    "formats": (lambda v: isinstance(v, list) and set(v) <= {"avif", "webp"}, 'a list of "avif" and "webp"'),
    "sizes": (lambda v: isinstance(v, str) and v.strip() != "", "a sizes attribute value"),
    "output": (lambda v: isinstance(v, str) and v.strip("/") != "", "a folder inside the site"),
    "cache": (lambda v: isinstance(v, str), 'a folder ("" for cache/images beside the content folder)'),
}
RASTER = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp", ".gif": "gif", ".bmp": "png", ".tif": "jpeg", ".tiff": "jpeg"}
MIME = {"avif": "image/avif", "webp": "image/webp"}
IMG_RE = re.compile(r"<img\b(?P<attrs>[^>]*?)\s*/?>", re.I)
ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
LINK_RE = re.compile(r"^[{|](?P<what>filename|static|attach)[}|](?P<path>.*)$")
# A paragraph holding one image and nothing else (Markdown's image alone on its line).
ALONE_RE = re.compile(r"<p>\s*(<img\b[^>]*>)\s*</p>", re.I)


class _Run:
    """What one build asked for: output file -> cached file; reset when a build starts."""

    def __init__(self):
        self.files: dict[str, Path] = {}
        self.lock = threading.Lock()
        self.made = 0  # copies encoded in this build (the rest came from the cache)
        self.config: dict = {}
        self.active = False  # Pelican keeps receivers connected after a build that listed us


_run = _Run()


def _config(settings: dict) -> dict:
    config = with_defaults(settings, NAME, DEFAULTS, CHECKS)
    config["widths"] = sorted(set(config["widths"]))
    config["output"] = config["output"].strip("/")
    project = Path(settings["PATH"]).resolve().parent
    config["cache"] = project / (config["cache"] or "cache/images")
    return config


def _formats(config: dict) -> list[str]:
    """The configured modern formats this Pillow can write (AVIF needs Pillow built with libavif)."""
    from PIL import features

    return [f for f in config["formats"] if features.check(f)]


# --- Reading tags ----------------------------------------------------------------------


def parse_attrs(text: str) -> dict[str, str]:
    """The attributes of one tag's text, values unescaped, names lower-cased, in order."""
    attrs = {}
    for name, dq, sq, bare in ATTR_RE.findall(text):
        attrs[name.lower()] = html.unescape(dq or sq or bare)
    return attrs


def render_tag(name: str, attrs: dict[str, str | None]) -> str:
    parts = [name]
    for key, value in attrs.items():
        if value is None:
            continue
        parts.append(key if value is True else f'{key}="{html.escape(str(value), quote=True)}"')
    return "<" + " ".join(parts) + ">"


# --- Finding the file of an image ------------------------------------------------------


def locate(src: str, content, settings: dict) -> tuple[Path, str] | None:
    """The source file of an image and its URL path in the site, or None when it is not ours."""
    root = Path(settings["PATH"])
    siteurl = (settings.get("SITEURL") or "").rstrip("/")
    marker = LINK_RE.match(src)
    source_dir = Path(content.source_path).parent
    relative_dir = os.path.relpath(source_dir, root)
    if marker:
        what, path = marker.group("what"), unquote(urlparse(marker.group("path")).path)
        file = root / path.lstrip("/") if path.startswith("/") else source_dir / path
        file = Path(os.path.normpath(file))
        rel = os.path.relpath(file, root).replace(os.sep, "/")
        if what == "attach":
            tail = os.path.relpath(file, source_dir)
            if tail.startswith(os.pardir):
                tail = os.path.basename(tail)
            url = "/" + os.path.join(os.path.dirname(content.save_as), tail).replace(os.sep, "/")
        else:
            url = "/" + rel
        return (file, url) if file.is_file() else None
    if siteurl and src.startswith(siteurl + "/"):
        src = src[len(siteurl):]
    parsed = urlparse(src)
    if parsed.scheme or parsed.netloc or not parsed.path or src.startswith("data:"):
        return None
    path = unquote(parsed.path)
    if path.startswith("/"):
        file = root / path.lstrip("/")
        return (file, path) if file.is_file() else None
    # Relative to the page's address, which mirrors the source folder only for static files.
    file = Path(os.path.normpath(source_dir / path))
    if file.is_file():
        return file, "/" + os.path.normpath(os.path.join(relative_dir, path)).replace(os.sep, "/")
    return None


# --- Making the copies -----------------------------------------------------------------


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()[:20]


def _encode(image, fmt: str, target: Path, quality: dict) -> None:
    """Write `image` to `target` in `fmt` via a temporary name, so a killed build leaves no half file."""
    # Builds in other processes (and threads of this one) may write the same copy at once.
    tmp = target.with_name(target.name + f".{os.getpid()}-{threading.get_ident()}.tmp")
    if fmt == "avif":
        image.save(tmp, "AVIF", quality=quality.get("avif", 55), speed=8)
    elif fmt == "webp":
        image.save(tmp, "WEBP", quality=quality.get("webp", 78), method=4)
    elif fmt == "jpeg":
        image.convert("RGB").save(tmp, "JPEG", quality=quality.get("jpeg", 82), optimize=True, progressive=True)
    else:
        image.save(tmp, fmt.upper(), optimize=True)
    os.replace(tmp, target)


class ImageSet:
    """One original image and its copies: what the HTML needs to offer them."""

    def __init__(self, url: str, width: int, height: int, sources: dict[str, list[tuple[str, int]]], fallback: list[tuple[str, int]]):
        self.url, self.width, self.height = url, width, height
        self.sources = sources  # format -> [(url, width)], best format first
        self.fallback = fallback  # [(url, width)] in the original's format

    @staticmethod
    def srcset(candidates: list[tuple[str, int]]) -> str:
        return ", ".join(f"{url} {w}w" for url, w in candidates)


def process(file: Path, url: str, config: dict, settings: dict) -> ImageSet:
    """Make (or take from the cache) the copies of one image; raise OSError or ValueError if it cannot be read."""
    from PIL import Image, ImageOps

    siteurl = (settings.get("SITEURL") or "").rstrip("/")
    cache = config["cache"]
    cache.mkdir(parents=True, exist_ok=True)
    kind = RASTER.get(file.suffix.lower())
    with Image.open(file) as probe:
        width, height = probe.size
        orientation = probe.getexif().get(0x0112, 1) if hasattr(probe, "getexif") else 1
        animated = getattr(probe, "is_animated", False)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if kind is None or animated or kind == "gif":
        return ImageSet(siteurl + url, width, height, {}, [])
    digest = _digest(file)
    quality = config["quality"]
    widths = [w for w in config["widths"] if w < width] + [min(width, config["widths"][-1])]
    widths = sorted(set(widths))
    fallback_fmt = "png" if kind == "png" else "jpeg"
    ext = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif"}
    plan = []  # (format, width, cache file, output name)
    for fmt in [*_formats(config), fallback_fmt]:
        q = quality.get(fmt, "") if fmt != "png" else ""
        for w in widths:
            if fmt == fallback_fmt and w == width:
                continue  # the original itself is the full-width copy in its own format
            name = f"{digest}-{w}{'-q' + str(q) if q != '' else ''}.{ext[fmt]}"
            plan.append((fmt, w, cache / name, name))
    missing = [p for p in plan if not p[2].is_file()]
    if missing:
        with Image.open(file) as original:
            original.load()
            image = ImageOps.exif_transpose(original)
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA" if "transparency" in image.info or image.mode == "P" else "RGB")
            resized = {}
            for fmt, w, target, _ in missing:
                if w not in resized:
                    h = max(1, round(height * w / width))
                    resized[w] = image if w == width else image.resize((w, h), Image.Resampling.LANCZOS)
                _encode(resized[w], fmt, target, quality)
                with _run.lock:
                    _run.made += 1
    folder = config["output"]
    sources: dict[str, list[tuple[str, int]]] = {}
    fallback: list[tuple[str, int]] = []
    for fmt, w, target, name in plan:
        with _run.lock:
            _run.files[f"{folder}/{name}"] = target
        entry = (f"{siteurl}/{folder}/{name}", w)
        (fallback if fmt == fallback_fmt else sources.setdefault(fmt, [])).append(entry)
    if width in widths:
        fallback.append((siteurl + url, width))
    return ImageSet(siteurl + url, width, height, sources, fallback)


# --- Rewriting a post's HTML -----------------------------------------------------------


def picture(attrs: dict, images: ImageSet, sizes: str, first: bool) -> str:
    """The <picture> (or bare <img>) that offers `images` in place of an <img> with `attrs`."""
    img = dict(attrs)
    img["width"], img["height"] = str(images.width), str(images.height)
    if images.fallback:
        img["srcset"] = ImageSet.srcset(images.fallback)
        img["sizes"] = sizes
    img.pop("loading", None), img.pop("decoding", None), img.pop("fetchpriority", None)
    if first:
        img["fetchpriority"] = "high"
    else:
        img["loading"], img["decoding"] = "lazy", "async"
    tag = render_tag("img", img)
    if not images.sources:
        return tag
    sources = "".join(
        render_tag("source", {"type": MIME[fmt], "srcset": ImageSet.srcset(candidates), "sizes": sizes})
        for fmt, candidates in images.sources.items()
    )
    return f"<picture>{sources}{tag}</picture>"


def rewrite(content, config: dict) -> None:
    """Rewrite every <img> of one post or page in place; set content.first_image."""
    settings = content.settings
    text = content._content
    content.first_image = None
    if not text or "<img" not in text.lower():
        return
    seen = {"first": True}

    def one(match: re.Match, caption: str | None = None) -> str:
        attrs = parse_attrs(match.group("attrs"))
        src = attrs.get("src", "")
        found = locate(src, content, settings) if src else None
        first = seen["first"]
        seen["first"] = False
        if found is None:
            # Not ours (another site's, or missing: the strict plugin reports that): lazy all the same.
            if not first and "loading" not in attrs:
                attrs["loading"], attrs["decoding"] = "lazy", "async"
            return render_tag("img", attrs)
        file, url = found
        try:
            images = process(file, url, config, settings)
        except (OSError, ValueError) as exc:  # Pillow's UnidentifiedImageError is an OSError
            # Published as it is (a browser may still show what Pillow cannot read); the author is told.
            root = settings["PATH"]
            notice(f"{source_name(os.path.relpath(file, root), root)}: not resized, Pillow cannot read it ({exc}); "
                   f"used by {source_name(os.path.relpath(content.source_path, root), root)}")
            return render_tag("img", attrs)
        if content.first_image is None:
            largest = images.fallback[-1] if images.fallback else (images.url, images.width)
            content.first_image = {
                "url": largest[0], "width": largest[1], "height": round(images.height * largest[1] / images.width),
                "alt": attrs.get("alt", ""), "src": src, "original": images.url,
                "srcset": ImageSet.srcset(images.fallback),
                "sources": [{"type": MIME[f], "srcset": ImageSet.srcset(c)} for f, c in images.sources.items()],
            }
        if caption:
            attrs.pop("title", None)
        return picture(attrs, images, config["sizes"], first)

    def figure(match: re.Match) -> str:
        inner = IMG_RE.match(match.group(1))
        attrs = parse_attrs(inner.group("attrs"))
        title = attrs.get("title", "").strip()
        if not title:
            return "<p>" + one(inner) + "</p>"
        return f"<figure>{one(inner, caption=title)}<figcaption>{html.escape(title)}</figcaption></figure>"

    # Images alone in a paragraph first (captions), in document order with the rest.
    parts = []
    last = 0
    for match in re.finditer(ALONE_RE.pattern + "|" + IMG_RE.pattern, text, re.I):
        parts.append(text[last:match.start()])
        if match.group(0).lower().startswith("<p"):
            parts.append(figure(match))
        else:
            parts.append(one(IMG_RE.match(match.group(0))))
        last = match.end()
    parts.append(text[last:])
    content._content = "".join(parts)


# --- Signals -----------------------------------------------------------------------------


def start(pelican) -> None:
    """Forget the previous build's files (livereload builds many times in one process)."""
    _run.files.clear()
    _run.made = 0
    names = [getattr(p, "__name__", str(p)) for p in pelican.settings.get("PLUGINS") or []]
    _run.active = any(n == __name__ or n.endswith(f".{__name__}") or n == "images" for n in names)
    if _run.active:
        _run.config = _config(pelican.settings)  # bad settings are reported here, at start-up


def content_init(content) -> None:
    from pelican.contents import Article, Page

    if _run.active and isinstance(content, (Article, Page)):
        rewrite(content, _run.config)


def write_copies(generators) -> None:
    """Link (or copy) every copy the pages use into the output, before the pages are written."""
    if not _run.active or not generators or not _run.files:
        return
    output = Path(generators[0].output_path)
    for relpath, cached in sorted(_run.files.items()):
        target = output / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        try:
            os.link(cached, target)
        except OSError:  # another file system: copy instead
            shutil.copyfile(cached, target)
    logger.debug("images: %d copies in the site, %d made in this build", len(_run.files), _run.made)


def register():
    signals.initialized.connect(start)
    signals.content_object_init.connect(content_init)
    signals.all_generators_finalized.connect(write_copies)
