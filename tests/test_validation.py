"""Validation at the store's speed (issue 22): the shapes run as SPARQL queries in the store.

The fast path must give pySHACL's answers: the same focus nodes, paths, values, severities,
messages and shapes, on every graph in tests/data/shapes, on each broken variant of the valid
graph (tests/test_shapes.py and the cardinality cases here), on the demo and on a real GBIF
download. Each new cardinality shape fails a broken graph for its own rule; every real archive
of the corpus conforms; a constraint the translator cannot express goes to pySHACL alone, and
the report says so; the same queries run on an `oxigraph serve` server.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.services import validation
from collectomics.services.validation import (
    ValidationReport,
    ValidationResult,
    plan,
    validate_store,
    validate_text,
)
from collectomics.store import Store
from helpers import REAL, REAL_ARCHIVES, StoreLocation, _store_args, run_cli
from remote_servers import lease, new_store
from test_shapes import BROKEN, GRAPH, VALID, edit

DATA = Path(__file__).parent / "data" / "shapes"
COLSH = "https://w3id.org/collectomics/shapes#"
COL = "https://w3id.org/collectomics/ontology#"
DWC = "http://rs.tdwg.org/dwc/terms/"
DSW = "http://purl.org/dsw/"
SPEC = "https://w3id.org/collectomics/specimen/test/"

LOCATION = 'dwc:decimalLatitude "41.77"^^xsd:decimal ;'
EVENT_DATES = 'col:earliestDate "1905-06-14"^^xsd:date ;'
SPECIMEN = 'dwc:institutionCode "TEST" ;'

# id, old text, new text (one textual edit of valid.ttl), shape, focus node, path, rule tag
CARDINALITY = [
    (
        "two-latitudes",
        LOCATION,
        LOCATION + '\n    dwc:decimalLatitude "41.78"^^xsd:decimal ;',
        "OneLatitude",
        "s1-location",
        DWC + "decimalLatitude",
        "[one-coordinate-pair]",
    ),
    (
        "two-longitudes",
        LOCATION,
        LOCATION + '\n    dwc:decimalLongitude "2.41"^^xsd:decimal ;',
        "OneLongitude",
        "s1-location",
        DWC + "decimalLongitude",
        "[one-coordinate-pair]",
    ),
    (
        "two-datums",
        LOCATION,
        LOCATION + '\n    dwc:geodeticDatum "WGS84", "EPSG:4326" ;',
        "OneGeodeticDatum",
        "s1-location",
        DWC + "geodeticDatum",
        "[one-coordinate-pair]",
    ),
    (
        "two-uncertainties",
        LOCATION,
        LOCATION + "\n    dwc:coordinateUncertaintyInMeters 10, 100 ;",
        "OneCoordinateUncertainty",
        "s1-location",
        DWC + "coordinateUncertaintyInMeters",
        "[one-coordinate-pair]",
    ),
    (
        "two-earliest-dates",
        EVENT_DATES,
        EVENT_DATES + '\n    col:earliestDate "1905-06-01"^^xsd:date ;',
        "OneEarliestDate",
        "s1-event",
        COL + "earliestDate",
        "[one-date-range]",
    ),
    (
        "two-latest-dates",
        EVENT_DATES,
        EVENT_DATES + '\n    col:latestDate "1905-06-30"^^xsd:date ;',
        "OneLatestDate",
        "s1-event",
        COL + "latestDate",
        "[one-date-range]",
    ),
    (
        "two-institution-codes",
        SPECIMEN,
        'dwc:institutionCode "TEST", "TEST2" ;',
        "OneInstitutionCode",
        "s1",
        DWC + "institutionCode",
        "[one-institution-code]",
    ),
    (
        "two-collection-codes",
        SPECIMEN,
        SPECIMEN + '\n    dwc:collectionCode "A", "B" ;',
        "OneCollectionCode",
        "s1",
        DWC + "collectionCode",
        "[one-collection-code]",
    ),
    (
        "two-catalog-numbers",
        SPECIMEN,
        SPECIMEN + '\n    dwc:catalogNumber "TEST-0002" ;',
        "OneCatalogNumber",
        "s1",
        DWC + "catalogNumber",
        "[one-catalog-number]",
    ),
    (
        "two-occurrence-ids",
        SPECIMEN,
        SPECIMEN + '\n    dwc:occurrenceID "urn:x:1", "urn:x:2" ;',
        "OneOccurrenceID",
        "s1",
        DWC + "occurrenceID",
        "[one-occurrence-id]",
    ),
    (
        "two-bases-of-record",
        SPECIMEN,
        SPECIMEN + '\n    dwc:basisOfRecord "PRESERVED_SPECIMEN" ;',
        "OneBasisOfRecord",
        "s1",
        DWC + "basisOfRecord",
        "[one-basis-of-record]",
    ),
    (
        "two-years",
        SPECIMEN,
        SPECIMEN + "\n    dwc:year 1906 ;",
        "OneYear",
        "s1",
        DWC + "year",
        "[one-event-date]",
    ),
    (
        "two-collecting-events",
        SPECIMEN,
        SPECIMEN + "\n    col:collectingEvent spec:s1-event-2 ;",
        "OneCollectingEvent",
        "s1",
        COL + "collectingEvent",
        "[one-collecting-event]",
    ),
    (
        "two-locations",
        EVENT_DATES,
        EVENT_DATES + "\n    dsw:locatedAt spec:s1-location-2 ;",
        "OneLocation",
        "s1-event",
        DSW + "locatedAt",
        "[one-location]",
    ),
    (
        "two-event-dates",
        EVENT_DATES,
        EVENT_DATES + '\n    dwc:eventDate "1905-06" ;',
        "OneEventDate",
        "s1-event",
        DWC + "eventDate",
        "[one-event-date]",
    ),
    (
        "two-months-and-days",
        EVENT_DATES,
        EVENT_DATES + "\n    dwc:month 6, 7 ;",
        "OneMonth",
        "s1-event",
        DWC + "month",
        "[one-event-date]",
    ),
]


def canonical(report: ValidationReport) -> list[tuple[str, ...]]:
    """A report's results as comparable rows; blank nodes lose their labels (each engine
    labels them its own way) and the rows are sorted."""

    def bnode(term: str | None) -> str:
        return "_:" if term is not None and term.startswith("_:") else (term or "")

    return sorted(
        (
            r.severity,
            bnode(r.focus_node),
            r.path or "",
            bnode(r.value),
            r.message if not r.message.startswith("_:") else "_:",
            bnode(r.shape),
        )
        for r in report.results
    )


def assert_same(fast: ValidationReport, reference: ValidationReport) -> None:
    assert fast.fallback == [], fast.fallback
    only_fast = [r for r in canonical(fast) if r not in canonical(reference)]
    only_reference = [r for r in canonical(reference) if r not in canonical(fast)]
    assert (only_fast, only_reference) == ([], []), "results differ between the engines"
    assert canonical(fast) == canonical(reference)  # the same multiset, duplicates included
    assert fast.conforms == reference.conforms


@pytest.fixture(autouse=True)
def _quiet_rdflib() -> Iterator[None]:
    # rdflib logs a traceback for each ill-formed xsd:date it reads (many-faults.ttl has one)
    logging.disable(logging.ERROR)
    yield
    logging.disable(logging.NOTSET)


# -- the cardinality shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "shape", "focus", "path", "tag"),
    [case[1:] for case in CARDINALITY],
    ids=[case[0] for case in CARDINALITY],
)
def test_two_values_of_a_once_only_term_fail_for_their_own_rule(
    old: str,
    new: str,
    shape: str,
    focus: str,
    path: str,
    tag: str,
    fresh_store: Callable[[], Store],
) -> None:
    assert validate_text(VALID).results == []  # the edit alone breaks the graph
    store = fresh_store()
    store.replace_graph(GRAPH, edit(VALID, old, new), "turtle")
    report = validate_store(store)
    assert not report.conforms
    assert [(r.shape, r.focus_node, r.path, r.value, r.severity) for r in report.results] == [
        (COLSH + shape, SPEC + focus, path, None, "Violation")
    ], report.to_text()
    assert report.results[0].message.startswith(tag)
    assert_same(report, validate_store(store, engine="pyshacl"))


# -- the same answers as pySHACL -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.ttl")))
def test_every_graph_of_the_shapes_corpus_gets_pyshacls_answer(
    name: str, fresh_store: Callable[[], Store]
) -> None:
    store = fresh_store()
    store.replace_graph(GRAPH, (DATA / name).read_text("utf-8"), "turtle")
    fast = validate_store(store)
    assert_same(fast, validate_store(store, engine="pyshacl"))
    if name == "many-faults.ttl":
        tags = {r.message.split("]")[0] + "]" for r in fast.results}
        rules = {m.split("]")[0] + "]" for m in _shape_messages()}
        # every rule of the shapes fires at least once on this graph
        assert rules - tags == set(), sorted(rules - tags)


@pytest.mark.parametrize(
    ("old", "new"),
    [case[1:3] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_each_broken_variant_gets_pyshacls_answer(
    old: str, new: str, fresh_store: Callable[[], Store]
) -> None:
    store = fresh_store()
    store.replace_graph(GRAPH, edit(VALID, old, new), "turtle")
    fast = validate_store(store)
    assert fast.results  # the variant is broken: the comparison below is not of two empties
    assert_same(fast, validate_store(store, engine="pyshacl"))


_PAGES = """@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<urn:x:gbif> a dwc:MaterialEntity ; rdfs:seeAlso <https://www.gbif.org/occurrence/1928374650> .
<urn:x:page> a dwc:MaterialEntity ; rdfs:seeAlso <https://example.org/occurrence/1928374650> .
<urn:x:both> a dwc:MaterialEntity ; rdfs:seeAlso <https://www.gbif.org/occurrence/1> ,
    <https://example.org/about> .
