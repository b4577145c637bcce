"""Which nodes are the same person: the one identity rule, computed once and materialised.

The graph has three kinds of node for a person: a **person** node (``foaf:Person``, from a
people table), the **name-string agents** minted from what records say (``col:NameStringAgent``,
``foaf:Organization`` and other ``prov:Agent`` nodes), and the **outside IRIs** (Wikidata, ORCID,
VIAF, IPNI...) that a people table or a publisher asserted (``schema:sameAs``, an accepted
``col:IdentityMatch``, or an IRI given directly as ``dwciri:recordedBy`` / ``identifiedBy``).

The rule (:func:`compute`), over the identity links, that is every ``schema:sameAs`` and every
``col:IdentityMatch`` whose ``col:matchStatus`` is ``status:accepted`` (rejected and proposed
matches join nothing):

1. A person, and every outside IRI it carries, are one identity. Two person nodes that carry
   the same outside IRI are one identity (the authority says they are one person).
2. An agent or outside IRI linked to exactly one such identity joins it, together with every
   other outside IRI it carries; an agent whose publisher asserted one of those IRIs joins it
   too. An agent whose links reach two or more identities that hold people is **ambiguous**:
   it stays itself and the conflict is recorded (``col:identityConflict``).
3. Agents and outside IRIs linked to each other but to no person form one identity of their
   own (a name string and the ORCID its publisher gave).
4. A name-string agent with no link counts as itself.

No link ever merges two identities that each hold a person, except through an outside IRI both
carry (rule 1). Each identity has one **canonical** node, the node pages, counts and networks
show: its person node (when rule 1 joined several: a people table's person before the person
node an accepted link made (``{base}person/linked/...``), local IRIs first, then IRI order); else
a local agent (IRI order); else an outside IRI (Wikidata first, then ORCID, then IRI order).
Its display name (:func:`display_names`) is the canonical node's ``foaf:name``, else the
alphabetically first name of a member, so that no page or facet shows a bare QID or ORCID iD
for an identity whose name is known.

:func:`materialise` writes the answer into ``{base}graph/identity``: one triple
``?node col:resolvesTo ?canonical`` for every agent, person and outside IRI that plays a role
or carries a link (the canonical node resolves to itself), so that SPARQL reaches a person from
a record in one hop (``?s dwciri:recordedBy ?a . ?a col:resolvesTo ?person``); and a
``col:IdentityResolution`` node with the physical version of each graph it read, so that
:func:`fresh` tells when a load or a review made it stale. :func:`refresh` rewrites it when it
is. :func:`load` reads the materialised answer (cheap) or computes it when stale.

Every library operation that changes what the rule reads (ingest, a people table, ``link`` and
``review`` decisions, restore, dataset removal) ends with :func:`refresh`; :func:`status` gives
the summary of the identity graph as it stands, for the commands to print.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from collectomics.analysis.readers import data_graphs, derived_fresh, stamp, table
from collectomics.iri import Minter
from collectomics.model import IRI, Literal, nquad
from collectomics.store import Store
from collectomics.vocab import COL, RDF, RDFS

IDENTITY_GRAPH = "identity"
_WIKIDATA = ("http://www.wikidata.org/entity/", "https://www.wikidata.org/entity/")
_ORCID = ("https://orcid.org/", "http://orcid.org/")
#: where the person nodes that accepted links imply are minted (collectomics.linking.service)
LINKED_PERSON = "person/linked/"

_PERSONS = "SELECT DISTINCT ?p WHERE { ?p a foaf:Person }"
# One query per pattern, united in Python: as one UNION with DISTINCT and FILTER NOT EXISTS they
# took 3.7 s on 20,000 synthetic records, against 0.7 s for the five apart.
_AGENTS = (
    "SELECT DISTINCT ?a WHERE { ?a a prov:Agent }",
    "SELECT DISTINCT ?a WHERE { ?a a foaf:Agent }",
    "SELECT DISTINCT ?a WHERE { ?a a foaf:Organization }",
    "SELECT DISTINCT ?a WHERE { ?r prov:agent ?a }",
    "SELECT DISTINCT ?a WHERE { ?s dwciri:recordedBy ?a }",
    "SELECT DISTINCT ?a WHERE { ?s dwciri:identifiedBy ?a }",
)
_UNKNOWN = "SELECT ?a WHERE { ?a a col:UnknownAgent }"
_SAME = "SELECT ?x ?t WHERE { ?x schema:sameAs ?t FILTER(isIRI(?x) && isIRI(?t)) }"
_ACCEPTED = """SELECT ?a ?t WHERE {
  ?m a col:IdentityMatch ; owl:annotatedSource ?a ; owl:annotatedTarget ?t ;
     col:matchStatus status:accepted .
  FILTER(isIRI(?a) && isIRI(?t))
}"""


def identity_graph(minter: Minter) -> IRI:
    """The named graph that holds the materialised identities."""
    return minter.graph(IDENTITY_GRAPH)


def source_graphs(store: Store, minter: Minter) -> list[str]:
    """The graphs identities are computed from: the datasets and the identity links."""
    return data_graphs(store, minter)


@dataclass
class Identity:
    """The answer of the rule: each node's canonical node, and the conflicts it left."""

    canonical: dict[str, str] = field(default_factory=dict)
    persons: set[str] = field(default_factory=set)
    #: ambiguous agent -> the canonical nodes of the identities its links reach
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    _members: dict[str, set[str]] | None = None

    def resolve(self, node: str) -> str:
        """The canonical node of ``node``'s identity (``node`` itself when it has none)."""
        return self.canonical.get(node, node)

    def members(self, node: str) -> set[str]:
        """Every node of ``node``'s identity, the canonical one included."""
        if self._members is None:
            groups: dict[str, set[str]] = defaultdict(set)
            for n, c in self.canonical.items():
                if n != c:
                    groups[c].add(n)
            self._members = dict(groups)
        c = self.resolve(node)
        return {c} | self._members.get(c, set())

    def is_person(self, node: str) -> bool:
        """True when ``node``'s identity holds a person node."""
        return self.resolve(node) in self.persons

    def groups(self) -> dict[str, set[str]]:
        """Canonical node -> members, for identities of more than one node."""
        self.members("")  # builds the index
        assert self._members is not None
        return {c: {c} | m for c, m in self._members.items()}


