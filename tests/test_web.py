"""The Flask app through its test client: /sparql, /queries, errors as 4xx, never 500."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import Store
from collectomics.web import create_app
from helpers import new_store

FIX = Path(__file__).resolve().parent / "data" / "ingest"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"


@pytest.fixture(scope="module")
def loaded_store(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    ingest_files(store, [FIX / "specimens-mixed.csv", FIX / "people-mixed.csv"], minter=Minter())
    return store


@pytest.fixture
def client(loaded_store: Store) -> FlaskClient:
    app = create_app(load_settings(environ={}), store=loaded_store)
    return app.test_client()


def _n(response: object) -> int:
    data = json.loads(response.data)  # type: ignore[attr-defined]
    return int(data["results"]["bindings"][0]["n"]["value"])


def test_get_post_form_and_direct_post(client: FlaskClient) -> None:
    assert (
        _n(client.get("/sparql", query_string={"query": COUNT})) == 4
    )  # one per loaded record of specimens-mixed.csv
    assert _n(client.post("/sparql", data={"query": COUNT})) == 4
    r = client.post("/sparql", data=COUNT.encode(), content_type="application/sparql-query")
    assert r.status_code == 200 and _n(r) == 4
    assert r.headers["Content-Type"].startswith("application/sparql-results+json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in r.headers["Vary"]


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        ("text/csv", "text/csv", b"n\r\n4"),
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
        (
            {"method": "POST", "data": {"default-graph-uri": "urn:x"}},
            400,
            "missing the 'query' parameter",
        ),
        ({"method": "GET", "query_string": {"query": " "}}, 400, "'query' parameter is empty"),
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
            403,
            "read-only",
        ),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(
    client: FlaskClient, kwargs: dict, status: int, message: str
) -> None:
    r = client.open("/sparql", **kwargs)
    assert r.status_code == status
    assert message in r.get_data(as_text=True)


def test_updates_change_nothing(client: FlaskClient, loaded_store: Store) -> None:
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
    assert r.status_code == 200 and b"ES,BCN,4" in r.data
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


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/*;q=0, */*", "application/sparql-results+json"),
        (
            "application/sparql-results+json;q=0, application/*;q=0.5",
            "application/sparql-results+xml",
        ),
        ("text/*;q=0.3, application/sparql-results+json;q=0.2", "text/csv"),
        ("text/*;q=0, text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("", "application/sparql-results+json"),
    ],
)
def test_q_values_wildcards_and_exclusion(client: FlaskClient, accept: str, media: str) -> None:
    r = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == media
    assert r.headers["Content-Type"].endswith("charset=utf-8")


def test_406_when_nothing_fits_the_result_kind(client: FlaskClient) -> None:
    q = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 2"
    r = client.get("/sparql", query_string={"query": q}, headers={"Accept": "text/csv"})
    assert r.status_code == 406 and "text/turtle" in r.get_data(as_text=True)
    r = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": "*/*;q=0"})
    assert r.status_code == 406
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_on_errors_preflight_and_head(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": "SELEC"})
    assert r.status_code == 400 and r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.options(
        "/sparql",
        headers={
            "Origin": "http://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert r.status_code == 200
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Allow"]
    r = client.head("/sparql", query_string={"query": COUNT})
    assert r.status_code == 200 and r.data == b""
    assert r.mimetype == "application/sparql-results+json"
    r = client.delete("/sparql")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_service_description_and_void(client: FlaskClient, loaded_store: Store) -> None:
    r = client.get("/sparql")
    assert r.status_code == 200 and r.mimetype == "text/turtle"
    text = r.get_data(as_text=True)
    assert "sd:Service" in text and "http://localhost/sparql" in text
    assert "formats:SPARQL_Results_JSON" in text
    r = client.get("/sparql", headers={"Accept": "application/n-triples"})
    assert b"<http://www.w3.org/ns/sparql-service-description#endpoint>" in r.data
    r = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.mimetype == "text/html" and b"<textarea" in r.data
    r = client.get("/.well-known/void")
    assert r.status_code == 303 and r.headers["Location"].endswith("/void")
    r = client.get("/void", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    graphs = loaded_store.graphs()
    for graph in graphs:
        assert f"<{graph}>".encode() in r.data
    assert r.data.count(b"<http://rdfs.org/ns/void#distinctSubjects>") == len(graphs)
    triples = [
        int(line.split(b'"')[1])
        for line in r.data.splitlines()
        if b"void#triples>" in line and b"graph-" in line
    ]
    assert sum(triples) == loaded_store.count()


def test_the_catalog_stays_hidden(client: FlaskClient) -> None:
    q = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    for param in ("default-graph-uri", "named-graph-uri"):
        query = (
            q
            if param == "default-graph-uri"
            else "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
        )
        r = client.get("/sparql", query_string={"query": query, param: "urn:collectomics:catalog"})
        assert _n(r) == 0


def test_a_6kb_get_works_and_limits_are_4xx(
    client: FlaskClient, make_store: Callable[..., Store]
) -> None:
    filler = "# " + "x" * 6000 + "\n"
    r = client.get("/sparql", query_string={"query": filler + COUNT})
    assert _n(r) == 4
    app = create_app(
        load_settings(environ={"COLLECTOMICS_MAX_REQUEST_BYTES": "2000"}),
        store=make_store(),
    )
    small = app.test_client()
    r = small.get("/sparql", query_string={"query": filler + COUNT})
    assert r.status_code == 414 and "POST" in r.get_data(as_text=True)
    r = small.post("/sparql", data=filler + COUNT, content_type="application/sparql-query")
    assert r.status_code == 413


def test_row_cap_is_applied_and_announced(loaded_store: Store) -> None:
    app = create_app(load_settings(environ={"COLLECTOMICS_MAX_ROWS": "2"}), store=loaded_store)
    r = app.test_client().get(
        "/sparql",
        query_string={
            "query": "PREFIX x: <urn:x:>\nSELECT ?s ?p FROM <urn:nothing> { ?s ?p ?o } ORDER BY ?s"
        },
    )
    assert r.status_code == 200 and r.headers["Collectomics-Max-Rows"] == "2"
    assert json.loads(r.data)["head"]["vars"] == ["s", "p"]
    r = app.test_client().get(
        "/sparql", query_string={"query": "SELECT ?s ?p { ?s ?p ?o } ORDER BY ?s"}
    )
    assert len(json.loads(r.data)["results"]["bindings"]) == 2


def test_updates_need_the_setting_and_the_token(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "ntriples")
    env = {"COLLECTOMICS_ALLOW_UPDATES": "true", "COLLECTOMICS_UPDATE_TOKEN": "s3cret"}
    client = create_app(load_settings(environ=env), store=store).test_client()
    update = "INSERT DATA { GRAPH <urn:g:1> { <urn:a> <urn:b> <urn:d> } }"
    r = client.post("/sparql", data={"update": update})
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    r = client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and store.count() == 1
    r = client.get(
        "/sparql", query_string={"update": update}, headers={"Authorization": "Bearer s3cret"}
    )
    assert r.status_code == 405 and store.count() == 1
    r = client.post(
        "/sparql",
        data=update,
        content_type="application/sparql-update",
        headers={"Authorization": "Bearer s3cret"},
    )
    assert r.status_code == 204 and store.count() == 2
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert b"sd:SPARQL11Update" in r.data


def test_graph_store_protocol_only_when_enabled(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "ntriples")
    closed = create_app(load_settings(environ={}), store=store).test_client()
    r = closed.put("/rdf-graph-store?graph=urn:g:1", data="", content_type="text/turtle")
    assert r.status_code == 403 and store.count() == 1
    env = {"COLLECTOMICS_ALLOW_UPDATES": "1", "COLLECTOMICS_UPDATE_TOKEN": "t"}
    client = create_app(load_settings(environ=env), store=store).test_client()
    auth = {"Authorization": "Bearer t"}
    assert client.get("/rdf-graph-store?graph=urn:g:1").status_code == 401
    r = client.get(
        "/rdf-graph-store?graph=urn:g:1", headers={**auth, "Accept": "application/n-triples"}
    )
    assert r.data == b"<urn:a> <urn:b> <urn:c> .\n"
    r = client.put(
        "/rdf-graph-store?graph=urn:g:2",
        data="<urn:x> <urn:y> 1, 2 .",
        content_type="text/turtle",
        headers=auth,
    )
    assert r.status_code == 201 and store.count("urn:g:2") == 2
    r = client.post(
        "/rdf-graph-store?graph=urn:g:2",
        data="<urn:x> <urn:y> 3 .",
        content_type="text/turtle",
        headers=auth,
    )
    assert r.status_code == 204 and store.count("urn:g:2") == 3
    r = client.put(
        "/rdf-graph-store?graph=urn:g:2", data="x", content_type="image/png", headers=auth
    )
    assert r.status_code == 415
    assert client.delete("/rdf-graph-store?graph=urn:g:2", headers=auth).status_code == 204
    assert store.graphs() == ["urn:g:1"]
    assert client.delete("/rdf-graph-store?graph=urn:g:2", headers=auth).status_code == 404


def test_query_page_serves_yasgui_itself_or_a_plain_form(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectomics.web import frontend

    html = client.get("/query").get_data(as_text=True)
    assert "specimens-by-country" in html or "Specimens from a country" in html
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), "no CDN"
    if frontend.yasgui_dir() is not None:
        assert "/assets/yasgui/yasgui.min.js" in html and 'id="plain-form" action' in html
        r = client.get("/assets/yasgui/yasgui.min.js")
        assert r.status_code == 200 and len(r.data) > 100_000
    monkeypatch.setattr(frontend, "yasgui_dir", lambda: None)
    html = client.get("/query").get_data(as_text=True)
    assert "yasgui.min.js" not in html
    assert re.search(r'<form id="plain-form" action="/sparql" method="post">', html)
    assert client.get("/assets/yasgui/yasgui.min.js").status_code == 404
