"""The project's module import graph: no cycles, and the pipelines' wings import downward only.

Every import in a file counts, also one inside a function (a deferred import is still a
dependency; it only hides a cycle from the interpreter). The graph is built from the source with
``ast``: a node per module of labeler, model, exports, pipelines and ui; an edge per import of
another project module (``from package import name`` counts as the submodule ``name`` when there
is one, else the package).

The wings of ``pipelines/``, top to bottom (a wing may import the wings below it, never above):

    cli -> services -> loop -> training, click_models, flickr -> intake

(wings on one level do not import each other).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labeler", "model", "exports", "pipelines", "ui")
WING_LEVEL = {
    "cli": 4,
    "services": 3,
    "loop": 2,
    "training": 1,
    "click_models": 1,
    "flickr": 1,
    "intake": 0,
}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every .py of the project packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or its nearest enclosing project module, None for a third-party module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else _known(base, modules))
    found.discard(None)
    found.discard(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pipelines" and len(parts) > 2 else None


def test_the_project_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 100 and "pipelines.loop.prelabel" in graph
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_every_pipelines_module_lives_in_a_known_wing():
    strays = {m for m in import_graph() if m.startswith("pipelines.") and wing(m) is None}
    assert strays <= {"pipelines.cli"} | {f"pipelines.{w}" for w in WING_LEVEL}, strays
    assert {wing(m) for m in import_graph() if wing(m)} == set(WING_LEVEL)


def test_pipelines_wings_import_downward_only():
    upward = []
    for module, deps in import_graph().items():
        here = wing(module)
        if here is None:
            continue
        for dep in deps:
            there = wing(dep)
            if there is not None and there != here and WING_LEVEL[there] >= WING_LEVEL[here]:
                upward.append(f"{module} -> {dep}")
    assert not upward, f"imports that do not go down the wings: {sorted(upward)}"


def test_the_loop_reaches_its_jobs_by_direct_import():
    graph = import_graph()
    assert {"pipelines.loop.feedback", "pipelines.loop.prelabel"} <= graph[
        "pipelines.services.job_kinds"
    ]
    assert "pipelines.loop.registry" in graph["pipelines.loop.prelabel"]
    assert "pipelines.loop.feedback" not in graph["pipelines.loop.prelabel"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert sorted(cycles(graph)) == expected


def test_the_graph_sees_deferred_and_relative_imports(tmp_path):
    (tmp_path / "pipelines" / "loop").mkdir(parents=True)
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "loop" / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "loop" / "a.py").write_text(
        "def f():\n    from pipelines.loop import b\n"
    )
    (tmp_path / "pipelines" / "loop" / "b.py").write_text("from . import a\nimport numpy\n")
    graph = import_graph(tmp_path)
    assert graph["pipelines.loop.a"] == {"pipelines.loop.b"}
    assert graph["pipelines.loop.b"] == {"pipelines.loop.a"}
    assert cycles(graph) == [["pipelines.loop.a", "pipelines.loop.b"]]
