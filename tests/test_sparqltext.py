"""Query parameters bound as a leading VALUES block (collectomics.store.sparqltext), and where not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collectomics.model import IRI, Literal
from collectomics.store import OxigraphStore
from collectomics.store.remote import bind
from collectomics.store.sparqltext import leading_values, read_query, tokens, unprojected

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


# -- the one tokenizer, over the project's own canned queries --------------------------------------

QUERIES = sorted((Path(__file__).resolve().parent.parent / "queries").glob("*.rq"))
_BETWEEN = re.compile(r"(?:\s|#[^\n]*)*")


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_tokens_cover_every_query_in_order(path: Path) -> None:
    """Tokens come in order, each the text it spans, and only whitespace and comments lie
    between them: nothing of a query is skipped or read twice."""
    text = path.read_text("utf-8")
    end = 0
    for tok in tokens(text):
        assert _BETWEEN.fullmatch(text[end : tok.start]), (path.name, text[end : tok.start])
        assert tok.end > tok.start and text[tok.start : tok.end] == tok.value
        end = tok.end
    assert _BETWEEN.fullmatch(text[end:]), path.name
    assert read_query(text).form in {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_both_backends_bind_parameters_at_the_same_place(path: Path) -> None:
    """The embedded store's leading VALUES block and the remote store's bound VALUES block
    open the same group of every canned query that takes parameters (read by one tokenizer)."""
    text = path.read_text("utf-8")
    names = re.findall(r"^# param: (\w+)", text, re.M)
    params = {name: IRI(f"https://example.org/{name}") for name in names}
    embedded = leading_values(text, params) if params else None
    if embedded is None:  # no parameter, or a form or subquery VALUES cannot open
        return
    remote = bind(text, params)
    at = next(i for i, (a, b) in enumerate(zip(text, remote, strict=False)) if a != b)
    assert text[at - 1] == "{" and remote[at:].startswith(" VALUES ("), path.name
    assert embedded[:at] == text[:at] and embedded[at:].startswith("\nVALUES ("), path.name
