"""Write robots.txt pointing crawlers to the sitemap written by pelican-sitemap.

Ours: no PyPI plugin writes robots.txt, and a static file in content/ cannot
carry the absolute sitemap URL, which depends on SITEURL (the robots.txt
standard wants an absolute `Sitemap:` URL, so a local build with a relative
SITEURL leaves the line out and says why in a comment).

It also resets pelican-sitemap's module-level state when a build starts:
that plugin keeps its page queue and the Pelican object of a run that never
reached `finalized` (a failed build), and then writes no sitemap in any later
build of the same process (livereload, tests).

And it dates the sitemap's index pages (home, archives, labels) by the newest
post or page rather than by the build clock, which pelican-sitemap uses: two
builds of the same sources then write the same sitemap, and a publish of
unchanged sources has nothing to commit.
"""

from __future__ import annotations

from pathlib import Path

from pelican import signals

from blogkit.plugin_settings import with_defaults

DEFAULTS = {
    # Path of the sitemap inside the site (pelican-sitemap writes sitemap.xml).
    "sitemap": "sitemap.xml",
    # Paths crawlers are asked to skip, e.g. ["/drafts/"].
    "disallow": [],
}


def robots_settings(settings: dict) -> dict:
    """Return the ROBOTS setting with every default filled in."""
    return with_defaults(settings, "ROBOTS", DEFAULTS, {
        "sitemap": (lambda v: v is None or isinstance(v, str), "a path inside the site, or None"),
        "disallow": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(p, str) for p in v), "a list of paths"),
    })


def robots_txt(siteurl: str, config: dict) -> str:
    """Return the text of robots.txt for a site at siteurl."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in config["disallow"]] or ["Disallow:"]
    if config["sitemap"]:
        if siteurl.startswith(("http://", "https://")):
            lines += ["", f"Sitemap: {siteurl.rstrip('/')}/{config['sitemap']}"]
        else:
            lines += ["", "# Sitemap: left out, SITEURL is not absolute in this build (publishconf.py sets it)."]
    return "\n".join(lines) + "\n"


def reset_sitemap_state(pelican) -> None:
    """Forget what pelican-sitemap kept from an earlier, failed run in this process."""
    try:
        from pelican.plugins.sitemap import sitemap
    except ImportError:
        return
    sitemap.generator._main_pelican = None
    sitemap.generator.page_queue = []


def check_settings(pelican) -> None:
    """Report a bad ROBOTS at start-up."""
    robots_settings(pelican.settings)


def date_sitemap_indexes(generators) -> None:
    """Give pelican-sitemap the newest content date as the lastmod of pages that are not a post or page."""
    try:
        from pelican.plugins.sitemap import sitemap
    except ImportError:
        return
    dates = [
        getattr(item, "modified", None) or getattr(item, "date", None)
        for generator in generators
        for item in [*getattr(generator, "articles", ()), *getattr(generator, "pages", ())]
    ]
    dates = [date for date in dates if date is not None]
    if dates:
        sitemap.generator.now = max(dates)


def write_robots(pelican) -> None:
    """Write robots.txt at the root of the written site."""
    config = robots_settings(pelican.settings)
    text = robots_txt(pelican.settings.get("SITEURL", ""), config)
    Path(pelican.output_path, "robots.txt").write_text(text, encoding="utf-8")


def register():
    """Hook the plugin into Pelican."""
    signals.initialized.connect(check_settings)
    signals.initialized.connect(reset_sitemap_state)
    signals.all_generators_finalized.connect(date_sitemap_indexes)
    signals.finalized.connect(write_robots)
