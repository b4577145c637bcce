"""Entities found by what a cell holds instead of a name: an identifier the graph holds for a
person (Wikidata QID, ORCID iD, IPNI author id, VIAF, ISNI, Harvard Index of Botanists, BHL
creator, Bionomia profile; as an IRI or as typed), our own entity IRI, or its relative id
(``person/cesar-blanche``).

The identifiers come from the identity rule (:mod:`collectomics.analysis.identity`): every outside IRI
that ``schema:sameAs``, an accepted identity match or a publisher's ``recordedByID`` ties to a
person or a name-string agent finds that identity's entity. The map is built once per
:class:`~collectomics.services.reconcile.index.Index` and kept beside it (it holds no store data the
index does not)."""

from __future__ import annotations

import re
import threading
import weakref

from collectomics.services.reconcile.index import Entity, Index
from collectomics.services.reconcile.schema import PERSON
from collectomics.services.reconcile.text import identifier, outside_identifier

#: the kinds of our own ids (relative to the base IRI) a volunteer may type or paste
_OWN_ID = re.compile(r"^(?:person|agent|specimen|institution|organization|document)/\S+$")

_MAPS: weakref.WeakKeyDictionary[Index, dict[tuple[str, str], list[Entity]]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def identifier_map(ix: Index) -> dict[tuple[str, str], list[Entity]]:
    """``(kind, VALUE)`` -> the entities of the identities that hold that identifier."""
    with _LOCK:
        found = _MAPS.get(ix)
        if found is not None:
            return found
    out: dict[tuple[str, str], list[Entity]] = {}

    def add(kind: str, value: str, e: Entity) -> None:
        bucket = out.setdefault((kind, value.upper()), [])
        if e not in bucket:
            bucket.append(e)

    for node, canonical in ix.canonical_pairs():
        e = ix.by_iri.get(canonical)
        if e is not None and e.type is PERSON and (known := outside_identifier(node)):
            add(*known, e)
    # the identifiers people carry themselves are in the index's own postings (read by
    # lookup): walking every entity here would read the whole shared index into each worker
    with _LOCK:
        _MAPS[ix] = out
    return out


def lookup(ix: Index, text: str) -> list[Entity]:
    """The entities ``text`` names by an identifier (exactly, whole), or [] when it names none.
    Our own ids are looked up only when ``text`` looks like one, so a name never loads the
    specimens, institutions and documents of the index."""
    text = text.strip()
    if not text or len(text) > 300 or any(c.isspace() for c in text.strip("<>")):
        return []
    if known := identifier(text):
        key = (known[0], known[1].upper())
        found = list(identifier_map(ix).get(key, []))
        for e in ix.id_index.get(key, ()):
            if e.type is PERSON and e not in found:
                found.append(e)
        return found
    text = text.strip("<>")
    if _OWN_ID.match(text) or text.startswith(ix.base):
        own = ix.get(text)
        return [own] if own is not None else []
    if re.match(r"^(?:https?|urn):\S+$", text, re.I):  # any other IRI an identity holds
        held = ix.by_iri.get(ix.resolve(text))
        return [held] if held is not None else []
    return []
