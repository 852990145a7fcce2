"""The strict plugin's reading of a single source file, without a Pelican run."""

from __future__ import annotations

import pytest

from plugins.strict import DEFAULTS
from plugins.strict.sources import check_source, parse_header

ALLOWED = set(DEFAULTS["STRICT_METADATA_KEYS"])


def check(tmp_path, text: str | bytes, kind: str = "article", name: str = "post.md", derived=None):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return check_source(path, f"content/posts/{name}", kind, ALLOWED, derived or {})


def messages(source) -> list[str]:
    return [f"{p.line}: {p.message}" for p in source.problems]


def test_header_like_python_markdown_reads_it():
    meta, where, body, written = parse_header(
        "Title: A long\n    title continued\nTAGS: a, b\nDate: 2020-01-02\n\nBody: not metadata\n"
    )
    assert meta == {"title": "A long title continued", "tags": "a, b", "date": "2020-01-02"}
    assert where == {"title": 1, "tags": 3, "date": 4}
    assert body == "Body: not metadata\n"
    assert written == [("Title", 1), ("TAGS", 3), ("Date", 4)]


def test_header_between_dashes_and_first_definition_wins():
    meta, where, body, _ = parse_header("---\nTitle: One\nTitle: Two\n---\nText\n")
    assert meta == {"title": "One"} and where == {"title": 2} and body == "Text\n"


def test_a_good_post_has_no_problem(tmp_path):
    source = check(tmp_path, "Title: Fine\nDate: 2007-01-11 09:00\nTags: a\nComments: closed\n\nText.\n")
    assert source.problems == [] and not source.fatal


def test_new_post_stub_passes(tmp_path):
    from blogkit.newpost import new_post

    path = new_post("Backups", tmp_path)
    assert check(tmp_path, path.read_bytes()).problems == []


@pytest.mark.parametrize(("key", "hint"), [("Tittle", "did you mean 'Title:'?"), ("Tag", "did you mean 'Tags:'?"),
                                          ("Sumary", "did you mean 'Summary:'?"), ("Xyzzy", "STRICT_EXTRA_METADATA_KEYS")])
def test_unknown_keys_get_the_closest_known_one(tmp_path, key, hint):
    source = check(tmp_path, f"Title: T\nDate: 2020-01-01\n{key}: x\n\nText.\n")
    [problem] = source.problems
    assert problem.message == f"unknown metadata key '{key}:'" and problem.line == 3 and hint in problem.hint
    assert not source.fatal  # Pelican keeps the post: its own messages stay


def test_extra_keys_can_be_allowed(tmp_path):
    path = tmp_path / "p.md"
    path.write_text("Title: T\nDate: 2020-01-01\nMood: calm\n\nText.\n")
    assert check_source(path, "p.md", "article", ALLOWED | {"mood"}, {}).problems == []


def test_not_utf8_names_offset_line_and_column(tmp_path):
    source = check(tmp_path, b"Title: T\nDate: 2020-01-01\n\nNa\xefve text.\n")
    assert messages(source) == ["4: not UTF-8: byte 0xef at offset 29 (line 4, column 3) cannot be decoded"]
    assert source.fatal


def test_utf8_with_bom_is_fine(tmp_path):
    assert check(tmp_path, "\ufeffTitle: T\nDate: 2020-01-01\n\nText.\n").problems == []


def test_whitespace_only_file_is_empty(tmp_path):
    assert messages(check(tmp_path, " \n\n")) == ["None: the file is empty"]


@pytest.mark.parametrize(("date", "says"), [("2007-02-30", "malformed Date '2007-02-30'"), ("", "empty Date"),
                                            ("11 January", "Date '11 January' has no year")])
def test_bad_dates(tmp_path, date, says):
    source = check(tmp_path, f"Title: T\nDate: {date}\n\nText.\n")
    assert [p.message.startswith(says) for p in source.problems] == [True]


def test_malformed_modified_date(tmp_path):
    source = check(tmp_path, "Title: T\nDate: 2020-01-01\nModified: soon\n\nText.\n")
    assert messages(source) == ["3: malformed Modified 'soon': not a valid date"]


def test_page_needs_no_date_but_article_does(tmp_path):
    assert check(tmp_path, "Title: About\n\nText.\n", kind="page").problems == []
    assert messages(check(tmp_path, "Title: About\n\nText.\n")) == ["1: missing date"]


def test_date_from_the_file_name_counts(tmp_path):
    source = check(tmp_path, "Title: T\n\nText.\n", derived={"date": "2020-01-01"})
    assert source.problems == []


def test_page_status_skip_is_allowed_article_status_skip_is_not(tmp_path):
    assert check(tmp_path, "Title: T\nStatus: skip\n\nText.\n", kind="page").problems == []
    [problem] = check(tmp_path, "Title: T\nDate: 2020-01-01\nStatus: skip\n\nText.\n").problems
    assert problem.message == "invalid Status 'skip'"


def test_status_is_case_sensitive_like_pelican(tmp_path):
    [problem] = check(tmp_path, "Title: T\nDate: 2020-01-01\nStatus: Draft\n\nText.\n").problems
    assert problem.message == "invalid Status 'Draft'" and "did you mean 'draft'?" in problem.hint


def test_no_body_is_fine_for_a_draft_or_a_templated_page(tmp_path):
    assert check(tmp_path, "Title: T\nDate: 2020-01-01\nStatus: draft\n").problems == []
    assert check(tmp_path, "Title: Search\nTemplate: search\n", kind="page").problems == []
    assert messages(check(tmp_path, "Title: T\nDate: 2020-01-01\n\n\n")) == [
        "2: metadata but no body: the post would be published empty"]


def test_link_lines_are_found(tmp_path):
    source = check(tmp_path, "Title: T\nDate: 2020-01-01\n\nOne.\n\nSee [x]({filename}y.md).\n")
    assert source.line_of("{filename}y.md") == 6 and source.line_of("nowhere") is None


def test_settings_defaults_and_a_single_extra_key():
    from plugins.strict import settings_of

    options = settings_of({"STRICT_EXTRA_METADATA_KEYS": "mood"})
    assert options["STRICT_EXTRA_METADATA_KEYS"] == ["mood"]
    assert "title" in options["STRICT_METADATA_KEYS"] and options["STRICT_CHECK_IMAGES"] is True
