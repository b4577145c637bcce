"""A strict, streaming CSV/TSV reader that says where a problem is (file, row, column)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from collectomics.errors import InputError

csv.field_size_limit(2**31 - 1)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_header(path: Path) -> list[str]:
    """The column names of a CSV/TSV file (first line), BOM and surrounding blanks removed."""
    with _open(path) as handle:
        first = handle.readline()
    if not first.strip():
        raise InputError("file is empty or has no header row", file=str(path), row=1)
    delimiter = _delimiter(first)
    return [h.strip().lstrip("\ufeff") for h in next(csv.reader([first], delimiter=delimiter))]


def _open(path: Path) -> io.TextIOWrapper:
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror}", file=str(path)) from None


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | InputError]]:
    """Yield (row number, record) for every data row; a malformed row yields an InputError.

    Row numbers are 1-based file rows (the header is row 1). A byte sequence that is not UTF-8
    stops the file with an InputError naming the row, since no later row can be trusted.
    """
    header = read_header(path)
    with _open(path) as handle:
        first = handle.readline()
        reader = csv.reader(handle, delimiter=_delimiter(first))
        row_number = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8",
                    file=str(path),
                    row=row_number + 1,
                ) from None
            except csv.Error as exc:
                row_number += 1
                yield row_number, InputError(f"malformed CSV: {exc}", file=str(path), row=row_number)
                continue
            row_number += 1
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                yield row_number, InputError(
                    f"row has {len(fields)} fields, the header has {len(header)}",
                    file=str(path),
                    row=row_number,
                )
                continue
            yield row_number, dict(zip(header, fields, strict=True))