<urn:x:text> a dwc:MaterialEntity ; rdfs:seeAlso "https://www.gbif.org/occurrence/1" .
"""


def test_a_gbif_record_is_identified_by_its_gbif_page_alone(
    fresh_store: Callable[[], Store],
) -> None:
    """A GBIF record's gbifID is its gbif.org page (docs/model.md): that page identifies the
    specimen; any other page does not, nor does a page that is a string."""
    store = fresh_store()
    store.replace_graph(GRAPH, _PAGES, "turtle")
    fast = validate_store(store)
    assert sorted(r.focus_node for r in fast.violations) == [
        "urn:x:both",
        "urn:x:page",
        "urn:x:text",
    ]
    assert {r.shape for r in fast.violations} == {COLSH + "SpecimenIdentifierShape"}
    assert_same(fast, validate_store(store, engine="pyshacl"))


def test_collector_lifetime_warnings_match_pyshacl(fresh_store: Callable[[], Store]) -> None:
    store = fresh_store()
    store.replace_graph(
        GRAPH,
        edit(
            VALID,
            'col:earliestDate "1905-06-14"^^xsd:date ;\n    col:latestDate "1905-06-14"^^xsd:date ;',
            'col:earliestDate "1925-06-01"^^xsd:date ;\n    col:latestDate "1925-06-30"^^xsd:date ;',
        ),
        "turtle",
    )
    fast = validate_store(store)
    assert [r.severity for r in fast.results] == ["Warning"], fast.to_text()
    assert_same(fast, validate_store(store, engine="pyshacl"))


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Store:
    from collectomics.analysis.inference import infer
    from collectomics.ingest.demo import build_demo

    store = new_store(request)
    build_demo(store, Minter())
    infer(store, Minter())
    return store


def test_demo_gets_pyshacls_answer_without_a_copy_of_the_store(
    demo: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = validate_store(demo, engine="pyshacl")

    def refuse(*_args: object) -> None:
        raise AssertionError("the fast path copied the store into Python")

    monkeypatch.setattr(validation, "copy_of_store", refuse)
    fast = validate_store(demo)
    assert fast.conforms
    assert_same(fast, reference)


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest) -> Store:
    """Every Darwin Core archive of the real corpus, each in its own graph."""
    from collectomics.ingest.pipeline import ingest_files

    store = new_store(request)
    ingest_files(store, [REAL / a for a in REAL_ARCHIVES], minter=Minter())
    return store


def test_every_real_archive_conforms(corpus: Store) -> None:
    graphs = [g for g in corpus.graphs() if "/graph/" in g]
    assert len(graphs) >= len(REAL_ARCHIVES)
    report = validate_store(corpus)
    assert report.conforms, report.to_text()[:4000]
    assert report.results == [], report.to_text()[:4000]


def test_a_real_gbif_download_gets_pyshacls_answer(corpus: Store) -> None:
    graph = Minter().graph("0009886-250127130748423")
    assert corpus.count(graph) > 1000
    assert_same(
        validate_store(corpus, graph=graph), validate_store(corpus, graph=graph, engine="pyshacl")
    )


# -- what the fast path cannot express goes to pySHACL, alone ------------------------------------

FALLBACK_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
@prefix ex: <urn:shapes:> .
ex:Specimen a sh:NodeShape ;
    sh:targetClass dwc:PreservedSpecimen ;
    sh:property ex:Names, ex:Codes, ex:Catalog .
ex:Names a sh:PropertyShape ; sh:path dwc:scientificName ; sh:uniqueLang true ;
    sh:message "[unique-lang] one name per language" .
ex:Codes a sh:PropertyShape ; sh:path dwc:institutionCode ; sh:maxCount 1 ;
    sh:message "[one-code] one institution code" .
ex:Catalog a sh:PropertyShape ; sh:path dwc:catalogNumber ; sh:minCount 1 .
"""

