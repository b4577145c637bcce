"""What the service searches: an :class:`Index` of people, name-string agents, specimens,
institutions and documents read from the store once per version of it.

For an on-disk store opened read-only (every worker of ``collectomics serve``), the index is
built once per store version by one process and written to a file beside the store
(:mod:`.ondisk`); each process reads it as a :class:`SharedIndex`, which has the same interface
and answers the same. Stores in memory, writable handles and remote stores keep an
:class:`Index` in the process (:func:`index_for`)."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from collectomics import workers
from collectomics.analysis import identity
from collectomics.analysis.network import facets_fresh, facets_graph, institution_iri, table
from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.linking import matcher
from collectomics.mapping.verbatim import GBIF_RECORD_PAGE
from collectomics.model import IRI
from collectomics.services.reconcile import ondisk
from collectomics.services.reconcile import schema as schema_module
from collectomics.services.reconcile import text as text_module
from collectomics.services.reconcile.schema import (
    BASE,
    DOCUMENT,
    FUZZY_AT,
    INSTITUTION,
    PERSON,
    SPECIMEN,
    TYPE_IDS,
)
from collectomics.services.reconcile.text import (
    COL,
    DWC,
    FOAF,
    PARTICLES,
    SCHEMA,
    SKOS,
    STOP_WORDS,
    compact,
    fold,
    id_keys,
    int_of,
    name_words,
    outside_identifier,
    split_numbers,
    trigrams,
    year_of,
)
from collectomics.store import OxigraphStore, Store

log = logging.getLogger(__name__)

# -- reading the graph (CSV rows through ``network.table``: cheap per row) ----------------------

# One pattern per query and joins in Python: pyoxigraph answers these several times faster.
_PERSONS = "SELECT ?p WHERE { ?p a foaf:Person }"
_ILLUSTRATIVE = "SELECT ?p WHERE { ?p col:illustrative true }"
_AGENTS = "SELECT ?a WHERE { ?a a col:NameStringAgent }"
_FACTS = """SELECT ?p ?k ?v WHERE {
  VALUES ?k { foaf:name foaf:givenName foaf:familyName skos:altLabel col:authorAbbreviation
              schema:birthDate schema:deathDate schema:sameAs }
  ?p ?k ?v }"""
_ANY_COLLECTED = "ASK { ?s <http://rs.tdwg.org/dwc/iri/recordedBy> ?a }"
_COLLECTED = """SELECT ?s (GROUP_CONCAT(STR(?a); separator=" ") AS ?agents) (SAMPLE(?y) AS ?year)
WHERE { ?s dwciri:recordedBy ?a . FILTER(isIRI(?a)) OPTIONAL { ?s dwc:year ?y } } GROUP BY ?s"""
_COLLECTED_FACETS = """SELECT ?v ?n ?first ?last WHERE {
  ?f a col:FacetCount ; col:facet "collector" ; col:facetValue ?v ; col:specimenCount ?n .
  OPTIONAL { ?f col:firstYear ?first } OPTIONAL { ?f col:lastYear ?last } }"""
_COUNTRIES = "SELECT DISTINCT ?a ?c WHERE { ?s dwciri:recordedBy ?a ; dwc:countryCode ?c }"
_FAMILIES = "SELECT DISTINCT ?a ?f WHERE { ?s dwciri:recordedBy ?a ; dwc:family ?f }"
_SPECIMENS = """SELECT ?s ?k ?v WHERE {
  VALUES ?k { dwc:catalogNumber dwc:occurrenceID dwc:otherCatalogNumbers dcterms:identifier
              rdfs:seeAlso dwc:institutionCode dwc:collectionCode dwc:scientificName
              dwc:countryCode dwc:family dwc:year }
  ?s a dwc:MaterialEntity ; ?k ?v .
}"""
_ORGANISATIONS = """SELECT ?o ?name ?kind ?same WHERE {
  { ?o a foaf:Organization } UNION { ?o a foaf:Group ; dcterms:type ?kind }
  ?o foaf:name ?name . OPTIONAL { ?o schema:sameAs ?same }
}"""
_CODES = """SELECT ?i ?c (COUNT(?s) AS ?n) WHERE {
  ?s a dwc:MaterialEntity ; dwc:institutionCode ?i . OPTIONAL { ?s dwc:collectionCode ?c }
} GROUP BY ?i ?c"""
_DOCUMENTS = """SELECT ?d ?title ?ident ?date ?kind ?creator ?holder WHERE {
  { ?d a rico:Record } UNION { ?d a rico:RecordPart }
  OPTIONAL { ?d dcterms:title ?title } OPTIONAL { ?d dcterms:identifier ?ident }
  OPTIONAL { ?d dcterms:date ?date } OPTIONAL { ?d dcterms:type ?kind }
  OPTIONAL { ?d dcterms:creator ?creator } OPTIONAL { ?d rico:hasOrHadHolder ?holder }
}"""
# two queries, not a UNION of both directions (3-6 times slower in Oxigraph: performance.md)
_TIES_FACETS = (
    "SELECT ?me ?o ?n WHERE { ?e col:tieSource ?me ; col:tieTarget ?o ; col:sharedSpecimens ?n }",
    "SELECT ?me ?o ?n WHERE { ?e col:tieTarget ?me ; col:tieSource ?o ; col:sharedSpecimens ?n }",
)
_TIES = """SELECT ?me ?o (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?s dwciri:recordedBy ?me , ?o . FILTER(?o != ?me) } GROUP BY ?me ?o"""


@dataclass(eq=False)
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
    keys: set[str] = field(default_factory=set)  # identifier keys: specimens, institutions...
    agent: bool = False
    description: str = ""
    in_graph: bool = True  # False: an institution known only by codes on specimens
    # what the specimens say (people: those they recorded; specimens: their own)
    specimens: int = 0
    first_year: int | None = None
    last_year: int | None = None
    countries: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    # for the token index and the pre-score
    family_words: set[str] = field(default_factory=set)
    given: set[str] = field(default_factory=set)
    initials: set[str] = field(default_factory=set)  # per name form, in order: "jd"
    abbr_keys: set[str] = field(default_factory=set)
    extra: dict[str, list[str]] = field(default_factory=dict)
    _candidate: matcher.Candidate | None = None

    def candidate(self) -> matcher.Candidate:
        if self._candidate is None:
            self._candidate = matcher.Candidate(
                iri=self.iri,
                source="graph",
                label=self.name,
                aliases=self.aliases,
                abbreviations=self.abbreviations,
                birth=matcher.FuzzyDate(self.birth) if self.birth else None,
                death=matcher.FuzzyDate(self.death) if self.death else None,
            )
        return self._candidate

    def names(self) -> list[str]:
        return [self.name, *self.aliases, *self.abbreviations]


class Index:
    """What the service searches, read from the store once per version of it.

    People and name-string agents are read at once, with a token index (family-name words,
    abbreviations, identifiers -> entities); specimens, institutions and documents on the first
    query that needs them."""

    def __init__(self, store: Store, base: str = BASE) -> None:
        self.base = base
        self.store = store
        self.minter = Minter(base)
        self.by_id: dict[str, Entity] = {}
        self.by_iri: dict[str, Entity] = {}
        self.family_index: dict[str, list[Entity]] = defaultdict(list)
        self.abbr_index: dict[str, list[Entity]] = defaultdict(list)
        self.id_index: dict[tuple[str, str], list[Entity]] = defaultdict(list)
        self.facets = facets_fresh(store, self.minter)
        self._lock = threading.Lock()
        self._others: _Others | None = None
        self._trigrams: dict[str, list[int]] | None = None
        self._vocab: list[str] = []
        self._suggest: list[tuple[str, int, Entity]] | None = None
        self._ties: dict[str, list[tuple[Entity, int]]] = {}
        self.graphs = [g for g in store.graphs() if g != facets_graph(self.minter)]
        #: the one identity rule (collectomics.analysis.identity): one entity per identity
        self.identity = identity.load(store, self.minter)
        self._read_people()
        #: an entity's canonical node -> the other nodes of its identity, whose specimens are
        #: its own (the rule's membership, :meth:`identity.Identity.members`, for ``ties``)
        self.agents_of: Mapping[str, set[str]] = {
            c: m - {c} for c, m in self.identity.groups().items() if c in self.by_iri
        }
        self._read_collecting()
        for e in self.by_iri.values():
            if e.type is PERSON:
                self._index_person(e)

    # -- building ------------------------------------------------------------------------

    def rel(self, iri: str) -> str:
        return iri[len(self.base) :] if iri.startswith(self.base) else iri

    def _add(self, e: Entity) -> Entity:
        self.by_id[e.id] = e
        self.by_iri[e.iri] = e
        return e

    def _read_people(self) -> None:
        """One entity per identity: its canonical person or agent, whose aliases include the
        names of the identity's other nodes (a name string a reviewer linked, the person node
        an accepted link made)."""
        persons = {p for (p,) in table(self.store, _PERSONS, graphs=self.graphs)}
        self.persons = persons
        hidden = {p for (p,) in table(self.store, _ILLUSTRATIVE, graphs=self.graphs)}
        agents = {a for (a,) in table(self.store, _AGENTS, graphs=self.graphs)}
        resolve = self.identity.resolve
        for p in sorted(persons - hidden):
            if resolve(p) == p:
                self._add(Entity(self.rel(p), p, "", PERSON))
        names: dict[str, str] = {}
        parts: dict[str, list[str]] = defaultdict(lambda: ["", ""])
        for p, k, v in table(self.store, _FACTS, graphs=self.graphs):
            e = self.by_iri.get(p)
            if not v:
                continue
            if k == FOAF + "name":
                names.setdefault(p, v)
            if e is None:
                continue
            if k == FOAF + "givenName":
                parts[p][0] = v
            elif k == FOAF + "familyName":
                parts[p][1] = v
            elif k == SKOS + "altLabel" and v not in e.aliases:
                e.aliases.append(v)
            elif k == COL + "authorAbbreviation" and v not in e.abbreviations:
                e.abbreviations.append(v)
            elif k == SCHEMA + "birthDate":
                e.birth = year_of(v)
            elif k == SCHEMA + "deathDate":
                e.death = year_of(v)
            elif k == SCHEMA + "sameAs" and (found := outside_identifier(v)):
                e.ids[found[0]] = found[1]
        for a in sorted(agents - persons):
            if a in names and resolve(a) == a:
                self._add(Entity(self.rel(a), a, names[a], PERSON, agent=True))
        for node in sorted(set(names) & self.identity.canonical.keys()):
            e = self.by_iri.get(resolve(node))
            if e is not None and node != e.iri and names[node] not in e.aliases:
                e.aliases.append(names[node])  # another node of the identity: its name
        for e in list(self.by_iri.values()):
            e.name = names.get(e.iri) or (e.aliases[0] if e.aliases else e.id)
            given, family = parts.get(e.iri, ("", ""))
            self._names(e, given, family)
        self.names = names

    def _names(self, e: Entity, given: str, family: str) -> None:
        """The family words, given names and initials the pre-score compares."""
        given_words = tuple(w for w in fold(given).split() if w not in PARTICLES)
        forms = [matcher.ParsedName(given_words, fold(family))] if family else []
        for n in [e.name, *e.aliases] if not forms or e.aliases else []:
            forms.append(matcher.parse_name(n))
        for p in forms:
            fam = [w for w in p.family.split() if len(w) > 1 and w not in PARTICLES]
            e.family_words.update(fam)
            if len(fam) > 1:
                e.family_words.add("".join(fam))
            if p.initials:
                e.initials.add(p.initials)
            e.given.update(g for g in p.given if len(g) > 1)
        for a in e.abbreviations:
            e.abbr_keys.add(compact(a))
        for n in [e.name, *e.aliases]:
            e.abbr_keys.add(compact(n))
        e.abbr_keys.discard("")

    def resolve(self, agent: str) -> str:
        """The canonical node of ``agent``'s identity (:mod:`collectomics.analysis.identity`)."""
        return self.identity.resolve(agent)

    def canonical_pairs(self) -> list[tuple[str, str]]:
        """Every (node, canonical node) of an identity whose node is not its own canonical:
        the outside IRIs (a publisher's ORCID, a Wikidata item) and agents of an identity."""
        return [(n, c) for n, c in self.identity.canonical.items() if n != c]

    def _read_collecting(self) -> None:
        """Specimen counts, collecting years, countries and families per person and agent: from
        the materialised facets graph when it is fresh, else from the data."""
        if not self.store.query(_ANY_COLLECTED).boolean:
            return  # an authority without specimens: nothing to read

        def targets(agent: str) -> list[Entity]:
            e = self.by_iri.get(self.resolve(agent))
            return [e] if e is not None else []

        def span(e: Entity, n: int, first: int | None, last: int | None) -> None:
            e.specimens += n
            if first is not None:
                e.first_year = first if e.first_year is None else min(e.first_year, first)
            if last is not None:
                e.last_year = last if e.last_year is None else max(e.last_year, last)

        if self.facets:
            rows = table(self.store, _COLLECTED_FACETS, graphs=[facets_graph(self.minter)])
            for v, n, first, last in rows:
                if (e := self.by_iri.get(v)) is not None:
                    span(e, int_of(n) or 0, int_of(first), int_of(last))
        else:
            # per specimen: two agents of one identity on a specimen count it once
            for _, agents, year in table(self.store, _COLLECTED, graphs=self.graphs):
                y = year_of(year)
                for e in {id(e): e for a in agents.split(" ") for e in targets(a)}.values():
                    span(e, 1, y, y)
        for agent, code in table(self.store, _COUNTRIES, graphs=self.graphs):
            for e in targets(agent):
                e.countries.add(code.upper())
        for agent, fam in table(self.store, _FAMILIES, graphs=self.graphs):
            for e in targets(agent):
                e.families.add(fold(fam))

    def _index_person(self, e: Entity) -> None:
        for w in e.family_words:
            self.family_index[w].append(e)
        for k in e.abbr_keys:
            self.abbr_index[k].append(e)
        for kind, value in e.ids.items():
            self.id_index[(kind, value.upper())].append(e)

    # -- lookups -------------------------------------------------------------------------

    def get(self, ident: str) -> Entity | None:
        """The entity of an id, or of the identity of a node's IRI (an agent's, a person's)."""
        ident = str(ident)
        e = self.by_id.get(self.rel(ident))
        if e is None:
            full = ident if "://" in ident else self.base + ident
            e = self.by_iri.get(self.resolve(full))
        if e is None:
            others = self.others()
            e = self.by_id.get(self.rel(ident))
            e = e or others.virtual.get(self.rel(ident))
        return e

    def others(self) -> _Others:
        """Specimens, institutions and documents, read on first use."""
        with self._lock:
            if self._others is None:
                self._others = _Others(self)
            return self._others

    def similar_family_words(self, word: str) -> list[str]:
        """Known family-name words that look like ``word`` (a typo, a transliteration)."""
        with self._lock:
            if self._trigrams is None:
                self._vocab = sorted(self.family_index)
                grams: dict[str, list[int]] = defaultdict(list)
                for i, w in enumerate(self._vocab):
                    for g in trigrams(w):
                        grams[g].append(i)
                self._trigrams = dict(grams)
        mine = trigrams(word)
        counts: dict[int, int] = defaultdict(int)
        for g in mine:
            for i in self._trigrams.get(g, ()):
                counts[i] += 1
        need = max(1, len(mine) // 2)
        close = [self._vocab[i] for i, n in counts.items() if n >= need]
        scored = [(SequenceMatcher(None, word, w).ratio(), w) for w in close]
        return [w for r, w in sorted(scored, reverse=True)[:5] if r >= FUZZY_AT]

    def ties(self, e: Entity) -> list[tuple[Entity, int]]:
        """Co-collectors of ``e`` with the number of specimens shared, most first."""
        if e.iri in self._ties:
            return self._ties[e.iri]
        shared: dict[str, int] = defaultdict(int)
        if self.facets:
            for q in _TIES_FACETS:
                graph = [facets_graph(self.minter)]
                for _, other, n in table(self.store, q, graphs=graph, params={"me": IRI(e.iri)}):
                    shared[other] += int_of(n) or 0
        else:
            node = self.resolve(e.iri)
            for agent in self.agents_of.get(node, set()) | {e.iri}:
                rows = table(self.store, _TIES, graphs=self.graphs, params={"me": IRI(agent)})
                for _, other, n in rows:
                    target = self.resolve(other)
                    if target != node:
                        shared[target] += int_of(n) or 0
        out = [(self.by_iri[o], n) for o, n in shared.items() if o in self.by_iri]
        out.sort(key=lambda x: (-x[1], x[0].name))
        self._ties[e.iri] = out
        return out

    def suggest_words(self) -> list[tuple[str, int, Entity]]:
        """(folded word, rank, entity) for every word of every name but specimens' (they are
        found by their sorted identifier keys), sorted: prefix search."""
        with self._lock:
            if self._suggest is not None:
                return self._suggest
        others = self.others()
        rows: list[tuple[str, int, Entity]] = []
        for e in [*self.by_id.values(), *others.virtual.values()]:
            if e.type is SPECIMEN:
                continue
            rank = 0 if e.type is PERSON and not e.agent else 1
            words = {w for n in e.names() for w in fold(n).split()}
            words |= {compact(n) for n in e.names()}
            rows.extend((w, rank, e) for w in words if w)
        rows.sort(key=lambda r: (r[0], r[1], r[2].name))
        with self._lock:
            self._suggest = rows
        return rows


class _Others:
    """Specimens, institutions (organisations and codes) and documents of the index."""

    def __init__(self, ix: Index) -> None:
        self.ix = ix
        self.keys: dict[str, list[Entity]] = defaultdict(list)
        self.words: dict[str, list[Entity]] = defaultdict(list)
        self.virtual: dict[str, Entity] = {}
        self._specimens(ix)
        self._institutions(ix)
        self._documents(ix)
        self.sorted_keys = sorted(k for k, es in self.keys.items() if es[0].type is SPECIMEN)

    def _specimens(self, ix: Index) -> None:
        facts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for s, k, v in table(ix.store, _SPECIMENS):
            if v.startswith(GBIF_RECORD_PAGE):  # GBIF's record page: the key gbif:N
                v = "gbif:" + v[len(GBIF_RECORD_PAGE) :]
            facts[s][k[len(DWC) :] if k.startswith(DWC) else "identifier"].append(v)
        for s, f in facts.items():
            e = ix.by_iri.get(s) or ix._add(Entity(ix.rel(s), s, "", SPECIMEN))
            cat, occ = f.get("catalogNumber", []), f.get("occurrenceID", [])
            e.name = (cat or occ or [e.id])[0]
            e.description = "; ".join(f.get("scientificName", [])[:1])
            insts = f.get("institutionCode", [])
            found: set[str] = set()
            for value in [*cat, *occ, *f.get("identifier", [])]:
                found |= id_keys(value)
                if "/" in value or ":" in value:  # a barcode at the end of a URL or URN
                    found |= id_keys(re.split(r"[/:]", value.rstrip("/"))[-1])
            for value in f.get("otherCatalogNumbers", []):
                for part in split_numbers(value):
                    found |= id_keys(part)
            for inst in insts:  # a barcode: institution code and number, e.g. BCN-1935, P00712345
                for c in cat:
                    found |= id_keys(inst + c)
                    for coll in f.get("collectionCode", []):
                        found |= id_keys(inst + coll + c)
            e.keys = found
            e.countries = {c.upper() for c in f.get("countryCode", [])}
            e.families = {fold(x) for x in f.get("family", [])}
            years = [y for y in (year_of(v) for v in f.get("year", [])) if y is not None]
            e.first_year = min(years, default=None)
            e.last_year = max(years, default=None)
            e.extra = {k: f.get(k, []) for k in ("catalogNumber", "occurrenceID", "scientificName")}
            for key in found:
                self.keys[key].append(e)

    def _text_entity(self, e: Entity) -> None:
        for n in e.names():
            for w in name_words(n):
                if w not in STOP_WORDS:
                    self.words[w].append(e)
            e.keys |= id_keys(n)
        for key in e.keys:
            self.keys[key].append(e)

    def _institutions(self, ix: Index) -> None:
        for o, name, kind, same in table(ix.store, _ORGANISATIONS):
            if kind and fold(kind) not in ("organization", "organisation", "institution"):
                continue
            e = ix.by_iri.get(o)
            if e is None:
                e = ix._add(Entity(ix.rel(o), o, name, INSTITUTION))
            elif name not in e.names():
                e.aliases.append(name)
            if same and (found := outside_identifier(same)):
                e.ids[found[0]] = found[1]
        for e in [x for x in ix.by_id.values() if x.type is INSTITUTION]:
            self._text_entity(e)
        collections: dict[str, list[str]] = defaultdict(list)
        counts: dict[tuple[str, str], int] = {}
        for inst, coll, n in table(ix.store, _CODES):
            counts[(inst, coll)] = int_of(n) or 0
            if coll:
                collections[inst].append(coll)
        for inst in sorted({i for i, _ in counts}):
            iri = institution_iri(ix.minter, inst)
            e = ix.by_iri.get(iri) or Entity(ix.rel(iri), iri, inst, INSTITUTION, in_graph=False)
            e.specimens = sum(n for (i, _), n in counts.items() if i == inst)
            colls = sorted(set(collections.get(inst, [])))
            e.description = f"institution code on {e.specimens} specimens" + (
                f"; collections: {', '.join(colls[:8])}" if colls else ""
            )
            e.extra = {"collections": colls}
            self.virtual.setdefault(e.id, e)
            self._text_entity(e)
            for coll in colls:
                if coll == inst:
                    continue
                ciri = ix.minter.part(iri, "collection", coll)
                c = Entity(ix.rel(ciri), ciri, f"{inst} {coll}", INSTITUTION, aliases=[coll],
                           in_graph=False)  # fmt: skip
                c.specimens = counts.get((inst, coll), 0)
                c.description = f"collection code {coll} of {inst}, on {c.specimens} specimens"
                c.keys |= id_keys(inst + coll)
                self.virtual[c.id] = c
                self._text_entity(c)

    def _documents(self, ix: Index) -> None:
        for d, title, ident, when, kind, creator, holder in table(ix.store, _DOCUMENTS):
            e = ix.by_iri.get(d) or ix._add(Entity(ix.rel(d), d, "", DOCUMENT))
            if title and not e.name:
                e.name = title
            elif title and title not in e.names():
                e.aliases.append(title)
            if ident:
                e.keys |= id_keys(ident)
            for key, value in (("date", when), ("type", kind), ("creator", creator),
                               ("holder", holder)):  # fmt: skip
                if value and value not in e.extra.setdefault(key, []):
                    e.extra[key].append(value)
            if when and (y := year_of(when)) is not None:
                e.first_year = y if e.first_year is None else min(e.first_year, y)
        for e in [x for x in ix.by_id.values() if x.type is DOCUMENT]:
            e.name = e.name or e.id.rsplit("/", 1)[-1]
            creators = [ix.by_iri[c].name for c in e.extra.get("creator", []) if c in ix.by_iri]
            bits = [*e.extra.get("type", [])[:1], *e.extra.get("date", [])[:1], *creators[:2]]
            e.description = ", ".join(bits)
            self._text_entity(e)


#: id(store) -> (a weak reference to the store, its version key, its index)
_CACHE: dict[int, tuple[Any, Any, Index]] = {}
_CACHE_LOCK = threading.Lock()


def _version(store: Store) -> Any:
    """What changes when the store does (:meth:`Store.version`). A read-only handle sees the
    store as of its opening (``web`` reopens it when the store changes on disk)."""
    return store.version()


def memory_index_for(store: Store, base: str = BASE) -> Index:
    """The index of ``store`` built in this process, once per version of the store."""
    key = (_version(store), base)
    with _CACHE_LOCK:  # concurrent requests wait for one build
        hit = _CACHE.get(id(store))
        if hit is not None and hit[0]() is store and hit[1] == key:
            return hit[2]
        for k in [k for k, v in _CACHE.items() if v[0]() is None]:
            del _CACHE[k]  # handles closed and dropped since
        if len(_CACHE) >= 8:
            _CACHE.clear()
        try:
            ref: Any = weakref.ref(store)
        except TypeError:  # a store without weak references: kept alive while cached
            ref = lambda: store  # noqa: E731
        ix = Index(store, base)
        _CACHE[id(store)] = (ref, key, ix)
        return ix


# -- the index in a file, shared by processes ----------------------------------------------------

#: Entity fields the file does not carry (the matcher's candidate is made again on use)
_NOT_STORED = {"_candidate"}
_FIELDS = {f.name for f in fields(Entity)} - _NOT_STORED
#: Entity fields whose values JSON cannot hold as they are: how to make them again
_KINDS: dict[str, type] = {
    name: type(value)
    for name, value in vars(Entity("", "", "", PERSON)).items()
    if isinstance(value, (set, frozenset, tuple))
}


def encode_entity(e: Entity) -> str:
    """An entity as one JSON object: every dataclass field (an added field is carried when its
    value is JSON, a set or a tuple), the type by its id."""
    data = {name: value for name, value in vars(e).items() if name not in _NOT_STORED}
    data["type"] = e.type["id"]
    return _ENCODER.encode(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"an Entity field of type {type(value).__name__} cannot be stored")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_jsonable)


