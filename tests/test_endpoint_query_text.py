"""Reading a query's form and FROM clauses by tokens: strings, IRIs and comments never count."""

from __future__ import annotations

import pytest

from collectomics.endpoint import read_query
from collectomics.queries import list_queries
from collectomics.sparqlcheck import (
    GraphRefused,
    NotADataset,
    ServiceRefused,
    check_services,
    has_relative_iri,
    plan_update,
    service_targets,
)


def test_from_clauses_with_prefixes_and_base() -> None:
    q = read_query(
        "BASE <http://ex.org/>\nPREFIX g: <http://ex.org/g/>\n"
        "SELECT * FROM g:one FROM NAMED <two> WHERE { ?s ?p ?o }"
    )
    assert q.form == "SELECT"
    assert q.from_graphs == ["http://ex.org/g/one"]
    assert q.from_named == ["http://ex.org/two"]
    assert "FROM" not in q.without_dataset and "WHERE { ?s ?p ?o }" in q.without_dataset


def test_construct_template_comes_before_from() -> None:
    q = read_query("CONSTRUCT { ?s ?p ?o } FROM <urn:g> WHERE { ?s ?p ?o }")
    assert q.form == "CONSTRUCT" and q.from_graphs == ["urn:g"]


def test_keywords_in_strings_comments_and_subqueries_do_not_count() -> None:
    q = read_query(
        '# DELETE everything FROM <urn:no>\nSELECT ?x { ?x ?p "FROM <urn:no> INSERT" '
        "{ SELECT ?x { ?x ?p ?o } } }"
    )
    assert q.form == "SELECT" and not q.looks_like_update and q.from_graphs == []
    q = read_query("PREFIX a: <urn:a:>\n  # a comment\n  insert data { a:b a:c a:d }")
    assert q.looks_like_update and q.form is None
    q = read_query('SELECT ("""FROM <urn:x>\n""" AS ?y) {}')
    assert q.from_graphs == []


# -- what a public endpoint checks (collectomics.sparqlcheck) -----------------------------------


def test_service_is_found_in_every_keyword_position_and_nowhere_else() -> None:
    found = service_targets(
        "PREFIX e: <http://e.org/>\nBASE <http://b.org/dir/>\n"
        '# SERVICE <http://comment.org/>\nSELECT ?service { ?s <http://x/SERVICE> "SERVICE <http://s/>" '
        "service <http://one/> {} SERVICE SILENT e:two {} Service <three> {} SERVICE ?v {} "
        "SERVICE <http://f\\u006fur/> {} }"
    )
    assert found == [
        "http://one/",
        "http://e.org/two",
        "http://b.org/dir/three",
        None,
        "http://four/",
    ]


def test_no_canned_query_and_no_plain_query_is_refused_or_changed() -> None:
    """Over every bundled canned query: no SERVICE, no relative IRI (the endpoint adds a BASE
    only where one is missing)."""
    queries = list_queries()
    assert len(queries) > 10
    for q in queries:
        assert check_services(q.text, frozenset()) == [], q.name
        assert not has_relative_iri(q.text), q.name
    assert has_relative_iri("CONSTRUCT { <a> <b> ?o } WHERE { ?s ?p ?o }")
    assert not has_relative_iri("BASE <http://x/> CONSTRUCT { <a> <b> ?o } WHERE { ?s ?p ?o }")


def test_an_unlisted_or_variable_endpoint_is_refused() -> None:
    allowed = frozenset({"http://ok.org/sparql"})
    assert check_services("ASK { SERVICE <http://ok.org/sparql> {} }", allowed) == [
        "http://ok.org/sparql"
    ]
    for query in (
        "ASK { SERVICE <http://ok.org/sparql2> {} }",
        "ASK { SERVICE ?e {} }",
        "ASK { SERVICE <http://ok.org/sparql> {} SERVICE <http://127.0.0.1:8080/> {} }",
        "ASK { SERVICE",
    ):
        with pytest.raises(ServiceRefused, match="federation_endpoints"):
            check_services(query, allowed)


DATASETS = {"urn:g:1": "urn:g:1/v3", "http://e.org/g": "http://e.org/g"}


