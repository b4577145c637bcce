"""The real corpus lives in the repository, and nothing reads outside it."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import pytest

from helpers import REAL

ROOT = Path(__file__).resolve().parent.parent
#: the sibling folder of the development setup, named as a path or a path part
_OUTSIDE = re.compile(r"""\.\./shared|["']shared["']""")


#: Files that may name the sibling folder: the project's history, and the index the corpus
#: came with (kept as it was written).
_HISTORY = {"CHANGES.md", "tests/data/real/README.upstream.md"}


def _tracked() -> list[Path]:
    """Every file of the checkout git tracks (or would: untracked files not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return sorted(ROOT / name for name in out.split("\0") if name)


def _text_files() -> list[Path]:
    found = []
    for path in _tracked():
        rel = path.relative_to(ROOT).as_posix()
        if rel in _HISTORY or not path.is_file() or path.stat().st_size > 4 << 20:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # zips, images, gzip
        found.append(path)
    return found


@pytest.mark.parametrize("path", _text_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_reaches_outside_the_repository(path: Path) -> None:
    """No code, doc or fixture README points at the development setup's sibling folder: a clone
    has none, so what a file needs from there lives in tests/data/real with its SOURCE.txt."""
    text = path.read_bytes().decode("utf-8", "replace")
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
    folders += [p for p in (ROOT / "tests" / "data" / "linking").iterdir() if p.is_dir()]
    assert len(folders) >= 9
    index = (REAL / "README.md").read_text("utf-8")
    for folder in folders:
        source = folder / "SOURCE.txt"
        assert source.is_file(), f"{folder.name} has no SOURCE.txt"
        text = source.read_text("utf-8")
        assert re.search(r"(?i)origin|source", text), f"{folder.name}: no origin"
        assert re.search(r"(?i)licen[cs]e", text), f"{folder.name}: no licence"
        if folder.parent == REAL:
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


def test_the_linking_subsets_are_records_of_the_corpus() -> None:
    """tests/data/linking holds subsets of the corpus, unchanged: every IPNI author line is a line
    of the corpus's file, every QID row a row of its table, every ORCID answer a file of its
    recordings byte for byte."""
    linking = ROOT / "tests" / "data" / "linking"
    ipni = REAL / "ipni-authors-wikidata"
    with gzip.open(ipni / "ipni_authors.jsonl.gz", "rt", encoding="utf-8") as handle:
        authors = {json.dumps(json.loads(line), sort_keys=True) for line in handle if line.strip()}
    subset = (linking / "ipni-authors-wikidata" / "ipni_authors.jsonl").read_text("utf-8")
    lines = [json.dumps(json.loads(line), sort_keys=True) for line in subset.splitlines() if line]
    assert lines and all(line in authors for line in lines)
    table = set((ipni / "wikidata_P586_ipni_author.tsv").read_text("utf-8").splitlines())
    rows = (linking / "ipni-authors-wikidata" / "wikidata_P586_ipni_author.tsv").read_text("utf-8")
    assert all(row in table for row in rows.splitlines())
    recorded = REAL / "rorcid-orcid-v3" / "extracted"
    answers = sorted((linking / "rorcid-orcid-v3" / "extracted").rglob("*.json"))
    assert answers
    for answer in answers:
        source = recorded / answer.relative_to(linking / "rorcid-orcid-v3" / "extracted")
        assert source.read_bytes() == answer.read_bytes(), answer
