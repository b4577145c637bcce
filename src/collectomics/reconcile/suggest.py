"""Suggest (entities, types, properties), preview cards and the view of an entity."""

from __future__ import annotations

import bisect
import html

from collectomics.reconcile.extend import extension_properties
from collectomics.reconcile.index import Entity, index_for
from collectomics.reconcile.schema import (
    BASE,
    DOCUMENT,
    PERSON,
    PID_ALIASES,
    QUERY_PROPERTIES,
    TYPES,
    known_type,
)
from collectomics.reconcile.scoring import (
    describe,
)
from collectomics.reconcile.text import compact, fold
from collectomics.store import Store


def prefix_hit(prefix: str, *names: str) -> bool:
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
    wanted = known_type(type_id) if type_id else None
    hits: dict[str, tuple[int, Entity]] = {}
    k = bisect.bisect_left(rows, (first,))
    end = k + 20000  # a one-letter prefix: enough to fill a page, not the whole index
    while k < min(len(rows), end) and rows[k][0].startswith(first) and len(hits) < 2000:
        _, rank, e = rows[k]
        k += 1
        if wanted and e.type["id"] != wanted:
            continue
        if " " in folded and not prefix_hit(prefix, *e.names()):
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
    return {"result": [dict(t) for t in TYPES if prefix_hit(prefix, t["name"], t["id"])]}


def suggest_properties(
    prefix: str, type_id: str | None = None, limit: int = 10, cursor: int = 0
) -> dict:
    """Properties by prefix, for the one property suggest service OpenRefine uses in two
    dialogs, told apart by ``type``: its reconciliation dialog always sends the type it
    reconciles against (``type=Person``): query properties, also found by an alias
    (``P569`` finds ``birthYear``); its "Add columns from reconciled values" dialog sends none:
    the extension properties of every type, each once with its one name, its description saying
    which types have it. An empty prefix lists them all; ``cursor`` skips as many."""
    if type_id:
        found = [
            {"id": pid, "name": name}
            for pid, name in QUERY_PROPERTIES.items()
            if not fold(prefix)
            or prefix_hit(prefix, name, pid, *(a for a, t in PID_ALIASES.items() if t == pid))
        ]
    else:
        found = [
            p
            for p in extension_properties()
            if not fold(prefix) or prefix_hit(prefix, p["name"], p["id"])
        ]
    start = max(0, cursor)
    return {"result": found[start : start + max(0, limit)]}


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