def decode_entity(text: str) -> Entity:
    """The entity :func:`encode_entity` wrote (a field it lacks gets its default; a field no
    longer known is left out: a file written by older code is served while a new one is built)."""
    data = {k: v for k, v in json.loads(text).items() if k in _FIELDS}
    data["type"] = TYPE_IDS[data["type"]]
    for name, kind in _KINDS.items():
        if data.get(name) is not None:
            data[name] = kind(data[name])
    return Entity(**data)


def write_index(ix: Index, path: Path, key: str) -> None:
    """Write ``ix`` (people, then specimens, institutions, documents, the suggest list and the
    trigrams of family words, all read now) to ``path``, atomically."""
    others = ix.others()
    suggest = ix.suggest_words()
    numbers: dict[int, int] = {}
    entities: list[Entity] = []

    def number(e: Entity) -> int:
        n = numbers.get(id(e))
        if n is None:
            n = numbers[id(e)] = len(entities)
            entities.append(e)
        return n

    def postings(
        index: Mapping[Any, list[Entity]], token: Any = str
    ) -> Iterator[tuple[str, list[int]]]:
        for k, es in index.items():
            if es:
                yield token(k), [number(e) for e in es]

    writer = ondisk.Writer(path)
    try:
        for name, mapping in (
            ("by_id", ix.by_id),
            ("by_iri", ix.by_iri),
            ("virtual", others.virtual),
        ):
            writer.mapping(name, [(k, number(e)) for k, e in mapping.items()])
        writer.postings(ondisk.FAMILY, postings(ix.family_index))
        writer.postings(ondisk.ABBR, postings(ix.abbr_index))
        writer.postings(ondisk.IDS, postings(ix.id_index, _id_token))
        writer.postings(ondisk.KEYS, postings(others.keys))
        writer.postings(ondisk.WORDS, postings(others.words))
        vocab = sorted(ix.family_index)
        grams: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(vocab):
            for g in trigrams(w):
                grams[g].append(i)
        writer.postings(ondisk.TRIGRAMS, grams.items())
        writer.text_postings(ondisk.AGENTS_OF, ((k, sorted(v)) for k, v in ix.agents_of.items()))
        writer.canonical((n, c) for n, c in ix.identity.canonical.items() if n != c)
        lists: dict[str, list[Any]] = {
            "suggest": [(w, rank, number(e)) for w, rank, e in suggest],
            "vocab": vocab,
            "specimen_keys": list(others.sorted_keys),
        }
        for name, items in lists.items():
            writer.sorted_list(name, items)
        writer.entities((n, encode_entity(e)) for n, e in enumerate(entities))
        writer.meta(
            format=ondisk.FORMAT, key=key, base=ix.base, facets=bool(ix.facets),
            graphs=list(ix.graphs), entities=len(entities),
            sorted={name: len(items) for name, items in lists.items()},
        )  # fmt: skip
        writer.commit()
    except BaseException:
        writer.abandon()
        raise


