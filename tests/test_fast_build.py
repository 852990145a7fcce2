"""The fast path (worker pool, forked rendering, content cache, memoised templates)
writes exactly the bytes a plain serial clean build writes."""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import datetime
from pathlib import Path

import jinja2
import pytest

from blogkit.build import ROOT, BuildError, build, load_settings
from conftest import snapshot
from plugins.fastbuild import read as fastread, write as fastwrite

# The Pagefind index is made from the written pages these tests compare, by a
# program of its own (tested in test_search.py), so it is off here.
NO_INDEX = {"SEARCH": {**load_settings().get("SEARCH", {}), "index": False}}
# The fixture site is small, so tell the pool to start anyway.
FAST = {"FASTBUILD": {"workers": 2, "min_sources": 0}, **NO_INDEX}
SERIAL = {"FASTBUILD": {"enabled": False}, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, **NO_INDEX}

CODE = {
    "python": "def total(items):\n    return sum(i.price for i in items)\n",
    "bash": "for h in web1 db1; do ssh \"$h\" uptime; done\n",
    "sql": "SELECT client, SUM(amount) FROM invoices GROUP BY client;\n",
}


def write_posts(site, count: int = 14) -> None:
    """Posts across years and months, with tags, categories, summaries and code."""
    langs = sorted(CODE)
    for n in range(count):
        lang = langs[n % len(langs)]
        body = (
            f"First paragraph of post {n} with *emphasis* and a [link](https://example.com/{n}).\n\n"
            f"## A heading in post {n}\n\n```{lang}\n{CODE[lang]}```\n\n"
            f"- one\n- two\n\nLast paragraph of post {n}.[^note]\n\n[^note]: A footnote.\n"
        )
        site.post(
            f"post-{n}", title=f"Post number {n}", date=f"{2007 + n // 5}-{1 + n % 12:02d}-{1 + n:02d} 09:00",
            body=body, category=["Consulting", "Technology"][n % 2],
            tags=", ".join(["Sales", "Clients", "Security & Risk", "Backups"][: 1 + n % 4]),
            summary=f"Summary of *post* {n}.",
        )
    site.write("pages/about.md", "Title: About\nSlug: about\n\nAbout this blog.\n")


def tree(folder: Path) -> dict[str, bytes]:
    files = snapshot(folder)
    if "sitemap.xml" in files:
        # pelican-sitemap dates index pages and undated pages with the time of the build
        # (datetime.now()), so two builds differ there whatever path they take.
        today = datetime.now().strftime("%Y-%m-%d").encode()
        files["sitemap.xml"] = re.sub(rb"<lastmod>" + today + rb"T[^<]*</lastmod>", b"<lastmod>(build time)</lastmod>", files["sitemap.xml"])
    return files


@pytest.fixture
def preview():
    """A preview server in this process, as `invoke livereload` runs one: the hot path is kept only then."""
    from blogkit import runhooks

    runhooks.attach_preview(lambda: set(), lambda rels: None)
    yield
    runhooks.detach_preview()


def assert_same_as_serial_clean_build(site, tmp_path, name: str) -> None:
    """Build the same sources serially from nothing and compare every file's bytes."""
    from plugins.fastbuild import hot

    hot.wait()  # the hot path's feeds follow its pages in a thread
    reference = tmp_path / f"reference-{name}"
    build(ROOT / "pelicanconf.py", reference,
          site.overrides(CACHE_PATH=str(tmp_path / f"cache-{name}"), **SERIAL))
    fast, clean = tree(site.output), tree(reference)
    assert sorted(fast) == sorted(clean), "the fast build wrote a different set of files"
    different = [path for path in clean if fast[path] != clean[path]]
    assert different == [], f"files differ from a serial clean build: {different[:5]}"


def test_fast_build_is_byte_identical_cold_and_after_edit_rename_delete(site, tmp_path):
    write_posts(site)

    site.build(**FAST)  # cold: no cache, no output
    assert fastread.stats["parsed_in_workers"] == 15  # 14 posts + the About page
    assert fastread.stats["early_start"] is True  # cold: the pool started at Pelican's `initialized`
    assert fastwrite.stats["rendered_in_children"] > 0
    assert_same_as_serial_clean_build(site, tmp_path, "cold")

    # An edit: the warm content cache serves the other posts; only this one is parsed again.
    path = site.content / "posts" / "post-3.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Last paragraph", "An edited last paragraph"), encoding="utf-8")
    os.utime(path, (path.stat().st_mtime + 5,) * 2)  # mtime-based cache: make the change visible
    site.build(**FAST)
    assert fastread.stats["parsed_in_workers"] == 1
    assert fastread.stats["early_start"] is False  # a cache to load: the generators decide what is parsed
    # Incremental rendering: the edited post's page, the lists and feeds that show it are
    # rendered again; every other page is linked from the last build.
    assert 0 < fastwrite.stats["rendered"] < fastwrite.stats["reused"]
    assert "An edited last paragraph" in site.read("2007/04/post-3.html")
    assert_same_as_serial_clean_build(site, tmp_path, "edit")

    # A rename: new file name and slug; the old page must be gone.
    text = (site.content / "posts" / "post-5.md").read_text(encoding="utf-8")
    (site.content / "posts" / "post-5.md").unlink()
    site.write("posts/renamed.md", text.replace("Slug: post-5", "Slug: renamed-post"))
    site.build(**FAST)
    assert fastwrite.stats["reused"] == 0  # the site's structure changed: every page is rendered
    assert not (site.output / "2008/06/post-5.html").exists()
    assert (site.output / "2008/06/renamed-post.html").exists()
    assert_same_as_serial_clean_build(site, tmp_path, "rename")

    # A deletion.
    (site.content / "posts" / "post-9.md").unlink()
    site.build(**FAST)
    assert not (site.output / "2008/10/post-9.html").exists()
    assert_same_as_serial_clean_build(site, tmp_path, "delete")


