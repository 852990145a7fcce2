"""Import a Blogger export into content/: plan every file, then write only what is safe to write."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from bs4.exceptions import ParserRejectedMarkup
from markdownify import markdownify

from . import convert
from .images import fetch, file_name
from .model import Blog, Entry, Skipped
from .parse import read_export

MANIFEST = ".blogger-import.json"
# The project ships its own blog's first post, that post's archived comments and an About page
# (content/ in the repository), so a fresh clone builds and its tests have a real site. Importing
# another blog into a clone removes them, else they would be published as that blog's own: only
# files still exactly as shipped (sha256 below) and only when the export does not hold that post.
# A sample file the author has edited is theirs now: it is kept and named in the summary.
SAMPLE_FILES = {
    "posts/2007/psychotherapy-of-sales.md": "1ae270b77eeccd453a7a7df67d83ad6d33a0d09c679d39c1501d89ed39d73f12",
    "comments/2007/01/psychotherapy-of-sales.json": "1c68e7ceb7ea116fc5b28ea331bdf4ce259a3172516b6d4c99cda7c47243f1ad",
    "pages/about.md": "1499b9cb58c173831ee8390e192ed153a03ea1d1cfd2246963cba45eedb58f3c",
}
SAMPLE_POST = "posts/2007/psychotherapy-of-sales.md"
OLD_POST_PATH = re.compile(r"^(\d{4})/(\d{2})/([^/]+)\.html$")
OLD_PAGE_PATH = re.compile(r"^p/([^/]+)\.html$")


@dataclass
class Options:
    """How to import (the task's flags and the site's URL settings)."""

    content: Path
    download_images: bool = True
    dry_run: bool = False
    force: bool = False
    isso_json: Path | None = None
    timezone: str = "America/New_York"
    article_url: str = "{date:%Y}/{date:%m}/{slug}.html"
    page_url: str = "p/{slug}.html"
    settings_file: Path | None = None  # where an imported comment policy and language go when none is set
    proxy: str | None = None  # tests only: an HTTP proxy on 127.0.0.1 answering for Blogger's image hosts
    resolve: Callable[[str], list[str]] | None = None  # host -> addresses, for the download check (tests only)
    progress: Callable[[int, int, str], None] | None = None  # (done, total, what) as each entry is imported


@dataclass
class Report:
    """What an import did, or would do with --dry-run."""

    format: str = ""
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    protected: list[tuple[str, str]] = field(default_factory=list)
    images_failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[Skipped] = field(default_factory=list)  # entries refused or left out; the task exits non-zero
    notes: list[str] = field(default_factory=list)
    images_planned: list[tuple[str, str]] = field(default_factory=list)  # --dry-run: (URL, folder)
    sample_removed: list[str] = field(default_factory=list)  # the project's sample files, replaced by this blog
    sample_kept: list[str] = field(default_factory=list)  # sample files the author edited: theirs, kept
    # blogger-convert: what each post's conversion could not keep as it was, and the fidelity counts.
    conversion: list[tuple[str, str]] = field(default_factory=list)  # (post URL, what was done instead)
    fidelity: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, number: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + number

    def summary(self) -> str:
        """Render the end-of-run summary, one line per fact."""
        c = self.counts.get
        head = "Dry run: nothing was written.\n" if self.dry_run else ""
        lines = [
            f"{head}Blogger export ({self.format}):",
            f"  posts     {c('posts', 0)} published, {c('drafts', 0)} drafts",
            f"  pages     {c('pages', 0)}",
            f"  comments  {c('comments', 0)} archived, {c('comments_dropped', 0)} dropped (deleted, spam or empty), "
            f"{c('comments_pending', 0)} held (awaiting moderation on Blogger: not published, kept in {MANIFEST}), "
            f"{c('comments_held', 0)} held back (on drafts or pages, kept in {MANIFEST})",
            f"  images    {c('images_downloaded', 0)} downloaded, {c('images_kept', 0)} already here, "
            f"{len(self.images_failed)} failed (original URL kept)"
            + (f", {c('images_planned', 0)} to download" if self.dry_run else ""),
            f"  files     {len(self.written)} {'to write' if self.dry_run else 'written'}, {len(self.unchanged)} unchanged, "
            f"{len(self.protected)} protected",
        ]
        for path, reason in self.protected:
            lines.append(f"  protected {path}: {reason}")
        if self.sample_removed:
            lines.append(f"  sample    {'would remove' if self.dry_run else 'removed'} the project's sample content "
                         f"(this export is another blog): {', '.join(self.sample_removed)}")
        if self.sample_kept:
            lines.append(f"  sample    kept {', '.join(self.sample_kept)}: the project's sample, edited since, so yours "
                         "now; it is published with this blog unless you delete it")
        for problem in self.problems:
            lines.append(f"  problem   {problem.what}: {problem.reason}")
        if self.dry_run:
            lines += [f"  would write {path}" for path in self.written]
            lines += [f"  would download {url} into {folder}/" for url, folder in self.images_planned]
        for url, reason in self.images_failed:
            lines.append(f"  image failed {url}: {reason}")
        grouped: dict[str, list[str]] = {}
        for item in self.skipped:
            grouped.setdefault(item.reason, []).append(item.what)
        for reason, whats in grouped.items():
            shown = ", ".join(whats[:3]) + (f" and {len(whats) - 3} more" if len(whats) > 3 else "")
            lines.append(f"  skipped {len(whats)}: {reason} ({shown})")
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  converted with changes {url}: {what}" for url, what in self.conversion]
        if self.fidelity:
            f = self.fidelity.get
            lines.append(f"  fidelity  images {f('images_kept', 0)}/{f('images_source', 0)}, videos and embeds "
                         f"{f('embeds_kept', 0)}/{f('embeds_source', 0)} ({f('embeds_linked', 0)} as plain links), "
                         f"internal links {f('links_kept', 0)}/{f('links_source', 0)}, "
                         f"comments {f('comments_kept', 0)}/{f('comments_source', 0)}")
        return "\n".join(lines)


@dataclass
class Planned:
    entry: Entry
    slug: str
    source: str  # the Markdown file, relative to content/
    url: str  # where the page will be, relative to the site root
    needs_save_as: bool


def slugify(text: str) -> str:
    from blogkit.slugs import pelican_slug

    return pelican_slug(text, kind="SLUG")


def terminal_progress(stream) -> Callable[[int, int, str], None] | None:
    """Return a live one-line progress bar on `stream` if it is a terminal, else None (quiet in logs and CI)."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    width = 30

    def show(done: int, total: int, what: str) -> None:
        filled = width * done // max(total, 1)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}"[:120]
        stream.write(line + "\x1b[K" + ("\r\x1b[K" if done == total else ""))
        stream.flush()

    return show


