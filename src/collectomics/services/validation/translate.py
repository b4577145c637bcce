"""SHACL shapes to whole-graph SPARQL: one SELECT per constraint, over all focus nodes at once.

pySHACL asks one question per focus node in rdflib's Python engine; here each constraint of
each shape becomes one query that the store's own engine answers for every focus node together,
returning only the violating nodes with their values (so memory follows the answer, not the
graph). Covered: the targets (``sh:targetClass``, ``targetNode``, ``targetSubjectsOf``,
``targetObjectsOf``, SPARQL targets), predicate and SPARQL-expressible paths, the SHACL Core
value constraints (class, datatype, nodeKind, ranges, lengths, pattern, languageIn, in,
hasValue), cardinalities, ``lessThan(OrEquals)``, ``and``/``or``/``xone``/``not``/``node`` over
shapes whose own constraints are expressible, and SPARQL-based constraints. Anything else (or
a constraint without ``sh:message``, whose wording only pySHACL knows) becomes a :class:`Check`
without a query, which the caller hands to pySHACL alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count

import rdflib
from rdflib import BNode, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.term import Node

from collectomics.services.validation.reference import term_text
from collectomics.services.validation.shapes import SH

#: Shape predicates -> the constraint component they are parameters of (SHACL Core names).
COMPONENT_OF: dict[URIRef, str] = {
    SH["class"]: "Class",
    SH.datatype: "Datatype",
    SH.nodeKind: "NodeKind",
    SH.minCount: "MinCount",
    SH.maxCount: "MaxCount",
    SH.minExclusive: "MinExclusive",
    SH.minInclusive: "MinInclusive",
    SH.maxExclusive: "MaxExclusive",
    SH.maxInclusive: "MaxInclusive",
    SH.minLength: "MinLength",
    SH.maxLength: "MaxLength",
    SH.pattern: "Pattern",
    SH.flags: "Pattern",
    SH.languageIn: "LanguageIn",
    SH.uniqueLang: "UniqueLang",
    SH.equals: "Equals",
    SH.disjoint: "Disjoint",
    SH.lessThan: "LessThan",
    SH.lessThanOrEquals: "LessThanOrEquals",
    SH["not"]: "Not",
    SH["and"]: "And",
    SH["or"]: "Or",
    SH.xone: "Xone",
    SH.node: "Node",
    SH.property: "Property",
    SH.qualifiedValueShape: "QualifiedValueShape",
    SH.qualifiedMinCount: "QualifiedValueShape",
    SH.qualifiedMaxCount: "QualifiedValueShape",
    SH.qualifiedValueShapesDisjoint: "QualifiedValueShape",
    SH.closed: "Closed",
    SH.ignoredProperties: "Closed",
    SH.hasValue: "HasValue",
    SH["in"]: "In",
    SH.sparql: "SPARQL",
}
#: Components with one constraint per value of their parameter (two sh:class, two constraints).
_PER_VALUE = {
    "Class",
    "Datatype",
    "Node",
    "Not",
    "Equals",
    "Disjoint",
    "LessThan",
    "LessThanOrEquals",
    "SPARQL",
}
#: How :meth:`_Translator._targets` begins its subquery of the focus nodes.
_FOCUS_HEAD = "{ SELECT DISTINCT ?this WHERE "
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
_SUBCLASS_OF = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
#: Datatypes whose lexical forms SPARQL can check with a cast (ill-formed: the cast fails), each
#: with the shape of its lexical form (XSD 1.1), tested first: a cast of an ill-formed form is an
#: error that Oxigraph turns into "unbound" but Virtuoso into a failed query ("Invalid integer
#: value converting 'first'"), and Virtuoso casts some ill-formed dates ("1900-13-45"). What the
#: pattern cannot say (a 30th of February) is left to the cast.
_YEAR = "-?[0-9]{4,}"
_MONTH = "(0[1-9]|1[0-2])"
_DAY = "(0[1-9]|[12][0-9]|3[01])"
_TIME = "(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?|24:00:00(\\.0+)?)"
_TZ = "(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_DECIMAL = "[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)"
_DURATION_TIME = "(T([0-9]+H)?([0-9]+M)?([0-9]+(\\.[0-9]+)?S)?)?"
_LEXICAL = {
    "boolean": "(true|false|1|0)",
    "integer": "[+-]?[0-9]+",
    "decimal": _DECIMAL,
    "double": f"({_DECIMAL}([eE][+-]?[0-9]+)?|[+-]?INF|NaN)",
    "float": f"({_DECIMAL}([eE][+-]?[0-9]+)?|[+-]?INF|NaN)",
    "date": f"{_YEAR}-{_MONTH}-{_DAY}{_TZ}",
    "dateTime": f"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_TZ}",
    "time": f"{_TIME}{_TZ}",
    "gYear": f"{_YEAR}{_TZ}",
    "gYearMonth": f"{_YEAR}-{_MONTH}{_TZ}",
    "gMonth": f"--{_MONTH}{_TZ}",
    "gMonthDay": f"--{_MONTH}-{_DAY}{_TZ}",
    "gDay": f"---{_DAY}{_TZ}",
    # (no look-ahead in SPARQL's regular expressions: "P" and "PT" alone are left to the cast)
    "duration": f"-?P([0-9]+Y)?([0-9]+M)?([0-9]+D)?{_DURATION_TIME}",
    "dayTimeDuration": f"-?P([0-9]+D)?{_DURATION_TIME}",
    "yearMonthDuration": "-?P([0-9]+Y)?([0-9]+M)?",
}
_CASTABLE = {str(rdflib.XSD[name]): f"^{form}$" for name, form in _LEXICAL.items()}
#: The numeric datatypes of XPath (their values compare with one another).
_NUMERIC = {
    rdflib.XSD[name]
    for name in (
        "integer decimal float double nonPositiveInteger negativeInteger long int short byte "
        "nonNegativeInteger unsignedLong unsignedInt unsignedShort unsignedByte positiveInteger"
    ).split()
}
_NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isIRI({v}) || isBlank({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}
_COMPARE = {
    "MinExclusive": ">",
    "MinInclusive": ">=",
    "MaxExclusive": "<",
    "MaxInclusive": "<=",
}
_SELECT_HEAD = re.compile(
    r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?(.*?)\s*(?:WHERE\b|\{)", re.I | re.S
)


_VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")


def _pattern(select: str) -> str | None:
    """A SELECT's graph pattern (what follows ``WHERE``) with its whitespace collapsed and its
    variables numbered by first appearance, ``$this`` first: two queries with the same pattern
    under other variable names give the same text. ``None`` for anything beyond one plain
    group (a solution modifier, a subquery, a second WHERE): those are never compared."""
    _head, sep, body = select.partition("WHERE")
    if not sep or "WHERE" in body or "SELECT" in body.upper():
        return None
    body = body.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    names: dict[str, str] = {"this": "?v0"}

    def number(m: re.Match[str]) -> str:
        return names.setdefault(m.group(1), f"?v{len(names)}")

    return " ".join(_VARIABLE.sub(number, body).split())


#: A comment line the translator writes at the start of a SELECT's group for each variable that
#: stands only for predicates of one namespace (:func:`predicate_namespaces`). As written it is
#: a comment, so the query means what the shape says; the validator replaces it with
#: ``VALUES ?p { ... }`` of the store's own predicates in that namespace (:func:`narrowed`), so
#: that the store reads those predicates' triples instead of every triple.
_NARROW = "# collectomics:predicates ?{var} {namespace}\n"
_NARROW_LINE = re.compile(r"^# collectomics:predicates \?(\w+) (\S+)\n", re.M)


def predicate_namespaces(select: str, prologue: str = "") -> dict[str, str]:
    """The variables of a SELECT that stand only for predicates and that a conjunct of its
    FILTER, ``STRSTARTS(STR(?p), "NAMESPACE")``, keeps to one namespace: ``{name: NAMESPACE}``.

    Only for a query whose pattern is one basic graph pattern under one FILTER (the shape "any
    ``dwciri:`` term with a literal"), where binding ``?p`` beforehand to the store's predicates
    that pass the test changes no answer; for anything else (OPTIONAL, UNION, a subquery, the
    test under ``||``, the variable also a subject or object), none."""
    try:
        node = translateQuery(parseQuery(prologue + select)).algebra
    except Exception:  # pyparsing's own exceptions; such a query is simply not narrowed
        return {}
    while node.name in ("SelectQuery", "Project", "Distinct", "Reduced"):
        node = node.p
    if node.name != "Filter" or node.p.name != "BGP":
        return {}
    expr = node.expr
    conjuncts = [expr.expr, *expr.other] if expr.name == "ConditionalAndExpression" else [expr]
    found: dict[str, str] = {}
    for c in conjuncts:
        if getattr(c, "name", None) != "Builtin_STRSTARTS":
            continue
        arg = c.arg1
        if (
            getattr(arg, "name", None) == "Builtin_STR"
            and isinstance(arg.arg, Variable)
            and isinstance(c.arg2, Literal)
            and c.arg2.datatype is None
            and c.arg2.language is None
            and re.fullmatch(r"[^\s\"<>{}]+", str(c.arg2))
        ):
            found[str(arg.arg)] = str(c.arg2)
    triples = node.p.triples
    return {
        v: ns
        for v, ns in found.items()
        if any(t[1] == Variable(v) for t in triples)
        and not any(Variable(v) in (t[0], t[2]) for t in triples)
    }


def narrowed(sparql: str, predicates: Callable[[], list[str]]) -> str:
    """``sparql`` with each of the translator's predicate comments replaced by ``VALUES`` of
    the predicates (IRIs) that ``predicates()`` lists and that start with its namespace (none:
    ``VALUES ?p { }``, no answers, as no triple could pass the test). ``predicates`` is called
    only when there is such a comment."""
    if not _NARROW_LINE.search(sparql):
        return sparql

    def values(m: re.Match[str]) -> str:
        iris = " ".join(f"<{p}>" for p in predicates() if p.startswith(m.group(2)))
        return f"VALUES ?{m.group(1)} {{ {iris} }}\n"

    return _NARROW_LINE.sub(values, sparql)


class Inexpressible(Exception):
    """A shape or constraint the translator cannot express as SPARQL; the reason says what."""


@dataclass(frozen=True)
class Check:
    """One constraint of one shape on the focus nodes of one target-bearing shape.

    ``sparql`` selects the violations: ``?this`` and, where they apply, ``?path``, ``?value``
    and the variables a message template names. None when the fast path cannot express the
    constraint (``why`` says why): then pySHACL evaluates it alone."""

    owner: Node
    shape: Node
    component: str
    parameter: Node | None
    severity: str
    messages: tuple[str, ...]
    path: str | None
    node_shape: bool
    sparql: str | None
    why: str | None = None

    @property
    def label(self) -> str:
        """What the constraint is, for progress lines and fallback notes."""
        name = "sparql" if self.component == "SPARQL" else self.component
        return f"{_short(self.shape)} sh:{name[:1].lower()}{name[1:]}"

    @property
    def templated(self) -> bool:
        return self.component == "SPARQL"


def compile_shapes(shapes: rdflib.Graph, *, subclasses: bool = True) -> list[Check]:
    """Every constraint of every shape that has focus nodes, in the shapes file's terms.

    ``subclasses=False`` says the data holds no ``rdfs:subClassOf``: an instance of a class is
    then a subject of ``rdf:type`` alone, a plain triple pattern instead of a path (cheaper)."""
    return list(_Translator(shapes, subclasses=subclasses).checks())


class _Translator:
    def __init__(self, graph: rdflib.Graph, *, subclasses: bool = True) -> None:
        self.g = graph
        self.instance_of = _SUBCLASS_OF if subclasses else f"<{RDF.type}>"
        self._fresh = count()
        declared: dict[str, str] = {}
        for decl in graph.objects(None, SH.declare):
            prefix, namespace = graph.value(decl, SH.prefix), graph.value(decl, SH.namespace)
            if prefix is not None and namespace is not None:
                declared[str(prefix)] = str(namespace)
        self.prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(declared.items()))

    # -- which shapes, which constraints ---------------------------------------------------

    def checks(self) -> Iterator[Check]:
        owners = sorted(
            {s for t in _TARGETS for s in self.g.subjects(t, None)} | self._implicit_classes(),
            key=str,
        )
        for owner in owners:
            if self._deactivated(owner):
                continue
            try:
                targets = self._targets(owner)
                why = None
            except Inexpressible as exc:
                targets, why = "", f"its targets: {exc}"
            if (owner, SH.path, None) in self.g:
                yield from self._shape_checks(owner, owner, targets, why)
                continue
            yield from self._shape_checks(owner, owner, targets, why)
            for prop in sorted(self.g.objects(owner, SH.property), key=str):
                if not self._deactivated(prop):
                    yield from self._shape_checks(owner, prop, targets, why)

    def _implicit_classes(self) -> set[Node]:
        shapes = set(self.g.subjects(RDF.type, SH.NodeShape)) | set(
            self.g.subjects(RDF.type, SH.PropertyShape)
        )
        classes = set(self.g.subjects(RDF.type, RDFS.Class)) | set(
            self.g.subjects(RDF.type, OWL.Class)
        )
        return shapes & classes

    def _deactivated(self, shape: Node) -> bool:
        flag = self.g.value(shape, SH.deactivated)
        return isinstance(flag, Literal) and flag.toPython() is True

    def _components(self, shape: Node) -> list[tuple[str, Node | None]]:
        """(component, parameter value) pairs of a shape, one per constraint."""
        found: dict[tuple[str, Node | None], None] = {}
        for pred, obj in self.g.predicate_objects(shape):
            component = COMPONENT_OF.get(pred)  # type: ignore[call-overload]
            if component is None:
                continue
            if component in _PER_VALUE:
                found[(component, obj)] = None
            elif component == "Property":
                continue  # a node shape's property shapes are checks of their own
            elif component == "QualifiedValueShape" and pred != SH.qualifiedValueShape:
                continue
            elif component == "Pattern" and pred != SH.pattern:
                continue
            elif component == "Closed" and pred != SH.closed:
                continue
            else:
                found[(component, None)] = None
        if (shape, SH.path, None) in self.g and (shape, SH.property, None) in self.g:
            found[("Property", None)] = None  # property shapes nested in a property shape
        return sorted(found, key=lambda c: (c[0], str(c[1])))

    def _shape_checks(
        self, owner: Node, shape: Node, targets: str, why: str | None
    ) -> Iterator[Check]:
        is_property = (shape, SH.path, None) in self.g
        severity = str(self.g.value(shape, SH.severity) or SH.Violation).rpartition("#")[2]
        own = tuple(str(m) for m in self.g.objects(shape, SH.message))
        path_node = self.g.value(shape, SH.path)
        for component, parameter in self._components(shape):
            messages = own
            if component == "SPARQL" and parameter is not None:
                if self._deactivated(parameter):
                    continue
                messages = own + tuple(
                    m
                    for m in (str(x) for x in self.g.objects(parameter, SH.message))
                    if m not in own
                )
            sparql, reason = None, why
            if reason is None and not messages:
                reason = "no sh:message (pySHACL words its own)"
            if reason is None:
                try:
                    if is_property:
                        # Every subject of the path is a focus node when the owner targets the
                        # subjects of that very predicate: a check that starts from the path's
                        # triples then needs no join with the focus nodes (one scan, not two).
                        covered = path_node in set(self.g.objects(owner, SH.targetSubjectsOf))
                        sparql = self._property_query(
                            shape, component, parameter, targets, covered=covered
                        )
                    else:
                        covered = component == "SPARQL" and self._target_is_pattern(
                            owner, parameter
                        )
                        sparql = self._node_query(
                            shape, component, parameter, "" if covered else targets
                        )
                except Inexpressible as exc:
                    reason = str(exc)
            yield Check(
                owner=owner,
                shape=shape,
                component=component,
                parameter=parameter,
                severity=severity,
                messages=messages,
                path=term_text(path_node) if is_property else None,
                node_shape=not is_property,
                sparql=sparql,
                why=reason if sparql is None else None,
            )

    # -- targets and paths -------------------------------------------------------------------

    def _targets(self, shape: Node) -> str:
        """A group pattern binding ``?this`` to each focus node of ``shape`` once."""
        parts = []
        classes = list(self.g.objects(shape, SH.targetClass))
        if shape in self._implicit_classes():
            classes.append(shape)
        for cls in classes:
            parts.append(f"?this {self.instance_of} {self._n3(cls)} .")
        nodes = [self._n3(n) for n in self.g.objects(shape, SH.targetNode)]
        if nodes:
            parts.append(f"VALUES ?this {{ {' '.join(nodes)} }}")
        for prop in self.g.objects(shape, SH.targetSubjectsOf):
            parts.append(f"?this {self._n3(prop)} ?_t .")
        for prop in self.g.objects(shape, SH.targetObjectsOf):
            parts.append(f"?_t {self._n3(prop)} ?this .")
        for target in self.g.objects(shape, SH.target):
            select = self.g.value(target, SH.select)
            if (target, RDF.type, SH.SPARQLTarget) not in self.g or select is None:
                raise Inexpressible("a sh:target other than a sh:SPARQLTarget")
            parts.append("{ " + self._inner_select(str(select)) + " }")
        union = " UNION ".join("{ " + p + " }" for p in parts)
        return f"{_FOCUS_HEAD}{{ {union} }} }}"

    def _target_is_pattern(self, owner: Node, constraint: Node | None) -> bool:
        """Whether a SPARQL target of ``owner`` selects exactly the ``$this`` of the constraint's
        own pattern (the same graph pattern, variables renamed): every node the constraint
        reports is then a focus node, so its query needs no join with the focus nodes (one scan
        of the data, not two and a join)."""
        select = self.g.value(constraint, SH.select)
        if select is None:
            return False
        mine = _pattern(str(select))
        for target in self.g.objects(owner, SH.target):
            body = self.g.value(target, SH.select)
            if (target, RDF.type, SH.SPARQLTarget) in self.g and body is not None:
                if mine is not None and _pattern(str(body)) == mine:
                    return True
        return False

    def _path(self, node: Node | None) -> str:
        """A SHACL path as a SPARQL property path."""
        if isinstance(node, URIRef):
            return self._n3(node)
        if isinstance(node, BNode):
            if (node, RDF.first, None) in self.g:
                items = [self._path(p) for p in Collection(self.g, node)]
                return "(" + "/".join(items) + ")"
            for pred, form in (
                (SH.inversePath, "^({})"),
                (SH.zeroOrMorePath, "({})*"),
                (SH.oneOrMorePath, "({})+"),
                (SH.zeroOrOnePath, "({})?"),
            ):
                inner = self.g.value(node, pred)
                if inner is not None:
                    return form.format(self._path(inner))
            alternatives = self.g.value(node, SH.alternativePath)
            if alternatives is not None:
                return "(" + "|".join(self._path(p) for p in Collection(self.g, alternatives)) + ")"
        raise Inexpressible("a path that is not a SHACL path")

    # -- one query per constraint -------------------------------------------------------------

    def _property_query(
        self,
        shape: Node,
        component: str,
        parameter: Node | None,
        targets: str,
        *,
        covered: bool = False,
    ) -> str:
        path = self._path(self.g.value(shape, SH.path))
        value = self._value_test(shape, component, parameter, "?value")
        # for checks that only look at focus nodes with a value: the join, unless covered
        valued = "" if covered else targets
        if value is not None:
            return (
                f"SELECT DISTINCT ?this ?value WHERE {{ {valued} ?this {path} ?value . "
                f"FILTER (!{value}) }}"
            )
        if component in ("MinCount", "MaxCount"):
            limit = self._integer(shape, SH.minCount if component == "MinCount" else SH.maxCount)
            if component == "MinCount" and limit == 0:
                return "SELECT ?this WHERE { FILTER (false) }"
            if component == "MinCount" and limit == 1:
                return (
                    f"SELECT ?this WHERE {{ {targets} FILTER NOT EXISTS {{ ?this {path} ?_v }} }}"
                )
            if component == "MaxCount" and limit == 0:
                return f"SELECT DISTINCT ?this WHERE {{ {valued} ?this {path} ?_v . }}"
            if component == "MaxCount" and limit == 1:
                # two different values: a self-join on the subject, no grouping of all nodes
                return (
                    f"SELECT DISTINCT ?this WHERE {{ {valued} ?this {path} ?_v . "
                    f"?this {path} ?_w . FILTER (!sameTerm(?_v, ?_w)) }}"
                )
            optional = (
                f"{targets} OPTIONAL {{ ?this {path} ?_v }}"
                if component == "MinCount"
                else f"{valued} ?this {path} ?_v ."
            )
            test = "<" if component == "MinCount" else ">"
            return (
                f"SELECT ?this WHERE {{ {{ SELECT ?this (COUNT(DISTINCT ?_v) AS ?_n) WHERE "
                f"{{ {optional} }} GROUP BY ?this }} FILTER (?_n {test} {limit}) }}"
            )
        if component in ("LessThan", "LessThanOrEquals"):
            op = "<" if component == "LessThan" else "<="
            other = self._n3(parameter)
            same_kind = (
                "(DATATYPE(?value) = DATATYPE(?_o) || (isNumeric(?value) && isNumeric(?_o)))"
            )
            return (
                f"SELECT ?this ?value WHERE {{ {{ SELECT DISTINCT ?this ?value ?_o WHERE "
                f"{{ {valued} ?this {path} ?value . ?this {other} ?_o . "
                f"FILTER (!COALESCE(IF({same_kind}, ?value {op} ?_o, false), false)) }} }} }}"
            )
        if component == "HasValue":
            wanted = self._n3(self.g.value(shape, SH.hasValue))
            return (
                f"SELECT ?this WHERE {{ {targets} FILTER NOT EXISTS {{ ?this {path} {wanted} }} }}"
            )
        if component == "SPARQL":
            return self._sparql_query(parameter, targets, path)
        raise Inexpressible(f"sh:{component[:1].lower()}{component[1:]} on a property shape")

    def _node_query(self, shape: Node, component: str, parameter: Node | None, targets: str) -> str:
        if component == "SPARQL":
            return self._sparql_query(parameter, targets, None)
        value = self._value_test(shape, component, parameter, "?this")
        if value is None:
            raise Inexpressible(f"sh:{component[:1].lower()}{component[1:]} on a node shape")
        return f"SELECT ?this WHERE {{ {targets} FILTER (!{value}) }}"

    def _sparql_query(self, constraint: Node | None, targets: str, path: str | None) -> str:
        select = self.g.value(constraint, SH.select)
        if select is None:
            raise Inexpressible("a sh:sparql constraint without sh:select (ASK validators)")
        text = str(select)
        if path is not None:
            text = re.sub(r"\$PATH\b", path, text)
        inner = self._inner_select(text)
        if not targets:
            return f"{self.prologue}SELECT * WHERE {{ {{ {inner} }} }}"
        # The constraint's rows whose $this is a focus node: a test of each row (its rows are
        # the violations, few), not a join with every focus node. Virtuoso 7 also loses rows
        # when it joins two DISTINCT subqueries (a second collector of one event, reported
        # apart by pySHACL and Oxigraph, was dropped).
        assert targets.startswith(_FOCUS_HEAD) and targets.endswith(" }"), targets
        focus = targets[len(_FOCUS_HEAD) : -2]
        return f"{self.prologue}SELECT * WHERE {{ {{ {inner} }} FILTER EXISTS {focus} }}"

    def _inner_select(self, text: str) -> str:
        """A SELECT of the shapes that binds ``$this``, ready to join on ``?this`` (the same
        variable in SPARQL): its focus nodes then come from the join, as pre-binding gives."""
        if re.search(r"\$(currentShape|shapesGraph)\b", text):
            raise Inexpressible("a SPARQL query naming $currentShape or $shapesGraph")
        if re.search(r"^\s*(PREFIX|BASE)\b", text, re.I | re.M):
            raise Inexpressible("a SPARQL query with its own PREFIX or BASE")
        head = _SELECT_HEAD.search(text)
        if head is None:
            raise Inexpressible("a SPARQL query that is not a SELECT")
        projection = head.group(1)
        if projection.strip() != "*" and not re.search(r"[?$]this\b", projection):
            raise Inexpressible("a SPARQL query that does not select $this")
        narrow = predicate_namespaces(text, self.prologue)
        if narrow:  # after the group's opening brace: the first one past the projection
            at = text.index("{", head.end(1)) + 1
            lines = "".join(_NARROW.format(var=v, namespace=ns) for v, ns in narrow.items())
            text = f"{text[:at]}\n{lines}{text[at:]}"
        return text.strip()

    # -- value tests ---------------------------------------------------------------------------

    def _value_test(
        self, shape: Node, component: str, parameter: Node | None, v: str
    ) -> str | None:
        """A SPARQL expression true when the value node ``v`` satisfies one value-type
        constraint (never an error: unknown comparisons are false), None if the component
        is not about single value nodes."""
        g = self.g
        if component == "Class":
            return f"EXISTS {{ {v} {self.instance_of} {self._n3(parameter)} }}"
        if component == "Datatype":
            assert parameter is not None
            test = f"isLiteral({v}) && DATATYPE({v}) = {self._n3(parameter)}"
            form = _CASTABLE.get(str(parameter))
            if form is not None:
                cast = f"COALESCE(isLiteral({self._n3(parameter)}(STR({v}))), false)"
                test += f" && IF(REGEX(STR({v}), {self._n3(Literal(form))}), {cast}, false)"
            return f"({test})"
        if component == "NodeKind":
            kind = g.value(shape, SH.nodeKind)
            if kind not in _NODE_KINDS:
                raise Inexpressible(f"sh:nodeKind {kind}")
            return _NODE_KINDS[kind].format(v=v)  # type: ignore[index]
        if component in _COMPARE:
            bound = g.value(shape, SH[component[:1].lower() + component[1:]])
            same_kind = self._comparable(v, bound)
            compare = f"{v} {_COMPARE[component]} {self._n3(bound)}"
            return f"COALESCE(IF({same_kind}, {compare}, false), false)"
        if component in ("MinLength", "MaxLength"):
            limit = self._integer(shape, SH.minLength if component == "MinLength" else SH.maxLength)
            op = ">=" if component == "MinLength" else "<="
            return f"(!isBlank({v}) && STRLEN(STR({v})) {op} {limit})"
        if component == "Pattern":
            pattern = g.value(shape, SH.pattern)
            flags = g.value(shape, SH.flags)
            args = self._n3(Literal(str(pattern)))
            if flags is not None:
                args += ", " + self._n3(Literal(str(flags)))
            return f"(!isBlank({v}) && COALESCE(REGEX(STR({v}), {args}), false))"
        if component == "LanguageIn":
            tags = [str(t) for t in Collection(g, g.value(shape, SH.languageIn))]  # type: ignore[arg-type]
            matches = " || ".join(f"LANGMATCHES(LANG({v}), {self._n3(Literal(t))})" for t in tags)
            return f"(isLiteral({v}) && ({matches or 'false'}))"
        if component == "In":
            members = list(Collection(g, g.value(shape, SH["in"])))  # type: ignore[arg-type]
            return "(" + (" || ".join(self._same_term(v, m) for m in members) or "false") + ")"
        if component == "HasValue" and (shape, SH.path, None) not in g:
            return self._same_term(v, g.value(shape, SH.hasValue))
        if component == "Node":
            return self._conforms(parameter, v)
        if component == "Not":
            return f"!{self._conforms(parameter, v)}"
        if component in ("And", "Or", "Xone"):
            operands = list(
                Collection(g, g.value(shape, SH[component.lower()]))  # type: ignore[arg-type]
            )
            tests = [self._conforms(m, v) for m in operands]
            if component == "And":
                return "(" + (" && ".join(tests) or "true") + ")"
            if component == "Or":
                return "(" + (" || ".join(tests) or "false") + ")"
            return (
                "((" + " + ".join(f"IF({t}, 1, 0)" for t in tests) + ") = 1)" if tests else "false"
            )
        return None

    def _conforms(self, shape: Node | None, v: str) -> str:
        """A SPARQL expression true when ``v`` conforms to the whole ``shape`` (as sh:node,
        sh:or... ask); raises Inexpressible when some constraint of it cannot be written so."""
        if shape is None:
            raise Inexpressible("a missing shape")
        if self._deactivated(shape):
            return "true"
        tests: list[str] = []
        path_node = self.g.value(shape, SH.path)
        for component, parameter in self._components(shape):
            if path_node is None:
                test = self._value_test(shape, component, parameter, v)
                if test is None:
                    raise Inexpressible(f"sh:{component} inside sh:or/sh:and/sh:not/sh:node")
                tests.append(test)
                continue
            path = self._path(path_node)
            x = f"?_x{next(self._fresh)}"
            if component in ("MinCount", "MaxCount"):
                limit = self._integer(
                    shape, SH.minCount if component == "MinCount" else SH.maxCount
                )
                if component == "MinCount" and limit <= 1:
                    tests.append(f"EXISTS {{ {v} {path} {x} }}" if limit else "true")
                elif component == "MaxCount" and limit == 0:
                    tests.append(f"NOT EXISTS {{ {v} {path} {x} }}")
                else:
                    raise Inexpressible(
                        f"sh:{component} {limit} inside sh:or/sh:and/sh:not/sh:node"
                    )
                continue
            test = self._value_test(shape, component, parameter, x)
            if test is None:
                raise Inexpressible(f"sh:{component} inside sh:or/sh:and/sh:not/sh:node")
            tests.append(f"NOT EXISTS {{ {v} {path} {x} . FILTER (!{test}) }}")
        if path_node is None:
            for prop in self.g.objects(shape, SH.property):
                tests.append(self._conforms(prop, v))
        return "(" + (" && ".join(tests) or "true") + ")"

    # -- terms ---------------------------------------------------------------------------------

    def _integer(self, shape: Node, pred: URIRef) -> int:
        value = self.g.value(shape, pred)
        if not isinstance(value, Literal) or not isinstance(value.toPython(), int):
            raise Inexpressible(f"{pred} is not an integer")
        return int(value.toPython())

    def _same_term(self, v: str, term: Node | None) -> str:
        """``sameTerm(v, term)`` for a constant ``term``, written out as the term's parts: on
        Virtuoso, ``sameTerm(?v, "typed")`` is false for the stored "typed" (its plain and
        ``xsd:string`` literals are not one term) and a negated disjunction of ``sameTerm``
        tests on IRIs kept ``status:accepted`` out of ``(status:proposed status:accepted)``."""
        if isinstance(term, URIRef):
            return f"(isIRI({v}) && STR({v}) = {self._n3(Literal(str(term)))})"
        if isinstance(term, Literal):
            lexical = self._n3(Literal(str(term)))
            if term.language:
                lang = self._n3(Literal(term.language.lower()))
                return f"(isLiteral({v}) && LCASE(LANG({v})) = {lang} && STR({v}) = {lexical})"
            datatype = self._n3(term.datatype or rdflib.XSD.string)
            return (
                f'(isLiteral({v}) && LANG({v}) = "" && DATATYPE({v}) = {datatype} '
                f"&& STR({v}) = {lexical})"
            )
        return f"sameTerm({v}, {self._n3(term)})"

    def _comparable(self, v: str, bound: Node | None) -> str:
        """A test that ``v`` is of a kind ``bound`` compares with: both numbers, or the same
        datatype. Oxigraph and pySHACL find "1900"^^xsd:gYear and a date incomparable (the
        comparison fails: a violation); Virtuoso compares them, and a string with a number."""
        if isinstance(bound, Literal) and bound.datatype in _NUMERIC:
            return f"isNumeric({v})"
        if isinstance(bound, Literal):
            return f"DATATYPE({v}) = {self._n3(bound.datatype or rdflib.XSD.string)}"
        return "false"

    def _n3(self, term: Node | None) -> str:
        if isinstance(term, URIRef):
            return f"<{term}>"
        if isinstance(term, Literal):
            return term.n3()
        raise Inexpressible(f"a blank node or missing term where SPARQL needs a constant: {term}")


def _short(term: Node) -> str:
    text = term_text(term) or ""
    for prefix, ns in (("colsh:", "https://w3id.org/collectomics/shapes#"),):
        if text.startswith(ns):
            return prefix + text[len(ns) :]
    return text if text.startswith("_:") else f"<{text}>"
