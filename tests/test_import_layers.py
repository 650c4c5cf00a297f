"""The layers of ARCHITECTURE.md, enforced: every import of every project module (top-level,
inside functions, under TYPE_CHECKING, and lazy ones by name) is read from the source, and
the test fails on an import circle or on an arrow the layer map does not allow."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "server", "nodes", "diffusion", "graph", "folders")

# Which packages each package may import (besides itself). Everything else is an upward or
# sideways arrow: app wires everything; the server knows nodes only through its ports.
ALLOWED = {
    "app": {"server", "nodes", "diffusion", "graph", "folders"},
    "server": {"graph", "folders"},
    "nodes": {"diffusion", "graph", "folders"},
    "diffusion": set(),
    "graph": set(),
    "folders": set(),
}
# Inside nodes/: the node API never reaches into the library or the registry builder.
FORBIDDEN_INSIDE = [("nodes.api", "nodes.library"), ("nodes.api", "nodes.build"), ("nodes.compat", "nodes.library"),
                    ("nodes.library", "nodes.build")]


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_names(path: Path, module: str) -> set[str]:
    """Dotted names `module` imports, from any statement in the file (lazy_import("x") counts too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "lazy_import"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> nx.DiGraph:
    modules = project_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for name in imported_names(path, module):
            target = resolve(name, modules)
            if target and target != module:
                graph.add_edge(module, target)
    return graph


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def test_the_walker_sees_every_package(graph):
    packages = {module.split(".")[0] for module in graph}
    assert packages == set(PACKAGES)
    assert graph.has_edge("app.engine", "nodes.build")  # a plain top-level import is seen


def test_no_import_circles(graph):
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_no_arrow_outside_the_layer_map(graph):
    wrong = defaultdict(list)
    for source, target in graph.edges:
        a, b = source.split(".")[0], target.split(".")[0]
        if a != b and b not in ALLOWED[a]:
            wrong[f"{a} -> {b}"].append(f"{source} imports {target}")
        for inner, outer in FORBIDDEN_INSIDE:
            if _within(source, inner) and _within(target, outer):
                wrong[f"{inner} -> {outer}"].append(f"{source} imports {target}")
    assert not wrong, "\n".join(f"{arrow}: {', '.join(items)}" for arrow, items in wrong.items())


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_a_circle_and_an_upward_arrow_are_caught(tmp_path, monkeypatch):
    """The checks themselves can fail: a fake tree with both faults."""
    for name, text in {"graph/__init__.py": "", "graph/a.py": "from graph import b\n",
                       "graph/b.py": "def f():\n    import graph.a\n", "folders/__init__.py": "",
                       "folders/x.py": "import graph.a\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "PACKAGES", ("graph", "folders"))
    fake = import_graph()
    assert {"graph.a", "graph.b"} in [set(c) for c in nx.strongly_connected_components(fake)]
    assert fake.has_edge("folders.x", "graph.a") and "graph" not in ALLOWED["folders"]
