"""The person page as a historian's workbench: one library function per section.

Each section is ``fn(store, minter, iri, **params) -> dict`` over the identity of ``iri`` (its
canonical node and every member that ``col:resolvesTo`` it, graph ``{base}graph/identity``, see
:mod:`collectomics.analysis.identity`), so that a person's records are those of all their names. Every
query stays one or two hops from the specimen (``dwciri:recordedBy`` / ``identifiedBy`` are the
one-hop shortcuts of the role nodes) and is bounded: counts by ``GROUP BY``, lists by ``LIMIT``.
:func:`person_sections` lists the sections, in the order of the page, as
:class:`~collectomics.services.sections.Section` jobs, each naming the canned query or JSON route that
gives its answer in full.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from collectomics.analysis import identity
from collectomics.analysis.identity import Identities
from collectomics.analysis.itinerary import DEFAULT_SPEEDS, itinerary, timeline
from collectomics.analysis.readers import facets_fresh, facets_graph, table
from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.model import IRI, Literal, iri_is_valid, nquad
from collectomics.services.sections import Section
from collectomics.store import Store
from collectomics.vocab import COL, PREFIXES, RDF

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items()) + (
    "PREFIX dcmitype: <http://purl.org/dc/dcmitype/>\n"
)
#: rows of a section's list, and the most a caller may ask for in one page
PAGE_SIZE, MAX_PAGE_SIZE = 25, 500
#: the longest count tables a section returns (the ``more`` link has them all)
FACET_LIMIT = 30
#: the identity of ?p: every node that resolves to it (?p itself included). A bound variable
#: must be in the projection (pyoxigraph's substitutions), hence ``?p`` in every SELECT
MEMBERS = "?a col:resolvesTo ?p ."
#: rows of a list shown on a page (the itinerary's stops and flags, the timeline); the views
#: (/views/itinerary, /views/timeline) give them all
ROWS_SHOWN = 200

#: sort name -> the specimen's sort key, one property (path) from the specimen
_SORT_KEYS = {
    "date": "col:collectingEvent/dwc:eventDate",
    "catalog": "dwc:catalogNumber",
    "taxon": "dwc:scientificName",
    "country": "dwc:countryCode",
    "institution": "dwc:institutionCode",
}
_SORTS = {name: key for base, key in _SORT_KEYS.items() for name in (base, "-" + base)}
SORTS = tuple(_SORTS)


def rows(store: Store, sparql: str, **params: str) -> list[dict[str, str]]:
    """The solutions of ``sparql`` (prefixes added) with ``params`` bound as IRIs, as dicts of
    plain strings (an unbound variable is '')."""
    result = store.query(PROLOGUE + sparql, params={k: IRI(v) for k, v in params.items()})
    names = result.variables
    return [dict(zip(names, row, strict=True)) for row in result.table()]


def check_iri(iri: str) -> str:
    """``iri``, or an :class:`InputError` that says it is not one."""
    if not iri or not iri_is_valid(iri) or ":" not in iri:
        raise InputError(f"not an IRI: {iri[:200]!r}", parameter="iri")
    return iri


def canonical(store: Store, iri: str) -> str:
    """The canonical node of ``iri``'s identity (``iri`` itself when it resolves to nothing)."""
    found = rows(store, "SELECT ?x ?c WHERE { ?x col:resolvesTo ?c } LIMIT 1", x=check_iri(iri))
    return found[0]["c"] if found else iri


def page_args(page: Any = 1, size: Any = PAGE_SIZE) -> tuple[int, int]:
    """(page, size) read from request values, or an :class:`InputError` naming the parameter."""
    try:
        number = int(page)
    except (TypeError, ValueError):
        raise InputError(f"page must be a whole number, not {page!r}", parameter="page") from None
    try:
        per = int(size)
    except (TypeError, ValueError):
        raise InputError(f"size must be a whole number, not {size!r}", parameter="size") from None
    if number < 1:
        raise InputError("page must be 1 or more", parameter="page")
    if not 1 <= per <= MAX_PAGE_SIZE:
        raise InputError(f"size must be between 1 and {MAX_PAGE_SIZE}", parameter="size")
    return number, per


