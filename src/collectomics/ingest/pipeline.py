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

import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from collectomics.analysis import identity
from collectomics.config import ReadLimits
from collectomics.errors import InputError, StoreError
from collectomics.ingest.csvfile import read_header, read_rows
from collectomics.ingest.duplicates import link_duplicates
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import is_parquet
from collectomics.iri import Minter, derived_graph
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.extensions import map_dataset
from collectomics.mapping.people import PEOPLE_COLUMNS, map_person
from collectomics.model import IRI, IRI_N3, DatasetMetadata, Literal, iri_is_valid
from collectomics.store import Store, count_statements, rdf_format_for
from collectomics.vocab import DCTERMS, SCHEMA

#: longest problem reason a report keeps (a reason may quote a value, and values can be long)
MAX_REASON_CHARS = 10000

#: records mapped between two writes to the loader (~2.5 MB of N-Triples: the text, its join
#: and its encoding are alive at once, so a larger batch costs memory, not speed)
BATCH = 500


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
class Counts:
    """Records of one kind: read == loaded + rejected."""

    read: int = 0
    loaded: int = 0
    rejected: int = 0


@dataclass
class IngestReport:
    """What one dataset's ingest did. Counts add up: read == loaded + rejected.

    ``read``/``loaded``/``rejected`` count core records (specimens, people); ``extensions``
    counts extension rows (media, identifications, ...) per extension file the same way.
    ``unchanged`` is true when nothing was loaded because the dataset is in the store already
    with the same files (the same SHA-256). ``omitted`` counts, per file, the problems not kept once that file had
    ``max_problems_per_file`` of them (the reason of one kept is cut at 10,000 characters), so
    that a report stays small whatever the input.
    ``triples`` counts the triples written to the graph, as Oxigraph's own bulk loader
    reports its progress: a triple written twice (two records naming the same collector twice, say)
    counts twice and is stored once, so ``Store.count`` may be lower. Counting the stored graph
    would be a scan of it after every load (2 s for 5.5 million triples, 5 % of an ingest).
    """

    dataset: str
    graph: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    triples: int = 0
    #: agent terms that name no one ('Anon.', 's.coll.', '?'), kept as unknown agents
    unknown_agents: int = 0
    #: agent roles played by an organisation ('Zoological Survey of India', 'SEINet Team'),
    #: kept as foaf:Organization agents, never proposed as people
    organisation_agents: int = 0
    #: specimen nodes made: one per specimen record (core rows of an Occurrence core, rows of
    #: the Occurrence extension of an Event or Taxon core); what the dataset's graph holds
    specimens: int = 0
    #: possible-duplicate pairs linking a record of this dataset to one of another dataset (or
    #: of another source dataset of one GBIF download), in the duplicates graph
    duplicates: int = 0
    extensions: dict[str, Counts] = field(default_factory=dict)
    #: per data file, per term (``dwc:locality``): [values mapped, values kept verbatim]
    terms: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    omitted: dict[str, int] = field(default_factory=dict)
    unchanged: bool = False

    #: problems kept per file (0: all); ingest sets it from the ``max_problems_per_file`` setting
    max_problems_per_file = ReadLimits.max_problems_per_file

    def __post_init__(self) -> None:
        self._kept: dict[str, int] = {}

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def problem(
        self, file: str, row: int | None, column: str | None, reason: str, severity: str = "error"
    ) -> None:
        kept = self._kept.get(file, 0)
        if self.max_problems_per_file and kept >= self.max_problems_per_file:
            self.omitted[file] = self.omitted.get(file, 0) + 1
            return
        self._kept[file] = kept + 1
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[:MAX_REASON_CHARS] + "..."
        self.problems.append(Problem(file, row, column, reason, severity))

    def count_agents(self, mapped: Any) -> None:
        """Add the unknown and organisation agent roles of one mapped record (a ``Mapped``, or a
        shard worker's ``Outcome``: both carry the two counts)."""
        self.unknown_agents += mapped.unknown_agents
        self.organisation_agents += mapped.organisation_agents

    def add(self, problems: Iterable[Problem]) -> None:
        """Problems made elsewhere (a worker's, a reader's), kept within the same bounds."""
        for p in problems:
            self.problem(p.file, p.row, p.column, p.reason, p.severity)

    def summary(self, shards: int | None = None) -> str:
        """One line of counts (and one per extension file, and one per data file that has
        values kept verbatim, naming their terms); with ``shards``, for an export:
        ``triples`` then counts the quads written to that many files."""
        if self.unchanged:
            return (
                f"{self.dataset}: unchanged (its files have the SHA-256 of the version in the "
                "store); not loaded again"
            )
        errors = sum(p.severity == "error" for p in self.problems)
        warnings = len(self.problems) - errors
        where = f"{self.triples} triples written to <{self.graph}>"
        if shards is not None:
            where = (
                f"{self.triples} quads in <{self.graph}> written to {shards} "
                f"shard{'s' if shards != 1 else ''}"
            )
        text = (
            f"{self.dataset}: read {self.read}, loaded {self.loaded}, rejected {self.rejected} "
            f"records; {where}; {errors} errors, {warnings} warnings"
        )
        if self.unknown_agents:
            text += f"; {self.unknown_agents} unknown agents (values that name no one)"
        if self.organisation_agents:
            text += f"; {self.organisation_agents} organisations as agents"
        if self.specimens != self.loaded and self.specimens:
            text += f"\n  {self.specimens} specimen records (one specimen node each)"
        if self.duplicates:
            text += (
                f"\n  {self.duplicates} possible duplicate pairs linked (same occurrenceID, or "
                "institution and catalogue number, in another dataset)"
            )
        for name, c in self.extensions.items():
            text += f"\n  {name}: read {c.read}, loaded {c.loaded}, rejected {c.rejected} rows"
        for name, n in self.omitted.items():
            text += (
                f"\n  {name}: {n} more problems counted, not kept (max_problems_per_file: "
                f"{self.max_problems_per_file})"
            )
        for name, terms in self.terms.items():  # every file's counts are in to_dict()
            if any(v for _, v in terms.values()):
                text += "\n  " + _terms_line(name, terms)
        return text


