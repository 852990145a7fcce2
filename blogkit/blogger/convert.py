"""Turn Blogger HTML into clean Markdown, and reader comments into sanitised archived comments."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse, urlunparse

import nh3
from bs4 import BeautifulSoup, Comment as HtmlComment
from bs4.exceptions import ParserRejectedMarkup
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
LIST_LINE = re.compile(r"^(?:[-*+•]|\d+\\?[.)])\s+\S")

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


# What an imported post may keep, for nh3 (the sanitiser the comments use too): text
# formatting, links, images, figures, tables, code, and the click-to-load embed markup.
POST_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}
POST_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan", "class"},
    "th": {"colspan", "rowspan"}, "table": {"class"}, "figure": {"class", "data-embed-src"}, "pre": {"class"},
    "code": {"class"},
}
# Elements removed with their content: never shown as content on Blogger either, or not allowed here.
REMOVED = {
    "script": "script removed (no imported script runs here)",
    "style": "style sheet removed (the theme styles posts)",
    "form": "form removed", "input": "form field removed", "button": "button removed", "select": "form field removed",
    "textarea": "form field removed", "noscript": "noscript fallback removed", "link": "link element removed",
    "meta": "meta element removed",
}
# Figures and embeds stay where they are only under these; elsewhere (a heading, a list, a table
# cell, a paragraph) they move to just after the outermost such element, where a block may be.
TRANSPARENT = {"[document]", "div", "center", "section", "article", "figure", "body", "html"}
YOUTUBE_ID = re.compile(
    r"^(?:https?:)?//(?:www\.|m\.)?(?:youtube(?:-nocookie)?\.com|youtube\.googleapis\.com)"
    r"/(?:embed/|v/|watch\?(?:.*&)?v=)([A-Za-z0-9_-]{11})")
VIMEO_ID = re.compile(r"^(?:https?:)?//player\.vimeo\.com/video/(\d+)")
GOOGLE_DOCS = re.compile(r"^(?:https?:)?//(docs|drive)\.google\.com/[^\s\"'<>]+$")
# The origins a click-to-load embed may frame (plugins/embeds allows exactly these).
EMBED_ORIGINS = ("https://www.youtube-nocookie.com", "https://player.vimeo.com", "https://docs.google.com",
                 "https://drive.google.com")
HEADING = re.compile(r"^h([1-6])$")
# Python-Markdown makes a heading of any line that starts with "#", space or not ("#comment",
# a row of "#####" around a banner): every run of hashes that starts a word is escaped.
LEADING_HASHES = re.compile(r"(\s|^)(#+)")
# Characters a URL may not hold as written (the WHATWG URL standard; the HTML checker refuses them).
PELICAN_LINK = re.compile(r"^\{(filename|static|attach|tag|category|author|index)\}")
URL_ILLEGAL = re.compile(r'[\s"<>`{}|\\^\x00-\x1f\x7f]')
URL_BRACKETS = re.compile(r'[\s"<>`{}|\\^\x00-\x1f\x7f\[\]]')


@dataclass
class Converted:
    markdown: str
    images: list[str]  # Blogger image URLs (largest size) the Markdown refers to
    notes: list[str] = field(default_factory=list)  # what was not converted faithfully, and what was done instead
    stats: dict[str, int] = field(default_factory=dict)  # fidelity counts: source vs Markdown


class _Converter(MarkdownConverter):
    """markdownify with ATX headings and fenced code, images kept everywhere, text kept as text."""

    def __init__(self, **options):
        super().__init__(heading_style="ATX", bullets="-", code_language="", escape_misc=False, **options)

    def escape(self, text, parent_tags):
        # Text is text: "&lt;script&gt;" in a post is decoded by the parser, and written back
        # as entities so Markdown shows it instead of passing it through as raw HTML.
        text = html.escape(super().escape(text, parent_tags), quote=False)
        # "# cat /proc/version" or "#comment" after a <br> is a shell line, not a heading.
        return LEADING_HASHES.sub(r"\1\\\2", text)

    def convert_img(self, el, text, parent_tags):
        # markdownify writes only the alt text for an image in a heading or a table cell.
        alt = re.sub(r"([\[\]\\])", r"\\\1", el.get("alt") or "")
        title = el.get("title") or ""
        title_part = ' "%s"' % title.replace('"', r"\"") if title else ""
        return f"![{alt}]({_md_url(el.get('src') or '')}{title_part})"

    def convert_a(self, el, text, parent_tags):
        if el.get("href"):
            el["href"] = _md_url(el["href"])
        return super().convert_a(el, text, parent_tags)

    def convert_figure(self, el, text, parent_tags):
        # Sanitised and built by clean_html: a raw HTML block, on one line so nothing below reflows it.
        markup = " ".join(str(el).split())
        if "_inline" in parent_tags or "li" in parent_tags or "blockquote" in parent_tags:
            return text  # cannot happen after _hoist; never a block inside a line
        return f"\n\n{markup}\n\n"

    def convert_table(self, el, text, parent_tags):
        if not lossy_table(el) or "_inline" in parent_tags or "li" in parent_tags or "blockquote" in parent_tags:
            return super().convert_table(el, text, parent_tags)
        # A Markdown table has one line per row and no spans: this one stays HTML (sanitised by clean_html).
        markup = str(el) if el.find("pre") else " ".join(str(el).split())
        return f"\n\n{markup}\n\n"

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


def lossy_table(table) -> bool:
    """Tell whether a Markdown table would lose part of this one: spans, nested tables, blocks or line breaks in cells."""
    for cell in table.find_all(["td", "th"]):
        if cell.get("colspan", "1") != "1" or cell.get("rowspan", "1") != "1":
            return True
        if cell.find(["table", "p", "div", "ul", "ol", "pre", "blockquote", "br", "figure", "h1", "h2", "h3", "h4", "h5", "h6"]):
            return True
    return False


def _url_chars(url: str) -> str:
    """Percent-encode characters a URL may not hold as written (Blogger kept "|", "{", spaces... as typed)."""
    if PELICAN_LINK.match(url):
        # Pelican's own link syntax ({filename}/..., {attach}...) names a source file: Pelican decodes
        # only %20 in it, and the importer's file names hold nothing else that needs encoding.
        return url.replace(" ", "%20")
    # "[" and "]" belong only in a host (an IPv6 address); the checker refuses them in a path or query.
    authority = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", url)
    rest = authority.end() if authority else 0
    encode = lambda match: "".join(f"%{b:02X}" for b in match.group().encode("utf-8"))  # noqa: E731
    return URL_ILLEGAL.sub(encode, url[:rest]) + URL_BRACKETS.sub(encode, url[rest:])


def _md_url(url: str) -> str:
    """Percent-encode what would end a Markdown link's URL early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _parse(raw: str, notes: list[str]) -> BeautifulSoup:
    """Parse post HTML; markup html.parser rejects is read by nh3's browser-grade parser and reported."""
    try:
        return BeautifulSoup(raw or "", "html.parser")
    except ParserRejectedMarkup as exc:
        reason = str(exc).strip().splitlines()[-1].strip()
        notes.append(f"markup the HTML parser rejects ({reason[:80]}): read as a browser would, "
                     "anything it could not make sense of is left out; check this post")
        return BeautifulSoup(nh3.clean(raw or "", tags=POST_TAGS | {"iframe", "object", "embed", "param"},
                                       attributes={**POST_ATTRIBUTES, "*": {"src", "data", "name", "value", "class"}},
                                       link_rel=None), "html.parser")


