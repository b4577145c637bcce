"""Darwin Core Archive ingest end to end, on every real archive in tests/data/real and the quirks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest import DatasetSpec, ingest_dataset, ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore
from helpers import REAL

QUIRKS = Path(__file__).resolve().parent / "data" / "dwca"


def _n(store: OxigraphStore, sparql: str) -> int:
    return int(next(store.query(sparql).rows())["n"].value)  # type: ignore[union-attr]


def _adds_up(report) -> None:  # type: ignore[no-untyped-def]
    assert report.read == report.loaded + report.rejected
    for name, c in report.extensions.items():
        assert c.read == c.loaded + c.rejected, name


ARCHIVES = {
    # archive: (core records read, loaded, {extension: rows loaded})
    "rgbif-gbif-downloads/0000066-140928181241064.zip": (
        470,
        470,
        {"verbatim.txt": 470, "multimedia.txt": 215},
    ),
    "finch-gbif-download-2015/0000154-150116162929234.zip": (
        443,
        443,
        {"verbatim.txt": 443, "multimedia.txt": 1},
    ),
    "pydwca-gbif-results/gbif-results.zip": (158, 158, {}),
    "dwca-io-fixtures/archive-occ.zip": (1534, 1534, {}),
    "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip": (
        10,
        10,
        {"occurrences.txt": 47, "media.txt": 9},
    ),
}


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_every_real_archive_ingests_with_counts_that_add_up(name: str, minter: Minter) -> None:
    store = OxigraphStore()
    read, loaded, ext = ARCHIVES[name]
    [report] = ingest_files(store, [REAL / name], minter=minter)
    _adds_up(report)
    assert (report.read, report.loaded) == (read, loaded)
    for ext_name, rows in ext.items():
        assert report.extensions[ext_name].loaded == rows
    # never a literal on a dwciri: term, never owl:sameAs
    assert (
        _n(
            store,
            "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(STRSTARTS(STR(?p), 'http://rs.tdwg.org/dwc/iri/') && isLiteral(?o)) }",
        )
        == 0
    )
    assert (
        _n(store, "SELECT (COUNT(*) AS ?n) { ?s <http://www.w3.org/2002/07/owl#sameAs> ?o }") == 0
    )


def test_gbif_download_keeps_sources_media_and_verbatim(minter: Minter) -> None:
    store = OxigraphStore()
    ingest_files(
        store,
        [REAL / "rgbif-gbif-downloads/0000066-140928181241064.zip"],
        minter=minter,
        dataset_id="dl",
    )
    # 26 source datasets, each described by dataset/*.xml EML; every specimen points to its own
    assert (
        _n(store, "SELECT (COUNT(DISTINCT ?d) AS ?n) { ?dl <http://purl.org/dc/terms/hasPart> ?d }")
        == 26
    )
    specimens = _n(
        store,
        "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> }",
    )
    assert specimens >= 450
    assert (
        _n(
            store,
            """SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> ;
        <http://schema.org/includedInDataSet> ?d . ?dl <http://purl.org/dc/terms/hasPart> ?d }""",
        )
        == specimens
    )
    assert (
        _n(
            store,
            "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?m <http://xmlns.com/foaf/0.1/depicts> ?s ; <http://rs.tdwg.org/ac/terms/accessURI> ?u }",
        )
        == 209  # of the 214 distinct core ids in multimedia.txt, 5 have no image URL
    )
    assert (
        _n(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?m <http://xmlns.com/foaf/0.1/depicts> ?s }")
        == 214
    )
    assert (
        _n(
            store,
            "SELECT (COUNT(*) AS ?n) { ?s <http://www.w3.org/ns/prov#wasDerivedFrom> ?v . ?v a <https://w3id.org/collectomics/ontology#VerbatimRecord> }",
        )
        > 0
    )


def test_no_header_archive_java_dates(minter: Minter) -> None:
    store = OxigraphStore()
    [report] = ingest_files(store, [REAL / "pydwca-gbif-results/gbif-results.zip"], minter=minter)
    assert report.read == 158  # ignoreHeaderLines=0: the first line is a record
    # java.util.Date strings ("Tue Apr 01 00:00:00 CET 1930") get exact bounds
    assert (
        _n(
            store,
            "SELECT (COUNT(*) AS ?n) { ?e <http://rs.tdwg.org/dwc/terms/eventDate> ?d ; <https://w3id.org/collectomics/ontology#earliestDate> ?x FILTER(CONTAINS(?d, 'CET')) }",
        )
        > 0
    )


def test_legacy_terms(minter: Minter) -> None:
    store = OxigraphStore()
    ingest_files(store, [REAL / "dwca-io-fixtures/archive-occ.zip"], minter=minter)
    # Darwin Core 1.4 CatalogNumber/ScientificName/Latitude read as today's terms
    assert (
        _n(
            store,
            "SELECT (COUNT(*) AS ?n) { ?s <http://rs.tdwg.org/dwc/terms/catalogNumber> ?c ; <http://rs.tdwg.org/dwc/terms/scientificName> ?x }",
        )
        == 1534
    )
    assert (
        _n(
            store,
            "SELECT (COUNT(*) AS ?n) { ?l <http://rs.tdwg.org/dwc/terms/decimalLatitude> ?c }",
        )
        > 1000
    )


def test_cp1250_file(minter: Minter) -> None:
    path = REAL / "dwca-io-fixtures/Borza.txt"
    store = OxigraphStore()
    [report] = ingest_files(store, [path], minter=minter, encoding="cp1250")
    _adds_up(report)
    assert report.read == 435
    assert not [
        p for p in report.problems if "encoding" in p.reason.lower() or "utf-8" in p.reason.lower()
    ]
    names = {
        r["n"].value
        for r in store.query(
            "SELECT DISTINCT ?n { ?a a <https://w3id.org/collectomics/ontology#NameStringAgent> ; <http://xmlns.com/foaf/0.1/name> ?n }"
        ).rows()
    }  # type: ignore[union-attr]
    assert "Péter Borza" in names or any("Borza" in n for n in names)
    # without the right encoding every row still loads, and the fallback is reported
    [report] = ingest_files(OxigraphStore(), [path], minter=minter)
    assert report.loaded + report.rejected == 435
    assert any(
        p.severity == "warning" and ("encod" in p.reason.lower() or "utf-8" in p.reason.lower())
        for p in report.problems
    )


def test_simple_csv(tmp_path: Path, minter: Minter) -> None:
    with zipfile.ZipFile(REAL / "rgbif-gbif-downloads/0009886-250127130748423.zip") as z:
        z.extractall(tmp_path)
    store = OxigraphStore()
    [report] = ingest_files(store, list(tmp_path.glob("*.csv")), minter=minter)
    assert (report.read, report.loaded) == (91, 91)


def test_event_core_with_occurrence_extension(minter: Minter) -> None:
    store = OxigraphStore()
    [report] = ingest_files(store, [QUIRKS / "event-core-occurrence-ext"], minter=minter)
    _adds_up(report)
    assert report.loaded >= 1 and sum(c.loaded for c in report.extensions.values()) >= 1
    # each specimen's event is part of the core event and inherits its date
    assert (
        _n(
            store,
            """SELECT (COUNT(*) AS ?n) { ?s <https://w3id.org/collectomics/ontology#collectingEvent> ?e .
        ?e <http://purl.org/dc/terms/isPartOf> ?core . ?core a <http://rs.tdwg.org/dwc/terms/Event> }""",
        )
        >= 1
    )


def test_reingest_gives_the_same_graph(tmp_path: Path, minter: Minter) -> None:
    archive = REAL / "finch-gbif-download-2015/0000154-150116162929234.zip"
    store = OxigraphStore()
    ingest_dataset(store, DatasetSpec("finch", (archive,)), minter=minter)
    first = tmp_path / "1.nq"
    store.dump(str(first))
    ingest_dataset(store, DatasetSpec("finch", (archive,)), minter=minter, replace=True)
    second = tmp_path / "2.nq"
    store.dump(str(second))
    assert sorted(first.read_text().splitlines()) == sorted(second.read_text().splitlines())


def test_report_json_is_serialisable(minter: Minter) -> None:
    [report] = ingest_files(
        OxigraphStore(),
        [REAL / "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip"],
        minter=minter,
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["extensions"]["description.txt"]["loaded"] == 17  # kept verbatim, not dropped
    assert data["terms"]["description.txt"]["dcterms:description"] == [0, 17]


@pytest.mark.parametrize(
    ("path", "dataset"),
    [
        (REAL / "rgbif-gbif-downloads/0000066-140928181241064.zip", "0000066-140928181241064"),
        (REAL / "dwca-io-fixtures/archive-occ.zip", "79829665-82c9-414b-b3c1-c1920c4c6c78"),
        (
            REAL / "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip",
            "6632D8151686A3F8C71D4B5A5B1181A4",
        ),
        (REAL / "dwca-io-fixtures/Borza.txt", "Borza"),
    ],
)
def test_default_dataset_ids_survive_new_versions(path: Path, dataset: str) -> None:
    from collectomics.ingest.archive import default_dataset_id

    assert default_dataset_id(path) == dataset


def test_records_sharing_a_key_stay_apart_with_a_warning(tmp_path: Path) -> None:
    f = tmp_path / "dups.csv"
    f.write_text(
        "institutionCode,collectionCode,catalogNumber,recordedBy\n"
        "E,HERB,E001,A. Smith\nE,HERB,E002,B. Jones\nE,HERB,E001,C. Brown\nE,HERB,E001,D. Lee\n",
        encoding="utf-8",
    )
    minter = Minter()
    store = OxigraphStore()
    (report,) = ingest_files(store, [f], minter=minter)
    _adds_up(report)
    assert (report.read, report.loaded) == (4, 4)
    repeats = [p for p in report.problems if "already given" in p.reason]
    assert [p.row for p in repeats] == [4, 5]
    assert all("line 2" in p.reason and "'E HERB E001'" in p.reason for p in repeats)
    first = minter.specimen(report.dataset, "catalog", "E", "HERB", "E001")
    assert f"<{first}/repeat/3>" in repeats[1].reason
    assert (
        _n(
            store,
            "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> }",
        )
        == 4
    )
    collectors = _n(
        store,
        f"SELECT (COUNT(?who) AS ?n) {{ <{first}/repeat/2> <http://rs.tdwg.org/dwc/terms/catalogNumber> 'E001' ; "
        "<http://rs.tdwg.org/dwc/iri/recordedBy> ?who }",
    )
    assert collectors == 1  # C. Brown alone: not merged with A. Smith's record


def test_dcterms_identifier_is_the_record_identifier_not_a_determiner(minter: Minter) -> None:
    """GBIF downloads carry dcterms:identifier (the record's identifier); it was once read as
    the legacy 'Identifier' alias of identifiedBy, giving identifications numbers for
    determiners and 224 warnings on this download."""
    from collectomics.mapping.dwc import canonical_term

    assert canonical_term("http://purl.org/dc/terms/identifier") == "identifier"
    assert canonical_term("dcterms:identifier") == "identifier"
    store = OxigraphStore()
    archive = REAL / "finch-gbif-download-2015/0000154-150116162929234.zip"
    [report] = ingest_files(store, [archive], minter=minter)
    specimen = minter.specimen("gbif", "1019885007")  # occurrenceID 83676
    assert store.query(
        f'ASK {{ <{specimen}> <http://purl.org/dc/terms/identifier> "83676" }}'
    ).boolean
    numeric_determiners = _n(
        store,
        "SELECT (COUNT(*) AS ?n) { ?i <http://rs.tdwg.org/dwc/terms/identifiedBy> ?who "
        'FILTER(REGEX(STR(?who), "^[0-9]+$")) }',
    )
    assert numeric_determiners == 0
    # what is left is real: values such as '[no agent data]'
    assert not [p for p in report.problems if p.column == "identifiedBy" and "'1" in p.reason]
    assert len(report.problems) < 20


def test_a_utf16_darwin_core_file_loads_from_the_command_line_path(minter: Minter) -> None:
    """Spreadsheets export UTF-16 with a byte-order mark; the file's kind is told from its
    header read as the mark says, and the archive reader decodes the rows."""
    store = OxigraphStore()
    path = Path(__file__).resolve().parent / "data/dwca/utf16-excel-export/specimens.txt"
    [report] = ingest_files(store, [path], minter=minter)
    assert (report.read, report.loaded, report.rejected) == (2, 2, 0)
    assert report.triples == store.count(report.graph) > 0


def test_every_problem_names_its_file_with_the_archive(minter: Minter) -> None:
    """The reader's own notes (encoding, short rows) and its errors (meta.xml) name the archive
    member as the loader's problems do, so that a report over several archives is clear."""
    quirks = Path(__file__).resolve().parent / "data/dwca"
    store = OxigraphStore()
    [report] = ingest_files(store, [quirks / "utf8-declared-cp1252-bytes"], minter=minter)
    files = {p.file for p in report.problems}
    assert files == {str(quirks / "utf8-declared-cp1252-bytes/occurrence.txt")}
    with pytest.raises(InputError) as err:
        ingest_files(store, [quirks / "broken-meta-xml"], minter=minter)
    assert err.value.file == str(quirks / "broken-meta-xml/meta.xml")
    assert err.value.row == 6


def test_a_row_a_mapper_fails_on_is_rejected_and_the_ingest_goes_on(
    monkeypatch: pytest.MonkeyPatch, minter: Minter
) -> None:
    """A bug of ours in a mapper (here made to raise on one record, as the name reader raised on
    'A. K. & S. K. De') rejects that row, with its verbatim row, saying so, where it stopped the
    whole ingest: the other records load and the counts add up, rows and nodes."""
    import collectomics.ingest.batches as batches

    real = batches.map_specimen
    victim = "658187373"  # a gbifID

    def failing(record, ctx, iri):  # type: ignore[no-untyped-def]
        if record.get("gbifID") == victim:
            raise ValueError("max() arg is an empty sequence")
        return real(record, ctx, iri)

    monkeypatch.setattr(batches, "map_specimen", failing)
    archive = REAL / "rgbif-gbif-downloads" / "0000066-140928181241064.zip"
    with OxigraphStore() as store:
        [report] = ingest_files(store, [archive], minter=minter)
        _adds_up(report)
        assert (report.read, report.loaded, report.rejected) == (470, 469, 1)
        assert report.extensions["verbatim.txt"].loaded == 469
        [problem] = [p for p in report.problems if "not mapped" in p.reason]
        assert problem.severity == "error" and problem.row is not None
        assert "ValueError: max() arg is an empty sequence" in problem.reason
        assert "occurrence.txt" in problem.file
        records = (
            "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s <http://www.w3.org/2000/01/rdf-schema#seeAlso> ?p "
            'FILTER STRSTARTS(STR(?p), "https://www.gbif.org/occurrence/") }'
        )
        assert _n(store, records) == 469  # one node a loaded record, none for the failed one
        page = f"<https://www.gbif.org/occurrence/{victim}>"
        assert _n(store, f"SELECT (COUNT(*) AS ?n) {{ ?s ?p {page} }}") == 0


def test_numbers_that_would_not_fit_in_memory_are_kept_as_written(
    tmp_path: Path, minter: Minter
) -> None:
    """'1e40018620501' is a valid decimal of 40 billion digits written out: formatting it took
    all memory (MemoryError, found by fuzzing the mapper). Numbers past 100 digits before or
    after the point, as decimals or integers, are kept as written with a warning naming the
    column, and the records load."""
    huge = {
        "coordinateUncertaintyInMeters": "1e40018620501",
        "minimumElevationInMeters": "1E-400",
        "startDayOfYear": "1" * 400 + ".0",
    }
    header = ["occurrenceID", *huge]
    rows = [header, ["urn:x:1", *huge.values()], ["urn:x:2", "12.5", "-3", "7"]]
    path = tmp_path / "numbers.txt"
    path.write_text("".join("\t".join(r) + "\n" for r in rows), "utf-8")
    with OxigraphStore() as store:
        [report] = ingest_files(store, [path], minter=minter)
        _adds_up(report)
        assert (report.read, report.loaded) == (2, 2)
        warned = {p.column for p in report.problems if "digits" in p.reason}
        assert warned == set(huge), report.problems
        for value in huge.values():
            assert _n(store, f'SELECT (COUNT(*) AS ?n) {{ ?s ?p "{value}" }}') == 1, value[:20]
