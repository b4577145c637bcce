"""The HTTP server of `collectomics serve` (``collectomics.web.server``) spoken to over raw sockets:
keep-alive and pipelining, chunked bodies, ``Expect: 100-continue``, HEAD, size limits, streamed
answers, canned queries, and updates with a token applied by any of the worker processes."""

from __future__ import annotations

import gzip
import http.client
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from helpers import new_location, run_cli, start_serve, suite_backend

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pre-fork server"),
]

FIX = Path(__file__).resolve().parent / "data" / "ingest"
#: specimens-mixed.csv holds 4 specimen records (one without catalogue number, keyed by its row)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }"
BIG = "CONSTRUCT { ?a ?b ?x } WHERE { ?a ?b ?c . ?d ?e ?f BIND(CONCAT(STR(?c), STR(?f)) AS ?x) }"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    workdir = tmp_path_factory.mktemp("server")
    store = new_location(request, workdir / "s.db")
    r = run_cli(
        "ingest", str(FIX / "specimens-mixed.csv"), str(FIX / "people-mixed.csv"), store=store
    )
    assert r.returncode == 0, r.stderr
    base, proc = start_serve(
        store,
        workdir,
        dict(
            COLLECTOMICS_WORKERS="2",
            COLLECTOMICS_QUERY_TIMEOUT="20",
            COLLECTOMICS_MAX_REQUEST_BYTES="8192",
            COLLECTOMICS_ALLOW_UPDATES="true",
            COLLECTOMICS_UPDATE_TOKEN="s3cret",
        ),
    )
    yield int(base.rsplit(":", 1)[1])
    proc.terminate()
    _, errors = proc.communicate(timeout=30)
    assert "Traceback" not in errors, errors


