"""The theme, checked on the files a real build writes: landmarks, widgets, contract variables, the asset bundle, the budget."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pygments.styles import get_style_by_name

from blogkit.build import ROOT, BuildError
from theme_fixtures import build_theme_site, theme_overrides, write_theme_site

POST = "2007/01/psychotherapy-of-sales.html"
CSS_DIR = ROOT / "theme" / "static" / "css"
BUDGET_BYTES = 15 * 1024
BUDGET_REQUESTS = 3
LOCAL_FEED_DOMAIN = "http://127.0.0.1:8000"  # pelicanconf.py's FEED_DOMAIN


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def text(element) -> str:
    """An element's text as a reader hears it: whitespace collapsed."""
    return re.sub(r"\s+", " ", element.get_text()).strip()


def html_pages(output: Path) -> list[Path]:
    """Every page the theme rendered (not the migration's redirect stubs, which are bare on purpose)."""
    return sorted(p for p in output.rglob("*.html") if 'http-equiv="refresh"' not in p.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    """The theme fixture site (two years of posts, code, contract variables), built once."""
    from conftest import Site

    site = Site(tmp_path_factory.mktemp("theme-site"))
    build_theme_site(site, DEFAULT_PAGINATION=2)
    return site.output


# --- Every page ------------------------------------------------------------------------


def test_every_page_has_landmarks_lang_title_description_and_skip_link(real_site):
    pages = html_pages(real_site)
    assert len(pages) >= 10
    for path in pages:
        page = soup(path)
        where = path.relative_to(real_site)
        assert page.html.get("lang") == "en", where
        assert page.title.get_text(strip=True), where
        description = page.find("meta", attrs={"name": "description"})
        assert description and len(description["content"].strip()) > 20, f"{where}: no meta description"
        assert page.select("body > header.site-header"), where
        assert page.select("nav[aria-label=Main]"), where
        assert len(page.find_all("main")) == 1 and page.main.get("id") == "main", where
        assert page.select("aside.sidebar"), where
        assert page.select("body > footer.site-footer"), where
        assert page.select_one("a.skip-link")["href"] == "#main", where
        assert len(page.find_all("h1")) == 1, f"{where}: exactly one h1"


def test_navigation_has_home_archives_labels_about_and_feed(real_site):
    nav = soup(real_site / POST).select_one("nav[aria-label=Main]")
    links = {a.get_text(strip=True): a["href"] for a in nav.find_all("a")}
    assert links["Home"] == "/"
    assert links["Archives"] == "/archives.html"
    assert links["Labels"] == "/tags.html"
    assert links["About"] == "/p/about.html"
    # local builds give feeds the preview address (FEED_DOMAIN), so feed readers get absolute links
    assert links["Feed"].removeprefix(LOCAL_FEED_DOMAIN) == "/feeds/all.atom.xml"
    for href in links.values():
        assert (real_site / href.removeprefix(LOCAL_FEED_DOMAIN).lstrip("/")).is_file() or (real_site / href.removeprefix(LOCAL_FEED_DOMAIN).lstrip("/") / "index.html").is_file(), href


def test_current_section_is_marked_in_the_navigation(real_site):
    def current(relpath):
        return [a.get_text(strip=True) for a in soup(real_site / relpath).select("nav[aria-label=Main] a[aria-current=page]")]

    assert current("index.html") == ["Home"]
    assert current("archives.html") == ["Archives"]
    assert current("tags.html") == ["Labels"]
    assert current("p/about.html") == ["About"]
    assert current(POST) == []


def test_search_link_appears_only_when_the_search_page_is_built(site):
    write_theme_site(site, contract=False, code=False)
    site.build(**theme_overrides(site, contract=False))
    nav = soup(site.output / "index.html").select_one("nav[aria-label=Main]")
    has_search_page = (site.output / "search.html").exists()
    assert bool(nav.find("a", string="Search")) == has_search_page


def test_no_inline_styles_or_event_handlers_anywhere(real_site, fixture_site):
    """The CSP allows inline scripts only by hash and no inline style attributes or handlers."""
    for output in (real_site, fixture_site):
        for path in html_pages(output):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"<[^>]+\sstyle\s*=", text), f"{path}: inline style attribute"
            assert not re.search(r"<[^>]+\son[a-z]+\s*=", text), f"{path}: inline event handler"
            assert "javascript:" not in text.lower(), path


