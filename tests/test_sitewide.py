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


PER = "{{ page }}|{% sitewide 'summary' per post, lazy %}{{ post.summary }} lazy={{ lazy }} #{{ count() }}{% endsitewide %}"


def test_a_part_per_post_is_rendered_once_for_each_post_and_value_and_credits_that_post():
    env, calls = make_env()
    sitewide.enable_cache(env)
    template = env.from_string(PER)
    a, b = Post("a.md"), Post("b.md")
    pages = [(1, a, True), (2, b, True), (3, a, True), (4, a, False), (5, b, True), (6, a, False)]
    reads, html = [], []
    for page, post, lazy in pages:
        reads.append(rendermemo.render_tracked(lambda: html.append(template.render(page=page, post=post, lazy=lazy))))
    assert html == ["1|summary of a.md lazy=True #1", "2|summary of b.md lazy=True #2", "3|summary of a.md lazy=True #1",
                    "4|summary of a.md lazy=False #3", "5|summary of b.md lazy=True #2", "6|summary of a.md lazy=False #3"]
    assert len(calls) == 3
    assert reads == [{"a.md"}, {"b.md"}, {"a.md"}, {"a.md"}, {"b.md"}, {"a.md"}]


def test_a_part_per_post_without_the_cache_is_rendered_every_time():
    env, calls = make_env()
    template = env.from_string(PER)
    a = Post("a.md")
    assert [template.render(page=n, post=a, lazy=True) for n in range(3)] == [
        f"{n}|summary of a.md lazy=True #{n + 1}" for n in range(3)]


def test_per_values_are_told_apart_by_value_when_plain_and_by_identity_when_objects():
    env, calls = make_env()
    sitewide.enable_cache(env)
    template = env.from_string("{% sitewide 'nav' per current, post %}{{ current }} {{ post.summary }} #{{ count() }}{% endsitewide %}")
    a, twin = Post("a.md"), Post("a.md")  # equal in every field, yet another object
    first = template.render(current="".join(["arch", "ives"]), post=a)
    assert template.render(current="archives", post=a) == first  # an equal string, another str object: a hit
    assert template.render(current="archives", post=twin).endswith("#2")  # another object: rendered again
    assert template.render(post=a) == " summary of a.md #3"  # `current` undefined: one key of its own ...
    assert template.render(post=a) == " summary of a.md #3"  # ... the same on every page where it is undefined
    assert len(calls) == 3


def test_siteurl_is_part_of_every_key_since_relative_urls_make_it_differ_by_page():
    env, calls = make_env()
    sitewide.enable_cache(env)
    template = env.from_string("{% sitewide 'side' %}<a href=\"{{ SITEURL }}/tags.html\">{{ count() }}</a>{% endsitewide %}")
    assert [template.render(SITEURL=url) for url in (".", "../..", ".")] == [
        '<a href="./tags.html">1</a>', '<a href="../../tags.html">2</a>', '<a href="./tags.html">1</a>']
