"""Generate the human-readable ontology reference, ``docs/ontology.html`` and ``docs/ontology.md``.

Run ``python3 dev.py generate`` after editing ``ontology/collectomics.ttl``; a test fails
when the checked-in pages differ from what this renders (``--check`` does the same from the
command line). Only rdflib and the standard library are used; the HTML page is self-contained
(one small inline stylesheet, no scripts, nothing fetched) and the output is deterministic
(everything sorted, no timestamps). Every term gets an anchor named by its local name, so
``ontology.html#SpecimenLabel`` works.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.term import Node
from vocabgen import COL, NAMESPACES, ROLE, STATUS  # its neighbour in .ci/tools/

from collectomics.resources import resource_path

ONTOLOGY_FILE = "collectomics.ttl"
SOURCE_NAME = "ontology/" + ONTOLOGY_FILE
COMMAND = "python3 dev.py generate"
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"  # .ci/tools/ -> the checkout
HTML_NAME = "ontology.html"
MD_NAME = "ontology.md"

#: The namespaces this ontology mints terms in, in anchor-priority order.
OWN_NAMESPACES: tuple[tuple[str, str], ...] = (("col", COL), ("role", ROLE), ("status", STATUS))

_SECTION_IDS = {
    "overview",
    "contents",
    "classes",
    "object-properties",
    "datatype-properties",
    "annotation-properties",
    "concept-schemes",
    "other-terms",
    "reused-classes",
    "reused-vocabularies",
}

#: Literal-valued annotations shown on every term, in this order.
_TEXT_FIELDS: tuple[tuple[URIRef, str], ...] = (
    (SKOS.definition, "Definition"),
    (RDFS.comment, "Comment"),
    (SKOS.scopeNote, "Scope note"),
    (SKOS.example, "Example"),
    (SKOS.note, "Note"),
    (SKOS.editorialNote, "Editorial note"),
    (SKOS.historyNote, "History note"),
    (SKOS.changeNote, "Change note"),
    (SKOS.altLabel, "Also called"),
)

_CHARACTERISTICS: tuple[tuple[URIRef, str], ...] = (
    (OWL.FunctionalProperty, "functional (at most one value per subject)"),
    (OWL.InverseFunctionalProperty, "inverse functional (a value identifies its subject)"),
    (OWL.TransitiveProperty, "transitive"),
    (OWL.SymmetricProperty, "symmetric"),
    (OWL.AsymmetricProperty, "asymmetric"),
    (OWL.ReflexiveProperty, "reflexive"),
    (OWL.IrreflexiveProperty, "irreflexive"),
)

_CONCEPT_LINKS: tuple[tuple[URIRef, str], ...] = (
    (SKOS.broader, "Broader"),
    (SKOS.narrower, "Narrower"),
    (SKOS.related, "Related"),
    (SKOS.exactMatch, "Exact match"),
    (SKOS.closeMatch, "Close match"),
    (SKOS.broadMatch, "Broad match"),
    (SKOS.narrowMatch, "Narrow match"),
    (SKOS.relatedMatch, "Related match"),
)

#: Predicates whose IRI objects count as "terms this ontology builds on" (reused vocabularies).
_REFERENCING = (
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.inverseOf,
    OWL.disjointWith,
    RDF.type,
) + tuple(p for p, _ in _CONCEPT_LINKS)

_STRUCTURAL_TYPES = {SKOS.Concept, SKOS.ConceptScheme}

_STYLE = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #ffffff; --panel: #f5f7fa;
  --link: #1557a6; --code: #7a2e0e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e7ec; --muted: #a3abb9; --line: #3a4150; --bg: #161a21; --panel: #1f242d;
    --link: #8ab8ff; --code: #f0b98d; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.25rem 4rem; color: var(--fg);
  background: var(--bg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--code);
  overflow-wrap: anywhere; }
h1 { font-size: 2rem; margin: 0 0 0.5rem; }
h2 { margin-top: 3rem; padding-bottom: 0.3rem; border-bottom: 2px solid var(--line); }
h3, h4 { margin: 0 0 0.5rem; }
h3 .label, h4 .label { font-weight: normal; color: var(--muted); }
.lead { font-size: 1.1rem; }
.muted, .intro, footer { color: var(--muted); }
dl { display: grid; grid-template-columns: 11rem 1fr; gap: 0.3rem 1rem; margin: 0; }
dt { font-weight: 600; color: var(--muted); }
dd { margin: 0; grid-column: 2; }
.term, .scheme { margin: 1.25rem 0; padding: 1rem 1.25rem; background: var(--panel);
  border: 1px solid var(--line); border-radius: 6px; scroll-margin-top: 1rem; }
.scheme > .term { background: var(--bg); }
.term:target, .scheme:target { outline: 2px solid var(--link); }
.deprecated h3, .deprecated h4 { text-decoration: line-through; }
a.self { margin-left: 0.4rem; color: var(--muted); font-weight: normal; visibility: hidden; }
h3:hover a.self, h4:hover a.self { visibility: visible; }
nav ol { padding-left: 1.25rem; }
nav ul { list-style: none; padding-left: 0.5rem; margin: 0.25rem 0 0.75rem; columns: 2 18rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.6rem;
  border-bottom: 1px solid var(--line); }
footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: 1rem;
  font-size: 0.9rem; }
@media (max-width: 40rem) { dl { grid-template-columns: 1fr; } dd { grid-column: 1; } }
"""


