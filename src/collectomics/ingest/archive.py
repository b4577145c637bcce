"""Stream a Darwin Core Archive (or a single Darwin Core CSV/TSV) into mapped triples.

Occurrence core: each row is a specimen; extensions (media, identification history, resource
relationships, GBIF's verbatim record) attach to it through the core id. Event core: each event
row is kept, and each row of its Occurrence extension becomes a specimen that inherits the
event's fields. Memory stays flat but for one dict of core id -> specimen IRI, kept only when
extensions need it, and a small buffer that pairs GBIF's verbatim rows with their core rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.dwca import Archive, FileSpec, Row, RowError
from collectomics.ingest.eml import parse_eml
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.pipeline import Counts, IngestReport, Sink
from collectomics.iri import Minter, slug
from collectomics.mapping.common import Context, Mapped, date_literal
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.dwc import DC_TERMS, canonical_term
from collectomics.mapping.extensions import (
    map_dataset,
    map_identification,
    map_media,
    map_relationship,
    map_verbatim,
)
from collectomics.mapping.specimens import MAPPED_TERMS, map_specimen, measurers
from collectomics.mapping.verbatim import compact, is_identifier_term, keep, keep_all
from collectomics.model import IRI, DatasetMetadata, Literal
from collectomics.store import Store
from collectomics.vocab import COL, DCTERMS, DWC, DWCIRI, PROV, RDF, RDFS, SCHEMA

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
OCCURRENCE = DWC_NS + "Occurrence"
EVENT = DWC_NS + "Event"
TAXON = DWC_NS + "Taxon"
IDENTIFICATION = DWC_NS + "Identification"
RELATIONSHIP = DWC_NS + "ResourceRelationship"
#: row types of Darwin Core 1.4 era archives that mean Occurrence
LEGACY_OCCURRENCE = {DWC_NS + "DarwinCore", DWC_NS + "SimpleDarwinRecord"}
MEDIA = {
    "http://eol.org/schema/media/Document",
    "http://rs.gbif.org/terms/1.0/Multimedia",
    "http://rs.gbif.org/terms/1.0/Image",
    "http://rs.tdwg.org/ac/terms/Multimedia",
    "http://rs.gbif.org/terms/1.0/Images",
}


def _renamer(spec: FileSpec) -> dict[str, str]:
    """term IRI -> the Darwin Core name the mapping reads it by; a term the mapping has no
    name for keeps its IRI (the mapping keeps its values verbatim, see mapping.verbatim)."""
    rename: dict[str, str] = {}
    for field_spec in spec.fields:
        name = canonical_term(field_spec.term)
        if field_spec.term.rsplit("/", 1)[-1] == "illustrative":  # the demo's marker, not DwC
            name = "illustrative"
        rename[field_spec.term] = name or field_spec.term
    return rename


class _TermCounts:
    """A data file's non-empty values per term, for the report: mapped or kept verbatim."""

    def __init__(self, report: IngestReport, file: str) -> None:
        self.counts: Counter[str] = Counter()  # sorted out by finish()
        self.told: Counter[tuple[str, bool]] = Counter()  # (term, mapped) as the caller says
        self.split = report.terms.setdefault(file, {})

    def row(self, values: Mapping[str, str]) -> None:
        self.counts.update([t for t, v in values.items() if v and not v.isspace()])

    def add(self, term: str, mapped: bool) -> None:
        self.told[term, mapped] += 1

    def finish(self, rename: Mapping[str, str] | None = None) -> None:
        """Add up: a term counted by :meth:`row` is mapped when the specimen mapping places it
        (an ``...ID`` term becomes an identifier), else kept verbatim."""
        rename = rename or {}
        for term, n in self.counts.items():
            name = rename.get(term, term)
            self.told[term, name in MAPPED_TERMS or is_identifier_term(name)] += n
        for (term, mapped), n in sorted(self.told.items()):
            self.split.setdefault(compact(term), [0, 0])[0 if mapped else 1] += n
        self.counts.clear()
        self.told.clear()


