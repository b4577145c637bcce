"""Collector networks: co-collectors, determiners and people with institutions, with metrics.

:func:`build_network` reads who is named on which specimen (``dwciri:recordedBy``,
``dwciri:identifiedBy`` and ``dwc:institutionCode``, all one hop from the specimen), resolves each
agent to the canonical node of its identity (:mod:`collectomics.analysis.identity`, the one
rule) and returns a :class:`Network`: a
networkx graph whose edges carry the shared specimen count and the first and last year of the
tie, and whose nodes carry degree, weighted degree, betweenness and a community.

:func:`materialise` writes the whole graph's co-collection edges and the specimen facet counts
(by country, decade, institution, collector, family) into one named graph,
``{base}graph/facets``, together with the physical versions of the graphs they were computed
from, so that :func:`~collectomics.analysis.readers.facets_fresh` can tell when a reload made
them stale, and keeps the edge index and itinerary rows beside it. Exports:
GEXF and GraphML (with year intervals for Gephi's timeline), CSV for Palladio, JSON.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import networkx as nx

from collectomics.analysis import edgeindex, identity
from collectomics.analysis.identity import Identities
from collectomics.analysis.itinerary import cache_itineraries
from collectomics.analysis.readers import (
    data_graphs,
    facets_fresh,
    facets_graph,
    facets_stamp,
    iri_values,
    materialisation_token,
    table,
)
from collectomics.errors import InputError
from collectomics.iri import Minter, slug
from collectomics.model import IRI, XSD, Literal, nquad
from collectomics.store import Store
from collectomics.vocab import COL, DCTERMS, RDF

KINDS = ("co-collector", "determiner", "institution")
#: the facet that counts records of every kind (specimens and observations) by basisOfRecord
BASIS = "basis"
#: every facet counts specimens (material entities) but BASIS, which counts records
FACETS = ("country", "decade", "institution", "collector", "family", BASIS)
#: above this many nodes, betweenness is estimated from a sample of this many sources
BETWEENNESS_SAMPLE = 500

# ------------------------------------------------------------------ the network


@dataclass
class Slice:
    """Which specimens count: a dataset, and a span of collecting years (both optional)."""

    dataset: str | None = None
    start: int | None = None
    end: int | None = None

    @classmethod
    def decade(cls, decade: int, dataset: str | None = None) -> Slice:
        if decade % 10:
            raise InputError(f"a decade starts on a year ending in 0, not {decade}")
        return cls(dataset, decade, decade + 9)

    def filter(self) -> str:
        parts = []
        if self.start is not None:
            parts.append(f"?y >= {int(self.start)}")
        if self.end is not None:
            parts.append(f"?y <= {int(self.end)}")
        return f"FILTER({' && '.join(parts)})" if parts else ""

    def year_pattern(self) -> str:
        if self.start is None and self.end is None:
            return "OPTIONAL { ?s dwc:year ?y }"
        return f"?s dwc:year ?y . {self.filter()}"


@dataclass
class Network:
    """A network and how it was drawn."""

    kind: str
    graph: nx.Graph
    slice: Slice = field(default_factory=Slice)
    ego: str | None = None
    depth: int = 0
    source: str = "data"  # "data" (read now) or "facets" (the materialised edges)

    def nodes(self) -> list[dict[str, Any]]:
        return [{"id": n, **a} for n, a in sorted(self.graph.nodes(data=True))]

    def edges(self) -> list[dict[str, Any]]:
        # an undirected tie is listed from its smaller IRI, whatever order it was read in
        return [
            {"source": u, "target": v, **a}
            for u, v, a in sorted(
                (min(u, v), max(u, v), a) for u, v, a in self.graph.edges(data=True)
            )
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ego": self.ego,
            "depth": self.depth,
            "dataset": self.slice.dataset,
            "start": self.slice.start,
            "end": self.slice.end,
            "source": self.source,
            "nodes": self.nodes(),
            "edges": self.edges(),
        }


class _Builder:
    """Accumulates nodes and weighted, dated ties."""

    def __init__(self, ids: Identities) -> None:
        self.ids = ids
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str], dict[str, Any]] = {}
        self.seen: set[Any] = set()  # specimens already read (a neighbourhood read in rounds)
        self.closed = False  # the last round: only ties among nodes already reached

    def node(self, node: str, kind: str, year: int | None, count: int = 1) -> None:
        n = self.nodes.get(node)
        if n is None and self.closed:
            return
        if n is None:
            n = self.nodes[node] = {"label": self.ids.label(node), "kind": kind, "specimens": 0}
        n["specimens"] += count
        _span(n, year)

    def tie(self, a: str, b: str, year: int | None, count: int = 1, **extra: Any) -> None:
        if a == b or self.closed and (a not in self.nodes or b not in self.nodes):
            return
        key = (a, b) if a < b else (b, a)
        e = self.edges.get(key)
        if e is None:
            e = self.edges[key] = {"weight": 0, **extra}
        e["weight"] += count
        _span(e, year)

    def graph(self) -> nx.Graph:
        g = nx.Graph()
        self.ids.fetch_names({n for e in self.edges for n in e} | set(self.nodes))
        for node, attrs in self.nodes.items():
            attrs["label"] = (
                self.ids.label(node) if attrs.get("kind") != "institution" else attrs["label"]
            )
            g.add_node(node, **attrs)
        for (a, b), attrs in self.edges.items():
            for n in (a, b):
                if n not in g:
                    g.add_node(n, label=self.ids.label(n), kind=_kind(self.ids, n), specimens=0)
            g.add_edge(a, b, **attrs)
        return g


def _span(attrs: dict[str, Any], year: int | None, last: int | None = None) -> None:
    if year is None:
        return
    last = year if last is None else last
    if attrs.get("first_year") is None or year < attrs["first_year"]:
        attrs["first_year"] = year
    if attrs.get("last_year") is None or last > attrs["last_year"]:
        attrs["last_year"] = last


def _kind(ids: Identities, node: str) -> str:
    return "person" if ids.is_person(node) else "agent"


def _year(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


_SPECIMEN_AGENTS = """
SELECT ?s (GROUP_CONCAT(STR(?a); separator=" ") AS ?agents) (SAMPLE(?y) AS ?year) WHERE {{
  {values} ?s {prop} ?a . FILTER(isIRI(?a)) {years}
}} GROUP BY ?s
"""


def _specimen_rows(
    store: Store, graphs: list[str] | None, prop: str, sl: Slice, me: set[str] | None
) -> Iterator[tuple[str, list[str], int | None]]:
    values = ""
    if me is not None:
        values = f"VALUES ?me {{ {iri_values(me)} }} ?s {prop} ?me ."
    q = _SPECIMEN_AGENTS.format(values=values, prop=prop, years=sl.year_pattern())
    for s, agents, year in table(store, q, graphs=graphs):
        yield s, agents.split(" "), _year(year)


def _co_collectors(
    b: _Builder, store: Store, graphs: list[str] | None, sl: Slice, me: set[str] | None
) -> None:
    for s, agents, year in _specimen_rows(store, graphs, "dwciri:recordedBy", sl, me):
        if s in b.seen:
            continue
        if me is not None:
            b.seen.add(s)
        people = sorted({b.ids.resolve(a) for a in agents})
        for p in people:
            b.node(p, _kind(b.ids, p), year)
        for i, p in enumerate(people):
            for q in people[i + 1 :]:
                b.tie(p, q, year)


def _determiners(
    b: _Builder, store: Store, graphs: list[str] | None, sl: Slice, me: set[str] | None
) -> None:
    values = (
        f"VALUES ?me {{ {iri_values(me)} }} {{ ?s dwciri:identifiedBy ?me }} UNION "
        "{ ?s dwciri:recordedBy ?me }"
        if me is not None
        else ""
    )
    q = (
        f"SELECT DISTINCT ?s ?d ?c ?y WHERE {{ {values} ?s dwciri:identifiedBy ?d ; "
        f"dwciri:recordedBy ?c . {sl.year_pattern()} }}"
    )
    for s, d, c, y in table(store, q, graphs=graphs):
        if (s, d, c) in b.seen:
            continue
        if me is not None:
            b.seen.add((s, d, c))
        dn, cn, year = b.ids.resolve(d), b.ids.resolve(c), _year(y)
        b.node(dn, _kind(b.ids, dn), year)
        b.node(cn, _kind(b.ids, cn), year)
        b.tie(dn, cn, year, determiner=dn)


def _institutions(
    b: _Builder,
    store: Store,
    graphs: list[str] | None,
    sl: Slice,
    me: set[str] | None,
    minter: Minter,
) -> None:
    values = f"VALUES ?a {{ {iri_values(me)} }}" if me else ""
    q = (
        f'SELECT ?s (GROUP_CONCAT(STR(?a); separator=" ") AS ?agents) (SAMPLE(?i) AS ?code) '
        f"(SAMPLE(?y) AS ?year) WHERE {{ {values} ?s dwciri:recordedBy ?a ; "
        f"dwc:institutionCode ?i . FILTER(isIRI(?a)) {sl.year_pattern()} }} GROUP BY ?s"
    )
    # one row per specimen: a specimen named with two agents of one identity counts once
    counts: dict[tuple[str, str], list[Any]] = {}
    for _, agents, code, y in table(store, q, graphs=graphs):
        year = _year(y)
        for node in {b.ids.resolve(a) for a in agents.split(" ")}:
            c = counts.setdefault((node, code), [0, None, None])
            c[0] += 1
            if year is not None:
                c[1] = year if c[1] is None else min(c[1], year)
                c[2] = year if c[2] is None else max(c[2], year)
    for (node, code), (count, first, last) in sorted(counts.items()):
        inst = institution_iri(minter, code)
        b.node(node, _kind(b.ids, node), None, count)
        _span(b.nodes[node], first, last)
        if inst not in b.nodes:
            b.nodes[inst] = {"label": code, "kind": "institution", "specimens": 0}
        b.nodes[inst]["specimens"] += count
        _span(b.nodes[inst], first, last)
        b.tie(node, inst, first, count)
        _span(b.edges[(node, inst) if node < inst else (inst, node)], last)


def institution_iri(minter: Minter, code: str) -> IRI:
    """A node for an institution known only by its ``dwc:institutionCode``."""
    return minter.mint("institution", slug(code) or "unknown")


def build_network(
    store: Store,
    minter: Minter,
    kind: str = "co-collector",
    *,
    dataset: str | None = None,
    start: int | None = None,
    end: int | None = None,
    decade: int | None = None,
    person: str | None = None,
    depth: int = 1,
    limit: int = 0,
    metrics: bool | str = True,
) -> Network:
    """The ``kind`` network over the whole graph, one dataset, and/or one person's neighbourhood.

    ``decade`` (e.g. 1980) or ``start``/``end`` (collecting years, inclusive) keep only specimens
    collected then. The unsliced co-collector network (whole graph, or a neighbourhood) comes
    from the materialised facets graph when it is fresh. ``metrics``: True (all), ``"basic"``
    (degrees and communities, no betweenness: quick on large neighbourhoods) or False.
    ``limit`` (0: none) keeps, in each ring of a neighbourhood, only the people with the
    strongest ties to the ring inside it: a prolific collector has thousands of co-collectors.
    """
    if kind not in KINDS:
        raise InputError(f"unknown network {kind!r}; one of {', '.join(KINDS)}")
    if depth not in (1, 2):
        raise InputError("depth is 1 or 2", parameter="depth")
    sl = Slice.decade(decade, dataset) if decade is not None else Slice(dataset, start, end)
    graphs = data_graphs(store, minter, dataset)
    ids = Identities(store, minter)
    if person is not None:
        person = ids.resolve(person)  # an agent's, a person's or its Wikidata IRI: one answer
    fresh = _unsliced(kind, sl) and facets_fresh(store, minter)
    index = _edge_index(store, minter) if fresh else None
    if person is None and fresh:
        g = index.whole() if index is not None else _edges_from_facets(store, minter, ids)
        net = Network(kind, g, sl, source="facets")
    elif person is not None and fresh:
        found = index.ego(person, depth, limit) if index is not None else None
        g = (
            found
            if found is not None
            else _ego_from_facets(store, minter, ids, person, depth, limit)
        )
        net = Network(kind, g, sl, ego=person, depth=depth, source="facets")
    else:
        b = _Builder(ids)
        me: set[str] | None = None
        if person is not None:
            me = ids.agents_of(person)
        # a neighbourhood is read ring by ring, then once more for the ties among the last ring
        rounds = depth + 1 if person is not None and kind != "institution" else 1
        if kind == "institution":
            me = None  # the whole (sliced) bipartite network, cut around the person below
        for step in range(rounds):
            b.closed = person is not None and step == depth
            if kind == "co-collector":
                _co_collectors(b, store, graphs, sl, me)
            elif kind == "determiner":
                _determiners(b, store, graphs, sl, me)
            else:
                _institutions(b, store, graphs, sl, me, minter)
            if step + 1 < rounds:
                reached = set().union(*(ids.agents_of(n) for n in b.nodes)) if b.nodes else set()
                me = reached - (me or set()) if me is not None else reached
                if not me:
                    break
        g = b.graph()
        if person is not None:
            if person not in g:
                g.add_node(person, label=ids.label(person), kind=_kind(ids, person), specimens=0)
            g = _trim(nx.ego_graph(g, person, radius=depth), person, depth, limit)
        net = Network(kind, g, sl, ego=person, depth=depth if person else 0)
    if metrics:
        add_metrics(net.graph, betweenness=metrics != "basic")
    return net


def _edge_index(store: Store, minter: Minter) -> edgeindex.EdgeIndex | None:
    """The array index ``materialise`` wrote with the facets graph, if there is one (the
    caller has checked that the facets graph is fresh)."""
    token = materialisation_token(store, minter)
    return edgeindex.lookup(store, token) if token else None


def _unsliced(kind: str, sl: Slice) -> bool:
    return kind == "co-collector" and sl.dataset is None and sl.start is None and sl.end is None


def _trim(g: nx.Graph, person: str, depth: int, limit: int) -> nx.Graph:
    """Keep, ring by ring, the ``limit`` nodes most strongly tied to the ring inside."""
    if not limit:
        return g.copy()
    keep, inner = {person}, {person}
    for _ in range(depth):
        strength: dict[str, int] = defaultdict(int)
        for node in inner:
            for other, attrs in g[node].items():
                if other not in keep:
                    strength[other] += attrs.get("weight", 1)
        ring = sorted(strength, key=lambda n: (-strength[n], n))[:limit]
        keep |= set(ring)
        inner = set(ring)
    return g.subgraph(keep).copy()


def _ego_from_facets(
    store: Store, minter: Minter, ids: Identities, person: str, depth: int, limit: int = 0
) -> nx.Graph:
    """A neighbourhood from the materialised edges: rings out to ``depth``, then their ties."""
    graph = [facets_graph(minter)]
    # one query per direction: a UNION of the two was 3-6 times slower in Oxigraph
    queries = [
        "SELECT ?a ?b ?n ?first ?last WHERE { VALUES ?%s { %s } ?e col:tieSource ?a ; "
        "col:tieTarget ?b ; col:sharedSpecimens ?n . "
        "OPTIONAL { ?e col:firstYear ?first } OPTIONAL { ?e col:lastYear ?last } }".replace(
            "?%s", "?" + end
        )
        for end in ("a", "b")
    ]
    dist = {person: 0}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    frontier = {person}
    for ring in range(depth + 1):  # the last round only adds ties among nodes already reached
        if not frontier:
            break
        found: set[str] = set()
        strength: dict[str, int] = defaultdict(int)
        values = iri_values(frontier)
        rows = (r for q in queries for r in table(store, q % values, graphs=graph))
        for a, b_, n, first, last in rows:
            if ring == depth and (a not in dist or b_ not in dist):
                continue
            attrs: dict[str, Any] = {"weight": int(n)}
            _span(attrs, _year(first), _year(last))
            edges[(a, b_)] = attrs
            for node in (a, b_):
                if node not in dist:
                    found.add(node)
                if node in found:
                    strength[node] += attrs["weight"]
        if limit and ring < depth:
            found = set(sorted(found, key=lambda n: (-strength[n], n))[:limit])
        for node in found:
            dist.setdefault(node, ring + 1)
        frontier = found
    g = nx.Graph()
    g.add_nodes_from(dist)
    for (a, b_), attrs in edges.items():
        if a in dist and b_ in dist:
            g.add_edge(a, b_, **attrs)
    counts = _collector_counts(store, minter, set(g))
    ids.fetch_names(g)
    for node, attrs in g.nodes(data=True):
        attrs.update(label=ids.label(node), kind=_kind(ids, node))
        attrs.update(counts.get(node, {"specimens": 0}))
    return g


def _collector_counts(store: Store, minter: Minter, nodes: set[str]) -> dict[str, dict[str, Any]]:
    if not nodes:
        return {}
    q = (
        f"SELECT ?v ?n ?first ?last WHERE {{ VALUES ?v {{ {iri_values(nodes)} }} ?f col:facetValue ?v ; "
        "col:specimenCount ?n . OPTIONAL { ?f col:firstYear ?first } OPTIONAL { ?f col:lastYear ?last } }"
    )
    out: dict[str, dict[str, Any]] = {}
    for v, n, first, last in table(store, q, graphs=[facets_graph(minter)]):
        attrs: dict[str, Any] = {"specimens": int(n)}
        _span(attrs, _year(first), _year(last))
        out[v] = attrs
    return out


def _edges_from_facets(store: Store, minter: Minter, ids: Identities) -> nx.Graph:
    g = nx.Graph()
    q = (
        "SELECT ?a ?b ?n ?first ?last WHERE { ?e a col:CoCollection ; col:tieSource ?a ; "
        "col:tieTarget ?b ; col:sharedSpecimens ?n . OPTIONAL { ?e col:firstYear ?first } "
        "OPTIONAL { ?e col:lastYear ?last } }"
    )
    for a, b_, n, first, last in table(store, q, graphs=[facets_graph(minter)]):
        attrs: dict[str, Any] = {"weight": int(n)}
        _span(attrs, _year(first), _year(last))
        g.add_edge(a, b_, **attrs)
    q = (
        'SELECT ?v ?n ?first ?last WHERE { ?f a col:FacetCount ; col:facet "collector" ; '
        "col:facetValue ?v ; col:specimenCount ?n . OPTIONAL { ?f col:firstYear ?first } "
        "OPTIONAL { ?f col:lastYear ?last } }"
    )
    ids.fetch_names()
    for v, n, first, last in table(store, q, graphs=[facets_graph(minter)]):
        attrs = {"label": ids.label(v), "kind": _kind(ids, v), "specimens": int(n)}
        _span(attrs, _year(first), _year(last))
        g.add_node(v, **attrs)
    for node, attrs in g.nodes(data=True):
        if "label" not in attrs:
            attrs.update(label=ids.label(node), kind=_kind(ids, node), specimens=0)
    return g


def _canonical(g: nx.Graph) -> nx.Graph:
    """The same graph with its nodes and edges inserted in sorted order: Louvain and sampled
    betweenness visit nodes in insertion order, so the order the store returned rows in would
    otherwise change the communities (3 of the corpus's 30 networks split differently with the
    same edges shuffled)."""
    h = nx.Graph()
    h.add_nodes_from(sorted(g.nodes))
    h.add_edges_from(
        sorted(((min(u, v), max(u, v), d) for u, v, d in g.edges(data=True)), key=lambda e: e[:2])
    )
    return h


def add_metrics(g: nx.Graph, *, betweenness: bool = True) -> None:
    """Degree, weighted degree, betweenness (sampled above BETWEENNESS_SAMPLE nodes), community;
    the same whatever order the graph's nodes and edges were added in."""
    for node, d in g.degree():
        g.nodes[node]["degree"] = int(d)
    for node, d in g.degree(weight="weight"):
        g.nodes[node]["weighted_degree"] = int(d)
    canonical = _canonical(g)
    if betweenness:
        if g.number_of_nodes() > BETWEENNESS_SAMPLE:
            between = nx.betweenness_centrality(canonical, k=BETWEENNESS_SAMPLE, seed=0)
        else:
            between = nx.betweenness_centrality(canonical)
        for node, b in between.items():
            g.nodes[node]["betweenness"] = round(float(b), 6)
    communities = nx.community.louvain_communities(canonical, weight="weight", seed=0) if g else []
    ordered = sorted(communities, key=lambda c: (-len(c), min(c)))
    for i, members in enumerate(ordered):
        for node in members:
            g.nodes[node]["community"] = i


