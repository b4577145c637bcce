"""Reconciliation Service API 0.2 (the version OpenRefine 3.6 speaks): manifest, queries,
suggest, preview, view and data extension over the graph. No Flask here: ``web/reconcile.py`` is
the face. Names are scored with the linking matcher (``collectomics.linking.matcher``).

Identifiers are IRIs relative to the base IRI (``person/pius-font-quer``). Four types: Person
(people, then name-string agents), Specimen (catalogue number, occurrenceID, barcode),
Institution (organisations in the graph and the institution and collection codes written on
specimens) and Document (notebooks, letters and their pages).

Searching is done in an :class:`Index` read once per version of the store: family-name words,
abbreviations and identifiers point at people (a token index), so a query scores a short list
of candidates with the matcher instead of every person. The match rule (docs/reconciliation.md):
``match: true`` only for the top candidate, when its score is at least :data:`MATCH_AT` and at
least :data:`MATCH_MARGIN` above the runner-up (or it has no runner-up).
"""

from __future__ import annotations

import bisect
import html
import json
import logging
import re
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from collectomics import identity
from collectomics.iri import Minter
from collectomics.linking import matcher
from collectomics.mapping.countries import COUNTRIES
from collectomics.mapping.names import is_organisation_agent, is_unknown_agent
from collectomics.model import IRI
from collectomics.network import facets_fresh, facets_graph, institution_iri, table
from collectomics.store import Store

log = logging.getLogger(__name__)

_BASE = "https://w3id.org/collectomics/"
MATCH_AT = 85
MATCH_MARGIN = 15
#: the name score (0-1) when the family name and a full given name both agree
FULL_NAME = 0.95
#: the name score (0-1) when the query is exactly a person's botanist abbreviation
ABBREVIATION_NAME = 0.9
#: a candidate must reach this (0-100) to be proposed at all
PROPOSE_AT = 40
#: agents (name strings) are offered only when no linked person reaches this score
AGENT_FALLBACK_BELOW = 60
#: people scored in full per query, after the token index's cheap pre-score
SHORTLIST = 12
#: a family-name word is looked up fuzzily (trigrams) only when no word of the query is known
FUZZY_AT = 0.8
MAX_QUERY_CHARS = 1000
MAX_BATCH = 50
DEFAULT_LIMIT = 10
BATCH_SIZE = 10
#: score adjustments of the query properties (documented in docs/reconciliation.md)
LIFE_BONUS, ABBREVIATION_BONUS, PLACE_BONUS, TAXON_BONUS = 5, 10, 5, 5
PLACE_PENALTY, TAXON_PENALTY = 10, 10

PERSON = {"id": "Person", "name": "Person"}
SPECIMEN = {"id": "Specimen", "name": "Specimen"}
INSTITUTION = {"id": "Institution", "name": "Institution/Collection"}
DOCUMENT = {"id": "Document", "name": "Document"}
TYPES = [PERSON, SPECIMEN, INSTITUTION, DOCUMENT]
_TYPE_IDS = {t["id"]: t for t in TYPES}
_TYPE_ALIASES = {"collection": "Institution", "organization": "Institution",
                 "organisation": "Institution", "q5": "Person", "agent": "Person"}  # fmt: skip

#: query properties: id -> what it is. Wikidata pids and Darwin Core names are accepted as aliases.
QUERY_PROPERTIES = {
    "birthYear": "birth year",
    "deathYear": "death year",
    "collectingYear": "collecting year or date (the person must have been alive)",
    "wikidata": "Wikidata QID",
    "orcid": "ORCID iD",
    "abbreviation": "botanist author abbreviation",
    "country": "country collected in (ISO code, name or Wikidata QID)",
    "family": "taxon family collected",
}
_PID_ALIASES = {"P569": "birthYear", "P570": "deathYear", "P428": "abbreviation",
                "P496": "orcid", "qid": "wikidata", "P17": "country", "countryCode": "country",
                "dwc:countryCode": "country", "collectingDate": "collectingYear",
                "eventDate": "collectingYear", "year": "collectingYear",
                "taxonFamily": "family", "dwc:family": "family"}  # fmt: skip
