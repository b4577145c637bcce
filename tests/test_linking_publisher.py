"""Publisher identifiers as evidence, who decided, and what the exports publish: `link`,
`review` and `export-links` from the CLI against the Wikidata stand-in serving all 54,204 IPNI
authors (tests/data/real), on the issue's real cases.

Matias Köhler's Wikidata item carries his ORCID (0000-0003-1863-6309, from IPNI's notes); Alicia
Marques Torres's carries hers (0000-0003-0632-5888). A record that gives Alicia's ORCID for
"Matias Köhler" was chained to her at confidence 1, and the matcher accepted his item anyway.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.linking import standin
from collectomics.linking.service import gather_agents, read_matches
from collectomics.mapping.names import is_unknown_agent
from collectomics.store import Store
from helpers import REAL_ARCHIVES, StoreLocation, run_cli

REAL = Path(__file__).resolve().parent / "data" / "real"
KOHLER, KOHLER_ORCID = "http://www.wikidata.org/entity/Q60323010", "0000-0003-1863-6309"
TORRES, TORRES_ORCID = "http://www.wikidata.org/entity/Q106889509", "0000-0003-0632-5888"
KLITGAARD = "http://www.wikidata.org/entity/Q18986228"
HEADER = "occurrenceID\trecordedBy\trecordedByID\teventDate\tkingdom\tbasisOfRecord\n"
ROWS = [
    # someone else's ORCID for the name (the case)
    ("urn:r:1", "Matias Köhler", f"https://orcid.org/{TORRES_ORCID}", "2019-03-01"),
    # his own ORCID, on one record; the same name string without it on another
    ("urn:r:2", "M. Köhler", f"https://orcid.org/{KOHLER_ORCID}", "2020-05-02"),
    ("urn:r:3", "M. Köhler", "", "2020-05-03"),
    # no identifier: the matcher alone accepts her (full name, abbreviation-free, a known life)
    ("urn:r:4", "Bente Bang Klitgaard", "", "1995-03-01"),
    ("urn:r:5", "Anon.", "", "1995-03-01"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    cache = tmp_path_factory.mktemp("cache")
    with standin.running("wikidata", standin.load("wikidata", REAL)) as w:
        settings = {**w, "linking_rate": "0", "linking_cache": str(cache)}
        yield {f"COLLECTOMICS_{k.upper()}": v for k, v in settings.items()}


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> StoreLocation:
    """One store, ingested and linked once for the module (the last export test adds a review)."""
    tmp_path = tmp_path_factory.mktemp("linked")
    store_location = StoreLocation(str(tmp_path / "store.db"))
    data = tmp_path / "kohler.tsv"
    lines = [f"{o}\t{n}\t{i}\t{d}\tPlantae\tPRESERVED_SPECIMEN\n" for o, n, i, d in ROWS]
    data.write_text(HEADER + "".join(lines), "utf-8")
    r = run_cli("ingest", str(data), "--dataset", "k", store=store_location)
    assert r.returncode == 0, r.stderr
    r = run_cli("link", "--no-orcid", store=store_location, env=env)
    assert r.returncode == 0, r.stderr
    return store_location


def _matches(store: StoreLocation) -> dict[tuple[str, str], object]:
    with store.open() as s:
        return {(m.agent_name, m.target): m for m in read_matches(s, Minter()).values()}


def test_someone_elses_identifier_is_a_conflict_not_an_accept(
    linked: StoreLocation, env: dict[str, str]
) -> None:
    ms = _matches(linked)
    chained = ms[("Matias Köhler", TORRES)]
    # chained to Alicia through her ORCID, but the family names disagree: a person decides
    assert chained.status == "proposed" and chained.justification == "MappingChaining"  # type: ignore[attr-defined]
    assert "family name disagrees" in chained.comment  # type: ignore[attr-defined]
    # his own item carries another ORCID: vetoed, the reason stored
    own = ms[("Matias Köhler", KOHLER)]
    assert own.status == "rejected" and own.decided_by == "matcher"  # type: ignore[attr-defined]
    ident = next(f for f in own.features if f.name == "identifier")  # type: ignore[attr-defined]
    assert ident.value == 0.0 and TORRES_ORCID in ident.note and KOHLER_ORCID in ident.note
    assert not any(
        m.status == "accepted"  # type: ignore[attr-defined]
        for (name, _t), m in ms.items()
        if name == "Matias Köhler"
    )
    # his own ORCID leads to his item, the family name agrees: accepted on the publisher's word
    good = ms[("M. Köhler", KOHLER)]
    assert good.status == "accepted" and good.decided_by == "publisher"  # type: ignore[attr-defined]
    # `review` shows the conflict, though nothing about it is merely proposed
    r = run_cli("review", store=linked, env=env)
    assert r.returncode == 0, r.stderr
    block = r.stdout.split("Matias Köhler", 1)[1]
    assert "CONFLICT with the publisher's identifier" in block and TORRES_ORCID in block
    listing = json.loads(run_cli("review", "--json", store=linked, env=env).stdout)
    entry = next(a for a in listing if a["name"] == "Matias Köhler")
    assert any(c["conflict"] for c in entry["candidates"])


def test_viaf_and_ipni_identifiers_resolve_through_their_properties(env: dict[str, str]) -> None:
    """Hans Oehme's VIAF cluster (cited in his IPNI record) resolves to his item through P214,
    Alicia Marques Torres's IPNI id through P586: in the client and in the stand-in."""
    from collectomics.linking.service import ServiceSource
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient

    http = HttpClient(rate=0)
    client = WikidataClient(
        http, env["COLLECTOMICS_WIKIDATA_API_URL"], env["COLLECTOMICS_WIKIDATA_SPARQL_URL"]
    )
    try:
        assert client.resolve("http://viaf.org/viaf/170367321") == ["Q1576521"]
        assert client.resolve("https://www.ipni.org/a/20045244-1") == ["Q106889509"]
        (oehme,) = ServiceSource(client).resolve("http://viaf.org/viaf/170367321")
        assert oehme.identifiers["P214"] == {"170367321"} and "Oehme" in oehme.label
    finally:
        http.close()