def _embed_elements(soup: BeautifulSoup) -> list:
    """The videos and embeds of a post: outermost <object>, <embed> not in one, <iframe>, <video>, <audio>, <script src>."""
    found = []
    for node in soup.find_all(["object", "embed", "iframe", "video", "audio", "script"]):
        if node.name == "script" and not node.get("src"):
            continue
        if node.find_parent(["object", "video", "audio"]):
            continue
        found.append(node)
    return found


def _embed_source(node) -> str:
    """The address an embed loads: src, data, or an <object>'s movie parameter."""
    src = node.get("src") or node.get("data") or ""
    if not src and node.name == "object":
        param = node.find("param", attrs={"name": re.compile("^(movie|src)$", re.I)})
        inner = node.find("embed")
        src = (param.get("value") if param else "") or (inner.get("src") if inner else "") or ""
    if not src and node.name in ("video", "audio"):
        source = node.find("source")
        src = source.get("src", "") if source else ""
    src = src.strip()
    return "https:" + src if src.startswith("//") else src


def _embed_figure(soup: BeautifulSoup, node, notes: list[str]):
    """Make the click-to-load figure for a known embed, or a visible link to an unknown one (reported)."""
    src = _embed_source(node)
    title = " ".join((node.get("title") or "").split())
    kind = player = watch = None
    if (match := YOUTUBE_ID.match(src)):
        video = match.group(1)
        start = re.search(r"[?&](?:start|t)=(\d+)", src)
        query = f"?start={start.group(1)}" if start else ""
        kind, player = "youtube", f"https://www.youtube-nocookie.com/embed/{video}{query}"
        watch, title = f"https://www.youtube.com/watch?v={video}" + (f"&t={start.group(1)}" if start else ""), title or "YouTube video"
    elif (match := VIMEO_ID.match(src)):
        kind, player = "vimeo", f"https://player.vimeo.com/video/{match.group(1)}?dnt=1"
        watch, title = f"https://vimeo.com/{match.group(1)}", title or "Vimeo video"
    elif node.name == "iframe" and GOOGLE_DOCS.match(src):
        host = urlparse(src).hostname
        kind, player, watch = "google", "https://" + src.split("//", 1)[1], "https://" + src.split("//", 1)[1]
        title = title or f"Embedded Google {'Docs' if host.startswith('docs') else 'Drive'} document"
    if kind:
        figure = soup.new_tag("figure", attrs={"class": f"embed embed-{kind}", "data-embed-src": player})
        link = soup.new_tag("a", href=watch)
        link.string = title
        figure.append(link)
        return figure, True
    paragraph = soup.new_tag("p")
    if src.startswith(("http://", "https://")):
        parts = urlparse(src)
        if parts.hostname == "gist.github.com" and parts.path.endswith(".js"):
            href, label = src[: -len(".js")], f"Code on GitHub Gist: {parts.path[1:-3]}"
        else:
            href, label = src, f"Embedded content from {parts.hostname}"
        link = soup.new_tag("a", href=href)
        link.string = label
        paragraph.append(link)
        notes.append(f"<{node.name}> embed of {parts.hostname}: not a known player, kept as a link to {href}")
    else:
        paragraph.string = f"(An embedded {node.name} was here; it named no address.)"
        notes.append(f"<{node.name}> embed with no address: replaced by a note in the text")
    return paragraph, False


