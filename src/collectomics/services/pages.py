"""What an entity page shows: a resource minted under the base, its parts (event, location, role
nodes, labels: IRIs under its own), what links to it (paginated), its identity links, and a
schema.org summary. Plain data for the web face to render as HTML, JSON or RDF.

A person, an agent and a specimen get a workbench page instead (:func:`workbench`): the
sections of :mod:`collectomics.services.personpage` or :mod:`collectomics.services.specimenpage`, computed by
:func:`collectomics.services.sections.run_sections`, each of which may fail alone with a message.

Every IRI reaches the queries as a bound term (``params``), never pasted into the text.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.model import IRI, RDF_LANGSTRING, XSD_STRING, BNode, Literal, Term, iri_is_valid
from collectomics.services.personpage import canonical, person_sections
from collectomics.services.queries import get_query
from collectomics.services.sections import SectionResult, run_sections
from collectomics.services.specimenpage import is_specimen, specimen_sections, term
from collectomics.store import Store

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_LABELS = (
    "http://xmlns.com/foaf/0.1/name",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "http://schema.org/name",
    "http://rs.tdwg.org/dwc/terms/catalogNumber",
    "https://w3id.org/collectomics/ontology#nameAsWritten",
    "http://rs.tdwg.org/dwc/terms/scientificName",
    "http://rs.tdwg.org/dwc/terms/eventDate",
    "http://rs.tdwg.org/dwc/terms/locality",
)
_SCHEMA_TYPES = {
    "http://xmlns.com/foaf/0.1/Person": "Person",
    "https://w3id.org/collectomics/ontology#NameStringAgent": "Person",
    "http://rs.tdwg.org/dwc/terms/MaterialEntity": "Thing",
    "http://schema.org/Dataset": "Dataset",
    "https://www.ica.org/standards/RiC/ontology#Record": "ArchiveComponent",
    "http://purl.org/dc/dcmitype/StillImage": "ImageObject",
    "http://xmlns.com/foaf/0.1/Organization": "Organization",
}

_OUT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?p ?o LIMIT 1000"
_IN_PAGE = """SELECT ?o ?s ?p WHERE { ?s ?p ?o } ORDER BY ?p ?s"""
_MATCHES = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX sssom: <https://w3id.org/sssom/>
SELECT ?source ?target ?status ?confidence WHERE {
  ?m a col:IdentityMatch ; owl:annotatedSource ?source ; owl:annotatedTarget ?target .
  OPTIONAL { ?m col:matchStatus ?status } OPTIONAL { ?m sssom:confidence ?confidence }
} ORDER BY ?target"""
_DUPLICATES = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX schema: <http://schema.org/>
SELECT ?x ?link ?other ?value (GROUP_CONCAT(DISTINCT STR(?term); separator=" ") AS ?terms)
       (SAMPLE(?d) AS ?dataset) WHERE {
  { ?link owl:annotatedSource ?x ; owl:annotatedTarget ?other }
  UNION { ?link owl:annotatedTarget ?x ; owl:annotatedSource ?other }
  ?link a col:PossibleDuplicate ; col:matchedOn ?term ; rdf:value ?value .
  OPTIONAL { ?other schema:includedInDataSet ?d }
} GROUP BY ?x ?link ?other ?value ORDER BY ?other LIMIT 100"""
_ROLES = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX status: <https://w3id.org/collectomics/status/>
PREFIX dsw: <http://purl.org/dsw/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?agent ?role ?specimen ?catalogNumber ?asWritten WHERE {
  { ?node prov:agent ?agent }
  UNION
  { ?match a col:IdentityMatch ; col:matchStatus status:accepted ;
           owl:annotatedTarget ?agent ; owl:annotatedSource ?linked .
    ?node prov:agent ?linked }
  ?node prov:hadRole ?role .
  { ?activity prov:qualifiedAssociation ?node .
    { ?specimen col:collectingEvent ?activity } UNION { ?specimen dsw:hasIdentification ?activity } }
  UNION
  { ?label prov:qualifiedAttribution ?node . ?specimen col:hasLabel ?label }
  OPTIONAL { ?specimen dwc:catalogNumber ?catalogNumber }
  OPTIONAL { ?node col:nameAsWritten ?asWritten }
} ORDER BY ?role ?catalogNumber ?specimen"""
_FLAGS = """
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?x ?flag ?rule ?message WHERE {
  ?flag a col:RecordFlag .
  { ?flag oa:hasTarget ?x } UNION { ?flag col:evidence ?x }
  OPTIONAL { ?flag col:method ?rule }
  OPTIONAL { ?flag oa:hasBody/rdf:value ?message }
} ORDER BY ?flag LIMIT 100"""
_DESCRIBE = """
CONSTRUCT { ?x ?p ?o } WHERE {
  { ?iri ?p ?o BIND(?iri AS ?x) }
  UNION { ?iri ?p1 ?x . FILTER(isIRI(?x) && STRSTARTS(STR(?x), CONCAT(STR(?iri), "/"))) ?x ?p ?o }
  UNION { ?iri ?p1 ?y . FILTER(isIRI(?y) && STRSTARTS(STR(?y), CONCAT(STR(?iri), "/")))
          ?y ?p2 ?x . FILTER(isIRI(?x) && STRSTARTS(STR(?x), CONCAT(STR(?iri), "/"))) ?x ?p ?o }
}"""


