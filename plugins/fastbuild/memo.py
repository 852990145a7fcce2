"""Render only the pages whose inputs changed since the last build.

A page of this blog depends on many posts: its own post, the sidebar (every
post's date, title and labels), its neighbours, related posts, and on listing
pages and feeds the summaries and bodies of the posts it lists. So "the page
of the post that changed" is not enough; this module tracks what each page
really read.

Every input of a page falls in one of two kinds:

- **The site's structure**: settings, theme, our code, and every content
  object's state except its body (title, date, labels, URL, comments, related
  posts, ...) and every other value in Pelican's context. It is hashed as a
  whole at each build (`structure_digest`). When it changes, every page is
  rendered again: any page may show any of it.
- **Bodies**: a content object's `_content` and what is derived from it
  (`BODY_ATTRIBUTES`). They are left out of the structure hash. Instead, while
  a page is rendered, every read of a body attribute (through Jinja, or
  through `Content.get_content` / `get_summary` in Python, as the feed writer
  does) is recorded against the page, with a digest of that body.

A page is reused from the previous build when the structure digest is the
same, each body it read digests the same, and its file in the previous output
is still the one that build wrote (same size and mtime). Reusing means hard
linking the previous file, so a reused page is the final file, after every
post-processor (`was_reused` tells them to leave it alone).

Only builds that may load the content cache use the memo (`LOAD_CONTENT_CACHE`),
so a production build (publishconf.py) always renders everything.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import inspect
import logging
import os
import pickle
import types
from pathlib import Path

from blogkit import runhooks

logger = logging.getLogger(__name__)

VERSION = 1
MEMO_FILE = "render-memo.pickle"

# A content object's body and what plugins derive from it: left out of the
# structure digest, tracked per page instead. Reading any name in BODY_READS
# counts as reading the body.
#
# The summary: Pelican 4.12 keeps none of its own on the object (get_summary
# cuts the content when asked, memoised); a summary that is set lives in
# metadata["summary"], written by the author (Summary:) or, for a long post
# without one, by plugins/summaries from the body. `_summary` is only Pelican's
# copy of that metadata value (made in Content.__init__ and
# refresh_metadata_intersite_links), so the two go together as body.
BODY_ATTRIBUTES = ("_content", "_summary", "reading_time", "toc")
BODY_METADATA = ("summary",)
# "metadata": a template reading it may read the summary.
BODY_READS = frozenset(BODY_ATTRIBUTES + ("content", "summary", "get_content", "get_summary", "_get_summary",
                                          "metadata"))
# Context values Pelican builds from a set of file names: hashed in sorted order.
UNORDERED = frozenset({"static_links", "generated_content", "static_content"})
# Not part of a content object's own state: the settings (in the cache path's
# fingerprint) and the context (hashed once, as a whole).
NOT_STATE = frozenset(BODY_ATTRIBUTES + ("settings", "_context"))
# Settings that say where a run writes (the staging folder, the cache of these settings), not what.
WHERE = frozenset({"OUTPUT_PATH", "CACHE_PATH", "DELETE_OUTPUT_DIRECTORY", "OUTPUT_RETENTION"})


# --- what a page reads ------------------------------------------------------------------

_reading: set | None = None  # source paths of the bodies the page being rendered has read


def _note(obj) -> None:
    if _reading is not None:
        source = getattr(obj, "source_path", None)
        if source:
            _reading.add(source)


def track_environment(environment) -> None:
    """Record body reads made by templates of this Jinja environment."""
    if getattr(environment, "_body_tracking", False):
        return
    plain_getattr, plain_getitem = environment.getattr, environment.getitem

    def tracked_getattr(obj, attribute):
        if attribute in BODY_READS:
            _note(obj)
        return plain_getattr(obj, attribute)

    def tracked_getitem(obj, argument):
        if argument.__class__ is str and argument in BODY_READS:
            _note(obj)
        return plain_getitem(obj, argument)

    environment.getattr, environment.getitem = tracked_getattr, tracked_getitem
    environment._body_tracking = True


_patched: dict = {}


def track_content_methods() -> None:
    """Record body reads made in Python (the feed writer calls get_content and summary)."""
    from pelican.contents import Content

    if _patched:
        return
    for name in ("get_content", "get_summary"):
        plain = Content.__dict__[name]  # Pelican's memoized descriptor, not a plain function

        def tracked(self, *args, _plain=plain, **kwargs):
            _note(self)
            return _plain.__get__(self, type(self))(*args, **kwargs)

        _patched[name] = plain
        setattr(Content, name, tracked)


def untrack_content_methods() -> None:
    """Give Pelican's Content its own methods back."""
    from pelican.contents import Content

    for name, plain in _patched.items():
        setattr(Content, name, plain)
    _patched.clear()