def _id_token(key: tuple[str, str]) -> str:
    return f"{key[0]}\x1f{key[1]}"


class _Entities(Sequence[Entity]):
    """A posting list: entity numbers, read as entities on use."""

    def __init__(self, ix: SharedIndex, numbers: list[int]) -> None:
        self.ix, self.numbers = ix, numbers

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return _Entities(self.ix, self.numbers[i])
        return self.ix.entity(self.numbers[i])

    def __iter__(self) -> Iterator[Entity]:
        return (self.ix.entity(n) for n in self.numbers)


class _Postings(Mapping[Any, Sequence[Entity]]):
    """token -> entities, as ``Index.family_index`` and its kin."""

    def __init__(self, ix: SharedIndex, kind: int, token: Any = str) -> None:
        self.ix, self.kind, self.token = ix, kind, token

    def __getitem__(self, key: Any) -> Sequence[Entity]:
        found = self.ix.reader.posting(self.kind, self.token(key))
        if found is None:
            raise KeyError(key)
        return _Entities(self.ix, found)

    def __iter__(self) -> Iterator[Any]:
        return self.ix.reader.posting_tokens(self.kind)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Map(Mapping[str, Entity]):
    """key -> entity, in the order of the dictionary it was written from (``by_id``...)."""

    def __init__(self, ix: SharedIndex, name: str) -> None:
        self.ix, self.name = ix, name
        self._len: int | None = None

    def __getitem__(self, key: str) -> Entity:
        n = self.ix.reader.map_get(self.name, key) if isinstance(key, str) else None
        if n is None:
            raise KeyError(key)
        return self.ix.entity(n)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.ix.reader.map_get(self.name, key) is not None

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self.ix.reader.map_items(self.name))

    def __len__(self) -> int:
        if self._len is None:
            self._len = self.ix.reader.map_len(self.name)
        return self._len

    def values(self) -> Any:
        return _Values(self)

    def items(self) -> Any:
        return _Items(self)


