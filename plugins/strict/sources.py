"""Check each source file as written on disk, before and regardless of Pelican's cache.

Pelican's content cache hands back an article read in an earlier run without
reading the file again, so a check made while Pelican reads would see a bad
file once and then never again. These checks read the raw bytes every run;
they are plain text work and cost about a millisecond per file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from blogkit.problems import Problem

# Python-Markdown's meta extension, which Pelican's Markdown reader uses: the
# header is "Key: value" lines (indented lines continue a value), ended by a
# blank line or by the first line that is not metadata.
META_RE = re.compile(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)")
META_MORE_RE = re.compile(r"^[ ]{4,}(?P<value>.*)")
BEGIN_RE = re.compile(r"^-{3}(\s.*)?$")
END_RE = re.compile(r"^(-{3}|\.{3})(\s.*)?$")
MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mkd", ".mdown")
YEAR_RE = re.compile(r"\b\d{4}\b")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")

ARTICLE_STATUSES = ("published", "draft", "hidden")
PAGE_STATUSES = ("published", "draft", "hidden", "skip")


@dataclass
class Source:
    """What the scan learnt about one file: its header and the problems found in it."""

    path: str  # as Problems name it, e.g. content/posts/2007/x.md
    meta: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line number
    problems: list[Problem] = field(default_factory=list)
    # True when Pelican will drop the file for one of these problems, so its own
    # vaguer "Skipping ..." / "Could not process ..." lines add nothing.
    fatal: bool = False
    bodiless: bool = False  # published with nothing to show: left out of the run
    text: str = ""

    def add(self, message: str, hint: str, line: int | None = None, fatal: bool = False) -> None:
        self.problems.append(Problem(self.path, message, hint, line))
        self.fatal = self.fatal or fatal

    def line_of(self, needle: str) -> int | None:
        """Return the first line holding `needle`, for pointing at a link or an image."""
        index = self.text.find(needle)
        return self.text.count("\n", 0, index) + 1 if index >= 0 else None


def parse_header(text: str) -> tuple[dict[str, str], dict[str, int], str, list[tuple[str, int]]]:
    """Split Markdown into (metadata, line of each key, body, every key as written with its line)."""
    lines = text.split("\n")
    number = 0
    if lines and BEGIN_RE.match(lines[0]):
        number = 1
    meta: dict[str, str] = {}
    where: dict[str, int] = {}
    written: list[tuple[str, int]] = []
    key = None
    while number < len(lines):
        line = lines[number]
        if line.strip() == "" or END_RE.match(line):
            number += 1
            break
        match = META_RE.match(line)
        if match:
            key = match.group("key").lower().strip()
            written.append((match.group("key"), number + 1))
            if key not in meta:  # Pelican keeps the first definition
                meta[key] = match.group("value").strip()
                where[key] = number + 1
        elif key and META_MORE_RE.match(line):
            meta[key] = (meta[key] + " " + line.strip()).strip()
        else:
            break
        number += 1
    return meta, where, "\n".join(lines[number:]), written


def _undecodable(data: bytes, exc: UnicodeDecodeError) -> tuple[str, str, int]:
    """The problem of a file that is not UTF-8: (message, hint, line)."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return (
        f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}, column {column}) "
        "cannot be decoded",
        "re-save the file as UTF-8 in your editor (e.g. `iconv -f cp1252 -t utf-8`)",
        line,
    )


