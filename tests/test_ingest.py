"""Ingest: every record loaded or rejected with file/row/column; datasets replaced atomically."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest import DatasetSpec, ingest_dataset, ingest_files
from collectomics.iri import Minter
from collectomics.model import IRI
from collectomics.store import OxigraphStore
from helpers import REAL

FIX = Path(__file__).resolve().parent / "data" / "ingest"


def _count(store: OxigraphStore, sparql: str) -> int:
    return int(next(store.query(sparql).rows())["n"].value)  # type: ignore[union-attr]


def test_people_template(store: OxigraphStore, minter: Minter) -> None:
    [report] = ingest_files(store, [FIX / "people-mixed.csv"], minter=minter)
    assert (report.read, report.loaded, report.rejected) == (4, 3, 1)
    assert report.read == report.loaded + report.rejected
    errors = [(p.row, p.column) for p in report.problems if p.severity == "error"]
    assert errors == [(4, "person_id")]
    warnings = {(p.row, p.column) for p in report.problems if p.severity == "warning"}
    assert {(5, "birth_date"), (5, "orcid")} <= warnings
    assert _count(store, "SELECT (COUNT(*) AS ?n) { ?p a <http://xmlns.com/foaf/0.1/Person> }") == 3
    assert (
        _count(
            store,
            "SELECT (COUNT(*) AS ?n) { ?p a <https://w3id.org/collectomics/ontology#DescribedPerson> }",
        )
        == 1
    )


def test_specimen_template_reports_each_problem(store: OxigraphStore, minter: Minter) -> None:
    [report] = ingest_files(store, [FIX / "specimens-mixed.csv"], minter=minter, dataset_id="spec")
    assert (report.read, report.loaded, report.rejected) == (5, 4, 1)
    by_row = {(p.row, p.column, p.severity) for p in report.problems}
    assert (4, "catalogNumber", "warning") in by_row  # no catalogue number: keyed by its row
    assert (5, None, "error") in by_row  # too many fields
    assert (3, "decimalLatitude", "warning") in by_row  # "north" is not a number
    assert all(p.file.endswith("specimens-mixed.csv") for p in report.problems)
    assert (
        _count(
            store,
            "SELECT (COUNT(*) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }",
        )
        == 4  # one node per loaded record
    )


def test_non_utf8_file_is_read_with_a_fallback_that_is_reported(
    store: OxigraphStore, minter: Minter
) -> None:
    [report] = ingest_files(store, [FIX / "specimens-cp1252.csv"], minter=minter)
    assert (report.read, report.loaded, report.rejected) == (2, 2, 0)
    [warning] = [p for p in report.problems if "UTF-8" in p.reason or "utf-8" in p.reason.lower()]
    assert warning.row == 3 and warning.severity == "warning"
    names = {
        r["n"].value
        for r in store.query("SELECT ?n { ?a <http://xmlns.com/foaf/0.1/name> ?n }").rows()
    }  # type: ignore[union-attr]
    assert any("Blanché" in n for n in names)  # 0xE9 read as é, not dropped or mangled


def test_unknown_file_is_refused_before_anything_loads(
    store: OxigraphStore, minter: Minter
) -> None:
    with pytest.raises(InputError, match="cannot tell what this file holds"):
        ingest_files(store, [FIX / "people-mixed.csv", FIX / "mystery.csv"], minter=minter)
    assert store.graphs() == []


def test_rdf_files_resolve_against_the_base(store: OxigraphStore) -> None:
    minter = Minter("https://collections.example.org/")
    ingest_files(store, [FIX / "notes.ttl"], minter=minter)
    doc = IRI("https://collections.example.org/document/notebook-1")
    rows = list(
        store.query(
            "SELECT ?doc ?spec { ?doc <http://purl.org/dc/terms/references> ?spec }",
            params={"doc": doc},
        ).rows()
    )
    assert rows[0]["spec"] == minter.specimen("BCN", "_", "BCN-35752")


def test_existing_dataset_needs_replace_and_bad_input_keeps_old_data(
    store: OxigraphStore, minter: Minter
) -> None:
    ingest_files(store, [FIX / "notes.ttl"], minter=minter, dataset_id="docs")
    before = store.count(minter.graph("docs"))
    with pytest.raises(InputError, match="--replace"):
        ingest_files(store, [FIX / "people-mixed.csv"], minter=minter, dataset_id="docs")
    (same,) = ingest_files(store, [FIX / "notes.ttl"], minter=minter, dataset_id="docs")
    assert same.unchanged and store.count(minter.graph("docs")) == before
    with pytest.raises(InputError) as err:
        ingest_files(store, [FIX / "broken.ttl"], minter=minter, dataset_id="docs", replace=True)
    assert "3:" in str(err.value) or "line 3" in str(err.value)  # the parser's position
    assert store.count(minter.graph("docs")) == before
    ingest_files(store, [FIX / "people-mixed.csv"], minter=minter, dataset_id="docs", replace=True)
    assert (
        _count(
            store,
            "SELECT (COUNT(*) AS ?n) { ?d a <https://www.ica.org/standards/RiC/ontology#Record> }",
        )
        == 0
    )


def test_reingest_is_isomorphic(tmp_path: Path, minter: Minter) -> None:
    dumps = []
    for i in range(2):
        s = OxigraphStore()
        ingest_files(
            s,
            [FIX / "specimens-mixed.csv", FIX / "people-mixed.csv"],
            minter=minter,
            dataset_id="d",
        )
        out = tmp_path / f"{i}.nq"
        s.dump(str(out))
        dumps.append(sorted(out.read_text().splitlines()))
    assert dumps[0] == dumps[1]  # no blank nodes: identical, not just isomorphic


def test_real_gbif_simple_csv(tmp_path: Path, store: OxigraphStore, minter: Minter) -> None:
    """A real GBIF SIMPLE_CSV download: tab-separated, Darwin Core headers, 91 records."""
    archive = REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path)
    csv_file = next(tmp_path.glob("*.csv"))
    report = ingest_dataset(store, DatasetSpec("gbif", (csv_file,)), minter=minter)
    assert (report.read, report.loaded, report.rejected) == (91, 91, 0)
    n = _count(
        store, "SELECT (COUNT(*) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"
    )
    # 57 PRESERVED_SPECIMEN rows per SOURCE.txt; observations map to dwc:Occurrence instead.
    # Two W records carry the placeholder occurrenceID "present": keyed by gbifID, not merged.
    assert n == 57
    assert not [p for p in report.problems if p.column == "occurrenceID"]
    assert (
        _count(
            store,
            'SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s <http://rs.tdwg.org/dwc/terms/occurrenceID> "present" }',
        )
        == 2
    )
    lit = _count(
        store,
        "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(STRSTARTS(STR(?p), 'http://rs.tdwg.org/dwc/iri/') && isLiteral(?o)) }",
    )
    assert lit == 0


def test_utf16_text_cut_short_is_one_error_naming_the_file(
    store: OxigraphStore, minter: Minter, tmp_path: Path
) -> None:
    """A header read as UTF-16 whose bytes end in half a character (a UnicodeError with no
    ``reason``, unlike a decoding error) is refused with the file and row named, not a crash."""
    people = tmp_path / "people.csv"
    people.write_bytes("person_id,name\n".encode("utf-16-le") + b"p")
    with pytest.raises(InputError, match="header row is not utf-16 text") as e:
        ingest_files(store, [people], minter=minter, encoding="utf-16")
    assert (e.value.file, e.value.row) == (str(people), 1)
    assert not list(store.graphs())  # nothing loaded


def test_a_people_row_the_mapper_fails_on_is_rejected_and_the_rest_load(
    store: OxigraphStore, minter: Minter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours in the people mapper (made to raise on one row) rejects that row, naming
    the exception, where it stopped the ingest: the other people load."""
    import collectomics.ingest.people as people

    real = people.map_person

    def failing(record, ctx):  # type: ignore[no-untyped-def]
        if record.get("person_id") == "joan-pedrol":
            raise IndexError("a bug")
        return real(record, ctx)

    monkeypatch.setattr(people, "map_person", failing)
    [report] = ingest_files(store, [FIX / "people-mixed.csv"], minter=minter)
    assert (report.read, report.loaded, report.rejected) == (4, 2, 2)
    failed = [p for p in report.problems if "Collectomics failed" in p.reason]
    assert [(p.row, p.severity) for p in failed] == [(5, "error")]
    assert _count(store, "SELECT (COUNT(*) AS ?n) { ?p a <http://xmlns.com/foaf/0.1/Person> }") == 2