class _Union:
    """Union-find whose unions never join two sets that each hold a person."""

    def __init__(self, persons: set[str]) -> None:
        self.parent: dict[str, str] = {}
        self.people: dict[str, int] = {}
        self.persons = persons

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.people[x] = 1 if x in self.persons else 0
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str, *, persons_may_merge: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.people[ra] and self.people[rb] and not persons_may_merge:
            return False
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.people[ra] += self.people[rb]
        return True


def _outside(node: str, base: str) -> bool:
    return not node.startswith(base)


def _rank(node: str, persons: set[str], base: str) -> tuple[int, str]:
    """Sort key of a canonical node: a people table's persons, persons made by accepted links,
    other persons, then local agents, then Wikidata, ORCID, others."""
    if node in persons:
        if node.startswith(base + LINKED_PERSON):
            return (1, node)
        return (0 if node.startswith(base) else 2, node)
    if node.startswith(base):
        return (3, node)
    if node.startswith(_WIKIDATA):
        return (4, node)
    if node.startswith(_ORCID):
        return (5, node)
    return (6, node)


def resolve_links(
    persons: set[str],
    links: Iterable[tuple[str, str]],
    nodes: Iterable[str] = (),
    *,
    base: str,
) -> Identity:
    """The rule of the module docstring, on plain data: ``persons``, the identity ``links``
    (source, target) and the other ``nodes`` that must resolve (each to itself at least)."""
    pairs = sorted({(a, b) for a, b in links if a != b})
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    uf = _Union(persons)
    # 1. persons and the outside IRIs they carry; persons sharing an outside IRI are one
    for p in sorted(persons):
        uf.find(p)
        for t in sorted(neighbours.get(p, ())):
            if t not in persons and _outside(t, base):
                uf.union(p, t, persons_may_merge=True)
    # 2. every other node: the person identities its own links reach
    conflicts: dict[str, list[str]] = {}
    rest = sorted(n for n in neighbours if n not in persons)
    ambiguous: set[str] = set()
    for n in rest:
        reached = {
            uf.find(t)
            for t in neighbours[n]
            if t in persons or (t in uf.parent and uf.people[uf.find(t)])
        }
        if n in uf.parent and uf.people[uf.find(n)]:
            reached.add(uf.find(n))
        if len(reached) > 1:
            ambiguous.add(n)
            conflicts[n] = sorted(reached)
    # 2a. join nodes to the one person identity they reach, then 3. the rest among themselves;
    # an ambiguous node joins nothing, and a union that would join two people is refused
    for n in rest:
        if n in ambiguous:
            continue
        for t in sorted(neighbours[n], key=lambda t: (t not in persons, t)):
            if t in ambiguous:
                continue
            if not uf.union(n, t) and n not in conflicts:
                conflicts[n] = sorted({uf.find(n), uf.find(t)})
    for n in nodes:
        uf.find(n)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in list(uf.parent):
        groups[uf.find(n)].append(n)
    canonical: dict[str, str] = {}
    for members in groups.values():
        head = min(members, key=lambda m: _rank(m, persons, base))
        for m in members:
            canonical[m] = head
    for n in ambiguous:
        canonical[n] = n
    for n, heads in conflicts.items():
        conflicts[n] = sorted({canonical.get(r, r) for r in heads})
    return Identity(canonical=canonical, persons=set(persons), conflicts=conflicts)


