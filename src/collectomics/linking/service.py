"""Proposing, reviewing and materialising identity matches in the links graph.

Everything this module writes lives in one named graph, ``{base}graph/links``, never in a
dataset's graph: re-ingesting a dataset replaces its graph and leaves every proposal and every
human decision in place (name-string agent IRIs are deterministic, so they still apply). The
graph is rewritten whole, atomically, from :class:`MatchRecord` values on every change, and the
``schema:sameAs`` shortcuts and person nodes for accepted matches are derived from them: undoing
an acceptance undoes the merge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from collectomics.analysis import identity
from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.linking.matcher import (
    DATE_TOLERANCE,
    IDENTIFIER_PROPERTIES,
    WEIGHTS,
    AgentEvidence,
    Candidate,
    Feature,
    Scored,
    family_feature,
    identifier_property,
    parse_name,
    rank,
    reading_for,
    search_terms,
)
from collectomics.linking.orcid import OrcidClient
from collectomics.linking.wikidata import WikidataClient, candidate_from_entity
from collectomics.mapping.agentids import identifier_iri
from collectomics.model import IRI, XSD, Literal, Term
from collectomics.store import Store
from collectomics.vocab import COL, FOAF, OWL, PROV, RDF, RDFS, SCHEMA, SKOS, SSSOM

SEMAPV_NS = "https://w3id.org/semapv/vocab/"

MATCHER = "collectomics-matcher"
STATUSES = ("proposed", "accepted", "rejected")
#: Candidates kept per agent (the best; vetoed ones too when their family name agrees).
KEEP = 5
WIKIDATA = "http://www.wikidata.org/entity/"
ORCID = "https://orcid.org/"
PREFIXES = """PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX sssom: <https://w3id.org/sssom/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX schema: <http://schema.org/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX dsw: <http://purl.org/dsw/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""


def links_graph(minter: Minter) -> IRI:
    """The named graph of proposals, decisions and the merges they imply."""
    return minter.mint("graph", "links")


class CandidateSource(Protocol):
    def candidates_for(self, name: str) -> list[Candidate]: ...


@dataclass
class MatchRecord:
    """One identity match as the links graph holds it."""

    iri: str
    agent: str
    agent_name: str
    target: str
    target_label: str
    confidence: float
    status: str
    attributed_to: str
    generated_at: str
    justification: str = "CompositeMatching"
    comment: str = ""
    description: str = ""
    features: list[Feature] = field(default_factory=list)
    reviewer_name: str = ""
    #: who decided the match (``col:decidedBy``, a plain literal): "person" (a reviewer), "publisher"
    #: (the data publisher's identifier, or an item that carries it) or "matcher" (the matcher alone)
    decided_by: str = ""

    def __post_init__(self) -> None:
        if not self.decided_by:
            self.decided_by = (
                "matcher"
                if self.attributed_to.endswith("/software/" + MATCHER)
                else "publisher"
                if "/dataset/" in self.attributed_to
                else "person"
            )

    @property
    def by_human(self) -> bool:
        """Not the matcher's own record (a reviewer's, or a publisher's): kept when `link` runs
        again. The matcher's records are attributed to its software IRI."""
        return not self.attributed_to.endswith("/software/" + MATCHER)

    @property
    def conflict(self) -> str:
        """Why the publisher's identifier and this candidate disagree, or ''."""
        for f in self.features:
            if f.name == "identifier" and f.value == 0.0:
                return f.note
        if self.justification == "MappingChaining" and self.status != "accepted":
            return self.comment
        return ""


def matcher_iri(minter: Minter) -> IRI:
    return minter.mint("software", MATCHER)


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- reading the graph -------------------------------------------------------------------------


def _date(term: Term | None) -> date | None:
    if isinstance(term, Literal):
        try:
            return date.fromisoformat(term.value[:10])
        except ValueError:
            return None
    return None