def edit(path: Path, old: str, new: str) -> None:
    """Change a source file so that the mtime-based content cache sees it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, (path.stat().st_mtime + 5,) * 2)


def test_incremental_rendering_follows_every_kind_of_change(site, tmp_path):
    """Each change re-renders what shows it, and the site stays byte-identical to a clean build."""
    write_posts(site, count=12)
    # A post whose summary comes from its body, so lists and feeds show its first words.
    site.post("no-summary", title="No summary", date="2008-02-20 09:00", body="Opening words.\n\nMore text.",
              tags="Sales", category="Consulting")
    site.build(**FAST)
    total = fastwrite.stats["rendered"]

    # An edit in the part of the body the summary shows: the index, tag and period pages change.
    edit(site.content / "posts" / "no-summary.md", "Opening words.", "Edited opening words.")
    site.build(**FAST)
    assert 0 < fastwrite.stats["rendered"] < total and fastwrite.stats["reused"] > 0
    assert "Edited opening words." in site.read("search/label/sales.html")
    assert_same_as_serial_clean_build(site, tmp_path, "summary-edit")

    # A title: every page's sidebar may show it, so every page is rendered.
    edit(site.content / "posts" / "post-2.md", "Title: Post number 2", "Title: Post number two")
    site.build(**FAST)
    assert fastwrite.stats["reused"] == 0
    assert_same_as_serial_clean_build(site, tmp_path, "title-edit")

    # A template: every page.
    site.build(**FAST)
    assert fastwrite.stats["rendered"] == 0  # nothing changed, nothing rendered
    theme = tmp_path / "theme"
    import shutil

    shutil.copytree(ROOT / "theme", theme)
    footer = theme / "templates" / "partials" / "footer.html"
    footer.write_text(footer.read_text(encoding="utf-8") + "<!-- edited -->\n", encoding="utf-8")
    site.build(THEME=str(theme), **FAST)
    assert fastwrite.stats["reused"] == 0  # a new THEME is a new settings fingerprint: a cache of its own
    edit(footer, "<!-- edited -->", "<!-- edited again -->")
    site.build(THEME=str(theme), **FAST)
    assert fastwrite.stats["reused"] == 0 and "edited again" in site.read("index.html")

    # A page of the output changed by hand is not trusted: it is rendered again.
    site.build(THEME=str(theme), **FAST)
    assert fastwrite.stats["rendered"] == 0
    (site.output / "2007" / "02" / "post-1.html").write_text("changed by hand", encoding="utf-8")
    site.build(THEME=str(theme), **FAST)
    assert fastwrite.stats["rendered"] == 1
    assert "Post number 1" in site.read("2007/02/post-1.html")


def test_a_fresh_process_reuses_the_pages_of_the_last_one(site):
    """`invoke build` is a new process each time, with its own hash seed (set order)."""
    import json
    import subprocess
    import sys

    write_posts(site, count=8)
    code = (
        "import json, sys; from plugins.fastbuild import write as fastwrite; from blogkit.build import build; "
        "build('pelicanconf.py', sys.argv[1], json.loads(sys.argv[2])); print(json.dumps(fastwrite.stats))"
    )
    overrides = json.dumps(site.overrides(**FAST))
    runs = []
    for seed in ("1", "2"):
        run = subprocess.run([sys.executable, "-c", code, str(site.output), overrides], cwd=ROOT, capture_output=True,
                             text=True, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=300)
        assert run.returncode == 0, run.stderr
        runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert runs[0]["reused"] == 0 and runs[1]["rendered"] == 0 and runs[1]["reused"] == runs[0]["rendered"]


def test_a_page_written_over_a_reused_one_never_writes_through_the_link(site):
    """A Save_as over a generated page is that path's last writer: linked when unchanged, else a new file."""
    write_posts(site, count=4)
    site.write("pages/sales.md", "Title: Sales\nSave_as: search/label/sales.html\n\nOur own Sales page.\n")
    site.build(**FAST)
    held = site.base / "held-link.html"
    os.link(site.output / "search/label/sales.html", held)  # the last build's file, as the live site has it
    site.build(**FAST)  # nothing changed: every page is linked, the Save_as one too
    assert fastwrite.stats["rendered"] == 0
    assert "Our own Sales page." in site.read("search/label/sales.html")
    site.write("pages/sales.md", "Title: Sales\nSave_as: search/label/sales.html\n\nOur new Sales page.\n")
    site.build(**FAST)
    assert "Our new Sales page." in site.read("search/label/sales.html")
    assert "Our own Sales page." in held.read_text(encoding="utf-8")  # the last build's file was not written through
    assert os.stat(held).st_ino != os.stat(site.output / "search/label/sales.html").st_ino


