"""The dashboard, the facets and `collectomics stats` count what they say they count.

Specimens are material entities (mapping types a record as one when its basisOfRecord is a
preserved, fossil or living specimen, a material sample or citation, or not given); other
records (observations and the like) are ``dwc:Occurrence`` and are counted as records, by
basisOfRecord. Properties over every real archive in tests/data/real and over the demo served on
127.0.0.1: the basisOfRecord counts add up to the records, their specimens to the material
entities; the collector facet and the country facet count the same population (material
entities, each once per value).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import requests

from collectomics.analysis import network as N
from collectomics.analysis.stats import graph_stats
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore, Store
from helpers import REAL, REAL_ARCHIVES, StoreLocation, run_cli

M = Minter()
PREFIXES = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
"""
RECORDS = "SELECT DISTINCT ?s WHERE { { ?s a dwc:MaterialEntity } UNION { ?s a dwc:Occurrence } }"
MATERIAL = "SELECT DISTINCT ?s WHERE { ?s a dwc:MaterialEntity }"
COLLECTED = "SELECT DISTINCT ?s ?a WHERE { ?s dwciri:recordedBy ?a FILTER(isIRI(?a)) }"
COUNTRY = "SELECT DISTINCT ?s ?c WHERE { ?s dwc:countryCode ?c }"


def _pairs(store: Store, sparql: str) -> list[tuple[str, ...]]:
    return [
        tuple(getattr(v, "value", str(v)) for v in row.values())
        for row in store.query(PREFIXES + sparql).rows()
    ]


def _set(store: Store, sparql: str) -> set[str]:
    return {row[0] for row in _pairs(store, sparql)}


@pytest.fixture(scope="module")
def archives() -> dict[str, Store]:
    """Each real archive in a store of its own, with its facets materialised."""
    stores: dict[str, Store] = {}
    for name in REAL_ARCHIVES:
        store = OxigraphStore()
        [report] = ingest_files(store, [REAL / name], minter=M)
        assert report.loaded > 0, report.summary()
        N.materialise(store, M)
        stores[name] = store
    return stores


def test_the_corpus_mixes_specimens_and_other_records(archives: dict[str, Store]) -> None:
    """The properties below are exercised: real archives with observations among specimens,
    and observations that name a collector."""
    mixed = [
        name
        for name, store in archives.items()
        if _set(store, MATERIAL) and _set(store, RECORDS) - _set(store, MATERIAL)
    ]
    assert len(mixed) >= 3, mixed
    observed = [
        name
        for name, store in archives.items()
        if {s for s, _ in _pairs(store, COLLECTED)} - _set(store, MATERIAL)
    ]
    assert observed, "no observation in the corpus names a collector"


def test_basis_of_record_counts_add_up_to_the_records(archives: dict[str, Store]) -> None:
    for name, store in archives.items():
        records, material = _set(store, RECORDS), _set(store, MATERIAL)
        basis = N.facet_counts(store, M, N.BASIS)
        assert sum(r["records"] for r in basis) == len(records), name
        assert sum(r["specimens"] for r in basis) == len(material), name
        # a basis of record is all specimens or all other records, never a mix
        assert all(r["specimens"] in (0, r["records"]) for r in basis), (name, basis)
        assert len({r["value"] for r in basis}) == len(basis), name
        # from the data (no facets graph) the same
        assert N.basis_counts(store, None) == basis, name
        stats = graph_stats(store, M)
        assert stats.specimens == len(material), name
        assert stats.other_records == len(records - material), name


def test_collector_and_country_facets_count_the_same_specimens(
    archives: dict[str, Store],
) -> None:
    for name, store in archives.items():
        material = _set(store, MATERIAL)
        ids = N.Identities(store)
        behind: dict[str, set[str]] = defaultdict(set)  # a person's specimens, each once
        for s, agent in _pairs(store, COLLECTED):
            if s in material:
                behind[ids.resolve(agent)].add(s)
        collectors = {r["value"]: r["specimens"] for r in N.facet_counts(store, M, "collector")}
        assert collectors == {p: len(s) for p, s in behind.items()}, name
        by_country: dict[str, set[str]] = defaultdict(set)
        for s, code in _pairs(store, COUNTRY):
            if s in material:
                by_country[code].add(s)
        countries = {r["value"]: r["specimens"] for r in N.facet_counts(store, M, "country")}
        assert countries == {c: len(s) for c, s in by_country.items()}, name
        # every specimen a collector is counted for is counted under its country, once
        collected = set().union(*behind.values())
        for code, specimens in by_country.items():
            assert len(collected & specimens) <= countries[code], (name, code)
        assert sum(countries.values()) <= len(material), name


