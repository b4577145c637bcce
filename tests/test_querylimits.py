"""The scan that refuses queries the SPARQL parser could not survive (``collectomics.store.querylimits``):
every real query passes, what it skips (strings, IRIs, comments, VALUES data) never counts, the
error says where and which setting, and the endpoint answers 400 for queries and updates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collectomics.config import load_settings
from collectomics.store import Store
from collectomics.store.querylimits import DEFAULT, QueryLimits, QueryTooComplex, check
from collectomics.web import create_app
from helpers import new_store

ROOT = Path(__file__).resolve().parent.parent


def _real_queries() -> list[tuple[str, str]]:
    """Every query the project ships or documents: canned queries and the docs' SPARQL blocks."""
    found = [(p.name, p.read_text("utf-8")) for p in sorted((ROOT / "queries").glob("*.rq"))]
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for i, block in enumerate(re.findall(r"```sparql\n(.*?)```", doc.read_text("utf-8"), re.S)):
            found.append((f"{doc.name}#{i}", block))
    return found


def test_every_real_query_passes_the_default_limits_with_room() -> None:
    queries = _real_queries()
    assert len(queries) > 20
    half = QueryLimits(DEFAULT.max_depth // 2, DEFAULT.max_patterns // 2)
    for name, text in queries:
        try:
            check(text, half)  # a query twice as large would still pass
        except QueryTooComplex as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_what_is_skipped_never_counts() -> None:
    tight = QueryLimits(3, 10)
    literal = '"' + "{[(" * 500 + ". ; , / |" * 50 + '"'
    check(f"SELECT * WHERE {{ ?s ?p {literal} }}", tight)
    check(f"SELECT * WHERE {{ ?s ?p '''{literal[1:-1]}\n''' }}", tight)
    check("SELECT * WHERE { ?s ?p ?o }\n# " + "{" * 500 + "\n", tight)
    check("SELECT * WHERE { ?s <http://e/a.b;c,d/e> ?o }", tight)
    values = " ".join(f"(<http://e/{i}> {i}.5 'x{i}')" for i in range(5000))
    check(f"SELECT * WHERE {{ VALUES (?a ?b ?c) {{ {values} }} ?a ?p ?b }}", tight)
    check(
        "SELECT * WHERE { ?s ?p ?o FILTER(?o IN (" + ", ".join(map(str, range(5000))) + ")) }",
        tight,
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("SELECT * WHERE {\n  " + "{" * 5 + "?s ?p ?o" + "}" * 5 + "}", "line 2, column 6"),
        ("ASK { " + " . ".join(["?s ?p ?o"] * 12) + " }", "max_query_patterns"),
        ("ASK { ?s " + "/".join(["<http://e/p>"] * 12) + " ?o }", "more than 10 patterns"),
        (
            "ASK { ?s <http://e/p> " + "[ <http://e/p> " * 4 + "1" + " ]" * 4 + " }",
            "max_query_depth",
        ),
    ],
)
def test_the_error_says_where_and_which_setting(text: str, message: str) -> None:
    with pytest.raises(QueryTooComplex) as caught:
        check(text, QueryLimits(4, 10))
    assert message in str(caught.value)


@pytest.mark.parametrize("opener", ["(", "["])
def test_brackets_between_less_than_and_greater_than_count(opener: str) -> None:
    """``?a<((((1))))>?a`` looks like an IRI but Oxigraph reads ``<`` as "less than" in an
    expression: 5,000 brackets there passed the scan and crashed the parser's process. An IRI
    that really holds brackets still passes."""
    closer = {"(": ")", "[": "]"}[opener]
    deep = "SELECT * WHERE { FILTER(?a<" + opener * 5000 + "1" + closer * 5000 + ">?a) }"
    with pytest.raises(QueryTooComplex, match="max_query_depth"):
        check(deep)
    check("SELECT * WHERE { <http://example.org/a(b)[c]> ?p ?o }")


def test_zero_means_no_limit() -> None:
    check("ASK " + "{" * 5000 + "}" * 5000, QueryLimits(0, 0))


def test_the_endpoint_refuses_deep_queries_and_updates_with_400(
    request: pytest.FixtureRequest,
) -> None:
    store: Store = new_store(request)
    settings = load_settings(
        environ={
            "COLLECTOMICS_ALLOW_UPDATES": "true",
            "COLLECTOMICS_UPDATE_TOKEN": "t",
            "COLLECTOMICS_MAX_QUERY_DEPTH": "8",
        }
    )
    client = create_app(settings, store=store).test_client()
    deep = "{" * 9 + "?s ?p ?o" + "}" * 9
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE " + deep})
    assert r.status_code == 400 and "max_query_depth" in r.text
    r = client.post(
        "/sparql",
        data={"update": "INSERT { <a:b> <a:c> 1 } WHERE " + deep},
        headers={"Authorization": "Bearer t"},
    )
    assert r.status_code == 400 and "max_query_depth" in r.text, r.text
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE " + deep[1:-1]})
    assert r.status_code == 200
