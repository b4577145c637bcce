"""Map one batch of an archive's rows: the per-record step of ``ingest`` and ``export --shards``.

The archive walk (:mod:`collectomics.ingest.archive`) reads rows and resolves what needs the
whole archive (specimen keys, core ids, GBIF's verbatim pairs, an Event core's events) into a
:class:`Batch`; :func:`map_rows` maps it, with no I/O and no global state, into a
:class:`Writer`, one :class:`Outcome` per row. ``ingest`` runs it in-process into its
N-Triples :class:`~collectomics.ingest.sink.Sink`; ``export --shards`` runs :func:`map_batch`
(the same step into N-Quads text in the dataset's graph) in worker processes or Dask tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from collectomics.mapping.common import Context, Mapped, Problem, Triple, date_literal, failure
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.dwc import DC_TERMS
from collectomics.mapping.extensions import (
    map_identification,
    map_media,
    map_relationship,
    map_verbatim,
)
from collectomics.mapping.specimens import map_specimen, measurers
from collectomics.mapping.verbatim import keep, keep_all
from collectomics.model import IRI, Literal
from collectomics.vocab import COL, DCTERMS, DWC, DWCIRI, RDF, RDFS, SCHEMA

DWC_NS = "http://rs.tdwg.org/dwc/terms/"

# batch kinds
SPECIMENS = "specimens"  # Occurrence core rows: (line, record, verbatim, specimen IRI)
PARENTS = "parents"  # Event or Taxon core rows: (line, record, node)
CHILDREN = "children"  # an Event/Taxon core's Occurrence extension: (line, record, parent, IRI)
MEDIA = "media"  # extension rows: (line, values, specimen, number, related)
IDENTIFICATION = "identification"
RELATIONSHIP = "relationship"
KEPT = "kept"  # rows of an extension the model has no place for: as MEDIA, the core's node
SOURCES = "sources"  # GBIF source datasets: (dataset key, the triples of its EML)
TRIPLES = "triples"  # already mapped triples (the dataset node, shared descriptions)

#: terms of a kept extension row that become roles (measurers), not verbatim values only
MEASURED = {DWC_NS + "measuredBy", DWC_NS + "measuredByID"}


@dataclass(frozen=True)
class Reject:
    """A row the walk rejected already (it could not be read, or names nothing loaded); it
    travels in its batch so that its problem keeps its place in the report."""

    column: str | None
    reason: str


@dataclass
class Batch:
    """Rows of one file of one archive, read and resolved, for :func:`map_rows`.

    ``items`` per ``kind``: ``SPECIMENS`` ``(line, record, verbatim, iri)`` with ``record`` the row
    renamed to Darwin Core names (or a :class:`Reject`) and ``verbatim`` None or GBIF's verbatim
    row paired with it, ``(line, core id, values, the core row's own values)``; ``PARENTS``
    ``(line, record, node)``; ``CHILDREN`` ``(line, record, parent node, iri)`` with the parent's
    fields merged into ``record``; ``MEDIA``/``IDENTIFICATION``/``RELATIONSHIP`` ``(line, values,
    specimen, number, related)`` with ``values`` keyed by term IRI, ``number`` the row's label
    among its specimen's rows and ``related`` the IRI the walk resolved for
    ``relatedResourceID`` (or None); ``KEPT`` the same with the core record's node;
    ``SOURCES`` ``(dataset key, triples)``; ``TRIPLES`` triples. ``file`` names the file in
    problems; ``verbatim_file`` the verbatim file; ``word`` is 'event' or 'taxon' for the
    Event/Taxon cores and a kept extension's name (``measurementorfact``); ``row_type`` a kept
    extension's row type. ``iri`` is the specimen IRI the walk minted for the row
    (:class:`~collectomics.ingest.keys.SpecimenKeys`).
    """

    kind: str
    file: str
    items: list[Any] = field(default_factory=list)
    verbatim_file: str = ""
    word: str = ""
    row_type: str = ""


class Outcome(NamedTuple):
    """What became of one row: loaded or rejected, its main node, its problems, and for a
    specimen with a paired verbatim row whether that row was loaded (None: no verbatim row).
    A verbatim row that was not loaded (its core row was rejected) is for the walk to report,
    with the verbatim rows that found no core row."""

    loaded: bool
    subject: IRI | None
    problems: list[Problem]
    verbatim: bool | None = None
    unknown_agents: int = 0  # roles played by an unknown agent ('Anon.'): see Mapped
    organisation_agents: int = 0  # roles played by an organisation: see Mapped


class Writer(Protocol):
    """Where :func:`map_rows` puts what it maps (the ingest's Sink, a shard's N-Quads text)."""

    def triples(self, triples: Sequence[Triple]) -> None:
        """Write triples as they are."""

    def mapped(self, mapped: Mapped) -> None:
        """Write a record's triples and lines, and the descriptions of shared nodes
        (``Mapped.once``) not yet written."""

    def record_at(self, file: str, line: int) -> None:
        """Where the specimen record mapped next was read (a hook; see ``Sink.record_at``)."""


def source_node(key: str, ctx: Context) -> IRI:
    """The node of a GBIF source dataset (a record's ``datasetKey``, a download's
    ``dataset/KEY.xml``)."""
    return ctx.minter.mint("dataset", "gbif", key)


def source_dataset(key: str, ctx: Context) -> tuple[IRI, list[Triple]]:
    """The node of a GBIF source dataset and the triples that make it, made even when no EML
    describes it."""
    node = source_node(key, ctx)
    return node, [
        (node, RDF.type, SCHEMA.Dataset),
        (node, DCTERMS.identifier, Literal(key)),
        (node, RDFS.seeAlso, IRI(f"https://www.gbif.org/dataset/{key}")),
        (ctx.dataset, DCTERMS.hasPart, node),
    ]


def parent_triples(node: IRI, cls: IRI, record: dict[str, str], ctx: Context) -> list[Triple]:
    """An Event or Taxon core row as its node: its class, its dataset, its values."""
    out = Mapped()
    out.add(node, RDF.type, cls)  # a dwc:Event is a prov:Activity by the ontology
    out.add(node, SCHEMA.includedInDataSet, ctx.dataset)
    for name, value in record.items():
        if not value.strip():
            continue
        if name in (DWC_NS + "eventID", DWC_NS + "taxonID"):  # the row's own identifier
            out.add(node, DCTERMS.identifier, Literal(value.strip()))
        elif "://" in name:
            keep(out, node, name, value.strip())  # verbatim
        else:
            term = DCTERMS.term(name) if name in DC_TERMS else DWC.term(name)
            out.add(node, term, Literal(value.strip()))
    bounds = date_bounds(record.get("eventDate"))
    if bounds:
        out.add(node, COL.earliestDate, date_literal(bounds[0]))
        out.add(node, COL.latestDate, date_literal(bounds[1]))
    return out.triples


def kept_row(
    values: dict[str, str], core: IRI, row_type: str, kind: str, number: int, ctx: Context
) -> Mapped:
    """A row of an extension the model has no place for: node ``{core}/{kind}/{number}`` of the
    extension's row type, about its core record (``dcterms:subject``), its values verbatim."""
    node = ctx.minter.part(core, kind, str(number))
    out = Mapped()
    out.add(node, RDF.type, IRI(row_type))
    out.add(node, DCTERMS.subject, core)
    kept = {t: v.strip() for t, v in values.items() if v.strip()}
    keep_all(out, node, kept, kept)
    by, by_id = kept.get(DWC_NS + "measuredBy", ""), kept.get(DWC_NS + "measuredByID", "")
    if by or by_id:  # also as measurer roles, like collectors
        measurers(out, ctx, node, core, by, by_id)
    return out


def map_rows(batch: Batch, ctx: Context, out: Writer, described: set[object]) -> list[Outcome]:
    """Map one batch into ``out``: one :class:`Outcome` per row (none for ``SOURCES`` and
    ``TRIPLES``). ``described``: the GBIF source datasets whose node ``out`` has had already
    (this function adds those it describes)."""
    if batch.kind == TRIPLES:
        out.triples(batch.items)
        return []
    if batch.kind == SOURCES:
        for key, triples in batch.items:
            _describe_source(key, ctx, out, described)
            out.triples(triples)
        return []
    step = _STEPS[batch.kind]
    outcomes = []
    for item in batch.items:
        try:
            outcomes.append(step(item, batch, ctx, out, described))
        except Exception as exc:  # one row a mapper fails on is rejected, with
            # the reason, and the ingest goes on: the steps map before they write, so nothing of
            # the row is written (a bug of ours; the message asks for the row)
            outcomes.append(_failed(item, batch, exc))
    return outcomes


def _failed(item: Any, batch: Batch, exc: Exception) -> Outcome:
    """A row a mapper raised on: rejected, naming the error (a paired verbatim row with it)."""
    paired = batch.kind == SPECIMENS and item[2] is not None
    return Outcome(
        False, None, [Problem(batch.file, item[0], None, failure(exc))], False if paired else None
    )


def _describe_source(key: str, ctx: Context, out: Writer, described: set[object]) -> IRI:
    node = source_node(key, ctx)
    if node not in described:
        out.triples(source_dataset(key, ctx)[1])
        described.add(node)
    return node


def _problems(file: str, line: int, mapped: Mapped) -> list[Problem]:
    return [p.at(file, line) for p in mapped.problems]


def _rejected(file: str, line: int, reject: Reject) -> Outcome:
    return Outcome(False, None, [Problem(file, line, reject.column, reject.reason)])


def _loaded(mapped: Mapped, problems: list[Problem], verbatim: bool | None = None) -> Outcome:
    return Outcome(
        True, mapped.subject, problems, verbatim, mapped.unknown_agents, mapped.organisation_agents
    )


def _specimen(
    item: Any, batch: Batch, ctx: Context, out: Writer, described: set[object]
) -> Outcome:
    line, record, verbatim, iri = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    out.record_at(batch.file, line)
    mapped = map_specimen(record, ctx, iri)
    problems = _problems(batch.file, line, mapped)
    subject = mapped.subject
    if mapped.rejected or subject is None:  # its verbatim row, if any, is not loaded either
        return Outcome(False, None, problems, None if verbatim is None else False)
    kept = None if verbatim is None else map_verbatim(verbatim[2], verbatim[3], subject, ctx)
    out.mapped(mapped)  # written only once the row is mapped (map_rows)
    key = record.get("datasetKey", "").strip()
    if key:
        out.triples(
            [(subject, SCHEMA.includedInDataSet, _describe_source(key, ctx, out, described))]
        )
    if kept is None:
        return _loaded(mapped, problems)
    out.mapped(kept)
    return _loaded(mapped, problems, True)


def _parent(item: Any, batch: Batch, ctx: Context, out: Writer, described: set[object]) -> Outcome:
    line, record, node = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    cls = DWC.Event if batch.word == "event" else DWC.Taxon
    out.triples(parent_triples(node, cls, record, ctx))
    return Outcome(True, node, [])


def _child(item: Any, batch: Batch, ctx: Context, out: Writer, described: set[object]) -> Outcome:
    line, record, parent, iri = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    mapped = map_specimen(record, ctx, iri)
    problems = _problems(batch.file, line, mapped)
    if mapped.rejected or mapped.subject is None:
        return Outcome(False, None, problems)
    out.mapped(mapped)
    if batch.word == "event":
        out.triples([(ctx.minter.part(mapped.subject, "event"), DCTERMS.isPartOf, parent)])
    else:
        out.triples([(mapped.subject, DWCIRI.toTaxon, parent)])
    return _loaded(mapped, problems)


def _extension_row(
    item: Any, batch: Batch, ctx: Context, out: Writer, described: set[object]
) -> Outcome:
    line, values, specimen, number, related = item
    if isinstance(values, Reject):
        return _rejected(batch.file, line, values)
    if batch.kind == MEDIA:
        mapped = map_media(values, specimen, ctx, number)
    elif batch.kind == IDENTIFICATION:
        mapped = map_identification(values, specimen, ctx, number)
    else:
        mapped = map_relationship(values, specimen, ctx, number, lambda _id: related)
    out.mapped(mapped)
    return _loaded(mapped, _problems(batch.file, line, mapped))


def _kept(item: Any, batch: Batch, ctx: Context, out: Writer, described: set[object]) -> Outcome:
    line, values, core, number, _ = item
    if isinstance(values, Reject):
        return _rejected(batch.file, line, values)
    mapped = kept_row(values, core, batch.row_type, batch.word, number, ctx)
    out.mapped(mapped)
    return _loaded(mapped, _problems(batch.file, line, mapped))


_STEPS: dict[str, Callable[[Any, Batch, Context, Writer, set[object]], Outcome]] = {
    SPECIMENS: _specimen,
    PARENTS: _parent,
    CHILDREN: _child,
    MEDIA: _extension_row,
    IDENTIFICATION: _extension_row,
    RELATIONSHIP: _extension_row,
    KEPT: _kept,
}


@dataclass
class BatchResult:
    """The N-Quads of one batch, how many lines they are, one :class:`Outcome` per row (none
    for ``SOURCES`` and ``TRIPLES``), and the descriptions of shared nodes, apart (see
    :func:`map_batch`)."""

    text: str
    quads: int
    outcomes: list[Outcome]
    once: list[Triple] = field(default_factory=list)


class _QuadText:
    """A :class:`Writer` into N-Quads text in one graph; the descriptions of shared nodes not
    in ``seen`` are kept apart in ``once``."""

    def __init__(self, graph: IRI, seen: set[object]) -> None:
        self.end = " " + graph.n3() + " .\n"
        self.lines: list[str] = []
        self.blocks: list[str] = []  # several lines each
        self.once: list[Triple] = []
        self.seen = seen

    def triples(self, triples: Sequence[Triple]) -> None:
        end = self.end
        self.lines.extend(f"{s.n3()} {p.n3()} {o.n3()}{end}" for s, p, o in triples)

    def mapped(self, mapped: Mapped) -> None:
        self.triples(mapped.triples)
        if mapped.lines:  # blocks of lines "s p o .\n" (a raw newline ends a line, never a literal)
            self.blocks.extend(block.replace(" .\n", self.end) for block in mapped.lines)
        if mapped.once:
            fresh = [t for t in mapped.once if t[0] not in self.seen]
            self.once.extend(fresh)
            self.seen.update(t[0] for t in fresh)

    def record_at(self, file: str, line: int) -> None:
        pass


def map_batch(batch: Batch, ctx: Context, described: set[object] | None = None) -> BatchResult:
    """:func:`map_rows` into N-Quads in ``ctx``'s dataset graph. Pure: no I/O.

    The descriptions of nodes that many rows share (``Mapped.once``: name-string agents) are not
    in the text: they come back in ``once``, each node's from the first row of the batch that
    describes it, skipping nodes in ``described`` (which this function then updates). The
    caller keeps the first description of each node for the whole dataset and writes it, as
    ``ingest`` does: one name written two ways can give one agent two descriptions, and ingest
    keeps the one it met first. (A GBIF source dataset's description is the same from every row:
    it is in the text, once per batch or per ``described``.)
    """
    seen: set[object] = set() if described is None else described
    out = _QuadText(ctx.minter.graph(ctx.dataset_id), seen)
    outcomes = map_rows(batch, ctx, out, seen)
    text = "".join(out.lines) + "".join(out.blocks)
    quads = len(out.lines) + sum(b.count("\n") for b in out.blocks)
    return BatchResult(text, quads, outcomes, out.once)