def _read_response(sock: socket.socket, buffer: bytearray, head_only: bool = False) -> bytes:
    """One response (head and body) from ``sock``; what follows stays in ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, "the connection closed before a response"
        buffer += data
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    lower = head.lower()
    if head_only:
        return head
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(buffer) < length:
            buffer += sock.recv(65536)
        body = bytes(buffer[:length])
        del buffer[:length]
        return head + body
    assert b"transfer-encoding: chunked" in lower
    body = bytearray()
    while True:
        while b"\r\n" not in buffer:
            buffer += sock.recv(65536)
        line_end = buffer.index(b"\r\n")
        size = int(buffer[:line_end], 16)
        del buffer[: line_end + 2]
        while len(buffer) < size + 2:
            buffer += sock.recv(65536)
        body += buffer[:size]
        del buffer[: size + 2]
        if size == 0:
            return head + bytes(body)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock


def _get(query: str, extra: str = "") -> bytes:
    from urllib.parse import quote

    return (f"GET /sparql?query={quote(query)} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").encode()


def test_keep_alive_and_pipelined_requests(server: int) -> None:
    with _connect(server) as sock:
        buffer = bytearray()
        sock.sendall(_get(COUNT) + _get("ASK { ?s ?p ?o }"))
        first = _read_response(sock, buffer)
        second = _read_response(sock, buffer)
        assert first.startswith(b"HTTP/1.1 200") and b'"value":"4"' in first
        assert b"Content-Length:" in first and b"Access-Control-Allow-Origin: *" in first
        assert second.startswith(b"HTTP/1.1 200") and b'"boolean":true' in second
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        last = _read_response(sock, buffer)
        assert b"Connection: close" in last and b'"status":"ok"' in last
        assert sock.recv(10) == b""  # closed


def test_chunked_body_and_expect_continue(server: int) -> None:
    with _connect(server) as sock:
        body = COUNT.encode()
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        half = len(body) // 2
        sock.sendall(
            b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (half, body[:half], len(body) - half, body[half:])
        )
        response = _read_response(sock, bytearray())
        assert response.startswith(b"HTTP/1.1 200") and b'"value":"4"' in response


def test_head_has_the_headers_of_get_and_no_body(server: int) -> None:
    with _connect(server) as sock:
        buffer = bytearray()
        sock.sendall(_get(COUNT).replace(b"GET", b"HEAD", 1) + _get(COUNT))
        head = _read_response(sock, buffer, head_only=True)
        assert head.startswith(b"HTTP/1.1 200") and b"application/sparql-results+json" in head
        after = _read_response(sock, buffer)  # the next response follows at once: no body
        assert after.startswith(b"HTTP/1.1 200")


def test_size_limits(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    r = requests.post(
        base + "/sparql",
        data=("# " + "x" * 9000 + "\n" + COUNT).encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert r.status_code == 413 and "max_request_bytes" in r.text
    r = requests.get(
        base + "/sparql", params={"query": "# " + "x" * 9000 + "\n" + COUNT}, timeout=30
    )
    assert r.status_code == 414 and "POST" in r.text
    r = requests.get(
        base + "/sparql", params={"query": "# " + "x" * 6000 + "\n" + COUNT}, timeout=30
    )
    assert r.status_code == 200


def test_streamed_answer_and_a_client_that_leaves(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    r = requests.get(
        base + "/sparql",
        params={"query": BIG},
        headers={"Accept": "application/n-triples"},
        stream=True,
        timeout=60,
    )
    assert r.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in r.headers
    assert sum(chunk.count(b"\n") for chunk in r.iter_content(1 << 16)) > 10_000
    for _ in range(3):
        r = requests.get(base + "/sparql", params={"query": BIG}, stream=True, timeout=60)
        next(r.iter_content(1024))
        r.close()
    r = requests.get(base + "/sparql", params={"query": COUNT}, timeout=30)
    assert r.json()["results"]["bindings"][0]["n"]["value"] == "4"


def test_canned_queries_and_flask_routes(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    names = [q["name"] for q in requests.get(base + "/queries", timeout=30).json()]
    assert names
    r = requests.get(f"{base}/queries/{names[0]}", params={"format": "csv"}, timeout=30)
    assert r.status_code in (200, 400) and r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.options(base + "/sparql", timeout=30)
    assert r.status_code == 200 and "POST" in r.headers["Access-Control-Allow-Methods"]
    r = requests.put(base + "/sparql", timeout=30)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_updates_from_any_worker_process(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    token = {"Authorization": "Bearer s3cret"}
    graph = "https://w3id.org/collectomics/graph/notes"
    for i in range(6):  # new connections: both processes take some; one writer at a time
        r = requests.post(
            base + "/rdf-graph-store",
            params={"graph": graph},
            data=f"<urn:test:s> <urn:test:p> {i} .",
            headers={**token, "Content-Type": "text/turtle"},
            timeout=30,
        )
        assert r.status_code in (201, 204), r.text
    # an update writes to a dataset (a graph that is none answers 400), and is seen at once
    update = f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:test:s> <urn:test:p> 7 }} }}"
    r = requests.post(
        base + "/sparql",
        data=update,
        headers={**token, "Content-Type": "application/sparql-update"},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    r = requests.post(
        base + "/sparql",
        data=update,
        headers={"Content-Type": "application/sparql-update"},
        timeout=30,
    )
    assert r.status_code == 401
    # Every process sees the new data: at once on disk (a change of the store's files reopens
    # its handle), within the catalog's time to live (1 s) on a remote store (docs/scaling.md).
    deadline = time.monotonic() + (0 if suite_backend() is None else 2)
    for _ in range(4):
        while True:
            r = requests.get(
                base + "/sparql",
                params={"query": "SELECT (COUNT(*) AS ?n) { <urn:test:s> <urn:test:p> ?o }"},
                timeout=30,
            )
            n = r.json()["results"]["bindings"][0]["n"]["value"]
            if n == "7" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert n == "7"


def _workers(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(x) for x in (task / "children").read_text().split()]
    return found


def _owner(port: int, client_port: int, pids: list[int]) -> int | None:
    """The worker process holding the server side of our connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            inode = fields[9]
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
        except (FileNotFoundError, PermissionError):
            continue
    return None


