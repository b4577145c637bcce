"""The SHACL shapes (ontology/shapes.ttl) through collectomics.services.validation.

A valid graph modelled per docs/model.md conforms; each broken variant of it (one textual edit)
fails for its own rule only; a collecting date outside a collector's lifetime is a warning.
pySHACL is slow, so the tests here run 19 validations in all (at most two per test).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from collectomics.errors import CollectomicsError, InputError
from collectomics.services.validation import (
    ShapesError,
    ValidationReport,
    default_shapes_path,
    validate_store,
    validate_text,
)
from collectomics.store import Store

DATA = Path(__file__).parent / "data" / "shapes"
VALID = (DATA / "valid.ttl").read_text(encoding="utf-8")
GRAPH = "https://w3id.org/collectomics/graph/test"

COLSH = "https://w3id.org/collectomics/shapes#"
COL = "https://w3id.org/collectomics/ontology#"
DWCIRI = "http://rs.tdwg.org/dwc/iri/"
PROV = "http://www.w3.org/ns/prov#"
OWL = "http://www.w3.org/2002/07/owl#"
SSSOM = "https://w3id.org/sssom/"
STATUS = "https://w3id.org/collectomics/status/"
SPEC = "https://w3id.org/collectomics/specimen/test/"
PERSON = "https://w3id.org/collectomics/person/"
MATCH = PERSON + "exempla-match-wikidata-Q4115189"


def event_dates(earliest: str, latest: str) -> str:
    """The Turtle of the collecting event's date bounds."""
    return f'col:earliestDate "{earliest}"^^xsd:date ;\n    col:latestDate "{latest}"^^xsd:date ;'