def _row_type(spec: FileSpec) -> str:
    return OCCURRENCE if spec.row_type in LEGACY_OCCURRENCE else spec.row_type


def _extension_kind(spec: FileSpec, core: FileSpec) -> str | None:
    if _row_type(spec) == OCCURRENCE:
        return "verbatim" if _row_type(core) == OCCURRENCE else "occurrence"
    if spec.row_type in MEDIA:
        return "media"
    if spec.row_type == IDENTIFICATION:
        return "identification"
    if spec.row_type == RELATIONSHIP:
        return "relationship"
    return None


def member_name(path: Path, spec: FileSpec) -> str:
    """How reports name a file of an archive: ``archive.zip!occurrence.txt``."""
    return archive_file(path, spec.name)


def archive_file(path: Path, name: str) -> str:
    """How reports name the file ``name`` (as meta.xml names it) of the archive at ``path``:
    ``archive.zip!occurrence.txt``, ``folder/occurrence.txt``, or the file itself."""
    if path.is_dir():
        return str(path / name)
    if path.suffix.lower() == ".zip":
        return f"{path}!{name}"
    return str(path)


def qualified(exc: InputError, path: Path) -> InputError:
    """``exc`` naming its file as :func:`archive_file` does (the reader names archive members
    by their own names: ``meta.xml``, ``occurrence.txt``)."""
    if not exc.file or exc.file.startswith(str(path)):
        return exc
    context = {k: v for k, v in exc.context.items() if k not in ("file", "row", "column")}
    return InputError(
        exc.message, file=archive_file(path, exc.file), row=exc.row, column=exc.column, **context
    )


def source_dataset(key: str, ctx: Context) -> tuple[IRI, list[tuple[IRI, IRI, IRI | Literal]]]:
    """The node of a GBIF source dataset (a record's ``datasetKey``, a download's
    ``dataset/KEY.xml``) and the triples that make it, made even when no EML describes it."""
    node = ctx.minter.mint("dataset", "gbif", key)
    return node, [
        (node, RDF.type, SCHEMA.Dataset),
        (node, DCTERMS.identifier, Literal(key)),
        (node, RDFS.seeAlso, IRI(f"https://www.gbif.org/dataset/{key}")),
        (ctx.dataset, DCTERMS.hasPart, node),
    ]