#: dwc:kingdom (folded) to the kingdoms compared with a person's fields (``wikidata.FIELDS``).
KINGDOMS = {
    "plantae": "plants",
    "fungi": "fungi",
    "chromista": "algae",
    "animalia": "animals",
    "protozoa": "protists",
    "bacteria": "bacteria",
    "archaea": "archaea",
}


def gather_agents(
    store: Store, minter: Minter, dataset: str | None = None
) -> dict[str, AgentEvidence]:
    """Every name-string agent (of one dataset, or all) with what its records say."""
    graphs = [str(minter.graph(dataset))] if dataset else None
    if dataset and minter.graph(dataset) not in store.graphs():
        raise InputError(f"no dataset {dataset!r} in the store", parameter="--dataset")
    agents: dict[str, AgentEvidence] = {}
    for row in store.query(
        PREFIXES + "SELECT ?a ?name WHERE { ?a a col:NameStringAgent ; foaf:name ?name "
        "FILTER NOT EXISTS { ?a a col:UnknownAgent } }",
        default_graphs=graphs,
    ).rows():
        agents.setdefault(str(row["a"]), AgentEvidence(str(row["a"]), row["name"].value))  # type: ignore[union-attr]
    query = (
        PREFIXES
        + """
    SELECT ?a ?s ?written ?earliest ?latest ?country ?family ?kingdom ?inst ?ds ?basis WHERE {
      { ?s dwciri:recordedBy ?a . ?s col:collectingEvent ?act }
      UNION { ?s dwciri:identifiedBy ?a . ?s dsw:hasIdentification ?act }
      ?a a col:NameStringAgent .
      OPTIONAL { ?act prov:qualifiedAssociation ?r . ?r prov:agent ?a ; col:nameAsWritten ?written }
      OPTIONAL { ?act col:earliestDate ?earliest } OPTIONAL { ?act col:latestDate ?latest }
      OPTIONAL { ?s dwc:countryCode ?country } OPTIONAL { ?s dwc:family ?family }
      OPTIONAL { ?s dwc:kingdom ?kingdom } OPTIONAL { ?s dwc:institutionCode ?inst }
      OPTIONAL { ?s schema:includedInDataSet ?ds } OPTIONAL { ?s dwc:basisOfRecord ?basis }
    }"""
    )
    seen: dict[str, set[str]] = defaultdict(set)
    for row in store.query(query, default_graphs=graphs).rows():
        a = agents.get(str(row["a"]))
        if a is None:
            continue
        s = str(row["s"])
        if s not in seen[a.iri]:
            seen[a.iri].add(s)
            a.specimens += 1
        if "written" in row:
            a.written.add(row["written"].value)  # type: ignore[union-attr]
        lo, hi = _date(row.get("earliest")), _date(row.get("latest"))
        if lo and hi and (hi - lo).days <= 366 * 2:  # a year or two: informative
            a.earliest = min(a.earliest or lo, lo)
            a.latest = max(a.latest or hi, hi)
        for key, target in (
            ("country", a.countries),
            ("family", a.families),
            ("inst", a.institutions),
        ):
            if key in row:
                target.add(row[key].value if isinstance(row[key], Literal) else str(row[key]))  # type: ignore[union-attr]
        if "ds" in row:
            a.datasets.add(str(row["ds"]))
        if "kingdom" in row:
            f = KINGDOMS.get(row["kingdom"].value.strip().casefold())  # type: ignore[union-attr]
            if f:
                a.fields.add(f)
        if "basis" in row:
            a.bases.add(row["basis"].value.replace("_", "").replace(" ", "").casefold())  # type: ignore[union-attr]
    for agent, targets in publisher_targets(store, minter).items():
        if agent in agents:
            for asserted in targets:
                found = identifier_property(asserted)
                if found and found[0] in IDENTIFIER_PROPERTIES:
                    agents[agent].identifiers.setdefault(found[0], set()).add(found[1])
    return agents


