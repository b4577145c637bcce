"""Load datasets: files -> records -> triples -> one named graph per dataset, replaced atomically.

A dataset is one or more files:

- a Darwin Core Archive (``.zip``, or a folder with ``meta.xml``), Occurrence or Event core,
  with its extensions and EML metadata;
- a single CSV/TSV: the people template (``person_id`` column) or Darwin Core records with a
  ``catalogNumber`` or ``occurrenceID`` column (GBIF SIMPLE_CSV downloads included);
- the templates of :mod:`collectomics.ingest.templates`: groups, labels and media (CSV),
  documents and IIIF Presentation 3 manifests (JSON);
- RDF (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML), loaded as it is, relative IRIs
  resolved against the configured base.

Records are mapped in a producer thread and streamed as N-Triples to the store's bulk loader,
which indexes while mapping goes on; nothing holds a whole file in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from collectomics.analysis import identity
from collectomics.config import ReadLimits
from collectomics.errors import InputError, StoreError
from collectomics.ingest.archive import default_dataset_id, records_elsewhere, stream_archive
from collectomics.ingest.csvfile import read_header
from collectomics.ingest.duplicates import link_duplicates
from collectomics.ingest.dwcdp import is_package, stream_package
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import is_parquet
from collectomics.ingest.people import stream_people
from collectomics.ingest.report import IngestReport
from collectomics.ingest.sink import Sink, streaming_gc
from collectomics.ingest.templates import KINDS as TEMPLATE_KINDS
from collectomics.ingest.templates import csv_kind, json_kind, specimen_index, stream_template
from collectomics.iri import Minter, derived_graph
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.extensions import map_dataset
from collectomics.mapping.refs import Refs
from collectomics.model import IRI, DatasetMetadata, Literal, iri_is_valid
from collectomics.store import Store, count_statements, rdf_format_for
from collectomics.vocab import COL, DCTERMS, SCHEMA

#: what other modules import from here (the readers' report and sink live below this module)
__all__ = [
    "DatasetSpec",
    "IngestFailed",
    "IngestReport",
    "Sink",
    "dataset_node",
    "file_kind",
    "files_digest",
    "ingest_dataset",
    "ingest_files",
    "streaming_gc",
]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to load: its id, its files, and optional descriptive metadata."""

    dataset_id: str
    files: tuple[Path, ...]
    title: str | None = None
    license: str | None = None
    source: str | None = None
    rights_holder: str | None = None