# ------------------------------------------------------------------ materialising


@dataclass
class MaterialiseReport:
    """What :func:`materialise` wrote; the page sections' fields are filled by
    :func:`collectomics.services.materialise.materialise`, which keeps them."""

    graph: str
    edges: int = 0
    facets: dict[str, int] = field(default_factory=dict)
    triples: int = 0
    itineraries: int = 0  # prolific collectors whose itinerary rows were kept
    summaries: int = 0  # identities whose page sections were kept
    summary_triples: int = 0
    summary_seconds: float = 0.0

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.facets.items())
        return (
            f"{self.edges} co-collection edges and facet counts ({counts}): "
            f"{self.triples} triples in <{self.graph}>; itineraries kept for "
            f"{self.itineraries} collectors; page sections kept for {self.summaries} "
            f"people ({self.summary_triples} triples, {self.summary_seconds:.1f} s)"
        )


#: Specimens (material entities: what mapping types a record whose basisOfRecord is a
#: preserved, fossil or living specimen, a material sample or citation, or not given) per value.
_FACET_QUERIES = {
    "country": "SELECT ?v (COUNT(?s) AS ?n) WHERE { ?s a dwc:MaterialEntity . ?s dwc:countryCode ?v } GROUP BY ?v",
    "decade": "SELECT ?v (COUNT(?s) AS ?n) WHERE { ?s a dwc:MaterialEntity . ?s dwc:year ?y . BIND(FLOOR(?y / 10) * 10 AS ?v) } GROUP BY ?v",
    "institution": "SELECT ?v (COUNT(?s) AS ?n) WHERE { ?s a dwc:MaterialEntity . ?s dwc:institutionCode ?v } GROUP BY ?v",
    "family": "SELECT ?v (COUNT(?s) AS ?n) WHERE { ?s a dwc:MaterialEntity . ?s dwc:family ?v } GROUP BY ?v",
}
#: Records of every kind (observations are dwc:Occurrence, not material entities) per
#: basisOfRecord as written; ?m says whether they are specimens. A record with two
#: basisOfRecord values counts once, under the first.
_BASIS_QUERY = """SELECT ?v ?m (COUNT(?s) AS ?n) WHERE {
  { SELECT ?s ?m (MIN(STR(?b)) AS ?v) WHERE {
      { ?s a dwc:MaterialEntity BIND(true AS ?m) } UNION { ?s a dwc:Occurrence BIND(false AS ?m) }
      OPTIONAL { ?s dwc:basisOfRecord ?b }
    } GROUP BY ?s ?m }
} GROUP BY ?v ?m"""
#: The Darwin Core basisOfRecord vocabulary, by its spelling folded (GBIF writes PRESERVED_SPECIMEN)
_BASES = {
    b.lower(): b
    for b in (
        "PreservedSpecimen FossilSpecimen LivingSpecimen MaterialSample MaterialCitation "
        "MaterialEntity HumanObservation MachineObservation Observation Occurrence Event Taxon"
    ).split()
}
#: The facet value of specimens whose record gives no basisOfRecord (mapped as preserved specimens)
NO_BASIS = "(not given)"
#: Specimens per collector: each material entity once, with the agents named on it
_COLLECTOR_SPECIMENS = """SELECT ?s (GROUP_CONCAT(STR(?a); separator=" ") AS ?agents) (SAMPLE(?y) AS ?year)
WHERE { ?s a dwc:MaterialEntity ; dwciri:recordedBy ?a . FILTER(isIRI(?a)) OPTIONAL { ?s dwc:year ?y } }
GROUP BY ?s"""


