"""Strict builds: each kind of bad input stops the build, is named and explained, and loses nothing.

Every case starts from a good build in output/, then breaks one thing: the
build must raise BuildError naming the file and the problem, and output/ must
still hold the good build byte for byte.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from urllib.request import urlopen

import pytest

from blogkit.build import ROOT, BuildError, Problem, load_settings
from conftest import free_port, snapshot, wait_for_port


class Strict:
    """A fixture site with a good build already in output/."""

    def __init__(self, site):
        self.site = site
        site.post("good", title="A good post", body="Nothing wrong here.", tags="Sales", category="Consulting")
        site.write("pages/about.md", "Title: About\n\nAbout this blog.\n")
        site.build()
        self.good = snapshot(site.output)
        assert "2020/05/good.html" in self.good

    def fails(self, **overrides) -> BuildError:
        """Build, expect failure, and check the previous good build is untouched."""
        with pytest.raises(BuildError) as failure:
            self.site.build(**overrides)
        assert snapshot(self.site.output) == self.good, "a failed build changed output/"
        leftovers = [p.name for p in self.site.base.iterdir() if p.name.startswith(".output")]
        assert not leftovers, f"staging folders left behind: {leftovers}"
        return failure.value


@pytest.fixture
def strict(site) -> Strict:
    return Strict(site)


def only(error: BuildError, path: str) -> Problem:
    """The one problem of the run; it names `path`, and reads as one line."""
    assert len(error.problems) == 1, "\n".join(map(str, error.problems))
    [problem] = error.problems
    assert problem.path == path, str(problem)
    assert path in str(error)
    assert "\n" not in str(problem) and problem.hint, str(problem)
    return problem


def test_malformed_date(strict):
    strict.site.post("broken", title="Broken", date="2007-13-45")
    problem = only(strict.fails(), "content/posts/broken.md")
    assert "malformed Date '2007-13-45'" in problem.message and problem.line == 2
    assert "YYYY-MM-DD" in problem.hint


def test_date_without_a_year(strict):
    # dateutil would silently put "January 11" in the current year.
    strict.site.post("yearless", title="Yearless", date="January 11")
    problem = only(strict.fails(), "content/posts/yearless.md")
    assert "has no year" in problem.message and problem.line == 2


def test_missing_date(strict):
    strict.site.write("posts/undated.md", "Title: Undated\nSlug: undated\n\nText.\n")
    problem = only(strict.fails(), "content/posts/undated.md")
    assert problem.message == "missing date" and "Date:" in problem.hint


def test_missing_title(strict):
    strict.site.write("posts/untitled.md", "Date: 2020-06-01\nSlug: untitled\n\nText.\n")
    problem = only(strict.fails(), "content/posts/untitled.md")
    assert problem.message == "missing title" and "Title:" in problem.hint


@pytest.mark.parametrize(("written", "suggested"), [("Tittle", "Title:"), ("Tag", "Tags:"), ("Catgory", "Category:")])
def test_misspelt_metadata_key(strict, written, suggested):
    strict.site.write("posts/typo.md", f"Title: Typo\nDate: 2020-06-01\n{written}: Sales\n\nText.\n")
    problem = only(strict.fails(), "content/posts/typo.md")
    assert problem.message == f"unknown metadata key '{written}:'" and problem.line == 3
    assert suggested in problem.hint


SPY_PLUGIN = """
from pathlib import Path
from pelican import signals

def reading(generator, metadata):
    with open(Path(generator.settings["SPY_LOG"]), "a", encoding="utf-8") as log:
        log.write(str(metadata.get("title")) + "\\n")

def register():
    signals.article_generator_context.connect(reading)