def _is_archive(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or (path.is_dir() and (path / "meta.xml").is_file())


def file_kind(path: Path, encoding: str | None = None, limits: ReadLimits | None = None) -> str:
    """'dwca', 'dwcdp' (a Darwin Core Data Package), 'rdf', 'people', 'specimens', or a
    template of ingest.templates (labels, media, groups, documents, iiif); InputError when a file's kind cannot be told. ``encoding``: how
    to read a CSV/TSV header (default: its byte-order mark, else UTF-8)."""
    if is_package(path):
        return "dwcdp"
    if is_parquet(path):  # a GBIF snapshot's occurrence table (ingest.parquet)
        return "specimens"
    if _is_archive(path):
        return "dwca"
    if path.is_dir():
        raise InputError(
            "a folder that is neither a Darwin Core Archive (no meta.xml) nor a Darwin Core "
            "Data Package (no datapackage.json)",
            file=str(path),
        )
    suffix = path.suffix.lower()
    if rdf_format_for(path) and suffix != ".json" or suffix == ".jsonld":
        return "rdf"
    if suffix == ".json":
        return json_kind(path, limits)
    if suffix not in {".csv", ".tsv", ".txt"}:
        raise InputError(
            "unknown file type; expected a Darwin Core Archive (.zip or a folder with meta.xml), "
            ".csv/.tsv/.txt (people, groups, labels, media or specimen records), .json "
            "(documents or a IIIF manifest) or an RDF file (.ttl .trig .nt .nq .jsonld .rdf)",
            file=str(path),
        )
    header = read_header(path, encoding, limits)
    if "person_id" in header:
        return "people"
    template = csv_kind(header)
    if template:
        return template
    terms = {canonical_term(h) for h in header}
    if terms & {"catalogNumber", "occurrenceID"}:
        return "specimens"
    raise InputError(
        "cannot tell what this file holds: its header has no person_id column (people "
        "template), group_id (groups), specimen with transcription/writing_method/hand (labels), "
        "media_id or access_uri (media), nor a catalogNumber or occurrenceID column (Darwin "
        "Core specimen records)",
        file=str(path),
        row=1,
    )


def files_digest(paths: Sequence[Path]) -> str:
    """The SHA-256 of the files' bytes (a folder's files in name order), the dataset node's
    ``schema:sha256``: how an unchanged dataset is recognised."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            with open(f, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def dataset_node(spec: DatasetSpec, ctx: Context, digest: str, meta: DatasetMetadata) -> Mapped:
    """The dataset node: the spec's title/licence first, then what the data's own EML says."""
    d = ctx.dataset
    merged = DatasetMetadata(**{**meta.__dict__})
    merged.title = spec.title or meta.title or spec.dataset_id
    merged.license = spec.license or meta.license
    out = map_dataset(merged, d, ctx)
    out.add(d, DCTERMS.identifier, Literal(spec.dataset_id))
    out.add(d, SCHEMA.sha256, Literal(digest))
    out.add(d, DCTERMS.conformsTo, COL.VERSION)  # the graph shape it was mapped to
    for f in spec.files:
        out.add(d, DCTERMS.source, Literal(f.name))
    if spec.source:
        obj = IRI(spec.source) if iri_is_valid(spec.source) else Literal(spec.source)
        out.add(d, DCTERMS.source, obj)
    if spec.rights_holder:
        out.add(d, DCTERMS.rightsHolder, Literal(spec.rights_holder))
    return out


def ingest_dataset(
    store: Store,
    spec: DatasetSpec,
    *,
    minter: Minter,
    replace: bool = False,
    on_record: Callable[[int], None] | None = None,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
    rdf_counts: dict[Path, int] | None = None,
) -> IngestReport:
    """Map and load one dataset into its own named graph, replacing it atomically.

    Raises InputError, before anything is written, when the dataset exists and ``replace`` is
    false (unless its files are unchanged since it was loaded: then nothing is loaded and the
    report says ``unchanged``), or when a file cannot be read at all or passes one of
    ``limits``; bad records are rejected and reported. ``encoding`` overrides the encoding that
    archives and files declare. ``rdf_counts``: the statements of RDF files already counted.
    """
    limits = limits or ReadLimits()
    _refuse_derived(spec)
    graph = minter.graph(spec.dataset_id)
    for path in spec.files:
        if not path.exists():
            raise InputError("no such file", file=str(path))
    ctx = Context(spec.dataset_id, minter, ntriples=True)
    digest = files_digest(spec.files)
    if graph in store.graphs() and not replace:
        refused = _refusal(spec, *_stored_digest(store, ctx), digest)
        if refused is not None:
            raise refused
        report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
        report.unchanged = True
        return report
    kinds = [(path, file_kind(path, encoding, limits)) for path in spec.files]
    report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
    report.max_problems_per_file = limits.max_problems_per_file
    catalog, occurrences = specimen_index(store, kinds, minter, spec.dataset_id, limits)
    refs = Refs(minter, catalog, occurrences, spec.dataset_id)

    def produce(out: IO[bytes]) -> None:
        with streaming_gc():
            _produce(out)

    sinks: list[Sink] = []

    def _produce(out: IO[bytes]) -> None:
        sink = Sink(out, on_record)
        sinks.append(sink)
        meta = DatasetMetadata()
        keys = SpecimenKeys(spec.dataset_id, minter)
        for path, kind in kinds:
            if kind == "people":
                stream_people(path, ctx, report, sink, limits)
            elif kind in ("dwca", "specimens"):
                meta = (
                    stream_archive(
                        path, ctx, report, sink, encoding=encoding, keys=keys, limits=limits
                    )
                    or meta
                )
            elif kind == "dwcdp":
                meta = stream_package(path, ctx, report, sink, limits=limits)
            elif kind in TEMPLATE_KINDS:
                stream_template(path, kind, ctx, refs, report, sink, limits=limits)
        sink.triples(dataset_node(spec, ctx, digest, meta).triples)
        sink.flush()

    extra = [(p, rdf_format_for(p) or "turtle") for p, kind in kinds if kind == "rdf"]
    try:
        # RDF files count what they state; the mapping's triples are counted as they are written
        known = rdf_counts or {}
        stated = sum(
            known[p] if p in known else count_statements(p, fmt, base_iri=minter.base)
            for p, fmt in extra
        )
        store.replace_graph_stream(
            graph, produce, "ntriples", base_iri=minter.base, lenient=True, extra=extra
        )
    except StoreError as exc:
        files = ", ".join(str(p) for p, _ in extra) or None
        raise InputError(
            f"cannot load: {exc.message}", file=files, dataset=spec.dataset_id
        ) from None
    except MemoryError as exc:  # pyoxigraph's loader refuses a statement over 16 MiB this way
        raise InputError(
            f"cannot load: out of memory ({exc}); a statement (a line of an RDF file) over "
            "16 MiB cannot be loaded",
            file=", ".join(str(p) for p in spec.files),
            dataset=spec.dataset_id,
        ) from None
    report.triples = stated + sum(sink.written for sink in sinks)
    if any(kind in ("dwca", "specimens", "dwcdp") for _, kind in kinds):
        report.duplicates = link_duplicates(store, minter, spec.dataset_id)
    return report


class IngestFailed(InputError):
    """A multi-dataset ingest stopped at one dataset; ``committed`` holds the reports of the
    datasets loaded (or found unchanged) before it, which stay in the store."""

    def __init__(self, cause: InputError, committed: list[IngestReport]) -> None:
        loaded = ", ".join(r.dataset for r in committed)
        context = {k: v for k, v in cause.context.items() if k not in ("file", "row", "column")}
        super().__init__(
            f"{cause.message} [loaded before this, and kept: {loaded}]",
            file=cause.file,
            row=cause.row,
            column=cause.column,
            **context,
        )
        self.committed = committed


def _refusal(
    spec: DatasetSpec, stored: str | None, shape: str | None, digest: str
) -> InputError | None:
    """Why a dataset already in the store is not loaded again without ``--replace``; ``None``
    when it is unchanged: the same files, mapped to the graph shape this version writes."""
    if stored == digest and shape == COL.VERSION:
        return None
    if stored == digest:
        return InputError(
            f"dataset {spec.dataset_id!r} was loaded from these files by an older version of "
            f"collectomics (its graph follows {shape or 'the ontology before 0.2.0'}; this "
            f"version writes {COL.VERSION}); pass --replace to map it again",
            dataset=spec.dataset_id,
        )
    return InputError(
        f"dataset {spec.dataset_id!r} is already in the store; pass --replace to replace it",
        dataset=spec.dataset_id,
    )


def _stored_digest(store: Store, ctx: Context) -> tuple[str | None, str | None]:
    """The SHA-256 of the files the stored version of ``ctx``'s dataset was loaded from, and the
    ontology version its graph follows (``None`` before 0.2.0, which did not say)."""
    result = store.query(
        "SELECT ?d ?h ?v WHERE { ?d <http://schema.org/sha256> ?h "
        "OPTIONAL { ?d <http://purl.org/dc/terms/conformsTo> ?v } } LIMIT 1",
        params={"d": ctx.dataset},
    )
    for row in result.rows():
        shape = row.get("v")
        return getattr(row["h"], "value", None), str(shape) if shape is not None else None
    return None, None


def ingest_files(
    store: Store,
    paths: Sequence[Path],
    *,
    minter: Minter,
    dataset_id: str | None = None,
    replace: bool = False,
    on_record: Callable[[int], None] | None = None,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
) -> list[IngestReport]:
    """Ingest files: all into ``dataset_id`` if given (one graph, replaced in one step), else
    one dataset per file (its own id, see
    :func:`~collectomics.ingest.archive.default_dataset_id`), each committed on its own, in order.

    Every file's kind is told, every RDF file parsed, and every dataset that exists checked
    (without ``replace``, other files under an existing id are refused) before anything is
    loaded. Without ``dataset_id`` or ``replace``, a file whose records are already in the store
    under another dataset id (the same GBIF download named otherwise; the same file under
    another name) is refused with an InputError naming that dataset, before anything is loaded.
    A dataset whose files are unchanged since it was loaded is skipped (its report says
    ``unchanged``), so running the same command again after a failure loads only what is
    missing. When one dataset fails after others were committed, :class:`IngestFailed` names it
    and carries the committed datasets' reports."""
    limits = limits or ReadLimits()
    for path in paths:
        if not path.exists():
            raise InputError("no such file", file=str(path))
    if dataset_id:
        specs = [DatasetSpec(dataset_id, tuple(paths))]
    else:
        specs = [DatasetSpec(default_dataset_id(p), (p,)) for p in paths]
    for spec in specs:
        _refuse_derived(spec)
    rdf_counts: dict[Path, int] = {}
    for spec in specs:  # check every file's kind, and parse every RDF file, before loading
        for path in spec.files:
            if file_kind(path, encoding, limits) == "rdf":
                try:
                    fmt = rdf_format_for(path) or "turtle"
                    rdf_counts[path] = count_statements(path, fmt, base_iri=minter.base)
                except StoreError as exc:
                    raise InputError(f"cannot load: {exc.message}", file=str(path)) from None
                except MemoryError as exc:  # pyoxigraph's parser: a statement over 16 MiB
                    raise InputError(
                        f"cannot parse: a statement is too large ({exc})", file=str(path)
                    ) from None
    if not replace:  # a dataset that would be refused is refused before anything loads
        stored = set(store.graphs())
        for spec in specs:
            ctx = Context(spec.dataset_id, minter)
            if minter.graph(spec.dataset_id) in stored:
                refused = _refusal(spec, *_stored_digest(store, ctx), files_digest(spec.files))
                if refused is not None:
                    raise refused
    if not dataset_id and not replace:
        for spec in specs:
            _refuse_if_loaded_elsewhere(store, spec, minter, encoding, limits)
    reports: list[IngestReport] = []
    for spec in specs:
        try:
            reports.append(
                ingest_dataset(
                    store,
                    spec,
                    minter=minter,
                    replace=replace,
                    on_record=on_record,
                    encoding=encoding,
                    limits=limits,
                    rdf_counts=rdf_counts,
                )
            )
        except InputError as exc:
            if reports:
                identity.refresh(store, minter)  # what was committed counts
                raise IngestFailed(exc, reports) from None
            raise
    identity.refresh(store, minter)
    return reports


def _refuse_derived(spec: DatasetSpec) -> None:
    """InputError when the dataset's id is the name of a graph the project derives (the possible
    duplicates, the facets...): loading it would mix a dataset with that graph."""
    held = derived_graph(spec.dataset_id)
    if held is not None:
        raise InputError(
            f"the dataset id {spec.dataset_id!r} names the graph that holds {held}; "
            "choose another id with --dataset",
            dataset=spec.dataset_id,
        )


def _refuse_if_loaded_elsewhere(
    store: Store,
    spec: DatasetSpec,
    minter: Minter,
    encoding: str | None,
    limits: ReadLimits,
) -> None:
    """InputError when ``spec``'s files are already in the store under another dataset id:
    the same bytes (the dataset node's sha256), or, for a download, the same records."""
    own = minter.dataset(spec.dataset_id)
    if minter.graph(spec.dataset_id) in store.graphs():
        return  # the same id: ingest_dataset asks for --replace itself
    digest = files_digest(spec.files)
    rows = store.query(
        "SELECT ?d ?h WHERE { ?d <http://schema.org/sha256> ?h }", params={"h": Literal(digest)}
    ).rows()
    same = sorted(str(r["d"]) for r in rows if str(r["d"]) != own)
    where = ", ".join(str(f) for f in spec.files)
    advice = (
        f"pass --replace to load them again as dataset {spec.dataset_id!r} anyway, or --dataset "
        "to choose the id"
    )
    if same:
        raise InputError(
            f"these files are already in the store, byte for byte, as dataset "
            f"<{same[0]}>; {advice}",
            file=where,
            dataset=spec.dataset_id,
        )
    for path in spec.files:
        if file_kind(path, encoding, limits) not in ("dwca", "specimens"):
            continue
        found = records_elsewhere(store, path, spec.dataset_id, minter, encoding, limits)
        if found:
            node, n, sampled = found
            raise InputError(
                f"{n} of the first {sampled} records are already in the store in dataset "
                f"<{node}> (the same download loaded under another id?); {advice}",
                file=str(path),
                dataset=spec.dataset_id,
            )
