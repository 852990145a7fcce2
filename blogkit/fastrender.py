"""Keep template rendering linear in the number of posts.

A sidebar that groups all posts by year (`articles|groupby('date.year')`) is
evaluated on every page, so a site of N posts pays N x N attribute lookups:
at 1,000 posts that was most of the build. The grouping of one list never
changes while pages are written, so it is computed once per list and reused.
The memo holds the list itself (its id cannot be reused while it is held) and
its length (an in-place change in length invalidates it); small lists, which
are mostly per-page lists, are not memoised at all.
"""

from __future__ import annotations

from jinja2 import pass_environment
from jinja2.filters import sync_do_groupby

# Lists shorter than this are grouped directly: cheap, and mostly one page's own list.
MIN_MEMO_LENGTH = 64


def memoised_groupby(environment):
    """Return a `groupby` filter for one Jinja environment that groups each long list once."""
    memo: dict = {}

    @pass_environment
    def groupby(env, value, attribute, default=None, case_sensitive=False):
        if not isinstance(value, list) or len(value) < MIN_MEMO_LENGTH:
            return sync_do_groupby(env, value, attribute, default, case_sensitive)
        key = (id(value), str(attribute), default, case_sensitive)
        hit = memo.get(key)
        if hit is not None and hit[0] is value and hit[1] == len(value):
            return hit[2]
        groups = sync_do_groupby(env, value, attribute, default, case_sensitive)
        memo[key] = (value, len(value), groups)
        return groups

    return groupby


def install(environment) -> None:
    """Use the memoised filters in this Jinja environment."""
    environment.filters["groupby"] = memoised_groupby(environment)
