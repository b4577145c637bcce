"""The real corpus lives in the repository, and nothing reads outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
#: the sibling folder of the development setup, named as a path or a path part
_OUTSIDE = re.compile(r"""\.\./shared|["']shared["']""")


def _code() -> list[Path]:
    return sorted(
        p for top in ("src", "tests", "benchmarks") for p in (ROOT / top).rglob("*.py")
    ) + [ROOT / "dev.py"]


@pytest.mark.parametrize("path", _code(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_code_reads_outside_the_repository(path: Path) -> None:
    text = path.read_text("utf-8")
    if path.name == "test_corpus.py":
        text = text.replace(_OUTSIDE.pattern, "")
    found = [
        f"line {n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert not found, f"{path.relative_to(ROOT)} reaches outside the checkout: {found}"


def test_every_corpus_folder_says_where_it_came_from_and_on_what_terms() -> None:
    folders = [p for p in REAL.iterdir() if p.is_dir()]
    assert len(folders) >= 9
    index = (REAL / "README.md").read_text("utf-8")
    for folder in folders:
        source = folder / "SOURCE.txt"
        assert source.is_file(), f"{folder.name} has no SOURCE.txt"
        text = source.read_text("utf-8")
        assert re.search(r"(?i)origin|source", text), f"{folder.name}: no origin"
        assert re.search(r"(?i)licen[cs]e", text), f"{folder.name}: no licence"
        assert f"`{folder.name}/`" in index, f"{folder.name} is missing from README.md"


def test_the_stand_in_default_is_the_repository_corpus() -> None:
    from collectomics.config import SETTINGS

    [setting] = [s for s in SETTINGS if s.name == "standin_data"]
    assert (ROOT / setting.default / "ipni-authors-wikidata").is_dir()
    assert (ROOT / setting.default / "rorcid-orcid-v3").is_dir()


def test_the_corpus_figures_in_the_docs_are_the_codes() -> None:
    """docs/corpus.md holds the table benchmarks/corpus.py computes from every real archive:
    rows, specimen records and nodes (equal), repeated keys, duplicates, unknown agents."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "corpus.py"), "--check", "docs/corpus.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in (ROOT / "docs" / "corpus.md").read_text("utf-8").splitlines()]
    rows = [line.split("|") for line in lines if line.startswith("| `")]
    assert len(rows) >= 8
    for cells in rows:  # specimen records == specimen nodes on every archive
        assert cells[3] == cells[4], cells
