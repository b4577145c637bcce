"""Reconciliation Service API 0.2 (the version OpenRefine 3.6 speaks): manifest, queries,
suggest, preview and data extension over the graph. No Flask here: ``web/reconcile.py`` is the
face. Names are scored with the linking matcher (``collectomics.linking.matcher``).

Identifiers are IRIs relative to the base IRI (``person/pius-font-quer``), so that the manifest's
``view`` URL is the service's own entity page. The match rule (see docs/reconciliation.md):
``match: true`` only for the top candidate, when its score is at least :data:`MATCH_AT` and at
least :data:`MATCH_MARGIN` above the runner-up (or it has no runner-up).
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from collectomics.linking import matcher
from collectomics.store import Store

log = logging.getLogger(__name__)

_BASE = "https://w3id.org/collectomics/"
MATCH_AT = 85
MATCH_MARGIN = 15
#: the name score (0-1) when the family name and a full given name both agree
FULL_NAME = 0.95
#: a person candidate must reach this (0-100) to be proposed at all
PROPOSE_AT = 40
#: agents (name strings) are offered only when no linked person reaches this score
AGENT_FALLBACK_BELOW = 60
MAX_QUERY_CHARS = 1000
MAX_BATCH = 50
DEFAULT_LIMIT = 10
BATCH_SIZE = 10

PERSON = {"id": "Person", "name": "Person"}
SPECIMEN = {"id": "Specimen", "name": "Specimen"}
TYPES = [PERSON, SPECIMEN]

#: query properties: id -> (name, kind). Wikidata pids are accepted as aliases.
QUERY_PROPERTIES = {
    "birthYear": "birth year",
    "deathYear": "death year",
    "collectingYear": "collecting year (the person must have been alive)",
    "wikidata": "Wikidata QID",
    "orcid": "ORCID iD",
    "abbreviation": "botanist author abbreviation",
}
_PID_ALIASES = {"P569": "birthYear", "P570": "deathYear", "P428": "abbreviation",
                "P496": "orcid", "qid": "wikidata"}  # fmt: skip
#: data extension properties
EXTEND_PROPERTIES = {
    "wikidata": "Wikidata QID",
    "orcid": "ORCID iD",
    "ipni": "IPNI author ID",
    "viaf": "VIAF ID",
    "birthDate": "birth date",
    "deathDate": "death date",
    "specimenCount": "specimen count",
}

_FOAF = "http://xmlns.com/foaf/0.1/"
_PEOPLE = """
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX col: <https://w3id.org/collectomics/ontology#>
SELECT ?p ?name ?alt ?abbr ?birth ?death ?same WHERE {
  ?p a foaf:Person .
  OPTIONAL { ?p foaf:name ?name }
  OPTIONAL { ?p skos:altLabel ?alt }
  OPTIONAL { ?p col:authorAbbreviation ?abbr }
  OPTIONAL { ?p schema:birthDate ?birth }
  OPTIONAL { ?p schema:deathDate ?death }
  OPTIONAL { ?p schema:sameAs ?same }
  FILTER NOT EXISTS { ?p col:illustrative true }
}"""
_AGENTS = """
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX col: <https://w3id.org/collectomics/ontology#>
SELECT ?a ?name WHERE { ?a a col:NameStringAgent ; foaf:name ?name }"""
_SPECIMENS = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?s ?cat ?occ ?sci WHERE {
  ?s a dwc:MaterialEntity .
  OPTIONAL { ?s dwc:catalogNumber ?cat }
  OPTIONAL { ?s dwc:occurrenceID ?occ }
  OPTIONAL { ?s dwc:scientificName ?sci }
}"""
_COUNTS = """
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX schema: <http://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?x (COUNT(DISTINCT ?s) AS ?n) WHERE {
  { ?s dwciri:recordedBy ?x } UNION { ?s dwciri:recordedBy ?a . ?a schema:sameAs|skos:exactMatch ?x }
} GROUP BY ?x"""


