"""Pagefind search: the index holds published posts and pages only, a failure fails the build, the page works."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from blogkit.build import ROOT, BuildError, load_settings
from conftest import snapshot
from discovery_site import DRAFT_WORD, PUBLISHED_PAGES, PUBLISHED_POSTS, build_site, make_site

SITEURL = "https://blog.example.com"


def fragments(output: Path) -> list[dict]:
    """The records of a written Pagefind index (one per indexed page)."""
    records = []
    for path in sorted((output / "pagefind" / "fragment").glob("*.pf_fragment")):
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(b"pagefind_dcd")
        records.append(json.loads(data[len(b"pagefind_dcd"):]))
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture site built once with the local settings."""
    site = make_site(tmp_path_factory.mktemp("search"))
    build_site(site, ROOT / "pelicanconf.py")
    return site


def test_index_holds_exactly_the_published_posts_and_pages(built):
    urls = sorted(record["url"] for record in fragments(built.output))
    expected = sorted("/" + path for path in [*PUBLISHED_POSTS.values(), *PUBLISHED_PAGES.values()])
    assert urls == expected
    entry = json.loads((built.output / "pagefind" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] == len(expected)


def test_index_holds_post_bodies_and_titles_but_not_navigation(built):
    alpha = next(r for r in fragments(built.output) if r["url"] == "/2021/01/alpha.html")
    assert alpha["meta"]["title"] == "Alpha"
    assert "psychotherapist" in alpha["content"]
    # the header, sidebar and footer are not part of the indexed body
    assert "Blog Archive" not in alpha["content"] and "Skip to content" not in alpha["content"]
    assert all(DRAFT_WORD not in r["content"] for r in fragments(built.output))


def html_pages(output: Path) -> list[str]:
    """Every HTML file the build wrote, by path relative to the output folder."""
    return sorted(path.relative_to(output).as_posix() for path in output.rglob("*.html"))


def test_the_published_pages_alone_give_the_bundle_of_the_whole_site(built, tmp_path):
    """Pagefind given the published pages writes, byte for byte, the bundle it writes given every page."""
    import plugins.search as search

    # Pelican's order: the newest post first, then the pages
    published = [PUBLISHED_POSTS[slug] for slug in ("escaping", "long-read", "echo", "charlie", "alpha", "bravo", "delta")] + list(PUBLISHED_PAGES.values())
    pages = search.pages_to_index(built.output, published)
    # the published pages in the order given, and one unmarked page that checks the marker is really there
    assert pages[:len(published)] == published and len(pages) == len(published) + 1
    left_out = [page for page in html_pages(built.output) if page not in pages]
    assert {"index.html", "archives.html", "404.html", "category/tech.html", "search/label/servers.html",
            "2021/01/index.html", "drafts/secret-plans.html"} <= set(left_out)

    whole, subset = tmp_path / "whole", tmp_path / "subset"
    search._index_now(built.output, pages + left_out, whole, "en")
    search._index_now(built.output, pages, subset, "en")
    assert snapshot(subset) == snapshot(whole)
    assert snapshot(built.output / "pagefind") == snapshot(whole)  # what the build itself wrote


def test_pages_to_index_keeps_what_the_whole_site_checks_would_see(tmp_path):
    import plugins.search as search

    def site(files: dict[str, str]) -> Path:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return folder

    post = '<div data-pagefind-body>Words.</div>'
    # a listing page marked by mistake is indexed too (and the count check fails the build)
    assert search.pages_to_index(site({"a.html": post, "index.html": post, "tags.html": "x"}), ["a.html"]) == \
        ["a.html", "index.html", "tags.html"]
    # the published pages keep the order given (Pelican's), the others follow sorted
    assert search.pages_to_index(site({"a.html": post, "b.html": post, "z.html": post, "c.html": "x", "d.html": "x"}),
                                 ["b.html", "a.html"]) == ["b.html", "a.html", "z.html", "c.html"]
    # the marker only as words in a post: the unmarked page makes Pagefind index one page too many
    assert search.pages_to_index(site({"a.html": "about data-pagefind-body", "index.html": "x"}), ["a.html"]) == \
        ["a.html", "index.html"]
    # no marker anywhere: the whole site, where Pagefind indexes every page
    assert search.pages_to_index(site({"a.html": "x", "index.html": "x"}), ["a.html"]) is None
    # none of the published pages written: the whole site, as before
    assert search.pages_to_index(site({"index.html": post}), ["gone.html"]) is None


def test_the_bundle_of_the_posts_records_is_the_serial_builds_byte_for_byte(tmp_path):
    """The fast path indexes each post's title and body as the read ends; FASTBUILD off indexes the written pages: same bundle."""
    from PIL import Image

    import plugins.search as search
    from plugins.fastbuild import write as fastwrite

    site = make_site(tmp_path)
    # What a body can hold that Pagefind reads: code (Pygments' spans, left out of the records), an
    # image (the result's image), a link to another post, entities, inline HTML with attributes.
    (site.content / "images").mkdir()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(site.content / "images" / "chart.png")
    extra = {"code": "Some code:\n\n```python\ndef close(ticket):\n    return ticket.status  # done\n```\n\nAfter it.",
             "picture": "A chart:\n\n![Sales by month](/images/chart.png)\n\nAnd &amp; words &eacute; after it.",
             "linking": 'See [Alpha]({filename}alpha.md) and <span lang="fr" title="x">mots rouges</span>.',
             # ends in a figure whose caption has no full stop: Pagefind ends the sentence by what follows it
             "captioned": 'The chart:\n\n![A chart](/images/chart.png "Sales by month")'}
    for slug, body in extra.items():
        site.post(slug, slug.title(), "2021-05-01 10:00", body, category="Tech")
    build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"workers": 2, "min_sources": 0})
    published = len(PUBLISHED_POSTS) + len(PUBLISHED_PAGES) + len(extra)
    assert search.stats["ahead"] == published  # every written page showed its record
    assert '<span class="k">def</span>' in site.read("2021/05/code.html")  # spans the record left out
    ahead = snapshot(site.output / "pagefind")
    build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"enabled": False})
    assert "ahead" not in search.stats
    assert snapshot(site.output / "pagefind") == ahead
    records = {r["url"]: r for r in fragments(site.output)}
    assert len(records) == published
    assert records["/2021/05/picture.html"]["meta"]["image"].endswith(".png")
    assert "ticket.status" in records["/2021/05/code.html"]["content"]

    # After a body edit the fast build links most pages from the last one; each is checked all the same.
    build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"workers": 2, "min_sources": 0})
    post = site.content / "posts" / "code.md"
    post.write_text(post.read_text(encoding="utf-8").replace("After it.", "After it, a newly written remark."),
                    encoding="utf-8")
    os.utime(post, (post.stat().st_mtime + 5,) * 2)
    build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"workers": 2, "min_sources": 0})
    assert fastwrite.stats["reused"] > 0 and search.stats["ahead"] == published
    edited = snapshot(site.output / "pagefind")
    assert edited != ahead
    build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"enabled": False})
    assert snapshot(site.output / "pagefind") == edited