FALLBACK_DATA = """
@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
<urn:x:a> a dwc:PreservedSpecimen ; dwc:institutionCode "A", "B" ;
    dwc:scientificName "Abies alba"@en, "Abies"@en .
<urn:x:b> a dwc:PreservedSpecimen ; dwc:catalogNumber "B-1" ;
    dwc:scientificName "Abies alba"@en, "Abies alba"@la .
"""


def test_an_inexpressible_constraint_falls_back_to_pyshacl_alone(
    tmp_path: Path, fresh_store: Callable[[], Store]
) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(FALLBACK_SHAPES, "utf-8")
    checks = {c.label: c for c in plan(shapes)}
    assert checks["<urn:shapes:Codes> sh:maxCount"].sparql is not None
    assert checks["<urn:shapes:Names> sh:uniqueLang"].sparql is None
    assert "no sh:message" in (checks["<urn:shapes:Catalog> sh:minCount"].why or "")

    store = fresh_store()
    store.replace_graph(GRAPH, FALLBACK_DATA, "turtle")
    fast = validate_store(store, shapes_path=shapes)
    reference = validate_store(store, shapes_path=shapes, engine="pyshacl")
    assert sorted(fast.fallback) == [
        "<urn:shapes:Catalog> sh:minCount (no sh:message (pySHACL words its own))",
        "<urn:shapes:Names> sh:uniqueLang (sh:uniqueLang on a property shape)",
    ]
    assert fast.results == reference.results
    assert {(r.focus_node, r.shape) for r in fast.results} == {
        ("urn:x:a", "urn:shapes:Codes"),
        ("urn:x:a", "urn:shapes:Names"),
        ("urn:x:a", "urn:shapes:Catalog"),
    }
    assert (
        "note: evaluated by pySHACL (fallback): <urn:shapes:Names> sh:uniqueLang" in fast.to_text()
    )
    assert fast.to_dict()["fallback"] == fast.fallback


