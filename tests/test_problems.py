"""blogkit.problems as a plugin uses it: problems fail the build, notices reach its output once."""

from __future__ import annotations

import sys
import textwrap

from blogkit.build import load_settings

NOTE = "noting: a note from a plugin with no logger of its own"


def test_a_notice_without_a_logger_of_its_own_is_shown_once(site, tmp_path, monkeypatch):
    """notice(text) alone, twice, from a plugin that sets no log level: one note in the build's result."""
    (tmp_path / "noting.py").write_text(textwrap.dedent(f"""
        from pelican import signals
        from blogkit.problems import notice

        def _note(pelican):
            notice({NOTE!r})
            notice({NOTE!r})

        def register():
            signals.initialized.connect(_note)
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "noting", raising=False)
    site.post("a")
    result = site.build(PLUGINS=[*load_settings()["PLUGINS"], "noting"])
    assert result.notices == [NOTE]
