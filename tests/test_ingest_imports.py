"""The imports of ``ingest/`` go one way: no cycle among its modules, none hidden by a lazy import.

Read from the source (the AST), not by importing: a cycle that a function-level import hides
works at run time, which is how the three cycles of ingest/ went unnoticed (issue 21).
Optional third-party packages (pyarrow, dask, frictionless) may still be imported lazily.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "collectomics"
INGEST = PACKAGE / "ingest"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return "collectomics." + ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module of ours imported, whether at the module's top level) for each import."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    top = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks count as the top level
        if isinstance(node, ast.If):
            top |= {id(child) for child in node.body}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("collectomics."):
                found.append((name, id(node) in top))
    return found


def _graph() -> dict[str, set[str]]:
    """ingest module -> the ingest modules it imports (``from collectomics.ingest import x``
    counts as importing ``collectomics.ingest.x``; the package itself, imported implicitly as the
    parent of every module, is no edge)."""
    modules = {_module(p): p for p in INGEST.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {
            t for t, _ in _imports(path) if t in modules and t not in (name, "collectomics.ingest")
        }
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, as the chain of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("path", sorted(INGEST.glob("*.py")), ids=lambda p: p.name)
def test_no_module_of_ours_is_imported_inside_a_function(path: Path) -> None:
    lazy = sorted({name for name, at_top in _imports(path) if not at_top})
    assert lazy == [], f"{path.name} imports {lazy} inside a function"


def test_the_modules_of_ingest_import_one_another_without_a_cycle() -> None:
    graph = _graph()
    assert len(graph) >= 15 and graph["collectomics.ingest.archive"]  # the graph was read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_check_finds_a_cycle() -> None:
    """The check itself: the shape ingest had before (archive <-> pipeline) is a cycle."""
    graph = {
        "collectomics.ingest.archive": {"collectomics.ingest.pipeline"},
        "collectomics.ingest.pipeline": {"collectomics.ingest.templates"},
        "collectomics.ingest.templates": {"collectomics.ingest.archive"},
    }
    assert _cycle(graph) == [
        "collectomics.ingest.archive",
        "collectomics.ingest.pipeline",
        "collectomics.ingest.templates",
        "collectomics.ingest.archive",
    ]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_readers_below_the_pipeline_do_not_import_it_nor_the_export() -> None:
    """The dispatch that knows every reader (pipeline) and the export on top of it (shards,
    demo) are imported by no reader, the walk, the report or the sink."""
    top = {"collectomics.ingest.pipeline", "collectomics.ingest.shards", "collectomics.ingest.demo"}
    graph = _graph()
    below = {m for m in graph if m not in top and m != "collectomics.ingest"}
    for module in sorted(below):
        assert not graph[module] & top, (module, graph[module] & top)