def _caption_figures(soup: BeautifulSoup, notes: list[str]) -> None:
    """Turn Blogger's caption tables into <figure> with <figcaption>, innermost first."""
    tables = soup.find_all("table", class_="tr-caption-container")
    for table in reversed(tables):  # document order reversed: nested tables before their containers
        caption_cells = [td for td in table.find_all("td", class_="tr-caption") if td.find_parent("table") is table]
        content = [td for td in table.find_all(["td", "th"]) if td.find_parent("table") is table and td not in caption_cells]
        if not table.find("img") and not table.find("figure"):
            if table.get_text(strip=True):
                notes.append("caption table without an image: kept as its text")
            replacement = soup.new_tag("div")
            for cell in content + caption_cells:
                replacement.extend(list(cell.contents))
            table.replace_with(replacement)
            continue
        figure = soup.new_tag("figure")
        for cell in content:
            figure.extend(list(cell.contents))
        caption_text = [c for c in caption_cells if c.get_text(strip=True)]
        if caption_text:
            figcaption = soup.new_tag("figcaption")
            for number, cell in enumerate(caption_text):
                if number:
                    figcaption.append(soup.new_tag("br"))
                figcaption.extend(list(cell.contents))
            for block in figcaption.find_all(["p", "div", "table", "tbody", "tr", "td", "th", "ul", "ol", "li"]):
                block.unwrap()  # a figcaption holds phrasing content only
            figure.append(figcaption)
        table.replace_with(figure)


def _hoist(soup: BeautifulSoup, notes: list[str]) -> None:
    """Move each figure out of a heading, list, table or paragraph, to just after it."""
    for figure in soup.find_all("figure"):
        outermost = None
        for parent in figure.parents:
            if parent.name not in TRANSPARENT:
                outermost = parent
        if outermost is not None and figure.parent is not None:
            outermost.insert_after(figure.extract())
            notes.append(f"figure inside <{outermost.name}>: moved to just after it")


