"""The one way our plugins read their settings: a dict under one name, over the plugin's defaults."""

from __future__ import annotations


def with_defaults(settings: dict, name: str, defaults: dict, error: type[Exception] = ValueError) -> dict:
    """Return settings[name] laid over defaults; raise `error` naming any key the plugin does not know."""
    given = settings.get(name) or {}
    if not isinstance(given, dict):
        raise error(f"{name} must be a dict, not {type(given).__name__}")
    unknown = set(given) - set(defaults)
    if unknown:
        raise error(f"unknown {name} key(s) {sorted(unknown)} in the settings; known keys: {sorted(defaults)}")
    return {**defaults, **given}
