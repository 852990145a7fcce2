"""Labels, language and held comments from real Blogger structures (fixtures of our own)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from blogger_export import write_export
from blogkit.blogger import MANIFEST, Options, import_blogger
from blogkit.build import ROOT, BuildError
from blogkit.slugs import fallback_slug, label_slug
from conftest import Site

FIXTURES = Path(__file__).parent / "fixtures" / "blogger"
PAREN = fallback_slug("(")


def test_label_slugs_transliterate_and_fall_back_to_a_stable_hash():
    assert label_slug("Заметки") == "zametki"
    assert label_slug("Notícias") == "noticias"
    assert label_slug("(") == PAREN == fallback_slug("(")  # stable across runs and processes
    assert PAREN.startswith("label-") and len(PAREN) == len("label-") + 8
    assert label_slug(")") != PAREN


@pytest.fixture(scope="module")
def label_site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("labels"))
    import_blogger(FIXTURES / "labels-locale.xml", Options(content=site.content, download_images=False))
    site.build()
    return site


def test_a_punctuation_label_builds_with_its_own_page_and_feed(label_site):
    page = BeautifulSoup(label_site.read(f"search/label/{PAREN}.html"), "html.parser")
    titles = page.get_text()
    assert "Parênteses soltos" in titles and "Outra nota" in titles
    assert (label_site.output / f"feeds/tag/{PAREN}.atom.xml").is_file()
    assert (label_site.output / "search/label/zametki.html").is_file()
    assert (label_site.output / "search/label/noticias.html").is_file()
    assert not (label_site.output / "search/label/.html").exists()
    # The post's own link to Blogger's label page now points at the tag page.
    post = BeautifulSoup(label_site.read("2015/06/parenteses-soltos.html"), "html.parser")
    assert post.find("a", string="o rótulo")["href"] == f"/search/label/{PAREN}.html"


def test_blogger_label_addresses_keep_working(label_site, serve_folder):
    served = serve_folder(label_site.output)
    for label, slug in [("(", PAREN), ("Заметки", "zametki"), ("Notícias", "noticias")]:
        with urllib.request.urlopen(f"{served.url}/search/label/{quote(label)}") as response:
            stub = BeautifulSoup(response.read().decode("utf-8"), "html.parser")
        assert stub.select_one('link[rel="canonical"]')["href"] == f"/search/label/{slug}.html"


def test_a_hand_written_post_gets_the_same_slug(site):
    site.post("by-hand", title="By hand", Tags="(, ★")
    site.build()
    assert "By hand" in site.read(f"search/label/{PAREN}.html")
    assert "By hand" in site.read(f"search/label/{fallback_slug('★')}.html")


def test_an_author_or_category_of_symbols_gets_a_page_of_its_own(tmp_path):
    # A Blogger display name is any text ("★", "~~~"), and it becomes each imported post's Author:
    # without a slug of its own the strict build stopped on every post.
    site = Site(tmp_path)
    export = write_export(tmp_path / "symbols.xml", [
        {"slug": "starred", "title": "Starred", "body": "<p>By the star.</p>", "author": "★"},
        {"slug": "tilde", "title": "Tilde", "body": "<p>By the tildes.</p>", "author": "~~~"},
    ])
    import_blogger(export, Options(content=site.content, download_images=False))
    site.post("by-hand", title="By hand", Category="☕")
    site.build()
    star, tilde = fallback_slug("★", "author-"), fallback_slug("~~~", "author-")
    assert star != tilde and star.startswith("author-")
    def listed(relpath: str) -> str:  # the page's own list, not the sidebar's recent posts
        return BeautifulSoup(site.read(relpath), "html.parser").find("main").get_text()

    assert "Starred" in listed(f"author/{star}.html") and "Tilde" not in listed(f"author/{star}.html")
    assert "Tilde" in listed(f"author/{tilde}.html") and "Starred" not in listed(f"author/{tilde}.html")
    assert "By hand" in listed(f"category/{fallback_slug('☕', 'category-')}.html")
    assert not (site.output / "author/.html").exists() and not (site.output / "category/.html").exists()
    post = BeautifulSoup(site.read("2021/01/starred.html"), "html.parser")
    assert post.find("a", href=f"/author/{star}.html") is not None


def test_without_the_plugin_the_strict_build_names_the_file_and_line(site):
    site.post("by-hand", title="By hand", Tags="(")
    with pytest.raises(BuildError) as failed:
        site.build(LABEL_SLUGS={"fallback": False})
    text = str(failed.value)
    assert 'content/posts/by-hand.md:4: label "(" has no usable slug' in text
    assert "(site)" not in text  # Pelican's own fileless line is not repeated


def test_default_lang_comes_from_the_exports_locale(tmp_path):
    settings = tmp_path / "pelicanconf.py"
    shutil.copy(ROOT / "pelicanconf.py", settings)
    report = import_blogger(FIXTURES / "labels-locale.xml",
                            Options(content=tmp_path / "content", download_images=False, settings_file=settings))
    namespace: dict = {"__file__": str(settings)}
    exec(settings.read_text(encoding="utf-8"), namespace)
    assert namespace["DEFAULT_LANG"] == "pt-BR"
    assert any("language set to 'pt-BR'" in note for note in report.notes)
    # Once set (by the import or by hand) the settings' choice stays.
    text = settings.read_text(encoding="utf-8").replace('"pt-BR"', '"pt"').replace("'pt-BR'", "'pt'")
    settings.write_text(text, encoding="utf-8")
    again = import_blogger(FIXTURES / "labels-locale.xml",
                           Options(content=tmp_path / "content", download_images=False, settings_file=settings))
    assert settings.read_text(encoding="utf-8") == text
    assert any("language kept" in note for note in again.notes)


def test_a_site_in_the_exports_language_says_so(tmp_path):
    site = Site(tmp_path)
    import_blogger(FIXTURES / "labels-locale.xml", Options(content=site.content, download_images=False))
    site.build(DEFAULT_LANG="pt-BR")
    # Language tags are case-insensitive; Pelican writes them in lower case.
    assert BeautifulSoup(site.read("2015/06/parenteses-soltos.html"), "html.parser").html["lang"].lower() == "pt-br"


def test_comments_awaiting_moderation_are_held_not_dropped(tmp_path):
    report = import_blogger(FIXTURES / "held-comments.xml", Options(content=tmp_path, download_images=False))
    assert report.counts["comments"] == 2
    assert report.counts["comments_pending"] == 1
    assert report.counts["comments_dropped"] == 2  # the emptied one and the spam
    assert "1 held (awaiting moderation on Blogger: not published" in report.summary()
    published = json.loads((tmp_path / "comments/2016/04/moderated-post.json").read_text(encoding="utf-8"))
    assert "HELD-TEXT" not in json.dumps(published)
    reply = next(c for c in published["comments"] if c["id"] == "c603")
    assert reply["parent"] is None and "never approved" in reply["note"]
    record = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    held = record["pending_comments"]["posts/2016/04/moderated-post.md"]
    assert [c["id"] for c in held] == ["c602"] and "HELD-TEXT" in held[0]["body"]


def _task(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "invoke", "import-blogger", *args], cwd=ROOT, **kwargs)


def test_progress_shows_on_a_terminal_and_is_quiet_otherwise(tmp_path):
    import os
    import pty

    export = str(FIXTURES / "labels-locale.xml")
    quiet = _task([export, "--content", str(tmp_path / "a"), "--no-download-images"], capture_output=True, text=True)
    assert quiet.returncode == 0 and "[#" not in quiet.stderr + quiet.stdout
    leader, follower = pty.openpty()
    done = _task([export, "--content", str(tmp_path / "b"), "--no-download-images"],
                 stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0
    assert b"] 2/2 posts/2015/07/outra-nota.md" in shown and b"[" + b"#" * 30 + b"]" in shown


def test_dry_run_lists_every_path_it_would_write(tmp_path):
    done = _task([str(FIXTURES / "held-comments.xml"), "--content", str(tmp_path / "content"),
                  "--no-download-images", "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "  would write posts/2016/04/moderated-post.md" in done.stdout
    assert "  would write comments/2016/04/moderated-post.json" in done.stdout
    assert not (tmp_path / "content").exists()


def test_posts_clearly_in_another_language_than_the_locale_win():
    from blogkit.blogger.language import detect

    # Our own sentences; Blogger's locale is the interface's, often left at "en".
    portuguese = "Este é um texto de teste que não tem nada de especial, mas que foi escrito em português. " * 10
    english = "This is a test text that has nothing special in it, and it was written in English by us. " * 10
    assert detect(portuguese) == "pt" and detect(english) == "en"
    assert detect("Это проверочный текст, написанный по-русски для теста. " * 10) == "ru"
    assert detect("short") is None


def test_an_english_locale_on_a_portuguese_blog_gives_pt(tmp_path):
    from blogkit.blogger.importer import Report, _blog_language
    from blogkit.blogger.parse import read_export

    blog = read_export(FIXTURES / "labels-locale.xml")
    blog.locale = "en"
    for entry in blog.posts:
        entry.html = "<p>" + "Este é um texto de teste que não tem nada de especial, mas foi escrito em português. " * 8 + "</p>"
    report = Report()
    assert _blog_language(blog, report) == "pt"
    assert "locale is 'en' but the posts are written in 'pt'" in report.notes[0]


def test_a_language_docutils_lacks_builds_strictly(site):
    """Portuguese ("pt") has no Docutils localisation; Pelican's warning about it is a note, not a failure."""
    site.post("ola", title="Olá")
    result = site.build(DEFAULT_LANG="pt")
    assert any("Docutils has no localization for 'pt'" in note for note in result.notices)
    assert BeautifulSoup(site.read("2020/05/ola.html"), "html.parser").html["lang"] == "pt"
