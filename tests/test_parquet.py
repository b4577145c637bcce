"""GBIF's Parquet occurrence tables (the monthly snapshot's layout) as an ingest source.

Each real GBIF download of the corpus is written here as a Parquet table in the snapshot's
column layout (lower-case term names, typed numbers and timestamps, arrays for the multi-valued
terms) and ingested; its graph must be the graph of the same interpreted rows ingested from the
download's own text table, and its report the same counts and problems, row for row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.pipeline import IngestReport
from collectomics.ingest.shards import export_shards
from collectomics.iri import Minter
from collectomics.store import OxigraphStore
from helpers import REAL, REAL_ARCHIVES, run_cli

#: the corpus's GBIF downloads: (archive, its interpreted table)
DOWNLOADS = [
    (name, member)
    for name in REAL_ARCHIVES
    for member in ("occurrence.txt", "0009886-250127130748423.csv")
    if name.endswith(".zip")
    and member in zipfile.ZipFile(REAL / name).namelist()
    and zipfile.ZipFile(REAL / name).read(member).startswith(b"gbifID\t")  # a header row
]
#: snapshot column types other than string (GBIF's occurrence table on the public clouds)
INTS = {"gbifid", "day", "month", "year", "taxonkey", "specieskey", "individualcount"}
DOUBLES = {
    "decimallatitude",
    "decimallongitude",
    "coordinateuncertaintyinmeters",
    "coordinateprecision",
    "elevation",
    "elevationaccuracy",
    "depth",
    "depthaccuracy",
}
TIMESTAMPS = {"lastinterpreted"}
#: arrays, and the delimiter GBIF's text downloads join them with
ARRAYS = {"recordedby": "|", "identifiedby": "|", "typestatus": "|", "issue": ";", "mediatype": ";"}
DATASET = "snapshot-test"
MINTER = Minter()


def _table(archive: str, member: str) -> tuple[list[str], list[list[str]]]:
    """The download's interpreted rows as text: header, rows (tab-separated, unquoted)."""
    text = zipfile.ZipFile(REAL / archive).read(member).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[0], [r for r in rows[1:] if r]


def _typed(column: str, values: list[str]) -> pa.Array:
    """One text column in the snapshot's type; raises ValueError when a value does not fit."""
    if column in INTS:
        return pa.array([int(v) if v else None for v in values], pa.int64())
    if column in DOUBLES:
        return pa.array([float(v) if v else None for v in values], pa.float64())
    if column in TIMESTAMPS:
        stamps = [
            dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None for v in values
        ]
        return pa.array(stamps, pa.timestamp("ms", tz="UTC"))
    if column in ARRAYS:
        sep = ARRAYS[column]
        return pa.array(
            [[p.strip() for p in v.split(sep) if p.strip()] if v else None for v in values],
            pa.list_(pa.string()),
        )
    return pa.array([v or None for v in values], pa.string())


