"""The layer rules of docs/architecture.md: import-linter contracts, plus what they cannot express.

The contracts live in pyproject.toml (`[tool.importlinter]`) and are checked here with `lint-imports`, the
same command a contributor runs. Each contract is also shown to break when a copy of the tree breaks it,
so that a contract which silently matches nothing cannot pass for a kept rule. The few rules import-linter
cannot state stay below as small checks over the import graph or the AST, each saying why.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "collectomics"


def _lint_imports(
    cwd: Path, *args: str, pythonpath: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `lint-imports` in `cwd` (which holds the pyproject.toml to read), without a cache."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    assert exe, "import-linter is a test dependency: install the project with its [test] extra"
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}  # violations on one line each
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [exe, "--no-cache", "--no-logo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_are_kept() -> None:
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout, r.stdout


def _contracts() -> list[dict]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


# For each contract, an import that breaks it: (contract id, file under src/collectomics, line to add,
# text the report must show). Files that do not exist yet are created.
BREAKS = [
    (
        "layers",
        "store/sparqltext.py",
        "import collectomics.services.queries",
        "collectomics.store.sparqltext -> collectomics.services.queries",
    ),
    (
        "layers",
        "newlayer.py",
        "",
        "collectomics.newlayer",
    ),  # exhaustive: a module outside the layers
    (
        "acyclic",
        "ingest/csvfile.py",
        "import collectomics.ingest.pipeline",
        "No cycles are allowed in collectomics.ingest",
    ),
    ("pyoxigraph", "services/pages.py", "import pyoxigraph", "collectomics.services.pages"),
    ("pyoxigraph", "store/remote.py", "import pyoxigraph", "collectomics.store.remote"),
    ("click", "services/queries.py", "import click", "collectomics.services.queries"),
    ("web-frameworks", "services/queries.py", "from werkzeug import Request", "werkzeug"),
    (
        "cli-importers",
        "services/pages.py",
        "import collectomics.cli",
        "collectomics.services.pages",
    ),
    ("web-importers", "__init__.py", "import collectomics.web", "collectomics -> collectomics.web"),
    ("network-clients", "ingest/csvfile.py", "import requests", "collectomics.ingest.csvfile"),
    ("mapping-pure", "mapping/dates.py", "import pathlib", "collectomics.mapping.dates -> pathlib"),
    ("mapping-pure", "model.py", "import os", "collectomics.model -> os"),  # a chain, not direct
    (
        "mapping-pure",
        "mapping/people.py",
        "from collectomics.config import Settings",
        "collectomics.mapping.people -> collectomics.config",
    ),
    (
        "matcher-pure",
        "linking/matcher.py",
        "from collectomics.linking import session",
        "collectomics.linking.matcher -> collectomics.linking.session",
    ),
]


def test_every_contract_has_a_breaking_example() -> None:
    assert {c["id"] for c in _contracts()} == {b[0] for b in BREAKS}


@pytest.mark.parametrize(
    ("contract", "rel", "line", "shown"), BREAKS, ids=[f"{b[0]}:{b[1]}" for b in BREAKS]
)
def test_contract_breaks_when_the_tree_breaks_it(
    tmp_path: Path, contract: str, rel: str, line: str, shown: str
) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        SRC, tmp_path / "src" / "collectomics", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "src" / "collectomics" / rel
    before = target.read_text("utf-8") if target.exists() else '"""A module."""\n'
    target.write_text(before + "\n" + line + "\n", "utf-8")
    r = _lint_imports(tmp_path, "--contract", contract, pythonpath=tmp_path / "src")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "BROKEN" in r.stdout and shown in r.stdout, r.stdout + r.stderr


# --- What import-linter cannot express --------------------------------------------------------------


def _cycle_exemptions() -> set[tuple[str, str]]:
    """The imports the `acyclic` contract ignores (each to be removed by the issue named beside it)."""
    (acyclic,) = [c for c in _contracts() if c["id"] == "acyclic"]
    pairs = (entry.split("->") for entry in acyclic.get("ignore_imports", []))
    return {(importer.strip(), imported.strip()) for importer, imported in pairs}


def _module_cycles(graph: grimp.ImportGraph, exempt: set[tuple[str, str]]) -> list[str]:
    """Each set of modules that import each other, without the exempt imports: its members, and
    one cycle through them."""
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if (module, imported) not in exempt:
                g.add_edge(module, imported)
    found = []
    for component in nx.strongly_connected_components(g):
        if len(component) > 1:
            cycle = [a for a, _ in nx.find_cycle(g.subgraph(component))]
            found.append(f"{sorted(component)}, e.g. {' -> '.join(cycle + cycle[:1])}")
    return sorted(found)


# import-linter's `acyclic_siblings` compares the children of each package with each other; a package's
# own `__init__` is their parent, so a cycle between it and its modules (cli/__init__.py importing
# cli/historians.py, which imports the group back from cli/__init__.py) passes that contract. This
# check finds a cycle between any modules of the tree, lazy (function-level) imports included.
def test_no_module_is_in_an_import_cycle() -> None:
    cycles = _module_cycles(grimp.build_graph("collectomics"), _cycle_exemptions())
    assert not cycles, "modules in an import cycle: " + "; ".join(cycles)


def test_cycle_check_sees_a_package_importing_its_own_module() -> None:
    graph = grimp.build_graph("collectomics")
    assert not graph.direct_import_exists(
        importer="collectomics.store.sparqltext", imported="collectomics.store"
    )
    graph.add_import(importer="collectomics.store.sparqltext", imported="collectomics.store")
    cycles = _module_cycles(graph, _cycle_exemptions())
    assert any("collectomics.store.sparqltext -> collectomics.store" in c for c in cycles), cycles


def _imports(path: Path) -> set[str]:
    """The absolute modules a file imports, at any depth (function-level imports included)."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


