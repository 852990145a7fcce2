"""Make Pelican's own steps that grow with the square of the number of posts linear.

Pelican's ArticlesGenerator builds some lists by testing membership in a list:

- `_build_period_archives`: for each year and month, the period's articles,
  `[a for a in articles if a in dates]` (every post tested against every post
  of the period: N x N per granularity);
- `generate_tags`, `generate_categories`, `generate_authors`: for each tag
  (category, author), its `dates`, `[article for article in self.dates if
  article in articles]` (every post tested against every post of the tag).

At 5,000 posts that is about 3.7 s of a build. Content objects compare by
identity (no `__eq__`, checked in compat.py), so the same lists come from one
pass with a table of ids. Pelican's methods still run as they are (their
pagination, path checks, logging and error handling): each is handed an
empty list where it would search, and the right list is put in its place
afterwards (for the period archives) or in the `write` call (for the tags,
categories and authors). compat.py checks that each method still searches
only there; otherwise the fast path is off and Pelican's own code runs.
"""

from __future__ import annotations

from types import MethodType

# The generator methods whose `dates` keyword is rebuilt, and the (name, articles) pairs each loops over.
_LISTINGS = {
    "generate_tags": lambda generator: generator.tags.items(),
    "generate_categories": lambda generator: generator.categories,
    "generate_authors": lambda generator: generator.authors,
}


def install(generator) -> None:
    """Give this articles generator the linear versions (on the instance: nothing global to undo)."""
    cls = type(generator)
    generator._build_period_archives = MethodType(_period_archives(cls._build_period_archives), generator)
    for name, listing in _LISTINGS.items():
        setattr(generator, name, MethodType(_with_dates(getattr(cls, name), listing), generator))


def _period_archives(plain):
    def build(self, sorted_articles, articles, settings):
        archives = plain(self, sorted_articles, [], settings)  # every archive's "articles" is [] now
        for group in archives.values():
            by_list = subsets_in_order(articles, [archive["dates"] for archive in group])
            for archive in group:
                archive["articles"] = by_list[id(archive["dates"])]
        return archives

    return build


def subsets_in_order(ordered: list, subsets) -> dict[int, list]:
    """For each list in subsets: the items of `ordered` that are in it, in `ordered`'s order; by id of the list.

    The same as `[x for x in ordered if x in subset]` for items that compare by identity.
    """
    results: dict[int, list] = {}
    holders: dict[int, list] = {}  # id of an item -> the result lists it goes to
    for subset in subsets:
        if id(subset) in results:
            continue
        result = results[id(subset)] = []
        for item in subset:
            lists = holders.setdefault(id(item), [])
            if not lists or lists[-1] is not result:  # an item twice in one subset is listed once
                lists.append(result)
    for item in ordered:
        for result in holders.get(id(item), ()):
            result.append(item)
    return results


def _with_dates(plain, listing):
    def method(self, write):
        all_dates = self.dates
        by_list = subsets_in_order(all_dates, [articles for _, articles in listing(self)])

        def write_with_dates(*args, **kwargs):
            articles = kwargs["articles"]
            found = by_list.get(id(articles))
            if found is None:  # not one of the lists this step loops over: search as Pelican does
                members = {id(article) for article in articles}
                found = [article for article in all_dates if id(article) in members]
            kwargs["dates"] = list(found)
            return write(*args, **kwargs)

        self.dates = []  # Pelican's comprehension over it finds nothing, at no cost
        try:
            return plain(self, write_with_dates)
        finally:
            self.dates = all_dates

    return method