def test_publishing_builds_never_reuse_pages(site):
    """publishconf.py turns LOAD_CONTENT_CACHE off: a production build renders everything."""
    write_posts(site, count=4)
    site.build(**FAST)
    site.build(**FAST, LOAD_CONTENT_CACHE=False)
    assert fastwrite.stats["reused"] == 0 and fastwrite.stats["rendered"] > 0


class Opaque:
    """A value with no state to hash: its repr is a memory address."""

    __slots__ = ()


def test_a_value_that_cannot_be_hashed_stably_means_rendering_everything(site):
    """An object in the settings whose repr holds a memory address could change unseen."""
    write_posts(site, count=4)
    site.build(**FAST, OPAQUE_THING=Opaque())
    site.build(**FAST, OPAQUE_THING=Opaque())
    assert fastwrite.stats["reused"] == 0 and fastwrite.stats["rendered"] > 0


def test_a_changed_jinja_filter_means_rendering_everything(site, tmp_path, monkeypatch):
    """A filter is in the settings by name only; the file it is written in counts too."""
    import importlib

    module = tmp_path / "blog_filters.py"
    module.write_text("def shout(text):\n    return text.upper()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import blog_filters

    write_posts(site, count=4)
    site.build(JINJA_FILTERS={"shout": blog_filters.shout}, **FAST)
    site.build(JINJA_FILTERS={"shout": blog_filters.shout}, **FAST)
    assert fastwrite.stats["rendered"] == 0
    module.write_text("def shout(text):\n    return text.upper() + '!'\n", encoding="utf-8")
    importlib.reload(blog_filters)
    site.build(JINJA_FILTERS={"shout": blog_filters.shout}, **FAST)
    assert fastwrite.stats["reused"] == 0 and fastwrite.stats["rendered"] > 0


def test_bodies_read_in_python_are_tracked(site):
    """The feed writer reads get_content() outside Jinja; a feed must follow a body edit."""
    write_posts(site, count=4)
    site.build(**FAST)
    edit(site.content / "posts" / "post-0.md", "Last paragraph of post 0", "A changed last paragraph")
    site.build(**FAST)
    assert "A changed last paragraph" in site.read("feeds/all.atom.xml")
    assert fastwrite.stats["reused"] > 0


def test_real_settings_enable_the_fast_path(site, tmp_path):
    """pelicanconf.py lists the plugin; its defaults keep tiny sites serial."""
    write_posts(site, count=3)
    site.build(**NO_INDEX)
    assert fastread.stats["parsed_in_workers"] == 0  # under min_sources: no pool for 4 files
    assert_same_as_serial_clean_build(site, tmp_path, "small")


def test_pelicans_list_searches_give_the_same_lists_in_one_pass(site, tmp_path, monkeypatch):
    """linear.py: the period archives and each tag's, category's and author's dates equal Pelican's own."""
    from pelican.generators import ArticlesGenerator

    from plugins.fastbuild import linear

    write_posts(site, count=30)
    seen = []
    install = linear.install
    monkeypatch.setattr(linear, "install", lambda generator: (seen.append(generator), install(generator)))
    site.build(**FAST)
    generator = seen[-1]
    assert "_build_period_archives" in vars(generator) and "generate_tags" in vars(generator)  # ours ran
    pelicans = ArticlesGenerator._build_period_archives(generator, generator.dates, generator.articles,
                                                        generator.settings)
    ours = generator.period_archives
    assert set(ours) == set(pelicans) == {"year", "month"}
    for granularity in pelicans:
        assert [a["articles"] for a in ours[granularity]] == [a["articles"] for a in pelicans[granularity]]
        assert [a["save_as"] for a in ours[granularity]] == [a["save_as"] for a in pelicans[granularity]]
    lists = [articles for _, articles in generator.tags.items()] + [articles for _, articles in generator.categories]
    lists.append(lists[0] + lists[0][:2])  # a post twice in one list is listed once, as Pelican's search does
    found = linear.subsets_in_order(generator.dates, lists)
    for articles in lists:
        assert found[id(articles)] == [a for a in generator.dates if a in articles]
    assert_same_as_serial_clean_build(site, tmp_path, "linear")


def test_bad_post_fails_the_fast_build_like_the_serial_one(site, tmp_path):
    """A file a worker cannot parse is read again serially, so the error is Pelican's own."""
    write_posts(site, count=6)
    site.write("posts/broken.md", b"Title: Broken\nDate: 2020-01-01\n\n\xff\xfe not UTF-8\n")
    with pytest.raises(BuildError) as fast:
        site.build(**FAST)
    with pytest.raises(BuildError) as serial:
        build(ROOT / "pelicanconf.py", tmp_path / "serial-out", site.overrides(CACHE_PATH=str(tmp_path / "c"), **SERIAL))
    assert [str(p) for p in fast.value.problems] == [str(p) for p in serial.value.problems]
    assert "broken.md" in str(fast.value)
    assert not site.output.exists()  # nothing half-written


def with_test_plugin(tmp_path, name: str, source: str) -> dict:
    """Settings that add the plugin `name` (its __init__.py is source, written under tmp_path) to the site's own."""
    plugins = tmp_path / "test-plugins"
    (plugins / name).mkdir(parents=True)
    (plugins / name / "__init__.py").write_text(source, encoding="utf-8")
    settings = load_settings()
    return {"PLUGIN_PATHS": [*settings["PLUGIN_PATHS"], str(plugins)], "PLUGINS": [*settings["PLUGINS"], name]}


PERMALINKS = """
from pelican import signals


def permalinks(pelican):
    # A plugin that changes the Markdown options when Pelican is initialized, after the pool started.
    configs = pelican.settings["MARKDOWN"]["extension_configs"]
    configs["markdown.extensions.toc"] = {**configs["markdown.extensions.toc"], "permalink": True}


def register():
    signals.initialized.connect(permalinks)
"""


def test_markdown_options_changed_after_the_early_start_are_the_ones_used(site, tmp_path):
    """The pool starts at `initialized`; a plugin changing MARKDOWN later must not get the old options."""
    with_plugin = with_test_plugin(tmp_path, "permalinks", PERMALINKS)
    write_posts(site, count=6)
    site.build(**FAST, **with_plugin)
    assert fastread.stats["parsed_in_workers"] == 7
    assert 'class="headerlink"' in site.read("2007/02/post-1.html")  # the changed option's mark
    build(ROOT / "pelicanconf.py", tmp_path / "reference",
          site.overrides(CACHE_PATH=str(tmp_path / "serial-cache"), **SERIAL, **with_plugin))
    assert tree(site.output) == tree(tmp_path / "reference")


def test_a_source_saved_after_its_worker_parsed_it_is_read_again(site):
    """A worker's result for a file saved since it read it is not used: Pelican reads the file itself."""
    settings = load_settings(overrides=site.overrides())
    path = site.post("saved", body="The first words.")
    prefetcher = fastread.Prefetcher(settings, workers=2)
    try:
        prefetcher.submit([str(path)])
        next(iter(prefetcher.futures.values()))[0].result()  # the worker has parsed it
        os.utime(path, (path.stat().st_mtime + 5,) * 2)
        assert prefetcher.take(str(path)) is None
        prefetcher.submit([str(path)])
        content, meta, _formatted = prefetcher.take(str(path))
        assert "The first words." in content and meta["slug"] == ["saved"]
    finally:
        prefetcher.close()


GC_RECORDER = """
import gc
from pelican import signals

seen = []


def record(_sender, *args, **kwargs):
    seen.append((gc.get_threshold(), gc.get_freeze_count()))


def register():
    signals.all_generators_finalized.connect(record)
    signals.article_writer_finalized.connect(record)  # after fastbuild's forked rendering
"""


def test_the_collector_runs_less_often_during_a_build_and_as_before_after_it(site, tmp_path):
    """The heap is frozen once every source is read, and the build ends with the process's own settings."""
    import gc
    import importlib

    from plugins.fastbuild import heap

    with_recorder = with_test_plugin(tmp_path, "gc_recorder", GC_RECORDER)
    write_posts(site, count=6)
    before = gc.get_threshold()
    site.build(**FAST, **with_recorder)
    seen = importlib.import_module("gc_recorder").seen
    assert fastwrite.stats["rendered_in_children"] > 0
    assert len(seen) == 2 and all(thresholds == heap.THRESHOLDS and frozen > 0 for thresholds, frozen in seen)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_template_error_in_a_forked_renderer_is_raised_here(tmp_path):
    env = jinja2.Environment()
    ok = env.from_string("page {{ n }}")
    bad = env.from_string("{% if n == 1 %}{{ missing.attribute.deeper }}{% endif %}page {{ n }}")
    jobs = [(str(tmp_path / f"{n}.html"), bad, {"n": n}) for n in range(8)]
    # Two workers: the child renders job 1 first (then takes the next jobs free), so the failing page is the child's.
    with pytest.raises(jinja2.UndefinedError, match="missing"):
        fastwrite.render_parallel(jobs, workers=2)
    jobs = [(str(tmp_path / f"ok-{n}.html"), ok, {"n": n}) for n in range(8)]
    fastwrite.render_parallel(jobs, workers=2)
    assert 1 <= fastwrite.stats["rendered_in_children"] < 8
    assert [(tmp_path / f"ok-{n}.html").read_text() for n in range(8)] == [f"page {n}" for n in range(8)]


def test_the_lists_are_rendered_in_one_process_while_the_children_render_the_posts(tmp_path):
    # A post's summary is rendered once per process and shown on many lists: lists shared out by
    # turns rendered most summaries twice. Here the posts are slow, so this process renders the
    # first two thirds of the lists while the child is on its first post (the last third comes
    # after the posts, in whichever process is free).
    import time

    def slow(n):
        time.sleep(0.3)
        return ""

    env = jinja2.Environment()
    env.globals.update(slow=slow, pid=os.getpid)
    post = env.from_string("{{ slow(n) }}{{ pid() }}")
    listing = env.from_string("{{ pid() }}")
    posts = [(str(tmp_path / f"post-{n}.html"), post, {"n": n}) for n in range(3)]
    lists = [(str(tmp_path / f"list-{n}.html"), listing, {"n": n}) for n in range(20)]
    fastwrite.render_parallel(posts + lists, workers=2, before_own=len(posts))
    me = str(os.getpid())
    assert all((tmp_path / f"list-{n}.html").read_text() == me for n in range(13))
    assert (tmp_path / "post-0.html").read_text() != me  # the child's first job
    assert fastwrite.stats["rendered_in_children"] >= 1


def test_the_posts_are_done_before_the_last_lists_and_the_feeds(tmp_path):
    # Pagefind builds its index once the last post is in: this process helps with the posts
    # before the last third of the lists and the feeds (never indexed), so that the index is
    # built while those are rendered, not after.
    order = []

    def note(name, wait=0.0):
        import time

        time.sleep(wait)
        order.append(name)  # this process's own list: a child appends to its copy
        return ""

    env = jinja2.Environment()
    env.globals["note"] = note
    post = env.from_string("{{ note(name, 0.5 if name == 'post-0' else 0) }}")
    page = env.from_string("{{ note(name) }}")
    posts = [(str(tmp_path / f"post-{n}.html"), post, {"name": f"post-{n}"}) for n in range(2)]
    lists = [(str(tmp_path / f"list-{n}.html"), page, {"name": f"list-{n}"}) for n in range(3)]
    feeds = [(str(tmp_path / "feed.xml"), page, {"name": "feed"})]
    fastwrite.render_parallel(posts + lists, workers=2, own=feeds, before_own=len(posts))
    # The child starts on post-0 (slow); this process takes two thirds of the lists, then
    # post-1, then the last list, then the feed.
    assert order == ["list-0", "list-1", "post-1", "list-2", "feed"]


def test_the_feeds_are_shared_by_the_processes_and_each_is_announced_here(site, tmp_path, monkeypatch):
    # An imported blog has two feeds per label (1,638 for 817 labels): written in this process
    # only, they were its last second or two alone. The children write some now, and this process
    # sends `feed_written` for those (plugins/strict notes there who wrote each file).
    from pelican.plugins import signals

    log = tmp_path / "feed-writers.txt"
    plain = fastwrite._Feed.write

    def write(self, complete_path):
        plain(self, complete_path)
        with open(log, "a", encoding="utf-8") as out:  # one short line each, from either process
            out.write(f"{os.getpid()} {complete_path.split(os.sep + 'feeds' + os.sep, 1)[1]}\n")
        # The first process to reach the feeds waits after its first one until the other has written
        # one too: on a busy machine one process could otherwise take every feed before the other
        # is done with its pages (the counter hands out the feeds one at a time).
        deadline = time.monotonic() + 20
        while len({line.split(" ", 1)[0] for line in log.read_text(encoding="utf-8").splitlines()}) < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)

    monkeypatch.setattr(fastwrite._Feed, "write", write)
    announced, send = [], signals.feed_written.send

    def note(path, **kwargs):  # the build connects only its plugins' receivers: watch the sending
        announced.append(str(path).split(os.sep + "feeds" + os.sep, 1)[1])
        return send(path, **kwargs)

    monkeypatch.setattr(signals.feed_written, "send", note)
    write_posts(site)
    site.build(**FAST)
    writers = dict(reversed(line.split(" ", 1)) for line in log.read_text(encoding="utf-8").splitlines())
    assert len(writers) > 10 and len(set(writers.values())) == 2  # this process and the child
    on_disk = {str(path.relative_to(site.output / "feeds")) for path in (site.output / "feeds").rglob("*.xml")}
    assert sorted(announced) == sorted(writers) and set(writers) == on_disk