def publisher_targets(store: Store, minter: Minter) -> dict[str, set[str]]:
    """agent -> the identifiers its data publisher asserted (accepted matches in dataset graphs)."""
    out: dict[str, set[str]] = defaultdict(set)
    rows = store.query(
        PREFIXES
        + """SELECT ?a ?t ?by WHERE { ?m a col:IdentityMatch ; owl:annotatedSource ?a ;
        owl:annotatedTarget ?t ; col:matchStatus <https://w3id.org/collectomics/status/accepted> ;
        prov:wasAttributedTo ?by }"""
    ).rows()
    datasets = minter.base + "dataset/"
    for row in rows:
        if str(row["by"]).startswith(datasets):
            out[str(row["a"])].add(str(row["t"]))
    return out


def accepted_targets(store: Store) -> dict[str, set[str]]:
    """agent -> targets of its accepted matches, wherever they are (dataset or links graph)."""
    out: dict[str, set[str]] = defaultdict(set)
    rows = store.query(
        PREFIXES
        + """SELECT ?a ?t WHERE { ?m a col:IdentityMatch ; owl:annotatedSource ?a ;
        owl:annotatedTarget ?t ; col:matchStatus <https://w3id.org/collectomics/status/accepted> }"""
    ).rows()
    for row in rows:
        out[str(row["a"])].add(str(row["t"]))
    return out


def cocollector_pairs(
    store: Store, minter: Minter, dataset: str | None = None
) -> set[tuple[str, str]]:
    graphs = [str(minter.graph(dataset))] if dataset else None
    rows = store.query(
        PREFIXES + "SELECT DISTINCT ?a ?b WHERE { ?s dwciri:recordedBy ?a, ?b . "
        "?a a col:NameStringAgent . ?b a col:NameStringAgent . FILTER(?a != ?b) }",
        default_graphs=graphs,
    ).rows()
    return {(str(r["a"]), str(r["b"])) for r in rows}


def read_matches(store: Store, minter: Minter) -> dict[str, MatchRecord]:
    """The match records of the links graph, by IRI."""
    graph = links_graph(minter)
    if graph not in store.graphs():
        return {}
    out: dict[str, MatchRecord] = {}
    rows = store.query(
        PREFIXES
        + """SELECT ?m ?a ?an ?t ?tl ?c ?st ?by ?at ?j ?comment ?desc ?rn ?who WHERE {
        ?m a col:IdentityMatch ; owl:annotatedSource ?a ; owl:annotatedTarget ?t ;
           sssom:confidence ?c ; col:matchStatus ?st ; prov:wasAttributedTo ?by ;
           prov:generatedAtTime ?at ; sssom:mapping_justification ?j .
        OPTIONAL { ?m sssom:subject_label ?an } OPTIONAL { ?m sssom:object_label ?tl }
        OPTIONAL { ?m sssom:comment ?comment } OPTIONAL { ?m rdfs:comment ?desc }
        OPTIONAL { ?by foaf:name ?rn } OPTIONAL { ?m col:decidedBy ?who }
        }""",
        default_graphs=[str(graph)],
    ).rows()
    for r in rows:
        out[str(r["m"])] = MatchRecord(
            iri=str(r["m"]),
            agent=str(r["a"]),
            agent_name=r["an"].value if "an" in r else "",  # type: ignore[union-attr]
            target=str(r["t"]),
            target_label=r["tl"].value if "tl" in r else "",  # type: ignore[union-attr]
            confidence=float(r["c"].value),  # type: ignore[union-attr]
            status=str(r["st"]).rsplit("/", 1)[-1],
            attributed_to=str(r["by"]),
            generated_at=r["at"].value,  # type: ignore[union-attr]
            justification=str(r["j"]).rsplit("/", 1)[-1],
            comment=r["comment"].value if "comment" in r else "",  # type: ignore[union-attr]
            description=r["desc"].value if "desc" in r else "",  # type: ignore[union-attr]
            reviewer_name=r["rn"].value if "rn" in r else "",  # type: ignore[union-attr]
            decided_by=r["who"].value if "who" in r else "",  # type: ignore[union-attr]
        )
    for r in store.query(
        PREFIXES
        + """SELECT ?m ?name ?v ?note WHERE { ?m col:matchFeature ?f .
        ?f rdfs:label ?name ; rdf:value ?v ; rdfs:comment ?note } ORDER BY ?m ?f""",
        default_graphs=[str(graph)],
    ).rows():
        rec = out.get(str(r["m"]))
        if rec:
            rec.features.append(Feature(r["name"].value, float(r["v"].value), r["note"].value))  # type: ignore[union-attr]
    order = {n: k for k, n in enumerate(WEIGHTS)}  # the matcher's own feature order
    for rec in out.values():
        rec.features.sort(key=lambda f: order.get(f.name, 99))
    return out


