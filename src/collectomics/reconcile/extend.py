"""Data extension: the properties proposed per type and their values."""

from __future__ import annotations

import json
import logging
from typing import Any

from collectomics.reconcile.index import Entity, Index, index_for
from collectomics.reconcile.schema import (
    ALL_EXTEND,
    BASE,
    DOCUMENT,
    EXTEND_PROPERTIES,
    INSTITUTION,
    MAX_BATCH,
    PERSON,
    SPECIMEN,
    known_type,
)
from collectomics.store import Store

log = logging.getLogger(__name__)


def propose_properties(type_id: str, limit: int = 10) -> dict:
    tid = known_type(type_id or "Person") or "Person"
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
