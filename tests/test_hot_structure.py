"""The preview's structure edit: a post's title saved, every page rendered in place, the open tab's first.

A title shows on every page (sidebar, neighbours, lists, feeds), so a title
edit renders the whole site again, but without Pelican's pipeline: the kept
post is updated in place, the page an open preview tab shows is rendered and
put in place first (then the tab reloads), and the rest follows in a thread.
Once that is done, every file must be what a clean serial build of the same
sources writes, and the next full build must reuse every page.
"""

from __future__ import annotations

import pytest

from blogkit import runhooks
from blogkit.build import ROOT, BuildError, build
from plugins import fastbuild
from plugins.fastbuild import hot, write as fastwrite
from test_fast_build import FAST, _save, assert_same_as_serial_clean_build, write_posts


@pytest.fixture
def tabs():
    """The preview's open tabs, as the preview server reports them to the hot path."""
    shown: set[str] = set()
    updated: list[set] = []
    runhooks.attach_preview(lambda: shown, updated.append)
    yield shown, updated
    runhooks.detach_preview()


def related(page: str) -> str:
    """The page's related-posts list."""
    return page[page.index('id="related-heading"'):page.index("</section>", page.index('id="related-heading"'))]


def save_and_build(site, path, old: str, new: str):
    _save(path, old, new)
    return build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[path])


def test_a_title_edit_renders_the_open_tab_first_and_ends_as_a_clean_serial_build(site, tmp_path, tabs):
    shown, updated = tabs
    write_posts(site)
    # Two posts of the same date and labels: related posts break their tie by title, so
    # retitling one reorders the related posts of the posts that list both.
    for slug, title in (("tie-a", "Middle of the alphabet"), ("tie-b", "Zebra crossing")):
        site.post(slug, title=title, date="2010-03-03 09:00", category="Consulting", tags="Ties, Sales",
                  body=f"Body of {slug}.\n")
    site.post("tie-reader", title="Lists both", date="2010-03-04 09:00", category="Consulting", tags="Ties",
              body="It lists both as related.\n")
    site.build(**FAST)
    before = related(site.read("2010/03/tie-reader.html"))
    assert before.index("Middle of the alphabet") < before.index("Zebra crossing")

    # The tab shows another post's page, which names the edited one in its sidebar.
    shown.add("2007/02/post-1.html")
    post = site.content / "posts" / "post-3.md"
    save_and_build(site, post, "Title: Post number 3", "Title: Post number three, retitled")
    assert fastbuild.stats()["hot"] is True and hot.stats["path"] == "structure", hot.stats["declined"]
    assert hot.stats["first"] == ["2007/02/post-1.html"]
    hot.wait()
    order = hot.stats["order"]
    # The open tab's page went in first, every other page and feed after it, each once.
    assert order[0] == "2007/02/post-1.html" and len(order) == len(set(order))
    assert {"index.html", "2007/04/post-3.html", "feeds/all.atom.xml", "p/about.html"} <= set(order[1:])
    assert updated and updated[-1] == set(order[1:])  # the preview heard of the rest
    assert "Post number three, retitled" in site.read("2007/02/post-1.html")
    assert "Post number three, retitled" in site.read("feeds/all.atom.xml")
    assert_same_as_serial_clean_build(site, tmp_path, "title")

    # No open tab: the edited post's own page first. And a retitle that reorders related posts.
    shown.clear()
    save_and_build(site, site.content / "posts" / "tie-b.md", "Title: Zebra crossing", "Title: Aardvark crossing")
    assert hot.stats["path"] == "structure", hot.stats["declined"]
    assert hot.stats["first"] == ["2010/03/tie-b.html"]
    hot.wait()
    after = related(site.read("2010/03/tie-reader.html"))
    assert after.index("Aardvark crossing") < after.index("Middle of the alphabet")
    assert_same_as_serial_clean_build(site, tmp_path, "related")

    # The next full build is right and renders nothing: the memo knows the new structure.
    site.build(**FAST)
    assert fastwrite.stats["rendered"] == 0 and fastwrite.stats["reused"] > 0
    assert_same_as_serial_clean_build(site, tmp_path, "after")

    # A body edit after all that takes the body path, as before.
    save_and_build(site, post, "Last paragraph of post 3", "An edited last paragraph of post 3")
    assert hot.stats["path"] == "body", hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "body-after")


def test_a_summary_line_edit_is_a_body_edit(site, tmp_path, tabs):
    """The Summary: line is in the header, but the summary is body: only the pages that read it."""
    write_posts(site, 6)
    site.build(**FAST)
    save_and_build(site, site.content / "posts" / "post-2.md", "Summary: Summary of *post* 2.",
                   "Summary: A new summary of post 2.")
    assert hot.stats["path"] == "body", hot.stats["declined"]
    assert "A new summary of post 2." in site.read("index.html")
    assert_same_as_serial_clean_build(site, tmp_path, "summary")


