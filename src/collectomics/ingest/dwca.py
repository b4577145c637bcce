"""A streaming Darwin Core Archive reader: meta.xml, data files, and the metadata beside them.

``Archive.open(path)`` takes a zipped archive, an unpacked folder, or a single delimited data file
without ``meta.xml`` (then a core is built from its header row). Data files are read row by row,
straight from the zip, never extracted and never held in memory::

    with Archive.open("0000066-140928181241064.zip") as archive:
        for row in archive.rows(archive.core):
            if isinstance(row, RowError):
                ...  # one malformed row: its line and the reason
            else:
                row.values["http://rs.tdwg.org/dwc/terms/recordedBy"]

What is tolerated, and reported in ``Archive.problems`` as a warning:

- bytes that are not in the declared encoding: that line is decoded with a fallback
  (windows-1252 when UTF-8 was declared, UTF-8 otherwise), one warning per file naming the first
  such line and, once the file is read, how many lines were affected. ``encoding=`` overrides the
  declared encoding for every file of the archive;
- a UTF-8 byte-order mark (removed), a UTF-16 byte-order mark (read as UTF-16);
- CRLF line ends where meta.xml declares ``\\n`` (the CR is dropped);
- rows with fewer fields than the header: the missing (trailing) fields read as empty, one warning
  per file with the count and the first line.

What is refused: a meta.xml that does not parse or lacks a core, a data file named by meta.xml
that is not in the archive (``InputError`` naming meta.xml and the line of its ``<location>``);
for one row, a ``RowError`` (never an exception): more fields than the header, a missing id
column, a line without any field separator, a quoted field that never closes.

Terms are kept exactly as meta.xml declares them (Darwin Core 1.4 ``.../ScientificName`` stays);
``mapping.dwc.canonical_term`` normalises them. Only the standard library is used.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from xml.parsers import expat

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import (
    blank_run_error,
    bom_codec,
    bounded_lines,
    check_xml,
    read_bounded,
)
from collectomics.mapping.common import Problem

csv.field_size_limit(2**31 - 1)

DWC = "http://rs.tdwg.org/dwc/terms/"
DCTERMS = "http://purl.org/dc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
#: The row type given to a core built from a header row (no meta.xml).
OCCURRENCE = DWC + "Occurrence"

_T = TypeVar("_T")

#: Zip members smaller than this (decompressed) are not held to ``max_compression_ratio``.
RATIO_FLOOR = 1 << 20

_DATA_SUFFIXES = (".txt", ".csv", ".tsv", ".tab")
_NOT_DATA = {"citations.txt", "rights.txt", "readme.txt"}

#: Bare header names that are Dublin Core terms (everything else bare is Darwin Core).
_DCTERMS_NAMES = {
    n.lower(): n
    for n in (
        "license modified references rightsHolder accessRights bibliographicCitation language "
        "type rights source created creator identifier format title description publisher "
        "contributor"
    ).split()
}
#: Bare header names that are GBIF terms (GBIF downloads, SIMPLE_CSV).
_GBIF_NAMES = {
    n.lower(): n
    for n in (
        "gbifID datasetKey publishingOrgKey publishingCountry installationKey networkKey "
        "protocol lastCrawled lastParsed lastInterpreted taxonKey acceptedTaxonKey kingdomKey "
        "phylumKey classKey orderKey familyKey genusKey subgenusKey speciesKey species "
        "genericName acceptedScientificName verbatimScientificName "
        "verbatimScientificNameAuthorship typifiedName elevation elevationAccuracy depth "
        "depthAccuracy distanceAboveSurface distanceAboveSurfaceAccuracy coordinateAccuracy "
        "issue mediaType hasCoordinate hasGeospatialIssues repatriated iucnRedListCategory "
        "verbatimLabel isInCluster"
    ).split()
}
_PREFIXES = {
    "dwc": DWC,
    "dwciri": "http://rs.tdwg.org/dwc/iri/",
    "dcterms": DCTERMS,
    "dc": DCTERMS,
    "gbif": GBIF,
    "ac": "http://rs.tdwg.org/ac/terms/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmprights": "http://ns.adobe.com/xap/1.0/rights/",
}


# --------------------------------------------------------------------------- public data types


@dataclass(frozen=True)
class FieldSpec:
    """One ``<field>`` of meta.xml: a column (``index``) or a constant (``default`` only).

    ``term`` is the full term IRI as declared. ``default`` fills the field where the column is
    empty, or on every row when there is no ``index``. ``delimited_by`` separates several values
    in one cell (meta.xml ``delimitedBy``); ``vocabulary`` is the declared vocabulary IRI.
    """

    term: str
    index: int | None = None
    default: str | None = None
    delimited_by: str | None = None
    vocabulary: str | None = None

    def split(self, value: str) -> list[str]:
        """The values in one cell: split on ``delimited_by`` (if any), blanks dropped."""
        if not self.delimited_by:
            return [value] if value.strip() else []
        return [v.strip() for v in value.split(self.delimited_by) if v.strip()]


@dataclass(frozen=True)
class FileSpec:
    """One data file of the archive: meta.xml's ``<core>`` or an ``<extension>``.

    ``name`` is the file's location inside the archive (relative to meta.xml); when meta.xml lists
    several ``<location>`` elements, ``locations`` holds them all and ``Archive.rows`` reads them
    in order. ``encoding`` is the Python codec name in effect (the declared one, normalised, or
    the ``encoding=`` override). ``fields_enclosed_by`` is None when fields are not quoted (quotes
    are then ordinary characters). ``id_index`` is the column of ``<id>`` (core) or ``<coreid>``
    (extension).
    """

    name: str
    row_type: str
    is_core: bool
    encoding: str
    fields_terminated_by: str
    fields_enclosed_by: str | None
    lines_terminated_by: str
    ignore_header_lines: int
    id_index: int | None
    fields: tuple[FieldSpec, ...]
    locations: tuple[str, ...] = ()

    def field(self, term: str) -> FieldSpec | None:
        """The first field declared for ``term`` (a full IRI), or None."""
        return next((f for f in self.fields if f.term == term), None)

    @property
    def terms(self) -> list[str]:
        """The declared term IRIs, in declaration order, without repeats."""
        return list(dict.fromkeys(f.term for f in self.fields))


@dataclass
class Row:
    """One record of a data file.

    ``line`` is the 1-based physical line of the file where the record starts (a quoted field may
    span lines); ``id`` is the core id (core file) or coreid (extension) value, None if empty;
    ``values`` maps term IRIs to values, defaults applied, empty values dropped; ``file`` is the
    data file's name in the archive.
    """

    line: int
    id: str | None
    values: dict[str, str]
    file: str = ""


@dataclass
class RowError:
    """A row that could not be read (wrong field count, unclosed quote...): where and why."""

    line: int
    reason: str
    file: str = ""

    def to_input_error(self) -> InputError:
        """The same problem as an ``InputError`` (file, row = line)."""
        return InputError(self.reason, file=self.file, row=self.line)

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


# --------------------------------------------------------------------------- helpers


def normalise_encoding(name: str) -> str:
    """The Python codec name for an encoding label (``UTF8`` -> ``utf-8``, ``Windows-1252`` ->
    ``cp1252``); raises LookupError for an unknown label. ``utf-8-sig`` becomes ``utf-8`` (a BOM
    is removed anyway)."""
    codec = codecs.lookup(name.strip()).name
    return "utf-8" if codec == "utf-8-sig" else codec


def _label(codec: str) -> str:
    """A codec's usual name in messages: cp1252 -> windows-1252."""
    m = re.fullmatch(r"cp(125\d)", codec)
    if m:
        return f"windows-{m.group(1)}"
    return {"utf-8": "UTF-8", "iso8859-1": "ISO-8859-1", "latin-1": "ISO-8859-1"}.get(
        codec, codec.upper()
    )