def test_worker_crashes_never_stop_the_master(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Six workers killed by SIGSEGV one after another, each soon after it started serving
    (the old policy exited after five quick deaths): the master stays, replaces each one after
    a back-off, says why in its log, and the server answers afterwards."""
    store = new_location(request, tmp_path / "s.db")
    r = run_cli("ingest", str(FIX / "specimens-mixed.csv"), store=store)
    assert r.returncode == 0, r.stderr
    base, proc = start_serve(store, tmp_path, {"COLLECTOMICS_WORKERS": "2"})
    port = int(base.rsplit(":", 1)[1])
    killed: list[int] = []
    try:
        for _ in range(6):
            # The worker that answers a request on this connection has started serving. On a
            # busy machine the server side of the connection may be gone before /proc is read
            # (or a worker not yet listed): ask again on a new connection.
            pid = None
            for _attempt in range(20):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/health")
                assert conn.getresponse().read()
                pid = _owner(port, conn.sock.getsockname()[1], _workers(proc.pid))
                if pid is not None:
                    break
                conn.close()
                time.sleep(0.1)
            assert pid is not None, "no worker found holding the connection in 20 tries"
            os.kill(pid, signal.SIGSEGV)
            killed.append(pid)
            conn.close()
            time.sleep(0.2)
            assert proc.poll() is None, "the master exited"
        answer = requests.get(
            base + "/sparql", params={"query": COUNT}, headers={"Accept": "text/csv"}, timeout=60
        )
        assert answer.status_code == 200
        assert proc.poll() is None
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    assert log.count("died (killed by SIGSEGV)") == 6, log
    assert "failing to start" not in log, log


def _fetch(port: int, path: str, encoding: str | None, method: str = "GET") -> tuple[Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "application/n-triples, application/sparql-results+json;q=0.9"}
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


@pytest.mark.parametrize(
    "path",
    [
        "/sparql?query=" + quote(BIG),  # streamed by the fast path, past 64 KB
        "/sparql?query=" + quote("SELECT * WHERE { ?s ?p ?o }"),  # whole, with a length
        "/queries",  # a Flask page
    ],
)
def test_gzip_when_the_client_accepts_it(server: int, path: str) -> None:
    """The same bytes, gzipped for a client that accepts gzip, as they are for one that does
    not or refuses it with q=0, and never for HEAD or a small answer."""
    plain, body = _fetch(server, path, None)
    assert plain.status == 200 and len(body) > 2000
    assert plain.getheader("Content-Encoding") is None
    zipped, packed = _fetch(server, path, "br;q=1.0, gzip;q=0.8")
    assert zipped.status == 200 and zipped.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in zipped.getheader("Vary", "")
    assert gzip.decompress(packed) == body
    assert len(packed) < len(body) / 2
    refused, same = _fetch(server, path, "gzip;q=0, identity")
    assert refused.getheader("Content-Encoding") is None and same == body
    head, nothing = _fetch(server, path, "gzip", method="HEAD")
    assert head.getheader("Content-Encoding") is None and nothing == b""


def test_no_gzip_for_a_small_answer(server: int) -> None:
    small, body = _fetch(server, "/sparql?query=" + quote(COUNT), "gzip")
    assert small.status == 200 and small.getheader("Content-Encoding") is None
    assert b'"4"' in body


def test_the_servers_own_answers_carry_the_security_headers(server: int) -> None:
    """A 400 the HTTP server writes itself (a request framed two ways), not the app, carries
    nosniff, no-referrer and the strict Content-Security-Policy like every other answer."""
    request = (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: +15\r\n\r\nquery=ASK%7B%7D"
    )
    from helpers import raw_answer

    answer = raw_answer(server, request, until=b"\r\n\r\n", timeout=30)
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 400")
    assert "x-content-type-options: nosniff" in head
    assert "referrer-policy: no-referrer" in head
    assert "content-security-policy: default-src 'none'" in head


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _workers(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_a_killed_master_leaves_no_worker_behind(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The master killed with SIGKILL (it cannot stop its workers): its HTTP worker processes,
    and the query workers they started for a page's sections, end on their own, and the port is
    free for a new server, rather than orphans serving on for nobody's control."""
    store = new_location(request, tmp_path / "s.db")
    r = run_cli("ingest", str(FIX / "specimens-mixed.csv"), store=store)
    assert r.returncode == 0, r.stderr
    base, proc = start_serve(store, tmp_path, {"COLLECTOMICS_WORKERS": "2"})
    port = int(base.rsplit(":", 1)[1])
    family: list[int] = []
    try:
        for _ in range(4):  # a page section, computed in a query worker of an HTTP worker
            section = base + "/sections/whom?iri=" + quote("urn:x:nobody")
            assert requests.get(section, timeout=120).status_code == 200
        family = _descendants(proc.pid)
        assert len(family) >= 3, family  # two HTTP workers and a query worker at least
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a measure
        while any(not _ended(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in family if not _ended(p)] == []
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # nobody listens on it any more
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in family:  # what a failure would leave behind
            if not _ended(pid):
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