# -- writing the graph -------------------------------------------------------------------------


def _triples(records: Iterable[MatchRecord], minter: Minter) -> str:
    lines: list[str] = []

    def t(s: str, p: str, o: Term) -> None:
        lines.append(f"{IRI(s).n3()} {IRI(p).n3()} {o.n3()} .\n")

    status = "https://w3id.org/collectomics/status/"
    merged: dict[str, list[MatchRecord]] = defaultdict(list)
    for m in records:
        t(m.iri, RDF.type, COL.IdentityMatch)
        t(m.iri, OWL.annotatedSource, IRI(m.agent))
        t(m.iri, OWL.annotatedProperty, SKOS.exactMatch)
        t(m.iri, OWL.annotatedTarget, IRI(m.target))
        t(m.iri, SSSOM.confidence, Literal(f"{m.confidence:.3f}", XSD + "decimal"))
        t(m.iri, SSSOM.mapping_justification, IRI(SEMAPV_NS + m.justification))
        t(m.iri, SSSOM.mapping_tool, Literal(MATCHER))
        t(m.iri, COL.matchStatus, IRI(status + m.status))
        t(m.iri, PROV.wasAttributedTo, IRI(m.attributed_to))
        t(m.iri, COL.decidedBy, Literal(m.decided_by))
        t(m.iri, PROV.generatedAtTime, Literal(m.generated_at, XSD + "dateTime"))
        if m.agent_name:
            t(m.iri, SSSOM.subject_label, Literal(m.agent_name))
        if m.target_label:
            t(m.iri, SSSOM.object_label, Literal(m.target_label))
        if m.comment:
            t(m.iri, SSSOM.comment, Literal(m.comment))
        if m.description:
            t(m.iri, RDFS.comment, Literal(m.description))
        for k, f in enumerate(m.features, start=1):
            node = f"{m.iri}/feature/{k}"
            t(m.iri, COL.matchFeature, IRI(node))
            t(node, RDF.type, COL.MatchFeature)
            t(node, RDFS.label, Literal(f.name))
            t(node, RDF.value, Literal(f"{f.value:.3f}", XSD + "decimal"))
            t(node, RDFS.comment, Literal(f.note))
        if m.reviewer_name and m.by_human:
            t(m.attributed_to, FOAF.name, Literal(m.reviewer_name))
        if m.status == "accepted":
            t(m.agent, SCHEMA.sameAs, IRI(m.target))
            merged[m.target].append(m)
    # one person node per accepted target: the agents that share it become one person
    for target, matches in sorted(merged.items()):
        person = minter.mint("person", "linked", target.rsplit("/", 1)[-1])
        t(person, RDF.type, FOAF.Person)
        t(person, RDF.type, PROV.Person)
        label = next((m.target_label for m in matches if m.target_label), "")
        if label:
            t(person, FOAF.name, Literal(label))
        t(person, SCHEMA.sameAs, IRI(target))
        for m in matches:
            t(person, PROV.wasDerivedFrom, IRI(m.iri))
    return "".join(lines)


def write_matches(store: Store, minter: Minter, records: Iterable[MatchRecord]) -> int:
    """Replace the links graph with these records and what they imply (atomically)."""
    text = _triples(sorted(records, key=lambda r: r.iri), minter)
    return store.replace_graph(links_graph(minter), text, "ntriples")