THEME_POST = ('<!doctype html><html lang="en"><head><title>{title} | Blog</title></head><body><header><img src="/logo.png">'
              '</header><main><article><header><h1 class="post-title">{title}</h1><p>Posted at 9:00</p></header>'
              '<nav class="toc"><h2 id="toc">Contents</h2></nav><div class="post-body" data-pagefind-body>{body}</div>'
              '<footer>Labels: <a href="/t.html">t</a></footer></article><section><h2>Related</h2></section></main>'
              '<aside><p>About me</p></aside></body></html>')


def test_a_written_page_shows_its_record_only_when_pagefind_would_read_the_same(tmp_path):
    """shows_record says yes to the theme's post page and no to each way a page could show Pagefind more or other."""
    import plugins.search as search

    title, body = "Sales &amp; therapy", '<p>Words.</p>\n<pre tabindex="0"><code>x</code></pre>'
    page = THEME_POST.format(title=title, body=body)
    assert search.shows_record(page.encode(), title, body)
    page = page.replace("\n  ", "")  # the body alone in its element
    assert search.shows_record(page.encode(), title, body)
    # Spaces around the body: before </div> they change where Pagefind ends a sentence (a body ending in a figure).
    assert not search.shows_record(page.replace("</pre></div>", "</pre>\n  </div>").encode(), title, body)
    differing = {
        "another title": page.replace(f'"post-title">{title}', '"post-title">Another'),
        "an image between title and body": page.replace("<p>Posted", '<img src="/a.png"><p>Posted'),
        "an image after a body without one": page.replace("<h2>Related", '<img src="/r.png"><h2>Related'),
        "more in the body": page.replace("</pre></div>", "</pre><p>More.</p></div>"),
        "a filter attribute": page.replace("<footer>", '<footer data-pagefind-filter="tag">'),
        "the marker on a section": page.replace('<div class="post-body" data-pagefind-body>',
                                                '<section data-pagefind-body>').replace("</div><footer>", "</section><footer>"),
        "no marker": page.replace(" data-pagefind-body", ""),
        "an h1 before the title": page.replace("<article>", "<h1>Blog</h1><article>"),
    }
    for why, html in differing.items():
        assert html != page, why
        assert not search.shows_record(html.encode(), title, body), why
    # A body that would be parsed otherwise inside the theme's page than inside the record's.
    for broken in ("<p>a</p></article><p>b</p>", "<p>a<!-- open", "<p>a<textarea>b</p>", "<main>x</main>"):
        assert not search.shows_record(THEME_POST.format(title=title, body=broken).encode(), title, broken), broken
    assert not search.shows_record(THEME_POST.format(title="&amp;", body=body).encode(), "&amp;", body)  # no words
    assert search.shows_record(THEME_POST.format(title="Новая гантель", body=body).encode(), "Новая гантель", body)
    # Pygments' class-only spans are left out of the page sent to Pagefind; a span with more is kept, and so are all.
    code = '<pre tabindex="0"><span></span><code><span class="k">def</span> <span class="nf">f</span></code></pre>'
    assert b"<code>def f</code>" in search.record_page(title, code, "en")
    assert search.record_page(title, code + '<span lang="fr">mots</span>', "en").count(b"<span") == 4


