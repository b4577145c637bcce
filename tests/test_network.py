"""A small hand-checked graph for the network and itinerary tests (see the expected values there).

Agents a and a2 both reach the person P: a by an accepted identity match to P's Wikidata item,
a2 by sharing that schema:sameAs target. b, c, d are plain name-string agents.
"""

from __future__ import annotations

from collectomics.iri import Minter
from collectomics.store import OxigraphStore, Store

B = "https://w3id.org/collectomics/"
P = B + "person/p"
A, A2, AB, AC, AD = (B + f"agent/hand/{n}" for n in ("a", "a2", "b", "c", "d"))

# specimen: (collectors, year, institution, determiner, (earliest, latest) or None, lat, lon, locality, country)
SPECIMENS = {
    "s1": ([A, AB], 1900, "X", AD, ("1900-05-01", "1900-05-01"), 0.0, 0.0, "", "AA"),
    "s2": ([A, AB, AC], 1910, "X", None, ("1910-05-01", "1910-05-01"), 0.0, 1.0, "", "AA"),
    "s3": ([A], 1920, "Y", AD, ("1920-06-01", "1920-06-01"), 10.0, 0.0, "", "AA"),
    "s4": ([AB, AC], 1950, "Y", None, ("1950-01-01", "1950-12-31"), None, None, "", "BB"),
    "s5": ([A2, AC], 1912, None, None, ("1912-03-01", "1912-03-31"), None, None, "Somewhere", "AA"),
    "s6": ([A], 1920, None, None, ("1920-06-02", "1920-06-02"), 30.0, 0.0, "", "CC"),
    "s7": ([A], 1920, None, None, ("1920-06-02", "1920-06-02"), 30.0, 10.0, "", "CC"),
    "s8": ([A], 1930, None, None, ("1930-01-01", "1930-12-31"), None, None, "", "DD"),
    "s9": ([A], 1890, None, None, ("1890-01-01", "1890-01-01"), 0.0, 0.0, "", "AA"),
    "s10": ([A], 1890, None, None, ("1890-01-03", "1890-01-03"), 0.0, 2.5, "", "AA"),
    "s11": ([A], None, None, None, None, None, None, "", ""),
}

PREFIXES = """
@prefix dwc: <http://rs.tdwg.org/dwc/terms/> . @prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .
@prefix dsw: <http://purl.org/dsw/> . @prefix col: <https://w3id.org/collectomics/ontology#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix schema: <http://schema.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix status: <https://w3id.org/collectomics/status/> .
"""


def turtle() -> str:
    out = [PREFIXES]
    out.append(
        f'<{P}> a foaf:Person ; foaf:name "Person P" ; schema:sameAs <http://www.wikidata.org/entity/Q1> .'
    )
    out.append(
        f"<{P}/match/1> a col:IdentityMatch ; owl:annotatedSource <{A}> ; "
        f"owl:annotatedTarget <http://www.wikidata.org/entity/Q1> ; col:matchStatus status:accepted ."
    )
    out.append(f"<{A2}> schema:sameAs <http://www.wikidata.org/entity/Q1> .")
    for agent, name in ((A, "P."), (A2, "P. P."), (AB, "B."), (AC, "C."), (AD, "D.")):
        out.append(f'<{agent}> a col:NameStringAgent ; foaf:name "{name}" .')
    for key, (who, year, inst, det, dates, lat, lon, loc, cc) in SPECIMENS.items():
        s = f"{B}specimen/hand/{key}"
        parts = [f"<{s}> a dwc:MaterialEntity ; col:collectingEvent <{s}/event>"]
        parts += [f"dwciri:recordedBy <{w}>" for w in who]
        if year is not None:
            parts.append(f"dwc:year {year}")
        if inst:
            parts.append(f'dwc:institutionCode "{inst}"')
        if det:
            parts.append(f"dwciri:identifiedBy <{det}>")
        if cc:
            parts.append(f'dwc:countryCode "{cc}"')
        parts.append('dwc:family "Fam"')
        out.append(" ; ".join(parts) + " .")
        ev = [f"<{s}/event> a dwc:Event ; dsw:locatedAt <{s}/location>"]
        if dates:
            ev.append(
                f'col:earliestDate "{dates[0]}"^^xsd:date ; col:latestDate "{dates[1]}"^^xsd:date'
            )
        out.append(" ; ".join(ev) + " .")
        loc_parts = [f"<{s}/location> a <http://purl.org/dc/terms/Location>"]
        if lat is not None:
            loc_parts.append(
                f'dwc:decimalLatitude "{lat}"^^xsd:decimal ; dwc:decimalLongitude "{lon}"^^xsd:decimal'
            )
        if loc:
            loc_parts.append(f'dwc:locality "{loc}"')
        if cc:
            loc_parts.append(f'dwc:countryCode "{cc}"')
        out.append(" ; ".join(loc_parts) + " .")
    return "\n".join(out)


