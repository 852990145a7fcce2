"""The publishing gate: refuse a built site with dead links, invalid HTML, leaked drafts or bad feeds.

A blogkit tool (it stands above Pelican and the plugins, below tasks.py), one
module per concern, each a walk over a built output folder that returns Problems
whose path is the file (relative to the output folder) where the fault shows, so
the report reads file by file:

    links.py   internal links, images, scripts, stylesheets and #anchors resolve
    feeds.py   feeds parse in feedparser, other XML is well-formed
    drafts.py  no draft is written, linked or quoted anywhere
    nu.py      the Nu HTML checker finds no error or warning
    files.py   the output folder's files, as the checks name them

Pages are read with blogkit/htmlscan.py (a foundation), the one HTML scanner
plugins/csp and plugins/strict use too. On a terminal the checks show which page
they are at through blogkit/progress.py (nothing in CI or pipes).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from blogkit.problems import Problem

from .drafts import Draft, check_drafts, find_drafts
from .feeds import check_feeds
from .links import check_links
from .nu import NU_CSP_STAND_INS, NU_IGNORED, check_html, vnu_jar

__all__ = ["NU_CSP_STAND_INS", "NU_IGNORED", "Draft", "check_drafts", "check_feeds", "check_html", "check_links",
           "check_site", "find_drafts", "format_report", "vnu_jar"]


def check_site(output: Path, settings: dict, html_check: bool = True, siteurl: str | None = None,
               notes: list[str] | None = None) -> list[Problem]:
    """Run every check of the gate on a built site; return all problems found (notes go to `notes`)."""
    output = Path(output)
    if not (output / "index.html").is_file():
        return [Problem(str(output), "no index.html: this is not a built site", "build first (invoke build)")]
    siteurl = settings.get("SITEURL", "") if siteurl is None else siteurl
    problems = check_links(output, siteurl) + check_feeds(output) + check_drafts(output, settings)
    if html_check:
        problems += check_html(output, notes=notes)
    return problems


def format_report(problems: list[Problem]) -> str:
    """Problems grouped by file, one line each."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[problem.path].append(problem)
    lines = [f"The site failed the gate: {len(problems)} problem(s) in {len(by_file)} file(s)."]
    for path in sorted(by_file):
        lines.append(f"{path}")
        for p in by_file[path]:
            where = f"line {p.line}: " if p.line else ""
            lines.append(f"  - {where}{p.message}" + (f" (fix: {p.hint})" if p.hint else ""))
    return "\n".join(lines)