short = term  # a compact name for a vocabulary term: ``dwc:catalogNumber``


@dataclass
class Value:
    """One object of a property, ready to show: text, and a link when it is an IRI."""

    text: str
    iri: str | None = None
    local: bool = False  # the IRI is minted under our base: link to its page
    lang: str | None = None
    datatype: str | None = None


@dataclass
class Property:
    predicate: str
    name: str
    values: list[Value] = field(default_factory=list)


@dataclass
class Part:
    iri: str
    label: str
    types: list[str]
    properties: list[Property]


@dataclass
class Link:
    subject: str
    label: str
    predicate: str
    name: str
    local: bool


@dataclass
class Page:
    """An entity page's content; ``to_dict`` is its JSON twin."""

    iri: str
    label: str
    types: list[str]
    kind: str
    properties: list[Property]
    parts: list[Part]
    incoming: list[Link]
    page: int
    page_size: int
    has_next: bool
    identity_links: list[dict[str, Any]]
    co_collectors: list[dict[str, Any]]
    flags: list[dict[str, Any]]  # col:RecordFlag annotations on or citing this resource
    duplicates: list[dict[str, Any]]  # col:PossibleDuplicate links: the other record, evidence
    roles: list[dict[str, Any]]  # specimens by role (collector, determiner, label writer...)
    roles_have_next: bool
    schema_org: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(term: Term) -> str:
    return term.value if isinstance(term, Literal) else str(term)