def compute(store: Store, minter: Minter, graphs: Sequence[str] | None = None) -> Identity:
    """The identities of the nodes in ``graphs`` (default: :func:`source_graphs`)."""
    graphs = source_graphs(store, minter) if graphs is None else list(graphs)
    persons = {r[0] for r in table(store, _PERSONS, graphs=graphs)}
    links = [(a, t) for a, t in table(store, _SAME, graphs=graphs)]
    links += [(a, t) for a, t in table(store, _ACCEPTED, graphs=graphs)]
    agents: set[str] = set()
    for q in _AGENTS:
        agents.update(r[0] for r in table(store, q, graphs=graphs))
    agents -= {r[0] for r in table(store, _UNKNOWN, graphs=graphs)}
    agents = {a for a in agents if not a.startswith("_:") and ":" in a}  # IRIs only
    return resolve_links(persons, links, sorted(agents), base=minter.base)


# ------------------------------------------------------------------ materialised


def _stamp(store: Store, minter: Minter) -> list[str]:
    return stamp(store, source_graphs(store, minter))


def fresh(store: Store, minter: Minter) -> bool:
    """True when the identity graph exists and was computed from the graphs as they are now."""
    return derived_fresh(
        store, identity_graph(minter), COL.IdentityResolution, _stamp(store, minter)
    )


@dataclass
class IdentityReport:
    """What :func:`materialise` wrote."""

    graph: str
    nodes: int = 0
    identities: int = 0
    merged: int = 0  # identities of more than one node
    persons: int = 0
    conflicts: int = 0
    triples: int = 0
    seconds: float = 0.0

    def summary(self, *, timed: bool = True) -> str:
        return (
            f"identities: {self.nodes} agents, people and identifiers resolved to "
            f"{self.identities} identities ({self.merged} joining several nodes, {self.persons} "
            f"holding a person); {self.conflicts} ambiguous agents left as themselves; "
            f"{self.triples} triples in <{self.graph}>"
        ) + (f" ({self.seconds:.2f} s)" if timed else "")


def materialise(
    store: Store, minter: Minter, identity: Identity | None = None, *, started: float | None = None
) -> IdentityReport:
    """Replace the identity graph with the answer of :func:`compute` (or ``identity``, computed
    from ``started``, a ``time.perf_counter()`` value: the report's seconds count from it)."""
    started = time.perf_counter() if started is None else started
    graph = identity_graph(minter)
    stamp_values = _stamp(store, minter)
    ident = identity if identity is not None else compute(store, minter)
    report = IdentityReport(str(graph), nodes=len(ident.canonical))
    resolves = COL.resolvesTo
    lines: list[str] = []
    for node, head in sorted(ident.canonical.items()):
        lines.append(nquad((IRI(node), resolves, IRI(head), None)))
    for node, reached in sorted(ident.conflicts.items()):
        for other in reached:
            lines.append(nquad((IRI(node), COL.identityConflict, IRI(other), None)))
    heads = set(ident.canonical.values())
    report.identities = len(heads)
    report.persons = sum(1 for h in heads if h in ident.persons)
    report.merged = len(ident.groups())
    report.conflicts = len(ident.conflicts)
    # no token, no time: the same data and history give the same graph, byte for byte
    run = minter.mint("identity", "resolution")
    lines.append(nquad((run, RDF.type, COL.IdentityResolution, None)))
    for v in stamp_values:
        lines.append(nquad((run, COL.basedOn, Literal(v), None)))
    report.triples = len(lines) + 1  # and the summary below
    report.seconds = time.perf_counter() - started
    lines.append(nquad((run, RDFS.comment, Literal(report.summary(timed=False)), None)))
    store.replace_graph(graph, "".join(lines).encode("utf-8"), "ntriples")
    return report


def refresh(store: Store, minter: Minter, *, force: bool = False) -> IdentityReport | None:
    """Rewrite the identity graph when it is stale (or ``force``: a graph changed in place keeps
    the version the stamp reads); None when it was fresh. A store with no agent, person or
    identifier gets no identity graph (the report says 0 nodes)."""
    if not force and fresh(store, minter):
        return None
    started = time.perf_counter()
    ident = compute(store, minter)
    if not ident.canonical and identity_graph(minter) not in store.graphs():
        return IdentityReport(str(identity_graph(minter)))
    return materialise(store, minter, ident, started=started)