def test_favicon_is_inline_so_it_costs_no_request(real_site):
    """Design change (issue 15): the icon was a fourth request; now a data: URL in the page."""
    icon = soup(real_site / POST).find("link", rel="icon")
    assert icon["href"].startswith("data:image/svg+xml,%3Csvg")
    assert "viewBox" in icon["href"] and icon["type"] == "image/svg+xml"


def test_phone_menu_and_scheme_switch_are_in_the_header(real_site):
    """The navigation folds behind a Menu label (a checkbox: no JS needed); the switch offers System, Light, Dark."""
    header = soup(real_site / POST).select_one("header.site-header")
    toggle = header.select_one("input#menu-toggle[type=checkbox]")
    assert toggle and header.select_one("label[for=menu-toggle]").get_text(strip=True) == "Menu"
    assert toggle["aria-controls"] == header.select_one("nav[aria-label=Main]")["id"]
    choices = [(b["data-theme-choice"], b["aria-pressed"]) for b in header.select(".theme-switch button")]
    assert choices == [("system", "true"), ("light", "false"), ("dark", "false")]


def test_footer_feed_links_are_spaced_and_reading_time_does_not_wrap(real_site):
    footer = soup(real_site / POST).select_one("footer.site-footer")
    assert "Posts (Atom) · Posts (RSS)" in text(footer)
    item = soup(real_site / POST).select_one(".post header .post-meta .meta-item")
    assert item.get_text() == "3 min read"
    css = (CSS_DIR / "post.css").read_text(encoding="utf-8")
    assert re.search(r"\.meta-item\s*\{[^}]*white-space:\s*nowrap", css)


# --- Sidebar ---------------------------------------------------------------------------


def test_archive_widget_counts_years_and_months_newest_open(fixture_site):
    widget = soup(fixture_site / "index.html").select_one("aside .archive-widget")
    years = widget.select(":scope > ul > li > details")
    summaries = [text(d.summary) for d in years]
    assert summaries == ["2021 (3 posts)", "2019 (3 posts)"]
    assert years[0].has_attr("open") and not years[1].has_attr("open")
    months = [
        [(a.get_text(strip=True), a["href"], text(a.find_next_sibling("span", class_="count"))) for a in d.select(":scope > ul > li > a")]
        for d in years
    ]
    assert months[0] == [("March", "/2021/03/", "(2 posts)"), ("February", "/2021/02/", "(1 post)")]
    assert months[1] == [("July", "/2019/07/", "(2 posts)"), ("May", "/2019/05/", "(1 post)")]
    # Like Blogger, the newest month lists its posts; older months do not.
    newest = [a.get_text() for a in years[0].select(".archive-posts a")]
    assert newest == ["Backups that restore", "An early bird"]
    assert len(widget.select(".archive-posts")) == 1
    for year, href in (("2021", "/2021/"), ("2019", "/2019/")):
        assert widget.find("a", string=f"All of {year}")["href"] == href
        assert (fixture_site / year / "index.html").is_file()


def test_footer_years_are_the_sites_on_every_page(fixture_site):
    # A year archive or a label page holds only its own posts in `dates`; the footer must not follow it.
    footers = {
        str(page.relative_to(fixture_site)): text(soup(page).select_one("footer.site-footer p"))
        for page in html_pages(fixture_site) if soup(page).select_one("footer.site-footer p")
    }
    assert footers["index.html"].startswith("\u00a9 2019\u20132021 ")
    assert footers["2019/index.html"] == footers["2021/index.html"] == footers["index.html"]
    assert set(footers.values()) == {footers["index.html"]}


def test_labels_widget_counts_posts_per_label(fixture_site):
    labels = soup(fixture_site / "archives.html").select("aside .label-list li")
    counts = {li.a.get_text(): li.select_one(".count").get_text() for li in labels}
    assert counts == {"Backups": "(2)", "Clients": "(1)", "Sales": "(2)"}


