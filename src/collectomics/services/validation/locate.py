"""The rows behind violations: ``ingest --validate`` names the file, row and column of the
record that made each violating node.

The graph does not keep row numbers (they would cost a triple per record for every reader), and
mapping is deterministic: the same files give the same IRIs. So the dataset's Darwin Core files
are mapped again into a sink that keeps, for the violating nodes only, the rows whose mapping
wrote them as a subject. That costs one more mapping pass (no store), and only when a
validation found violations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from collectomics.config import ReadLimits
from collectomics.ingest.pipeline import IngestReport, Sink, file_kind
from collectomics.iri import Minter
from collectomics.services.validation.report import ValidationResult

#: rows named per violating node at most (a node shared by many records, a person, say)
MAX_ROWS = 5

_DWC = ("http://rs.tdwg.org/dwc/terms/", "http://rs.tdwg.org/dwc/iri/")
#: terms of ours that a Darwin Core column became
_COLUMN_OF = {
    "https://w3id.org/collectomics/ontology#earliestDate": "eventDate",
    "https://w3id.org/collectomics/ontology#latestDate": "eventDate",
    "https://w3id.org/collectomics/ontology#collectingEvent": "eventID",
    "http://purl.org/dsw/locatedAt": "locationID",
}


@dataclass(frozen=True)
class Located:
    """A violation with the rows (file, line) of the records that wrote its focus node, and
    the Darwin Core column its path came from (None when no single column did)."""

    result: ValidationResult
    rows: tuple[tuple[str, int], ...]
    column: str | None
    #: the dataset's RDF files, when no row wrote the node (RDF statements have no rows)
    files: tuple[str, ...] = ()

    def __str__(self) -> str:
        r = self.result
        where = "; ".join(f"{file}, row {line}" for file, line in self.rows)
        if not where:
            where = ", ".join(self.files) or "(no row found)"
        column = f", column {self.column}" if self.column else ""
        return f"{r.severity.lower()}: {where}{column}: {r.message} ({r.focus_node})"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.result.to_dict(),
            "rows": [{"file": f, "row": line} for f, line in self.rows],
            "column": self.column,
            "files": list(self.files),
        }


def column_of(path: str | None) -> str | None:
    """The Darwin Core column a result path was mapped from, when one was."""
    if path is None:
        return None
    for namespace in _DWC:
        if path.startswith(namespace):
            return path[len(namespace) :]
    return _COLUMN_OF.get(path)


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


class _LocatingSink(Sink):
    """A sink that writes nothing and remembers the rows that wrote the wanted subjects."""

    def __init__(self, wanted: set[str]) -> None:
        super().__init__(_Null(), None)  # type: ignore[arg-type]
        self.wanted = wanted
        self.where: tuple[str, int] | None = None
        self.found: dict[str, list[tuple[str, int]]] = {}

    def record_at(self, file: str, line: int) -> None:
        self.where = (file, line)

    def triples(self, triples: Sequence[tuple[object, object, object]]) -> None:
        if self.where is None:
            return
        for s, _p, _o in triples:
            key = str(s)
            if key in self.wanted:
                rows = self.found.setdefault(key, [])
                if self.where not in rows and len(rows) < MAX_ROWS:
                    rows.append(self.where)

    def flush(self) -> None:
        self._lines.clear()
        self._pending = 0


def locate(
    results: Sequence[ValidationResult],
    report: IngestReport,
    *,
    minter: Minter,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
) -> list[Located]:
    """Each result with the rows of ``report``'s dataset that wrote its focus node."""
    from collectomics.ingest.archive import stream_archive
    from collectomics.ingest.keys import SpecimenKeys
    from collectomics.mapping.common import Context

    wanted = {r.focus_node for r in results if not r.focus_node.startswith("_:")}
    sink = _LocatingSink(wanted)
    kinds = [(Path(name), file_kind(Path(name), encoding, limits)) for name in report.files]
    if wanted:
        ctx = Context(report.dataset, minter, ntriples=True)
        keys = SpecimenKeys(report.dataset, minter)
        scratch = IngestReport(report.dataset, report.graph)
        for path, kind in kinds:
            if kind in ("dwca", "specimens"):
                stream_archive(
                    path, ctx, scratch, sink, encoding=encoding, keys=keys, limits=limits
                )
    rdf = tuple(str(path) for path, kind in kinds if kind == "rdf")
    located = []
    for r in results:
        rows = tuple(sink.found.get(r.focus_node, ()))
        located.append(Located(r, rows, column_of(r.path), () if rows else rdf))
    return located


def write_lines(located: Sequence[Located], out: IO[str], limit: int = 20) -> None:
    """The first ``limit`` located violations, one line each, then how many were left out."""
    for item in located[:limit]:
        out.write(f"  {item}\n")
    if len(located) > limit:
        out.write(f"  ... and {len(located) - limit} more (see --report)\n")
