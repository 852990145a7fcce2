"""Keep template rendering linear in the number of posts.

A sidebar that groups all posts by year (`articles|groupby('date.year')`) is
evaluated on every page, so a site of N posts pays N x N attribute lookups:
at 1,000 posts that was most of the build. The grouping of one list never
changes while pages are written, so it is computed once per list and reused.
The memo holds the list itself (its id cannot be reused while it is held) and
its length (an in-place change in length invalidates it); small lists, which
are mostly per-page lists, are not memoised at all. `sort` of the list of
all tags (45 tags on 1,000 pages: 600,000 comparisons) is memoised the same way.

`striptags` (a regex pass, then unescaping) is asked of the same strings again
and again: the site's name twice on every page, a post's title on its own page,
its neighbours' and in related posts, its summary twice on its page (the meta
description and the SEO part). Its answer depends only on the text, so it is
kept per text for the environment's build.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import sys
import time

from jinja2 import FileSystemBytecodeCache, pass_environment
from jinja2.filters import do_sort, do_striptags, sync_do_groupby
from markupsafe import Markup

from . import memo as rendermemo

# Lists shorter than this are grouped directly: cheap, and mostly one page's own list.
MIN_MEMO_LENGTH = 64
MIN_MEMO_LENGTH_SORT = 16


def _memoised_list_filter(filter_function, min_length: int):
    """Wrap a Jinja list filter so each long list is computed once per environment.

    The memo keys on the list's id and the call's arguments, holds the list
    itself (so its id cannot be reused) and its length (an in-place change in
    length invalidates the entry), and hands out copies.
    """
    memo: dict = {}

    @pass_environment
    def memoised(env, value, *args, **kwargs):
        if not isinstance(value, list) or len(value) < min_length:
            return filter_function(env, value, *args, **kwargs)
        key = (id(value), repr(args), repr(sorted(kwargs.items())))
        hit = memo.get(key)
        if hit is not None and hit[0] is value and hit[1] == len(value):
            return list(hit[2])  # a copy: the caller may not change our memo
        result = filter_function(env, value, *args, **kwargs)
        memo[key] = (value, len(value), result)
        return list(result)

    return memoised


def _memoised_text_filter(filter_function):
    """Wrap a pure one-argument text filter so each distinct text is computed once (other values are passed on)."""
    memo: dict = {}

    def memoised(value):
        # Exactly str or Markup (a str subclass the filter reads as the same text): equal texts, equal answers.
        if type(value) is not str and type(value) is not Markup:
            return filter_function(value)
        hit = memo.get(value)
        if hit is None:
            hit = memo[value] = filter_function(value)
        return hit

    return memoised


def install(environment) -> None:
    """Use the memoised filters in this Jinja environment; templates do not change while it builds."""
    environment.filters["groupby"] = _memoised_list_filter(sync_do_groupby, MIN_MEMO_LENGTH)
    environment.filters["sort"] = _memoised_list_filter(do_sort, MIN_MEMO_LENGTH_SORT)
    if environment.filters.get("striptags") is do_striptags:  # not a JINJA_FILTERS replacement of it
        environment.filters["striptags"] = _memoised_text_filter(do_striptags)
    # Pelican's environment checks every template file's mtime on every include;
    # one build never sees a template change.
    environment.auto_reload = False


# --- URLs: computed once per content object while pages are written --------------------

_url_state: dict = {"original": None}


def start_url_memo() -> None:
    """Compute each content object's url and save_as once, from page_generator_finalized to the run's end.

    Pelican formats `article.url` from the settings and a copy of the metadata
    every time a template asks (an article's URL is asked for on its own page,
    its neighbours', every list and tag page and every feed it is in; the search
    plugin's list, strict's clash check and the sitemap ask again). Nothing
    changes a content object's URL once every content is read (our plugins set
    slugs at content_object_init), so the first answer is kept until
    `stop_url_memo()`. The same holds for tags,
    categories and authors (every page lists every tag's URL in the sidebar).

    Dates are formatted once per date and format in the same span (_memoised_strftime).
    """
    from pelican import utils
    from pelican.contents import Content
    from pelican.urlwrappers import URLWrapper

    if _url_state["original"] is not None:
        return
    _url_state["original"] = (Content.get_url_setting, URLWrapper.url, URLWrapper.save_as, URLWrapper.page_name)
    _url_state["strftime"] = utils.strftime
    utils.strftime = _memoised_strftime(utils.strftime)
    Content.get_url_setting = _memoised(Content.get_url_setting, _movable)
    # Pelican binds these properties to _from_settings with functools.partial.
    URLWrapper.url = property(_memoised(URLWrapper.url.fget))
    URLWrapper.save_as = property(_memoised(URLWrapper.save_as.fget))
    URLWrapper.page_name = property(_memoised(URLWrapper.page_name.fget))


def _movable(content) -> bool:
    """Whether Pelican may still move this content: a static file no link has referenced yet.

    An {attach} link (followed as a post's body or summary is rendered) moves such a file
    next to the post (Static.attach_to sets override_save_as and override_url); its answers
    are kept only once its url or save_as property has been read, after which Pelican no
    longer moves it. (strict reads a static's save_as without that property, on purpose.)
    """
    return getattr(content, "_output_location_referenced", True) is False


def _memoised(method, uncached=None):
    memo: dict = {}

    def memoised(self, *args):
        if uncached is not None and uncached(self):
            return method(self, *args)
        key = (id(self), args)
        hit = memo.get(key)
        if hit is not None and hit[0] is self:
            return hit[1]
        value = method(self, *args)
        memo[key] = (self, value)  # holding self keeps its id from being reused
        return value

    memoised.__wrapped__ = method
    return memoised


def _memoised_strftime(strftime):
    """Return Pelican's strftime answering each date and format once."""
    # pelican.utils.strftime is behind every date a template, a URL, a feed or the sitemap
    # formats: about 25 us a call (two regexes and a strftime per directive), some 16,000
    # calls while pages are written at 1,000 posts, for 6,400 answers. The answer depends on
    # the format and the date's type, value, time zone and fold (and on the locale, which
    # Pelican sets before any content is read), so those are the key; a date whose time zone
    # has no hash is formatted every time.
    formatted: dict = {}

    def memoised(date, date_format):
        key = (date_format, date.__class__, date, getattr(date, "tzinfo", None), getattr(date, "fold", 0))
        try:
            text = formatted.get(key)
        except TypeError:
            return strftime(date, date_format)
        if text is None:
            text = formatted[key] = strftime(date, date_format)
        return text

    memoised.__wrapped__ = strftime
    return memoised


def stop_url_memo() -> None:
    """Give Pelican back its own url computation and strftime."""
    from pelican import utils
    from pelican.contents import Content
    from pelican.urlwrappers import URLWrapper

    if _url_state["original"] is not None:
        (Content.get_url_setting, URLWrapper.url, URLWrapper.save_as, URLWrapper.page_name) = _url_state["original"]
        utils.strftime = _url_state.pop("strftime")
        _url_state["original"] = None


# --- Feeds: each item's XML written once per flush -------------------------------------


# What the last flush's feeds did: items whose XML was written, and copied from another feed.
feed_stats = {"written": 0, "reused": 0}


def new_feed_memo() -> dict:
    """An empty memo of feed items (one flush's) for memoise_feed_items; the counts start again."""
    feed_stats.update(written=0, reused=0)
    return {}


def add_feed_item(add_item_to_the_feed, writer, feed, item, memo: dict) -> None:
    """Pelican's `_add_item_to_the_feed(feed, item)`, worked out once per item, feed class and site URL.

    Its title, link, tag URI, dates and content are the same in every feed of
    one flush that carries the item; the values it hands feed.add_item are
    kept, and so are the bodies it read (the render memo credits them to each
    feed, as when Pelican reads them).
    """
    key = ("item", type(feed), id(item), writer.site_url)
    hit = memo.get(key)
    if hit is not None and hit[0] is item:
        rendermemo.note_reads(hit[2])
    else:
        calls: list = []
        feed.add_item = lambda *args, **kwargs: calls.append((args, kwargs))
        try:
            _, reads = rendermemo.capture_reads(lambda: add_item_to_the_feed(feed, item))
        finally:
            del feed.add_item
        hit = memo[key] = (item, calls, reads)  # holding the item keeps its id from being reused
    for args, kwargs in hit[1]:
        feed.add_item(*args, **kwargs)


_pure_classes: dict[type, bool] = {}  # feed class -> _pure_item_elements' answer, worked out once


def _pure_item_elements(cls) -> bool:
    """Whether cls.add_item_elements reads only its handler and item (not the feed's own values)."""
    if cls not in _pure_classes:
        import inspect

        try:
            source = inspect.getsource(cls.add_item_elements)
        except (OSError, TypeError):
            source = None
        # `self` once, as the parameter: the elements come from the item alone.
        _pure_classes[cls] = source is not None and len(re.findall(r"\bself\b", source)) == 1
    return _pure_classes[cls]


_PLAIN = (str, type(None), bool, int)


def _item_values(item: dict) -> tuple | None:
    """The item's values as a key, with their types (equal values of two types may be written apart).

    None unless every value is a string, number, date or a list of strings:
    anything else (e.g. an enclosure, an object compared by identity) could
    change or compare equal where its text differs.
    """
    values = []
    for name, value in item.items():
        kind = type(value)
        if kind is list or kind is tuple:
            if not all(type(part) is str for part in value):
                return None
            value = tuple(value)
        elif kind not in _PLAIN and not isinstance(value, datetime.datetime):  # Pelican's SafeDatetime too
            return None
        values.append((name, kind, value))
    return tuple(values)


def memoise_feed_items(feed, memo: dict) -> None:
    """Write each item of this feed once per `memo`, and copy it into every other feed that carries it.

    A post is in the site's feed and in the feeds of its category and of each
    of its tags (about 800 distinct items in the 2,040 of 102 feeds at 1,000
    posts), and feedgenerator escapes its whole content again for each. An
    item's elements are a function of the feed's class, the XML writer's
    state when they start and the item's values alone, so they are kept by
    exactly those. Anything else (an item whose values cannot be hashed, an
    Atom item with no date, which is dated now, a value other than a string,
    number, date or list of strings, a writer without the attributes used
    here) is written by feedgenerator as before.
    """
    if not _pure_item_elements(type(feed)):
        return
    plain = feed.add_item_elements  # bound to the feed: its class's own method

    def add_item_elements(handler, item):
        write = handler.__dict__.get("_write")
        pending = handler.__dict__.get("_pending_start_element")
        key = None
        if write is not None and pending is not None and (item.get("pubdate") or item.get("updateddate")):
            values = _item_values(item)
            if values is not None:
                key = (type(feed), type(handler), handler.__dict__.get("_short_empty_elements"), pending, values)
                hit = memo.get(key)
        if key is None:
            return plain(handler, item)
        if hit is not None:
            feed_stats["reused"] += 1
        else:
            feed_stats["written"] += 1
            parts: list[str] = []
            handler._write = parts.append
            try:
                plain(handler, item)
            finally:
                handler._write = write
            hit = memo[key] = ("".join(parts), handler._pending_start_element)
        write(hit[0])
        handler._pending_start_element = hit[1]

    feed.add_item_elements = add_item_elements


# --- Compiled templates kept from one build to the next -------------------------------

# Environment options the compiler reads: templates compiled under other values differ.
_COMPILE_OPTIONS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
                    "is_async")


def _code_name(value) -> str:
    """A function's or class's name where it is defined (what a compiled template may have depended on)."""
    value = getattr(value, "func", value)  # functools.partial, pelican's memoized
    return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__qualname__)}"


