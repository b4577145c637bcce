"""Walk a Darwin Core Archive (or a single Darwin Core CSV/TSV): the one reading of an archive.

Occurrence core: each row is a specimen; extensions (media, identification history, resource
relationships, GBIF's verbatim record, others kept verbatim) attach to it through the core id.
Event or Taxon core: each core row is kept, and each row of its Occurrence extension becomes a
specimen that inherits the core row's fields.

:class:`ArchiveWalk` reads the files in order and yields :class:`Step` s: batches of rows
ready for mapping (:class:`~collectomics.ingest.batches.Batch`, with each row's file, line
and the problems found reading it), each with what its outcomes mean for the report, and
barriers where the walk needs every earlier outcome (the core ids of loaded records, before
the extensions). What needs the whole archive stays in the walk: specimen keys and repeats,
pairing GBIF's verbatim rows with their core rows, core id -> record node, an Event core's
events. ``ingest`` runs the steps in-process (:func:`stream_archive`); ``export --shards``
sends the batches to worker processes (:mod:`collectomics.ingest.shards`), which apply the
outcomes in the same order: the two reports are one. Memory stays flat but for the dict of
core id -> node, kept only when extensions need it, and a small buffer of verbatim rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.batches import (
    CHILDREN,
    DWC_NS,
    KEPT,
    MEASURED,
    MEDIA,
    PARENTS,
    RELATIONSHIP,
    SOURCES,
    SPECIMENS,
    Batch,
    Outcome,
    Reject,
    map_rows,
    source_node,
)
from collectomics.ingest.dwca import Archive, FileSpec, Row, RowError
from collectomics.ingest.eml import parse_eml
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.report import Counts, IngestReport, Problem
from collectomics.ingest.sink import BATCH, Sink
from collectomics.iri import Minter, slug
from collectomics.mapping.common import Context
from collectomics.mapping.dwc import canonical_term
from collectomics.mapping.extensions import map_dataset
from collectomics.mapping.specimens import MAPPED_TERMS
from collectomics.mapping.verbatim import compact
from collectomics.model import IRI, DatasetMetadata
from collectomics.store import Store

OCCURRENCE = DWC_NS + "Occurrence"
EVENT = DWC_NS + "Event"
TAXON = DWC_NS + "Taxon"
IDENTIFICATION_TYPE = DWC_NS + "Identification"
RELATIONSHIP_TYPE = DWC_NS + "ResourceRelationship"
#: row types of Darwin Core 1.4 era archives that mean Occurrence
LEGACY_OCCURRENCE = {DWC_NS + "DarwinCore", DWC_NS + "SimpleDarwinRecord"}
MEDIA_TYPES = {
    "http://eol.org/schema/media/Document",
    "http://rs.gbif.org/terms/1.0/Multimedia",
    "http://rs.gbif.org/terms/1.0/Image",
    "http://rs.tdwg.org/ac/terms/Multimedia",
    "http://rs.gbif.org/terms/1.0/Images",
}


def renamer(spec: FileSpec) -> dict[str, str]:
    """term IRI -> the Darwin Core name the mapping reads it by; a term the mapping has no
    name for keeps its IRI (the mapping keeps its values verbatim, see mapping.verbatim)."""
    rename: dict[str, str] = {}
    for field_spec in spec.fields:
        name = canonical_term(field_spec.term)
        if field_spec.term.rsplit("/", 1)[-1] == "illustrative":  # the demo's marker, not DwC
            name = "illustrative"
        rename[field_spec.term] = name or field_spec.term
    return rename


class TermCounts:
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
        """Add up: a term counted by :meth:`row` is mapped when the specimen mapping places it,
        else kept verbatim (an ``...ID`` term too: its value is kept as written)."""
        rename = rename or {}
        for term, n in self.counts.items():
            name = rename.get(term, term)
            self.told[term, name in MAPPED_TERMS] += n
        for (term, mapped), n in sorted(self.told.items()):
            self.split.setdefault(compact(term), [0, 0])[0 if mapped else 1] += n
        self.counts.clear()
        self.told.clear()


def row_type(spec: FileSpec) -> str:
    """The file's row type, Darwin Core 1.4's occurrence types read as Occurrence."""
    return OCCURRENCE if spec.row_type in LEGACY_OCCURRENCE else spec.row_type


def extension_kind(spec: FileSpec, core: FileSpec) -> str | None:
    """What an extension file is to the walk: 'verbatim' (GBIF's verbatim rows of an
    Occurrence core), 'occurrence' (the specimens of an Event or Taxon core), 'media',
    'identification', 'relationship', or None (kept verbatim)."""
    if row_type(spec) == OCCURRENCE:
        return "verbatim" if row_type(core) == OCCURRENCE else "occurrence"
    if spec.row_type in MEDIA_TYPES:
        return MEDIA
    if spec.row_type == IDENTIFICATION_TYPE:
        return "identification"
    if spec.row_type == RELATIONSHIP_TYPE:
        return RELATIONSHIP
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


def check_core(arc: Archive, path: Path) -> str:
    """The archive's core row type; InputError unless Occurrence, Event or Taxon."""
    core_type = row_type(arc.core)
    if core_type not in (EVENT, TAXON, OCCURRENCE):
        raise InputError(
            f"the archive's core is {arc.core.row_type}; Collectomics reads Occurrence, "
            "Event and Taxon cores",
            file=str(path),
        )
    return core_type


