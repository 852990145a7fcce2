"""Moderated comments end to end: a real Isso server (moderation on), the real site, real Chromium.

Isso runs on 127.0.0.1 on a free port from the locked isso==0.14.0 and is
stopped by its PID; the site is built with ISSO_URL pointing at it and served on
127.0.0.1. A reader posts through Isso's form on the seed post, the comment
is shown to its author alone (marked "awaiting approval", also after a reload)
until a moderator logs into Isso's admin UI and validates it, the post and the
index count archived and live comments alike in one thread, and a hostile
comment runs nothing and breaks no part of the Content-Security-Policy.
"""

import re
import urllib.request

import pytest

from blogkit.build import ROOT, build
from blogkit.comments import start_isso
from conftest import free_port

pytestmark = pytest.mark.browser

SEED = "/2007/01/psychotherapy-of-sales.html"
PASSWORD = "moderator-secret-1"
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


@pytest.fixture
def isso_and_site(tmp_path, monkeypatch, serve_folder):
    """Isso with moderation on, and the real blog built against it and served; both stopped after."""
    site_port, spare_port = free_port(), free_port()  # Isso's CORS allows both sites
    isso = start_isso(tmp_path / "isso", free_port(), [f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{spare_port}"],
                      admin_password=PASSWORD, ratelimit=10)
    isso.spare_port = spare_port
    try:
        monkeypatch.setenv("ISSO_URL", isso.url)
        build(ROOT / "pelicanconf.py", tmp_path / "output", {"CACHE_PATH": str(tmp_path / "cache")})
        served = serve_folder(tmp_path / "output", port=site_port)
        yield isso, served
    finally:
        isso.stop()
    assert isso.process.returncode is not None


def open_comments(page, url):
    """Load the post, bring the comments near, and wait until comments.js has read Isso's thread."""
    page.goto(url)
    page.locator("#comments").scroll_into_view_if_needed()
    page.wait_for_selector(".comments-live[data-comments-ready]", state="attached")


def post_comment(page, isso_url, text, author="", website=""):
    page.fill("#comment-text", text)
    page.fill("#comment-author", author)
    page.fill("#comment-website", website)
    with page.expect_response(lambda r: r.url.startswith(isso_url + "/new")) as answer:
        page.click("form.comment-form button[type=submit]")
    page.wait_for_function("() => !document.querySelector('form.comment-form button[type=submit]').disabled")
    return answer.value


def approve_in_admin(context, isso_url, text_fragment):
    """Log into Isso's admin UI and press Validate on the pending comment holding text_fragment."""
    admin = context.new_page()
    try:
        admin.goto(isso_url + "/admin/")
        if admin.locator("input[name=password]").count():  # the session cookie lasts a day
            admin.fill("input[name=password]", PASSWORD)
            admin.press("input[name=password]", "Enter")
        admin.wait_for_selector(".isso-comment")
        comment = admin.locator(".isso-comment", has_text=text_fragment)
        assert comment.locator(".label-pending").count() == 1
        with admin.expect_response(lambda r: "/activate/" in r.url and r.request.method == "POST") as done:
            comment.locator("a.validate").click()
        assert done.value.status == 200
    finally:
        admin.close()


def thread_state(page):
    """What a reader sees of the thread: headings, lists, the items of the one list, pending ones."""
    return page.evaluate("""() => {
        const section = document.querySelector('#comments');
        const list = section.querySelector('ol.comment-list');
        return {
            headings: [...section.querySelectorAll('h1, h2, h3, h4')].filter(h => h.offsetParent !== null)
                .map(h => h.textContent.trim()),
            lists: section.querySelectorAll('ol.comment-list').length,
            items: [...list.querySelectorAll('li.comment')].map(li => li.id),
            pending: [...list.querySelectorAll('li.comment-pending')].map(li => li.id),
            text: section.innerText,
        };
    }""")


def index_count(page, base):
    page.goto(base + "/")
    page.locator(f'a.comment-count[href="{SEED}#comments"]').scroll_into_view_if_needed()
    page.wait_for_selector(f'a.comment-count[href="{SEED}#comments"][data-comments-counted]', state="attached")
    return page.locator(f'a.comment-count[href="{SEED}#comments"] .comment-count-text').inner_text()


def test_one_thread_held_comment_shown_to_its_author_only_and_hostile_comment_runs_nothing(isso_and_site, page, chromium):
    isso, served = isso_and_site
    url = served.url + SEED
    page.add_init_script(WATCH_CSP)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    to_isso = []
    page.on("request", lambda r: r.url.startswith(isso.url) and to_isso.append(r.url))

    # Nothing goes to the comment server before the reader nears the comments.
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert to_isso == []
    title = page.title()
    assert page.locator("#comment-c1 .comment-body").inner_text().startswith("You can lead a horse to water")

    open_comments(page, url)
    assert any("/?uri=" in u for u in to_isso) and not any(u.endswith("embed.min.js") for u in to_isso)
    state = thread_state(page)
    # One heading, one count, one list; no "No comments yet" beside Amy's comment; no importer note.
    assert state["headings"] == ["1 comment", "Leave a comment"] and state["lists"] == 1
    assert state["items"] == ["comment-c1"]
    assert "no comments" not in state["text"].lower() and "Blogger showed only the time" not in state["text"]
    assert "Comments appear here after the author approves them." in page.locator("form.comment-form").inner_text()

    friendly = "Thank you, this was me last week. Approve me please."
    answer = post_comment(page, isso.url, friendly, author="Dana")
    assert answer.status == 202 and answer.json()["mode"] == 2  # held for moderation
    held = f"isso-{answer.json()['id']}"
    mine = page.locator(f"#{held}")
    assert "Awaiting approval" in mine.locator(".comment-status").inner_text()
    assert mine.locator(".comment-meta").inner_text().split("\n")[0].startswith("Dana")
    assert thread_state(page)["headings"][0] == "1 comment"  # held: not counted

    open_comments(page, url)  # reload: still there for its author, still marked
    state = thread_state(page)
    assert state["items"] == ["comment-c1", held] and state["pending"] == [held]
    assert "Approve me please" in mine.inner_text() and "Awaiting approval" in mine.inner_text()
    assert state["headings"][0] == "1 comment"

    # A fresh browser (another reader): nothing of it.
    stranger = chromium.browser.new_context()
    try:
        other = stranger.new_page()
        open_comments(other, url)
        assert thread_state(other)["items"] == ["comment-c1"] and "Approve me please" not in other.content()
    finally:
        stranger.close()

    approve_in_admin(chromium, isso.url, "Approve me please")
    open_comments(page, url)  # reload: shown to everyone, counted, no longer marked
    state = thread_state(page)
    assert state["headings"][0] == "2 comments" and state["lists"] == 1
    assert state["items"] == ["comment-c1", held] and state["pending"] == []
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('blog-comments-pending'))") == []
    assert index_count(page, served.url) == "2 comments"  # the same number on the index

    page.goto(url)
    open_comments(page, url)
    hostile = ("<script>document.title='pwned-script'</script>\n\n"
               "<img src=x onerror=\"document.title='pwned-img'\">\n\n"
               "[click me](javascript:document.title='pwned-link') and a mark HOSTILE-42")
    answer = post_comment(page, isso.url, hostile, author="<img src=x onerror=alert(1)>", website="javascript:alert(2)")
    assert answer.status == 400 and "Website" in answer.text()  # Isso refuses a javascript: website outright
    assert "was not posted" in page.locator(".comment-form-status").inner_text()
    answer = post_comment(page, isso.url, hostile, author="<img src=x onerror=alert(1)>")
    assert answer.status == 202
    approve_in_admin(chromium, isso.url, "HOSTILE-42")
    open_comments(page, url)
    shown = page.locator("#comments li.comment", has_text="HOSTILE-42")
    assert shown.count() == 1
    assert shown.locator(".comment-author").inner_text() == "<img src=x onerror=alert(1)>"  # as text
    section = page.locator("#comments")
    assert section.locator("script, img").count() == 0
    assert page.evaluate("""() => [...document.querySelectorAll('#comments *')].flatMap(el =>
        [...el.attributes].filter(a => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)).map(a => a.name))""") == []
    for link in shown.locator(".comment-body a, a.comment-author").all():
        link.click(no_wait_after=True)
    page.wait_for_timeout(300)
    assert page.title() == title and "pwned" not in page.title()
    assert dialogs == []
    assert page.evaluate("window.__csp") == []
    # The only errors are Isso refusing the javascript: website (a 400 and Isso logging its reason).
    refused = re.compile(r"400 \(BAD REQUEST\)|status of 400")
    assert [e for e in page.console_errors if not refused.search(e)] == []
    assert thread_state(page)["headings"][0] == "3 comments"
    assert index_count(page, served.url) == "3 comments"
    count = page.locator(f'a.comment-count[href="{SEED}#comments"]')
    assert count.text_content() == "3 comments on The Psychotherapy of Sales"  # the link still names its post
    assert page.evaluate("window.__csp") == []

    # Control: the watcher does see a violation when there is one (an inline style attribute).
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.__csp")[0].startswith("style-src")


