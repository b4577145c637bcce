"""The Reconciliation Service API 0.2 answers: manifest, queries, suggest, preview, view and
data extension."""

from __future__ import annotations

import bisect
import html
import json
import logging
from typing import Any

from collectomics.mapping.names import is_organisation_agent, is_unknown_agent
from collectomics.reconcile.index import Entity, Index, index_for
from collectomics.reconcile.schema import (
    ALL_EXTEND,
    BASE,
    BATCH_SIZE,
    DEFAULT_LIMIT,
    DOCUMENT,
    EXTEND_PROPERTIES,
    INSTITUTION,
    MAX_BATCH,
    MAX_QUERY_CHARS,
    PERSON,
    QUERY_PROPERTIES,
    SPECIMEN,
    TYPE_ALIASES,
    TYPE_IDS,
    TYPES,
)
from collectomics.reconcile.scoring import (
    decide,
    describe,
    person_results,
    read_props,
    specimen_results,
    text_results,
)
from collectomics.reconcile.text import compact, fold
from collectomics.store import Store

log = logging.getLogger(__name__)

# -- the manifest ------------------------------------------------------------------------------


def manifest(service_url: str, base: str = BASE) -> dict[str, Any]:
    """The 0.2 manifest; ``service_url`` is where ``/reconcile`` is served, e.g.
    ``http://127.0.0.1:5000/reconcile``. ``view`` leads to our own entity page."""
    return {
        "versions": ["0.2"],
        "name": "Collectomics people, specimens, institutions and documents",
        "identifierSpace": base,
        "schemaSpace": base + "ontology#",
        "defaultTypes": [dict(PERSON)],
        "view": {"url": service_url + "/view?id={{id}}"},
        "preview": {"url": service_url + "/preview?id={{id}}", "width": 400, "height": 140},
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


def _query_type(q: dict[str, Any]) -> str | None:
    """The type asked for: a known type id, None (any), or "" for a type we do not have."""
    qtype = q.get("type")
    if isinstance(qtype, list):  # several types: the first one we have
        known = [t for t in qtype if isinstance(t, str) and _type_id(t)]
        qtype = known[0] if known else (qtype[0] if qtype else None)
    if isinstance(qtype, dict):
        qtype = qtype.get("id")
    if qtype is None or qtype == "":
        return None
    if not isinstance(qtype, str):
        return ""
    return _type_id(qtype) or ""


def _type_id(text: str) -> str | None:
    if text in TYPE_IDS:
        return text
    folded = text.strip().lower().rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    for tid in TYPE_IDS:
        if folded == tid.lower():
            return tid
    return TYPE_ALIASES.get(folded)


def reconcile_one(ix: Index, q: Any) -> dict[str, Any]:
    """One query, standing alone; anything malformed gets an empty result list."""
    try:
        if not isinstance(q, dict):
            return {"result": []}
        text = q.get("query")
        text = text if isinstance(text, str) else ""
        text = text[:MAX_QUERY_CHARS]
        qtype = _query_type(q)
        if qtype == "":
            # type_strict "should" (OpenRefine's default) is a preference: search every type;
            # "any" / "all" (or none given) are strict: nothing here is of an unknown type
            if q.get("type_strict") != "should":
                return {"result": []}
            qtype = None
        props = read_props(q.get("properties"))
        if props.unknown:
            log.info("reconciliation: unknown properties ignored: %s", ", ".join(props.unknown))
        if not text.strip() and not props.ids:
            return {"result": []}
        results: list[dict[str, Any]] = []
        if qtype in (None, "Person"):
            # "Anon.", "s.coll.", "?" name no one (Añón), "Zoological Survey of India" names an
            # organisation: neither is ever proposed as a person
            unknown = is_unknown_agent(text) or is_organisation_agent(text)
            if not unknown or props.ids:
                results = person_results(ix, "" if unknown else text, props)
        if qtype == "Specimen" or (qtype is None and not results):
            results = specimen_results(ix, text, props)
        if qtype == "Institution" or (qtype is None and not results):
            results = text_results(ix, text, props, INSTITUTION)
        if qtype == "Document" or (qtype is None and not results):
            results = text_results(ix, text, props, DOCUMENT)
        limit = q.get("limit", DEFAULT_LIMIT)
        limit = limit if isinstance(limit, int) and 0 < limit <= 100 else DEFAULT_LIMIT
        decide(results)
        return {"result": results[:limit]}
    except Exception:  # noqa: BLE001 - OpenRefine must always get a well-formed answer
        log.exception("reconciliation query failed: %.200r", q)
        return {"result": []}


def reconcile(store: Store, queries: Any, base: str = BASE) -> dict:
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
    keys = list(queries)[:MAX_BATCH]
    try:
        ix = index_for(store, base)
    except Exception:  # noqa: BLE001 - the store failed: still a well-formed answer, logged
        log.exception("reconciliation: cannot read the store")
        return {str(key): {"result": []} for key in keys}
    return {str(key): reconcile_one(ix, queries[key]) for key in keys}


# -- suggest, preview, view, extend ----------------------------------------------------------


def _prefix_hit(prefix: str, *names: str) -> bool:
    p = fold(prefix)
    if not p:
        return False
    for n in names:
        f = fold(n)
        if f.startswith(p) or any(w.startswith(p) for w in f.split()):
            return True
    return False


def suggest_entities(
    store: Store, prefix: str, base: str = BASE, limit: int = 10, type_id: str | None = None
) -> dict:
    """Entities with a word of a name (or an identifier) starting with ``prefix``: people
    first, then institutions and documents, then agents and specimens."""
    ix = index_for(store, base)
    folded = fold(prefix)
    if not folded:
        return {"result": []}
    rows = ix.suggest_words()
    first = folded.split()[0]
    wanted = _type_id(type_id) if type_id else None
    hits: dict[str, tuple[int, Entity]] = {}
    k = bisect.bisect_left(rows, (first,))
    end = k + 20000  # a one-letter prefix: enough to fill a page, not the whole index
    while k < min(len(rows), end) and rows[k][0].startswith(first) and len(hits) < 2000:
        _, rank, e = rows[k]
        k += 1
        if wanted and e.type["id"] != wanted:
            continue
        if " " in folded and not _prefix_hit(prefix, *e.names()):
            continue
        if e.id not in hits or rank < hits[e.id][0]:
            hits[e.id] = (rank + (1 if e.agent else 0), e)
    key = compact(prefix)
    if wanted in (None, "Specimen") and len(key) >= 2:  # catalogue numbers and barcodes
        others = ix.others()
        k = bisect.bisect_left(others.sorted_keys, key)
        while k < len(others.sorted_keys) and others.sorted_keys[k].startswith(key):
            for e in others.keys[others.sorted_keys[k]]:
                hits.setdefault(e.id, (3, e))
            k += 1
            if len(hits) >= 2000:
                break
    ordered = sorted(hits.values(), key=lambda h: (h[0], -h[1].specimens, h[1].name))
    return {
        "result": [
            {"id": e.id, "name": e.name, "description": describe(e)} for _, e in ordered[:limit]
        ]
    }


def suggest_types(prefix: str) -> dict:
    return {"result": [dict(t) for t in TYPES if _prefix_hit(prefix, t["name"], t["id"])]}


def suggest_properties(prefix: str) -> dict:
    return {
        "result": [
            {"id": pid, "name": name}
            for pid, name in QUERY_PROPERTIES.items()
            if _prefix_hit(prefix, name, pid)
        ]
    }


def preview(store: Store, ident: str, base: str = BASE) -> str | None:
    """A small HTML card (every value escaped), or None for an unknown id."""
    e = index_for(store, base).get(ident)
    if e is None:
        return None
    return (
        "<html><head><meta charset='utf-8'></head>"
        "<body style='margin:0;font:13px sans-serif'><div style='padding:6px'>"
        + _card(e)
        + "</div></body></html>"
    )


def _card(e: Entity) -> str:
    esc = html.escape
    rows = [f"<strong>{esc(e.name)}</strong> <small>{esc(e.type['name'])}</small>"]
    if desc := describe(e):
        rows.append(f"<div>{esc(desc)}</div>")
    if e.aliases:
        rows.append(f"<div>also: {esc('; '.join(e.aliases[:4]))}</div>")
    if e.type is PERSON:
        rows.append(f"<div>specimens: {e.specimens}</div>")
    if e.first_year is not None and e.type is not DOCUMENT:
        span = f"{e.first_year}-{e.last_year}" if e.last_year != e.first_year else e.first_year
        rows.append(f"<div>collected: {esc(str(span))}</div>")
    if e.countries:
        rows.append(f"<div>countries: {esc(', '.join(sorted(e.countries)[:12]))}</div>")
    return "".join(rows)


def view(store: Store, ident: str, base: str = BASE) -> tuple[str, str] | None:
    """Where ``view`` leads: ``("redirect", path)`` to the entity's page under the server's
    root, ``("html", page)`` for an institution known only by codes on specimens (it has no
    node in the graph), or None for an unknown id."""
    e = index_for(store, base).get(ident)
    if e is None:
        return None
    if e.in_graph and e.iri.startswith(base):
        return "redirect", "/" + e.iri[len(base) :]
    colls = e.extra.get("collections", [])
    body = _card(e) + (f"<p>collections: {html.escape(', '.join(colls))}</p>" if colls else "")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(e.name)}</title></head><body style='font:15px sans-serif'>"
        f"<h1>{html.escape(e.name)}</h1>{body}"
        "<p>Known from the <code>dwc:institutionCode</code> and <code>dwc:collectionCode</code> "
        "written on specimens; see the <a href='/dashboard'>dashboard</a>.</p></body></html>"
    )
    return "html", page