def verbatim_terms(
    terms: TermCounts, row: Mapping[str, str], interpreted: Mapping[str, str]
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
    limit)."""
    if limit and waiting > limit:
        raise InputError(
            f"more than max_unpaired_rows ({limit:,}) rows of {verbatim.name} wait for their "
            f"core row in {core.name}: the two files are not in the same order; raise that "
            "setting if the archive is right",
            file=file,
            row=line,
        )


def child_record(parent: dict[str, str], own: dict[str, str]) -> dict[str, str]:
    """An Occurrence extension row with the fields it inherits from its Event or Taxon core
    row: all but the parent's own identifier (``dcterms:identifier`` names the event, not
    the specimen)."""
    return {**{k: v for k, v in parent.items() if k != "identifier"}, **own}


# --------------------------------------------------------------------------- the walk's steps


@dataclass(frozen=True)
class Work:
    """A batch to map, and what its outcomes mean for the report: ``apply(outcomes)`` runs
    after every earlier step's, in the walk's order."""

    batch: Batch
    apply: Callable[[list[Outcome]], None]


@dataclass(frozen=True)
class Note:
    """What the walk found itself (problems, counts): ``action()`` runs in its place among the
    batches' outcomes."""

    action: Callable[[], None]


class Barrier:
    """The walk goes on only once every earlier step has been applied (it needs their outcomes:
    the nodes of the loaded core records)."""


BARRIER = Barrier()

Step = Work | Note | Barrier

#: per core row of an Occurrence core, beside its batch item: (line, core id, problems the
#: pairing found reading ahead, the verbatim row paired, the warning when the record's key
#: repeats, the core row's values)
_Side = tuple[int, str | None, list[Problem], Row | None, str | None, dict[str, str]]