def test_a_rejected_comment_leaves_its_authors_browser(isso_and_site, page):
    isso, served = isso_and_site
    url = served.url + SEED
    open_comments(page, url)
    answer = post_comment(page, isso.url, "Buy cheap things at REJECT-ME.", author="Spammer")
    held = answer.json()["id"]
    open_comments(page, url)
    assert page.locator(f"#isso-{held}.comment-pending").count() == 1
    [link] = re.findall(rf"Delete comment: (\S+/id/{held}/delete/\S+)", isso.log_text())
    urllib.request.urlopen(urllib.request.Request(link, method="POST")).read()  # the moderator's mail link
    open_comments(page, url)
    page.wait_for_function(f"() => !document.getElementById('isso-{held}')")
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('blog-comments-pending'))") == []
    assert thread_state(page)["items"] == ["comment-c1"]


def test_click_mode_loads_nothing_until_asked(isso_and_site, page, tmp_path, monkeypatch, serve_folder):
    isso, _ = isso_and_site
    site_port = isso.spare_port
    build(ROOT / "pelicanconf.py", tmp_path / "click", {"CACHE_PATH": str(tmp_path / "cache2"),
                                                         "COMMENTS": {"load": "click", "isso": {"url": isso.url}}})
    served = serve_folder(tmp_path / "click", port=site_port)
    to_isso = []
    page.on("request", lambda r: r.url.startswith(isso.url) and to_isso.append(r.url))
    page.goto(served.url + SEED)
    page.locator("#comments").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    assert to_isso == []
    page.click(".comments-load .comments-button")
    page.wait_for_selector("form.comment-form", state="visible")
    assert any("/?uri=" in u for u in to_isso)