def decode(data: bytes, source: Source) -> str | None:
    """Decode UTF-8 (a BOM is fine, as for Pelican) or report where the first bad byte is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        source.add(*_undecodable(data, exc), fatal=True)
        return None


def scan(full_path: Path) -> tuple:
    """What check_source reads of a file, whatever the settings: (text, undecodable, header).

    text is None when the file is not UTF-8 (undecodable then holds its problem);
    header is (meta, lines, written keys, whether the body is blank) for a
    Markdown file with text, else None. Plain data, so that plugins/fastbuild's
    read workers can scan each file they parse and send the scan back.
    """
    data = full_path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, _undecodable(data, exc), None
    if not text or text.isspace() or not full_path.name.endswith(MARKDOWN_EXTENSIONS):
        return text, None, None
    meta, where, body, written = parse_header(text)
    return text, None, (meta, where, written, not body.strip())


def check_source(
    full_path: Path,
    name: str,
    kind: str,
    allowed_keys: set[str],
    derived: dict,
    scanned: tuple | None = None,
) -> Source:
    """Check one source file; `kind` is "article" or "page", `derived` the metadata its path gives.

    `scanned` is what scan() returned for the file as it is on disk now (read here when None).
    """
    source = Source(name)
    text, undecodable, header = scanned if scanned is not None else scan(full_path)
    if text is None:
        source.add(*undecodable, fatal=True)
        return source
    source.text = text
    if not text or text.isspace():  # as `not text.strip()`, without copying the text
        source.add("the file is empty", "write the metadata (Title:, Date:) and the text, or delete the file", fatal=True)
        return source
    if header is None:
        return source  # other readers keep metadata differently; Pelican's own checks apply

    meta, where, written, blank_body = header
    source.meta, source.lines = meta, where
    for key, line in written:
        if key.lower() in allowed_keys:
            continue
        close = difflib.get_close_matches(key.lower(), sorted(allowed_keys), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0].capitalize()}:'?" if close else (
            "remove it, or add it to STRICT_EXTRA_METADATA_KEYS if a plugin reads it")
        source.add(f"unknown metadata key '{key}:'", hint, line)

    status = meta.get("status", "").strip()
    allowed_statuses = ARTICLE_STATUSES if kind == "article" else PAGE_STATUSES
    if "status" in meta and status not in allowed_statuses:
        close = difflib.get_close_matches(status.lower(), allowed_statuses, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        source.add(f"invalid Status '{status}'", f"{hint}use one of: {', '.join(allowed_statuses)}",
                   where["status"], fatal=True)

    if "title" not in meta and "title" not in derived:
        source.add("missing title", "add a line 'Title: ...' at the top of the file", 1, fatal=True)
    elif "title" in meta and not meta["title"]:
        source.add("empty title", "write the title after 'Title:'", where["title"], fatal=True)

    for key in ("date", "modified"):
        if key in meta:
            _check_date(source, key, meta[key], where[key])
    if kind == "article" and "date" not in meta and "date" not in derived:
        source.add("missing date", "add a line 'Date: YYYY-MM-DD HH:MM' at the top of the file", 1, fatal=True)

    if blank_body and status != "draft" and "template" not in meta:
        source.bodiless = True
        source.add("metadata but no body: the post would be published empty",
                   "write the text after a blank line below the metadata, or mark it 'Status: draft'",
                   len(text.rstrip("\n").split("\n")))
    return source


def _valid_date(text: str) -> bool:
    """Say whether Pelican can read this date (ISO dates are checked without dateutil, which is slow)."""
    from pelican.utils import get_date

    if ISO_DATE_RE.match(text):
        try:
            dt.datetime.fromisoformat(text)
            return True
        except ValueError:
            pass  # e.g. 2007-02-30: let Pelican's own parser have the last word
    try:
        get_date(text)
        return True
    except ValueError:
        return False


def _check_date(source: Source, key: str, value: str, line: int) -> None:
    label = key.capitalize()
    hint = f"write it as '{label}: YYYY-MM-DD' or '{label}: YYYY-MM-DD HH:MM', e.g. 2007-01-11 09:00"
    if not value:
        source.add(f"empty {label}", hint, line, fatal=True)
        return
    if not _valid_date(value.replace("_", " ")):
        source.add(f"malformed {label} '{value}': not a valid date", hint, line, fatal=True)
        return
    if not YEAR_RE.search(value):
        # dateutil would fill in the current year and quietly move the post.
        source.add(f"{label} '{value}' has no year", hint, line)