class ArchiveWalk:
    """One archive's walk: :meth:`steps` reads it and yields the steps that map and report it.

    ``report`` is filled as the steps are applied; ``keys`` are the specimen keys of the
    dataset's files walked before this one; ``meta`` is the archive's own EML metadata once
    the steps are done (None if it has none).
    """

    def __init__(
        self,
        arc: Archive,
        path: Path,
        ctx: Context,
        report: IngestReport,
        keys: SpecimenKeys,
        batch_size: int = BATCH,
    ) -> None:
        self.arc, self.path, self.ctx, self.report, self.keys = arc, path, ctx, report, keys
        self.batch_size = batch_size
        self.ids: dict[str, IRI] = {}
        self.meta: DatasetMetadata | None = None

    def where(self, spec: FileSpec) -> str:
        return member_name(self.path, spec)

    def counts(self, spec: FileSpec) -> Counts:
        return self.report.extensions.setdefault(spec.name, Counts())

    def note(self, problems: Sequence[Problem]) -> Note:
        """A step that adds ``problems`` to the report."""
        return Note(lambda: self.report.add(problems))

    def steps(self) -> Iterator[Step]:
        """The archive's steps, in file order: metadata, core, extensions, the reader's own
        problems (read as the rows were: they come last)."""
        arc = self.arc
        core_type = check_core(arc, self.path)
        yield from self.metadata()
        kinds = [(spec, extension_kind(spec, arc.core)) for spec in arc.extensions]
        if core_type in (EVENT, TAXON):
            occurrence = next((s for s, k in kinds if k == "occurrence"), None)
            yield from self.parent_core(occurrence)
            kinds = [(s, k) for s, k in kinds if s is not occurrence]
        else:
            verbatim = next((s for s, k in kinds if k == "verbatim"), None)
            keep_ids = any(k != "verbatim" for _, k in kinds)  # extensions attach by core id
            yield from self.occurrence_core(verbatim, keep_ids)
            kinds = [(s, k) for s, k in kinds if s is not verbatim]
        if kinds:
            yield BARRIER  # every core row's node is known from here on
        for spec, kind in kinds:
            yield from self.extension(spec, kind)
        yield BARRIER
        path = self.path
        yield self.note([p.at(archive_file(path, p.file), p.row) for p in arc.problems])

    # -- metadata -----------------------------------------------------------------------

    def metadata(self) -> Iterator[Step]:
        """The archive's EML (kept as :attr:`meta`) and a GBIF download's per-dataset EMLs."""
        if self.arc.metadata_name:
            self.meta = yield from self._eml(self.arc.metadata_name)
        sources = Batch(SOURCES, str(self.path))
        for name in self.arc.dataset_metadata_names():
            source_meta = yield from self._eml(name)
            if source_meta is not None:
                key = Path(name).stem
                node = source_node(key, self.ctx)
                sources.items.append((key, map_dataset(source_meta, node, self.ctx).triples))
        if sources.items:
            yield Work(sources, _nothing)

    def _eml(self, name: str) -> Generator[Step, None, DatasetMetadata | None]:
        """The EML file ``name``, parsed (``yield from`` gives it); a step with its problem
        when it cannot be read (then None)."""
        file = f"{self.path}!{name}"
        try:
            return parse_eml(self.arc.read_bytes(name), source=file)
        except InputError as exc:
            yield self.note([Problem(file, None, None, f"metadata not read: {exc}", "warning")])
            return None

    # -- cores --------------------------------------------------------------------------

    def occurrence_core(self, verbatim: FileSpec | None, keep_ids: bool) -> Iterator[Step]:
        core = self.arc.core
        file = self.where(core)
        rename = renamer(core)
        terms = TermCounts(self.report, core.name)  # the core's counts first
        pairing = _Pairing(self, verbatim) if verbatim else None
        v_file = pairing.file if pairing else ""
        batch = Batch(SPECIMENS, file, verbatim_file=v_file)
        side: list[_Side] = []
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, None))
                side.append((row.line, None, [], None, None, {}))
            else:
                terms.row(row.values)
                record = {rename[t]: v for t, v in row.values.items() if t in rename}
                paired, found = pairing.take(row.id) if pairing and row.id else (None, [])
                v_item = (paired.line, row.id, paired.values, row.values) if paired else None
                iri, repeated = self.keys.mint(record, file, core.name, row.line)
                batch.items.append((row.line, record, v_item, iri))
                side.append((row.line, row.id, found, paired, repeated, row.values))
            if len(batch.items) >= self.batch_size:
                yield Work(batch, self._specimens_done(side, keep_ids, pairing))
                batch, side = Batch(SPECIMENS, file, verbatim_file=v_file), []
        if batch.items:
            yield Work(batch, self._specimens_done(side, keep_ids, pairing))
        terms.finish(rename)
        if pairing is not None:
            yield from pairing.finish()

    def _specimens_done(
        self, side: list[_Side], keep_ids: bool, pairing: _Pairing | None
    ) -> Callable[[list[Outcome]], None]:
        report = self.report
        file = self.where(self.arc.core)

        def apply(outcomes: list[Outcome]) -> None:
            for (line, core_id, found, paired, repeated, values), outcome in zip(
                side, outcomes, strict=True
            ):
                report.add(outcome.problems)
                if outcome.loaded and outcome.subject is not None:
                    report.loaded += 1
                    report.count_agents(outcome)
                    report.specimens += 1
                    if repeated:
                        report.problem(file, line, None, repeated, "warning")
                    if keep_ids and core_id:
                        self.ids[core_id] = outcome.subject
                else:
                    report.rejected += 1
                if pairing is not None and outcome.verbatim is not None:
                    if outcome.verbatim:
                        pairing.counts.loaded += 1
                        if paired is not None:
                            verbatim_terms(pairing.terms, paired.values, values)
                    elif paired is not None:
                        pairing.unclaimed.append(paired)
                report.add(found)

        return apply

    def parent_core(self, occurrences: FileSpec | None) -> Iterator[Step]:
        """An Event or Taxon core: its rows become event or taxon nodes, and each row of its
        Occurrence extension a specimen that inherits the parent row's fields."""
        core = self.arc.core
        word = "event" if core.row_type == EVENT else "taxon"
        file = self.where(core)
        rename = renamer(core)
        events: dict[str, tuple[IRI, dict[str, str]]] = {}
        terms = TermCounts(self.report, core.name)
        batch = Batch(PARENTS, file, word=word)
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None))
            else:
                for term, value in row.values.items():
                    if value.strip():  # every term of an event or taxon row has its place
                        terms.add(term, True)
                record = {rename[t]: v for t, v in row.values.items() if t in rename}
                key = row.id or record.get(f"{word}ID") or ""
                if not key:
                    batch.items.append((row.line, Reject(None, f"a {word} row without id"), None))
                else:
                    node = self.ctx.minter.mint(word, self.ctx.dataset_id, key)
                    events[key] = (node, record)
                    self.ids[key] = node  # media and other extensions of the core attach to it
                    batch.items.append((row.line, record, node))
            if len(batch.items) >= self.batch_size:
                yield Work(batch, self._core_done)
                batch = Batch(PARENTS, file, word=word)
        if batch.items:
            yield Work(batch, self._core_done)
        terms.finish()
        if occurrences is None:
            return
        counts = self.counts(occurrences)
        occ_file = self.where(occurrences)
        rename = renamer(occurrences)
        occ_terms = TermCounts(self.report, occurrences.name)
        batch = Batch(CHILDREN, occ_file, word=word)
        repeats: list[Problem | None] = []  # per item: the warning when its key repeats
        for row in self.arc.rows(occurrences):
            counts.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, None))
                repeats.append(None)
            elif (parent := events.get(row.id or "")) is None:
                occ_terms.row(row.values)
                reason = f"no {word} with id {row.id!r} in the core"
                batch.items.append((row.line, Reject("coreid", reason), None, None))
                repeats.append(None)
            else:
                occ_terms.row(row.values)
                own = {rename[t]: v for t, v in row.values.items() if t in rename}
                record = child_record(parent[1], own)
                iri, repeated = self.keys.mint(record, occ_file, occurrences.name, row.line)
                batch.items.append((row.line, record, parent[0], iri))
                repeats.append(
                    Problem(occ_file, row.line, None, repeated, "warning") if repeated else None
                )
            if len(batch.items) >= self.batch_size:
                yield Work(batch, self._extension_done(counts, repeats))
                batch, repeats = Batch(CHILDREN, occ_file, word=word), []
        if batch.items:
            yield Work(batch, self._extension_done(counts, repeats))
        occ_terms.finish(rename)

    def _core_done(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.report.add(outcome.problems)
            if outcome.loaded:
                self.report.loaded += 1
            else:
                self.report.rejected += 1

    def _extension_done(
        self, counts: Counts, repeats: list[Problem | None] | None = None
    ) -> Callable[[list[Outcome]], None]:
        """Apply a batch's outcomes; ``repeats``, per row of an Occurrence extension, the
        warning when its specimen key repeats."""

        def apply(outcomes: list[Outcome]) -> None:
            for i, outcome in enumerate(outcomes):
                self.report.add(outcome.problems)
                if outcome.loaded:
                    counts.loaded += 1
                    self.report.count_agents(outcome)
                    if repeats is not None:  # an Occurrence extension: each row a specimen
                        self.report.specimens += 1
                        if (repeated := repeats[i]) is not None:
                            self.report.add([repeated])
                else:
                    counts.rejected += 1

        return apply

    # -- extensions ---------------------------------------------------------------------

    def extension(self, spec: FileSpec, kind: str | None) -> Iterator[Step]:
        """The rows of an extension, each with the node of its core record (read from the
        outcomes applied before the barrier) and its number among that record's rows; media,
        identifications and relationships are mapped, other extensions kept verbatim."""
        counts = self.counts(spec)
        file = self.where(spec)
        apply = self._extension_done(counts)
        numbers: dict[str, int] = {}
        terms = TermCounts(self.report, spec.name) if kind is None else None
        word = slug(Path(spec.name).stem) if kind is None else ""
        kind = kind or KEPT

        def new() -> Batch:
            return Batch(kind, file, word=word, row_type=spec.row_type)

        batch = new()
        for row in self.arc.rows(spec):
            counts.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, 0, None))
            elif (core := self.ids.get(row.id or "")) is None:
                reason = f"no loaded core record with id {row.id!r}"
                batch.items.append((row.line, Reject("coreid", reason), None, 0, None))
            else:
                n = numbers[row.id or ""] = numbers.get(row.id or "", 0) + 1
                related = None
                if kind == RELATIONSHIP:
                    related_id = (row.values.get(DWC_NS + "relatedResourceID") or "").strip()
                    related = self.ids.get(related_id) if related_id else None
                if terms is not None:  # kept verbatim: the measurers' terms are mapped
                    for term, value in row.values.items():
                        if value.strip():
                            terms.add(term, term in MEASURED)
                number: str | int = f"{row.id}-{n}" if kind == MEDIA else n
                batch.items.append((row.line, row.values, core, number, related))
            if len(batch.items) >= self.batch_size:
                yield Work(batch, apply)
                batch = new()
        if batch.items:
            yield Work(batch, apply)
        if terms is not None:
            terms.finish()


