"""plugins/csp's shortcuts (fifth session) against the straightforward code they replace."""

import os
from pathlib import Path

import plugins.csp as csp


def test_the_html_files_listed_are_those_rglob_finds(tmp_path):
    site = tmp_path / "site"
    for name in ("index.html", "a/b/c.html", "a/b/c.htm", "a/X.HTML", "a/.hidden.html", "a/b.html.bak", "d.html/e.html",
                 "deep/1/2/3/4/p.html", "sp ace/ü.html"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("x", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "o.html").write_text("x", encoding="utf-8")
    os.symlink(tmp_path / "outside", site / "linked-folder")  # not followed, as rglob does not
    os.symlink(site / "index.html", site / "a" / "link.html")  # a link to a file is listed
    expected = sorted(site.rglob("*.html"))
    assert len(expected) == 8  # the folder d.html among them, as rglob lists it
    assert sorted(Path(path) for path in csp._html_files(str(site))) == expected
    assert sorted(csp._html_files(str(site))) == sorted(str(path) for path in expected)


def test_the_pages_finalized_skips_are_named_as_path_names_them(tmp_path):
    output = tmp_path / "out"
    written = ["index.html", "a/b.html", "./c.html", "a//d.html", "e/./f.html", "g/", "..h.html", ".i/j.html", "k/../l.html",
               "/abs/m.html", "n/."]
    absolute = [str(output / "x.html"), os.path.abspath(output / "y" / ".." / "z.html"), str(output) + "//w.html", "rel/v.html"]
    assert csp._skip_paths(output, written, absolute) == (
        {str(output / page) for page in written} | {str(Path(path)) for path in absolute})
