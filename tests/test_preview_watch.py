"""The preview server hears of a save from the OS at once, instead of at its next poll."""

from __future__ import annotations

import time

from blogkit.serve import changes, sources, wake_on_changes


def test_a_save_wakes_the_preview_and_the_scan_names_the_file(tmp_path):
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    post = posts / "a.md"
    post.write_text("Title: A\n\nBody.\n", encoding="utf-8")
    woken, stop = wake_on_changes([tmp_path / "content", tmp_path / "missing-folder"])
    try:
        seen = sources([tmp_path / "content"])
        time.sleep(0.5)  # the watcher is up
        woken.clear()
        post.write_text("Title: A\n\nAn edited body.\n", encoding="utf-8")
        # Far sooner than this in practice (tens of milliseconds); the bound only keeps a loaded machine from failing it.
        assert woken.wait(10), "no wake-up after a save"
        assert changes(seen, sources([tmp_path / "content"])) == [post]
    finally:
        stop.set()
