"""The document-side templates: labels, media, groups, documents (JSON), IIIF manifests and the
extended people template, mapped and ingested from real records (Field Museum label
transcriptions, iDigBio Audubon Core media), with problems named by file, row and column or JSON
path, and counts that add up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.pipeline import IngestReport, file_kind
from collectomics.iri import Minter
from collectomics.mapping.common import Context
from collectomics.mapping.documents import map_document
from collectomics.mapping.groups import map_group
from collectomics.mapping.labels import map_label
from collectomics.mapping.media import map_media
from collectomics.mapping.people import map_person
from collectomics.mapping.refs import RefError, Refs
from collectomics.model import IRI, XSD, Literal
from collectomics.store import Store
from collectomics.vocab import AC, COL, DCTERMS, FOAF, OA, PROV, RDF, ROLE, SCHEMA, STATUS
from helpers import StoreLocation

DATA = Path(__file__).resolve().parent / "data" / "documents"
BASE = "https://w3id.org/collectomics/"
M = Minter()
CTX = Context("t", M)
REFS = Refs(
    M,
    {"C-1": (IRI(BASE + "specimen/F/_/C-1"),), "TWICE": (IRI("urn:a"), IRI("urn:b"))},
    {"abc": (IRI(BASE + "specimen/ds/abc"),), "abc2": (IRI("urn:a"), IRI("urn:b"))},
)


def _load(store: Store, name: str, dataset: str) -> IngestReport:
    [report] = ingest_files(store, [DATA / name], minter=M, dataset_id=dataset)
    assert report.read == report.loaded + report.rejected
    return report


def _ask(store: Store, body: str) -> bool:
    prefixes = "".join(
        f"PREFIX {p}: <{ns}>\n"
        for p, ns in {
            "col": COL.NS.iri,
            "oa": str(OA),
            "dcterms": str(DCTERMS),
            "foaf": str(FOAF),
            "ac": str(AC),
            "prov": str(PROV),
            "rico": "https://www.ica.org/standards/RiC/ontology#",
            "rdf": str(RDF),
            "schema": str(SCHEMA),
            "dwc": "http://rs.tdwg.org/dwc/terms/",
        }.items()
    )
    return store.query(prefixes + "ASK {" + body + "}").boolean


@pytest.fixture()
def fieldmuseum(make_store: Callable[..., Store]) -> Store:
    store = make_store()
    _load(store, "fieldmuseum-specimens.csv", "fm")
    return store


# ------------------------------------------------------------------ references


def test_references_resolve_and_errors_say_why() -> None:
    assert REFS.resolve("catalog:C-1") == BASE + "specimen/F/_/C-1"
    assert REFS.resolve("occurrence:abc") == BASE + "specimen/ds/abc"
    with pytest.raises(RefError, match="occurrenceID 'abc2' names 2 specimens"):
        REFS.resolve("occurrence:abc2")
    with pytest.raises(RefError, match="no specimen with occurrenceID 'zzz'"):
        REFS.resolve("occurrence:zzz")
    assert REFS.resolve("cesar", default_kind="person") == BASE + "person/cesar"
    assert REFS.resolve("document:nb/page-3") == BASE + "document/nb/page-3"
    assert REFS.resolve("label:catalog:C-1#2") == BASE + "specimen/F/_/C-1/label/2"
    assert REFS.resolve("https://example.org/x") == "https://example.org/x"
    with pytest.raises(RefError, match="no specimen with catalogNumber 'NOPE'"):
        REFS.resolve("catalog:NOPE")
    with pytest.raises(RefError, match="names 2 specimens"):
        REFS.resolve("catalog:TWICE")
    with pytest.raises(RefError, match="not a reference"):
        REFS.resolve("nonsense")


# ------------------------------------------------------------------ labels


def test_label_with_image_region_hand_and_evidence() -> None:
    out = map_label(
        {
            "specimen": "catalog:C-1",
            "transcription": "Habenaria\nBelgian Congo",
            "writing_method": "Mix of Handwritten and Typed",
            "image": "https://example.org/C-1.jpg",
            "region": "10,20,300,40",
            "hand": "overlaet",
            "hand_confidence": "0.7",
            "attributed_by": "curator",
            "attributed_on": "2024-05",
            "evidence": "document:nb/p1",
        },
        CTX,
        REFS,
    )
    assert not out.rejected and not out.problems
    t = set(out.triples)
    spec = IRI(BASE + "specimen/F/_/C-1")
    label = IRI(spec + "/label/1")
    ann = IRI(label + "/transcription/1")
    hand = IRI(label + "/hand/overlaet")
    assert (spec, COL.hasLabel, label) in t
    assert (label, COL.writingMethod, Literal("mixed")) in t
    assert (ann, OA.motivatedBy, OA.transcribing) in t
    assert (ann, OA.hasTarget, label) in t
    target = IRI(ann + "/target")
    assert (target, RDF.type, OA.SpecificResource) in t
    assert (target, OA.hasSource, IRI("https://example.org/C-1.jpg")) in t
    assert (IRI(ann + "/selector"), RDF.value, Literal("xywh=10,20,300,40")) in t
    assert (hand, RDF.type, COL.HandwritingAttribution) in t
    assert (hand, PROV.agent, IRI(BASE + "person/overlaet")) in t
    assert (hand, PROV.hadRole, ROLE.labelWriter) in t
    assert (hand, COL.confidence, Literal("0.7", XSD + "decimal")) in t
    assert (hand, PROV.wasAttributedTo, IRI(BASE + "person/curator")) in t
    assert (hand, COL.evidence, IRI(BASE + "document/nb/p1")) in t
    assert (hand, DCTERMS.date, Literal("2024-05", XSD + "gYearMonth")) in t


def test_label_problems_name_their_column() -> None:
    out = map_label({"specimen": "catalog:NOPE", "transcription": "x"}, CTX, REFS)
    assert out.rejected and out.problems[0].column == "specimen"
    assert "NOPE" in out.problems[0].reason
    out = map_label(
        {"specimen": "catalog:C-1", "writing_method": "carved", "hand": "x",
         "hand_confidence": "1.5", "region": "xywh=1,2"},
        CTX,
        REFS,
    )  # fmt: skip
    assert not out.rejected
    assert {p.column for p in out.problems} == {"writing_method", "hand_confidence", "region"}
    assert not any(p == COL.confidence for _, p, _ in out.triples)


def test_fieldmuseum_labels_ingest(fieldmuseum: Store) -> None:
    report = _load(fieldmuseum, "fieldmuseum-labels.csv", "fm-labels")
    assert (report.read, report.loaded, report.rejected) == (8, 8, 0)
    assert not report.problems
    count = fieldmuseum.query(
        "SELECT (COUNT(*) AS ?n) { ?a <http://www.w3.org/ns/oa#hasTarget> ?t . "
        "?t a <http://www.w3.org/ns/oa#SpecificResource> }"
    )
    assert int(next(count.rows())["n"].value) == 8  # type: ignore[union-attr]
    assert _ask(
        fieldmuseum,
        '?s dwc:catalogNumber "V0573776F" ; col:hasLabel ?l . ?l col:writingMethod "mixed" . '
        "?a oa:hasTarget ?l ; oa:hasBody/rdf:value ?text . "
        'FILTER(CONTAINS(?text, "Dr. Edgar A. Mearns 2832")) '
        "?img foaf:depicts ?l ; ac:accessURI "
        "<https://fm-digital-assets.fieldmuseum.org/2433/459/V0573776F.jpg>",
    )


def test_labels_csv_rows_and_columns_in_report(tmp_path: Path, fieldmuseum: Store) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text(
        "specimen,transcription,writing_method,hand,hand_confidence,extra\n"
        "catalog:V0573776F,ok,typed,,,\n"
        ",no specimen,typed,,,\n"
        "catalog:NOT-THERE,unknown sheet,typed,,,\n"
        "catalog:V0576008F,x,scratched,someone,high,\n"
        "too,few\n",
        encoding="utf-8",
    )
    [report] = ingest_files(fieldmuseum, [bad], minter=M, dataset_id="bad")
    assert (report.read, report.loaded, report.rejected) == (5, 2, 3)
    where = {(p.row, p.column, p.severity) for p in report.problems}
    assert (1, "extra", "warning") in where
    assert (3, "specimen", "error") in where
    assert (4, "specimen", "error") in where
    assert (5, "writing_method", "warning") in where
    assert (5, "hand_confidence", "warning") in where
    assert (6, None, "error") in where
    assert all(p.file == str(bad) for p in report.problems)


# ------------------------------------------------------------------ media


def test_idigbio_media_ingest(make_store: Callable[..., Store]) -> None:
    store = make_store()
    report = _load(store, "idigbio-media.csv", "media")
    assert (report.read, report.loaded, report.rejected) == (6, 6, 0)
    # six rows, three media: the provider reuses one managed id for two copies of an image
    rows = list(
        store.query("SELECT DISTINCT ?m { ?m <http://rs.tdwg.org/ac/terms/accessURI> ?u }").rows()
    )
    assert len(rows) == 3
    assert _ask(
        store,
        '?m a <http://purl.org/dc/dcmitype/StillImage> ; ac:subtypeLiteral "Photograph" ; '
        "foaf:depicts <http://swbiodiversity.org/seinet/collections/individual/index.php?occid=174807> ; "
        "dcterms:license <http://creativecommons.org/licenses/by-nc/3.0/> ; "
        "ac:accessURI <http://hasbrouck.asu.edu/imglib/pollen/Seeds/Cornus-stolonifera-272.jpg>",
    )


def test_media_mapping_roles_and_rejections() -> None:
    out = map_media(
        {"media_id": "p1", "creator": "ann", "subtype": "Photograph", "created": "1910-06",
         "depicts": "person:bob|group:exp-1|catalog:C-1|bogus", "license": "cc-by"},
        CTX,
        REFS,
    )  # fmt: skip
    t = set(out.triples)
    m = IRI(BASE + "media/p1")
    assert (m, FOAF.depicts, IRI(BASE + "person/bob")) in t
    assert (m, FOAF.depicts, IRI(BASE + "group/exp-1")) in t
    assert (m, AC.associatedSpecimenReference, IRI(BASE + "specimen/F/_/C-1")) in t
    assert (IRI(m + "/photographer/1"), PROV.hadRole, ROLE.photographer) in t
    assert (m, COL.earliestDate, Literal("1910-06-01", XSD + "date")) in t
    assert [p.column for p in out.problems] == ["depicts"]
    assert map_media({"title": "nothing to key it by"}, CTX, REFS).rejected
    assert map_media({"access_uri": "ftp://x"}, CTX, REFS).problems[0].column == "access_uri"


# ------------------------------------------------------------------ groups and people


def test_group_membership_with_dates() -> None:
    out = map_group(
        {"group_id": "exp", "name": "Expedition", "kind": "expedition", "start_date": "1855",
         "end_date": "1856", "member": "wallace", "member_from": "1855-03",
         "member_to": "1854", "member_role": "leader", "wikidata": "Q42"},
        CTX,
        REFS,
    )  # fmt: skip
    t = set(out.triples)
    g = IRI(BASE + "group/exp")
    role = IRI(g + "/member/wallace")
    assert (g, FOAF.member, IRI(BASE + "person/wallace")) in t
    assert (role, SCHEMA.startDate, Literal("1855-03", XSD + "gYearMonth")) in t
    assert (role, SCHEMA.roleName, Literal("leader")) in t
    assert (g, COL.earliestDate, Literal("1855-01-01", XSD + "date")) in t
    assert (g, COL.latestDate, Literal("1856-12-31", XSD + "date")) in t
    assert (g, SCHEMA.sameAs, IRI("http://www.wikidata.org/entity/Q42")) in t
    assert [p.column for p in out.problems] == ["member_to"]
    assert map_group({"name": "no id"}, CTX, REFS).rejected


def test_people_template_extension_keeps_old_columns() -> None:
    out = map_person(
        {"person_id": "x", "name": "X", "birth_date": "1850", "floruit_start": "1870",
         "floruit_end": "1890-05", "isni": "0000 0001 2145 0289", "affiliations":
         "Kew (1870/1880)|Herbarium (illustrative) (1881/)|Bad (187/)", "other_ids":
         "https://bionomia.net/Q1|not an iri"},
        CTX,
    )  # fmt: skip
    t = set(out.triples)
    p = IRI(BASE + "person/x")
    assert (p, COL.floruitStart, Literal("1870", XSD + "gYear")) in t
    assert (p, COL.floruitEnd, Literal("1890-05", XSD + "gYearMonth")) in t
    assert (p, SCHEMA.sameAs, IRI("https://isni.org/isni/0000000121450289")) in t
    assert (p, SCHEMA.sameAs, IRI("https://bionomia.net/Q1")) in t
    kew = IRI(p + "/affiliation/Kew")
    assert (kew, SCHEMA.startDate, Literal("1870", XSD + "gYear")) in t
    assert (kew, SCHEMA.affiliation, IRI(BASE + "organization/Kew")) in t
    herb = [o for s, pr, o in t if pr == FOAF.name and s.startswith(BASE + "organization/")]
    assert Literal("Herbarium (illustrative)") in herb
    assert {(q.column, q.severity) for q in out.problems} == {
        ("affiliations", "warning"),
        ("other_ids", "warning"),
    }
    matches = [s for s, pr, o in t if pr == COL.matchStatus and o == STATUS.accepted]
    assert len(matches) == 2
    old = map_person({"person_id": "y", "name": "Y", "death_date": "1890"}, CTX)
    assert not old.problems and not old.rejected


# ------------------------------------------------------------------ documents and IIIF


def test_documents_json_paths_and_counts(fieldmuseum: Store) -> None:
    report = _load(fieldmuseum, "notebook.json", "nb")
    # 2 documents + 4 parts + 1 nested letter; a document and a page without ids are rejected
    assert (report.read, report.loaded, report.rejected) == (7, 5, 2)
    problems = {(p.column, p.severity) for p in report.problems}
    assert ("documents[1].id", "error") in problems
    assert ("documents[0].pages[2].id", "error") in problems
    assert ("documents[0].pages[1].mentions[0].specimen", "warning") in problems
    assert ("documents[0].pages[1].mentions[2].planet", "warning") in problems
    assert all(p.row is None for p in report.problems)
    nb = BASE + "document/overlaet-notebook-1923"
    assert _ask(
        fieldmuseum,
        f"<{nb}/p1> a rico:RecordPart ; rico:isOrWasPartOf <{nb}> ; col:earliestDate ?d ; "
        'dcterms:references ?s ; col:mentionedRecordNumber "s.n." ; dcterms:spatial "Belgian Congo" . '
        '?s <http://rs.tdwg.org/dwc/terms/catalogNumber> "V0576008F" . '
        f"<{nb}> rico:hasOrHadPart <{nb}/p1> ; rico:hasOrHadHolder ?h ; "
        "dcterms:source <https://iiif.example.org/notebooks/n1/manifest.json> . "
        f"<{nb}/letters/l1> a rico:Record ; rico:isOrWasPartOf <{nb}/letters> . "
        f'?t a oa:SpecificResource ; oa:hasSelector/rdf:value "xywh=100,200,800,300" . '
        f"?a oa:hasTarget ?t, <{nb}/p1>",
    )


def test_document_mapping_rejects_bad_shapes() -> None:
    records = list(map_document({"id": "d", "pages": "not a list"}, CTX, REFS, "documents[0]"))
    assert [(w, m.rejected is not None) for w, m in records] == [
        ("documents[0]", False),
        ("documents[0].pages", True),
    ]
    [(where, out)] = list(map_document(["not", "an", "object"], CTX, REFS, "documents[3]"))
    assert out.rejected and where == "documents[3]"


def test_iiif_manifest_becomes_document_with_pages_and_images(
    make_store: Callable[..., Store],
) -> None:
    store = make_store()
    report = _load(store, "manifest.json", "iiif")
    assert (report.read, report.loaded, report.rejected) == (4, 3, 1)
    [problem] = report.problems
    assert problem.column == "items[2]" and problem.severity == "error"
    doc = M.document("https://iiif.example.org/notebooks/n1/manifest.json")
    assert _ask(
        store,
        f"<{doc}> a rico:Record ; dcterms:source <https://iiif.example.org/notebooks/n1/manifest.json> ; "
        f'dcterms:title "Field notebook N1, 1923" ; col:earliestDate ?d ; rico:hasOrHadPart <{doc}/canvas/2> . '
        f"<{doc}/canvas/2> dcterms:source <https://iiif.example.org/notebooks/n1/canvas/p2> ; "
        f'dcterms:title "p. 2" . ?img foaf:depicts <{doc}/canvas/2> ; '
        "ac:accessURI <https://iiif.example.org/images/n1-p2/full/max/0/default.jpg>",
    )


def test_file_kinds_and_unreadable_json(tmp_path: Path) -> None:
    assert file_kind(DATA / "fieldmuseum-labels.csv") == "labels"
    assert file_kind(DATA / "idigbio-media.csv") == "media"
    assert file_kind(DATA / "notebook.json") == "documents"
    assert file_kind(DATA / "manifest.json") == "iiif"
    groups = tmp_path / "g.csv"
    groups.write_text("group_id,name\nx,X\n")
    assert file_kind(groups) == "groups"
    broken = tmp_path / "broken.json"
    broken.write_text('{"documents": [\n  {"id": "x",}\n]}')
    with pytest.raises(InputError) as exc:
        file_kind(broken)
    assert exc.value.context["line"] == 2 and "not valid JSON" in str(exc.value)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "Manifest"}))
    with pytest.raises(InputError, match="IIIF Presentation 3"):
        file_kind(other)


def test_cli_reports_json_paths_and_refuses_broken_json(
    tmp_path: Path, store_location: StoreLocation
) -> None:
    from helpers import run_cli

    db = store_location
    report_file = tmp_path / "report.json"
    r = run_cli("ingest", str(DATA / "notebook.json"), "--report", str(report_file), store=db)
    assert r.returncode == 0, r.stderr
    assert "documents[1].id" in r.stderr and "a document needs an id" in r.stderr
    [report] = json.loads(report_file.read_text())
    assert report["read"] == report["loaded"] + report["rejected"] == 7
    broken = tmp_path / "broken.json"
    broken.write_text('{"documents": [\n  {"id": "x",}\n]}')
    r = run_cli("ingest", str(broken), store=db)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "line 2" in r.stderr and "Traceback" not in r.stderr


def test_catalog_references_resolve_within_one_dataset(make_store: Callable[..., Store]) -> None:
    store = make_store()
    [report] = ingest_files(
        store,
        [DATA / "fieldmuseum-specimens.csv", DATA / "fieldmuseum-labels.csv"],
        minter=M,
        dataset_id="together",
    )
    assert (report.read, report.loaded, report.rejected) == (16, 16, 0)
    assert _ask(
        store, '?s dwc:catalogNumber "V0576008F" ; col:hasLabel ?l . ?l a col:SpecimenLabel'
    )


TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "templates"


def test_shipped_templates_have_every_column_and_load_cleanly(
    make_store: Callable[..., Store],
) -> None:
    from collectomics.ingest.csvfile import read_header
    from collectomics.mapping.groups import GROUP_COLUMNS
    from collectomics.mapping.labels import LABEL_COLUMNS
    from collectomics.mapping.media import MEDIA_COLUMNS
    from collectomics.mapping.people import PEOPLE_COLUMNS

    docs = (Path(__file__).resolve().parent.parent / "docs" / "templates.md").read_text()
    for name, columns in (
        ("people.csv", PEOPLE_COLUMNS),
        ("groups.csv", GROUP_COLUMNS),
        ("labels.csv", LABEL_COLUMNS),
        ("media.csv", MEDIA_COLUMNS),
    ):
        assert read_header(TEMPLATES / name) == list(columns), name
        for column in columns:
            assert f"`{column}`" in docs, f"docs/templates.md does not document {column}"
    store = make_store()
    files = [
        TEMPLATES / n
        for n in ("people.csv", "groups.csv", "documents.json", "labels.csv", "media.csv")
    ]
    [report] = ingest_files(store, files, minter=M, dataset_id="templates")
    assert report.read == report.loaded == 10 and not report.problems, report.problems
