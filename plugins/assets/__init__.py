"""Bundle the theme's CSS and JavaScript into one file each, with Pygments colours generated at build.

Ours rather than a PyPI plugin: pelican-webassets needs webassets plus a filter
chain and still leaves the Pygments stylesheet to be hand-copied; what we need
is small and specific: every ``theme/static/css/*.css`` in a fixed order (tokens
first, print last) plus Pygments rules generated from two *named* styles (light,
and dark scoped to the same conditions as the dark design tokens), minified by
rcssmin, checked for WCAG contrast, and named by content hash so the templates
can link it before it is written. The JavaScript bundle is minified by rjsmin (the
same author's JS minifier): the sources' comments are a third of their bytes, and
the article's budget is 15 KB gzipped.

The bundle is computed when Pelican starts (``initialized``), so its hashed URL
is in the template context as ``ASSETS_CSS_URL`` / ``ASSETS_JS_URL``; it is
written on ``finalized`` into ``pelican.output_path`` (the staging folder of a
strict build), where the separate source files it replaces are removed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import rcssmin
import rjsmin
from pelican import signals
from pygments.styles import get_all_styles, get_style_by_name
from pygments.token import STANDARD_TYPES, Text, Whitespace
from pygments.util import ClassNotFound

from blogkit.plugin_settings import prefixed
from blogkit.problems import report

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Named Pygments styles; both must keep every token at >= 4.5:1 on their background.
    "ASSETS_PYGMENTS_LIGHT": "default",
    "ASSETS_PYGMENTS_DARK": "github-dark",
    # Theme JavaScript features bundled into one deferred file; drop a name to switch it off.
    "ASSETS_JS": ["theme-toggle.js", "copy-code.js"],
    # Files placed first and last in the CSS bundle; the rest go in between by name.
    "ASSETS_CSS_FIRST": "tokens.css",
    "ASSETS_CSS_LAST": "print.css",
    # WCAG 2.2 AA for normal text.
    "ASSETS_MIN_CONTRAST": 4.5,
}

# Dark rules apply under the same conditions as the dark design tokens in tokens.css.
DARK_SCOPES = (
    ('@media screen and (prefers-color-scheme: dark)', ':root:not([data-theme="light"]) .highlight'),
    ("@media screen", ':root[data-theme="dark"] .highlight'),
)

_bundles: dict[int, dict] = {}


class AssetsError(Exception):
    """A setting or theme file the assets plugin cannot work with."""


CHECKS = {
    "ASSETS_JS": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v),
                  "a list of file names in theme/static/js"),
    "ASSETS_CSS_FIRST": (lambda v: isinstance(v, str), "a file name in theme/static/css"),
    "ASSETS_CSS_LAST": (lambda v: isinstance(v, str), "a file name in theme/static/css"),
    "ASSETS_MIN_CONTRAST": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1,
                            "a contrast ratio such as 4.5"),
}
# What the plugin sets for the templates, not what a site sets.
PRODUCED = ("ASSETS_CSS_URL", "ASSETS_JS_URL")


def apply_defaults(settings: dict) -> None:
    """Fill in every ASSETS_* setting the site did not set; report unknown or bad ones."""
    settings.update(prefixed(settings, "ASSETS_", DEFAULTS, CHECKS, produced=PRODUCED))


# --- Pygments colours ----------------------------------------------------------------


def load_style(setting: str, name: str):
    """Return the Pygments style class called `name`, or explain which names exist."""
    try:
        return get_style_by_name(name)
    except ClassNotFound:
        raise AssetsError(
            f"{setting} = {name!r} is not a Pygments style; choose one of: {', '.join(sorted(get_all_styles()))}"
        ) from None


def _declarations(style_def: dict) -> dict[str, str]:
    """CSS properties for one resolved Pygments token style (only what it sets)."""
    props = {}
    if style_def["color"]:
        props["color"] = "#" + style_def["color"]
    if style_def["bgcolor"]:
        props["background-color"] = "#" + style_def["bgcolor"]
    if style_def["bold"]:
        props["font-weight"] = "bold"
    if style_def["italic"]:
        props["font-style"] = "italic"
    if style_def["underline"]:
        props["text-decoration"] = "underline"
    if style_def["border"]:
        props["border"] = "1px solid #" + style_def["border"]
    return props


# What a property falls back to when the dark style does not set what the light one did.
_RESET = {
    "color": "inherit", "background-color": "transparent", "font-weight": "normal",
    "font-style": "normal", "text-decoration": "none", "border": "0",
}


def _token_props(style) -> dict[str, dict[str, str]]:
    """Map each Pygments CSS class to the properties `style` gives it."""
    classes = {}
    for ttype, cls in STANDARD_TYPES.items():
        if cls:
            classes[cls] = _declarations(style.style_for_token(ttype))
    return classes


def _block_props(style) -> dict[str, str]:
    text = style.style_for_token(Text)
    return {
        "background-color": style.background_color or "transparent",
        "color": "#" + text["color"] if text["color"] else "inherit",
    }


def _rules(selector: str, props: dict[str, str]) -> str:
    body = ";".join(f"{name}:{value}" for name, value in props.items())
    return f"{selector}{{{body}}}\n" if body else ""


def pygments_css(light, dark) -> str:
    """CSS for highlighted code: `light` everywhere, `dark` overriding only what differs."""
    light_tokens, dark_tokens = _token_props(light), _token_props(dark)
    out = ["/* Pygments: generated at build from the styles named in ASSETS_PYGMENTS_LIGHT/DARK. */\n"]
    out.append(_rules(".highlight", _block_props(light)))
    out.append(_rules(".highlight .hll", {"background-color": light.highlight_color}))
    for cls, props in light_tokens.items():
        out.append(_rules(f".highlight .{cls}", props))

    dark_block = _rules("{scope}", _block_props(dark))
    dark_block += _rules("{scope} .hll", {"background-color": dark.highlight_color})
    for cls, props in dark_tokens.items():
        before = light_tokens[cls]
        diff = {name: value for name, value in props.items() if before.get(name) != value}
        diff.update({name: _RESET[name] for name in before if name not in props})
        dark_block += _rules(f"{{scope}} .{cls}", diff)
    for media, scope in DARK_SCOPES:
        out.append(media + "{\n" + dark_block.replace("{scope}", scope) + "}\n")
    return "".join(out)


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two hex colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def low_contrast_tokens(style, minimum: float) -> list[tuple[str, str, float]]:
    """Tokens of `style` whose colour is below `minimum` contrast on their background."""
    background = style.background_color or "#ffffff"
    failing = []
    for ttype, definition in style:
        # Whitespace spans hold no glyphs (Pygments' visible-whitespace filter is off).
        if ttype in Whitespace or not definition["color"]:
            continue
        ratio = contrast(definition["color"], definition["bgcolor"] or background)
        if ratio < minimum:
            failing.append((str(ttype), "#" + definition["color"], round(ratio, 2)))
    return failing


# --- The bundles ---------------------------------------------------------------------


def css_sources(css_dir: Path, first: str, last: str) -> list[Path]:
    """The theme's CSS files in bundle order: `first`, the rest by name, `last`."""
    files = sorted(css_dir.glob("*.css"))
    if not any(f.name == first for f in files):
        raise AssetsError(f"{css_dir / first} is missing: the design tokens must come first in the CSS bundle")
    head = [f for f in files if f.name == first]
    tail = [f for f in files if f.name == last]
    return head + [f for f in files if f not in head and f not in tail] + tail


