"""The reconciliation service: official 0.2 schemas, OpenRefine's request shape, matching quality
on the demo graph, and garbage input answered without a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from collectomics import reconcile as rec
from collectomics.config import load_settings
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.store import OxigraphStore
from collectomics.web import create_app

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

SCHEMAS = (
    Path(__file__).resolve().parents[2] / "shared" / "specs" / "reconciliation" / "0.2" / "schemas"
)
FORM = "application/x-www-form-urlencoded"


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


@pytest.fixture(scope="module")
def validate() -> Any:
    if not SCHEMAS.is_dir():
        pytest.skip(f"no schemas at {SCHEMAS}")
    registry = _registry()

    def check(name: str, instance: Any) -> None:
        schema = json.loads((SCHEMAS / name).read_text("utf-8"))
        jsonschema.Draft7Validator(schema, registry=registry).validate(instance)

    return check


@pytest.fixture(scope="module")
def demo() -> OxigraphStore:
    store = OxigraphStore()
    build_demo(store, Minter())
    return store


@pytest.fixture(scope="module")
def client(demo: OxigraphStore) -> Any:
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
    assert manifest["view"]["url"].endswith("/{{id}}")
    assert manifest["batchSize"] == 10


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
    r = client.get("/reconcile/suggest/property?prefix=birth")
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
    assert row["wikidata"] == [{"str": "Q2987664"}]
    assert row["ipni"] == [{"str": "2810-1"}]
    assert row["birthDate"] == [{"str": "1888"}]
    assert body["rows"]["person/nobody"]["wikidata"] == []

    r = client.get("/reconcile/preview?id=person/cesar-blanche")
    assert r.status_code == 200 and "Blanché" in r.get_data(as_text=True)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/reconcile/preview?id=<script>").status_code == 404


def test_preview_escapes_text(demo: OxigraphStore) -> None:
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
def test_known_names(
    demo: OxigraphStore, name: str, props: list, expected: str, match: Any
) -> None:
    answer = rec.reconcile(demo, {"q0": {"query": name, "type": "Person", "properties": props}})
    result = answer["q0"]["result"]
    assert result and result[0]["id"] == expected, result[:2]
    if match is not None:
        assert result[0]["match"] is match


def test_person_must_have_been_alive(demo: OxigraphStore) -> None:
    # Font Quer died in 1964: a 1990 collection cannot be his
    answer = rec.reconcile(
        demo, {"q0": {"query": "Font Quer", "properties": [{"pid": "collectingYear", "v": 1990}]}}
    )
    top = answer["q0"]["result"]
    assert not top or top[0]["id"] != "person/pius-font-quer" or top[0]["score"] <= 30
    assert not any(c["match"] for c in top)


def test_wrong_identifier_vetoes(demo: OxigraphStore) -> None:
    q = {"query": "Font Quer", "properties": [{"pid": "wikidata", "v": "Q1"}]}
    result = rec.reconcile(demo, {"q0": q})["q0"]["result"]
    assert all(not c["match"] for c in result)


def test_name_string_agents_are_the_fallback(demo: OxigraphStore) -> None:
    result = rec.reconcile(demo, {"q0": {"query": "Maria Bosch", "type": "Person"}})["q0"]["result"]
    assert result and result[0]["id"].startswith("agent/")
    # a linked person hides the agents that spell the same name
    result = rec.reconcile(demo, {"q0": {"query": "Joan Pedrol"}})["q0"]["result"]
    assert all(not c["id"].startswith("agent/") for c in result)


def test_queries_stand_alone(demo: OxigraphStore) -> None:
    one = rec.reconcile(demo, {"q0": {"query": "Font Quer"}})["q0"]
    batch = rec.reconcile(demo, {"q3": {"query": "Blanché"}, "q7": {"query": "Font Quer"}})
    assert batch["q7"] == one


def test_type_strict(demo: OxigraphStore) -> None:
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
