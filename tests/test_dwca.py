"""The Darwin Core Archive reader, on real archives first, then on the quirk corpus.

Real archives come from ``tests/data/real`` (see each folder's SOURCE.txt); the quirk archives are
tiny folders in ``tests/data/dwca`` (CATALOGUE.md says what each exercises and expects).
"""

from __future__ import annotations

import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest.dwca import (
    DCTERMS,
    DWC,
    GBIF,
    Archive,
    FileSpec,
    Row,
    RowError,
    header_term,
    normalise_encoding,
)
from collectomics.mapping.dwc import canonical_term
from helpers import REAL

CORPUS = Path(__file__).resolve().parent / "data" / "dwca"
RGBIF = REAL / "rgbif-gbif-downloads" / "0000066-140928181241064.zip"
SIMPLE_CSV = REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
FINCH = REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip"
PYDWCA = REAL / "pydwca-gbif-results" / "gbif-results.zip"
DWCA_IO = REAL / "dwca-io-fixtures"


def _read(archive: Archive, spec: FileSpec) -> tuple[list[Row], list[RowError]]:
    rows: list[Row] = []
    errors: list[RowError] = []
    for item in archive.rows(spec):
        (errors if isinstance(item, RowError) else rows).append(item)  # type: ignore[arg-type]
    return rows, errors


def _filled(rows: list[Row], term: str) -> int:
    return sum(1 for r in rows if term in r.values)


def _spec(archive: Archive, name: str) -> FileSpec:
    return next(s for s in archive.specs if s.name == name)


# --------------------------------------------------------------------------- real archives


def test_gbif_download_2014_core_extensions_and_links() -> None:
    """rgbif 0000066-140928181241064: 470 occurrences, verbatim + multimedia extensions."""
    with Archive.open(RGBIF) as archive:
        assert archive.meta_xml == "meta.xml"
        assert archive.metadata_name == "metadata.xml"
        core = archive.core
        assert (core.row_type, core.is_core, core.id_index) == (DWC + "Occurrence", True, 0)
        assert (core.encoding, core.fields_terminated_by, core.fields_enclosed_by) == (
            "utf-8",
            "\t",
            None,
        )
        assert len(core.fields) == 225
        assert [(s.name, s.row_type) for s in archive.extensions] == [
            ("verbatim.txt", DWC + "Occurrence"),
            ("multimedia.txt", GBIF + "Multimedia"),
        ]
        rows, errors = _read(archive, core)
        assert (len(rows), errors) == (470, [])
        assert (rows[0].line, rows[-1].line) == (2, 471)
        # the fill counts SOURCE.txt gives
        assert _filled(rows, DWC + "recordedBy") == 465
        assert _filled(rows, DWC + "identifiedBy") == 47
        assert _filled(rows, DWC + "eventDate") == 379
        assert _filled(rows, DWC + "catalogNumber") == 470
        assert Counter(r.values[DWC + "basisOfRecord"] for r in rows) == {
            "PRESERVED_SPECIMEN": 457,
            "UNKNOWN": 13,
        }
        core_ids = {r.id for r in rows}
        assert len(core_ids) == 470 and all(r.id == r.values[GBIF + "gbifID"] for r in rows)

        verbatim, errors = _read(archive, _spec(archive, "verbatim.txt"))
        assert (len(verbatim), errors) == (470, [])
        assert _filled(verbatim, DWC + "associatedMedia") == 207
        media, errors = _read(archive, _spec(archive, "multimedia.txt"))
        assert (len(media), errors) == (215, [])
        assert _filled(media, DCTERMS + "identifier") == 210
        # every extension row's coreid is a core id
        assert {r.id for r in verbatim} == core_ids
        assert {r.id for r in media} <= core_ids
        # per-dataset EML: SOURCE.txt says 27, the zip holds 26 dataset/*.xml
        names = archive.dataset_metadata_names()
        assert len(names) == 26 and names[0] == "dataset/4bfac3ea-8763-4f4b-a71a-76a6f5f243d3.xml"
        assert archive.read_bytes(names[0]).startswith(b"<eml:eml")
        assert archive.problems == []