def build_css(settings: dict) -> tuple[str, list[Path]]:
    """Return the minified CSS bundle and the source files it holds."""
    light = load_style("ASSETS_PYGMENTS_LIGHT", settings["ASSETS_PYGMENTS_LIGHT"])
    dark = load_style("ASSETS_PYGMENTS_DARK", settings["ASSETS_PYGMENTS_DARK"])
    for setting, style in (("ASSETS_PYGMENTS_LIGHT", light), ("ASSETS_PYGMENTS_DARK", dark)):
        failing = low_contrast_tokens(style, settings["ASSETS_MIN_CONTRAST"])
        if failing:
            shown = ", ".join(f"{token} {colour} ({ratio}:1)" for token, colour, ratio in failing[:5])
            raise AssetsError(
                f"{setting} = {settings[setting]!r} has {len(failing)} token colour(s) below "
                f"{settings['ASSETS_MIN_CONTRAST']}:1 contrast: {shown}; choose another style "
                f"(e.g. 'default' for light, 'github-dark' for dark)"
            )
    sources = css_sources(Path(settings["THEME"]) / "static" / "css", settings["ASSETS_CSS_FIRST"], settings["ASSETS_CSS_LAST"])
    parts = [sources[0].read_text(encoding="utf-8"), pygments_css(light, dark)]
    parts += [f.read_text(encoding="utf-8") for f in sources[1:]]
    return rcssmin.cssmin("\n".join(parts)), sources


def build_js(settings: dict) -> tuple[str, list[Path]]:
    """Return the JavaScript bundle (the enabled features, in order) and its source files."""
    js_dir = Path(settings["THEME"]) / "static" / "js"
    sources = []
    for name in settings["ASSETS_JS"]:
        path = js_dir / name
        if not path.is_file():
            raise AssetsError(f"ASSETS_JS names {name!r}, but {path} does not exist")
        sources.append(path)
    # Each feature file is a self-contained IIFE, so joining them is safe (one per line: a
    # file ending without a semicolon cannot run into the next); rjsmin drops comments and
    # spaces, gzip does the rest.
    return "\n".join(rjsmin.jsmin(p.read_text(encoding="utf-8")).strip() for p in sources) + "\n", sources


def _hashed(prefix: str, text: str, ext: str) -> str:
    return f"{prefix}.{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}.{ext}"


def _report(error: AssetsError) -> None:
    report("pelicanconf.py", f"assets: {error}", "fix the ASSETS_* settings or the theme file named", log=logger)


def prepare(pelican) -> None:
    """Compute both bundles and put their hashed URLs into the settings the templates see."""
    settings = pelican.settings
    apply_defaults(settings)
    static_dir = settings.get("THEME_STATIC_DIR", "theme")
    try:
        css, css_sources_ = build_css(settings)
        js, js_sources = build_js(settings)
    except AssetsError as error:
        _report(error)
        settings["ASSETS_CSS_URL"] = settings["ASSETS_JS_URL"] = ""
        return
    settings["ASSETS_CSS_URL"] = f"{static_dir}/css/{_hashed('site', css, 'css')}"
    settings["ASSETS_JS_URL"] = f"{static_dir}/js/{_hashed('site', js, 'js')}" if js_sources else ""
    _bundles[id(pelican)] = {
        "files": {settings["ASSETS_CSS_URL"]: css, settings["ASSETS_JS_URL"]: js},
        "replaced": [f"{static_dir}/css/{p.name}" for p in css_sources_] + [f"{static_dir}/js/{p.name}" for p in js_sources],
    }


def write(pelican) -> None:
    """Write the bundles into the output folder and drop the copies of the files they replace."""
    bundle = _bundles.pop(id(pelican), None)
    if bundle is None:
        return
    output = Path(pelican.output_path)
    for relpath, text in bundle["files"].items():
        if relpath:
            target = output / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    for relpath in bundle["replaced"]:
        (output / relpath).unlink(missing_ok=True)


def register():
    signals.initialized.connect(prepare)
    signals.finalized.connect(write)