def test_a_warning_logged_in_a_forked_renderer_reaches_this_process(tmp_path, caplog):
    def warn(n):
        logging.getLogger("pelican.test").warning("page %s looks odd", n)
        return ""

    env = jinja2.Environment()
    env.globals["warn"] = warn
    template = env.from_string("{{ warn(n) if n == 5 else '' }}page")
    jobs = [(str(tmp_path / f"{n}.html"), template, {"n": n}) for n in range(8)]
    with caplog.at_level(logging.WARNING):
        fastwrite.render_parallel(jobs, workers=2)
    assert "page 5 looks odd" in caplog.text


RECORDER = """
import os
from pelican import signals

seen = []


def remember(path, context):
    relative = path.split(".building-", 1)[1].split("/", 1)[1]  # inside the staging folder
    seen.append((relative, os.path.getsize(path) > 0))


def register():
    signals.content_written.connect(remember)
"""


def test_content_written_receivers_see_complete_files_in_serial_order(site, tmp_path):
    """pelican-sitemap and any other listener get every page, in order, once it is written."""
    import importlib

    with_recorder = with_test_plugin(tmp_path, "written_recorder", RECORDER)
    write_posts(site, count=8)
    site.build(**FAST, **with_recorder)
    assert fastwrite.stats["rendered_in_children"] > 0
    recorder = importlib.import_module("written_recorder")
    fast = list(recorder.seen)
    recorder.seen.clear()
    build(ROOT / "pelicanconf.py", tmp_path / "serial-out",
          site.overrides(CACHE_PATH=str(tmp_path / "serial-cache"), **SERIAL, **with_recorder))
    assert fast and fast == recorder.seen
    assert all(complete for _, complete in fast)


