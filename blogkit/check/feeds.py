"""Feeds and sitemaps: every Atom/RSS feed parses cleanly, every other XML file is well-formed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from blogkit import progress
from blogkit.problems import Problem

from .files import files as _files, rel as _rel

_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(feed|rss|RDF)[\s>]")


def _is_feed(data: bytes) -> bool:
    """Sniff an XML file's root element: Atom <feed>, RSS <rss> or RSS 1.0 <rdf:RDF>."""
    head = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", data[:4096], flags=re.S).lstrip()
    return bool(_FEED_ROOT.match(head))


def check_feeds(output: Path) -> list[Problem]:
    """Every Atom/RSS feed parses in feedparser with no bozo; every other XML file is well-formed."""
    import feedparser

    output = Path(output)
    problems = []
    steps = progress.steps()
    xml_files = _files(output, ".xml", ".atom", ".rss")
    steps.begin("feeds and sitemaps", len(xml_files), "files")
    for file in xml_files:
        steps.step()
        rel = _rel(file, output)
        data = file.read_bytes()
        if not _is_feed(data):
            try:
                ET.fromstring(data)
            except ET.ParseError as exc:
                problems.append(Problem(rel, f"not well-formed XML: {exc}", "fix the template or plugin that writes it",
                                        exc.position[0] if exc.position else None))
            continue
        parsed = feedparser.parse(data)
        if parsed.bozo:
            exc = parsed.bozo_exception
            line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
            problems.append(Problem(rel, f"feed does not parse cleanly (feedparser bozo): {type(exc).__name__}: {exc}",
                                    "fix the feed settings or the post whose text breaks it", line))
            continue
        if not parsed.feed.get("title"):
            problems.append(Problem(rel, "feed has no title", "set SITENAME"))
        for number, entry in enumerate(parsed.entries, 1):
            missing = [key for key in ("title", "link", "id") if not entry.get(key)]
            if missing:
                problems.append(Problem(rel, f"entry {number} ({entry.get('title', 'untitled')!r}) has no {', '.join(missing)}",
                                        "give the post a title and a URL"))
    return problems
