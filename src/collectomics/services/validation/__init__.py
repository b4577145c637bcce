"""Check a graph against the SHACL shapes of the modelling rules (``ontology/shapes.ttl``).

Each constraint of each shape runs as one whole-graph SPARQL query in the store itself
(embedded Oxigraph or a remote ``sparql+http://`` server): no copy of the data is made, and
memory follows the number of violations, not the size of the graph (``translate``). A
constraint the translator cannot express is evaluated by pySHACL, alone, on a copy of the data,
and the report names it. ``engine="pyshacl"`` runs pySHACL on everything: the reference the
tests compare with. The answer is a plain :class:`ValidationReport`: violations break
conformance, warnings and infos do not.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import rdflib
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from collectomics.errors import InputError, StoreError
from collectomics.services.validation.reference import copy_of_store, read_results, validate_graph
from collectomics.services.validation.report import (
    SEVERITIES,
    ValidationReport,
    ValidationResult,
    make_report,
)
from collectomics.services.validation.shapes import (
    SH,
    ShapesError,
    default_shapes_path,
    load_shapes,
)
from collectomics.services.validation.translate import (
    _TARGETS,
    COMPONENT_OF,
    Check,
    compile_shapes,
    narrowed,
)
from collectomics.store import tsv_term

if TYPE_CHECKING:
    from collectomics.store import Store

__all__ = [
    "SEVERITIES",
    "Check",
    "ShapesError",
    "ValidationReport",
    "ValidationResult",
    "default_shapes_path",
    "plan",
    "read_results",
    "validate_store",
    "validate_text",
]

ENGINES = ("store", "pyshacl")

#: Called after each constraint: (constraints done, constraints in all, the one just done,
#: results so far).
Progress = Callable[[int, int, Check, int], None]

#: Our short RDF format names accepted by :func:`validate_text`.
TEXT_FORMATS = ("turtle", "ntriples", "nquads", "trig", "jsonld", "rdfxml")


def plan(shapes_path: str | Path | None = None) -> list[Check]:
    """The constraints a validation runs, each with its query (or why pySHACL runs it)."""
    return compile_shapes(load_shapes(shapes_path))


def validate_store(
    store: Store,
    *,
    graph: str | None = None,
    shapes_path: str | Path | None = None,
    engine: str = "store",
    progress: Progress | None = None,
) -> ValidationReport:
    """Validate the union of all graphs in ``store``, or only the named ``graph``.

    ``engine="store"`` (the default) runs one SPARQL query per constraint in the store;
    ``"pyshacl"`` copies the selection into memory and runs pySHACL (the reference, for
    tests and small graphs)."""
    shapes = load_shapes(shapes_path)
    if engine not in ENGINES:
        raise InputError(f"unknown validation engine {engine!r}", allowed=", ".join(ENGINES))
    if graph is not None and graph not in store.graphs():
        raise InputError("no such graph in the store", graph=graph)
    if engine == "pyshacl":
        return make_report(validate_graph(copy_of_store(store, graph), shapes))
    scope = [graph] if graph is not None else None
    subclasses = store.query(f"ASK {{ ?a <{RDFS.subClassOf}> ?b }}", default_graphs=scope).boolean
    checks = compile_shapes(shapes, subclasses=subclasses)
    results: list[ValidationResult] = []
    slow = [c for c in checks if c.sparql is None]
    predicates = _predicates(store, scope)
    for done, check in enumerate(checks, start=1):
        if check.sparql is not None:
            results.extend(_run(store, check, graph, predicates))
        if progress is not None:
            progress(done, len(checks), check, len(results))
    if slow:
        data = copy_of_store(store, graph)
        results.extend(_fallback(data, shapes, slow))
    return make_report(results, [f"{c.label} ({c.why})" for c in slow])


def validate_text(
    text: str | bytes,
    fmt: str = "turtle",
    *,
    shapes_path: str | Path | None = None,
    engine: str = "store",
) -> ValidationReport:
    """Validate RDF text (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML) without a store
    of one's own (an in-memory one); quad formats are validated as the union of their graphs."""
    from collectomics.store import OxigraphStore

    load_shapes(shapes_path)  # a broken shapes file is said first
    if fmt not in TEXT_FORMATS:
        raise InputError(f"unknown RDF format {fmt!r}", allowed=", ".join(TEXT_FORMATS))
    graph = "urn:collectomics:validate-text"
    with OxigraphStore() as store:
        try:
            store.replace_graph(graph, text.encode("utf-8") if isinstance(text, str) else text, fmt)
        except (StoreError, InputError) as exc:
            raise InputError(f"cannot parse {fmt} data: {exc.message}") from None
        return validate_store(store, shapes_path=shapes_path, engine=engine)


