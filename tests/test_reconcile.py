"""The reconciliation service: official 0.2 schemas, OpenRefine's request shape, matching quality
on the demo graph, and garbage input answered without a 500."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from collectomics.analysis.network import materialise
from collectomics.config import load_settings
from collectomics.ingest.demo import build_demo
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.services import reconcile as rec
from collectomics.store import OxigraphStore, Store
from collectomics.web import create_app
from helpers import StoreLocation, new_store

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

SCHEMAS = Path(__file__).resolve().parent / "data" / "specs" / "reconciliation" / "0.2" / "schemas"
FORM = "application/x-www-form-urlencoded"
FIXTURE = Path(__file__).resolve().parent / "data" / "reconcile"


def _registry() -> Any:
    from referencing.jsonschema import DRAFT7

    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        contents = json.loads(path.read_text("utf-8"))
        resource = DRAFT7.create_resource(contents)
        resources.append((path.name, resource))
        if "$id" in contents:
            resources.append((contents["$id"], resource))
    return referencing.Registry().with_resources(resources)


def schema_check() -> Any:
    """check(schema file name, instance): validation against the official 0.2 schemas."""
    if not SCHEMAS.is_dir():
        pytest.skip(f"no schemas at {SCHEMAS}")
    registry = _registry()

    def check(name: str, instance: Any) -> None:
        schema = json.loads((SCHEMAS / name).read_text("utf-8"))
        jsonschema.Draft7Validator(schema, registry=registry).validate(instance)

    return check


@pytest.fixture(scope="module")
def validate() -> Any:
    return schema_check()


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    build_demo(store, Minter())
    return store


@pytest.fixture(scope="module")
def client(demo: Store) -> Any:
    app = create_app(load_settings({}, environ={}), store=demo)
    return app.test_client()


def _post(client: Any, queries: Any) -> Any:
    body = queries if isinstance(queries, str) else json.dumps(queries)
    return client.post("/reconcile", data=urlencode({"queries": body}), content_type=FORM)


# -- schemas ---------------------------------------------------------------------------------


def test_manifest_validates_and_has_cors(client: Any, validate: Any) -> None:
    r = client.get("/reconcile")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    manifest = r.get_json()
    validate("manifest.json", manifest)
    assert manifest["versions"] == ["0.2"]
    assert manifest["view"]["url"].endswith("/reconcile/view?id={{id}}")
    assert manifest["batchSize"] == 10
    assert manifest["defaultTypes"] == [{"id": "Person", "name": "Person"}]


def test_openrefine_request_shape(client: Any, validate: Any) -> None:
    """Form-encoded POST, q0..q9, type_strict "should", values as strings and {id, name}."""
    queries = {
        f"q{k}": {"query": name, "type": "Person", "type_strict": "should", "limit": 5}
        for k, name in enumerate(["Font Quer", "Blanché, C.", "Molero, Julià", "J. Pedrol"])
    }
    queries["q4"] = {
        "query": "Rovira",
        "type": "Person",
        "type_strict": "should",
        "properties": [{"pid": "wikidata", "v": {"id": "Q18924083", "name": "Anna Maria Rovira"}}],
    }
    queries["q5"] = {
        "query": "Pius Font",
        "type": "Person",
        "type_strict": "should",
        "properties": [{"pid": "birthYear", "v": "1888"}, {"pid": "deathYear", "v": 1964}],
    }
    queries["q6"] = {"query": "BCN-1935", "type": "Specimen", "type_strict": "should"}
    for k in range(7, 10):
        queries[f"q{k}"] = {"query": "nobody at all", "type": "Person", "type_strict": "should"}
    validate("reconciliation-query-batch.json", queries)
    r = _post(client, queries)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    answer = r.get_json()
    validate("reconciliation-result-batch.json", answer)
    assert set(answer) == set(queries)
    assert answer["q4"]["result"][0]["id"] == "person/anna-maria-rovira"
    assert answer["q4"]["result"][0]["match"] is True
    assert answer["q5"]["result"][0]["id"] == "person/pius-font-quer"
    assert answer["q6"]["result"][0]["match"] is True
    assert answer["q9"]["result"] == []
    for result in answer.values():
        scores = [c["score"] for c in result["result"]]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 100 for s in scores)
        assert all(c["features"] for c in result["result"])
    # GET ?queries= answers the same
    r = client.get("/reconcile?" + urlencode({"queries": json.dumps({"q0": queries["q0"]})}))
    assert r.get_json()["q0"] == answer["q0"]


def test_suggest_preview_extend_validate(client: Any, validate: Any) -> None:
    r = client.get("/reconcile/suggest/entity?prefix=blan")
    validate("suggest-entities-response.json", r.get_json())
    assert r.get_json()["result"][0]["id"] == "person/cesar-blanche"
    r = client.get("/reconcile/suggest/type?prefix=per")
    validate("suggest-types-response.json", r.get_json())
    assert [t["id"] for t in r.get_json()["result"]] == ["Person"]
    r = client.get("/reconcile/suggest/property?prefix=birth&type=Person")
    validate("suggest-properties-response.json", r.get_json())
    assert r.get_json()["result"][0]["id"] == "birthYear"
    assert r.headers["Access-Control-Allow-Origin"] == "*"

    r = client.get("/reconcile/properties?type=Person")
    validate("data-extension-property-proposal.json", r.get_json())
    ids = {p["id"] for p in r.get_json()["properties"]}
    assert {"wikidata", "orcid", "ipni", "birthDate", "deathDate", "specimenCount"} <= ids

    ext = {
        "ids": ["person/pius-font-quer", "person/nobody"],
        "properties": [{"id": "wikidata"}, {"id": "ipni"}, {"id": "birthDate"}, {"id": "nope"}],
    }
    validate("data-extension-query.json", ext)
    r = client.post("/reconcile", data=urlencode({"extend": json.dumps(ext)}), content_type=FORM)
    body = r.get_json()
    validate("data-extension-response.json", body)
    row = body["rows"]["person/pius-font-quer"]
    assert row["wikidata"] == [{"id": "Q2987664", "name": "Pius Font i Quer"}]
    assert row["ipni"] == [{"str": "2810-1"}]
    assert row["birthDate"] == [{"str": "1888"}]  # the graph holds the year only
    assert body["rows"]["person/nobody"]["wikidata"] == []

    r = client.get("/reconcile/preview?id=person/cesar-blanche")
    assert r.status_code == 200 and "Blanché" in r.get_data(as_text=True)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/reconcile/preview?id=<script>").status_code == 404


def test_preview_escapes_text(demo: Store) -> None:
    ix = rec.index_for(demo)
    entity = ix.get("person/cesar-blanche")
    assert entity is not None
    saved = entity.name
    entity.name = "<script>alert(1)</script>"
    try:
        card = rec.preview(demo, "person/cesar-blanche")
    finally:
        entity.name = saved
    assert card is not None and "<script>" not in card and "&lt;script&gt;" in card


# -- matching quality ------------------------------------------------------------------------

KNOWN = [
    # (query, properties, expected top id, expected match)
    ("Pius Font i Quer", [], "person/pius-font-quer", True),
    ("Font Quer", [], "person/pius-font-quer", True),
    ("Blanché, C.", [], "person/cesar-blanche", True),
    ("C. Blanché", [], "person/cesar-blanche", True),
    ("Molero, Julià", [], "person/julia-molero", True),
    ("Joan Pedrol", [], "person/joan-pedrol", True),
    ("J. Pedrol", [], "person/joan-pedrol", None),
    ("Anna Maria Rovira", [], "person/anna-maria-rovira", True),
    ("Blanche", [{"pid": "abbreviation", "v": "C.Blanché"}], "person/cesar-blanche", True),
    ("Pedrol", [{"pid": "collectingYear", "v": "1990"}], "person/joan-pedrol", None),
]


@pytest.mark.parametrize(("name", "props", "expected", "match"), KNOWN)
def test_known_names(demo: Store, name: str, props: list, expected: str, match: Any) -> None:
    answer = rec.reconcile(demo, {"q0": {"query": name, "type": "Person", "properties": props}})
    result = answer["q0"]["result"]
    assert result and result[0]["id"] == expected, result[:2]
    if match is not None:
        assert result[0]["match"] is match


def test_person_must_have_been_alive(demo: Store) -> None:
    # Font Quer died in 1964: a 1990 collection cannot be his
    answer = rec.reconcile(
        demo, {"q0": {"query": "Font Quer", "properties": [{"pid": "collectingYear", "v": 1990}]}}
    )
    top = answer["q0"]["result"]
    assert not top or top[0]["id"] != "person/pius-font-quer" or top[0]["score"] <= 30
    assert not any(c["match"] for c in top)


def test_wrong_identifier_vetoes(demo: Store) -> None:
    q = {"query": "Font Quer", "properties": [{"pid": "wikidata", "v": "Q1"}]}
    result = rec.reconcile(demo, {"q0": q})["q0"]["result"]
    assert all(not c["match"] for c in result)


def test_name_string_agents_are_the_fallback(demo: Store) -> None:
    result = rec.reconcile(demo, {"q0": {"query": "Maria Bosch", "type": "Person"}})["q0"]["result"]
    assert result and result[0]["id"].startswith("agent/")
    # a linked person hides the agents that spell the same name
    result = rec.reconcile(demo, {"q0": {"query": "Joan Pedrol"}})["q0"]["result"]
    assert all(not c["id"].startswith("agent/") for c in result)


def test_queries_stand_alone(demo: Store) -> None:
    one = rec.reconcile(demo, {"q0": {"query": "Font Quer"}})["q0"]
    batch = rec.reconcile(demo, {"q3": {"query": "Blanché"}, "q7": {"query": "Font Quer"}})
    assert batch["q7"] == one


def test_type_strict(demo: Store) -> None:
    q = {"query": "Font Quer", "type": "Ship"}
    assert rec.reconcile(demo, {"q0": {**q, "type_strict": "all"}})["q0"]["result"] == []
    assert rec.reconcile(demo, {"q0": {**q, "type_strict": "should"}})["q0"]["result"]
    q = {"query": "BCN-1935", "type": "Person", "type_strict": "all"}
    assert rec.reconcile(demo, {"q0": q})["q0"]["result"] == []


# -- garbage ---------------------------------------------------------------------------------

GARBAGE = [
    "{not json",
    "[]",
    "null",
    '"q0"',
    json.dumps({"q0": "Font Quer"}),
    json.dumps({"q0": {"query": 42}}),
    json.dumps({"q0": {"query": "Font Quer", "type": {"id": 3}}}),
    json.dumps({"q0": {"query": "Font Quer", "type": "Unknown", "type_strict": "any"}}),
    json.dumps({"q0": {"query": "Font Quer", "properties": [{"pid": "nope", "v": "x"}]}}),
    json.dumps({"q0": {"query": "Font Quer", "properties": "birth"}}),
    json.dumps({"q0": {"query": "Font Quer", "properties": [{"pid": "birthYear", "v": None}]}}),
    json.dumps({"q0": {"query": "Font Quer", "limit": "ten"}}),
    json.dumps({"q0": {"query": "\x00\ud800"}}),
    "[" * 100000,
]


@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_answered(client: Any, validate: Any, body: str) -> None:
    r = _post(client, body)
    assert r.status_code == 200
    answer = r.get_json()
    assert isinstance(answer, dict)
    validate("reconciliation-result-batch.json", answer)


def test_one_megabyte_query(client: Any) -> None:
    huge = json.dumps({"q0": {"query": "Font Quer " * 110000}})
    assert len(huge) > 1_000_000
    r = _post(client, huge)
    assert r.status_code < 500
    assert isinstance(r.get_json(), dict)
    r = _post(client, json.dumps({"q0": {"query": "x" * 900_000}}))
    assert r.status_code == 200 and r.get_json() == {"q0": {"result": []}}


def test_bad_requests_elsewhere(client: Any) -> None:
    r = client.post("/reconcile", data="\xff\xfe", content_type=FORM)
    assert r.status_code == 200  # no queries: the manifest
    assert client.get("/reconcile/properties?limit=x").status_code == 200
    assert client.get("/reconcile/suggest/entity").get_json() == {"result": []}
    r = client.options("/reconcile")
    assert r.status_code < 300 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/reconcile?callback=cb").get_data(as_text=True).startswith("cb(")


# -- the fixture collection: types, properties, extension ------------------------------------


def fixture_store(store: Store) -> Store:
    """tests/data/reconcile (people linked to invented specimens by recordedByID QIDs), loaded
    into ``store``."""
    files = (FIXTURE / "people.csv", FIXTURE / "specimens.csv")
    ingest_dataset(store, DatasetSpec("reconcile-fixture", files), minter=Minter())
    return store


@pytest.fixture(scope="module")
def collection(request: pytest.FixtureRequest) -> Store:
    return fixture_store(new_store(request))


@pytest.fixture(scope="module")
def collection_facets(request: pytest.FixtureRequest) -> Store:
    store = fixture_store(new_store(request))
    materialise(store, Minter())
    return store


def expected_id(text: str) -> str:
    """An id of known.csv: as written, or minted from a catalogue number / occurrenceID."""
    m = Minter()
    kind, _, rest = text.partition(":")
    if kind == "catalog":  # specimens keyed within the fixture's dataset
        return m.specimen("reconcile-fixture", "catalog", *rest.split("/"))[len(m.base) :]
    if kind == "occurrence":
        return m.specimen("reconcile-fixture", rest)[len(m.base) :]
    if kind == "organization":
        return m.mint("organization", rest)[len(m.base) :]
    return text


KNOWN_TABLE = list(csv.DictReader((FIXTURE / "known.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("row", KNOWN_TABLE, ids=[r["query"] for r in KNOWN_TABLE])
def test_known_answers_table(collection: Store, row: dict[str, str]) -> None:
    q: dict[str, Any] = {"query": row["query"], "type_strict": "should"}
    if row["type"]:
        q["type"] = row["type"]
    if row["properties"]:
        q["properties"] = json.loads(row["properties"])
    result = rec.reconcile(collection, {"q0": q})["q0"]["result"]
    assert result, "no candidate"
    top = result[0]
    if row["expected"].startswith("agent:"):
        assert top["id"].startswith("agent/") and top["name"] == row["expected"][6:], result[:2]
    else:
        assert top["id"] == expected_id(row["expected"]), result[:2]
    if row["match"] == "true":
        assert top["match"] is True, result[:2]
    elif row["match"] == "false":  # proposed first, never auto-matched (a bare surname)
        assert top["match"] is False, result[:2]
    assert all(not c["match"] for c in result[1:])


def test_place_and_taxon_features(collection: Store) -> None:
    def top(props: list[dict[str, Any]]) -> dict[str, Any]:
        q = {"query": "Hooker", "type": "Person", "properties": props}
        return rec.reconcile(collection, {"q0": q})["q0"]["result"][0]

    plain = top([])
    india = top([{"pid": "country", "v": "IN"}])
    assert india["id"] == "person/joseph-dalton-hooker"
    assert {"id": "place_fit", "value": 1.0} in india["features"]
    assert india["score"] > plain["score"]
    for value in ("India", "in", "Q668", "http://www.wikidata.org/entity/Q668"):
        assert top([{"pid": "country", "v": value}])["score"] == india["score"], value
    # a family he never collected lowers the score; an unknown country name is ignored
    ferns = top([{"pid": "family", "v": "Polypodiaceae"}])
    assert {"id": "taxon_fit", "value": 0.0} in ferns["features"]
    assert top([{"pid": "country", "v": "Atlantis"}])["score"] == plain["score"]


def test_types_institution_and_document(demo: Store, validate: Any) -> None:
    q = {
        "q0": {"query": "JBB", "type": "Institution", "type_strict": "should"},
        "q1": {"query": "BGJBB", "type": "Collection"},
        "q2": {"query": "Blanché notebook", "type": "Document"},
        "q3": {"query": "blanche-field-notebook-1983", "type": "Document"},
        "q4": {"query": "Demo Herbarium", "type": "Institution"},
        "q5": {"query": "JBB", "type": "Document", "type_strict": "all"},
    }
    answer = rec.reconcile(demo, q)
    validate("reconciliation-result-batch.json", answer)
    assert answer["q0"]["result"][0]["id"] == "institution/JBB"
    assert answer["q0"]["result"][0]["type"] == [
        {"id": "Institution", "name": "Institution/Collection"}
    ]
    assert answer["q1"]["result"][0]["id"] == "institution/JBB/collection/BGJBB"
    assert answer["q2"]["result"][0]["id"] == "document/blanche-field-notebook-1983"
    assert answer["q3"]["result"][0]["match"] is True
    assert answer["q4"]["result"][0]["id"].startswith("organization/demo-herbarium")
    assert answer["q5"]["result"] == []
    # without a type, a catalogue number falls through people to specimens
    untyped = rec.reconcile(demo, {"q0": {"query": "BCN-1935"}})["q0"]["result"]
    assert untyped[0]["type"] == [{"id": "Specimen", "name": "Specimen"}]


def test_a_gbif_record_is_found_by_its_gbif_key(demo: Store) -> None:
    """A GBIF record's gbifID (the graph holds it as the record's gbif.org page) finds it: as
    ``gbif:N``, as the bare number, or as GBIF writes it."""
    queries = {
        "q0": {"query": "gbif:1439645919", "type": "Specimen"},
        "q1": {"query": "1439645919", "type": "Specimen"},
        "q2": {"query": "GBIF 1439645919"},
    }
    for answer in rec.reconcile(demo, queries).values():
        top = answer["result"][0]
        assert (top["id"], top["match"]) == ("specimen/gbif/1439645919", True)


def test_suggest_preview_view_new_types(client: Any, validate: Any) -> None:
    r = client.get("/reconcile/suggest/entity?prefix=jb&type=Institution")
    validate("suggest-entities-response.json", r.get_json())
    ids = [x["id"] for x in r.get_json()["result"]]
    assert ids[:2] == ["institution/JBB", "institution/JBB/collection/BGJBB"]
    r = client.get("/reconcile/suggest/entity?prefix=field%20note&type=Document")
    assert {x["id"] for x in r.get_json()["result"]} >= {"document/blanche-field-notebook-1983"}
    r = client.get("/reconcile/suggest/entity?prefix=bcn-193&type=Specimen")
    validate("suggest-entities-response.json", r.get_json())
    names = [x["name"] for x in r.get_json()["result"]]
    assert names and all(n.startswith("BCN-193") for n in names)
    r = client.get("/reconcile/suggest/type?prefix=inst")
    validate("suggest-types-response.json", r.get_json())
    assert [t["id"] for t in r.get_json()["result"]] == ["Institution"]
    r = client.get("/reconcile/suggest/property?prefix=coun&type=Person")
    # citizenship through its alias countryOfCitizenship
    assert [p["id"] for p in r.get_json()["result"]] == ["country", "citizenship"]
    card = client.get("/reconcile/preview?id=institution/JBB").get_data(as_text=True)
    assert "JBB" in card and "6 specimens" in card
    card = client.get("/reconcile/preview?id=document/blanche-field-notebook-1983")
    assert card.status_code == 200 and "Field notebook" in card.get_data(as_text=True)
    # view: graph entities redirect to their page; a code-only institution has its own page
    r = client.get("/reconcile/view?id=person/cesar-blanche")
    assert r.status_code == 303 and r.headers["Location"].endswith("/person/cesar-blanche")
    assert client.get(r.headers["Location"]).status_code == 200
    r = client.get("/reconcile/view?id=document/blanche-field-notebook-1983")
    assert r.status_code == 303
    r = client.get("/reconcile/view?id=institution/JBB")
    assert r.status_code == 200 and "BGJBB" in r.get_data(as_text=True)
    assert client.get("/reconcile/view?id=nothing/here").status_code == 404
    r = client.get("/reconcile/properties?type=Institution")
    validate("data-extension-property-proposal.json", r.get_json())
    assert r.get_json()["type"] == "Institution"


EXTENDED = ["firstYear", "lastYear", "countries", "coCollectors", "specimenCount"]


@pytest.mark.parametrize("facets", [False, True], ids=["raw", "materialised"])
def test_extension_collecting_properties(
    collection: Store, collection_facets: Store, validate: Any, facets: bool
) -> None:
    store = collection_facets if facets else collection
    assert rec.index_for(store).facets is facets
    ids = ["person/joseph-dalton-hooker", "person/richard-spruce", "person/john-smith-dalry"]
    request = {"ids": ids, "properties": [{"id": p} for p in EXTENDED]}
    validate("data-extension-query.json", request)
    body = rec.extend(store, json.dumps(request))
    validate("data-extension-response.json", body)
    hooker = body["rows"]["person/joseph-dalton-hooker"]
    assert hooker["firstYear"] == [{"int": 1849}] and hooker["lastYear"] == [{"int": 1850}]
    assert hooker["countries"] == [{"id": "Q668", "name": "India"}]
    assert hooker["specimenCount"] == [{"int": 3}]
    assert [c["name"] for c in hooker["coCollectors"]] == ["T. Thomson"]
    assert hooker["coCollectors"][0]["id"].startswith("agent/")
    spruce = body["rows"]["person/richard-spruce"]
    assert spruce["countries"] == [
        {"id": "Q155", "name": "Brazil"},
        {"id": "Q736", "name": "Ecuador"},
    ]
    assert spruce["coCollectors"] == []
    dalry = body["rows"]["person/john-smith-dalry"]
    assert dalry["specimenCount"] == [{"int": 0}] and dalry["firstYear"] == []
    meta = {m["id"]: m for m in body["meta"]}
    assert meta["coCollectors"]["type"]["id"] == "Person"


def test_index_is_built_once_per_version(
    make_location: Callable[[str], StoreLocation], make_store: Callable[..., Store]
) -> None:
    location = make_location("store")
    fixture_store(location.open()).close()
    handle = location.open(read_only=True)
    first = rec.index_for(handle)
    assert rec.index_for(handle) is first  # the same version: the same index
    writable = make_store()
    build_demo(writable, Minter())
    before = rec.index_for(writable)
    assert rec.index_for(writable) is before
    assert not rec.reconcile(writable, {"q0": {"query": "Hooker"}})["q0"]["result"]
    ingest_dataset(
        writable, DatasetSpec("more", (FIXTURE / "people.csv",)), minter=Minter(), replace=True
    )
    after = rec.index_for(writable)
    assert after is not before
    assert rec.reconcile(writable, {"q0": {"query": "Hooker"}})["q0"]["result"]


def test_shortlist_keeps_the_right_person(tmp_path: Path, make_store: Callable[..., Store]) -> None:
    """Among many people of one family name, the pre-score must bring the one whose
    initials fit into the short list that the matcher scores."""
    rows = ["person_id,name,given_name,family_name"]
    rows += [
        f"w{k},{g} Wang,{g},Wang"
        for k, g in enumerate(
            f"{a}{b} {c}" for a in "ABCDEFGH" for b in "aeiou" for c in ("Ming", "Li", "Hua")
        )
    ]
    rows.append("zw,Zhi Wei Wang,Zhi Wei,Wang")
    store = make_store()
    data = "\n".join(rows).encode("utf-8")
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    ingest_dataset(store, DatasetSpec("wangs", (path,)), minter=Minter())
    assert len(rows) - 1 > rec.SHORTLIST * 5
    for text in ("Wang, Z.W.", "Z. W. Wang", "Wang Z.W.", "Zhi Wei Wang"):
        result = rec.reconcile(store, {"q0": {"query": text}})["q0"]["result"]
        assert result and result[0]["id"] == "person/zw", (text, result[:2])


def test_a_failing_store_still_gets_a_well_formed_answer(validate: Any) -> None:
    from collectomics.errors import StoreError

    class Broken(OxigraphStore):
        def query(self, *args: Any, **kwargs: Any) -> Any:
            raise StoreError("the disk is gone")

    answer = rec.reconcile(Broken(), {"q0": {"query": "Hooker"}, "q1": {"query": "Gray"}})
    validate("reconciliation-result-batch.json", answer)
    assert answer == {"q0": {"result": []}, "q1": {"result": []}}


def test_an_organisation_named_as_collector_is_no_person(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """Organisations in recordedBy ('Botanical Survey of India', 'SEINet Team', 'INB') were
    name-string agents, so reconciliation answered them with a Person; they are organisations
    now, found as institutions, and a person named India or Team is not proposed for them."""
    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,name,given_name,family_name\n"
        "india,Survey India,Survey,India\nteam,Seinet Team,Seinet,Team\n",
        encoding="utf-8",
    )
    specimens = tmp_path / "specimens.csv"
    orgs = ["Botanical Survey of India", "SEINet Team", "INB", "Acme Seeds Inc."]
    rows = ["occurrenceID,basisOfRecord,scientificName,year,recordedBy"]
    rows += [f"urn:org:{n},PreservedSpecimen,Bufo,1950,{org}" for n, org in enumerate(orgs)]
    rows.append("urn:org:p,PreservedSpecimen,Bufo,1950,J. Smith & Staff of the Museum")
    specimens.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = make_store(tmp_path / "store")  # on disk
    ingest_dataset(store, DatasetSpec("orgs", (people, specimens)), minter=Minter())

    def answer(text: str, kind: str | None = None) -> list[dict[str, Any]]:
        q: dict[str, Any] = {"query": text}
        if kind:
            q["type"] = kind
        return rec.reconcile(store, {"q0": q})["q0"]["result"]

    for org in [*orgs, "Staff of the Museum"]:
        assert answer(org, "Person") == [], org
        untyped = answer(org)
        assert not [c for c in untyped if c["type"][0]["id"] == "Person"], (org, untyped)
        assert untyped and untyped[0]["name"] == org, (org, untyped)  # the organisation itself
        assert untyped[0]["type"][0]["id"] == "Institution", untyped[0]
    assert [c["name"] for c in answer("J. Smith", "Person")][:1] == ["J. Smith"]
    assert answer("India", "Person")[0]["id"] == "person/india"  # the people are there


def test_placeholders_find_no_one_and_other_scripts_are_found(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """'Anon.' names no one: it was answered with Sebastián Añón (folded 'anon'). A Cyrillic
    name is found by its own letters and by their transliteration; Ø, Æ and Ł are kept."""
    rows = [
        "person_id,name,given_name,family_name",
        "anon,Sebastián Añón,Sebastián,Añón",
        "panina,Ольга Панина,Ольга,Панина",
        "ogle,Henrik Øgle,Henrik,Øgle",
        "lukas,Jan Łukasiewicz,Jan,Łukasiewicz",
    ]
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    store = make_store()
    ingest_dataset(store, DatasetSpec("scripts", (path,)), minter=Minter())

    def top(text: str) -> str | None:
        result = rec.reconcile(store, {"q0": {"query": text}})["q0"]["result"]
        people = [c for c in result if c["id"].startswith("person/")]
        return people[0]["id"] if people else None

    assert top("Añón") == "person/anon"  # the person is there to be found
    for placeholder in ("Anon.", "anon", "s.coll.", "?", "[no agent data]"):
        assert top(placeholder) is None, placeholder
        typed = {"q0": {"query": placeholder, "type": "Person"}}
        assert rec.reconcile(store, typed)["q0"]["result"] == [], placeholder
    for text in ("Ольга Панина", "Olga Panina", "Panina, O."):
        assert top(text) == "person/panina", text
    assert top("Ogle, H.") == "person/ogle"
    assert top("Lukasiewicz J.") == "person/lukas"
