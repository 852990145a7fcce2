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


def test_plain_body_a_tag_at_a_time_is_the_whole_body_regex():
    """plain_body (pieces, each distinct one matched once) answers as PLAIN_BODY_RE.fullmatch, cache or no cache."""
    import random

    from test_csp import HIDDEN_IN_CONTENT

    def whole(body):
        return csp.PLAIN_BODY_RE.fullmatch(body) is not None

    pieces = HIDDEN_IN_CONTENT + [
        "<", ">", "<<p>", "<p>>", "<p", "a<", "<p title='<'>", "<p title=\"a>b\">", "<p\n>", "<p\tclass=x\n>", '<a href="x>',
        "</p>", "</p >", "</ p>", "<p/>", "<p />", "<br/ >", "<P>", "</P>", "<SPAN CLASS=K>", "<span class=\"k\">", "</span>",
        '<a href="/x">', '<a href="https://e.org/">', '<a href="java">', '<a href="javascript">', '<a href="data">',
        "<!-- c -->", "<!doctype html>", "<?x?>", "<>", "< p>", "<p-x>", "<h1>", "<x:y>", "<p a=b c>", "<p a=\"b\"c>",
        "<p\u00a0class=a>", "<lin\u212a>", "<ſcript>", "<p class=\"a&amp;b\">", "text", " on ", "&lt;", "é", "\n"]
    rng = random.Random(5)
    bodies = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(4000)]
    bodies += pieces + [f"<p>{piece}</p>" for piece in pieces]
    for round_ in range(2):  # the second time, every plain piece is cached
        if round_ == 0:
            csp._plain_pieces.clear()
        for body in bodies:
            assert csp.plain_body(body) == whole(body), (round_, body)
    plain = sum(map(whole, bodies))
    assert 300 < plain < len(bodies) - 300  # both answers are common
    # A body of cached plain pieces and one that is not is not plain.
    csp.plain_body('<p class="k">x</p>')
    assert not csp.plain_body('<p class="k">x</p><p onclick=go()>y</p>')