#: data extension properties, per type
EXTEND_PROPERTIES = {
    "Person": {
        "wikidata": "Wikidata QID",
        "orcid": "ORCID iD",
        "ipni": "IPNI author ID",
        "viaf": "VIAF ID",
        "birthDate": "birth date",
        "deathDate": "death date",
        "specimenCount": "specimen count",
        "firstYear": "first collecting year",
        "lastYear": "last collecting year",
        "countries": "countries collected in",
        "coCollectors": "co-collectors",
    },
    "Specimen": {
        "catalogNumber": "catalogue number",
        "occurrenceID": "occurrenceID",
        "scientificName": "scientific name",
        "countries": "country",
        "family": "family",
        "firstYear": "collecting year",
    },
    "Institution": {"specimenCount": "specimen count", "wikidata": "Wikidata QID"},
    "Document": {"date": "date", "creator": "creator"},
}
_ALL_EXTEND = {k: v for props in EXTEND_PROPERTIES.values() for k, v in props.items()}

_PARTICLES = frozenset(
    "de da das do dos del della di du des la le van von der den ter ten zu y i e".split()
)
_STOP = _PARTICLES | {"the", "of", "and", "et", "und", "fur", "field", "notebook", "page"}

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
              dwc:institutionCode dwc:collectionCode dwc:scientificName dwc:countryCode
              dwc:family dwc:year }
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

_SKOS = "http://www.w3.org/2004/02/skos/core#"
_FOAF = "http://xmlns.com/foaf/0.1/"
_SCHEMA = "http://schema.org/"
_COL = "https://w3id.org/collectomics/ontology#"
_DWC = "http://rs.tdwg.org/dwc/terms/"


def _year(text: str) -> int | None:
    m = re.match(r"\s*(-?\d{3,4})", str(text))
    return int(m.group(1)) if m else None


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    """``matcher.fold``, with a quick path for ASCII text (most names): the same result."""
    if text.isascii():
        return _NOT_WORD.sub(" ", text.lower()).strip()
    return matcher.fold(text)


def _compact(text: str) -> str:
    return _fold(text).replace(" ", "")


def _words(text: str) -> list[str]:
    return [w for w in _fold(text).split() if len(w) > 1 and w not in _PARTICLES]


