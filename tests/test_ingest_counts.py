"""What an ingest report's ``triples`` counts: the triples written to the graph, a repeat
counted each time, so that no scan of the graph follows every load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore, count_statements
from helpers import REAL

FIX = Path(__file__).resolve().parent / "data" / "ingest"


def _tee(store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Keep a copy of everything the ingest's producer sends to the store."""
    sent: list[bytes] = []
    original = store.replace_graph_stream

    def replace(graph: str, produce: Callable[[IO[bytes]], None], *a: Any, **k: Any) -> None:
        def tee(out: IO[bytes]) -> None:
            class Tee:
                def write(self, data: bytes) -> int:
                    sent.append(bytes(data))
                    return out.write(data)

            produce(Tee())  # type: ignore[arg-type]

        original(graph, tee, *a, **k)

    monkeypatch.setattr(store, "replace_graph_stream", replace)
    return sent


@pytest.mark.parametrize(
    "archive",
    [
        # a real GBIF download whose mapping writes some triples more than once
        "rgbif-gbif-downloads/0000066-140928181241064.zip",
        "dwca-io-fixtures/archive-occ.zip",
    ],
)
def test_triples_counts_what_was_written_and_the_store_keeps_one_of_each(
    store: OxigraphStore, minter: Minter, monkeypatch: pytest.MonkeyPatch, archive: str
) -> None:
    sent = _tee(store, monkeypatch)
    [report] = ingest_files(store, [REAL / archive], minter=minter)
    lines = b"".join(sent).splitlines()
    assert report.triples == len(lines) > 1000
    assert store.count(report.graph) == len(set(lines))  # the store dropped exactly the repeats
    assert f"{report.triples} triples written to <{report.graph}>" in report.summary()


def test_a_download_with_repeats_reports_more_than_it_stores(
    store: OxigraphStore, minter: Minter
) -> None:
    path = REAL / "rgbif-gbif-downloads/0000066-140928181241064.zip"
    [report] = ingest_files(store, [path], minter=minter)
    assert report.triples > store.count(report.graph)


def _about(store: OxigraphStore, minter: Minter, dataset: str) -> int:
    """Triples whose subject is the dataset's own node."""
    node = minter.dataset(dataset)
    rows = store.query(
        f"SELECT (COUNT(*) AS ?n) {{ <{node}> ?p ?o }}", default_graphs=[minter.graph(dataset)]
    ).rows()
    return int(next(rows)["n"].value)  # type: ignore[union-attr]


def test_rdf_files_count_what_they_state(store: OxigraphStore, minter: Minter) -> None:
    notes = FIX / "notes.ttl"
    stated = count_statements(notes, "turtle", base_iri=minter.base)
    people = FIX / "people-mixed.csv"
    [alone] = ingest_files(store, [people], minter=minter, dataset_id="people")
    [both] = ingest_files(store, [people, notes], minter=minter, dataset_id="both")
    assert stated == 3  # notes.ttl states three triples
    assert both.triples == store.count(both.graph)  # nothing is written twice here
    # the same people rows, plus what the Turtle file states (the dataset nodes aside)
    assert both.triples - stated - _about(store, minter, "both") == alone.triples - _about(
        store, minter, "people"
    )