# -- proposing ----------------------------------------------------------------------------------


@dataclass
class LinkReport:
    agents: int = 0
    searched: int = 0
    proposed: int = 0
    accepted: int = 0
    rejected_kept: int = 0
    skipped_linked: int = 0
    chained: int = 0
    confirmed: int = 0
    conflicts: int = 0

    def summary(self) -> str:
        return (
            f"{self.agents} agents: {self.searched} searched, {self.skipped_linked} already linked; "
            f"{self.proposed} matches proposed, {self.accepted} accepted by the high-confidence rule, "
            f"{self.chained} through a publisher's identifier, {self.confirmed} sharing one; "
            f"{self.conflicts} conflicts with a publisher's identifier; "
            f"{self.rejected_kept} human rejections kept"
        )


def match_iri(minter: Minter, agent: str, target: str) -> str:
    """``{agent}/match/wikidata/Q123``, ``{agent}/match/orcid/0000-...``: the same pair, the same IRI."""
    source = _source_of(target)
    if source == "other":
        return minter.part(IRI(agent), "match", target)
    return minter.part(IRI(agent), "match", source, target.rstrip("/").rsplit("/", 1)[-1])


def _source_of(target: str) -> str:
    return (
        "wikidata"
        if target.startswith(WIKIDATA)
        else "orcid"
        if target.startswith(ORCID)
        else "other"
    )


def link(
    store: Store,
    minter: Minter,
    source: CandidateSource,
    *,
    dataset: str | None = None,
    at: str | None = None,
    tolerance: int = DATE_TOLERANCE,
) -> LinkReport:
    """Propose matches for every agent (of one dataset, or all) and write them to the links graph.

    Human decisions are kept as they are; a candidate a human rejected is never proposed again;
    the matcher's own earlier proposals for these agents are replaced by the new ones. An
    identifier the publisher asserted is resolved to the Wikidata item that carries it (accepted
    when the family name agrees), and is evidence for every other candidate: a different one of
    the same kind vetoes it. ``tolerance``: years a record may fall outside a life.
    """
    at = at or now()
    report = LinkReport()
    agents = gather_agents(store, minter, dataset)
    existing = read_matches(store, minter)
    accepted = accepted_targets(store)
    publisher = publisher_targets(store, minter)
    pairs = cocollector_pairs(store, minter)
    # target -> (agent accepted as it, the people its co-collectors are accepted as)
    partners: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for a, b in pairs:
        for ta in accepted.get(a, ()):
            partners[ta].append((a, accepted.get(b, set())))
    # target -> (agent, its institutions and datasets) for every agent accepted as it
    known_at: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for a, targets in accepted.items():
        if a in agents:
            for t in targets:
                known_at[t].append((a, agents[a].institutions | agents[a].datasets))
    human = {(m.agent, m.target): m for m in existing.values() if m.by_human}
    machine = {(m.agent, m.target) for m in existing.values() if not m.by_human}
    kept = [m for m in existing.values() if m.by_human or m.agent not in agents]
    report.rejected_kept = sum(m.status == "rejected" for m in human.values())
    me = matcher_iri(minter)
    new: list[MatchRecord] = []
    cache: dict[str, list[Candidate]] = {}
    for agent in sorted(agents.values(), key=lambda a: a.iri):
        report.agents += 1
        # linked by the publisher or a person (the matcher's own earlier accepts are redone)
        linked = {t for t in accepted.get(agent.iri, set()) if (agent.iri, t) not in machine}
        if any(t.startswith(WIKIDATA) for t in linked):
            report.skipped_linked += 1
            continue
        chained = [
            m
            for m in _chain(minter, agent, linked, publisher.get(agent.iri, set()), source, me, at)
            if (agent.iri, m.target) not in human
        ]
        new.extend(chained)
        if any(m.status == "accepted" for m in chained):
            report.chained += sum(m.status == "accepted" for m in chained)
            continue
        report.conflicts += len(chained)
        if not parse_name(agent.name).family:
            continue
        report.searched += 1
        agent.linked_cocollectors = {
            t for a, b in pairs if a == agent.iri for t in accepted.get(b, ())
        }
        key = agent.name
        if key not in cache:
            cache[key] = source.candidates_for(agent.name)
        candidates = []
        for c in cache[key]:  # a copy per agent: what other agents' links say about this person
            seen_at = {i for a, where in known_at.get(c.iri, []) if a != agent.iri for i in where}
            candidates.append(
                replace(
                    c,
                    cocollectors={
                        u for a, us in partners.get(c.iri, []) if a != agent.iri for u in us
                    },
                    institutions=c.institutions | seen_at,
                )
            )
        # what the publisher or a person already linked, or a chain proposed, is not redone
        taken = {(agent.iri, t) for t in linked} | {(agent.iri, m.target) for m in chained}
        taken |= set(human)
        ranked = [
            s
            for s in rank(agent, candidates, tolerance=tolerance)
            if (agent.iri, s.candidate.iri) not in taken
        ]
        for s in _keep(ranked):
            new.append(_record(minter, agent, s, me, at))
            report.proposed += s.status == "proposed"
            report.accepted += s.status == "accepted" and s.by == "matcher"
            report.confirmed += s.status == "accepted" and s.by == "publisher"
            report.conflicts += bool(s.feature("identifier").value == 0.0)
    write_matches(store, minter, kept + new)
    identity.refresh(store, minter)
    return report


