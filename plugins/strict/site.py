"""Check the site as a whole: clashing output paths, links between contents, drafts, images."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import posixpath
from collections import defaultdict
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from blogkit import htmlscan
from blogkit.problems import Problem

from .sources import Source

ARTICLE_LISTS = ("articles", "translations", "hidden_articles", "hidden_translations", "drafts", "drafts_translations")
PAGE_LISTS = ("pages", "translations", "hidden_pages", "hidden_translations", "draft_pages", "draft_translations")
PUBLIC = ("published", "hidden")
LINK_HINT = "{filename}/{static} paths are relative to this file, or start with / for the content folder"


def contents(generators) -> list:
    """Every content object the run read: articles and pages of every status, with translations."""
    from pelican.generators import ArticlesGenerator, PagesGenerator

    found, seen = [], set()
    for generator in generators:
        names = ARTICLE_LISTS if isinstance(generator, ArticlesGenerator) else (
            PAGE_LISTS if isinstance(generator, PagesGenerator) else ())
        for name in names:
            for item in getattr(generator, name, []):
                if id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
    return found


def statics(generators) -> list:
    from pelican.generators import StaticGenerator

    return [s for g in generators if isinstance(g, StaticGenerator) for s in g.staticfiles]


def clashing_outputs(items: list, static_files: list, name, save_as_of: dict,
                     withdrawn: list) -> list[tuple[Problem, list[str]]]:
    """Find contents written to the same output path; keep the first, add the others to `withdrawn`.

    Pelican would either crash half-way with FileOverwriteFailedError (and so
    hide every later problem) or, for a static file, overwrite silently.
    """
    from pelican.contents import Content

    by_path = defaultdict(list)
    for item in list(static_files) + list(items):
        # A static file's own save_as property marks it as referenced, after which
        # an {attach} link may no longer move it next to its post: read it around that.
        save_as = save_as_of[id(item)] if id(item) in save_as_of else Content.save_as.fget(item)
        if save_as:
            by_path[os.path.normpath(save_as)].append(item)
    found = []
    for save_as, clash in by_path.items():
        if len(clash) < 2:
            continue
        names = [name(c.source_path) for c in clash]
        for item in clash[1:]:
            if type(item).__name__ != "Static":
                withdrawn.append(item)
        others = ", ".join(names[:-1])
        problem = Problem(
            names[-1],
            f"written to the same output path {save_as} as {others}",
            "give one of them another Slug: (or Save_as:/Url:) so each has its own address",
        )
        covers = [c.source_path for c in clash] + [os.path.relpath(c.source_path, c.settings["PATH"]) for c in clash]
        found.append((problem, covers))
    return found


def withdraw(items: list, generators) -> None:
    """Take contents out of the run: not written, not counted as published by other plugins.

    The build fails anyway; this keeps Pelican from crashing half-way on a
    clashing file (which would hide every later problem), and keeps other
    plugins (e.g. the search index's page count) from restating the problem.
    """
    for item in items:
        item.override_save_as = ""  # Pelican's writer skips an empty save_as
    ids = {id(item) for item in items}
    for generator in generators:
        for name in ARTICLE_LISTS + PAGE_LISTS:
            found = getattr(generator, name, None)
            if isinstance(found, list):
                found[:] = [item for item in found if id(item) not in ids]


def _find(context_map: dict, relative_dir: str, path: str):
    """Look a link target up the way Pelican's link replacer does; (found, key tried)."""
    key = None
    for candidate in dict.fromkeys((path, unquote(path), unescape(path))):
        key = candidate[1:] if candidate.startswith("/") else posixpath.join(relative_dir, candidate)
        key = posixpath.normpath(key) if key else key
        if key in context_map:
            return context_map[key], key
    return None, key


def check_links(item, source: Source | None, context: dict, settings: dict, tags: dict,
                categories: dict, authors: dict, drafts: dict, name, known_files: set) -> list[tuple[Problem, list[str]]]:
    """Every {filename}/{static}/{attach}/{index}/{tag}/{category}/{author} link, and links to drafts.

    `known_files` holds the link targets already found to exist and to be no draft (shared between posts).
    """
    from pelican.urlwrappers import Author, Category, Tag

    # The body, and the metadata Pelican renders as Markdown (Summary:), whose
    # links are replaced only after this signal.
    fields = [item.metadata.get(key) for key in settings.get("FORMATTED_FIELDS", [])]
    raw = "\n".join([item._content or "", *(f for f in fields if isinstance(f, str))])
    public = item.status in PUBLIC
    found = []
    if "{" not in raw and not (public and drafts):
        return found
    relative_dir = item.relative_dir  # a computed property: work it out once

    def report(needle, message, hint, covers=()):
        line = source.line_of(needle) if source else None
        found.append((Problem(name(item.source_path), message, hint, line), list(covers)))

    for match in _intrasite_regex(item).finditer(raw):
        what, value = match.group("what"), match.group("value")
        written = "{" + what + "}" + value
        url = urlparse(value)
        if what in ("filename", "static", "attach"):
            key_map = context["generated_content"] if what == "filename" else context["static_content"]
            target, key = _find(key_map, relative_dir, url.path)
            if target is None and what == "filename":
                target, _ = _find(context["static_content"], relative_dir, url.path)
            if target is not None and target.source_path in known_files:
                continue  # the common case, done
            covers = [f"Unable to find '{value}'", f"Unable to find '{url.geturl()}'"]
            if target is not None and not os.path.exists(target.source_path):
                # Pelican makes a Static for every {static} link, whether the file exists or not.
                covers.append(f"Cannot get modification stamp for {target.source_path}")
                target, key = None, target.get_relative_source_path()
                key_map = {k: v for k, v in key_map.items() if os.path.exists(getattr(v, "source_path", ""))}
            if target is None and key in key_map:
                report(written, f"links to {written}, which was left out of the build because of its own problem",
                       "fix the problem reported for that file", covers)
            elif target is None:
                known = sorted(k for k in key_map if key_map[k] is not None)
                close = difflib.get_close_matches(key or "", known, n=1, cutoff=0.5)
                hint = f"did you mean {{{what}}}/{close[0]}? " if close else ""
                kind = "image or file" if what != "filename" else "post or page"
                report(written, f"dead link {written}: no {kind} '{key}' in the content folder",
                       hint + LINK_HINT, covers)
            elif public and getattr(target, "status", None) == "draft":
                report(written, _draft_message(written, target), _draft_hint(), ())
            elif getattr(target, "status", None) != "draft":
                known_files.add(target.source_path)
        elif what == "index":
            if "index" not in settings.get("DIRECT_TEMPLATES", []) or not settings.get("INDEX_SAVE_AS"):
                report(written, f"dead link {written}: this site has no index page",
                       "link to a page that exists, or add 'index' to DIRECT_TEMPLATES")
        elif what in ("tag", "category", "author"):
            wrapper = {"tag": Tag, "category": Category, "author": Author}[what]
            existing = {"tag": tags, "category": categories, "author": authors}[what]
            slug = wrapper(unquote(url.path), settings).slug
            if slug not in existing:
                close = difflib.get_close_matches(slug, sorted(existing.values()), n=1, cutoff=0.5)
                hint = f"did you mean {{{what}}}{close[0]}? " if close else ""
                report(written, f"dead link {written}: no published post has the {what} '{url.path}'",
                       hint + f"link to an existing {what}, or remove the link")
        else:
            options = ("filename", "static", "attach", "index", "tag", "category", "author")
            close = difflib.get_close_matches(what, options, n=1, cutoff=0.5)
            hint = f"did you mean {{{close[0]}}}? " if close else ""
            report(written, f"unknown link prefix {{{what}}} in '{written}'",
                   hint + "use {filename}, {static}, {attach}, {index}, {tag}, {category} or {author}",
                   [f"Replacement Indicator '{what}' not recognized"])

    if public and drafts:  # plain links to a draft's address, e.g. [x](/drafts/x.html)
        siteurl = settings.get("SITEURL", "")
        for written in _urls_as_written(raw, ("href", "src")):
            if written.startswith("{"):
                continue
            url = written[len(siteurl):] if siteurl and written.startswith(siteurl) else written
            target = drafts.get(urlparse(url).path.lstrip("/"))
            if target is not None and target is not item:
                report(written, _draft_message(written, target), _draft_hint())
    return found


def _urls_as_written(html: str, names: tuple[str, ...], tags=None):
    """The values of these attributes in html's start tags (of these tags only, if given), entities undecoded.

    Undecoded, as the source file has them, so that the line that holds one can be found.
    """
    for tag in htmlscan.start_tags(html):
        if tags is None or tag.name in tags:
            attrs = htmlscan.raw_attributes(tag.attr_text)
            yield from (attrs[name] for name in names if attrs.get(name))


_REGEXES: dict = {}


def _intrasite_regex(item):
    """Pelican's own link pattern, compiled once per INTRASITE_LINK_REGEX rather than once per post."""
    key = item.settings["INTRASITE_LINK_REGEX"]
    if key not in _REGEXES:
        _REGEXES[key] = item._get_intrasite_link_regex()
    return _REGEXES[key]


def _draft_message(link: str, target) -> str:
    where = os.path.basename(target.source_path)
    if scheduled(target):
        return f"links to {link}, a post scheduled for {target.date:%Y-%m-%d %H:%M} ({where}) that is not published yet"
    return f"links to {link}, which is a draft ({where}) and will not be published"


def _draft_hint() -> str:
    return "publish the linked post first (remove its 'Status: draft'), or remove the link"


def scheduled(item) -> bool:
    """Say whether Pelican made this article a draft only because its date is in the future."""
    if item.metadata.get("status") == "draft" or not hasattr(item, "date"):
        return False
    now = dt.datetime.now(dt.UTC) if item.date.tzinfo else dt.datetime.now()
    return item.date > now


def missing_images(item, output: Path, settings: dict, source: Source | None, name, seen: dict) -> list[Problem]:
    """Images in a written content whose files are not in the output folder (`seen` caches lookups)."""
    found = []
    raw_content = item._content or ""  # as written: {static} links are checked apart
    if "<img" not in raw_content:
        return found
    siteurl = settings.get("SITEURL", "") or ""
    base = None
    for raw in _urls_as_written(raw_content, ("src",), tags={"img"}):
        src = unescape(raw).strip()
        if not src or src.startswith(("{", "data:")):
            continue
        if siteurl and src.startswith(siteurl):
            src = src[len(siteurl):] or "/"
        parsed = urlparse(src)
        if parsed.scheme or parsed.netloc:
            continue  # another site's image: not ours to check offline
        if parsed.path.startswith("/"):
            resolved = parsed.path
        else:
            base = base or ("/" + item.url if item.url else "/")
            resolved = urlparse(urljoin(base, parsed.path)).path
        resolved = unquote(resolved).lstrip("/")
        if resolved not in seen:
            seen[resolved] = not resolved or os.path.isfile(os.path.join(output, resolved))
        if seen[resolved]:
            continue
        line = source.line_of(raw) if source else None
        if line is None and source:
            line = source.line_of(os.path.basename(parsed.path))
        found.append(Problem(
            name(item.source_path), f"missing image '{raw}': nothing is written at /{resolved}",
            "put the image under content/images/ and link it as ![what it shows]({static}/images/name.png)",
            line,
        ))
    return found


def describe_generated(context: dict, path) -> str:
    """Name a page Pelican generates from templates, as an author would call it."""
    if str(path).endswith((".xml", ".atom", ".rss")):
        return "a feed"
    for key, label in (("tag", "the page of tag"), ("category", "the page of category"), ("author", "the page of author")):
        if context.get(key) is not None and not isinstance(context.get(key), (list, dict)):
            return f"{label} '{context[key]}'"
    if context.get("period") is not None:
        return "the archive of " + " ".join(str(p) for p in context["period"])
    if context.get("page_name"):
        return f"the {context['page_name']} page"
    return "a page Pelican generates"


def generated_outputs(generators, settings: dict) -> dict[str, str]:
    """The files Pelican writes from templates (archives, tag pages, feeds), each with a name for it."""
    from pelican.generators import ArticlesGenerator

    found: dict[str, str] = {}

    def add(save_as, label):
        if save_as:
            found.setdefault(os.path.normpath(save_as), label)

    for template in settings.get("DIRECT_TEMPLATES", []):
        add(settings.get(f"{template.upper()}_SAVE_AS", f"{template}.html"), f"the {template} page")
    for key in ("FEED_ALL_ATOM", "FEED_ALL_RSS", "FEED_ATOM", "FEED_RSS"):
        add(settings.get(key), "a feed")
    for generator in generators:
        if not isinstance(generator, ArticlesGenerator):
            continue
        for periods in getattr(generator, "period_archives", {}).values():
            for period in periods:
                add(period["save_as"], "the archive of " + " ".join(str(p) for p in period["period"]))
        named = [("tag", "TAG", generator.tags)]
        named.append(("category", "CATEGORY", dict(generator.categories)))
        named.append(("author", "AUTHOR", dict(generator.authors)))
        for kind, prefix, wrappers in named:
            for wrapper in wrappers:
                add(wrapper.save_as, f"the page of {kind} '{wrapper}'")
                for feed in ("ATOM", "RSS"):
                    pattern = settings.get(f"{prefix}_FEED_{feed}")
                    if pattern:
                        add(pattern.format(slug=wrapper.slug), "a feed")
    return found


def clashing_generated(items: list, generated: dict[str, str], name, save_as_of: dict,
                       withdrawn: list) -> list[Problem]:
    """A content written where Pelican writes an archive, a tag page or a feed.

    A page may replace a generated page on purpose with its own Save_as (Pelican's
    way to make a page the home page); anything else is a mistake Pelican would
    answer with an overwrite or a crash. The content goes to `withdrawn`.
    """
    found = []
    for item in items:
        save_as = save_as_of[id(item)]
        label = generated.get(os.path.normpath(save_as)) if save_as else None
        if label is None or ("save_as" in item.metadata and label != "a feed"):
            continue
        withdrawn.append(item)
        found.append(Problem(
            name(item.source_path), f"written to {save_as}, which is also {label}",
            "give it another Slug: (or Save_as:) so the two do not share an address",
        ))
    return found
