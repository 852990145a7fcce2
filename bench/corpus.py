"""Generate deterministic benchmark corpora: N posts of ~800 words, a code block, tags, a category.

    uv run python bench/corpus.py            # 100, 1000 and 5000 posts into bench/corpora/
    uv run python bench/corpus.py 1000       # just one size
    uv run python bench/corpus.py 1000 --imported   # shaped like an imported Blogger blog (see SHAPES)

The same size always produces the same bytes (a seeded RNG, fixed dates), so
runs on different days and machines compare like with like. Each corpus is a
Pelican content folder (posts/YYYY/*.md, pages/about.md) and the Hugo run
converts the very same files (see build_speed.py).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora"
SIZES = (100, 1000, 5000)
WORDS_PER_POST = 800

WORDS = (
    "server database client backup network firewall invoice meeting proposal budget "
    "migration outage upgrade license support ticket contract vendor warranty storage "
    "the a of to and in that is for it with as on was be by this are or from at have "
    "not but they which one you all we can more their has been if will there so about "
    "what when up out them would some could into time only other than then its also "
    "consultant system business risk cost value price quality owner process customer "
    "recovery security password router switch cable rack cloud email domain website"
).split()
TAGS = [f"Label {n}" for n in range(1, 41)] + ["Sales", "Clients", "Backups", "Networks", "Security & Risk"]
CATEGORIES = ["Consulting", "Technology", "Business", "Stories", "Howto"]
LANGS = {
    "python": 'def handle(ticket):\n    """Close a ticket once the client confirms."""\n    if ticket.confirmed:\n        ticket.close()\n    return ticket.status\n',
    "bash": 'for host in web1 web2 db1; do\n  ssh "$host" uptime || echo "$host is down" >&2\ndone\n',
    "sql": "SELECT client, SUM(amount) AS total\nFROM invoices\nWHERE paid = 0\nGROUP BY client\nORDER BY total DESC;\n",
    "javascript": "function total(items) {\n  return items.reduce((sum, item) => sum + item.price, 0);\n}\nconsole.log(total([{price: 200}]));\n",
}


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, words: int) -> str:
    out, left = [], words
    while left > 0:
        n = min(left, rng.randint(8, 20))
        sentence = _sentence(rng, n)
        if rng.random() < 0.1:
            sentence = sentence.replace(" ", " *", 1).replace(" ", "* ", 2).replace("* ", " ", 1)
        out.append(sentence)
        left -= n
    return " ".join(out)


def post(rng: random.Random, index: int, start: datetime) -> tuple[str, str]:
    """Return (relative path, Markdown text) of post number `index`."""
    date = start + timedelta(hours=19 * index + rng.randint(0, 12))
    title = f"Post {index}: " + _sentence(rng, rng.randint(3, 7))[:-1]
    slug = f"post-{index}"
    tags = ", ".join(sorted(rng.sample(TAGS, rng.randint(1, 4))))
    lang = rng.choice(sorted(LANGS))
    summary = _sentence(rng, 20)
    paragraphs = [_paragraph(rng, rng.randint(60, 110)) for _ in range(9)]
    code = f"```{lang}\n{LANGS[lang]}```"
    body = "\n\n".join(paragraphs[:3] + ["## " + _sentence(rng, 4)[:-1], code] + paragraphs[3:])
    text = (
        f"Title: {title}\nDate: {date:%Y-%m-%d %H:%M}\nSlug: {slug}\n"
        f"Category: {rng.choice(CATEGORIES)}\nTags: {tags}\nSummary: {summary}\n\n{body}\n"
    )
    return f"posts/{date:%Y}/{slug}.md", text


# What a bench run built is moved here, not deleted, and deleted only when bench/build_speed.py ends
# (or by hand: `rm -rf bench/corpora/.moved-aside`); what earlier runs left is moved aside again when
# it starts and deleted with the rest at its end, since a deletion slows the timed builds after it
# for minutes (3,000 files: 0.10 s to create before deleting 316,000 files, 0.85 s two minutes after,
# 0.10 s again after seven, 2026-12-03). On this machine's disk (ext4 without a
# journal) creating a file scans past the inodes freed in the last minutes (the kernel's
# recently_deleted(); `perf record` puts 70 % of file creation there), so a build right after another
# was deleted paid for that deletion: 3,000 files took 2.1-3.1 s to create after each deletion,
# 0.16-0.23 s with each set aside. A journaled disk (the author's, a CI runner's) never does this.
SET_ASIDE = CORPORA / ".moved-aside"


def set_aside(path: Path) -> None:
    """Move a built folder out of the way without deleting it (see SET_ASIDE)."""
    if path.exists():
        SET_ASIDE.mkdir(parents=True, exist_ok=True)
        path.rename(SET_ASIDE / f"{path.parent.name}-{path.name}-{time.monotonic_ns()}")


def stash_set_aside() -> None:
    """Move what earlier runs set aside out of the way, to be deleted by empty_set_aside after the timed runs."""
    if SET_ASIDE.exists():
        SET_ASIDE.rename(CORPORA / f"{SET_ASIDE.name}-earlier-{time.monotonic_ns()}")


def empty_set_aside() -> None:
    """Delete what the bench runs set aside (outside any timed run)."""
    for folder in [SET_ASIDE, *CORPORA.glob(f"{SET_ASIDE.name}-earlier-*")]:
        shutil.rmtree(folder, ignore_errors=True)


# "imported": shaped like a blog brought across by `invoke import-blogger` (the ninth session built the
# real murilo.xml: 246 posts, 817 labels, no Summary lines): the same bodies, but no Summary line and no
# category; an Author and a Modified line; two to ten labels a post, one to four of the 45 common ones and
# one to six from a long tail (2,644 labels at 1,000 posts, most on one or two posts, as on Blogger);
# archived comments (content/comments/, as the importer writes them) on three posts in ten, some replies.
SHAPES = ("generated", "imported")
NAMES = ["Anonymous", "Ana", "Bruno", "Carla", "Diego", "Elena", "Farid", "Grace"]


def folder(size: int, shape: str = "generated", root: Path = CORPORA) -> Path:
    """Where the corpus of `size` posts of this shape lives."""
    return root / (f"posts-{size}" if shape == "generated" else f"{shape}-{size}")


def imported(rng: random.Random, index: int, start: datetime, size: int) -> tuple[str, str, dict | None]:
    """Return (relative path, Markdown text, comments file or None) of post `index`, shaped as an import."""
    rel, text = post(rng, index, start)
    head, body = text.split("\n\n", 1)
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    date = datetime.strptime(meta["Date"], "%Y-%m-%d %H:%M")
    common = rng.sample(TAGS, rng.randint(1, 4))
    tail = [f"Topic {rng.randrange(6 * size)}" for _ in range(rng.randint(1, 6))]
    head = (f"Title: {meta['Title']}\nDate: {meta['Date']}\nModified: {date + timedelta(days=rng.randint(0, 400)):%Y-%m-%d %H:%M}\n"
            f"Author: The Consultant\nTags: {', '.join(sorted(set(common + tail)))}\nSlug: {meta['Slug']}")
    rel = f"posts/{date:%Y}/{date:%m}/{meta['Slug']}.md"
    comments = None
    if rng.random() < 0.3:
        items = []
        for n in range(1, rng.randint(1, 6) + 1):
            parent = f"c{rng.randint(1, n - 1)}" if n > 1 and rng.random() < 0.2 else None
            when = date + timedelta(hours=rng.randint(1, 2000))
            items.append({"id": f"c{n}", "parent": parent, "author": rng.choice(NAMES), "url": None,
                          "date": f"{when:%Y-%m-%dT%H:%M:00}-05:00", "body": f"<p>{_sentence(rng, rng.randint(6, 30))}</p>"})
        comments = {"post": f"{date:%Y}/{date:%m}/{meta['Slug']}.html", "source": "Blogger", "comments": items}
    return rel, f"{head}\n\n{body}", comments


def generate(size: int, root: Path = CORPORA, shape: str = "generated") -> Path:
    """Write the corpus of `size` posts of this shape into its folder under root (replacing it) and return its path."""
    target = folder(size, shape, root)
    if target.exists():
        shutil.rmtree(target)
    rng = random.Random(20070111 + size)
    start = datetime(2007, 1, 11, 9, 0)
    for index in range(size):
        if shape == "imported":
            rel, text, comments = imported(rng, index, start, size)
            if comments:
                path = target / "comments" / comments["post"].replace(".html", ".json")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(comments, indent=2), encoding="utf-8")
        else:
            rel, text = post(rng, index, start)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (target / "pages").mkdir(parents=True, exist_ok=True)
    (target / "pages" / "about.md").write_text("Title: About\nSlug: about\n\nAbout this benchmark blog.\n", encoding="utf-8")
    return target


def main(argv: list[str]) -> None:
    shape = "imported" if "--imported" in argv else "generated"
    sizes = [int(a) for a in argv if a != "--imported"] or list(SIZES)
    for size in sizes:
        print(f"wrote {generate(size, shape=shape)}")


if __name__ == "__main__":
    main(sys.argv[1:])


# What bench/build_speed.py and bench/profile_build.py run as "vanilla": the pelican command's defaults,
# no plugins, no cache.
VANILLA_SETTINGS = """
AUTHOR = "The Consultant"
SITENAME = "Consulting Notes"
TIMEZONE = "America/New_York"
ARTICLE_PATHS = ["posts"]
PAGE_PATHS = ["pages"]
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""
