"""One person, one node: the identity rule holds wherever people are counted or shown.

Properties over the demo (with the links its reviewer accepted), over every real archive of
tests/data/real/archives.txt (with the links a reviewer would accept between name strings that
read as the same name: the same family name and initials), and over a real Bloodhound export
loaded with the ORCID iD its attributions name as ``recordedByID``/``identifiedByID`` (the issue's
"Valentin Moser and his own ORCID" case): in the collector facet, the dashboard, the three
networks, the canned co-collectors query, ego networks and itineraries, each identity appears
once, under its canonical node, never tied to itself, and counts the distinct specimens of its
members.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from collectomics.analysis import identity
from collectomics.analysis.itinerary import itinerary
from collectomics.analysis.network import KINDS, build_network, dashboard, facet_counts, materialise
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.linking.decisions import COLUMNS, load_decisions
from collectomics.linking.matcher import parse_name
from collectomics.services.queries import get_query
from collectomics.store import Store
from helpers import REAL, REAL_ARCHIVES
from remote_servers import new_store

B = "https://w3id.org/collectomics/"
BLOODHOUND = REAL / "bloodhound-orcid-attributions" / "0000-0003-3558-9794.csv"
ORCID = "https://orcid.org/0000-0003-3558-9794"  # Warren Cardinal-McTeague
CASES = ["demo", *REAL_ARCHIVES, "bloodhound"]
NAMES = """SELECT ?a ?n WHERE { ?a a <https://w3id.org/collectomics/ontology#NameStringAgent> ;
  <http://xmlns.com/foaf/0.1/name> ?n }"""
ACCEPTED = """SELECT ?a ?t WHERE { ?m <https://w3id.org/collectomics/ontology#matchStatus>
  <https://w3id.org/collectomics/status/accepted> ;
  <http://www.w3.org/2002/07/owl#annotatedSource> ?a ; <http://www.w3.org/2002/07/owl#annotatedTarget> ?t }"""
#: the collector facet counts specimens (material entities), never observations
RECORDED = (
    "SELECT ?s ?a WHERE { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> ; "
    "<http://rs.tdwg.org/dwc/iri/recordedBy> ?a FILTER(isIRI(?a)) }"
)


def _bloodhound_table(out: Path) -> Path:
    """The Bloodhound export as a publisher asserting the attributed ORCID iD would write it:
    every column as exported, and the ORCID iD as recordedByID / identifiedByID on the rows it
    is attributed to ("recorded", "identified")."""
    with open(BLOODHOUND, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in rows[0] if c != "action"] + ["recordedByID", "identifiedByID"]
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            action = r.pop("action")
            r["recordedByID"] = ORCID if "recorded" in action else ""
            r["identifiedByID"] = ORCID if "identified" in action else ""
            w.writerow(r)
    return out


def _reviewer_links(store: Store, minter: Minter, out: Path) -> int:
    """Accept, as a reviewer would, a link from every name string to the first (IRI order) of
    the name strings that read as the same name (family name and initials); returns how many."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for agent, name in store.query(NAMES).table():
        p = parse_name(name)
        if p.family and p.initials:
            groups[(p.family, p.initials)].append((agent, name))
    rows = []
    for members in groups.values():
        members.sort()
        head = members[0][0]
        for agent, name in members[1:]:
            rows.append(
                [agent, name, head, "", "accepted", "A. Reviewer", "2026-12-06", "same name"]
            )
    if not rows:
        return 0
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)
    load_decisions(store, minter, out)
    return len(rows)


def _load(
    name: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Store, identity.Identity]:
    """(name, store, identities): the case loaded into an on-disk store of its own, linked,
    with the facets graph materialised."""
    work = tmp_path_factory.mktemp("identity")
    store = new_store(request, work / "store")
    minter = Minter()
    if name == "demo":
        build_demo(store, minter)
    elif name == "bloodhound":
        ingest_files(store, [_bloodhound_table(work / "bloodhound.csv")], minter=minter)
    else:
        ingest_files(store, [REAL / name], minter=minter)
        _reviewer_links(store, minter, work / "links.csv")
    # the library refreshed it after each change (a store naming no one has none)
    assert identity.fresh(store, minter) or not identity.compute(store, minter).canonical
    materialise(store, minter)
    return name, store, identity.load(store, minter)


@pytest.fixture(scope="module", params=CASES)
def case(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Store, identity.Identity]:
    return _load(request.param, request, tmp_path_factory)


@pytest.fixture(scope="module")
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Store, identity.Identity]:
    return _load("demo", request, tmp_path_factory)


@pytest.fixture(scope="module")
def bloodhound(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Store, identity.Identity]:
    return _load("bloodhound", request, tmp_path_factory)


def _specimens_per_identity(store: Store, ident: identity.Identity) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for s, a in store.query(RECORDED).table():
        found[ident.resolve(a)].add(s)
    return found


def test_the_collector_facet_counts_each_identity_once(case: Any) -> None:
    name, store, ident = case
    rows = facet_counts(store, Minter(), "collector")
    values = [r["value"] for r in rows]
    assert len(values) == len(set(values)), name
    assert all(ident.resolve(v) == v for v in values), name  # canonical nodes only
    expected = _specimens_per_identity(store, ident)
    assert {r["value"]: r["specimens"] for r in rows} == {c: len(s) for c, s in expected.items()}, (
        name
    )


def test_the_dashboard_shows_each_collector_once_under_its_name(case: Any) -> None:
    name, store, ident = case
    minter = Minter()
    shown = dashboard(store, minter, limit=0)
    assert shown["source"] == "facets"
    rows = shown["facets"]["collector"]["rows"]
    assert len({ident.resolve(r["value"]) for r in rows}) == len(rows), name
    names = identity.display_names(store, minter, ident, [r["value"] for r in rows])
    for r in rows:
        assert r["label"] == names.get(r["value"], r["label"]), (name, r)


@pytest.mark.parametrize("kind", KINDS)
def test_no_identity_appears_twice_in_a_network_nor_is_tied_to_itself(case: Any, kind: str) -> None:
    name, store, ident = case
    net = build_network(store, Minter(), kind, metrics=False)
    people = [n for n, a in net.graph.nodes(data=True) if a.get("kind") != "institution"]
    assert all(ident.resolve(n) == n for n in people), (name, kind)
    assert len({ident.resolve(n) for n in people}) == len(people), (name, kind)
    for u, v in net.graph.edges():
        assert ident.resolve(u) != ident.resolve(v), (name, kind, u, v)


def _co_collectors(store: Store, who: str) -> list[tuple[str, int]]:
    q = get_query("co-collectors")
    rows = store.query(q.text, params=q.bind({"agent": who})).rows()
    return sorted((str(r["coCollector"]), int(r["sharedEvents"].value)) for r in rows)  # type: ignore[union-attr]


def _busiest(store: Store, ident: identity.Identity, n: int) -> list[str]:
    """The ``n`` identities with most specimens, those of several nodes first."""
    rows = facet_counts(store, Minter(), "collector")
    merged = [r["value"] for r in rows if len(ident.members(r["value"])) > 1]
    return (merged + [r["value"] for r in rows if r["value"] not in merged])[:n]


def test_co_collectors_are_identities_the_same_from_any_node(case: Any) -> None:
    name, store, ident = case
    for node in _busiest(store, ident, 8):
        answer = _co_collectors(store, node)
        others = [c for c, _ in answer]
        assert node not in others, (name, node)  # no one is their own co-collector
        assert len(others) == len(set(others)), (name, node)
        assert all(ident.resolve(c) == c for c in others), (name, node)
        for member in sorted(ident.members(node))[:6]:
            assert _co_collectors(store, member) == answer, (name, node, member)


def test_an_ego_network_and_an_itinerary_are_the_same_from_any_node(case: Any) -> None:
    name, store, ident = case
    minter = Minter()
    for node in _busiest(store, ident, 3):
        ego = build_network(store, minter, person=node, metrics=False)
        trip = itinerary(store, node, minter=minter)
        assert trip.person == node and set(trip.agents) == ident.members(node)
        for member in sorted(ident.members(node) - {node})[:4]:
            other = build_network(store, minter, person=member, metrics=False)
            assert other.ego == node and set(other.graph) == set(ego.graph), (name, member)
            again = itinerary(store, member, minter=minter)
            assert [s.to_dict() for s in again.stops] == [s.to_dict() for s in trip.stops]


def test_every_accepted_link_joins_one_identity(case: Any) -> None:
    """An accepted match puts its agent in its target's identity (unless the agent's links
    reach two people: then it is a recorded conflict); and the cases exercise the properties
    above with identities of several nodes wherever a reviewer found a link."""
    name, store, ident = case
    accepted = list(store.query(ACCEPTED).table())
    for agent, target in accepted:
        assert ident.resolve(agent) == ident.resolve(target) or agent in ident.conflicts, (
            name,
            agent,
            target,
        )
    assert bool(ident.groups()) == bool(accepted), name


# ------------------------------------------------------------------ the cases themselves


def test_the_demo_counts_cesar_blanche_once_with_all_his_specimens(demo: Any) -> None:
    name, store, ident = demo
    blanche = B + "person/cesar-blanche"
    agents = {
        B + "agent/gbif-0009886-250127130748423/" + a
        for a in ("cesar-blanche-0ce61d1c", "c-blanche-b9b4df43", "cesar-blanche-verges-e63e61ce")
    }
    assert agents | {"http://www.wikidata.org/entity/Q5763750"} <= ident.members(blanche)
    rows = [r for r in dashboard(store, Minter(), limit=0)["facets"]["collector"]["rows"]]
    his = [r for r in rows if ident.resolve(r["value"]) == blanche]
    assert len(his) == 1 and his[0]["label"] == "Cèsar Blanché i Vergés"
    assert his[0]["specimens"] == 12  # 7 as "Cèsar Blanché", 4 as "C. Blanché", 1 in full
    assert not any(r["label"].startswith(("Q", "http")) for r in rows)
    # his co-collectors and itinerary are his agents' together
    assert [c for c, _ in _co_collectors(store, blanche)] == [
        B + "agent/gbif-0009886-250127130748423/r-ferrer-384ce131"
    ]
    trip = itinerary(store, "http://www.wikidata.org/entity/Q5763750", minter=Minter())
    places = {(s.earliest.isoformat(), s.locality) for s in trip.stops}
    assert ("1983-06-14", "Ulldemolins, loco dicto Els Segalassos") in places  # "C. Blanché"
    assert ("1984-08-01", "Els Segalassos") in places  # "Blanché, Cèsar"
    assert sum(len(s.specimens) for s in trip.stops) + trip.undated == 12


def test_a_name_and_its_own_orcid_are_one_collector(bloodhound: Any) -> None:
    """Bloodhound's attributions to Warren Cardinal-McTeague's ORCID iD: the data name both the
    name string and the iD as collectors of the same specimens (the raw tie the issue counted as
    a person's strongest co-collector); resolved, they are one identity and never a tie."""
    name, store, ident = bloodhound
    warren = B + "agent/bloodhound/warren-cardinal-mcteague-b224a2ec"
    raw = store.query(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s <http://rs.tdwg.org/dwc/iri/recordedBy> "
        f"<{ORCID}>, <{warren}> }}"
    ).table()
    assert int(next(iter(raw))[0]) >= 30  # the case is real: 70 specimens name both
    assert ident.resolve(ORCID) == ident.resolve(warren)
    net = build_network(store, Minter(), metrics=False)
    node = ident.resolve(ORCID)
    assert ORCID not in net.graph and warren not in net.graph or node == warren
    assert node not in net.graph[node]
    assert [c for c, _ in _co_collectors(store, ORCID)] == [
        c for c, _ in _co_collectors(store, warren)
    ]


def test_reconciliation_offers_each_identity_once(demo: Any) -> None:
    """A person ranks as one candidate: the name strings of its identity are not candidates
    beside it, whatever name the query uses; its agents' IRIs and its Wikidata IRI preview it."""
    from collectomics.services import reconcile as rec

    name, store, ident = demo
    for query in ("Blanché", "C. Blanché", "Cèsar Blanché", "Molero", "Julià Molero Briones"):
        result = rec.reconcile(store, {"q0": {"query": query, "type": "Person"}})["q0"]["result"]
        found = [B + r["id"] if "://" not in r["id"] else r["id"] for r in result]
        assert found, query
        canon = [ident.resolve(f) for f in found]
        assert canon == found and len(set(canon)) == len(canon), (query, found)
    ix = rec.index_for(store)
    blanche = ix.get("person/cesar-blanche")
    for member in ident.members(B + "person/cesar-blanche"):
        assert ix.get(member) is blanche, member


def test_reconciliation_reads_an_entitys_specimens_through_its_identity(case: Any) -> None:
    """The reconciliation index has one entity per identity, and reads the ties of each (when
    the facets graph does not give them) through the identity's own members: the rule's
    membership, not one it pieces together from the agents it meets on specimens."""
    from collectomics.services.reconcile.index import Index

    name, store, ident = case
    ix = Index(store)
    for iri in ix.by_iri:
        assert ident.resolve(iri) == iri, (name, iri)
        assert ix.agents_of.get(iri, set()) | {iri} == ident.members(iri), (name, iri)
    ix.facets = False  # as before materialise: ties read from the data
    for node in _busiest(store, ident, 8):
        e = ix.by_iri.get(node)
        if e is None:
            continue  # an identity no entity stands for (an organisation, an unknown agent)
        others = [t.iri for t, _ in ix.ties(e)]
        assert node not in others and len(others) == len(set(others)), (name, node)
        assert all(ident.resolve(o) == o for o in others), (name, node)