class _Loader:
    """The state of one archive's streaming: report, sink, ids, source datasets."""

    def __init__(
        self,
        arc: Archive,
        path: Path,
        ctx: Context,
        report: IngestReport,
        sink: Sink,
        keys: SpecimenKeys,
    ):
        self.arc, self.path, self.ctx, self.report, self.sink = arc, path, ctx, report, sink
        self.keys = keys
        self.ids: dict[str, IRI] = {}
        self.sources: dict[str, IRI] = {}

    def where(self, spec: FileSpec) -> str:
        return member_name(self.path, spec)

    # -- specimens ----------------------------------------------------------------------

    def specimen(
        self, row: Row, record: dict[str, str], spec: FileSpec, file: str, keep_id: bool
    ) -> IRI | None:
        self.sink.record_at(file, row.line)
        iri, repeated = self.keys.mint(record, file, spec.name, row.line)
        mapped = map_specimen(record, self.ctx, iri)
        for p in mapped.problems:
            self.report.problem(file, row.line, p.column, p.reason, p.severity)
        if mapped.rejected or mapped.subject is None:
            self.report.rejected += 1
            return None
        self.report.loaded += 1
        self.report.count_agents(mapped)
        self.report.specimens += 1
        subject = mapped.subject
        if repeated:
            self.report.problem(file, row.line, None, repeated, "warning")
        self.sink.mapped(mapped)
        key = record.get("datasetKey", "").strip()
        if key:
            self.sink.triples([(subject, SCHEMA.includedInDataSet, self.source(key))])
        if keep_id and row.id:
            self.ids[row.id] = subject
        return subject

    def occurrence_core(self, verbatim: FileSpec | None, keep_ids: bool) -> None:
        core = self.arc.core
        file = self.where(core)
        rename = _renamer(core)
        terms = _TermCounts(self.report, core.name)
        pairing = _VerbatimPairing(self, verbatim) if verbatim else None
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                self.report.rejected += 1
                self.report.problem(file, row.line, None, row.reason)
                self.sink.record_done()
                continue
            terms.row(row.values)
            record = {rename[t]: v for t, v in row.values.items() if t in rename}
            subject = self.specimen(row, record, core, file, keep_ids or pairing is not None)
            if pairing is not None and subject is not None and row.id:
                pairing.core_row(row.id, subject, row.values)
            self.sink.record_done()
        terms.finish(rename)
        if pairing is not None:
            pairing.finish()

    def parent_core(self, occurrences: FileSpec | None) -> None:
        """An Event or Taxon core: its rows become event or taxon nodes, and each row of its
        Occurrence extension a specimen that inherits the parent row's fields."""
        core = self.arc.core
        word, cls = ("event", DWC.Event) if core.row_type == EVENT else ("taxon", DWC.Taxon)
        file = self.where(core)
        rename = _renamer(core)
        terms = _TermCounts(self.report, core.name)
        events: dict[str, tuple[IRI, dict[str, str]]] = {}
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                self.report.rejected += 1
                self.report.problem(file, row.line, None, row.reason)
                continue
            for term, value in row.values.items():
                if value.strip():  # every term of an event or taxon row has its place
                    terms.add(term, True)
            record = {rename[t]: v for t, v in row.values.items() if t in rename}
            key = row.id or record.get(f"{word}ID") or ""
            if not key:
                self.report.rejected += 1
                self.report.problem(file, row.line, None, f"a {word} row without id")
                continue
            event = self.ctx.minter.mint(word, self.ctx.dataset_id, key)
            self.sink.triples(_parent_triples(event, cls, record, self.ctx))
            self.report.loaded += 1
            events[key] = (event, record)
            self.ids[key] = event  # media and other extensions of the core attach to it
            self.sink.record_done()
        terms.finish()
        if occurrences is None:
            return
        counts = self.report.extensions.setdefault(occurrences.name, Counts())
        occ_file = self.where(occurrences)
        rename = _renamer(occurrences)
        occ_terms = _TermCounts(self.report, occurrences.name)
        for row in self.arc.rows(occurrences):
            counts.read += 1
            if isinstance(row, RowError):
                counts.rejected += 1
                self.report.problem(occ_file, row.line, None, row.reason)
                continue
            occ_terms.row(row.values)
            parent = events.get(row.id or "")
            if parent is None:
                counts.rejected += 1
                self.report.problem(
                    occ_file, row.line, "coreid", f"no {word} with id {row.id!r} in the core"
                )
                continue
            own = {rename[t]: v for t, v in row.values.items() if t in rename}
            record = child_record(parent[1], own)
            iri, repeated = self.keys.mint(record, occ_file, occurrences.name, row.line)
            mapped = map_specimen(record, self.ctx, iri)
            for p in mapped.problems:
                self.report.problem(occ_file, row.line, p.column, p.reason, p.severity)
            if mapped.rejected or mapped.subject is None:
                counts.rejected += 1
                continue
            counts.loaded += 1
            self.report.count_agents(mapped)
            self.report.specimens += 1
            if repeated:
                self.report.problem(occ_file, row.line, None, repeated, "warning")
            self.sink.mapped(mapped)
            if word == "event":
                own_event = self.ctx.minter.part(mapped.subject, "event")
                self.sink.triples([(own_event, DCTERMS.isPartOf, parent[0])])
            else:
                self.sink.triples([(mapped.subject, DWCIRI.toTaxon, parent[0])])
            self.sink.record_done()
        occ_terms.finish(rename)

    # -- extensions ---------------------------------------------------------------------

    def _extension_rows(
        self, spec: FileSpec, counts: Counts, file: str
    ) -> Iterator[tuple[Row, IRI, int]]:
        """The rows of an extension whose core record was loaded, each with that record and its
        number among the record's rows; the other rows are counted rejected and reported."""
        numbers: dict[str, int] = {}
        for row in self.arc.rows(spec):
            counts.read += 1
            if isinstance(row, RowError):
                counts.rejected += 1
                self.report.problem(file, row.line, None, row.reason)
                continue
            core = self.ids.get(row.id or "")
            if core is None:
                counts.rejected += 1
                self.report.problem(
                    file, row.line, "coreid", f"no loaded core record with id {row.id!r}"
                )
                continue
            n = numbers[row.id or ""] = numbers.get(row.id or "", 0) + 1
            yield row, core, n

    def extension(self, spec: FileSpec, kind: str) -> None:
        counts = self.report.extensions.setdefault(spec.name, Counts())
        file = self.where(spec)
        for row, specimen, n in self._extension_rows(spec, counts, file):
            if kind == "media":
                mapped = map_media(row.values, specimen, self.ctx, f"{row.id}-{n}")
            elif kind == "identification":
                mapped = map_identification(row.values, specimen, self.ctx, n)
            else:
                mapped = map_relationship(row.values, specimen, self.ctx, n, self.ids.get)
            for p in mapped.problems:
                self.report.problem(file, row.line, p.column, p.reason, p.severity)
            counts.loaded += 1
            self.report.count_agents(mapped)
            self.sink.mapped(mapped)
            self.sink.record_done()

    def unsupported(self, spec: FileSpec) -> None:
        """An extension the model has no place for: each row kept verbatim, a node of its row
        type about its core record (``dcterms:subject``)."""
        counts = self.report.extensions.setdefault(spec.name, Counts())
        file = self.where(spec)
        terms = _TermCounts(self.report, spec.name)
        kind = slug(Path(spec.name).stem)
        for row, core, n in self._extension_rows(spec, counts, file):
            mapped = extension_row(row.values, core, spec, kind, n, self.ctx, terms)
            for p in mapped.problems:
                self.report.problem(file, row.line, p.column, p.reason, p.severity)
            self.report.count_agents(mapped)
            self.sink.mapped(mapped)
            counts.loaded += 1
            self.sink.record_done()
        terms.finish()

    # -- metadata -----------------------------------------------------------------------

    def source(self, key: str) -> IRI:
        """The node of a GBIF source dataset, made on first sight even when no EML describes it."""
        node = self.sources.get(key)
        if node is None:
            node, description = source_dataset(key, self.ctx)
            self.sources[key] = node
            self.sink.triples(description)
        return node

    def metadata(self) -> DatasetMetadata | None:
        meta = None
        if self.arc.metadata_name:
            meta = self._eml(self.arc.metadata_name)
        for name in self.arc.dataset_metadata_names():
            key = Path(name).stem
            source_meta = self._eml(name)
            if source_meta is None:
                continue
            node = self.source(key)
            self.sink.triples(map_dataset(source_meta, node, self.ctx).triples)
        return meta

    def _eml(self, name: str) -> DatasetMetadata | None:
        try:
            return parse_eml(self.arc.read_bytes(name), source=f"{self.path}!{name}")
        except InputError as exc:
            self.report.problem(
                f"{self.path}!{name}", None, None, f"metadata not read: {exc}", "warning"
            )
            return None