MARKER_WORDS = "<p>About data-pagefind-body.</p>"


def test_the_records_bundle_stands_only_when_every_page_checks(tmp_path):
    """_Ahead writes the records' bundle; a page that differs, a marked extra page, or one never written throws it away."""
    import plugins.search as search

    site = tmp_path / "site"
    records = {f"2020/0{n}/post-{n}.html": (f"Topic {n}", f"<p>Words about topic{n}.</p>") for n in (5, 4, 3, 2, 1)}
    files = {rel: THEME_POST.format(title=t, body=b) for rel, (t, b) in records.items()}
    files |= {"index.html": "<html><body><main>A listing.</main></body></html>",
              "old/stub.html": "<html><body>Moved.</body></html>"}
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    reference = tmp_path / "reference"
    search._index_now(site, search.pages_to_index(site, list(records)), reference, "en")

    def ahead(announced, change=None):
        one = search._Ahead(site, records, "en", site / "pagefind")
        try:
            if change:
                change()
            for rel in announced:
                one.page(None, rel)
            return one.finish(), one
        finally:
            one.close()

    # Announced in any order, some never (looked at in finish): the bundle of the written pages.
    done, one = ahead(["2020/04/post-4.html", "index.html", "2020/01/post-1.html"])
    assert done and one.pagefind is None and one.differs is None
    assert snapshot(site / "pagefind") == snapshot(reference)
    shutil.rmtree(site / "pagefind")

    # A page a plugin writes itself (a redirect stub) is looked at as it is made, not read again at finish().
    stub = files["old/stub.html"]
    one = search._Ahead(site, records, "en", site / "pagefind")
    try:
        assert one.html(None, str(site / "old/stub.html"), stub) == stub and "old/stub.html" in one.seen
        assert one.html(None, str(site / "old/marked.html"), stub + MARKER_WORDS) and "old/marked.html" not in one.seen
        assert one.html(None, str(site / "2020/03/post-3.html"), "") == "" and "2020/03/post-3.html" not in one.seen
    finally:
        one.close()

    post3 = site / "2020/03/post-3.html"
    draft = site / "drafts/marked.html"
    for why, change in {
        "a page showing another body": lambda: post3.write_text(files["2020/03/post-3.html"].replace("Words", "Other")),
        "a marked page that is no published one": lambda: (draft.parent.mkdir(exist_ok=True),
                                                           draft.write_text(files["2020/03/post-3.html"])),
        "a published page never written": post3.unlink,
    }.items():
        done, one = ahead(list(records), change)
        assert done is False and one.differs, why
        assert not (site / "pagefind").exists(), why  # thrown away: the build indexes the files
        post3.write_text(files["2020/03/post-3.html"])
        draft.unlink(missing_ok=True)


