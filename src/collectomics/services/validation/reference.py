"""pySHACL, the reference engine: the tests compare the fast path with it, and the fast path
hands it the constraints it cannot express as SPARQL (each alone, see ``validate_graph``).

It works on an rdflib copy of the data, so it is for small graphs and single constraints, not
for a store of millions of records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rdflib
from rdflib.namespace import RDF

from collectomics.services.validation.report import ValidationResult
from collectomics.services.validation.shapes import SH, ShapesError

if TYPE_CHECKING:
    from collectomics.store import Store


class PreparedQueries(rdflib.Graph):
    """A data graph that parses each SPARQL text once.

    pyshacl runs a SPARQL-based constraint once per focus node, and rdflib parses the query
    text at every call: three quarters of a validation's time (60.7 s for a 443-record GBIF
    download; 10.8 s with each text parsed once and the data graph used in place)."""

    def __init__(self) -> None:
        super().__init__()
        self._prepared: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}

    def query(
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


def copy_of_store(store: Store, graph: str | None) -> PreparedQueries:
    """The union of the store's graphs (or one named graph) as an rdflib graph in memory."""
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        default_graphs=[graph] if graph is not None else None,
    )
    data = PreparedQueries()
    data.parse(data=result.serialize("ntriples") or b"", format="nt")
    return data


def validate_graph(data: rdflib.Graph, shapes: rdflib.Graph) -> list[ValidationResult]:
    """pySHACL's results for ``data`` (validated in place: pass a copy) against ``shapes``."""
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
    return read_results(results_graph)


def read_results(results_graph: rdflib.Graph) -> list[ValidationResult]:
    """The top-level results of a SHACL validation report graph (nested ``sh:detail`` results
    explain these and are left out)."""
    results = []
    for report in results_graph.subjects(RDF.type, SH.ValidationReport):
        for node in results_graph.objects(report, SH.result):
            severity_iri = results_graph.value(node, SH.resultSeverity)
            severity = str(severity_iri).rpartition("#")[2] if severity_iri else "Violation"
            messages = sorted(str(m) for m in results_graph.objects(node, SH.resultMessage))
            component = term_text(results_graph.value(node, SH.sourceConstraintComponent))
            focus = results_graph.value(node, SH.focusNode)
            results.append(
                ValidationResult(
                    severity=severity,
                    focus_node=term_text(focus) or "",
                    path=term_text(results_graph.value(node, SH.resultPath)),
                    value=term_text(results_graph.value(node, SH.value)),
                    message=messages[0] if messages else (component or ""),
                    shape=term_text(results_graph.value(node, SH.sourceShape)),
                )
            )
    return results


def term_text(term: Any) -> str | None:
    """An rdflib term as a report shows it: an IRI's text, ``_:label``, a lexical form."""
    if term is None:
        return None
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return str(term)
