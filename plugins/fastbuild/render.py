"""Keep template rendering linear in the number of posts.

A sidebar that groups all posts by year (`articles|groupby('date.year')`) is
evaluated on every page, so a site of N posts pays N x N attribute lookups:
at 1,000 posts that was most of the build. The grouping of one list never
changes while pages are written, so it is computed once per list and reused.
The memo holds the list itself (its id cannot be reused while it is held) and
its length (an in-place change in length invalidates it); small lists, which
are mostly per-page lists, are not memoised at all. `sort` of the list of
all tags (45 tags on 1,000 pages: 600,000 comparisons) is memoised the same way.

`striptags` (a regex pass, then unescaping) is asked of the same strings again
and again: the site's name twice on every page, a post's title on its own page,
its neighbours' and in related posts, its summary twice on its page (the meta
description and the SEO part). Its answer depends only on the text, so it is
kept per text for the environment's build.
"""

from __future__ import annotations

from jinja2 import pass_environment
from jinja2.filters import do_sort, do_striptags, sync_do_groupby
from markupsafe import Markup

# Lists shorter than this are grouped directly: cheap, and mostly one page's own list.
MIN_MEMO_LENGTH = 64
MIN_MEMO_LENGTH_SORT = 16


def _memoised_list_filter(filter_function, min_length: int):
    """Wrap a Jinja list filter so each long list is computed once per environment.

    The memo keys on the list's id and the call's arguments, holds the list
    itself (so its id cannot be reused) and its length (an in-place change in
    length invalidates the entry), and hands out copies.
    """
    memo: dict = {}

    @pass_environment
    def memoised(env, value, *args, **kwargs):
        if not isinstance(value, list) or len(value) < min_length:
            return filter_function(env, value, *args, **kwargs)
        key = (id(value), repr(args), repr(sorted(kwargs.items())))
        hit = memo.get(key)
        if hit is not None and hit[0] is value and hit[1] == len(value):
            return list(hit[2])  # a copy: the caller may not change our memo
        result = filter_function(env, value, *args, **kwargs)
        memo[key] = (value, len(value), result)
        return list(result)

    return memoised


def _memoised_text_filter(filter_function):
    """Wrap a pure one-argument text filter so each distinct text is computed once (other values are passed on)."""
    memo: dict = {}

    def memoised(value):
        # Exactly str or Markup (a str subclass the filter reads as the same text): equal texts, equal answers.
        if type(value) is not str and type(value) is not Markup:
            return filter_function(value)
        hit = memo.get(value)
        if hit is None:
            hit = memo[value] = filter_function(value)
        return hit

    return memoised


def install(environment) -> None:
    """Use the memoised filters in this Jinja environment; templates do not change while it builds."""
    environment.filters["groupby"] = _memoised_list_filter(sync_do_groupby, MIN_MEMO_LENGTH)
    environment.filters["sort"] = _memoised_list_filter(do_sort, MIN_MEMO_LENGTH_SORT)
    if environment.filters.get("striptags") is do_striptags:  # not a JINJA_FILTERS replacement of it
        environment.filters["striptags"] = _memoised_text_filter(do_striptags)
    # Pelican's environment checks every template file's mtime on every include;
    # one build never sees a template change.
    environment.auto_reload = False


# --- URLs: computed once per content object while pages are written --------------------

_url_state: dict = {"original": None}


def start_url_memo() -> None:
    """Compute each content object's url and save_as once while the pages are written.

    Pelican formats `article.url` from the settings and a copy of the metadata
    every time a template asks (an article's URL is asked for on its own page,
    its neighbours', every list and tag page and every feed it is in). Nothing
    changes a content object's metadata once writing has begun, so the first
    answer is kept until `stop_url_memo()`. The same holds for tags,
    categories and authors (every page lists every tag's URL in the sidebar).
    """
    from pelican.contents import Content
    from pelican.urlwrappers import URLWrapper

    if _url_state["original"] is not None:
        return
    _url_state["original"] = (Content.get_url_setting, URLWrapper.url, URLWrapper.save_as, URLWrapper.page_name)
    Content.get_url_setting = _memoised(Content.get_url_setting)
    # Pelican binds these properties to _from_settings with functools.partial.
    URLWrapper.url = property(_memoised(URLWrapper.url.fget))
    URLWrapper.save_as = property(_memoised(URLWrapper.save_as.fget))
    URLWrapper.page_name = property(_memoised(URLWrapper.page_name.fget))


def _memoised(method):
    memo: dict = {}

    def memoised(self, *args):
        key = (id(self), args)
        hit = memo.get(key)
        if hit is not None and hit[0] is self:
            return hit[1]
        value = method(self, *args)
        memo[key] = (self, value)  # holding self keeps its id from being reused
        return value

    memoised.__wrapped__ = method
    return memoised


def stop_url_memo() -> None:
    """Give Pelican back its own url computation."""
    from pelican.contents import Content
    from pelican.urlwrappers import URLWrapper

    if _url_state["original"] is not None:
        (Content.get_url_setting, URLWrapper.url, URLWrapper.save_as, URLWrapper.page_name) = _url_state["original"]
        _url_state["original"] = None