def _v(term: Any) -> str:
    """The text of a term: an IRI (a ``str``) or a literal's lexical form."""
    return term if isinstance(term, str) else str(getattr(term, "value", term))


def _year(text: str) -> int | None:
    m = re.match(r"\s*(-?\d{3,4})", str(text))
    return int(m.group(1)) if m else None


@dataclass
class Entity:
    id: str  # relative to the base IRI
    iri: str
    name: str
    type: dict[str, str]
    aliases: list[str] = field(default_factory=list)
    abbreviations: list[str] = field(default_factory=list)
    birth: int | None = None
    death: int | None = None
    ids: dict[str, str] = field(default_factory=dict)  # wikidata, orcid, ipni, viaf
    keys: set[str] = field(default_factory=set)  # folded name tokens, catalogue keys
    agent: bool = False
    description: str = ""

    def candidate(self) -> matcher.Candidate:
        return matcher.Candidate(
            iri=self.iri,
            source="graph",
            label=self.name,
            aliases=self.aliases,
            abbreviations=self.abbreviations,
            birth=matcher.FuzzyDate(self.birth) if self.birth else None,
            death=matcher.FuzzyDate(self.death) if self.death else None,
        )


def _identifier(iri: str) -> tuple[str, str] | None:
    for prefix, key in (
        ("http://www.wikidata.org/entity/", "wikidata"),
        ("https://orcid.org/", "orcid"),
        ("http://orcid.org/", "orcid"),
        ("https://www.ipni.org/a/", "ipni"),
        ("http://viaf.org/viaf/", "viaf"),
        ("https://viaf.org/viaf/", "viaf"),
    ):
        if iri.startswith(prefix):
            return key, iri[len(prefix) :].strip("/")
    return None


class Index:
    """What the service searches: people, name-string agents and specimens, read once."""

    def __init__(self, store: Store, base: str) -> None:
        self.base = base
        self.store = store
        self.entities: dict[str, Entity] = {}
        people: dict[str, Entity] = {}
        for row in store.query(_PEOPLE).rows():
            iri = _v(row["p"])
            e = people.get(iri)
            if e is None:
                e = people[iri] = Entity(self.rel(iri), iri, "", PERSON)
            if row.get("name") is not None and not e.name:
                e.name = _v(row["name"])
            for key, target in (("alt", e.aliases), ("abbr", e.abbreviations)):
                if row.get(key) is not None and _v(row[key]) not in target:
                    target.append(_v(row[key]))
            if row.get("birth") is not None:
                e.birth = _year(_v(row["birth"]))
            if row.get("death") is not None:
                e.death = _year(_v(row["death"]))
            if row.get("same") is not None and (found := _identifier(_v(row["same"]))):
                e.ids[found[0]] = found[1]
        for row in store.query(_AGENTS).rows():
            iri = _v(row["a"])
            people.setdefault(iri, Entity(self.rel(iri), iri, _v(row["name"]), PERSON, agent=True))
        for e in people.values():
            if not e.name:
                e.name = e.aliases[0] if e.aliases else e.id
            for n in [e.name, *e.aliases, *e.abbreviations]:
                e.keys.update(t for t in matcher.fold(n).split() if len(t) > 1)
            self.entities[e.id] = e
        for row in store.query(_SPECIMENS).rows():
            iri = _v(row["s"])
            e = self.entities.get(self.rel(iri))
            if e is None:
                e = Entity(self.rel(iri), iri, "", SPECIMEN)
                self.entities[e.id] = e
            for key in ("cat", "occ"):
                if row.get(key) is not None:
                    e.keys.add(matcher.compact(_v(row[key])))
                    e.name = e.name or _v(row[key])
            if row.get("sci") is not None:
                e.description = _v(row["sci"])
        for e in self.entities.values():
            if not e.name:
                e.name = e.id
        self.counts = {_v(r["x"]): int(_v(r["n"])) for r in store.query(_COUNTS).rows()}

    def rel(self, iri: str) -> str:
        return iri[len(self.base) :] if iri.startswith(self.base) else iri

    def get(self, ident: str) -> Entity | None:
        return self.entities.get(self.rel(str(ident)))