def test_search_page_is_a_real_form_that_loads_search_js(built):
    page = BeautifulSoup(built.read("search.html"), "html.parser")
    form = page.find("form", role="search")
    assert form["method"] == "get" and form["action"] == "/search.html"
    field = form.find("input", attrs={"name": "q"})
    assert field["type"] == "search" and page.find("label", attrs={"for": field["id"]})
    assert form.find("button", type="submit")
    assert page.find("noscript").find("a", href="/archives.html")
    script = page.find("script", src="/theme/js/search.js")
    assert script["type"] == "module"
    assert (built.output / "theme/js/search.js").exists()
    # no inline styles on the page and no Pagefind UI bundle loaded up front
    assert "style=" not in built.read("search.html")
    assert "pagefind-ui" not in built.read("search.html")


def test_published_search_form_falls_back_to_a_site_search_without_js(tmp_path, monkeypatch):
    monkeypatch.setenv("SITEURL", SITEURL)
    site = make_site(tmp_path)
    build_site(site, ROOT / "publishconf.py")
    form = BeautifulSoup(site.read("search.html"), "html.parser").find("form", role="search")
    assert form["action"] == "https://duckduckgo.com/"
    assert form.find("input", attrs={"name": "sites"})["value"] == "blog.example.com"
    assert form["data-search-bundle"] == f"{SITEURL}/pagefind/"


def test_search_js_can_be_switched_off(tmp_path):
    site = make_site(tmp_path)
    build_site(site, ROOT / "pelicanconf.py", SEARCH={"js": False, "index": False})
    assert "search.js" not in site.read("search.html")
    assert not (site.output / "pagefind").exists()


def test_pagefind_failure_fails_the_build_and_keeps_the_previous_site(tmp_path, monkeypatch):
    site = make_site(tmp_path)
    build_site(site, ROOT / "pelicanconf.py")
    before = site.read("index.html")
    site.post("new-post", "A new post", "2022-01-01 10:00")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-pagefind"))
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py")
    assert re.search(r"Pagefind's program .*no-such-pagefind could not be started.*uv sync", str(failure.value))
    assert site.read("index.html") == before
    assert not (site.output / "2022/01/new-post.html").exists()


def faulty_pagefind(tmp_path: Path, monkeypatch, fault: str, page: str) -> None:
    """Make the build run the real Pagefind with one fault at one page (tests/pagefind_faults.py)."""
    from pagefind.service import get_executable

    real = get_executable()
    script = tmp_path / "faulty-pagefind"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name('pagefind_faults.py')} \"$@\"\n")
    script.chmod(0o755)
    for name, value in {"PAGEFIND_BINARY_PATH": script, "REAL_PAGEFIND": real, "PAGEFIND_FAULT": fault,
                        "PAGEFIND_FAULT_PAGE": page}.items():
        monkeypatch.setenv(name, str(value))


STREAMED_OR_SERIAL = pytest.mark.parametrize("fastbuild", [{"workers": 2}, {"enabled": False}], ids=["streamed", "serial"])


@STREAMED_OR_SERIAL
def test_pagefind_dying_at_a_page_is_one_problem_naming_the_page(tmp_path, monkeypatch, fastbuild):
    site = make_site(tmp_path)
    build_site(site, ROOT / "pelicanconf.py")
    before = site.read("index.html")
    site.post("new-post", "A new post", "2022-01-01 10:00")
    faulty_pagefind(tmp_path, monkeypatch, "crash", "2021/01/alpha.html")
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py", FASTBUILD=fastbuild)
    assert [str(p) for p in failure.value.problems] == [
        "built page 2021/01/alpha.html: Pagefind failed while indexing this page (killed by SIGSEGV): "
        "pagefind: thread 'main' panicked while parsing the page (fix: check that the `pagefind[extended]` package "
        "is installed with `uv sync`, then build again; if it keeps stopping at one page, look at that page's HTML)"]
    assert site.read("index.html") == before  # the last good site stays
    assert not (site.output / "2022/01/new-post.html").exists()