def test_gbif_download_2015_stray_quotes_are_data() -> None:
    """finch 0000154-150116162929234: 443 rows; GBIF's unenclosed TSV keeps quotes as written."""
    with Archive.open(FINCH) as archive:
        rows, errors = _read(archive, archive.core)
        assert (len(rows), errors) == (443, [])
        assert _filled(rows, DWC + "recordedBy") == 426
        assert _filled(rows, DWC + "identifiedBy") == 212
        assert _filled(rows, DCTERMS + "references") == 371
        quoted = [
            r.values[DWC + "locality"] for r in rows if '"' in r.values.get(DWC + "locality", "")
        ]
        assert '"Anegado, Bajo [On original tag as ""Anegado Lagoon""]"' in quoted
        media, _ = _read(archive, _spec(archive, "multimedia.txt"))
        assert len(media) == 1 and media[0].id in {r.id for r in rows}
        assert len(archive.dataset_metadata_names()) == 10
        assert archive.problems == []


def test_gbif_portal_2013_without_header_reads_every_line() -> None:
    """pydwca gbif-results.zip: ignoreHeaderLines 0, so line 1 is a record."""
    with Archive.open(PYDWCA) as archive:
        assert archive.core.ignore_header_lines == 0
        rows, errors = _read(archive, archive.core)
        assert (len(rows), errors) == (158, [])
        assert (rows[0].line, rows[0].id, rows[-1].line) == (1, "607759330", 158)
        assert rows[0].values[DWC + "institutionCode"] == "CAS"
        assert Counter(r.values[DWC + "basisOfRecord"] for r in rows) == {
            "PRESERVED_SPECIMEN": 151,
            "UNKNOWN": 7,
        }
        assert _filled(rows, DWC + "recordedBy") == 108
        assert _filled(rows, DWC + "eventDate") == 44
        assert "CET 1930" in rows[0].values[DWC + "eventDate"]  # Java Date.toString()
        assert len(archive.dataset_metadata_names()) == 23


def test_dwc_1_4_quoted_csv_in_a_zip_folder() -> None:
    """dwca-io archive-occ.zip: meta.xml inside archive-occ/, legacy capitalised terms, quoted CSV."""
    with Archive.open(DWCA_IO / "archive-occ.zip") as archive:
        core = archive.core
        assert (core.name, core.row_type) == ("DarwinCore.txt", DWC + "DarwinCore")
        assert (core.fields_terminated_by, core.fields_enclosed_by) == (",", '"')
        assert archive.metadata_name == "eml.xml"
        rows, errors = _read(archive, core)
        assert (len(rows), errors) == (1534, [])
        first = rows[0]
        assert first.id == "3170b210-6254-43d3-9740-de18b261b594"
        assert first.values[DWC + "ScientificName"] == "Ballota acetabulosa (L.) Benth."
        assert first.values[DWC + "Locality"].startswith("Doganbey - Seferihisar. Near sea , 0m.")
        assert first.values[DWC + "EarliestDateCollected"] == "1999-06-18 00:00:00.0"
        assert {r.values[DWC + "Collector"] for r in rows} == {"Markus Döring"}
        # the IRIs stay as declared; mapping normalises them
        assert canonical_term(DWC + "Collector") == "recordedBy"
        assert canonical_term(DWC + "EarliestDateCollected") == "eventDate"


def test_borza_cp1250_with_explicit_encoding() -> None:
    """Borza.txt: one Windows-1250 TSV, no meta.xml; encoding= names its code page."""
    with Archive.open(DWCA_IO / "Borza.txt", encoding="windows-1250") as archive:
        assert archive.meta_xml is None and archive.core.encoding == "cp1250"
        assert archive.core.id_index == 0  # the "ID" column
        rows, errors = _read(archive, archive.core)
        assert (len(rows), errors) == (435, [])
        assert rows[0].values[DWC + "identifiedBy"] == "Péter Borza"
        collectors = Counter(r.values.get(DWC + "recordedBy") for r in rows)
        # TSV: the spreadsheet's quotes stay part of the value (see the warning below)
        assert collectors['"Andrikovics S, Bakonyi G, Csabai Z, Nosek J"'] == 23
        assert collectors['"Molnár E, Nosek J"'] == 34
        assert not any(p.reason.startswith("line") for p in archive.problems)  # no fallback
        short = [p for p in archive.problems if "fewer fields" in p.reason]
        assert [(p.row, p.count) for p in short] == [(17, 420)]  # rows 17.. lack 4 empty fields
        quotes = [p for p in archive.problems if "double quotes" in p.reason]
        assert [(p.row, p.count) for p in quotes] == [(2, 648)]


