"""The theme in real headless Chromium: axe-core finds nothing, the toggle works by keyboard and persists, nothing shifts."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from theme_fixtures import build_theme_site

pytestmark = pytest.mark.browser

POST = "/2007/01/psychotherapy-of-sales.html"
CODE_POST = "/2021/03/backups-that-restore.html"
REAL_PAGES = [POST, "/", "/archives.html", "/search/label/sales.html", "/404.html"]
DARK_BG = "rgb(13, 17, 23)"
LIGHT_BG = "rgb(255, 255, 255)"


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    """The theme fixture site (code blocks in many token types, contract variables), built once."""
    from conftest import Site

    site = Site(tmp_path_factory.mktemp("theme-browser-site"))
    return build_theme_site(site)


@pytest.fixture(scope="module")
def axe():
    return Axe()


def assert_no_violations(axe, page, label):
    results = axe.run(page)
    assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"


def body_background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_the_real_pages(real_site, serve_folder, page, axe, scheme):
    server = serve_folder(real_site)
    page.emulate_media(color_scheme=scheme)
    for path in REAL_PAGES:
        page.goto(server.url + path)
        assert body_background(page) == (DARK_BG if scheme == "dark" else LIGHT_BG), path
        assert_no_violations(axe, page, f"{path} ({scheme})")
    assert page.console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_highlighted_code_and_contract_blocks(fixture_site, serve_folder, page, axe, scheme):
    server = serve_folder(fixture_site)
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + CODE_POST)
    assert page.locator(".post-body .highlight .k").count() > 0
    assert page.locator("nav.toc, nav.post-nav, section.related").count() == 3
    page.wait_for_selector(".copy-code")  # the enhancement is there while axe looks
    assert_no_violations(axe, page, f"{CODE_POST} ({scheme})")
    # The reader's choice wins over the system setting, code colours included.
    page.evaluate("document.documentElement.setAttribute('data-theme', %r)" % ("light" if scheme == "dark" else "dark"))
    assert body_background(page) == (LIGHT_BG if scheme == "dark" else DARK_BG)
    assert_no_violations(axe, page, f"{CODE_POST} (forced opposite of {scheme})")
    assert page.console_errors == []


def tab_to(page, selector: str, limit: int = 100) -> None:
    """Press Tab until `selector` has the keyboard focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab within {limit} presses")


FIRST_FRAME = """
window.__firstFrame = null;
(function wait() {
  requestAnimationFrame(function () {
    if (!document.body) return wait();
    window.__firstFrame = {theme: document.documentElement.getAttribute('data-theme'),
                           background: getComputedStyle(document.body).backgroundColor};
  });
})();
"""


def pressed(page) -> str:
    """The choice the scheme switch shows as pressed."""
    return page.locator(".theme-switch button[aria-pressed=true]").get_attribute("data-theme-choice")


def test_switch_works_by_keyboard_persists_across_pages_applies_before_first_paint_and_returns_to_system(real_site, serve_folder, page):
    """Design change (issue 15): a three-state switch (System, Light, Dark) replaces the two-state toggle."""
    server = serve_folder(real_site)
    page.emulate_media(color_scheme="light")
    page.add_init_script(FIRST_FRAME)
    page.goto(server.url + POST)
    assert page.locator(".theme-switch").is_visible() and pressed(page) == "system"
    assert body_background(page) == LIGHT_BG

    tab_to(page, ".theme-switch [data-theme-choice=dark]")
    page.keyboard.press("Enter")
    assert pressed(page) == "dark"
    assert body_background(page) == DARK_BG

    # Another page: dark from the very first frame (no flash of light), switch in step.
    page.goto(server.url + "/archives.html")
    page.wait_for_function("() => window.__firstFrame !== null")
    assert page.evaluate("window.__firstFrame") == {"theme": "dark", "background": DARK_BG}
    assert pressed(page) == "dark"

    # Space chooses Light; the light choice persists too, even against a dark system setting.
    tab_to(page, ".theme-switch [data-theme-choice=light]")
    page.keyboard.press(" ")
    page.emulate_media(color_scheme="dark")
    page.goto(server.url + "/")
    page.wait_for_function("() => window.__firstFrame !== null")
    assert page.evaluate("window.__firstFrame") == {"theme": "light", "background": LIGHT_BG}
    assert pressed(page) == "light"

    # System again: the stored choice is gone and the page follows the system's dark setting.
    tab_to(page, ".theme-switch [data-theme-choice=system]")
    page.keyboard.press("Enter")
    assert pressed(page) == "system" and body_background(page) == DARK_BG
    page.goto(server.url + POST)
    page.wait_for_function("() => window.__firstFrame !== null")
    assert page.evaluate("window.__firstFrame") == {"theme": None, "background": DARK_BG}
    assert page.evaluate("localStorage.getItem('theme')") is None
    page.emulate_media(color_scheme="light")
    assert body_background(page) == LIGHT_BG
    assert page.console_errors == []