def _is_utf16_or_32(codec: str) -> bool:
    return codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32"))


def _unescape(value: str) -> str:
    r"""meta.xml writes separators as ``\t``, ``\n``, ``\r`` (sometimes doubled: ``\\t``)."""
    value = value.replace("\\\\", "\\")
    return value.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


def header_term(name: str) -> str:
    """The term IRI a column header names: full IRIs as they are, ``dwc:``/``dcterms:``/``gbif:``
    prefixes expanded, bare Dublin Core names (``license``, ``modified``...) to dcterms, bare GBIF
    names (``gbifID``, ``datasetKey``...) to the GBIF namespace, any other bare name to Darwin
    Core (kept as written)."""
    h = name.strip().lstrip("\ufeff").strip()
    if "://" in h or h.startswith("urn:"):
        return h
    prefix, sep, local = h.partition(":")
    if sep and prefix.lower() in _PREFIXES:
        ns = _PREFIXES[prefix.lower()]
        if ns == DCTERMS:
            local = _DCTERMS_NAMES.get(local.lower(), local)
        elif ns == GBIF:
            local = _GBIF_NAMES.get(local.lower(), local)
        return ns + local
    low = h.lower()
    if low in _DCTERMS_NAMES:
        return DCTERMS + _DCTERMS_NAMES[low]
    if low in _GBIF_NAMES:
        return GBIF + _GBIF_NAMES[low]
    return DWC + h


_DELIMITER_NAMES = {"\t": "tab-separated", "|": "pipe-separated"}


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and (
        parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store"
    )


# --------------------------------------------------------------------------- archive members


class _Members:
    """The files of an archive, named relative to its root (the folder that holds meta.xml)."""

    def names(self) -> list[str]:
        raise NotImplementedError

    def open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def find(self, name: str) -> str | None:
        """The member ``name`` names: exactly, or failing that ignoring case."""
        wanted = name.replace("\\", "/").lstrip("/")
        while wanted.startswith("./"):
            wanted = wanted[2:]
        names = self.names()
        if wanted in names:
            return wanted
        folded = [n for n in names if n.lower() == wanted.lower()]
        return folded[0] if len(folded) == 1 else None


