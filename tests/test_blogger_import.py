"""The Blogger importer on export fixtures in both formats: what it reads, what it writes, what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blogkit.blogger import MANIFEST, BloggerExportError, Options, import_blogger, read_export
from blogkit.blogger.convert import LinkMap, largest_image_url, to_markdown
from conftest import snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "blogger"
FORMATS = {"classic": FIXTURES / "classic.xml", "blogger2018": FIXTURES / "blogger2018.xml"}
POST = "posts/2007/03/backups-nobody-tests.md"
COMMENTS = "comments/2007/03/backups-nobody-tests.json"


def run(export, content: Path, **options):
    options.setdefault("download_images", False)
    return import_blogger(export, Options(content=content, **options))


def meta(text: str) -> dict[str, str]:
    head = text.split("\n\n", 1)[0]
    return dict(line.split(": ", 1) for line in head.splitlines())


@pytest.fixture(params=sorted(FORMATS))
def export(request) -> Path:
    return FORMATS[request.param]


def test_both_formats_read_into_the_same_model(export):
    blog = read_export(export)
    assert blog.format == export.stem
    paths = sorted(e.old_path for e in blog.posts if not e.draft)
    assert paths == ["2007/02/blog-post.html", "2007/03/backups-nobody-tests.html", "2007/04/monthly-update.html",
                     "2007/05/monthly-update.html", "2007/12/year-end-thoughts.html"]
    assert [e.title for e in blog.posts if e.draft] == ["Unfinished Thoughts"]
    assert [(p.title, p.old_path) for p in blog.pages] == [("About Me", "p/about-me.html")]
    backups = next(e for e in blog.posts if e.old_path == "2007/03/backups-nobody-tests.html")
    assert backups.labels == ["Disaster Recovery", "Sales & Marketing"]
    assert [(c.id, c.parent_id) for c in backups.comments] == [
        ("1001", None), ("1002", "1001"), ("1003", None), ("1004", None), ("1005", "1004")]
    assert [c.id for c in backups.comments if c.removed] == ["1004"]


def test_posts_keep_their_exact_old_paths_and_metadata(tmp_path, export):
    run(export, tmp_path)
    post = (tmp_path / POST).read_text(encoding="utf-8")
    m = meta(post)
    assert m["Title"] == "Backups Nobody Tests"
    assert m["Slug"] == "backups-nobody-tests"
    assert m["Tags"] == "Disaster Recovery, Sales & Marketing"
    assert m["Author"] == "Pat Consultant"
    assert m["Date"].startswith("2007-03-05 10:15:00-05:00")
    assert m["Modified"].startswith("2007-03-06")
    assert "Status" not in m


def test_the_31_december_post_stays_in_its_old_month(tmp_path, export):
    run(export, tmp_path)
    m = meta((tmp_path / "posts/2007/12/year-end-thoughts.md").read_text(encoding="utf-8"))
    # Classic exports give the blog's offset; the current format gives UTC (2008-01-01 07:30Z) and
    # the importer restores the offset that files it where its old URL says. Slug + Date then
    # reproduce /2007/12/ through ARTICLE_URL, and the month archive /2007/12/ lists it.
    assert m["Date"] == "2007-12-31 23:30:00-08:00"
    assert m["Slug"] == "year-end-thoughts" and "Save_as" not in m


def test_untitled_post_gets_a_readable_title_and_keeps_its_url(tmp_path, export):
    run(export, tmp_path)
    m = meta((tmp_path / "posts/2007/02/blog-post.md").read_text(encoding="utf-8"))
    assert m["Slug"] == "blog-post"
    assert m["Title"] == "Quick note: the server room flooded again. More tomorrow."


def test_same_title_pair_keeps_both_urls(tmp_path, export):
    run(export, tmp_path)
    april = meta((tmp_path / "posts/2007/04/monthly-update.md").read_text(encoding="utf-8"))
    may = meta((tmp_path / "posts/2007/05/monthly-update.md").read_text(encoding="utf-8"))
    assert april["Title"] == may["Title"] == "Monthly Update"
    assert april["Slug"] == "monthly-update" and "Save_as" not in april
    assert may["Slug"] == "monthly-update-2007-05"
    assert may["Save_as"] == may["URL"] == "2007/05/monthly-update.html"


def test_draft_page_and_skipped_entries(tmp_path, export):
    report = run(export, tmp_path)
    assert meta((tmp_path / "posts/2007/06/unfinished-thoughts.md").read_text(encoding="utf-8"))["Status"] == "draft"
    page = (tmp_path / "pages/about-me.md").read_text(encoding="utf-8")
    assert meta(page)["Slug"] == "about-me" and "I fix *other people's* servers." in page
    assert report.counts["posts"] == 5 and report.counts["drafts"] == 1 and report.counts["pages"] == 1
    reasons = {s.reason for s in report.skipped}
    if export.stem == "classic":
        assert "the Blogger layout is replaced by the theme" in reasons
    else:
        assert "status DELETED in Blogger" in reasons
        assert not (tmp_path / "posts/2007/07").exists()


def test_html_becomes_clean_markdown(tmp_path, export):
    run(export, tmp_path)
    body = (tmp_path / POST).read_text(encoding="utf-8").split("\n\n", 1)[1]
    # <br>-separated text: paragraphs and a real list.
    assert "Every client says they have backups.  \nFew have ever restored one.\n\nWhat I ask them:\n\n" in body
    assert "- When did you last restore a file?\n- Who knows the password?\n- Where is the second copy?\n" in body
    assert "It is *never* the **hardware**." in body
    assert "| First | Office |" in body and "```\nrsync -a /srv/ backup:/srv/\n```" in body
    # Blogger's cruft is gone.
    for cruft in ("onblur", "onclick", "style", "<span", "<div", "script", "owned", "BLOGGER_PHOTO_ID"):
        assert cruft not in body, cruft
    # The largest image, without the wrapping link to its -h page.
    assert "![The server room](http://1.bp.blogspot.com/_abc/R1/AAAA/xyz/s1600/server-room.jpg)" in body
    assert "s1600-h" not in body and "s320" not in body


def test_links_to_the_old_blog_are_rewritten(tmp_path, export):
    run(export, tmp_path)
    body = (tmp_path / POST).read_text(encoding="utf-8")
    assert "[my year-end thoughts]({filename}/posts/2007/12/year-end-thoughts.md)" in body
    assert "[flood note]({filename}/posts/2007/02/blog-post.md)" in body  # ?showComment and #c555 dropped
    assert "[disaster recovery]({tag}disaster-recovery)" in body
    assert "[December archive](/2007/12/)" in body
    assert "[a restore guide](https://example.org/restore-guide)" in body
    assert "blogspot.com/2007" not in body and "blogspot.co.uk" not in body


def test_comments_become_threaded_sanitised_archived_comments(tmp_path, export):
    report = run(export, tmp_path)
    data = json.loads((tmp_path / COMMENTS).read_text(encoding="utf-8"))
    assert data["post"] == "2007/03/backups-nobody-tests.html" and data["source"] == "Blogger"
    comments = {c["id"]: c for c in data["comments"]}
    assert list(comments) == ["c1001", "c1002", "c1003", "c1005"]  # c1004 was deleted on Blogger
    amy = comments["c1001"]
    assert amy["author"] == "Anonymous" and amy["url"] is None and amy["parent"] is None
    assert amy["date"] == "2007-03-06T07:10:00-05:00"
    assert amy["body"] == "<p>You can lead a horse to water, but you can't make it restore.</p><p>Amy</p>"
    jane = comments["c1002"]
    assert jane["parent"] == "c1001" and jane["url"] == "https://jane.example.com/"
    assert 'href="https://jane.example.com/restores" rel="nofollow ugc noopener"' in jane["body"]
    hostile = comments["c1003"]
    assert hostile["author"] == "Mallory" and hostile["url"] is None
    assert "HOSTILE-COMMENT-TEXT" in hostile["body"]
    for bad in ("<script", "onerror", "javascript:", "<img", "owned"):
        assert bad not in json.dumps(hostile), bad
    # A reply to the deleted comment stays, as a top-level comment with a note.
    assert comments["c1005"]["parent"] is None and "deleted" in comments["c1005"]["note"]
    # The draft's comment is not published but not lost either.
    assert "DRAFT-COMMENT-TEXT" not in "".join(p.read_text() for p in (tmp_path / "comments").rglob("*.json"))
    held = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["held_comments"]
    assert "DRAFT-COMMENT-TEXT" in json.dumps(held["posts/2007/06/unfinished-thoughts.md"])
    assert report.counts["comments"] == 4 and report.counts["comments_dropped"] == 1 and report.counts["comments_held"] == 1


def test_rerun_is_idempotent(tmp_path, export):
    run(export, tmp_path)
    before = snapshot(tmp_path)
    report = run(export, tmp_path)
    assert snapshot(tmp_path) == before
    assert report.written == [] and report.protected == []
    assert len(report.unchanged) == 8


def test_edited_file_is_protected_unless_forced(tmp_path, export):
    run(export, tmp_path)
    post = tmp_path / POST
    edited = post.read_text(encoding="utf-8") + "\nAn update written after the import.\n"
    post.write_text(edited, encoding="utf-8")
    report = run(export, tmp_path)
    assert post.read_text(encoding="utf-8") == edited
    assert [path for path, _ in report.protected] == [POST]
    assert "edited since the last import" in report.summary()
    run(export, tmp_path, force=True)
    assert "An update written after the import." not in post.read_text(encoding="utf-8")


def test_a_file_the_importer_did_not_write_is_not_overwritten(tmp_path, export):
    mine = tmp_path / "pages/about-me.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("Title: About\nSlug: about-me\n\nMy own words.\n", encoding="utf-8")
    report = run(export, tmp_path)
    assert mine.read_text(encoding="utf-8").endswith("My own words.\n")
    assert ("pages/about-me.md", "exists and was not written by the importer (use --force to replace it)") in report.protected


def test_dry_run_writes_nothing(tmp_path, export):
    report = run(export, tmp_path / "content", dry_run=True, isso_json=tmp_path / "isso.json")
    assert not (tmp_path / "content").exists() and not (tmp_path / "isso.json").exists()
    assert len(report.written) == 8
    assert report.summary().startswith("Dry run: nothing was written.")


def test_summary_counts_everything(tmp_path, export):
    summary = run(export, tmp_path).summary()
    assert "posts     5 published, 1 drafts" in summary
    assert "pages     1" in summary
    assert "comments  4 archived, 1 dropped" in summary and "1 held back" in summary
    assert "files     8 written" in summary


def test_isso_json_is_isso_generic_import_format(tmp_path, export):
    from isso.migrate import Generic

    out = tmp_path / "isso.json"
    run(export, tmp_path / "content", isso_json=out)
    threads = json.loads(out.read_text(encoding="utf-8"))
    assert Generic.detect(out.read_text(encoding="utf-8")[:10])
    assert [t["id"] for t in threads] == ["/2007/03/backups-nobody-tests.html"]
    comment = threads[0]["comments"][0]
    assert set(comment) == {"id", "author", "email", "website", "remote_addr", "created", "text"}
    assert comment["created"] == "2007-03-06 12:10:00" and comment["text"].startswith("You can lead a horse")
    assert "owned" not in out.read_text(encoding="utf-8")
    # Isso's own importer loads it into a real Isso database.
    from isso import config
    from isso.db import SQLite3

    conf = config.load(config.default_file())
    conf.set("general", "dbpath", str(tmp_path / "comments.db"))
    db = SQLite3(str(tmp_path / "comments.db"), conf)
    Generic(db, str(out)).migrate()
    stored = list(db.comments.fetch("/2007/03/backups-nobody-tests.html"))
    assert [c["author"] for c in stored] == ["Anonymous", "Jane Reader", "Mallory", "Bob"]


def test_comment_form_message_becomes_the_policy_only_when_none_is_set(tmp_path):
    settings = tmp_path / "pelicanconf.py"
    settings.write_text('SITENAME = "x"\n', encoding="utf-8")
    run(FORMATS["classic"], tmp_path / "content", settings_file=settings)
    namespace: dict = {}
    exec(settings.read_text(encoding="utf-8"), namespace)
    assert namespace["COMMENTS"]["policy"] == "Feedback welcome. Spam and abusive posts will be deleted. Disagreements welcome!"
    run(FORMATS["classic"], tmp_path / "content", settings_file=settings)  # not added twice
    assert settings.read_text(encoding="utf-8").count("COMMENTS =") == 1

    own = tmp_path / "own.py"
    own.write_text('COMMENTS = {"policy": "Be kind."}\n', encoding="utf-8")
    report = run(FORMATS["classic"], tmp_path / "content2", settings_file=own)
    assert own.read_text(encoding="utf-8") == 'COMMENTS = {"policy": "Be kind."}\n'
    assert any("comment policy kept" in note for note in report.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "the file is empty"),
        (b"Title: not XML at all\n", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "not a Blogger export: the root element is <rss>"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>x</title></entry></feed>", "not a Blogger export"),
        (None, "truncated"),
        (b"<?xml version='1.0'?><!DOCTYPE feed [<!ENTITY a 'aaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
         b"<feed xmlns='http://www.w3.org/2005/Atom'><title>&b;</title></feed>", "declares XML entities"),
    ],
)
def test_bad_input_stops_with_a_clear_error_and_writes_nothing(tmp_path, text, message):
    bad = tmp_path / "export.xml"
    if text is None:  # a download cut off half way
        text = FORMATS["blogger2018"].read_bytes()[:5000]
    bad.write_bytes(text)
    content = tmp_path / "content"
    with pytest.raises(BloggerExportError) as error:
        run(bad, content)
    assert message in str(error.value)
    assert str(bad) in str(error.value)
    assert not content.exists()


def test_the_task_reports_bad_input_and_exits_non_zero(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "export.xml"
    bad.write_text("not xml", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "import-blogger", str(bad), "--content", str(tmp_path / "content")],
        cwd=Path(__file__).parent.parent, capture_output=True, text=True,
    )
    assert done.returncode != 0
    assert "not well-formed XML" in done.stderr and "Nothing was written." in done.stderr
    assert not (tmp_path / "content").exists()


@pytest.mark.parametrize(
    ("url", "largest"),
    [
        ("http://1.bp.blogspot.com/_a/R/AAAA/x/s320/photo.jpg", "http://1.bp.blogspot.com/_a/R/AAAA/x/s1600/photo.jpg"),
        ("http://1.bp.blogspot.com/_a/R/AAAA/x/s1600-h/photo.jpg", "http://1.bp.blogspot.com/_a/R/AAAA/x/s1600/photo.jpg"),
        ("https://blogger.googleusercontent.com/img/b/R29v/AVvX/w640-h480/p.png",
         "https://blogger.googleusercontent.com/img/b/R29v/AVvX/s0/p.png"),
        ("https://blogger.googleusercontent.com/img/a/AVvXsEg=w400-h300", "https://blogger.googleusercontent.com/img/a/AVvXsEg=s0"),
        ("https://example.org/s320/photo.jpg", "https://example.org/s320/photo.jpg"),
    ],
)
def test_largest_image_url(url, largest):
    assert largest_image_url(url) == largest


def test_iframes_become_links_and_javascript_links_go():
    links = LinkMap(hosts={"x.blogspot.com"}, targets={})
    md = to_markdown('<iframe src="//www.youtube.com/embed/abc"></iframe><a href="javascript:alert(1)">x</a>', links).markdown
    assert "[Embedded content from www.youtube.com](https://www.youtube.com/embed/abc)" in md
    assert "javascript" not in md and "iframe" not in md


def test_a_google_takeout_zip_is_read_directly(tmp_path):
    import zipfile

    takeout = tmp_path / "takeout-20260101.zip"
    with zipfile.ZipFile(takeout, "w") as archive:
        archive.write(FORMATS["blogger2018"], "Takeout/Blogger/Blogs/Consultant Notes/feed.atom")
        archive.writestr("Takeout/Blogger/Profile/profile.json", "{}")
    report = run(takeout, tmp_path / "content")
    assert report.format == "blogger2018" and report.counts["posts"] == 5

    two = tmp_path / "two-blogs.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(FORMATS["blogger2018"], "Takeout/Blogger/Blogs/A/feed.atom")
        archive.write(FORMATS["blogger2018"], "Takeout/Blogger/Blogs/B/feed.atom")
    with pytest.raises(BloggerExportError, match="exactly one Blogger/Blogs/<blog>/feed.atom"):
        run(two, tmp_path / "content2")
    assert not (tmp_path / "content2").exists()


def test_site_relative_links_to_old_posts_are_rewritten():
    links = LinkMap(hosts={"x.blogspot.com"}, targets={"2007/01/a.html": "{filename}/posts/2007/01/a.md"})
    md = to_markdown('<a href="/2007/01/a.html">a</a> <a href="/elsewhere.html">b</a>', links).markdown
    assert "[a]({filename}/posts/2007/01/a.md)" in md and "[b](/elsewhere.html)" in md


def test_nested_lists_and_nbsp_survive_into_html():
    import markdown

    links = LinkMap(hosts=set(), targets={})
    md = to_markdown("<div>One&nbsp;line.</div><ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", links).markdown
    html = markdown.markdown(md)
    assert "One line." in md and "\xa0" not in md
    assert html.count("<ul>") == 2 and "<li>b</li>" in html and html.index("<li>b</li>") < html.index("<li>c</li>")


def test_only_the_old_blogs_own_links_are_rewritten():
    links = LinkMap(hosts={"mine.blogspot.com"}, targets={"2007/01/a.html": "{filename}/posts/2007/01/a.md"})
    md = to_markdown(
        '<a href="http://mine.blogspot.de/2007/01/a.html">a</a> '
        '<a href="http://friend.blogspot.com/2007/01/a.html">friend</a> '
        '<a href="http://mine.blogspot.com/2007/01/">january</a> '
        '<a href="http://mine.blogspot.com/2007/02/deleted.html">deleted</a>', links).markdown
    assert "[a]({filename}/posts/2007/01/a.md)" in md
    assert "[friend](http://friend.blogspot.com/2007/01/a.html)" in md
    assert "[january](/2007/01/)" in md
    assert "[deleted](http://mine.blogspot.com/2007/02/deleted.html)" in md
    assert links.unresolved == {"http://mine.blogspot.com/2007/02/deleted.html"}


def test_classic_comment_without_in_reply_to_finds_its_post_by_its_link(tmp_path):
    import re

    text = FORMATS["classic"].read_text(encoding="utf-8")
    # Drop Amy's thr:in-reply-to; her comment's own alternate link still names the post.
    amy = re.compile(r"(<id>tag:blogger.com,1999:blog-42.post-1001</id>.*?)\s*<thr:in-reply-to[^>]*/>", re.S)
    assert amy.search(text)
    export = tmp_path / "old.xml"
    export.write_text(amy.sub(r"\1", text, count=1), encoding="utf-8")
    backups = next(e for e in read_export(export).posts if e.id == "101")
    assert "1001" in [c.id for c in backups.comments]
    assert backups.comments[0].post_id == ""  # found by the link, not by thr:in-reply-to