def _demote_headings(soup: BeautifulSoup) -> None:
    """Shift headings so the post has no <h1> (the page's title is the h1), keeping their relative levels."""
    headings = soup.find_all(HEADING)
    if not headings:
        return
    shift = 2 - min(int(h.name[1]) for h in headings)
    if shift > 0:
        for heading in headings:
            heading.name = f"h{min(6, int(heading.name[1]) + shift)}"


def _drop_empty(soup: BeautifulSoup) -> None:
    """Drop empty headings and paragraphs; a heading holding only an image becomes a paragraph."""
    for node in soup.find_all(["p", "h1", "h2", "h3", "h4", "h5", "h6"]):
        if node.get_text(strip=True):
            continue
        if node.find(["img", "figure", "iframe", "object", "embed", "video", "audio", "table"]):
            if node.name != "p":
                node.name = "p"
            continue
        node.decompose()


def _normalise(soup: BeautifulSoup) -> None:
    """NFC-normalise every text node and the alt and title attributes."""
    for text in soup.find_all(string=True):
        normal = unicodedata.normalize("NFC", text)
        if normal != text:
            text.replace_with(normal)
    for node in soup.find_all(True):
        for name in ("alt", "title"):
            if isinstance(node.get(name), str):
                node[name] = unicodedata.normalize("NFC", node[name])


def clean_html(raw: str, links: LinkMap, image_map: dict[str, str] | None = None,
               notes: list[str] | None = None, stats: dict[str, int] | None = None) -> tuple[BeautifulSoup, list[str]]:
    """Sanitise a post's HTML and make it convertible; return the tree and its Blogger images.

    Embeds become click-to-load figures, caption tables figures; old-blog links and image URLs are
    rewritten. What is not kept faithfully is added to notes, the fidelity counts to stats.
    """
    notes = [] if notes is None else notes
    stats = {} if stats is None else stats
    soup = _parse(raw, notes)
    for node in soup.find_all(string=lambda s: isinstance(s, HtmlComment)):
        node.extract()
    stats["images_source"] = sum(1 for img in soup.find_all("img") if (img.get("src") or "").strip())
    embeds = _embed_elements(soup)
    stats["embeds_source"] = len(embeds)
    mapped = untitled = 0
    for node in embeds:
        replacement, known = _embed_figure(soup, node, notes)
        mapped += known
        # Blogger's embeds name no title; the video's own title and thumbnail are only on the player's site.
        untitled += known and not " ".join((node.get("title") or "").split())
        node.replace_with(replacement)
    stats["embeds_mapped"] = mapped
    stats["embeds_untitled"] = untitled
    stats["embeds_linked"] = len(embeds) - mapped
    removed: dict[str, int] = {}
    for name, why in REMOVED.items():
        for node in soup.find_all(name):
            if name == "noscript" and not node.get_text(strip=True) and not node.find("img"):
                node.decompose()
                continue
            removed[why] = removed.get(why, 0) + 1
            node.decompose()
    for node in soup.find_all(["object", "embed", "param", "source", "track"]):  # pieces of embeds already replaced
        node.decompose()
    # Blogger's editor nests <pre><pre>: Markdown would read the two fences as an empty block and the code as text.
    for node in soup.find_all("pre"):
        if node.find_parent("pre") is not None:
            node.unwrap()
    notes += [f"{why} ({count}x)" if count > 1 else why for why, count in removed.items()]
    _caption_figures(soup, notes)
    # Anything else outside the allowlist loses its tag and keeps its text, as nh3 does below.
    unknown = sorted({node.name for node in soup.find_all(True) if node.name not in POST_TAGS})
    if unknown:
        notes.append("unknown or disallowed element(s) " + ", ".join(f"<{name}>" for name in unknown[:6])
                     + (" ..." if len(unknown) > 6 else "") + ": tags removed, their text kept")
    soup = BeautifulSoup(nh3.clean(str(soup), tags=POST_TAGS, attributes=POST_ATTRIBUTES, link_rel=None,
                                   url_schemes={"http", "https", "mailto"}, strip_comments=True), "html.parser")
    for figure in soup.find_all("figure"):
        source = figure.get("data-embed-src")
        if source is not None and not source.startswith(tuple(origin + "/" for origin in EMBED_ORIGINS)):
            del figure["data-embed-src"]  # only what _embed_figure wrote may load on click
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
            if src:
                notes.append("image embedded as a data: URL: removed")
            img.decompose()
            continue
        if is_blogger_image(src):
            src = largest_image_url(src)
            images.append(src)
            src = (image_map or {}).get(src, src)
        alt = " ".join((img.get("alt") or img.get("title") or "").split()) or _alt_from(src)
        img.attrs = {"src": _url_chars(src), "alt": alt}
    links_source = links_kept = 0
    for anchor in soup.find_all("a"):
        href = (anchor.get("href") or "").strip()
        if href.lower().startswith(("javascript:", "vbscript:", "data:")):
            anchor.unwrap()
            continue
        if is_blogger_image(href):
            # Blogger links each image to its own bigger version: keep the link, to the largest size.
            href = largest_image_url(href)
            href = (image_map or {}).get(href, href)
        else:
            internal = _is_internal(href, links)
            new = links.rewrite(href)
            links_source += internal
            links_kept += internal and new is not None
            href = new or href
        anchor.attrs = {"href": _url_chars(href), **({"title": anchor["title"]} if anchor.get("title") else {})}
    stats["links_source"], stats["links_kept"] = links_source, links_kept
    keep = {"href", "src", "alt", "title", "colspan", "rowspan"}
    for node in soup.find_all(True):
        if node.name == "figure":
            node.attrs = {k: v for k, v in node.attrs.items() if k in ("class", "data-embed-src")}
            if "data-embed-src" not in node.attrs:
                node.attrs.pop("class", None)
        elif node.name in ("pre", "code"):
            node.attrs = {k: v for k, v in node.attrs.items() if k in keep}
        else:
            node.attrs = {k: v for k, v in node.attrs.items() if k in keep}
    # Empty inline wrappers Blogger leaves behind.
    for span in soup.find_all(["span", "font"]):
        span.unwrap()
    _hoist(soup, notes)
    _demote_headings(soup)
    _drop_empty(soup)
    _normalise(soup)
    return soup, images


