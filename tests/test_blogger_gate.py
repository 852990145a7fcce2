"""An imported blog passes the publish gate with no hand edits (fixtures of our own).

tests/fixtures/blogger/gate.xml reproduces what kept a real Portuguese export from
the gate: shell lines Blogger kept as text ("#comment" with no space, a banner of
hashes, a nested <pre><pre>), which Python-Markdown made into <h1> and empty
headings; an image address holding { } ^ ` | [ ]; and a post that is mostly English terminal output written as
paragraphs, which the HTML checker guesses is English under lang="pt-BR".
The sample-content tests import into a copy of the project's own content/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from blogkit.blogger import Options, import_blogger
from blogkit.blogger.importer import SAMPLE_FILES
from blogkit.build import ROOT, load_settings
from blogkit.check import check_html, check_site
from conftest import Site

FIXTURES = Path(__file__).parent / "fixtures" / "blogger"
SHELL = "2016/03/trocar-relogio-do-barramento.html"
MAP = "2016/04/trajeto-de-domingo.html"
TERMINAL = "2016/05/saida-do-instalador.html"


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """gate.xml imported and built for production in the blog's language; (site, report, settings)."""
    site = Site(tmp_path_factory.mktemp("gate"))
    report = import_blogger(FIXTURES / "gate.xml", Options(content=site.content, download_images=False))
    site.build(ROOT / "publishconf.py", DEFAULT_LANG="pt-BR")
    return site, report, load_settings(ROOT / "publishconf.py", site.overrides(DEFAULT_LANG="pt-BR"))


def body(site: Site, page: str):
    return BeautifulSoup(site.read(page), "html.parser").select_one(".post-body")


def test_shell_lines_kept_as_text_are_no_headings(gated):
    site, _, _ = gated
    post = body(site, SHELL)
    assert post.find(["h1", "h2", "h3", "h4", "h5", "h6"]) is None
    text = post.get_text("\n")
    assert "#fazer uma cópia do arquivo de configuração" in text
    assert "#" * 50 in text and "########## gerado pelo meu script ##########" in text
    assert "C# e #hashtags no meio da linha" in text
    # Blogger's nested <pre><pre> is one code block, its "#" line code, not a heading.
    assert [pre.get_text() for pre in post.find_all("pre")] == ["#reiniciar o serviço\nsystemctl restart placa\n"]


def test_an_image_address_with_characters_urls_may_not_hold_is_percent_encoded(gated):
    site, _, _ = gated
    img = body(site, MAP).find("img")
    assert img["src"] == "http://maps.example.org/staticmap?size=400x300&path=color:red%7Cenc:ab%7Bc%7Dd%5Ee%60f%5Bg%5Dh&sensor=true"


def test_the_imported_blog_passes_the_gate_and_the_language_guess_is_a_note(gated):
    site, report, settings = gated
    assert "pt-BR" in report.summary()
    notes: list[str] = []
    problems = check_site(site.output, settings, notes=notes)
    assert problems == []
    # The checker reads the terminal output as English: shown to the author, not a failure.
    assert len(notes) == 1 and "written in English" in notes[0] and TERMINAL in notes[0]


def test_a_page_with_no_lang_still_fails_the_html_check(tmp_path):
    """Only a guess against a lang the page gives is a note; a page without lang is a problem."""
    text = " ".join(["The quick brown fox jumps over the lazy dog while the farmer watches from the gate."] * 20)
    (tmp_path / "index.html").write_text(f"<!doctype html><html><head><title>t</title></head><body><p>{text}</p>"
                                         "</body></html>", encoding="utf-8")
    notes: list[str] = []
    problems = check_html(tmp_path, notes=notes)
    assert notes == [] and any("lang" in p.message for p in problems)


