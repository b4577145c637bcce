"""The Flask app through its test client: /sparql, /queries, errors as 4xx, never 500."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

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
    assert r.status_code == 400 and "expects an ISO 3166-1 alpha-2" in r.get_data(as_text=True)
    hostile = 'proposed" } UNION { ?s ?p ?o } #'
    r = client.get("/queries/matches-to-review", query_string={"status": hostile})
    assert r.status_code == 400 and "expects one of proposed" in r.get_data(as_text=True)
    assert client.get("/queries/nope").status_code == 404
    r = client.get("/queries/person-itinerary", query_string={"agent": "x", "year": "1983"})
    assert r.status_code == 400 and "expects an IRI" in r.get_data(as_text=True)


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


def test_the_catalog_stays_hidden(client: FlaskClient, loaded_store: Store) -> None:
    """The catalog's graphs (the graph ``urn:collectomics:catalog`` on a remote store, the empty
    marker graphs ``urn:collectomics:current/...`` on the embedded one) are never listed by
    ``GRAPH ?g`` nor read when a client names them as default or named graphs."""
    from collectomics.services.endpoint import NO_GRAPH
    from collectomics.store import CATALOG, OxigraphStore, is_internal_graph
    from collectomics.store.remote import EMPTY

    internal = [CATALOG]
    if isinstance(loaded_store, OxigraphStore):
        internal += [
            g.value for g in loaded_store._store.named_graphs() if is_internal_graph(g.value)
        ]
        assert len(internal) > 1  # the markers exist: the test names them
    names = "SELECT DISTINCT ?g { GRAPH ?g { } }"
    listed = json.loads(client.get("/sparql", query_string={"query": names}).data)
    seen = {b["g"]["value"] for b in listed["results"]["bindings"]}
    # only the empty stand-ins the endpoint and the remote store name when a query must see
    # nothing may show; no graph of the catalog
    assert seen and not seen & set(internal), seen
    assert {g for g in seen if g.startswith("urn:collectomics:")} <= {NO_GRAPH, EMPTY}, seen
    for graph in internal:
        r = client.get("/sparql", query_string={"query": COUNT_ALL, "default-graph-uri": graph})
        assert _n(r) == 0, graph
        r = client.get("/sparql", query_string={"query": names, "named-graph-uri": graph})
        named = {b["g"]["value"] for b in json.loads(r.data)["results"]["bindings"]}
        assert named <= {NO_GRAPH, EMPTY}, graph  # the empty stand-ins, holding nothing


COUNT_ALL = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"


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


# -- issue 17: safe to put on the internet --------------------------------------------------


class _Listener:
    """A socket on 127.0.0.1 that records every connection made to it (and closes it)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


