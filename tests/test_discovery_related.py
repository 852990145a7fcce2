"""The related-posts ranking against a brute-force reference, and its bounded work per post."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from types import SimpleNamespace

from plugins.related import related_posts


def corpus(n: int, seed: int) -> list:
    rng = random.Random(seed)
    labels = [f"l{i}" for i in range(8)]
    start = datetime(2007, 1, 11)
    return [
        SimpleNamespace(title=f"Post {i}", date=start + timedelta(days=rng.randint(0, 4000), minutes=i),
                        tags=[SimpleNamespace(slug=s) for s in rng.sample(labels, rng.randint(0, 4))])
        for i in range(n)
    ]


def brute_force(post, posts, max_posts):
    """Every pair scored: most shared tags, then closest in time, then newer, then title."""
    own = {t.slug for t in post.tags}
    scored = []
    for other in posts:
        shared = len(own & {t.slug for t in other.tags})
        if other is post or not shared:
            continue
        distance = abs((other.date - post.date).total_seconds())
        scored.append(((-shared, distance, -other.date.timestamp(), other.title), other))
    return [other for _, other in sorted(scored, key=lambda pair: pair[0])][:max_posts]


def test_ranking_matches_brute_force_when_the_window_covers_every_post():
    for seed in range(5):
        posts = corpus(60, seed)
        related_posts(posts, max_posts=5, window=200)
        for post in posts:
            assert post.related_posts == brute_force(post, posts, 5), (seed, post.title)


def test_a_label_on_every_post_still_picks_the_nearest_posts_with_a_small_window():
    # 400 posts that share only one label: the best related posts are the
    # nearest in time, which a 10-post window around each post must find.
    start = datetime(2007, 1, 11)
    posts = [SimpleNamespace(title=f"P{i}", date=start + timedelta(days=3 * i + (i % 7)),
                             tags=[SimpleNamespace(slug="everything")]) for i in range(400)]
    random.Random(2).shuffle(posts)
    related_posts(posts, max_posts=5, window=10)
    for post in posts:
        assert post.related_posts == brute_force(post, posts, 5), post.title


def test_drafts_get_published_related_posts_and_are_never_picked():
    posts = corpus(30, 3)
    draft = SimpleNamespace(title="Draft", date=datetime(2010, 1, 1), tags=[SimpleNamespace(slug="l1")])
    related_posts(posts, [draft], max_posts=3, window=100)
    assert draft.related_posts == brute_force(draft, posts, 3)
    assert all(draft not in post.related_posts for post in posts)
