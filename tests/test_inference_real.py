"""`infer` on every real archive in tests/data/real: it runs to the end (duplicate sheets with
equal collecting numbers included), and what it writes holds as a property over each archive."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from collectomics.analysis.inference import export_flags, infer, inferences_graph, last_run
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore, Store
from helpers import REAL, REAL_ARCHIVES

ARCHIVES = REAL_ARCHIVES  # the real corpus (tests/data/real/archives.txt)
PREFIXES = """PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX role: <https://w3id.org/collectomics/role/>
"""


def _rows(store: Store, sparql: str) -> list[dict[str, str]]:
    return [
        {k: getattr(v, "value", str(v)) for k, v in r.items()}
        for r in store.query(PREFIXES + sparql).rows()
    ]


def _duplicate_dated_numbers(store: Store) -> int:
    """Dated specimens sharing a collector and a collecting number with another dated one."""
    rows = _rows(
        store,
        "SELECT DISTINCT ?s ?agent ?rn WHERE { ?s dwc:recordNumber ?rn ; col:collectingEvent ?e . "
        "?e col:earliestDate ?early ; prov:qualifiedAssociation ?r . "
        "?r prov:hadRole role:collector ; prov:agent ?agent }",
    )
    counts = Counter((r["agent"], r["rn"]) for r in rows)
    return sum(n for n in counts.values() if n > 1)


@pytest.fixture(scope="module")
def loaded() -> dict[str, Store]:
    """Each real archive in a store of its own, inferred once."""
    stores: dict[str, Store] = {}
    for name in ARCHIVES:
        store = OxigraphStore()
        [report] = ingest_files(store, [REAL / name], minter=Minter())
        assert report.loaded > 0, report.summary()
        stores[name] = store
    return stores


def test_the_corpus_holds_duplicate_sheets(loaded: dict[str, Store]) -> None:
    """The property below is exercised: real duplicate sheets (one collector, one number, both
    dated) are in the corpus (Stockwell 13872, Davis 24383... in the rgbif download)."""
    assert _duplicate_dated_numbers(loaded[ARCHIVES[0]]) >= 2


@pytest.mark.parametrize("name", ARCHIVES)
def test_infer_runs_to_the_end_on_every_real_archive(name: str, loaded: dict[str, Store]) -> None:
    store = loaded[name]
    minter = Minter()
    others = {g: store.count(g) for g in store.graphs()}
    report = infer(store, minter)
    graph = inferences_graph(minter)
    # what the report says is what the graph holds, and nothing else was touched
    assert report.triples == store.count(graph)
    assert {g: store.count(g) for g in store.graphs() if g != graph} == others
    undated = _rows(
        store,
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a dwc:MaterialEntity . FILTER NOT EXISTS { "
        "?s col:collectingEvent ?e . ?e col:earliestDate ?x ; col:latestDate ?y } }",
    )
    assert report.undated == int(undated[0]["n"])
    # every date inference is a non-empty window, for a specimen without a usable date, citing
    # evidence that exists in the graph
    inferences = _rows(
        store,
        "SELECT ?i ?s ?early ?late ?m WHERE { ?i a col:DateInference ; col:method ?m ; "
        "dcterms:subject ?s . OPTIONAL { ?i col:earliestDate ?early } "
        "OPTIONAL { ?i col:latestDate ?late } }",
    )
    assert len({r["i"] for r in inferences}) == sum(
        n for k, n in report.inferences.items() if "label writing" not in k
    )
    for r in inferences:
        assert r.get("early") or r.get("late"), r
        if r.get("early") and r.get("late"):
            assert r["early"] <= r["late"], r
    series = _rows(
        store,
        "SELECT ?i ?s ?ev ?rn WHERE { ?i col:method col:collectingNumberSeries ; dcterms:subject ?s ; "
        "col:evidence ?ev . ?ev dwc:recordNumber ?rn ; col:collectingEvent/col:earliestDate ?d }",
    )
    assert len(series) == 2 * report.inferences.get("collectingNumberSeries", 0)
    # a re-run writes the same graph
    again = infer(store, minter)
    assert again.triples == report.triples and again.inferences == report.inferences
    run = last_run(store, minter)
    assert run is not None and run.ended == again.ran_at
    assert run.used == {store.physical_graph(g) for g in store.graphs() if g != graph}
    assert not any("/facets" in g for g in run.used)  # a derived graph, not read


def test_every_real_archive_together(loaded: dict[str, Store], tmp_path: Path) -> None:
    """All the real archives in one store: one run, and the flags export answers for each."""
    store = OxigraphStore(tmp_path / "db")
    minter = Minter()
    for name in ARCHIVES:
        ingest_files(store, [REAL / name], minter=minter)
    report = infer(store, minter)
    assert report.undated > 0 and report.triples == store.count(inferences_graph(minter))
    out = io.StringIO()
    assert export_flags(store, minter, "all", out) == sum(report.flags.values())
