"""The ``/sparql`` fast path in front of Flask answers exactly as the Flask route does: the same
status, body and headers for queries it takes, and requests it does not fully understand are
left to the Flask route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import Store
from collectomics.web import create_app
from collectomics.web.compress import Gzip
from collectomics.web.sparql import FastSparql
from helpers import StoreLocation, new_store

FIX = Path(__file__).resolve().parent / "data" / "ingest"
#: specimens-mixed.csv holds 4 specimen records (one without catalogue number, keyed by its row)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"


@pytest.fixture(scope="module")
def clients(request: pytest.FixtureRequest) -> tuple[Client, Client]:
    store: Store = new_store(request)
    ingest_files(store, [FIX / "specimens-mixed.csv", FIX / "people-mixed.csv"], minter=Minter())
    settings = load_settings(environ={"COLLECTOMICS_MAX_ROWS": "2"})
    app = create_app(settings, store=store)
    outer = app.wsgi_app  # gzip for clients that ask for it, around the fast path
    assert isinstance(outer, Gzip)
    fast = outer.app
    assert isinstance(fast, FastSparql)
    return Client(fast), Client(fast.app)  # with and without the fast path


REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("GET", {"query_string": {"query": COUNT}}),
    ("GET", {"query_string": {"query": COUNT}, "headers": {"Accept": "text/csv"}}),
    ("GET", {"query_string": {"query": COUNT, "format": "xml"}}),
    ("GET", {"query_string": {"query": "SELECT * { ?s ?p ?o }"}}),  # capped at 2 rows
    ("GET", {"query_string": {"query": "ASK { ?s ?p ?o }"}}),
    ("GET", {"query_string": {"query": "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }"}}),
    ("GET", {"query_string": {"query": "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }"},
             "headers": {"Accept": "text/csv"}}),  # 406
    ("GET", {"query_string": {"query": "SELECT ?x {"}}),  # 400 with the position
    ("GET", {"query_string": {"query": "SELECT ?x WHERE ?x"}}),  # 400 with the curl hint
    ("GET", {"query_string": {"query": COUNT}, "headers": {"Accept": "image/png"}}),  # 406
    ("GET", {"query_string": {"query": COUNT, "format": "nonsense"}}),  # 400
    ("GET", {"query_string": [("query", COUNT), ("query", COUNT)]}),  # 400, two queries
    ("GET", {"query_string": {"query": " "}}),  # 400, empty
    ("GET", {"query_string": {"query": "INSERT DATA { <a:a> <a:b> <a:c> }"}}),  # 403
    ("GET", {}),  # the service description
    ("GET", {"query_string": {"query": COUNT,
                              "default-graph-uri": "https://w3id.org/collectomics/graph/x"}}),
    ("POST", {"data": {"query": COUNT}}),
    ("POST", {"data": f"query={COUNT}".encode(), "content_type": FORM + "; charset=UTF-8"}),
    ("POST", {"data": COUNT.encode(), "content_type": DIRECT}),
    ("POST", {"data": b"\xff\xfe", "content_type": DIRECT}),  # 400, not UTF-8
    ("POST", {"data": COUNT.encode(), "content_type": "text/plain"}),  # 415
    ("POST", {"data": {"update": "DELETE WHERE { ?s ?p ?o }"}}),  # 403
    ("POST", {"data": COUNT.encode(), "content_type": DIRECT,
              "query_string": {"query": COUNT}}),  # 400, two queries
    ("HEAD", {"query_string": {"query": COUNT}}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "kwargs"), REQUESTS)
def test_fast_path_answers_as_flask_does(
    clients: tuple[Client, Client], method: str, kwargs: dict[str, Any]
) -> None:
    fast, flask = clients
    a = fast.open("/sparql", method=method, **kwargs)
    b = flask.open("/sparql", method=method, **kwargs)
    assert a.status_code == b.status_code
    assert a.get_data() == b.get_data()
    for name in (
        "Content-Type",
        "Vary",
        "Access-Control-Allow-Origin",
        "Collectomics-Max-Rows",
        "Content-Length",
        "Retry-After",
    ):
        assert a.headers.get(name) == b.headers.get(name), name


def test_queries_bypass_flask(clients: tuple[Client, Client]) -> None:
    fast, _ = clients
    app: FastSparql = fast.application  # type: ignore[assignment]
    calls: list[str] = []
    inner = app.app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.app = counting
    try:
        assert fast.get("/sparql", query_string={"query": COUNT}).status_code == 200
        assert fast.post("/sparql", data={"query": COUNT}).status_code == 200
        assert fast.post("/sparql", data=COUNT.encode(), content_type=DIRECT).status_code == 200
        assert calls == []
        assert fast.get("/sparql").status_code == 200  # the service description: Flask
        assert calls == ["/sparql"]
    finally:
        app.app = inner


def test_fast_path_over_query_processes(store_location: StoreLocation) -> None:
    """Where `serve` uses waitress (not Linux), the fast path hands queries to worker processes
    (on disk; a remote store's queries go to its server)."""
    store = store_location.open()
    ingest_files(store, [FIX / "specimens-mixed.csv", FIX / "people-mixed.csv"], minter=Minter())
    store.close()
    settings = load_settings(environ={**store_location.settings(), "COLLECTOMICS_WORKERS": "1"})
    app = create_app(settings)
    try:
        client = app.test_client()
        r = client.get("/sparql", query_string={"query": COUNT})
        assert r.status_code == 200 and b'"value":"4"' in r.data
        big = "CONSTRUCT { ?a ?b ?x } WHERE { ?a ?b ?c . ?d ?e ?f BIND(CONCAT(STR(?c), STR(?f)) AS ?x) }"
        r = client.get("/sparql", query_string={"query": big}, headers={"Accept": "text/turtle"})
        assert r.status_code == 200 and "Content-Length" not in r.headers and len(r.data) > 65536
        r = client.get("/sparql", query_string={"query": "SELECT ?x {"})
        assert r.status_code == 400
    finally:
        app.extensions["collectomics"].runner.close()