def basis_label(written: str) -> str:
    """A basisOfRecord in the Darwin Core vocabulary's spelling (``PRESERVED_SPECIMEN`` and
    ``preserved specimen`` are ``PreservedSpecimen``); a value outside it as written."""
    if not written:
        return NO_BASIS
    return _BASES.get(written.replace("_", "").replace(" ", "").lower(), written.strip())


def basis_counts(store: Store, graphs: Sequence[str] | None) -> list[dict[str, Any]]:
    """Records per basisOfRecord, largest first: ``records`` of every kind and, where those
    records are material entities, the same number as ``specimens`` (0 for observations)."""
    counts: dict[str, dict[str, Any]] = {}
    for v, m, n in table(store, _BASIS_QUERY, graphs=graphs):
        row = counts.setdefault(basis_label(v), {"records": 0, "specimens": 0})
        row["records"] += int(n)
        if m == "true":
            row["specimens"] += int(n)
    rows = [{"value": v, **c} for v, c in counts.items()]
    return sorted(rows, key=lambda r: (-r["records"], r["value"]))


def collector_specimens(
    store: Store, graphs: Sequence[str] | None, ids: Identities
) -> dict[str, dict[str, Any]]:
    """Specimens (material entities, never observations) per person their collectors resolve
    to, each specimen once per person, with the first and last collecting year."""
    out: dict[str, dict[str, Any]] = {}
    for _, agents, year in table(store, _COLLECTOR_SPECIMENS, graphs=graphs):
        y = _year(year)
        for person in {ids.resolve(a) for a in agents.split(" ")}:
            attrs = out.setdefault(person, {"specimens": 0})
            attrs["specimens"] += 1
            _span(attrs, y)
    return out