def _write_snapshot(archive: str, member: str, out: Path) -> Path:
    """The download's rows as a Parquet table in the snapshot's layout, in two row groups."""
    header, rows = _table(archive, member)
    names = [h.lower() for h in header]
    columns = {}
    for i, name in enumerate(names):
        values = [r[i] if i < len(r) else "" for r in rows]
        try:
            columns[name] = _typed(name, values)
        except ValueError:  # an old download's text that the snapshot would not type
            columns[name] = _typed("", values)
    pq.write_table(pa.table(columns), out, row_group_size=max(1, len(rows) // 2))
    return out


def _text_table(archive: str, member: str, out: Path) -> Path:
    """The download's interpreted table as a lone file, as GBIF wrote it."""
    out.write_bytes(zipfile.ZipFile(REAL / archive).read(member))
    return out


def _ingest(path: Path) -> tuple[set[str], IngestReport]:
    store = OxigraphStore()
    [report] = ingest_files(store, [path], minter=MINTER, dataset_id=DATASET)
    out = io.BytesIO()
    store.dump(out, "nquads")
    return set(out.getvalue().decode("utf-8").splitlines()), report


def _without_file_facts(quads: set[str]) -> set[str]:
    """Less the dataset node's file checksum and file name, which name the file read."""
    skip = ("<http://schema.org/sha256>", "<http://purl.org/dc/terms/source>")
    dataset = MINTER.dataset(DATASET).n3()
    return {q for q in quads if not (q.startswith(dataset) and any(s in q for s in skip))}


#: what only a text file can have: the text reader's warning about quoted values
TEXT_ONLY = "wrapped in double quotes"


def _comparable(report: IngestReport, shift: int) -> dict[str, object]:
    """Counts, terms and problems, with file names dropped, lines made rows (``shift``: the
    header line) and the text reader's warning about quotes left out."""
    d = report.to_dict()
    for key in ("files", "triples"):
        d.pop(key, None)
    d["extensions"] = sorted((c.read, c.loaded, c.rejected) for c in report.extensions.values())
    d["problems"] = [
        (None if p.row is None else p.row - shift, p.column, p.reason, p.severity)
        for p in report.problems
        if TEXT_ONLY not in p.reason
    ]
    d["terms"] = sorted(report.terms.values(), key=repr)
    return d


@pytest.mark.parametrize("archive,member", DOWNLOADS, ids=[a for a, _ in DOWNLOADS])
def test_snapshot_table_ingests_as_the_download_table(
    archive: str, member: str, tmp_path: Path
) -> None:
    parquet = _write_snapshot(archive, member, tmp_path / "occurrence.parquet")
    text = _text_table(archive, member, tmp_path / member)
    from_parquet, report = _ingest(parquet)
    from_text, text_report = _ingest(text)
    assert report.read == text_report.read == len(_table(archive, member)[1])
    assert report.read == report.loaded + report.rejected
    assert _comparable(report, 0) == _comparable(text_report, 1)  # text line 2 = row 1
    assert _without_file_facts(from_parquet) == _without_file_facts(from_text)


def test_every_row_is_counted_and_bad_rows_rejected_by_row_and_column(tmp_path: Path) -> None:
    """A value over max_field_bytes rejects its row only, naming row and column; the rows
    after it load, and the counts add up."""
    archive, member = DOWNLOADS[0]
    header, rows = _table(archive, member)
    names = [h.lower() for h in header]
    locality = names.index("locality")
    rows[2][locality] = "x" * 5000
    table = pa.table(
        {n: pa.array([r[i] or None for r in rows], pa.string()) for i, n in enumerate(names)}
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    store = OxigraphStore()
    limits = ReadLimits(max_field_bytes=4096)
    [report] = ingest_files(store, [path], minter=MINTER, dataset_id=DATASET, limits=limits)
    assert report.read == len(rows) == report.loaded + report.rejected
    assert report.rejected == 1
    [too_long] = [p for p in report.problems if p.row == 3]
    assert "locality" in too_long.reason and "max_field_bytes" in too_long.reason
    assert too_long.file == str(path)
    # a row whose values together pass max_line_bytes, each value within max_field_bytes
    limits = ReadLimits(max_field_bytes=4096, max_line_bytes=2048)
    rows[6][locality] = "y" * 1500
    rows[6][names.index("scientificname")] = "z" * 1500
    table = pa.table(
        {n: pa.array([r[i] or None for r in rows], pa.string()) for i, n in enumerate(names)}
    )
    pq.write_table(table, path)
    [report] = ingest_files(
        store, [path], minter=MINTER, dataset_id=DATASET, limits=limits, replace=True
    )
    assert report.read == len(rows) and report.rejected == 2
    [long_row] = [p for p in report.problems if p.row == 7]
    assert "max_line_bytes" in long_row.reason


def test_a_snapshot_folder_of_parts_reads_in_order(tmp_path: Path) -> None:
    """GBIF's snapshot is a folder (``occurrence.parquet/000000``...): its parts read in name
    order as one table, files that are not Parquet skipped."""
    archive, member = DOWNLOADS[0]
    whole = _write_snapshot(archive, member, tmp_path / "whole.parquet")
    table = pq.read_table(whole)
    folder = tmp_path / "occurrence.parquet"
    folder.mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "000000")
    pq.write_table(table.slice(half), folder / "000001")
    (folder / "_SUCCESS").write_bytes(b"")
    a, ra = _ingest(whole)
    b, rb = _ingest(folder)
    assert (ra.read, ra.loaded, ra.rejected) == (rb.read, rb.loaded, rb.rejected)
    assert _without_file_facts(a) == _without_file_facts(b)


def test_not_parquet_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "occurrence.parquet"
    path.write_bytes(b"gbifid\toccurrenceid\n1\tx\n")
    with pytest.raises(InputError) as err:
        ingest_files(OxigraphStore(), [path], minter=MINTER, dataset_id=DATASET)
    assert str(path) in str(err.value) and "Parquet" in str(err.value)
    result = run_cli("ingest", str(path), "--dataset", DATASET, store=tmp_path / "store")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "Parquet" in result.stderr
    # Parquet, but not an occurrence table: no column keys a record
    pq.write_table(pa.table({"name": ["a"], "value": ["b"]}), path)
    with pytest.raises(InputError) as err:
        ingest_files(OxigraphStore(), [path], minter=MINTER, dataset_id=DATASET)
    assert "gbifid" in str(err.value) and str(path) in str(err.value)


def test_export_shards_reads_a_snapshot_table(tmp_path: Path) -> None:
    """`export --shards` takes a Parquet table as it takes a download, with ingest's counts."""
    archive, member = DOWNLOADS[-1]
    parquet = _write_snapshot(archive, member, tmp_path / "occurrence.parquet")
    quads, report = _ingest(parquet)
    [exported], files = export_shards(
        [parquet], tmp_path / "shards", 2, minter=MINTER, dataset_id=DATASET
    )
    assert (exported.read, exported.loaded, exported.rejected) == (
        report.read,
        report.loaded,
        report.rejected,
    )
    whole = tmp_path / "all.nq"
    whole.write_bytes(b"".join(f.read_bytes() for f in files))
    store = OxigraphStore()
    store.restore(whole, "nquads")
    out = io.BytesIO()
    store.dump(out, "nquads")
    derived = f"<{MINTER.graph('identity')}> ."  # ingest's derived graph: not in the shards
    assert set(out.getvalue().decode("utf-8").splitlines()) == {
        q for q in quads if not q.endswith(derived)
    }
