"""Data extension: the properties proposed per type and their values.

Each property has one id and one name (:data:`schema.EXTENSION`), so the column OpenRefine
makes is named as the property is, whatever the type. Values that are entities come back as
reconciled entities: people, institutions and documents as our ids, countries and a person's or
an institution's Wikidata item as QIDs (the column's ``meta`` names the Wikidata service whose
identifier space holds them, and the type of each entity-valued column). Dates come back to the
precision the graph holds (docs/reconciliation.md)."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from collectomics.analysis.network import institution_iri, table
from collectomics.mapping.countries import COUNTRIES
from collectomics.mapping.dates import year_precision_type
from collectomics.model import IRI
from collectomics.services.reconcile.index import Entity, Index, index_for
from collectomics.services.reconcile.schema import (
    BASE,
    EXTENSION,
    MAX_BATCH,
    PERSON,
    TYPE_IDS,
    WIKIDATA_HUMAN,
    WIKIDATA_ORGANIZATION,
    WIKIDATA_SERVICE,
    ExtendProperty,
    known_type,
)
from collectomics.store import Store

log = logging.getLogger(__name__)

#: at most this many ids and properties are read from one request
MAX_IDS = MAX_BATCH * 10
MAX_PROPERTIES = 50

Value = dict[str, Any]

#: where a Wikidata item handed out by data extension is shown
WIKIDATA_PAGE = "https://www.wikidata.org/wiki/"
_QID = re.compile(r"Q[1-9][0-9]*")
_COUNTRY_NAMES = {qid: name for qid, name in COUNTRIES.values()}

#: What the index does not hold, read per entity when a request asks for it: one query per
#: entity (bound with substitutions; a request holds at most MAX_IDS ids), over the union of the
#: graphs (the materialised facets graph holds none of these).
_FACTS = """SELECT ?e ?k ?v (DATATYPE(?v) AS ?t) WHERE {
  { VALUES ?k { schema:birthDate schema:deathDate dwc:institutionCode dwc:family } ?e ?k ?v }
  UNION { ?e schema:affiliation ?role . ?role schema:affiliation ?v . FILTER(isIRI(?v))
          BIND(schema:affiliation AS ?k) }
  UNION { ?e col:collectingEvent ?event . ?event dwc:eventDate ?v BIND(dwc:eventDate AS ?k) } }"""
_SCHEMA = "http://schema.org/"
_DWC = "http://rs.tdwg.org/dwc/terms/"


class _Reading:
    """One request's reading: the index, and the facts of each entity read at most once."""

    def __init__(self, ix: Index) -> None:
        self.ix = ix
        self._facts: dict[str, dict[str, list[tuple[str, str]]]] = {}

    def facts(self, e: Entity, key: str) -> list[tuple[str, str]]:
        """(value, datatype) of ``e`` for ``key`` (a full predicate IRI), sorted."""
        if e.iri not in self._facts:
            found: dict[str, list[tuple[str, str]]] = {}
            for _, k, v, t in table(self.ix.store, _FACTS, params={"e": IRI(e.iri)}):
                found.setdefault(k, []).append((v, t))
            self._facts[e.iri] = {k: sorted(set(vs)) for k, vs in found.items()}
        return self._facts[e.iri].get(key, [])


def propose_properties(type_id: Any, limit: int = 10) -> dict[str, Any]:
    """The extension properties of a type (``/properties?type=``). ``type`` echoes the id as
    given (the 0.2 spec); no type (a column reconciled without one) proposes every property, a
    type we do not have none."""
    given = type_id if isinstance(type_id, str) else ""
    tid = known_type(given) if given.strip() else None
    if given.strip() and tid is None:
        chosen: list[ExtendProperty] = []
    else:
        chosen = [p for p in EXTENSION.values() if tid is None or tid in p.types]
    props = [{"id": p.id, "name": p.name, "description": _describe(p)} for p in chosen]
    return {"type": given, "limit": limit, "properties": props[: max(0, limit)]}


def _describe(p: ExtendProperty) -> str:
    return f"{', '.join(TYPE_IDS[t]['name'] for t in p.types)}: {p.description}"


def extension_properties() -> list[dict[str, str]]:
    """Every extension property once, with its one name and a description saying which types
    have it: what the property suggest of OpenRefine's extension dialog searches."""
    return [{"id": p.id, "name": p.name, "description": _describe(p)} for p in EXTENSION.values()]


