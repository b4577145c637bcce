"""Read the document-side templates: labels, media, groups (CSV) and documents, IIIF (JSON).

Each reader validates as it maps: every row, document or part is loaded or rejected, and
every problem names its file and its row and column (CSV) or JSON path (JSON). References to
specimens by catalogue number are looked up in the store before loading starts
(:func:`catalog_index`), since the mapping itself never reads the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import read_bounded, read_header, read_rows
from collectomics.iri import Minter
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.documents import document_refs, map_document
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.groups import GROUP_COLUMNS, map_group
from collectomics.mapping.iiif import is_manifest, map_manifest
from collectomics.mapping.labels import LABEL_COLUMNS, map_label
from collectomics.mapping.media import MEDIA_COLUMNS, map_media
from collectomics.mapping.refs import Refs, catalog_refs
from collectomics.mapping.specimens import specimen_key
from collectomics.model import IRI, Literal
from collectomics.store import Store

if TYPE_CHECKING:
    from collectomics.ingest.pipeline import IngestReport, Sink

#: kind -> (columns, mapper)
CSV_TEMPLATES: dict[str, tuple[list[str], Callable[[Mapping[str, str], Context, Refs], Mapped]]] = {
    "labels": (LABEL_COLUMNS, map_label),
    "media": (MEDIA_COLUMNS, map_media),
    "groups": (GROUP_COLUMNS, map_group),
}
JSON_KINDS = ("documents", "iiif")
KINDS = (*CSV_TEMPLATES, *JSON_KINDS)


def csv_kind(header: list[str]) -> str | None:
    """Which CSV template a header is: groups, labels or media; None for none of them."""
    columns = set(header)
    if "group_id" in columns:
        return "groups"
    if "specimen" in columns and columns & {"transcription", "writing_method", "hand"}:
        return "labels"
    if columns & {"media_id", "access_uri"}:
        return "media"
    return None


def load_json(path: Path, limits: ReadLimits | None = None) -> Any:
    """A JSON file's content; InputError with line and column when it does not parse, and
    when it is larger than ``max_json_bytes`` or nests too deep."""
    limits = limits or ReadLimits()
    try:
        with open(path, "rb") as handle:
            data = read_bounded(handle, limits.max_json_bytes, str(path), "max_json_bytes")
        return json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise InputError("JSON nested too deep to read", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; save the file as UTF-8", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno, column=str(exc.colno)
        ) from None
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror}", file=str(path)) from None


def json_kind(path: Path, limits: ReadLimits | None = None) -> str:
    """'documents' (an object with a ``documents`` list) or 'iiif' (a Presentation 3 manifest)."""
    data = load_json(path, limits)
    if isinstance(data, dict) and isinstance(data.get("documents"), list):
        return "documents"
    if is_manifest(data):
        return "iiif"
    raise InputError(
        "cannot tell what this JSON file holds: expected the documents template (an object "
        'with a "documents" list) or a IIIF Presentation 3 manifest (type Manifest, @context '
        "http://iiif.io/api/presentation/3/context.json)",
        file=str(path),
    )


def _references(path: Path, kind: str, limits: ReadLimits | None) -> list[str]:
    if kind in CSV_TEMPLATES:
        values: list[str] = []
        for _, record in read_rows(path, limits):
            if isinstance(record, dict):
                values.extend(record.values())
        return values
    if kind == "documents":
        return document_refs(load_json(path, limits))
    return []


def catalog_index(
    store: Store,
    files: Iterable[tuple[Path, str]],
    minter: Minter,
    limits: ReadLimits | None = None,
) -> dict[str, tuple[IRI, ...]]:
    """catalogue number -> specimens that have it, for every ``catalog:`` reference in ``files``:
    the specimens already in the store, and those of specimen CSV files loaded alongside."""
    files = list(files)
    wanted: set[str] = set()
    for path, kind in files:
        if kind in KINDS:
            wanted |= catalog_refs(_references(path, kind, limits))
    found: dict[str, set[IRI]] = {number: set() for number in wanted}
    query = (
        "SELECT DISTINCT ?s ?c WHERE { ?s <http://rs.tdwg.org/dwc/terms/catalogNumber> ?c ; "
        "a <http://rs.tdwg.org/dwc/terms/MaterialEntity> } ORDER BY ?s"
    )
    for number in sorted(wanted):
        rows = store.query(query, params={"c": Literal(number)}).rows()
        found[number].update(IRI(str(r["s"])) for r in rows)
    for path, kind in files:
        if kind != "specimens" or not wanted:
            continue
        for _, record in read_rows(path, limits):
            if not isinstance(record, dict):
                continue
            terms = {canonical_term(k) or k: v for k, v in record.items()}
            number = (terms.get("catalogNumber") or "").strip()
            key = specimen_key(terms)
            if number in found and key is not None:
                found[number].add(minter.specimen(*key))
    return {number: tuple(sorted(iris)) for number, iris in found.items()}


def _record(
    report: IngestReport, sink: Sink, file: str, row: int | None, where: str, mapped: Mapped
) -> None:
    report.read += 1
    for p in mapped.problems:
        column = p.column if row is not None else (p.column or where or None)
        report.problem(file, row, column, p.reason, p.severity)
    if mapped.rejected:
        report.rejected += 1
    else:
        report.loaded += 1
        sink.mapped(mapped)
    sink.record_done()


def stream_template(
    path: Path,
    kind: str,
    ctx: Context,
    refs: Refs,
    report: IngestReport,
    sink: Sink,
    *,
    limits: ReadLimits | None = None,
) -> None:
    """Map one template file into ``sink``, counting and reporting every record."""
    file = str(path)
    if kind in CSV_TEMPLATES:
        columns, mapper = CSV_TEMPLATES[kind]
        for column in read_header(path, limits=limits):
            if column not in columns:
                report.problem(file, 1, column, "column not mapped; ignored", "warning")
        for row, record in read_rows(path, limits):
            if isinstance(record, InputError):
                report.read += 1
                report.rejected += 1
                report.problem(file, row, None, record.message)
                sink.record_done()
                continue
            _record(report, sink, file, row, "", mapper(record, ctx, refs))
        return
    data = load_json(path, limits)
    if kind == "iiif":
        for where, mapped in map_manifest(data, ctx):
            _record(report, sink, file, None, where, mapped)
        return
    for i, document in enumerate(data["documents"]):
        for where, mapped in map_document(document, ctx, refs, f"documents[{i}]"):
            _record(report, sink, file, None, where, mapped)
