"""{% sitewide %}: rendered once per build when the fast path is on, every time otherwise."""

from __future__ import annotations

import jinja2

from plugins.fastbuild import memo as rendermemo, sitewide


class Post:
    """Stands in for a Pelican content object: a source path and a body."""

    def __init__(self, source_path: str):
        self.source_path = source_path
        self.summary = f"summary of {source_path}"


def make_env() -> tuple[jinja2.Environment, list]:
    calls = []
    env = jinja2.Environment(extensions=[sitewide.SitewideExtension])
    env.globals["count"] = lambda: calls.append(1) or len(calls)
    rendermemo.track_environment(env)
    return env, calls


TEMPLATE = "{{ page }}|{% sitewide 'side' %}side {{ count() }} {{ about.summary }}{% endsitewide %}"


def test_without_the_cache_the_part_is_rendered_on_every_page():
    env, calls = make_env()
    template = env.from_string(TEMPLATE)
    about = Post("about.md")
    pages = [template.render(page=n, about=about) for n in range(3)]
    assert pages == [f"{n}|side {n + 1} summary of about.md" for n in range(3)]


def test_with_the_cache_it_is_rendered_once_and_its_reads_count_for_every_page():
    env, calls = make_env()
    sitewide.enable_cache(env)
    template = env.from_string(TEMPLATE)
    about = Post("about.md")
    reads = [rendermemo.render_tracked(lambda n=n: template.render(page=n, about=about)) for n in range(3)]
    assert len(calls) == 1
    assert [template.render(page=n, about=about) for n in range(2)] == ["0|side 1 summary of about.md", "1|side 1 summary of about.md"]
    assert reads == [{"about.md"}] * 3  # each page depends on the About page's summary