def _rename_open_w(monkeypatch):
    """A Pelican whose Writer._open_w is gone: its own methods call it by another name."""
    import inspect
    import textwrap

    import pelican.writers as writers

    source = textwrap.dedent(inspect.getsource(writers.Writer)).replace("_open_w", "_open_output")
    namespace: dict = {}
    exec(compile(source, writers.__file__, "exec"), dict(vars(writers)), namespace)
    for name in ("_open_output", "write_file", "write_feed"):
        monkeypatch.setattr(writers.Writer, name, vars(namespace["Writer"])[name], raising=False)
    # write.py's writer overrides _open_w: were it used, every page it records would come out empty.
    monkeypatch.delattr(writers.Writer, "_open_w")


def _change_get_url_setting(monkeypatch):
    from pelican.contents import Content

    plain = Content.get_url_setting

    def get_url_setting(self, kind, key=None):  # a renamed parameter: Pelican has changed
        return plain(self, kind)

    monkeypatch.setattr(Content, "get_url_setting", get_url_setting)


def _change_generate_tags(monkeypatch):
    """A Pelican whose generate_tags reads self.dates a second time (linear.py would hand it an empty list)."""
    import inspect
    import linecache
    import textwrap

    import pelican.generators as generators

    source = textwrap.dedent(inspect.getsource(generators.ArticlesGenerator.generate_tags)).replace(
        "dates=dates,", "dates=dates or self.dates,")
    assert "dates or self.dates" in source
    name = "<a changed pelican.generators>"  # where inspect.getsource, as compat.py calls it, finds the source
    monkeypatch.setitem(linecache.cache, name, (len(source), None, source.splitlines(True), name))
    namespace: dict = {}
    exec(compile(source, name, "exec"), dict(vars(generators)), namespace)
    monkeypatch.setattr(generators.ArticlesGenerator, "generate_tags", namespace["generate_tags"])


