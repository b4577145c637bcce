"""Load datasets: files -> records -> triples -> one named graph per dataset, replaced atomically.

A dataset is one or more files. CSV files are recognised by their header: the people template
(``person_id`` column) or Darwin Core specimen records (any Darwin Core column, with
``catalogNumber`` or ``occurrenceID``). RDF files (Turtle, TriG, N-Triples, N-Quads, JSON-LD,
RDF/XML) are loaded as they are, relative IRIs resolved against the configured base.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from collectomics.errors import InputError, StoreError
from collectomics.ingest.csvfile import read_header, read_rows
from collectomics.iri import Minter, slug
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.people import PEOPLE_COLUMNS, map_person
from collectomics.mapping.specimens import map_specimen
from collectomics.model import IRI, Literal, iri_is_valid, nquad
from collectomics.store import Store, rdf_format_for
from collectomics.vocab import DCTERMS, RDF, SCHEMA


@dataclass
class Problem:
    """One problem with one record or file; ``severity`` 'error' means the record was rejected."""

    file: str
    row: int | None
    column: str | None
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row else "")
        where += f", column {self.column}" if self.column else ""
        return f"{self.severity}: {where}: {self.reason}"


@dataclass
class IngestReport:
    """What one dataset's ingest did. Counts add up: read == loaded + rejected."""

    dataset: str
    graph: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    triples: int = 0
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        errors = sum(p.severity == "error" for p in self.problems)
        warnings = len(self.problems) - errors
        return (
            f"{self.dataset}: read {self.read}, loaded {self.loaded}, rejected {self.rejected} "
            f"records; {self.triples} triples in <{self.graph}>; "
            f"{errors} errors, {warnings} warnings"
        )


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to load: its id, its files, and optional descriptive metadata."""

    dataset_id: str
    files: tuple[Path, ...]
    title: str | None = None
    license: str | None = None
    source: str | None = None
    rights_holder: str | None = None


def file_kind(path: Path) -> str:
    """'rdf', 'people' or 'specimens'; InputError when a file's kind cannot be told."""
    if rdf_format_for(path) and path.suffix.lower() != ".json" or path.suffix.lower() == ".jsonld":
        return "rdf"
    if path.suffix.lower() not in {".csv", ".tsv", ".txt"}:
        raise InputError(
            "unknown file type; expected .csv/.tsv (people or specimen records) or an RDF file "
            "(.ttl .trig .nt .nq .jsonld .rdf)",
            file=str(path),
        )
    header = read_header(path)
    if "person_id" in header:
        return "people"
    terms = {canonical_term(h) for h in header}
    if terms & {"catalogNumber", "occurrenceID"}:
        return "specimens"
    raise InputError(
        "cannot tell what this file holds: its header has neither a person_id column (people "
        "template) nor a catalogNumber or occurrenceID column (Darwin Core specimen records)",
        file=str(path),
        row=1,
    )


def _dataset_triples(spec: DatasetSpec, minter: Minter, digest: str) -> list[str]:
    d = minter.dataset(spec.dataset_id)
    lines = [
        nquad((d, RDF.type, SCHEMA.Dataset, None)),
        nquad((d, DCTERMS.title, Literal(spec.title or spec.dataset_id), None)),
        nquad((d, DCTERMS.identifier, Literal(spec.dataset_id), None)),
        nquad((d, SCHEMA.sha256, Literal(digest), None)),
    ]
    for f in spec.files:
        lines.append(nquad((d, DCTERMS.source, Literal(f.name), None)))
    if spec.source:
        obj = IRI(spec.source) if iri_is_valid(spec.source) else Literal(spec.source)
        lines.append(nquad((d, DCTERMS.source, obj, None)))
    if spec.license:
        obj = IRI(spec.license) if iri_is_valid(spec.license) else Literal(spec.license)
        lines.append(nquad((d, DCTERMS.license, obj, None)))
    if spec.rights_holder:
        lines.append(nquad((d, DCTERMS.rightsHolder, Literal(spec.rights_holder), None)))
    return lines