def test_the_bundled_shapes_need_no_fallback() -> None:
    checks = plan()
    assert checks and [c.label for c in checks if c.sparql is None] == []
    assert "fallback" not in validate_text(VALID).to_dict()


def test_a_constraint_whose_pattern_is_its_target_runs_without_the_target_join() -> None:
    """The dwciri-literal shape's SPARQL target and constraint are one pattern under other
    variable names: its query is that pattern alone (one scan of the data, no join with a
    DISTINCT of the focus nodes), and the equivalence tests above hold it to pySHACL's answer."""
    [check] = [c for c in plan() if c.owner.endswith("DwciriObjectShape")]
    assert check.sparql is not None
    assert "SELECT DISTINCT ?this" not in check.sparql
    assert check.sparql.count("STRSTARTS") == 1
    assert "FILTER EXISTS" not in check.sparql
    # a shape whose constraint is not its target's pattern keeps the test of its focus nodes
    tested = [c for c in plan() if c.component == "SPARQL" and "FILTER EXISTS" in (c.sparql or "")]
    assert tested


@pytest.mark.parametrize(
    ("target", "constraint", "same"),
    [
        (
            "SELECT ?this WHERE { ?this ?p ?o . FILTER(isLiteral(?o)) }",
            "SELECT $this ?path ?value WHERE {\n $this ?path ?value .\n FILTER(isLiteral(?value)) }",
            True,
        ),
        ("SELECT ?this WHERE { ?x ?p ?this }", "SELECT $this WHERE { $this ?p ?x }", False),
        ("SELECT ?this WHERE { ?this ?p ?o }", "SELECT $this WHERE { $this ?p ?o } LIMIT 1", False),
        (
            "SELECT ?this WHERE { ?this ?p ?o }",
            "SELECT $this WHERE { { SELECT $this WHERE { $this ?p ?o } } }",
            False,
        ),
    ],
)
def test_patterns_compare_under_renaming_only(target: str, constraint: str, same: bool) -> None:
    from collectomics.services.validation.translate import _pattern

    assert (_pattern(target) == _pattern(constraint) and _pattern(target) is not None) is same