"""


@pytest.mark.parametrize("layer", ["reader", "generator"])
def test_unknown_key_is_reported_again_when_the_post_comes_from_the_cache(strict, layer):
    """Pelican's content cache can skip reading an unchanged file; the check must not be skipped with it."""
    from blogkit.build import load_settings

    # A spy plugin of the run's own (the build disconnects receivers it did not load).
    spy_dir = strict.site.base / "spy-plugins"
    (spy_dir / "spy").mkdir(parents=True)
    (spy_dir / "spy" / "__init__.py").write_text(SPY_PLUGIN, encoding="utf-8")
    spy_log = strict.site.base / "read.log"
    defaults = load_settings()
    spy = {"PLUGIN_PATHS": defaults["PLUGIN_PATHS"] + [str(spy_dir)], "PLUGINS": defaults["PLUGINS"] + ["spy"],
           "SPY_LOG": str(spy_log), "CONTENT_CACHING_LAYER": layer}

    strict.site.write("posts/typo.md", "Title: Typo\nDate: 2020-06-01\nAuthr: Me\n\nText.\n")
    first = strict.fails(**spy)
    assert "Typo" in spy_log.read_text().split() and any((strict.site.base / "cache").iterdir())
    spy_log.unlink()
    second = strict.fails(**spy)
    read = spy_log.read_text().split() if spy_log.exists() else []
    if layer == "generator":
        assert "Typo" not in read, "the second run should have taken the post from the cache"
    assert [str(p) for p in first.problems] == [str(p) for p in second.problems]
    assert "unknown metadata key 'Authr:'" in str(second) and "'Author:'" in str(second)


def test_invalid_status(strict):
    strict.site.post("wrong-status", title="Wrong status", status="publish")
    problem = only(strict.fails(), "content/posts/wrong-status.md")
    assert problem.message == "invalid Status 'publish'" and problem.line == 4
    assert "did you mean 'published'" in problem.hint


def test_two_posts_written_to_the_same_path(strict):
    strict.site.post("same", title="First", date="2020-05-01")
    strict.site.write("posts/other.md", "Title: Second\nDate: 2020-05-09\nSlug: same\n\nText.\n")
    error = strict.fails()
    assert len(error.problems) == 1, str(error)
    text = str(error)
    assert "2020/05/same.html" in text
    assert "content/posts/same.md" in text and "content/posts/other.md" in text
    assert "FileOverwriteFailedError" not in text


def test_page_and_static_file_written_to_the_same_path(strict):
    """Pelican copies a static file over a page of the same name without a word."""
    strict.site.write("extra/about.html", "<p>stray copy</p>")
    strict.site.write("pages/clash.md", "Title: Clash\nSave_as: about.html\n\nText.\n")
    error = strict.fails(STATIC_PATHS=["images", "extra"], EXTRA_PATH_METADATA={"extra/about.html": {"path": "about.html"}})
    problem = only(error, "content/pages/clash.md")
    assert "same output path about.html" in problem.message and "content/extra/about.html" in problem.message


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("[old post]({filename}/posts/missing.md)", "dead link {filename}/posts/missing.md"),
        ("[old post]({filename}missing.md)", "dead link {filename}missing.md"),
        ("![chart]({static}/images/chart.png)", "dead link {static}/images/chart.png"),
        ("[all posts about it]({tag}nosuchtag)", "dead link {tag}nosuchtag"),
        ("[home]({filenme}/posts/good.md)", "unknown link prefix {filenme}"),
    ],
)
def test_dead_internal_link(strict, link, says):
    strict.site.post("linker", title="Linker", body=f"First paragraph.\n\nSee {link}.")
    problem = only(strict.fails(), "content/posts/linker.md")
    assert says in problem.message and problem.line == 7, str(problem)


def test_dead_link_suggests_the_file_meant(strict):
    strict.site.post("linker", title="Linker", body="See [it]({filename}/posts/god.md).")
    problem = only(strict.fails(), "content/posts/linker.md")
    assert "did you mean {filename}/posts/good.md?" in problem.hint


def test_missing_image(strict):
    strict.site.post("pictures", title="Pictures", body="Text.\n\n![the old office](/images/office.jpg)")
    problem = only(strict.fails(), "content/posts/pictures.md")
    assert "missing image '/images/office.jpg'" in problem.message and problem.line == 7


def test_existing_image_and_links_pass(site):
    site.write("images/office.png", b"\x89PNG\r\n\x1a\n")
    site.post("good", title="Good", tags="Sales")
    site.post("linker", title="Linker", body=(
        "![office]({static}/images/office.png) ![again](/images/office.png) "
        "[good]({filename}good.md) [sales]({tag}Sales) [home]({index})"
    ))
    site.build()
    html = site.read("2020/05/linker.html")
    assert 'href="/2020/05/good.html"' in html and 'src="/images/office.png"' in html


