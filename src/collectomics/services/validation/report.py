"""What a validation found: plain results and a report, the same whichever engine ran."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Severities in report order, most serious first.
SEVERITIES = ("Violation", "Warning", "Info")


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result: what broke which rule, where. Terms are IRIs, ``_:`` blank node labels
    or literal lexical forms."""

    severity: str
    focus_node: str
    path: str | None
    value: str | None
    message: str
    shape: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        """One line: severity, focus node, path, message."""
        path = _show(self.path) if self.path else "-"
        return f"{self.severity}\t{_show(self.focus_node)}\t{path}\t{self.message}"


@dataclass
class ValidationReport:
    """The outcome of a validation; ``conforms`` is True iff no result is a Violation.

    ``fallback`` names each constraint that the store's SPARQL engine could not evaluate and
    pySHACL evaluated instead (empty for the bundled shapes)."""

    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)
    fallback: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Warning"]

    def to_text(self) -> str:
        """One tab-separated line per result (severity, focus node, path, message), a note per
        constraint pySHACL evaluated, then a summary line."""
        lines = [r.to_text() for r in self.results]
        lines += [f"note: evaluated by pySHACL (fallback): {what}" for what in self.fallback]
        counts = ", ".join(
            f"{n} {sev.lower()}{'s' if n != 1 else ''}"
            for sev in SEVERITIES
            if (n := sum(r.severity == sev for r in self.results))
        )
        verdict = "conforms" if self.conforms else "does not conform"
        lines.append(f"{verdict}: {counts}" if counts else f"{verdict}: no results")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``conforms``, per-severity counts and the results (and
        ``fallback`` when pySHACL evaluated some constraint)."""
        answer: dict[str, Any] = {
            "conforms": self.conforms,
            "counts": {sev: sum(r.severity == sev for r in self.results) for sev in SEVERITIES},
            "results": [r.to_dict() for r in self.results],
        }
        if self.fallback:
            answer["fallback"] = list(self.fallback)
        return answer


def make_report(
    results: list[ValidationResult], fallback: list[str] | None = None
) -> ValidationReport:
    """Results sorted in report order (severity, focus node, path, message), and the verdict."""
    rank = {sev: i for i, sev in enumerate(SEVERITIES)}
    results = sorted(
        results,
        key=lambda r: (
            rank.get(r.severity, len(rank)),
            r.focus_node,
            r.path or "",
            r.message,
            r.value or "",
            r.shape or "",
        ),
    )
    return ValidationReport(
        conforms=not any(r.severity == "Violation" for r in results),
        results=results,
        fallback=list(fallback or []),
    )


def _show(term: str) -> str:
    return term if term.startswith("_:") else f"<{term}>"