def test_the_labels_widget_lists_the_most_used_labels_and_links_to_all_of_them(site):
    for n, tags in enumerate(["Alpha, beta", "Alpha, Gamma", "Alpha, beta, delta", "Gamma, epsilon", "zeta"]):
        site.post(f"post-{n}", title=f"Post {n}", date=f"2020-05-0{n + 1} 10:00", tags=tags)

    def widget(**settings):
        site.build(SEARCH={"index": False}, **settings)
        section = soup(site.output / "index.html").select_one("aside [aria-labelledby=sidebar-labels]")
        labels = [(li.a.get_text(), li.select_one(".count").get_text()) for li in section.select(".label-list li")]
        return labels, [(a.get_text(), a["href"]) for a in section.select("p a")]

    # The three most used (ties by name), shown in name order as the full list is.
    assert widget(SIDEBAR_LABELS=3) == ([("Alpha", "(3)"), ("beta", "(2)"), ("Gamma", "(2)")], [("All 6 labels", "/tags.html")])
    every = [("Alpha", "(3)"), ("beta", "(2)"), ("delta", "(1)"), ("epsilon", "(1)"), ("Gamma", "(2)"), ("zeta", "(1)")]
    assert widget(SIDEBAR_LABELS=None) == (every, [])
    assert widget(SIDEBAR_LABELS=6) == (every, [])


def test_sidebar_about_blurb_comes_from_the_about_page_and_subscribe_links_feeds(real_site):
    sidebar = soup(real_site / "index.html").select_one("aside.sidebar")
    about = sidebar.select_one("[aria-labelledby=sidebar-about]")
    assert "Who writes this blog" in about.get_text()
    assert about.find("a")["href"] == "/p/about.html"
    feeds = [a["href"] for a in sidebar.select("[aria-labelledby=sidebar-subscribe] a")]
    assert [url.removeprefix(LOCAL_FEED_DOMAIN) for url in feeds[:2]] == ["/feeds/all.atom.xml", "/feeds/all.rss.xml"]
    for href in feeds:
        assert (real_site / href.removeprefix(LOCAL_FEED_DOMAIN).lstrip("/")).is_file()


# --- Listings --------------------------------------------------------------------------


def test_index_groups_posts_under_day_headers_and_paginates_newer_older(fixture_site):
    first = soup(fixture_site / "index.html")
    days = first.select("main section.day")
    assert [d.select_one(".date-header").get_text(strip=True) for d in days] == ["Sunday, March 14, 2021"]
    assert [a.get_text() for a in days[0].select(".post-title a")] == ["Backups that restore", "An early bird"]
    pager = first.select_one("nav.pagination")
    assert pager.find("a", string=re.compile("Older posts"))["href"] == "/page/2/"
    assert not pager.find("a", string=re.compile("Newer posts"))
    second = soup(fixture_site / "page" / "2" / "index.html")
    pager = second.select_one("nav.pagination")
    assert pager.find("a", string=re.compile("Newer posts"))["href"] == "/"
    assert pager.find("a", string=re.compile("Older posts"))["href"] == "/page/3/"
    assert "Page 2 of 3" in pager.get_text()


def test_index_shows_comment_counts_only_where_archived_comments_exist(fixture_site):
    def count(relpath, title):
        summary = next(
            a.find_parent("article") for a in soup(fixture_site / relpath).select(".post-title a") if a.get_text() == title
        )
        link = summary.select_one("a.comment-count")
        return link.get_text(" ", strip=True) if link else None

    assert count("index.html", "Backups that restore") == "2 comments on Backups that restore"
    assert count("index.html", "An early bird") is None
    assert count("page/2/index.html", "February notes") == "1 comment on February notes"
    assert count("page/2/index.html", "Summer clients") == "0 comments on Summer clients"
    assert count("page/3/index.html", "Independence day") is None, "comments off: no count pointing at nothing"