def import_blogger(export: str | Path, options: Options) -> Report:
    """Import a Blogger export into options.content; raise BloggerExportError on unreadable input."""
    blog = read_export(export)  # raises before anything is written
    report = Report(format=blog.format, dry_run=options.dry_run, skipped=list(blog.skipped), problems=list(blog.refused))
    zone = ZoneInfo(options.timezone)
    if blog.format == "blogger2018":
        # The current format gives UTC; show times in the site's timezone.
        for entry in blog.posts + blog.pages:
            entry.published = entry.published.astimezone(zone)
            entry.updated = entry.updated.astimezone(zone) if entry.updated else None
            for comment in entry.comments:
                comment.published = comment.published.astimezone(zone)
            _fit_month(entry)
    plans = _plan(blog, options)
    links = _link_map(blog, plans)
    manifest = _Manifest.load(options.content)
    files: dict[str, str | bytes] = {}
    held: dict[str, list] = {}
    pending: dict[str, list] = {}
    isso_threads = []

    taken = _existing_urls(options, manifest)
    sample = _sample_to_replace(plans, taken, options, manifest, report)
    taken = {url: source for url, source in taken.items() if source not in sample}
    for done, plan in enumerate(plans, start=1):
        entry = plan.entry
        if options.progress:
            options.progress(done, len(plans), plan.source)
        owner = taken.get(plan.url) if not entry.draft else None
        try:
            if owner and owner != plan.source:
                # The author already has this post (e.g. re-typed by hand): keep theirs, attach the comments.
                report.skipped.append(Skipped(f"{entry.kind} {plan.url}", f"already in content/ as {owner}"))
            else:
                image_map = _images(plan, links, options, manifest, files, report)
                converted = convert.to_markdown(entry.html, links, image_map)
                body = converted.markdown
                report.conversion += [(plan.url, note) for note in converted.notes]
                for key, number in converted.stats.items():
                    report.fidelity[key] = report.fidelity.get(key, 0) + number
                files[plan.source] = _markdown_file(plan, body)
                report.add("drafts" if entry.draft else "posts" if entry.kind == "post" else "pages")
            comments, dropped, waiting = _comments(entry)
        except ParserRejectedMarkup as exc:
            # The HTML parser gave up on this entry's markup: report it, write nothing for it, go on.
            for relpath in [plan.source, *[p for p in files if p.startswith(str(Path(plan.source).with_suffix("")) + "/")]]:
                files.pop(relpath, None)
            reason = str(exc).strip().splitlines()[-1].strip() or type(exc).__name__
            report.problems.append(Skipped(f"{entry.kind} {plan.url} ({entry.title})",
                                           f"not imported: its HTML could not be parsed ({reason}); "
                                           "fix the post in Blogger or convert it by hand"))
            continue
        report.add("comments_dropped", dropped)
        report.fidelity["comments_source"] = report.fidelity.get("comments_source", 0) + sum(not c.removed for c in entry.comments)
        report.fidelity["comments_kept"] = report.fidelity.get("comments_kept", 0) + len(comments) + len(waiting)
        if waiting:
            # Awaiting moderation on Blogger: nobody approved them, so they are not published; kept for review.
            pending[plan.source] = waiting
            report.add("comments_pending", len(waiting))
        if not comments:
            continue
        if entry.draft or entry.kind == "page":
            held[plan.source] = comments
            report.add("comments_held", len(comments))
            continue
        report.add("comments", len(comments))
        stem = plan.url[: -len(".html")] if plan.url.endswith(".html") else plan.url.rstrip("/")
        document = {"post": plan.url, "source": "Blogger", "comments": comments}
        files[f"comments/{stem}.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        isso_threads.append(_isso_thread(plan, comments))

    if report.fidelity.get("embeds_untitled"):
        report.notes.append(f"{report.fidelity['embeds_untitled']} video(s) and document(s) had no title in the export: each "
                            "shows a link named after its player (\"YouTube video\") and no thumbnail, because their "
                            "titles and thumbnails are on YouTube's (or Vimeo's, Google's) servers and the import does "
                            "not go online for them; edit the link text in the post to give one its title")
    if links.unresolved:
        shown = ", ".join(sorted(links.unresolved)[:3]) + (" ..." if len(links.unresolved) > 3 else "")
        report.notes.append(f"{len(links.unresolved)} link(s) to old-blog pages that were not imported are "
                            f"kept as they were: {shown}")
    if blog.comment_form_message:
        _comment_policy(blog.comment_form_message, options, report)
    _language(_blog_language(blog, report), options, report)
    if report.sample_removed:
        report.notes.append(f"the site's name, subtitle and author (SITENAME, SITESUBTITLE, AUTHOR in pelicanconf.py) "
                            f"are still the project's: set your own (the Blogger blog is called {blog.title!r})")

    manifest.held_comments = held
    manifest.pending_comments = pending
    if not options.dry_run:
        _remove_sample(sample, options.content)
    try:
        for relpath, data in files.items():
            manifest.write(relpath, data, options, report)
    finally:
        # Even if a write fails half way, what was written is recorded as the importer's own.
        if not options.dry_run and (report.written or report.unchanged):
            manifest.save()
    if options.isso_json:
        # Compact: Isso recognises the generic format by the file starting with "[{".
        text = json.dumps(isso_threads, ensure_ascii=False) + "\n"
        if not options.dry_run:
            Path(options.isso_json).write_text(text, encoding="utf-8")
        report.notes.append(f"Isso import file: {options.isso_json} ({len(isso_threads)} threads); "
                            f"load it with: isso -c isso.cfg import -t generic {options.isso_json}")
    return report


def _existing_urls(options: Options, manifest: "_Manifest") -> dict[str, str]:
    """Map URL -> source file for the Markdown in content/ that the importer did not write."""
    from pelican.utils import get_date

    urls = {}
    for kind, folder in (("post", "posts"), ("page", "pages")):
        for path in sorted((options.content / folder).rglob("*.md")):
            relpath = path.relative_to(options.content).as_posix()
            if relpath in manifest.files:
                continue
            try:
                head = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
                meta = {k.strip().lower(): v.strip() for k, v in
                        (line.split(":", 1) for line in head.splitlines() if ":" in line)}
                if meta.get("status", "").lower() in ("draft", "hidden"):
                    continue
                slug = meta.get("slug") or slugify(meta.get("title", ""))
                if meta.get("save_as"):
                    url = meta["save_as"]
                elif kind == "post":
                    url = options.article_url.format(date=get_date(meta["date"]), slug=slug)
                else:
                    url = options.page_url.format(slug=slug)
            except (KeyError, ValueError, UnicodeDecodeError):
                continue  # the strict build reports a broken file; the importer just cannot match it
            urls[url] = relpath
    return urls


def _sample_to_replace(plans: list[Planned], taken: dict[str, str], options: Options, manifest: "_Manifest",
                       report: Report) -> list[str]:
    """The project's sample files, as shipped, that this import replaces (see SAMPLE_FILES); reported."""
    if not any(not plan.entry.draft for plan in plans):
        return []  # an export with nothing published replaces nothing
    if any(taken.get(plan.url) == SAMPLE_POST for plan in plans):
        return []  # this export is the sample's own blog: its first post is already here
    replaced = []
    for relpath, digest in SAMPLE_FILES.items():
        path = options.content / relpath
        if not path.is_file() or relpath in manifest.files:
            continue
        if _digest(path.read_bytes()) != digest:
            report.sample_kept.append(relpath)
        else:
            replaced.append(relpath)
    report.sample_removed = replaced
    return replaced


def _remove_sample(relpaths: list[str], content: Path) -> None:
    """Delete the sample files and the folders only they filled."""
    for relpath in relpaths:
        path = content / relpath
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == content or any(folder.iterdir()):
                break
            folder.rmdir()


def _fit_month(entry: Entry) -> None:
    """Give a UTC-exported post the offset that puts it in the month its old URL names.

    Blogger filed a post by the blog's local time: published 2008-01-01T07:30Z in a
    -08:00 blog is /2007/12/. The nearest whole-hour offset that lands in that month
    restores the local time the readers saw, and keeps the month archive /2007/12/.
    """
    match = OLD_POST_PATH.match(entry.old_path or "")
    if not match or (f"{entry.published:%Y}", f"{entry.published:%m}") == match.groups()[:2]:
        return
    current = entry.published.utcoffset() or dt.timedelta(0)
    for hours in sorted(range(-12, 15), key=lambda h: abs(dt.timedelta(hours=h) - current)):
        zone = dt.timezone(dt.timedelta(hours=hours))
        local = entry.published.astimezone(zone)
        if (f"{local:%Y}", f"{local:%m}") == match.groups()[:2]:
            entry.published = local
            entry.updated = entry.updated.astimezone(zone) if entry.updated else None
            for comment in entry.comments:
                comment.published = comment.published.astimezone(zone)
            return


def _plan(blog: Blog, options: Options) -> list[Planned]:
    """Give every post and page its slug, source file and URL, keeping each old path."""
    plans, sources = [], set()
    for entry in blog.posts + blog.pages:
        if not entry.title:
            try:
                entry.title = convert.readable_title(entry.html, entry.published)
            except ParserRejectedMarkup:  # reported when its body is converted
                entry.title = f"Untitled post of {entry.published:%Y-%m-%d}"
            entry.untitled = True
        old = entry.old_path
        if entry.kind == "post":
            match = OLD_POST_PATH.match(old or "")
            slug = match.group(3) if match else (Path(old).stem if old else slugify(entry.title) or f"post-{entry.id}")
            year, month = (match.group(1), match.group(2)) if match else (f"{entry.published:%Y}", f"{entry.published:%m}")
            source = f"posts/{year}/{month}/{slug}.md"
            url = old or options.article_url.format(date=entry.published, slug=slug)
            computed = options.article_url.format(date=entry.published, slug=slug)
        else:
            match = OLD_PAGE_PATH.match(old or "")
            slug = match.group(1) if match else (Path(old).stem if old else slugify(entry.title) or f"page-{entry.id}")
            source = f"pages/{slug}.md"
            url = old or options.page_url.format(slug=slug)
            computed = options.page_url.format(slug=slug)
        if source in sources:  # two drafts with one title: keep both
            slug = f"{slug}-{entry.id}"
            source = source[: -len(".md")] + f"-{entry.id}.md"
        sources.add(source)
        plans.append(Planned(entry, slug, source, url, needs_save_as=bool(old) and computed != url and not entry.draft))
    # Blogger allows one slug in two months; Pelican would take the second for a translation of
    # the first. The older keeps the slug, later ones get the month added and keep their old URL.
    seen: set[tuple[str, str]] = set()
    for plan in sorted(plans, key=lambda p: p.entry.published):
        key = (plan.entry.kind, plan.slug)
        if key in seen:
            plan.slug = f"{plan.slug}-{plan.entry.published:%Y-%m}"
            plan.needs_save_as = not plan.entry.draft
        seen.add(key)
    return plans


def _link_map(blog: Blog, plans: list[Planned]) -> convert.LinkMap:
    targets = {p.url: "{filename}/" + p.source for p in plans if not p.entry.draft}
    hosts = set(blog.hosts)
    # The current format names no blog address: learn it from links that point at imported posts.
    for plan in plans:
        for href in re.findall(r"""href=["'](https?://[^"'#?]+)""", plan.entry.html):
            parts = urlparse(href)
            if parts.path.lstrip("/") in targets and parts.hostname:
                hosts.add(parts.hostname.lower())
    labels = {label for p in plans for label in p.entry.labels}
    return convert.LinkMap(hosts=hosts, targets=targets, labels=labels)


def _images(plan, links, options, manifest, files, report) -> dict[str, str]:
    """Download the post's Blogger images into its folder; map each URL to its {attach} link."""
    images = convert.clean_html(plan.entry.html, links)[1]
    if not images or not options.download_images:
        return {}
    folder_rel = str(Path(plan.source).with_suffix(""))  # posts/2007/01/slug
    image_map: dict[str, str] = {}
    taken = {Path(p).name.lower() for p in manifest.images.values() if p.startswith(folder_rel + "/")}
    for url in dict.fromkeys(images):
        known = manifest.images.get(url)
        if known and (found := inside(options.content, known)) and found.is_file():
            image_map[url] = "{attach}" + known[len(str(Path(plan.source).parent)) + 1:]
            report.add("images_kept")
            continue
        if options.dry_run:
            report.add("images_planned")
            report.images_planned.append((url, folder_rel))
            continue
        got = fetch(url, options.proxy, resolve=options.resolve)
        if got.error:
            report.images_failed.append((url, got.error))
            continue
        name = file_name(url, got.content_type, taken)
        relpath = f"{folder_rel}/{name}"
        files[relpath] = got.data
        manifest.images[url] = relpath
        image_map[url] = "{attach}" + relpath[len(str(Path(plan.source).parent)) + 1:]
        report.add("images_downloaded")
    return image_map


def _markdown_file(plan: Planned, body: str) -> str:
    entry = plan.entry
    meta = [("Title", entry.title), ("Date", _stamp(entry.published))]
    if entry.updated and entry.updated > entry.published:
        meta.append(("Modified", _stamp(entry.updated)))
    if entry.author:
        meta.append(("Author", entry.author))
    if entry.labels:
        meta.append(("Tags", ", ".join(label.replace(",", " ") for label in entry.labels)))
    meta.append(("Slug", plan.slug))
    if plan.needs_save_as:
        meta += [("Save_as", plan.url), ("URL", plan.url)]
    if entry.draft:
        meta.append(("Status", "draft"))
    lines = [f"{key}: {' '.join(str(value).split())}" for key, value in meta]
    return "\n".join(lines) + "\n\n" + (body.strip() or "(This post had no text.)") + "\n"


def _stamp(value: dt.datetime) -> str:
    return value.isoformat(sep=" ")


def _comments(entry: Entry) -> tuple[list[dict], int, list[dict]]:
    """Return the entry's live comments in the archived-comment format, how many were dropped, and those held."""
    kept: dict[str, dict] = {}
    waiting: dict[str, dict] = {}
    parents: dict[str, str | None] = {c.id: c.parent_id for c in entry.comments}
    dropped = 0
    for comment in entry.comments:
        body = convert.sanitise_comment(comment.body_html)
        if comment.removed or not convert.plain_text(body):
            dropped += 1
            continue
        item = {
            "id": f"c{comment.id}", "parent": None, "author": convert.plain_name(comment.author),
            "url": convert.safe_url(comment.author_url), "date": comment.published.isoformat(), "body": body,
        }
        if comment.held:
            item["parent"] = f"c{comment.parent_id}" if comment.parent_id else None
            waiting[comment.id] = item
            continue
        parent = comment.parent_id
        while parent and parent not in kept:  # the comment replied to is not published: attach to its own parent
            item["note"] = ("A reply to a comment that was never approved on Blogger." if parent in waiting
                            else "A reply to a comment that was deleted on Blogger.")
            parent = parents.get(parent)
        if parent:
            item["parent"] = f"c{parent}"
        kept[comment.id] = item
    return list(kept.values()), dropped, list(waiting.values())


def _isso_thread(plan: Planned, comments: list[dict]) -> dict:
    """Build one thread in Isso's generic import format (which keeps no threading)."""
    return {
        "id": "/" + plan.url, "title": plan.entry.title,
        "comments": [
            {"id": number, "author": c["author"], "email": "", "website": c["url"] or "",
             "remote_addr": "0.0.0.0",
             "created": dt.datetime.fromisoformat(c["date"]).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
             "text": markdownify(c["body"]).strip()}
            for number, c in enumerate(comments, start=1)
        ],
    }


POLICY_MARK = "# Comment policy imported from Blogger's comment-form message (invoke import-blogger)."


def _settings_file(options: Options) -> Path | None:
    """The pelicanconf.py the import may update, or None when the import goes elsewhere."""
    settings = options.settings_file
    return Path(settings) if settings is not None and Path(settings).is_file() else None


def _comment_policy(message: str, options: Options, report: Report) -> None:
    """Make Blogger's comment-form message the policy text, unless the settings already set one."""
    settings = _settings_file(options)
    if settings is None:
        report.notes.append(f"Blogger's comment-form message: {message!r}; not put in pelicanconf.py because the import "
                            "went to another folder than content/ (set COMMENTS['policy'] there to use it)")
        return
    text = settings.read_text(encoding="utf-8")
    if POLICY_MARK in text:
        report.notes.append(f"comment policy already imported into {settings.name}")
        return
    if re.search(r"""["']policy["']\s*:""", text):
        report.notes.append(f"comment policy kept: {settings.name} sets one; Blogger's was {message!r}")
        return
    block = (f"\n{POLICY_MARK}\nCOMMENTS = {{**globals().get(\"COMMENTS\", {{}}), \"policy\": {message!r}}}\n")
    report.notes.append(f"comment policy {'would be ' if options.dry_run else ''}set from Blogger's "
                        f"comment-form message in {settings.name}")
    if not options.dry_run:
        settings.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")


def inside(root: Path, relpath: str) -> Path | None:
    """Return root/relpath resolved (symlinks and '..' followed) if it lies inside root, else None."""
    base = Path(root).resolve()
    target = (base / relpath).resolve()
    return target if target != base and target.is_relative_to(base) else None


# pelicanconf.py ships this line; the importer replaces it with the export's locale. Any other
# DEFAULT_LANG line (edited, or written by an earlier import) is the settings' own and is kept.
LANG_PLACEHOLDER = re.compile(r'^DEFAULT_LANG = "en"  # until invoke import-blogger .*$', re.M)
LANG_LINE = re.compile(r"^DEFAULT_LANG\s*=\s*(.+?)\s*(#.*)?$", re.M)


def _blog_language(blog: Blog, report: Report) -> str | None:
    """Return the blog's language: Blogger's locale, unless the posts are clearly in another language."""
    from .language import detect

    try:
        text = " ".join(convert.plain_text(e.html) for e in blog.posts + blog.pages if not e.draft)
    except ParserRejectedMarkup:
        text = ""
    found = detect(text)
    locale = blog.locale
    if found and locale and locale.split("-")[0].lower() != found:
        # Blogger's locale is the interface language, often left at English on a blog written in another.
        report.notes.append(f"Blogger's locale is {locale!r} but the posts are written in {found!r}: using {found!r}")
        return found
    if not locale and found:
        report.notes.append(f"the export names no language (blogger:2018 never does); the posts are in {found!r}")
        return found
    return locale


def _language(locale: str | None, options: Options, report: Report) -> None:
    """Make the blog's language (the export's locale, checked against its posts) DEFAULT_LANG, unless set."""
    if not locale:
        report.notes.append("the export names no language and the posts' language is unclear: "
                            "set DEFAULT_LANG in pelicanconf.py if the blog is not in English")
        return
    settings = _settings_file(options)
    if settings is None:
        report.notes.append(f"Blogger's locale is {locale!r}; not put in pelicanconf.py because the import went to "
                            "another folder than content/ (set DEFAULT_LANG there)")
        return
    text = settings.read_text(encoding="utf-8")
    if not LANG_PLACEHOLDER.search(text):
        current = LANG_LINE.search(text)
        value = current.group(1) if current else "Pelican's default 'en'"
        if current and value.strip("\"'") == locale:
            report.notes.append(f"language: {settings.name} already has DEFAULT_LANG = {value}")
        else:
            report.notes.append(f"language kept: {settings.name} sets DEFAULT_LANG = {value}; "
                                f"Blogger's locale is {locale!r}")
        return
    line = f"DEFAULT_LANG = {locale!r}  # the blog's language, from its Blogger export (invoke import-blogger)"
    report.notes.append(f"language {'would be ' if options.dry_run else ''}set to {locale!r} "
                        f"(DEFAULT_LANG in {settings.name}) from the export (its locale, checked against its posts)")
    if not options.dry_run:
        settings.write_text(LANG_PLACEHOLDER.sub(lambda _: line, text, count=1), encoding="utf-8")


def _digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


class _Manifest:
    """What the importer wrote (path -> sha256), so re-runs update its own files and spare edited ones."""

    def __init__(self, content: Path, data: dict):
        self.content = content
        self.files: dict[str, str] = data.get("files", {})
        self.images: dict[str, str] = data.get("images", {})
        self.held_comments: dict[str, list] = data.get("held_comments", {})
        self.pending_comments: dict[str, list] = data.get("pending_comments", {})

    @classmethod
    def load(cls, content: Path) -> "_Manifest":
        path = content / MANIFEST
        if not path.is_file():
            return cls(content, {})
        try:
            return cls(content, json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: unreadable import manifest ({exc}); move it away to import afresh") from exc

    def write(self, relpath: str, data: str | bytes, options: Options, report: Report) -> None:
        target = inside(self.content, relpath)
        if target is None:
            # The parser refuses unsafe old paths; this is the last guard, on the resolved path.
            report.problems.append(Skipped(relpath, "not written: it resolves outside the content folder"))
            return
        new = _digest(data)
        if target.exists() and relpath not in report.sample_removed:  # (a --dry-run leaves the sample there)
            current = _digest(target.read_bytes())
            if current == new:
                self.files[relpath] = new
                report.unchanged.append(relpath)
                return
            if not options.force:
                if relpath not in self.files:
                    report.protected.append((relpath, "exists and was not written by the importer (use --force to replace it)"))
                    return
                if self.files[relpath] != current:
                    report.protected.append((relpath, "edited since the last import (use --force to overwrite)"))
                    return
        report.written.append(relpath)
        if options.dry_run:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
        self.files[relpath] = new

    def save(self) -> None:
        data = {"source": "Blogger", "files": dict(sorted(self.files.items())),
                "images": dict(sorted(self.images.items())), "held_comments": self.held_comments,
                "pending_comments": self.pending_comments}
        self.content.mkdir(parents=True, exist_ok=True)
        (self.content / MANIFEST).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
