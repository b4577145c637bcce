"""The shape of ``store/``, read from the source: the interface and one module per backend, no
import of a layer above it, no import cycle (none hidden in a function either), pyoxigraph in
the embedded backend only, one SPARQL tokenizer in the library, and the catalog's names spelled
once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "collectomics"
STORE = SRC / "store"
#: What store/ may import of ours besides itself: the kernel.
KERNEL = {
    "collectomics",
    "collectomics.errors",
    "collectomics.config",
    "collectomics.model",
    "collectomics.iri",
    "collectomics.vocab",
    "collectomics.resources",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def _imports(tree: ast.AST) -> list[tuple[str, ast.stmt]]:
    found: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node))
            found += [(f"{node.module}.{alias.name}", node) for alias in node.names]
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _store_modules() -> list[Path]:
    return sorted(STORE.glob("*.py"))


MODULES = {_module(p): p for p in _store_modules()}


@pytest.mark.parametrize("path", _store_modules(), ids=lambda p: p.name)
def test_store_imports_only_the_kernel_and_itself_at_module_level(path: Path) -> None:
    tree = _tree(path)
    top = {id(node) for node in tree.body}
    for name, node in _imports(tree):
        if not name.startswith("collectomics"):
            continue
        assert id(node) in top, f"{path.name}:{node.lineno}: a function-level import of {name}"
        if name.startswith("collectomics.store") or name in MODULES:
            continue
        # "from collectomics import __version__" names the package root and an attribute
        assert name in KERNEL or name.rsplit(".", 1)[0] in KERNEL, (
            f"{path.name}:{node.lineno}: store/ imports {name}, a layer above it"
        )


def test_the_store_modules_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        names = {name for name, _ in _imports(_tree(path))}
        graph[module] = {name for name in names if name in MODULES and name != module}
    assert graph["collectomics.store.base"] <= set(), graph["collectomics.store.base"]
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, "an import cycle: " + " -> ".join([*trail, node])
        state[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        visit(node, [])


def test_only_the_embedded_backend_imports_pyoxigraph() -> None:
    importers = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if any(name.split(".")[0] == "pyoxigraph" for name, _ in _imports(_tree(path)))
    )
    assert importers == ["store/embedded.py"]


def test_one_sparql_tokenizer() -> None:
    """A regular expression that reads SPARQL IRIs as tokens exists once, in sparqltext."""
    found = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if re.search(r"\(\?P<iri>", path.read_text("utf-8"))
    )
    assert found == ["store/sparqltext.py"]


def test_the_catalogs_names_are_spelled_once() -> None:
    """``urn:collectomics:`` (the store's own graphs) and the catalog's IRIs under it are string
    constants of store/base.py only; everything else imports them."""
    spelled: list[str] = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            value = node.value
            if value == "urn:collectomics:" or re.match(
                r"urn:collectomics:(catalog|current|garbage|empty)\b", value
            ):
                spelled.append(f"{path.relative_to(SRC).as_posix()}:{node.lineno}: {value!r}")
    assert all(s.startswith("store/base.py:") for s in spelled), spelled
    assert len(spelled) == 1, spelled  # INTERNAL; the others are built from it