def labels(store: Store, nodes: list[str]) -> dict[str, str]:
    """A display name for each node: foaf:name, rdfs:label, skos:prefLabel or dcterms:title,
    else its schema:jobTitle (an EML party named only by its position), else the end of its IRI
    (one query for all)."""
    found: dict[str, str] = {}
    wanted = [n for n in dict.fromkeys(nodes) if n and iri_is_valid(n) and ":" in n]
    for chunk in range(0, len(wanted), 200):
        values = " ".join(f"<{n}>" for n in wanted[chunk : chunk + 200])
        for r in rows(
            store,
            "SELECT ?x (SAMPLE(?n1) AS ?a) (SAMPLE(?n2) AS ?b) (SAMPLE(?n3) AS ?c) WHERE {"
            " VALUES ?x { " + values + " } OPTIONAL { ?x foaf:name ?n1 } "
            "OPTIONAL { ?x rdfs:label|skos:prefLabel|dcterms:title ?n2 } "
            "OPTIONAL { ?x schema:jobTitle ?n3 } } GROUP BY ?x",
        ):
            if r["a"] or r["b"] or r["c"]:
                found[r["x"]] = r["a"] or r["b"] or r["c"]
    return {n: found.get(n) or n.rstrip("/").rsplit("/", 1)[-1] for n in nodes}


def _year(text: str) -> str:
    return text[:4] if text[:4].isdigit() else ""


# ------------------------------------------------------------------------------- who


_WHO = """SELECT ?p ?name ?given ?family ?abbr ?birth ?death ?flStart ?flEnd ?description
       ?portrait (DATATYPE(?birth) AS ?birthType) (DATATYPE(?death) AS ?deathType)
       (DATATYPE(?flStart) AS ?flStartType) (DATATYPE(?flEnd) AS ?flEndType) WHERE {
  OPTIONAL { ?p foaf:name ?name } OPTIONAL { ?p foaf:givenName ?given }
  OPTIONAL { ?p foaf:familyName ?family } OPTIONAL { ?p col:authorAbbreviation ?abbr }
  OPTIONAL { ?p schema:birthDate ?birth } OPTIONAL { ?p schema:deathDate ?death }
  OPTIONAL { ?p col:floruitStart ?flStart } OPTIONAL { ?p col:floruitEnd ?flEnd }
  OPTIONAL { ?p dcterms:description ?description }
  OPTIONAL { ?p schema:image|foaf:depiction|foaf:img ?portrait }
} LIMIT 1"""
#: the precision of a date, from its datatype (a people table types each to its precision)
_PRECISION = {"gYear": "year", "gYearMonth": "month", "date": "day", "dateTime": "day"}


def _precision(datatype: str) -> str:
    return _PRECISION.get(datatype.rsplit("#", 1)[-1], "") if datatype else ""


_VARIANTS = """SELECT ?p ?name (COUNT(DISTINCT ?r) AS ?uses) WHERE {
  { ?p skos:altLabel ?name } UNION { ?a col:resolvesTo ?p . ?a foaf:name ?name }
  UNION { ?a col:resolvesTo ?p . ?r prov:agent ?a ; col:nameAsWritten ?name }
} GROUP BY ?p ?name ORDER BY DESC(?uses) ?name LIMIT 100"""
_MEMBERS = "SELECT ?p ?a WHERE { ?a col:resolvesTo ?p } ORDER BY ?a LIMIT 500"
#: what each member is, and the identity matches it is the source of (two-pattern OPTIONALs
#: on a substituted variable were planned as joins over every match: 4-6 s beside 54,000
#: people; a VALUES list of the members is an index lookup each)
_MEMBER_FACTS = """SELECT ?a (SAMPLE(?t) AS ?type) (SAMPLE(?n) AS ?name) WHERE {{
  VALUES ?a {{ {values} }}
  OPTIONAL {{ ?a a ?t FILTER(?t IN (foaf:Person, col:NameStringAgent, foaf:Organization)) }}
  OPTIONAL {{ ?a foaf:name ?n }}
}} GROUP BY ?a"""
_MATCHES = """SELECT ?a ?match ?target ?status ?confidence ?justification ?decidedBy ?decidedOn
WHERE {{
  VALUES ?a {{ {values} }}
  ?match owl:annotatedSource ?a . ?match owl:annotatedTarget ?target .
  ?match a col:IdentityMatch .
  OPTIONAL {{ ?match col:matchStatus ?status }} OPTIONAL {{ ?match sssom:confidence ?confidence }}
  OPTIONAL {{ ?match sssom:mapping_justification ?justification }}
  OPTIONAL {{ ?match prov:wasAttributedTo ?decidedBy }} OPTIONAL {{ ?match dcterms:date ?decidedOn }}
}} ORDER BY ?target ?match LIMIT 500"""


def values(nodes: Iterable[str]) -> str:
    """IRIs for a ``VALUES`` list: each one an IRI the store gave (checked again here)."""
    out = []
    for n in nodes:
        if not iri_is_valid(n) or any(c in n for c in '<>"{}|\\^` '):
            raise InputError(f"not an IRI: {n[:200]!r}", parameter="iri")
        out.append(f"<{n}>")
    return " ".join(out)


def members(store: Store, p: str) -> list[str]:
    """Every node of ``p``'s identity (``p`` first)."""
    found = [r["a"] for r in rows(store, _MEMBERS, p=p)]
    return [p] + [a for a in found if a != p]