def render_tracked(render) -> set:
    """Run render() and return the source paths of the bodies it read."""
    global _reading
    _reading = set()
    try:
        render()
        return _reading
    finally:
        _reading = None


def capture_reads(render):
    """Run render() and return (its result, the bodies it read); they count for the page too."""
    global _reading
    outer, _reading = _reading, set()
    try:
        result = render()
        reads = frozenset(_reading)
    finally:
        _reading = outer
    note_reads(reads)
    return result, reads


def note_reads(reads) -> None:
    """Credit bodies read elsewhere (a part rendered once for every page) to the page being rendered."""
    if _reading is not None:
        _reading.update(reads)


# --- digests ----------------------------------------------------------------------------


def body_digest(obj) -> str:
    """Digest of a content object's body and what is derived from it."""
    h = hashlib.blake2b(digest_size=16)
    metadata = getattr(obj, "metadata", None) or {}
    values = [getattr(obj, name, None) for name in BODY_ATTRIBUTES] + [metadata.get(key) for key in BODY_METADATA]
    for value in values:
        h.update((value if value.__class__ is str else repr(value)).encode("utf-8", "surrogatepass") + b"\x1f")
    return h.hexdigest()


class _Bodies:
    """Body digests by source path, computed when first asked for."""

    def __init__(self, context: dict):
        contents = context.get("generated_content", {}).values()
        self.objects = {getattr(obj, "source_path", None): obj for obj in contents}
        self.digests: dict[str, str | None] = {}

    def get(self, source: str, default: str | None = None) -> str | None:
        if source not in self.digests:
            obj = self.objects.get(source)
            self.digests[source] = body_digest(obj) if obj is not None else None
        found = self.digests[source]
        return default if found is None else found


_SCALARS = frozenset({type(None), bool, int, float, str})
_ROUTINES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType)


