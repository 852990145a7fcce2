"""plugins/toc on the fast path: the read workers find the headings, and the toc is the same.

The toc a real build writes is tested in test_discovery.py; here the pool runs
on a small site (min_sources 0) and the tocs are compared with Pelican's serial
path, also when a plugin changes TOC after the pool started.
"""

from __future__ import annotations

import re

FAST = {"FASTBUILD": {"workers": 2, "min_sources": 0}, "SEARCH": {"index": False}}
SERIAL = {"FASTBUILD": {"enabled": False}, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, "SEARCH": {"index": False}}

# A plugin that asks for h4 headings too once Pelican is initialized, after the pool started.
DEEPER = """
from pelican import signals


def deeper(pelican):
    pelican.settings["TOC"] = {"levels": (2, 3, 4)}


def register():
    signals.initialized.connect(deeper)
"""


def _posts(site) -> None:
    body = "\n\n".join(f"## Part {n}\n\nText {n}.\n\n### Detail {n}\n\nMore.\n\n#### Fine {n}\n\nFine print." for n in range(3))
    site.post("long", body=body)
    site.post("short", body="## Only one\n\nText.")


def tocs(site) -> dict[str, str]:
    found = {}
    for slug in ("long", "short"):
        page = site.read(f"2020/05/{slug}.html")
        found[slug] = re.findall(r'<a href="#([^"]+)">', page)
    return found


def test_the_workers_headings_make_the_serial_paths_toc(site, tmp_path, monkeypatch):
    import plugins.toc as toc
    from plugins.fastbuild import read as fastread
    from test_fast_build import with_test_plugin

    _posts(site)
    found_here = []
    real = toc.headings
    # The workers are forked from this process and look through this too, but into their own list.
    monkeypatch.setattr(toc, "headings", lambda html, levels=(2, 3): found_here.append(levels) or real(html, levels))
    site.build(**FAST)
    assert fastread.stats["parsed_in_workers"] == 2
    assert found_here == []  # every body's headings came from a worker
    fast = tocs(site)
    assert "part-0" in fast["long"] and "detail-2" in fast["long"] and "fine-0" not in fast["long"]

    site.output = tmp_path / "serial"
    site.build(**SERIAL)
    assert tocs(site) == fast and len(found_here) == 2

    # TOC changed after the pool started: the workers' headings are for other levels, so not taken.
    found_here.clear()
    plugin = with_test_plugin(tmp_path, "deeper", DEEPER)
    site.output = tmp_path / "fast-deeper"
    site.build(**FAST, **plugin)
    assert found_here == [(2, 3, 4), (2, 3, 4)]
    deeper = tocs(site)
    assert "fine-0" in deeper["long"]
    site.output = tmp_path / "serial-deeper"
    site.build(**SERIAL, **plugin)
    assert tocs(site) == deeper