def test_link_to_a_post_that_failed_says_so(strict):
    strict.site.post("broken", title="Broken", date="not a date")
    strict.site.post("linker", title="Linker", body="See [broken]({filename}broken.md).")
    error = strict.fails()
    assert [p.path for p in error.problems] == ["content/posts/broken.md", "content/posts/linker.md"]
    assert "left out of the build because of its own problem" in error.problems[1].message


def test_file_that_is_not_utf8(strict):
    strict.site.write("posts/latin1.md", "Title: Café\nDate: 2020-06-01\n\nA café.\n".encode("cp1252"))
    problem = only(strict.fails(), "content/posts/latin1.md")
    assert "not UTF-8: byte 0xe9 at offset 10 (line 1, column 11)" in problem.message
    assert problem.line == 1 and "UTF-8" in problem.hint


def test_empty_file(strict):
    strict.site.write("posts/empty.md", "")
    problem = only(strict.fails(), "content/posts/empty.md")
    assert problem.message == "the file is empty"


def test_metadata_but_no_body(strict):
    strict.site.write("posts/bodiless.md", "Title: Bodiless\nDate: 2020-06-01\nSlug: bodiless\n")
    problem = only(strict.fails(), "content/posts/bodiless.md")
    assert problem.message.startswith("metadata but no body")


def test_future_post_is_scheduled_not_failed_and_left_out(site):
    site.post("good", title="Good")
    site.post("tomorrow", title="Tomorrow's post", date="2099-01-01 09:00")
    result = site.build()
    assert result.notices == [
        "content/posts/tomorrow.md: scheduled for 2099-01-01 09:00, left out of this build "
        "(build with WITH_FUTURE_DATES = True, or `invoke build --future`, to include it)"
    ]
    assert not (site.output / "2099").exists()
    assert "Tomorrow" not in site.read("index.html") and "Tomorrow" not in site.read("feeds/all.atom.xml")


def test_future_post_is_published_when_asked_for(site):
    site.post("tomorrow", title="Tomorrow's post", date="2099-01-01 09:00")
    result = site.build(WITH_FUTURE_DATES=True)
    assert "Tomorrow&#39;s post" in site.read("2099/01/tomorrow.html")  # the autoescaping theme writes ' as &#39;
    assert "published because WITH_FUTURE_DATES is on" in result.notices[0]


@pytest.mark.parametrize("link", ["[soon]({filename}soon.md)", "[soon](/drafts/soon.html)"])
def test_draft_linked_from_a_published_post(strict, link):
    strict.site.post("soon", title="Coming soon", status="draft")
    strict.site.post("linker", title="Linker", body=f"Read {link}.")
    problem = only(strict.fails(), "content/posts/linker.md")
    assert "which is a draft (soon.md)" in problem.message and problem.line == 5


def test_scheduled_post_linked_from_a_published_post(strict):
    strict.site.post("later", title="Later", date="2099-01-01 09:00")
    strict.site.post("linker", title="Linker", body="Read [later]({filename}later.md).")
    problem = only(strict.fails(), "content/posts/linker.md")
    assert "a post scheduled for 2099-01-01 09:00 (later.md)" in problem.message


def test_draft_may_link_to_a_draft(site):
    site.post("good", title="Good")
    site.post("soon", title="Coming soon", status="draft")
    site.post("sooner", title="Sooner", status="draft", body="See [soon]({filename}soon.md).")
    site.build()


def test_three_problems_are_reported_in_one_run(strict):
    strict.site.post("baddate", title="Bad date", date="2007-02-30")
    strict.site.write("posts/typo.md", "Title: Typo\nDate: 2020-06-01\nTag: Sales\n\nText.\n")
    strict.site.post("linker", title="Linker", body="See [x]({filename}nowhere.md).")
    error = strict.fails()
    assert [p.path for p in error.problems] == [
        "content/posts/baddate.md", "content/posts/linker.md", "content/posts/typo.md",
    ], str(error)
    text = str(error)
    assert "build failed with 3 problem(s)" in text
    assert "malformed Date '2007-02-30'" in text and "dead link {filename}nowhere.md" in text
    assert "unknown metadata key 'Tag:'" in text
    assert len(text.splitlines()) == 4  # a heading and one line per problem


