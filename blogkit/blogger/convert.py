"""Turn Blogger HTML into clean Markdown, and reader comments into sanitised archived comments."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse, urlunparse

import nh3
from bs4 import BeautifulSoup, Comment as HtmlComment
from markdownify import MarkdownConverter

# Hosts that serve images uploaded to Blogger.
IMAGE_HOST = re.compile(
    r"^(\d+\.bp\.blogspot\.com|bp\d*\.blogger\.com|photos\d*\.blogger\.com|"
    r"blogger\.googleusercontent\.com|lh\d+\.(googleusercontent|ggpht)\.com)$"
)
BLOGSPOT_HOST = re.compile(r"^(?:www\.)?([a-z0-9-]+)\.blogspot\.[a-z.]+$")
# A size segment in a Blogger image path, e.g. /s320/, /s1600-h/, /w400-h300/, /w640-h480-rw/.
SIZE_SEGMENT = re.compile(r"^(s\d+(-[a-z0-9-]+)?|w\d+(-h\d+)?(-[a-z0-9-]+)?|h\d+(-[a-z0-9-]+)?|d)$")
# A size suffix on googleusercontent URLs, e.g. ...=w400-h300 or ...=s1600.
SIZE_SUFFIX = re.compile(r"=(s|w|h)\d+[a-z0-9-]*$")
# Blogger anchors that mean nothing on the new site: comment links, the jump break, the form.
BLOGGER_FRAGMENT = re.compile(r"^(c\d+|more|comment-form|comments|links|blog-pager)$")
SLUG_SUBS = [(r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""), (r"[-\s]+", "-")]
LIST_LINE = re.compile(r"^(?:[-*+•]|\d+\\?[.)])\s+\S")
DROP_TAGS = ("script", "style", "noscript", "object", "embed", "form", "input", "button", "link", "meta")

COMMENT_TAGS = {"p", "br", "a", "em", "strong", "i", "b", "u", "s", "del", "blockquote", "code", "pre", "ul", "ol", "li"}


def largest_image_url(url: str) -> str:
    """Return the biggest version Blogger's URL scheme offers: s1600 on bp.blogspot.com, s0 on googleusercontent."""
    parts = urlparse(url)
    host = (parts.hostname or "").lower()
    if not IMAGE_HOST.match(host):
        return url
    if SIZE_SUFFIX.search(parts.path):
        return urlunparse(parts._replace(path=SIZE_SUFFIX.sub("=s0", parts.path)))
    segments = parts.path.split("/")
    if len(segments) >= 3 and SIZE_SEGMENT.match(segments[-2]):
        segments[-2] = "s0" if "googleusercontent" in host or host.startswith("lh") else "s1600"
        return urlunparse(parts._replace(path="/".join(segments)))
    return url


def is_blogger_image(url: str) -> bool:
    """Tell whether Blogger hosts this image (the ones --download-images fetches)."""
    return bool(IMAGE_HOST.match((urlparse(url).hostname or "").lower()))


def is_old_blog_host(host: str | None, hosts: set[str]) -> bool:
    """Tell whether a host is the old blog's own, in any of Blogger's country domains."""
    host = (host or "").lower()
    if host in hosts:
        return True
    match = BLOGSPOT_HOST.match(host)
    if not match:
        return False
    names = {m.group(1) for m in (BLOGSPOT_HOST.match(h) for h in hosts) if m}
    return match.group(1) in names  # another Blogger blog is not ours