def test_phone_header_is_compact_and_its_menu_opens_without_javascript(real_site, serve_folder, chromium, page):
    server = serve_folder(real_site)
    chromium.new_cdp_session(page).send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/")
    nav_link = page.locator("nav[aria-label=Main] a", has_text="Archives")
    assert not nav_link.is_visible()
    assert page.locator(".site-header").bounding_box()["height"] <= 80
    assert page.locator("main .post-title").first.bounding_box()["y"] < 200, "the first post starts high on a phone"
    tab_to(page, "#menu-toggle")
    page.keyboard.press(" ")
    assert nav_link.is_visible()
    page.locator("label.menu-button").click()
    assert not nav_link.is_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    assert nav_link.is_visible() and not page.locator("label.menu-button").is_visible()


def test_without_javascript_the_system_scheme_applies_and_no_dead_toggle_shows(real_site, serve_folder, chromium, page):
    """JavaScript off: prefers-color-scheme still works; the toggle, which would need JS, is hidden."""
    server = serve_folder(real_site)
    chromium.new_cdp_session(page).send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.emulate_media(color_scheme="dark")
    page.goto(server.url + POST)
    assert page.evaluate("document.documentElement.classList.contains('js')") is False
    assert body_background(page) == DARK_BG
    assert not page.locator(".theme-switch").is_visible()
    assert page.locator(".archive-widget details[open] summary").count() == 1


def test_archive_widget_opens_and_closes_by_keyboard(fixture_site, serve_folder, page):
    server = serve_folder(fixture_site)
    page.goto(server.url + "/")
    years = page.locator(".archive-widget details")
    assert [years.nth(i).evaluate("d => d.open") for i in range(2)] == [True, False]
    tab_to(page, ".archive-widget details:not([open]) > summary")
    page.keyboard.press("Enter")
    assert years.nth(1).evaluate("d => d.open")
    assert page.locator(".archive-widget a[href='/2019/07/']").is_visible()
    page.keyboard.press("Enter")
    assert not years.nth(1).evaluate("d => d.open")
    assert page.console_errors == []


def test_copy_button_copies_the_code(fixture_site, serve_folder, chromium, page):
    server = serve_folder(fixture_site)
    chromium.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + CODE_POST)
    block = page.locator(".post-body .highlight").first
    button = block.locator("button.copy-code")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.copy-code').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == block.locator("pre").inner_text().rstrip("\n")
    assert copied.startswith("import shutil, datetime")
    assert page.locator("[role=status]").inner_text() == "Code copied to the clipboard"
    assert page.console_errors == []


LAYOUT_SHIFT = """
window.__shift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__shift += e.value; });
}).observe({type: 'layout-shift', buffered: true});
"""