def test_who_decided_is_one_sparql_pattern(linked: StoreLocation) -> None:
    """col:decidedBy "person" | "publisher" | "matcher" on every match node, wherever it is."""
    with linked.open() as s:
        rows = s.query(
            "SELECT ?who (COUNT(?m) AS ?n) WHERE { ?m a "
            "<https://w3id.org/collectomics/ontology#IdentityMatch> ; "
            "<https://w3id.org/collectomics/ontology#matchStatus> "
            "<https://w3id.org/collectomics/status/accepted> . OPTIONAL { ?m "
            "<https://w3id.org/collectomics/ontology#decidedBy> ?who } } GROUP BY ?who"
        ).rows()
        counts = {r["who"].value if "who" in r else None: int(r["n"].value) for r in rows}  # type: ignore[union-attr]
    # the publisher's two ORCIDs (dataset graph) and the chained item; the matcher's Klitgaard
    assert counts == {"publisher": 3, "matcher": 1}, counts
    # the canned query shows it too
    r = run_cli(
        "query", "matches-to-review", "--param", "status=accepted", "--format", "csv",
        store=linked,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert sorted(row["decidedBy"] for row in rows) == [
        "matcher",
        "publisher",
        "publisher",
        "publisher",
    ]


def test_exports_carry_only_what_a_person_or_the_publisher_decided(
    linked: StoreLocation, env: dict[str, str], tmp_path: Path
) -> None:
    ms = _matches(linked)
    assert ms[("Bente Bang Klitgaard", KLITGAARD)].status == "accepted"  # type: ignore[attr-defined]
    out = tmp_path / "patch"
    r = run_cli("export-links", "--format", "dwc-patch", str(out), store=linked, env=env)
    assert r.returncode == 0, r.stderr
    rows = {row["occurrenceID"]: row for row in csv.DictReader(open(out / "k.csv"))}
    # never replaces the publisher's ORCID (r:1, r:2); fills r:3, whose name the publisher
    # identified on r:2; the matcher's Klitgaard (r:4) waits for a person
    assert set(rows) == {"urn:r:3"} and rows["urn:r:3"]["recordedByID"] == KOHLER
    r = run_cli(
        "export-links", "--format", "dwc-patch", "--include-machine", str(out),
        store=linked, env=env,
    )  # fmt: skip
    rows = {row["occurrenceID"]: row for row in csv.DictReader(open(out / "k.csv"))}
    assert set(rows) == {"urn:r:3", "urn:r:4"}
    assert rows["urn:r:4"]["machineAccepted"] == KLITGAARD == rows["urn:r:4"]["recordedByID"]
    assert rows["urn:r:3"]["machineAccepted"] == ""
    # every row changes something: an ID column that was empty on the record is filled
    assert all(row["recordedByID"] for row in rows.values())

    # QuickStatements: M. Köhler's item already has the ORCID it was found by: nothing to add
    qs = tmp_path / "qs.txt"
    r = run_cli("export-links", "--format", "quickstatements", str(qs), store=linked, env=env)
    assert r.returncode == 0, r.stderr
    assert qs.read_text() == ""


def test_quickstatements_never_a_second_value_of_a_single_value_property(
    linked: StoreLocation, env: dict[str, str], tmp_path: Path
) -> None:
    """A person overrides the veto and accepts Matias Köhler's item for the name the publisher
    gave Alicia's ORCID: the export must not give his item a second ORCID."""
    ms = _matches(linked)
    veto = ms[("Matias Köhler", KOHLER)]
    r = run_cli(
        "review",
        "--accept",
        veto.iri,
        "--reviewer",
        "A. Curator",
        store=linked,
        env=env,  # type: ignore[attr-defined]
    )
    assert r.returncode == 0, r.stderr
    qs = tmp_path / "qs.txt"
    for extra in ([], ["--check-wikidata"]):
        r = run_cli(
            "export-links", "--format", "quickstatements", *extra, str(qs), store=linked, env=env
        )
        assert r.returncode == 0, r.stderr
        assert TORRES_ORCID not in qs.read_text(), extra
        assert f"Q60323010 P496 {TORRES_ORCID}: single-value property" in r.stderr, r.stderr


def test_unknown_agents_are_never_candidates(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """Over every real archive: agents typed col:UnknownAgent ('Anon.', 's.coll.', user numbers)
    are never gathered for linking, and no gathered agent's name names no one."""
    from collectomics.ingest import ingest_files

    store, minter = make_store(tmp_path / "real.db"), Minter()
    for k, path in enumerate(REAL_ARCHIVES):
        ingest_files(store, [REAL / path], minter=minter, dataset_id=f"real-{k}")
    unknown = store.query(
        "SELECT (COUNT(?a) AS ?n) WHERE { ?a a <https://w3id.org/collectomics/ontology#UnknownAgent> }"
    ).rows()
    assert int(next(iter(unknown))["n"].value) > 0  # type: ignore[union-attr]
    agents = gather_agents(store, minter)
    assert agents and not [a.name for a in agents.values() if is_unknown_agent(a.name)]


def test_observers_are_not_accepted_on_the_name_alone(
    tmp_path: Path, env: dict[str, str], make_store: Callable[..., Store]
) -> None:
    """iNaturalist observers 'Jason Grant' and 'Robert Archer' (HumanObservation records of
    plants) were accepted as the botanists J.R. Grant and R.H. Archer; as collectors of
    preserved plant specimens, with nothing against them, they still are."""
    from collectomics.ingest import ingest_files
    from collectomics.linking.service import ServiceSource, link
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient

    header = "occurrenceID\trecordedBy\teventDate\tkingdom\tbasisOfRecord\n"
    store, minter = make_store(), Minter()
    for basis in ("HUMAN_OBSERVATION", "PRESERVED_SPECIMEN"):
        path = tmp_path / f"{basis}.tsv"
        path.write_text(
            header
            + f"urn:{basis}:1\tJason Grant\t2019-04-02\tPlantae\t{basis}\n"
            + f"urn:{basis}:2\tRobert Archer\t2020-09-12\tPlantae\t{basis}\n",
            "utf-8",
        )
        ingest_files(store, [path], minter=minter, dataset_id=basis.lower())
    http = HttpClient(rate=0)
    client = WikidataClient(
        http, env["COLLECTOMICS_WIKIDATA_API_URL"], env["COLLECTOMICS_WIKIDATA_SPARQL_URL"]
    )
    try:
        link(store, minter, ServiceSource(client))
    finally:
        http.close()
    accepted = {
        (m.agent.split("/agent/")[1].split("/")[0], m.agent_name): m
        for m in read_matches(store, minter).values()
        if m.status == "accepted"
    }
    assert set(accepted) == {
        ("preserved_specimen", "Jason Grant"),
        ("preserved_specimen", "Robert Archer"),
    }, sorted(accepted)
    grant = accepted[("preserved_specimen", "Jason Grant")]
    assert grant.target == "http://www.wikidata.org/entity/Q5927145"
    assert "agrees on taxa" in grant.comment and grant.decided_by == "matcher"
