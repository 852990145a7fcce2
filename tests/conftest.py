"""Shared fixtures: real Pelican builds of the real content and of small fixture sites."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from blogkit.build import ROOT, build


class Site:
    """A small site of our own making, built with the real settings and theme."""

    def __init__(self, base: Path):
        self.base = base
        self.content = base / "content"
        self.output = base / "output"
        (self.content / "posts").mkdir(parents=True)
        (self.content / "pages").mkdir(parents=True)

    def write(self, relpath: str, text: str | bytes) -> Path:
        """Write a source file under content/ (text is dedented)."""
        path = self.content / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def post(self, slug: str, title: str = "A post", date: str = "2020-05-04 10:00", body: str = "Body text.", **meta) -> Path:
        """Write a Markdown post with the usual metadata."""
        lines = [f"Title: {title}", f"Date: {date}", f"Slug: {slug}"]
        lines += [f"{key.capitalize()}: {value}" for key, value in meta.items()]
        return self.write(f"posts/{slug}.md", "\n".join(lines) + "\n\n" + body + "\n")

    def overrides(self, **extra) -> dict:
        """Settings that point the real configuration at this site."""
        return {"PATH": str(self.content), "CACHE_PATH": str(self.base / "cache"), **extra}

    def build(self, settings_file: Path = ROOT / "pelicanconf.py", **extra):
        """Build strictly into self.output."""
        return build(settings_file, self.output, self.overrides(**extra))

    def read(self, relpath: str) -> str:
        """Read a file the build wrote."""
        return (self.output / relpath).read_text(encoding="utf-8")


@pytest.fixture
def site(tmp_path) -> Site:
    """An empty fixture site in a temporary folder."""
    return Site(tmp_path)


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """The real content/ built with the real settings into a temporary folder."""
    base = tmp_path_factory.mktemp("real")
    build(ROOT / "pelicanconf.py", base / "output", {"CACHE_PATH": str(base / "cache")})
    return base / "output"