def _keys(text: str) -> set[str]:
    """Comparison keys of an identifier: compact, and compact with leading zeros dropped."""
    key = _compact(text)
    return {key, re.sub(r"(?<![0-9])0+(?=[0-9])", "", key)} - {""}


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
    """What the service searches, read from the store once per version of it.

    People and name-string agents are read at once, with a token index (family-name words,
    abbreviations, identifiers -> entities); specimens, institutions and documents on the first
    query that needs them."""

    def __init__(self, store: Store, base: str = _BASE) -> None:
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
        #: the one identity rule (collectomics.identity): one entity per identity
        self.identity = identity.load(store, self.minter)
        self.agents_of: dict[str, set[str]] = defaultdict(set)
        self._read_people()
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
            if k == _FOAF + "name":
                names.setdefault(p, v)
            if e is None:
                continue
            if k == _FOAF + "givenName":
                parts[p][0] = v
            elif k == _FOAF + "familyName":
                parts[p][1] = v
            elif k == _SKOS + "altLabel" and v not in e.aliases:
                e.aliases.append(v)
            elif k == _COL + "authorAbbreviation" and v not in e.abbreviations:
                e.abbreviations.append(v)
            elif k == _SCHEMA + "birthDate":
                e.birth = _year(v)
            elif k == _SCHEMA + "deathDate":
                e.death = _year(v)
            elif k == _SCHEMA + "sameAs" and (found := _identifier(v)):
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
        given_words = tuple(w for w in _fold(given).split() if w not in _PARTICLES)
        forms = [matcher.ParsedName(given_words, _fold(family))] if family else []
        for n in [e.name, *e.aliases] if not forms or e.aliases else []:
            forms.append(matcher.parse_name(n))
        for p in forms:
            fam = [w for w in p.family.split() if len(w) > 1 and w not in _PARTICLES]
            e.family_words.update(fam)
            if len(fam) > 1:
                e.family_words.add("".join(fam))
            if p.initials:
                e.initials.add(p.initials)
            e.given.update(g for g in p.given if len(g) > 1)
        for a in e.abbreviations:
            e.abbr_keys.add(_compact(a))
        for n in [e.name, *e.aliases]:
            e.abbr_keys.add(_compact(n))
        e.abbr_keys.discard("")

    def resolve(self, agent: str) -> str:
        """The canonical node of ``agent``'s identity (:mod:`collectomics.identity`)."""
        return self.identity.resolve(agent)

    def _read_collecting(self) -> None:
        """Specimen counts, collecting years, countries and families per person and agent: from
        the materialised facets graph when it is fresh, else from the data."""
        if not self.store.query(_ANY_COLLECTED).boolean:
            return  # an authority without specimens: nothing to read

        def targets(agent: str) -> list[Entity]:
            node = self.resolve(agent)
            if agent != node and node in self.by_iri:
                self.agents_of[node].add(agent)
            e = self.by_iri.get(node)
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
                    span(e, _int(n) or 0, _int(first), _int(last))
        else:
            # per specimen: two agents of one identity on a specimen count it once
            for _, agents, year in table(self.store, _COLLECTED, graphs=self.graphs):
                y = _year(year)
                for e in {id(e): e for a in agents.split(" ") for e in targets(a)}.values():
                    span(e, 1, y, y)
        for agent, code in table(self.store, _COUNTRIES, graphs=self.graphs):
            for e in targets(agent):
                e.countries.add(code.upper())
        for agent, fam in table(self.store, _FAMILIES, graphs=self.graphs):
            for e in targets(agent):
                e.families.add(_fold(fam))

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
                    for g in _trigrams(w):
                        grams[g].append(i)
                self._trigrams = dict(grams)
        mine = _trigrams(word)
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
                    shared[other] += _int(n) or 0
        else:
            node = self.resolve(e.iri)
            for agent in self.agents_of.get(node, set()) | {e.iri}:
                rows = table(self.store, _TIES, graphs=self.graphs, params={"me": IRI(agent)})
                for _, other, n in rows:
                    target = self.resolve(other)
                    if target != node:
                        shared[target] += _int(n) or 0
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
            words = {w for n in e.names() for w in _fold(n).split()}
            words |= {_compact(n) for n in e.names()}
            rows.extend((w, rank, e) for w in words if w)
        rows.sort(key=lambda r: (r[0], r[1], r[2].name))
        with self._lock:
            self._suggest = rows
        return rows