def extension_row(
    values: Mapping[str, str],
    core: IRI,
    spec: FileSpec,
    kind: str,
    number: int,
    ctx: Context,
    terms: _TermCounts,
) -> Mapped:
    """A row of an extension the model has no place for: node ``{core}/{kind}/{number}`` of the
    extension's row type, about its core record (``dcterms:subject``), its values verbatim."""
    node = ctx.minter.part(core, kind, str(number))
    out = Mapped()
    out.add(node, RDF.type, IRI(spec.row_type))
    out.add(node, DCTERMS.subject, core)
    kept = {t: v.strip() for t, v in values.items() if v.strip()}
    keep_all(out, node, kept, kept)
    by, by_id = kept.get(DWC_NS + "measuredBy", ""), kept.get(DWC_NS + "measuredByID", "")
    if by or by_id:  # also as measurer roles, like collectors
        measurers(out, ctx, node, core, by, by_id)
    for term in kept:
        terms.add(term, term in _MEASURED or is_identifier_term(term))
    return out


_MEASURED = {DWC_NS + "measuredBy", DWC_NS + "measuredByID"}


def verbatim_terms(
    terms: _TermCounts, row: Mapping[str, str], interpreted: Mapping[str, str]
) -> None:
    """Count a GBIF verbatim row's values: the same as the interpreted one (the specimen holds
    it: mapped) or kept on the verbatim record."""
    for term, value in row.items():
        if value and not value.isspace():
            terms.add(term, (interpreted.get(term) or "").strip() == value.strip())