def _terms_line(name: str, terms: dict[str, list[int]]) -> str:
    """``file: 52 terms mapped (9,100 values); 3 terms kept verbatim (120 values: dwc:x 100, ...)``"""
    mapped = [t for t, (m, _) in terms.items() if m]
    kept = sorted(((t, v) for t, (_, v) in terms.items() if v), key=lambda tv: (-tv[1], tv[0]))
    text = (
        f"{name}: {len(mapped)} terms mapped ({sum(m for m, _ in terms.values())} values); "
        f"{len(kept)} terms kept verbatim ({sum(v for _, v in kept)} values"
    )
    return text + ("".join(f"{', ' if i else ': '}{t} {v}" for i, (t, v) in enumerate(kept)) + ")")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to load: its id, its files, and optional descriptive metadata."""

    dataset_id: str
    files: tuple[Path, ...]
    title: str | None = None
    license: str | None = None
    source: str | None = None
    rights_holder: str | None = None


class Sink:
    """Where mapped records go: batches N-Triples lines and writes them to the loader.

    ``written`` counts the triples written (lines: a literal's line breaks are escaped), a
    triple written twice counted twice; the store keeps one copy of it."""

    def __init__(self, out: IO[bytes], on_record: Callable[[int], None] | None) -> None:
        self._out = out
        self.written = 0
        self._lines: list[str] = []
        self._pending = 0
        self._on_record = on_record
        self._described: set[object] = set()

    def triples(self, triples: Sequence[tuple[object, object, object]]) -> None:
        # model.nquad inlined, a subject written once per run of triples, predicates read from
        # the IRI cache: this loop runs for every triple of an ingest
        append = self._lines.append
        cached = IRI_N3.get
        last = subject = None
        for s, p, o in triples:
            if s is not last:
                last, subject = s, s.n3()  # type: ignore[attr-defined]
            append(f"{subject} {cached(p) or p.n3()} {o.n3()} .\n")  # type: ignore[attr-defined]

    def mapped(self, mapped: Mapped) -> None:
        """A record's triples, and the descriptions of shared nodes not yet written."""
        self.triples(mapped.triples)
        if mapped.lines:
            self._lines.extend(mapped.lines)
        if mapped.once:
            fresh = [t for t in mapped.once if t[0] not in self._described]
            self.triples(fresh)
            self._described.update(t[0] for t in fresh)

    def record_at(self, file: str, line: int) -> None:
        """Where the record mapped next was read. A hook: ``ingest --validate`` maps the
        dataset again into a sink that keeps this, to name the rows behind violations."""

    def record_done(self) -> None:
        self._pending += 1
        if self._pending >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            data = "".join(self._lines).encode("utf-8")
            self.written += data.count(b"\n")
            self._out.write(data)
            self._lines.clear()
        if self._on_record and self._pending:
            self._on_record(self._pending)
        self._pending = 0


@contextmanager
def streaming_gc() -> Iterator[None]:
    """Pause automatic cyclic garbage collection for a long mapping run.

    Mapping allocates millions of short-lived objects while its memos (names, dates) grow to
    tens of thousands of entries; the collector's full passes over those cost a fifth of the
    producer's time (measured: 14.5-18.7 s against 11.7-11.9 s of CPU for 100,000 records).
    Mapping makes almost no reference cycles (124 unreachable objects after 100,000 records,
    peak RSS unchanged), and collection resumes when the run ends. (A young-generation
    collection per written batch cost 1.1 s per 100,000 records: not worth it.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_archive(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or (path.is_dir() and (path / "meta.xml").is_file())


def file_kind(path: Path, encoding: str | None = None, limits: ReadLimits | None = None) -> str:
    """'dwca', 'dwcdp' (a Darwin Core Data Package), 'rdf', 'people', 'specimens', or a
    template of ingest.templates (labels, media, groups, documents, iiif); InputError when a file's kind cannot be told. ``encoding``: how
    to read a CSV/TSV header (default: its byte-order mark, else UTF-8)."""
    from collectomics.ingest.dwcdp import is_package
    from collectomics.ingest.templates import csv_kind, json_kind

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


def _digest(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            with open(f, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def _dataset_node(spec: DatasetSpec, ctx: Context, digest: str, meta: DatasetMetadata) -> Mapped:
    """The dataset node: the spec's title/licence first, then what the data's own EML says."""
    d = ctx.dataset
    merged = DatasetMetadata(**{**meta.__dict__})
    merged.title = spec.title or meta.title or spec.dataset_id
    merged.license = spec.license or meta.license
    out = map_dataset(merged, d, ctx)
    out.add(d, DCTERMS.identifier, Literal(spec.dataset_id))
    out.add(d, SCHEMA.sha256, Literal(digest))
    for f in spec.files:
        out.add(d, DCTERMS.source, Literal(f.name))
    if spec.source:
        obj = IRI(spec.source) if iri_is_valid(spec.source) else Literal(spec.source)
        out.add(d, DCTERMS.source, obj)
    if spec.rights_holder:
        out.add(d, DCTERMS.rightsHolder, Literal(spec.rights_holder))
    return out


def _stream_people(
    path: Path, ctx: Context, report: IngestReport, sink: Sink, limits: ReadLimits
) -> None:
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
        mapped = map_person(record, ctx)
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
    from collectomics.ingest.archive import stream_archive  # archive reading is heavier
    from collectomics.ingest.dwcdp import stream_package

    limits = limits or ReadLimits()
    _refuse_derived(spec)
    graph = minter.graph(spec.dataset_id)
    for path in spec.files:
        if not path.exists():
            raise InputError("no such file", file=str(path))
    ctx = Context(spec.dataset_id, minter, ntriples=True)
    digest = _digest(spec.files)
    if graph in store.graphs() and not replace:
        if _stored_digest(store, ctx) == digest:
            report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
            report.unchanged = True
            return report
        raise InputError(
            f"dataset {spec.dataset_id!r} is already in the store; pass --replace to replace it",
            dataset=spec.dataset_id,
        )
    kinds = [(path, file_kind(path, encoding, limits)) for path in spec.files]
    report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
    report.max_problems_per_file = limits.max_problems_per_file
    from collectomics.ingest.templates import KINDS as TEMPLATE_KINDS
    from collectomics.ingest.templates import specimen_index, stream_template
    from collectomics.mapping.refs import Refs

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
                _stream_people(path, ctx, report, sink, limits)
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
        sink.triples(_dataset_node(spec, ctx, digest, meta).triples)
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


def _stored_digest(store: Store, ctx: Context) -> str | None:
    """The SHA-256 of the files the stored version of ``ctx``'s dataset was loaded from."""
    result = store.query(
        "SELECT ?d ?h WHERE { ?d <http://schema.org/sha256> ?h } LIMIT 1",
        params={"d": ctx.dataset},
    )
    return next((getattr(row["h"], "value", None) for row in result.rows()), None)


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
    from collectomics.ingest.archive import default_dataset_id, records_elsewhere

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
                if _stored_digest(store, ctx) != _digest(spec.files):
                    raise InputError(
                        f"dataset {spec.dataset_id!r} is already in the store; pass --replace "
                        "to replace it",
                        dataset=spec.dataset_id,
                    )
    if not dataset_id and not replace:
        for spec in specs:
            _refuse_if_loaded_elsewhere(store, spec, minter, encoding, limits, records_elsewhere)
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
    records_elsewhere: Callable[..., tuple[IRI, int, int] | None],
) -> None:
    """InputError when ``spec``'s files are already in the store under another dataset id:
    the same bytes (the dataset node's sha256), or, for a download, the same records."""
    own = minter.dataset(spec.dataset_id)
    if minter.graph(spec.dataset_id) in store.graphs():
        return  # the same id: ingest_dataset asks for --replace itself
    digest = _digest(spec.files)
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