def propose_properties(type_id: str, limit: int = 10) -> dict:
    tid = _type_id(type_id or "Person") or "Person"
    props = [{"id": k, "name": v} for k, v in EXTEND_PROPERTIES[tid].items()]
    return {"type": tid, "limit": limit, "properties": props[:limit]}


def extend(store: Store, request: Any, base: str = BASE) -> dict:
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
    for i in ids[: MAX_BATCH * 10]:
        e = ix.get(i)
        row: dict[str, list[dict[str, Any]]] = {}
        for pid in pids[:50]:
            try:
                row[pid] = _extend_value(ix, e, pid) if e is not None else []
            except Exception:  # noqa: BLE001 - one value must not spoil the answer
                log.exception("reconciliation: cannot extend %r with %r", i, pid)
                row[pid] = []
        rows[i] = row
    meta = []
    for p in pids[:50]:
        m: dict[str, Any] = {"id": p, "name": ALL_EXTEND.get(p, p)}
        if p == "coCollectors":
            m["type"] = dict(PERSON)
        meta.append(m)
    return {"meta": meta, "rows": rows}


def _extend_value(ix: Index, e: Entity, pid: str) -> list[dict[str, Any]]:
    if pid in ("wikidata", "orcid", "ipni", "viaf"):
        v = e.ids.get(pid)
        return [{"str": v}] if v else []
    if pid == "birthDate" and e.birth:
        return [{"str": str(e.birth)}]
    if pid == "deathDate" and e.death:
        return [{"str": str(e.death)}]
    if pid == "specimenCount" and e.type in (PERSON, INSTITUTION):
        return [{"int": e.specimens}]
    if pid == "firstYear" and e.first_year is not None and e.type is not DOCUMENT:
        return [{"int": e.first_year}]
    if pid == "lastYear" and e.last_year is not None and e.type is not DOCUMENT:
        return [{"int": e.last_year}]
    if pid == "countries":
        return [{"str": c} for c in sorted(e.countries)]
    if pid == "family" and e.type is SPECIMEN:
        return [{"str": f} for f in sorted(e.families)]
    if pid in ("catalogNumber", "occurrenceID", "scientificName", "date"):
        return [{"str": v} for v in e.extra.get(pid, [])]
    if pid == "creator":
        return [
            {"id": ix.by_iri[c].id, "name": ix.by_iri[c].name} if c in ix.by_iri else {"str": c}
            for c in e.extra.get("creator", [])
        ]
    if pid == "coCollectors" and e.type is PERSON:
        return [{"id": o.id, "name": o.name} for o, _ in ix.ties(e)[:50]]
    return []
