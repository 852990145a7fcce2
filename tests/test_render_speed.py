"""Rendering work done once and reused (plugins/fastbuild/render.py): the same bytes as doing it every time."""

from __future__ import annotations

import io
import os
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


def _compiles(monkeypatch) -> list:
    import jinja2

    compiled = []
    plain = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return plain(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return compiled


def test_compiled_templates_outlive_a_cold_build_and_follow_the_code(site, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    write_posts(site, count=6)
    compiled = _compiles(monkeypatch)
    site.build(**FAST, CACHE_PATH=str(tmp_path / "cache-1"))
    assert "article.html" in compiled
    assert list((tmp_path / "user-cache" / "blogkit" / "jinja").glob("*.cache"))
    compiled.clear()
    site.build(**FAST, CACHE_PATH=str(tmp_path / "cache-2"))  # cold again: no CACHE_PATH, no output
    assert compiled == []  # every template from the kept bytecode
    assert_same_as_serial_clean_build(site, tmp_path, "kept-bytecode")

    # Our code changed (here: the digest of it that names the files): compiled afresh.
    monkeypatch.setattr(render.rendermemo, "code_digest", lambda settings: "other code")
    site.build(**FAST, CACHE_PATH=str(tmp_path / "cache-3"))
    assert "article.html" in compiled


def test_what_a_compiled_template_depends_on_names_its_bytecode():
    import jinja2

    from plugins.fastbuild.sitewide import SitewideExtension

    def digest(**options):
        extensions = options.pop("extensions", [])
        filters = options.pop("filters", {})
        env = jinja2.Environment(extensions=extensions, **options)
        env.filters.update(filters)
        return render.environment_digest(env, options.pop("code", "code"))

    base = digest()
    assert digest() == base
    assert digest(trim_blocks=True) != base
    assert digest(extensions=[SitewideExtension]) != base
    assert render.environment_digest(jinja2.Environment(), "changed code") != base
    assert digest(filters={"shout": str.upper}) != base
    assert digest(filters={"shout": jinja2.pass_context(lambda context, value: value)}) != digest(filters={"shout": str.upper})
    assert digest(autoescape=True) != base


def test_a_bytecode_folder_that_cannot_be_written_is_no_error(site, tmp_path, monkeypatch):
    blocked = tmp_path / "user-cache"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    write_posts(site, count=3)
    site.build(**FAST)
    assert "Post number 2" in site.read("index.html")


def test_each_url_is_worked_out_once_from_the_end_of_reading_to_the_runs_end(site, tmp_path, monkeypatch):
    # The search plugin's list of published pages, the writer and the sitemap (at finalized) ask
    # for every post's url and save_as again; Pelican formats them afresh each time (a copy of the
    # metadata, a relative path, the date's strftime), about 0.1 ms a call.
    from pelican.contents import Content

    plain, calls = Content.get_url_setting, {}

    def get_url_setting(self, key):
        calls[(self.source_path, key)] = calls.get((self.source_path, key), 0) + 1
        return plain(self, key)

    monkeypatch.setattr(Content, "get_url_setting", get_url_setting)
    write_posts(site)
    site.build(**FAST)
    posts = {path for path, key in calls if path.endswith(".md")}
    assert len(posts) > 3
    for path in posts:
        # save_as: Pelican's check that it stays inside the output (while reading), then once; url: once.
        assert calls[(path, "save_as")] == 2 and calls[(path, "url")] == 1, (path, calls[(path, "save_as")], calls[(path, "url")])
    assert render._url_state["original"] is None  # given back when the run ended


def test_each_date_and_format_is_formatted_once_while_pages_are_written(site, monkeypatch):
    # Every post's date is formatted on its page, in each list and feed it is in, in its URL and
    # in the sitemap: Pelican's strftime (two regexes a call) ran some 19,000 times at 1,000 posts.
    from pelican import utils

    plain, calls = utils.strftime, {}

    def strftime(date, date_format):
        if render._url_state["original"] is not None:  # the memo is on (and asks this on a miss only)
            calls[(date, date_format)] = calls.get((date, date_format), 0) + 1
        return plain(date, date_format)

    monkeypatch.setattr(utils, "strftime", strftime)
    write_posts(site)
    site.build(**FAST)  # lists and feeds in this process: the forked children keep memos of their own
    assert len(calls) > 10
    assert max(calls.values()) == 1, max(calls.items(), key=lambda item: item[1])
    assert utils.strftime is strftime  # given back when the run ended


def test_the_date_memo_tells_apart_what_changes_the_text():
    from datetime import date, tzinfo
    from zoneinfo import ZoneInfo

    from pelican.utils import SafeDatetime, strftime

    class NoHash(tzinfo):  # a time zone that cannot be hashed: formatted every time
        __hash__ = None

        def utcoffset(self, _dt):
            return timezone.utc.utcoffset(None)

        def tzname(self, _dt):
            return "NOHASH"

        def dst(self, _dt):
            return None

    memoised = render._memoised_strftime(strftime)
    utc = datetime(2007, 1, 11, 15, 10, tzinfo=timezone.utc)
    sao_paulo = utc.astimezone(ZoneInfo("America/Sao_Paulo"))  # the same instant: equal, and hashed alike
    assert utc == sao_paulo and hash(utc) == hash(sao_paulo)
    ambiguous = SafeDatetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    dates = [utc, sao_paulo, SafeDatetime(2007, 1, 11, 7, 10), date(2007, 1, 11), ambiguous, ambiguous.replace(fold=1),
             datetime(2007, 1, 11, 7, 10, tzinfo=NoHash())]
    for _ in range(2):  # the second round answers from the memo
        for when in dates:
            for date_format in ("%-I:%M %p %Z", "%A, %B %-d, %Y", "%z"):
                assert memoised(when, date_format) == strftime(when, date_format), (when, date_format)
    assert memoised(utc, "%H") != memoised(sao_paulo, "%H")
    assert memoised(ambiguous, "%z") != memoised(ambiguous.replace(fold=1), "%z")


def test_each_pages_folder_is_made_by_the_process_that_writes_it(site, tmp_path, monkeypatch):
    # Made one by one before the writer forks, the pages' folders were half of what this process
    # did there: each is made with its first page instead, on whichever core renders it.
    from blogkit import runhooks
    from plugins.fastbuild import write

    plain, seen = write.render_parallel, {}

    def render_parallel(jobs, *args, **kwargs):
        pages = [path for path, template, _ in jobs if not isinstance(template, write._Feed)]
        seen["folders"] = {os.path.dirname(path) for path in pages}
        seen["made"] = {folder for folder in seen["folders"] if os.path.isdir(folder)}
        seen["staging"] = runhooks.current().staging
        return plain(jobs, *args, **kwargs)

    monkeypatch.setattr(write, "render_parallel", render_parallel)
    write_posts(site, count=8)
    site.build(**FAST)
    assert len(seen["folders"]) > 8  # the posts' own folders, the tags', the archives'...
    # Before the fork only the folder of the first page rendered exists, with its parents (one
    # chain of folders); the output has every folder, its page in it.
    deepest = max(seen["made"], key=len)
    assert all(deepest.startswith(folder) for folder in seen["made"]), sorted(seen["made"])
    assert len(seen["made"]) < len(seen["folders"]) / 2
    assert all(os.listdir(site.output / os.path.relpath(folder, seen["staging"])) for folder in seen["folders"])


def test_no_feed_file_is_made_before_the_flush_writes_it(site, tmp_path, monkeypatch):
    # Claiming a feed's path used to create an empty file at once: an imported blog's 1,638 tag
    # feeds were as many file creations before the render, on one core.
    from plugins.fastbuild import write

    plain, seen = write.render_parallel, {}

    def render_parallel(jobs, workers, own=(), before_own=0):
        feeds = [path for path, template, _ in [*jobs, *own] if isinstance(template, write._Feed)]
        seen["feeds"], seen["there"] = feeds, [path for path in feeds if os.path.exists(path)]
        return plain(jobs, workers, own, before_own)

    monkeypatch.setattr(write, "render_parallel", render_parallel)
    write_posts(site, count=8)
    site.build(**FAST)
    assert len(seen["feeds"]) > 4 and seen["there"] == []
    assert all((site.output / "feeds" / name).stat().st_size > 0 for name in ("all.atom.xml", "all.rss.xml"))