class Pages:
    """Builds pages from a store, for IRIs minted under ``base``."""

    def __init__(self, store: Store, base: str) -> None:
        self.store, self.base = store, base
        self._labels: dict[str, str] = {}

    def _value(self, term: Term) -> Value:
        if isinstance(term, Literal):
            lang = term.lang
            datatype = None if term.datatype in (XSD_STRING, RDF_LANGSTRING) else term.datatype
            return Value(term.value, lang=lang, datatype=short(datatype) if datatype else None)
        if isinstance(term, BNode):
            return Value("_:" + term)
        iri = str(term)
        local = iri.startswith(self.base)
        return Value(self.label(iri) if local else short(iri), iri=iri, local=local)

    def label(self, iri: str) -> str:
        """The best human label of a resource, else the end of its IRI."""
        if iri not in self._labels:
            found = None
            rows = self.store.query(
                "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }",
                params={"s": IRI(iri)},
            ).rows()
            best = len(_LABELS)
            for row in rows:
                rank = _LABELS.index(row["p"]) if row["p"] in _LABELS else len(_LABELS)
                if rank < best:
                    best, found = rank, _text(row["o"])
            self._labels[iri] = found or iri.rstrip("/").rsplit("/", 1)[-1]
        return self._labels[iri]

    def _properties(self, iri: str) -> tuple[list[str], list[Property], list[str]]:
        """(types, properties, part IRIs) of one resource."""
        grouped: dict[str, Property] = {}
        types, parts = [], []
        for row in self.store.query(_OUT, params={"s": IRI(iri)}).rows():
            p, o = str(row["p"]), row["o"]
            if p == RDF_TYPE:
                types.append(str(o))
                continue
            prop = grouped.setdefault(p, Property(p, short(p)))
            prop.values.append(self._value(o))
            if isinstance(o, IRI) and o.startswith(iri + "/") and o not in parts:
                parts.append(str(o))
        return types, list(grouped.values()), parts

    def page(self, iri: str, page: int = 1, size: int = 50) -> Page | None:
        """The page of ``iri``, or None when the graph says nothing about it."""
        if not iri_is_valid(iri):
            return None
        types, properties, part_iris = self._properties(iri)
        page = max(1, page)
        rows = list(
            self.store.query(
                _IN_PAGE + f" LIMIT {int(size) + 1} OFFSET {(page - 1) * int(size)}",
                params={"o": IRI(iri)},
            ).rows()
        )
        if not types and not properties and not rows:
            return None
        has_next = len(rows) > size
        incoming = [
            Link(
                str(r["s"]),
                self.label(str(r["s"])) if isinstance(r["s"], IRI) else str(r["s"]),
                str(r["p"]),
                short(str(r["p"])),
                isinstance(r["s"], IRI) and str(r["s"]).startswith(self.base),
            )
            for r in rows[:size]
        ]
        parts: list[Part] = []
        queue = list(part_iris)
        while queue and len(parts) < 50:
            part = queue.pop(0)
            p_types, p_props, sub = self._properties(part)
            parts.append(Part(part, self.label(part), [short(t) for t in p_types], p_props))
            queue += [s for s in sub if s not in queue and all(p.iri != s for p in parts)]
        label = self.label(iri)
        links = [
            {
                "target": str(r["target"]),
                "status": short(_text(r["status"])) if "status" in r else None,
                "confidence": _text(r["confidence"]) if "confidence" in r else None,
            }
            for r in self.store.query(_MATCHES, params={"source": IRI(iri)}).rows()
        ]
        kind = iri[len(self.base) :].split("/", 1)[0] if iri.startswith(self.base) else ""
        co = self._co_collectors(iri) if kind in ("person", "agent") else []
        roles: list[dict[str, Any]] = []
        if kind in ("person", "agent"):
            rows = list(
                self.store.query(
                    _ROLES + f" LIMIT {int(size) + 1} OFFSET {(page - 1) * int(size)}",
                    params={"agent": IRI(iri)},
                ).rows()
            )
            roles = [
                {
                    "role": short(str(r["role"])),
                    "specimen": str(r["specimen"]),
                    "label": _text(r["catalogNumber"]) if "catalogNumber" in r else "",
                    "as_written": _text(r["asWritten"]) if "asWritten" in r else "",
                    "local": str(r["specimen"]).startswith(self.base),
                }
                for r in rows[:size]
            ]
            has_next = has_next or len(rows) > size
        return Page(
            iri=iri,
            label=label,
            types=[short(t) for t in types],
            kind=kind,
            properties=properties,
            parts=parts,
            incoming=incoming,
            page=page,
            page_size=size,
            has_next=has_next,
            identity_links=links,
            co_collectors=co,
            flags=[
                {
                    "flag": str(r["flag"]),
                    "rule": short(_text(r["rule"])) if "rule" in r else "",
                    "message": _text(r["message"]) if "message" in r else "",
                }
                for r in self.store.query(_FLAGS, params={"x": IRI(iri)}).rows()
            ],
            duplicates=self._duplicates(iri),
            roles=roles,
            roles_have_next=bool(roles) and has_next,
            schema_org=self._schema_org(iri, label, types, properties, links),
        )

    def _duplicates(self, iri: str) -> list[dict[str, Any]]:
        """The records that may be this one published elsewhere, with what matched."""
        return [
            {
                "other": str(r["other"]),
                "label": self.label(str(r["other"])),
                "local": str(r["other"]).startswith(self.base),
                "matched_on": [short(t) for t in _text(r["terms"]).split()],
                "value": _text(r["value"]),
                "dataset": str(r["dataset"]) if "dataset" in r else "",
            }
            for r in self.store.query(_DUPLICATES, params={"x": IRI(iri)}).rows()
        ]

    def _co_collectors(self, iri: str) -> list[dict[str, Any]]:
        try:
            query = get_query("co-collectors")
            rows = self.store.query(query.text, params=query.bind({"agent": iri})).rows()
            return [
                {k: _text(v) for k, v in row.items()}
                | {"local": str(row.get("coCollector", "")).startswith(self.base)}
                for row in rows
            ][:100]
        except CollectomicsError:
            return []

    def _schema_org(
        self,
        iri: str,
        label: str,
        types: list[str],
        properties: list[Property],
        links: list[dict[str, Any]],
    ) -> dict[str, Any]:
        kind = next((_SCHEMA_TYPES[t] for t in types if t in _SCHEMA_TYPES), "Thing")
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": kind,
            "@id": iri,
            "name": label,
        }
        same = [
            v.iri
            for p in properties
            if p.predicate == "http://schema.org/sameAs"
            for v in p.values
            if v.iri
        ] + [lk["target"] for lk in links if lk["status"] == "status:accepted"]
        if same:
            data["sameAs"] = sorted(set(same))
        for p in properties:
            if p.predicate in ("http://schema.org/birthDate", "http://schema.org/deathDate"):
                data[p.predicate.rsplit("/", 1)[1]] = p.values[0].text
            if p.predicate == "http://purl.org/dc/terms/description":
                data["description"] = p.values[0].text
        return data

    def describe(self, iri: str, fmt: str) -> bytes | None:
        """The resource and its parts as RDF in ``fmt``; None when the graph says nothing."""
        if not iri_is_valid(iri):
            return None
        known = self.store.query(
            "ASK { { ?iri ?p ?o } UNION { ?s ?p ?iri } }", params={"iri": IRI(iri)}
        )
        if not known.boolean:
            return None
        result = self.store.query(_DESCRIBE, params={"iri": IRI(iri)})
        out = io.BytesIO()
        result.serialize(fmt, out)
        return out.getvalue()


