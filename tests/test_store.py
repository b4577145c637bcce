"""The store: atomic replace, isolation between datasets, bound parameters, dump/restore."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Dataset
from rdflib.compare import isomorphic

from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, XSD, Literal
from collectomics.store import OxigraphStore, Store
from helpers import run_cli

G1, G2 = "https://example.org/graph/one", "https://example.org/graph/two"
DATA1 = '<https://ex.org/a> <https://ex.org/p> "one" .\n<https://ex.org/a> <https://ex.org/q> _:b .\n_:b <https://ex.org/p> "x" .\n'
DATA2 = '<https://ex.org/a> <https://ex.org/p> "two"@en .\n<https://ex.org/c> <https://ex.org/n> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'


def _loaded(store: Store) -> Store:
    store.replace_graph(G1, DATA1, "ntriples")
    store.replace_graph(G2, DATA2, "ntriples")
    return store


def test_replace_leaves_other_datasets_untouched(store: Store) -> None:
    _loaded(store)
    before = io.BytesIO()
    store.dump(before)
    count = store.replace_graph(G1, '<https://ex.org/z> <https://ex.org/p> "new" .\n', "ntriples")
    assert count == 1
    assert store.count(G2) == 2
    rows = list(store.query("SELECT ?o WHERE { ?s ?p ?o }", default_graphs=[G2]).rows())
    assert {r["o"] for r in rows} == {
        Literal("two", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "en"),
        Literal("3", XSD + "integer"),
    }
    assert store.graphs() == [G1, G2]


def test_failed_replace_keeps_the_old_graph(store: Store) -> None:
    _loaded(store)
    with pytest.raises(StoreError, match="cannot parse"):
        store.replace_graph(G1, '<https://ex.org/a> <https://ex.org/p> "broken .\n', "ntriples")
    assert store.count(G1) == 3
    assert store.graphs() == [G1, G2]  # no staging graph left behind


def test_a_dataset_is_never_named_as_another_datasets_version(store: Store) -> None:
    """``d/v1`` is how the store names a later version of ``d``: a dataset of that name was read
    as one, and replacing or removing ``d`` emptied it. Such a name is refused, on every store,
    before anything is written, and ``d`` is replaced and removed as before."""
    _loaded(store)
    store.replace_graph(G1, DATA2, "ntriples")  # G1's data now in a later version
    for name in (G1 + "/v1", G1 + "/v2", G1 + "/v3", "https://example.org/other/v7"):
        with pytest.raises(StoreError, match="later versions"):
            store.replace_graph(name, DATA1, "ntriples")
        with pytest.raises(StoreError, match="later versions"):
            store.add(name, DATA1, "ntriples")
    assert store.graphs() == [G1, G2] and store.count(G1) == 2
    assert store.remove_graph(G1) and store.graphs() == [G2] and store.count(G2) == 2


def test_remove_dataset(store: Store) -> None:
    _loaded(store)
    assert store.remove_graph(G1) is True
    assert store.graphs() == [G2]
    assert store.remove_graph(G1) is False


def test_dump_round_trips_on_disk(tmp_path: Path, make_store: Callable[..., Store]) -> None:
    """On disk (each store on a server of its own under a backend)."""
    for fmt in ("nquads", "trig"):
        src = make_store(tmp_path / f"src-{fmt}.db")
        _loaded(src)
        dump = tmp_path / f"dump.{fmt}"
        src.dump(str(dump), fmt)
        src.close()
        dst = make_store(tmp_path / f"dst-{fmt}.db")
        dst.replace_graph("https://example.org/old", DATA1, "ntriples")  # replaced by restore
        dst.restore(dump, fmt)
        assert dst.graphs() == [G1, G2]
        a, b = Dataset(), Dataset()
        a.parse(data=dump.read_bytes(), format=fmt)
        out = io.BytesIO()
        dst.dump(out, "nquads")
        b.parse(data=out.getvalue(), format="nquads")
        for g in (G1, G2):
            assert isomorphic(a.graph(IRI(g)), b.graph(IRI(g))), f"{fmt}: graph {g} differs"
        dst.close()


def test_restore_of_a_broken_dump_changes_nothing(store: Store, tmp_path: Path) -> None:
    _loaded(store)
    bad = tmp_path / "bad.nq"
    bad.write_text('<https://ex.org/a> <https://ex.org/p> "x" <g> .\n<broken\n')
    with pytest.raises(StoreError):
        store.restore(bad)
    assert store.count() == 5


def test_parameters_are_bound_not_spliced(store: Store) -> None:
    _loaded(store)
    q = "SELECT ?s ?o WHERE { ?s <https://ex.org/p> ?o }"
    rows = list(store.query(q, params={"s": IRI("https://ex.org/a")}).rows())
    assert {r["o"].value for r in rows} == {"one", "two"}  # type: ignore[union-attr]
    hostile = Literal('x" } ; DROP ALL ; SELECT * WHERE { ?s ?p "')
    assert list(store.query(q, params={"o": hostile}).rows()) == []
    assert store.count() == 5


def test_query_errors_are_query_errors(store: Store) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        store.query("SELEC ?x WHERE {}")
    with pytest.raises(QueryError, match="projection"):
        store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", params={"s": IRI("https://ex.org/a")}
        )


def test_result_formats(store: Store) -> None:
    _loaded(store)
    select = store.query("SELECT ?o WHERE { <https://ex.org/c> ?p ?o }")
    assert b'"3"' in select.serialize("json") or b'"value":"3"' in select.serialize("json")
    assert store.query("ASK { ?s ?p ?o }").boolean is True
    construct = store.query(
        "CONSTRUCT { ?s <https://ex.org/n> ?o } WHERE { ?s <https://ex.org/n> ?o }"
    )
    assert construct.serialize("ntriples").strip().endswith(b".")
    with pytest.raises(QueryError, match="does not fit"):
        construct.serialize("csv")


@pytest.mark.embedded_only("a read-only open of a directory that does not exist")
def test_read_only_handle_on_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here yet"):
        OxigraphStore(tmp_path / "absent.db", read_only=True)


@pytest.mark.embedded_only("a table file of the store's directory is deleted")
@pytest.mark.parametrize("read_only", [True, False])
def test_a_damaged_store_gives_one_clear_error(tmp_path: Path, read_only: bool) -> None:
    """A store directory missing one of its table files (a bad copy, a full disk, or a writer
    compacting under a read-only open) is a StoreError naming the store, not RocksDB's
    RuntimeError; the command says so in one line."""
    path = tmp_path / "damaged.db"
    with OxigraphStore(path) as store:
        lines = "".join(f'<https://ex.org/s{i}> <https://ex.org/p> "{i}" .\n' for i in range(2000))
        store.replace_graph(G1, lines, "ntriples")
    sorted(path.glob("*.sst"))[0].unlink()
    with pytest.raises(StoreError, match="cannot open store: .*No such file") as caught:
        OxigraphStore(path, read_only=read_only)
    assert caught.value.context["path"] == str(path)
    r = run_cli("stats", store=path)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "cannot open store" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_versions_and_catalog(store: Store) -> None:
    _loaded(store)
    assert store.physical_graph(G1) == G1
    store.replace_graph(G1, '<https://ex.org/z> <https://ex.org/p> "v2" .\n', "ntriples")
    assert store.physical_graph(G1) == G1 + "/v2"
    rows = list(store.query("SELECT ?g WHERE { GRAPH ?g { <https://ex.org/z> ?p ?o } }").rows())
    assert [r["g"] for r in rows] == [IRI(G1 + "/v2")]
    store.replace_graph(G1, '<https://ex.org/z> <https://ex.org/p> "v3" .\n', "ntriples")
    assert store.physical_graph(G1) == G1 + "/v3"
    assert store.count() == 3  # v3 (1) + G2 (2): old versions are gone
    out = io.BytesIO()
    store.dump(out)
    assert f"<{G1}> .".encode() in out.getvalue() and b"/v3" not in out.getvalue()


def test_interrupted_load_is_invisible_and_cleaned(store: Store) -> None:
    _loaded(store)
    # what a load killed half-way leaves: a version that the catalog does not list
    store.update(
        f'INSERT DATA {{ GRAPH <{G1}/v7> {{ <https://ex.org/half> <https://ex.org/p> "x" }} }}'
    )
    assert store.count() == 5
    assert (
        list(store.query("SELECT ?s WHERE { ?s ?p ?o FILTER(?s = <https://ex.org/half>) }").rows())
        == []
    )
    store.replace_graph(G1, DATA1, "ntriples")
    rows = store.query(
        "ASK { GRAPH ?g { <https://ex.org/half> ?p ?o } }", named_graphs=[G1 + "/v7"]
    )
    assert rows.boolean is False  # removed by the next load of that dataset


def test_streamed_replace(store: Store) -> None:
    _loaded(store)

    def produce(out: io.BufferedWriter) -> None:
        for i in range(10_000):
            out.write(f'<https://ex.org/s{i}> <https://ex.org/p> "{i}" .\n'.encode())

    assert store.replace_graph_stream(G1, produce) is None  # counting is the caller's choice
    assert store.count(G1) == 10_000
    assert store.count(G2) == 2


def test_streamed_replace_failures_keep_the_old_graph(store: Store) -> None:
    _loaded(store)

    def fails(out: io.BufferedWriter) -> None:
        out.write(b'<https://ex.org/s> <https://ex.org/p> "1" .\n' * 1000)
        raise ValueError("mapping broke")

    with pytest.raises(ValueError, match="mapping broke"):
        store.replace_graph_stream(G1, fails)

    def garbage(out: io.BufferedWriter) -> None:
        out.write(b'<https://ex.org/s> <https://ex.org/p> "1" .\n' * 100_000 + b"not n-triples\n")
        out.write(b'<https://ex.org/s> <https://ex.org/p> "1" .\n' * 100_000)

    with pytest.raises(StoreError, match="cannot parse"):
        store.replace_graph_stream(G1, garbage)
    assert store.count(G1) == 3 and store.physical_graph(G1) == G1
    assert store.query("ASK { GRAPH ?g { ?s ?p ?o } }", named_graphs=[G1 + "/v2"]).boolean is False