NS = "http://rs.tdwg.org/dwc/iri/"


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (
            f'SELECT $this ?p ?o WHERE {{ $this ?p ?o . FILTER(isLiteral(?o) && STRSTARTS(STR(?p), "{NS}")) }}',
            {"p": NS},
        ),
        (
            f'SELECT DISTINCT ?this WHERE {{ ?this ?p ?o FILTER(STRSTARTS(STR(?p), "{NS}")) }}',
            {"p": NS},
        ),
        # under ||, other predicates pass the filter too
        (
            f'SELECT $this WHERE {{ $this ?p ?o . FILTER(isLiteral(?o) || STRSTARTS(STR(?p), "{NS}")) }}',
            {},
        ),
        # the variable is also an object, or the test is on a subject
        (
            f'SELECT $this WHERE {{ $this ?p ?o . ?o ?q ?p . FILTER(STRSTARTS(STR(?p), "{NS}")) }}',
            {},
        ),
        (f'SELECT $this WHERE {{ $this ?p ?o . FILTER(STRSTARTS(STR($this), "{NS}")) }}', {}),
        # more than one basic graph pattern under the filter
        (
            f'SELECT $this WHERE {{ $this ?p ?o . OPTIONAL {{ ?o ?q ?r }} FILTER(STRSTARTS(STR(?p), "{NS}")) }}',
            {},
        ),
        (
            f'SELECT $this WHERE {{ {{ $this ?p ?o }} UNION {{ ?o ?p $this }} FILTER(STRSTARTS(STR(?p), "{NS}")) }}',
            {},
        ),
        (
            f'SELECT $this WHERE {{ $this ?p ?o . FILTER(STRSTARTS(STR(?p), "{NS}"^^<http://www.w3.org/2001/XMLSchema#string>)) }}',
            {},
        ),
        ("ASK { ?s ?p ?o }", {}),
        ("SELECT $this WHERE { $this", {}),
    ],
)
def test_only_a_variable_that_is_only_a_predicate_of_one_namespace_is_narrowed(
    select: str, expected: dict[str, str]
) -> None:
    from collectomics.services.validation.translate import predicate_namespaces

    assert predicate_namespaces(select) == expected