def _nothing(outcomes: list[Outcome]) -> None:
    """A batch that has no rows to count (SOURCES, TRIPLES)."""


class _Pairing:
    """GBIF's verbatim rows matched to core rows by id as both files stream by, before the
    core row is mapped: the pair is mapped together. GBIF writes both files in the same order,
    so the buffer stays tiny; rows that come early wait in it for their partner."""

    def __init__(self, walk: ArchiveWalk, spec: FileSpec) -> None:
        self.walk, self.spec = walk, spec
        self.rows = walk.arc.rows(spec)
        self.waiting: dict[str, Row] = {}
        #: verbatim rows paired with a core row that the mapping rejected
        self.unclaimed: list[Row] = []
        self.counts = walk.counts(spec)
        self.file = walk.where(spec)
        self.terms = TermCounts(walk.report, spec.name)

    def take(self, core_id: str) -> tuple[Row | None, list[Problem]]:
        """The verbatim row of ``core_id``, and the problems of rows read on the way."""
        found: list[Problem] = []
        row = self.waiting.pop(core_id, None)
        if row is not None:
            return row, found
        for read in self.rows:
            if (v := self._take(read, found)) is not None:
                if v.id == core_id:
                    return v, found
                self.waiting[v.id or ""] = v
                arc = self.walk.arc
                check_unpaired(
                    arc.limits.max_unpaired_rows, len(self.waiting), arc.core, self.spec,
                    self.file, v.line,
                )  # fmt: skip
        return None, found

    def _take(self, row: Row | RowError, found: list[Problem]) -> Row | None:
        """Count a row read; a RowError is rejected (None), a Row returned."""
        self.counts.read += 1
        if isinstance(row, RowError):
            self.counts.rejected += 1
            found.append(Problem(self.file, row.line, None, row.reason))
            return None
        return row

    def finish(self) -> Iterator[Step]:
        """The verbatim rows left (read after the last core row), then, once every core row's
        outcome is in, the rows that found no loaded core record, rejected in file order."""
        found: list[Problem] = []
        for read in self.rows:
            if (row := self._take(read, found)) is not None:
                self.waiting[row.id or ""] = row
        yield self.walk.note(found)

        def reject() -> None:
            self.terms.finish()
            left = sorted([*self.waiting.values(), *self.unclaimed], key=lambda r: r.line)
            for row in left:
                self.counts.rejected += 1
                self.walk.report.problem(
                    self.file, row.line, "coreid", f"no loaded core record with id {row.id!r}"
                )

        yield Note(reject)


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
    """Map every record of an archive (or single Darwin Core file) into ``sink``, in this
    process, reading it within ``limits``; ``keys``, the specimen keys of the dataset's files
    read before this one.

    Returns the archive's own EML metadata, if it has some, for the dataset node.
    """
    keys = keys or SpecimenKeys(ctx.dataset_id, ctx.minter)
    try:
        with open_source(path, encoding=encoding, limits=limits) as arc:
            walk = ArchiveWalk(arc, path, ctx, report, keys)
            described: set[object] = set()  # source datasets described, once per archive
            for step in walk.steps():
                if isinstance(step, Work):
                    outcomes = map_rows(step.batch, ctx, sink, described)
                    step.apply(outcomes)
                    sink.record_done(len(outcomes))
                elif isinstance(step, Note):
                    step.action()
            sink.flush()
            return walk.meta
    except InputError as exc:
        raise qualified(exc, path) from None


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
    datasets = {d for g in store.graphs() if (d := minter.dataset_of_graph(g)) is not None}
    keys = SpecimenKeys(dataset_id, minter)
    found: dict[IRI, int] = {}
    sampled = 0
    with open_source(path, encoding=encoding, limits=limits) as arc:
        if row_type(arc.core) != OCCURRENCE:
            return None
        rename = renamer(arc.core)
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
                holder = IRI(str(r["d"]))
                if holder != own and holder in datasets:
                    found[holder] = found.get(holder, 0) + 1
    if not found:
        return None
    node, n = max(found.items(), key=lambda item: item[1])
    return node, n, sampled