@dataclass
class LinkMap:
    """Where an old Blogger address lives now."""

    hosts: set[str]
    targets: dict[str, str]  # old path -> "{filename}/posts/..md" (Pelican link syntax)
    labels: set[str] = field(default_factory=set)
    unresolved: set[str] = field(default_factory=set)  # old-blog links with no page here, left as they were

    def rewrite(self, url: str) -> str | None:
        """Return the new link for an old blog URL, or None when the URL is not the old blog's."""
        parts = urlparse(url)
        if parts.scheme not in ("http", "https", ""):
            return None
        path = parts.path.lstrip("/")
        if not parts.netloc:  # a site-relative link: only an old post's path is worth rewriting
            return self.targets[path] if parts.path.startswith("/") and path in self.targets else None
        if not is_old_blog_host(parts.hostname, self.hosts):
            return None
        fragment = "" if BLOGGER_FRAGMENT.match(parts.fragment or "") else parts.fragment
        suffix = f"#{fragment}" if fragment else ""
        if path in self.targets:
            return self.targets[path] + suffix
        if path == "":
            return "{index}"
        label = re.match(r"^search/label/(.+)$", path)
        if label and unquote(label.group(1)) in self.labels:
            # Pelican's {tag} link finds the tag page by slug, which has no spaces to break a Markdown link;
            # label_slug is the slug plugins/label_slugs gives the tag (a hash for a label like "(").
            from blogkit.slugs import label_slug

            return "{tag}" + label_slug(unquote(label.group(1)))
        # Year and month archives exist here for every month with a post, at the same paths.
        archive = re.match(r"^(\d{4})_(\d{2})_\d{2}_archive\.html$", path)
        period = f"{archive.group(1)}/{archive.group(2)}/" if archive else path
        if re.fullmatch(r"\d{4}/(\d{2}/)?", period) and any(t.startswith(period) for t in self.targets):
            return "/" + period
        # A deleted post, a search, a feed: no page here; keep the link and report it.
        self.unresolved.add(url)
        return None


class _Converter(MarkdownConverter):
    """markdownify with ATX headings and fenced code."""

    def __init__(self, **options):
        super().__init__(heading_style="ATX", bullets="-", code_language="", escape_misc=False, **options)

    def convert_li(self, el, text, parent_tags):
        # Python-Markdown nests a list only under four spaces: pad "- " and "1. " to four columns.
        out = super().convert_li(el, text, parent_tags)
        match = re.match(r"^(\S+ )", out)
        pad = 4 - len(match.group(1)) if match else 0
        if pad <= 0:
            return out
        first, newline, rest = out.partition("\n")
        first = match.group(1) + " " * pad + first[len(match.group(1)):]
        return first + newline + re.sub(r"(?m)^(?=.)", " " * pad, rest)


@dataclass
class Converted:
    markdown: str
    images: list[str]  # Blogger image URLs (largest size) the Markdown refers to


def clean_html(raw: str, links: LinkMap, image_map: dict[str, str] | None = None) -> tuple[BeautifulSoup, list[str]]:
    """Remove Blogger's cruft, rewrite old-blog links and image URLs; return the tree and its Blogger images."""
    soup = BeautifulSoup(raw or "", "html.parser")
    for node in soup.find_all(string=lambda s: isinstance(s, HtmlComment)):
        node.extract()
    for name in DROP_TAGS:
        for node in soup.find_all(name):
            node.decompose()
    for frame in soup.find_all("iframe"):
        src = frame.get("src") or ""
        if src.startswith("//"):
            src = "https:" + src
        if src.startswith(("http://", "https://")):
            paragraph = soup.new_tag("p")
            link = soup.new_tag("a", href=src)
            link.string = "Embedded content: " + (urlparse(src).hostname or src)
            paragraph.append(link)
            frame.replace_with(paragraph)
        else:
            frame.decompose()
    # The jump break and named anchors carry no content.
    for anchor in soup.find_all("a"):
        if not anchor.get("href"):
            anchor.unwrap()
    images = []
    for img in soup.find_all("img"):
        src = (img.get("src") or "").strip()
        if src.startswith("//"):
            src = "https:" + src
        if not src or src.startswith("data:"):
            img.decompose()
            continue
        if is_blogger_image(src):
            src = largest_image_url(src)
            images.append(src)
            src = (image_map or {}).get(src, src)
        alt = " ".join((img.get("alt") or img.get("title") or "").split()) or _alt_from(src)
        img.attrs = {"src": src, "alt": alt}
        # Blogger wraps each image in a link to its own bigger version: one image is enough.
        parent = img.parent
        if parent is not None and parent.name == "a":
            if is_blogger_image(parent.get("href") or ""):
                parent.unwrap()
    for anchor in soup.find_all("a"):
        href = (anchor.get("href") or "").strip()
        if href.lower().startswith(("javascript:", "vbscript:", "data:")):
            anchor.unwrap()
            continue
        if is_blogger_image(href):
            href = largest_image_url(href)
            href = (image_map or {}).get(href, href)
        else:
            href = links.rewrite(href) or href
        anchor.attrs = {"href": href, **({"title": anchor["title"]} if anchor.get("title") else {})}
    for node in soup.find_all(True):
        node.attrs = {k: v for k, v in node.attrs.items() if k in ("href", "src", "alt", "title", "colspan", "rowspan")}
    # Empty inline wrappers Blogger leaves behind.
    for span in soup.find_all(["span", "font"]):
        span.unwrap()
    return soup, images