def _link(r: dict[str, str], via: str) -> dict[str, str]:
    return {
        "via": via,
        "status": r.get("status", "").rsplit("/", 1)[-1],
        "confidence": r.get("confidence", ""),
        "justification": r.get("justification", "").rsplit("/", 1)[-1],
        "decided_by": r.get("decidedBy", ""),
        "decided_on": r.get("decidedOn", ""),
        "match": r.get("match", ""),
    }


def who(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Who they were: names and the variants written on records, life and floruit dates with
    their precision, identifiers with the evidence and status of each link, portrait, and the
    nodes (name-string agents, outside IRIs) that are this person."""
    p = canonical(store, iri)
    kept = summary(store, minter, p, "who", {})
    if kept is not None:
        return {**kept, "asked": iri}
    return _who(store, minter, p, iri)


def _who(store: Store, minter: Minter, p: str, iri: str) -> dict[str, Any]:
    [facts] = rows(store, _WHO, p=p) or [{}]
    nodes = members(store, p)
    listed = values(nodes)
    facts_of = {r["a"]: r for r in rows(store, _MEMBER_FACTS.format(values=listed))}
    matches = rows(store, _MATCHES.format(values=listed))
    ids: dict[str, dict[str, Any]] = {}
    for r in rows(store, "SELECT ?p ?t WHERE { ?p schema:sameAs ?t FILTER(isIRI(?t)) }", p=p):
        ids.setdefault(r["t"], {"target": r["t"], "links": []})["links"].append(
            _link({}, "people table")
        )
    for r in matches:
        if not r["target"].startswith(minter.base):
            entry = ids.setdefault(r["target"], {"target": r["target"], "links": []})
            entry["links"].insert(0, _link(r, "identity match"))
    for node in nodes:
        if not node.startswith(minter.base) and node not in ids:
            ids[node] = {"target": node, "links": [_link({}, "identity")]}
    to_p = {r["a"]: r for r in matches if r["target"] == p}
    links = rows(
        store,
        "SELECT ?p ?u WHERE { ?p schema:url|foaf:homepage|rdfs:seeAlso ?u } ORDER BY ?u LIMIT 50",
        p=p,
    )
    name = facts.get("name") or labels(store, [p])[p]
    return {
        "iri": p,
        "asked": iri,
        "kind": "person" if p.startswith(minter.base + "person/") else "agent",
        "name": name,
        "given_name": facts.get("given", ""),
        "family_name": facts.get("family", ""),
        "abbreviation": facts.get("abbr", ""),
        "description": facts.get("description", ""),
        "birth": {
            "date": facts.get("birth", ""),
            "precision": _precision(facts.get("birthType", "")),
        },
        "death": {
            "date": facts.get("death", ""),
            "precision": _precision(facts.get("deathType", "")),
        },
        "floruit": {
            "start": facts.get("flStart", ""),
            "end": facts.get("flEnd", ""),
            "precision": _precision(facts.get("flStartType", "") or facts.get("flEndType", "")),
        },
        "portrait": facts.get("portrait", ""),
        "links": [r["u"] for r in links],
        "variants": [
            {"name": r["name"], "uses": int(r["uses"] or 0)} for r in rows(store, _VARIANTS, p=p)
        ],
        "datasets": [
            r["d"]
            for r in rows(
                store,
                "SELECT DISTINCT ?p ?d WHERE { ?a col:resolvesTo ?p . "
                "?a schema:includedInDataSet ?d } ORDER BY ?d LIMIT 50",
                p=p,
            )
        ],
        "identifiers": sorted(ids.values(), key=lambda e: e["target"]),
        "members": [
            {
                "iri": a,
                "name": facts_of.get(a, {}).get("name", ""),
                "type": facts_of.get(a, {}).get("type", "").rsplit("#", 1)[-1].rsplit("/", 1)[-1],
                "match_status": to_p.get(a, {}).get("status", "").rsplit("/", 1)[-1],
                "confidence": to_p.get(a, {}).get("confidence", ""),
                "local": a.startswith(minter.base),
            }
            for a in nodes[1:]
        ],
    }


# ------------------------------------------------------------------------------ what

_ROLE_COUNTS = (
    "SELECT ?p ?role ?word (COUNT(DISTINCT ?r) AS ?n) WHERE { "
    + MEMBERS
    + " ?r prov:agent ?a ; prov:hadRole ?role"
    " OPTIONAL { ?r schema:roleName ?word FILTER (?role = role:otherRole) } }"
    " GROUP BY ?p ?role ?word ORDER BY DESC(?n) ?role ?word"
)
#: specimens of the person's identity: as collector or determiner, one hop from the specimen
_SPECIMENS = (
    "{ SELECT DISTINCT ?p ?s WHERE { "
    + MEMBERS
    + " { ?s dwciri:recordedBy ?a } UNION { ?s dwciri:identifiedBy ?a } } }"
)
#: the facets of the specimens (the year's in order of value, the others largest first), read
#: in one pass over the specimens and counted here: a GROUP BY per facet read the specimens
#: five times (16 s of the page for 48,943 specimens on a loaded machine)
_FACETS = {
    "year": "dwc:year",
    "country": "dwc:countryCode",
    "family": "dwc:family",
    "institution": "dwc:institutionCode",
}
_FACTS = (
    "SELECT ?p ?s "
    + " ".join(f"?{name}" for name in _FACETS)
    + " WHERE { "
    + _SPECIMENS
    + " "
    + " ".join(f"OPTIONAL {{ ?s {term} ?{name} }}" for name, term in _FACETS.items())
    + " }"
)
_AS = {
    "collector": "dwciri:recordedBy",
    "determiner": "dwciri:identifiedBy",
}
_BY_ROLE = (
    "SELECT ?p ?as (COUNT(DISTINCT ?s) AS ?n) WHERE { "
    + MEMBERS
    + ' { ?s dwciri:recordedBy ?a BIND("collector" AS ?as) } UNION'
    ' { ?s dwciri:identifiedBy ?a BIND("determiner" AS ?as) } UNION'
    " { ?h prov:agent ?a ; prov:hadRole role:labelWriter . ?l prov:qualifiedAttribution ?h ."
    '   ?s col:hasLabel ?l BIND("label writer" AS ?as) }'
    " } GROUP BY ?p ?as ORDER BY DESC(?n)"
)
#: one page of the specimens: their IRIs in order (the key is one OPTIONAL path: two chained
#: OPTIONALs were planned as a join over every event, 11 s for 1,500 specimens), then the
#: columns of those only
_PAGE = """SELECT DISTINCT ?p ?s ?key WHERE {{
  {members}
  {{ ?s dwciri:recordedBy ?a }} UNION {{ ?s dwciri:identifiedBy ?a }}
  OPTIONAL {{ ?s {key} ?key }}
}} ORDER BY {order} LIMIT {limit} OFFSET {offset}"""
_COLUMNS = """SELECT ?p ?s (SAMPLE(?c) AS ?catalog) (SAMPLE(?t) AS ?taxon) (SAMPLE(?cc) AS ?country)
       (SAMPLE(?i) AS ?institution) (MIN(?d) AS ?date) (SAMPLE(?loc) AS ?locality)
       (GROUP_CONCAT(DISTINCT ?as; separator=" ") AS ?roles) WHERE {{
  VALUES ?s {{ {values} }}
  OPTIONAL {{ ?s dwc:catalogNumber ?c }} OPTIONAL {{ ?s dwc:scientificName ?t }}
  OPTIONAL {{ ?s dwc:countryCode ?cc }} OPTIONAL {{ ?s dwc:institutionCode ?i }}
  OPTIONAL {{ ?s col:collectingEvent/dwc:eventDate ?d }}
  OPTIONAL {{ ?s col:collectingEvent/dsw:locatedAt/dwc:locality ?loc }}
  OPTIONAL {{ {{ ?s dwciri:recordedBy ?a BIND("collector" AS ?as) }}
             UNION {{ ?s dwciri:identifiedBy ?a BIND("determiner" AS ?as) }}
             ?a col:resolvesTo ?p }}
}} GROUP BY ?p ?s"""


def what(
    store: Store,
    minter: Minter,
    iri: str,
    *,
    page: Any = 1,
    size: Any = PAGE_SIZE,
    sort: str = "date",
) -> dict[str, Any]:
    """What they did: specimens by role, counts by year, country, family and institution
    (specimens they collected or identified), and one sorted page of those specimens."""
    number, per = page_args(page, size)
    if sort not in _SORTS:
        raise InputError(f"sort is one of {', '.join(SORTS)}, not {sort!r}", parameter="sort")
    p = canonical(store, iri)
    kept = summary(store, minter, p, "what", {"page": number, "size": per, "sort": sort})
    return kept if kept is not None else _what(store, p, number, per, sort)


def _what(store: Store, p: str, number: int, per: int, sort: str) -> dict[str, Any]:
    by_role = {r["as"]: int(r["n"]) for r in rows(store, _BY_ROLE, p=p)}
    found: dict[str, dict[str, set[str]]] = {name: defaultdict(set) for name in _FACETS}
    specimens: set[str] = set()
    for r in rows(store, _FACTS, p=p):
        specimens.add(r["s"])
        for name in _FACETS:
            found[name][r[name]].add(r["s"])  # '' when the specimen has no value
    facets: dict[str, list[dict[str, Any]]] = {}
    for name, by_value in found.items():
        counted = [(value, len(members)) for value, members in by_value.items()]
        counted.sort(key=(lambda c: c[0]) if name == "year" else (lambda c: (-c[1], c[0])))
        facets[name] = [{"value": v, "specimens": n} for v, n in counted[:FACET_LIMIT]]
    total = len(specimens)
    descending = sort.startswith("-")
    order = "DESC(?key) ?s" if descending else "(!BOUND(?key)) ?key ?s"  # undated last
    keyed = rows(
        store,
        _PAGE.format(
            members=MEMBERS,
            key=_SORTS[sort],
            order=order,
            limit=per + 1,
            offset=(number - 1) * per,
        ),
        p=p,
    )
    ordered = list(dict.fromkeys(r["s"] for r in keyed))
    columns = (
        {r["s"]: r for r in rows(store, _COLUMNS.format(values=values(ordered[:per])), p=p)}
        if ordered
        else {}
    )
    listed = [columns.get(x, {"s": x}) for x in ordered]
    return {
        "iri": p,
        "specimens": total,
        "by_role": by_role,
        "records_by_role": [
            {"role": r.get("word") or r["role"].rsplit("/", 1)[-1], "records": int(r["n"])}
            for r in rows(store, _ROLE_COUNTS, p=p)  # a role we lack by the source's word
        ],
        "facets": facets,
        "list": {
            "page": number,
            "size": per,
            "sort": sort,
            "has_next": len(listed) > per,
            "rows": [
                {
                    "iri": r["s"],
                    "catalog": r.get("catalog", ""),
                    "taxon": r.get("taxon", ""),
                    "country": r.get("country", ""),
                    "institution": r.get("institution", ""),
                    "date": r.get("date", ""),
                    "locality": r.get("locality", ""),
                    "roles": sorted(set(r.get("roles", "").split())),
                }
                for r in listed[:per]
            ],
        },
    }


# ---------------------------------------------------------------- where and when


def where_when(
    store: Store, minter: Minter, iri: str, *, speeds: str | None = None
) -> dict[str, Any]:
    """Where and when: the itinerary (dated stops with coordinates, flagged steps) and the
    timeline of specimens, documents and photographs (:mod:`collectomics.analysis.itinerary`), over
    the agents of the identity."""
    p = canonical(store, iri)
    kept = summary(store, minter, p, "where", {"speeds": speeds or DEFAULT_SPEEDS})
    return kept if kept is not None else _where_when(store, minter, p, speeds or DEFAULT_SPEEDS)


def _where_when(store: Store, minter: Minter, p: str, speeds: str) -> dict[str, Any]:
    # the one identity as the graph has it, not every link in the store (the walk that made
    # pages hang beside 54,000 people)
    ids = Identities(store, minter, ident=identity.load_one(store, minter, p))
    it = itinerary(store, p, speeds=speeds, ids=ids, minter=minter)
    entries = timeline(store, p, ids=ids, it=it, minter=minter)
    # the page shows the first ROWS_SHOWN of each list (a prolific collector has tens of
    # thousands of stops: 32 MB of JSON at 1,000,000 specimens); the views give them all
    return {
        "iri": p,
        "stops": [s.to_dict() for s in it.stops[:ROWS_SHOWN]],
        "stops_total": len(it.stops),
        "placed": sum(1 for s in it.stops if s.lat is not None and s.lon is not None),
        "flags": [f.to_dict() for f in it.flags[:ROWS_SHOWN]],
        "flags_total": len(it.flags),
        "timeline": entries[:ROWS_SHOWN],
        "timeline_total": len(entries),
        "timeline_counts": {
            kind: sum(1 for e in entries if e["kind"] == kind)
            for kind in ("specimens", "document", "photograph")
        },
    }


# ---------------------------------------------------------------------- with whom

_CO = """SELECT ?p ?q (COUNT(DISTINCT ?s) AS ?n) (MIN(?y) AS ?first) (MAX(?y) AS ?last) WHERE {{
  {members}
  ?s dwciri:recordedBy ?a ; {term} ?b .
  FILTER(?b != ?a)
  ?b col:resolvesTo ?q FILTER(?q != ?p)
  OPTIONAL {{ ?s dwc:year ?y }}
}} GROUP BY ?p ?q ORDER BY DESC(?n) ?q LIMIT {limit}"""


def with_whom(
    store: Store, minter: Minter, iri: str, *, limit: int = FACET_LIMIT
) -> dict[str, Any]:
    """With whom: the people named as collectors on the same specimens, and the determiners of
    the specimens they collected, each resolved to one identity, with counts and years."""
    p = canonical(store, iri)
    kept = summary(store, minter, p, "whom", {"limit": int(limit)})
    return kept if kept is not None else _with_whom(store, minter, p, int(limit))


def _with_whom(store: Store, minter: Minter, p: str, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"iri": p}
    for key, term in (
        ("co_collectors", "dwciri:recordedBy"),
        ("determiners", "dwciri:identifiedBy"),
    ):
        found = rows(store, _CO.format(members=MEMBERS, term=term, limit=int(limit)), p=p)
        names = labels(store, [r["q"] for r in found])
        out[key] = [
            {
                "iri": r["q"],
                "name": names[r["q"]],
                "specimens": int(r["n"]),
                "first_year": _year(r["first"]),
                "last_year": _year(r["last"]),
                "local": r["q"].startswith(minter.base),
            }
            for r in found
        ]
    return out


# ------------------------------------------------- what they wrote and what shows them

_HAND = (
    "SELECT ?p ?label ?s ?catalog ?confidence ?evidence ?by ?on ?text WHERE { "
    + MEMBERS
    + """ ?h prov:agent ?a ; prov:hadRole role:labelWriter . ?label prov:qualifiedAttribution ?h .
  OPTIONAL { ?s col:hasLabel ?label OPTIONAL { ?s dwc:catalogNumber ?catalog } }
  OPTIONAL { ?h col:confidence ?confidence } OPTIONAL { ?h col:evidence ?evidence }
  OPTIONAL { ?h prov:wasAttributedTo ?by } OPTIONAL { ?h dcterms:date ?on }
  OPTIONAL { ?t oa:hasTarget ?label ; oa:motivatedBy oa:transcribing ; oa:hasBody/rdf:value ?text }
} ORDER BY DESC(?confidence) ?label LIMIT 100"""
)
_WRITTEN = (
    "SELECT DISTINCT ?p ?doc ?title ?type ?date ?parent ?mentions WHERE { "
    + MEMBERS
    + """ { ?doc rico:hasCreator ?a } UNION { ?doc dcterms:creator ?a FILTER NOT EXISTS { ?doc a dcmitype:StillImage } }
  OPTIONAL { ?doc dcterms:title|rdfs:label ?title } OPTIONAL { ?doc dcterms:type ?type }
  OPTIONAL { ?doc dcterms:date ?date } OPTIONAL { ?doc rico:isOrWasPartOf ?parent }
  OPTIONAL { SELECT ?doc (COUNT(DISTINCT ?m) AS ?mentions) WHERE { ?doc dcterms:references ?m } GROUP BY ?doc }
} ORDER BY ?date ?doc LIMIT 200"""
)
_ABOUT = (
    "SELECT DISTINCT ?p ?doc ?title ?type ?date WHERE { "
    + MEMBERS
    + """ ?doc dcterms:references ?a .
  OPTIONAL { ?doc dcterms:title|rdfs:label ?title } OPTIONAL { ?doc dcterms:type ?type }
  OPTIONAL { ?doc dcterms:date ?date }
} ORDER BY ?date ?doc LIMIT 100"""
)
_PHOTOS = (
    "SELECT DISTINCT ?p ?m ?title ?date ?url ?rel WHERE { "
    + MEMBERS
    + """ { ?m foaf:depicts ?a BIND("shows them" AS ?rel) }
  UNION { ?m prov:qualifiedAttribution ?h . ?h prov:agent ?a ; prov:hadRole role:photographer
          BIND("by them" AS ?rel) }
  ?m a dcmitype:StillImage .
  OPTIONAL { ?m dcterms:title ?title } OPTIONAL { ?m dcterms:created ?date }
  OPTIONAL { ?m ac:accessURI|ac:furtherInformationURL ?url }
} ORDER BY ?date ?m LIMIT 100"""
)


def writings(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """What they wrote and what shows them: labels in their hand with the confidence of each
    attribution, notebooks and their pages, letters and other documents they wrote or that
    mention them, and photographs of them or by them."""
    p = canonical(store, iri)
    kept = summary(store, minter, p, "writings", {})
    return kept if kept is not None else _writings(store, p)


def _writings(store: Store, p: str) -> dict[str, Any]:
    docs = rows(store, _WRITTEN, p=p)
    by_iri = {d["doc"]: d for d in docs}
    notebooks: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for d in docs:
        if d["parent"] in by_iri:
            continue  # a page: listed under its document
        entry = {
            "iri": d["doc"],
            "title": d["title"],
            "type": d["type"],
            "date": d["date"],
            "pages": [
                {
                    "iri": x["doc"],
                    "title": x["title"],
                    "date": x["date"],
                    "mentions": int(x["mentions"] or 0),
                }
                for x in docs
                if x["parent"] == d["doc"]
            ],
        }
        (notebooks if "notebook" in d["type"].lower() else others).append(entry)
    return {
        "iri": p,
        "labels": [
            {
                "label": r["label"],
                "specimen": r["s"],
                "catalog": r["catalog"],
                "confidence": r["confidence"],
                "evidence": r["evidence"],
                "attributed_by": r["by"],
                "attributed_on": r["on"],
                "transcription": r["text"],
            }
            for r in rows(store, _HAND, p=p)
        ],
        "notebooks": notebooks,
        "documents": others,
        "mentioned_in": [
            {"iri": r["doc"], "title": r["title"], "type": r["type"], "date": r["date"]}
            for r in rows(store, _ABOUT, p=p)
        ],
        "photographs": [
            {
                "iri": r["m"],
                "title": r["title"],
                "date": r["date"],
                "url": r["url"],
                "relation": r["rel"],
            }
            for r in rows(store, _PHOTOS, p=p)
        ],
    }


# ------------------------------------------------------------------ what looks wrong

#: the flags on their records or citing them; the targets' catalogue numbers come apart
#: (:data:`_CATALOGS`): an OPTIONAL on ?target, unbound in the second branch, was planned as a
#: join against every catalogue number in the store, 0.6-1.6 s for everyone at 1,000,000
_FLAGS = (
    "SELECT ?p ?flag ?target ?rule ?message WHERE { "
    + MEMBERS
    + """ { ?target dwciri:recordedBy|dwciri:identifiedBy ?a . ?flag oa:hasTarget ?target }
  UNION { ?flag col:evidence ?a . OPTIONAL { ?flag oa:hasTarget ?target } }
  ?flag a col:RecordFlag .
  OPTIONAL { ?flag col:method ?rule } OPTIONAL { ?flag oa:hasBody/rdf:value ?message }
} ORDER BY ?rule ?flag LIMIT 200"""
)
_CATALOGS = "SELECT ?t (SAMPLE(?c) AS ?catalog) WHERE {{ VALUES ?t {{ {values} }} ?t dwc:catalogNumber ?c }} GROUP BY ?t"
_ISSUES = (
    "SELECT ?p ?issue (COUNT(DISTINCT ?s) AS ?n) WHERE { "
    + _SPECIMENS
    + " ?s <http://rs.gbif.org/terms/1.0/issue> ?issue } "
    "GROUP BY ?p ?issue ORDER BY DESC(?n) ?issue LIMIT 30"
)


def flags(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """What looks wrong: the flags ``collectomics infer`` raised on their records or citing
    them, the itinerary's impossible steps saved as flags, and the publishers' issue flags."""
    p = canonical(store, iri)
    kept = summary(store, minter, p, "flags", {})
    return kept if kept is not None else _flags(store, p)


def _flags(store: Store, p: str) -> dict[str, Any]:
    seen: dict[str, dict[str, Any]] = {}
    found = rows(store, _FLAGS, p=p)
    targets = sorted({r["target"] for r in found if r["target"]})
    catalogs = (
        {r["t"]: r["catalog"] for r in rows(store, _CATALOGS.format(values=values(targets)))}
        if targets
        else {}
    )
    for r in found:
        seen.setdefault(
            r["flag"],
            {
                "flag": r["flag"],
                "target": r["target"],
                "catalog": catalogs.get(r["target"], ""),
                "rule": r["rule"].rsplit("#", 1)[-1],
                "message": r["message"],
            },
        )
    return {
        "iri": p,
        "flags": list(seen.values()),
        "issues": [
            {"issue": r["issue"], "specimens": int(r["n"])} for r in rows(store, _ISSUES, p=p)
        ],
    }


# -------------------------------------------------------------- materialised sections

#: bumped when a section's answer changes shape: a summary of another format is never read
SUMMARY_FORMAT = 1
#: section name -> its live computation over a canonical node, with the parameters it is kept
#: for (the first page of the list by date, the itinerary at ``speeds``, the longest tables)
_KEPT: dict[str, Callable[[Store, Minter, str, str], dict[str, Any]]] = {
    "who": lambda store, minter, p, speeds: _who(store, minter, p, p),
    "what": lambda store, minter, p, speeds: _what(store, p, 1, PAGE_SIZE, "date"),
    "where": lambda store, minter, p, speeds: _where_when(store, minter, p, speeds),
    "whom": lambda store, minter, p, speeds: _with_whom(store, minter, p, FACET_LIMIT),
    "writings": lambda store, minter, p, speeds: _writings(store, p),
    "flags": lambda store, minter, p, speeds: _flags(store, p),
}
SUMMARISED = tuple(_KEPT)
_SUMMARY = """SELECT ?p ?name ?v WHERE {
  ?x a col:PageSummary ; col:summaryOf ?p ; col:pageSection ?name ; rdf:value ?v } LIMIT 1"""


def _params(name: str, speeds: str) -> dict[str, Any]:
    """The parameters a section is kept for (what its live call with them must be given)."""
    kept: dict[str, dict[str, Any]] = {
        "what": {"page": 1, "size": PAGE_SIZE, "sort": "date"},
        "where": {"speeds": speeds},
        "whom": {"limit": FACET_LIMIT},
    }
    return kept.get(name, {})


def _bounded(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the bounds of the lists as they are now: a summary kept with other
    bounds is not read."""
    return {**params, "rows_shown": ROWS_SHOWN, "facet_limit": FACET_LIMIT}


