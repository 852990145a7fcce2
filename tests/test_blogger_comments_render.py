"""Imported Blogger comments as the comments plugin renders them under their posts.

Kept apart from test_blogger_site.py: these assert on the comments engineer's
markup (plugins/comments, partials/comments.html), the rest only on the JSON
the importer writes and on paths.
"""

from __future__ import annotations

from bs4 import BeautifulSoup

from test_blogger_site import built  # noqa: F401  (the same imported site, built strictly)


def test_imported_comments_render_threaded_under_their_post(built):
    page = BeautifulSoup(built.read("2007/03/backups-nobody-tests.html"), "html.parser")
    section = page.select_one("#comments")
    assert section is not None
    amy = section.select_one("#comment-c1001")
    assert "You can lead a horse to water" in amy.get_text()
    reply = amy.select_one("#comment-c1002")  # Jane's reply sits inside Amy's comment
    assert "Amy, exactly." in reply.get_text()
    author = reply.select_one('a[href="https://jane.example.com/"]')
    assert author.get_text(strip=True) == "Jane Reader"
    assert set(author["rel"]) == {"nofollow", "ugc", "noopener"}
    assert "HOSTILE-COMMENT-TEXT" in section.get_text()
    assert "This post has been removed" not in section.get_text() and "spam.example.com" not in str(section)


def test_hostile_comment_renders_inert(built):
    section = str(BeautifulSoup(built.read("2007/03/backups-nobody-tests.html"), "html.parser").select_one("#comments"))
    for bad in ("<script", "onerror", "javascript:", "owned", "<img"):
        assert bad not in section, bad


def test_draft_comment_is_rendered_nowhere(built):
    for path in built.output.rglob("*.html"):
        assert "DRAFT-COMMENT-TEXT" not in path.read_text(encoding="utf-8"), path
