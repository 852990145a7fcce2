"""plugins/fastbuild's read pool starts as a fresh process's build imports the package, before the other plugins load."""

from __future__ import annotations

import json
import subprocess
import sys

from blogkit.build import ROOT, build, load_settings
from conftest import snapshot

RECORDER = """
from plugins.fastbuild import read

seen = []


def register():
    # Listed after plugins.fastbuild: Pelican imports every plugin first, then registers each.
    pool = read.current()
    seen.append(pool is not None and read.stats["early_start"])
"""

SCRIPT = """
import json, sys
from blogkit.build import build
content, output, cache, extra = sys.argv[1:5]
overrides = {"PATH": content, "CACHE_PATH": cache, "FASTBUILD": {"workers": 2, "min_sources": 0}, **json.loads(extra)}
build("pelicanconf.py", output, overrides)
import pool_recorder
from plugins import fastbuild
print(json.dumps({"seen": pool_recorder.seen, "stats": fastbuild.stats()}))
"""


def fresh_process(script: str, *args) -> object:
    """Run script in a fresh Python process from the repository; return the JSON its last line prints."""
    result = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_fresh_process_starts_the_read_pool_before_the_later_plugins_load(site, tmp_path):
    for n in range(6):
        site.post(f"post-{n}", title=f"Post {n}", date=f"2020-05-0{n + 1} 10:00", body=f"Body of post {n}.")
    folder = tmp_path / "test-plugins" / "pool_recorder"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(RECORDER, encoding="utf-8")
    settings = load_settings()
    plugins = list(settings["PLUGINS"])
    plugins.insert(plugins.index("plugins.fastbuild") + 1, "pool_recorder")
    report = fresh_process(SCRIPT, site.content, site.output, tmp_path / "cache",
                           json.dumps({"PLUGIN_PATHS": [*settings["PLUGIN_PATHS"], str(folder.parent)], "PLUGINS": plugins,
                                       "SEARCH": {**settings.get("SEARCH", {}), "index": False}}))
    assert report["seen"] == [True]  # the pool ran while the plugins after fastbuild registered
    assert report["stats"]["early_start"] and report["stats"]["parsed_in_workers"] == 6
    assert (site.output / "2020/05/post-0.html").exists()
    # Byte for byte the site Pelican's serial path builds (the recorder plugin writes nothing).
    serial = tmp_path / "serial"
    build(ROOT / "pelicanconf.py", serial, site.overrides(
        CACHE_PATH=str(tmp_path / "serial-cache"), FASTBUILD={"enabled": False}, CACHE_CONTENT=False,
        LOAD_CONTENT_CACHE=False, SEARCH={**settings.get("SEARCH", {}), "index": False}))
    assert snapshot(site.output) == snapshot(serial)


HOOKS_SCRIPT = """
import json, os, sys
from blogkit import runhooks
from blogkit.build import build
import plugins.strict.sources as sources

main, seen = os.getpid(), {"scanned here": 0}
plain_scan, plain_fork = sources.scan, os.fork


def scan(*args, **kwargs):
    if os.getpid() == main:
        seen["scanned here"] += 1
    return plain_scan(*args, **kwargs)


def fork():
    # The read pool's first fork: which worker hooks the workers will have.
    seen.setdefault("at the fork", sorted(r.__module__ for r in runhooks.WORKER_BODY.receivers_for(None)))
    return plain_fork()


sources.scan, os.fork = scan, fork
content, output, cache = sys.argv[1:4]
build("pelicanconf.py", output, {"PATH": content, "CACHE_PATH": cache, "FASTBUILD": {"workers": 2, "min_sources": 0},
                                 "SEARCH": {"index": False}})
from plugins import fastbuild
print(json.dumps({**seen, "stats": fastbuild.stats()}))
"""


def test_the_read_workers_of_a_fresh_process_have_every_listed_plugins_hooks(site, tmp_path):
    # The pool forks as plugins.fastbuild is imported, before Pelican has imported the plugins
    # listed after it or registered any: hooks connected at register() never reached the workers,
    # and strict, readtime and toc did their per-file work on one core after the read.
    for n in range(6):
        site.post(f"post-{n}", title=f"Post {n}", date=f"2020-05-0{n + 1} 10:00", body=f"## Part {n}\n\nBody of post {n}.")
    report = fresh_process(HOOKS_SCRIPT, site.content, site.output, tmp_path / "cache")
    assert report["stats"]["early_start"] and report["stats"]["parsed_in_workers"] == 6
    assert report["at the fork"] == ["plugins.readtime", "plugins.strict", "plugins.toc"]
    assert report["scanned here"] == 0  # strict used the workers' scans of the 6 posts


BS4_SCRIPT = """
import json, sys
from blogkit.build import build
content, output, cache, extra = sys.argv[1:5]
build("pelicanconf.py", output, {"PATH": content, "CACHE_PATH": cache, **json.loads(extra)})
print(json.dumps("bs4" in sys.modules))
"""


def test_beautiful_soup_is_imported_only_when_a_summary_is_made(site, tmp_path):
    # plugins/summaries needs it for a long post without a Summary line; imported with the plugin,
    # it took 50-80 ms of every build's start-up, when one core works and the other waits.
    settings = load_settings()
    extra = json.dumps({"SEARCH": {**settings.get("SEARCH", {}), "index": False}})

    def imported(run: str) -> bool:
        return fresh_process(BS4_SCRIPT, site.content, tmp_path / run / "output", tmp_path / run / "cache", extra)

    long_body = " ".join(f"word{n}" for n in range(settings["SUMMARY_MAX_LENGTH"] + 20))
    for n in range(2):
        site.post(f"post-{n}", title=f"Post {n}", date=f"2020-05-0{n + 1} 10:00", body=long_body, summary="Written by hand.")
    assert imported("with-summaries") is False
    site.post("no-summary", title="No summary", date="2020-05-09 10:00", body=long_body)
    assert imported("one-without") is True
    index = (tmp_path / "one-without" / "output" / "index.html").read_text(encoding="utf-8")
    assert "Written by hand." in index and "word0" in index  # the made summary is on the list page