def hand_store(store: Store) -> Store:
    """``store`` with the hand-written graph loaded."""
    store.replace_graph(Minter().graph("hand"), turtle().encode(), "turtle")
    return store


# ------------------------------------------------------------------ tests

import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import networkx as nx  # noqa: E402
import pytest  # noqa: E402

from collectomics.analysis import network as N  # noqa: E402
from collectomics.analysis import readers as R  # noqa: E402
from collectomics.analysis.itinerary import (  # noqa: E402
    flag_ntriples,
    itinerary,
    parse_speeds,
    save_flags,
    to_geojson,
)
from helpers import StoreLocation, new_store  # noqa: E402

M = Minter()
INST_X, INST_Y = N.institution_iri(M, "X"), N.institution_iri(M, "Y")


@pytest.fixture()
def store(request: pytest.FixtureRequest) -> Store:
    return hand_store(new_store(request))


def _edges(net: N.Network) -> dict[tuple[str, str], tuple[int, int | None, int | None]]:
    return {
        tuple(sorted((e["source"], e["target"]))): (
            e["weight"],
            e.get("first_year"),
            e.get("last_year"),
        )
        for e in net.edges()
    }


CO = {
    tuple(sorted((P, AB))): (2, 1900, 1910),
    tuple(sorted((P, AC))): (2, 1910, 1912),
    tuple(sorted((AB, AC))): (2, 1910, 1950),
}


def test_co_collectors_resolve_agents_to_the_person(store: Store) -> None:
    net = N.build_network(store, M)
    assert net.source == "data"
    assert _edges(net) == CO
    nodes = {n["id"]: n for n in net.nodes()}
    assert set(nodes) == {P, AB, AC}
    assert nodes[P]["kind"] == "person" and nodes[P]["label"] == "Person P"
    assert nodes[P]["specimens"] == 10  # s1-s3, s5-s11
    assert (nodes[P]["first_year"], nodes[P]["last_year"]) == (1890, 1930)
    assert nodes[P]["degree"] == 2 and nodes[P]["weighted_degree"] == 4
    assert nodes[AC]["betweenness"] == 0.0
    assert {n["community"] for n in nodes.values()} == {0}


def test_decade_and_date_range_slices(store: Store) -> None:
    net = N.build_network(store, M, decade=1910)
    assert _edges(net) == {
        tuple(sorted((P, AB))): (1, 1910, 1910),
        tuple(sorted((P, AC))): (2, 1910, 1912),
        tuple(sorted((AB, AC))): (1, 1910, 1910),
    }
    assert _edges(N.build_network(store, M, start=1940, end=1960)) == {
        tuple(sorted((AB, AC))): (1, 1950, 1950)
    }


def test_determiner_and_institution_networks(store: Store) -> None:
    det = N.build_network(store, M, "determiner")
    assert _edges(det) == {
        tuple(sorted((AD, P))): (2, 1900, 1920),
        tuple(sorted((AD, AB))): (1, 1900, 1900),
    }
    inst = N.build_network(store, M, "institution")
    assert _edges(inst) == {
        tuple(sorted((P, INST_X))): (2, 1900, 1910),
        tuple(sorted((P, INST_Y))): (1, 1920, 1920),
        tuple(sorted((AB, INST_X))): (2, 1900, 1910),
        tuple(sorted((AB, INST_Y))): (1, 1950, 1950),
        tuple(sorted((AC, INST_X))): (1, 1910, 1910),
        tuple(sorted((AC, INST_Y))): (1, 1950, 1950),
    }
    assert {n["kind"] for n in inst.nodes()} == {"person", "agent", "institution"}


def test_one_dataset_and_an_unknown_one(store: Store) -> None:
    assert _edges(N.build_network(store, M, dataset="hand")) == CO
    with pytest.raises(N.InputError):
        N.build_network(store, M, dataset="nope")


