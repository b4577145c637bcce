"""Darwin Core Data Package in and out (docs/dwc-dp.md): the official example ingests, a
package made from each real archive validates against the official schemas and ingests with
counts that add up per table, and the round trip gives back the graph for what the format
carries (NOT_CARRIED and ADDED list, by predicate, what it does not)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest.dwca import Archive, Row
from collectomics.ingest.dwcdp import pinned_schema
from collectomics.ingest.pipeline import IngestReport, ingest_files
from collectomics.iri import Minter
from collectomics.model import iri_is_valid
from collectomics.services.dwcdp_export import export_package
from collectomics.store import Store
from helpers import REAL, REAL_ARCHIVES

GUIDE = Path(__file__).resolve().parent / "data" / "dwc-dp" / "guide-example"
DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DCTERMS_IDENTIFIER = "http://purl.org/dc/terms/identifier"

#: predicates of a Darwin Core Archive's graph that a DwC-DP does not carry back, and why
#: (docs/dwc-dp.md, "What the format does not carry" says the same)
NOT_CARRIED = {
    # what GBIF's interpretation changed (the verbatim record); its issue flags (gbif:issue)
    # are GBIF terms, not carried
    "https://w3id.org/collectomics/ontology#VerbatimRecord": "verbatim record",
    "http://www.w3.org/ns/prov#wasDerivedFrom": "link to the verbatim record",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso": "the record's gbif.org page (as gbif:N)",
    # Darwin Core terms with no DwC-DP field (record-level terms go to EML in a DwC-DP)
    DWC + "basisOfRecord": "no DwC-DP field",
    DWC + "datasetName": "dataset-level: EML",
    DWC + "occurrenceRemarks": "an occurrence field; specimens are material rows",
    DWC + "higherClassification": "no DwC-DP field",
    DWC + "nomenclaturalCode": "an identification-taxon field",
    DWC + "individualCount": "no DwC-DP field",
    DWC + "associatedMedia": "media rows instead",
    DWC + "associatedReferences": "no DwC-DP field",
    DWC + "establishmentMeans": "an occurrence field",
    DWC + "samplingProtocol": "a protocol table",
    DWC + "previousIdentifications": "no DwC-DP field",
    DWC + "dynamicProperties": "no DwC-DP field",
    DWC + "lifeStage": "an occurrence field",
    DWC + "sex": "an occurrence field",
    DWC + "identificationQualifier": "no DwC-DP field",
    DWC + "acceptedNameUsage": "no DwC-DP field",
    "http://ipt.gbif.org/terms/sourceID": "an IPT's source record id: no DwC-DP field",
    "http://purl.org/dc/terms/rightsHolder": "dataset-level: EML",
    "http://purl.org/dc/terms/rights": "dataset-level: EML",
    "http://purl.org/dc/terms/license": "dataset-level: the descriptor's licenses",
    "http://purl.org/dc/terms/accessRights": "dataset-level: EML",
    "http://purl.org/dc/terms/bibliographicCitation": "dataset-level: EML",
    "http://purl.org/dc/terms/references": "no DwC-DP field on material",
    "http://purl.org/dc/terms/language": "no DwC-DP field on material",
    "http://purl.org/dc/terms/type": "no DwC-DP field on material",
    # the source datasets of a GBIF download and the dataset node (EML, not tables)
    "http://schema.org/includedInDataSet": "the source dataset of a GBIF download",
    "http://purl.org/dc/terms/source": "no DwC-DP field on material",
    "http://purl.org/dc/terms/publisher": "no DwC-DP field on media",
    "http://purl.org/dc/terms/creator": "a name as written on media: no field",
    "http://www.w3.org/2000/01/rdf-schema#comment": "comments of the mapping ('et al.')",
    "http://rs.tdwg.org/dwc/iri/toTaxon": "DwC-DP has no taxon table (taxon cores)",
}


def _fields(*tables: str) -> frozenset[str]:
    return frozenset(
        f["name"] for t in tables for f in (pinned_schema(t) or {"fields": []})["fields"]
    )


#: Darwin Core terms that the tables the export writes for a record have a field for, by the
#: record's kind (a material entity, or an occurrence with none); any other term a publisher
#: wrote (kept verbatim in the graph) has no place in a DwC-DP. recordNumber, recordedBy and
#: occurrenceID go as collectorNumber, collectedBy and evidenceForOccurrenceID.
FIELDS = {
    "material": _fields("material", "event", "identification")
    | {"recordNumber", "recordedBy", "occurrenceID"},
    "occurrence": _fields("occurrence", "event", "identification"),
}
#: fields only an event row has: a record with no event node has no event row to hold them
EVENT_ONLY = _fields("event") - _fields("material", "identification")
#: nodes not carried as a whole: GBIF's verbatim record, Plazi's taxa
NOT_CARRIED_NODES = ("/verbatim", "/taxon/")
#: predicates a round trip adds: values the format requires or the package states
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
ADDED = {
    DWC + "eventCategory": "required by DwC-DP: 'material collection' or 'occurrence'",
    DWC + "occurrenceStatus": "required by DwC-DP for occurrence rows: 'detected'",
    DWC + "materialEntityCategory": "the specimen's class as a category: 'preserved', 'living'",
    "http://purl.org/dc/terms/identifier": "material-identifier rows: a GBIF record's gbif:N "
    "(from its gbif.org page) and an occurrenceID that is an IRI",
}


def _ingest(store: Store, path: Path, dataset: str = "d") -> IngestReport:
    [report] = ingest_files(store, [path], minter=Minter(), dataset_id=dataset)
    return report


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if any(c.strip() for c in row)) - 1


def _graph(store: Store, dataset: str = "d") -> set[tuple[str, str, str]]:
    """The dataset's triples as text, without the dataset nodes (their metadata is EML's)."""
    graph = Minter().graph(dataset)
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    found = set()
    for s, p, o in store.query(query, default_graphs=[graph]).triples():
        if "/dataset/" in str(s):
            continue
        found.add((str(s), str(p), o.n3() if hasattr(o, "n3") else str(o)))
    return found


def _check_counts(report: IngestReport, folder: Path) -> None:
    """Every table's counts add up and count every row of its file."""
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    for resource in descriptor["resources"]:
        counts = report.extensions[resource["path"]]
        assert counts.read == counts.loaded + counts.rejected, resource["path"]
        assert counts.read == _rows(folder / resource["path"]), resource["path"]
    assert report.read == sum(c.read for c in report.extensions.values())
    assert report.read == report.loaded + report.rejected


