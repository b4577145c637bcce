"""The embedded store's reads over Oxigraph's union default graph, and its compaction after loads.

Properties over the real archives in tests/data/real, each ingested as its own dataset (one of
them replaced, so that versions were switched and collected): the union of every graph in the
store directory is exactly the current datasets (no catalog, no old version), so that
``OxigraphStore.query`` and a plain ``oxigraph serve --union-default-graph`` answer alike; a
snapshot that holds anything else (a staged version, a foreign graph, default-graph triples)
falls back to listing the current versions and hides it; a store in the older layout (catalog
triples in a named graph) reads right and is converted on its first writable open; and a store
that `ingest` wrote is left compacted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from collectomics.ingest import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.store import CATALOG, OxigraphStore, is_internal_graph
from helpers import REAL

pytestmark = pytest.mark.embedded_only("the embedded store's own layout on disk")

ARCHIVES = {
    "rgbif-2014": REAL / "rgbif-gbif-downloads/0000066-140928181241064.zip",
    "finch-2015": REAL / "finch-gbif-download-2015/0000154-150116162929234.zip",
    "pydwca": REAL / "pydwca-gbif-results/gbif-results.zip",
    "dwca-io-occ": REAL / "dwca-io-fixtures/archive-occ.zip",
    "plazi": REAL / "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip",
}
PER_PREDICATE = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real archive its own dataset; the first replaced once (a /v2 version)."""
    path = tmp_path_factory.mktemp("union") / "store.db"
    minter = Minter("https://w3id.org/collectomics/")
    with OxigraphStore(path) as store:
        for name, archive in ARCHIVES.items():
            ingest_dataset(store, DatasetSpec(name, (archive,)), minter=minter)
        first = next(iter(ARCHIVES))
        ingest_dataset(store, DatasetSpec(first, (ARCHIVES[first],)), minter=minter, replace=True)
    return path


def _per_predicate(result: object) -> dict[str, int]:
    return {str(r["p"]): int(r["n"].value) for r in result.rows()}  # type: ignore[attr-defined]


def _raw_per_predicate(raw: ox.Store) -> dict[str, int]:
    return {
        s["p"].value: int(s["n"].value)
        for s in raw.query(PER_PREDICATE, use_default_graph_as_union=True)
    }


def test_the_union_of_all_graphs_is_exactly_the_current_datasets(real_store: Path) -> None:
    with OxigraphStore(real_store, read_only=True) as store:
        graphs = store.graphs()
        assert len(graphs) == len(ARCHIVES)
        assert any(store.physical_graph(g) != g for g in graphs)  # a replaced dataset
        listed = _per_predicate(store.query(PER_PREDICATE, default_graphs=graphs))
        ours = _per_predicate(store.query(PER_PREDICATE))
        total = sum(store.count(g) for g in graphs)
    raw = ox.Store.read_only(str(real_store))
    union = _raw_per_predicate(raw)
    # what `oxigraph serve --union-default-graph` would answer on this directory
    assert union == listed == ours
    assert sum(union.values()) == total
    assert not any(p.startswith("urn:collectomics:") for p in union)
    names = {g.value for g in raw.named_graphs()}
    data = {g for g in names if not is_internal_graph(g)}
    assert len(data) == len(ARCHIVES) and CATALOG not in names


def test_a_snapshot_with_other_graphs_lists_the_current_versions(
    real_store: Path, tmp_path: Path
) -> None:
    """A staged version (a load killed half-way), a graph no dataset owns, triples in the
    default graph and triples in a catalog marker are in Oxigraph's union: a read-only handle
    that sees any one of them does not use it."""
    with OxigraphStore(real_store, read_only=True) as store:
        expected = _per_predicate(store.query(PER_PREDICATE))
        graph = store.graphs()[0]
    hidden = [
        f"GRAPH <{graph}/v9> {{ <urn:x:staged> <urn:x:p> 1 }}",  # a staged version
        "GRAPH <urn:x:foreign> { <urn:x:foreign> <urn:x:p> 2 }",  # an update's stray graph
        "<urn:x:default> <urn:x:p> 3",  # the default graph
        "GRAPH <urn:collectomics:garbage/x> { <urn:x:mark> <urn:x:p> 4 }",  # a catalog marker
    ]
    for i, extra in enumerate(hidden):
        path = tmp_path / f"copy{i}.db"
        subprocess.run(["cp", "-r", str(real_store), str(path)], check=True)
        with OxigraphStore(path) as store:
            store.update(f"INSERT DATA {{ {extra} }}")
        with OxigraphStore(path, read_only=True) as store:
            assert _per_predicate(store.query(PER_PREDICATE)) == expected, extra
            assert store.query("ASK { ?s <urn:x:p> ?o }").boolean is False
            assert store.query("ASK { GRAPH ?g { ?s <urn:x:p> ?o } }").boolean is False
        assert "urn:x:p" in _raw_per_predicate(ox.Store.read_only(str(path)))
    # The next load of that dataset removes its staged version.
    path = tmp_path / "copy0.db"
    with OxigraphStore(path) as store:
        store.replace_graph(graph, '<urn:x:s> <urn:x:q> "4" .\n', "ntriples")
        assert store.query("ASK { ?s <urn:x:p> ?o }").boolean is False
        assert store.count(graph) == 1
    with OxigraphStore(path, read_only=True) as store:
        assert store._only_current_graphs()


