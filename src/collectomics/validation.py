"""Check a graph against the SHACL shapes of the modelling rules (``ontology/shapes.ttl``).

The store (or one named graph of it) is exported through the public
:class:`~collectomics.store.Store` interface, loaded into rdflib and validated with pySHACL.
The answer is a plain :class:`ValidationReport`: violations break conformance, warnings and
infos do not.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rdflib
from rdflib.namespace import RDF

from collectomics.errors import InputError
from collectomics.resources import resource_path

if TYPE_CHECKING:
    from collectomics.store import Store

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")

#: Severities in report order, most serious first.
SEVERITIES = ("Violation", "Warning", "Info")

#: Our short RDF format names (as in collectomics.store) -> rdflib parser names.
_RDFLIB_FORMATS = {
    "turtle": "turtle",
    "ntriples": "nt",
    "nquads": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
    "rdfxml": "xml",
}
_QUAD_FORMATS = {"nquads", "trig"}


class ShapesError(InputError):
    """The SHACL shapes file is missing, cannot be parsed, or is not usable SHACL."""


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
    """The outcome of a validation; ``conforms`` is True iff no result is a Violation."""

    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Warning"]

    def to_text(self) -> str:
        """One tab-separated line per result (severity, focus node, path, message), then a
        summary line."""
        lines = [r.to_text() for r in self.results]
        counts = ", ".join(
            f"{n} {sev.lower()}{'s' if n != 1 else ''}"
            for sev in SEVERITIES
            if (n := sum(r.severity == sev for r in self.results))
        )
        verdict = "conforms" if self.conforms else "does not conform"
        lines.append(f"{verdict}: {counts}" if counts else f"{verdict}: no results")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``conforms``, per-severity counts and the results."""
        return {
            "conforms": self.conforms,
            "counts": {sev: sum(r.severity == sev for r in self.results) for sev in SEVERITIES},
            "results": [r.to_dict() for r in self.results],
        }


def default_shapes_path() -> Path:
    """The bundled shapes file (``ontology/shapes.ttl`` in a checkout)."""
    return resource_path("ontology") / "shapes.ttl"


def validate_store(
    store: Store, *, graph: str | None = None, shapes_path: str | Path | None = None
) -> ValidationReport:
    """Validate the union of all graphs in ``store``, or only the named ``graph``.

    The whole selection is copied into memory (rdflib), so this is for datasets and reviews,
    not for a store of millions of records in one go.
    """
    shapes = _load_shapes(shapes_path)
    if graph is not None and graph not in store.graphs():
        raise InputError("no such graph in the store", graph=graph)
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        default_graphs=[graph] if graph is not None else None,
    )
    data = _PreparedQueries()
    data.parse(data=result.serialize("ntriples") or b"", format="nt")
    return _validate(data, shapes)


def validate_text(
    text: str | bytes, fmt: str = "turtle", *, shapes_path: str | Path | None = None
) -> ValidationReport:
    """Validate RDF text (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML) without a store;
    quad formats are validated as the union of their graphs."""
    shapes = _load_shapes(shapes_path)
    if fmt not in _RDFLIB_FORMATS:
        raise InputError(f"unknown RDF format {fmt!r}", allowed=", ".join(_RDFLIB_FORMATS))
    try:
        if fmt in _QUAD_FORMATS:
            dataset = rdflib.Dataset()
            with warnings.catch_warnings():
                # rdflib's own TriG/N-Quads parsers use its deprecated ConjunctiveGraph API.
                warnings.simplefilter("ignore", DeprecationWarning)
                dataset.parse(data=text, format=_RDFLIB_FORMATS[fmt])
            data = _PreparedQueries()
            for s, p, o, _g in dataset.quads((None, None, None, None)):
                data.add((s, p, o))
        else:
            data = _PreparedQueries()
            data.parse(data=text, format=_RDFLIB_FORMATS[fmt])
    except Exception as exc:  # noqa: BLE001 - rdflib parsers raise anything from IndexError up
        raise InputError(f"cannot parse {fmt} data: {exc}") from None
    return _validate(data, shapes)


# -- internals -------------------------------------------------------------------------------