def test_borza_without_encoding_falls_back_and_says_so() -> None:
    with Archive.open(DWCA_IO / "Borza.txt") as archive:
        rows, errors = _read(archive, archive.core)
        assert (len(rows), errors) == (435, [])
        [warning] = [p for p in archive.problems if "not valid UTF-8" in p.reason]
        assert (warning.file, warning.row, warning.count, warning.severity) == (
            "Borza.txt",
            2,
            435,
            "warning",
        )
        assert "windows-1252" in warning.reason and "435 line(s)" in warning.reason
    # Borza's letters (é á ö ó) are the same bytes in windows-1250 and -1252
    with Archive.open(DWCA_IO / "Borza.txt", encoding="cp1250") as archive:
        assert [r.values for r in _read(archive, archive.core)[0]] == [r.values for r in rows]


def test_plazi_taxon_core_with_occurrences_media_references() -> None:
    with Archive.open(DWCA_IO / "6632D8151686A3F8C71D4B5A5B1181A4.zip") as archive:
        assert archive.core.row_type == DWC + "Taxon"
        taxa, errors = _read(archive, archive.core)
        assert (len(taxa), errors) == (10, [])
        counts = {s.name: len(_read(archive, s)[0]) for s in archive.extensions}
        assert counts == {
            "occurrences.txt": 47,
            "description.txt": 17,
            "distribution.txt": 0,
            "media.txt": 9,
            "references.txt": 9,
            "vernaculars.txt": 0,
        }
        occurrences, errors = _read(archive, _spec(archive, "occurrences.txt"))
        assert errors == [] and _filled(occurrences, GBIF + "verbatimLabel") == 47
        # <field default="PreservedSpecimen"> without index: a constant on every row
        assert {r.values[DWC + "basisOfRecord"] for r in occurrences} == {"PreservedSpecimen"}
        assert {r.id for r in occurrences} <= {r.id for r in taxa}  # <coreid index="1">
        # meta.xml says metadata="metadata.xml"; the zip holds eml.xml
        assert archive.metadata_name == "eml.xml"
        assert [p.reason for p in archive.problems] == [
            "meta.xml names metadata 'metadata.xml', which is not in the archive; using 'eml.xml'"
        ]


def test_gbif_simple_csv_extracted_and_zipped(tmp_path: Path) -> None:
    """The 2025 SIMPLE_CSV: one tab-separated .csv, no meta.xml, quotes are literal."""
    with zipfile.ZipFile(SIMPLE_CSV) as z:
        z.extractall(tmp_path)
    for path in (tmp_path / "0009886-250127130748423.csv", SIMPLE_CSV):
        with Archive.open(path) as archive:
            core = archive.core
            assert (core.fields_terminated_by, core.fields_enclosed_by) == ("\t", None)
            assert len(core.fields) == 50 and core.id_index == 0  # gbifID
            assert core.fields[0].term == GBIF + "gbifID"
            assert core.field(DCTERMS + "license") is not None
            rows, errors = _read(archive, core)
            assert (len(rows), errors) == (91, [])
            assert Counter(r.values[DWC + "basisOfRecord"] for r in rows) == {
                "PRESERVED_SPECIMEN": 57,
                "HUMAN_OBSERVATION": 27,
                "LIVING_SPECIMEN": 7,
            }
            assert Counter(r.values[DCTERMS + "license"] for r in rows) == {
                "CC_BY_NC_4_0": 59,
                "CC_BY_4_0": 32,
            }
            assert _filled(rows, DWC + "recordedBy") == 62
            by_id = {r.id: r for r in rows}
            assert by_id["1439645910"].values[DWC + "locality"] == (
                '"Rubió de Baix, a 5 km d\'Artesa de Segre sobre el Càmping ""Cel de Balaguer"". '
                'La Noguera."'
            )


def test_puma_csv_optional_quotes_short_rows_and_a_few_windows_bytes() -> None:
    """dwca-io's MaNIS-era CSV: 3,391 data rows (the file has no final newline)."""
    with Archive.open(DWCA_IO / "csv_optional_quotes_puma.csv") as archive:
        assert archive.core.fields_enclosed_by == '"'
        assert archive.core.field(DWC + "CatalogueNumber") is not None  # kept as written
        rows, errors = _read(archive, archive.core)
        assert (len(rows), errors) == (3391, [])
        found = {(p.row, p.count) for p in archive.problems}
        assert found == {(174, 18), (17, 2560)}  # windows-1252 lines; rows without lat/lon