@pytest.mark.parametrize("change", [_rename_open_w, _change_get_url_setting, _change_generate_tags],
                         ids=["missing", "changed", "searched-elsewhere"])
def test_a_changed_pelican_turns_the_fast_path_off_with_one_notice(site, tmp_path, monkeypatch, change):
    from plugins import fastbuild

    write_posts(site)
    # First a fast build in this process (as in the preview, or any earlier test): what it
    # rendered must not be reported as the serial build's (stats() is the last build's).
    site.build(**FAST)
    assert fastwrite.stats["rendered"] > 0
    change(monkeypatch)
    result = site.build(**FAST)
    notes = [note for note in result.notices if note.startswith("fastbuild:")]
    assert len(notes) == 1 and "serial path" in notes[0], result.notices
    assert any(name in notes[0] for name in ("Writer._open_w is missing", "get_url_setting",
                                             "generate_tags uses self.dates elsewhere")), notes[0]
    assert fastbuild.stats()["fast"] is False
    assert fastread.stats["parsed_in_workers"] == 0 and fastwrite.stats["rendered"] == 0  # nothing of ours ran
    assert_same_as_serial_clean_build(site, tmp_path, "compat")

    # A second build in the same process says it once again (one notice per build), still correct.
    result = site.build(**FAST)
    assert len([note for note in result.notices if note.startswith("fastbuild:")]) == 1
    assert_same_as_serial_clean_build(site, tmp_path, "compat-again")