def test_ego_network_from_data_and_from_facets(store: Store) -> None:
    ego = N.build_network(store, M, "determiner", person=AD)
    assert set(ego.graph) == {AD, P, AB}
    assert N.build_network(store, M, person=AB).source == "data"
    report = N.materialise(store, M)
    assert report.edges == 3
    assert R.facets_fresh(store, M)
    for depth in (1, 2):
        fast = N.build_network(store, M, person=AB, depth=depth)
        slow = N.build_network(store, M, person=AB, depth=depth, start=0, end=3000)
        assert fast.source == "facets" and slow.source == "data"
        assert _edges(fast) == CO
        assert _edges(slow) == CO


def test_materialised_edges_and_facets_stay_in_step(store: Store) -> None:
    N.materialise(store, M)
    whole = N.build_network(store, M)
    assert whole.source == "facets" and _edges(whole) == CO
    counts = {r["value"]: r["specimens"] for r in N.facet_counts(store, M, "country")}
    assert counts == {"AA": 6, "BB": 1, "CC": 2, "DD": 1}
    decades = {r["value"]: r["specimens"] for r in N.facet_counts(store, M, "decade")}
    assert decades == {"1890": 2, "1900": 1, "1910": 2, "1920": 3, "1930": 1, "1950": 1}
    collectors = {r["value"]: r["specimens"] for r in N.facet_counts(store, M, "collector")}
    assert collectors == {P: 10, AB: 3, AC: 3}
    assert {r["value"] for r in N.facet_counts(store, M, "institution")} == {"X", "Y"}
    # a reload of the data makes the materialised graph stale; the network reads the data again
    store.replace_graph(M.graph("hand"), turtle().encode(), "turtle")
    assert not R.facets_fresh(store, M)
    assert N.build_network(store, M).source == "data"


def test_gexf_and_graphml_read_back_with_networkx(store: Store, tmp_path: Path) -> None:
    net = N.build_network(store, M)
    N.export(net, "gexf", tmp_path / "n.gexf")
    g = nx.read_gexf(tmp_path / "n.gexf")
    assert {tuple(sorted(e)): int(a["weight"]) for *e, a in g.edges(data=True)} == {
        k: v[0] for k, v in CO.items()
    }
    assert 'mode="dynamic"' in (tmp_path / "n.gexf").read_text()
    assert g.nodes[P]["label"] == "Person P"
    N.export(net, "graphml", tmp_path / "n.graphml")
    h = nx.read_graphml(tmp_path / "n.graphml")
    assert {
        tuple(sorted(e)): (a["weight"], a["start"], a["end"]) for *e, a in h.edges(data=True)
    } == {k: v for k, v in CO.items()}
    assert h.nodes[P]["kind"] == "person" and h.nodes[P]["degree"] == 2


def test_csv_and_json_exports(store: Store, tmp_path: Path) -> None:
    net = N.build_network(store, M)
    nodes_path, edges_path = N.export(net, "csv", tmp_path / "pal.csv")
    edges = list(csv.DictReader(edges_path.open()))
    assert {(tuple(sorted((r["Source"], r["Target"])))): int(r["weight"]) for r in edges} == {
        k: v[0] for k, v in CO.items()
    }
    nodes = list(csv.DictReader(nodes_path.open()))
    assert {r["Id"] for r in nodes} == {P, AB, AC}
    data = json.loads(N.to_text(net, "json"))
    assert len(data["edges"]) == 3 and data["kind"] == "co-collector"


# ------------------------------------------------------------------ itineraries


def test_itinerary_orders_stops_and_says_where_places_come_from(store: Store) -> None:
    it = itinerary(store, P)
    got = [(s.earliest.isoformat(), s.place_source, len(s.specimens)) for s in it.stops]
    assert got == [
        ("1890-01-01", "coordinates", 1),
        ("1890-01-03", "coordinates", 1),
        ("1900-05-01", "coordinates", 1),
        ("1910-05-01", "coordinates", 1),
        ("1912-03-01", "locality", 1),
        ("1920-06-01", "coordinates", 1),
        ("1920-06-02", "coordinates", 1),
        ("1920-06-02", "coordinates", 1),
        ("1930-01-01", "country", 1),
    ]
    assert it.undated == 1
    assert set(it.agents) == {P, A, A2, "http://www.wikidata.org/entity/Q1"}


