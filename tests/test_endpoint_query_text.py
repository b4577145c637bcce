"""Reading a query's form and FROM clauses by tokens: strings, IRIs and comments never count."""

from __future__ import annotations

import pytest

from collectomics.services.endpoint import read_query
from collectomics.services.queries import list_queries
from collectomics.services.sparqlcheck import (
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


# -- what a public endpoint checks (collectomics.services.sparqlcheck) -----------------------------------


def test_service_is_found_in_every_keyword_position_and_nowhere_else() -> None:
    found = service_targets(
        "PREFIX e: <http://e.org/>\nBASE <http://b.org/dir/>\n"
        '# SERVICE <http://comment.org/>\nSELECT ?service { ?s <http://x/SERVICE> "SERVICE <http://s/>" '
        "service <http://one/> {} SERVICE SILENT e:two {} Service <three> {} SERVICE ?v {} "
        "SERVICE <http://f\\u006fur/> {} } SERVICESILENT<http://five/> {}"
    )
    assert found == [
        "http://one/",
        "http://e.org/two",
        "http://b.org/dir/three",
        None,
        "http://four/",
        "http://five/",
    ]
    assert service_targets("PREFIXe:<http://six/> SELECT * { SERVICE e:x {} }") == ["http://six/x"]
    assert service_targets("PREFIX e: <http://7/> SELECT*{SERVICEe:x{}}") == ["http://7/x"]
    assert service_targets("SELECT*{SERVICEsilentUnknown:x{}}") == [None]


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
        ("CLEARALL", GraphRefused),  # Oxigraph reads keywords written together
        ("DROPSILENTALL", GraphRefused),
        (
            "PREFIX c: <urn:collectomics:> DELETE WHERE { GRAPHc:catalog { ?s ?p ?o } }",
            GraphRefused,
        ),
        ("PREFIX c: <urn:collectomics:> DROPSILENTGRAPHc:catalog", GraphRefused),
        (
            "PREFIXc:<urn:collectomics:> INSERTDATA{GRAPH c:catalog{<a:b> <a:c> <a:d>}}",
            GraphRefused,
        ),
        ("INSERTDATA { <a:b> <a:c> <a:d> }", NotADataset),
        ("INSERT DATA { GRAPH u:x { <a:b> <a:c> <a:d> } }", NotADataset),
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
        # a prefix may start with any letter; the local part may hold escapes
        ("PREFIX éx: <urn:> DROP GRAPH éx:collectomics:catalog", GraphRefused),
        ("PREFIX e: <urn:g:> MOVE <urn:g:1> TO éx:collectomics:catalog", NotADataset),
        ("PREFIX e: <urn:g:> DROP GRAPH e:1\\/v3", NotADataset),  # urn:g:1/v3, not a dataset
        ("DROP GRAPH <urn:collectomics:current/urn%3Ag%3A1/urn%3Ag%3A1>", GraphRefused),
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
    "PREFIX e: <http://127.0.0.1:9/> SELECT*{SERVICE e:x{}}",
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
    "SERVICE",
    " ",
    ".",
    '"""',
    "'''",
]


def test_no_query_oxigraph_would_send_passes_the_service_check() -> None:
    """Soundness against Oxigraph's own parser: seeded mutations of queries that hide SERVICE in
    strings, comments, IRIs, escapes and keywords written together. Whenever the store calls a
    SERVICE (a socket of the test's on 127.0.0.1 sees a connection, SILENT or not), the check
    had found one and refuses the query."""
    import random

    from collectomics.errors import QueryError
    from collectomics.store import OxigraphStore
    from test_web import _Listener

    rng = random.Random(20261206)
    store = OxigraphStore()
    listener = _Listener()
    evaluated = 0
    try:
        for _ in range(3000):
            chars = list(
                rng.choice(SERVICE_SEEDS).replace("127.0.0.1:9", f"127.0.0.1:{listener.port}")
            )
            for _ in range(rng.randint(0, 4)):
                pos = rng.randint(0, len(chars))
                if rng.random() < 0.3 and chars:
                    del chars[min(pos, len(chars) - 1)]
                else:
                    chars[pos:pos] = list(rng.choice(PIECES))
            query = "".join(chars)
            found = service_targets(query)
            before = listener.connections
            try:
                store.query(query)
            except QueryError:
                pass
            if listener.connections == before:
                continue
            evaluated += 1
            assert found, query
            with pytest.raises(ServiceRefused):
                check_services(query, frozenset())
    finally:
        listener.close()
    assert evaluated > 50  # the run did reach queries that call SERVICE


