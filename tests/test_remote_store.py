"""The remote store against real servers on 127.0.0.1 (`oxigraph serve`, Virtuoso): the same
store contract as tests/test_store.py, the bulk path, the servers' quirks, and ingest, query and
serve end to end through the CLI."""

from __future__ import annotations

import inspect
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from rdflib import Dataset
from rdflib.compare import isomorphic

import test_store as contract
from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, Literal
from collectomics.store import open_store
from collectomics.store.remote import RemoteStore, bind
from helpers import REAL, free_port, run_cli
from remote_servers import VIRTUOSO_MAX_ROWS, Server

ARCHIVE = REAL / "rgbif-gbif-downloads" / "0000066-140928181241064.zip"
CANNED = ("query", "specimens-by-country", "--param", "country=US")
BY_COUNTRY = (
    "SELECT ?country (COUNT(?s) AS ?specimens) WHERE { ?s a "
    "<http://rs.tdwg.org/dwc/terms/MaterialEntity> ; "
    "<http://rs.tdwg.org/dwc/terms/countryCode> ?country } GROUP BY ?country"
)
G1, G2 = contract.G1, contract.G2

#: Contract tests that are about the embedded store itself (a directory on disk).
_EMBEDDED_ONLY = {"test_dump_round_trips_on_disk", "test_read_only_handle_on_missing_store"}
CONTRACT = {
    name: case
    for name, case in vars(contract).items()
    if name.startswith("test_")
    and callable(case)
    and "store" in inspect.signature(case).parameters
    and name not in _EMBEDDED_ONLY
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_store_contract(name: str, remote_store: RemoteStore, tmp_path: Path) -> None:
    """Every test of tests/test_store.py that takes a store, on each remote backend."""
    case: Callable[..., None] = CONTRACT[name]
    kwargs: dict[str, Any] = {"store": remote_store}
    if "tmp_path" in inspect.signature(case).parameters:
        kwargs["tmp_path"] = tmp_path
    case(**kwargs)


def test_the_contract_is_not_empty() -> None:
    assert len(CONTRACT) >= 10, sorted(CONTRACT)


# -- dump, restore, and the bulk path ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["nquads", "trig"])
def test_dump_and_restore_round_trip(remote_store: RemoteStore, tmp_path: Path, fmt: str) -> None:
    contract._loaded(remote_store)  # type: ignore[arg-type]
    dump = tmp_path / f"dump.{fmt}"
    remote_store.dump(str(dump), fmt)
    remote_store.replace_graph("https://example.org/old", contract.DATA1, "ntriples")
    remote_store.restore(dump, fmt)
    assert remote_store.graphs() == [G1, G2]
    a, b = Dataset(), Dataset()
    a.parse(data=dump.read_bytes(), format=fmt)
    out = io.BytesIO()
    remote_store.dump(out, "nquads")
    b.parse(data=out.getvalue(), format="nquads")
    for g in (G1, G2):
        assert len(a.graph(IRI(g))) > 0
        assert isomorphic(a.graph(IRI(g)), b.graph(IRI(g))), f"{fmt}: graph {g} differs"
    turtle = io.BytesIO()
    remote_store.dump(turtle, "turtle")
    assert b'"two"@en' in turtle.getvalue()


def test_bulk_load_in_chunks_keeps_blank_nodes_whole(remote_server: Server) -> None:
    """Chunks of 1,000 lines; blank nodes spread over the whole input still join up."""
    store = remote_server.store(chunk_lines=1000)

    def produce(out: io.BufferedWriter) -> None:
        for i in range(5000):
            out.write(f'<https://ex.org/s{i}> <https://ex.org/p> "{i}" .\n'.encode())
            if i % 1000 == 0:
                out.write(f"<https://ex.org/s{i}> <https://ex.org/q> _:n{i} .\n".encode())
        for i in range(0, 5000, 1000):
            out.write(f'_:n{i} <https://ex.org/label> "node {i}" .\n'.encode())

    store.replace_graph_stream(G1, produce, lenient=True)
    assert store.count(G1) == 5010
    rows = list(
        store.query(
            "SELECT ?s ?label WHERE { ?s <https://ex.org/q> ?n . ?n <https://ex.org/label> ?label }"
        ).rows()
    )
    assert sorted((str(r["s"]), r["label"].value) for r in rows) == [  # type: ignore[union-attr]
        (f"https://ex.org/s{i}", f"node {i}") for i in range(0, 5000, 1000)
    ]
    assert store.count() == 5010


def test_rows_beyond_a_row_cap(remote_store: RemoteStore, remote_server: Server) -> None:
    """Virtuoso cuts answers at ResultSetMaxRows without a word in the body: a SELECT that hits
    it is an error, and the store's own reads (dump, catalog) page past it."""
    n = VIRTUOSO_MAX_ROWS + 5
    data = "".join(f'<https://ex.org/s{i}> <https://ex.org/p> "{i}" .\n' for i in range(n))
    assert remote_store.replace_graph(G1, data, "ntriples") == n
    query = "SELECT ?s WHERE { ?s ?p ?o }"
    if remote_server.kind == "virtuoso":
        with pytest.raises(QueryError, match="row cap of 20000 rows"):
            list(remote_store.query(query).rows())
    else:
        assert len(list(remote_store.query(query).rows())) == n
    assert len(list(remote_store.query(query + " LIMIT 10 OFFSET 20000").rows())) == 5
    out = io.BytesIO()
    remote_store.dump(out)
    assert len(set(out.getvalue().splitlines())) == n


def test_other_graphs_on_the_server_stay_invisible(
    remote_store: RemoteStore, remote_server: Server
) -> None:
    """Virtuoso's default graph is the union of every graph it holds: queries name theirs."""
    contract._loaded(remote_store)  # type: ignore[arg-type]
    requests.post(
        remote_server.update_url,
        data={
            "update": 'INSERT DATA { GRAPH <https://other.org/g> { <https://ex.org/x> <https://ex.org/p> "other" } }'
        },
        timeout=30,
    ).raise_for_status()
    assert not remote_store.query('ASK { ?s ?p "other" }').boolean
    assert not remote_store.query('ASK { GRAPH ?g { ?s ?p "other" } }').boolean
    assert remote_store.count() == 5
    assert remote_store.graphs() == [G1, G2]


def test_result_formats_are_ours_not_the_servers(remote_store: RemoteStore) -> None:
    """CSV/TSV come from our serializer (Virtuoso's are not standard), blank nodes included."""
    contract._loaded(remote_store)  # type: ignore[arg-type]
    result = remote_store.query("SELECT ?s ?o WHERE { ?s <https://ex.org/q> ?o }")
    assert result.variables == ["s", "o"]
    tsv = result.serialize("tsv")
    assert tsv is not None
    header, row = tsv.decode().splitlines()
    assert header == "?s\t?o"
    assert row.startswith("<https://ex.org/a>\t_:")
    csv = remote_store.query("SELECT ?o WHERE { <https://ex.org/a> <https://ex.org/q> ?o }")
    body = csv.serialize("csv")
    assert body is not None and body.decode().splitlines()[1].startswith("_:")


def test_bound_parameters_in_every_query_form(remote_store: RemoteStore) -> None:
    contract._loaded(remote_store)  # type: ignore[arg-type]
    a = IRI("https://ex.org/a")
    assert remote_store.query("ASK { ?s <https://ex.org/p> ?o }", params={"s": a}).boolean
    triples = list(
        remote_store.query(
            "CONSTRUCT { ?s <https://ex.org/seen> ?o } WHERE { ?s <https://ex.org/p> ?o }",
            params={"o": Literal("one")},
        ).triples()
    )
    assert triples == [(a, IRI("https://ex.org/seen"), Literal("one"))]
    rows = remote_store.query(
        "SELECT DISTINCT ?s WHERE { ?s ?p ?o }", params={"s": IRI("https://ex.org/c")}
    ).rows()
    assert [r["s"] for r in rows] == [IRI("https://ex.org/c")]


def test_bind_refuses_what_it_cannot_bind() -> None:
    with pytest.raises(QueryError, match="projection"):
        bind("SELECT ?o WHERE { ?s ?p ?o }", {"s": IRI("https://ex.org/a")})
    with pytest.raises(QueryError, match="WHERE"):
        bind("not a query", {"s": IRI("https://ex.org/a")})
    text = bind('SELECT * WHERE { ?s ?p "{" }', {"s": IRI("https://ex.org/a")})
    assert text == 'SELECT * WHERE { VALUES (?s) { (<https://ex.org/a>) }  ?s ?p "{" }'


def test_read_only_store_refuses_writes(remote_server: Server) -> None:
    store = remote_server.store(read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        store.replace_graph(G1, contract.DATA1, "ntriples")
    assert store.graphs() == []


# -- errors ------------------------------------------------------------------------------------


def test_unreachable_server_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(
        StoreError, match=f"cannot reach the SPARQL server at http://127.0.0.1:{port}/query"
    ):
        open_store(f"sparql+http://127.0.0.1:{port}/query")
    with pytest.raises(StoreError, match="sparql\\+http://HOST:PORT/query"):
        open_store("http://127.0.0.1:1/query")


def test_http_errors_carry_status_and_body(remote_server: Server) -> None:
    base = remote_server.query_url.rsplit("/", 1)[0]
    with pytest.raises((StoreError, QueryError), match="HTTP 404"):
        RemoteStore(base + "/no-such-endpoint")
    store = remote_server.store()
    with pytest.raises(QueryError, match="syntax error"):
        store.update("INSERT DATA { <broken }")
    wrong = remote_server.store()
    wrong.graph_store_url = base + "/no-such-graph-store"
    with pytest.raises(StoreError, match="HTTP 404"):
        wrong.replace_graph(G1, contract.DATA1, "ntriples")
    assert store.graphs() == []


def test_cli_reports_an_unreachable_server_without_a_traceback(tmp_path: Path) -> None:
    port = free_port()
    done = run_cli(
        "query",
        "count-by-country",
        env={"COLLECTOMICS_STORE": f"sparql+http://127.0.0.1:{port}/query"},
    )
    assert done.returncode == 2
    assert "cannot reach the SPARQL server" in done.stderr
    assert "Traceback" not in done.stderr


# -- end to end: ingest, query, serve ------------------------------------------------------------


def _rows(answer: str) -> list[tuple[str, ...]]:
    data = json.loads(answer)
    names = data["head"]["vars"]
    return sorted(
        tuple(row.get(n, {}).get("value", "") for n in names) for row in data["results"]["bindings"]
    )


@pytest.fixture(scope="module")
def local_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The reference: the same archive ingested into an embedded store, the same queries."""
    store = tmp_path_factory.mktemp("local") / "store.db"
    done = run_cli("ingest", str(ARCHIVE), store=store)
    assert done.returncode == 0, done.stderr
    canned = run_cli(*CANNED, store=store)
    by_country = run_cli("query", "-", store=store, input=BY_COUNTRY)
    assert canned.returncode == 0 and by_country.returncode == 0, canned.stderr + by_country.stderr
    return {"canned": canned.stdout, "by_country": by_country.stdout}


def _serve(server: Server, workdir: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env.update(server.env())
    env["COLLECTOMICS_MAX_ROWS"] = "50"
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectomics", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(base + "/health", timeout=5)
            break
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(
                    f"serve did not start: {proc.communicate()[1][-2000:]!r}"
                ) from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_ingest_query_and_serve_end_to_end(
    remote_server: Server, local_answers: dict[str, str], tmp_path: Path
) -> None:
    env = remote_server.env()
    done = run_cli("ingest", str(ARCHIVE), env=env)
    assert done.returncode == 0, done.stderr
    done = run_cli(*CANNED, env=env)
    assert done.returncode == 0, done.stderr
    assert _rows(done.stdout) == _rows(local_answers["canned"])
    assert len(_rows(done.stdout)) > 3
    again = run_cli("ingest", "--replace", str(ARCHIVE), env=env)  # a replace: a new version
    assert again.returncode == 0, again.stderr
    everything = json.loads(run_cli("stats", "--json", env=env).stdout)["graphs"]
    facets = [g for g in everything if g.endswith("/graph/facets")]
    assert len(facets) == 1  # rebuilt after each ingest (materialise_after_load), remotely too
    identities = [g for g in everything if g.endswith("/graph/identity")]
    assert len(identities) == 1  # refreshed after each ingest, remotely too
    graphs = [g for g in everything if g not in facets + identities]
    assert len(graphs) == 1
    store = remote_server.store()
    assert store.physical_graph(graphs[0]) == graphs[0] + "/v2"
    triples = store.count()  # the dataset's, the facets graph's and the identity graph's
    assert triples > store.count(graphs[0])

    for base in _serve(remote_server, tmp_path):
        health = requests.get(base + "/health", timeout=30).json()
        assert health["datasets"] == len(everything)
        query = BY_COUNTRY
        answer = requests.get(base + "/sparql", params={"query": query}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].startswith("application/sparql-results+json")
        assert _rows(answer.text) == _rows(local_answers["by_country"])
        assert len(_rows(answer.text)) > 3
        csv = requests.post(
            base + "/sparql", data={"query": query}, headers={"Accept": "text/csv"}, timeout=60
        )
        assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
        assert csv.text.splitlines()[0] == "country,specimens"
        construct = requests.get(
            base + "/sparql",
            params={
                "query": "CONSTRUCT WHERE { ?s <http://rs.tdwg.org/dwc/terms/countryCode> ?o }"
            },
            headers={"Accept": "text/turtle"},
            timeout=60,
        )
        assert construct.status_code == 200
        assert construct.headers["Content-Type"].startswith("text/turtle")
        assert b"countryCode" in construct.content
        big = requests.get(  # more than one 64 KB chunk: streamed through as it arrives
            base + "/sparql",
            params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5000"},
            headers={"Accept": "application/n-triples"},
            timeout=60,
        )
        assert big.status_code == 200 and big.headers.get("Transfer-Encoding") == "chunked"
        assert len(set(big.content.splitlines())) == 5000
        capped = requests.get(
            base + "/sparql",
            params={"query": "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", "format": "json"},
            timeout=60,
        )
        assert capped.headers.get("Collectomics-Max-Rows") == "50"
        assert len(capped.json()["results"]["bindings"]) == 50
        bad = requests.get(
            base + "/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"}, timeout=30
        )
        assert bad.status_code == 400 and "syntax error" in bad.text


# -- fixes found by running the whole suite on the servers ----------------------------------------


def test_a_graph_outside_the_dataset_matches_nothing(remote_store: RemoteStore) -> None:
    """Virtuoso answered `GRAPH <g> {...}` for a graph outside the query's dataset with one
    empty solution (an ASK true, a COUNT of 1), e.g. a dataset's name after a replace (its
    current version is `{g}/v2`), or the catalog."""
    contract._loaded(remote_store)  # type: ignore[arg-type]
    remote_store.replace_graph(G1, contract.DATA1, "ntriples")  # G1 now lives in G1/v2
    for graph in (G1, "urn:collectomics:catalog", "https://example.org/nothing"):
        assert not remote_store.query(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").boolean, graph
        rows = list(
            remote_store.query(
                f"PREFIX x: <{graph.rsplit('/', 1)[0]}/> "
                f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH x:{graph.rsplit('/', 1)[1]} {{ ?s ?p ?o }} }}"
                if graph.startswith("https")
                else f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            ).rows()
        )
        assert rows[0]["n"] == Literal(
            "0", datatype=IRI("http://www.w3.org/2001/XMLSchema#integer")
        )
    physical = remote_store.physical_graph(G2)
    assert physical is not None
    assert remote_store.query(f"ASK {{ GRAPH <{physical}> {{ ?s ?p ?o }} }}").boolean


def test_syntax_errors_say_where(remote_store: RemoteStore) -> None:
    """As the embedded store does: the parser's line and column, whatever the server says."""
    with pytest.raises(QueryError, match="syntax error.*1:6"):
        remote_store.query("ASK {")
    with pytest.raises(QueryError, match="update syntax error"):
        remote_store.update("INSERT DATA { <urn:a> <urn:b> }")


def test_readers_with_the_previous_catalog_still_see_the_replaced_version(
    remote_server: Server,
) -> None:
    """A read-only handle trusts its catalog for a second: the version it names stays on the
    server that long after a replace (it went at once, and such a reader saw the dataset
    missing), and goes when the writer closes."""
    writer = remote_server.store()
    writer.replace_graph(G1, contract.DATA1, "ntriples")
    reader = remote_server.store(read_only=True, catalog_ttl=60)
    assert reader.count() == 3
    writer.replace_graph(G1, contract.DATA2, "ntriples")
    assert reader.physical_graph(G1) == G1  # its copy of the catalog: the old version
    assert reader.count() == 3  # still there, not a dataset gone missing
    writer.close()
    assert G1 not in remote_server.graphs() and G1 + "/v2" in remote_server.graphs()
    assert remote_server.store(read_only=True).count() == 2