def test_itinerary_flags(store: Store) -> None:
    it = itinerary(store, P)
    flags = [(f.rule, f.previous, f.stop, f.days) for f in it.flags]
    assert flags == [
        ("impossibleSpeed", 0, 1, 2),  # 278 km in 2 days before 1900 (100 km a day)
        ("impossibleSpeed", 5, 6, 1),  # 2,224 km in a day in 1920 (500 km a day)
        ("twoPlacesOneDay", 6, 7, 0),  # 964 km apart on 1920-06-02
    ]
    assert round(it.flags[0].km) == 278 and it.flags[0].limit == 100
    # a faster allowance before 1900 clears the first flag only
    relaxed = itinerary(store, P, speeds="1900:200 1950:500 *:1500")
    assert [f.stop for f in relaxed.flags] == [6, 7]
    assert parse_speeds("*:10 1900:1") == [(1900, 1.0), (None, 10.0)]


def test_itinerary_flags_are_annotations(store: Store) -> None:
    it = itinerary(store, P)
    text = flag_ntriples(it, M)
    assert text.count("<http://www.w3.org/ns/oa#assessing>") == 3
    assert "itineraryTwoPlacesOneDay" in text
    save_flags(store, M, it)
    rows = list(
        store.query(
            "SELECT ?f WHERE { ?f a <https://w3id.org/collectomics/ontology#RecordFlag> ; "
            "<http://www.w3.org/ns/oa#hasTarget> ?s }"
        ).rows()
    )
    assert len(rows) == 3


def test_itinerary_geojson(store: Store) -> None:
    geo = to_geojson(itinerary(store, P))
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert len(points) == 7 and len(lines) == 1
    assert lines[0]["geometry"]["coordinates"][0] == [0.0, 0.0]  # lon, lat
    assert points[4]["properties"]["flags"] == ["impossibleSpeed"]
    assert points[5]["properties"]["flags"] == ["impossibleSpeed", "twoPlacesOneDay"]


# ------------------------------------------------------------------ the commands


