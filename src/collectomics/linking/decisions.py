"""Reviewed links shipped as a file: each row one decision a reviewer made on a name-string agent.

The file (CSV, UTF-8, a header row) has the columns ``agent`` (the agent's IRI, or its path under
the base, e.g. ``agent/DATASET/c-blanche-b9b4df43``), ``name_as_written``, ``target`` (the IRI the
agent is, e.g. a Wikidata item), ``target_label``, ``decision`` (``accepted``, ``rejected`` or
``proposed``), ``reviewer`` (an ORCID iD, an IRI or path under the base, or a name), ``date`` and
``note``. :func:`load_decisions` records every row as ``collectomics review`` records a decision
(a ``col:IdentityMatch`` in the links graph, ``semapv:ManualMappingCuration``, attributed to the
reviewer, with the accepted links' ``schema:sameAs`` and person nodes), then refreshes the
identity graph. The demo ships its reviewer's decisions this way (``data/demo/links.csv``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from collectomics.analysis import identity
from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.linking.service import (
    STATUSES,
    MatchRecord,
    match_iri,
    read_matches,
    reviewer_iri,
    write_matches,
)
from collectomics.model import IRI, iri_is_valid
from collectomics.store import Store

COLUMNS = (
    "agent",
    "name_as_written",
    "target",
    "target_label",
    "decision",
    "reviewer",
    "date",
    "note",
)
_PLAYS_A_ROLE = (
    "ASK { { ?r <http://www.w3.org/ns/prov#agent> ?a } UNION "
    "{ ?s <http://rs.tdwg.org/dwc/iri/recordedBy> ?a } UNION "
    "{ ?s <http://rs.tdwg.org/dwc/iri/identifiedBy> ?a } }"
)


@dataclass
class DecisionsReport:
    """What :func:`load_decisions` recorded."""

    file: str
    decisions: int = 0
    accepted: int = 0
    identity: identity.IdentityReport | None = None

    def summary(self) -> str:
        return (
            f"{self.file}: {self.decisions} reviewed links recorded ({self.accepted} accepted) "
            "in the links graph"
        )


def _iri(minter: Minter, text: str) -> str:
    text = text.strip()
    return text if ":" in text.split("/", 1)[0] else minter.base + text.lstrip("/")


def _when(text: str, path: Path, row: int) -> str:
    """An xsd:dateTime for a date or date-time as written."""
    try:
        if len(text) == 10:
            date.fromisoformat(text)
            return text + "T00:00:00Z"
        datetime.fromisoformat(text.replace("Z", "+00:00"))
        return text
    except ValueError:
        raise InputError(
            f"{text!r} is not a date (YYYY-MM-DD) or date-time",
            file=str(path),
            row=row,
            column="date",
        ) from None


def _need(path: Path, row: dict[str, str], n: int, column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise InputError("empty value", file=str(path), row=n, column=column)
    return value


def read_decisions(path: Path, minter: Minter) -> list[MatchRecord]:
    """The rows of a decisions file as match records; a bad row is one InputError (file, row,
    column)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a UTF-8 CSV file: {exc}", file=str(path)) from None
    missing = [c for c in COLUMNS if rows and c not in header]
    if missing:
        raise InputError(f"missing columns: {', '.join(missing)}", file=str(path), row=1)
    out: list[MatchRecord] = []
    for n, row in enumerate(rows, start=2):
        decision = _need(path, row, n, "decision")
        if decision not in STATUSES:
            raise InputError(
                f"unknown decision {decision!r}; one of {', '.join(STATUSES)}",
                file=str(path),
                row=n,
                column="decision",
            )
        agent, target = (
            _iri(minter, _need(path, row, n, "agent")),
            _iri(minter, _need(path, row, n, "target")),
        )
        for column, value in (("agent", agent), ("target", target)):
            if not iri_is_valid(value):
                raise InputError(
                    f"{value!r} is not an IRI (nor a path under the base)",
                    file=str(path),
                    row=n,
                    column=column,
                )
        reviewer = _need(path, row, n, "reviewer")
        who, name = reviewer_iri(minter, _iri(minter, reviewer) if "/" in reviewer else reviewer)
        out.append(
            MatchRecord(
                iri=match_iri(minter, agent, target),
                agent=agent,
                agent_name=(row.get("name_as_written") or "").strip(),
                target=target,
                target_label=(row.get("target_label") or "").strip(),
                confidence=1.0,
                status=decision,
                attributed_to=who,
                generated_at=_when(_need(path, row, n, "date"), path, n),
                justification="ManualMappingCuration",
                comment=(row.get("note") or "").strip() or f"{decision} by a reviewer",
                reviewer_name=name,
            )
        )
    return out


def load_decisions(store: Store, minter: Minter, path: Path) -> DecisionsReport:
    """Record the decisions of ``path`` in the links graph (a decision on a match already there
    replaces it), then refresh the identity graph. Every agent must play a role in the store."""
    records = read_decisions(path, minter)
    for n, rec in enumerate(records, start=2):
        if not store.query(_PLAYS_A_ROLE, params={"a": IRI(rec.agent)}).boolean:
            raise InputError(
                f"no agent <{rec.agent}> plays a role in the store", file=str(path), row=n
            )
    matches = read_matches(store, minter)
    for rec in records:
        matches[rec.iri] = rec
    write_matches(store, minter, matches.values())
    report = DecisionsReport(str(path), len(records))
    report.accepted = sum(1 for r in records if r.status == "accepted")
    report.identity = identity.refresh(store, minter)
    return report
