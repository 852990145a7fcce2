"""The one way our plugins read their settings: a dict under one name, over the plugin's defaults.

A foundation module: it imports only blogkit.problems, so any plugin can use it.
Each plugin keeps its defaults in one DEFAULTS dict and reads its setting with

    config = with_defaults(settings, "READTIME", DEFAULTS,
                           {"words_per_minute": (positive_int, "a whole number > 0")})

An unknown key or a bad value is reported as a problem naming pelicanconf.py
and the setting (the build then fails listing it), never raised from a signal
handler and never merged in silently; the plugin goes on with its default, so
the author sees every problem of the run at once. A plugin calls it from
Pelican's `initialized` signal, so the problems come at start-up; later calls
report the same problems again, which the build reads once.
"""

from __future__ import annotations

from collections.abc import Callable

from blogkit.problems import report

SETTINGS_FILE = "pelicanconf.py"

# key -> (test the value passes, what it must be, e.g. "a whole number > 0")
Checks = dict[str, tuple[Callable[[object], bool], str]]


def resolve(given, name: str, defaults: dict, checks: Checks | None = None,
            open_keys: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """Lay `given` over defaults; return the result and what is wrong with `given`, one sentence each.

    A key whose default is a dict takes a dict merged over that default in turn
    (its own unknown keys are errors too, unless its name is in `open_keys`, a
    dict of free-form options such as COMMENTS["isso"]["options"]).
    """
    errors: list[str] = []
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return _copy(defaults), [f"{name} must be a dict, not {type(given).__name__}"]
    merged = _copy(defaults)
    unknown = sorted(set(given) - set(defaults), key=str)
    if unknown:
        errors.append(f"unknown {name} key(s) {unknown}; known keys: {sorted(defaults)}")
    for key, value in given.items():
        if key not in defaults:
            continue
        default = defaults[key]
        inner = f"{name}[{key!r}]"
        if isinstance(default, dict) and default and isinstance(value, dict):
            if inner in open_keys or key in open_keys:
                merged[key] = {**default, **value}
            else:
                merged[key], more = resolve(value, inner, default, None, tuple(
                    k.removeprefix(f"{key}.") for k in open_keys if k.startswith(f"{key}.")))
                errors += more
        else:
            merged[key] = value
    for key, (test, what) in (checks or {}).items():
        if key in given and key in defaults and not test(merged[key]):
            errors.append(f"{name}[{key!r}] must be {what}, not {merged[key]!r}")
            merged[key] = _copy(defaults[key])
    return merged, errors


def with_defaults(settings: dict, name: str, defaults: dict, checks: Checks | None = None,
                  open_keys: tuple[str, ...] = ()) -> dict:
    """Return settings[name] laid over defaults; report each unknown key or bad value as a problem."""
    merged, errors = resolve(settings.get(name), name, defaults, checks, open_keys)
    for error in errors:
        report(SETTINGS_FILE, error, f"fix {name} in the settings (see the plugin's docstring for what it takes)")
    return merged


def prefixed(settings: dict, prefix: str, defaults: dict, checks: Checks | None = None,
             produced: tuple[str, ...] = ()) -> dict:
    """Return the top-level settings named in defaults (e.g. ASSETS_JS), each over its default; report the rest.

    Any other setting starting with `prefix` is reported as unknown, except
    those the plugin itself sets for the templates (`produced`).
    """
    unknown = sorted(k for k in settings if isinstance(k, str) and k.startswith(prefix)
                     and k not in defaults and k not in produced)
    if unknown:
        report(SETTINGS_FILE, f"unknown {prefix}* setting(s) {unknown}; known: {sorted(defaults)}",
               "fix or remove it in the settings")
    merged = {key: settings.get(key, _copy(default)) for key, default in defaults.items()}
    for key, (test, what) in (checks or {}).items():
        if key in settings and not test(merged[key]):
            report(SETTINGS_FILE, f"{key} must be {what}, not {merged[key]!r}", f"fix {key} in the settings")
            merged[key] = _copy(defaults[key])
    return merged


def whole_number(minimum: int = 0) -> Callable[[object], bool]:
    """A check: an int (not a bool) of at least `minimum`."""
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def one_of(*choices) -> Callable[[object], bool]:
    """A check: one of these values (compared by ==, so True is not 1 here)."""
    return lambda value: any(value == c and type(value) is type(c) for c in choices)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