def test_narrowing_to_the_stores_predicates_changes_no_answer(
    fresh_store: Callable[[], Store],
) -> None:
    """The dwciri check asks only for the store's predicates of that namespace (``VALUES``,
    read once per run), and answers as the query the shape wrote, in each graph and in all."""
    from collectomics.services.validation.translate import narrowed

    [check] = [c for c in plan() if c.owner.endswith("DwciriObjectShape")]
    assert check.sparql is not None and "# collectomics:predicates ?path " + NS in check.sparql
    store = fresh_store()
    store.replace_graph(GRAPH, (DATA / "many-faults.ttl").read_text("utf-8"), "turtle")
    other = GRAPH + "-other"
    store.replace_graph(
        other,
        f'<urn:x:s> <{NS}identifiedBy> "A. Gray" ; <{NS}recordedBy> <urn:x:a> ;'
        f' <http://xmlns.com/foaf/0.1/name> "x" .',
        "turtle",
    )
    asked: list[int] = []

    def predicates() -> list[str]:
        asked.append(1)
        return [p for (p,) in store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }").table()]

    query = narrowed(check.sparql, predicates)
    values = re.search(r"VALUES \?path \{ ([^}]*) \}", query)
    assert values is not None and asked == [1]
    assert set(values.group(1).split()) >= {f"<{NS}identifiedBy>", f"<{NS}recordedBy>"}
    assert all(v.startswith(f"<{NS}") for v in values.group(1).split())
    for scope in (None, [GRAPH], [other]):
        wanted = sorted(store.query(check.sparql, default_graphs=scope).table())
        assert sorted(store.query(query, default_graphs=scope).table()) == wanted
        assert wanted  # a dwciri: literal in each graph
    assert any("A. Gray" in row for row in store.query(query).table())
    # a store without the namespace: no values, no answers, and the query still parses
    empty = narrowed(check.sparql, lambda: ["http://xmlns.com/foaf/0.1/name"])
    assert "VALUES ?path {  }" in empty and list(store.query(empty).table()) == []
    # a query without the comment is not touched, and the store is not asked
    assert narrowed("SELECT * WHERE { ?s ?p ?o }", lambda: pytest.fail("asked")) == (
        "SELECT * WHERE { ?s ?p ?o }"
    )
    # the whole validation reports the literal of each graph, as pySHACL does
    report = validate_store(store)
    found = {(r.focus_node, r.path, r.value) for r in report.results if "[dwciri" in r.message}
    assert ("urn:x:s", f"{NS}identifiedBy", "A. Gray") in found


# -- remote stores ---------------------------------------------------------------------------


#: Broken variants of the valid graph whose checks Virtuoso 7 answered otherwise before the
#: queries were written in forms both engines read alike (a cast of "high" failed the query; a
#: date compared with a gYear; sh:in; a second collector of one event dropped).
REMOTE_VARIANTS = (
    "confidence-not-a-number",
    "earliest-after-latest",
    "identity-match-bad-status",
    "order-zero",
)


