"""Pure mapping: date bounds, name splitting, specimen and people records to triples."""

from __future__ import annotations

from datetime import date

import pytest

from collectomics.iri import Minter, slug
from collectomics.mapping.common import Context
from collectomics.mapping.dates import date_bounds, year_precision_type
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.names import normalise
from collectomics.mapping.people import map_person
from collectomics.mapping.specimens import SpecimenKey, map_specimen, repeat_iri, specimen_key
from collectomics.model import IRI, XSD, Literal, iri_is_valid, nquad
from collectomics.vocab import COL, DWC, DWCIRI, OWL, PROV, RDF, ROLE, SCHEMA, STATUS, WD

CTX = Context("test-ds", Minter())


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("1983-06-14", "1983-06-14", "1983-06-14"),
        ("1911", "1911-01-01", "1911-12-31"),
        ("1912-02", "1912-02-01", "1912-02-29"),
        ("1911-03-07/1911-03-20", "1911-03-07", "1911-03-20"),
        ("1911-03/04", "1911-03-01", "1911-04-30"),
        ("1911-03-07/20", "1911-03-07", "1911-03-20"),
        ("1983-06-14T10:30:00Z", "1983-06-14", "1983-06-14"),
        ("1999/2001", "1999-01-01", "2001-12-31"),
        ("Tue Apr 01 00:00:00 CET 1930", "1930-04-01", "1930-04-01"),  # java.util.Date, old GBIF
    ],
)
def test_date_bounds(text: str, earliest: str, latest: str) -> None:
    assert date_bounds(text) == (date.fromisoformat(earliest), date.fromisoformat(latest))


@pytest.mark.parametrize(
    "text",
    ["Tue Apr 31 00:00:00 CET 1930", "1911-13", "2001-02-29", "1912/1911", "", "spring 1890"],
)
def test_unparseable_dates_are_not_guessed(text: str) -> None:
    assert date_bounds(text) is None


def test_precision_types() -> None:
    assert [
        year_precision_type(t) for t in ("1958", "1958-03", "1958-03-02", "58", "1958-02-30")
    ] == ["gYear", "gYearMonth", "date", None, None]


def test_normalise_unites_spellings() -> None:
    assert normalise("Blanché, C.") == normalise("C. Blanché") == normalise("C Blanché")
    assert normalise("Blanché, C.") != normalise("Blanche, C.")  # accents matter within a dataset


def test_canonical_terms() -> None:
    assert canonical_term("recordedBy") == "recordedBy"
    assert canonical_term("http://rs.tdwg.org/dwc/terms/catalogNumber") == "catalogNumber"
    assert canonical_term("dwc:EventDate") == "eventDate"
    assert canonical_term("Collector") == "recordedBy"  # Darwin Core 1.4
    assert canonical_term("\ufeffgbifID") == "gbifID"
    assert canonical_term("favouriteColour") is None


def test_slugs_are_deterministic_and_iri_safe() -> None:
    assert slug("BCN-35752") == "BCN-35752"
    assert slug("Blanché, C.") == slug("Blanché, C.") != slug("Blanche C")
    for key in ("urn:catalog:MO:Tropicos:100", "a b/c?d#e", "Ω", "_"):
        assert iri_is_valid(Minter().specimen(key))


RECORD = {
    "institutionCode": "BCN",
    "catalogNumber": "BCN-35754",
    "recordedBy": "Blanché, Cèsar & Ferrer, R.",
    "eventDate": "1984-08-01",
    "countryCode": "es",
    "decimalLatitude": "41.9",
    "decimalLongitude": "200",
    "scientificName": "Delphinium bolosii C.Blanché & Molero",
    "family": "Ranunculaceae",
    "identifiedBy": "Blanché, C.",
    "license": "CC_BY_4_0",
    "gbifID": "1234",
}


def _objects(triples: list, s: object, p: object) -> list:
    return [o for (s_, p_, o) in triples if s_ == s and p_ == p]


def test_specimen_mapping() -> None:
    out = map_specimen(RECORD, CTX)
    assert out.rejected is None
    t = out.triples
    s = Minter().specimen("gbif", "1234")  # a GBIF record: keyed by its gbifID
    assert DWC.PreservedSpecimen in _objects(t, s, RDF.type)
    assert DWC.MaterialEntity in _objects(t, s, RDF.type)
    event = _objects(t, s, COL.collectingEvent)[0]
    assert _objects(t, event, COL.earliestDate) == [Literal("1984-08-01", XSD + "date")]
    assert _objects(t, event, DWC.eventDate) == [Literal("1984-08-01")]
    assert _objects(t, s, DWC.countryCode) == [Literal("ES")]
    collectors = _objects(t, s, DWCIRI.recordedBy)
    assert len(collectors) == 2 and all(isinstance(c, IRI) for c in collectors)
    roles = _objects(t, event, PROV.qualifiedAssociation)
    written = sorted(o.value for r in roles for o in _objects(t, r, COL.nameAsWritten))
    assert written == ["Blanché, Cèsar", "Ferrer, R."]
    assert all(_objects(t, r, PROV.hadRole) == [ROLE.collector] for r in roles)
    assert _objects(t, s, DWCIRI.identifiedBy)
    # the out-of-range longitude is reported and kept as written, not as a number
    assert any(p.column == "decimalLongitude" for p in out.problems)
    assert [o for (_, p, o) in t if p == DWC.decimalLongitude] == [Literal("200")]
    assert [o for (_, p, o) in t if p == DWC.decimalLatitude] == [Literal("41.9", XSD + "decimal")]
    # never a literal on a dwciri: term
    assert all(isinstance(o, IRI) for (_, p, o) in t if p.startswith(str(DWCIRI)))
    # everything serialises as N-Quads
    assert all(nquad((a, b, c, None)).endswith(" .\n") for a, b, c in t)