def test_the_page_named_is_the_one_pagefind_stopped_at_when_its_last_answers_are_read_late(tmp_path, monkeypatch):
    import threading

    from plugins import search

    # A page sent after alpha finds Pagefind gone while its answers to the pages before alpha are
    # still in the pipe: here the reply thread reads nothing after the first answer until the build
    # looks for the page to blame. That page must still be alpha, not the first of those.
    blaming = threading.Event()

    class LatePipe:
        def __init__(self, pipe):
            self.pipe, self.answered = pipe, False

        def read1(self, size):
            if self.answered:  # the first answer (the new index) is read at once, the rest late
                blaming.wait(10)
            chunk = self.pipe.read1(size)
            self.answered = self.answered or b"," in chunk
            return chunk

        def close(self):
            self.pipe.close()

    read, send, stopped = search.Pagefind._read, search.Pagefind._send, search.Pagefind._stopped

    def late_read(self):
        self.process.stdout = LatePipe(self.process.stdout)
        read(self)

    monkeypatch.setattr(search.Pagefind, "_read", late_read)
    # The pages go slowly, so that one is sent after Pagefind stopped at alpha.
    monkeypatch.setattr(search.Pagefind, "_send", lambda self, *args: time.sleep(0.1) or send(self, *args))
    monkeypatch.setattr(search.Pagefind, "_stopped", lambda self, doing: blaming.set() or stopped(self, doing))
    site = make_site(tmp_path)
    faulty_pagefind(tmp_path, monkeypatch, "crash", "2021/01/alpha.html")
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py", FASTBUILD={"workers": 2})
    assert blaming.is_set()  # the build found Pagefind gone as it sent a page, with answers unread
    assert [p.path for p in failure.value.problems] == ["built page 2021/01/alpha.html"]
    assert "while indexing this page (killed by SIGSEGV)" in failure.value.problems[0].message


@STREAMED_OR_SERIAL
def test_pagefind_writing_something_that_is_not_a_reply_is_one_problem(tmp_path, monkeypatch, fastbuild):
    site = make_site(tmp_path)
    faulty_pagefind(tmp_path, monkeypatch, "garbage", "2021/02/echo.html")
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py", FASTBUILD=fastbuild)
    assert len(failure.value.problems) == 1
    problem = failure.value.problems[0]
    assert problem.path == "built page 2021/02/echo.html"
    assert problem.message.startswith("Pagefind failed while indexing this page (it answered something that is not a reply")
    assert "uv sync" in problem.hint


def test_a_bundle_pagefind_left_incomplete_is_one_problem_not_a_crash(tmp_path, monkeypatch):
    """An exception that is no SearchIndexError (here: the bundle's entry file missing) is reported, not raised."""
    site = make_site(tmp_path)
    faulty_pagefind(tmp_path, monkeypatch, "no-entry", "2021/02/echo.html")
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py")
    assert len(failure.value.problems) == 1
    problem = failure.value.problems[0]
    assert problem.path == "(site)"
    assert re.match(r"Pagefind failed to index .*: FileNotFoundError: .*pagefind-entry\.json", problem.message)
    assert "uv sync" in problem.hint


def test_a_theme_that_marks_the_wrong_pages_fails_the_build(tmp_path):
    site = make_site(tmp_path)
    # a 404 page whose body is marked for indexing: Pagefind would index it
    site.write("../templates/404.html",
               '{% extends "!theme/404.html" %}{% block content %}<div data-pagefind-body>Not here.</div>{% endblock %}')
    with pytest.raises(BuildError) as failure:
        build_site(site, ROOT / "pelicanconf.py")
    message = str(failure.value)
    assert "Pagefind indexed 9 page(s) but the site has only 8 published post(s) and page(s)" in message
    assert "data-pagefind-body" in message


def test_a_post_that_is_only_an_image_builds(site):
    """Pagefind skips a page without words; that is not a theme fault and must not fail the build."""
    site.post("words", "Words", body="Plenty of words about servers.")
    site.write("images/rack.png", b"\x89PNG\r\n\x1a\n")
    site.post("picture", "Picture", body="![A server rack]({static}/images/rack.png)")
    site.build(STATIC_PATHS=["images"])
    assert (site.output / "2020/05/picture.html").exists()
    assert json.loads(site.read("pagefind/pagefind-entry.json"))["languages"]["en"]["page_count"] == 1