EVENT_DATES = event_dates("1905-06-14", "1905-06-14")


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) with ``new``."""
    assert text.count(old) == 1, f"fixture edit is ambiguous or stale: {old!r}"
    return text.replace(old, new)


def validate_turtle(text: str, fresh_store: Callable[[], Store]) -> ValidationReport:
    store = fresh_store()
    store.replace_graph(GRAPH, text, "turtle")
    return validate_store(store)


def test_shapes_file_is_valid_shacl() -> None:
    import pyshacl
    import rdflib

    shapes = rdflib.Graph().parse(default_shapes_path(), format="turtle")
    # meta_shacl=True checks the shapes graph against SHACL-SHACL first and raises if it fails.
    conforms, _graph, text = pyshacl.validate(
        rdflib.Graph(), shacl_graph=shapes, meta_shacl=True, advanced=True, inference="none"
    )
    assert conforms, text


@pytest.fixture(scope="module")
def valid_report(fresh_store: Callable[[], Store]) -> ValidationReport:
    return validate_turtle(VALID, fresh_store)


def test_valid_graph_conforms_without_any_result(valid_report: ValidationReport) -> None:
    assert valid_report.conforms
    assert valid_report.results == [], valid_report.to_text()
    assert valid_report.to_text() == "conforms: no results\n"


# id, old text, new text, shape, focus node, result path, rule tag in the message, value
BROKEN = [
    (
        "dwciri-recordedBy-literal",
        "dwciri:recordedBy agent:exempla-a ;",
        'dwciri:recordedBy "Exempla, A." ;',
        COLSH + "DwciriObjectShape",
        SPEC + "s1",
        DWCIRI + "recordedBy",
        "[dwciri-literal]",
        "Exempla, A.",
    ),
    (
        "dwciri-toTaxon-literal",
        'dwc:dateIdentified "1906" ;',
        'dwc:dateIdentified "1906" ;\n    dwciri:toTaxon "Delphinium bolosii" ;',
        COLSH + "DwciriObjectShape",
        SPEC + "s1-identification",
        DWCIRI + "toTaxon",
        "[dwciri-literal]",
        "Delphinium bolosii",
    ),
    (
        "earliest-after-latest",
        'col:earliestDate "1905-06-14"^^xsd:date',
        'col:earliestDate "1905-06-15"^^xsd:date',
        COLSH + "EarliestNotAfterLatest",
        SPEC + "s1-event",
        COL + "earliestDate",
        "[date-order]",
        "1905-06-15",
    ),
    (
        "confidence-above-1",
        "col:confidence 0.8 ;",
        "col:confidence 1.5 ;",
        COLSH + "ColConfidenceProperty",
        SPEC + "s1-label-1-hand-1",
        COL + "confidence",
        "[confidence-range]",
        "1.5",
    ),
    (
        "sssom-confidence-below-0",
        "sssom:confidence 0.95 ;",
        "sssom:confidence -0.1 ;",
        COLSH + "SssomConfidenceProperty",
        MATCH,
        SSSOM + "confidence",
        "[confidence-range]",
        "-0.1",
    ),
    (
        "confidence-not-a-number",
        "col:confidence 0.8 ;",
        'col:confidence "high" ;',
        COLSH + "ColConfidenceProperty",
        SPEC + "s1-label-1-hand-1",
        COL + "confidence",
        "[confidence-range]",
        "high",
    ),
    (
        "specimen-without-identifier",
        'dwc:catalogNumber "TEST-0001" ;\n',
        "",
        COLSH + "SpecimenIdentifierShape",
        SPEC + "s1",
        None,
        "[specimen-identifier]",
        SPEC + "s1",
    ),
    (
        "role-node-without-agent",
        "prov:agent person:exempla ;\n    prov:hadRole role:collector ;",
        "prov:hadRole role:collector ;",
        COLSH + "RoleNodeAgentProperty",
        SPEC + "s1-event-collector-1",
        PROV + "agent",
        "[role-agent]",
        None,
    ),
    (
        "handwriting-attribution-without-role",
        "prov:hadRole role:labelWriter ;\n",
        "",
        COLSH + "RoleNodeRoleProperty",
        SPEC + "s1-label-1-hand-1",
        PROV + "hadRole",
        "[role-role]",
        None,
    ),
    (
        "identity-match-bad-status",
        "col:matchStatus status:accepted ;",
        "col:matchStatus status:maybe ;",
        COLSH + "MatchStatusProperty",
        MATCH,
        COL + "matchStatus",
        "[match-status]",
        STATUS + "maybe",
    ),
    (
        "order-zero",
        'col:order 1 ;\n    col:nameAsWritten "Exempla, A." ;\n    col:verbatimAgentString',
        'col:order 0 ;\n    col:nameAsWritten "Exempla, A." ;\n    col:verbatimAgentString',
        COLSH + "OrderProperty",
        SPEC + "s1-event-collector-1",
        COL + "order",
        "[role-order]",
        "0",
    ),
    (
        "owl-sameAs-identity-link",
        "schema:sameAs wd:Q4115189 ;",
        "owl:sameAs wd:Q4115189 ;",
        COLSH + "NoOwlSameAsProperty",
        PERSON + "exempla",
        OWL + "sameAs",
        "[no-owl-sameAs]",
        None,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "shape", "focus", "path", "tag", "value"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_graph_fails_for_its_own_rule(
    old: str,
    new: str,
    shape: str,
    focus: str,
    path: str | None,
    tag: str,
    value: str | None,
    fresh_store: Callable[[], Store],
) -> None:
    report = validate_turtle(edit(VALID, old, new), fresh_store)
    assert not report.conforms
    assert len(report.results) == 1, report.to_text()
    (result,) = report.results
    assert result.severity == "Violation"
    assert result.shape == shape
    assert result.focus_node == focus
    assert result.path == path
    assert result.message.startswith(tag), result.message
    assert result.value == value


def test_collecting_after_death_is_a_warning_naming_the_person(
    fresh_store: Callable[[], Store],
) -> None:
    report = validate_turtle(
        edit(
            VALID,
            EVENT_DATES,
            event_dates("1925-06-01", "1925-06-30"),
        ),
        fresh_store,
    )
    assert report.conforms  # warnings alone conform
    assert report.violations == []
    assert len(report.warnings) == 1 and len(report.results) == 1, report.to_text()
    (warning,) = report.warnings
    assert warning.severity == "Warning"
    assert warning.shape == COLSH + "CollectorLifetimeShape"
    assert warning.focus_node == SPEC + "s1-event"
    assert warning.path == COL + "earliestDate"
    assert warning.value == "1925-06-01"
    assert warning.message.startswith("[collector-lifetime]")
    for part in ("Anna Exempla", PERSON + "exempla", "1921", "1925-06-01"):
        assert part in warning.message

    lines = report.to_text().splitlines()
    assert lines == [
        f"Warning\t<{SPEC}s1-event>\t<{COL}earliestDate>\t{warning.message}",
        "conforms: 1 warning",
    ]
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["conforms"] is True
    assert as_json["counts"] == {"Violation": 0, "Warning": 1, "Info": 0}
    assert as_json["results"][0]["focus_node"] == SPEC + "s1-event"
    assert as_json["results"][0]["severity"] == "Warning"


def lifetime_graph() -> str:
    """The valid graph's event collected in 1850 by three name strings: one linked to Anna
    Exempla (born 1860) by an accepted match, one whose match to a person born in 1870 was
    rejected, one sharing a schema:sameAs target with Carla Third (born 1880-05)."""
    text = edit(
        VALID,
        "prov:agent person:exempla ;\n    prov:hadRole role:collector ;",
        "prov:agent agent:exempla-a ;\n    prov:hadRole role:collector ;",
    )
    text = edit(
        text,
        EVENT_DATES,
        event_dates("1850-06-01", "1850-06-30"),
    )
    text += """