def test_a_year_lists_its_posts_by_month_and_a_month_shows_their_summaries(fixture_site):
    year = soup(fixture_site / "2021" / "index.html").main
    months = [(a.get_text(strip=True), a["href"]) for a in year.select("h2 > a")]  # under the page's h1
    assert months == [("March 2021", "/2021/03/"), ("February 2021", "/2021/02/")]
    assert [a.get_text() for a in year.select("li > a")] == ["Backups that restore", "An early bird", "February notes"]
    assert not year.select(".post-summary"), "a year of posts is a list of titles, not of summaries"
    month = soup(fixture_site / "2021" / "03" / "index.html").main
    assert [a.get_text() for a in month.select(".post-summary .post-title a")] == ["Backups that restore", "An early bird"]


def test_summary_listing_has_read_more_with_an_accessible_name(real_site):
    more = soup(real_site / "index.html").select_one(".post-more a")
    assert more["href"] == f"/{POST}"
    assert more.get_text(" ", strip=True) == "Read more of The Psychotherapy of Sales"


@pytest.mark.parametrize(
    "relpath, heading",
    [
        ("archives.html", "Archives"),
        ("2007/index.html", "Posts from 2007"),
        ("2007/01/index.html", "Posts from January 2007"),
        ("search/label/sales.html", "Posts labelled Sales"),
        ("category/consulting.html", "Posts in category Consulting"),
        ("author/the-consultant.html", "Posts by The Consultant"),
        ("tags.html", "Labels"),
        ("p/about.html", "About"),
        ("404.html", "Page not found"),
    ],
)
def test_other_pages_render_with_their_heading(real_site, relpath, heading):
    page = soup(real_site / relpath)
    assert page.h1.get_text(strip=True) == heading
    if relpath not in ("tags.html", "p/about.html", "404.html"):
        assert page.main.find("a", href=f"/{POST}")


# --- The article -----------------------------------------------------------------------


def test_article_renders_every_contract_variable_when_present(fixture_site):
    page = soup(fixture_site / "2021" / "03" / "backups-that-restore.html")
    main = page.main
    assert main.select_one(".post .date-header").get_text(strip=True) == "Sunday, March 14, 2021"
    meta = main.select_one(".post header .post-meta").get_text(" ", strip=True)
    assert "Posted by The Consultant at 10:00 AM" in meta and "7 min read" in meta
    assert [a.get_text() for a in main.select(".post-footer a[rel=tag]")] == ["Backups", "Sales"]
    toc = main.select_one("nav.toc")
    assert [a["href"] for a in toc.select("a")] == ["#why-backups-fail", "#checking-a-restore"]
    for anchor in ("why-backups-fail", "checking-a-restore"):
        assert main.find(id=anchor), f"the TOC points at #{anchor}, which the body must have"
    # Neighbours from pelican-neighbors: newer is "An early bird"? No: same day, earlier hour, so it is older.
    post_nav = main.select_one("nav.post-nav")
    assert post_nav.select_one("a.older")["href"] == "/2021/03/early-bird.html"
    assert not post_nav.select_one("a.newer")
    related = [a["href"] for a in main.select("section.related a")]
    assert related == ["/2021/02/february-notes.html", "/2019/07/summer-clients.html"]
    # Order: post, neighbours, related posts, comments (partials/comments.html, from the comments plugin).
    blocks = [el.name + "." + el["class"][0] for el in main.find_all(recursive=False)]
    assert blocks == ["article.post", "nav.post-nav", "section.related", "section.comments"]


def test_article_without_contract_variables_renders_none_of_their_blocks(site):
    """Only our assets plugin: no plugin provides reading time, TOC, neighbours, related posts or comments."""
    write_theme_site(site, contract=False, code=False)
    # A fresh process: Pelican keeps every plugin's signal receivers connected for the
    # life of a process, so plugins loaded by earlier builds in this one would still run.
    code = "import sys, json; from blogkit.build import build; build(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))"
    overrides = json.dumps(site.overrides(PLUGINS=["plugins.assets"]))
    subprocess.run([sys.executable, "-c", code, str(ROOT / "pelicanconf.py"), str(site.output), overrides], cwd=ROOT, check=True, capture_output=True)
    main = soup(site.output / "2021" / "02" / "february-notes.html").main
    assert main.select_one(".post-title").get_text() == "February notes"
    assert "min read" not in main.get_text()
    assert not main.select("nav.toc, nav.post-nav, section.related, a.comment-count")
    assert [el.name for el in main.find_all(recursive=False)] == ["article"]
    assert not soup(site.output / "index.html").select("a.comment-count")