class _CheckedZipStream(io.RawIOBase):
    """One zip member's bytes, held to the limits on decompressed size and compression ratio,
    with a damaged member (bad CRC, broken deflate stream) as one InputError naming it."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ReadLimits) -> None:
        super().__init__()
        self.info, self.limits, self.total = info, limits, 0
        self._check(info.file_size, "declares")
        self.inner = self._guard(lambda: zf.open(info))

    def _guard(self, read: Callable[[], _T]) -> _T:
        try:
            return read()
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise InputError(
                f"the zip member is damaged or cannot be read ({exc})", file=self.info.filename
            ) from None

    def _check(self, size: int, verb: str) -> None:
        limits, name = self.limits, self.info.filename
        if limits.max_member_bytes and size > limits.max_member_bytes:
            raise InputError(
                f"the zip member {verb} {size:,} bytes decompressed, more than max_member_bytes "
                f"({limits.max_member_bytes:,}); raise that setting if the archive is right",
                file=name,
            )
        ratio = limits.max_compression_ratio
        if ratio and size > RATIO_FLOOR and size > ratio * max(self.info.compress_size, 1):
            raise InputError(
                f"the zip member {verb} {size:,} bytes from {self.info.compress_size:,} "
                f"compressed, a ratio over max_compression_ratio ({ratio}): a zip bomb? Raise "
                "that setting if the archive is right",
                file=name,
            )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._guard(lambda: self.inner.read(len(buffer)))
        self.total += len(data)
        self._check(self.total, "holds at least")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
        super().close()


class _ZipMembers(_Members):
    def __init__(self, zf: zipfile.ZipFile, prefix: str, limits: ReadLimits) -> None:
        self.zf, self.prefix, self.limits = zf, prefix, limits
        self._names = [
            i.filename[len(prefix) :]
            for i in zf.infolist()
            if not i.is_dir() and i.filename.startswith(prefix) and not _is_junk(i.filename)
        ]

    def names(self) -> list[str]:
        return self._names

    def open(self, name: str) -> IO[bytes]:
        try:
            info = self.zf.getinfo(self.prefix + name)
        except KeyError:
            raise InputError("no such member in the zip", file=name) from None
        return io.BufferedReader(_CheckedZipStream(self.zf, info, self.limits))

    def close(self) -> None:
        self.zf.close()


class _DirMembers(_Members):
    def __init__(self, root: Path) -> None:
        self.root = root
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        if self._names is None:
            self._names = sorted(
                p.relative_to(self.root).as_posix()
                for p in self.root.rglob("*")
                if p.is_file() and not _is_junk(p.relative_to(self.root).as_posix())
            )
        return self._names

    def find(self, name: str) -> str | None:
        wanted = name.replace("\\", "/").lstrip("/")
        if ".." not in PurePosixPath(wanted).parts and (self.root / wanted).is_file():
            return PurePosixPath(wanted).as_posix().removeprefix("./")
        return super().find(name)

    def open(self, name: str) -> IO[bytes]:
        return open(self.root / name, "rb")


class _FileMembers(_Members):
    """A lone data file, seen as an archive with one member."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        return [self.path.name]

    def open(self, name: str) -> IO[bytes]:
        return open(self.path, "rb")


# --------------------------------------------------------------------------- meta.xml


@dataclass
class _El:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_El] = field(default_factory=list)
    text: str = ""

    def all(self, tag: str) -> list[_El]:
        return [c for c in self.children if c.tag == tag]


