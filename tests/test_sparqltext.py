"""Query parameters bound as a leading VALUES block (collectomics.store.sparqltext), and where not."""

from __future__ import annotations

from collectomics.model import IRI, Literal
from collectomics.store import OxigraphStore
from collectomics.store.sparqltext import leading_values, unprojected

P1, P2 = IRI("https://ex.org/p1"), IRI("https://ex.org/p2")
DATA = """
<https://ex.org/s1> <https://ex.org/by> <https://ex.org/p1> .
<https://ex.org/s2> <https://ex.org/by> <https://ex.org/p1> .
<https://ex.org/s3> <https://ex.org/by> <https://ex.org/p2> .
"""
SUB = (
    "SELECT ?p (COUNT(?s) AS ?n) WHERE { { SELECT DISTINCT ?p ?s WHERE { ?s <https://ex.org/by> ?p } } }"
    " GROUP BY ?p"
)


def test_a_parameter_opens_the_where_group_except_around_a_subquery() -> None:
    text = "SELECT ?p ?s WHERE { ?s <https://ex.org/by> ?p } # {"
    bound = leading_values(text, {"p": P1})
    assert bound is not None and bound.index("VALUES (?p) { (<https://ex.org/p1>) }") < bound.index(
        "?s <"
    )
    assert leading_values(SUB, {"p": P1}) is None  # a VALUES outside would not bind the subquery
    assert leading_values("CONSTRUCT WHERE { ?s ?p ?o }", {"s": P1}) is None
    assert leading_values(text, {"p": Literal("x")}) is not None


def test_the_store_answers_the_same_either_way() -> None:
    store = OxigraphStore()
    store.replace_graph("https://ex.org/g", DATA.encode(), "ntriples")
    rows = store.query(SUB, params={"p": P1}).rows()
    assert [(str(r["p"]), r["n"].value) for r in rows] == [(str(P1), "2")]  # type: ignore[union-attr]
    flat = store.query("SELECT ?p ?s WHERE { ?s <https://ex.org/by> ?p }", params={"p": P2}).rows()
    assert [str(r["s"]) for r in flat] == ["https://ex.org/s3"]


def test_a_parameter_must_be_projected() -> None:
    assert unprojected("SELECT (COUNT(?s) AS ?n) WHERE { ?s ?p ?o }", ["s"]) == ["s"]
    assert unprojected("SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s", ["s"]) == []
    assert unprojected("SELECT * WHERE { ?s ?p ?o }", ["s"]) == []
    assert unprojected("ASK { ?s ?p ?o }", ["s"]) == []