def test_official_example_ingests(make_store, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    report = _ingest(store, GUIDE)
    _check_counts(report, GUIDE)
    assert report.rejected == 0
    assert not [p for p in report.problems if p.severity == "error"]
    assert report.specimens == 4
    # the guide's example predates the ratified schemas' _fk keys: its occurrence.eventID
    # column is no field of the official occurrence table, which the report says
    assert [(p.file, p.row, p.column) for p in report.problems] == [
        ("occurrence.csv", 1, "eventID")
    ]
    rows = list(csv.DictReader(open(GUIDE / "occurrence.csv", encoding="utf-8")))
    query = (
        "SELECT ?name ?date ?early WHERE { ?s <http://rs.tdwg.org/dwc/terms/scientificName> "
        "?name ; <https://w3id.org/collectomics/ontology#collectingEvent> ?e . "
        "?e <http://rs.tdwg.org/dwc/terms/eventDate> ?date ; "
        "<https://w3id.org/collectomics/ontology#earliestDate> ?early }"
    )
    found = {
        (r["name"].value, r["date"].value, r["early"].value) for r in store.query(query).rows()
    }
    assert found == {(r["scientificName"], "2025-04-26T20:57:00+02:00", "2025-04-26") for r in rows}


@pytest.mark.parametrize("archive", REAL_ARCHIVES)
def test_real_archive_round_trip(archive: str, make_store, tmp_path: Path) -> None:
    """Archive -> graph A -> package (valid) -> graph B: B gives back A but for NOT_CARRIED,
    and adds only ADDED."""
    a = make_store(tmp_path / "a")
    original = _ingest(a, REAL / archive)
    result = export_package(a, "d", tmp_path / "package", minter=Minter())
    assert result.problems == []
    assert result.rows.get("material", 0) + result.rows.get("occurrence", 0) >= original.specimens
    b = make_store(tmp_path / "b")
    again = _ingest(b, tmp_path / "package")
    _check_counts(again, tmp_path / "package")
    assert again.rejected == 0
    assert again.specimens == original.specimens
    before, after = _graph(a), _graph(b)
    occurrences = {t[0] for t in before if t[1].endswith("#type") and t[2] == f"<{DWC}Occurrence>"}
    refused = set(result.refused)
    pairs_after = {(s, p) for s, p, _ in after}
    several = Counter((s, p) for s, p, _ in before)
    nodes = {s for s, _, _ in before}

    def carried(t: tuple[str, str, str]) -> bool:
        s, p, o = t
        if any(part in s for part in NOT_CARRIED_NODES) or p.startswith(GBIF):
            return False
        if p in NOT_CARRIED or p.endswith("#type") and o.strip("<>") in NOT_CARRIED:
            return False
        kind = "occurrence" if s in occurrences else "material"
        if p.startswith(DWC) and p[len(DWC) :] not in FIELDS[kind]:  # no DwC-DP field
            return False
        if kind == "material" and p[len(DWC) :] in EVENT_ONLY and s + "/event" not in nodes:
            return False  # an event term (datasetID) kept on a record that has no event
        if p == "http://purl.org/dc/terms/modified" and "modified" not in FIELDS[kind]:
            return False
        if (s, p) in pairs_after and several[(s, p)] > 1:  # a cell holds one value of several
            return False
        # a value the official field type or constraints refuse (a day of year 0)
        value = o.split('"')[1] if o.startswith('"') else o
        record = s.split("/location")[0].split("/event")[0]
        refusal = f".{p.rsplit('/', 1)[-1]} {value!r} ({record}"
        return not any(refusal in r for r in refused)

    def provenance_note(t: tuple[str, str, str]) -> bool:
        # a publisher match's comment names where the identifier was read: dwc:recordedByID
        # in an archive, agent-identifier in a package (the match itself comes back)
        return "/match/" in t[0] and t[1] == RDFS_COMMENT

    lost = sorted(t for t in before - after if carried(t) and not provenance_note(t))
    assert lost == []
    assert {
        p for s, p, o in after - before if not provenance_note((s, p, o))
    } - ADDED.keys() == set()
    assert len([t for t in before if carried(t)]) > 1000 or len(before) < 5000


def test_exported_package_uses_the_official_schemas(make_store, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    _ingest(store, REAL / "finch-gbif-download-2015/0000154-150116162929234.zip")
    export_package(store, "d", tmp_path / "p", minter=Minter())
    descriptor = json.loads((tmp_path / "p/datapackage.json").read_text("utf-8"))
    assert descriptor["profile"] == "http://rs.tdwg.org/dwc-dp/1.0/dwc-dp-profile.json"
    for resource in descriptor["resources"]:
        official = pinned_schema(resource["name"])
        assert official is not None
        assert [f["name"] for f in resource["schema"]["fields"]] == [
            f["name"] for f in official["fields"]
        ]
        with open(tmp_path / "p" / resource["path"], encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == [f["name"] for f in official["fields"]]


def test_exported_identifiers_are_the_records_own(make_store, tmp_path: Path) -> None:
    """Each specimen's material-identifier rows: its dcterms:identifier values, its
    occurrenceID when that is an IRI, and gbif:N for its gbifID N; the graph keeps no copies of
    the last two (docs/model.md), so the export reads them from the values themselves."""
    path = REAL / "finch-gbif-download-2015/0000154-150116162929234.zip"
    store = make_store(tmp_path / "store")
    _ingest(store, path)
    export_package(store, "d", tmp_path / "p", minter=Minter())
    expected = set()
    with Archive.open(path) as archive:
        for row in archive.rows(archive.core):
            if not isinstance(row, Row):
                continue
            values = {k: v.strip() for k, v in row.values.items() if v.strip()}
            if values.get(DWC + "basisOfRecord") == "UNKNOWN":
                continue  # the one observation: an occurrence row, not a material one
            specimen = Minter().specimen("gbif", values[GBIF + "gbifID"])
            ids = {"gbif:" + values[GBIF + "gbifID"], values.get(DCTERMS_IDENTIFIER)}
            occurrence_id = values.get(DWC + "occurrenceID", "")
            if "://" in occurrence_id and iri_is_valid(occurrence_id):
                ids.add(occurrence_id)
            expected |= {(specimen, i) for i in ids if i}
    with open(tmp_path / "p" / "material-identifier.csv", encoding="utf-8") as handle:
        found = {(r["materialEntity_fk"], r["identifier"]) for r in csv.DictReader(handle)}
    assert len(expected) > 442 + 350  # every gbifID, and most records' dcterms:identifier
    assert found == expected


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _package(folder: Path, tables: dict[str, tuple[list[str], list[list[str]]]]) -> Path:
    """A package of ``tables`` naming the official schemas by URL, as publishers do."""
    folder.mkdir()
    resources = []
    for name, (header, rows) in tables.items():
        _write(folder / f"{name}.csv", header, rows)
        resources.append(
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "schema": f"http://rs.tdwg.org/dwc-dp/1.0/table-schemas/{name}.json",
            }
        )
    descriptor = {"profile": "http://rs.tdwg.org/dwc-dp/1.0/dwc-dp-profile.json"}
    descriptor["resources"] = resources  # type: ignore[assignment]
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return folder


ROLES = {  # agentRole as a publisher writes it -> our role (collectors: event-agent-role)
    "preparator": "preparator",
    "cataloger": "cataloguer",
    "verifier": "verifier",
    "transcriber": "transcriber",
    "label writer": "labelWriter",
    "stamp carver": "otherRole",
}


def _agent_package(tmp_path: Path) -> Path:
    agents = [
        ["a1", "https://orcid.org/0000-0002-1825-0097", "person", "Josiah Carberry"],
        ["a2", "", "person", "Ynés Mexía"],
        ["g1", "", "group", "Expedition 1926"],
    ]
    roles = [["m1", "a1" if i % 2 else "a2", role, "", str(i)] for i, role in enumerate(ROLES, 1)]
    return _package(
        tmp_path / "pkg",
        {
            "agent": (["agent_pk", "agentID", "agentType", "preferredAgentName"], agents),
            "agent-identifier": (
                ["agent_fk", "identifier", "identifierType"],
                [["a2", "http://www.wikidata.org/entity/Q2609516", "Wikidata"]],
            ),
            "agent-agent-role": (
                ["agent_fk", "relatedAgent_fk", "agentRole", "agentRoleOrder", "agentRoleDate"],
                [["a1", "g1", "member", "1", "1926"], ["a2", "g1", "member", "2", "1926"]],
            ),
            "event": (
                ["event_pk", "eventCategory", "eventDate", "countryCode"],
                [["e1", "material collection", "1926-05-01", "MX"]],
            ),
            "event-agent-role": (
                ["event_fk", "agent_fk", "agentRole", "agentRoleOrder"],
                [["e1", "a2", "collector", "1"], ["e1", "a1", "collector", "2"]],
            ),
            "material": (
                ["materialEntity_pk", "collectionEvent_fk", "catalogNumber", "collectedBy"],
                [["m1", "e1", "UC-1", "Mexía, Y. & J. Carberry"], ["m2", "e9", "UC-2", ""]],
            ),
            "identification": (
                ["identification_pk", "materialEntity_fk", "isAcceptedIdentification"]
                + ["scientificName", "identifiedBy"],
                [
                    ["i1", "m1", "true", "Zea mays", "Y. Mexía"],
                    ["i2", "m1", "false", "Zea perennis", "J. Carberry"],
                ],
            ),
            "identification-agent-role": (
                ["identification_fk", "agent_fk", "agentRole", "agentRoleOrder"],
                [["i1", "a2", "identifier", "1"], ["i2", "a1", "determiner", "1"]],
            ),
            "bibliographic-resource": (
                ["reference_pk", "bibliographicCitation"],
                [["r1", "Mexía, Y. (1927). Botanical trails in old Mexico. Madroño 1: 227."]],
            ),
            "material-reference": (["reference_fk", "materialEntity_fk"], [["r1", "m1"]]),
            "media": (
                ["media_pk", "accessURI", "format"],
                [["p1", "https://example.org/sheet-uc-1.jpg", "image/jpeg"]],
            ),
            "material-media": (["media_fk", "materialEntity_fk"], [["p1", "m1"]]),
            "media-agent-role": (
                ["media_fk", "agent_fk", "agentRole", "agentRoleOrder"],
                [["p1", "a1", "photographer", "1"]],
            ),
            "resource-relationship": (
                ["subjectResourceID", "relationshipType", "relatedResourceID"],
                [["m1", "duplicate of", "https://example.org/specimen/K-1"], ["m7", "x", "m1"]],
            ),
            "material-agent-role": (
                ["materialEntity_fk", "agent_fk", "agentRole", "agentRoleIRI", "agentRoleOrder"],
                roles + [["m1", "a9", "preparator", "", "9"]],  # a9: no such agent
            ),
        },
    )


def test_agent_tables(make_store, tmp_path: Path) -> None:
    """Every agent-role row is a role node with its role and order; unknown roles keep their
    word; identifiers are accepted publisher matches; groups have members; bad references
    are rejected by table, row and field, and counted."""
    folder = _agent_package(tmp_path)
    store = make_store(tmp_path / "store")
    report = _ingest(store, folder)
    _check_counts(report, folder)
    errors = {(p.file, p.row, p.column) for p in report.problems if p.severity == "error"}
    # m2's event e9 and role row 10's agent a9 are no rows of their tables (foreign keys)
    assert ("material.csv", 3, "collectionEvent_fk") in errors
    assert ("material-agent-role.csv", len(ROLES) + 2, "agent_fk") in errors
    assert report.extensions["material.csv"].rejected == 1
    assert report.extensions["material-agent-role.csv"].rejected == 1
    query = (
        "SELECT ?role ?order ?name ?word WHERE { ?x <http://www.w3.org/ns/prov#hadRole> ?role ; "
        "<https://w3id.org/collectomics/ontology#order> ?order ; "
        "<http://www.w3.org/ns/prov#agent>/<http://xmlns.com/foaf/0.1/name> ?name . "
        "OPTIONAL { ?x <http://schema.org/roleName> ?word } }"
    )
    found = {
        (r["role"].rsplit("/", 1)[-1], int(r["order"].value), r.get("word") and r["word"].value)
        for r in store.query(query).rows()
    }
    for i, (word, role) in enumerate(ROLES.items(), 1):
        assert (role, i, word if role == "otherRole" else None) in found
    assert ("collector", 1, None) in found and ("collector", 2, None) in found
    written = {
        r["w"].value
        for r in store.query(
            "SELECT ?w WHERE { ?x <https://w3id.org/collectomics/ontology#nameAsWritten> ?w }"
        ).rows()
    }
    assert {"Mexía, Y.", "J. Carberry"} <= written  # paired with the verbatim string by order
    same = {
        r["t"] for r in store.query("SELECT ?t WHERE { ?a <http://schema.org/sameAs> ?t }").rows()
    }
    assert same == {
        "https://orcid.org/0000-0002-1825-0097",
        "http://www.wikidata.org/entity/Q2609516",
    }
    # determiners: of the current identification and of the earlier one, from the role table
    determiners = store.query(
        "SELECT ?i ?name WHERE { ?m <http://purl.org/dsw/hasIdentification> ?i . "
        "?i <http://www.w3.org/ns/prov#qualifiedAssociation> ?r . "
        "?r <http://www.w3.org/ns/prov#hadRole> <https://w3id.org/collectomics/role/determiner> ; "
        "<http://www.w3.org/ns/prov#agent>/<http://xmlns.com/foaf/0.1/name> ?name }"
    )
    found_ids = {(r["i"].rsplit("/", 1)[-1], r["name"].value) for r in determiners.rows()}
    # the earlier identification is history node h3: row 3 of identification.csv
    assert found_ids == {("identification", "Ynés Mexía"), ("h3", "Josiah Carberry")}
    identified = _count(
        store,
        "SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?s <http://rs.tdwg.org/dwc/iri/identifiedBy> ?a }",
    )
    assert identified == 2
    # references, media with their photographer, relationships; m7 names no record
    assert ("resource-relationship.csv", 3, "subjectResourceID") in errors
    found = store.query(
        "SELECT ?c ?photographer ?related WHERE { ?m <http://rs.tdwg.org/dwc/terms/catalogNumber> "
        "'UC-1' ; <http://purl.org/dc/terms/isReferencedBy>/<http://purl.org/dc/terms/bibliographicCitation> ?c . "
        "?media <http://xmlns.com/foaf/0.1/depicts> ?m ; <http://www.w3.org/ns/prov#qualifiedAttribution> ?r . "
        "?r <http://www.w3.org/ns/prov#hadRole> <https://w3id.org/collectomics/role/photographer> ; "
        "<http://www.w3.org/ns/prov#agent>/<http://xmlns.com/foaf/0.1/name> ?photographer . "
        "?rel <http://purl.org/dc/terms/subject> ?m ; <http://purl.org/dc/terms/relation> ?related }"
    )
    assert [(r["c"].value[:5], r["photographer"].value, r["related"]) for r in found.rows()] == [
        ("Mexía", "Josiah Carberry", "https://example.org/specimen/K-1")
    ]
    members = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?g <http://xmlns.com/foaf/0.1/member> ?m }"
    )
    assert int(next(members.rows())["n"].value) == 2
    shortcut = store.query(
        "SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?s <http://rs.tdwg.org/dwc/iri/recordedBy> ?a }"
    )
    assert int(next(shortcut.rows())["n"].value) == 2


def test_zip_package(make_store, tmp_path: Path) -> None:
    shutil.make_archive(str(tmp_path / "guide"), "zip", GUIDE)
    report = _ingest(make_store(tmp_path / "store"), tmp_path / "guide.zip")
    assert report.specimens == 4 and report.rejected == 0


@pytest.mark.parametrize(
    ("text", "where"),
    [('{"resources": [', "line 1"), ('{"resources": 3}', "resources")],
)
def test_bad_descriptor_is_one_error(text: str, where: str, make_store, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    shutil.copytree(GUIDE, folder)
    (folder / "datapackage.json").write_text(text, encoding="utf-8")
    store = make_store(tmp_path / "store")
    _ingest(store, GUIDE, "kept")
    with pytest.raises(InputError) as caught:
        _ingest(store, folder)
    assert where in str(caught.value) and "datapackage.json" in str(caught.value.file)
    assert Minter().graph("kept") in store.graphs()  # nothing stored is lost


def test_unknown_schema_url_is_one_error(make_store, tmp_path: Path) -> None:
    folder = _package(tmp_path / "p", {"event": (["event_pk", "eventCategory"], [["e", "x"]])})
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    descriptor["resources"][0]["schema"] = "https://example.org/nowhere/odd.json"
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with pytest.raises(InputError, match="odd.json"):
        _ingest(make_store(tmp_path / "store"), folder)


def _count(store: Store, query: str) -> int:
    return int(next(store.query(query).rows())["n"].value)


def test_what_the_graph_learned_goes_out(make_store, tmp_path: Path) -> None:
    """The demo, after infer: label writers, accepted identity links, groups with members,
    date bounds and flags are in the packages, which validate and load again."""
    from collectomics.analysis.inference import infer
    from collectomics.ingest.demo import build_demo

    minter = Minter()
    store = make_store(tmp_path / "demo")
    reports = build_demo(store, minter)
    infer(store, minter)
    rows: dict[str, int] = Counter()
    for report in reports:
        result = export_package(store, report.dataset, tmp_path / report.dataset, minter=minter)
        assert result.problems == []
        rows.update(result.rows)
        again = _ingest(make_store(tmp_path / f"{report.dataset}.db"), tmp_path / report.dataset)
        _check_counts(again, tmp_path / report.dataset)
        assert again.rejected == 0
    col = "https://w3id.org/collectomics/ontology#"
    bounds = _count(
        store,
        f"SELECT (COUNT(*) AS ?n) WHERE {{ ?i a <{col}DateInference> ; <{col}inferredFor> ?e . "
        f"{{ ?i <{col}earliestDate> ?d }} UNION {{ ?i <{col}latestDate> ?d }} }}",
    )
    flags = _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?f a <{col}RecordFlag> }}")
    members = _count(
        store, "SELECT (COUNT(*) AS ?n) WHERE { ?g <http://xmlns.com/foaf/0.1/member> ?m }"
    )
    hands = _count(
        store,
        "SELECT (COUNT(*) AS ?n) WHERE { ?r <http://www.w3.org/ns/prov#hadRole> "
        "<https://w3id.org/collectomics/role/labelWriter> }",
    )
    assert bounds and flags and members and hands  # the demo has each, so each is tested
    assert rows["event-assertion"] + rows["material-assertion"] == bounds + flags
    assert rows["agent-agent-role"] == members
    assert rows["material-agent-role"] == hands
    # accepted identity links come back as the same schema:sameAs of the same people
    people = tmp_path / "demo-people"
    back = make_store(tmp_path / "people-again")
    _ingest(back, people, "demo-people")
    same = "SELECT ?p ?t WHERE { ?p <http://schema.org/sameAs> ?t }"
    graph = [Minter().graph("demo-people")]
    original = {(r["p"], r["t"]) for r in store.query(same, default_graphs=graph).rows()}
    assert original and {(r["p"], r["t"]) for r in back.query(same).rows()} == original


