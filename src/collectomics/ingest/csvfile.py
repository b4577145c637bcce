"""A strict, streaming CSV/TSV reader that says where a problem is (file, row, column)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.parsers import expat

from collectomics.config import ReadLimits
from collectomics.errors import InputError

csv.field_size_limit(2**31 - 1)


#: deepest element nesting accepted in meta.xml and EML (real documents: under 20)
MAX_XML_DEPTH = 100


def bounded_lines(raw: IO[bytes], limit: int, file: str, sep: bytes = b"\n") -> Iterator[bytes]:
    """The lines of a binary stream, each ending with ``sep`` (but perhaps the last); a line
    longer than ``limit`` bytes (0: no limit) stops with an InputError naming it, before it is
    held in memory."""
    number = 0
    if sep == b"\n":
        size = limit + 1 if limit else -1
        while line := raw.readline(size):
            number += 1
            if limit and len(line) > limit and not line.endswith(b"\n"):
                raise _too_long(file, number, limit)
            yield line
        return
    pending = b""
    while chunk := raw.read(1 << 16):
        pending += chunk
        *lines, pending = pending.split(sep)
        for line in lines:
            number += 1
            if limit and len(line) > limit:
                raise _too_long(file, number, limit)
            yield line + sep
        if limit and len(pending) > limit:
            raise _too_long(file, number + 1, limit)
    if pending:
        yield pending


def _too_long(file: str, line: int, limit: int) -> InputError:
    return InputError(
        f"line {line} is longer than max_line_bytes ({limit:,} bytes); raise that setting if "
        "the file is right",
        file=file,
        row=line,
    )


def blank_run_error(file: str, line: int, limit: int) -> InputError:
    """The error for more than ``limit`` blank lines in a row, ending at ``line``."""
    return InputError(
        f"more than max_blank_lines ({limit:,}) blank lines in a row, up to line {line}; raise "
        "that setting if the file is right",
        file=file,
        row=line,
    )


def read_bounded(handle: IO[bytes], limit: int, file: str, setting: str) -> bytes:
    """All of a small file (XML, JSON), refused with an InputError past ``limit`` bytes."""
    data = handle.read(limit + 1 if limit else -1)
    if limit and len(data) > limit:
        raise InputError(
            f"the file is larger than {setting} ({limit:,} bytes); raise that setting if it is "
            "right",
            file=file,
        )
    return data


def check_xml(data: bytes, file: str) -> None:
    """Refuse an XML document that declares entities (entity expansion) or nests elements
    deeper than :data:`MAX_XML_DEPTH`: one InputError, before a tree is built."""
    parser = expat.ParserCreate()
    depth = 0

    class Refused(Exception):
        pass

    def entity(name: str, *args: object) -> None:
        raise Refused(f"it declares the entity {name!r}; DTD entities are not read")

    def start(name: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise Refused(f"elements nest deeper than {MAX_XML_DEPTH}")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except Refused as exc:
        raise InputError(
            f"XML refused: {exc} (line {parser.CurrentLineNumber})",
            file=file,
            row=parser.CurrentLineNumber,
        ) from None
    except expat.ExpatError:
        return  # the real parser reports it, with its own wording


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


def read_header(
    path: Path, encoding: str | None = None, limits: ReadLimits | None = None
) -> list[str]:
    """The column names of a CSV/TSV file (first line), BOM and surrounding blanks removed.

    Read as ``encoding`` when given, else as its byte-order mark says (UTF-16 files that
    spreadsheets export have one), else as UTF-8. A first line longer than ``max_line_bytes``
    is an InputError."""
    limits = limits or ReadLimits()
    encoding = encoding or _bom_encoding(path)
    if encoding is None or encoding == "utf-8-sig":
        first = next(_decoded_lines(path, limits), "")
    else:
        try:
            with open(path, encoding=encoding) as handle:
                size = limits.max_line_bytes // 2
                first = handle.readline(size + 1 if size else -1)
            if size and len(first) > size and not first.endswith("\n"):
                raise _too_long(str(path), 1, limits.max_line_bytes)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", file=str(path)) from None
        except UnicodeError as exc:  # a decoding error, or UTF-16 without its byte-order mark
            reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise InputError(
                f"the header row is not {encoding} text ({reason})", file=str(path), row=1
            ) from None
    if not first.strip():
        raise InputError("file is empty or has no header row", file=str(path), row=1)
    delimiter = _delimiter(first)
    return [h.strip().lstrip("\ufeff") for h in next(csv.reader([first], delimiter=delimiter))]


def _decoded_lines(path: Path, limits: ReadLimits) -> Iterator[str]:
    """The file's lines as text, decoding line by line so an error names its line."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror}", file=str(path)) from None
    with handle:
        lines = bounded_lines(handle, limits.max_line_bytes, str(path))
        for number, raw in enumerate(lines, start=1):
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


def read_rows(
    path: Path, limits: ReadLimits | None = None
) -> Iterator[tuple[int, dict[str, str] | InputError]]:
    """Yield (row number, record) for every data row; a malformed row yields an InputError.

    Row numbers are 1-based records counting the header as row 1 (a quoted field spanning
    lines stays one row). Bytes that are not UTF-8 stop the file with an InputError naming the
    line, since no later row can be trusted; so does passing a limit of ``limits`` (a line
    over ``max_line_bytes``, a record over ``max_field_bytes``, a run of blank lines over
    ``max_blank_lines``).
    """
    limits = limits or ReadLimits()
    header = read_header(path, limits=limits)
    lines = _decoded_lines(path, limits)
    first = next(lines)
    row_number = 1
    budget = limits.max_field_bytes or 2**62

    def bounded() -> Iterator[str]:
        nonlocal budget
        for line in lines:
            budget -= len(line)
            if budget < 0:
                raise InputError(
                    f"the record runs on past max_field_bytes ({limits.max_field_bytes:,} "
                    "characters): a quoted field that never closes? Raise that setting if the "
                    "file is right",
                    file=str(path),
                    row=row_number + 1,
                )
            yield line

    reader = csv.reader(bounded(), delimiter=_delimiter(first))
    blank = 0
    while True:
        budget = limits.max_field_bytes or 2**62
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
            blank += 1
            if limits.max_blank_lines and blank > limits.max_blank_lines:
                raise blank_run_error(str(path), row_number, limits.max_blank_lines)
            continue
        blank = 0
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
