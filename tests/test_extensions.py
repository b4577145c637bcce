"""Pure mapping of archive extension rows, agent identifiers and dataset metadata."""

from __future__ import annotations

import pytest

from collectomics.iri import Minter
from collectomics.mapping.agentids import identifier_iri, split_identifiers
from collectomics.mapping.common import Context
from collectomics.mapping.extensions import (
    map_dataset,
    map_identification,
    map_media,
    map_relationship,
    map_verbatim,
)
from collectomics.mapping.specimens import map_specimen
from collectomics.model import IRI, Contact, DatasetMetadata, Literal
from collectomics.vocab import AC, COL, DCTERMS, DWC, DWCIRI, FOAF, OWL, PROV, RDF, RDFS, ROLE

CTX = Context("ds", Minter())
S = Minter().specimen("BCN", "_", "BCN-1")
DWC_NS, DC_NS, GBIF_NS = (
    "http://rs.tdwg.org/dwc/terms/",
    "http://purl.org/dc/terms/",
    "http://rs.gbif.org/terms/1.0/",
)


def _objects(triples: list, s: object, p: object) -> list:
    return [o for (s_, p_, o) in triples if s_ == s and p_ == p]


@pytest.mark.parametrize(
    ("value", "iri"),
    [
        ("https://www.wikidata.org/wiki/Q5763750", "http://www.wikidata.org/entity/Q5763750"),
        ("Q5763750", "http://www.wikidata.org/entity/Q5763750"),
        ("https://orcid.org/0000-0002-8509-0556", "https://orcid.org/0000-0002-8509-0556"),
        ("0000-0002-8509-055x", "https://orcid.org/0000-0002-8509-055X"),
        ("http://viaf.org/viaf/12345", "http://viaf.org/viaf/12345"),
        ("0000 0001 2103 4996", "https://isni.org/isni/0000000121034996"),
        ("urn:lsid:ipni.org:authors:35484-1", "https://www.ipni.org/a/35484-1"),
        (
            "https://www.biodiversitylibrary.org/creator/123",
            "https://www.biodiversitylibrary.org/creator/123",
        ),
        (
            "https://kiki.huh.harvard.edu/databases/botanist_search.php?id=1",
            "https://kiki.huh.harvard.edu/databases/botanist_search.php?id=1",
        ),
        ("J. Smith", None),
    ],
)
def test_identifier_iris(value: str, iri: str | None) -> None:
    assert identifier_iri(value) == iri


def test_split_identifiers() -> None:
    assert split_identifiers("Q1 | https://orcid.org/0000-0002-8509-0556;Q2") == [
        "Q1",
        "https://orcid.org/0000-0002-8509-0556",
        "Q2",
    ]
    assert split_identifiers("") == []


def test_single_name_and_identifier_are_paired() -> None:
    out = map_specimen(
        {"catalogNumber": "1", "recordedBy": "Blanché, C.", "recordedByID": "Q5763750"}, CTX
    )
    t = out.triples
    match = [s for (s, p, o) in t if p == RDF.type and o == COL.IdentityMatch]
    assert len(match) == 1
    assert _objects(t, match[0], OWL.annotatedTarget) == [
        IRI("http://www.wikidata.org/entity/Q5763750")
    ]
    spec = out.subject
    assert IRI("http://www.wikidata.org/entity/Q5763750") in _objects(t, spec, DWCIRI.recordedBy)


def test_several_identifiers_are_not_paired_and_the_graph_says_so() -> None:
    out = map_specimen(
        {
            "catalogNumber": "1",
            "recordedBy": "Blanché, C. & Molero, J.",
            "recordedByID": "Q5763750|Q5956152",
        },
        CTX,
    )
    t = out.triples
    assert not [s for (s, p, o) in t if o == COL.IdentityMatch]
    assert len([o for (s, p, o) in t if p == DWCIRI.recordedBy and "wikidata" in o]) == 2
    assert any("not paired" in o.value for (s, p, o) in t if p == RDFS.comment)