def test_the_dashboard_says_what_each_table_counts(archives: dict[str, Store]) -> None:
    for name, store in archives.items():
        data = N.dashboard(store, M, limit=0)
        assert data["source"] == "facets"
        assert data["records"] == len(_set(store, RECORDS)), name
        assert data["specimens"] == len(_set(store, MATERIAL)), name
        assert {f: d["counts"] for f, d in data["facets"].items()} == {
            f: "records" if f == N.BASIS else "specimens" for f in N.FACETS
        }


@pytest.fixture(scope="module")
def demo(demo_site: tuple[str, StoreLocation]) -> tuple[str, StoreLocation]:
    return demo_site


def _sparql_count(base: str, sparql: str) -> int:
    q = PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ {sparql} }}"
    r = requests.get(base + "/sparql", params={"query": q}, timeout=60)
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_the_demo_dashboard_over_http(demo: tuple[str, StoreLocation]) -> None:
    base, location = demo
    data = requests.get(base + "/dashboard", params={"format": "json", "limit": "0"}, timeout=60)
    counts = data.json()
    records = _sparql_count(base, RECORDS)
    specimens = _sparql_count(base, MATERIAL)
    assert counts["records"] == records and counts["specimens"] == specimens
    basis = counts["facets"][N.BASIS]["rows"]
    assert sum(r["records"] for r in basis) == records
    countries = sum(r["specimens"] for r in counts["facets"]["country"]["rows"])
    assert countries == _sparql_count(base, "?s a dwc:MaterialEntity ; dwc:countryCode ?c")
    canned = requests.get(base + "/queries/count-by-basis", params={"format": "json"}, timeout=60)
    rows = canned.json()["results"]["bindings"]
    assert sum(int(r["records"]["value"]) for r in rows) == records
    html = requests.get(base + "/dashboard", headers={"Accept": "text/html"}, timeout=60).text
    assert "Records by basis of record" in html and "Specimens by collector" in html
    assert f"{records:,} records: {specimens:,} specimens" in html
    r = run_cli("stats", "--json", store=location)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["specimens"] == specimens
    assert stats["specimens"] + stats["other_records"] == records


def test_the_dashboard_from_the_data_counts_as_from_the_facets() -> None:
    """Before `materialise` (or when the facets are stale) the dashboard reads the data: the
    same totals, and the same rows for every facet but the collector (agents as written)."""
    for name in REAL_ARCHIVES:
        store = OxigraphStore()
        ingest_files(store, [REAL / name], minter=M)
        live = N.dashboard(store, M, limit=0)
        N.materialise(store, M)
        facets = N.dashboard(store, M, limit=0)
        assert (live["source"], facets["source"]) == ("data", "facets")
        assert (live["records"], live["specimens"]) == (facets["records"], facets["specimens"])
        for facet in N.FACETS:
            if facet != "collector":
                assert live["facets"][facet] == facets["facets"][facet], (name, facet)


SPECIMEN_BASES = {
    "preservedspecimen",
    "fossilspecimen",
    "livingspecimen",
    "materialsample",
    "materialcitation",
    "specimen",  # Darwin Core 1.4 and older
    "fossil",
    "living",
}


def test_specimens_by_any_darwin_core_spelling_are_material_entities(
    archives: dict[str, Store],
) -> None:
    """The puma CSV writes the older "Specimen" and "Fossil" (1,523 records): specimens all the
    same, not observations."""
    legacy = 0
    for name, store in archives.items():
        material, records = _set(store, MATERIAL), _set(store, RECORDS)
        for s, basis in _pairs(store, "SELECT ?s ?b WHERE { ?s dwc:basisOfRecord ?b }"):
            if s not in records:  # the verbatim copy of a record
                continue
            key = basis.replace("_", "").replace(" ", "").lower()
            if key in SPECIMEN_BASES:
                assert s in material, (name, s, basis)
                legacy += key in ("specimen", "fossil", "living")
    assert legacy >= 1500, legacy
