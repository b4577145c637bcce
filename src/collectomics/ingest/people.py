"""Read the people template (a CSV with a ``person_id`` column) into mapped people."""

from __future__ import annotations

from pathlib import Path

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import read_header, read_rows
from collectomics.ingest.report import IngestReport
from collectomics.ingest.sink import Sink
from collectomics.mapping.common import Context, guarded
from collectomics.mapping.people import PEOPLE_COLUMNS, map_person


def stream_people(
    path: Path, ctx: Context, report: IngestReport, sink: Sink, limits: ReadLimits
) -> None:
    """Map every row of a people template into ``sink``, counting and reporting each."""
    header = read_header(path, limits=limits)
    for column in header:
        if column not in PEOPLE_COLUMNS:
            report.problem(str(path), 1, column, "column not mapped; ignored", "warning")
    first_row: dict[str, int] = {}
    for row, record in read_rows(path, limits):
        report.read += 1
        if isinstance(record, InputError):
            report.rejected += 1
            report.problem(str(path), row, None, record.message)
            sink.record_done()
            continue
        mapped = guarded(map_person, record, ctx)
        for p in mapped.problems:
            report.problem(str(path), row, p.column, p.reason, p.severity)
        if mapped.rejected:
            report.rejected += 1
        else:
            report.loaded += 1
            if mapped.subject is not None:
                seen = first_row.setdefault(mapped.subject, row)
                if seen != row:
                    report.problem(
                        str(path),
                        row,
                        "person_id",
                        f"same person_id as row {seen}; both rows merged",
                        "warning",
                    )
            sink.mapped(mapped)
        sink.record_done()
