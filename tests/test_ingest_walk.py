"""The one archive walk (``ingest.archive.ArchiveWalk``), held to its invariants over the corpus.

``ingest`` and ``export --shards`` both run this walk (tests/test_export_shards.py compares
what the two make of it); here the walk itself, on every Darwin Core input of tests/data/real
and the quirk archives: it streams (a batch is yielded after its rows are read, not after the
file), every row read is in exactly one batch item in file order, every rejected row has its
error at its file and line, counts add up, extensions come after a barrier, and where the
batches are cut changes nothing (report and triples alike).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collectomics.ingest.archive import ArchiveWalk, Barrier, Note, Work
from collectomics.ingest.batches import (
    CHILDREN,
    KEPT,
    PARENTS,
    SOURCES,
    SPECIMENS,
    TRIPLES,
    Outcome,
    map_rows,
)
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.report import IngestReport
from collectomics.ingest.sink import Sink
from collectomics.iri import Minter
from collectomics.mapping.common import Context
from helpers import REAL

QUIRKS = Path(__file__).resolve().parent / "data" / "dwca"
CORPUS = [
    line.strip()
    for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
QUIRK = [
    "event-core-occurrence-ext",
    "measurement-or-fact-ext",
    "wrong-field-count",
    "unclosed-quote",
    "utf8-declared-cp1252-bytes",
    "iiif-manifest-in-multimedia",
    "multiple-locations",
]
INPUTS = [REAL / name for name in CORPUS] + [QUIRKS / name for name in QUIRK]
ROW_KINDS = {SPECIMENS, PARENTS, CHILDREN, "media", "identification", "relationship", KEPT}


@dataclass
class Walked:
    """What one walk yielded and what applying it made."""

    report: IngestReport
    lines: set[bytes]
    #: per Work: (batch kind, file, the items' lines, outcomes, core rows read when it came)
    works: list[tuple[str, str, list[int], list[Outcome], int]] = field(default_factory=list)
    #: the index in ``works`` of the next Work at each barrier
    barriers: list[int] = field(default_factory=list)
    #: the report's names of specs read from several files (their lines restart per file)
    several: set[str] = field(default_factory=set)


def _walk(path: Path, batch_size: int) -> Walked:
    """The walk run in-process as ``stream_archive`` runs it, every step recorded."""
    minter = Minter()
    ctx = Context("walk", minter, ntriples=True)
    report = IngestReport("walk", minter.graph("walk"), [str(path)])
    report.max_problems_per_file = 0  # keep every problem
    out = io.BytesIO()
    sink = Sink(out, None)
    walked = Walked(report, set())
    described: set[object] = set()
    with open_source(path) as arc:
        walk = ArchiveWalk(arc, path, ctx, report, SpecimenKeys("walk", minter), batch_size)
        walked.several = {walk.where(s) for s in arc.specs if len(s.locations) > 1}
        for step in walk.steps():
            if isinstance(step, Work):
                read = report.read  # core rows read so far
                outcomes = map_rows(step.batch, ctx, sink, described)
                lines = (
                    [item[0] for item in step.batch.items] if step.batch.kind in ROW_KINDS else []
                )
                walked.works.append((step.batch.kind, step.batch.file, lines, outcomes, read))
                step.apply(outcomes)
            elif isinstance(step, Note):
                step.action()
            else:
                assert isinstance(step, Barrier)
                walked.barriers.append(len(walked.works))
    sink.flush()
    walked.lines = set(out.getvalue().splitlines())
    return walked


@pytest.fixture(scope="module", params=INPUTS, ids=lambda p: p.name)
def walked(request: pytest.FixtureRequest) -> tuple[Path, Walked]:
    return request.param, _walk(request.param, 7)


def test_counts_add_up_and_every_row_is_in_one_item_in_file_order(
    walked: tuple[Path, Walked],
) -> None:
    path, w = walked
    report = w.report
    assert report.read > 0 and report.read == report.loaded + report.rejected
    for name, counts in report.extensions.items():
        assert counts.read == counts.loaded + counts.rejected, name
    items: dict[str, list[int]] = {}
    for kind, file, lines, outcomes, _ in w.works:
        if kind in ROW_KINDS:
            assert 1 <= len(lines) <= 7 and len(outcomes) == len(lines), (kind, file)
            items.setdefault(file, []).extend(lines)
        else:
            assert kind in (SOURCES, TRIPLES) and outcomes == []
    for file, lines in items.items():
        assert min(lines) >= 1
        if file not in w.several:  # (a spec of several files is named by its first)
            assert lines == sorted(set(lines)), file  # each row once, in order
    core = [n for k, f, lines, _, _ in w.works if k in (SPECIMENS, PARENTS) for n in lines]
    assert len(core) == report.read  # every core row read is one item
    for name, counts in report.extensions.items():
        files = {f for f in items if f.endswith(name)}
        if files:  # an extension mapped row by row (GBIF's verbatim rows go with their core row)
            assert sum(len(items[f]) for f in files) == counts.read, name


def test_a_row_is_rejected_exactly_when_it_has_an_error(walked: tuple[Path, Walked]) -> None:
    """Each outcome: loaded without an error, or rejected with at least one, placed at the
    row's file and line, and that error is in the report."""
    _, w = walked
    errors = {(p.file, p.row, p.reason) for p in w.report.problems if p.severity == "error"}
    for kind, file, lines, outcomes, _ in w.works:
        for line, outcome in zip(lines, outcomes, strict=True):
            mine = [p for p in outcome.problems if p.severity == "error"]
            assert all((p.file, p.row) == (file, line) for p in outcome.problems)
            assert outcome.loaded == (not mine), (kind, file, line, outcome)
            assert all((p.file, p.row, p.reason) in errors for p in mine)


def test_batches_are_yielded_as_rows_are_read(walked: tuple[Path, Walked]) -> None:
    """Streaming: a batch of the core is yielded once its rows are read, before the next ones."""
    _, w = walked
    core = [(lines, read) for k, _, lines, _, read in w.works if k in (SPECIMENS, PARENTS)]
    seen = 0
    for lines, read in core:
        seen += len(lines)
        assert read == seen  # rows read when the batch came out: exactly those before and in it


def test_extensions_come_after_a_barrier(walked: tuple[Path, Walked]) -> None:
    _, w = walked
    kinds = [k for k, *_ in w.works]
    core_end = max((i for i, k in enumerate(kinds) if k in (SPECIMENS, PARENTS, CHILDREN)))
    later = [i for i, k in enumerate(kinds) if k in ROW_KINDS and i > core_end]
    if later:
        assert any(core_end < b <= later[0] for b in w.barriers)
    assert w.barriers and w.barriers[-1] == len(w.works)  # the reader's own problems come last


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_where_the_batches_are_cut_changes_nothing(path: Path) -> None:
    one, many = _walk(path, 1), _walk(path, 500)
    assert one.report.to_dict() == many.report.to_dict()
    assert one.lines == many.lines and len(one.lines) > 5
    assert [o for *_, outcomes, _ in one.works for o in outcomes] == [
        o for *_, outcomes, _ in many.works for o in outcomes
    ]


def test_a_rejected_row_travels_in_its_batch() -> None:
    """A row the reader cannot read is a Reject item, in its place among the others."""
    w = _walk(QUIRKS / "wrong-field-count", 2)
    rejects = [
        (file, line)
        for kind, file, lines, outcomes, _ in w.works
        for line, outcome in zip(lines, outcomes, strict=True)
        if not outcome.loaded
    ]
    assert [line for _, line in rejects] == [3, 5]