def materialise(store: Store, minter: Minter, ids: Identities | None = None) -> MaterialiseReport:
    """Replace the facets graph with co-collection edges and specimen facet counts, and write
    its caches (the edge index, prolific collectors' itinerary rows). ``ids``: the identities
    as they are now, when the caller has read them (else they are refreshed and read here).
    The person pages' sections are kept by :mod:`collectomics.services.materialise`."""
    graph = facets_graph(minter)
    report = MaterialiseReport(graph)
    graphs = data_graphs(store, minter)
    if ids is None:
        identity.refresh(store, minter)  # the facets are counted per identity, as it is now
        ids = Identities(store, minter)
    b = _Builder(ids)
    _co_collectors(b, store, graphs, Slice(), None)
    lines: list[str] = []

    def add(s: str, p: str, o: Any) -> None:
        lines.append(nquad((IRI(s), IRI(p), o, None)))

    def integer(n: int) -> Literal:
        return Literal(str(n), XSD + "integer")

    for (a, c), attrs in sorted(b.edges.items()):
        node = minter.mint("network", "co-collection", _hash(a, c))
        add(node, RDF.type, COL.CoCollection)
        add(node, COL.tieSource, IRI(a))
        add(node, COL.tieTarget, IRI(c))
        add(node, COL.sharedSpecimens, integer(attrs["weight"]))
        if attrs.get("first_year") is not None:
            add(node, COL.firstYear, integer(attrs["first_year"]))
            add(node, COL.lastYear, integer(attrs["last_year"]))
    report.edges = len(b.edges)

    def facet(name: str, value: str | IRI, n: int, extra: dict[str, Any] | None = None) -> None:
        node = minter.mint("facet", name, slug(str(value)) + "-" + _hash(str(value))[:8])
        add(node, RDF.type, COL.FacetCount)
        add(node, COL.facet, Literal(name))
        add(node, COL.facetValue, value if isinstance(value, IRI) else Literal(str(value)))
        add(node, COL.specimenCount, integer(n))
        for key, v in (extra or {}).items():
            if v is not None:
                add(node, COL.firstYear if key == "first_year" else COL.lastYear, integer(v))
        report.facets[name] = report.facets.get(name, 0) + 1

    for name, q in _FACET_QUERIES.items():
        report.facets[name] = 0
        for v, n in table(store, q, graphs=graphs):
            if v:
                facet(name, v.split(".")[0] if name == "decade" else v, int(n))
    report.facets["collector"] = 0
    collectors = collector_specimens(store, graphs, ids)
    for who, attrs in sorted(collectors.items()):
        facet(
            "collector",
            IRI(who),
            attrs["specimens"],
            {"first_year": attrs.get("first_year"), "last_year": attrs.get("last_year")},
        )
    report.facets[BASIS] = 0
    for row in basis_counts(store, graphs):
        node = minter.mint("facet", BASIS, slug(row["value"]) + "-" + _hash(row["value"])[:8])
        add(node, RDF.type, COL.FacetCount)
        add(node, COL.facet, Literal(BASIS))
        add(node, COL.facetValue, Literal(row["value"]))
        add(node, COL.recordCount, integer(row["records"]))
        add(node, COL.specimenCount, integer(row["specimens"]))
        report.facets[BASIS] += 1
    # the array index counts what the collector facet counts: specimens, not observations
    none = {"specimens": 0, "first_year": None, "last_year": None}
    counted = {who: {**attrs, **none, **collectors.get(who, {})} for who, attrs in b.nodes.items()}
    stamp = minter.mint("network", "materialisation")
    add(stamp, RDF.type, COL.Materialisation)
    token = uuid.uuid4().hex  # ties the array index below to this very graph
    add(stamp, DCTERMS.identifier, Literal(token))
    for v in facets_stamp(store, minter):
        add(stamp, COL.basedOn, Literal(v))
    ids.fetch_names()
    index = edgeindex.EdgeIndex.build(token, counted, b.edges, ids.label, lambda n: _kind(ids, n))
    report.triples = store.replace_graph(graph, "".join(lines).encode("utf-8"), "ntriples")
    edgeindex.remember(store, index)
    report.itineraries = cache_itineraries(
        store, minter, token, ids, {n: a["specimens"] for n, a in b.nodes.items()}
    )
    return report