class _Values:
    def __init__(self, m: _Map) -> None:
        self.m = m

    def __len__(self) -> int:
        return len(self.m)

    def __iter__(self) -> Iterator[Entity]:
        return (self.m.ix.entity(n) for _, n in self.m.ix.reader.map_items(self.m.name))


class _Items(_Values):
    def __iter__(self) -> Iterator[tuple[str, Entity]]:  # type: ignore[override]
        return ((k, self.m.ix.entity(n)) for k, n in self.m.ix.reader.map_items(self.m.name))


class _Sorted(Sequence[Any]):
    """A sorted list of the file, for bisection (``suggest_words``, ``sorted_keys``)."""

    def __init__(self, ix: SharedIndex, name: str, entity_at: int | None = None) -> None:
        self.ix, self.name, self.entity_at = ix, name, entity_at
        self._len = ix.reader.sorted_len(name)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        item = self.ix.reader.sorted_item(self.name, i)
        if self.entity_at is None:
            return item
        return (*item[: self.entity_at], self.ix.entity(item[self.entity_at]))


class _SharedOthers:
    """Specimens, institutions and documents of a :class:`SharedIndex` (``Index.others()``)."""

    def __init__(self, ix: SharedIndex) -> None:
        self.ix = ix
        self.keys = _Postings(ix, ondisk.KEYS)
        self.words = _Postings(ix, ondisk.WORDS)
        self.virtual = _Map(ix, "virtual")
        self.sorted_keys = _Sorted(ix, "specimen_keys")


