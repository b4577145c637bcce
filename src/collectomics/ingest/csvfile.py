"""A strict, streaming CSV/TSV reader that says where a problem is (file, row, column)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from collectomics.errors import InputError

csv.field_size_limit(2**31 - 1)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


#: byte-order marks and the codecs that read them (UTF-32 first: its LE mark starts as UTF-16's)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_codec(head: bytes) -> str | None:
    """The codec that a byte-order mark at the start of ``head`` (4 bytes are enough) names:
    'utf-8-sig', 'utf-16' or 'utf-32'; None when there is none."""
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), None)


def _bom_encoding(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return bom_codec(handle.read(4))
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror}", file=str(path)) from None


def read_header(path: Path, encoding: str | None = None) -> list[str]:
    """The column names of a CSV/TSV file (first line), BOM and surrounding blanks removed.

    Read as ``encoding`` when given, else as its byte-order mark says (UTF-16 files that
    spreadsheets export have one), else as UTF-8."""
    encoding = encoding or _bom_encoding(path)
    if encoding is None or encoding == "utf-8-sig":
        first = next(_decoded_lines(path), "")
    else:
        try:
            with open(path, encoding=encoding) as handle:
                first = handle.readline()
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", file=str(path)) from None
        except UnicodeError as exc:
            raise InputError(
                f"the header row is not {encoding} text ({exc.reason})", file=str(path), row=1
            ) from None
    if not first.strip():
        raise InputError("file is empty or has no header row", file=str(path), row=1)
    delimiter = _delimiter(first)
    return [h.strip().lstrip("\ufeff") for h in next(csv.reader([first], delimiter=delimiter))]


def _decoded_lines(path: Path) -> Iterator[str]:
    """The file's lines as text, decoding line by line so an error names its line."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror}", file=str(path)) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); "
                    "save the file as UTF-8",
                    file=str(path),
                    row=number,
                ) from None
            yield line.lstrip("\ufeff") if number == 1 else line


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | InputError]]:
    """Yield (row number, record) for every data row; a malformed row yields an InputError.

    Row numbers are 1-based records counting the header as row 1 (a quoted field spanning
    lines stays one row). Bytes that are not UTF-8 stop the file with an InputError naming the
    line, since no later row can be trusted.
    """
    header = read_header(path)
    lines = _decoded_lines(path)
    first = next(lines)
    reader = csv.reader(lines, delimiter=_delimiter(first))
    row_number = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_number += 1
            yield row_number, InputError(f"malformed CSV: {exc}", file=str(path), row=row_number)
            continue
        row_number += 1
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            yield (
                row_number,
                InputError(
                    f"row has {len(fields)} fields, the header has {len(header)}",
                    file=str(path),
                    row=row_number,
                ),
            )
            continue
        yield row_number, dict(zip(header, fields, strict=True))
