"""The one report of an ingest (and of ``export --shards``): counts that add up, and problems.

Every reader, the archive walk and the pipeline count into an :class:`IngestReport` and place
their problems in it (the one :class:`~collectomics.mapping.common.Problem` type, shared with
the mappers), within the ``max_problems_per_file`` bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from collectomics.config import ReadLimits
from collectomics.mapping.common import Problem

__all__ = ["MAX_REASON_CHARS", "AgentCounts", "Counts", "IngestReport", "Problem"]

#: longest problem reason a report keeps (a reason may quote a value, and values can be long)
MAX_REASON_CHARS = 10000


@dataclass
class Counts:
    """Records of one kind: read == loaded + rejected."""

    read: int = 0
    loaded: int = 0
    rejected: int = 0


class AgentCounts(Protocol):
    """What carries a record's agent counts: a ``Mapped``, or an ``Outcome`` of a batch."""

    @property
    def unknown_agents(self) -> int: ...

    @property
    def organisation_agents(self) -> int: ...


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
        """The report as JSON-ready data (``--report``); each problem as file, row, column,
        reason and severity."""
        out = asdict(self)
        for problem in out["problems"]:
            del problem["count"]  # always 1 in a report: each problem is kept on its own
        return out

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

    def count_agents(self, mapped: AgentCounts) -> None:
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