def _parse_xml_with_lines(data: bytes, file: str) -> _El:
    """A small element tree with the line of every start tag (ElementTree has no positions)."""
    check_xml(data, file)
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_El] = []
    root: list[_El] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        el = _El(
            name.rsplit(" ", 1)[-1],
            {k.rsplit(" ", 1)[-1]: v for k, v in attrs.items()},
            parser.CurrentLineNumber,
        )
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(name: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InputError(
            f"meta.xml is not well-formed XML: {expat.ErrorString(exc.code)} "
            f"(line {exc.lineno}, column {exc.offset + 1})",
            file=file,
            row=exc.lineno,
        ) from None
    return root[0]


class _MetaParser:
    def __init__(self, meta_name: str, members: _Members, encoding: str | None) -> None:
        self.meta_name, self.members, self.encoding = meta_name, members, encoding
        self.problems: list[Problem] = []

    def warn(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.meta_name, line, None, reason, "warning"))

    def error(self, line: int | None, reason: str) -> InputError:
        return InputError(reason, file=self.meta_name, row=line)

    def parse(self, data: bytes) -> tuple[FileSpec, list[FileSpec], str | None]:
        root = _parse_xml_with_lines(data, self.meta_name)
        if root.tag != "archive":
            raise self.error(root.line, f"meta.xml's root element is <{root.tag}>, not <archive>")
        cores = root.all("core")
        if len(cores) != 1:
            line = cores[1].line if cores else root.line
            raise self.error(line, f"meta.xml must declare exactly one <core>, found {len(cores)}")
        core = self.file_spec(cores[0], is_core=True)
        extensions = [self.file_spec(e, is_core=False) for e in root.all("extension")]
        return core, extensions, root.attrs.get("metadata") or None

    def file_spec(self, el: _El, *, is_core: bool) -> FileSpec:
        kind = "core" if is_core else "extension"
        row_type = el.attrs.get("rowType", "").strip()
        if not row_type:
            raise self.error(el.line, f"<{kind}> has no rowType")
        locations: list[str] = []
        for files in el.all("files"):
            for loc in files.all("location"):
                text = loc.text.strip()
                if not text:
                    raise self.error(loc.line, f"<{kind}> has an empty <location>")
                if "://" in text:
                    raise self.error(loc.line, f"remote data file {text!r} is not supported")
                found = self.members.find(text)
                if found is None:
                    raise self.error(
                        loc.line,
                        f"meta.xml names the {kind} data file {text!r}, which is not in the archive",
                    )
                if found != text.replace("\\", "/").removeprefix("./"):
                    self.warn(loc.line, f"data file {text!r} found as {found!r} (case differs)")
                locations.append(found)
        if not locations:
            raise self.error(el.line, f"<{kind}> ({row_type}) has no <files><location>")

        encoding = self._encoding(el)
        terminated = _unescape(el.attrs.get("fieldsTerminatedBy", ","))
        enclosed = _unescape(el.attrs.get("fieldsEnclosedBy", '"')) or None
        lines = _unescape(el.attrs.get("linesTerminatedBy", "\n")) or "\n"
        if not terminated:
            raise self.error(el.line, "fieldsTerminatedBy is empty")
        if enclosed is not None and (len(enclosed) != 1 or len(terminated) != 1):
            raise self.error(
                el.line,
                "quoted fields need a one-character fieldsTerminatedBy and fieldsEnclosedBy "
                f"(found {terminated!r} and {enclosed!r})",
            )
        if lines not in ("\n", "\r\n", "\r"):
            self.warn(el.line, f"linesTerminatedBy {lines!r} is unusual; reading lines ending \\n")
            lines = "\n"
        try:
            ignore = int(el.attrs.get("ignoreHeaderLines", "0").strip() or 0)
        except ValueError:
            raise self.error(el.line, "ignoreHeaderLines is not a number") from None

        id_tag, other = ("id", "coreid") if is_core else ("coreid", "id")
        id_els = el.all(id_tag) or el.all(other)
        id_index = None
        if id_els:
            if not el.all(id_tag):
                self.warn(id_els[0].line, f"<{kind}> uses <{other}> where <{id_tag}> is expected")
            id_index = self._index(id_els[0])
        elif not is_core:
            self.warn(
                el.line, f"extension {locations[0]} has no <coreid>: its rows cannot be linked"
            )

        fields: list[FieldSpec] = []
        seen: set[str] = set()
        for f in el.all("field"):
            term = f.attrs.get("term", "").strip()
            if not term:
                self.warn(f.line, "<field> without a term: ignored")
                continue
            index = self._index(f) if "index" in f.attrs else None
            default = f.attrs.get("default")
            if index is None and default is None:
                self.warn(f.line, f"<field> {term} has neither index nor default: ignored")
                continue
            if term in seen:
                self.warn(f.line, f"term {term} is declared twice; the first non-empty value wins")
            seen.add(term)
            delimited = f.attrs.get("delimitedBy")
            fields.append(
                FieldSpec(
                    term=term,
                    index=index,
                    default=default,
                    delimited_by=_unescape(delimited) if delimited else None,
                    vocabulary=f.attrs.get("vocabulary") or None,
                )
            )
        return FileSpec(
            name=locations[0],
            row_type=row_type,
            is_core=is_core,
            encoding=encoding,
            fields_terminated_by=terminated,
            fields_enclosed_by=enclosed,
            lines_terminated_by=lines,
            ignore_header_lines=ignore,
            id_index=id_index,
            fields=tuple(fields),
            locations=tuple(locations),
        )

    def _encoding(self, el: _El) -> str:
        if self.encoding:
            return self.encoding
        declared = el.attrs.get("encoding", "UTF-8")
        try:
            return normalise_encoding(declared)
        except LookupError:
            self.warn(el.line, f"unknown encoding {declared!r}: reading as UTF-8")
            return "utf-8"

    def _index(self, el: _El) -> int:
        raw = el.attrs.get("index", "").strip()
        if not raw.isdigit():
            raise self.error(el.line, f"<{el.tag}> index {raw!r} is not a number")
        return int(raw)


# --------------------------------------------------------------------------- reading rows


class _LineSource:
    """Decoded physical lines of one data file, counting them; a record's budget is enforced."""

    class Runaway(Exception):
        pass

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.count = 0
        self.budget: float = float("inf")
        self.eof = False

    def __iter__(self) -> _LineSource:
        return self

    def __next__(self) -> str:
        try:
            line = next(self.lines)
        except StopIteration:
            self.eof = True
            raise
        self.count += 1
        self.budget -= len(line)
        if self.budget < 0:
            raise _LineSource.Runaway
        return line


