"""Print how the related-posts plugin scales: time per post count, with one label on every post.

Run: uv run python bench/related_posts.py
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugins.related import related_posts  # noqa: E402


def corpus(n: int, seed: int = 7) -> list:
    """n posts, each with the label 'consulting' (the worst case) plus 2-4 of 60 others."""
    rng = random.Random(seed)
    labels = [f"label-{i}" for i in range(60)]
    start = datetime(2007, 1, 11)
    posts = []
    for i in range(n):
        names = {"consulting", *rng.sample(labels, rng.randint(2, 4))}
        posts.append(SimpleNamespace(
            title=f"Post {i}", date=start + timedelta(hours=12 * i),
            tags=[SimpleNamespace(slug=name) for name in sorted(names)],
        ))
    return posts


def main() -> None:
    print(f"{'posts':>6} {'seconds':>8} {'µs/post':>8}")
    for n in (100, 1000, 5000):
        posts = corpus(n)
        started = time.perf_counter()
        related_posts(posts, max_posts=5, window=30)
        seconds = time.perf_counter() - started
        print(f"{n:>6} {seconds:>8.3f} {seconds / n * 1e6:>8.0f}")


if __name__ == "__main__":
    main()