def test_commands(tmp_path: Path, store_location: StoreLocation) -> None:
    from helpers import run_cli

    db = store_location
    hand_store(db.open()).close()
    r = run_cli("network", str(tmp_path / "n.gexf"), store=db)
    assert r.returncode == 0, r.stderr
    assert "3 nodes, 3 edges (co-collector, from data)" in r.stderr
    assert nx.read_gexf(tmp_path / "n.gexf").number_of_edges() == 3
    r = run_cli("materialise", store=db)
    assert r.returncode == 0 and "3 co-collection edges" in r.stdout, r.stderr
    assert "up to date" in run_cli("materialise", "--if-stale", store=db).stdout
    r = run_cli("network", "-", "--format", "json", "--person", AB, "--depth", "2", store=db)
    assert r.returncode == 0 and "from facets" in r.stderr
    assert len(json.loads(r.stdout)["edges"]) == 3
    r = run_cli(
        "network", str(tmp_path / "p.csv"), "--kind", "determiner", "--decade", "1900", store=db
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p-edges.csv").read_text().count("\n") == 3  # header, D-P, D-B (s1, 1900)
    r = run_cli("network", "-", "--decade", "1900", "--from", "1900", store=db)
    assert r.returncode == 2
    out = tmp_path / "p.geojson"
    r = run_cli("itinerary", P, "--out", str(out), "--annotate", store=db)
    assert r.returncode == 0 and "9 stops, 3 flags, 1 undated" in r.stderr, r.stderr
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    r = run_cli("itinerary", P, "--format", "csv", "--from", "1920", "--to", "1920", store=db)
    assert r.returncode == 0 and r.stdout.count("\n") == 4  # header + three stops of 1920


def test_a_limit_keeps_the_strongest_ties_per_ring(store: Store) -> None:
    # P is tied to B and C with 2 specimens each: the tie breaks on the IRI, B before C
    assert set(N.build_network(store, M, person=P, limit=1).graph) == {P, AB}
    N.materialise(store, M)
    fast = N.build_network(store, M, person=P, limit=1)
    assert fast.source == "facets" and set(fast.graph) == {P, AB}
    assert _edges(fast) == {tuple(sorted((P, AB))): (2, 1900, 1910)}


def _full(net: N.Network) -> tuple[list, list]:
    return net.nodes(), net.edges()


@pytest.mark.embedded_only(
    "the edge index is a file in the store's directory, which the test removes and forges; a "
    "remote store keeps it in the process, as an in-memory one does"
)
def test_the_array_index_answers_as_the_facets_graph_does(tmp_path: Path) -> None:
    from collectomics.analysis import edgeindex

    store = hand_store(OxigraphStore(str(tmp_path / "db")))
    N.materialise(store, M)
    path = edgeindex.cache_file(store)
    assert path is not None and path.is_file()
    calls = [
        {},
        *({"person": who, "depth": d, "limit": lim}
          for who in (P, AB, AD) for d in (1, 2) for lim in (0, 1)),
    ]  # fmt: skip
    with_index = [_full(N.build_network(store, M, **kw)) for kw in calls]
    assert N._edge_index(store, M) is not None
    # the same calls through SPARQL over the facets graph only: no index file
    path.unlink()
    edgeindex._LOADED.clear()
    assert N._edge_index(store, M) is None
    without = [_full(N.build_network(store, M, **kw)) for kw in calls]
    assert with_index == without
    assert _edges(N.build_network(store, M)) == CO
    # an index written for another materialisation is never used
    other = edgeindex.EdgeIndex.build("not-this-one", {}, {}, str, str)
    other.save(path)
    assert N._edge_index(store, M) is None
    # a new materialisation writes a new one, which is used again
    N.materialise(store, M)
    assert N._edge_index(store, M) is not None
    store.close()


class _Payload:
    """What a forged pickle would run when unpickled: it makes the directory ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.marker,))


@pytest.mark.embedded_only(
    "the caches are files in the store's directory, which the test forges (a remote store keeps "
    "them in the process)"
)
def test_forged_or_damaged_caches_are_never_executed_and_only_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edge index and the kept itinerary rows are read without executing anything: a file
    holding a pickle (what format 1 wrote, or a forgery), a file cut short, one whose header
    lies about its arrays, or JSON of the wrong shape is ignored, readers answer from the
    facets graph and the data exactly as before, and the next materialise writes them again."""
    from collectomics.analysis import edgeindex
    from collectomics.analysis import itinerary as I

    monkeypatch.setattr(I, "CACHE_AT", 3)  # P's itinerary rows are kept
    store = hand_store(OxigraphStore(str(tmp_path / "db")))
    N.materialise(store, M)
    token = R.facets_token(store, M)
    index_file, rows_file = edgeindex.cache_file(store), edgeindex._rows_file(store, P)
    assert token and index_file is not None and rows_file is not None and rows_file.is_file()
    calls = [{}, *({"person": who, "depth": d} for who in (P, AB, AD) for d in (1, 2))]
    expected = [_full(N.build_network(store, M, **kw)) for kw in calls]
    live = I.itinerary(store, P).to_dict()  # without a minter: read from the data
    good = index_file.read_bytes()
    marker = tmp_path / "executed"
    forged_pickle = pickle.dumps((1, token, _Payload(marker)))
    head = json.dumps({"format": 2, "token": token, "lengths": [9] * 8}).encode()
    wrong = edgeindex.EdgeIndex.build(token, {}, {(AB, P): {"weight": 1}}, str, str)
    wrong.a[0] = -1  # a node number out of range, in a file that is otherwise well formed
    wrong.save(tmp_path / "wrong.arrays")
    forgeries = {
        "a node number out of range": (tmp_path / "wrong.arrays").read_bytes(),
        "a pickle": forged_pickle,
        "cut short": good[: len(good) // 2],
        "a header that lies": edgeindex.MAGIC + len(head).to_bytes(8, "little") + head,
        "trailing bytes": good + b"\0" * 8,
        "not ours": b"PK\3\4" + bytes(200),
    }
    for what, content in forgeries.items():
        index_file.write_bytes(content)
        edgeindex._LOADED.clear()
        assert edgeindex.lookup(store, token) is None, what
        assert [_full(N.build_network(store, M, **kw)) for kw in calls] == expected, what
    for content in (
        forged_pickle,
        json.dumps({"format": 2, "token": token, "person": P, "rows": [[1, 2]]}).encode(),
        b"{",
    ):
        rows_file.write_bytes(content)
        assert edgeindex.load_rows(store, token, P) is None
        assert I.itinerary(store, P, minter=M).to_dict() == live
    # format 1's file, left by an older version: never read, and removed by the next write
    legacy = index_file.parent / "co-collection-edges.pickle"
    legacy.write_bytes(forged_pickle)
    N.materialise(store, M)
    token = R.facets_token(store, M)
    assert token and not legacy.exists() and not marker.exists()
    edgeindex._LOADED.clear()
    assert edgeindex.lookup(store, token) is not None  # read back from the file written
    assert edgeindex.load_rows(store, token, P) is not None
    assert [_full(N.build_network(store, M, **kw)) for kw in calls] == expected
    assert I.itinerary(store, P, minter=M).to_dict() == live
    store.close()


def test_kept_itineraries_answer_as_the_data_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_store: Callable[..., Store]
) -> None:
    from collectomics.analysis import edgeindex
    from collectomics.analysis import itinerary as I

    monkeypatch.setattr(I, "CACHE_AT", 3)  # P (10 specimens), B and C (3 each) are kept
    for path in (None, str(tmp_path / "db")):  # in memory, on disk (on servers under a backend)
        store = hand_store(make_store(path))
        plain = {who: I.itinerary(store, who).to_dict() for who in (P, AB, AD)}
        report = N.materialise(store, M)
        assert report.itineraries == 3
        token = R.facets_token(store, M)
        assert token and edgeindex.load_rows(store, token, P) is not None
        assert edgeindex.load_rows(store, token, AD) is None  # too few specimens: read live
        assert edgeindex.load_rows(store, "another", P) is None
        for who in (P, AB, AD):
            assert I.itinerary(store, who, minter=M).to_dict() == plain[who]
        # a reload makes the kept rows stale: they are not used (the token is gone)
        store.replace_graph(M.graph("hand"), turtle().encode(), "turtle")
        assert R.facets_token(store, M) is None
        assert I.itinerary(store, P, minter=M).to_dict() == plain[P]
        store.close()


def test_ingest_rebuilds_stale_facets_unless_told_not_to(
    tmp_path: Path, store_location: StoreLocation
) -> None:
    from helpers import run_cli

    data = tmp_path / "hand.ttl"
    data.write_text(turtle(), encoding="utf-8")
    db = store_location
    r = run_cli("ingest", str(data), "--dataset", "hand", store=db)
    assert r.returncode == 0 and "3 co-collection edges" in r.stderr, r.stderr
    with db.open(read_only=True) as s:
        assert R.facets_fresh(s, M)
    r = run_cli(
        "ingest", str(data), "--dataset", "hand", "--replace", store=db,
        env={"COLLECTOMICS_MATERIALISE_AFTER_LOAD": "false"},
    )  # fmt: skip
    assert r.returncode == 0 and "co-collection" not in r.stderr, r.stderr
    with db.open(read_only=True) as s:
        assert not R.facets_fresh(s, M)  # stale, and readers know it
    r = run_cli("infer", store=db)  # any later load brings them up to date
    assert r.returncode == 0 and "3 co-collection edges" in r.stderr, r.stderr


def test_analysis_imports_nothing_above_it_and_nothing_late() -> None:
    """analysis/ (src/collectomics/analysis/README.md) imports the kernel, mapping/, store/ and
    its own modules, each at the top of a file: no import inside a function hides a cycle or
    an upward dependency (services/, web/, cli/)."""
    import ast

    folder = Path(N.__file__).parent
    below = (
        "analysis",
        "errors",
        "config",
        "model",
        "iri",
        "vocab",
        "resources",
        "mapping",
        "store",
    )
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            ours = [n for n in names if n and n.startswith("collectomics")]
            for name in ours:
                assert name.split(".")[1] in below, f"{path.name} imports {name}"
            assert not ours or id(node) in top, f"{path.name}:{node.lineno} imports {ours} late"


@pytest.mark.parametrize(
    "archive", ["dwca-io-fixtures/Borza.txt", "pydwca-gbif-results/gbif-results.zip"]
)
def test_metrics_do_not_depend_on_the_order_edges_arrive_in(archive: str, tmp_path: Path) -> None:
    """Louvain and sampled betweenness visit nodes in insertion order: the same network read
    in another row order must get the same communities and the same centralities (before, 3 of
    the corpus's 30 networks split differently with their edges shuffled, Borza's among them)."""
    import random

    from collectomics.ingest import ingest_files
    from helpers import REAL

    s = OxigraphStore(str(tmp_path / "s"))
    ingest_files(s, [REAL / archive], minter=M)
    kinds = ("co-collector", "institution")
    for kind in kinds:
        base = N.build_network(s, M, kind).graph
        assert base.number_of_edges() > 0
        seen = set()
        for seed in range(6):
            edges = list(base.edges(data=True))
            nodes = list(base.nodes(data=True))
            random.Random(seed).shuffle(edges)
            random.Random(seed + 100).shuffle(nodes)
            g = nx.Graph()
            g.add_nodes_from(nodes)
            g.add_edges_from(edges)
            N.add_metrics(g)
            seen.add(
                tuple(
                    sorted(
                        (n, a["community"], a["degree"], a["betweenness"])
                        for n, a in g.nodes(data=True)
                    )
                )
            )
        assert len(seen) == 1, f"{archive} {kind}: {len(seen)} different results"