def check_unpaired(
    limit: int, waiting: int, core: FileSpec, verbatim: FileSpec, file: str, line: int | None
) -> None:
    """InputError when more than ``limit`` rows of ``verbatim`` wait for their core row (0: no
    limit); ``ingest`` and ``export --shards`` hold GBIF's verbatim file to the same bound."""
    if limit and waiting > limit:
        raise InputError(
            f"more than max_unpaired_rows ({limit:,}) rows of {verbatim.name} wait for their "
            f"core row in {core.name}: the two files are not in the same order; raise that "
            "setting if the archive is right",
            file=file,
            row=line,
        )


class _VerbatimPairing:
    """Pairs GBIF verbatim rows with their interpreted core rows as both files stream by.

    GBIF writes both files in the same order, so the buffers stay tiny; if they do not, rows
    wait in the buffers until their partner comes.
    """

    def __init__(self, loader: _Loader, spec: FileSpec) -> None:
        self.loader, self.spec = loader, spec
        self.rows: Iterator[Row | RowError] = loader.arc.rows(spec)
        self.core: dict[str, tuple[IRI, dict[str, str]]] = {}
        self.verbatim: dict[str, Row] = {}
        self.counts = loader.report.extensions.setdefault(spec.name, Counts())
        self.file = loader.where(spec)
        self.limit = loader.arc.limits.max_unpaired_rows
        self.exhausted = False  # every verbatim row read: a core row can only pair from the buffer
        self.terms = _TermCounts(loader.report, spec.name)

    def _check(self, line: int | None) -> None:
        waiting = len(self.verbatim)
        check_unpaired(self.limit, waiting, self.loader.arc.core, self.spec, self.file, line)

    def core_row(self, core_id: str, subject: IRI, values: dict[str, str]) -> None:
        if core_id in self.verbatim:
            self._pair(self.verbatim.pop(core_id), subject, values)
            return
        if self.exhausted:
            return
        self.core[core_id] = (subject, values)
        for row in self.rows:
            if not self._take(row):
                continue
            pending = self.core.pop(row.id or "", None)  # type: ignore[union-attr]
            if pending:  # this core row's partner, or one that waited for it
                self._pair(row, *pending)  # type: ignore[arg-type]
                if row.id == core_id:  # type: ignore[union-attr]
                    return
                continue
            self.verbatim[row.id or ""] = row  # type: ignore[union-attr]
            self._check(row.line)  # type: ignore[union-attr]
        self.exhausted = True
        self.core.clear()  # no verbatim row is left to pair with them

    def _take(self, row: Row | RowError) -> bool:
        self.counts.read += 1
        if isinstance(row, RowError):
            self.counts.rejected += 1
            self.loader.report.problem(self.file, row.line, None, row.reason)
            return False
        return True

    def _pair(self, row: Row, subject: IRI, interpreted: dict[str, str]) -> None:
        mapped: Mapped = map_verbatim(row.values, interpreted, subject, self.loader.ctx)
        verbatim_terms(self.terms, row.values, interpreted)
        self.loader.sink.mapped(mapped)
        self.counts.loaded += 1

    def finish(self) -> None:
        for row in self.rows:
            if self._take(row):
                pending = self.core.pop(row.id or "", None)  # type: ignore[union-attr]
                if pending:
                    self._pair(row, *pending)  # type: ignore[arg-type]
                else:
                    self.verbatim[row.id or ""] = row  # type: ignore[union-attr]
        self.terms.finish()
        for core_id, row in self.verbatim.items():
            self.counts.rejected += 1
            self.loader.report.problem(
                self.file, row.line, "coreid", f"no loaded core record with id {core_id!r}"
            )