def test_a_site_with_only_drafts_gets_an_empty_index(site):
    site.post("draft-only", "Draft only", body=f"The {DRAFT_WORD} draft.", status="draft")
    site.build()
    entry = json.loads(site.read("pagefind/pagefind-entry.json"))
    assert entry["languages"] == {}
    assert fragments(site.output) == []


def test_unknown_search_setting_is_reported(tmp_path):
    site = make_site(tmp_path)
    with pytest.raises(BuildError, match=r"unknown SEARCH key\(s\) \['indx'\]"):
        build_site(site, ROOT / "pelicanconf.py", SEARCH={"indx": False})


def test_background_index_follows_the_new_site_and_serves_the_last_one_meanwhile(site):
    """livereload's mode: the build returns with the last index in place; the new one replaces it."""
    post = site.post("servers", "Servers", body="Plenty of words about servers.")
    site.build()  # the first build has no index to show meanwhile: it indexes before it ends
    from plugins.search import wait_for_index

    assert "zeppelins" not in json.dumps(fragments(site.output))
    post.write_text(post.read_text(encoding="utf-8").replace("servers.", "servers and zeppelins."), encoding="utf-8")
    site.build(SEARCH={"index": "background"})
    assert "zeppelins" in site.read("2020/05/servers.html")  # the new site is live at once,
    assert (site.output / "pagefind" / "pagefind-entry.json").is_file()  # and searchable meanwhile
    wait_for_index()
    assert "zeppelins" in json.dumps(fragments(site.output))
    assert not [p.name for p in site.base.iterdir() if p.name.startswith(".output")], "temporary folders left behind"


def test_a_newer_site_wins_over_an_older_background_index(site):
    """Two quick edits: the index that ends up live is the second site's."""
    post = site.post("servers", "Servers", body="Words about servers.")
    site.build()
    from plugins.search import wait_for_index
    for word in ("albatross", "bumblebee"):
        post.write_text(f"Title: Servers\nDate: 2020-05-04 10:00\nSlug: servers\n\nWords about {word}.\n", encoding="utf-8")
        site.build(SEARCH={"index": "background"})
    wait_for_index()
    indexed = json.dumps(fragments(site.output))
    assert "bumblebee" in indexed and "albatross" not in indexed


def test_an_unknown_index_mode_is_reported(tmp_path):
    site = make_site(tmp_path)
    with pytest.raises(BuildError, match="must be True, False or \"background\""):
        build_site(site, ROOT / "pelicanconf.py", SEARCH={"index": "later"})


# --- In real Chromium -------------------------------------------------------------

CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:"


@pytest.fixture
def real_site_under_csp(real_site, tmp_path) -> Path:
    """A copy of the real site whose search page carries the site's strict CSP (no inline styles or eval)."""
    copy = tmp_path / "site"
    shutil.copytree(real_site, copy)
    page = copy / "search.html"
    text = page.read_text(encoding="utf-8")
    # As plugins/csp does: each inline script (the theme's pre-paint colour-scheme script) allowed by its hash.
    hashes = " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        for body in re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    )
    csp = CSP.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip())
    page.write_text(text.replace("<head>", f'<head>\n<meta http-equiv="Content-Security-Policy" content="{csp}">', 1),
                    encoding="utf-8")
    return copy


@pytest.mark.browser
def test_typing_psychotherapist_finds_the_first_post(real_site_under_csp, serve_folder, page):
    server = serve_folder(real_site_under_csp)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{server.url}/search.html")
    # nothing of Pagefind loads until the reader searches
    assert not [url for url in requests if "/pagefind/" in url]
    page.locator("input[name=q]").press_sequentially("psychotherapist", delay=20)
    result = page.locator("#search-results a", has_text="The Psychotherapy of Sales")
    result.wait_for(timeout=15000)
    assert result.get_attribute("href") == "/2007/01/psychotherapy-of-sales.html"
    assert page.locator("#search-results mark").first.inner_text().lower().startswith("psychotherapist")
    # The result shows already for a prefix ("psyc" also finds the About page); the status is the last query's
    # once Pagefind has answered it, so wait for it rather than read it at once (under load it lagged).
    page.wait_for_function("() => document.getElementById('search-status').textContent.includes('1 result')", timeout=15000)
    assert page.locator("#search-results a").count() == 1
    # keyboard: Down from the box focuses the first result, Enter follows it
    page.locator("input[name=q]").press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "The Psychotherapy of Sales"
    page.keyboard.press("Enter")
    page.wait_for_url("**/2007/01/psychotherapy-of-sales.html")
    assert page.console_errors == []