def _chain(
    minter: Minter,
    agent: AgentEvidence,
    linked: set[str],
    by_publisher: set[str],
    source: CandidateSource,
    me: str,
    at: str,
) -> list[MatchRecord]:
    """Matches to the Wikidata item that carries an identifier the publisher (or a person)
    asserted for this agent: an ORCID iD, IPNI, VIAF, BHL creator or Harvard botanist id, when
    exactly one item carries it. Accepted when the family name agrees with the item's; otherwise
    proposed, with the disagreement, for a person to decide (someone else's identifier)."""
    resolve = getattr(source, "resolve", None)
    if resolve is None:
        return []
    out = []
    for target in sorted(linked):
        found = identifier_property(target)
        if found is None or found[0] == "item":
            continue
        items: list[Candidate] = resolve(target)
        if len(items) != 1:
            continue
        c = items[0]
        prop = found[0]
        family = family_feature(reading_for(agent.name, c), c)
        who = "publisher" if target in by_publisher else "person"
        asserted = f"the {who} asserted <{target}>; Wikidata {prop} gives this item"
        agrees = family.value == 1.0
        out.append(
            MatchRecord(
                iri=match_iri(minter, agent.iri, c.iri),
                agent=agent.iri,
                agent_name=agent.name,
                target=c.iri,
                target_label=c.label,
                confidence=1.0 if agrees else round(family.value, 3),
                status="accepted" if agrees else "proposed",
                attributed_to=me,
                generated_at=at,
                justification="MappingChaining",
                comment=asserted
                if agrees
                else f"{asserted}, but the family name disagrees ({family.note}): someone "
                "else's identifier? a person must decide",
                description=c.description,
                features=[family, Feature("identifier", 1.0, f"carries {prop} {found[1]}")],
                decided_by=who if agrees else "matcher",
            )
        )
    return out


def _keep(ranked: list[Scored]) -> list[Scored]:
    out = [s for s in ranked if s.status != "rejected"][:KEEP]
    room = KEEP - len(out)
    vetoed = [s for s in ranked if s.status == "rejected" and s.feature("family").value >= 0.8]
    # a conflict with the publisher's identifier first (a reviewer must see it), then the
    # namesakes whose given names fit (vetoed by dates), then the rest
    vetoed.sort(key=lambda s: (s.feature("identifier").value != 0.0, -s.feature("given").value))
    return out + vetoed[: max(room, 0)]