def test_edits_that_change_a_path_or_the_order_take_the_full_build(site, tmp_path, tabs):
    write_posts(site, 8)
    no_slug = site.write("posts/no-slug.md", "Title: Slug from the title\nDate: 2011-01-01 09:00\n"
                                             "Category: Consulting\nTags: Sales\n\nIts slug comes from its title.\n")
    site.build(**FAST)
    assert (site.output / "2011/01/slug-from-the-title.html").exists()
    post = site.content / "posts" / "post-4.md"
    for n, (path, old, new, reason) in enumerate([
        (post, "Tags: Sales", "Tags: Backups", "tags"),
        (post, "Date: 2007-05-05 09:00", "Date: 2007-05-06 09:00", "date"),
        (post, "Category: Consulting", "Category: Technology", "category"),
        (no_slug, "Title: Slug from the title", "Title: A new slug from the title", "slug changed"),
    ]):
        save_and_build(site, path, old, new)
        assert fastbuild.stats()["hot"] is False, f"edit {n} took the hot path"
        assert reason in hot.stats["declined"]
        assert_same_as_serial_clean_build(site, tmp_path, f"full-{n}")
    assert (site.output / "2011/01/a-new-slug-from-the-title.html").exists()
    assert not (site.output / "2011/01/slug-from-the-title.html").exists()

    # A new file, and two files saved at once.
    fresh = site.write("posts/fresh.md", "Title: Fresh\nDate: 2012-01-01 09:00\nCategory: Consulting\n\nNew.\n")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[fresh])
    assert fastbuild.stats()["hot"] is False and "not a post of the last build" in hot.stats["declined"]
    other = site.content / "posts" / "post-5.md"
    _save(post, "Title: Post number 4", "Title: Post number four")
    _save(other, "Title: Post number 5", "Title: Post number five")
    build(ROOT / "pelicanconf.py", site.output, site.overrides(**FAST), changed=[post, other])
    assert fastbuild.stats()["hot"] is False and "not exactly one file" in hot.stats["declined"]
    assert_same_as_serial_clean_build(site, tmp_path, "two-files")


def test_a_problem_on_the_way_declines_and_the_full_build_reports_it(site, tmp_path, tabs):
    write_posts(site, 6)
    site.build(**FAST)
    post = site.content / "posts" / "post-2.md"
    before = site.read("index.html")
    with pytest.raises(BuildError) as failure:
        save_and_build(site, post, "Title: Post number 2", "Title:")
    assert fastbuild.stats()["hot"] is False and "warning or error" in hot.stats["declined"]
    assert any("empty title" in problem.message and problem.path == "content/posts/post-2.md"
               for problem in failure.value.problems), failure.value.problems
    assert site.read("index.html") == before  # nothing was put in place
    save_and_build(site, post, "Title:", "Title: Post number 2, fixed")
    assert "Post number 2, fixed" in site.read("index.html")
    assert_same_as_serial_clean_build(site, tmp_path, "fixed")


def test_a_site_with_archived_comments_takes_both_paths(site, tmp_path, tabs):
    """plugins/comments checks every comment file against every post: not for a stand-in holding one post."""
    import json

    write_posts(site, 6)
    site.write("comments/2007/02/post-1.json", json.dumps({"post": "2007/02/post-1.html", "source": "Test", "comments": [
        {"id": "c1", "parent": None, "author": "Ann Archived", "url": None, "date": "2007-02-05T10:00:00-04:00",
         "body": "<p>An archived comment.</p>"}]}))
    site.build(**FAST)
    for n, (path, old, new, kind) in enumerate([
        ("post-2.md", "Last paragraph", "An edited last paragraph", "body"),
        ("post-1.md", "Last paragraph", "An edited last paragraph", "body"),
        ("post-1.md", "Title: Post number 1", "Title: Post number one", "structure"),
    ]):
        save_and_build(site, site.content / "posts" / path, old, new)
        assert hot.stats["taken"] is True and hot.stats["path"] == kind, hot.stats["declined"]
        assert_same_as_serial_clean_build(site, tmp_path, f"comments-{n}")
    assert "Ann Archived" in site.read("2007/02/post-1.html")