# collector 1: a name string linked to the person only by an accepted match
agent:exempla-a-match a col:IdentityMatch ;
    owl:annotatedSource agent:exempla-a ; owl:annotatedTarget wd:Q4115189 ;
    sssom:confidence 0.9 ; col:matchStatus status:accepted .

# collector 2: a name string whose match to a person born later was rejected
spec:s1-event prov:qualifiedAssociation spec:s1-event-collector-2, spec:s1-event-collector-3 .
spec:s1-event-collector-2 a prov:Association ;
    prov:agent agent:other-b ; prov:hadRole role:collector ; col:order 2 .
agent:other-b a col:NameStringAgent ; foaf:name "Other, B." .
agent:other-b-match a col:IdentityMatch ;
    owl:annotatedSource agent:other-b ; owl:annotatedTarget wd:Q13406268 ;
    col:matchStatus status:rejected .
person:other a foaf:Person ; foaf:name "Berta Other" ;
    schema:birthDate "1870"^^xsd:gYear ; schema:sameAs wd:Q13406268 .

# collector 3: a name string sharing a schema:sameAs target with a person born later
spec:s1-event-collector-3 a prov:Association ;
    prov:agent agent:third-c ; prov:hadRole role:collector ; col:order 3 .
agent:third-c a col:NameStringAgent ; foaf:name "Third, C." ; schema:sameAs wd:Q15397819 .
person:third a foaf:Person ; foaf:name "Carla Third" ;
    schema:birthDate "1880-05"^^xsd:gYearMonth ; schema:sameAs wd:Q15397819 .
"""
    return text


def test_lifetime_follows_accepted_matches_and_shared_same_as_not_rejected_ones(
    fresh_store: Callable[[], Store],
) -> None:
    text = lifetime_graph()
    report = validate_turtle(text, fresh_store)
    assert report.conforms, report.to_text()
    assert [r.severity for r in report.results] == ["Warning", "Warning"], report.to_text()
    messages = sorted(r.message for r in report.results)
    assert "Anna Exempla" in messages[0] and "(1860-03-02)" in messages[0]
    assert "Carla Third" in messages[1] and "(1880-05)" in messages[1]
    assert all(r.path == COL + "latestDate" and r.value == "1850-06-30" for r in report.results)
    assert "Berta Other" not in report.to_text()


def test_validation_of_one_graph_ignores_the_others(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.replace_graph(GRAPH, VALID, "turtle")
    other = "https://w3id.org/collectomics/graph/other"
    store.replace_graph(
        other, "<urn:x:specimen> a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> .", "turtle"
    )
    whole = validate_store(store)
    assert [(r.focus_node, r.shape) for r in whole.violations] == [
        ("urn:x:specimen", COLSH + "SpecimenIdentifierShape")
    ]
    only_valid = validate_store(store, graph=GRAPH)
    assert only_valid.conforms and only_valid.results == []


def test_validate_text_takes_the_union_of_trig_graphs() -> None:
    trig = """
    @prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
    @prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .
    <urn:g:a> { <urn:x:s> a dwc:PreservedSpecimen . }
    <urn:g:b> { <urn:x:s> dwc:catalogNumber "X-1" ; dwciri:inDescribedPlace "Montseny" . }
    """
    report = validate_text(trig, "trig")
    # The catalogue number is in another graph than the type: only the union satisfies the rule.
    assert [(r.focus_node, r.path, r.value) for r in report.results] == [
        ("urn:x:s", DWCIRI + "inDescribedPlace", "Montseny")
    ]


def test_unknown_graph_is_an_input_error(make_store: Callable[..., Store]) -> None:
    store = make_store()
    with pytest.raises(InputError, match="no such graph"):
        validate_store(store, graph="https://w3id.org/collectomics/graph/missing")


def test_bad_text_and_bad_format_are_input_errors() -> None:
    with pytest.raises(InputError, match="cannot parse turtle"):
        validate_text("<urn:a> <urn:b> ", "turtle")
    with pytest.raises(InputError, match="unknown RDF format"):
        validate_text("", "n3-ish")


def test_broken_or_missing_shapes_file_is_a_shapes_error(tmp_path: Path) -> None:
    broken = tmp_path / "shapes.ttl"
    broken.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n<urn:s> a sh:NodeShape ;")
    with pytest.raises(ShapesError, match="cannot parse shapes file") as info:
        validate_text(VALID, shapes_path=broken)
    assert isinstance(info.value, InputError) and isinstance(info.value, CollectomicsError)
    assert info.value.file == str(broken)

    with pytest.raises(ShapesError, match="cannot read shapes file"):
        validate_text(VALID, shapes_path=tmp_path / "absent.ttl")

    empty = tmp_path / "empty.ttl"
    empty.write_text("<urn:a> <urn:b> <urn:c> .\n", "utf-8")
    with pytest.raises(ShapesError, match="no sh:NodeShape"):
        validate_text(VALID, shapes_path=empty)
