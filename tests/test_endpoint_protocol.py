"""The read-only tests of the W3C SPARQL 1.1 Protocol test suite (w3c/rdf-tests,
sparql/sparql11/protocol/manifest.ttl), rewritten in Python against our app: the same requests
(method, path, parameters, headers, body) and the same expectations, on graphs of our own."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from collectomics.config import load_settings
from collectomics.web import create_app
from helpers import new_store

D1, D2, D3 = (f"http://kasei.us/2009/09/sparql/data/data{n}.rdf" for n in (1, 2, 3))


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest) -> FlaskClient:
    store = new_store(request)
    for n, graph in enumerate((D1, D2, D3), start=1):
        store.add(
            graph,
            f"<{graph}> a <http://xmlns.com/foaf/0.1/Document> ; "
            f'<http://purl.org/dc/terms/title> "Test graph {n}" .',
            "turtle",
        )
    return create_app(load_settings(environ={}), store=store).test_client()


def _boolean(response: object) -> bool:
    assert response.status_code in range(200, 400), response.get_data(as_text=True)  # type: ignore[attr-defined]
    ctype = response.headers["Content-Type"]  # type: ignore[attr-defined]
    body = response.get_data(as_text=True)  # type: ignore[attr-defined]
    if "json" in ctype:
        return bool(json.loads(body)["boolean"])
    assert "xml" in ctype
    return "<boolean>true</boolean>" in body


def _qs(**params: str | list[str]) -> str:
    parts = []
    for key, values in params.items():
        for value in values if isinstance(values, list) else [values]:
            parts.append(f"{key.replace('_', '-')}={quote(value, safe='')}")
    return "&".join(parts)


ASK_BOTH_DEFAULT = f"ASK {{ <{D1}> a ?type . <{D2}> a ?type . }}"
ASK_BOTH_NAMED = f"ASK {{ GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}"


def test_query_post_form(client: FlaskClient) -> None:
    r = client.post(
        "/sparql?" + _qs(default_graph_uri=D1.replace("data1", "data0")),
        data="query=ASK%20%7B%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert _boolean(r) is True


def test_query_dataset_default_graphs_get(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query=ASK_BOTH_DEFAULT, default_graph_uri=[D1, D2]))
    assert _boolean(r) is True
    # and the restriction is real: with only one of them, the other is not in the default graph
    r = client.get("/sparql?" + _qs(query=ASK_BOTH_DEFAULT, default_graph_uri=[D1]))
    assert _boolean(r) is False


def test_query_dataset_default_graphs_post(client: FlaskClient) -> None:
    r = client.post(
        "/sparql?" + _qs(default_graph_uri=[D1, D2]),
        data=ASK_BOTH_DEFAULT,
        content_type="application/sparql-query",
    )
    assert _boolean(r) is True


def test_query_dataset_named_graphs_post(client: FlaskClient) -> None:
    r = client.post(
        "/sparql?" + _qs(named_graph_uri=[D1, D2]),
        data=ASK_BOTH_NAMED,
        content_type="application/sparql-query",
    )
    assert _boolean(r) is True


def test_query_dataset_named_graphs_get(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query=ASK_BOTH_NAMED, named_graph_uri=[D1, D2]))
    assert _boolean(r) is True
    r = client.get("/sparql?" + _qs(query=ASK_BOTH_NAMED, named_graph_uri=[D1, D3]))
    assert _boolean(r) is False
    # named graphs only: the default graph is then empty
    r = client.get("/sparql?" + _qs(query=f"ASK {{ <{D1}> a ?t }}", named_graph_uri=[D1]))
    assert _boolean(r) is False


def test_query_dataset_full(client: FlaskClient) -> None:
    query = (
        f"ASK {{\n  <{D3}> a ?type\n  GRAPH ?g1 {{ <{D1}> a ?type }}\n"
        f"  GRAPH ?g2 {{ <{D2}> a ?type }}\n}}"
    )
    r = client.post(
        "/sparql?" + _qs(default_graph_uri=D3, named_graph_uri=[D1, D2]),
        data=query,
        content_type="application/sparql-query",
    )
    assert _boolean(r) is True


def test_query_multiple_dataset_protocol_wins(client: FlaskClient) -> None:
    query = f"ASK FROM <{D2}> {{ <{D1}> a ?type }}"
    r = client.post(
        "/sparql?" + _qs(default_graph_uri=D1), data=query, content_type="application/sparql-query"
    )
    assert _boolean(r) is True


def test_from_in_the_query_is_honoured(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query=f"ASK FROM <{D2}> {{ <{D1}> a ?type }}"))
    assert _boolean(r) is False
    r = client.get(
        "/sparql?"
        + _qs(
            query=f"PREFIX d: <http://kasei.us/2009/09/sparql/data/>\nASK FROM d:data1.rdf {{ <{D1}> a ?type }}"
        )
    )
    assert _boolean(r) is True


def test_query_get(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query="ASK {}"))
    assert _boolean(r) is True


def test_query_post_direct(client: FlaskClient) -> None:
    r = client.post("/sparql", data="ASK {}", content_type="application/sparql-query")
    assert _boolean(r) is True


SELECT_ACCEPT = (
    "application/sparql-results+xml, application/sparql-results+json, "
    "text/tab-separated-values, text/csv"
)


def test_query_content_type_select(client: FlaskClient) -> None:
    r = client.get(
        "/sparql?" + _qs(query="SELECT (1 AS ?value) {}"), headers={"Accept": SELECT_ACCEPT}
    )
    assert r.status_code == 200
    assert r.mimetype in {
        "application/sparql-results+xml",
        "application/sparql-results+json",
        "text/tab-separated-values",
        "text/csv",
    }


def test_query_content_type_ask(client: FlaskClient) -> None:
    r = client.get(
        "/sparql?" + _qs(query="ASK {}"),
        headers={"Accept": "application/sparql-results+xml, application/sparql-results+json"},
    )
    assert r.status_code == 200 and _boolean(r) is True


@pytest.mark.parametrize("form", ["DESCRIBE", "CONSTRUCT"])
def test_query_content_type_graph(client: FlaskClient, form: str) -> None:
    query = f"DESCRIBE <{D1}>" if form == "DESCRIBE" else "CONSTRUCT { <s:> <p:> 1 } {}"
    r = client.get(
        "/sparql?" + _qs(query=query),
        headers={"Accept": "application/rdf+xml, application/n-triples, text/turtle"},
    )
    assert r.status_code == 200
    assert r.mimetype in {"application/rdf+xml", "application/n-triples", "text/turtle"}


def test_bad_query_method(client: FlaskClient) -> None:
    r = client.put("/sparql?" + _qs(query="ASK {}"))
    assert r.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}


def test_bad_multiple_queries(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query=["ASK {}", "SELECT * {}"]))
    assert r.status_code == 400 and "more than one 'query'" in r.get_data(as_text=True)
    r = client.post(
        "/sparql?" + _qs(query="ASK {}"),
        data="query=" + quote("SELECT * {}"),
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 400


def test_bad_query_wrong_media_type(client: FlaskClient) -> None:
    r = client.post("/sparql", data="ASK {}", content_type="text/plain")
    assert r.status_code == 415 and "application/sparql-query" in r.get_data(as_text=True)


def test_bad_query_missing_form_type(client: FlaskClient) -> None:
    r = client.post("/sparql", data="query=ASK%20%7B%7D", headers={"Content-Type": ""})
    assert 400 <= r.status_code < 500 and "Content-Type" in r.get_data(as_text=True)


def test_bad_query_missing_direct_type(client: FlaskClient) -> None:
    r = client.post("/sparql", data="ASK {}", headers={"Content-Type": ""})
    assert 400 <= r.status_code < 500


def test_bad_query_non_utf8(client: FlaskClient) -> None:
    body = 'ASK { FILTER ("ü" = "ü") }'
    r = client.post(
        "/sparql",
        data=body.encode("utf-16"),
        content_type="application/sparql-query; charset=UTF-16",
    )
    assert r.status_code == 415 and "UTF-8" in r.get_data(as_text=True)
    r = client.post("/sparql", data=body.encode("latin-1"), content_type="application/sparql-query")
    assert r.status_code == 400 and "not UTF-8" in r.get_data(as_text=True)
    r = client.post(
        "/sparql",
        data=b"query=ASK%20%7B%20FILTER(%22%FC%22)%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 400 and "not UTF-8" in r.get_data(as_text=True)


def test_bad_query_syntax(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(query="ASK {"))
    assert r.status_code == 400
    text = r.get_data(as_text=True)
    assert "syntax error" in text and "1:6" in text  # the parser's line:column


def test_bad_update_get(client: FlaskClient) -> None:
    r = client.get("/sparql?" + _qs(update=f"CLEAR GRAPH <{D1}>"))
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize(
    ("data", "ctype"),
    [
        (f"update=CLEAR%20GRAPH%20%3C{quote(D1, safe='')}%3E", "application/x-www-form-urlencoded"),
        (f"CLEAR GRAPH <{D1}>", "application/sparql-update"),
        (f"query=CLEAR%20GRAPH%20%3C{quote(D1, safe='')}%3E", "application/x-www-form-urlencoded"),
        (f"DROP GRAPH <{D1}>", "application/sparql-query"),
    ],
)
def test_updates_are_refused_on_every_route(client: FlaskClient, data: str, ctype: str) -> None:
    r = client.post("/sparql", data=data, content_type=ctype)
    assert r.status_code == 403 and "read-only" in r.get_data(as_text=True)
    r = client.get("/sparql?" + _qs(query=f"ASK {{ <{D1}> a ?t }}"))
    assert _boolean(r) is True


#: What SPARQLWrapper sends for each of its return formats: its name as ``format``, ``output``
#: and ``results``, plus the media type beside the name for three of them, and its Accept.
SPARQLWRAPPER = {
    "json": (
        [],
        "application/sparql-results+json,application/json,text/javascript,application/javascript",
    ),
    "xml": ([], "application/sparql-results+xml"),
    "csv": ([], "text/csv"),
    "tsv": (["text/tab-separated-values"], "text/tab-separated-values"),
    "turtle": ([], "application/turtle,text/turtle"),
    "n3": (
        [],
        "application/turtle,text/turtle,text/rdf+n3,application/n-triples,application/n3,text/n3",
    ),
    "rdf+xml": (["application/rdf+xml"], "application/rdf+xml"),
    "rdf": ([], "*/*"),
    "json-ld": (["application/ld+json"], "application/ld+json,application/x-json+ld"),
}
#: The syntax each name means for (a SELECT or ASK, a CONSTRUCT or DESCRIBE); None: no fit (406).
MEANS = {
    "json": ("application/sparql-results+json", "application/ld+json"),
    "xml": ("application/sparql-results+xml", "application/rdf+xml"),
    "csv": ("text/csv", None),
    "tsv": ("text/tab-separated-values", None),
    "turtle": (None, "text/turtle"),
    "n3": (None, "text/turtle"),
    "rdf+xml": (None, "application/rdf+xml"),
    "rdf": (None, "application/rdf+xml"),
    "json-ld": (None, "application/ld+json"),
}


@pytest.mark.parametrize("name", list(SPARQLWRAPPER))
@pytest.mark.parametrize(
    "query",
    ["SELECT (1 AS ?value) {}", "ASK {}", f"DESCRIBE <{D1}>", "CONSTRUCT { <s:> <p:> 1 } {}"],
    ids=["select", "ask", "describe", "construct"],
)
def test_content_types_through_sparqlwrapper_formats(
    client: FlaskClient, name: str, query: str
) -> None:
    """The content-type checks above, with the parameters SPARQLWrapper adds (which override
    Accept): each answer is in the syntax the name means for the query's form, or a 406 that
    says none fits, by GET, form POST and direct POST."""
    extra, accept = SPARQLWRAPPER[name]
    fmt = [name, *extra]
    params = {"format": fmt, "output": fmt, "results": fmt}
    graph = query.startswith(("DESCRIBE", "CONSTRUCT"))
    expected = MEANS[name][1 if graph else 0]
    for r in (
        client.get("/sparql?" + _qs(query=query, **params), headers={"Accept": accept}),
        client.post(
            "/sparql",
            data=_qs(query=query, **params),
            content_type="application/x-www-form-urlencoded",
            headers={"Accept": accept},
        ),
        client.post(
            "/sparql?" + _qs(**params),
            data=query,
            content_type="application/sparql-query",
            headers={"Accept": accept},
        ),
    ):
        if expected is None:
            assert r.status_code == 406, r.data
            assert b"no acceptable format" in r.data
        else:
            assert r.status_code == 200, r.data
            assert r.mimetype == expected
