"""Property-based tests (hypothesis, fixed seed) of the CSV reader and the Darwin Core Archive
reader: any bytes give records, or an InputError naming the file (and row where there is one),
never another exception; an ingest's counts add up (read == loaded + rejected)."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import read_rows
from collectomics.ingest.dwca import Archive, Row, RowError
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.store import Store

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
CORPUS = Path(__file__).resolve().parent / "data" / "dwca"
META = (CORPUS / "wrong-field-count" / "meta.xml").read_bytes()

# Bytes that look like delimited text most of the time: separators, quotes, line ends, UTF-8
# and Windows-1252 letters, NUL, a BOM; and sometimes anything.
_PIECES = st.sampled_from(
    [b",", b"\t", b";", b'"', b"'", b"\n", b"\r\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xe9",
     "é".encode(), "Çñ".encode(), b"A1", b"Smith, J.", b"1911-03-07", b"  ", b"\\", b"\xff\xfe"]
)  # fmt: skip
DELIMITED = st.one_of(st.lists(_PIECES, max_size=60).map(b"".join), st.binary(max_size=300))
# A bare CR is left out of cells: Python's csv.writer does not quote it, so the file it writes
# is ambiguous ("0\r\n" is a CRLF line end); the reader reports a bare CR as a malformed row.
CELL = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12
)


@contextmanager
def _file(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


def _ingest(path: Path, fresh_store: Callable[[], Store]) -> None:
    """Ingest ``path`` into an empty store: the counts add up, or an InputError says where."""
    store = fresh_store()
    try:
        report = ingest_dataset(store, DatasetSpec("fuzz", (path,)), minter=Minter())
    except InputError as exc:
        assert exc.file or exc.context.get("dataset"), exc
        return
    assert report.read == report.loaded + report.rejected
    for counts in report.extensions.values():
        assert counts.read == counts.loaded + counts.rejected
    kept_errors = sum(p.severity == "error" for p in report.problems)
    assert report.rejected <= kept_errors + sum(report.omitted.values())
    assert all(p.file for p in report.problems)


# -- the CSV reader ------------------------------------------------------------------------------


@SETTINGS
@given(DELIMITED)
@example(b"catalogNumber\n\xff\n")
@example(b'catalogNumber,recordedBy\n"A1,unclosed\n')
@example(b"catalogNumber\nA\x001\n")
def test_csv_any_bytes_give_rows_or_an_input_error(data: bytes) -> None:
    with _file("data.csv", b"catalogNumber,recordedBy\n" + data) as path:
        last = 1
        try:
            for row, record in read_rows(path):
                assert row > last
                last = row
                if isinstance(record, InputError):
                    assert (record.file, record.row) == (str(path), row)
                else:
                    assert list(record) == ["catalogNumber", "recordedBy"]
        except InputError as exc:
            assert exc.file == str(path) and exc.row is not None and exc.row >= 1


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=12))
def test_csv_rows_written_by_a_csv_writer_are_all_counted(
    fresh_store: Callable[[], Store], rows: list[list[str]]
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["catalogNumber", "recordedBy", "eventDate"])
    writer.writerows(rows)
    with _file("specimens.csv", out.getvalue().encode("utf-8")) as path:
        blank = sum(1 for r in rows if not any(c.strip() for c in r))
        got = list(read_rows(path))
        assert len(got) == len(rows) - blank
        for (_, record), source in zip(
            got, [r for r in rows if any(c.strip() for c in r)], strict=True
        ):
            if len(source) == 3:
                assert isinstance(record, dict) and list(record.values()) == source
            else:
                assert isinstance(record, InputError) and "fields" in record.message
        _ingest(path, fresh_store)


@SETTINGS
@given(DELIMITED)
def test_csv_ingest_counts_add_up_on_any_bytes(
    fresh_store: Callable[[], Store], data: bytes
) -> None:
    with _file("specimens.csv", b"catalogNumber,recordedBy,eventDate\n" + data) as path:
        _ingest(path, fresh_store)


# Small limits, so that any bytes can pass them: a line, a quoted record, a run of blank lines
SMALL_LIMITS = st.builds(
    ReadLimits,
    max_line_bytes=st.integers(26, 60),  # the header line is 25 bytes: reach the data
    max_field_bytes=st.integers(1, 40),
    max_blank_lines=st.integers(0, 3),
    max_problems_per_file=st.integers(0, 3),
)


@SETTINGS
@given(DELIMITED, SMALL_LIMITS)
@example(b"A1,Smith\n" + b"x" * 50 + b"\n", ReadLimits(max_line_bytes=30))
@example(b'A1,"open\n' + b"x\n" * 30, ReadLimits(max_field_bytes=10))
@example(b"\n\n\n\nA1,Smith\n", ReadLimits(max_blank_lines=2))
def test_any_bytes_under_small_limits_give_rows_or_an_input_error(
    data: bytes, limits: ReadLimits
) -> None:
    """Both readers, held to small limits: records, or one InputError naming file and row."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "specimens.csv"
        path.write_bytes(b"catalogNumber,recordedBy\n" + data)
        try:
            for _ in read_rows(path, limits):
                pass
        except InputError as exc:
            assert exc.file == str(path) and exc.row is not None and exc.row >= 1, exc
        try:
            with Archive.open(path, limits=limits) as archive:
                _read_all(archive)
        except InputError as exc:
            assert exc.file and exc.row is not None and exc.row >= 1, exc