def test_empty_dataset_is_one_error(make_store, tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    with pytest.raises(InputError, match="no dataset"):
        export_package(store, "nothing", tmp_path / "p", minter=Minter())


def test_zip_bomb_package_is_refused(make_store, tmp_path: Path) -> None:
    """A zipped package is held to the archive limits (max_compression_ratio) before a byte of
    it is unpacked past them; the store keeps what it had."""
    import zipfile

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(GUIDE / "datapackage.json", "datapackage.json")
        z.write(GUIDE / "occurrence.csv", "occurrence.csv")
        z.writestr("event.csv", "eventID,eventDate\n" + "x" * (24 << 20))
    store = make_store(tmp_path / "store")
    _ingest(store, GUIDE, "kept")
    with pytest.raises(InputError, match="max_compression_ratio") as caught:
        _ingest(store, bomb)
    assert caught.value.file == "event.csv"
    assert Minter().graph("kept") in store.graphs()


@pytest.mark.slow
def test_cli_round_trip(tmp_path: Path) -> None:
    """The faces: `ingest PACKAGE`, `export --format dwc-dp`, and one error without --dataset."""
    from helpers import run_cli

    store = tmp_path / "store.db"
    loaded = run_cli("ingest", str(GUIDE), "--dataset", "birds", store=store)
    assert loaded.returncode == 0, loaded.stderr
    assert "occurrence.csv: read 4, loaded 4, rejected 0 rows" in loaded.stdout + loaded.stderr
    wrote = run_cli(
        "export", "--format", "dwc-dp", "--dataset", "birds", str(tmp_path / "p"), store=store
    )
    assert wrote.returncode == 0, wrote.stderr
    assert "occurrence 4" in wrote.stderr and "invalid" not in wrote.stderr
    assert (tmp_path / "p" / "occurrence.csv").is_file()
    refused = run_cli("export", "--format", "dwc-dp", str(tmp_path / "q"), store=store)
    assert refused.returncode != 0 and "--dataset" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_row_a_mapper_fails_on_is_rejected_and_the_package_loads(
    make_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours in the DwC-DP mapper (made to raise on one occurrence) rejects that row,
    naming the exception, where it stopped the whole ingest; the other rows load."""
    from collectomics.mapping import dwcdp

    real = dwcdp.PackageMapper._record
    rows = list(csv.DictReader(open(GUIDE / "occurrence.csv", encoding="utf-8")))
    victim = rows[1]["occurrenceID"]

    def failing(self, table, number, values, *rest):  # type: ignore[no-untyped-def]
        if values.get("occurrenceID") == victim:
            raise KeyError("a bug")
        return real(self, table, number, values, *rest)

    monkeypatch.setattr(dwcdp.PackageMapper, "_record", failing)
    store = make_store(tmp_path / "store")
    report = _ingest(store, GUIDE)
    _check_counts(report, GUIDE)
    assert report.rejected == 1 and report.specimens == 3
    [problem] = [p for p in report.problems if p.severity == "error"]
    assert (problem.file, problem.row) == ("occurrence.csv", 3)
    assert problem.reason.startswith("not mapped: Collectomics failed on this row (KeyError")
