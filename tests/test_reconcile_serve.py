"""The reconciliation service through the real `collectomics serve` on 127.0.0.1, spoken to the
way OpenRefine 3.6 does: a form-encoded POST of ``queries`` with q0..q9, ``type_strict:
"should"``, property values as strings and as ``{id, name}``; then garbage, which must get a
well-formed answer and never a 500. Every answer is checked against the official schemas."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from helpers import StoreLocation, build_demo_into, new_location, run_cli, start_serve
from test_reconcile import FIXTURE, expected_id, schema_check

jsonschema = pytest.importorskip("jsonschema")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pre-fork server"),
]

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def validate() -> Any:
    return schema_check()


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`collectomics serve` over the demo graph plus the reconciliation fixture collection."""
    workdir = tmp_path_factory.mktemp("reconcile-serve")
    store = new_location(request, workdir / "collectomics-demo.db")
    build_demo_into(store, workdir)
    if not store.remote:
        (workdir / "collectomics-demo.db").rename(workdir / "s.db")
        store = StoreLocation(str(workdir / "s.db"))
    files = [str(FIXTURE / "people.csv"), str(FIXTURE / "specimens.csv")]
    r = run_cli("ingest", *files, "--dataset", "reconcile-fixture", store=store)
    assert r.returncode == 0, r.stderr
    base, proc = start_serve(store, workdir, {"COLLECTOMICS_WORKERS": "2"})
    yield base + "/reconcile"
    proc.terminate()
    _, errors = proc.communicate(timeout=30)
    assert "Traceback" not in errors, errors


def post(url: str, **fields: str) -> requests.Response:
    return requests.post(url, data=fields, headers=FORM, timeout=60)


def test_openrefine_batch(service: str, validate: Any) -> None:
    manifest = requests.get(service, timeout=30).json()
    validate("manifest.json", manifest)
    assert manifest["batchSize"] == 10
    names = [
        ("Hooker, J.D.", []),
        ("Hook.f.", []),
        ("Hooker", [{"pid": "country", "v": {"id": "Q668", "name": "India"}}]),
        ("J. Smith", [{"pid": "family", "v": "Polypodiaceae"}]),
        ("J. Smith", [{"pid": "collectingYear", "v": "1795"}, {"pid": "country", "v": "GB"}]),
        ("Gray", [{"pid": "wikidata", "v": {"id": "Q347356", "name": "Asa Gray"}}]),
        ("George Bentham", [{"pid": "deathYear", "v": "1884"}]),
        ("Font Quer", [{"pid": "birthYear", "v": 1888}]),
        ("Blanché, C.", []),
        ("Nobody Whatsoever", []),
    ]
    queries = {
        f"q{k}": {"query": text, "type": "Person", "type_strict": "should", "properties": props}
        for k, (text, props) in enumerate(names)
    }
    validate("reconciliation-query-batch.json", queries)
    r = post(service, queries=json.dumps(queries))
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    answer = r.json()
    validate("reconciliation-result-batch.json", answer)
    assert set(answer) == set(queries)
    top = {k: (v["result"][0]["id"] if v["result"] else None) for k, v in answer.items()}
    assert top == {
        "q0": "person/joseph-dalton-hooker",
        "q1": "person/joseph-dalton-hooker",
        "q2": "person/joseph-dalton-hooker",
        "q3": "person/john-smith",
        "q4": "person/james-edward-smith",
        "q5": "person/asa-gray",
        "q6": "person/george-bentham",
        "q7": "person/pius-font-quer",
        "q8": "person/cesar-blanche",
        "q9": None,
    }
    assert answer["q5"]["result"][0]["match"] is True
    assert {"id": "place_fit", "value": 1.0} in answer["q2"]["result"][0]["features"]
    # the same batch again (another worker process may answer): the same answer
    assert post(service, queries=json.dumps(queries)).json() == answer