@pytest.mark.parametrize(
    ("data", "limits", "setting", "row"),
    [
        (b"A1,Smith\n" + b"x" * 50 + b"\n", ReadLimits(max_line_bytes=30), "max_line_bytes", 3),
        (b"\n\n\n\nA1,Smith\n", ReadLimits(max_blank_lines=2), "max_blank_lines", 4),
    ],
)
def test_each_small_limit_stops_the_file_at_its_row(
    data: bytes, limits: ReadLimits, setting: str, row: int
) -> None:
    """The examples above, asserted: both readers stop with one InputError naming the setting
    and the row where the bound was passed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "specimens.csv"
        path.write_bytes(b"catalogNumber,recordedBy\n" + data)
        with pytest.raises(InputError, match=setting) as raised:
            list(read_rows(path, limits))
        assert raised.value.row == row
        with (
            pytest.raises(InputError, match=setting) as raised,
            Archive.open(path, limits=limits) as a,
        ):
            _read_all(a)
        assert raised.value.row == row


def test_a_quote_past_max_field_bytes_is_one_rejected_record() -> None:
    """A quoted field that never closes within max_field_bytes: the CSV reader stops the file
    at its row; the archive reader rejects that record and reads on, the row before it kept
    (a header longer than the bound no longer made the first data row the header)."""
    limits = ReadLimits(max_field_bytes=10)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "specimens.csv"
        path.write_bytes(b'catalogNumber,recordedBy\nA1,ok\nA2,"open\n' + b"x\n" * 30)
        with pytest.raises(InputError, match="max_field_bytes") as raised:
            list(read_rows(path, limits))
        assert raised.value.row == 3
        with Archive.open(path, limits=limits) as archive:
            rows = list(archive.rows(archive.core))
        errors = [r.line for r in rows if isinstance(r, RowError)]
        kept = [r.line for r in rows if not isinstance(r, RowError)]
        assert 3 in errors and kept[0] == 2


# -- the Darwin Core Archive reader ----------------------------------------------------------------


def _read_all(archive: Archive) -> tuple[int, int]:
    rows = errors = 0
    for spec in archive.specs:
        for item in archive.rows(spec):
            if isinstance(item, RowError):
                assert item.line >= 1 and item.file and item.reason
                errors += 1
            else:
                assert isinstance(item, Row) and item.line >= 1
                rows += 1
    return rows, errors


@SETTINGS
@given(DELIMITED)
@example(b"id\tcatalogNumber\trecordedBy\teventDate\n1\tA1\tSmith, J.\t1911\n1\tA1\n")
def test_archive_any_data_bytes_give_rows_or_an_input_error(
    fresh_store: Callable[[], Store], data: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        (folder / "meta.xml").write_bytes(META)
        (folder / "occurrence.txt").write_bytes(
            b"occurrenceID\tcatalogNumber\trecordedBy\teventDate\n" + data
        )
        try:
            with Archive.open(folder) as archive:
                _read_all(archive)
        except InputError as exc:
            assert exc.file, exc
        _ingest(folder, fresh_store)


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=400), st.lists(_PIECES | st.just(b"<field "), max_size=40).map(b"".join)
    )
)
@example(b"<archive><core><files><location>occurrence.txt</location></files></core></archive>")
@example(b'<?xml version="1.0"?><archive xmlns="http://rs.tdwg.org/dwc/text/"><core/></archive>')
def test_archive_any_meta_xml_gives_an_archive_or_an_input_error(meta: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        (folder / "meta.xml").write_bytes(meta)
        (folder / "occurrence.txt").write_bytes(b"id\tcatalogNumber\n1\tA1\n")
        try:
            with Archive.open(folder) as archive:
                _read_all(archive)
        except InputError as exc:
            assert exc.file, exc


@SETTINGS
@given(st.binary(max_size=300), st.booleans())
def test_zip_of_any_bytes_gives_an_archive_or_an_input_error(
    fresh_store: Callable[[], Store], data: bytes, as_member: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.zip"
        if as_member:  # a real zip whose members hold the bytes
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("meta.xml", META)
                zf.writestr("occurrence.txt", data)
        else:
            path.write_bytes(data)
        try:
            with Archive.open(path) as archive:
                _read_all(archive)
        except InputError as exc:
            assert exc.file, exc
        _ingest(path, fresh_store)


def test_the_generators_reach_the_error_paths() -> None:
    """The strategies above do produce malformed input (else the properties prove little)."""
    with _file("data.csv", b'catalogNumber,recordedBy\n"A1,unclosed\n\xff\n') as path:
        with pytest.raises(InputError) as caught:
            list(read_rows(path))
        assert caught.value.row == 3