def test_media_rows() -> None:
    gbif = {
        DC_NS + "type": "StillImage",
        DC_NS + "format": "image/jpeg",
        DC_NS + "identifier": "http://example.org/img/1.jpg",
        DC_NS + "license": "http://creativecommons.org/licenses/by/4.0/",
        DC_NS + "creator": "A. Photographer",
    }
    out = map_media(gbif, S, CTX, "1")
    m = out.subject
    assert m == Minter().media("http://example.org/img/1.jpg")
    assert _objects(out.triples, m, FOAF.depicts) == [S]
    assert _objects(out.triples, m, AC.accessURI) == [IRI("http://example.org/img/1.jpg")]
    assert IRI("http://purl.org/dc/dcmitype/StillImage") in _objects(out.triples, m, RDF.type)
    assert _objects(out.triples, m, DCTERMS.license) == [
        IRI("http://creativecommons.org/licenses/by/4.0/")
    ]
    ac = {
        "http://rs.tdwg.org/ac/terms/accessURI": "https://example.org/a.jpg",
        "http://rs.tdwg.org/ac/terms/subtypeLiteral": "Photograph",
    }
    out = map_media(ac, S, CTX, "2")
    assert _objects(out.triples, out.subject, AC.accessURI) == [IRI("https://example.org/a.jpg")]
    assert _objects(out.triples, out.subject, AC.subtypeLiteral) == [Literal("Photograph")]


def test_identification_history() -> None:
    out = map_identification(
        {
            DWC_NS + "identifiedBy": "Smith, J. & Jones, K.",
            DWC_NS + "dateIdentified": "1998",
            DWC_NS + "scientificName": "Delphinium sp.",
        },
        S,
        CTX,
        2,
    )
    node = out.subject
    assert _objects(out.triples, S, DWC.term("dummy")) == []
    assert node == Minter().part(S, "identification", "h2")
    roles = _objects(out.triples, node, PROV.qualifiedAssociation)
    assert len(roles) == 2 and all(
        _objects(out.triples, r, PROV.hadRole) == [ROLE.determiner] for r in roles
    )
    assert _objects(out.triples, node, COL.earliestDate)[0].value == "1998-01-01"
    assert len(_objects(out.triples, S, DWCIRI.identifiedBy)) == 2


def test_relationship_resolves_archive_ids() -> None:
    other = Minter().specimen("BCN", "_", "BCN-2")
    out = map_relationship(
        {DWC_NS + "relatedResourceID": "42", DWC_NS + "relationshipOfResource": "duplicate of"},
        S,
        CTX,
        1,
        {"42": other}.get,
    )
    assert _objects(out.triples, S, DCTERMS.relation) == [other]
    out = map_relationship({DWC_NS + "relatedResourceID": "urn:catalog:X:1"}, S, CTX, 1, {}.get)
    assert _objects(out.triples, S, DCTERMS.relation) == [IRI("urn:catalog:X:1")]


def test_verbatim_keeps_only_what_interpretation_changed() -> None:
    verbatim = {
        DWC_NS + "recordedBy": "leg. Blanché, C.",
        DWC_NS + "country": "España",
        DWC_NS + "catalogNumber": "BCN-1",
    }
    interpreted = {
        DWC_NS + "recordedBy": "Blanché, C.",
        DWC_NS + "country": "Spain",
        DWC_NS + "catalogNumber": "BCN-1",
    }
    out = map_verbatim(verbatim, interpreted, S, CTX)
    node = out.subject
    assert _objects(out.triples, S, PROV.wasDerivedFrom) == [node]
    assert _objects(out.triples, node, DWC.recordedBy) == [Literal("leg. Blanché, C.")]
    assert _objects(out.triples, node, DWC.catalogNumber) == []
    assert map_verbatim(interpreted, interpreted, S, CTX).triples == []


def test_dataset_metadata() -> None:
    meta = DatasetMetadata(
        title="Herbarium BCN",
        publisher="Universitat de Barcelona",
        license="http://creativecommons.org/licenses/by/4.0/",
        identifiers=["10.15468/abc"],
        contacts=[
            Contact("creator", "Neus Ibáñez", "UB", orcid="https://orcid.org/0000-0002-8509-0556")
        ],
    )
    d = Minter().dataset("bcn")
    out = map_dataset(meta, d, CTX)
    assert _objects(out.triples, d, DCTERMS.title) == [Literal("Herbarium BCN")]
    attribution = _objects(out.triples, d, PROV.qualifiedAttribution)[0]
    assert _objects(out.triples, attribution, PROV.hadRole) == [ROLE.creator]