def _record(minter: Minter, agent: AgentEvidence, s: Scored, me: str, at: str) -> MatchRecord:
    c = s.candidate
    return MatchRecord(
        iri=match_iri(minter, agent.iri, c.iri),
        agent=agent.iri,
        agent_name=agent.name,
        target=c.iri,
        target_label=c.label,
        confidence=s.score,
        status=s.status,
        attributed_to=me,
        generated_at=at,
        justification="CompositeMatching",
        comment=s.rule,
        description=c.description,
        features=s.features,
        decided_by=s.by,
    )


# -- reviewing ----------------------------------------------------------------------------------


def reviewer_iri(minter: Minter, reviewer: str) -> tuple[str, str]:
    """(IRI, name) of a reviewer given as an ORCID iD / IRI or as a name."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise InputError(
            "a review needs a reviewer (an ORCID iD or a name)", parameter="--reviewer"
        )
    iri = identifier_iri(reviewer)
    if iri is not None:
        return str(iri), ""
    return str(minter.mint("reviewer", reviewer)), reviewer


def review(
    store: Store,
    minter: Minter,
    match: str,
    decision: str,
    reviewer: str,
    *,
    at: str | None = None,
    note: str = "",
) -> MatchRecord:
    """Record a human decision (accepted, rejected, or proposed to undo one) on a match."""
    if decision not in STATUSES:
        raise InputError(f"unknown decision {decision!r}", allowed=", ".join(STATUSES))
    records = read_matches(store, minter)
    rec = records.get(match)
    if rec is None:
        raise InputError("no such match in the links graph", match=match)
    rec.attributed_to, rec.reviewer_name = reviewer_iri(minter, reviewer)
    rec.status = decision
    rec.generated_at = at or now()
    rec.justification = "ManualMappingCuration"
    rec.decided_by = "person"
    rec.comment = note or f"{decision} by a reviewer"
    write_matches(store, minter, records.values())
    identity.refresh(store, minter)
    return rec


def candidates_by_agent(
    store: Store, minter: Minter, *, statuses: Iterable[str] = ("proposed",)
) -> dict[str, list[MatchRecord]]:
    """Matches grouped by agent, best first, for the agents with a match in one of ``statuses``
    or a conflict with a publisher's identifier that no person has settled."""
    wanted = set(statuses)
    grouped: dict[str, list[MatchRecord]] = defaultdict(list)
    for rec in read_matches(store, minter).values():
        grouped[rec.agent].append(rec)
    return {
        agent: sorted(recs, key=lambda r: (-r.confidence, r.target))
        for agent, recs in sorted(grouped.items(), key=lambda kv: kv[1][0].agent_name.casefold())
        if any(r.status in wanted or (r.conflict and r.decided_by != "person") for r in recs)
    }


class ServiceSource:
    """Candidates from Wikidata (and ORCID, when a client is given) for one name string."""

    def __init__(
        self, wikidata: WikidataClient, orcid: OrcidClient | None = None, *, limit: int = 20
    ) -> None:
        self.wikidata, self.orcid, self.limit = wikidata, orcid, limit

    def resolve(self, identifier: str) -> list[Candidate]:
        """The Wikidata items that carry a person identifier IRI (for chaining)."""
        qids = self.wikidata.resolve(identifier)
        entities = self.wikidata.entities(qids) if qids else {}
        return [candidate_from_entity(entities[q]) for q in qids if q in entities]

    def candidates_for(self, name: str) -> list[Candidate]:
        found = self.wikidata.candidates(search_terms(name), limit=self.limit)
        family = parse_name(name).family
        if not found and len(family) >= 6:
            # a misspelt family name ("Klitaard"): search a shorter prefix, let the scoring judge
            found = self.wikidata.candidates([family[:4]], limit=self.limit * 2)
        if self.orcid is not None:
            p = parse_name(name)
            given = next((g for g in p.given if len(g) > 1), "")
            found += self.orcid.candidates(p.family, given)
        return found