def extend(store: Store, request: Any, base: str = BASE) -> dict[str, Any]:
    """Data extension: ``{"ids": [...], "properties": [{"id": ...}]}``; unknown ids or
    properties get empty value lists."""
    if isinstance(request, (str, bytes)):
        try:
            request = json.loads(request)
        except (ValueError, RecursionError):
            request = {}
    if not isinstance(request, dict):
        request = {}
    raw_ids = request.get("ids")
    ids = [i for i in raw_ids[:MAX_IDS] if _text(i)] if isinstance(raw_ids, list) else []
    wanted = request.get("properties") if isinstance(request.get("properties"), list) else []
    pids = [
        p["id"] for p in wanted[: MAX_PROPERTIES * 2] if isinstance(p, dict) and _text(p.get("id"))
    ]
    pids = list(dict.fromkeys(pids))[:MAX_PROPERTIES]
    ix = index_for(store, base)
    reading = _Reading(ix)
    found = {i: ix.get(i) for i in ids}
    rows: dict[str, Any] = {}
    for i in ids:
        e = found[i]
        row: dict[str, list[Value]] = {}
        for pid in pids:
            try:
                row[pid] = _values(reading, e, pid) if e is not None else []
            except Exception:  # noqa: BLE001 - one value must not spoil the answer
                log.exception("reconciliation: cannot extend %r with %r", i, pid)
                row[pid] = []
        rows[i] = row
    subjects = [e for e in found.values() if e is not None]
    return {"meta": [_meta(pid, subjects) for pid in pids], "rows": rows}


def _text(value: Any) -> bool:
    """A string that can be echoed in the answer: ids and property ids are written back, and a
    lone surrogate (``"\\ud800"``, valid in JSON) cannot be encoded; it names nothing here."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        log.info("reconciliation: an extension id that is not UTF-8 text is left out")
        return False
    return True


def _meta(pid: str, subjects: list[Entity]) -> dict[str, Any]:
    """A column's metadata: its one name, and for entities their type (and for Wikidata items
    the service whose identifier space holds them)."""
    p = EXTENSION.get(pid)
    if p is None:
        return {"id": pid, "name": pid}
    m: dict[str, Any] = {"id": pid, "name": p.name}
    if p.value == "entity" and p.entity_type is not None:
        m["type"] = dict(p.entity_type)
    elif p.value == "wikidata":
        if p.entity_type is not None:
            m["type"] = dict(p.entity_type)
        else:  # the item of each entity: people are humans, institutions organisations
            kinds = {e.type["id"] for e in subjects if e.type["id"] in p.types}
            m["type"] = dict(WIKIDATA_ORGANIZATION if kinds == {"Institution"} else WIKIDATA_HUMAN)
        m["service"] = WIKIDATA_SERVICE
    return m


def _values(r: _Reading, e: Entity, pid: str) -> list[Value]:
    p = EXTENSION.get(pid)
    if p is None or e.type["id"] not in p.types:
        return []
    reader = _READERS.get(pid)
    return reader(r, e) if reader is not None else []


def _str(values: list[str]) -> list[Value]:
    return [{"str": v} for v in values if v]


def _int(value: int | None) -> list[Value]:
    return [] if value is None else [{"int": value}]


def date_value(text: str, datatype: str = "") -> Value | None:
    """A date as the 0.2 spec writes it, to the precision the graph holds: a day (``xsd:date``,
    ``xsd:dateTime``, ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm...``) as ``{"date": "1888-03-21T00:00:00+00:00"}`` (a date cell
    in OpenRefine); a month or a year as the ISO text ``{"str": "1888-03"}``, ``{"str":
    "1888"}`` (a date value has no precision: ``1888-01-01`` would claim a day; OpenRefine's
    Wikidata schema reads ``1888`` as a year); anything else as written."""
    text = text.strip()
    if not text:
        return None
    local = datatype.rsplit("#", 1)[-1]
    timed = local in ("date", "dateTime") or text[10:11] == "T"  # a date-time: its day
    kind = year_precision_type(text[:10]) if timed else year_precision_type(text)
    if kind == "date":
        return {"date": f"{text[:10]}T00:00:00+00:00"}
    return {"str": text}


def _dates(r: _Reading, e: Entity, prop: str) -> list[Value]:
    out: list[Value] = []
    for v, t in r.facts(e, _SCHEMA + prop):
        if (value := date_value(v, t)) is not None and value not in out:
            out.append(value)
    return out


def _entity(x: Entity) -> Value:
    return {"id": x.id, "name": x.name}


def _wikidata(r: _Reading, e: Entity) -> list[Value]:
    qid = e.ids.get("wikidata")
    return [{"id": qid, "name": e.name}] if qid else []


def _countries(r: _Reading, e: Entity) -> list[Value]:
    out: list[Value] = []
    for code in sorted(e.countries):
        known = COUNTRIES.get(code)
        out.append({"id": known[0], "name": known[1]} if known else {"str": code})
    return out


def _co_collectors(r: _Reading, e: Entity) -> list[Value]:
    """People and name strings named on the same specimens, most shared first; organisations
    named with them (``PARTY``, a survey) are left out: the column holds people."""
    return [_entity(o) for o, _ in r.ix.ties(e) if o.type is PERSON][:50]


def _affiliations(r: _Reading, e: Entity) -> list[Value]:
    found = [x for v, _ in r.facts(e, _SCHEMA + "affiliation") if (x := r.ix.get(v)) is not None]
    return [_entity(x) for x in sorted(found, key=lambda x: x.name)]


def _institution(r: _Reading, e: Entity) -> list[Value]:
    """The institution of the specimen's dwc:institutionCode: ours (``institution/K``)."""
    out = []
    for code, _ in r.facts(e, _DWC + "institutionCode"):
        x = r.ix.get(r.ix.rel(institution_iri(r.ix.minter, code)))
        out.append(_entity(x) if x is not None else {"str": code})
    return out