def test_middle_article_links_both_newer_and_older(fixture_site):
    nav = soup(fixture_site / "2021" / "02" / "february-notes.html").select_one("nav.post-nav")
    assert nav.select_one("a.newer")["href"] == "/2021/03/early-bird.html"
    assert "Newer Post" in nav.select_one("a.newer").get_text()
    assert nav.select_one("a.older")["href"] == "/2019/07/summer-clients.html"
    assert "Older Post" in nav.select_one("a.older").get_text()


def test_comments_partial_is_included_last_in_the_article(site, tmp_path):
    """The comments engineer's partial is included by one line; an override stands in for it here."""
    overrides = tmp_path / "overrides" / "partials"
    overrides.mkdir(parents=True)
    (overrides / "comments.html").write_text('<section id="comments" class="fixture-comments">{{ article.slug }}</section>')
    write_theme_site(site, contract=False, code=False)
    site.build(**theme_overrides(site, contract=False, THEME_TEMPLATES_OVERRIDES=[str(overrides.parent)]))
    main = soup(site.output / "2021" / "02" / "february-notes.html").main
    last = main.find_all(recursive=False)[-1]
    assert last.get("class") == ["fixture-comments"] and last.get_text() == "february-notes"


# --- Assets: one CSS bundle, one JS bundle, Pygments generated ----------------------------


def linked_assets(output: Path, page: Path) -> tuple[list[Path], list[Path]]:
    doc = soup(page)
    css = [output / link["href"].lstrip("/") for link in doc.find_all("link", rel="stylesheet")]
    js = [output / script["src"].lstrip("/") for script in doc.find_all("script", src=True)]
    return css, js


def test_one_minified_css_bundle_named_by_its_hash_tokens_first(real_site):
    css, js = linked_assets(real_site, real_site / POST)
    assert len(css) == 1 and len(js) == 1
    bundle = css[0].read_text(encoding="utf-8")
    digest = hashlib.sha256(bundle.encode()).hexdigest()[:10]
    assert css[0].name == f"site.{digest}.css"
    assert bundle.startswith(":root{--bg:"), "tokens.css must come first"
    assert "\n" not in bundle.strip() and "/*" not in bundle, "the bundle must be minified"
    # Every component file is in it, print last.
    for selector in (".archive-widget", ".site-header", ".post-nav", ".pagination", ".copy-code", ".site-footer"):
        assert selector in bundle, selector
    assert bundle.rindex("@media print") > bundle.rindex(".archive-widget")
    # The sources it replaces are not shipped separately.
    assert sorted(p.name for p in (real_site / "theme" / "css").iterdir()) == [css[0].name]
    assert js[0].name.startswith("site.") and not (real_site / "theme" / "js" / "theme-toggle.js").exists()


def test_every_component_css_uses_only_tokens_for_colour():
    for path in CSS_DIR.glob("*.css"):
        if path.name == "tokens.css":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            without_tokens = re.sub(r"--[\w-]+\s*:[^;}]*", "", line)  # setting a token is fine (print does)
            assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", without_tokens), f"{path.name}:{number}: colour literal, use a token"


def test_dark_mode_overrides_only_tokens():
    tokens = (CSS_DIR / "tokens.css").read_text(encoding="utf-8")
    dark_blocks = re.findall(r"\[data-theme=\"dark\"\]\s*\{([^}]*)\}|:not\(\[data-theme=\"light\"\]\)\s*\{([^}]*)\}", tokens)
    assert len(dark_blocks) == 2
    for block in dark_blocks:
        body = "".join(block)
        properties = [d.split(":")[0].strip() for d in body.split(";") if d.strip()]
        assert properties and all(p.startswith("--") or p == "color-scheme" for p in properties), properties
    for path in CSS_DIR.glob("*.css"):
        if path.name != "tokens.css":
            assert "prefers-color-scheme" not in path.read_text(encoding="utf-8"), path.name