MODULES = sorted(SRC.rglob("*.py"))

# import-linter names a third-party or standard package by its top-level name only (`urllib`, `http`),
# and only once something imports it, so it can neither tell `urllib.request` from `urllib.parse` nor
# forbid a client library that nobody has installed yet: the network clients other than `requests`
# (which the `network-clients` contract covers) are checked here.
HTTP_CLIENTS = ("httpx", "urllib3", "aiohttp", "urllib.request", "http.client")
NETWORK_IO = ("linking/", "store/remote.py", "store/bulkload.py")


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_only_linking_and_the_remote_store_open_connections(path: Path) -> None:
    if _rel(path).startswith(NETWORK_IO):
        return
    bad = sorted(m for m in _imports(path) if m.startswith(HTTP_CLIENTS))
    assert not bad, f"{_rel(path)}: only linking/ does network I/O, but it imports {bad}"


# An allow-list: import-linter forbids named modules but cannot say "these and nothing else"; nor can
# the `matcher-pure` contract forbid `collectomics.linking` itself, the package that contains the matcher.
MATCHER_MAY_IMPORT = {
    "__future__",
    "re",
    "unicodedata",
    "collections",
    "dataclasses",
    "datetime",
    "difflib",
    "functools",
    "anyascii",  # transliteration tables only: pure, no I/O
    "collectomics.mapping",
}


def test_the_matcher_imports_only_pure_modules() -> None:
    found = {
        "collectomics.mapping" if name.startswith("collectomics.mapping.") else name.split(".")[0]
        for name in _imports(SRC / "linking" / "matcher.py")
    }
    assert found <= MATCHER_MAY_IMPORT, f"linking/matcher.py is pure: {found - MATCHER_MAY_IMPORT}"


def test_ast_checks_see_imports_at_any_depth(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    import urllib.request\n    from http.client import HTTPConnection\n"
    )
    assert {"urllib.request", "http.client"} <= _imports(bad)


def test_rule_folders_have_a_readme() -> None:
    for folder in ("mapping", "store", "analysis", "linking", "ingest", "services", "web", "cli"):
        readme = SRC / folder / "README.md"
        assert readme.is_file(), f"{folder}/ needs a README.md stating its rule"
        assert len(readme.read_text().strip().splitlines()) <= 6