def test_other_types_suggest_preview_view_extend(service: str, validate: Any) -> None:
    queries = {
        "q0": {"query": "E00123456", "type": "Specimen", "type_strict": "should"},
        "q1": {"query": "BM000521570", "type": "Specimen", "type_strict": "should"},
        "q2": {"query": "K", "type": "Institution", "type_strict": "should"},
        "q3": {"query": "Field notebook Font Quer", "type": "Document", "type_strict": "should"},
    }
    answer = post(service, queries=json.dumps(queries)).json()
    validate("reconciliation-result-batch.json", answer)
    assert answer["q0"]["result"][0]["id"] == expected_id(
        "occurrence:http://data.rbge.org.uk/herb/E00123456"
    )
    assert answer["q1"]["result"][0]["id"] == expected_id("catalog:BM/BM/521570")
    assert answer["q2"]["result"][0]["id"] == "institution/K"
    assert answer["q3"]["result"][0]["id"].startswith("document/")

    r = requests.get(service + "/suggest/entity", params={"prefix": "hook"}, timeout=30)
    validate("suggest-entities-response.json", r.json())
    assert r.json()["result"][0]["id"] in {
        "person/joseph-dalton-hooker",
        "person/william-jackson-hooker",
    }
    r = requests.get(service + "/preview", params={"id": "institution/K"}, timeout=30)
    assert r.status_code == 200 and "K" in r.text
    r = requests.get(
        service + "/view", params={"id": "person/asa-gray"}, timeout=30, allow_redirects=False
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/person/asa-gray")

    ext = {
        "ids": ["person/joseph-dalton-hooker", "person/nobody"],
        "properties": [{"id": p} for p in ("wikidata", "firstYear", "countries", "coCollectors")],
    }
    body = post(service, extend=json.dumps(ext)).json()
    validate("data-extension-response.json", body)
    row = body["rows"]["person/joseph-dalton-hooker"]
    assert row["wikidata"] == [{"id": "Q157501", "name": "Joseph Dalton Hooker"}]
    assert row["firstYear"] == [{"int": 1849}]
    assert row["countries"] == [{"id": "Q668", "name": "India"}]
    assert [c["name"] for c in row["coCollectors"]] == ["T. Thomson"]
    assert body["rows"]["person/nobody"] == {p["id"]: [] for p in ext["properties"]}


def test_openrefine_extension_dialog(service: str, validate: Any) -> None:
    """ "Add columns from reconciled values" as OpenRefine 3.6 drives it: the proposals for the
    column's type, the property suggest without a type (the reconciliation dialog sends one and
    gets query properties), then ``extend``: columns named as proposed, entity values as
    reconciled entities (ours, or Wikidata items with the service that holds them)."""
    r = requests.get(service + "/properties", params={"type": "Person"}, timeout=30)
    validate("data-extension-property-proposal.json", r.json())
    assert r.json()["type"] == "Person"
    names = {p["id"]: p["name"] for p in r.json()["properties"]}
    suggest = service + "/suggest/property"
    found = requests.get(suggest, params={"prefix": "first", "scoring": "schema"}, timeout=30)
    validate("suggest-properties-response.json", found.json())
    assert [p["id"] for p in found.json()["result"]] == ["firstYear"]
    query = {"prefix": "birth", "scoring": "schema", "type": "Person"}
    assert requests.get(suggest, params=query, timeout=30).json()["result"][0]["id"] == "birthYear"
    pids = ["wikidata", "countries", "firstYear", "birthDate", "affiliations", "coCollectors"]
    ext = {"ids": ["person/joseph-dalton-hooker", "person/richard-spruce"],
           "properties": [{"id": p} for p in pids]}  # fmt: skip
    validate("data-extension-query.json", ext)
    body = post(service, extend=json.dumps(ext)).json()
    validate("data-extension-response.json", body)
    assert [(m["id"], m["name"]) for m in body["meta"]] == [(p, names[p]) for p in pids]
    meta = {m["id"]: m for m in body["meta"]}
    assert meta["countries"]["type"]["id"] == "Q6256" and meta["wikidata"]["type"]["id"] == "Q5"
    assert meta["countries"]["service"].startswith("https://")
    assert meta["affiliations"]["type"]["id"] == "Institution"
    spruce = body["rows"]["person/richard-spruce"]
    assert spruce["countries"] == [
        {"id": "Q155", "name": "Brazil"},
        {"id": "Q736", "name": "Ecuador"},
    ]
    hooker = body["rows"]["person/joseph-dalton-hooker"]
    assert hooker["birthDate"] == [{"str": "1817"}]  # the graph holds the year only
    [kew] = hooker["affiliations"]
    assert kew["name"] == "Royal Botanic Gardens, Kew"
    assert requests.get(service + "/preview", params={"id": kew["id"]}, timeout=30).ok


GARBAGE = [
    # (the form field, whether candidates may still come back)
    ("{not json", False),
    ("", False),
    ("[1, 2]", False),
    (json.dumps({"q0": {"query": "Hooker", "type": "Spaceship", "type_strict": "all"}}), False),
    (json.dumps({"q0": {"query": ["Hooker"], "type": 7, "limit": -3}}), False),
    (json.dumps({"q0": {"query": "\ud800\x00"}}), False),
    ("[" * 50000, False),
    # unknown or unreadable properties are ignored: the name is still searched
    (json.dumps({"q0": {"query": "Hooker", "properties": [{"pid": "shoeSize", "v": "42"}]}}), True),
    (
        json.dumps({"q0": {"query": "Hooker", "properties": [{"pid": "country", "v": {"x": 1}}]}}),
        True,
    ),
    (json.dumps({"q0": {"query": "Hooker", "type": "Spaceship", "type_strict": "should"}}), True),
]


@pytest.mark.parametrize(("body", "found"), GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gets_a_well_formed_answer(
    service: str, validate: Any, body: str, found: bool
) -> None:
    r = post(service, queries=body)
    assert r.status_code == 200, r.text[:200]
    answer = r.json()
    validate("reconciliation-result-batch.json", answer)
    results = [c for v in answer.values() for c in v["result"]]
    assert bool(results) is found


def test_one_megabyte_query(service: str, validate: Any) -> None:
    text = "Hooker " * 140_000  # ~1 MB of query text, inside max_request_bytes once encoded
    r = post(service, queries=json.dumps({"q0": {"query": text, "type": "Person"}}))
    assert r.status_code == 200
    validate("reconciliation-result-batch.json", r.json())
    # over max_request_bytes: refused, but not with a 500
    r = post(service, queries=json.dumps({"q0": {"query": "x" * 1_200_000}}))
    assert 400 <= r.status_code < 500


def test_unknown_ids_and_ids_that_are_not_ours(service: str) -> None:
    for ident in ("", "../../etc/passwd", "http://example.org/x", "<script>"):
        r = requests.get(service + "/preview", params={"id": ident}, timeout=30)
        assert r.status_code == 404
        r = requests.get(service + "/view", params={"id": ident}, timeout=30)
        assert r.status_code == 404
        r = requests.get(service + "/flyout/entity", params={"id": ident}, timeout=30)
        assert r.status_code == 404 and r.json()["error"] == "unknown id"


def test_search_for_match_as_the_suggest_widget_asks(service: str, validate: Any) -> None:
    """What OpenRefine's suggest widget does for "Search for match", over HTTP: the manifest's
    suggest service with the cell's text as ``prefix`` (JSONP), "view more" with the answer's
    ``cursor``, and the flyout of each result at ``flyout_service_path``; a QID typed finds its
    person; the chosen result's ``notable`` gives the cell its type."""
    entity = requests.get(service, timeout=30).json()["suggest"]["entity"]
    url = entity["service_url"] + entity["service_path"]
    r = requests.get(url, params={"prefix": "Hooker, J.D.", "callback": "jQuery1_2"}, timeout=30)
    assert r.text.startswith("jQuery1_2(")
    first = requests.get(url, params={"prefix": "Hooker, J.D."}, timeout=30).json()
    validate("suggest-entities-response.json", first)
    assert first["result"][0]["id"] == "person/joseph-dalton-hooker"
    assert first["result"][0]["notable"] == [{"id": "Person", "name": "Person"}]
    page = requests.get(url, params={"prefix": "h", "limit": 2}, timeout=30).json()
    more = requests.get(
        url, params={"prefix": "h", "limit": 2, "cursor": page["cursor"]}, timeout=30
    ).json()
    assert more["result"] and not {x["id"] for x in more["result"]} & {
        x["id"] for x in page["result"]
    }
    for item in first["result"] + page["result"] + more["result"]:
        path = entity["flyout_service_path"].replace("${id}", quote(item["id"], safe=""))
        r = requests.get(entity["service_url"] + path, timeout=30)
        assert r.status_code == 200 and r.json()["id"] == item["id"]
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    qid = requests.get(url, params={"prefix": "Q157501"}, timeout=30).json()["result"]
    assert qid[0]["id"] == "person/joseph-dalton-hooker"