def test_specimen_mapping_is_deterministic() -> None:
    assert map_specimen(RECORD, CTX).triples == map_specimen(dict(RECORD), CTX).triples


_PUBLISHED = {k: v for k, v in RECORD.items() if k != "gbifID"}  # as its publisher wrote it


def test_specimen_without_identifier_is_keyed_by_its_row() -> None:
    record = {"recordedBy": "X", "eventDate": "1900"}
    key = specimen_key(record, CTX.dataset_id, "specimens.csv:7")
    assert key == SpecimenKey((CTX.dataset_id, "row", "specimens.csv:7"), "row", "specimens.csv:7")
    out = map_specimen(record, CTX, Minter().specimen(*key.parts))
    assert out.rejected is None and out.subject == Minter().specimen(*key.parts)
    assert [(p.column, p.severity) for p in out.problems] == [("catalogNumber", "warning")]


def test_occurrence_id_keys_the_specimen_within_its_dataset() -> None:
    rec = dict(_PUBLISHED, occurrenceID="urn:catalog:BCN:35754")
    triples = map_specimen(rec, CTX).triples
    assert triples[0][0] == Minter().specimen(CTX.dataset_id, "urn:catalog:BCN:35754")
    other = Context("other-ds", Minter())
    assert map_specimen(rec, other).subject != triples[0][0]  # two datasets: two nodes


def test_specimen_key_per_kind_of_input() -> None:
    """gbifID (a GBIF download) first, then occurrenceID, then the catalogue triplet."""
    both = dict(RECORD, occurrenceID="urn:catalog:BCN:35754")
    assert specimen_key(both, "d").parts == ("gbif", "1234")
    assert specimen_key(dict(both, gbifID=""), "d").parts == ("d", "urn:catalog:BCN:35754")
    assert specimen_key(_PUBLISHED, "d") == SpecimenKey(
        ("d", "catalog", "BCN", "_", "BCN-35754"),
        "institutionCode collectionCode catalogNumber",
        "BCN _ BCN-35754",
    )
    first = Minter().specimen("d", "x")
    assert repeat_iri(first, 1) == first and repeat_iri(first, 3) == first + "/repeat/3"


def test_unparseable_date_is_kept_and_reported() -> None:
    out = map_specimen(dict(RECORD, eventDate="spring 1930"), CTX)
    assert any(o == Literal("spring 1930") for (_, _, o) in out.triples)
    assert not [o for (_, p, o) in out.triples if p == COL.earliestDate]
    assert any(p.column == "eventDate" for p in out.problems)


def test_observation_is_not_a_material_entity() -> None:
    out = map_specimen(dict(RECORD, basisOfRecord="HUMAN_OBSERVATION"), CTX)
    types = [o for (_, p, o) in out.triples if p == RDF.type]
    assert DWC.Occurrence in types and DWC.MaterialEntity not in types


def test_person_mapping_with_identity_matches() -> None:
    row = {
        "person_id": "cesar-blanche",
        "name": "Cèsar Blanché",
        "birth_date": "1958",
        "wikidata": "https://www.wikidata.org/wiki/Q5909245",
        "orcid": "not-an-orcid",
        "name_variants": "Blanché, C.|C. Blanché",
    }
    out = map_person(row, CTX)
    p = Minter().person("cesar-blanche")
    t = out.triples
    assert _objects(t, p, SCHEMA.birthDate) == [Literal("1958", XSD + "gYear")]
    assert _objects(t, p, SCHEMA.sameAs) == [WD.Q5909245]
    matches = [s for (s, pr, o) in t if pr == RDF.type and o == COL.IdentityMatch]
    assert len(matches) == 1
    assert _objects(t, matches[0], OWL.annotatedTarget) == [WD.Q5909245]
    assert _objects(t, matches[0], COL.matchStatus) == [STATUS.accepted]
    assert any(pr.column == "orcid" for pr in out.problems)
    assert not any(pr == OWL.sameAs for (_, pr, _) in t)


def test_described_person_and_rejections() -> None:
    out = map_person(
        {"person_id": "guide-1", "description": "the Dayak guide at Sarawak, 1855"}, CTX
    )
    assert (Minter().person("guide-1"), RDF.type, COL.DescribedPerson) in out.triples
    assert map_person({"person_id": "", "name": "X"}, CTX).rejected
    assert map_person({"person_id": "x"}, CTX).rejected


def test_placeholder_occurrence_id_does_not_merge_specimens() -> None:
    a = map_specimen(dict(_PUBLISHED, occurrenceID="present", catalogNumber="2007-0023856"), CTX)
    b = map_specimen(dict(_PUBLISHED, occurrenceID="present", catalogNumber="0025654"), CTX)
    assert a.subject != b.subject
    assert any(p.column == "occurrenceID" for p in a.problems)


def test_country_codes_link_to_wikidata() -> None:
    from collectomics.vocab import SCHEMA, WD

    out = map_specimen(dict(RECORD, countryCode="my"), CTX)
    assert [o for (_, p, o) in out.triples if p == SCHEMA.containedInPlace] == [WD.Q833]
    out = map_specimen(dict(RECORD, countryCode="XZ"), CTX)  # high seas: valid, no country
    assert not [o for (_, p, o) in out.triples if p == SCHEMA.containedInPlace]
    assert not [p for p in out.problems if p.column == "countryCode"]
    out = map_specimen(dict(RECORD, countryCode="QQQ"), CTX)
    assert [p.column for p in out.problems if p.column == "countryCode"]
