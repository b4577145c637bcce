"""Suggest (entities, types, properties), preview cards and the view of an entity."""

from __future__ import annotations

import bisect
import html
import threading
import weakref
from collections.abc import Callable
from typing import Any

from collectomics.mapping.names import read_agents
from collectomics.services.reconcile.extend import extension_properties
from collectomics.services.reconcile.index import Entity, Index, index_for
from collectomics.services.reconcile.lookup import lookup
from collectomics.services.reconcile.schema import (
    BASE,
    DOCUMENT,
    PERSON,
    PID_ALIASES,
    QUERY_PROPERTIES,
    TYPES,
    known_type,
)
from collectomics.services.reconcile.scoring import (
    describe,
)
from collectomics.services.reconcile.text import compact, fold
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


#: entities ranked per suggest answer at most (a page is cut from them with ``cursor``)
MOST = 2000
#: a cell longer than this is not split into names (suggest answers as the volunteer types)
MAX_CELL = 300
#: sort order of types among equals: people, then institutions and documents, then name
#: strings, then specimens
_TYPE_ORDER = {"Person": 0, "Institution": 1, "Document": 1, "Specimen": 3}

#: per index, per entity id (not ``id(e)``: a shared index makes an entity anew per request,
#: and a freed object's address is reused)
_FORMS: weakref.WeakKeyDictionary[Index, dict[str, _Forms]] = weakref.WeakKeyDictionary()
_FORMS_LOCK = threading.Lock()


class _Forms:
    """An entity's names as suggest compares them: the words of each name, alias and
    abbreviation (folded: accents dropped, other scripts transliterated), and their compact
    forms ("Hook.f." -> "hookf")."""

    __slots__ = ("words", "compacts", "exact")

    def __init__(self, e: Entity) -> None:
        names = e.names()
        self.words = [fold(n).split() for n in names]
        self.compacts = {compact(n) for n in names} - {""}
        self.exact = {e.name: 0, **{n: 1 for n in names[1:] if n != e.name}}


def _forms(ix: Index, e: Entity) -> _Forms:
    with _FORMS_LOCK:
        cache = _FORMS.get(ix)
        if cache is None:
            cache = _FORMS[ix] = {}
    f = cache.get(e.id)
    if f is None:
        f = cache[e.id] = _Forms(e)
    return f


def _fits(tokens: list[str], words: list[str]) -> int:
    """How many tokens (initials aside) are whole words when every token starts a different
    word of one name ("chevalier a" fits "Auguste Chevalier": 1), or -1 when they do not all
    fit. An initial counts for nothing: "Henry, A." fits "A.Henry Husson" no better than
    "Augustine Henry"."""
    free = list(words)
    whole = 0
    for t in sorted(tokens, key=len, reverse=True):
        pick = next((w for w in free if w == t), None) or next(
            (w for w in free if w.startswith(t)), None
        )
        if pick is None:
            return -1
        whole += pick == t and len(t) > 1
        free.remove(pick)
    return whole


def _names(
    ix: Index,
    rows: list[tuple[str, int, Entity]],
    text: str,
    part: int,
    offer: Callable[[tuple[Any, ...], Entity], None],
    order: Callable[[Entity], tuple[Any, ...]],
) -> None:
    """Offer the entities named ``text``: exactly (tier 1: as written, as an alias, folded or
    compacted), then those with a name each word of ``text`` starts a different word of
    (tier 2), those whose family name is among the words first."""
    key = compact(text)
    tokens = fold(text).split()
    if not key:
        return
    k = bisect.bisect_left(rows, (key,))  # every row of the compact form: exactly that name
    while k < len(rows) and rows[k][0] == key:
        e = rows[k][2]
        k += 1
        if key in _forms(ix, e).compacts:
            offer((1, part, _forms(ix, e).exact.get(text.strip(), 2), 0, *order(e)), e)
    anchor = max(tokens, key=len)  # found through the longest word
    k = bisect.bisect_left(rows, (anchor,))
    end = k + 50000  # a one-letter query: enough to fill pages, not the whole index
    seen: set[int] = set()
    while k < min(len(rows), end) and rows[k][0].startswith(anchor) and len(seen) < MOST:
        e = rows[k][2]
        k += 1
        if id(e) in seen:
            continue
        seen.add(id(e))
        whole = max((_fits(tokens, words) for words in _forms(ix, e).words), default=-1)
        if whole >= 0:
            family = sum(1 for t in tokens if len(t) > 1 and t in e.family_words)
            offer((2, part, -family, -whole, *order(e)), e)