# --------------------------------------------------------------- the workbench pages

_KNOWN = "ASK { { ?iri ?p ?o } UNION { ?s ?p ?iri } }"
_AGENT_OR_PERSON = """ASK {
  { ?iri <https://w3id.org/collectomics/ontology#resolvesTo> ?c }
  UNION { ?iri a <http://xmlns.com/foaf/0.1/Person> }
  UNION { ?iri a <http://www.w3.org/ns/prov#Agent> }
  UNION { ?iri a <http://xmlns.com/foaf/0.1/Agent> }
}"""
_DESCRIBE_IDENTITY = """
PREFIX col: <https://w3id.org/collectomics/ontology#>
CONSTRUCT { ?x ?p ?o } WHERE {
  ?m col:resolvesTo ?iri .
  { ?m ?p ?o BIND(?m AS ?x) }
  UNION { ?m ?p1 ?x . FILTER(isIRI(?x) && STRSTARTS(STR(?x), CONCAT(STR(?m), "/"))) ?x ?p ?o }
}"""


@dataclass
class Workbench:
    """A person's, agent's or specimen's page: its sections' answers (or messages), in order.

    ``iri`` is the IRI asked for, ``resolves_to`` the canonical node of its identity (a person
    page is shown for every name that is that person); ``to_dict`` is the JSON twin."""

    iri: str
    resolves_to: str
    kind: str  # "person", "agent" or "specimen"
    sections: list[SectionResult]
    schema_org: dict[str, Any]

    def section(self, name: str) -> SectionResult:
        return next(s for s in self.sections if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iri": self.iri,
            "resolves_to": self.resolves_to,
            "kind": self.kind,
            "sections": [s.as_json() for s in self.sections],
            "schema_org": self.schema_org,
        }


def workbench_kind(store: Store, minter: Minter, iri: str) -> str:
    """ "person", "agent" or "specimen" when ``iri`` gets a workbench page, else ''."""
    if not iri_is_valid(iri) or not iri.startswith(minter.base):
        return ""
    kind = iri[len(minter.base) :].split("/", 1)[0]
    if kind in ("person", "agent"):  # a person or agent, not a part minted under one (a match)
        return kind if store.query(_AGENT_OR_PERSON, params={"iri": IRI(iri)}).boolean else ""
    if kind == "specimen" and is_specimen(store, iri):
        return kind
    return ""


def workbench(
    store: Store,
    minter: Minter,
    iri: str,
    *,
    page: Any = 1,
    size: Any = 25,
    sort: str = "date",
    speeds: str = "",
    budget: float | None = None,
) -> Workbench | None:
    """The workbench page of ``iri`` (None when it gets none: see :func:`workbench_kind`)."""
    kind = workbench_kind(store, minter, iri)
    if not kind:
        return None
    if kind == "specimen":
        results = run_sections(store, minter, iri, specimen_sections(iri), budget=budget)
        record = next((r for r in results if r.name == "record" and r.ok), None)
        name = (record.data["catalog"] or iri) if record else iri
        schema = {"@context": "https://schema.org", "@type": "Thing", "@id": iri, "name": name}
        return Workbench(iri, iri, kind, results, schema)
    target = canonical(store, iri)
    sections = person_sections(target, page=page, size=size, sort=sort, speeds=speeds)
    results = run_sections(store, minter, target, sections, budget=budget)
    who = next((r.data for r in results if r.name == "who" and r.ok), None) or {}
    schema = {
        "@context": "https://schema.org",
        "@type": "Person",
        "@id": iri,
        "name": who.get("name") or iri,
    }
    same = sorted({i["target"] for i in who.get("identifiers", [])} | ({target} - {iri}))
    if same:
        schema["sameAs"] = same
    for key in ("birth", "death"):
        if (who.get(key) or {}).get("date"):
            schema[key + "Date"] = who[key]["date"]
    kind = "person" if target.startswith(minter.base + "person/") else "agent"
    return Workbench(iri, target, kind, results, schema)


def describe_identity(store: Store, iri: str, fmt: str) -> bytes:
    """The RDF twin of a person's page: every node of the identity ``iri`` resolves to, with
    the parts minted under each (role nodes, matches), in ``fmt``."""
    result = store.query(_DESCRIBE_IDENTITY, params={"iri": IRI(iri)})
    out = io.BytesIO()
    result.serialize(fmt, out)
    return out.getvalue()