@pytest.mark.browser
def test_search_runs_from_a_q_link_and_reports_no_results(real_site_under_csp, serve_folder, page):
    server = serve_folder(real_site_under_csp)
    page.goto(f"{server.url}/search.html?q=psychotherapist")
    page.locator("#search-results a", has_text="The Psychotherapy of Sales").wait_for(timeout=15000)
    assert page.locator("input[name=q]").input_value() == "psychotherapist"
    page.locator("input[name=q]").fill("qwxyzzy")
    page.locator("form.search-form button").click()
    page.wait_for_function("() => document.getElementById('search-status').textContent.startsWith('No results')")
    assert page.locator("#search-results li").count() == 0
    assert "q=qwxyzzy" in page.url
    assert page.console_errors == []


def test_livereload_indexes_in_the_background_and_publishing_does_not(tmp_path):
    from blogkit.serve import preview_overrides

    assert preview_overrides(ROOT / "pelicanconf.py")["SEARCH"]["index"] == "background"
    assert load_settings(ROOT / "publishconf.py")["SEARCH"]["index"] is True
    no_index = tmp_path / "conf.py"
    no_index.write_text(f"from pelicanconf import *\nPATH = {str(ROOT / 'content')!r}\n"
                        "SEARCH = {**SEARCH, 'index': False}\n", encoding="utf-8")
    assert preview_overrides(no_index)["SEARCH"]["index"] is False


def test_the_bundle_writer_writes_every_file_and_refuses_a_path_out_of_the_bundle(tmp_path):
    """write_bundle makes the folders and writes the bytes; a path that is absolute or climbs out is one error."""
    from plugins.search import SearchIndexError, write_bundle

    def file(path, data):
        return {"path": path, "content": base64.b64encode(data).decode()}

    bundle = tmp_path / "site" / "pagefind"
    write_bundle(bundle, [file("pagefind.js", b"js"), file("fragment/a.pf_fragment", b"\x00" * 70000),
                          file("index/deep/b.pf_index", b"")])
    assert (bundle / "pagefind.js").read_bytes() == b"js"
    assert (bundle / "fragment" / "a.pf_fragment").read_bytes() == b"\x00" * 70000
    assert (bundle / "index" / "deep" / "b.pf_index").read_bytes() == b""
    for bad in ("../escape.js", "/tmp/escape.js", "fragment/../../escape.js", "", "a//b", "a\\..\\b"):
        with pytest.raises(SearchIndexError, match="outside the bundle"):
            write_bundle(bundle, [file(bad, b"x")])
    assert not (tmp_path / "site" / "escape.js").exists() and not (tmp_path / "escape.js").exists()


def test_pagefind_rooted_at_main_writes_the_bundle_of_the_whole_pages(built, tmp_path, monkeypatch):
    """Rooting Pagefind at <main> and sending the pages up to </main> changes no byte of the bundle."""
    import plugins.search as search

    published = [*PUBLISHED_POSTS.values(), *PUBLISHED_PAGES.values()]
    pages = search.pages_to_index(built.output, published)
    # every published page of the fixture takes the short way (or this test would compare nothing)
    assert all(search.main_part((built.output / page).read_bytes()) is not None for page in published)
    assert all(len(search.main_part((built.output / page).read_bytes())) < len((built.output / page).read_bytes())
               for page in published)
    rooted, whole = tmp_path / "rooted", tmp_path / "whole"
    search._index_now(built.output, pages, rooted, "en")
    monkeypatch.setattr(search, "MAIN_ROOT", False)
    search._index_now(built.output, pages, whole, "en")
    assert snapshot(rooted) == snapshot(whole)


PAGE = ('<!doctype html><html lang="en"><head><title>Site title</title>{head}</head><body>'
        '<header><p>Site</p></header><main id="main">{main}</main><aside>{aside}</aside></body></html>')
MAIN = '<article><h1>Post title</h1><div class="post-body" data-pagefind-body><p>Body words.</p></div></article>'