def test_rows_stream_without_holding_the_file() -> None:
    """An 838 KB data file is read with well under a quarter of its size in memory."""
    with Archive.open(DWCA_IO / "archive-occ.zip") as archive:
        tracemalloc.start()
        try:
            n = sum(1 for _ in archive.rows(archive.core))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert n == 1534 and peak < 200_000


# --------------------------------------------------------------------------- quirk corpus


def test_event_core_with_occurrence_extension() -> None:
    with Archive.open(CORPUS / "event-core-occurrence-ext") as archive:
        assert archive.core.row_type == DWC + "Event"
        [occ] = archive.extensions
        assert (occ.row_type, occ.is_core, occ.id_index) == (DWC + "Occurrence", False, 1)
        events, _ = _read(archive, archive.core)
        occurrences, errors = _read(archive, occ)
        assert [e.id for e in events] == ["ev-1980-08-04-segalassos", "ev-1983-06-14-segalassos"]
        assert errors == [] and Counter(o.id for o in occurrences) == {
            "ev-1980-08-04-segalassos": 3,
            "ev-1983-06-14-segalassos": 2,
        }
        assert occurrences[0].values[DWC + "catalogNumber"] == "BCN-1933"
        assert archive.metadata_name == "eml.xml"


def test_field_with_default_and_no_index() -> None:
    with Archive.open(CORPUS / "default-without-index") as archive:
        constant = archive.core.field(DWC + "basisOfRecord")
        assert constant is not None and (constant.index, constant.default) == (
            None,
            "PreservedSpecimen",
        )
        rows, _ = _read(archive, archive.core)
        assert [r.values[DWC + "basisOfRecord"] for r in rows] == ["PreservedSpecimen"] * 2
        assert [r.values[DWC + "country"] for r in rows] == ["Spain", "España"]  # default fills
        assert rows[0].values[DCTERMS + "license"].endswith("/by/4.0/legalcode")


def test_delimited_by_and_vocabulary() -> None:
    with Archive.open(CORPUS / "delimited-by") as archive:
        field = archive.core.field(DWC + "recordedBy")
        basis = archive.core.field(DWC + "basisOfRecord")
        assert field is not None and field.delimited_by == "|"
        assert basis is not None and basis.vocabulary.endswith("basis_of_record.xml")  # type: ignore[union-attr]
        rows, _ = _read(archive, archive.core)
        assert rows[0].values[DWC + "recordedBy"] == "Bosch, Maria | Molero, Julià"  # raw
        assert [field.split(r.values[DWC + "recordedBy"]) for r in rows] == [
            ["Bosch, Maria", "Molero, Julià"],
            ["Blanché, Cèsar", "Ferrer, R."],
        ]


def test_crlf_line_ends_keep_a_bare_lf_inside_a_field() -> None:
    with Archive.open(CORPUS / "crlf-line-endings") as archive:
        assert archive.core.lines_terminated_by == "\r\n"
        rows, errors = _read(archive, archive.core)
        assert errors == [] and [r.line for r in rows] == [2, 3, 5]
        assert rows[1].values[DWC + "occurrenceRemarks"] == "Barranc dels Rastors\nlabel line 2"
        assert rows[2].values[DWC + "occurrenceRemarks"] == "Aprop de les Gorgeres a Ulldemolins"


def test_quoted_csv_with_commas_quotes_and_a_line_break() -> None:
    with Archive.open(CORPUS / "quoted-csv-embedded-newline") as archive:
        assert archive.core.fields_enclosed_by == '"'  # from fieldsEnclosedBy="&quot;"
        rows, errors = _read(archive, archive.core)
        assert errors == [] and [r.line for r in rows] == [2, 3, 5]
        assert rows[0].values[DWC + "recordedBy"] == "Blanché, Cèsar"
        assert rows[0].values[DWC + "locality"].endswith('Càmping "Cel de Balaguer". La Noguera.')
        assert rows[1].values[DWC + "locality"] == "Alòs de Balaguer\n(label, second line)"
        assert rows[1].values[DWC + "recordedBy"].count(";") == 2