def _save(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    before = path.stat().st_mtime_ns
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert path.stat().st_mtime_ns != before  # Pelican's mtime-based cache sees the save (not in the future)


def test_the_hot_path_takes_body_edits_only_and_writes_what_a_clean_serial_build_writes(site, tmp_path, preview):
    """The preview server passes the saved files: a body edit is the hot path, anything else the full build."""
    from plugins import fastbuild
    from plugins.fastbuild import hot

    write_posts(site)
    # A post without a Summary: its automatic summary (its body) shows on the list pages.
    site.post("auto-summary", title="Auto summary", date="2011-05-05 09:00", body="Opening words here.\n\nMore.\n",
              category="Consulting", tags="Sales")
    site.build(**FAST)
    post = site.content / "posts" / "post-3.md"
    auto = site.content / "posts" / "auto-summary.md"

    for n, (path, old, new) in enumerate([
        (post, "Last paragraph", "An edited last paragraph"),
        (post, "An edited last paragraph", "Edited twice, with <b>bold</b> and a `code` span"),
        (auto, "Opening words here.", "Opening words, edited on the hot path."),
        (post, "## A heading in post 3", "## A renamed heading in post 3"),  # the toc and reading time follow
    ]):
        _save(path, old, new)
        build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[path])
        assert fastbuild.stats()["hot"] is True, hot.stats["declined"]
        assert 0 < len(list(site.output.rglob("*.html")))
        assert_same_as_serial_clean_build(site, tmp_path, f"hot-{n}")
    assert "Opening words, edited on the hot path." in site.read("index.html")

    # A full build after hot edits still reuses the pages the hot path wrote (its memo was updated).
    site.build(**FAST)
    assert fastwrite.stats["rendered"] == 0 and fastwrite.stats["reused"] > 0
    assert_same_as_serial_clean_build(site, tmp_path, "after-hot")

    # A title (the post has a Slug: line, so its URL stays): the structure path of the hot path
    # (tests/test_hot_structure.py); a tag: the full build.
    _save(post, "Title: Post number 3", "Title: Post number three")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
    assert fastbuild.stats()["hot"] is True and hot.stats["path"] == "structure", hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "full-0")
    _save(post, "Tags: Sales, Clients, Security & Risk, Backups", "Tags: Sales")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
    assert fastbuild.stats()["hot"] is False, "a tag edit took the hot path"
    assert "metadata" in hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "full-1")

    new_post = site.content / "posts" / "brand-new.md"
    new_post.write_text("Title: Brand new\nDate: 2012-01-01 09:00\nCategory: Consulting\nTags: Sales\n\nFresh.\n",
                        encoding="utf-8")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[new_post])
    assert fastbuild.stats()["hot"] is False and "not a post of the last build" in hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "new-file")

    # Once more a body edit, after all that: the hot path again.
    _save(post, "First paragraph of post 3", "First paragraph of post 3, edited last")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
    assert fastbuild.stats()["hot"] is True, hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "hot-last")


def test_a_cold_build_takes_the_structure_digest_in_a_forked_child(site, tmp_path, monkeypatch):
    """With nothing to reuse the digest is only saved for the next build: a child takes it while pages are rendered."""
    from plugins.fastbuild import memo

    plain, log = memo.structure_digest, tmp_path / "digests"

    def logged(context, settings):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
            if os.getpid() != parent:
                handle.write(f"nice {os.getpriority(os.PRIO_PROCESS, 0)}\n")
        return plain(context, settings)

    parent = os.getpid()
    monkeypatch.setattr(memo, "structure_digest", logged)
    write_posts(site)
    site.build(**FAST)  # cold: no memo
    # The child gives way to the renderers (the digest is wanted only at the end of the build).
    [pid, nice] = log.read_text(encoding="utf-8").splitlines()
    assert int(pid) != os.getpid() and nice == "nice 19"
    log.unlink()
    site.build(**FAST)  # a memo of that output: the digest decides what is reused, in this process
    assert log.read_text(encoding="utf-8").split() == [str(os.getpid())]
    assert fastwrite.stats["rendered"] == 0 and fastwrite.stats["reused"] > 0  # the child's digest was the same
    assert_same_as_serial_clean_build(site, tmp_path, "digest-child")