def _hash(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def facet_counts(store: Store, minter: Minter, facet: str) -> list[dict[str, Any]]:
    """One facet's counts from the facets graph, largest first (empty when not materialised):
    ``specimens`` per value, and for :data:`BASIS` ``records`` and ``specimens``."""
    if facet not in FACETS:
        raise InputError(f"unknown facet {facet!r}; one of {', '.join(FACETS)}")
    graph = facets_graph(minter)
    if graph not in store.graphs():
        return []
    if facet == BASIS:
        q = (
            "SELECT ?v ?r ?n ?facet WHERE { ?f a col:FacetCount ; col:facet ?facet ; col:facetValue ?v ; "
            "col:recordCount ?r ; col:specimenCount ?n }"
        )
        found = table(store, q, graphs=[graph], params={"facet": Literal(BASIS)})
        basis = [{"value": v, "records": int(r), "specimens": int(n)} for v, r, n, _ in found]
        return sorted(basis, key=lambda r: (-r["records"], r["value"]))
    q = (
        "SELECT ?v ?n ?facet WHERE { ?f a col:FacetCount ; col:facet ?facet ; col:facetValue ?v ; "
        "col:specimenCount ?n }"
    )
    rows = [
        {"value": v, "specimens": int(n)}
        for v, n, _ in table(store, q, graphs=[graph], params={"facet": Literal(facet)})
    ]
    return sorted(rows, key=lambda r: (-r["specimens"], r["value"]))


# ------------------------------------------------------------------ exports

EXPORT_FORMATS = ("gexf", "graphml", "csv", "json")


def _plain(g: nx.Graph, *, intervals: bool) -> nx.Graph:
    """A copy with only scalar attributes (no None), with start/end years for Gephi if asked."""
    h = nx.Graph()
    for node, attrs in g.nodes(data=True):
        a = {k: v for k, v in attrs.items() if v is not None}
        if intervals and "first_year" in a:
            a["start"], a["end"] = a["first_year"], a["last_year"]
        h.add_node(node, **a)
    for u, v, attrs in g.edges(data=True):
        a = {k: v_ for k, v_ in attrs.items() if v_ is not None}
        if intervals and "first_year" in a:
            a["start"], a["end"] = a["first_year"], a["last_year"]
        h.add_edge(u, v, **a)
    return h


def write_gexf(net: Network, path: str | os.PathLike[str] | IO[bytes]) -> None:
    """GEXF 1.2 for Gephi; nodes and edges carry start/end years, so Gephi's timeline plays them."""
    nx.write_gexf(_plain(net.graph, intervals=True), path, version="1.2draft")


def write_graphml(net: Network, path: str | os.PathLike[str] | IO[bytes]) -> None:
    """GraphML with first/last year and start/end attributes (Gephi: merge into an interval)."""
    nx.write_graphml(_plain(net.graph, intervals=True), path)


NODE_COLUMNS = (
    "Id Label kind specimens first_year last_year degree weighted_degree betweenness community"
).split()
EDGE_COLUMNS = "Source Target weight first_year last_year determiner".split()


def write_csv(net: Network, nodes: IO[str], edges: IO[str]) -> None:
    """Nodes and edges tables as Palladio reads them (Id/Label, Source/Target)."""
    w = csv.writer(nodes)
    w.writerow(NODE_COLUMNS)
    for n in net.nodes():
        w.writerow([n["id"], n.get("label", "")] + [_cell(n.get(c)) for c in NODE_COLUMNS[2:]])
    w = csv.writer(edges)
    w.writerow(EDGE_COLUMNS)
    for e in net.edges():
        w.writerow([e["source"], e["target"]] + [_cell(e.get(c)) for c in EDGE_COLUMNS[2:]])


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def export(net: Network, fmt: str, out: Path) -> list[Path]:
    """Write ``net`` to ``out`` in ``fmt``; CSV writes OUT-nodes.csv and OUT-edges.csv."""
    if fmt == "gexf":
        write_gexf(net, out)
    elif fmt == "graphml":
        write_graphml(net, out)
    elif fmt == "json":
        out.write_text(json.dumps(net.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    elif fmt == "csv":
        stem = out.with_suffix("") if out.suffix == ".csv" else out
        paths = [Path(f"{stem}-nodes.csv"), Path(f"{stem}-edges.csv")]
        with (
            open(paths[0], "w", encoding="utf-8", newline="") as nodes,
            open(paths[1], "w", encoding="utf-8", newline="") as edges,
        ):
            write_csv(net, nodes, edges)
        return paths
    else:
        raise InputError(f"unknown format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    return [out]


def to_text(net: Network, fmt: str) -> str:
    """The network as text in ``fmt`` (for stdout and the web)."""
    if fmt == "json":
        return json.dumps(net.to_dict(), ensure_ascii=False, indent=1)
    buf = io.BytesIO()
    if fmt == "gexf":
        write_gexf(net, buf)
    elif fmt == "graphml":
        write_graphml(net, buf)
    else:
        raise InputError(f"format {fmt!r} cannot go to one stream; one of gexf, graphml, json")
    return buf.getvalue().decode("utf-8")


# ------------------------------------------------------------------ the dashboard

_LIVE_COLLECTORS = (
    'SELECT ?s (GROUP_CONCAT(STR(?v); separator=" ") AS ?agents) WHERE { ?s a dwc:MaterialEntity ; '
    "dwciri:recordedBy ?v . FILTER(isIRI(?v)) } GROUP BY ?s"
)


def _live_collectors(store: Store, graphs: list[str] | None, ids: Identities) -> list[list[str]]:
    """(identity, specimens) rows computed from the data: each specimen counts once for each
    identity among its collectors."""
    counts: dict[str, int] = defaultdict(int)
    for _, agents in table(store, _LIVE_COLLECTORS, graphs=graphs):
        for node in {ids.resolve(a) for a in agents.split(" ")}:
            counts[node] += 1
    return [[node, str(n)] for node, n in counts.items()]


def dashboard(store: Store, minter: Minter, *, limit: int = 25) -> dict[str, Any]:
    """Specimen counts per facet, largest first (``limit`` per facet, 0 for all), with labels,
    and the records of every kind by basisOfRecord (facet :data:`BASIS`, rows with ``records``
    and ``specimens``); ``records`` and ``specimens`` are the totals, each facet says what it
    ``counts``.

    From the facets graph when it is fresh (one hop); else computed from the data (slower on
    large graphs). Collectors are identities (:mod:`collectomics.analysis.identity`) either way, each
    shown under its display name; every facet but :data:`BASIS` counts the same population:
    material entities.
    """
    fresh = facets_fresh(store, minter)
    graphs = data_graphs(store, minter)
    out: dict[str, Any] = {"source": "facets" if fresh else "data", "facets": {}}
    ids: Identities | None = None
    for facet in FACETS:
        if facet == BASIS:
            rows = facet_counts(store, minter, BASIS) if fresh else basis_counts(store, graphs)
            out["records"] = sum(r["records"] for r in rows)
            out["specimens"] = sum(r["specimens"] for r in rows)
        elif fresh:
            rows = facet_counts(store, minter, facet)
        else:
            if facet == "collector":
                ids = Identities(store, minter)
                found = _live_collectors(store, graphs, ids)
            else:
                found = list(table(store, _FACET_QUERIES[facet], graphs=graphs))
            rows = [
                {"value": v.split(".")[0] if facet == "decade" else v, "specimens": int(n)}
                for v, n in found
                if v
            ]
            rows.sort(key=lambda r: (-r["specimens"], r["value"]))
        total = len(rows)
        if limit:
            rows = rows[:limit]
        if facet == "collector" and rows:
            ids = ids or Identities(store, minter)
            ids.fetch_names(r["value"] for r in rows)
            for r in rows:
                r["label"] = ids.label(r["value"])
        counts = "records" if facet == BASIS else "specimens"
        out["facets"][facet] = {"values": total, "counts": counts, "rows": rows}
    return out
