"""Linking from the CLI against the stand-ins: propose, review, survive re-ingest, export."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.linking import standin
from collectomics.linking.service import links_graph, read_matches
from collectomics.model import IRI
from collectomics.store import Store
from helpers import StoreLocation, run_cli

DATA = Path(__file__).resolve().parent / "data" / "linking"
SPECIMENS = DATA / "specimens.csv"
STATUS = "https://w3id.org/collectomics/status/"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    cache = tmp_path_factory.mktemp("cache")
    with (
        standin.running("wikidata", standin.load("wikidata", DATA)) as w,
        standin.running("orcid", standin.load("orcid", DATA)) as o,
    ):
        settings = {**w, **o, "linking_rate": "0", "linking_cache": str(cache)}
        yield {f"COLLECTOMICS_{k.upper()}": v for k, v in settings.items()}


def _review(store: StoreLocation, env: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    r = run_cli("review", "--all", "--json", store=store, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _by_name(listing: list[dict], name: str) -> dict:  # type: ignore[type-arg]
    return next(a for a in listing if a["name"] == name)


def test_link_review_reingest_and_export(
    tmp_path: Path, env: dict[str, str], store_location: StoreLocation
) -> None:
    store = store_location
    assert run_cli("ingest", str(SPECIMENS), "--dataset", "bcn", store=store).returncode == 0
    r = run_cli("link", "--dataset", "bcn", store=store, env=env)
    assert r.returncode == 0, r.stderr
    assert "matches proposed" in r.stdout

    listing = _review(store, env)
    cesar = _by_name(listing, "Cèsar Blanché")
    top = cesar["candidates"][0]
    assert top["label"] == "Cesar Blanché i Vergés" and top["status"] == "accepted"
    assert top["rule"] == "high-confidence rule"
    assert {f["name"] for f in top["features"]} >= {"family", "given", "alias", "dates"}
    # "C. Blanché" (initials only) waits for a human; a dead namesake is vetoed, with the reason
    initials = _by_name(listing, "C. Blanché")["candidates"]
    assert initials[0]["status"] == "proposed" and initials[0]["target"] == top["target"]
    assert any("after death" in c["rule"] for c in initials if c["status"] == "rejected")

    # a human accepts one match and rejects another
    accept = initials[0]["match"]
    ferrer = _by_name(listing, "R. Ferrer")["candidates"]
    wrong = next(c for c in ferrer if c["status"] == "proposed")
    r = run_cli(
        "review", "--accept", accept, "--reviewer", "0000-0002-1825-0097", store=store, env=env
    )
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "review",
        "--reject",
        wrong["match"],
        "--reviewer",
        "A. Curator",
        "--note",
        "not him",
        store=store,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert (
        run_cli("review", "--accept", accept, store=store, env=env).returncode == 2
    )  # no reviewer

    # the dataset is loaded again, and linked again: human decisions stand, a rejection is not re-proposed
    assert (
        run_cli("ingest", str(SPECIMENS), "--dataset", "bcn", "--replace", store=store).returncode
        == 0
    )
    assert run_cli("link", "--dataset", "bcn", store=store, env=env).returncode == 0
    with store.open() as s:
        minter = Minter()
        matches = read_matches(s, minter)
        assert matches[accept].status == "accepted"
        assert matches[accept].attributed_to == "https://orcid.org/0000-0002-1825-0097"
        assert matches[accept].justification == "ManualMappingCuration"
        rejected = matches[wrong["match"]]
        assert rejected.status == "rejected" and rejected.reviewer_name == "A. Curator"
        assert rejected.comment == "not him"
        # merged reversibly: both Blanché agents are schema:sameAs the item, in the links graph only
        same = s.query(
            "SELECT ?a ?t WHERE { GRAPH ?g { ?a <http://schema.org/sameAs> ?t } }",
            params={"t": IRI(top["target"])},
        ).rows()
        assert len(list(same)) >= 2
        assert str(links_graph(minter)) in s.graphs()
        assert not s.query(
            "ASK { GRAPH <https://w3id.org/collectomics/graph/bcn> { ?m a <https://w3id.org/collectomics/ontology#IdentityMatch> } }"
        ).boolean
    # undoing the acceptance undoes the merge
    r = run_cli("review", "--undo", accept, "--reviewer", "A. Curator", store=store, env=env)
    assert r.returncode == 0
    assert _by_name(_review(store, env), "C. Blanché")["candidates"][0]["status"] == "proposed"
    assert (
        run_cli(
            "review", "--accept", accept, "--reviewer", "A. Curator", store=store, env=env
        ).returncode
        == 0
    )

    # SSSOM: metadata block, then the column set; a rejection is a negated mapping
    out = tmp_path / "links.sssom.tsv"
    assert (
        run_cli("export-links", "--format", "sssom", str(out), store=store, env=env).returncode == 0
    )
    text = out.read_text("utf-8")
    meta = [line for line in text.splitlines() if line.startswith("#")]
    assert "# curie_map:" in meta and any(m.startswith("# mapping_set_id:") for m in meta)
    rows = list(
        csv.DictReader(
            io.StringIO("\n".join(x for x in text.splitlines() if not x.startswith("#"))),
            delimiter="\t",
        )
    )
    assert {
        "subject_id",
        "predicate_id",
        "object_id",
        "mapping_justification",
        "confidence",
    } <= set(rows[0])
    assert any(
        r["predicate_modifier"] == "Not" and r["comment"].startswith("rejected") for r in rows
    )
    assert all(re.fullmatch(r"[a-z]+:\S+", r["object_id"]) for r in rows)

    # Darwin Core patch: occurrenceID -> recordedByID in the written order
    patch_dir = tmp_path / "patch"
    assert (
        run_cli(
            "export-links", "--format", "dwc-patch", str(patch_dir), store=store, env=env
        ).returncode
        == 0
    )
    patch = list(csv.DictReader(open(patch_dir / "bcn.csv", encoding="utf-8")))
    by_occ = {p["occurrenceID"]: p for p in patch}
    # C. Blanché was accepted by a person; Cèsar Blanché (occ:1) only by the matcher: left out
    assert by_occ["urn:test:occ:3"]["recordedByID"] == top["target"]
    assert "urn:test:occ:1" not in by_occ and "machineAccepted" not in patch[0]
    r = run_cli(
        "export-links", "--format", "dwc-patch", "--include-machine", str(patch_dir),
        store=store, env=env,
    )  # fmt: skip
    assert r.returncode == 0 and "with machine-accepted links" in r.stderr
    patch = list(csv.DictReader(open(patch_dir / "bcn.csv", encoding="utf-8")))
    by_occ = {p["occurrenceID"]: p for p in patch}
    assert by_occ["urn:test:occ:1"]["recordedByID"].startswith(top["target"] + " | ")
    assert by_occ["urn:test:occ:1"]["machineAccepted"] == top["target"]
    assert by_occ["urn:test:occ:3"]["machineAccepted"] == ""  # the person's decision

    # QuickStatements: an accepted ORCID for an agent linked to an item adds P496 with evidence
    orcid_match = (
        next(c for c in cesar["candidates"] if c["target"].startswith("https://orcid.org/"))
        if any(c["target"].startswith("https://orcid.org/") for c in cesar["candidates"])
        else None
    )
    assert orcid_match is None  # the stand-in's ORCID records are not botanists
    qs = tmp_path / "qs.txt"
    assert (
        run_cli(
            "export-links", "--format", "quickstatements", str(qs), store=store, env=env
        ).returncode
        == 0
    )
    assert qs.read_text() == ""  # nothing to add yet: no agent has both an item and an ORCID iD


def test_quickstatements_add_missing_identifiers_with_evidence() -> None:
    from collectomics.linking.export import quickstatements
    from collectomics.linking.service import MatchRecord

    def rec(target: str, status: str = "accepted") -> MatchRecord:
        return MatchRecord(
            f"urn:agent/match/{target.rsplit('/', 1)[-1]}",
            "urn:agent",
            "B.B. Klitgaard",
            target,
            "",
            0.9,
            status,
            "https://orcid.org/0000-0002-1825-0097",
            "2026-11-25T00:00:00Z",
        )

    records = [
        rec("http://www.wikidata.org/entity/Q18986228"),
        rec("https://orcid.org/0000-0002-8509-0556"),
        rec("https://www.ipni.org/a/36375-1"),
        rec("https://orcid.org/0000-0000-0000-0001", "rejected"),
    ]
    lines = quickstatements(
        records, {"Q18986228": {"P586": {"36375-1"}}}, "2026-11-25T03:00:00Z"
    ).lines
    assert lines == [
        'Q18986228\tP496\t"0000-0002-8509-0556"\tS854\t"urn:agent/match/0000-0002-8509-0556"'
        "\tS813\t+2026-11-25T00:00:00Z/11"
    ]
    for (
        line
    ) in lines:  # QuickStatements V1: item, property, value, then source pairs, tab-separated
        cells = line.split("\t")
        assert re.fullmatch(r"Q\d+", cells[0]) and re.fullmatch(r"P\d+", cells[1])
        assert len(cells) % 2 == 1 and all(re.fullmatch(r"S\d+", c) for c in cells[3::2])


def test_offline_link_answers_from_the_cache(
    tmp_path: Path, env: dict[str, str], store_location: StoreLocation
) -> None:
    store = store_location
    assert run_cli("ingest", str(SPECIMENS), "--dataset", "bcn", store=store).returncode == 0
    cache = {**env, "COLLECTOMICS_LINKING_CACHE": str(tmp_path / "cache")}
    first = run_cli("link", store=store, env=cache)
    assert first.returncode == 0, first.stderr
    offline = run_cli("link", store=store, env={**cache, "COLLECTOMICS_LINKING_OFFLINE": "true"})
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout == first.stdout
    assert any(line.startswith("0 requests") for line in offline.stderr.splitlines())
    # a cold cache offline is an error with a clear message, not a request
    cold = {
        **cache,
        "COLLECTOMICS_LINKING_OFFLINE": "1",
        "COLLECTOMICS_LINKING_CACHE": str(tmp_path / "cold"),
    }
    r = run_cli("link", store=store, env=cold)
    assert r.returncode == 2 and "offline and no cached answer" in r.stderr
    listing = run_cli("review", store=store, env=cache)
    assert listing.returncode == 0 and "family name 'blanche' agrees" in listing.stdout


def test_co_collectors_already_linked_count(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """Julià Molero collected with Cèsar Blanché in one dataset; in another, once `J. Molero` is
    accepted as him, `C. Blanché` gains the co-collector feature for Cèsar Blanché."""
    from collectomics.ingest import ingest_files
    from collectomics.linking.service import ServiceSource, link, review
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient

    header = "institutionCode\tcatalogNumber\trecordedBy\teventDate\tcountryCode\n"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(header + "BCN\tA-1\tBlanché, Cèsar & Molero, Julià\t1983-06-14\tES\n", "utf-8")
    b.write_text(header + "BC\tB-1\tC. Blanché & J. Molero\t1984-06-14\tES\n", "utf-8")
    store, minter = make_store(), Minter()
    ingest_files(store, [a], minter=minter, dataset_id="a")
    ingest_files(store, [b], minter=minter, dataset_id="b")
    with standin.running("wikidata", standin.load("wikidata", DATA)) as urls:
        http = HttpClient(rate=0)
        source = ServiceSource(
            WikidataClient(http, urls["wikidata_api_url"], urls["wikidata_sparql_url"])
        )
        link(store, minter, source)
        matches = read_matches(store, minter)
        auto = {m.agent_name: m for m in matches.values() if m.status == "accepted"}
        assert set(auto) == {"Cèsar Blanché", "Julià Molero"}
        molero = next(
            m
            for m in matches.values()
            if m.agent_name == "J. Molero" and m.target == auto["Julià Molero"].target
        )
        review(store, minter, molero.iri, "accepted", "A. Curator")
        link(store, minter, source, dataset="b")
        matches = read_matches(store, minter)
    blanche = next(
        m
        for m in matches.values()
        if m.agent_name == "C. Blanché" and m.target == auto["Cèsar Blanché"].target
    )
    feature = next(f for f in blanche.features if f.name == "cocollectors")
    assert feature.value == 1.0, feature
    assert matches[molero.iri].status == "accepted" and matches[molero.iri].by_human


def test_publisher_identifier_is_chained_to_its_wikidata_item(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    from collectomics.ingest import ingest_files
    from collectomics.linking.service import ServiceSource, link
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient

    csv_file = tmp_path / "k.csv"
    csv_file.write_text(
        "institutionCode\tcatalogNumber\trecordedBy\trecordedByID\teventDate\n"
        "K\tK-1\tB.B. Klitgaard\turn:lsid:ipni.org:authors:36375-1\t1995-03-01\n",
        "utf-8",
    )
    store, minter = make_store(), Minter()
    ingest_files(store, [csv_file], minter=minter, dataset_id="k")
    with standin.running("wikidata", standin.load("wikidata", DATA)) as urls:
        client = WikidataClient(
            HttpClient(rate=0), urls["wikidata_api_url"], urls["wikidata_sparql_url"]
        )
        report = link(store, minter, ServiceSource(client))
    assert report.chained == 1
    (m,) = [m for m in read_matches(store, minter).values() if m.status == "accepted"]
    assert m.target == "http://www.wikidata.org/entity/Q18986228"
    assert m.justification == "MappingChaining" and "P586" in m.comment
    assert m.target_label == "Bente Bang Klitgaard"