def _families(r: _Reading, e: Entity) -> list[Value]:
    """The specimen's dwc:family as written (the index keeps it folded, for comparing)."""
    return _str([f for f, _ in r.facts(e, _DWC + "family")])


def _graph_entities(r: _Reading, e: Entity, key: str) -> list[Value]:
    """Values of ``e.extra[key]`` (IRIs): our entity where the graph has one, else the text."""
    out = []
    for v in e.extra.get(key, []):
        x = r.ix.by_iri.get(v)
        out.append(_entity(x) if x is not None else {"str": v})
    return out


_READERS: dict[str, Callable[[_Reading, Entity], list[Value]]] = {
    "wikidata": _wikidata,
    "orcid": lambda r, e: _str([e.ids.get("orcid", "")]),
    "ipni": lambda r, e: _str([e.ids.get("ipni", "")]),
    "viaf": lambda r, e: _str([e.ids.get("viaf", "")]),
    "abbreviation": lambda r, e: _str(e.abbreviations),
    "birthDate": lambda r, e: _dates(r, e, "birthDate"),
    "deathDate": lambda r, e: _dates(r, e, "deathDate"),
    "affiliations": _affiliations,
    "specimenCount": lambda r, e: _int(e.specimens),
    "firstYear": lambda r, e: _int(e.first_year),
    "lastYear": lambda r, e: _int(e.last_year),
    "countries": _countries,
    "coCollectors": _co_collectors,
    "catalogNumber": lambda r, e: _str(e.extra.get("catalogNumber", [])),
    "occurrenceID": lambda r, e: _str(e.extra.get("occurrenceID", [])),
    "scientificName": lambda r, e: _str(e.extra.get("scientificName", [])),
    "family": _families,
    "institution": _institution,
    "date": lambda r, e: [v for d in e.extra.get("date", []) if (v := date_value(d))],
    "eventDate": lambda r, e: [
        v for d, t in r.facts(e, _DWC + "eventDate") if (v := date_value(d, t))
    ],
    "creator": lambda r, e: _graph_entities(r, e, "creator"),
    "holder": lambda r, e: _graph_entities(r, e, "holder"),
}


def wikidata_item(store: Store, ident: str, base: str = BASE) -> tuple[str, str] | None:
    """``(name, page)`` of a Wikidata item that data extension hands out (a country, a
    person's or an institution's QID), or None. OpenRefine files those cells under this
    service, so its link (``view``) and hover card (``preview``) on them come here."""
    qid = ident.strip() if isinstance(ident, str) else ""
    if not _QID.fullmatch(qid):
        return None
    name = _COUNTRY_NAMES.get(qid)
    if name is None:
        ix = index_for(store, base)
        for entities in (ix.by_id.values, lambda: ix.others().virtual.values()):
            found = [e for e in entities() if e.ids.get("wikidata") == qid]
            if found:
                name = min(found, key=lambda e: e.id).name
                break
    return None if name is None else (name, WIKIDATA_PAGE + qid)


def wikidata_card(name: str, page: str) -> str:
    """The preview card of a Wikidata item (every value escaped)."""
    qid = page.rsplit("/", 1)[-1]
    return (
        "<html><head><meta charset='utf-8'></head>"
        "<body style='margin:0;font:13px sans-serif'><div style='padding:6px'>"
        f"<strong>{html.escape(name)}</strong> <small>Wikidata item {html.escape(qid)}</small>"
        "</div></body></html>"
    )