class _Structure:
    """Hash everything a page may read except bodies; note values it cannot hash stably."""

    def __init__(self):
        from pelican.contents import Content
        from pelican.urlwrappers import URLWrapper

        self.content_type = Content
        self.wrapper_type = URLWrapper
        self.tokens: list[str] = []
        self.contents: dict[int, object] = {}
        self.unstable: list[str] = []
        self.objects: dict[int, int] = {}  # id -> number: an object met again is named, not walked again

    def walk(self, value) -> None:
        out = self.tokens.append
        kind = value.__class__
        if kind in _SCALARS:
            out(repr(value))
        elif kind is list or kind is tuple:
            out(f"[{len(value)}" if kind is list else f"({len(value)}")
            for item in value:
                self.walk(item)
            out("]")
        elif isinstance(value, self.content_type):
            # A reference: the object's own state is hashed once, in digest().
            self.contents.setdefault(id(value), value)
            out(f"C:{value.source_path}")
        elif kind is dict:
            out(f"{{{len(value)}")
            for key, item in value.items():  # insertion order: templates iterate in it
                self.walk(key)
                self.walk(item)
            out("}")
        elif isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            out(f"D:{value.isoformat()}:{getattr(value, 'tzinfo', None)}")
        elif isinstance(value, (set, frozenset)):
            inner = _Structure()
            inner.objects = self.objects
            parts = []
            for item in value:
                inner.tokens = []
                inner.walk(item)
                parts.append("\x1e".join(inner.tokens))
            self.contents.update(inner.contents)
            self.unstable += inner.unstable
            out(f"<{len(value)}:" + "\x1d".join(sorted(parts)) + ">")
        elif isinstance(value, (bytes, bytearray)):
            out("B:" + hashlib.blake2b(value, digest_size=16).hexdigest())
        elif isinstance(value, _ROUTINES):
            out(f"F:{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', getattr(value, '__name__', ''))}")
        elif isinstance(value, Path):
            out(f"P:{value}")
        elif hasattr(value, "__dict__") or dataclasses.is_dataclass(value):
            number = self.objects.get(id(value))
            if number is not None:
                out(f"#{number}")
                return
            self.objects[id(value)] = len(self.objects)
            out(f"O:{kind.__module__}.{kind.__qualname__}(")
            state = vars(value) if hasattr(value, "__dict__") else {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            if isinstance(value, self.wrapper_type):
                state = _wrapper_state(state)
            for name, item in state.items():
                if name != "settings":
                    out(name)
                    self.walk(item)
            if isinstance(value, (list, tuple, dict)):  # a subclass with attributes of its own
                self.walk(dict(value) if isinstance(value, dict) else list(value))
            out(")")
        elif isinstance(value, (list, tuple, dict)):  # subclasses without attributes
            self.walk(dict(value) if isinstance(value, dict) else list(value))
        else:
            text = repr(value)
            if " at 0x" in text:
                self.unstable.append(kind.__qualname__)
            out(f"R:{kind.__qualname__}:{text}")

    def digest(self, context: dict) -> str:
        skip = WHERE | UNORDERED
        self.walk({key: value for key, value in context.items() if key not in skip})
        # Pelican fills these from a set of file names, so their order changes from one
        # process to the next; templates do not iterate them.
        for key in sorted(UNORDERED & set(context)):
            self.walk(key)
            value = context[key]
            self.walk(sorted(value.items()) if isinstance(value, dict) else sorted(value))
        done: set[int] = set()
        while len(done) < len(self.contents):  # objects reached from objects, in path order
            for key, obj in sorted(self.contents.items(), key=lambda item: (item[1].source_path, item[0])):
                if key in done:
                    continue
                done.add(key)
                self.tokens.append(f"state:{type(obj).__qualname__}:{obj.source_path}")
                for name, item in vars(obj).items():
                    if name not in NOT_STATE:
                        if name == "metadata" and isinstance(item, dict):
                            item = {key: value for key, value in item.items() if key not in BODY_METADATA}
                        self.tokens.append(name)
                        self.walk(item)
        return hashlib.blake2b("\x1f".join(self.tokens).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _wrapper_state(state: dict) -> dict:
    """A tag's, category's or author's own state, without what Pelican caches on it as it is used.

    URL formatting (`as_dict`) copies `name` and `slug` into the object, and `slug` is
    computed from the name when first asked for: the same object has more state once
    pages were written than at the flush, where a build takes its digest. A slug made
    from the name is the name's; one set explicitly is kept.
    """
    kept = {key: value for key, value in state.items() if key not in ("name", "slug", "_slug")}
    if not state.get("_slug_from_name", True):
        kept["_slug"] = state.get("_slug")
    return kept


def _files_digest(paths) -> str:
    """Digest of the given files and of every file under the given folders."""
    h = hashlib.blake2b(digest_size=16)
    for folder in paths:
        if os.path.isfile(folder):
            with open(folder, "rb") as handle:
                h.update(folder.encode("utf-8", "surrogateescape") + b"\0" + handle.read())
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(root, name)
                h.update(path.encode("utf-8", "surrogateescape") + b"\0")
                with open(path, "rb") as handle:
                    h.update(handle.read())
    return h.hexdigest()


def code_digest(settings: dict) -> str:
    """Digest of what renders pages besides the context: templates, plugins, library versions."""
    import jinja2
    import markdown
    import pelican
    import pygments

    import blogkit

    folders = [settings.get("THEME", "")]
    folders += list(settings.get("THEME_TEMPLATES_OVERRIDES", []) or [])
    folders += [p for p in settings.get("PLUGIN_PATHS", []) or []]
    folders.append(str(Path(__file__).parent.parent))  # plugins/: this package and every plugin of ours
    folders.append(os.path.dirname(blogkit.__file__))  # code our plugins call
    # Filters, globals and tests the settings hand to Jinja: the files they are written in
    # (a function is in the settings fingerprint by name only, not by what it does).
    files = set()
    for key in ("JINJA_FILTERS", "JINJA_GLOBALS", "JINJA_TESTS"):
        for value in (settings.get(key) or {}).values():
            try:
                files.add(inspect.getsourcefile(value))
            except TypeError:  # a value that is not code (a global string or number)
                pass
    versions = f"{pelican.__version__}|{jinja2.__version__}|{markdown.__version__}|{pygments.__version__}|{VERSION}"
    return versions + "|" + _files_digest([f for f in folders if f and os.path.isdir(f)] + sorted(f for f in files if f))


def structure_digest(context: dict, settings: dict) -> tuple[str | None, list[str]]:
    """Digest of the site's structure, or None with the reasons when part of it cannot be hashed stably."""
    walker = _Structure()
    digest = walker.digest(context)
    if walker.unstable:
        return None, sorted(set(walker.unstable))
    return code_digest(settings) + "|" + digest, []


class _DigestChild:
    """structure_digest of the context as it is now, computed in a forked child.

    A cold build (no memo of the previous output) needs the digest only to save
    the memo at the end; the child takes it (0.2-0.3 CPU-s at 1,000 posts) on
    the other core while this process renders on (the child sees the context as
    it was at the fork, which is what a later build digests at its flush). It runs
    at the lowest priority, so it takes the CPU the renderers and Pagefind leave
    (the end of the build has some); A/B wall 0.86 (0.78-1.11) at 1,000 posts,
    2026-12-03, on a noisy host.
    """

    def __init__(self, context: dict, settings: dict):
        import gc

        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: digest, send it, leave without running anything of the parent's
            status = 0
            try:
                os.close(read_fd)
                os.nice(19)  # the renderers come first: the digest is wanted only at the end
                gc.disable()  # a collection would copy the parent's heap pages for nothing
                view = memoryview(pickle.dumps(structure_digest(context, settings)))
                while view:
                    view = view[os.write(write_fd, view):]
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(write_fd)
        self.pid, self.fd = pid, read_fd

    def result(self) -> tuple[str | None, list[str]]:
        """The child's (digest, unstable), waiting for it; (None, [why]) if it failed."""
        with os.fdopen(self.fd, "rb") as inp:
            data = inp.read()
        os.waitpid(self.pid, 0)
        try:
            return pickle.loads(data)
        except Exception:
            return None, ["the structure digest's worker (it failed)"]

    def cancel(self) -> None:
        """The build ended without a commit: stop the child and reap it."""
        import signal

        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


# --- the memo of one build --------------------------------------------------------------


@dataclasses.dataclass
class Entry:
    """What one written page read, and the file the build left."""

    bodies: dict[str, str]  # source path -> body digest
    stamp: tuple[int, int] | None = None  # (size, mtime_ns) of the final file


@dataclasses.dataclass
class Memo:
    """The pages of one successful build, keyed by their path in the output folder."""

    output: str
    structure: str
    pages: dict[str, Entry]


# The run in progress: set by blogkit.build (where the previous output is) and
# by the writer (what it rendered and reused).
_run: dict = {}


def begin(previous_output: Path, staging: Path) -> None:
    """Start a build that writes into `staging` and may reuse pages of `previous_output`."""
    end()
    _run.update(previous=Path(previous_output), staging=Path(staging), reused=set())


def end() -> None:
    """Forget the run (after it was committed or failed)."""
    pending = _run.get("structure")
    if isinstance(pending, _DigestChild):
        pending.cancel()
    _run.clear()


def _structure() -> str | None:
    """The run's structure digest (waiting for the child computing it, if one is)."""
    pending = _run.get("structure")
    if isinstance(pending, _DigestChild):
        _run["structure"], unstable = pending.result()
        if _run["structure"] is None:
            logger.debug("rendermemo: no memo kept for the next build: cannot hash %s", ", ".join(unstable))
    return _run.get("structure")


def was_reused(path: Path | str) -> bool:
    """True if this output file was linked verbatim from the previous build (it is final already)."""
    return str(Path(path)) in _run.get("reused", ())


def _link(old: Path, path: str) -> None:
    """Hard-link the last build's file to path (the writer may have made an empty one there)."""
    try:
        os.link(old, path)
    except FileExistsError:
        os.unlink(path)
        os.link(old, path)
    except FileNotFoundError:  # the first page of its folder (fastbuild/write.py makes it with the page)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(old, path)


def _memo_path(settings: dict) -> Path:
    return Path(settings["CACHE_PATH"]) / MEMO_FILE


def _load(settings: dict) -> Memo | None:
    try:
        with open(_memo_path(settings), "rb") as handle:
            memo = pickle.load(handle)
        return memo if isinstance(memo, Memo) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None


def may_reuse(settings: dict) -> bool:
    """True for builds that may reuse the last build's work: they load the content cache (never publishconf.py)."""
    return bool(settings.get("LOAD_CONTENT_CACHE") and settings.get("CACHE_CONTENT"))


def plan(jobs: list, context: dict, settings: dict) -> list:
    """Link the pages that can be reused into the staging folder; return the jobs still to render."""
    if "staging" not in _run or not may_reuse(settings):
        return jobs
    staging, previous = _run["staging"], _run["previous"]
    memo = _load(settings)
    _run.update(settings=settings, bodies=_Bodies(context), new={})
    if memo is None or memo.output != str(previous):
        # Nothing to reuse: the digest is only for the memo this build saves (commit), so a
        # forked child takes it while this process renders.
        _run["structure"] = _DigestChild(context, settings)
        return jobs
    structure, unstable = structure_digest(context, settings)
    _run["structure"] = structure
    if structure is None:
        logger.debug("rendermemo: rendering every page: cannot hash %s", ", ".join(unstable))
        return jobs
    if memo.structure != structure:
        return jobs
    bodies = _run["bodies"]
    run = runhooks.current()
    todo = []
    for job in jobs:
        path = job[0]
        rel = os.path.relpath(path, staging)
        entry = memo.pages.get(rel)
        old = previous / rel
        if entry is not None and all(bodies.get(source) == digest for source, digest in entry.bodies.items()):
            try:
                stat = old.stat()
                if entry.stamp == (stat.st_size, stat.st_mtime_ns):
                    _link(old, path)
                    _run["reused"].add(str(Path(path)))
                    if run is not None:
                        run.mark_final(path)
                    _run["new"][rel] = Entry(dict(entry.bodies))
                    continue
            except OSError:
                pass
        todo.append(job)
    return todo


def record(path: str, sources: set) -> None:
    """Note the bodies a rendered page read."""
    if "new" not in _run:
        return
    bodies = _run["bodies"]
    rel = os.path.relpath(path, _run["staging"])
    _run["new"][rel] = Entry({source: bodies.get(source, "?") for source in sorted(sources)})


def active() -> bool:
    """True while a build records what its pages read."""
    return "new" in _run


last: dict = {}  # the memo of the last committed build in this process (the hot path updates it)


def save(memo: Memo, settings: dict) -> None:
    """Write the memo where the next build of these settings looks for it."""
    path = _memo_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        pickle.dump(memo, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def commit() -> None:
    """After a clean build: stamp the final files and save the memo for the next build."""
    if "new" not in _run or _structure() is None:
        return
    staging, new = _run["staging"], _run["new"]
    for rel, entry in new.items():
        try:
            stat = (staging / rel).stat()
            entry.stamp = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            entry.stamp = None
    memo = Memo(output=str(_run["previous"]), structure=_run["structure"], pages=new)
    last.clear()
    last.update(memo=memo, settings=_run["settings"])
    save(memo, _run["settings"])
