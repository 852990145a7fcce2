"""Give every post `article.related_posts`: other published posts that share its tags.

Ours rather than PyPI's: pelican-related-posts scores every pair of posts
sharing a tag, which is quadratic when one label covers most of a 5,000-post
archive (a Blogger blog typically has such labels). Here the cost is linear
in the number of posts:

1. one pass builds tag -> posts (newest first) and each post's position in
   its tags' lists;
2. for each post, the candidates are, per tag, at most `candidates_per_tag`
   posts nearest in time to it in that tag's list (a bounded window), so the
   work per post is bounded by (its tags x the window);
3. a candidate scores the number of tags it shares with the post; ties go to
   the candidate closest in date, then the newer one, then the title.

A post never lists itself or a draft; drafts get related published posts so
their preview looks like the real thing.
"""

from __future__ import annotations

from pelican import signals

from blogkit.plugin_settings import whole_number, with_defaults

DEFAULTS = {
    # How many related posts a post lists.
    "max": 5,
    # Per tag, how many posts nearest in time are considered (bounds the work per post).
    "candidates_per_tag": 30,
}


def related_settings(settings: dict) -> dict:
    """Return the RELATED_POSTS setting with every default filled in."""
    return with_defaults(settings, "RELATED_POSTS", DEFAULTS, {key: (whole_number(0), "a whole number >= 0") for key in DEFAULTS})


def _tag_names(article) -> list[str]:
    return sorted({tag.slug for tag in getattr(article, "tags", None) or ()})


def related_posts(published: list, others: list = (), max_posts: int = 5, window: int = 50) -> None:
    """Set `related_posts` on every article in `published` and `others` (drafts), from `published` only."""
    # 1. tag -> published posts, newest first; and where each post sits in each list.
    by_tag: dict[str, list] = {}
    for article in sorted(published, key=lambda a: a.date, reverse=True):
        for tag in _tag_names(article):
            by_tag.setdefault(tag, []).append(article)
    position = {(tag, id(article)): i for tag, posts in by_tag.items() for i, article in enumerate(posts)}
    tagsets = {id(article): set(_tag_names(article)) for article in published}
    stamps = {id(article): article.date.timestamp() for article in published}

    # 2. score each post against a bounded window of candidates per tag.
    for article in list(published) + list(others):
        own = tagsets.get(id(article)) or set(_tag_names(article))
        if not own or max_posts == 0:
            article.related_posts = []
            continue
        when = stamps.get(id(article)) or article.date.timestamp()
        candidates: dict[int, object] = {}
        for tag in own:
            posts = by_tag.get(tag, [])
            if not posts:
                continue
            here = position.get((tag, id(article)))
            if here is None:  # a draft: place it by date among the tag's posts
                here = sum(1 for p in posts if p.date > article.date)
            low = max(0, here - window // 2)
            for candidate in posts[low:low + window + 1]:
                candidates[id(candidate)] = candidate
        candidates.pop(id(article), None)
        # Best first: most shared tags, then closest in time, then newer, then by title.
        ranked = sorted(
            (-len(own & tagsets[key]), abs(stamps[key] - when), -stamps[key], candidate.title, key)
            for key, candidate in candidates.items()
        )
        article.related_posts = [candidates[entry[-1]] for entry in ranked[:max_posts]]


def check_settings(pelican) -> None:
    """Report a bad RELATED_POSTS at start-up."""
    related_settings(pelican.settings)


def attach(generator) -> None:
    """Compute related posts once the articles are read."""
    config = related_settings(generator.settings)
    related_posts(
        generator.articles + generator.translations,
        generator.drafts + getattr(generator, "drafts_translations", []),
        max_posts=config["max"],
        window=config["candidates_per_tag"],
    )


def register():
    """Hook the plugin into Pelican."""
    signals.initialized.connect(check_settings)
    signals.article_generator_finalized.connect(attach)