def _map_csv(
    path: Path,
    kind: str,
    ctx: Context,
    report: IngestReport,
    lines: list[str],
    on_record: Callable[[int], None] | None,
) -> None:
    header = read_header(path)
    if kind == "people":
        unknown = [h for h in header if h not in PEOPLE_COLUMNS]
        mapper = map_person
        rename: dict[str, str] = {}
    else:
        rename = {h: t for h in header if (t := canonical_term(h))}
        unknown = [h for h in header if h not in rename]
        mapper = map_specimen
    for column in unknown:
        report.problems.append(
            Problem(str(path), 1, column, "column not mapped; ignored", "warning")
        )
    first_row: dict[str, int] = {}
    for row, record in read_rows(path):
        report.read += 1
        if on_record:
            on_record(1)
        if isinstance(record, InputError):
            report.rejected += 1
            report.problems.append(Problem(str(path), row, None, record.message))
            continue
        if rename:
            record = {rename[k]: v for k, v in record.items() if k in rename}
        mapped: Mapped = mapper(record, ctx)
        for p in mapped.problems:
            report.problems.append(Problem(str(path), row, p.column, p.reason, p.severity))
        if mapped.rejected:
            report.rejected += 1
            continue
        report.loaded += 1
        if mapped.subject is not None:
            seen = first_row.setdefault(mapped.subject, row)
            if seen != row:
                report.problems.append(
                    Problem(
                        str(path),
                        row,
                        None,
                        f"describes the same {'person' if kind == 'people' else 'specimen'} as row "
                        f"{seen} (same key); both records are merged into <{mapped.subject}>",
                        "warning",
                    )
                )
        lines.extend(nquad((s, p_, o, None)) for s, p_, o in mapped.triples)


def ingest_dataset(
    store: Store,
    spec: DatasetSpec,
    *,
    minter: Minter,
    replace: bool = False,
    on_record: Callable[[int], None] | None = None,
) -> IngestReport:
    """Map and load one dataset into its own named graph, replacing it atomically.

    Raises InputError, before anything is written, when the dataset exists and ``replace`` is
    false, or when a file cannot be read at all; bad records are rejected and reported.
    """
    graph = minter.graph(spec.dataset_id)
    if graph in store.graphs() and not replace:
        raise InputError(
            f"dataset {spec.dataset_id!r} is already in the store; pass --replace to replace it",
            dataset=spec.dataset_id,
        )
    report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
    ctx = Context(spec.dataset_id, minter)
    lines: list[str] = []
    rdf_parts: list[Path] = []
    digest = hashlib.sha256()
    for path in spec.files:
        if not path.is_file():
            raise InputError("no such file", file=str(path))
        digest.update(path.read_bytes())
        kind = file_kind(path)
        if kind == "rdf":
            rdf_parts.append(path)
        else:
            _map_csv(path, kind, ctx, report, lines, on_record)
    lines[:0] = _dataset_triples(spec, minter, digest.hexdigest())
    parts: list[tuple[object, str]] = [("".join(lines).encode("utf-8"), "ntriples")]
    parts += [(p, rdf_format_for(p) or "turtle") for p in rdf_parts]
    try:
        report.triples = store.replace_graph_parts(graph, parts, base_iri=minter.base)  # type: ignore[arg-type]
    except StoreError as exc:
        files = ", ".join(str(p) for p in rdf_parts) or None
        raise InputError(
            f"cannot load: {exc.message}", file=files, dataset=spec.dataset_id
        ) from None
    return report


def ingest_files(
    store: Store,
    paths: Sequence[Path],
    *,
    minter: Minter,
    dataset_id: str | None = None,
    replace: bool = False,
    on_record: Callable[[int], None] | None = None,
) -> list[IngestReport]:
    """Ingest files: all into ``dataset_id`` if given, else one dataset per file (its stem)."""
    if dataset_id:
        specs = [DatasetSpec(dataset_id, tuple(paths))]
    else:
        specs = [DatasetSpec(slug(p.stem), (p,)) for p in paths]
    for spec in specs:  # check every file's kind before loading anything
        for path in spec.files:
            if not path.is_file():
                raise InputError("no such file", file=str(path))
            file_kind(path)
    return [
        ingest_dataset(store, s, minter=minter, replace=replace, on_record=on_record) for s in specs
    ]