def test_without_javascript_the_archived_comment_and_a_note_show(isso_and_site, chromium):
    _, served = isso_and_site
    context = chromium.browser.new_context(java_script_enabled=False) if chromium.browser else None
    if context is None:
        pytest.fail("a persistent Chromium context has no browser to open a no-JS context from")
    page = context.new_page()
    try:
        page.goto(served.url + SEED)
        assert "You can lead a horse to water" in page.locator("#comment-c1").inner_text()
        assert "needs JavaScript" in page.locator(".comments-live").evaluate("el => el.previousElementSibling.textContent")
        assert page.locator("#comments-title").inner_text() == "1 comment"  # the archived one: an honest count
        assert not page.locator("form.comment-form").is_visible()  # it cannot post without JavaScript
        assert "Blogger showed only the time" not in page.content()
    finally:
        context.close()


def test_exported_comments_show_once_live_and_stay_without_the_service(tmp_path, site, serve_folder, page, monkeypatch):
    """Approve in Isso, export, rebuild: the static copy shows; once Isso loads, it is not shown twice."""
    import datetime as dt
    import json
    import urllib.request

    from blogkit.comments import export_comments

    site_port = free_port()
    isso = start_isso(tmp_path / "isso", free_port(), [f"http://127.0.0.1:{site_port}"], guard=False)
    try:
        request = urllib.request.Request(
            f"{isso.url}/new?uri=/2020/05/a.html", method="POST",
            data=json.dumps({"title": "A post", "text": "Exported and still here.", "author": "Eve"}).encode(),
            headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{site_port}"})
        with urllib.request.urlopen(request) as response:
            comment_id = json.load(response)["id"]
        [link] = re.findall(rf"Activate comment: (\S+/id/{comment_id}/activate/\S+)", isso.log_text())
        urllib.request.urlopen(urllib.request.Request(link, method="POST")).read()
        # A long post: the comments start far below, so Isso loads only when the test scrolls there.
        site.post("a", body="\n\n".join(f"Paragraph {n} of a long post about backups." for n in range(80)))
        export_comments(isso.url, ["/2020/05/a.html"], site.content / "comments", dt.timezone.utc)
        monkeypatch.setenv("ISSO_URL", isso.url)
        site.build()
        served = serve_folder(site.output, port=site_port)
        page.goto(served.url + "/2020/05/a.html")
        archived = page.locator(f"#comment-isso-{comment_id}")
        page.wait_for_timeout(300)
        assert archived.is_visible() and "Exported and still here." in archived.inner_text()
        page.locator("#comments").scroll_into_view_if_needed()
        page.wait_for_selector(".comments-live[data-comments-ready]", state="attached")
        # Isso still has it live: shown once (the archived copy) and counted once.
        assert page.locator(f"#isso-{comment_id}").count() == 0 and archived.is_visible()
        assert page.locator("#comments-title").inner_text() == "1 comment"
        assert page.console_errors == []
    finally:
        isso.stop()


GISCUS = {"repo": "owner/blog", "repo_id": "R_kgDOExample", "category": "Comments", "category_id": "DIC_kwDOExample"}


def test_giscus_script_loads_only_near_the_comments_with_its_attributes(site, serve_folder, page):
    """giscus.app cannot be reached from here: its client.js is faked by a Playwright route that
    records the attributes our loader gave the <script>. Everything else is real."""
    long_body = "\n\n".join(f"Paragraph {n} of a long post, long enough to push the comments far down." for n in range(80))
    site.post("a", body=long_body)
    site.build(COMMENTS={"provider": "giscus", "giscus": GISCUS})
    served = serve_folder(site.output)
    fetched = []

    def fake_giscus(route):
        fetched.append(route.request.url)
        route.fulfill(content_type="text/javascript",
                      body="window.__giscus = Object.assign({}, document.currentScript.dataset);")

    page.route("https://giscus.app/**", fake_giscus)
    page.add_init_script(WATCH_CSP)
    page.goto(served.url + "/2020/05/a.html")
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")  # the reader's toggle
    page.wait_for_timeout(300)
    assert fetched == []
    page.locator("#comments").scroll_into_view_if_needed()
    page.wait_for_function("() => window.__giscus !== undefined")
    assert fetched == ["https://giscus.app/client.js"]
    seen = page.evaluate("window.__giscus")
    assert {k: seen[k] for k in ("repo", "repoId", "category", "categoryId", "mapping", "strict", "theme", "loading")} == {
        "repo": "owner/blog", "repoId": "R_kgDOExample", "category": "Comments", "categoryId": "DIC_kwDOExample",
        "mapping": "pathname", "strict": "1", "theme": "dark", "loading": "lazy"}
    assert "commentsSrc" not in seen  # only giscus's own attributes are handed over
    assert page.evaluate("window.__csp") == [] and page.console_errors == []