def suggest_entities(
    store: Store,
    prefix: str,
    base: str = BASE,
    limit: int = 10,
    type_id: str | None = None,
    cursor: int = 0,
) -> dict:
    """Entities for what a volunteer types, best first: the entity an identifier names (a QID,
    ORCID iD, IPNI id... or our IRI or id); the entities with exactly that name (then with
    that name folded, or compacted: "Hook.f."); then those with a name each word of the query
    starts a word of, in any order ("Chevalier, A.", "A. Chevalier", "Ольга Панина"), people
    first; then specimens whose identifier starts with it. ``cursor`` is the offset of the page;
    the answer carries ``cursor`` (the next page's offset) while more are left."""
    ix = index_for(store, base)
    wanted = known_type(type_id) if type_id else None
    ranked: dict[int, tuple[tuple[Any, ...], Entity]] = {}

    def offer(key: tuple[Any, ...], e: Entity) -> None:
        if wanted and e.type["id"] != wanted:
            return
        old = ranked.get(id(e))
        if old is None or key < old[0]:
            ranked[id(e)] = (key, e)

    def order(e: Entity) -> tuple[Any, ...]:
        kind = 2 if e.agent else _TYPE_ORDER.get(e.type["id"], 2)
        return (kind, -e.specimens, e.name, e.id)

    for e in lookup(ix, prefix):
        offer((0, 0, 0, 0, *order(e)), e)
    key = compact(prefix)
    if key:
        rows = ix.suggest_words()  # every word and every compact form of every name, sorted
        _names(ix, rows, prefix, 0, offer, order)
        if not ranked:
            # nothing for the cell as a whole: the names the ingest reads in it, each in turn
            # ("Blanché,C. s.n. [1991-06-12]", "Collector(s): C. J. Marinkelle", two people)
            names = read_agents(prefix[:MAX_CELL])
            if len(names) > 1 or (names and names[0].written != prefix):
                for part, name in enumerate(names, start=1):
                    if not name.unknown:
                        _names(ix, rows, name.written, part, offer, order)
    if wanted in (None, "Specimen") and len(key) >= 2:  # catalogue numbers and barcodes
        others = ix.others()
        k = bisect.bisect_left(others.sorted_keys, key)
        while k < len(others.sorted_keys) and others.sorted_keys[k].startswith(key):
            tier = 1 if others.sorted_keys[k] == key else 3
            for e in others.keys[others.sorted_keys[k]]:
                offer((tier, 0, 2, 0, *order(e)), e)
            k += 1
            if len(ranked) >= MOST:
                break
    ordered = [e for _, e in sorted(ranked.values(), key=lambda r: r[0])]
    cursor = max(0, cursor)
    page = ordered[cursor : cursor + limit]
    answer: dict[str, Any] = {"result": [_suggested(e) for e in page]}
    if cursor + limit < len(ordered):
        answer["cursor"] = cursor + limit
    return answer


def _suggested(e: Entity) -> dict[str, Any]:
    """A suggest result: with its type as ``notable``, which OpenRefine stores as the type of
    a cell matched from "Search for match"."""
    return {"id": e.id, "name": e.name, "description": describe(e), "notable": [dict(e.type)]}


def paged(answer: dict[str, Any], cursor: int = 0, limit: int | None = None) -> dict[str, Any]:
    """A page of a suggest answer that lists everything (types, properties): ``cursor`` is the
    offset, and the answer carries the next page's ``cursor`` while more are left."""
    result = answer.get("result", [])
    cursor = max(0, cursor)
    end = len(result) if limit is None else cursor + limit
    out = {**answer, "result": result[cursor:end]}
    if end < len(result):
        out["cursor"] = end
    return out


def flyout(store: Store, ident: str, base: str = BASE) -> dict[str, str] | None:
    """The flyout of a suggest result (``suggest.entity.flyout_service_path``): its id and the
    preview card as HTML, every value escaped; None for an unknown id."""
    e = index_for(store, base).get(ident)
    if e is None:
        return None
    return {"id": e.id, "html": f"<div style='font:12px sans-serif'>{_card(e)}</div>"}


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