def test_a_store_in_the_catalog_graph_layout_reads_and_converts(tmp_path: Path) -> None:
    """Stores written before the marker graphs kept the catalog as triples in a named graph."""
    path = tmp_path / "old.db"
    g1, g2 = "https://example.org/graph/a", "https://example.org/graph/b"
    raw = ox.Store(str(path))
    raw.update(
        f"INSERT DATA {{ GRAPH <{g1}/v2> {{ <urn:x:s> <urn:x:p> 1 }} "
        f"GRAPH <{g1}> {{ <urn:x:s> <urn:x:p> 0 }} "  # replaced, marked for deletion
        f"GRAPH <{g2}> {{ <urn:x:s> <urn:x:p> 2, 3 }} "
        f"GRAPH <{CATALOG}> {{ <{g1}> <urn:collectomics:current> <{g1}/v2> . "
        f"<{g2}> <urn:collectomics:current> <{g2}> . "
        f"<{g1}> <urn:collectomics:garbage> true }} }}"
    )
    raw.flush()
    del raw
    with OxigraphStore(path, read_only=True) as store:
        assert store.graphs() == [g1, g2] and store.physical_graph(g1) == g1 + "/v2"
        assert store.count() == 3
        rows = store.query("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o").rows()
        assert [int(r["o"].value) for r in rows] == [1, 2, 3]  # type: ignore[union-attr]
    with OxigraphStore(path) as store:  # converted, and the marked version deleted
        assert store.graphs() == [g1, g2] and store.count() == 3
    raw = ox.Store.read_only(str(path))
    assert CATALOG not in {g.value for g in raw.named_graphs()}
    assert (
        sum(int(s["n"].value) for s in raw.query(PER_PREDICATE, use_default_graph_as_union=True))
        == 3
    )


def _tables(path: Path) -> dict[str, int]:
    return {e.name: e.stat().st_size for e in os.scandir(path) if e.name.endswith(".sst")}


def _rewritten_by_full_compaction(path: Path) -> float:
    """The share of the table bytes that a full compaction (pyoxigraph's optimize) rewrites."""
    before = _tables(path)
    raw = ox.Store(str(path))
    raw.optimize()
    raw.flush()
    del raw
    after = _tables(path)
    return sum(size for name, size in before.items() if name not in after) / sum(before.values())


def test_a_store_written_by_ingest_is_left_compacted(tmp_path: Path) -> None:
    """A full compaction of a store that `ingest` wrote has next to nothing left to rewrite
    (uncompacted: 72% of the bytes of these two archives; reads took twice as long as on a
    fresh load of the same quads, docs/performance.md). A background compaction may leave a
    few small files, hence a share rather than the same files."""
    path = tmp_path / "store.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    for name in ("dwca-io-occ", "finch-2015"):
        subprocess.run(
            [sys.executable, "-m", "collectomics", "--store", str(path), "ingest"]
            + [str(ARCHIVES[name]), "--dataset", name],
            check=True,
            capture_output=True,
            env=env,
        )
        assert _rewritten_by_full_compaction(path) < 0.05, name


def test_a_small_load_does_not_compact_a_large_store(
    real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load whose new table files are a small share of the store is not worth rewriting the
    whole store (3-6.4 s per million quads); a large one is."""
    path = tmp_path / "copy.db"
    subprocess.run(["cp", "-r", str(real_store), str(path)], check=True)
    calls: list[Path] = []
    compact = OxigraphStore.compact

    def counted(self: OxigraphStore) -> None:
        calls.append(path)
        compact(self)

    monkeypatch.setattr(OxigraphStore, "compact", counted)
    with OxigraphStore(path) as store:
        store.replace_graph(
            "https://example.org/graph/t", '<urn:x:s> <urn:x:p> "1" .\n', "ntriples"
        )
    assert calls == []
    with OxigraphStore(path) as store:
        minter = Minter("https://w3id.org/collectomics/")
        ingest_dataset(store, DatasetSpec("again", (ARCHIVES["dwca-io-occ"],)), minter=minter)
    assert calls == [path]