def child_record(parent: dict[str, str], own: dict[str, str]) -> dict[str, str]:
    """An Occurrence extension row with the fields it inherits from its Event or Taxon core
    row: all but the parent's own identifier (``dcterms:identifier`` names the event, not
    the specimen)."""
    return {**{k: v for k, v in parent.items() if k != "identifier"}, **own}


def _parent_triples(event: IRI, cls: IRI, record: dict[str, str], ctx: Context) -> list:
    out = Mapped()
    out.add(event, RDF.type, cls)
    if cls == DWC.Event:
        out.add(event, RDF.type, PROV.Activity)
    out.add(event, SCHEMA.includedInDataSet, ctx.dataset)
    for name, value in record.items():
        if not value.strip():
            continue
        if name in (DWC_NS + "eventID", DWC_NS + "taxonID"):  # the row's own identifier
            out.add(event, DCTERMS.identifier, Literal(value.strip()))
        elif "://" in name or is_identifier_term(name):
            keep(out, event, name, value.strip())  # verbatim, or an identifier node
        else:
            term = DCTERMS.term(name) if name in DC_TERMS else DWC.term(name)
            out.add(event, term, Literal(value.strip()))
    bounds = date_bounds(record.get("eventDate"))
    if bounds:
        out.add(event, COL.earliestDate, date_literal(bounds[0]))
        out.add(event, COL.latestDate, date_literal(bounds[1]))
    return out.triples


#: a GBIF download key, as its metadata.xml gives it ("GBIF Occurrence Download 0000154-...")
_DOWNLOAD_KEY = re.compile(rb"\b(\d{7}-\d{15})\b")


def default_dataset_id(path: Path) -> str:
    """The dataset id an archive names itself by, so that a newer version replaces the older
    and one download is one dataset however it arrives.

    A GBIF download (per-dataset EML files) is named by its download key, read from its
    ``metadata.xml`` (so the zip and the folder it unpacks to are one dataset), else by its
    file; another archive by its EML packageId without a version suffix (``.../v1.3``); a plain
    file by its stem (a SIMPLE_CSV download's file is named by its key).
    """
    stem = path.stem if path.is_file() else path.name
    if path.is_file() and path.suffix.lower() != ".zip":
        return slug(stem)
    try:
        with Archive.open(path) as arc:
            if arc.dataset_metadata_names():
                text = arc.read_bytes(arc.metadata_name) if arc.metadata_name else b""
                key = _DOWNLOAD_KEY.search(text)
                return key.group(1).decode("ascii") if key else slug(stem)
            if not arc.metadata_name:
                return slug(stem)
            meta = parse_eml(arc.read_bytes(arc.metadata_name), source=str(path))
    except InputError:
        return slug(stem)
    package = meta.identifiers[0] if meta.identifiers else ""
    package = package.strip()
    head = package.split("/", 1)[0]
    if re.fullmatch(r"[0-9a-fA-F-]{16,}", head):  # "<uuid>/v1.3", "<uuid>/eml-10.xml"
        package = head
    package = re.sub(r"/v\d+(?:\.\d+)*$", "", package)
    return slug(package) if package else slug(stem)


#: core records whose IRIs are looked up in the store before a download is loaded
SAMPLE = 200
_DATASETS_OF = "SELECT ?s ?d WHERE { ?s <http://schema.org/includedInDataSet> ?d }"  # ?s bound


def records_elsewhere(
    store: Store,
    path: Path,
    dataset_id: str,
    minter: Minter,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
) -> tuple[IRI, int, int] | None:
    """Whether the records of the archive at ``path`` are already in the store under another
    dataset id: (that dataset's node, records of the sample found there, sample size), else
    None. Only records keyed independently of their dataset (a GBIF download's, by gbifID) can
    be found; the first :data:`SAMPLE` core records are looked up, read within ``limits``."""
    try:
        return _records_elsewhere(store, path, dataset_id, minter, encoding, limits)
    except InputError as exc:
        raise qualified(exc, path) from None


