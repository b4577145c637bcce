"""The Flask app through its test client: /sparql, /queries, errors as 4xx, never 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore
from collectomics.web import create_app

FIX = Path(__file__).resolve().parent / "data" / "ingest"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"


@pytest.fixture(scope="module")
def loaded_store() -> OxigraphStore:
    store = OxigraphStore()
    ingest_files(store, [FIX / "specimens-mixed.csv", FIX / "people-mixed.csv"], minter=Minter())
    return store


@pytest.fixture
def client(loaded_store: OxigraphStore) -> FlaskClient:
    app = create_app(load_settings(environ={}), store=loaded_store)
    return app.test_client()


def _n(response: object) -> int:
    data = json.loads(response.data)  # type: ignore[attr-defined]
    return int(data["results"]["bindings"][0]["n"]["value"])


def test_get_post_form_and_direct_post(client: FlaskClient) -> None:
    assert _n(client.get("/sparql", query_string={"query": COUNT})) == 3
    assert _n(client.post("/sparql", data={"query": COUNT})) == 3
    r = client.post("/sparql", data=COUNT.encode(), content_type="application/sparql-query")
    assert r.status_code == 200 and _n(r) == 3
    assert r.headers["Content-Type"].startswith("application/sparql-results+json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in r.headers["Vary"]


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        ("text/csv", "text/csv", b"n\r\n3"),
        ("text/tab-separated-values", "text/tab-separated-values", b"?n"),
        ("application/sparql-results+xml", "application/sparql-results+xml", b"<sparql"),
        (
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
            "application/sparql-results+xml",
            b"<sparql",
        ),
        ("*/*", "application/sparql-results+json", b'"bindings"'),
    ],
)
def test_select_content_negotiation(
    client: FlaskClient, accept: str, media: str, marker: bytes
) -> None:
    r = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(media)
    assert marker in r.data


def test_construct_defaults_to_turtle(client: FlaskClient) -> None:
    q = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 2"
    r = client.get("/sparql", query_string={"query": q})
    assert r.headers["Content-Type"].startswith("text/turtle")
    r = client.get(
        "/sparql", query_string={"query": q}, headers={"Accept": "application/n-triples"}
    )
    assert (
        r.headers["Content-Type"].startswith("application/n-triples") and r.data.count(b" .\n") == 2
    )


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"method": "GET", "query_string": {}}, 400, "missing the 'query' parameter"),
        ({"method": "GET", "query_string": {"query": "SELEC ?x {}"}}, 400, "syntax error"),
        (
            {"method": "POST", "data": b"x", "content_type": "text/plain"},
            415,
            "application/sparql-query",
        ),
        (
            {"method": "POST", "data": b"\xff\xfe", "content_type": "application/sparql-query"},
            400,
            "not UTF-8",
        ),
        (
            {"method": "GET", "query_string": {"query": COUNT}, "headers": {"Accept": "image/png"}},
            406,
            "no acceptable format",
        ),
        (
            {"method": "GET", "query_string": {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}},
            400,
            "syntax error",
        ),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(
    client: FlaskClient, kwargs: dict, status: int, message: str
) -> None:
    r = client.open("/sparql", **kwargs)
    assert r.status_code == status
    assert message in r.get_data(as_text=True)


def test_updates_change_nothing(client: FlaskClient, loaded_store: OxigraphStore) -> None:
    before = loaded_store.count()
    client.post("/sparql", data={"query": "DELETE WHERE { ?s ?p ?o }"})
    client.post("/sparql", data={"update": "DELETE WHERE { ?s ?p ?o }"})
    assert loaded_store.count() == before


def test_canned_queries(client: FlaskClient) -> None:
    listing = client.get("/queries").get_json()
    names = {q["name"] for q in listing}
    assert {
        "specimens-by-country",
        "co-collectors",
        "person-itinerary",
        "label-writing-window",
    } <= names
    r = client.get("/queries/specimens-by-country", query_string={"country": "ES", "format": "csv"})
    assert r.status_code == 200 and b"ES,BCN,3" in r.data
    hostile = 'ES" } UNION { ?s ?p ?o } #'
    r = client.get("/queries/specimens-by-country", query_string={"country": hostile})
    assert r.status_code == 200 and json.loads(r.data)["results"]["bindings"] == []
    assert client.get("/queries/nope").status_code == 404
    r = client.get("/queries/person-itinerary", query_string={"agent": "x", "year": "1983"})
    assert r.status_code == 400 and "expects iri" in r.get_data(as_text=True)


def test_index_and_health(client: FlaskClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and b"specimens" in r.data and b"/sparql" in r.data
    assert client.get("/health").get_json()["status"] == "ok"


def test_curl_globbing_gets_a_hint(client: FlaskClient) -> None:
    # what `curl '.../sparql?query=SELECT(COUNT(*)AS?n){?s?p?o}'` sends without -g
    r = client.get("/sparql", query_string={"query": "SELECT(COUNT(*)AS?n)?s?p?o"})
    assert r.status_code == 400
    assert "curl -g" in r.get_data(as_text=True)
