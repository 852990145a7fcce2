"""The writer announces every HTML page it writes through the run-hook API, once, as soon as it is final."""

from __future__ import annotations

import collections
import importlib.machinery
import os
import sys
import types

from blogkit import runhooks
from blogkit.build import load_settings
from plugins.fastbuild import write as fastwrite

NO_INDEX = {"SEARCH": {**load_settings().get("SEARCH", {}), "index": False}}
FAST = {"FASTBUILD": {"workers": 2, "min_sources": 0}, **NO_INDEX}
SERIAL = {"FASTBUILD": {"enabled": False}, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, **NO_INDEX}


class Probe:
    """A plugin (by module name, as PLUGINS lists plugins) noting each page on_page gives, with its bytes then."""

    NAME = "page_stream_probe"

    def __init__(self):
        self.pages: list[str] = []
        self.bytes_then: dict[str, bytes] = {}
        self.streams: list[bool] = []
        module = types.ModuleType(self.NAME)
        module.register = self.register
        module.__spec__ = importlib.machinery.ModuleSpec(self.NAME, None)
        sys.modules[self.NAME] = module

    def register(self):
        from pelican import signals

        signals.initialized.connect(self.start)
        signals.finalized.connect(self.finalized)

    def start(self, _pelican):
        runhooks.current().on_page(self.page)

    def page(self, run, rel):
        assert os.getpid() == self.pid  # in the main process, never a forked worker
        self.pages.append(rel)
        self.bytes_then[rel] = (run.staging / rel).read_bytes()

    def finalized(self, _pelican):
        self.streams.append(runhooks.current().streams_pages)

    def settings(self, **extra) -> dict:
        self.pid = os.getpid()
        self.pages.clear()
        self.bytes_then.clear()
        self.streams.clear()
        return {"PLUGINS": [*load_settings()["PLUGINS"], self.NAME], **extra}


def write_posts(site, count: int = 12) -> None:
    for n in range(count):
        site.post(f"post-{n}", title=f"Post {n}", date=f"{2010 + n // 4}-{1 + n % 12:02d}-0{1 + n % 9} 09:00",
                  body=f"Words of post {n}.\n\n```python\nprint({n})\n```\n", category=["Work", "Home"][n % 2],
                  tags=["Alpha", "Beta", "Gamma"][n % 3])
    site.write("pages/about.md", "Title: About\nSlug: about\n\nAbout this blog.\n")


def assert_every_page_once_and_final(site, probe) -> None:
    assert probe.streams == [True]
    counts = collections.Counter(probe.pages)
    assert [rel for rel, n in counts.items() if n != 1] == []
    written = {path.relative_to(site.output).as_posix() for path in site.output.rglob("*.html")}
    # HTML the writer does not write never comes through: here plugins/blogger_redirects' stubs.
    stubs = {rel for rel in written if b'http-equiv="refresh"' in (site.output / rel).read_bytes()}
    assert "2010_01_01_archive.html" in stubs and "search/label/Alpha.html" in stubs
    assert set(counts) == written - stubs
    assert {"index.html", "p/about.html", "search.html"} <= set(counts)
    changed = [rel for rel, data in probe.bytes_then.items() if (site.output / rel).read_bytes() != data]
    assert changed == [], f"pages changed after on_page had them: {changed[:5]}"
    assert all(b"Content-Security-Policy" in data for data in probe.bytes_then.values())


def test_every_page_reaches_on_page_once_and_final_cold_and_reused(site):
    write_posts(site)
    probe = Probe()

    site.build(**probe.settings(**FAST))
    assert fastwrite.stats["rendered_in_children"] > 0  # pages from the forked worker came through too
    assert_every_page_once_and_final(site, probe)

    # One body edited: most pages are linked from the last build; they come through as well.
    path = site.content / "posts" / "post-3.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Words of", "Edited words of"), encoding="utf-8")
    os.utime(path, (path.stat().st_mtime + 5,) * 2)
    site.build(**probe.settings(**FAST))
    assert 0 < fastwrite.stats["rendered"] < fastwrite.stats["reused"]
    assert_every_page_once_and_final(site, probe)


def test_the_serial_path_streams_no_pages(site):
    write_posts(site, count=4)
    probe = Probe()
    site.build(**probe.settings(**SERIAL))
    assert probe.streams == [False]
    assert probe.pages == []
    assert (site.output / "index.html").is_file()
