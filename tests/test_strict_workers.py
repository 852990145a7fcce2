"""Strict checks on the fast path: the read workers scan each file they parse, with the same findings.

plugins/fastbuild's workers scan every Markdown file they parse for
plugins/strict (sources.scan) and send the scan back with the file's mtime;
check_sources uses it only while the file is unchanged on disk. These builds
run the pool on a small site (min_sources 0) and compare the problems with
Pelican's serial path, which scans every file in the build process.
"""

from __future__ import annotations

import os

import pytest

from blogkit.build import BuildError
from plugins.fastbuild import read as fastread

FAST = {"FASTBUILD": {"workers": 2, "min_sources": 0}, "SEARCH": {"index": False}}
SERIAL = {"FASTBUILD": {"enabled": False}, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, "SEARCH": {"index": False}}


def bad_site(site) -> None:
    site.post("good", title="A good post", body="Nothing wrong here.", tags="Sales")
    site.post("typo", title="A typo", body="Text.", tagz="Sales")
    site.post("baddate", title="Bad date", date="2007-13-45", body="Text.")
    site.post("nodate", title="No year", date="March 3", body="Text.")
    site.post("state", title="State", status="publish", body="Text.")
    site.write("posts/notitle.md", "Date: 2020-01-01 10:00\n\nNo title here.\n")
    site.write("posts/empty.md", "Title: Empty\nDate: 2020-01-01 10:00\n\n")
    site.write("posts/blank.md", "   \n\n")
    site.write("posts/crlf.md", b"Title: Windows\r\nDate: 2020-01-02 10:00\r\nMoood: x\r\n\r\nText.\r\n")
    site.write("posts/latin.md", "Title: Caf\xe9\nDate: 2020-01-01 10:00\n\nCaf\xe9.\n".encode("latin-1"))
    site.write("pages/about.md", "Title: About\nSlug: about\n\nAbout this blog.\n")


def problems(site, **settings) -> list[str]:
    with pytest.raises(BuildError) as failure:
        site.build(**settings)
    return sorted(str(problem) for problem in failure.value.problems)


def test_the_workers_scans_find_what_the_serial_path_finds(site, monkeypatch):
    from plugins.strict import sources

    bad_site(site)
    scanned_here = []
    real = sources.scan
    # The workers are forked from this process and scan through this too, but into their own list.
    monkeypatch.setattr(sources, "scan", lambda path: scanned_here.append(path.name) or real(path))
    fast = problems(site, **FAST)
    assert fastread.stats["parsed_in_workers"] > 0
    # Only what no worker parsed is scanned here: the file that is not UTF-8 (Pelican reads it
    # again itself and fails).
    assert scanned_here == ["latin.md"], scanned_here
    scanned_here.clear()
    assert problems(site, **SERIAL) == fast
    assert len(scanned_here) == 11
    text = "\n".join(fast)
    for expected in ("unknown metadata key 'Tagz:'", "malformed Date '2007-13-45'", "has no year", "invalid Status",
                     "missing title", "metadata but no body", "the file is empty", "unknown metadata key 'Moood:'",
                     "not UTF-8"):
        assert expected in text, (expected, text)


# A plugin that saves a post again once it is read (after its worker scanned it), with a misspelt key.
RESAVE = """
import os
from pelican import signals


def resave(generator):
    for article in generator.articles:
        if article.slug == "later":
            with open(article.source_path, "a", encoding="utf-8") as handle:
                handle.write("")
            text = open(article.source_path, encoding="utf-8").read()
            with open(article.source_path, "w", encoding="utf-8") as handle:
                handle.write("Mood: late\\n" + text)
            stamp = os.stat(article.source_path).st_mtime + 5
            os.utime(article.source_path, (stamp, stamp))


def register():
    signals.article_generator_finalized.connect(resave)
"""


def test_a_file_saved_after_its_worker_scanned_it_is_checked_as_it_is_now(site, tmp_path):
    from test_fast_build import with_test_plugin

    site.post("good", title="A good post", body="Nothing wrong here.")
    site.post("later", title="Saved later", body="Text.")
    site.write("pages/about.md", "Title: About\nSlug: about\n\nAbout this blog.\n")
    found = problems(site, **FAST, **with_test_plugin(tmp_path, "resave", RESAVE))
    assert fastread.stats["parsed_in_workers"] == 3
    assert len(found) == 1 and "content/posts/later.md" in found[0] and "unknown metadata key 'Mood:'" in found[0], found
    assert os.path.exists(site.content / "posts" / "later.md")
