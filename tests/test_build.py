"""The build core: one process can run many builds, each with exactly its own plugins."""

from blogkit.build import load_settings


def test_a_plugin_of_an_earlier_build_does_not_run_in_the_next(site):
    site.post("one", title="One")
    site.build()
    assert (site.output / "robots.txt").exists()
    without_robots = [name for name in load_settings()["PLUGINS"] if name != "plugins.robots"]
    site.build(PLUGINS=without_robots)
    assert not (site.output / "robots.txt").exists()
    assert (site.output / "2020/05/one.html").exists()


def test_changed_markdown_settings_are_not_hidden_by_the_content_cache(site):
    site.post("dashes", title="Dashes", body="Servers -- and databases.")
    site.build()
    assert "Servers -- and databases." in site.read("2020/05/dashes.html")
    markdown = load_settings()["MARKDOWN"]
    smarty = {**markdown, "extension_configs": {**markdown["extension_configs"], "markdown.extensions.smarty": {}}}
    site.build(MARKDOWN=smarty)
    assert "Servers &ndash; and databases." in site.read("2020/05/dashes.html")


GC_AT_REGISTER = """
import gc

seen = []


def register():
    seen.append((gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()))
"""


def test_start_up_objects_are_frozen_before_the_plugins_load_and_the_collector_is_as_before_after(site, tmp_path):
    """Pelican's imports are never walked by the collector during a build; the build leaves it as it found it."""
    import gc
    import importlib

    from blogkit import build as build_module

    plugins = tmp_path / "test-plugins" / "gc_at_register"
    plugins.mkdir(parents=True)
    (plugins / "__init__.py").write_text(GC_AT_REGISTER, encoding="utf-8")
    settings = load_settings()
    site.post("one", title="One")
    before = gc.isenabled(), gc.get_threshold()
    site.build(PLUGIN_PATHS=[*settings["PLUGIN_PATHS"], str(plugins.parent)], PLUGINS=[*settings["PLUGINS"], "gc_at_register"])
    [(enabled, thresholds, frozen)] = importlib.import_module("gc_at_register").seen
    # On when the plugins load (the read pool forks from here), at the build's thresholds, Pelican frozen.
    assert enabled and thresholds == build_module._THRESHOLDS and frozen > 10_000
    assert (gc.isenabled(), gc.get_threshold()) == before and gc.get_freeze_count() == 0
    assert (site.output / "2020/05/one.html").exists()