def summary(
    store: Store, minter: Minter, p: str, name: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    """Section ``name`` of canonical ``p`` as ``collectomics materialise`` kept it, when it was
    kept for these ``params`` and the facets graph is fresh (a stale one is never read); else
    None, and the caller computes it from the data."""
    found = list(
        table(
            store,
            _SUMMARY,
            graphs=[facets_graph(minter)],
            params={"p": IRI(p), "name": Literal(name)},
        )
    )
    if not found:
        return None
    kept = json.loads(found[0][2])
    if kept.get("format") != SUMMARY_FORMAT or kept.get("params") != _bounded(params):
        return None
    if not facets_fresh(store, minter):
        return None
    data: dict[str, Any] = kept["data"]
    return data


_NAMED = """SELECT ?a (COUNT(?s) AS ?n) WHERE {
  { ?s dwciri:recordedBy ?a } UNION { ?s dwciri:identifiedBy ?a } FILTER(isIRI(?a))
} GROUP BY ?a"""


def summarised(store: Store, graphs: Sequence[str] | None, ids: Identities, at: int) -> list[str]:
    """The canonical nodes whose agents are named on at least ``at`` specimens, as collector
    or determiner (an identity named twice on one specimen counts it twice: a bound, not a
    count), largest first; ``at`` 0: every identity, named on specimens or not."""
    named: dict[str, int] = defaultdict(int)
    for a, n in table(store, _NAMED, graphs=graphs):
        named[ids.resolve(a)] += int(n)
    if at <= 0:
        named.update({c: 0 for c in set(ids.ident.canonical.values()) if c not in named})
    return sorted((p for p, n in named.items() if n >= at), key=lambda p: (-named[p], p))


def summary_ntriples(
    store: Store, minter: Minter, nodes: Iterable[str], *, speeds: str = ""
) -> tuple[str, int]:
    """N-Triples keeping the sections of :data:`SUMMARISED` of each canonical node in
    ``nodes``, as the live computation gives them now (``speeds``: the itinerary's, default
    the setting's default), for the facets graph; and how many triples."""
    speeds = speeds or DEFAULT_SPEEDS
    lines: list[str] = []
    for p in nodes:
        for name, compute in _KEPT.items():
            data = compute(store, minter, p, speeds)
            kept = {
                "format": SUMMARY_FORMAT,
                "params": _bounded(_params(name, speeds)),
                "data": data,
            }
            text = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            node = minter.mint("facet", "page", _digest(p) + "-" + name)
            lines.append(nquad((node, RDF.type, COL.PageSummary, None)))
            lines.append(nquad((node, COL.summaryOf, IRI(p), None)))
            lines.append(nquad((node, COL.pageSection, Literal(name), None)))
            lines.append(nquad((node, RDF.value, Literal(text), None)))
    return "".join(lines), len(lines)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------- the page


def _q(iri: str) -> str:
    return quote(iri, safe="")


def person_sections(
    iri: str, *, page: Any = 1, size: Any = PAGE_SIZE, sort: str = "date", speeds: str = ""
) -> list[Section]:
    """The sections of a person's (or agent's) page, in the page's order, for ``iri`` (its
    canonical node); ``page``/``size``/``sort`` are the specimen list's."""
    q = _q(iri)
    here = "collectomics.services.personpage:"
    return [
        Section("who", "Who they were", here + "who", more=f"/sections/who?iri={q}"),
        Section(
            "what",
            "What they did",
            here + "what",
            {"page": page, "size": size, "sort": sort},
            more=f"/sections/what?iri={q}&size={MAX_PAGE_SIZE}",
        ),
        Section(
            "where",
            "Where and when",
            here + "where_when",
            {"speeds": speeds} if speeds else {},
            more=f"/views/itinerary?iri={q}",
        ),
        Section(
            "whom",
            "With whom",
            here + "with_whom",
            more=f"/queries/co-collectors?agent={q}&format=json",
        ),
        Section(
            "writings",
            "What they wrote and what shows them",
            here + "writings",
            more=f"/queries/person-dossier?person={q}&format=json",
        ),
        Section("flags", "What looks wrong", here + "flags", more=f"/sections/flags?iri={q}"),
    ]
