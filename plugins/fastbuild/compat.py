"""Check, before a build, that each private Pelican internal the fast path relies on is as expected.

The fast path (read.py, write.py, render.py, memo.py, linear.py) is the only code of the
blog that touches Pelican's private internals (and two of Python-Markdown's). Each one it uses is listed
here with what it must look like (that it exists, its parameters, or, for a
module-level name replaced at run time, that the function still looks it up).
When any of them has changed, `problems()` says which, and plugins/fastbuild
leaves the build on Pelican's own serial path, which is always correct.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap


def _resolve(dotted: str):
    """Import 'package.module:Attr.attr' and return the object, or raise LookupError."""
    module_name, _, path = dotted.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"{module_name} cannot be imported ({exc})") from exc
    for part in path.split(".") if path else []:
        # Through __dict__ first: Content.get_content is a descriptor we must see as it is.
        owner = obj
        obj = vars(owner).get(part, _MISSING) if isinstance(owner, type) else _MISSING
        if obj is _MISSING:
            obj = getattr(owner, part, _MISSING)
        if obj is _MISSING:
            raise LookupError(f"{dotted} is missing")
    return obj


_MISSING = object()


def _parameters(func) -> list[str]:
    func = getattr(func, "func", func)  # pelican.utils.memoized keeps the function in .func
    return list(inspect.signature(func).parameters)


_DATES = "dates = [article for article in self.dates if article in articles]"

# What the fast path uses, and how (checked in this order; each entry says why it is needed).
# (dotted name, leading parameter names or None, text (or texts) its source must contain or None)
EXPECTED: tuple[tuple[str, tuple[str, ...] | None, str | tuple[str, ...] | None], ...] = (
    # write.py: Pelican's Writer records a page instead of rendering it, through these.
    ("pelican.writers:Writer._open_w", ("self", "filename", "encoding", "override"), "open("),
    ("pelican.writers:Writer.write_file", ("self", "name", "template", "context"), "_open_w"),
    ("pelican.writers:Writer.write_feed", ("self", "elements", "context", "path", "url", "feed_type",
                                            "override_output", "feed_title"), None),
    # render.py: each feed item worked out and written once per flush (feeds share most items).
    ("pelican.writers:Writer.write_feed", None, ("self._create_new_feed(", "self._add_item_to_the_feed(")),
    ("pelican.writers:Writer._create_new_feed", ("self", "feed_type", "feed_title", "context"), None),
    ("pelican.writers:Writer._add_item_to_the_feed", ("self", "feed", "item"), "feed.add_item("),
    ("pelican.writers:Writer.__init__", ("self", "output_path", "settings"), "_written_files"),
    ("pelican.writers:Writer.__init__", None, "_overridden_files"),
    ("pelican.writers:signals", None, None),
    ("pelican.log:FilteredMessage", None, None),
    ("pelican.utils:sanitised_join", None, None),
    # read.py: a worker's HTML and metadata turned into Pelican's objects as its reader does.
    ("pelican.readers:DUPLICATES_DEFINITIONS_ALLOWED", None, None),
    ("pelican.readers:MarkdownReader._parse_metadata", ("self", "meta"), "process_metadata"),
    ("pelican.readers:MarkdownReader.process_metadata", ("self", "name", "value"), None),
    ("pelican.readers:Readers.get_cached_data", None, None),
    ("pelican.readers:Readers.__init__", None, "reader_classes"),
    ("pelican.generators:Generator.get_files", ("self", "paths", "exclude"), None),
    # read.start_early lists the sources before any generator exists, with Pelican's own get_files
    # on a stand-in that has only what these read: path, settings, _include_path, readers.extensions.
    ("pelican.generators:Generator.get_files", None, ("self._include_path(", "self.path", 'self.settings["IGNORE_FILES"]')),
    ("pelican.generators:Generator._include_path", ("self", "path", "extensions"), "self.readers.extensions"),
    ("pelican.readers:MarkdownReader.file_extensions", None, None),
    ("pelican.readers:Readers.__init__", None, 'self.settings["READERS"]'),
    ("pelican.utils:pelican_open", None, None),
    ("markdown.extensions.codehilite:get_lexer_by_name", None, None),
    ("markdown.extensions.codehilite:get_formatter_by_name", None, None),
    # read.py: the workers' inline processor passes over a pattern that cannot match exactly as a failed
    # search does (same text, the next pattern, start index 0), in a copy of this loop.
    ("markdown.treeprocessors:InlineProcessor._InlineProcessor__handleInline", ("self", "data", "patternIndex"),
     ("self.__applyPattern(", "if not matched:", "patternIndex += 1")),
    ("markdown.treeprocessors:InlineProcessor._InlineProcessor__applyPattern",
     ("self", "pattern", "data", "patternIndex", "startIndex"), ("finditer(data, startIndex)", "return data, False, 0")),
    # memo.py: body reads made in Python (the feed writer) are tracked through these descriptors.
    ("pelican.contents:Content.get_content", ("self", "siteurl"), None),
    ("pelican.contents:Content.get_summary", ("self", "_siteurl"), None),
    # render.py: URLs computed once per object while pages are written.
    ("pelican.contents:Content.get_url_setting", ("self", "key"), None),
    ("pelican.urlwrappers:URLWrapper.url", None, None),
    ("pelican.urlwrappers:URLWrapper.save_as", None, None),
    ("pelican.urlwrappers:URLWrapper.page_name", None, None),
    # render.py: dates formatted once per date and format while pages are written (the module-level
    # function is replaced, so SafeDatetime.strftime must still look it up).
    ("pelican.utils:strftime", ("date", "date_format"), None),
    ("pelican.utils:SafeDatetime.strftime", ("self", "fmt"), "return strftime(self, fmt)"),
    # render.py: a static file is memoised only once referenced; until then an {attach} link may move it.
    ("pelican.contents:Static.attach_to", ("self", "content"), ("if self._output_location_referenced:", "self.override_save_as =")),
    ("pelican.contents:Static.__init__", None, "self._output_location_referenced = False"),
    ("jinja2.filters:sync_do_groupby", None, None),
    ("jinja2.filters:do_sort", None, None),
    ("jinja2.filters:do_striptags", None, None),
    # linear.py: Pelican's list-membership searches, handed an empty list and done in one pass instead.
    ("pelican.contents:Article.__eq__", None, None),
    ("pelican.generators:ArticlesGenerator._build_period_archives", ("self", "sorted_articles", "articles", "settings"),
     ('archive["articles"] = [a for a in articles if a in dates]', 'archive["dates"] = dates')),
    ("pelican.generators:ArticlesGenerator.generate_tags", ("self", "write"),
     ("for tag, articles in self.tags.items():", _DATES, "articles=articles", "dates=dates")),
    ("pelican.generators:ArticlesGenerator.generate_categories", ("self", "write"),
     ("for cat, articles in self.categories:", _DATES, "articles=articles", "dates=dates")),
    ("pelican.generators:ArticlesGenerator.generate_authors", ("self", "write"),
     ("for aut, articles in self.authors:", _DATES, "articles=articles", "dates=dates")),
)
# linear.py hands these methods an empty list in place of one name: it must be used once, in the search.
USED_ONCE = {
    "pelican.generators:ArticlesGenerator._build_period_archives": "articles",
    "pelican.generators:ArticlesGenerator.generate_tags": "self.dates",
    "pelican.generators:ArticlesGenerator.generate_categories": "self.dates",
    "pelican.generators:ArticlesGenerator.generate_authors": "self.dates",
}

_PROPERTIES = {"pelican.urlwrappers:URLWrapper.url", "pelican.urlwrappers:URLWrapper.save_as",
               "pelican.urlwrappers:URLWrapper.page_name"}
_DESCRIPTORS = {"pelican.contents:Content.get_content", "pelican.contents:Content.get_summary"}


def _uses(source: str, name: str) -> int:
    """How many times the function in source reads `name` ("articles" or "self.dates")."""
    owner, _, attribute = name.rpartition(".")
    count = 0
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if attribute and owner and isinstance(node, ast.Attribute):
            count += node.attr == attribute and isinstance(node.value, ast.Name) and node.value.id == owner
        elif not owner and isinstance(node, ast.Name):
            count += node.id == name
    return count


def problems() -> list[str]:
    """What is not as the fast path expects, one line each; empty when everything is."""
    found = []
    for dotted, parameters, source_text in EXPECTED:
        try:
            obj = _resolve(dotted)
            if dotted in _PROPERTIES and not (isinstance(obj, property) and obj.fget is not None):
                raise LookupError(f"{dotted} is no longer a property")
            if dotted in _DESCRIPTORS and not hasattr(obj, "__get__"):
                raise LookupError(f"{dotted} is no longer a method")
            if parameters is not None:
                actual = _parameters(obj)
                if actual[: len(parameters)] != list(parameters):
                    raise LookupError(f"{dotted} takes ({', '.join(actual)}), expected ({', '.join(parameters)}, ...)")
            if dotted.endswith(".__eq__") and obj is not object.__eq__:
                raise LookupError(f"{dotted.rpartition('.')[0]} no longer compares by identity")
            if source_text is not None:
                try:
                    source = inspect.getsource(getattr(obj, "func", obj))
                except (OSError, TypeError) as exc:
                    raise LookupError(f"{dotted}: its source cannot be read ({exc})") from exc
                for text in (source_text,) if isinstance(source_text, str) else source_text:
                    if text not in source:
                        raise LookupError(f"{dotted} no longer uses {text.rstrip('(')}")
                if dotted in USED_ONCE and _uses(source, USED_ONCE[dotted]) != 1:
                    raise LookupError(f"{dotted} uses {USED_ONCE[dotted]} elsewhere than in its search")
        except LookupError as exc:
            found.append(str(exc))
        except (TypeError, ValueError) as exc:  # a signature that cannot be read
            found.append(f"{dotted}: {exc}")
    return found
