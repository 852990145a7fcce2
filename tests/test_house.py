"""The house rules of the code: imports run one way, and plugins have one import name each.

Floors, lowest first (README, "Where things live"):
  0. blogkit foundations: problems, runhooks, plugin_settings, slugs, comment_files, htmlscan
     (import no other floor)
  1. Pelican with plugins: plugins/*
  2. blogkit tools: build, serve, publish, check/, comments, isso_server, newpost, progress, blogger/
  3. tasks.py
A module imports only from its own floor or lower ones, and no two modules import each other,
directly or round a loop, counting imports inside functions too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from blogkit.build import ROOT, load_settings

FOUNDATIONS = {"blogkit.problems", "blogkit.runhooks", "blogkit.plugin_settings", "blogkit.slugs",
               "blogkit.comment_files", "blogkit.htmlscan"}
# Every plugin of ours: a package under plugins/.
OURS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").is_file())
LEAVING: set[str] = set()  # known upward imports being removed (none today)


def floor(module: str) -> int:
    """The floor a module of ours stands on."""
    if module == "tasks":
        return 3
    if module in FOUNDATIONS or module == "blogkit":
        return 0
    if module.startswith("plugins"):
        return 1
    return 2


def modules() -> dict[str, Path]:
    """Every module of blogkit/, plugins/ and tasks.py, by dotted name."""
    found = {"tasks": ROOT / "tasks.py"}
    for top in ("blogkit", "plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `name` imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
            # "from . import memo" imports the submodule; only a name defined in the package imports the package
            if any(target not in known for target in targets):
                targets.append(base)
        else:
            continue
        for target in targets:
            # the longest module of ours the import names (blogkit.build for "from blogkit.build import X")
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target not in ("blogkit", "plugins"):
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_no_module_imports_a_higher_floor():
    upward = [f"{name} (floor {floor(name)}) imports {target} (floor {floor(target)})"
              for name, targets in graph().items() for target in sorted(targets)
              if floor(target) > floor(name) and f"{name} -> {target}" not in LEAVING]
    assert upward == []


def test_no_import_cycle():
    edges = graph()
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                # a package importing its own submodule (plugins.strict -> plugins.strict.site) is no cycle
                loop = trail[trail.index(target):] + [target]
                inside = all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in zip(loop, loop[1:]))
                if not inside and not any(f"{a} -> {b}" in LEAVING for a, b in zip(loop, loop[1:])):
                    cycles.append(" -> ".join(loop))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_floor_rule_sees_an_upward_import(tmp_path):
    """The walk itself: a foundation importing the build driver is caught."""
    source = tmp_path / "problems.py"
    source.write_text("def f():\n    from blogkit.build import ROOT\n", encoding="utf-8")
    [target] = imports("blogkit.problems", source, set(modules()))
    assert target == "blogkit.build" and floor(target) > floor("blogkit.problems")


def test_pelican_loads_our_plugins_under_their_package_names_only(site):
    names = load_settings()["PLUGINS"]
    assert sorted(n for n in names if not n.startswith("pelican.")) == [f"plugins.{n}" for n in OURS]
    assert load_settings()["PLUGIN_PATHS"] == []
    site.post("a")
    site.build()
    for name in OURS:
        assert f"plugins.{name}" in sys.modules
        assert name not in sys.modules, f"plugins/{name} was imported a second time as {name!r}"


def test_every_noqa_names_a_rule_the_lint_configuration_checks():
    """A noqa for a rule ruff does not run (pyproject.toml [tool.ruff.lint]) claims a check nobody makes."""
    import re
    import tomllib

    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    selected = tuple(lint["lint"]["select"])
    skipped = ("bench/hugo", *lint.get("extend-exclude", ()))
    unclaimed = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".", "cache/", "output/")) or "/." in rel or rel.startswith(skipped):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for codes in re.findall(r"#\s*noqa:\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)", line):
                unclaimed += [f"{rel}:{number}: {code}" for code in re.split(r"\s*,\s*", codes)
                              if not code.startswith(selected)]
    assert unclaimed == []