@pytest.mark.parametrize("width", [320, 1280])
def test_no_layout_shift_and_no_horizontal_scroll(fixture_site, serve_folder, page, width):
    server = serve_folder(fixture_site)
    page.set_viewport_size({"width": width, "height": 800})
    page.add_init_script(LAYOUT_SHIFT)
    page.goto(server.url + CODE_POST, wait_until="load")
    page.wait_for_selector(".copy-code")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__shift") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    # The long line scrolls inside its own block instead.
    assert page.evaluate("Math.max(...[...document.querySelectorAll('.highlight pre')].map(p => p.scrollWidth - p.clientWidth))") > 0
    assert page.console_errors == []


def test_print_shows_the_post_without_navigation(real_site, serve_folder, page):
    server = serve_folder(real_site)
    page.emulate_media(media="print", color_scheme="dark")
    page.goto(server.url + POST)
    assert not page.locator("nav[aria-label=Main]").is_visible()
    assert not page.locator("aside.sidebar").is_visible()
    assert page.locator(".post-body").is_visible()
    assert body_background(page) == LIGHT_BG, "print is black on white even in dark mode"
    page.emulate_media(media="screen")


STRICT_CSP = "default-src 'self'; script-src 'self' {hashes}; style-src 'self'; img-src 'self' data:"


def add_strict_csp(folder, relpath: str) -> None:
    """Put the site's kind of CSP first in a page's head (what plugins/csp does): inline scripts only by hash."""
    import base64
    import hashlib
    import re

    page = folder / relpath
    text = page.read_text(encoding="utf-8")
    hashes = " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        for body in re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    )
    meta = f'<meta http-equiv="Content-Security-Policy" content="{STRICT_CSP.format(hashes=hashes)}">'
    page.write_text(text.replace("<head>", "<head>\n" + meta, 1), encoding="utf-8")


def test_theme_runs_under_a_strict_csp(fixture_site, serve_folder, chromium, page, tmp_path):
    """No inline style or handler anywhere, the pre-paint script allowed by its hash: no violation, features work."""
    import shutil

    folder = tmp_path / "site"
    shutil.copytree(fixture_site, folder)
    add_strict_csp(folder, CODE_POST.lstrip("/"))
    server = serve_folder(folder)
    chromium.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page.emulate_media(color_scheme="light")
    page.goto(server.url + CODE_POST)
    assert page.evaluate("document.documentElement.classList.contains('js')"), "the hashed pre-paint script ran"
    page.locator(".theme-switch [data-theme-choice=dark]").click()
    assert body_background(page) == DARK_BG
    page.locator(".copy-code").first.click()
    page.wait_for_function("() => document.querySelector('.copy-code').textContent === 'Copied'")
    assert page.evaluate("window.__violations") == []
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/", POST])
def test_on_a_phone_the_first_post_starts_within_120px(real_site, serve_folder, page, path):
    """390x844: the header (title and Menu on one row) leaves the first post's day header and title near the top."""
    server = serve_folder(real_site)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + path)
    header = page.locator(".site-header").bounding_box()
    day = page.locator("main .date-header").first.bounding_box()
    title = page.locator("main h1:not(.visually-hidden), main .post-title").first.bounding_box()
    print(f"{path}: header {header['height']:.0f}px, day header at {day['y']:.0f}px, title at {title['y']:.0f}px")
    assert header["height"] <= 70
    assert day["y"] <= 100 and title["y"] <= 130, (day, title)


@pytest.mark.parametrize("width", [390, 1280])
def test_footer_feed_links_are_spaced_and_never_break_inside(real_site, serve_folder, page, width):
    server = serve_folder(real_site)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(server.url + POST)
    footer = page.locator("footer.site-footer")
    assert "Subscribe to: Posts (Atom) · Posts (RSS)" in " ".join(footer.inner_text().split())
    atom, rss = footer.locator("a", has_text="Posts (Atom)"), footer.locator("a", has_text="Posts (RSS)")
    for link in (atom, rss):
        assert link.evaluate("a => a.getClientRects().length") == 1, "one piece: 'Posts (Atom)' never splits"
    a, r = atom.bounding_box(), rss.bounding_box()
    if abs(a["y"] - r["y"]) < 2:  # on one line: a space, the dot and a space between them
        assert r["x"] - (a["x"] + a["width"]) >= 10
