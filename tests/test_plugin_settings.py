"""Our plugins' settings: a bad key or value is one problem naming pelicanconf.py and the setting."""

from __future__ import annotations

import pytest

from blogkit.build import BuildError
from blogkit.plugin_settings import resolve, whole_number

# One misspelt key per plugin setting, and the setting each problem must name.
BAD_KEYS = {
    "SEARCH": ({"index": False, "indx": False}, "unknown SEARCH key(s) ['indx']"),
    "RELATED_POSTS": ({"maks": 3}, "unknown RELATED_POSTS key(s) ['maks']"),
    "READTIME": ({"wpm": 200}, "unknown READTIME key(s) ['wpm']"),
    "TOC": ({"min_heading": 2}, "unknown TOC key(s) ['min_heading']"),
    "ROBOTS": ({"sitemaps": "x.xml"}, "unknown ROBOTS key(s) ['sitemaps']"),
    "BLOGGER_REDIRECTS": ({"label": False}, "unknown BLOGGER_REDIRECTS key(s) ['label']"),
    "CSP": ({"enabled": True, "wasm": ["search.html"], "extr": {}}, "unknown CSP key(s) ['extr']"),
    "COMMENTS": ({"provider": None, "isso": {"ulr": "x"}}, "unknown COMMENTS['isso'] key(s) ['ulr']"),
    "FASTBUILD": ({"worker": 2}, "unknown FASTBUILD key(s) ['worker']"),
}
# Plugins whose settings are top-level keys under one prefix.
BAD_PREFIXED = {
    "STRICT_CHECK_IMAGE": "unknown STRICT_* setting(s) ['STRICT_CHECK_IMAGE']",
    "ASSETS_JSS": "unknown ASSETS_* setting(s) ['ASSETS_JSS']",
}


def test_a_bad_key_in_each_plugins_settings_is_one_problem_naming_the_setting(site):
    site.post("a")
    overrides = {name: given for name, (given, _) in BAD_KEYS.items()}
    overrides.update(dict.fromkeys(BAD_PREFIXED, True))
    with pytest.raises(BuildError) as failure:
        site.build(**overrides)
    problems = failure.value.problems
    for expected in [message for _, message in BAD_KEYS.values()] + list(BAD_PREFIXED.values()):
        found = [p for p in problems if expected in p.message]
        assert len(found) == 1, (expected, [str(p) for p in problems])
        assert found[0].path == "pelicanconf.py"
    assert len(problems) == len(BAD_KEYS) + len(BAD_PREFIXED), [str(p) for p in problems]


@pytest.mark.parametrize(("setting", "value", "expected"), [
    ("READTIME", {"words_per_minute": 0}, "READTIME['words_per_minute'] must be a whole number > 0, not 0"),
    ("RELATED_POSTS", {"max": -1}, "RELATED_POSTS['max'] must be a whole number >= 0, not -1"),
    ("ROBOTS", {"disallow": "/drafts/"}, "ROBOTS['disallow'] must be a list of paths, not '/drafts/'"),
    ("TOC", {"levels": ("2",)}, "TOC['levels'] must be a list of heading levels from 1 to 6"),
    ("BLOGGER_REDIRECTS", {"feed": "yes"}, "BLOGGER_REDIRECTS['feed'] must be True or False, not 'yes'"),
    ("STRICT_CHECK_IMAGES", "yes", "STRICT_CHECK_IMAGES must be True or False, not 'yes'"),
    ("FASTBUILD", {"workers": 0}, "FASTBUILD['workers'] must be None (one per CPU) or a whole number >= 1, not 0"),
    ("FASTBUILD", {"hot": "yes"}, "FASTBUILD['hot'] must be True or False, not 'yes'"),
    ("ASSETS_JS", "copy-code.js", "ASSETS_JS must be a list of file names in theme/static/js"),
])
def test_a_bad_value_is_a_problem_at_start_up_not_a_crash(site, setting, value, expected):
    site.post("a")
    with pytest.raises(BuildError) as failure:
        site.build(**{setting: value})
    [problem] = failure.value.problems
    assert problem.path == "pelicanconf.py" and expected in problem.message and problem.hint


def test_resolve_merges_over_the_defaults_and_keeps_them_for_what_is_wrong():
    defaults = {"max": 5, "nested": {"a": 1, "b": 2}, "free": {"x": 1}}
    given = {"max": -3, "nested": {"b": 3, "c": 4}, "free": {"y": 2}, "other": 1}
    merged, errors = resolve(given, "DEMO", defaults, {"max": (whole_number(0), "a whole number >= 0")},
                             open_keys=("free",))
    assert merged == {"max": 5, "nested": {"a": 1, "b": 3}, "free": {"x": 1, "y": 2}}
    assert errors == [
        "unknown DEMO key(s) ['other']; known keys: ['free', 'max', 'nested']",
        "unknown DEMO['nested'] key(s) ['c']; known keys: ['a', 'b']",
        "DEMO['max'] must be a whole number >= 0, not -3",
    ]
    assert resolve("oops", "DEMO", defaults)[1] == ["DEMO must be a dict, not str"]
    assert defaults["nested"] == {"a": 1, "b": 2}  # the defaults are never changed