def test_a_save_while_the_rest_is_rendered_gives_it_up_and_renders_the_whole_site_again(site, tmp_path, tabs, monkeypatch):
    """The author saves again before the rest of a title edit is in place: that rest is dropped, and the
    next edit (even a body edit) renders every page, so no page keeps the old title."""
    write_posts(site, 8)
    site.build(**FAST)
    plain = hot._follow_structure
    calls = []

    def slow(*args):
        # The first rest renders as if the site were large: it is still at work at the next save.
        calls.append(args)
        if len(calls) == 1:
            assert hot._cancel.wait(60), "the next save did not give up the rest"
        return plain(*args)

    monkeypatch.setattr(hot, "_follow_structure", slow)
    cancelled = hot.stats.get("cancelled", 0)
    save_and_build(site, site.content / "posts" / "post-3.md", "Title: Post number 3", "Title: Post number three")
    assert hot.stats["path"] == "structure"
    assert "Post number three" in site.read("2007/04/post-3.html")  # the post's own page: first
    assert "Post number three" not in site.read("index.html")  # the rest: not yet
    save_and_build(site, site.content / "posts" / "post-5.md", "Last paragraph", "An edited last paragraph")
    assert len(calls) == 2 and hot.stats["cancelled"] == cancelled + 1
    assert hot.stats["path"] == "structure", "a body edit after a dropped rest must render the whole site"
    hot.wait()
    assert "Post number three" in site.read("index.html")
    assert_same_as_serial_clean_build(site, tmp_path, "after-cancel")
    site.build(**FAST)  # and the memo is right for the next full build
    assert fastwrite.stats["rendered"] == 0
    assert_same_as_serial_clean_build(site, tmp_path, "after-cancel-full")


# The preview server as `invoke livereload` runs it (blogkit.serve.livereload, pelicanconf.py with
# its preview settings), on a fixture site, in a child process stopped by its own PID.
PREVIEW = """
import sys
from pathlib import Path
from blogkit.serve import livereload
content, output, cache, port = sys.argv[1:5]
root = Path.cwd()
livereload(root / "pelicanconf.py", Path(output), port=int(port),
           overrides={"PATH": content, "CACHE_PATH": cache, "FASTBUILD": {"workers": 2, "min_sources": 0}},
           watched=[Path(content)])
"""


class Preview:
    """The preview server (PREVIEW) on a fixture site, in a child process stopped by its own PID."""

    def __init__(self, site, tmp_path):
        import subprocess
        import sys

        from blogkit.serve import free_port

        self.port, self.log = free_port(), tmp_path / "preview.log"
        with self.log.open("w") as out:
            self.server = subprocess.Popen(
                [sys.executable, "-u", "-c", PREVIEW, str(site.content), str(site.output), str(tmp_path / "cache"),
                 str(self.port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def logged(self, needle: str, count: int = 1, timeout: float = 120) -> str:
        """Wait until the server has printed needle count times; return its whole output."""
        import time

        deadline = time.monotonic() + timeout
        while self.text().count(needle) < count:
            assert self.server.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.1)
        return self.text()

    def __enter__(self):
        try:
            self.logged("Previewing on")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc):
        self.server.terminate()
        self.server.wait(timeout=30)


def shows(page, text: str) -> bool:
    try:
        return text in page.inner_text("main", timeout=2000)
    except Exception:  # the page was navigating (its own reload) at that moment
        return False


def test_a_title_edit_shows_in_the_open_tab_by_itself(site, tmp_path, page):
    """In real Chromium: the tab on the home page shows a retitled post without anyone reloading it."""
    import time

    write_posts(site)
    with Preview(site, tmp_path) as preview:
        port, logged = preview.port, preview.logged
        navigations = []
        page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
        page.goto(f"http://127.0.0.1:{port}/")
        assert "Post number 13" in page.inner_text("main")
        time.sleep(1.5)  # the tab's event stream has told the server which page it shows
        post = site.content / "posts" / "post-13.md"
        post.write_text(post.read_text(encoding="utf-8").replace("Title: Post number 13", "Title: A retitled post"),
                        encoding="utf-8")
        deadline = time.monotonic() + 90
        while not shows(page, "A retitled post"):  # never reloaded here: the page's own script does
            assert time.monotonic() < deadline, preview.text()
            time.sleep(0.1)
        text = logged("Updated the rest of the site")
        # The structure path, not the full build, and the tab's page first.
        assert "The open pages are in place (index.html); " in text
        assert navigations == [f"http://127.0.0.1:{port}/"]  # the page's own script put the new title in place
        assert "Post number 13" not in page.inner_text("main")
        assert page.console_errors == []
        # The rest followed: another page shows the new title too, and the tab stayed on its page.
        assert "A retitled post" in (site.output / "archives.html").read_text(encoding="utf-8")
        assert page.url == f"http://127.0.0.1:{port}/"