@pytest.mark.parametrize("kind", ["oxigraph-server", "virtuoso"])
def test_a_remote_server_runs_the_same_queries(
    kind: str, request: pytest.FixtureRequest, fresh_store: Callable[[], Store]
) -> None:
    """The same checks on a remote server give the embedded store's answers (pySHACL's, by the
    tests above), graph by graph: the graph of many faults, the valid one, the collector
    lifetimes and the broken variants Virtuoso used to answer wrongly."""
    from test_shapes import lifetime_graph

    graphs = {
        GRAPH: (DATA / "many-faults.ttl").read_text("utf-8"),
        GRAPH + "-valid": VALID,
        GRAPH + "-lifetime": lifetime_graph(),
    }
    for name, old, new, *_ in BROKEN:
        if name in REMOTE_VARIANTS:
            graphs[f"{GRAPH}-{name}"] = edit(VALID, old, new)
    assert len(graphs) == 3 + len(REMOTE_VARIANTS)
    remote = lease(request, kind).store()
    request.addfinalizer(remote.close)
    for graph, text in graphs.items():
        remote.replace_graph(graph, text, "turtle")
    for graph, text in graphs.items():
        local = fresh_store()
        local.replace_graph(GRAPH, text, "turtle")
        local_report = validate_store(local)
        if graph == GRAPH:
            assert len(local_report.results) > 40
        assert canonical(validate_store(remote, graph=graph)) == canonical(local_report), graph
    assert validate_store(remote, graph=GRAPH + "-valid").results == []


# -- the command --------------------------------------------------------------------------------


def test_validate_one_dataset_by_id_and_exit_codes(
    tmp_path: Path, store_location: StoreLocation
) -> None:
    good, bad = tmp_path / "good.ttl", tmp_path / "bad.ttl"
    good.write_text(VALID, "utf-8")
    bad.write_text(edit(VALID, SPECIMEN, 'dwc:institutionCode "TEST", "TEST2" ;'), "utf-8")
    for path in (good, bad):
        r = run_cli("ingest", str(path), store=store_location)
        assert r.returncode == 0, r.stderr
    r = run_cli("validate", "--dataset", "good", store=store_location)
    assert (r.returncode, r.stdout) == (0, "conforms: no results\n\n"), r.stderr
    r = run_cli("validate", "--dataset", "bad", "--format", "json", store=store_location)
    assert r.returncode == 1, r.stderr
    answer = json.loads(r.stdout)
    assert answer["counts"] == {"Violation": 1, "Warning": 0, "Info": 0}
    assert set(answer) == {"conforms", "counts", "results"}
    assert answer["results"][0]["shape"] == COLSH + "OneInstitutionCode"
    r = run_cli("validate", store=store_location)  # the default: all datasets
    assert r.returncode == 1 and r.stdout.count("[one-institution-code]") == 1
    r = run_cli("validate", "--dataset", "absent", store=store_location)
    assert r.returncode == 2 and "no dataset 'absent'" in r.stderr and "--dataset" in r.stderr
    assert "Traceback" not in r.stderr