def test_build_explains_pelicans_messages_even_without_the_plugin(strict):
    """build.py alone names the file for what Pelican itself reports (plugin switched off)."""
    strict.site.write("posts/untitled.md", "Date: 2020-06-01\n\nText.\n")
    strict.site.post("baddate", title="Bad", date="2007-13-45")
    error = strict.fails(PLUGINS=[])
    assert [str(p) for p in error.problems] == [
        "content/posts/baddate.md: malformed date: '2007-13-45' is not a valid date "
        "(fix: write it as 'Date: YYYY-MM-DD HH:MM', e.g. 2007-01-11 09:00)",
        "content/posts/untitled.md: missing title (fix: add a line 'Title: ...' at the top of the file)",
    ]


def test_invoke_build_exits_non_zero_and_keeps_the_good_build(strict):
    site = strict.site
    site.post("broken", title="Broken", date="2007-13-45")
    site.write("posts/typo.md", "Title: Typo\nDate: 2020-06-01\nTittle: Typo\n\nText.\n")
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--content", str(site.content), "--output", str(site.output)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "content/posts/broken.md:2: malformed Date '2007-13-45'" in run.stderr
    assert "content/posts/typo.md:3: unknown metadata key 'Tittle:'" in run.stderr
    assert snapshot(site.output) == strict.good


def test_livereload_keeps_serving_the_last_good_build_and_prints_the_problems(strict, tmp_path):
    site = strict.site
    port = free_port()
    code = (
        "import sys; from pathlib import Path; from blogkit.serve import livereload; "
        "content, output, cache, port = sys.argv[1:]; "
        "livereload(Path('pelicanconf.py').resolve(), Path(output), port=int(port), "
        "overrides={'PATH': content, 'CACHE_PATH': cache}, watched=[Path(content)])"
    )
    log = tmp_path / "livereload.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-u", "-c", code, str(site.content), str(site.output), str(site.base / "cache"), str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, server, timeout=60)
            page = f"http://127.0.0.1:{port}/2020/05/good.html"
            assert b"A good post" in urlopen(page, timeout=10).read()
            built = snapshot(site.output)

            site.post("broken", title="Broken", date="2007-13-45")
            site.write("posts/typo.md", "Title: Typo\nDate: 2020-06-01\nTag: x\n\nText.\n")
            deadline = time.monotonic() + 60
            while "Still serving the last good build" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.3)
            text = log.read_text()
            assert "Still serving the last good build" in text, text
            assert "content/posts/broken.md:2: malformed Date '2007-13-45'" in text
            assert "content/posts/typo.md:3: unknown metadata key 'Tag:'" in text
            assert b"A good post" in urlopen(page, timeout=10).read()
            assert snapshot(site.output) == built
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_image_without_alt_text_names_the_post(strict):
    strict.site.write("images/office.png", b"\x89PNG\r\n\x1a\n")
    strict.site.post("pictures", title="Pictures", body="The office.\n\n![]({static}/images/office.png)")
    problem = only(strict.fails(), "content/posts/pictures.md")
    assert problem.message == "image office.png has an empty alt text"


def test_keys_named_by_the_sites_settings_are_allowed(site):
    site.write("pages/about.md", "Title: About\nOrder: 2\n\nText.\n")
    site.build(PAGE_ORDER_BY="order")