class _PreparedQueries(rdflib.Graph):
    """A data graph that parses each SPARQL text once.

    pyshacl runs a SPARQL-based constraint once per focus node, and rdflib parses the query
    text at every call: three quarters of a validation's time (60.7 s for a 443-record GBIF
    download; 10.8 s with each text parsed once and the data graph used in place)."""

    def __init__(self) -> None:
        super().__init__()
        self._prepared: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}

    def query(  # type: ignore[override]
        self,
        query_object: Any,
        processor: Any = "sparql",
        result: Any = "sparql",
        initNs: Any = None,  # noqa: N803 - rdflib's names
        initBindings: Any = None,  # noqa: N803
        use_store_provided: bool = True,
        **kwargs: Any,
    ) -> Any:
        if isinstance(query_object, str):
            from rdflib.plugins.sparql import prepareQuery

            key = (query_object, tuple(sorted((initNs or {}).items())))
            prepared = self._prepared.get(key)
            if prepared is None:
                prepared = self._prepared[key] = prepareQuery(query_object, initNs=initNs)
            query_object = prepared
        return super().query(
            query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs
        )


def _load_shapes(shapes_path: str | Path | None) -> rdflib.Graph:
    path = Path(shapes_path) if shapes_path is not None else default_shapes_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ShapesError(f"cannot read shapes file: {exc.strerror}", file=str(path)) from None
    return _parse_shapes(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _parse_shapes(path: str, mtime_ns: int) -> rdflib.Graph:
    # Keyed on the modification time too, so that an edited shapes file is read again.
    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:  # noqa: BLE001 - rdflib parsers raise anything from IndexError up
        raise ShapesError(f"cannot parse shapes file: {exc}", file=path) from None
    if not any((None, RDF.type, kind) in graph for kind in (SH.NodeShape, SH.PropertyShape)):
        raise ShapesError("shapes file declares no sh:NodeShape or sh:PropertyShape", file=path)
    return graph


def _validate(data: rdflib.Graph, shapes: rdflib.Graph) -> ValidationReport:
    import pyparsing
    import pyshacl  # slow to import: only when a validation runs
    from pyshacl.errors import ReportableRuntimeError, ShapeLoadError, ValidationFailure

    try:
        _conforms, results_graph, _text = pyshacl.validate(
            data,
            shacl_graph=shapes,
            advanced=True,
            inference="none",
            allow_warnings=True,
            inplace=True,  # the data graph is this validation's own copy: no second copy
        )
    except (ShapeLoadError, ReportableRuntimeError, ValidationFailure) as exc:
        detail = getattr(exc, "message", None) or str(exc)
        raise ShapesError(f"the shapes cannot be applied: {detail}") from None
    except pyparsing.ParseException as exc:
        raise ShapesError(f"a SPARQL query in the shapes does not parse: {exc}") from None
    results = _read_results(results_graph)
    return ValidationReport(
        conforms=not any(r.severity == "Violation" for r in results), results=results
    )


def _read_results(results_graph: rdflib.Graph) -> list[ValidationResult]:
    results = []
    # Only the report's top-level results; nested sh:detail results are explanations of these.
    for report in results_graph.subjects(RDF.type, SH.ValidationReport):
        for node in results_graph.objects(report, SH.result):
            severity_iri = results_graph.value(node, SH.resultSeverity)
            severity = str(severity_iri).rpartition("#")[2] if severity_iri else "Violation"
            messages = sorted(str(m) for m in results_graph.objects(node, SH.resultMessage))
            component = _term(results_graph.value(node, SH.sourceConstraintComponent))
            focus = results_graph.value(node, SH.focusNode)
            results.append(
                ValidationResult(
                    severity=severity,
                    focus_node=_term(focus) or "",
                    path=_term(results_graph.value(node, SH.resultPath)),
                    value=_term(results_graph.value(node, SH.value)),
                    message=messages[0] if messages else (component or ""),
                    shape=_term(results_graph.value(node, SH.sourceShape)),
                )
            )
    rank = {sev: i for i, sev in enumerate(SEVERITIES)}
    results.sort(
        key=lambda r: (rank.get(r.severity, len(rank)), r.focus_node, r.path or "", r.message)
    )
    return results


def _term(term: Any) -> str | None:
    if term is None:
        return None
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return str(term)


def _show(term: str) -> str:
    return term if term.startswith("_:") else f"<{term}>"