class _AgentsOf(Mapping[str, set[str]]):
    def __init__(self, ix: SharedIndex) -> None:
        self.ix = ix

    def __getitem__(self, node: str) -> set[str]:
        found = self.ix.reader.text_posting(ondisk.AGENTS_OF, node)
        if found is None:
            raise KeyError(node)
        return set(found)

    def __iter__(self) -> Iterator[str]:
        return self.ix.reader.posting_tokens(ondisk.AGENTS_OF)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class SharedIndex(Index):
    """An :class:`Index` read from its file (:mod:`.ondisk`): the same attributes and methods,
    each answered by a lookup in the file. Entities are read when touched and kept while in use
    (and the last ``RECENT`` of them), so one entity is one object while a request holds it."""

    RECENT = 4096

    def __init__(self, reader: ondisk.Reader, store: Store) -> None:  # noqa: D107 - no build
        meta = reader.meta
        self.reader = reader
        self.path = reader.path
        self.key: str = meta["key"]
        self.base = meta["base"]
        self.store = store
        self.minter = Minter(self.base)
        self.facets = bool(meta["facets"])
        self.graphs = list(meta["graphs"])
        # the views reach the index weakly: no cycle keeps an index (and its mapped file) alive
        # once no request holds it
        me: Any = weakref.proxy(self)
        self.by_id = _Map(me, "by_id")  # type: ignore[assignment]
        self.by_iri = _Map(me, "by_iri")  # type: ignore[assignment]
        self.family_index = _Postings(me, ondisk.FAMILY)  # type: ignore[assignment]
        self.abbr_index = _Postings(me, ondisk.ABBR)  # type: ignore[assignment]
        self.id_index = _Postings(me, ondisk.IDS, _id_token)  # type: ignore[assignment]
        self.agents_of = _AgentsOf(me)
        self._lock = threading.Lock()
        self._ties: dict[str, list[tuple[Entity, int]]] = {}
        self._live: weakref.WeakValueDictionary[int, Entity] = weakref.WeakValueDictionary()
        self._recent: OrderedDict[int, Entity] = OrderedDict()
        self._shared_others = _SharedOthers(me)
        self._suggest_rows = _Sorted(me, "suggest", entity_at=2)
        self._vocab_rows = _Sorted(me, "vocab")

    def entity(self, n: int) -> Entity:
        """Entity number ``n`` of the file, one object while it is in use."""
        with self._lock:
            e = self._live.get(n)
            if e is not None:
                if n in self._recent:
                    self._recent.move_to_end(n)
                return e
        text = self.reader.entity_data(n)
        if text is None:
            raise ondisk.CorruptIndex(self.path, f"has no entity {n}")
        fresh = decode_entity(text)
        with self._lock:
            e = self._live.setdefault(n, fresh)
            self._recent[n] = e
            self._recent.move_to_end(n)
            while len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
        return e

    def resolve(self, agent: str) -> str:
        return self.reader.canonical(agent) or agent

    def canonical_pairs(self) -> list[tuple[str, str]]:
        return self.reader.canonical_pairs()

    def others(self) -> Any:
        return self._shared_others

    def similar_family_words(self, word: str) -> list[str]:
        mine = trigrams(word)
        counts: dict[int, int] = defaultdict(int)
        for g in mine:
            for i in self.reader.posting(ondisk.TRIGRAMS, g) or ():
                counts[i] += 1
        need = max(1, len(mine) // 2)
        close = [self._vocab_rows[i] for i, n in counts.items() if n >= need]
        scored = [(SequenceMatcher(None, word, w).ratio(), w) for w in close]
        return [w for r, w in sorted(scored, reverse=True)[:5] if r >= FUZZY_AT]

    def ties(self, e: Entity) -> list[tuple[Entity, int]]:
        if len(self._ties) > 1000:  # the entities they hold stay in memory
            self._ties.clear()
        return super().ties(e)

    def suggest_words(self) -> Any:
        return self._suggest_rows


#: what of the code shapes the file (its key changes with it)
CODE = ondisk.code_digest(
    sys.modules[__name__], ondisk, text_module, schema_module, matcher, identity
)
#: path of an index file -> the index this process opened from it (the newest only)
_OPENED: OrderedDict[str, SharedIndex] = OrderedDict()
#: folder -> the build this process started there, and when it ended
_BUILDS: dict[str, tuple[workers.Worker, list[float]]] = {}
#: versions no file could be built for, whose index this process holds in memory
_IN_MEMORY: set[str] = set()
#: seconds after a build before one that failed is tried again, and before another is started
_RETRY_AFTER, _AGAIN_AFTER = 60.0, 2.0
_SHARED_LOCK = threading.Lock()
#: seconds between looks at a build another process is running
_POLL = 0.05


def _open_shared(path: Path, store: Store) -> SharedIndex | None:
    """The index in ``path`` (opened once per process), or None when there is none; a file that
    cannot be read is moved aside with a warning (and rebuilt by the caller)."""
    ix = _OPENED.get(str(path))
    if ix is not None and not ix.reader.broken:
        ix.store = store  # the newest handle answers the queries ties() makes
        _OPENED.move_to_end(str(path))
        return ix
    if ix is not None:
        del _OPENED[str(path)]
        log.warning(
            "reconciliation index %s: a read failed; moved aside, it will be built again", path
        )
        ondisk.discard(path)
        return None
    if not path.exists():
        return None
    try:
        ix = SharedIndex(ondisk.Reader(path), store)
    except FileNotFoundError:  # removed by a builder's prune meanwhile
        return None
    except ondisk.CorruptIndex as exc:
        log.warning("reconciliation index %s; moved aside, it will be built again", exc)
        ondisk.discard(path)
        return None
    _OPENED[str(path)] = ix
    while len(_OPENED) > 1:  # requests still reading an older one keep it until they end
        _OPENED.popitem(last=False)
    return ix


def _start_build(
    folder: Path, store: Store, base: str, *, waiting: bool = False
) -> workers.Worker | None:
    """Start a builder process for the store as it is now, unless one is running already (ours
    or another process's: the lock says), or ours ended a moment ago and a request that has an
    older file to serve is not ``waiting`` (its handle is older than what was built: the next
    handle will find the file)."""
    last = _BUILDS.get(str(folder))
    if last is not None:
        running, finished = last
        if running.poll() is None:
            return running
        since = time.monotonic() - (finished[0] if finished else 0.0)
        if running.returncode != 0 and since < _RETRY_AFTER and not waiting:
            return None  # it failed (and said why on stderr): not again at every request
        if not waiting and since < _AGAIN_AFTER:
            return None
    if ondisk.BuildLock.held(folder):
        return None
    location = store.location or ""
    # our code's digest names the file, even if the code on disk was upgraded under us
    # It lives on when the process that started it retires (the next one opens the file); in
    # the starter's process group, so that stopping `serve` stops the builds its HTTP workers ran.
    proc = workers.start(
        "collectomics.services.reconcile.buildindex:build",
        {"location": location, "base": base, "code": CODE},
        group=False,
        die_with_parent=False,
    )
    ended: list[float] = []
    _BUILDS[str(folder)] = (proc, ended)

    def reap() -> None:
        proc.wait()
        ended.append(time.monotonic())

    threading.Thread(target=reap, daemon=True).start()
    return proc


def _shared_index_for(store: Store, base: str) -> Index:
    folder = ondisk.folder_of(store)
    assert folder is not None
    key = ondisk.version_key(store, base, CODE)
    if key in _IN_MEMORY:
        return memory_index_for(store, base)
    path = ondisk.file_for(folder, key)
    with _SHARED_LOCK:
        ix = _open_shared(path, store)
        if ix is not None:
            return ix
        try:
            _start_build(folder, store, base)
        except OSError as exc:  # a folder we cannot write to: this process's own index
            log.warning("reconciliation index: cannot build %s (%s); built in memory", path, exc)
            return memory_index_for(store, base)
        for previous in ondisk.complete_files(folder):
            ix = _open_shared(previous, store)
            if ix is not None and ix.base == base:
                return ix  # the last version, while the new one is built
    # nothing to serve meanwhile: wait for a build (ours, or the one another process runs)
    for _ in range(3):
        while True:
            with _SHARED_LOCK:
                running = _BUILDS.get(str(folder))
                ours = running is not None and running[0].poll() is None
            if not ours and not ondisk.BuildLock.held(folder):
                break
            time.sleep(_POLL)
        with _SHARED_LOCK:
            ix = _open_shared(path, store)
            if ix is None:  # built for a newer version of the store than this handle's
                for newest in ondisk.complete_files(folder):
                    ix = _open_shared(newest, store)
                    if ix is not None and ix.base == base:
                        break
                    ix = None
            if ix is not None:
                return ix
            _start_build(folder, store, base, waiting=True)
    log.warning("reconciliation index: no file was built in %s; built in memory", folder)
    _IN_MEMORY.add(key)  # this version, in this process: not waited for again
    return memory_index_for(store, base)


def build_file(
    location: str | Path, base: str = BASE, code: str = CODE
) -> tuple[Path, float] | None:
    """Build the index file of the on-disk store at ``location`` as it is now, under the build
    lock (a builder that finds the file written meanwhile does nothing): its path and the
    seconds the build took, or None when it was there already. ``code`` is the digest of the
    code of the process that asked (:data:`CODE`), which names the file."""
    folder = Path(location) / ondisk.CACHE_DIR / ondisk.FOLDER
    lock = ondisk.BuildLock(folder)
    lock.acquire(wait=True)
    try:
        with OxigraphStore(location, read_only=True) as store:
            key = ondisk.version_key(store, base, code)
            path = ondisk.file_for(folder, key)
            if path.exists():
                try:
                    ondisk.Reader(path).close()
                    return None
                except ondisk.CorruptIndex as exc:
                    log.warning("reconciliation index %s; building it again", exc)
                    ondisk.discard(path)
            started = time.perf_counter()
            write_index(Index(store, base), path, key)
            seconds = time.perf_counter() - started
        ondisk.prune(folder)
        return path, seconds
    finally:
        lock.release()


def prepare(location: str | Path, base: str = BASE) -> bool:
    """Start building the shared index of the on-disk store at ``location`` unless its file for
    the store as it is now exists or is being built (``collectomics serve`` calls it at start, so
    that the first request finds the file ready sooner). False for a store that has none: in
    memory, remote, missing or in a folder we cannot write to."""
    if not Path(location).is_dir():
        return False
    try:
        with OxigraphStore(location, read_only=True) as store:
            folder = ondisk.folder_of(store)
            if folder is None:
                return False
            if ondisk.file_for(folder, ondisk.version_key(store, base, CODE)).exists():
                return True
            with _SHARED_LOCK:
                _start_build(folder, store, base)
    except (CollectomicsError, OSError) as exc:
        log.warning("reconciliation index: not prepared (%s)", exc)
        return False
    return True


def index_for(store: Store, base: str = BASE) -> Index:
    """The index of ``store``: for an on-disk store opened read-only, the file every process
    shares (built once per store version; while a new version is built, the last one answers);
    otherwise built in this process once per version of the store."""
    if store.read_only and ondisk.folder_of(store) is not None:
        return _shared_index_for(store, base)
    return memory_index_for(store, base)
