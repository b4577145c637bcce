"""The layer rules of DESIGN.md, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "collectomics"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_layer_rules(path: Path) -> None:
    rel = _rel(path)
    imports = _imports(path)
    roots = {name.split(".")[0] for name in imports}
    ours = {name for name in imports if name.startswith("collectomics")}
    if not rel.startswith("store/") or rel.startswith(("store/remote", "store/bulkload")):
        assert "pyoxigraph" not in roots, f"{rel}: only store/ may import pyoxigraph"
    if not rel.startswith(("cli/", "__main__")):
        assert not any(m.startswith("collectomics.cli") for m in ours), f"{rel} imports cli/"
        assert "click" not in roots, f"{rel}: the library never imports click"
    if not rel.startswith("web/") and not rel.startswith("cli/"):
        assert not any(m.startswith("collectomics.web") for m in ours), f"{rel} imports web/"
        assert "flask" not in roots, f"{rel}: only web/ imports flask"
    if rel.startswith("mapping/"):
        allowed = (
            "collectomics.mapping",
            "collectomics.model",
            "collectomics.vocab",
            "collectomics.iri",
            "collectomics.errors",
        )
        bad = [m for m in ours if not m.startswith(allowed)]
        assert not bad, f"{rel}: mapping/ is pure but imports {bad}"
        for forbidden in (
            "requests",
            "rdflib",
            "pyoxigraph",
            "sparqlwrapper",
            "urllib",
            "socket",
            "http",
            "os",
            "pathlib",
            "io",
            "subprocess",
            "flask",
        ):
            assert forbidden not in roots, f"{rel}: mapping/ is pure but imports {forbidden}"
    if rel.startswith("ingest/"):
        assert "requests" not in roots, f"{rel}: ingest/ does no network I/O"
    if not rel.startswith("linking/") and rel not in (
        "store/remote.py",
        "store/bulkload.py",
    ):  # the SPARQL backend
        http_clients = {"requests", "httpx", "urllib3", "aiohttp", "urllib.request", "http.client"}
        bad = sorted(m for m in imports if m in http_clients or m.split(".")[0] in http_clients)
        assert not bad, f"{rel}: only linking/ does network I/O, but it imports {bad}"
    if rel == "linking/matcher.py":
        assert roots <= {
            "__future__",
            "re",
            "unicodedata",
            "collections",
            "dataclasses",
            "datetime",
            "difflib",
            "functools",
            "anyascii",  # transliteration tables only: pure, no I/O
            "collectomics",
        }, f"{rel} is pure: {roots}"
        assert not [m for m in ours if not m.startswith("collectomics.mapping")], rel


def test_rule_folders_have_a_readme() -> None:
    for folder in ("mapping", "ingest", "web", "cli", "linking"):
        readme = SRC / folder / "README.md"
        assert readme.is_file(), f"{folder}/ needs a README.md stating its rule"
        assert len(readme.read_text().strip().splitlines()) <= 6


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import pyoxigraph\nfrom collectomics.web import create_app\n")
    assert {"pyoxigraph", "collectomics.web"} <= _imports(bad)