def _alt_from(src: str) -> str:
    """Make alt text for an image Blogger left without any: its file name in words."""
    stem = unquote(urlparse(src).path.rsplit("/", 1)[-1]).split("=")[0].rsplit(".", 1)[0]
    words = " ".join(re.sub(r"[_\-+.]+", " ", stem).split())
    return f"Image: {words}" if words else "Image"


def to_markdown(raw: str, links: LinkMap, image_map: dict[str, str] | None = None) -> Converted:
    """Convert a post's HTML to Markdown."""
    soup, images = clean_html(raw, links, image_map)
    text = _Converter().convert_soup(soup)
    return Converted(markdown=tidy_markdown(text), images=images)


def tidy_markdown(text: str) -> str:
    """Turn <br>-separated text into paragraphs and lists; drop stray whitespace."""
    text = text.replace("\xa0", " ")  # Blogger's editor scatters &nbsp; everywhere
    lines = [line.rstrip() if not line.endswith("  ") or not line.strip() else line for line in text.split("\n")]
    lines = ["" if not line.strip() else line for line in lines]
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or line.lstrip().startswith("```"):
            out.append(line)
            i += 1
            continue
        stripped = line.strip()
        if LIST_LINE.match(stripped) and not _in_list_context(out):
            # A run of two or more list-like lines separated only by <br>: a real list.
            run = [line.rstrip()]
            j = i + 1
            while j < len(lines) and LIST_LINE.match(lines[j].strip()):
                run.append(lines[j].rstrip())  # keep the indentation of nested lists
                j += 1
            if len(run) >= 2:
                if out and out[-1] != "":
                    out[-1] = out[-1].rstrip()
                    out.append("")
                for item in run:
                    item = re.sub(r"^(\s*)•\s+", r"\1- ", item)
                    item = re.sub(r"^(\s*\d+)\\([.)])", r"\1\2", item)
                    out.append(item.rstrip())
                out.append("")
                i = j
                continue
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if line.endswith("  ") and next_line == "":
            line = line.rstrip()
        out.append(line)
        i += 1
    result = "\n".join(out)
    result = re.sub(r"\n{3,}", "\n\n", result).strip()
    return result + "\n"


def _in_list_context(out: list[str]) -> bool:
    return bool(out) and bool(LIST_LINE.match(out[-1].strip()))


def plain_text(raw: str) -> str:
    """Return the visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(BeautifulSoup(raw or "", "html.parser").get_text(" ").split())


def readable_title(raw_html: str, published) -> str:
    """Make a title for an untitled post: its first words, or its date when it has no text."""
    words = plain_text(raw_html).split()
    if not words:
        return f"Untitled post of {published:%B} {published.day}, {published:%Y}"
    title = ""
    for word in words:
        if len(title) + len(word) + 1 > 60:
            return title.rstrip(".,;:") + "…"
        title = f"{title} {word}".strip()
    return title


def sanitise_comment(body: str) -> str:
    """Clean a comment body to text formatting and http(s) links, wrapped in paragraphs."""
    cleaned = nh3.clean(
        body or "",
        tags=COMMENT_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()
    if not re.match(r"^<(p|ul|ol|blockquote|pre)\b", cleaned):
        paragraphs = [p.strip() for p in re.split(r"(?:<br\s*/?>\s*){2,}", cleaned) if p.strip()]
        cleaned = "".join(f"<p>{p}</p>" for p in paragraphs)
    return cleaned


def plain_name(name: str) -> str:
    """Return an author name as plain text (no markup survives)."""
    text = html.unescape(nh3.clean(name or "", tags=set()))
    return " ".join(text.split()) or "Anonymous"


def safe_url(url: str | None) -> str | None:
    """Return an author URL if it is plain http(s), otherwise None."""
    if not url:
        return None
    url = url.strip()
    parts = urlparse(url)
    if parts.scheme in ("http", "https") and parts.netloc and not any(c in url for c in "<>\"' \t\n"):
        return url
    return None