# ------------------------------------------------------------------------------ document model


@dataclass(frozen=True)
class _Link:
    text: str
    href: str
    title: str = ""  # full IRI when text is a CURIE
    code: bool = True


_Inline = str | _Link
_Value = tuple[_Inline, ...]


@dataclass
class _Field:
    name: str
    values: list[_Value]
    paragraphs: bool = False  # one paragraph per value; otherwise comma-separated


@dataclass
class _Term:
    anchor: str
    iri: str
    curie: str
    label: str
    fields: list[_Field]
    deprecated: bool = False


@dataclass
class _Section:
    anchor: str
    title: str
    intro: str
    terms: list[_Term] = field(default_factory=list)
    groups: list[tuple[_Term, list[_Term]]] = field(default_factory=list)  # scheme, concepts


@dataclass
class _Doc:
    title: str
    iri: str
    version: str
    definitions: list[str]
    meta: list[_Field]
    summary: str
    sections: list[_Section]
    namespaces: list[tuple[str, str, _Value]]


# ------------------------------------------------------------------------------ reading the graph


def _load(graph_or_path: Graph | str | Path | None) -> Graph:
    if isinstance(graph_or_path, Graph):
        return graph_or_path
    path = Path(graph_or_path) if graph_or_path is not None else None
    if path is None:
        path = resource_path("ontology") / ONTOLOGY_FILE
    return Graph().parse(path)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _texts(graph: Graph, subject: Node, predicate: URIRef) -> list[str]:
    """Literal values, English (or untagged) preferred, whitespace normalised, sorted."""
    values = [o for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    english = [o for o in values if o.language and o.language.lower().split("-")[0] == "en"]
    plain = [o for o in values if not o.language]
    return sorted({_norm(str(o)) for o in (english or plain or values)})


def _iris(graph: Graph, subject: Node, predicate: URIRef) -> list[URIRef]:
    return sorted({o for o in graph.objects(subject, predicate) if isinstance(o, URIRef)})


def _local(iri: str) -> str:
    for _, ns in OWN_NAMESPACES:
        if iri.startswith(ns):
            return iri[len(ns) :]
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[cut + 1 :]


def _sort_key(iri: str) -> tuple[str, str]:
    local = _local(iri)
    return (local.lower(), iri)


class _Context:
    """The graph plus everything needed to name and link terms."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.prefixes = sorted(NAMESPACES.items(), key=lambda item: -len(item[1]))
        self.declared = self._declared()
        self.reused = self._reused()
        self.anchors = self._anchors()

    def _declared(self) -> list[URIRef]:
        found = {
            s
            for s in self.graph.subjects(RDF.type, None)
            if isinstance(s, URIRef) and any(str(s).startswith(ns) for _, ns in OWN_NAMESPACES)
        }
        return sorted(found, key=lambda s: (self._own_rank(s), *_sort_key(str(s))))

    def _reused(self) -> list[URIRef]:
        """Classes of other vocabularies that this ontology places under a superclass
        (``dwc:Event rdfs:subClassOf prov:Activity``): axioms the graph relies on."""
        found = {
            s
            for s in self.graph.subjects(RDFS.subClassOf, None)
            if isinstance(s, URIRef) and not any(str(s).startswith(ns) for _, ns in OWN_NAMESPACES)
        }
        return sorted(found, key=lambda s: (self.curie(str(s)), str(s)))

    @staticmethod
    def _own_rank(iri: str) -> int:
        ranks = [i for i, (_, ns) in enumerate(OWN_NAMESPACES) if iri.startswith(ns)]
        return ranks[0] if ranks else len(OWN_NAMESPACES)

    def _anchors(self) -> dict[str, str]:
        taken = set(_SECTION_IDS)
        anchors: dict[str, str] = {}
        for iri in self.declared:
            prefix = self.prefix_of(iri)
            local = _local(iri)
            if not local:
                candidate = f"scheme-{prefix}"
            else:
                candidate = local
                if candidate in taken:
                    candidate = f"{prefix}-{local}"
            base, n = candidate, 2
            while candidate in taken:
                candidate, n = f"{base}-{n}", n + 1
            taken.add(candidate)
            anchors[str(iri)] = candidate
        for iri in self.reused:  # prefix-local: a reused name may also be one of ours
            candidate = self.curie(iri).replace(":", "-")
            base, n = candidate, 2
            while candidate in taken:
                candidate, n = f"{base}-{n}", n + 1
            taken.add(candidate)
            anchors[str(iri)] = candidate
        return anchors

    def prefix_of(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns):
                return prefix
        return ""

    def curie(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns):
                local = iri[len(ns) :]
                if "/" not in local and "#" not in local:
                    return f"{prefix}:{local}"
        return iri

    def link(self, iri: str) -> _Link:
        anchor = self.anchors.get(iri)
        curie = self.curie(iri)
        title = iri if curie != iri else ""
        if anchor is not None:
            return _Link(curie, "#" + anchor, title)
        return _Link(curie, iri, title)

    def label(self, iri: URIRef) -> str:
        for predicate in (RDFS.label, SKOS.prefLabel, DCTERMS.title):
            values = _texts(self.graph, iri, predicate)
            if values:
                return values[0]
        return _local(str(iri)) or self.curie(str(iri))

    def links(self, iris: Iterable[str]) -> list[_Value]:
        return [(self.link(i),) for i in sorted(set(iris), key=lambda i: (self.curie(i), i))]

    def describe(self, node: Node, depth: int = 0) -> _Value:
        """A class expression or IRI as inline text with links."""
        if isinstance(node, URIRef):
            return (self.link(str(node)),)
        if isinstance(node, Literal):
            return (_norm(str(node)),)
        if depth > 4 or not isinstance(node, BNode):
            return ("(anonymous class)",)
        g = self.graph
        for predicate, joiner in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
            head = g.value(node, predicate)
            if head is not None:
                return self._joined(list(Collection(g, head)), joiner, depth)
        head = g.value(node, OWL.oneOf)
        if head is not None:
            return ("one of {", *self._joined(list(Collection(g, head)), ", ", depth), "}")
        complement = g.value(node, OWL.complementOf)
        if complement is not None:
            return ("not ", *self.describe(complement, depth + 1))
        on_property = g.value(node, OWL.onProperty)
        if on_property is not None:
            prop = self.describe(on_property, depth + 1)
            for predicate, word in (
                (OWL.someValuesFrom, "some"),
                (OWL.allValuesFrom, "only"),
                (OWL.hasValue, "value"),
            ):
                target = g.value(node, predicate)
                if target is not None:
                    return (*prop, f" {word} ", *self.describe(target, depth + 1))
            for predicate, word in (
                (OWL.cardinality, "exactly"),
                (OWL.qualifiedCardinality, "exactly"),
                (OWL.minCardinality, "min"),
                (OWL.minQualifiedCardinality, "min"),
                (OWL.maxCardinality, "max"),
                (OWL.maxQualifiedCardinality, "max"),
            ):
                count = g.value(node, predicate)
                if count is not None:
                    qualifier = g.value(node, OWL.onClass) or g.value(node, OWL.onDataRange)
                    tail = (" ", *self.describe(qualifier, depth + 1)) if qualifier else ()
                    return (*prop, f" {word} {count}", *tail)
        on_datatype = g.value(node, OWL.onDatatype)
        if on_datatype is not None:
            return (*self.describe(on_datatype, depth + 1), " (restricted)")
        return ("(anonymous class)",)

    def _joined(self, nodes: list[Node], joiner: str, depth: int) -> _Value:
        parts: list[_Inline] = []
        for i, member in enumerate(nodes):
            if i:
                parts.append(joiner)
            parts.extend(self.describe(member, depth + 1))
        return tuple(parts)

    def named_members(self, node: Node, depth: int = 0) -> set[URIRef]:
        """Named classes in a class expression: itself, or the members of a union."""
        if isinstance(node, URIRef):
            return {node}
        if isinstance(node, BNode) and depth < 5:
            head = self.graph.value(node, OWL.unionOf)
            if head is not None:
                out: set[URIRef] = set()
                for member in Collection(self.graph, head):
                    out |= self.named_members(member, depth + 1)
                return out
        return set()

    def expressions(self, subject: Node, predicate: URIRef) -> list[_Value]:
        """Values of a class-valued predicate: named ones sorted first, then anonymous ones."""
        objects = list(self.graph.objects(subject, predicate))
        named = [o for o in objects if isinstance(o, URIRef)]
        out = self.links(str(o) for o in named)
        anonymous = sorted(
            {self.describe(o) for o in objects if not isinstance(o, URIRef)}, key=_plain
        )
        return out + anonymous


def _plain(value: _Value) -> str:
    return "".join(part.text if isinstance(part, _Link) else part for part in value)


# ------------------------------------------------------------------------------ building the doc


def _types(graph: Graph, iri: URIRef) -> set[URIRef]:
    return {t for t in graph.objects(iri, RDF.type) if isinstance(t, URIRef)}


def _common_fields(ctx: _Context, iri: URIRef) -> list[_Field]:
    fields = [_Field("IRI", [(_Link(str(iri), str(iri)),)])]
    for predicate, name in _TEXT_FIELDS:
        values = _texts(ctx.graph, iri, predicate)
        if values:
            fields.append(_Field(name, [(v,) for v in values], paragraphs=True))
    return fields


def _tail_fields(ctx: _Context, iri: URIRef) -> list[_Field]:
    fields = []
    for predicate, name in ((RDFS.seeAlso, "See also"), (RDFS.isDefinedBy, "Defined by")):
        iris = _iris(ctx.graph, iri, predicate)
        if iris:
            fields.append(_Field(name, ctx.links(str(i) for i in iris)))
    return fields


def _deprecated(graph: Graph, iri: URIRef) -> bool:
    return any(str(o).lower() == "true" for o in graph.objects(iri, OWL.deprecated))


def _term(ctx: _Context, iri: URIRef, middle: list[_Field]) -> _Term:
    fields = _common_fields(ctx, iri)
    deprecated = _deprecated(ctx.graph, iri)
    if deprecated:
        fields.insert(1, _Field("Status", [("deprecated: do not use in new data",)]))
    fields += [f for f in middle if f.values] + _tail_fields(ctx, iri)
    return _Term(
        anchor=ctx.anchors[str(iri)],
        iri=str(iri),
        curie=ctx.curie(str(iri)),
        label=ctx.label(iri),
        fields=fields,
        deprecated=deprecated,
    )


def _properties_about(ctx: _Context, cls: URIRef, predicate: URIRef) -> list[str]:
    """Properties whose domain (or range) is ``cls`` or a union containing it."""
    return [
        str(p)
        for p, o in ctx.graph.subject_objects(predicate)
        if isinstance(p, URIRef) and cls in ctx.named_members(o)
    ]


def _class_term(ctx: _Context, iri: URIRef) -> _Term:
    g = ctx.graph
    subclasses = [str(s) for s in g.subjects(RDFS.subClassOf, iri) if isinstance(s, URIRef)]
    return _term(
        ctx,
        iri,
        [
            _Field("Superclasses", ctx.expressions(iri, RDFS.subClassOf)),
            _Field("Equivalent to", ctx.expressions(iri, OWL.equivalentClass)),
            _Field("Disjoint with", ctx.expressions(iri, OWL.disjointWith)),
            _Field("Subclasses", ctx.links(subclasses)),
            _Field(
                "Properties with this domain", ctx.links(_properties_about(ctx, iri, RDFS.domain))
            ),
            _Field(
                "Properties with this range", ctx.links(_properties_about(ctx, iri, RDFS.range))
            ),
        ],
    )


def _property_term(ctx: _Context, iri: URIRef) -> _Term:
    g = ctx.graph
    types = _types(g, iri)
    characteristics = [(text,) for t, text in _CHARACTERISTICS if t in types]
    unstated: list[_Value] = [("not stated (any)",)]
    subproperties = [str(s) for s in g.subjects(RDFS.subPropertyOf, iri) if isinstance(s, URIRef)]
    inverse = [str(o) for o in g.objects(iri, OWL.inverseOf) if isinstance(o, URIRef)]
    inverse += [str(s) for s in g.subjects(OWL.inverseOf, iri) if isinstance(s, URIRef)]
    return _term(
        ctx,
        iri,
        [
            _Field("Domain", ctx.expressions(iri, RDFS.domain) or unstated),
            _Field("Range", ctx.expressions(iri, RDFS.range) or unstated),
            _Field("Super-properties", ctx.expressions(iri, RDFS.subPropertyOf)),
            _Field("Sub-properties", ctx.links(subproperties)),
            _Field("Inverse of", ctx.links(inverse)),
            _Field("Equivalent to", ctx.expressions(iri, OWL.equivalentProperty)),
            _Field("Characteristics", characteristics),
        ],
    )


def _extra_types(ctx: _Context, iri: URIRef, structural: set[URIRef]) -> list[_Value]:
    return ctx.links(str(t) for t in _types(ctx.graph, iri) if t not in structural)


def _concept_term(ctx: _Context, iri: URIRef) -> _Term:
    g = ctx.graph
    middle = [_Field("Also an instance of", _extra_types(ctx, iri, {SKOS.Concept}))]
    middle += [
        _Field(name, ctx.links(str(o) for o in _iris(g, iri, p))) for p, name in _CONCEPT_LINKS
    ]
    schemes = _iris(g, iri, SKOS.inScheme)
    middle.append(_Field("In scheme", ctx.links(str(s) for s in schemes)))
    return _term(ctx, iri, middle)


def _scheme_concepts(ctx: _Context, scheme: URIRef) -> list[URIRef]:
    g = ctx.graph
    members = set(g.subjects(SKOS.inScheme, scheme)) | set(g.subjects(SKOS.topConceptOf, scheme))
    members |= set(g.objects(scheme, SKOS.hasTopConcept))
    return sorted((m for m in members if isinstance(m, URIRef)), key=lambda m: _sort_key(str(m)))


def _scheme_term(ctx: _Context, iri: URIRef, concepts: list[URIRef]) -> _Term:
    g = ctx.graph
    top = {str(c) for c in g.subjects(SKOS.topConceptOf, iri)}
    top |= {str(c) for c in g.objects(iri, SKOS.hasTopConcept)}
    count = _plural(len(concepts), "concept", "concepts")
    return _term(
        ctx,
        iri,
        [
            _Field("Concepts", [(count,)]),
            # Only worth a line when the hierarchy is not flat.
            _Field("Top concepts", ctx.links(top) if top != {str(c) for c in concepts} else []),
            _Field("Also an instance of", _extra_types(ctx, iri, {SKOS.ConceptScheme})),
        ],
    )


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _build(graph: Graph) -> _Doc:
    ctx = _Context(graph)
    g = graph
    ontologies = sorted(s for s in g.subjects(RDF.type, OWL.Ontology) if isinstance(s, URIRef))
    if not ontologies:
        raise ValueError("the graph has no owl:Ontology header")
    onto = ontologies[0]

    classes, objects, datas, annotations, schemes, concepts, others = ([] for _ in range(7))
    for iri in ctx.declared:
        types = _types(g, iri)
        if types & {OWL.Class, RDFS.Class}:
            classes.append(iri)
        elif OWL.ObjectProperty in types:
            objects.append(iri)
        elif OWL.DatatypeProperty in types:
            datas.append(iri)
        elif OWL.AnnotationProperty in types:
            annotations.append(iri)
        elif SKOS.ConceptScheme in types:
            schemes.append(iri)
        elif SKOS.Concept in types:
            concepts.append(iri)
        else:
            others.append(iri)

    def by_name(iris: list[URIRef]) -> list[URIRef]:
        return sorted(iris, key=lambda i: _sort_key(str(i)))

    sections = [
        _Section(
            "classes",
            "Classes",
            "Classes minted here. Superclasses outside this ontology come from the reused "
            "vocabularies listed at the end.",
            [_class_term(ctx, i) for i in by_name(classes)],
        ),
        _Section(
            "object-properties",
            "Object properties",
            "Properties whose values are resources (IRIs or blank nodes).",
            [_property_term(ctx, i) for i in by_name(objects)],
        ),
        _Section(
            "datatype-properties",
            "Datatype properties",
            "Properties whose values are literals.",
            [_property_term(ctx, i) for i in by_name(datas)],
        ),
        _Section(
            "annotation-properties",
            "Annotation properties",
            "Properties for notes about resources; they carry no logical meaning.",
            [_property_term(ctx, i) for i in by_name(annotations)],
        ),
    ]
    grouped: set[URIRef] = set()
    scheme_section = _Section(
        "concept-schemes",
        "Concept schemes",
        "Controlled values, as SKOS concept schemes. A concept is a value to point at "
        "(with prov:hadRole, col:matchStatus...), not a class.",
    )
    for scheme in by_name(schemes):
        members = [c for c in _scheme_concepts(ctx, scheme) if c in set(concepts)]
        grouped |= set(members)
        scheme_section.groups.append(
            (_scheme_term(ctx, scheme, members), [_concept_term(ctx, c) for c in members])
        )
    sections.append(scheme_section)
    leftovers = [c for c in concepts if c not in grouped]
    reused_section = _Section(
        "reused-classes",
        "Reused classes",
        "Classes of the reused vocabularies that this ontology places under another class. "
        "The graph does not write the superclass type these entail: a query for it needs a "
        "reasoner, or the subclass (docs/model.md, 'What is not written').",
        [_class_term(ctx, i) for i in ctx.reused],
    )
    other_section = _Section(
        "other-terms",
        "Other terms",
        "Terms declared in these namespaces that are none of the above.",
        [_concept_term(ctx, i) for i in by_name(leftovers)]
        + [_term(ctx, i, [_Field("Type", _extra_types(ctx, i, set()))]) for i in by_name(others)],
    )
    sections.append(other_section)
    sections.append(reused_section)
    sections = [s for s in sections if s.terms or s.groups]

    meta = [
        _Field("Ontology IRI", [(_Link(str(onto), str(onto)),)]),
        _Field("Version IRI", [(_Link(str(i), str(i)),) for i in _iris(g, onto, OWL.versionIRI)]),
        _Field("Version", [(v,) for v in _texts(g, onto, OWL.versionInfo)]),
        _Field(
            "Prior version", [(_Link(str(i), str(i)),) for i in _iris(g, onto, OWL.priorVersion)]
        ),
        _Field("Licence", [(_Link(str(i), str(i)),) for i in _iris(g, onto, DCTERMS.license)]),
        _Field("Rights", [(v,) for v in _texts(g, onto, DCTERMS.rights)]),
        _Field("Creator", _agents(g, onto, DCTERMS.creator)),
        _Field("Contributors", _agents(g, onto, DCTERMS.contributor)),
        _Field("Imports", [(_Link(str(i), str(i)),) for i in _iris(g, onto, OWL.imports)]),
        _Field("See also", [(_Link(str(i), str(i)),) for i in _iris(g, onto, RDFS.seeAlso)]),
        _Field("Source", [(_Link(SOURCE_NAME, "", code=True),)]),
    ]
    meta = [m for m in meta if m.values]
    definitions = (
        _texts(g, onto, SKOS.definition)
        or _texts(g, onto, DCTERMS.description)
        or _texts(g, onto, RDFS.comment)
    )
    counts = [
        _plural(len(classes), "class", "classes"),
        _plural(len(objects), "object property", "object properties"),
        _plural(len(datas), "datatype property", "datatype properties"),
    ]
    if annotations:
        counts.append(_plural(len(annotations), "annotation property", "annotation properties"))
    schemes_text = _plural(len(schemes), "concept scheme", "concept schemes")
    counts.append(f"{schemes_text} with {_plural(len(concepts), 'concept', 'concepts')}")
    summary = "This ontology defines " + ", ".join(counts[:-1]) + " and " + counts[-1] + "."

    return _Doc(
        title=(_texts(g, onto, DCTERMS.title) or _texts(g, onto, RDFS.label) or [str(onto)])[0],
        iri=str(onto),
        version=" ".join(_texts(g, onto, OWL.versionInfo)),
        definitions=definitions,
        meta=meta,
        summary=summary,
        sections=sections,
        namespaces=_namespace_rows(ctx),
    )


def _agents(graph: Graph, subject: URIRef, predicate: URIRef) -> list[_Value]:
    out: list[_Value] = [(v,) for v in _texts(graph, subject, predicate)]
    out += [(_Link(str(i), str(i)),) for i in _iris(graph, subject, predicate)]
    return out


def _namespace_rows(ctx: _Context) -> list[tuple[str, str, _Value]]:
    own = {ns for _, ns in OWN_NAMESPACES}
    referenced: dict[str, set[str]] = {}
    for term in ctx.reused:
        referenced.setdefault(ctx.prefix_of(str(term)), set()).add(str(term))
    for term in [*ctx.declared, *ctx.reused]:
        for predicate in _REFERENCING:
            for obj in ctx.graph.objects(term, predicate):
                for iri in ctx.named_members(obj):
                    if predicate == RDF.type and (
                        iri in _STRUCTURAL_TYPES
                        or ctx.prefix_of(str(iri)) in {"owl", "rdfs", "rdf"}
                    ):
                        continue
                    prefix = ctx.prefix_of(str(iri))
                    if prefix and NAMESPACES[prefix] not in own:
                        referenced.setdefault(prefix, set()).add(str(iri))
    rows = []
    for prefix, ns in sorted(NAMESPACES.items()):
        if ns in own:
            anchor = ctx.anchors.get(ns)
            target = "#" + anchor if anchor else "#contents"
            text = ctx.label(URIRef(ns)) if anchor else "this ontology"
            cell: _Value = (_Link(text, target, code=False),)
        else:
            parts: list[_Inline] = []
            for value in ctx.links(referenced.get(prefix, ())):
                if parts:
                    parts.append(", ")
                parts.extend(value)
            cell = tuple(parts) or ("—",)
        rows.append((prefix, ns, cell))
    return rows


# ------------------------------------------------------------------------------ HTML


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _frag(anchor: str) -> str:
    """``#anchor``, percent-encoded where needed."""
    return "#" + quote(anchor, safe="-._~")


def _href(href: str) -> str:
    return _frag(href[1:]) if href.startswith("#") else href


def _html_inline(part: _Inline) -> str:
    if isinstance(part, str):
        return _e(part)
    inner = f"<code>{_e(part.text)}</code>" if part.code else _e(part.text)
    if not part.href:
        return inner
    title = f' title="{_e(part.title)}"' if part.title else ""
    return f'<a href="{_e(_href(part.href))}"{title}>{inner}</a>'


def _html_value(value: _Value) -> str:
    return "".join(_html_inline(p) for p in value)


def _html_fields(fields: list[_Field]) -> Iterator[str]:
    yield "<dl>"
    for f in fields:
        yield f"<dt>{_e(f.name)}</dt>"
        if f.paragraphs:
            for value in f.values:
                yield f"<dd>{_html_value(value)}</dd>"
        else:
            yield "<dd>" + ", ".join(_html_value(v) for v in f.values) + "</dd>"
    yield "</dl>"


def _html_term(term: _Term, level: int, css: str = "term") -> Iterator[str]:
    classes = css + (" deprecated" if term.deprecated else "")
    anchor = _e(term.anchor)
    yield f'<article class="{classes}" id="{anchor}">'
    yield (
        f'<h{level}><code>{_e(term.curie)}</code> <span class="label">{_e(term.label)}</span>'
        f'<a class="self" href="{_e(_frag(term.anchor))}" '
        f'aria-label="Link to {_e(term.curie)}">#</a></h{level}>'
    )
    yield from _html_fields(term.fields)


def _html_toc_terms(terms: list[_Term]) -> Iterator[str]:
    yield "<ul>"
    for t in terms:
        yield (
            f'<li><a href="{_e(_frag(t.anchor))}"><code>{_e(t.curie)}</code></a> '
            f'<span class="muted">{_e(t.label)}</span></li>'
        )
    yield "</ul>"


def render_html(graph_or_path: Graph | str | Path | None = None) -> str:
    """The HTML reference page for an ontology (a graph, a file, or the bundled one)."""
    doc = _build(_load(graph_or_path))
    out = [
        "<!DOCTYPE html>",
        f"<!-- GENERATED from {SOURCE_NAME} by `{COMMAND}`; do not edit. -->",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(' '.join(filter(None, (doc.title, doc.version))))}</title>",
        "<style>" + _STYLE.rstrip() + "\n</style>",
        "</head>",
        "<body>",
        '<header id="overview">',
        f"<h1>{_e(doc.title)}</h1>",
    ]
    out += [f'<p class="lead">{_e(d)}</p>' for d in doc.definitions]
    out += list(_html_fields(doc.meta))
    out += [f"<p>{_e(doc.summary)}</p>", "</header>"]

    out += ['<nav id="contents" aria-label="Table of contents">', "<h2>Contents</h2>", "<ol>"]
    for section in doc.sections:
        out.append(f'<li><a href="#{section.anchor}">{_e(section.title)}</a>')
        if section.terms:
            out += list(_html_toc_terms(section.terms))
        if section.groups:
            out.append("<ol>")
            for scheme, concepts in section.groups:
                out.append(
                    f'<li><a href="{_e(_frag(scheme.anchor))}">'
                    f"{_e(scheme.label)}</a> <code>{_e(scheme.curie)}</code>"
                )
                out += list(_html_toc_terms(concepts))
                out.append("</li>")
            out.append("</ol>")
        out.append("</li>")
    out += ['<li><a href="#reused-vocabularies">Reused vocabularies</a></li>', "</ol>", "</nav>"]

    out.append("<main>")
    for section in doc.sections:
        out += [f'<section id="{section.anchor}">', f"<h2>{_e(section.title)}</h2>"]
        out.append(f'<p class="intro">{_e(section.intro)}</p>')
        for term in section.terms:
            out += list(_html_term(term, 3))
            out.append("</article>")
        for scheme, concepts in section.groups:
            out += list(_html_term(scheme, 3, "scheme"))
            for concept in concepts:
                out += list(_html_term(concept, 4))
                out.append("</article>")
            out.append("</article>")
        out.append("</section>")

    out += [
        '<section id="reused-vocabularies">',
        "<h2>Reused vocabularies</h2>",
        '<p class="intro">The prefixes used in this reference, in the Turtle files and in the '
        "SPARQL queries (<code>collectomics.vocab.PREFIXES</code>). The last column lists the "
        "terms of each vocabulary that this ontology builds on.</p>",
        "<table>",
        "<thead><tr><th>Prefix</th><th>Namespace</th><th>Used here</th></tr></thead>",
        "<tbody>",
    ]
    for prefix, ns, cell in doc.namespaces:
        out.append(
            f"<tr><td><code>{_e(prefix)}:</code></td><td><code>{_e(ns)}</code></td>"
            f"<td>{_html_value(cell)}</td></tr>"
        )
    out += ["</tbody>", "</table>", "</section>", "</main>"]
    out += [
        "<footer>",
        f"<p>Generated from <code>{_e(SOURCE_NAME)}</code> by <code>{_e(COMMAND)}</code>. "
        "Do not edit this page; edit the ontology and regenerate.</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ Markdown


_MD_SPECIAL = "`*_[]|<>#"


def _md(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("&", "&amp;")
    for ch in _MD_SPECIAL:
        text = text.replace(ch, "\\" + ch)
    return text


def _md_code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_inline(part: _Inline) -> str:
    if isinstance(part, str):
        return _md(part)
    inner = _md_code(part.text) if part.code else _md(part.text)
    if not part.href:
        return inner
    if part.href == part.text and not part.href.startswith("#"):
        return f"<{part.href}>"
    return f"[{inner}](<{_href(part.href)}>)"


def _md_value(value: _Value) -> str:
    return "".join(_md_inline(p) for p in value)


def _md_fields(fields: list[_Field]) -> list[str]:
    lines = []
    for f in fields:
        if f.paragraphs and len(f.values) > 1:
            lines.append(f"- **{_md(f.name)}:**")
            lines += [f"  - {_md_value(v)}" for v in f.values]
        else:
            lines.append(f"- **{_md(f.name)}:** " + ", ".join(_md_value(v) for v in f.values))
    return lines


def _md_term(term: _Term, level: int) -> list[str]:
    name = _md_code(term.curie)
    if term.deprecated:
        name = f"~~{name}~~"
    return [
        f'{"#" * level} <a id="{_e(term.anchor)}"></a>{name} — {_md(term.label)}',
        "",
        *_md_fields(term.fields),
        "",
    ]


def _md_toc_terms(terms: list[_Term], indent: str) -> list[str]:
    return [f"{indent}- [{_md_code(t.curie)}]({_frag(t.anchor)}) {_md(t.label)}" for t in terms]


def render_markdown(graph_or_path: Graph | str | Path | None = None) -> str:
    """The Markdown twin of :func:`render_html`, readable on GitHub."""
    doc = _build(_load(graph_or_path))
    out = [
        f"<!-- GENERATED from {SOURCE_NAME} by `{COMMAND}`; do not edit. -->",
        "",
        f"# {_md(doc.title)}",
        "",
    ]
    for d in doc.definitions:
        out += [_md(d), ""]
    out += _md_fields(doc.meta)
    out += [
        "",
        _md(doc.summary),
        "",
        "A self-contained HTML version is in [ontology.html](ontology.html).",
        "",
    ]

    out += ["## Contents", ""]
    for section in doc.sections:
        out.append(f"- [{_md(section.title)}](#{section.anchor})")
        out += _md_toc_terms(section.terms, "  ")
        for scheme, concepts in section.groups:
            out.append(
                f"  - [{_md(scheme.label)}]({_frag(scheme.anchor)}) {_md_code(scheme.curie)}"
            )
            out += _md_toc_terms(concepts, "    ")
    out += ["- [Reused vocabularies](#reused-vocabularies)", ""]

    for section in doc.sections:
        out += [f"## {_md(section.title)}", "", _md(section.intro), ""]
        for term in section.terms:
            out += _md_term(term, 3)
        for scheme, concepts in section.groups:
            out += _md_term(scheme, 3)
            for concept in concepts:
                out += _md_term(concept, 4)

    out += [
        "## Reused vocabularies",
        "",
        "The prefixes used in this reference, in the Turtle files and in the SPARQL queries "
        "(`collectomics.vocab.PREFIXES`). The last column lists the terms of each vocabulary that "
        "this ontology builds on.",
        "",
        "| Prefix | Namespace | Used here |",
        "| --- | --- | --- |",
    ]
    for prefix, ns, cell in doc.namespaces:
        out.append(f"| {_md_code(prefix + ':')} | {_md_code(ns)} | {_md_value(cell)} |")
    out += [
        "",
        "---",
        "",
        f"Generated from {_md_code(SOURCE_NAME)} by {_md_code(COMMAND)}. Do not edit this page; "
        "edit the ontology and regenerate.",
    ]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ command line


def outputs(graph_or_path: Graph | str | Path | None = None) -> dict[str, str]:
    """File name -> text, for both pages."""
    graph = _load(graph_or_path)
    return {HTML_NAME: render_html(graph), MD_NAME: render_markdown(graph)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Write docs/ontology.html and docs/ontology.md from the ontology."
    )
    parser.add_argument("--out", type=Path, default=DOCS_DIR, help="output folder (default: docs/)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a page is stale"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        target = args.out / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                stale.append(target)
            continue
        if current != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {target}", file=sys.stderr)
        else:
            print(f"unchanged {target}", file=sys.stderr)
    for target in stale:
        print(f"stale: {target} (run {COMMAND})", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
