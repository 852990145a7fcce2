"""A small fixture site for the theme tests: two years of posts, labels, code, and the contract variables.

The contract variables (reading_time, toc, related_posts, archived_comments) are
provided by other engineers' plugins; here a tiny fixture plugin sets them on
chosen posts, because what is under test is only how the theme renders the
contract. Newer/Older links come from the real pelican-neighbors plugin.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from blogkit.build import ROOT, load_settings

CODE_POST = '''
## Why backups fail

Most backup plans fail at restore time. Here is the script we run nightly:

```python
import shutil, datetime  # keywords, names, comments

def rotate(path: str, keep: int = 7) -> list[str]:
    """Keep the newest `keep` archives."""
    stamp = datetime.date.today().isoformat()
    archives = sorted(p for p in Path(path).glob("*.tar.gz"))[:-keep]
    for old in archives:
        old.unlink()
    return [f"{stamp}: removed {len(archives)} archive(s), 0x1F, 3.14, True, None"]

@decorator
class Restore(Exception):
    pass
```

## Checking a restore

```bash
#!/bin/sh
set -eu
tar -tzf "$ARCHIVE" > /dev/null && echo "ok: $ARCHIVE" || exit 1
```

```diff
- keep = 3
+ keep = 7
```

```html
<p class="note" id="x">A <a href="/p/about.html">link</a> &amp; an entity</p>
```

A very long line that must scroll, not break the layout:

```
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
```

## Conclusion

Test the restore, not the backup.
'''

FIXTURE_PLUGIN = '''
"""Stand-in for the plugins that provide the theme's contract variables (test fixture only)."""
from pelican import signals

def provide(generator):
    by_slug = {a.slug: a for a in generator.articles}
    if "backups-that-restore" not in by_slug:
        return  # Pelican keeps plugin receivers connected across builds in one process
    long_post = by_slug["backups-that-restore"]
    long_post.reading_time = 7
    long_post.toc = '<ul><li><a href="#why-backups-fail">Why backups fail</a></li><li><a href="#checking-a-restore">Checking a restore</a></li></ul>'
    long_post.related_posts = [by_slug["february-notes"], by_slug["summer-clients"]]
    comment = {"id": "c1", "parent": None, "author": "Anonymous", "url": None,
               "date": "2021-03-15T07:10:00-05:00", "body": "<p>Nice.</p>"}
    long_post.archived_comments = [comment, dict(comment, id="c2", parent="c1")]
    by_slug["february-notes"].archived_comments = [comment]
    by_slug["summer-clients"].archived_comments = []
    by_slug["independence"].archived_comments = [comment]
    by_slug["independence"].comments_mode = "off"

def register():
    signals.article_generator_finalized.connect(provide)
'''

POSTS = [
    # slug, title, date, tags
    ("backups-that-restore", "Backups that restore", "2021-03-14 10:00", "Backups, Sales"),
    ("early-bird", "An early bird", "2021-03-14 08:00", "Backups"),
    ("february-notes", "February notes", "2021-02-02 09:00", "Sales"),
    ("summer-clients", "Summer clients", "2019-07-20 09:00", "Clients"),
    ("independence", "Independence day", "2019-07-04 09:00", ""),
    ("may-day", "May day", "2019-05-01 09:00", ""),
]


def write_theme_site(site, *, contract: bool = True, code: bool = True) -> None:
    """Fill a conftest `Site` with the fixture posts, an About page and, optionally, the contract plugin."""
    for slug, title, date, tags in POSTS:
        body = CODE_POST if (code and slug == "backups-that-restore") else f"The post called {title}, with a few words of body text."
        meta = {"tags": tags} if tags else {}
        meta["summary"] = f"Summary of {title}."
        site.post(slug, title=title, date=date, body=body, category="Notes", **meta)
    site.write("pages/about.md", """
        Title: About
        Slug: about
        Summary: A fixture blog about backups.

        About this fixture blog.
    """)
    if contract:
        plugin = site.base / "fixture_plugins" / "contract_fixture" / "__init__.py"
        plugin.parent.mkdir(parents=True)
        plugin.write_text(textwrap.dedent(FIXTURE_PLUGIN), encoding="utf-8")


def theme_overrides(site, *, contract: bool = True, **extra) -> dict:
    """Settings for a fixture build: the real configuration plus pelican-neighbors and the fixture plugin."""
    settings = load_settings(ROOT / "pelicanconf.py")
    plugins = [p for p in settings["PLUGINS"]]
    if not any(p.endswith("neighbors") for p in plugins):
        plugins.append("pelican.plugins.neighbors")
    paths = list(settings["PLUGIN_PATHS"])
    if contract:
        plugins.append("contract_fixture")
        paths.append(str(site.base / "fixture_plugins"))
    return {"PLUGINS": plugins, "PLUGIN_PATHS": paths, **extra}


def build_theme_site(site, *, contract: bool = True, code: bool = True, **extra) -> Path:
    """Write and build the fixture site; return its output folder."""
    write_theme_site(site, contract=contract, code=code)
    site.build(**theme_overrides(site, contract=contract, **extra))
    return site.output