def test_the_gate_prints_the_language_guess_as_a_note(gated):
    """What `invoke check` and `invoke publish` print: the guess as one 'note:' line naming the page."""
    from blogkit.publish import check_built

    site, _, _ = gated
    lines: list[str] = []
    check_built(site.output, ROOT / "publishconf.py", log=lines.append)
    notes = [line for line in lines if line.startswith("note: the HTML checker guesses")]
    assert len(notes) == 1 and TERMINAL in notes[0] and "does not stop a publish" in notes[0]
    assert any("passed the gate" in line for line in lines)


def test_the_sample_digests_are_those_of_the_shipped_content():
    """The importer knows the sample by its bytes: editing a sample file in the repository must update SAMPLE_FILES."""
    from blogkit.blogger.importer import _digest

    for relpath, digest in SAMPLE_FILES.items():
        shipped = _digest((ROOT / "content" / relpath).read_bytes())
        assert shipped == digest, f"content/{relpath} changed: put {shipped} in SAMPLE_FILES (blogkit/blogger/importer.py)"


def _project_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    return content


def test_importing_another_blog_replaces_the_project_sample_as_shipped(tmp_path):
    content = _project_content(tmp_path)
    assert all((content / relpath).is_file() for relpath in SAMPLE_FILES)
    report = import_blogger(FIXTURES / "gate.xml", Options(content=content, download_images=False))
    assert not any((content / relpath).exists() for relpath in SAMPLE_FILES)
    assert not (content / "posts/2007").exists() and not (content / "comments/2007").exists()
    summary = report.summary()
    assert "removed the project's sample content" in summary and "pages/about.md" in summary
    assert "SITENAME" in summary and "'Oficina de Casa'" in summary
    assert (content / "posts/2016/03/trocar-relogio-do-barramento.md").is_file()


def test_a_sample_file_the_author_edited_is_kept_and_named(tmp_path):
    content = _project_content(tmp_path)
    about = content / "pages/about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nI added this line myself.\n", encoding="utf-8")
    report = import_blogger(FIXTURES / "gate.xml", Options(content=content, download_images=False))
    assert about.is_file() and "I added this line myself." in about.read_text(encoding="utf-8")
    assert not (content / "posts/2007/psychotherapy-of-sales.md").exists()
    assert "kept pages/about.md" in report.summary()


def test_a_dry_run_names_the_sample_it_would_remove_and_removes_nothing(tmp_path):
    content = _project_content(tmp_path)
    report = import_blogger(FIXTURES / "gate.xml", Options(content=content, download_images=False, dry_run=True))
    assert all((content / relpath).is_file() for relpath in SAMPLE_FILES)
    assert "would remove the project's sample content" in report.summary()
    assert not report.protected


def test_the_samples_own_blog_keeps_it(tmp_path):
    """An export holding the sample's first post is that blog: the sample stays, the post is not duplicated."""
    content = _project_content(tmp_path)
    export = (FIXTURES / "gate.xml").read_text(encoding="utf-8").replace(
        "oficina-de-casa.blogspot.com/2016/02/sobre-este-caderno.html",
        "oficina-de-casa.blogspot.com/2007/01/psychotherapy-of-sales.html")
    (tmp_path / "own.xml").write_text(export, encoding="utf-8")
    report = import_blogger(tmp_path / "own.xml", Options(content=content, download_images=False))
    assert all((content / relpath).is_file() for relpath in SAMPLE_FILES)
    assert not report.sample_removed and "already in content/" in report.summary()


def test_the_summary_says_which_videos_lack_a_title_and_thumbnail_and_why(tmp_path):
    """Blogger's embeds carry no title; fetching one from YouTube needs the network, so the summary says so."""
    report = import_blogger(FIXTURES / "conversion.xml", Options(content=tmp_path / "content", download_images=False))
    untitled = report.fidelity["embeds_untitled"]
    assert 0 < untitled <= report.fidelity["embeds_mapped"]
    assert f"{untitled} video(s) and document(s) had no title in the export" in report.summary()
    assert "no thumbnail" in report.summary() and "does not go online" in report.summary()