_CACHE: dict[int, tuple[Any, Index]] = {}


def index_for(store: Store, base: str = _BASE) -> Index:
    """The index of ``store``, rebuilt when the store's size or graphs change."""
    key = (store.count(), tuple(store.graphs()), base)
    cached = _CACHE.get(id(store))
    if cached is None or cached[0] != key:
        if len(_CACHE) > 8:  # handles reopened on disk: keep only recent ones
            _CACHE.clear()
        cached = _CACHE[id(store)] = (key, Index(store, base))
    return cached[1]


# -- the manifest ------------------------------------------------------------------------------


def manifest(service_url: str, base: str = _BASE) -> dict[str, Any]:
    """The 0.2 manifest; ``service_url`` is where ``/reconcile`` is served, e.g.
    ``http://127.0.0.1:5000/reconcile``. ``view`` is our own entity page."""
    root = service_url.rstrip("/").rsplit("/reconcile", 1)[0] + "/"
    return {
        "versions": ["0.2"],
        "name": "Collectomics people and specimens",
        "identifierSpace": base,
        "schemaSpace": base + "ontology#",
        "defaultTypes": TYPES,
        "view": {"url": root + "{{id}}"},
        "preview": {"url": service_url + "/preview?id={{id}}", "width": 400, "height": 120},
        "suggest": {
            "entity": {"service_url": service_url, "service_path": "/suggest/entity"},
            "type": {"service_url": service_url, "service_path": "/suggest/type"},
            "property": {"service_url": service_url, "service_path": "/suggest/property"},
        },
        "extend": {
            "propose_properties": {"service_url": service_url, "service_path": "/properties"},
            "property_settings": [],
        },
        "batchSize": BATCH_SIZE,
    }


# -- queries -----------------------------------------------------------------------------------


def _values(v: Any) -> list[str]:
    """A property value as strings: plain strings, numbers, ``{id, name}`` objects or lists."""
    if isinstance(v, list):
        return [x for item in v for x in _values(item)]
    if isinstance(v, dict):
        for k in ("id", "name"):  # the id when there is one: {id: "Q2987664", name: "Pius..."}
            if isinstance(v.get(k), (str, int, float)) and not isinstance(v.get(k), bool):
                return [str(v[k])]
        return []
    if isinstance(v, bool) or v is None:
        return []
    if isinstance(v, (str, int, float)):
        return [str(v)]
    return []


