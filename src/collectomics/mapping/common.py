"""What every mapper shares: its context, its output, and small literal helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from collectomics.iri import Minter
from collectomics.model import IRI, XSD, BNode, Literal, Term
from collectomics.vocab import COL, OWL, PROV, RDF, RDFS, SCHEMA, SEMAPV, SKOS, SSSOM, STATUS

Triple = tuple[IRI | BNode, IRI, Term]
#: what one agent name as written maps to within a dataset (Context.names): its agent, the
#: triples describing the agent, the name as a literal, and the agent and the name in N-Triples
NameEntry = tuple[IRI, tuple[Triple, ...], Literal, str, str]

_XSD_DECIMAL = XSD + "decimal"
_XSD_INTEGER = XSD + "integer"
_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")

#: names kept in a Context's memo before the older half is dropped (~0.6 kB a name: 40 MB at
#: most). The synthetic benchmark's 100,000 records write 40,339 distinct names; at 32,768 the
#: memo missed 54,183 times instead of 40,339 (0.3-0.7 s of the producer's 12 s of CPU)
NAME_CACHE = 65536


@dataclass
class Problem:
    """Something wrong with one record, row or file: where (file, row, column), why, how bad.

    The one problem type of mapping and ingest. A mapper knows only the column (``file`` is
    empty and ``row`` None until the ingest places it: :meth:`at`); a reader knows the file
    and the row (the line of the file it starts on). ``severity`` 'error': the record or row
    was rejected; 'warning': read anyway, perhaps altered (see the reason). ``count``: how many
    lines a reader's problem covers (it grows while a file is read; reports keep 1).
    """

    file: str
    row: int | None
    column: str | None
    reason: str
    severity: str = "error"
    count: int = field(default=1, compare=False)

    def at(self, file: str, row: int | None) -> Problem:
        """This problem placed in ``file`` at ``row``."""
        return Problem(file, row, self.column, self.reason, self.severity)

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row else "")
        where += f", column {self.column}" if self.column else ""
        return f"{self.severity}: {where}: {self.reason}"


@dataclass
class Mapped:
    """The triples one record maps to, what was wrong with it, and whether it was rejected."""

    triples: list[Triple] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected: str | None = None
    #: the record's main node (the specimen, the person), for duplicate detection
    subject: IRI | None = None
    #: descriptions of nodes that many records share (name-string agents): written once per
    #: dataset by the ingest, keyed by their subject
    once: list[Triple] = field(default_factory=list)
    #: N-Triples text a mapper wrote directly instead of tuples (see Context.ntriples); the
    #: record's triples are ``triples`` and these lines together
    lines: list[str] | None = None
    #: roles played by an unknown agent ('Anon.', 's.coll.'): counted in the ingest report
    unknown_agents: int = 0
    #: roles played by an organisation ('Zoological Survey of India'): counted in the report
    organisation_agents: int = 0

    def add_once(self, s: IRI | BNode, p: IRI, o: Term | None) -> None:
        if o is not None:
            self.once.append((s, p, o))

    def add(self, s: IRI | BNode, p: IRI, o: Term | None) -> None:
        if o is not None:
            self.triples.append((s, p, o))

    def warn(self, column: str | None, reason: str) -> None:
        self.problems.append(Problem("", None, column, reason, "warning"))

    def reject(self, column: str | None, reason: str) -> Mapped:
        self.rejected = reason
        self.problems.append(Problem("", None, column, reason, "error"))
        self.triples.clear()
        self.once.clear()
        if self.lines:
            self.lines.clear()
        return self


@dataclass(frozen=True)
class Context:
    """Where the records come from: the dataset they belong to and the IRI minter.

    ``names`` memoises what one agent name as written maps to within this dataset (its agent
    IRI and the triples describing it); mappers fill it, bounded by :data:`NAME_CACHE`. It
    changes no output, only how often the same name is parsed.
    """

    dataset_id: str
    minter: Minter
    names: dict[str, NameEntry] = field(default_factory=dict, compare=False, repr=False)
    #: the ingest's setting: mappers that can may write the bulk of a record as N-Triples
    #: lines (Mapped.lines) rather than tuples the writer serialises later; same triples
    ntriples: bool = field(default=False, compare=False)

    @cached_property
    def dataset(self) -> IRI:
        return self.minter.dataset(self.dataset_id)


def getter(values: Mapping[str, str], prefix: str = "") -> Callable[[str], str]:
    """A reader of ``values``: ``get(name)`` is the value of ``prefix + name``, stripped, or ""
    when it is missing or empty (how mappers read a row's columns)."""

    def get(name: str) -> str:
        return (values.get(prefix + name) or "").strip()

    return get


def text(value: str | None) -> Literal | None:
    """A plain string literal, or None for empty input."""
    if value is None:
        return None
    value = value.strip()
    return Literal(value) if value else None


def failure(exc: BaseException) -> str:
    """The reason a row is rejected with when a mapper raised on it: a bug of ours, which the
    ingest reports on that row and goes on (the rest of the file loads)."""
    return (
        f"not mapped: Collectomics failed on this row ({type(exc).__name__}: {exc}); "
        "the rest of the file is loaded. Please report it with the row"
    )


def guarded(fn: Callable[..., Mapped], *args: Any) -> Mapped:
    """``fn(*args)``, or the row rejected with :func:`failure` when a mapper raises on it: one
    row, not the whole file."""
    try:
        return fn(*args)
    except Exception as exc:  # a bug of ours, reported on its row
        return Mapped().reject(None, failure(exc))


#: the most digits a number of the graph has before or after its point: a cell such as
#: '1e40018620501' is a valid decimal that would take 40 GB to write out
MAX_DIGITS = 100


def decimal(value: str | None) -> Literal | None:
    """An ``xsd:decimal`` literal; raises ValueError on a non-number."""
    if value is None or not value.strip():
        return None
    if len(value) <= MAX_DIGITS and _PLAIN_DECIMAL.fullmatch(value):  # canonical already
        return Literal(value, _XSD_DECIMAL)
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    exponent = number.as_tuple().exponent
    if number.adjusted() >= MAX_DIGITS or (isinstance(exponent, int) and exponent < -MAX_DIGITS):
        # '1e40018620501' would be written out as 40 billion digits
        raise ValueError(f"not a number with at most {MAX_DIGITS} digits: {value[:40]!r}")
    return Literal(format(number, "f"), XSD + "decimal")


def integer(value: str | None) -> Literal | None:
    """An ``xsd:integer`` literal; raises ValueError on a non-integer (``1983.0`` is accepted)."""
    if value is None or not value.strip():
        return None
    text_ = value.strip()
    if text_.isascii() and text_.isdigit() and len(text_) <= MAX_DIGITS:  # the common case
        return Literal(str(int(text_)), _XSD_INTEGER)
    if re.fullmatch(r"[+-]?\d+(?:\.0+)?", text_):
        whole = text_.split(".", 1)[0]
        if len(whole.lstrip("+-")) <= MAX_DIGITS:
            return Literal(str(int(whole)), XSD + "integer")
        raise ValueError(f"not an integer with at most {MAX_DIGITS} digits: {value[:40]!r}")
    raise ValueError(f"not an integer: {value[:200]!r}")


def date_literal(value: object) -> Literal:
    return Literal(str(value), XSD + "date")


def boolean(value: bool) -> Literal:
    return Literal("true" if value else "false", XSD + "boolean")


def publisher_match(
    out: Mapped, ctx: Context, source: IRI, target: IRI, match: IRI, comment: str
) -> None:
    """An accepted identity match of ``source`` to ``target`` that the data's publisher asserts,
    plus the ``schema:sameAs`` shortcut accepted matches may have. Never ``owl:sameAs``."""
    out.add(match, RDF.type, COL.IdentityMatch)
    out.add(match, OWL.annotatedSource, source)
    out.add(match, OWL.annotatedProperty, SKOS.exactMatch)
    out.add(match, OWL.annotatedTarget, target)
    out.add(match, SSSOM.confidence, Literal("1.0", XSD + "decimal"))
    out.add(match, SSSOM.mapping_justification, SEMAPV.ManualMappingCuration)
    out.add(match, COL.matchStatus, STATUS.accepted)
    out.add(match, PROV.wasAttributedTo, ctx.dataset)
    out.add(match, COL.decidedBy, Literal("publisher"))
    out.add(match, RDFS.comment, Literal(comment))
    out.add(source, SCHEMA.sameAs, target)
