"""Read the document-side templates: labels, media, groups (CSV) and documents, IIIF (JSON).

Each reader validates as it maps: every row, document or part is loaded or rejected, and
every problem names its file and its row and column (CSV) or JSON path (JSON). References to
specimens by catalogue number are looked up in the store before loading starts
(:func:`specimen_index`), since the mapping itself never reads the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import read_bounded, read_header, read_rows
from collectomics.ingest.dwca import RowError
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.report import IngestReport
from collectomics.ingest.sink import Sink
from collectomics.iri import Minter
from collectomics.mapping.common import Context, Mapped, guarded
from collectomics.mapping.documents import document_refs, map_document
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.groups import GROUP_COLUMNS, map_group
from collectomics.mapping.iiif import is_manifest, map_manifest
from collectomics.mapping.labels import LABEL_COLUMNS, map_label
from collectomics.mapping.media import MEDIA_COLUMNS, map_media
from collectomics.mapping.refs import Refs, catalog_refs
from collectomics.model import IRI, Literal
from collectomics.store import Store

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


def specimen_index(
    store: Store,
    files: Iterable[tuple[Path, str]],
    minter: Minter,
    dataset_id: str,
    limits: ReadLimits | None = None,
) -> tuple[dict[str, tuple[IRI, ...]], dict[str, tuple[IRI, ...]]]:
    """(catalogue number, occurrenceID) -> specimens that have it, for every ``catalog:`` and
    ``occurrence:`` reference in ``files``: the specimens already in the store, and those of
    specimen CSV files loaded alongside into ``dataset_id`` (their IRIs minted as the ingest
    will mint them), read within ``limits``."""
    files = list(files)
    values: list[str] = []
    for path, kind in files:
        if kind in KINDS:
            values += _references(path, kind, limits)
    found: dict[str, dict[str, set[IRI]]] = {
        term: {key: set() for key in catalog_refs(values, kind)}
        for term, kind in (("catalogNumber", "catalog"), ("occurrenceID", "occurrence"))
    }
    for term, wanted in found.items():
        query = (
            f"SELECT DISTINCT ?s ?c WHERE {{ ?s <http://rs.tdwg.org/dwc/terms/{term}> ?c ; "
            "<http://schema.org/includedInDataSet> ?d } ORDER BY ?s"
        )
        for key in sorted(wanted):
            rows = store.query(query, params={"c": Literal(key)}).rows()
            wanted[key].update(IRI(str(r["s"])) for r in rows)
    keys = SpecimenKeys(dataset_id, minter)
    for path, kind in files:
        if kind != "specimens" or not any(found.values()):
            continue
        with open_source(path, limits=limits) as arc:
            core = arc.core
            rename = {f.term: canonical_term(f.term) or f.term for f in core.fields}
            for row in arc.rows(core):
                if isinstance(row, RowError):
                    continue
                terms = {rename[t]: v for t, v in row.values.items() if t in rename}
                iri, _ = keys.mint(terms, str(path), core.name, row.line)
                for term, wanted in found.items():
                    key = (terms.get(term) or "").strip()
                    if key in wanted:
                        wanted[key].add(iri)
    catalog, occurrences = (
        {key: tuple(sorted(iris)) for key, iris in found[term].items()}
        for term in ("catalogNumber", "occurrenceID")
    )
    return catalog, occurrences


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
        report.count_agents(mapped)
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
            _record(report, sink, file, row, "", guarded(mapper, record, ctx, refs))
        return
    data = load_json(path, limits)
    if kind == "iiif":
        for where, mapped in map_manifest(data, ctx):
            _record(report, sink, file, None, where, mapped)
        return
    for i, document in enumerate(data["documents"]):
        for where, mapped in map_document(document, ctx, refs, f"documents[{i}]"):
            _record(report, sink, file, None, where, mapped)
