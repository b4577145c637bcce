"""Real clients against `collectomics serve` on 127.0.0.1: SPARQLWrapper (JSON and XML, GET and
both POST forms), rdflib's SPARQLStore and requests; the query timeout, streaming, and a store
that changes while it is served."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, URLENCODED, XML, SPARQLWrapper

from helpers import StoreLocation, new_location, run_cli, start_serve
from remote_servers import end_runaway_queries

pytestmark = pytest.mark.slow

FIX = Path(__file__).resolve().parent / "data" / "ingest"
#: specimens-mixed.csv holds 4 specimen records (one without catalogue number, keyed by its row)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"
SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n0 ?o }"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, StoreLocation]]:
    workdir = tmp_path_factory.mktemp("serve")
    store = new_location(request, workdir / "s.db")
    r = run_cli(
        "ingest", str(FIX / "specimens-mixed.csv"), str(FIX / "people-mixed.csv"), store=store
    )
    assert r.returncode == 0, r.stderr
    canned = workdir / "queries"
    canned.mkdir()
    (canned / "slow.rq").write_text(
        "# title: A query too slow for the time limit\n# description: For the tests.\n" + SLOW
    )
    base, proc = start_serve(
        store,
        workdir,
        dict(
            COLLECTOMICS_QUERY_TIMEOUT="2",
            COLLECTOMICS_WORKERS="2",
            COLLECTOMICS_MAX_ROWS="50",
            COLLECTOMICS_QUERIES_DIR=str(canned),
        ),
    )
    yield base, store
    proc.terminate()
    _, errors = proc.communicate(timeout=30)
    assert "Traceback" not in errors, errors  # no request ended in an unhandled exception


def _n(bindings: list[dict]) -> int:
    return int(bindings[0]["n"]["value"])


@pytest.mark.parametrize(
    ("method", "request_method"),
    [("GET", None), (POST, URLENCODED), (POST, POSTDIRECTLY)],
    ids=["get", "post-form", "post-direct"],
)
def test_sparqlwrapper_json_and_xml(
    server: tuple[str, StoreLocation], method: str, request_method: str | None
) -> None:
    base, _ = server
    sparql = SPARQLWrapper(base + "/sparql")
    sparql.setMethod(method)
    if request_method:
        sparql.setRequestMethod(request_method)
    sparql.setQuery(COUNT)
    sparql.setReturnFormat(JSON)
    assert _n(sparql.query().convert()["results"]["bindings"]) == 4
    sparql.setReturnFormat(XML)
    doc = sparql.query().convert()
    assert doc.getElementsByTagName("literal")[0].firstChild.data == "4"
    sparql.setQuery("ASK { ?s ?p ?o }")
    sparql.setReturnFormat(JSON)
    assert sparql.query().convert()["boolean"] is True


def test_rdflib_sparqlstore(server: tuple[str, StoreLocation]) -> None:
    base, _ = server
    graph = Graph(store=SPARQLStore(base + "/sparql"))
    rows = list(graph.query(COUNT))
    assert int(rows[0][0]) == 4
    rows = list(graph.query("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 3"))
    assert len(rows) == 3


def test_requests_negotiation_and_a_6kb_get(server: tuple[str, StoreLocation]) -> None:
    base, _ = server
    query = "# " + "x" * 6000 + "\n" + COUNT
    r = requests.get(base + "/sparql", params={"query": query}, timeout=30)
    assert len(r.url) > 6000 and r.status_code == 200 and _n(r.json()["results"]["bindings"]) == 4
    r = requests.get(
        base + "/sparql",
        params={"query": "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }"},
        headers={"Accept": "application/n-triples;q=0.9, text/turtle;q=0.5"},
        timeout=30,
    )
    assert r.headers["Content-Type"] == "application/n-triples; charset=utf-8"
    assert (
        "Accept" in r.headers["Vary"].split(", ")
        and r.headers["Access-Control-Allow-Origin"] == "*"
    )
    r = requests.get(base + "/sparql", params={"query": "SELECT ?x {"}, timeout=30)
    assert r.status_code == 400 and "1:" in r.text
    r = requests.get(base + "/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert "sd:Service" in r.text


def test_timeout_stops_the_query_and_the_server_goes_on(server: tuple[str, StoreLocation]) -> None:
    base, _ = server
    r = requests.post(base + "/sparql", data={"query": SLOW}, timeout=60)
    assert r.status_code == 503 and "stopped after 2 s" in r.text
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # both workers can be killed and replaced, and the next queries are answered
    for _ in range(2):
        assert requests.post(base + "/sparql", data={"query": SLOW}, timeout=60).status_code == 503
    r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
    assert r.status_code == 200 and _n(r.json()["results"]["bindings"]) == 4
    # a canned query (answered through Flask) is stopped the same way
    r = requests.get(base + "/queries/slow", timeout=60)
    assert r.status_code == 503 and "stopped after 2 s" in r.text
    r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
    assert r.status_code == 200 and _n(r.json()["results"]["bindings"]) == 4
    end_runaway_queries(server[1])  # a remote server would go on with the slow queries


def test_results_stream_and_are_capped(server: tuple[str, StoreLocation]) -> None:
    base, _ = server
    r = requests.get(base + "/sparql", params={"query": "SELECT * { ?s ?p ?o }"}, timeout=30)
    assert r.headers["Collectomics-Max-Rows"] == "50"
    assert len(r.json()["results"]["bindings"]) == 50
    big = (
        "CONSTRUCT { ?a ?b ?x } WHERE { ?a ?b ?c . ?d ?e ?f BIND(CONCAT(STR(?c), STR(?f)) AS ?x) }"
    )
    # bounded, so that it streams whole within the 2 s limit on a busy machine too (the limit
    # cuts a longer stream: the client then sees a chunked answer end early)
    r = requests.get(
        base + "/sparql",
        params={"query": big + " LIMIT 20000"},
        headers={"Accept": "application/n-triples"},
        stream=True,
        timeout=60,
    )
    assert r.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.headers
    lines = sum(chunk.count(b"\n") for chunk in r.iter_content(1 << 16))
    assert lines > 5_000  # far past the 50-row cap of SELECT answers
    # a client that leaves half-way frees its worker: the endpoint still answers
    r = requests.get(base + "/sparql", params={"query": big}, stream=True, timeout=60)
    next(r.iter_content(1024))
    r.close()
    for _ in range(4):
        r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
        assert _n(r.json()["results"]["bindings"]) == 4


def test_new_data_is_seen_without_a_restart(
    server: tuple[str, StoreLocation], tmp_path: Path
) -> None:
    base, store = server
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "<https://example.org/s/1> a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> .\n"
    )
    assert run_cli("ingest", str(extra), store=store).returncode == 0
    # at once on disk; within the catalog's time to live (1 s) on a remote store
    deadline = time.monotonic() + (2 if store.remote else 0)
    for _ in range(3):  # every worker, whichever answers
        while True:
            r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
            n = _n(r.json()["results"]["bindings"])
            if n == 5 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert n == 5


RDF_PARSE = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


@pytest.mark.parametrize(
    ("method", "request_method"),
    [("GET", None), (POST, URLENCODED), (POST, POSTDIRECTLY)],
    ids=["get", "post-form", "post-direct"],
)
def test_sparqlwrapper_every_format(
    server: tuple[str, StoreLocation], method: str, request_method: str | None
) -> None:
    """Every return format SPARQLWrapper offers, for each query form it fits, through each way
    of sending: its ``format`` parameter overrides Accept, and every one is answered in the
    syntax it names (only Turtle worked for CONSTRUCT and DESCRIBE)."""
    from SPARQLWrapper import CSV, JSONLD, N3, RDF, RDFXML, TSV, TURTLE

    base, _ = server
    construct = "CONSTRUCT { ?s a ?t } WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> ; a ?t }"
    describe = "DESCRIBE ?s WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"
    sizes: dict[str, set[int]] = {"construct": set(), "describe": set()}
    for form, query in (("construct", construct), ("describe", describe)):
        for fmt, media in (
            (TURTLE, "text/turtle"),
            (N3, "text/turtle"),
            (XML, "application/rdf+xml"),
            (RDFXML, "application/rdf+xml"),
            (RDF, "application/rdf+xml"),
            (JSONLD, "application/ld+json"),
            (JSON, "application/ld+json"),
        ):
            sparql = SPARQLWrapper(base + "/sparql")
            sparql.setMethod(method)
            if request_method:
                sparql.setRequestMethod(request_method)
            sparql.setQuery(query)
            sparql.setReturnFormat(fmt)
            response = sparql.query().response
            ctype = response.headers["Content-Type"].split(";")[0]
            assert ctype == media, (form, fmt, ctype)
            graph = Graph().parse(data=response.read(), format=RDF_PARSE[ctype])
            sizes[form].add(len(graph))
    assert len(sizes["construct"]) == 1 and sizes["construct"] != {0}, sizes
    assert len(sizes["describe"]) == 1 and sizes["describe"] != {0}, sizes
    r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
    count = str(_n(r.json()["results"]["bindings"]))  # 3, or 4 once a later test added one
    for fmt, media in ((CSV, "text/csv"), (TSV, "text/tab-separated-values")):
        sparql = SPARQLWrapper(base + "/sparql")
        sparql.setMethod(method)
        if request_method:
            sparql.setRequestMethod(request_method)
        sparql.setQuery(COUNT)
        sparql.setReturnFormat(fmt)
        response = sparql.query().response
        assert response.headers["Content-Type"].startswith(media)
        assert response.read().decode().splitlines()[1].strip() == count


def test_service_makes_no_connection_through_the_server(
    server: tuple[str, StoreLocation],
) -> None:
    """Through `serve` (its fast path, Flask, and a canned query's runner alike): SERVICE to a
    listening socket on 127.0.0.1 is refused, and the socket receives nothing."""
    import socket

    base, _ = server
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    try:
        for send in (
            lambda: requests.get(base + "/sparql", params={"query": query}, timeout=30),
            lambda: requests.post(base + "/sparql", data={"query": query}, timeout=30),
            lambda: requests.post(
                base + "/sparql",
                data=query,
                headers={"Content-Type": "application/sparql-query"},
                timeout=30,
            ),
        ):
            r = send()
            assert r.status_code == 400 and "federation_endpoints" in r.text, r.text
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing connected, not even to be refused
    finally:
        listener.close()