@pytest.mark.parametrize(
    ("update", "error"),
    [
        ("DROP GRAPH <urn:collectomics:catalog>", GraphRefused),
        ("CLEAR SILENT ALL", GraphRefused),
        ("drop named", GraphRefused),
        (
            "PREFIX c: <urn:collectomics:> INSERT DATA { GRAPH c:catalog { <a:b> <a:c> <a:d> } }",
            GraphRefused,
        ),
        ("DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }", GraphRefused),
        ("LOAD <http://127.0.0.1/x.ttl> INTO GRAPH <urn:g:1>", GraphRefused),
        ("INSERT DATA { GRAPH <urn:g:2> { <a:b> <a:c> <a:d> } }", NotADataset),
        ("INSERT DATA { <a:b> <a:c> <a:d> . GRAPH <urn:g:1> { <a:b> <a:c> <a:e> } }", NotADataset),
        ("CREATE GRAPH <urn:g:1>", NotADataset),
        ("MOVE <urn:g:1> TO DEFAULT", NotADataset),
    ],
)
def test_updates_that_touch_the_catalog_or_no_dataset(update: str, error: type) -> None:
    with pytest.raises(error):
        plan_update(update, DATASETS)


def test_updates_are_written_to_the_current_version() -> None:
    assert (
        plan_update(
            "PREFIX g: <urn:g:> INSERT DATA { GRAPH g:1 { <a:b> <a:c> 'GRAPH <urn:g:1>' } }",
            DATASETS,
        )
        == "PREFIX g: <urn:g:> INSERT DATA { GRAPH <urn:g:1/v3> { <a:b> <a:c> 'GRAPH <urn:g:1>' } }"
    )
    assert (
        plan_update("WITH <urn:g:1> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", DATASETS)
        == "WITH <urn:g:1/v3> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"
    )
    assert (
        plan_update("COPY <urn:g:1> TO <http://e.org/g>; DROP SILENT GRAPH <urn:g:1>", DATASETS)
        == "COPY <urn:g:1/v3> TO <http://e.org/g>; DROP SILENT GRAPH <urn:g:1/v3>"
    )


SERVICE_SEEDS = [
    'SELECT * { ?s ?p "x" SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }',
    "SELECT * { # SERVICE <http://127.0.0.1:9/> { }\n ?s ?p ?o }",
    'SELECT * { ?s ?p """SERVICE <http://127.0.0.1:9/> {}""" }',
    "PREFIX e: <http://127.0.0.1:9/> SELECT * { SERVICE SILENT e:x { ?s ?p ?o } }",
    "BASE <http://127.0.0.1:9/> ASK { SERVICE <x> { } }",
    "SELECT * { ?s <http://127.0.0.1:9/SERVICE> ?o . SERVICE <http://127.0.0.1:9/> { } }",
    "SELECT * { ?s ?p '\\u0022' . SERVICE <http://127.0.0.1:\\u0039/> { } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { { SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } }",
]
PIECES = [
    '"',
    "'",
    "#",
    "<",
    ">",
    "\n",
    "\\u0022",
    "\\",
    "{",
    "}",
    "SERVICE ",
    " ",
    ".",
    '"""',
    "'''",
]


def test_no_query_oxigraph_would_send_passes_the_service_check() -> None:
    """Soundness against Oxigraph's own parser: seeded mutations of queries that hide SERVICE in
    strings, comments, IRIs and escapes. Whenever the store evaluates a SERVICE (to port 9,
    which its HTTP client refuses before connecting), the check found one."""
    import random

    from collectomics.errors import QueryError
    from collectomics.store import OxigraphStore

    rng = random.Random(20261206)
    store = OxigraphStore()
    evaluated = 0
    for _ in range(3000):
        chars = list(rng.choice(SERVICE_SEEDS))
        for _ in range(rng.randint(0, 4)):
            pos = rng.randint(0, len(chars))
            if rng.random() < 0.3 and chars:
                del chars[min(pos, len(chars) - 1)]
            else:
                chars[pos:pos] = list(rng.choice(PIECES))
        query = "".join(chars)
        found = service_targets(query)
        try:
            store.query(query)
            continue
        except QueryError as exc:
            if "port 9" not in str(exc):
                continue
        evaluated += 1
        assert found, query
        with pytest.raises(ServiceRefused):
            check_services(query, frozenset())
    assert evaluated > 50  # the run did reach queries that call SERVICE (104 of 3,000)