class _FileReader:
    """Reads one data file of a spec: decoding, records, field counts, problems."""

    def __init__(self, archive: Archive, spec: FileSpec, name: str, *, from_header: bool) -> None:
        self.archive, self.spec, self.name = archive, spec, name
        self.from_header = from_header
        self.problems: dict[str, Problem] = {}

    # ---- problems: one per kind per file, counted
    def note(self, kind: str, line: int, reason: str) -> Problem:
        problem = self.problems.get(kind)
        if problem is None:
            problem = Problem(self.name, line, None, reason, "warning")
            self.problems[kind] = problem
            self.archive.problems.append(problem)
            self.archive._row_problems.setdefault(self.name, []).append(problem)
        else:
            problem.count += 1
        return problem

    # ---- decoding
    def decoded_lines(self) -> Iterator[str]:
        encoding = self.spec.encoding
        with self.archive._members.open(self.name) as raw:
            head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            bom = bom_codec(head)
            if bom == "utf-8-sig":
                raw.read(3)
                if encoding != "utf-8":
                    self.note(
                        "bom",
                        1,
                        f"file starts with a UTF-8 byte-order mark: read as UTF-8, "
                        f"not {_label(encoding)}",
                    )
                    encoding = "utf-8"
            elif bom == "utf-16":
                if not encoding.startswith("utf-16"):
                    self.note(
                        "bom",
                        1,
                        f"file starts with a UTF-16 byte-order mark: read as "
                        f"UTF-16, not {_label(encoding)}",
                    )
                encoding = "utf-16"
            if _is_utf16_or_32(encoding):
                yield from self._wide_lines(raw, encoding)
            else:
                yield from self._narrow_lines(raw, encoding)

    def _wide_lines(self, raw: IO[bytes], encoding: str) -> Iterator[str]:
        newline = "\r" if self.spec.lines_terminated_by == "\r" else "\n"
        text = io.TextIOWrapper(raw, encoding=encoding, newline=newline)
        number = 0
        # characters, not bytes: a UTF-16 character is 2 or 4 bytes
        limit = self.archive.limits.max_line_bytes // 2
        try:
            while line := text.readline(limit + 1 if limit else -1):
                number += 1
                if limit and len(line) > limit and not line.endswith(newline):
                    raise InputError(
                        f"line {number} is longer than max_line_bytes "
                        f"({self.archive.limits.max_line_bytes:,} bytes); raise that setting if "
                        "the file is right",
                        file=self.name,
                        row=number,
                    )
                yield line.lstrip("\ufeff") if number == 1 else line
        except UnicodeError as exc:
            reason = getattr(exc, "reason", str(exc))
            raise InputError(
                f"not valid {_label(encoding)} text ({reason}); if meta.xml names the wrong "
                "encoding, pass encoding=... (--encoding)",
                file=self.name,
                row=number + 1,
            ) from None
        finally:
            text.detach()

    def _narrow_lines(self, raw: IO[bytes], encoding: str) -> Iterator[str]:
        fallbacks = (
            ["cp1252", "latin-1"] if encoding in ("utf-8", "ascii") else ["utf-8", "latin-1"]
        )
        raw_lines: Iterable[bytes] = bounded_lines(
            raw,
            self.archive.limits.max_line_bytes,
            self.name,
            b"\r" if self.spec.lines_terminated_by == "\r" else b"\n",
        )
        used: dict[str, None] = {}
        for number, data in enumerate(raw_lines, start=1):
            try:
                line = data.decode(encoding)
            except UnicodeError:
                for fb in fallbacks:  # the last one (latin-1) decodes any byte
                    try:
                        line = data.decode(fb)
                        used[fb] = None
                        break
                    except UnicodeDecodeError:
                        continue
                problem = self.note("encoding", number, "")
                problem.reason = (
                    f"line {problem.row} is not valid {_label(encoding)} text: read as "
                    f"{' or '.join(_label(fb) for fb in used)} instead; {problem.count} line(s) "
                    "of this file affected. If the whole file is in another encoding, pass "
                    "encoding=... (--encoding)"
                )
            if number == 1:
                line = line.lstrip("\ufeff")
            yield line

    # ---- records
    def records(self) -> Iterator[tuple[int, int, list[str] | str]]:
        """(first line, last line, fields or an error message) for every record."""
        source = _LineSource(self.decoded_lines())
        spec = self.spec
        max_chars = self.archive.limits.max_field_bytes or 2**62
        if spec.fields_enclosed_by:
            reader = csv.reader(
                source,
                delimiter=spec.fields_terminated_by,
                quotechar=spec.fields_enclosed_by,
                doublequote=True,
                strict=False,
            )
            while True:
                start = source.count + 1
                source.budget = max_chars
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except _LineSource.Runaway:
                    yield (
                        start,
                        source.count,
                        (
                            f"record runs on past max_field_bytes ({max_chars:,} characters): a "
                            "quoted field that never closes? Raise that setting if the file is "
                            "right"
                        ),
                    )
                    continue
                except csv.Error as exc:
                    yield start, source.count, f"malformed quoted field: {exc}"
                    continue
                if source.eof:  # the reader wanted more lines to finish this record
                    yield (
                        start,
                        source.count,
                        (
                            f"a quoted field never closes: the record runs from line {start} to the "
                            f"end of the file (line {source.count})"
                        ),
                    )
                    return
                yield start, source.count, fields
            return
        crlf = spec.lines_terminated_by == "\r\n"
        delimiter = spec.fields_terminated_by
        parts: list[str] = []
        start = 1
        size = 0
        for line in source:
            if not parts:
                start = source.count
                if crlf and source.count == 1 and not line.endswith("\r\n") and line.endswith("\n"):
                    self.note(
                        "crlf",
                        1,
                        "meta.xml declares lines ending \\r\\n, but they end \\n: "
                        "reading \\n as the line end",
                    )
                    crlf = False
            if crlf and not line.endswith("\r\n"):
                parts.append(line)
                size += len(line)
                if size > max_chars:
                    yield (
                        start,
                        source.count,
                        (
                            f"record runs on past max_field_bytes ({max_chars:,} characters) "
                            "without a \\r\\n"
                        ),
                    )
                    parts, size = [], 0
                continue
            parts.append(line)
            record = "".join(parts)
            parts, size = [], 0
            if record.endswith("\n"):
                record = record[:-1]
            if record.endswith("\r"):
                record = record[:-1]
            yield start, source.count, record.split(delimiter)
        if parts:
            yield start, source.count, "".join(parts).split(delimiter)

    def rows(self) -> Iterator[Row | RowError]:
        spec = self.spec
        plan = [(f.term, f.index, f.default or "") for f in spec.fields]
        required = (
            max(
                [f.index for f in spec.fields if f.index is not None]
                + ([spec.id_index] if spec.id_index is not None else [])
                + [-1]
            )
            + 1
        )
        width: int | None = None
        headers_left = spec.ignore_header_lines
        id_index = spec.id_index
        max_blank = self.archive.limits.max_blank_lines
        blank = 0
        for start, end, fields in self.records():
            if isinstance(fields, str):
                if headers_left > 0:  # a header line that cannot be read is still the header:
                    headers_left -= 1  # the record after it is data
                yield RowError(start, fields, self.name)
                continue
            if headers_left > 0:
                headers_left -= 1
                if width is None:
                    width = len(fields)
                continue
            n = len(fields)
            if not any(f.strip() for f in fields):
                blank += 1
                if max_blank and blank > max_blank:
                    raise blank_run_error(self.name, end, max_blank)
                continue  # a blank line
            blank = 0
            span = f" (the record spans lines {start}-{end})" if end > start else ""
            if width is None:
                width = max(n, required)
            if n > width and any(f.strip() for f in fields[width:]):
                yield RowError(start, f"row has {n} fields, expected {width}{span}", self.name)
                continue
            if n < required:
                if id_index is not None and id_index >= n:
                    yield RowError(
                        start,
                        f"row has {n} field(s); its id column (index {id_index}) is missing{span}",
                        self.name,
                    )
                    continue
                if n == 1 and width > 2:
                    yield RowError(
                        start,
                        f"row has 1 field, expected {width}: no field separator on this line "
                        "(a line break inside a field?)",
                        self.name,
                    )
                    continue
                problem = self.note("short", start, "")
                problem.reason = (
                    f"{problem.count} row(s) have fewer fields than expected ({width}), the first "
                    f"at line {problem.row}: their missing last fields read as empty"
                )
            values: dict[str, str] = {}
            for term, index, default in plan:
                value = fields[index] if index is not None and index < n else ""
                if not value.strip():
                    value = default
                if value.strip() and term not in values:
                    values[term] = value
            if self.from_header:
                self._check_quotes(start, values)
            row_id = fields[id_index].strip() if id_index is not None and id_index < n else ""
            yield Row(start, row_id or None, values, self.name)

    def _check_quotes(self, line: int, values: dict[str, str]) -> None:
        if self.spec.fields_enclosed_by:
            return
        quoted = sum(1 for v in values.values() if len(v) > 1 and v[0] == v[-1] == '"')
        if quoted:
            problem = self.note("quotes", line, "")
            problem.count += quoted - 1
            problem.reason = (
                f"{problem.count} value(s) are wrapped in double quotes, as spreadsheets write "
                f"them, the first at line {problem.row}; a {_DELIMITER_NAMES.get(self.spec.fields_terminated_by, 'delimited')} "
                "file is read without quoting, so the quotes are kept as part of the values"
            )