def test_wrong_field_counts() -> None:
    with Archive.open(CORPUS / "wrong-field-count") as archive:
        rows, errors = _read(archive, archive.core)
        assert [r.line for r in rows] == [2, 4, 6, 7]
        assert [(e.line, e.file) for e in errors] == [(3, "occurrence.txt"), (5, "occurrence.txt")]
        assert errors[0].reason == "row has 5 fields, expected 4"
        assert "no field separator" in errors[1].reason
        assert DWC + "eventDate" not in rows[1].values  # the short row: missing field is empty
        [short] = archive.problems
        assert (short.file, short.row, short.count) == ("occurrence.txt", 4, 1)
        error = errors[0].to_input_error()
        assert (error.file, error.row) == ("occurrence.txt", 3)


def test_missing_data_file_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        Archive.open(CORPUS / "missing-data-file")
    assert (caught.value.file, caught.value.row) == ("meta.xml", 5)
    assert "'occurrence.txt', which is not in the archive" in caught.value.message


def test_meta_xml_that_does_not_parse() -> None:
    with pytest.raises(InputError) as caught:
        Archive.open(CORPUS / "broken-meta-xml")
    assert (caught.value.file, caught.value.row) == ("meta.xml", 6)
    assert "mismatched tag" in caught.value.message


def test_meta_xml_in_a_subfolder_of_a_zip_and_of_a_folder(tmp_path: Path) -> None:
    source = CORPUS / "meta-in-subfolder"
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for path in sorted(source.rglob("*")):
            z.write(path, path.relative_to(source).as_posix())
        z.writestr("__MACOSX/export-2024/._meta.xml", b"\x00\x05\x16\x07junk")
    for path in (zipped, source):
        with Archive.open(path) as archive:
            assert archive.meta_xml == "meta.xml" and archive.metadata_name == "eml.xml"
            rows, errors = _read(archive, archive.core)
            assert errors == [] and [r.values[DWC + "catalogNumber"] for r in rows] == [
                "BC-804686",
                "BCN-35753",
            ]
            assert b"meta.xml in a subfolder" in archive.read_bytes("eml.xml")


def test_utf8_bom_does_not_stick_to_the_first_id() -> None:
    with Archive.open(CORPUS / "utf8-bom") as archive:
        rows, _ = _read(archive, archive.core)
        assert [(r.line, r.id) for r in rows] == [(1, "1439645907"), (2, "1439645904")]
        assert archive.problems == []


def test_declared_utf8_with_windows_1252_lines() -> None:
    with Archive.open(CORPUS / "utf8-declared-cp1252-bytes") as archive:
        rows, errors = _read(archive, archive.core)
        assert errors == [] and len(rows) == 4
        assert rows[1].values[DWC + "recordedBy"] == "Molero, Julià"
        assert rows[1].values[DWC + "locality"] == "Els Segalassos – Ulldemolins"
        assert rows[2].values[DWC + "locality"] == "Sant Llorenç de Munt"  # UTF-8 line
        assert rows[3].values[DWC + "recordedBy"] == "Blanché, Cèsar"
        [warning] = archive.problems
        assert (warning.file, warning.row, warning.count) == ("occurrence.txt", 3, 2)
        # reading again does not report twice
        _read(archive, archive.core)
        assert len(archive.problems) == 1 and archive.problems[0].count == 2


def test_unenclosed_tsv_keeps_stray_quotes() -> None:
    with Archive.open(CORPUS / "tsv-stray-quotes") as archive:
        rows, errors = _read(archive, archive.core)
        assert errors == [] and [r.line for r in rows] == [2, 3, 4]
        assert rows[0].values[DWC + "locality"].endswith('""Cel de Balaguer"". La Noguera."')
        assert rows[1].values[DWC + "locality"] == '"La Noguera: Rubió de Baix'
        assert rows[2].values[DWC + "locality"] == 'Rubió de Baix, "Cel de Rubió" camping'
        assert archive.problems == []  # meta.xml said: no enclosure


def test_doubly_escaped_separators() -> None:
    with Archive.open(CORPUS / "double-escaped-tab") as archive:
        assert (archive.core.fields_terminated_by, archive.core.lines_terminated_by) == ("\t", "\n")
        rows, _ = _read(archive, archive.core)
        assert [r.values[DWC + "catalogNumber"] for r in rows] == ["BC-804686"]