def test_pygments_css_is_generated_for_light_and_dark(fixture_site):
    css, _ = linked_assets(fixture_site, fixture_site / "2021/03/backups-that-restore.html")
    bundle = css[0].read_text(encoding="utf-8")
    light = get_style_by_name("default").style_for_token(__import__("pygments.token").token.Keyword)["color"]
    dark = get_style_by_name("github-dark").style_for_token(__import__("pygments.token").token.Keyword)["color"]
    assert f".highlight .k{{color:#{light}" in bundle
    assert f':root:not([data-theme="light"]) .highlight .k{{color:#{dark}' in bundle
    assert f':root[data-theme="dark"] .highlight .k{{color:#{dark}' in bundle
    assert "@media screen and (prefers-color-scheme:dark)" in bundle
    body = soup(fixture_site / "2021/03/backups-that-restore.html").select(".post-body .highlight pre")
    assert len(body) == 5 and body[0].select("span.k")


@pytest.mark.parametrize("setting", ["ASSETS_PYGMENTS_LIGHT", "ASSETS_PYGMENTS_DARK"])
def test_chosen_pygments_styles_pass_contrast(setting):
    from blogkit.build import load_settings
    from plugins.assets import DEFAULTS, low_contrast_tokens

    name = load_settings(ROOT / "pelicanconf.py").get(setting, DEFAULTS[setting])
    assert low_contrast_tokens(get_style_by_name(name), 4.5) == []


def test_a_low_contrast_or_unknown_pygments_style_fails_the_build_clearly(site):
    site.post("one", body="Text.")
    with pytest.raises(BuildError) as failed:
        site.build(ASSETS_PYGMENTS_DARK="solarized-dark")
    message = str(failed.value)
    assert "ASSETS_PYGMENTS_DARK = 'solarized-dark'" in message and "below 4.5:1 contrast" in message
    assert not site.output.exists(), "nothing is swapped in on failure"
    with pytest.raises(BuildError) as failed:
        site.build(ASSETS_PYGMENTS_LIGHT="no-such-style")
    assert "'no-such-style' is not a Pygments style; choose one of:" in str(failed.value)


def test_js_features_can_be_switched_off(site):
    site.post("one", body="Text.")
    site.build(ASSETS_JS=[])
    page = soup(site.output / "2020/05/one.html")
    scripts = page.find_all("script", type=lambda t: t != "application/ld+json")
    assert not scripts, "no toggle: no pre-paint script and no bundle"
    assert not page.select(".theme-switch")
    site.build(ASSETS_JS=["copy-code.js"])
    page = soup(site.output / "2020/05/one.html")
    assert len(page.find_all("script", src=True)) == 1 and not page.select(".theme-switch")


# --- Budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("relpath", [POST, "index.html"])
def test_page_budget_15_kb_gzipped_in_3_requests(real_site, relpath):
    """HTML + CSS + JS of a page, gzipped as a server would send them (level 6), and the number of requests."""
    page = real_site / relpath
    css, js = linked_assets(real_site, page)
    files = [page, *css, *js]
    gzipped = sum(len(gzip.compress(f.read_bytes(), compresslevel=6)) for f in files)
    print(f"{relpath}: {len(files)} requests, {gzipped} bytes gzipped")
    assert len(files) <= BUDGET_REQUESTS
    assert gzipped <= BUDGET_BYTES
    doc = soup(page)
    assert not [s for s in doc.head.find_all("script", src=True) if not s.has_attr("defer")], "render-blocking script"
    external = [t.get("href") or t.get("src") for t in doc.find_all(["link", "script"]) if (t.get("href") or t.get("src") or "").startswith("http")]
    assert [u for u in external if "feeds" not in u] == [], "no third-party request"
