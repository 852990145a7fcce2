"""Rendering work done once and reused (plugins/fastbuild/render.py): the same bytes as doing it every time."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed

from plugins.fastbuild import render
from test_fast_build import FAST, assert_same_as_serial_clean_build, write_posts


def _feed(cls, title: str, items: list[dict]):
    feed = cls(title=title, link="https://example.com/", description="A blog", feed_url=f"https://example.com/{title}.xml")
    for item in items:
        feed.add_item(**item)
    return feed


def _written(feed) -> str:
    out = io.StringIO()
    feed.write(out, "utf-8")
    return out.getvalue()


ITEMS = [
    {"title": f"Post {n} & more", "link": f"https://example.com/post-{n}.html", "description": f"<p>Summary {n}</p>",
     "content": f"<p>Body {n} <b>bold</b> &amp; <code>x < y</code></p>" * 5, "categories": ["Sales", f"Tag {n}"],
     "author_name": "Ana", "pubdate": datetime(2020, 1, 1 + n, 9, tzinfo=timezone.utc), "unique_id": f"tag:example.com,2020:post-{n}"}
    for n in range(6)
]


def test_feed_items_written_once_give_the_same_feeds():
    for cls in (Atom1Feed, Rss201rev2Feed):
        # Three feeds sharing items in different orders, one item without a date (Atom dates it
        # now: written as before), one with an enclosure (cannot be hashed: written as before).
        undated = {**ITEMS[0], "pubdate": None, "link": "https://example.com/undated.html"}
        enclosed = {**ITEMS[1], "enclosures": [Enclosure("https://example.com/a.mp3", "10", "audio/mpeg")]}
        feeds = [ITEMS[:4], ITEMS[2:] + [enclosed], ITEMS[::-1] + [undated] if cls is Rss201rev2Feed else ITEMS[::-1]]
        plain = [_written(_feed(cls, f"f{n}", items)) for n, items in enumerate(feeds)]
        memo = render.new_feed_memo()
        memoised = []
        for n, items in enumerate(feeds):
            feed = _feed(cls, f"f{n}", items)
            render.memoise_feed_items(feed, memo)
            memoised.append(_written(feed))
        assert memoised == plain, cls
        assert render.feed_stats == {"written": 6, "reused": 8}  # each dated item of plain values once


def test_a_feed_class_whose_items_read_the_feed_is_written_as_before():
    class Titled(Atom1Feed):
        def add_item_elements(self, handler, item):
            super().add_item_elements(handler, item)
            handler.addQuickElement("source", self.feed["title"])  # the feed's own value in each item

    memo = render.new_feed_memo()
    texts = []
    for title in ("one", "two"):
        feed = _feed(Titled, title, ITEMS[:2])
        render.memoise_feed_items(feed, memo)
        texts.append(_written(feed))
    assert "<source>one</source>" in texts[0] and "<source>two</source>" in texts[1]
    assert render.feed_stats == {"written": 0, "reused": 0}


def test_a_post_in_several_feeds_is_written_once_and_the_feeds_equal_a_serial_build(site, tmp_path):
    write_posts(site)  # tags shared by many posts: each post is in the site's, its category's and its tags' feeds
    site.build(**FAST)
    assert render.feed_stats["written"] > 0
    assert render.feed_stats["reused"] > render.feed_stats["written"]
    assert_same_as_serial_clean_build(site, tmp_path, "feeds")