@pytest.mark.parametrize("page", [
    PAGE.format(head="", main=MAIN, aside='<img src="/me.png" alt="me">'),  # could be the result's image
    PAGE.format(head='<meta data-pagefind-meta="author[content]" content="Me">', main=MAIN, aside=""),
    PAGE.format(head="", main=MAIN, aside='<span data-pagefind-filter="tag">x</span>'),
    PAGE.format(head="", main=MAIN.replace("<h1>Post title</h1>", ""), aside=""),  # the title is <title>
    PAGE.format(head="", main=MAIN.replace("<h1>Post title</h1>", "<h1> </h1>"), aside=""),
    PAGE.format(head="", main=MAIN, aside="<h1>Another title</h1>"),
    PAGE.format(head="", main="<!-- a comment -->" + MAIN, aside=""),
    PAGE.format(head="<script>var s = '<div data-pagefind-body>';</script>", main=MAIN.replace(" data-pagefind-body", ""),
                aside=""),
    PAGE.format(head="", main=MAIN.replace('<div class="post-body" data-pagefind-body>', '<span data-pagefind-body>')
                .replace("</div>", "</span>"), aside=""),  # an inline body: the blocks above it add a full stop
    PAGE.format(head="", main=MAIN + "</main><main>", aside=""),
    PAGE.format(head="", main=MAIN, aside="").replace("<main", "<div").replace("</main>", "</div>"),
    PAGE.format(head="", main=MAIN, aside='<script src="/_pagefind/pagefind.js"></script>'),
    PAGE.format(head="", main="<textarea>" + MAIN, aside=""),  # the marker is text of an open raw-text element
    PAGE.format(head="<style>p{}</style><noscript><p>x</p></noscript>", main="<svg><title>t</title>" + MAIN, aside=""),
])
def test_a_page_pagefind_would_read_otherwise_under_main_is_sent_whole(page):
    """main_part refuses every page where something Pagefind reads lies outside <main>, or cannot be told."""
    from plugins.search import main_part

    assert main_part(page.encode()) is None
    assert main_part(PAGE.format(head="", main=MAIN, aside="<p>Sidebar</p>").encode()) is not None
    closed = "<style>p{}</style><noscript><p>x</p></noscript><svg><title>t</title></svg>"  # raw-text elements, each closed
    assert main_part(PAGE.format(head=closed, main=MAIN, aside="").encode()) is not None


def test_an_image_only_in_the_sidebar_stays_the_results_image(tmp_path):
    """A page main_part refuses makes the whole index rooted at <html>: the record keeps what <main> would lose."""
    import plugins.search as search

    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text(PAGE.format(head="", main=MAIN, aside='<img src="/me.png" alt="me">'))
    (site / "b.html").write_text(PAGE.format(head="", main=MAIN.replace("Post title", "Other"), aside=""))
    search._index_now(site, ["a.html", "b.html"], site / "pagefind", "en")
    records = {record["url"]: record for record in fragments(site)}
    assert records["/a.html"]["meta"]["image"] == "/me.png"
    assert records["/a.html"]["meta"]["title"] == "Post title" and records["/b.html"]["meta"]["title"] == "Other"
    # Rooted at main, Pagefind would have lost it: what the check is for.
    pagefind = search.Pagefind(site, "en", "main")
    try:
        pagefind.add("a.html", (site / "a.html").read_bytes())
        pagefind.write(tmp_path / "rooted")
    finally:
        pagefind.close()
    (tmp_path / "rooted-site").mkdir()
    shutil.move(tmp_path / "rooted", tmp_path / "rooted-site" / "pagefind")
    assert "image" not in fragments(tmp_path / "rooted-site")[0]["meta"]


def test_every_page_lists_the_html_files_in_the_order_of_sorted_paths(tmp_path):
    """_every_page gives what sorted(Path.rglob("*.html")) gives (the whole-site index numbers pages in it)."""
    from plugins.search import _every_page

    for name in ("a-b.html", "a/b.html", "a.html", "A.html", "a/b/c.html", "a-b/a.html", "b.htm", "x.HTML",
                 ".hidden/y.html", "z/index.html"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    expected = [path.relative_to(tmp_path).as_posix() for path in sorted(tmp_path.rglob("*.html"))]
    assert _every_page(tmp_path) == expected and len(expected) == 8
