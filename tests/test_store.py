"""The store: atomic replace, isolation between datasets, bound parameters, dump/restore."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rdflib import Dataset
from rdflib.compare import isomorphic

from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, XSD, Literal
from collectomics.store import OxigraphStore

G1, G2 = "https://example.org/graph/one", "https://example.org/graph/two"
DATA1 = '<https://ex.org/a> <https://ex.org/p> "one" .\n<https://ex.org/a> <https://ex.org/q> _:b .\n_:b <https://ex.org/p> "x" .\n'
DATA2 = '<https://ex.org/a> <https://ex.org/p> "two"@en .\n<https://ex.org/c> <https://ex.org/n> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'


def _loaded(store: OxigraphStore) -> OxigraphStore:
    store.replace_graph(G1, DATA1, "ntriples")
    store.replace_graph(G2, DATA2, "ntriples")
    return store


def test_replace_leaves_other_datasets_untouched(store: OxigraphStore) -> None:
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


def test_failed_replace_keeps_the_old_graph(store: OxigraphStore) -> None:
    _loaded(store)
    with pytest.raises(StoreError, match="cannot parse"):
        store.replace_graph(G1, '<https://ex.org/a> <https://ex.org/p> "broken .\n', "ntriples")
    assert store.count(G1) == 3
    assert store.graphs() == [G1, G2]  # no staging graph left behind


def test_remove_dataset(store: OxigraphStore) -> None:
    _loaded(store)
    assert store.remove_graph(G1) is True
    assert store.graphs() == [G2]
    assert store.remove_graph(G1) is False


def test_dump_round_trips_on_disk(tmp_path: Path) -> None:
    for fmt in ("nquads", "trig"):
        src = OxigraphStore(tmp_path / f"src-{fmt}.db")
        _loaded(src)
        dump = tmp_path / f"dump.{fmt}"
        src.dump(str(dump), fmt)
        src.close()
        dst = OxigraphStore(tmp_path / f"dst-{fmt}.db")
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


def test_restore_of_a_broken_dump_changes_nothing(store: OxigraphStore, tmp_path: Path) -> None:
    _loaded(store)
    bad = tmp_path / "bad.nq"
    bad.write_text('<https://ex.org/a> <https://ex.org/p> "x" <g> .\n<broken\n')
    with pytest.raises(StoreError):
        store.restore(bad)
    assert store.count() == 5


def test_parameters_are_bound_not_spliced(store: OxigraphStore) -> None:
    _loaded(store)
    q = "SELECT ?s ?o WHERE { ?s <https://ex.org/p> ?o }"
    rows = list(store.query(q, params={"s": IRI("https://ex.org/a")}).rows())
    assert {r["o"].value for r in rows} == {"one", "two"}  # type: ignore[union-attr]
    hostile = Literal('x" } ; DROP ALL ; SELECT * WHERE { ?s ?p "')
    assert list(store.query(q, params={"o": hostile}).rows()) == []
    assert store.count() == 5


def test_query_errors_are_query_errors(store: OxigraphStore) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        store.query("SELEC ?x WHERE {}")
    with pytest.raises(QueryError, match="projection"):
        store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", params={"s": IRI("https://ex.org/a")}
        )


def test_result_formats(store: OxigraphStore) -> None:
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


def test_read_only_handle_on_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here yet"):
        OxigraphStore(tmp_path / "absent.db", read_only=True)