def _trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _split_numbers(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[|;,]", text) if p.strip()]


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
            facts[s][k[len(_DWC) :] if k.startswith(_DWC) else "identifier"].append(v)
        for s, f in facts.items():
            e = ix.by_iri.get(s) or ix._add(Entity(ix.rel(s), s, "", SPECIMEN))
            cat, occ = f.get("catalogNumber", []), f.get("occurrenceID", [])
            e.name = (cat or occ or [e.id])[0]
            e.description = "; ".join(f.get("scientificName", [])[:1])
            insts = f.get("institutionCode", [])
            found: set[str] = set()
            for value in [*cat, *occ, *f.get("identifier", [])]:
                found |= _keys(value)
                if "/" in value or ":" in value:  # a barcode at the end of a URL or URN
                    found |= _keys(re.split(r"[/:]", value.rstrip("/"))[-1])
            for value in f.get("otherCatalogNumbers", []):
                for part in _split_numbers(value):
                    found |= _keys(part)
            for inst in insts:  # a barcode: institution code and number, e.g. BCN-1935, P00712345
                for c in cat:
                    found |= _keys(inst + c)
                    for coll in f.get("collectionCode", []):
                        found |= _keys(inst + coll + c)
            e.keys = found
            e.countries = {c.upper() for c in f.get("countryCode", [])}
            e.families = {_fold(x) for x in f.get("family", [])}
            years = [y for y in (_year(v) for v in f.get("year", [])) if y is not None]
            e.first_year = min(years, default=None)
            e.last_year = max(years, default=None)
            e.extra = {k: f.get(k, []) for k in ("catalogNumber", "occurrenceID", "scientificName")}
            for key in found:
                self.keys[key].append(e)

    def _text_entity(self, e: Entity) -> None:
        for n in e.names():
            for w in _words(n):
                if w not in _STOP:
                    self.words[w].append(e)
            e.keys |= _keys(n)
        for key in e.keys:
            self.keys[key].append(e)

    def _institutions(self, ix: Index) -> None:
        for o, name, kind, same in table(ix.store, _ORGANISATIONS):
            if kind and _fold(kind) not in ("organization", "organisation", "institution"):
                continue
            e = ix.by_iri.get(o)
            if e is None:
                e = ix._add(Entity(ix.rel(o), o, name, INSTITUTION))
            elif name not in e.names():
                e.aliases.append(name)
            if same and (found := _identifier(same)):
                e.ids[found[0]] = found[1]
        for e in [x for x in ix.by_id.values() if x.type is INSTITUTION]:
            self._text_entity(e)
        collections: dict[str, list[str]] = defaultdict(list)
        counts: dict[tuple[str, str], int] = {}
        for inst, coll, n in table(ix.store, _CODES):
            counts[(inst, coll)] = _int(n) or 0
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
                c.keys |= _keys(inst + coll)
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
                e.keys |= _keys(ident)
            for key, value in (("date", when), ("type", kind), ("creator", creator),
                               ("holder", holder)):  # fmt: skip
                if value and value not in e.extra.setdefault(key, []):
                    e.extra[key].append(value)
            if when and (y := _year(when)) is not None:
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
    """What changes when the store does. A read-only handle sees the store as of its opening
    (``web`` reopens it when the store changes on disk): its graphs' physical versions suffice.
    A writable store may change under us: its size too."""
    physical = tuple((g, store.physical_graph(g)) for g in store.graphs())
    if getattr(store, "read_only", False):
        return physical
    return physical, store.count()


def index_for(store: Store, base: str = _BASE) -> Index:
    """The index of ``store``, built once per version of the store and reused."""
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


# -- the manifest ------------------------------------------------------------------------------


def manifest(service_url: str, base: str = _BASE) -> dict[str, Any]:
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


# -- query properties --------------------------------------------------------------------------


def _values(v: Any) -> list[str]:
    """A property value as strings: plain strings, numbers, ``{id, name}`` objects or lists."""
    if isinstance(v, list):
        return [x for item in v[:20] for x in _values(item)]
    if isinstance(v, dict):
        out = []
        for k in ("id", "name"):  # the id first: {id: "Q29", name: "Spain"}
            if isinstance(v.get(k), (str, int, float)) and not isinstance(v.get(k), bool):
                out.append(str(v[k])[:MAX_QUERY_CHARS])
        return out
    if isinstance(v, bool) or v is None:
        return []
    if isinstance(v, (str, int, float)):
        return [str(v)[:MAX_QUERY_CHARS]]
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


_COUNTRY_BY_QID = {qid: code for code, (qid, _) in COUNTRIES.items()}
_COUNTRY_BY_NAME = {_fold(name): code for code, (_, name) in COUNTRIES.items()}
_COUNTRY_BY_NAME.update({"usa": "US", "united states": "US", "uk": "GB", "great britain": "GB",
                         "england": "GB", "scotland": "GB", "wales": "GB", "espana": "ES",
                         "catalonia": "ES", "catalunya": "ES", "deutschland": "DE",
                         "brasil": "BR", "mexico": "MX"})  # fmt: skip


def country_code(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code, an English name or a Wikidata QID (or its IRI)."""
    text = text.strip()
    if m := re.search(r"(?:^|/)(Q\d+)$", text, re.I):
        return _COUNTRY_BY_QID.get(m.group(1).upper())
    if len(text) == 2 and text.upper() in COUNTRIES:
        return text.upper()
    return _COUNTRY_BY_NAME.get(_fold(text))


@dataclass
class _Props:
    years: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: list[str] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # values that could not be read


def _props(raw: Any) -> _Props:
    out = _Props()
    if not isinstance(raw, list):
        return out
    for p in raw[:20]:
        if not isinstance(p, dict):
            continue
        pid: str = p["pid"] if isinstance(p.get("pid"), str) else ""
        pid = _PID_ALIASES.get(pid, pid)
        values = [s for s in _values(p.get("v")) if s.strip()]
        if pid in ("birthYear", "deathYear", "collectingYear"):
            years = [y for s in values if (y := _year(s)) is not None]
            out.years.setdefault(pid, []).extend(
                years[:1] if isinstance(p.get("v"), dict) else years
            )
        elif pid in ("wikidata", "orcid"):
            # an {id, name} object: its id only
            vals = values[:1] if isinstance(p.get("v"), dict) else values
            out.ids.setdefault(pid, []).extend(_norm_id(pid, s) for s in vals)
        elif pid == "abbreviation":
            out.abbreviations.extend(values)
        elif pid == "country":
            codes = {c for s in values if (c := country_code(s))}
            out.countries |= codes
            if values and not codes:
                out.unusable.append("country")
        elif pid == "family":
            vals = values[:1] if isinstance(p.get("v"), dict) else values  # {id, name}: the id
            out.families |= {_fold(s) for s in vals} - {""}
        elif pid:
            out.unknown.append(pid)
    return out


def _feature(fid: str, value: float) -> dict[str, Any]:
    return {"id": fid, "value": round(value, 3)}


# -- people ------------------------------------------------------------------------------------


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
    out = [_feature("name_family", by["family"]), _feature("name_given", by["given"]),
           _feature("name_alias", by["alias"])]  # fmt: skip
    if _written_abbreviation(text, e):
        # the query is the person's standard abbreviation (unique in IPNI: "Hook.f.")
        name = max(name, ABBREVIATION_NAME)
        out.append(_feature("abbreviation_exact", 1.0))
    score = 100 * name
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
                score = min(100.0, score + LIFE_BONUS)
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
        if any(_compact(a) == _compact(x) for x in e.abbreviations):
            out.append(_feature("abbreviation_agrees", 1.0))
            score = min(100.0, score + ABBREVIATION_BONUS)
    score = _place_and_taxon(e, props, score, out)
    if e.agent:
        out.append(_feature("name_string_agent", 1.0))
        score *= 0.9  # a name string, not a linked person: never as sure
    if caps:
        score = min(score, *caps)
    return round(max(score, 0.0), 1), out


def _written_abbreviation(text: str, e: Entity) -> bool:
    """True when ``text`` is one of the person's botanist abbreviations as such: shortened
    ("Benth.", "Hook.f.") or a bare family name ("Spruce"); not "H.Hu", which any "H. Hu" is."""
    folded = _fold(text)
    for a in e.abbreviations:
        if _fold(a) == folded:
            p = matcher.parse_name(a)
            if not p.given or p.family not in e.family_words:
                return True
    return False


def _place_and_taxon(e: Entity, props: _Props, score: float, out: list[dict[str, Any]]) -> float:
    """``place_fit`` and ``taxon_fit``: 1 when the entity's specimens include the country or
    family asked for, 0 when they never do, 0.5 when nothing is known."""
    for fid, wanted, have, bonus, penalty in (
        ("place_fit", props.countries, e.countries, PLACE_BONUS, PLACE_PENALTY),
        ("taxon_fit", props.families, e.families, TAXON_BONUS, TAXON_PENALTY),
    ):
        if not wanted:
            continue
        if not have:
            out.append(_feature(fid, 0.5))
        elif wanted & have:
            out.append(_feature(fid, 1.0))
            score = min(100.0, score + bonus)
        else:
            out.append(_feature(fid, 0.0))
            score -= penalty
    return score


@dataclass
class _QueryName:
    tokens: list[str]
    family: set[str]  # what the query's family name may be (either order of the words)
    given: set[str]
    initials: set[str]  # initials in order ("lb" for "L. B."), in either reading of the name
    keys: set[str]  # compact forms: the whole text, abbreviations


def _query_name(text: str, props: _Props) -> _QueryName:
    tokens = _words(text)
    readings = [matcher.parse_name(text)]
    words = text.split()
    if "," not in text and len(words) > 1:  # surname first without a comma: "Wang Z.W."
        readings.append(matcher.parse_name(words[0] + ", " + " ".join(words[1:])))
    family: set[str] = set()
    given: set[str] = set()
    initials: set[str] = set()
    for p in readings:
        family |= {w for w in p.family.split() if len(w) > 1 and w not in _PARTICLES}
        given |= {g for g in p.given if len(g) > 1}
        if p.initials:
            initials.add(p.initials)
    keys = {_compact(text)} | {_compact(a) for a in props.abbreviations}
    return _QueryName(tokens, family, given, initials, keys - {""})


def _prescore(q: _QueryName, e: Entity) -> float:
    """Cheap agreement of a query with a person, to choose whom to score in full."""
    s = 3.0 * len(q.family & e.family_words) + 1.0 * len(set(q.tokens) & e.family_words)
    if q.given & e.given:
        s += 2
    if q.initials and e.initials:
        if q.initials & e.initials:
            s += 3  # the same initials in the same order
        elif any(i.startswith(q) or q.startswith(i) for q in q.initials for i in e.initials):
            s += 2
        elif any(q[0] == i[0] for q in q.initials for i in e.initials):
            s += 1
        else:
            s -= 2  # a first initial that fits none of the person's names
    if q.keys & e.abbr_keys:
        s += 5
    if e.agent:
        s -= 0.5
    return s


def _person_candidates(ix: Index, text: str, props: _Props) -> list[Entity]:
    q = _query_name(text, props)
    found: dict[int, Entity] = {}
    for t in q.tokens:
        for e in ix.family_index.get(t, ()):
            found[id(e)] = e
    for k in q.keys:
        for e in ix.abbr_index.get(k, ()):
            found[id(e)] = e
    if not found:  # no known family word: look for close ones (a typo, missing letters)
        for t in q.tokens:
            if len(t) > 3:
                for w in ix.similar_family_words(t):
                    for e in ix.family_index.get(w, ()):
                        found[id(e)] = e
    forced = [e for kind, ws in props.ids.items() for w in ws
              for e in ix.id_index.get((kind, w.upper()), ())]  # fmt: skip
    ranked = sorted(
        found.values(), key=lambda e: (-_prescore(q, e), -e.specimens, e.agent, e.name, e.id)
    )
    short = ranked[:SHORTLIST]
    return short + [e for e in forced if e not in short]


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
    if e.type is not PERSON:
        return e.description
    if e.agent:
        return "name as written on records (not yet linked to a person)"
    life = f"{e.birth or '?'}-{e.death or ''}" if (e.birth or e.death) else ""
    ids = (f"{k}: {v}" for k, v in sorted(e.ids.items()))
    collected = f"{e.specimens} specimens" if e.specimens else ""
    return ", ".join(x for x in (life, *ids, collected) if x)


_TRAILING_INITIALS = re.compile(
    r"^(?P<family>[^,]*[^\W\d_]{2}[^,]*?)\s+(?P<initials>(?:[A-Z]\.\s*)+)$"
)


def _surname_first(text: str) -> str:
    """``Smith J.E.`` (a family name, then initials, no comma) as ``Smith, J.E.``, the way the
    matcher reads surname-first names."""
    m = _TRAILING_INITIALS.match(text.strip())
    return f"{m.group('family')}, {m.group('initials').strip()}" if m else text


def _persons(ix: Index, text: str, props: _Props) -> list[dict[str, Any]]:
    scored = []
    text = _surname_first(text)
    for e in _person_candidates(ix, text, props):
        s, feats = _score_person(text, e, props)
        if s >= PROPOSE_AT:
            scored.append((s, e, feats))
    best_person = max((s for s, e, _ in scored if not e.agent), default=0.0)
    if best_person >= AGENT_FALLBACK_BELOW:
        scored = [x for x in scored if not x[1].agent]
    people = {e.iri for _, e, _ in scored if not e.agent}
    # an agent linked to a person offered already is that person: not a second candidate
    scored = [x for x in scored if not x[1].agent or ix.resolve(x[1].iri) not in people]
    return [_result(e, s, f) for s, e, f in scored]


# -- specimens, institutions, documents ------------------------------------------------------


def _specimens(ix: Index, text: str, props: _Props) -> list[dict[str, Any]]:
    others = ix.others()
    out: dict[str, dict[str, Any]] = {}
    keys = _keys(text)
    for key in keys:
        for e in others.keys.get(key, ()):
            if e.type is SPECIMEN and e.id not in out:
                feats = [_feature("identifier_exact", 1.0)]
                out[e.id] = _result(e, _adjust(e, props, 100.0, feats), feats)
    key = _compact(text)
    if not out and len(key) >= 4:  # a number that starts with the query
        k = bisect.bisect_left(others.sorted_keys, key)
        while k < len(others.sorted_keys) and others.sorted_keys[k].startswith(key):
            for e in others.keys[others.sorted_keys[k]]:
                if e.id not in out:
                    feats = [_feature("identifier_prefix", 1.0)]
                    out[e.id] = _result(e, _adjust(e, props, 60.0, feats), feats)
            k += 1
            if len(out) > 50:
                break
    return list(out.values())


def _adjust(e: Entity, props: _Props, score: float, feats: list[dict[str, Any]]) -> float:
    return round(max(_place_and_taxon(e, props, score, feats), 0.0), 1)


def _text_score(text: str, e: Entity) -> tuple[float, list[dict[str, Any]]]:
    """A name of an institution or document: identifier or code, then words and spelling."""
    if _keys(text) & e.keys:
        return 100.0, [_feature("identifier_exact", 1.0)]
    q = _fold(text)
    qwords = {w for w in _words(text) if w not in _STOP}
    best_ratio, best_cover = 0.0, 0.0
    for n in e.names():
        f = _fold(n)
        best_ratio = max(best_ratio, SequenceMatcher(None, q, f).ratio())
        words = set(_words(n))
        if qwords:
            best_cover = max(best_cover, len(qwords & words) / len(qwords))
    score = 100 * max(best_ratio, 0.9 * best_cover)
    feats = [_feature("name_similarity", best_ratio), _feature("name_words", best_cover)]
    return round(min(score, 99.0), 1), feats


def _texts(ix: Index, text: str, props: _Props, kind: dict[str, str]) -> list[dict[str, Any]]:
    others = ix.others()
    found: dict[str, Entity] = {}
    for key in _keys(text):
        for e in others.keys.get(key, ()):
            found[e.id] = e
    for w in _words(text):
        for e in others.words.get(w, ())[:500]:
            found[e.id] = e
    out = []
    for e in found.values():
        if e.type is not kind:
            continue
        s, feats = _text_score(text, e)
        s = _adjust(e, props, s, feats)
        if s >= PROPOSE_AT:
            out.append(_result(e, s, feats))
    return out


# -- queries -----------------------------------------------------------------------------------


def _decide(results: list[dict[str, Any]]) -> None:
    results.sort(key=lambda r: (-r["score"], r["name"], r["id"]))
    if results:
        top = results[0]["score"]
        runner = results[1]["score"] if len(results) > 1 else 0.0
        results[0]["match"] = top >= MATCH_AT and top - runner >= MATCH_MARGIN


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
    if text in _TYPE_IDS:
        return text
    folded = text.strip().lower().rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    for tid in _TYPE_IDS:
        if folded == tid.lower():
            return tid
    return _TYPE_ALIASES.get(folded)


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
        props = _props(q.get("properties"))
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
                results = _persons(ix, "" if unknown else text, props)
        if qtype == "Specimen" or (qtype is None and not results):
            results = _specimens(ix, text, props)
        if qtype == "Institution" or (qtype is None and not results):
            results = _texts(ix, text, props, INSTITUTION)
        if qtype == "Document" or (qtype is None and not results):
            results = _texts(ix, text, props, DOCUMENT)
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
    keys = list(queries)[:MAX_BATCH]
    try:
        ix = index_for(store, base)
    except Exception:  # noqa: BLE001 - the store failed: still a well-formed answer, logged
        log.exception("reconciliation: cannot read the store")
        return {str(key): {"result": []} for key in keys}
    return {str(key): reconcile_one(ix, queries[key]) for key in keys}


# -- suggest, preview, view, extend ----------------------------------------------------------


def _prefix_hit(prefix: str, *names: str) -> bool:
    p = _fold(prefix)
    if not p:
        return False
    for n in names:
        f = _fold(n)
        if f.startswith(p) or any(w.startswith(p) for w in f.split()):
            return True
    return False


def suggest_entities(
    store: Store, prefix: str, base: str = _BASE, limit: int = 10, type_id: str | None = None
) -> dict:
    """Entities with a word of a name (or an identifier) starting with ``prefix``: people
    first, then institutions and documents, then agents and specimens."""
    ix = index_for(store, base)
    folded = _fold(prefix)
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
    key = _compact(prefix)
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
            {"id": e.id, "name": e.name, "description": _description(e)} for _, e in ordered[:limit]
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


def preview(store: Store, ident: str, base: str = _BASE) -> str | None:
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
    if desc := _description(e):
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


def view(store: Store, ident: str, base: str = _BASE) -> tuple[str, str] | None:
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
        m: dict[str, Any] = {"id": p, "name": _ALL_EXTEND.get(p, p)}
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