def test_progress_line_on_a_terminal_only(tmp_path: Path, store_location: StoreLocation) -> None:
    import os
    import pty
    import subprocess
    import sys

    good = tmp_path / "good.ttl"
    good.write_text(VALID, "utf-8")
    assert run_cli("ingest", str(good), store=store_location).returncode == 0
    r = run_cli("validate", store=store_location)
    assert "validating" not in r.stderr  # not a terminal: no progress line

    leader, follower = pty.openpty()
    store_args, store_env = _store_args(store_location)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env.update(store_env)
    proc = subprocess.run(
        [sys.executable, "-m", "collectomics", *store_args, "validate"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    total = len(plan())
    assert f"validating: {total}/{total} constraints, 0 results".encode() in seen


def _shape_messages() -> list[str]:
    import rdflib

    from collectomics.services.validation.shapes import SH, load_shapes

    graph: rdflib.Graph = load_shapes(None)
    return [str(m) for m in graph.objects(None, SH.message)]


def test_results_are_plain_values() -> None:
    report = validate_text((DATA / "many-faults.ttl").read_text("utf-8"))
    assert all(isinstance(r, ValidationResult) for r in report.results)
    assert all(re.match(r"^\[[A-Za-z-]+\] ", r.message) for r in report.results)


# -- ingest --validate ----------------------------------------------------------------------------

PEOPLE_CSV = (
    "person_id,name,birth_date,death_date,wikidata\nexempla,Anna Exempla,1860-03-02,1921,Q4115189\n"
)
SPECIMENS_CSV = (
    "occurrenceID,institutionCode,catalogNumber,basisOfRecord,eventDate,recordedBy,recordedByID\n"
    'urn:occ:1,MNCN,1,PreservedSpecimen,1905-06-14,"Exempla, A.",'
    "http://www.wikidata.org/entity/Q4115189\n"
    'urn:occ:2,MNCN,2,PreservedSpecimen,1931-06-20,"Exempla, A.",'
    "http://www.wikidata.org/entity/Q4115189\n"
)
BAD_TTL = (
    "@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .\n"
    "@prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .\n"
    '<https://w3id.org/collectomics/specimen/BAD-1> a dwc:PreservedSpecimen ; dwc:catalogNumber "BAD-1" ;\n'
    '    dwciri:recordedBy "J. Smith" .\n'
)


def test_ingest_validate_names_file_row_and_column(
    tmp_path: Path, store_location: StoreLocation
) -> None:
    people, specimens, bad = (
        tmp_path / "people.csv",
        tmp_path / "specimens.csv",
        tmp_path / "bad.ttl",
    )
    people.write_text(PEOPLE_CSV, "utf-8")
    specimens.write_text(SPECIMENS_CSV, "utf-8")
    bad.write_text(BAD_TTL, "utf-8")
    args = ["ingest", "--validate", "--dataset", "exempla", str(people), str(specimens)]
    r = run_cli(*args, store=store_location)
    # a warning only: the collecting date of row 3 (the second record) is after the death
    assert r.returncode == 0, r.stderr
    assert "validate exempla: conforms, 1 other results" in r.stdout
    warning = [line for line in r.stderr.splitlines() if "[collector-lifetime]" in line]
    assert len(warning) == 1
    assert warning[0].startswith(f"  warning: {specimens}, row 3, column eventDate: ")
    assert "urn-occ-2" in warning[0] and "urn-occ-1" not in warning[0]

    r = run_cli(*args, str(bad), "--replace", store=store_location)
    assert r.returncode == 1, r.stderr
    assert "validate exempla: does not conform: 1 violations, 1 other results" in r.stdout
    violation = [line for line in r.stderr.splitlines() if "[dwciri-literal]" in line]
    assert len(violation) == 1
    assert violation[0].startswith(f"  violation: {bad}, column recordedBy: ")
    assert "Traceback" not in r.stderr
    # the data stays loaded: validate says the same
    assert run_cli("validate", "--dataset", "exempla", store=store_location).returncode == 1


def test_located_rows_are_the_rows_that_wrote_the_node(tmp_path: Path) -> None:
    from collectomics.ingest.pipeline import ingest_files
    from collectomics.services.validation.locate import locate
    from collectomics.store import OxigraphStore

    specimens = tmp_path / "specimens.csv"
    specimens.write_text(SPECIMENS_CSV, "utf-8")
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, "utf-8")
    store = OxigraphStore()
    (report,) = ingest_files(store, [people, specimens], minter=Minter(), dataset_id="d")
    results = validate_store(store, graph=report.graph).results
    (found,) = locate(results, report, minter=Minter())
    assert found.rows == ((str(specimens), 3),) and found.column == "eventDate"
    assert found.to_dict()["rows"] == [{"file": str(specimens), "row": 3}]


def test_class_targets_follow_subclasses_in_the_data(fresh_store: Callable[[], Store]) -> None:
    # without rdfs:subClassOf in the data the targets are plain rdf:type patterns (cheaper);
    # with it, an instance of a subclass is a focus node too, as pySHACL has it
    text = """
    @prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    <urn:x:Herbarium> rdfs:subClassOf dwc:PreservedSpecimen .
    <urn:x:sheet> a <urn:x:Herbarium> .
    <urn:x:plain> a dwc:PreservedSpecimen .
    """
    store = fresh_store()
    store.replace_graph(GRAPH, text, "turtle")
    fast = validate_store(store)
    assert [r.focus_node for r in fast.violations] == ["urn:x:plain", "urn:x:sheet"]
    assert_same(fast, validate_store(store, engine="pyshacl"))