# -- internals -------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"\{[?$](\w+)\}")


def _predicates(store: Store, scope: list[str] | None) -> Callable[[], list[str]]:
    """The predicates of the graphs in ``scope`` (all: None), read once, on the first call: a
    scan of every triple that decodes no term but the distinct predicates (at 2.5 M triples,
    0.7 CPU s, where the dwciri check's test of every triple's predicate took 6.0)."""

    @functools.cache
    def predicates() -> list[str]:
        return [p for (p,) in store.query(_PREDICATES, default_graphs=scope).table()]

    return predicates


_PREDICATES = "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"


def _run(
    store: Store, check: Check, graph: str | None, predicates: Callable[[], list[str]]
) -> Iterator[ValidationResult]:
    """The results of one constraint, read from the store's TSV answer row by row; a query
    over "any predicate of a namespace" asks for the store's own predicates of it
    (:func:`translate.narrowed`)."""
    assert check.sparql is not None
    query = narrowed(check.sparql, predicates)
    answer = store.query(query, default_graphs=[graph] if graph is not None else None)
    with io.BytesIO() as raw:
        # Written by the store's own serializer (pyoxigraph's, in Rust; a remote server's
        # answer re-encoded): the answer is the violations only, so it stays small.
        answer.serialize("tsv", raw)
        lines = raw.getvalue().decode("utf-8").split("\n")
    header = [name.lstrip("?") for name in lines[0].split("\t")] if lines and lines[0] else []
    for line in lines[1:]:
        if not line:
            continue
        row = {
            name: tsv_term(field)
            for name, field in zip(header, line.split("\t"), strict=False)
            if field != ""  # unbound; an empty literal is written ""
        }
        yield _result(check, row)


def _result(check: Check, row: dict[str, str]) -> ValidationResult:
    focus = row["this"]
    if check.templated:
        path = row.get("path", check.path)
        value = row.get("value", focus if check.node_shape else None)
        bound = dict(row)
        bound.update(this=focus)
        if path is not None:
            bound["path"] = path
        if value is not None:
            bound["value"] = value
        messages = sorted(_fill(m, bound) for m in check.messages)
    else:
        path = check.path
        value = row.get("value", focus if check.node_shape else None)
        messages = sorted(check.messages)
    return ValidationResult(
        severity=check.severity,
        focus_node=focus,
        path=path,
        value=value,
        message=messages[0],
        shape=_text(check.shape),
    )


def _fill(message: str, bound: dict[str, str]) -> str:
    """A message template with ``{?var}`` / ``{$var}`` filled in, as pySHACL fills them."""
    return _TEMPLATE.sub(lambda m: bound.get(m.group(1), m.group(0)), message)


def _text(term: Node) -> str:
    return f"_:{term}" if isinstance(term, rdflib.BNode) else str(term)


def _fallback(
    data: rdflib.Graph, shapes: rdflib.Graph, checks: list[Check]
) -> list[ValidationResult]:
    """pySHACL on the constraints the translator could not express, and on nothing else: a
    copy of the shapes keeps only the targets of their owners and only those constraints."""
    keep: dict[Node, set[tuple[str, Node | None]]] = {}
    owners: dict[Node, set[Node]] = {}
    for c in checks:
        keep.setdefault(c.shape, set()).add((c.component, c.parameter))
        owners.setdefault(c.owner, set()).add(c.shape)
    reduced = rdflib.Graph()
    for prefix, namespace in shapes.namespaces():  # pySHACL's own messages use the prefixes
        reduced.bind(prefix, namespace, override=True)
    for triple in shapes:
        s, p, o = triple
        if p in _TARGETS and s not in owners:
            continue
        if s in owners and p == SH.property and o not in owners[s]:
            continue
        component = COMPONENT_OF.get(p)  # type: ignore[call-overload]
        if component is not None and component != "Property" and (s in owners or s in keep):
            wanted = keep.get(s, set())
            if (component, o) not in wanted and (component, None) not in wanted:
                continue
        if (s, RDF.type, SH.NodeShape) in shapes and s in owners and s not in keep:
            if component is not None and component != "Property":
                continue
        reduced.add(triple)
    wanted_shapes = {_text(s) for s in keep}
    return [r for r in validate_graph(data, reduced) if r.shape in wanted_shapes]