UPDATE_SEEDS = [
    "INSERT DATA { GRAPH <urn:g:1> { <urn:a> <urn:b> <urn:c> } }",
    "DELETE WHERE { GRAPH <urn:collectomics:catalog> { ?s ?p ?o } }",
    "DROP GRAPH <urn:collectomics:catalog>",
    "CLEAR ALL",
    "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }",
    "PREFIX c: <urn:collectomics:> INSERT DATA { GRAPH c:catalog { <urn:a> <urn:b> <urn:c> } }",
    "WITH <urn:g:1> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "MOVE <urn:g:1> TO <urn:collectomics:catalog>",
    "COPY <urn:g:1> TO DEFAULT",
    "INSERT { GRAPH <urn:g:1> { ?s ?p 1 } } WHERE { GRAPH <urn:g:1> { ?s ?p ?o } }",
    "PREFIX c: <urn:collectomics:> DROP SILENT GRAPH c:catalog",
    "DROP SILENT ALL",
    "PREFIX c: <urn:collectomics:> DELETE WHERE { GRAPH c:catalog { ?s ?p ?o } }",
    "PREFIX g: <urn:g:> INSERT DATA { GRAPH g:1 { <urn:a> <urn:b> <urn:d> } }",
    "PREFIX éx: <urn:> DROP GRAPH éx:collectomics:catalog",
    "PREFIX e: <urn:g:> DROP SILENT GRAPH e:1\\/v2",
    "MOVE <urn:g:1> TO <urn:collectomics:current/x>",
    "DROP SILENT GRAPH <urn:collectomics:garbage/urn%3Ag%3A1>",
]
UPDATE_PIECES = [
    "<urn:collectomics:catalog>",
    "?g",
    "GRAPH ",
    "ALL",
    "DEFAULT",
    "{",
    "}",
    " ",
    "'",
    "#",
]


def test_no_update_that_passes_the_check_touches_the_catalog() -> None:
    """Soundness of ``plan_update`` against Oxigraph: seeded mutations of updates; every one the
    check lets through, run as planned on a store whose dataset lives in its second version,
    changes nothing but that version: no graph appears or goes (the catalog's marker graphs
    included), no quad changes elsewhere, the default graph stays empty."""
    import random

    from collectomics.errors import CollectomicsError
    from collectomics.store import OxigraphStore

    rng = random.Random(20261207)
    store = OxigraphStore()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "turtle")
    store.replace_graph("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "turtle")
    assert store._read_catalog() == {"urn:g:1": "urn:g:1/v2"}

    def outside_the_dataset() -> set[tuple[str, ...]]:
        """Every graph's name (markers of the catalog included) and every quad, but the
        dataset's current version's: what no update may change."""
        raw = store._store  # the pyoxigraph store itself
        names = {("graph", g.value) for g in raw.named_graphs()}
        quads = {
            (str(q.subject), str(q.predicate), str(q.object), str(q.graph_name))
            for q in raw.quads_for_pattern(None, None, None)
            if str(q.graph_name) != "<urn:g:1/v2>"
        }
        return names | quads

    before = outside_the_dataset()
    ran = 0
    for _ in range(2000):
        chars = list(rng.choice(UPDATE_SEEDS))
        for _ in range(rng.randint(0, 3)):
            pos = rng.randint(0, len(chars))
            if rng.random() < 0.3 and chars:
                del chars[min(pos, len(chars) - 1)]
            else:
                chars[pos:pos] = list(rng.choice(UPDATE_PIECES))
        update = "".join(chars)
        try:
            planned = plan_update(update, {g: store.physical_graph(g) or g for g in store.graphs()})
        except CollectomicsError:
            continue
        try:
            store.update(planned)
        except CollectomicsError:
            continue
        ran += 1
        assert outside_the_dataset() == before, update
    assert ran > 100


def test_a_long_glued_word_after_service_is_read_in_linear_time() -> None:
    """``SERVICE ALLALL...:x`` and ``SERVICEALLALL...`` (20,000 repeats): the keyword splitting
    recursed once per glued keyword (a RecursionError past ~1,000, seconds of CPU before it, on
    a request no time limit covered); it is one bounded pass now, and the query is refused."""
    for query in (
        "SELECT * WHERE { SERVICE " + "ALL" * 20_000 + ":x { } }",
        "SELECT * WHERE { SERVICE" + "ALL" * 20_000 + " { } }",
    ):
        with pytest.raises(ServiceRefused):
            check_services(query, frozenset())