def status(store: Store, minter: Minter) -> str:
    """One line for the commands to print: the summary of the identity graph when it is fresh
    (what its last :func:`materialise` wrote), else that it is stale."""
    if not fresh(store, minter):
        if identity_graph(minter) not in store.graphs() and not compute(store, minter).canonical:
            return "identities: no agents, people or identifiers to resolve"
        return "identities: not materialised for the data as it is now (run `collectomics materialise`)"
    rows = table(
        store,
        "SELECT ?c WHERE { ?m a col:IdentityResolution ; rdfs:comment ?c }",
        graphs=[identity_graph(minter)],
    )
    found = [r[0] for r in rows]
    return found[0] if found else "identities: materialised"


def display_names(
    store: Store, minter: Minter, ident: Identity, nodes: Iterable[str]
) -> dict[str, str]:
    """The name each of ``nodes``' identities is shown under (keyed by the node given): the
    canonical node's ``foaf:name``, else the alphabetically first name of a member; nodes
    whose identity has no name at all are left out."""
    wanted = {n: ident.resolve(n) for n in nodes}
    members = {m for c in set(wanted.values()) for m in ident.members(c)}
    safe = sorted(m for m in members if not any(ch in m for ch in '<>"{}|^`\\ \n'))
    names: dict[str, str] = {}
    for start in range(0, len(safe), 5000):
        values = " ".join(f"<{m}>" for m in safe[start : start + 5000])
        q = f"SELECT ?x ?n WHERE {{ VALUES ?x {{ {values} }} ?x foaf:name ?n }}"
        for x, n in table(store, q, graphs=source_graphs(store, minter)):
            if x not in names or n < names[x]:
                names[x] = n
    out: dict[str, str] = {}
    for node, head in wanted.items():
        if head in names:
            out[node] = names[head]
            continue
        found = sorted(names[m] for m in ident.members(head) if m in names)
        if found:
            out[node] = found[0]
    return out


def load(store: Store, minter: Minter) -> Identity:
    """The identities as materialised when fresh (one read), else computed from the data."""
    if not fresh(store, minter):
        return compute(store, minter)
    graph = identity_graph(minter)
    canonical = {
        n: c for n, c in table(store, "SELECT ?n ?c WHERE { ?n col:resolvesTo ?c }", graphs=[graph])
    }
    conflicts: dict[str, list[str]] = defaultdict(list)
    for n, c in table(store, "SELECT ?n ?c WHERE { ?n col:identityConflict ?c }", graphs=[graph]):
        conflicts[n].append(c)
    persons = {
        r[0]
        for r in table(store, _PERSONS, graphs=source_graphs(store, minter))
        if r[0] in canonical
    }
    return Identity(canonical=canonical, persons=persons, conflicts=dict(conflicts))


def load_one(store: Store, minter: Minter, node: str) -> Identity:
    """The one identity of canonical ``node`` as the identity graph has it (a page's read:
    no walk over every link in the store), ``node`` standing alone when the graph has none."""
    found = table(
        store,
        "SELECT ?c ?n WHERE { ?n col:resolvesTo ?c }",
        graphs=[identity_graph(minter)],
        params={"c": IRI(node)},
    )
    canonical = {n: node for _, n in found} | {node: node}
    persons = {
        r[0] for r in table(store, "SELECT ?c WHERE { ?c a foaf:Person }", params={"c": IRI(node)})
    }
    return Identity(canonical=canonical, persons=persons)


# ------------------------------------------------------------------ the readers' view


class Identities:
    """The identities as the networks, facets, itineraries and pages read them: the rule's
    answer (:func:`load`, or ``ident`` when the caller has one) with display names read on
    demand (:func:`display_names`)."""

    def __init__(
        self, store: Store, minter: Minter | None = None, ident: Identity | None = None
    ) -> None:
        self.store = store
        self.minter = minter or Minter()
        self.ident = ident if ident is not None else load(store, self.minter)
        self.persons: set[str] = self.ident.persons
        self.names: dict[str, str] = {}  # filled on demand by fetch_names

    def resolve(self, agent: str) -> str:
        """The canonical node of ``agent``'s identity (``agent`` itself when it has none)."""
        return self.ident.resolve(agent)

    def is_person(self, node: str) -> bool:
        """True when ``node``'s identity holds a person node."""
        return self.ident.is_person(node)

    def agents_of(self, node: str) -> set[str]:
        """Every node of ``node``'s identity (agents, people, outside IRIs), ``node`` included."""
        return self.ident.members(node) | {node}

    def fetch_names(self, nodes: Iterable[str] | None = None) -> None:
        """Read the display names of ``nodes``' identities (of every identity when None)."""
        wanted = set(self.ident.canonical.values()) if nodes is None else set(nodes)
        wanted -= set(self.names)
        if wanted:
            self.names.update(display_names(self.store, self.minter, self.ident, wanted))

    def label(self, node: str) -> str:
        """The display name of ``node``'s identity, else the last segment of its IRI."""
        return self.names.get(node) or node.rstrip("/").rsplit("/", 1)[-1]
