"""Moderated comments end to end: a real Isso server (moderation on), the real site, real Chromium.

Isso runs on 127.0.0.1 on a free port from the locked isso==0.14.0 and is
stopped by its PID; the site is built with ISSO_URL pointing at it and served on
127.0.0.1. A reader posts through Isso's form on the seed post, the comment
stays hidden until a moderator logs into Isso's admin UI and validates it, and
a hostile comment runs nothing and breaks no part of the Content-Security-Policy.
"""

import re

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
    """Load the post, bring the comments near, and wait until Isso has fetched the thread."""
    page.goto(url)
    page.locator("#comments").scroll_into_view_if_needed()
    # A function, not a string: a string predicate would need eval, which the CSP rightly forbids.
    page.wait_for_function("() => { const h = document.querySelector('.isso-thread-heading');"
                           " return h !== null && h.textContent.length > 0; }")


def post_comment(page, isso_url, text, author="", website=""):
    page.fill(".isso-postbox .isso-textarea", text)
    if author:
        page.fill("#isso-postbox-author", author)
    if website:
        page.fill("#isso-postbox-website", website)
    with page.expect_response(lambda r: r.url.startswith(isso_url + "/new")) as answer:
        page.click(".isso-postbox input[type=submit]")
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


def live_texts(page):
    return page.locator("#isso-root .isso-comment .isso-text").all_inner_texts()


def test_comment_waits_for_approval_and_hostile_comment_runs_nothing(isso_and_site, page, chromium):
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
    assert any(u.endswith("/js/embed.min.js") for u in to_isso)
    friendly = "Thank you, this was me last week. Approve me please."
    answer = post_comment(page, isso.url, friendly, author="Dana")
    assert answer.status == 202 and answer.json()["mode"] == 2  # held for moderation

    open_comments(page, url)  # reload: not shown
    assert not any("Approve me please" in t for t in live_texts(page))

    approve_in_admin(chromium, isso.url, "Approve me please")
    open_comments(page, url)  # reload: shown
    assert any("Approve me please" in t for t in live_texts(page))
    assert page.locator("#isso-root .isso-author", has_text="Dana").count() == 1

    hostile = ("<script>document.title='pwned-script'</script>\n\n"
               "<img src=x onerror=\"document.title='pwned-img'\">\n\n"
               "[click me](javascript:document.title='pwned-link') and a mark HOSTILE-42")
    answer = post_comment(page, isso.url, hostile, author="<img src=x onerror=alert(1)>", website="javascript:alert(2)")
    assert answer.status == 400 and "Website" in answer.text()  # Isso refuses a javascript: website outright
    page.fill("#isso-postbox-website", "")
    with page.expect_response(lambda r: r.url.startswith(isso.url + "/new")) as again:
        page.click(".isso-postbox input[type=submit]")
    assert again.value.status == 202
    approve_in_admin(chromium, isso.url, "HOSTILE-42")
    open_comments(page, url)
    shown = page.locator("#isso-root .isso-comment", has_text="HOSTILE-42")
    assert shown.count() == 1
    root = page.locator("#isso-root")
    assert root.locator("script").count() == 0
    assert page.evaluate("""() => [...document.querySelectorAll('#isso-root *')].flatMap(el =>
        [...el.attributes].filter(a => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)).map(a => a.name))""") == []
    for link in shown.locator(".isso-text a, .isso-author").all():
        link.click(no_wait_after=True)
    page.wait_for_timeout(300)
    assert page.title() == title and "pwned" not in page.title()
    assert dialogs == []
    assert page.evaluate("window.__csp") == []
    # The only errors are Isso refusing the javascript: website (a 400 and Isso logging its reason).
    refused = re.compile(r"400 \(BAD REQUEST\)|Website not Django-conform")
    assert [e for e in page.console_errors if not refused.search(e)] == []
    assert any(refused.search(e) for e in page.console_errors)
    # The index page: the archived count, raised by Isso's live count (1 archived + 2 approved).
    page.goto(served.url + "/")
    count = page.locator(f'a.comment-count[href="{SEED}#comments"]')
    page.wait_for_function("() => document.querySelector('a.comment-count .comment-count-text').textContent === '3 comments'")
    assert count.locator(".comment-count-text").inner_text() == "3 comments"
    assert count.text_content() == "3 comments on The Psychotherapy of Sales"  # the link still names its post
    assert page.evaluate("window.__csp") == []

    # Control: the watcher does see a violation when there is one (an inline style attribute).
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.__csp")[0].startswith("style-src")


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
    page.click(".comments-button")
    page.wait_for_selector(".isso-postbox")
    assert any(u.endswith("/js/embed.min.js") for u in to_isso)


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
        assert page.locator(".isso-postbox").count() == 0
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
        assert not page.evaluate("() => window.Isso !== undefined")  # not loaded yet: the static copy is what shows
        assert archived.is_visible() and "Exported and still here." in archived.inner_text()
        page.locator("#comments").scroll_into_view_if_needed()
        page.wait_for_selector(f"#isso-{comment_id}")
        page.wait_for_function(f"() => document.getElementById('comment-isso-{comment_id}').hidden")
        assert page.locator(f"#isso-{comment_id}").is_visible() and not archived.is_visible()
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
