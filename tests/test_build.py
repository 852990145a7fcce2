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