def _is_internal(href: str, links: LinkMap) -> bool:
    """Tell whether a link points at the old blog (its host, or a site-relative path)."""
    parts = urlparse(href)
    if parts.scheme not in ("http", "https", ""):
        return False
    if not parts.netloc:
        return parts.path.startswith("/") and not href.startswith("//")
    return is_old_blog_host(parts.hostname, links.hosts)


def _alt_from(src: str) -> str:
    """Make alt text for an image Blogger left without any: its file name in words."""
    stem = unquote(urlparse(src).path.rsplit("/", 1)[-1]).split("=")[0].rsplit(".", 1)[0]
    words = " ".join(re.sub(r"[_\-+.]+", " ", stem).split())
    return f"Image: {words}" if words else "Image"


MD_IMAGE = re.compile(r"!\[(?:\\.|[^\]\\])*\]\(|<img\b")
MD_EMBED = re.compile(r'<figure class="embed ')
MD_CODE = re.compile(r"(?ms)^```.*?^```|`[^`\n]+`")


def count_markdown(markdown: str) -> dict[str, int]:
    """Count the images and click-to-load embeds a converted post's Markdown shows."""
    markdown = MD_CODE.sub("", markdown)  # an <img> written about in code shows no image
    return {"images": len(MD_IMAGE.findall(markdown)), "embeds": len(MD_EMBED.findall(markdown))}


def to_markdown(raw: str, links: LinkMap, image_map: dict[str, str] | None = None) -> Converted:
    """Convert a post's HTML to Markdown, saying what could not be kept as it was."""
    notes: list[str] = []
    stats: dict[str, int] = {}
    soup, images = clean_html(raw, links, image_map, notes, stats)
    markdown = tidy_markdown(_Converter().convert_soup(soup))
    counted = count_markdown(markdown)
    stats["images_kept"], stats["embeds_kept"] = counted["images"], counted["embeds"] + stats["embeds_linked"]
    if counted["images"] < stats["images_source"]:
        notes.append(f"{stats['images_source'] - counted['images']} image(s) without a usable address left out")
    return Converted(markdown=markdown, images=images, notes=notes, stats=stats)


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