def test_invoke_build_future_flag_and_scheduled_note(site):
    site.post("good", title="Good")
    site.post("later", title="Later", date="2099-01-01 09:00")
    command = [sys.executable, "-m", "invoke", "build", "--content", str(site.content), "--output", str(site.output)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "note: content/posts/later.md: scheduled for 2099-01-01 09:00" in run.stdout
    assert not (site.output / "2099/01/later.html").exists()
    run = subprocess.run(command + ["--future"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (site.output / "2099/01/later.html").exists()


def test_post_written_over_a_month_archive(strict):
    """A post titled "Index" would land on 2020/06/index.html, the month's archive."""
    strict.site.write("posts/index.md", "Title: Index\nDate: 2020-06-02\n\nText.\n")
    problem = only(strict.fails(), "content/posts/index.md")
    assert problem.message == "written to 2020/06/index.html, which is also the archive of 2020 June"


def test_page_written_over_a_feed(strict):
    strict.site.write("pages/feed.md", "Title: Feed\nSave_as: feeds/all.atom.xml\n\nText.\n")
    problem = only(strict.fails(), "content/pages/feed.md")
    assert problem.message == "written to feeds/all.atom.xml, which is also a feed"


def test_page_may_replace_a_generated_page_on_purpose(site):
    """Pelican's documented way to make a page the home page: Save_as: index.html. Allowed, and said."""
    site.post("good", title="Good")
    site.write("pages/home.md", "Title: Welcome home\nSave_as: index.html\n\nHello.\n")
    result = site.build()
    assert result.notices == ["content/pages/home.md: replaces the index page at index.html, as its Save_as asks"]
    assert "Welcome home" in site.read("index.html")


def test_published_page_linking_a_draft_that_a_draft_also_links(strict):
    """A draft may link to a draft; that must not excuse a published page linking to the same draft."""
    strict.site.post("soon", title="Coming soon", status="draft")
    strict.site.post("sooner", title="Sooner", status="draft", body="See [soon]({filename}soon.md).")
    strict.site.write("pages/plans.md", "Title: Plans\n\nSee [soon]({filename}/posts/soon.md).\n")
    problem = only(strict.fails(), "content/pages/plans.md")
    assert "which is a draft (soon.md)" in problem.message and problem.line == 3


def test_dead_link_in_the_summary(strict):
    strict.site.post("summarised", title="Summarised", summary="See [x]({filename}nope.md) first.")
    problem = only(strict.fails(), "content/posts/summarised.md")
    assert "dead link {filename}nope.md" in problem.message and problem.line == 4


INTERRUPTING_PLUGIN = '''
from pelican import signals


def interrupt(pelican):
    # Inert unless asked: Pelican's signals stay connected for the rest of the process.
    if pelican.settings.get("TEST_INTERRUPT_AFTER_WRITING"):
        raise KeyboardInterrupt


def register():
    signals.finalized.connect(interrupt)
'''


def test_interrupted_build_leaves_the_good_build_alone(strict, tmp_path):
    """Ctrl-C after the new site is fully written but before the swap: output/ keeps the old site."""
    plugins = tmp_path / "test_plugins"
    plugins.mkdir()
    (plugins / "interrupt_build.py").write_text(INTERRUPTING_PLUGIN)
    strict.site.post("new", title="A new post")
    settings = load_settings(ROOT / "pelicanconf.py")
    with pytest.raises(KeyboardInterrupt):
        strict.site.build(
            PLUGIN_PATHS=[*settings["PLUGIN_PATHS"], str(plugins)],
            PLUGINS=[*settings["PLUGINS"], "interrupt_build"],
            TEST_INTERRUPT_AFTER_WRITING=True,
        )
    assert snapshot(strict.site.output) == strict.good
    assert not [p.name for p in strict.site.base.iterdir() if p.name.startswith(".output")]


def test_template_error_names_the_template_and_line(strict, tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    article = theme / "templates" / "article.html"
    lines = article.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "{% block content %}" in line) + 1
    lines.insert(at, "{{ article.no_such_thing() }}")
    article.write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = strict.fails(THEME=str(theme))
    [problem] = error.problems
    assert problem.path == str(article) and problem.line == at + 1, str(problem)
    assert "UndefinedError" in problem.message and "no_such_thing" in problem.message


def test_attached_image_still_moves_next_to_its_post(site):
    """The checks must not touch a static file's output path before Pelican's {attach} moves it."""
    site.write("posts/trip/photo.png", b"\x89PNG\r\n\x1a\n")
    site.post("trip", title="Trip", body="Text.\n\n![A photo]({attach}trip/photo.png)")
    site.build()
    assert (site.output / "2020/05/trip/photo.png").is_file()
    assert 'src="/2020/05/trip/photo.png"' in site.read("2020/05/trip.html")