def test_core_split_over_two_locations() -> None:
    with Archive.open(CORPUS / "multiple-locations") as archive:
        assert archive.core.locations == ("occurrence-1.txt", "occurrence-2.txt")
        rows, _ = _read(archive, archive.core)
        assert [(r.file, r.line) for r in rows] == [
            ("occurrence-1.txt", 2),
            ("occurrence-1.txt", 3),
            ("occurrence-2.txt", 2),
        ]


def test_excel_unicode_text_export() -> None:
    """UTF-16LE with a byte-order mark, CRLF, no meta.xml: what Excel's "Unicode text" writes."""
    with Archive.open(CORPUS / "utf16-excel-export") as archive:
        assert archive.core.encoding == "utf-16" and archive.core.id_index is None
        rows, errors = _read(archive, archive.core)
        assert errors == [] and [r.values[DWC + "recordedBy"] for r in rows] == [
            "Blanché, Cèsar",
            "Bosch, Maria & Molero, Julià",
        ]
        assert archive.problems == []


def test_semicolon_csv_with_prefixed_headers() -> None:
    with Archive.open(CORPUS / "semicolon-csv-no-meta" / "specimens.csv") as archive:
        core = archive.core
        assert (core.fields_terminated_by, core.fields_enclosed_by, core.id_index) == (";", '"', 0)
        assert core.terms == [
            GBIF + "gbifID",
            DWC + "catalogNumber",
            DWC + "recordedBy",
            DWC + "eventDate",
            DCTERMS + "license",
            DCTERMS + "rightsHolder",
            DWC + "locality",
        ]
        rows, _ = _read(archive, core)
        assert rows[0].values[DWC + "locality"] == "Congost de Camarasa; Noguera"
        assert DWC + "eventDate" not in rows[1].values


def test_an_archive_read_from_a_zip_of_the_corpus(tmp_path: Path) -> None:
    zipped = tmp_path / "event.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((CORPUS / "event-core-occurrence-ext").iterdir()):
            z.write(path, path.name)
    with Archive.open(zipped) as archive:
        assert [len(_read(archive, s)[0]) for s in archive.specs] == [2, 5]


# --------------------------------------------------------------------------- small contracts


def test_open_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        Archive.open(tmp_path / "nothing.zip")
    with pytest.raises(InputError, match="unknown encoding"):
        Archive.open(CORPUS / "utf8-bom", encoding="klingon-8")
    (tmp_path / "a.csv").write_text("catalogNumber\n1\n")
    (tmp_path / "b.csv").write_text("catalogNumber\n2\n")
    with pytest.raises(InputError, match="2 data files"):
        Archive.open(tmp_path)
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    with pytest.raises(InputError, match="not a valid zip"):
        Archive.open(tmp_path / "bad.zip")


def test_header_terms_and_encoding_names() -> None:
    assert header_term("recordedBy") == DWC + "recordedBy"
    assert header_term("dwc:recordedBy") == DWC + "recordedBy"
    assert header_term(" \ufeffhttp://rs.tdwg.org/dwc/terms/eventDate") == DWC + "eventDate"
    assert header_term("license") == DCTERMS + "license"
    assert header_term("Type") == DCTERMS + "type"
    assert header_term("dc:rightsholder") == DCTERMS + "rightsHolder"
    assert header_term("gbifID") == GBIF + "gbifID"
    assert header_term("datasetkey") == GBIF + "datasetKey"
    assert header_term("CatalogueNumber") == DWC + "CatalogueNumber"
    assert [normalise_encoding(n) for n in ("UTF8", "utf-8-sig", "ISO-8859-1", "Windows-1252")] == [
        "utf-8",
        "utf-8",
        "iso8859-1",
        "cp1252",
    ]


def test_a_quote_that_never_closes_is_one_row_error_not_a_swallowed_file() -> None:
    with Archive.open(CORPUS / "unclosed-quote") as archive:
        rows, errors = _read(archive, archive.core)
        assert [r.line for r in rows] == [2]
        assert [(e.line, e.reason) for e in errors] == [
            (
                3,
                "a quoted field never closes: the record runs from line 3 to the end of the file (line 5)",
            )
        ]
