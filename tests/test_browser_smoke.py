"""The built blog opens in real headless Chromium without errors."""

import pytest

pytestmark = pytest.mark.browser


def test_post_renders_in_chromium(real_site, serve_folder, page):
    server = serve_folder(real_site)
    page.goto(f"{server.url}/2007/01/psychotherapy-of-sales.html")
    assert page.locator("h1.post-title").inner_text() == "The Psychotherapy of Sales"
    # GitHub Pages serves /p/about for /p/about.html; our server must too.
    page.goto(f"{server.url}/p/about")
    assert page.locator("h1").inner_text() == "About"
    assert page.console_errors == []