SERVICE_QUERIES = [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
    "PREFIX r: <{root}> SELECT * WHERE {{ SERVICE r:sparql {{ ?s ?p ?o }} }}",
    "BASE <{root}> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ {{ SELECT ?s {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "ASK {{ SERVICE <{escaped}> {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ # a comment }}\n SERVICE <{url}> {{ ?s ?p ?o }} }}",
]


def _service_query(template: str, port: int) -> str:
    root = f"http://127.0.0.1:{port}/"
    escaped = root.replace("127", "\\u0031\\u00327") + "sparql"
    return template.format(url=root + "sparql", root=root, escaped=escaped)


def test_service_is_refused_before_any_request(
    client: FlaskClient, tmp_path: Path, loaded_store: Store
) -> None:
    """SERVICE is off by default: a 400 that names the setting, and no connection is made; the
    answer is the same for a port that listens and one that does not."""
    listener = _Listener()
    closed = _Listener()
    closed.close()  # a port nothing listens on any more
    canned = tmp_path / "queries"
    canned.mkdir()
    (canned / "fed.rq").write_text(
        "# title: Federated\n"
        + _service_query(SERVICE_QUERIES[0], listener.port).replace("{{", "{")
    )
    app = create_app(
        load_settings(environ={"COLLECTOMICS_QUERIES_DIR": str(canned)}), store=loaded_store
    )
    canned_client = app.test_client()
    try:
        for template in SERVICE_QUERIES:
            answers = []
            for port in (listener.port, closed.port):
                query = _service_query(template, port)
                for r in (
                    client.get("/sparql", query_string={"query": query}),
                    client.post("/sparql", data={"query": query}),
                    client.post("/sparql", data=query, content_type="application/sparql-query"),
                ):
                    assert r.status_code == 400, (query, r.data)
                    assert b"federation_endpoints" in r.data, r.data
                    answers.append(r.data.replace(str(port).encode(), b"PORT"))
            assert len(set(answers)) == 1, answers
        r = canned_client.get("/queries/fed")
        assert r.status_code == 400 and b"federation_endpoints" in r.data
    finally:
        listener.close()
    assert listener.connections == 0


def test_service_allow_list(loaded_store: Store) -> None:
    """An endpoint of federation_endpoints is called; any other still is not."""
    import http.server
    import threading

    calls: list[str] = []

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            calls.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {
                    "head": {"vars": ["x"]},
                    "results": {"bindings": [{"x": {"type": "literal", "value": "remote"}}]},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other = _Listener()
    allowed = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    env = {"COLLECTOMICS_FEDERATION_ENDPOINTS": f"http://example.org/sparql {allowed}"}
    client = create_app(load_settings(environ=env), store=loaded_store).test_client()
    try:
        r = client.get(
            "/sparql", query_string={"query": f"SELECT ?x {{ SERVICE <{allowed}> {{ }} }}"}
        )
        assert r.status_code == 200, r.data
        assert json.loads(r.data)["results"]["bindings"] == [
            {"x": {"type": "literal", "value": "remote"}}
        ]
        called = len(calls)
        assert called >= 1
        query = _service_query(SERVICE_QUERIES[0], other.port)
        r = client.get("/sparql", query_string={"query": query})
        assert r.status_code == 400 and b"federation_endpoints" in r.data
    finally:
        server.shutdown()
        other.close()
    assert other.connections == 0 and len(calls) == called


CATALOG_UPDATES = [
    "DROP GRAPH <urn:collectomics:catalog>",
    "DROP ALL",
    "DROP SILENT NAMED",
    "CLEAR ALL",
    "CLEAR NAMED",
    "INSERT DATA { GRAPH <urn:collectomics:catalog> { <urn:a> <urn:b> <urn:c> } }",
    "PREFIX c: <urn:collectomics:> DELETE WHERE { GRAPH c:catalog { ?s ?p ?o } }",
    "DELETE WHERE { GRAPH <urn:collectomics:c\\u0061talog> { ?s ?p ?o } }",
    "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }",
    "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }",
    "MOVE <urn:g:1> TO <urn:collectomics:catalog>",
    "LOAD <http://127.0.0.1:9/data.ttl> INTO GRAPH <urn:g:1>",
]
NOT_A_DATASET = [
    "INSERT DATA { GRAPH <urn:g:none> { <urn:a> <urn:b> <urn:c> } }",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "INSERT { <urn:a> <urn:b> ?o } WHERE { GRAPH <urn:g:1> { ?s ?p ?o } }",
    "WITH <urn:g:none> INSERT { <urn:a> <urn:b> <urn:c> } WHERE { }",
    "CREATE GRAPH <urn:g:new>",
    "COPY <urn:g:1> TO DEFAULT",
]


def _updates_client(store: Store) -> FlaskClient:
    env = {"COLLECTOMICS_ALLOW_UPDATES": "1", "COLLECTOMICS_UPDATE_TOKEN": "t"}
    return create_app(load_settings(environ=env), store=store).test_client()


def _update(client: FlaskClient, text: str) -> object:
    return client.post(
        "/sparql",
        data=text.encode("utf-8"),
        content_type="application/sparql-update",
        headers={"Authorization": "Bearer t"},
    )


def _visible(client: FlaskClient) -> int:
    r = client.get("/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    return _n(r)


def test_the_catalog_is_closed_to_the_graph_store_and_to_updates(
    make_store: Callable[..., Store],
) -> None:
    store = make_store()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "ntriples")
    client = _updates_client(store)
    auth = {"Authorization": "Bearer t"}
    catalog = "/rdf-graph-store?graph=urn:collectomics:catalog"
    for method in (client.put, client.post):
        r = method(catalog, data="<urn:x> <urn:y> <urn:z> .", content_type="text/turtle",
                   headers=auth)  # fmt: skip
        assert r.status_code == 403 and b"catalog" in r.data
    assert client.delete(catalog, headers=auth).status_code == 403
    # nor a name the store gives a dataset's versions, which a replace of the dataset would
    # empty (urn:g:1/v2), whether or not that dataset exists (urn:h/v1)
    for name in ("urn:g:1/v2", "urn:h/v1"):
        r = client.put(f"/rdf-graph-store?graph={name}", data="<urn:x> <urn:y> <urn:z> .",
                       content_type="text/turtle", headers=auth)  # fmt: skip
        assert r.status_code == 400 and b"later versions" in r.data, name
    for text in CATALOG_UPDATES:
        r = _update(client, text)
        assert r.status_code == 403, (text, r.data)  # type: ignore[attr-defined]
        assert store.graphs() == ["urn:g:1"] and _visible(client) == 1, text
    listener = _Listener()
    service = (
        "INSERT { GRAPH <urn:g:1> { ?s ?p ?o } } WHERE "
        f"{{ SERVICE <http://127.0.0.1:{listener.port}/sparql> {{ ?s ?p ?o }} }}"
    )
    r = _update(client, service)
    listener.close()
    assert r.status_code == 400 and b"federation_endpoints" in r.data  # type: ignore[attr-defined]
    assert listener.connections == 0
    for text in NOT_A_DATASET:
        r = _update(client, text)
        assert r.status_code == 400, (text, r.data)  # type: ignore[attr-defined]
        assert b"dataset" in r.data  # type: ignore[attr-defined]
        assert store.graphs() == ["urn:g:1"] and _visible(client) == 1, text


def test_an_update_to_a_replaced_dataset_is_visible(make_store: Callable[..., Store]) -> None:
    """A dataset loaded twice lives in its second version: an INSERT naming the dataset writes
    there, and every query sees it (it answered 204 and stayed invisible)."""
    store = make_store()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "ntriples")
    store.replace_graph("urn:g:1", "<urn:a> <urn:b> <urn:c2> .", "ntriples")
    assert store.physical_graph("urn:g:1") != "urn:g:1"
    client = _updates_client(store)
    r = _update(client, "PREFIX g: <urn:g:> INSERT DATA { GRAPH g:1 { <urn:a> <urn:b> <urn:d> } }")
    assert r.status_code == 204, r.data  # type: ignore[attr-defined]
    assert _visible(client) == 2 and store.count("urn:g:1") == 2
    r = _update(client, "WITH <urn:g:1> DELETE { <urn:a> <urn:b> <urn:d> } WHERE { }")
    assert r.status_code == 204 and _visible(client) == 1  # type: ignore[attr-defined]


def test_protocol_edge_cases(make_store: Callable[..., Store]) -> None:
    """Issue 17 item 9: each answer a client can act on, never a 406, 500 or 503 in error."""
    store = make_store()
    store.add("urn:g:1", "<urn:a> <urn:b> <urn:c> .", "ntriples")
    client = _updates_client(store)
    # parameters without a query: 400 naming it, not 406
    for params in ("default-graph-uri=urn:g:1", "format=json", "named-graph-uri=urn:g:1&output=x"):
        r = client.get("/sparql?" + params, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 400 and b"missing the 'query' parameter" in r.data
    # HEAD is GET without the body
    r = client.head("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.data == b""
    r = client.head("/sparql?query=ASK%7B%7D")
    assert r.status_code == 200 and r.data == b""
    # a relative IRI in a CONSTRUCT template resolves against the endpoint
    r = client.get(
        "/sparql",
        query_string={"query": "CONSTRUCT { <thing> <p> ?o } WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/n-triples"},
    )
    assert (
        r.status_code == 200 and b"<http://localhost/thing> <http://localhost/p> <urn:c>" in r.data
    )
    # a dataset that names something that is not an IRI
    for bad in ({"default-graph-uri": "not an iri"}, {"named-graph-uri": "<urn:x>"}):
        (name,) = bad
        for r in (
            client.get("/sparql", query_string={"query": "ASK {}", **bad}),
            client.post("/sparql", data={"query": "ASK {}", **bad}),
        ):
            assert r.status_code == 400 and name.encode() in r.data, r.data
    # a token that is not ASCII is a wrong token
    r = client.post(
        "/sparql",
        data={"update": "INSERT DATA { GRAPH <urn:g:1> { <urn:a> <urn:b> <urn:e> } }"},
        headers={"Authorization": "Bearer t\u00e9"},
    )
    assert r.status_code == 401
    r = client.get("/rdf-graph-store?graph=urn:g:1", headers={"Authorization": "Bearer \u00e9"})
    assert r.status_code == 401
    # a Graph Store PUT with bad Turtle: 400 with the parser's position, nothing written
    r = client.put(
        "/rdf-graph-store?graph=urn:g:1",
        data="<urn:a> <urn:b> .\n",
        content_type="text/turtle",
        headers={"Authorization": "Bearer t"},
    )
    assert r.status_code == 400 and b"line 1 column 17" in r.data, r.data
    assert store.count("urn:g:1") == 1


@pytest.mark.parametrize(
    ("formats", "media"),
    [
        (["turtle"], "text/turtle"),
        (["n3"], "text/turtle"),
        (["xml"], "application/rdf+xml"),
        (["rdf+xml", "application/rdf+xml"], "application/rdf+xml"),
        (["rdf"], "application/rdf+xml"),
        (["json-ld", "application/ld+json"], "application/ld+json"),
        (["json"], "application/ld+json"),
        (["application/n-triples"], "application/n-triples"),
    ],
)
def test_sparqlwrapper_format_names_fit_construct(
    client: FlaskClient, formats: list[str], media: str
) -> None:
    """SPARQLWrapper sends its return format as ``format`` (repeated with a media type for some),
    which overrides Accept: each of its names gets the RDF syntax it means for a graph."""
    query = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 2"
    params = [("query", query)] + [("format", f) for f in formats] + [("output", formats[0])]
    for r in (
        client.get("/sparql", query_string=params, headers={"Accept": media}),
        client.post("/sparql", data=MultiDict(params), headers={"Accept": media}),
    ):
        assert r.status_code == 200, (formats, r.data)
        assert r.headers["Content-Type"].startswith(media)