def environment_digest(environment, code: str) -> str:
    """Digest of what compiling a template of this environment depends on besides the template's own source.

    `code` is memo.code_digest: the theme, our plugins (the `{% sitewide %}`
    extension's parse among them), blogkit, the files of the settings' Jinja
    filters, tests and globals, and the library versions. Added here: the
    compiler's options, the extensions, the finalize function, and each
    filter's and test's name, kind of first argument and code name (the
    compiler checks them, and the optimizer may call a filter on constants).
    Autoescape, when a function, is asked for each template name.
    """
    from jinja2.utils import _PassArg

    parts = [code, sys.version, repr([getattr(environment, name, None) for name in _COMPILE_OPTIONS])]
    parts.append(repr(sorted((name, _code_name(type(ext))) for name, ext in environment.extensions.items())))
    for kind in ("filters", "tests"):
        functions = getattr(environment, kind)
        parts.append(repr(sorted((name, str(_PassArg.from_obj(f)), _code_name(f)) for name, f in functions.items())))
    finalize = environment.finalize
    parts.append("" if finalize is None else f"{_PassArg.from_obj(finalize)}:{_code_name(finalize)}")
    autoescape = environment.autoescape
    if callable(autoescape):
        parts.append(repr([(name, bool(autoescape(name))) for name in environment.list_templates()]))
    else:
        parts.append(repr(autoescape))
    parts.append(_code_name(environment.code_generator_class))
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def default_bytecode_folder() -> str:
    """Where compiled templates are kept for the user: $XDG_CACHE_HOME/blogkit/jinja (~/.cache by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "blogkit", "jinja")


class KeptBytecode(FileSystemBytecodeCache):
    """Jinja's file bytecode cache, named by everything the compiled code depends on, kept outside CACHE_PATH.

    Jinja's own cache names a template's bytecode by its name and file and
    checks its source; it does not see a change in an extension (our
    `{% sitewide %}` tag compiles to code of its own), a filter, the
    compiler's options or the library. Each file here is named by
    environment_digest too, so a build whose code differs compiles afresh,
    and the cache lives beside the user's other caches, so a cold build
    (no CACHE_PATH) does not compile the theme again (about 0.3 CPU-s at
    1,000 posts, in both rendering processes for the templates each meets
    first). Files of other digests older than a day are removed after a
    build had to compile. A folder that cannot be written is no error: the
    templates are compiled, as without a cache.
    """

    def __init__(self, directory: str, code: str):
        super().__init__(directory, "%s.cache")
        self.code = code
        self.pruned = False

    def _get_cache_filename(self, bucket) -> str:
        digest = environment_digest(bucket.environment, self.code)
        return os.path.join(self.directory, f"{digest}-{bucket.key}.cache")

    def _usable(self, bucket) -> bool:
        try:
            self._get_cache_filename(bucket)
        except Exception:  # e.g. a Jinja without _PassArg: compile, keep nothing
            return False
        return True

    def load_bytecode(self, bucket) -> None:
        if not self._usable(bucket):
            return
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket) -> None:
        if not self._usable(bucket):
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            return
        if not self.pruned:
            self.pruned = True
            self._prune(os.path.basename(self._get_cache_filename(bucket)).partition("-")[0])

    def _prune(self, current: str) -> None:
        old = time.time() - 86400
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if not entry.name.startswith(current + "-") and entry.stat().st_mtime < old:
                        os.unlink(entry.path)
        except OSError:
            pass


def bytecode_cache(settings: dict, directory: str | None = None) -> KeptBytecode:
    """The bytecode cache for a build with these settings (memo.code_digest of them, computed now)."""
    return KeptBytecode(directory or default_bytecode_folder(), rendermemo.code_digest(settings))