# --------------------------------------------------------------------------- the archive


class Archive:
    """A Darwin Core Archive opened for reading; use ``Archive.open``.

    Attributes: ``path`` (what was opened); ``core`` and ``extensions`` (``FileSpec``);
    ``metadata_name`` (the EML member: meta.xml's ``metadata`` attribute when that file exists,
    else ``eml.xml`` or ``metadata.xml`` if present, else None); ``meta_xml`` (the meta.xml
    member, None when the core was built from a header row); ``problems`` (``Problem`` list,
    filled while opening and while rows are read).
    """

    def __init__(
        self,
        path: Path,
        members: _Members,
        core: FileSpec,
        extensions: list[FileSpec],
        metadata_name: str | None,
        meta_xml: str | None,
        problems: list[Problem],
        limits: ReadLimits | None = None,
    ) -> None:
        self.path = path
        self.limits = limits or ReadLimits()
        self._members = members
        self.core = core
        self.extensions = extensions
        self.metadata_name = metadata_name
        self.meta_xml = meta_xml
        self.problems = problems
        self._row_problems: dict[str, list[Problem]] = {}

    # ---- opening
    @classmethod
    def open(
        cls, path: str | Path, *, encoding: str | None = None, limits: ReadLimits | None = None
    ) -> Archive:
        """Open a ``.zip`` archive, an unpacked archive folder, or a single CSV/TSV/TXT data file.

        meta.xml may sit at the root or inside a single top-level folder. Without meta.xml, the
        only data file (``.txt``/``.csv``/``.tsv``) becomes the core, its header row naming the
        terms (see ``header_term``); its delimiter is sniffed from the header (tab, comma,
        semicolon, pipe); quotes are honoured in comma/semicolon files, kept as data otherwise.
        ``encoding`` overrides every declared encoding. ``limits`` bound what reading may cost
        (line length, zip member size...; default: the settings' defaults). Raises
        ``InputError`` for what cannot be read at all or passes a limit.
        """
        path = Path(path)
        limits = limits or ReadLimits()
        if encoding is not None:
            try:
                encoding = normalise_encoding(encoding)
            except LookupError:
                raise InputError(f"unknown encoding {encoding!r}", file=str(path)) from None
        if not path.exists():
            raise InputError("no such file or folder", file=str(path))
        if path.is_file() and path.name.lower() == "meta.xml":
            path = path.parent
        members: _Members
        if path.is_dir():
            members = _DirMembers(path)
            meta = "meta.xml" if (path / "meta.xml").is_file() else None
            if meta is None:
                subs = [
                    d
                    for d in path.iterdir()
                    if d.is_dir() and not _is_junk(d.name) and (d / "meta.xml").is_file()
                ]
                if len(subs) == 1:
                    members, meta = _DirMembers(subs[0]), "meta.xml"
        elif zipfile.is_zipfile(path):
            try:
                zf = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputError(f"cannot open zip: {exc}", file=str(path)) from None
            prefix, meta = cls._find_meta_in_zip(zf, path)
            members = _ZipMembers(zf, prefix, limits)
        elif path.suffix.lower() == ".zip":
            raise InputError("not a valid zip file", file=str(path))
        else:
            members, meta = _FileMembers(path), None
        try:
            archive = cls._build(path, members, meta, encoding, limits)
        except BaseException:
            members.close()
            raise
        archive.limits = limits
        return archive

    @staticmethod
    def _find_meta_in_zip(zf: zipfile.ZipFile, path: Path) -> tuple[str, str | None]:
        metas = [
            n
            for n in zf.namelist()
            if PurePosixPath(n).name.lower() == "meta.xml" and not _is_junk(n)
        ]
        if not metas:
            return "", None
        depth = min(n.count("/") for n in metas)
        shallowest = [n for n in metas if n.count("/") == depth]
        if len(shallowest) > 1:
            raise InputError(
                f"the zip holds several meta.xml files ({', '.join(sorted(shallowest))})",
                file=str(path),
            )
        meta = shallowest[0]
        prefix = meta[: len(meta) - len(PurePosixPath(meta).name)]
        return prefix, meta[len(prefix) :]

    @classmethod
    def _build(
        cls,
        path: Path,
        members: _Members,
        meta: str | None,
        encoding: str | None,
        limits: ReadLimits,
    ) -> Archive:
        if meta is None:
            return cls._from_header(path, members, encoding)
        with members.open(meta) as handle:
            data = read_bounded(handle, limits.max_xml_bytes, meta, "max_xml_bytes")
        parser = _MetaParser(meta, members, encoding)
        core, extensions, declared_metadata = parser.parse(data)
        problems = parser.problems
        metadata_name = None
        if declared_metadata:
            metadata_name = members.find(declared_metadata)
        if metadata_name is None:
            metadata_name = next((n for n in ("eml.xml", "metadata.xml") if members.find(n)), None)
            if declared_metadata and metadata_name:
                problems.append(
                    Problem(
                        meta,
                        None,
                        None,
                        f"meta.xml names metadata {declared_metadata!r}, which is not in the "
                        f"archive; using {metadata_name!r}",
                        "warning",
                    )
                )
            elif declared_metadata:
                problems.append(
                    Problem(
                        meta,
                        None,
                        None,
                        f"meta.xml names metadata {declared_metadata!r}, which is not in the archive",
                        "warning",
                    )
                )
        return cls(path, members, core, extensions, metadata_name, meta, problems)

    @classmethod
    def _from_header(cls, path: Path, members: _Members, encoding: str | None) -> Archive:
        candidates = [
            n
            for n in members.names()
            if n.lower().endswith(_DATA_SUFFIXES) and PurePosixPath(n).name.lower() not in _NOT_DATA
        ]
        if isinstance(members, _FileMembers):
            candidates = members.names()
        if len(candidates) != 1:
            found = f" ({', '.join(candidates[:5])})" if candidates else ""
            raise InputError(
                f"no meta.xml, and {len(candidates)} data files{found}: cannot tell the core",
                file=str(path),
            )
        name = candidates[0]
        with members.open(name) as handle:
            first = handle.readline(1 << 20)
        bom = bom_codec(first)
        if bom == "utf-8-sig":
            first = first[3:]
        if bom in ("utf-16", "utf-32"):
            encoding = encoding or bom  # nothing declared: the byte-order mark tells
            with members.open(name) as handle:
                first_text = io.TextIOWrapper(handle, encoding=bom, newline="\n").readline(1 << 19)
        else:
            try:
                first_text = first.decode(encoding or "utf-8")
            except UnicodeError:
                first_text = first.decode(
                    "cp1252" if (encoding or "utf-8") == "utf-8" else "utf-8", errors="replace"
                )
        header_line = first_text.rstrip("\r\n").lstrip("\ufeff")
        if not header_line.strip():
            raise InputError("file is empty or has no header row", file=name, row=1)
        delimiter = _sniff_delimiter(header_line)
        quote = '"' if delimiter in (",", ";") else None
        if quote:
            names = next(csv.reader([header_line], delimiter=delimiter, quotechar=quote))
        else:
            names = header_line.split(delimiter)
        problems: list[Problem] = []
        fields: list[FieldSpec] = []
        id_index: int | None = None
        seen: set[str] = set()
        for i, raw_name in enumerate(names):
            h = raw_name.strip().lstrip("\ufeff").strip()
            if not h:
                problems.append(
                    Problem(name, 1, str(i + 1), "column without a header: ignored", "warning")
                )
                continue
            if h.lower() == "id" and id_index is None:
                id_index = i
                continue
            term = header_term(h)
            if term in seen:
                problems.append(
                    Problem(
                        name,
                        1,
                        h,
                        f"header {h!r} repeats a column; the first non-empty value wins",
                        "warning",
                    )
                )
            seen.add(term)
            fields.append(FieldSpec(term=term, index=i))
        if id_index is None:
            for wanted in (GBIF + "gbifID", DWC + "occurrenceID"):
                hit = next((f.index for f in fields if f.term == wanted), None)
                if hit is not None:
                    id_index = hit
                    break
        core = FileSpec(
            name=name,
            row_type=OCCURRENCE,
            is_core=True,
            encoding=encoding or "utf-8",
            fields_terminated_by=delimiter,
            fields_enclosed_by=quote,
            lines_terminated_by="\n",
            ignore_header_lines=1,
            id_index=id_index,
            fields=tuple(fields),
            locations=(name,),
        )
        metadata_name = next((n for n in ("eml.xml", "metadata.xml") if members.find(n)), None)
        if isinstance(members, _FileMembers):
            metadata_name = None
        return cls(path, members, core, [], metadata_name, None, problems)

    # ---- reading
    @property
    def specs(self) -> list[FileSpec]:
        """The core, then the extensions."""
        return [self.core, *self.extensions]

    def rows(self, spec: FileSpec) -> Iterator[Row | RowError]:
        """Stream the records of ``spec``'s data file(s): a ``Row`` per record, a ``RowError`` per
        malformed record (never an exception for one bad row). Header lines are skipped, blank
        lines ignored. Reading a file again replaces the problems its last reading reported."""
        for name in spec.locations or (spec.name,):
            stale = {id(p) for p in self._row_problems.pop(name, [])}
            self.problems[:] = [p for p in self.problems if id(p) not in stale]
            yield from _FileReader(self, spec, name, from_header=self.meta_xml is None).rows()

    def read_bytes(self, name: str) -> bytes:
        """The bytes of any member (EML, rights.txt...), named relative to the archive root."""
        found = self._members.find(name)
        if found is None:
            raise InputError(f"no file {name!r} in the archive", file=str(self.path))
        with self._members.open(found) as handle:
            return read_bounded(handle, self.limits.max_xml_bytes, found, "max_xml_bytes")

    def dataset_metadata_names(self) -> list[str]:
        """The per-dataset EML documents of a GBIF download (``dataset/*.xml``), sorted."""
        return sorted(
            n
            for n in self._members.names()
            if n.startswith("dataset/") and n.lower().endswith(".xml") and n.count("/") == 1
        )

    def close(self) -> None:
        """Release the zip file (a folder or plain file needs nothing)."""
        self._members.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Archive {self.path} core={self.core.name} extensions={len(self.extensions)}>"