def _norm_id(kind: str, text: str) -> str:
    text = text.strip()
    if kind == "wikidata":
        m = re.search(r"Q\d+", text, re.I)
        return m.group(0).upper() if m else text
    if kind == "orcid":
        m = re.search(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", text, re.I)
        return m.group(0).upper() if m else text
    return text


@dataclass
class _Props:
    years: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _props(raw: Any) -> _Props:
    out = _Props()
    if not isinstance(raw, list):
        return out
    for p in raw:
        if not isinstance(p, dict):
            continue
        pid = p.get("pid") if isinstance(p.get("pid"), str) else ""
        pid = _PID_ALIASES.get(pid, pid)
        values = [s for s in _values(p.get("v")) if s.strip()]
        if pid in ("birthYear", "deathYear", "collectingYear"):
            out.years.setdefault(pid, []).extend(y for s in values if (y := _year(s)) is not None)
        elif pid in ("wikidata", "orcid"):
            out.ids.setdefault(pid, []).extend(_norm_id(pid, s) for s in values)
        elif pid == "abbreviation":
            out.abbreviations.extend(values)
        elif pid:
            out.unknown.append(pid)
    return out


def _feature(fid: str, value: float) -> dict[str, Any]:
    return {"id": fid, "value": round(value, 3)}


def _score_person(text: str, e: Entity, props: _Props) -> tuple[float, list[dict[str, Any]]]:
    years = props.years.get("collectingYear", [])
    agent = matcher.AgentEvidence(
        iri="query",
        name=text,
        written={text, *props.abbreviations},
        earliest=date(min(years), 1, 1) if years else None,
        latest=date(max(years), 12, 31) if years else None,
    )
    feats, _veto = matcher.features(agent, e.candidate())
    by = {f.name: f.value for f in feats}
    # the name alone: family, given, alias (0.8 of the matcher's weights), scaled to 0-100
    name = (0.40 * by["family"] + 0.25 * by["given"] + 0.15 * by["alias"]) / 0.80
    if by["family"] == 1.0 and by["given"] == 1.0:  # full given name and family name agree
        name = max(name, FULL_NAME)
    if by["given"] == 0.0:
        name = min(name, matcher.GIVEN_VETO_CAP)
    score = 100 * name
    out = [_feature("name_family", by["family"]), _feature("name_given", by["given"]),
           _feature("name_alias", by["alias"])]  # fmt: skip
    caps: list[float] = []
    if years:
        out.append(_feature("collecting_year_fit", by["dates"]))
        if by["dates"] == 0.0:
            caps.append(100 * matcher.DATES_VETO_CAP)
    for pid, life in (("birthYear", e.birth), ("deathYear", e.death)):
        for y in props.years.get(pid, []):
            if life is None:
                out.append(_feature(f"{pid}_unknown", 0.5))
            elif abs(life - y) <= 1:
                out.append(_feature(f"{pid}_fit", 1.0))
                score = min(100.0, score + 5)
            else:
                out.append(_feature(f"{pid}_fit", 0.0))
                caps.append(30.0)
    for pid, wanted in props.ids.items():
        have = e.ids.get(pid)
        for w in wanted:
            if have and have.upper() == w.upper():
                out.append(_feature(f"{pid}_agrees", 1.0))
                score = 100.0
            elif have:
                out.append(_feature(f"{pid}_agrees", 0.0))
                caps.append(20.0)
    for a in props.abbreviations:
        if any(matcher.compact(a) == matcher.compact(x) for x in e.abbreviations):
            out.append(_feature("abbreviation_agrees", 1.0))
            score = min(100.0, score + 10)
    if e.agent:
        out.append(_feature("name_string_agent", 1.0))
        score *= 0.9  # a name string, not a linked person: never as sure
    if caps:
        score = min(score, *caps)
    return round(score, 1), out


def _person_candidates(ix: Index, text: str, props: _Props) -> list[Entity]:
    tokens = {t for t in matcher.fold(text).split() if len(t) > 1}
    tokens |= {t for a in props.abbreviations for t in matcher.fold(a).split() if len(t) > 1}
    wanted = {(k, w.upper()) for k, ws in props.ids.items() for w in ws}
    out = []
    for e in ix.entities.values():
        if e.type is not PERSON:
            continue
        if tokens & e.keys or any((k, v.upper()) in wanted for k, v in e.ids.items()):
            out.append(e)
    return out


def _result(e: Entity, score: float, feats: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "type": [dict(e.type)],
        "score": score,
        "match": False,
        "features": feats,
        "description": _description(e),
    }


def _description(e: Entity) -> str:
    if e.type is SPECIMEN:
        return e.description
    if e.agent:
        return "name as written on records (not yet linked to a person)"
    life = f"{e.birth or '?'}-{e.death or ''}" if (e.birth or e.death) else ""
    return ", ".join(x for x in (life, *(f"{k}: {v}" for k, v in sorted(e.ids.items()))) if x)


def _persons(ix: Index, text: str, props: _Props) -> list[dict[str, Any]]:
    scored = []
    for e in _person_candidates(ix, text, props):
        s, feats = _score_person(text, e, props)
        if s >= PROPOSE_AT:
            scored.append((s, e, feats))
    best_person = max((s for s, e, _ in scored if not e.agent), default=0.0)
    if best_person >= AGENT_FALLBACK_BELOW:
        scored = [x for x in scored if not x[1].agent]
    return [_result(e, s, f) for s, e, f in scored]


def _specimens(ix: Index, text: str) -> list[dict[str, Any]]:
    key = matcher.compact(text)
    if not key:
        return []
    out = []
    for e in ix.entities.values():
        if e.type is not SPECIMEN:
            continue
        if key in e.keys:
            out.append(_result(e, 100.0, [_feature("identifier_exact", 1.0)]))
        elif len(key) >= 4 and any(key in k for k in e.keys):
            out.append(_result(e, 60.0, [_feature("identifier_contains", 1.0)]))
    return out


def _decide(results: list[dict[str, Any]]) -> None:
    results.sort(key=lambda r: (-r["score"], r["name"], r["id"]))
    if results:
        top = results[0]["score"]
        runner = results[1]["score"] if len(results) > 1 else 0.0
        results[0]["match"] = top >= MATCH_AT and top - runner >= MATCH_MARGIN


def reconcile_one(ix: Index, q: Any) -> dict[str, Any]:
    """One query, standing alone; anything malformed gets an empty result list."""
    try:
        if not isinstance(q, dict):
            return {"result": []}
        text = q.get("query")
        text = text if isinstance(text, str) else ""
        text = text[:MAX_QUERY_CHARS]
        qtype = q.get("type")
        if isinstance(qtype, list):  # several types: the first one we have
            qtype = next((t for t in qtype if t in ("Person", "Specimen")), qtype[:1] or None)
            qtype = qtype[0] if isinstance(qtype, list) else qtype
        if isinstance(qtype, dict):
            qtype = qtype.get("id")
        if qtype is not None and not isinstance(qtype, str):
            return {"result": []}
        if qtype not in (None, "", "Person", "Specimen"):
            # type_strict "should" (OpenRefine's default) is a preference: search every type;
            # "any" / "all" (or none given) are strict: nothing here is of an unknown type
            if q.get("type_strict") != "should":
                return {"result": []}
            qtype = None
        props = _props(q.get("properties"))
        if not text.strip() and not props.ids:
            return {"result": []}
        if qtype in (None, "", "Person"):
            results = _persons(ix, text, props)
        elif qtype == "Specimen":
            results = _specimens(ix, text)
        else:
            return {"result": []}  # a type we do not have: nothing can be of it
        if qtype in (None, "") and not results:
            results = _specimens(ix, text)
        limit = q.get("limit", DEFAULT_LIMIT)
        limit = limit if isinstance(limit, int) and 0 < limit <= 100 else DEFAULT_LIMIT
        _decide(results)
        return {"result": results[:limit]}
    except Exception:  # noqa: BLE001 - OpenRefine must always get a well-formed answer
        log.exception("reconciliation query failed: %.200r", q)
        return {"result": []}


def reconcile(store: Store, queries: Any, base: str = _BASE) -> dict:
    """Answer a batch ``{"q0": {...}, ...}`` (or its JSON text). Bad input: empty results."""
    if isinstance(queries, (str, bytes)):
        try:
            queries = json.loads(queries)
        except (ValueError, RecursionError):
            log.warning("reconciliation: queries are not JSON")
            return {}
    if not isinstance(queries, dict):
        log.warning("reconciliation: queries are not a JSON object")
        return {}
    ix = index_for(store, base)
    out = {}
    for key in list(queries)[:MAX_BATCH]:
        out[str(key)] = reconcile_one(ix, queries[key])
    return out


# -- suggest, preview, extend ------------------------------------------------------------------


def _prefix_hit(prefix: str, *names: str) -> bool:
    p = matcher.fold(prefix)
    if not p:
        return False
    for n in names:
        f = matcher.fold(n)
        if f.startswith(p) or any(w.startswith(p) for w in f.split()):
            return True
    return False


def suggest_entities(store: Store, prefix: str, base: str = _BASE, limit: int = 10) -> dict:
    ix = index_for(store, base)
    hits = [
        e for e in ix.entities.values()
        if _prefix_hit(prefix, e.name, *e.aliases, *e.abbreviations)
        or (e.type is SPECIMEN and matcher.compact(prefix) and any(
            k.startswith(matcher.compact(prefix)) for k in e.keys))
    ]  # fmt: skip
    hits.sort(key=lambda e: (e.agent, e.type is SPECIMEN, e.name))
    return {
        "result": [
            {"id": e.id, "name": e.name, "description": _description(e)} for e in hits[:limit]
        ]
    }


def suggest_types(prefix: str) -> dict:
    return {"result": [dict(t) for t in TYPES if _prefix_hit(prefix, t["name"])]}


def suggest_properties(prefix: str) -> dict:
    return {
        "result": [
            {"id": pid, "name": name}
            for pid, name in QUERY_PROPERTIES.items()
            if _prefix_hit(prefix, name, pid)
        ]
    }


def preview(store: Store, ident: str, base: str = _BASE) -> str | None:
    """A small HTML card (every value escaped), or None for an unknown id."""
    e = index_for(store, base).get(ident)
    if e is None:
        return None
    esc = html.escape
    rows = [f"<strong>{esc(e.name)}</strong> <small>{esc(e.type['name'])}</small>"]
    if desc := _description(e):
        rows.append(f"<div>{esc(desc)}</div>")
    if e.aliases:
        rows.append(f"<div>also: {esc('; '.join(e.aliases[:4]))}</div>")
    if e.type is PERSON:
        rows.append(f"<div>specimens: {ix_count(store, base, e)}</div>")
    return (
        "<html><head><meta charset='utf-8'></head>"
        "<body style='margin:0;font:13px sans-serif'><div style='padding:6px'>"
        + "".join(rows)
        + "</div></body></html>"
    )


def ix_count(store: Store, base: str, e: Entity) -> int:
    return index_for(store, base).counts.get(e.iri, 0)


def propose_properties(type_id: str, limit: int = 10) -> dict:
    props = [{"id": k, "name": v} for k, v in EXTEND_PROPERTIES.items()]
    return {"type": type_id or "Person", "limit": limit, "properties": props[:limit]}


def extend(store: Store, request: Any, base: str = _BASE) -> dict:
    """Data extension: ``{"ids": [...], "properties": [{"id": ...}]}``; unknown ids or
    properties get empty value lists."""
    if isinstance(request, (str, bytes)):
        try:
            request = json.loads(request)
        except (ValueError, RecursionError):
            request = {}
    if not isinstance(request, dict):
        request = {}
    ids = [i for i in request.get("ids", []) if isinstance(i, str)] if isinstance(
        request.get("ids"), list) else []  # fmt: skip
    wanted = request.get("properties") if isinstance(request.get("properties"), list) else []
    pids = [p["id"] for p in wanted if isinstance(p, dict) and isinstance(p.get("id"), str)]
    ix = index_for(store, base)
    rows: dict[str, Any] = {}
    for i in ids:
        e = ix.get(i)
        row: dict[str, list[dict[str, Any]]] = {}
        for pid in pids:
            row[pid] = _extend_value(ix, e, pid) if e is not None else []
        rows[i] = row
    meta = [{"id": p, "name": EXTEND_PROPERTIES.get(p, p)} for p in pids]
    return {"meta": meta, "rows": rows}


def _extend_value(ix: Index, e: Entity, pid: str) -> list[dict[str, Any]]:
    if pid in ("wikidata", "orcid", "ipni", "viaf"):
        v = e.ids.get(pid)
        return [{"str": v}] if v else []
    if pid == "birthDate" and e.birth:
        return [{"str": str(e.birth)}]
    if pid == "deathDate" and e.death:
        return [{"str": str(e.death)}]
    if pid == "specimenCount" and e.type is PERSON:
        return [{"float": ix.counts.get(e.iri, 0)}]
    return []