def test_recorded_pages_folders_are_made_once_each_at_the_flush(site, tmp_path, monkeypatch):
    """Pelican makes a page's folder before writing it: for a recorded page the writer makes each folder once."""
    import sys

    plain, asked = os.makedirs, []

    def makedirs(name, *args, **kwargs):
        if sys._getframe(1).f_code.co_name == "_write_file":  # Pelican's Writer.write_file, writing one page
            asked.append(name)
        return plain(name, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", makedirs)
    write_posts(site)
    site.build(**FAST)
    rendered = fastwrite.stats["rendered"]
    assert rendered > 30 and len(asked) < rendered / 4, (len(asked), rendered)
    monkeypatch.setattr(os, "makedirs", plain)
    assert_same_as_serial_clean_build(site, tmp_path, "folders")
    reference = tmp_path / "reference-folders"
    folders = {str(p.relative_to(site.output)) for p in site.output.rglob("*") if p.is_dir()}
    assert folders == {str(p.relative_to(reference)) for p in reference.rglob("*") if p.is_dir()}


def test_without_a_preview_server_nothing_is_kept_for_the_hot_path(site, tmp_path):
    """A plain build (invoke build, publish, the benchmark) keeps nothing for a hot path nobody will take."""
    from plugins import fastbuild
    from plugins.fastbuild import hot

    write_posts(site, 6)
    site.build(**FAST)
    assert hot._kept == {}
    post = site.content / "posts" / "post-2.md"
    _save(post, "Last paragraph of post 2.", "Last paragraph of post 2, edited.")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
    assert fastbuild.stats()["hot"] is False
    assert fastwrite.stats["rendered"] > 0  # the full build ran instead
    assert_same_as_serial_clean_build(site, tmp_path, "no-preview")


def test_a_long_post_without_a_summary_line_takes_the_hot_path_too(site, tmp_path, preview):
    """plugins/summaries writes a long post's summary into metadata["summary"]: it is body, not a metadata edit."""
    from plugins import fastbuild
    from plugins.fastbuild import hot

    write_posts(site, 6)
    words = " ".join(f"word{n}" for n in range(90))  # longer than SUMMARY_MAX_LENGTH: plugins/summaries cuts it
    long = site.post("long-post", title="A long post", date="2011-06-06 09:00", category="Consulting", tags="Sales",
                     body=f"Opening sentence of the long post.\n\n{words}\n\nClosing paragraph.\n")
    site.build(**FAST)
    assert "Opening sentence of the long post." in site.read("index.html")
    for n, (old, new) in enumerate([
        ("Opening sentence of the long post.", "An opening sentence edited on the hot path."),  # inside the summary
        ("Closing paragraph.", "A closing paragraph edited on the hot path."),  # outside it
    ]):
        _save(long, old, new)
        build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[long])
        assert fastbuild.stats()["hot"] is True, hot.stats["declined"]
        assert_same_as_serial_clean_build(site, tmp_path, f"long-{n}")
    assert "An opening sentence edited on the hot path." in site.read("index.html")
    # The next full build reuses what the hot path wrote: the summary is not part of the site's structure.
    site.build(**FAST)
    assert fastwrite.stats["rendered"] == 0 and fastwrite.stats["reused"] > 0
    assert_same_as_serial_clean_build(site, tmp_path, "long-after")


def test_a_dead_link_typed_into_a_body_fails_at_the_save_not_at_the_next_full_build(site, tmp_path, preview):
    """The hot path sends plugins/strict the saved post: a problem in it gives way to the full build, which reports it."""
    from plugins import fastbuild
    from plugins.fastbuild import hot

    write_posts(site, 6)
    site.build(**FAST)
    post = site.content / "posts" / "post-2.md"

    # A good {filename} link: checked, fine, the hot path writes what a clean build writes.
    _save(post, "Last paragraph of post 2.", "Last paragraph of post 2, see [post 1]({filename}post-1.md).")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
    assert fastbuild.stats()["hot"] is True, hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "good-link")
    before = site.read("index.html")
    [page] = [path for path in site.output.rglob("post-2.html") if "feeds" not in path.parts]

    for n, (old, new, expected) in enumerate([
        ("[post 1]({filename}post-1.md)", "[gone]({filename}no-such-post.md)", "dead link {filename}no-such-post.md"),
        ("Last paragraph of post 2", "An image ![a chart](/images/no-such-chart.png), last paragraph",
         "missing image '/images/no-such-chart.png'"),
    ]):
        _save(post, old, new)
        served = page.read_bytes()
        with pytest.raises(BuildError) as failure:
            build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
        assert fastbuild.stats()["hot"] is False and "warning or error" in hot.stats["declined"]
        [problem] = [p for p in failure.value.problems if expected in p.message]
        assert problem.path == "content/posts/post-2.md" and problem.line, str(problem)
        # Nothing was swapped in: the last good site stays.
        assert site.read("index.html") == before and page.read_bytes() == served
        _save(post, new, old)  # fixed: a failed build kept nothing, so the full build runs and keeps this one
        build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post])
        assert "nothing kept" in hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "fixed")


def test_a_draft_being_written_takes_the_hot_path(site, tmp_path, preview):
    """The author's usual loop is a draft (new-post makes one): its body edits are hot too, byte-identical."""
    from plugins import fastbuild
    from plugins.fastbuild import hot

    write_posts(site, 4)
    draft = site.post("a-draft", title="A draft", date="2011-07-07 09:00", category="Consulting", tags="Sales",
                      status="draft", body="First words of the draft.\n\n## Its heading\n\nMore of it.\n")
    site.build(**FAST)
    for n, (old, new) in enumerate([("First words of the draft.", "First words, rewritten."),
                                    ("## Its heading", "## Its renamed heading")]):
        _save(draft, old, new)
        build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[draft])
        assert fastbuild.stats()["hot"] is True, hot.stats["declined"]
        assert_same_as_serial_clean_build(site, tmp_path, f"draft-{n}")
    [page] = [path for path in site.output.rglob("a-draft.html")]
    assert "First words, rewritten." in page.read_text(encoding="utf-8")