def _records_elsewhere(
    store: Store,
    path: Path,
    dataset_id: str,
    minter: Minter,
    encoding: str | None,
    limits: ReadLimits | None,
) -> tuple[IRI, int, int] | None:
    own = minter.dataset(dataset_id)
    datasets = {n for g in store.graphs() if (n := minter.dataset_of_graph(g)) is not None}
    keys = SpecimenKeys(dataset_id, minter)
    found: dict[IRI, int] = {}
    sampled = 0
    with open_source(path, encoding=encoding, limits=limits) as arc:
        if _row_type(arc.core) != OCCURRENCE:
            return None
        rename = _renamer(arc.core)
        for row in arc.rows(arc.core):
            if sampled >= SAMPLE:
                break
            if isinstance(row, RowError):
                continue
            record = {rename[t]: v for t, v in row.values.items() if t in rename}
            iri, _ = keys.mint(record, "", arc.core.name, row.line)
            if not iri.startswith(minter.specimen("gbif") + "/"):
                return None  # keyed within its dataset: another id gives other IRIs
            sampled += 1
            for r in store.query(_DATASETS_OF, params={"s": iri}).rows():
                node = IRI(str(r["d"]))
                if node != own and node in datasets:
                    found[node] = found.get(node, 0) + 1
    if not found:
        return None
    node, n = max(found.items(), key=lambda item: item[1])
    return node, n, sampled


def stream_archive(
    path: Path,
    ctx: Context,
    report: IngestReport,
    sink: Sink,
    *,
    encoding: str | None = None,
    keys: SpecimenKeys | None = None,
    limits: ReadLimits | None = None,
) -> DatasetMetadata | None:
    """Map every record of an archive (or single Darwin Core file) into ``sink``, reading it
    within ``limits``; ``keys``, the specimen keys of the dataset's files read before this one.

    Returns the archive's own EML metadata, if it has some, for the dataset node.
    """
    keys = keys or SpecimenKeys(ctx.dataset_id, ctx.minter)
    try:
        return _stream_archive(path, ctx, report, sink, encoding, keys, limits)
    except InputError as exc:
        raise qualified(exc, path) from None


def _stream_archive(
    path: Path,
    ctx: Context,
    report: IngestReport,
    sink: Sink,
    encoding: str | None,
    keys: SpecimenKeys,
    limits: ReadLimits | None,
) -> DatasetMetadata | None:
    with open_source(path, encoding=encoding, limits=limits) as arc:
        loader = _Loader(arc, path, ctx, report, sink, keys)
        meta = loader.metadata()
        kinds = [(spec, _extension_kind(spec, arc.core)) for spec in arc.extensions]
        core_type = _row_type(arc.core)
        if core_type in (EVENT, TAXON):
            occurrence = next((s for s, k in kinds if k == "occurrence"), None)
            loader.parent_core(occurrence)
            kinds = [(s, k) for s, k in kinds if s is not occurrence]
        elif core_type == OCCURRENCE:
            verbatim = next((s for s, k in kinds if k == "verbatim"), None)
            keep = any(k != "verbatim" for _, k in kinds)  # extensions attach by core id
            loader.occurrence_core(verbatim, keep)
            kinds = [(s, k) for s, k in kinds if s is not verbatim]
        else:
            raise InputError(
                f"the archive's core is {arc.core.row_type}; Collectomics reads Occurrence, "
                "Event and Taxon cores",
                file=str(path),
            )
        for spec, kind in kinds:
            if kind in ("media", "identification", "relationship"):
                loader.extension(spec, kind)
            else:
                loader.unsupported(spec)
        for problem in arc.problems:
            report.problem(
                archive_file(path, problem.file),
                problem.line,
                problem.column,
                problem.reason,
                problem.severity,
            )
        sink.flush()
        return meta
