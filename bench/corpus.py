"""Generate deterministic benchmark corpora: N posts of ~800 words, a code block, tags, a category.

    uv run python bench/corpus.py            # 100, 1000 and 5000 posts into bench/corpora/
    uv run python bench/corpus.py 1000       # just one size

The same size always produces the same bytes (a seeded RNG, fixed dates), so
runs on different days and machines compare like with like. Each corpus is a
Pelican content folder (posts/YYYY/*.md, pages/about.md) and the Hugo run
converts the very same files (see build_speed.py).
"""

from __future__ import annotations

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


# What a bench run built is moved here, not deleted, and deleted only when bench/build_speed.py starts
# and ends (or by hand: `rm -rf bench/corpora/.moved-aside`). On this machine's disk (ext4 without a
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


def empty_set_aside() -> None:
    """Delete what the bench runs set aside (outside any timed run)."""
    shutil.rmtree(SET_ASIDE, ignore_errors=True)


def generate(size: int, root: Path = CORPORA) -> Path:
    """Write the corpus of `size` posts into root/posts-<size>/ (replacing it) and return its path."""
    target = root / f"posts-{size}"
    if target.exists():
        shutil.rmtree(target)
    rng = random.Random(20070111 + size)
    start = datetime(2007, 1, 11, 9, 0)
    for index in range(size):
        rel, text = post(rng, index, start)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (target / "pages").mkdir(parents=True, exist_ok=True)
    (target / "pages" / "about.md").write_text("Title: About\nSlug: about\n\nAbout this benchmark blog.\n", encoding="utf-8")
    return target


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or list(SIZES)
    for size in sizes:
        print(f"wrote {generate(size)}")


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
