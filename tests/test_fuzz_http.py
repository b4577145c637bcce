"""A bounded HTTP fuzz run against the demo server (`collectomics demo`, for real on 127.0.0.1):
random and malformed requests to every route - methods, paths, query strings, headers, bodies,
bad UTF-8, huge URLs, broken chunked bodies. No answer is a 500, none hangs (every request has
a socket timeout), and the server still answers afterwards.

Raw sockets, not an HTTP client: a client library would refuse to send most of these. The run is
a fixed number of requests from a fixed seed; a failure prints the request to replay.
"""

from __future__ import annotations

import json
import random
import socket
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REQUESTS = 2000
SEED = 20261125
TIMEOUT = 45.0  # above the 30 s query_timeout, after which the server answers 503 itself

BASE = "https://w3id.org/collectomics/"
ENTITY_PATHS = [
    "/specimen/f92177f9-c37c-11e6-9598-0800200c9a66",
    "/specimen/f92177f9-c37c-11e6-9598-0800200c9a66/event",
    "/dataset/gbif-0009886-250127130748423",
    "/agent/x",
    "/person/",
    "/document/none",
    "/media/%ff",
    "/graph/demo-people",
    "/ontology",
]
ROUTES = [
    "/", "/sparql", "/query", "/queries", "/queries/specimens-by-country",
    "/queries/co-collectors", "/queries/no-such-query", "/reconcile", "/reconcile/preview",
    "/reconcile/properties", "/reconcile/suggest/entity", "/reconcile/suggest/property",
    "/reconcile/suggest/type", "/reconcile/view", "/void", "/.well-known/void", "/health",
    "/dashboard", "/views/itinerary", "/views/network", "/views/timeline", "/rdf-graph-store",
    "/assets/views/app.js", "/assets/yasgui/yasgui.min.js", "/static/../../etc/passwd",
    "/openapi.json",
]  # fmt: skip
QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
    "ASK { ?s a <http://rs.tdwg.org/dwc/terms/PreservedSpecimen> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5",
    "DESCRIBE <https://w3id.org/collectomics/specimen/f92177f9-c37c-11e6-9598-0800200c9a66>",
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> SELECT ?c (COUNT(*) AS ?n) { ?s dwc:countryCode ?c } GROUP BY ?c",
    "INSERT DATA { <a:b> <a:c> <a:d> }",
    "SELECT ?x WHERE { BIND(1/0 AS ?x) }",
    'SELECT * { ?s ?p "\\u0000" }',
    "SELECT * { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    # PORT: a socket of the test's that must receive no connection (SERVICE is off)
    "SELECT * { SERVICE <http://127.0.0.1:PORT/sparql> { ?s ?p ?o } }",
    "PREFIX e: <http://127.0.0.1:PORT/> ASK { SERVICE SILENT e:sparql { ?s ?p ?o } }",
]  # fmt: skip
PARAMS = [
    "query", "update", "default-graph-uri", "named-graph-uri", "format", "output", "callback",
    "graph", "default", "queries", "q", "id", "type", "prefix", "cursor", "limit", "offset",
    "page", "country", "agent", "name", "callback", "_", "lang",
]  # fmt: skip
ACCEPTS = [
    "*/*", "application/sparql-results+json", "application/sparql-results+xml", "text/csv",
    "text/turtle", "application/ld+json", "application/n-quads", "text/html", "image/png",
    "text/*;q=0.x", "application/json;q=abc, */*;q=", ",,,", "\xff\xfe", "a" * 5000,
]  # fmt: skip
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update",
    "application/json", "text/turtle", "application/n-triples", "multipart/form-data; boundary=x",
    "multipart/form-data", "text/plain; charset=utf-16", "application/x-www-form-urlencoded; charset=latin-1",
    "", "garbage/;;;",
]  # fmt: skip
METHODS = (
    ["GET"] * 6
    + ["POST"] * 4
    + ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "G ET"]
)


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 6)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, rng.choice("{}<>\"'?.;()\\#%\x00\u00e9\ud800 \n" + "SELECTWHERE"))
        else:
            chars[pos:pos] = list(rng.choice(QUERIES))
    return "".join(chars)


def _value(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.35:
        return urllib.parse.quote(
            _mutate(rng, rng.choice(QUERIES)), safe="", errors="surrogatepass"
        ).encode()
    if pick < 0.5:
        return rng.choice(
            [
                b"%ff%fe",
                b"%00",
                b"%zz",
                b"%",
                b"\xff",
                b"%C3%28",
                b"-1",
                b"1e309",
                b"99999999999999999999",
            ]
        )
    if pick < 0.6:
        batch = {
            f"q{i}": {"query": _mutate(rng, "Smith, J."), "limit": rng.choice([3, -1, "x", None])}
            for i in range(rng.randint(0, 12))
        }
        return urllib.parse.quote(json.dumps(batch) if rng.random() < 0.8 else "{not json").encode()
    if pick < 0.7:
        return urllib.parse.quote(BASE + rng.choice(ENTITY_PATHS).lstrip("/")).encode()
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))


def _target(rng: random.Random) -> bytes:
    path = rng.choice(
        ROUTES
        + ENTITY_PATHS
        + [
            "/" + "x" * rng.randint(1, 3000),
            "/%ff",
            "/a/../../b",
            "//sparql",
            "*",
            "http://evil/sparql",
        ]
    )
    if rng.random() < 0.1:
        path = _mutate(rng, path)
    pairs = [rng.choice(PARAMS).encode() + b"=" + _value(rng) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.03:  # longer than max_request_bytes (1 MiB): 414
        pairs.append(b"query=" + b"A" * ((1 << 20) + 10))
    query = b"&".join(pairs)
    raw = path.encode("utf-8", "surrogatepass")
    return raw + (b"?" + query if query or rng.random() < 0.1 else b"")


def _request(rng: random.Random, host: str) -> tuple[bytes, bool]:
    """A request's bytes, and whether it may be cut off (the server may close without an answer)."""
    method = rng.choice(METHODS).encode()
    target = _target(rng)
    version = rng.choice([b"HTTP/1.1"] * 8 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 x"])
    headers = [b"Host: " + host.encode(), b"Connection: close"]
    if rng.random() < 0.7:
        headers.append(b"Accept: " + rng.choice(ACCEPTS).encode("utf-8", "surrogatepass"))
    if rng.random() < 0.2:
        headers.append(
            rng.choice(
                [
                    b"Authorization: Bearer x",
                    b"Origin: http://evil",
                    b"X-\xff: \xfe",
                    b"Accept-Encoding: gzip",
                    b"Expect: 100-continue",
                    b"Bad header line",
                    b"Cookie: " + b"c" * 9000,
                    b"Accept-Language: *;q=2",
                ]
            )
        )
    body = b""
    cut = False
    if method in (b"POST", b"PUT", b"PATCH") or rng.random() < 0.1:
        kind = rng.random()
        if kind < 0.4:
            body = b"&".join(
                rng.choice(PARAMS).encode() + b"=" + _value(rng) for _ in range(rng.randint(1, 3))
            )
        elif kind < 0.6:
            body = _mutate(rng, rng.choice(QUERIES)).encode("utf-8", "surrogatepass")
        elif kind < 0.75:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        elif kind < 0.8:
            body = b"x" * ((1 << 20) + 10)  # over max_request_bytes: 413
        headers.append(b"Content-Type: " + rng.choice(CONTENT_TYPES).encode())
        framing = rng.random()
        if framing < 0.75:
            headers.append(b"Content-Length: %d" % len(body))
        elif framing < 0.85:
            headers.append(b"Transfer-Encoding: chunked")
            body = (
                (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
                if rng.random() < 0.7
                else b"zz\r\n" + body
            )
            cut = True
        elif framing < 0.95:
            headers.append(
                rng.choice([b"Content-Length: -5", b"Content-Length: abc", b"Content-Length: 1, 2"])
            )
            cut = True
        else:  # says more than it sends: the client gives up, the server must not hang for it
            headers.append(b"Content-Length: %d" % (len(body) + 100))
            cut = True
    return method + b" " + target + b" " + version + b"\r\n" + b"\r\n".join(
        headers
    ) + b"\r\n\r\n" + body, cut


def _send(port: int, data: bytes, cut: bool) -> int | None:
    """The status the server answers, None if it closed without answering (allowed if ``cut``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        try:
            sock.sendall(data)
            if cut:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # it answered (413, 414, 431) and closed before reading everything
        response = b""
        try:
            while chunk := sock.recv(65536):
                response += chunk
        except ConnectionResetError:
            pass
    if not response:
        return None
    while response.startswith(b"HTTP/1.1 100 "):  # the interim answer to Expect: 100-continue
        response = response.split(b"\r\n\r\n", 1)[1]
    if not response:
        return None
    status_line = response.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), status_line[:200]
    return int(status_line.split(b" ")[1])


def _health(port: int) -> int | None:
    return _send(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False)


def test_random_and_malformed_requests_never_get_a_500(demo_site: tuple[str, Path]) -> None:
    base, _ = demo_site
    port = int(base.rsplit(":", 1)[1])
    rng = random.Random(SEED)
    statuses: Counter[int | None] = Counter()
    listener = socket.create_server(("127.0.0.1", 0))
    target = str(listener.getsockname()[1]).encode()
    for number in range(REQUESTS):
        data, cut = _request(rng, f"127.0.0.1:{port}")
        data = data.replace(b"PORT", target)
        try:
            status = _send(port, data, cut)
        except TimeoutError:
            raise AssertionError(f"request {number} hung: {data[:300]!r}") from None
        statuses[status] += 1
        assert status != 500, f"request {number} got a 500: {data[:500]!r}"
        assert status is not None or cut, f"request {number} got no answer: {data[:300]!r}"
        assert status is None or 100 <= status < 600
    print(dict(statuses))  # what the run exercised (pytest -s shows it)
    assert _health(port) == 200
    listener.settimeout(0.5)
    with pytest.raises(TimeoutError):  # no request made the server connect anywhere
        listener.accept()
    listener.close()
    # The run did reach the answers, the refusals and the limits.
    assert statuses[200] > 50 and statuses[400] > 20 and statuses[404] > 10
    assert statuses[405] > 0 and statuses[413] > 0 and statuses[414] > 0


def test_slow_pages_get_a_503_and_the_server_lives_on(
    demo_site: tuple[str, object], tmp_path: Path
) -> None:
    """`serve` on the demo graph with a 1 ms budget: a dataset's page answers 503 naming
    query_timeout, and so do a depth-2 network without limit as GEXF and a timeline unless the
    work that ran on has filled their caches (then 200); the processes that overran are
    replaced, and the server answers /health after every one."""
    import requests

    from helpers import start_serve

    _, location = demo_site
    base, proc = start_serve(
        location,  # type: ignore[arg-type]
        tmp_path,
        {"COLLECTOMICS_QUERY_TIMEOUT": "0.001", "COLLECTOMICS_WORKERS": "2"},
    )
    agent = BASE + "agent/gbif-0009886-250127130748423/cesar-blanche-0ce61d1c"
    heavy = [
        ("/dataset/gbif-0009886-250127130748423", {}),
        ("/views/network", {"iri": agent, "depth": "2", "limit": "0", "format": "gexf"}),
        ("/views/timeline", {"iri": agent}),
    ]
    try:
        for _ in range(3):
            for path, params in heavy:
                r = requests.get(base + path, params=params, timeout=TIMEOUT)
                if path.startswith("/dataset/") or r.status_code != 200:
                    assert r.status_code == 503 and "query_timeout" in r.text, (path, r.text)
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert requests.get(base + "/health", timeout=TIMEOUT).status_code == 200
    finally:
        proc.terminate()
        _, errors = proc.communicate(timeout=30)
    assert "Traceback" not in errors, errors


# -- request framing: what a proxy in front could read differently (request smuggling) --------

#: (request bytes, the status it must get). Every one is answered at once and the connection
#: closed: none may hang waiting for a body the server miscounted.
ASK = b"query=ASK%7B%7D"
FORM = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
FRAMING: list[tuple[str, bytes, int]] = [
    ("two equal Content-Length", FORM + b"Content-Length: 15\r\nContent-Length: 15\r\n\r\n" + ASK, 400),
    ("two Content-Length", FORM + b"Content-Length: 15\r\nContent-Length: 3\r\n\r\n" + ASK, 400),
    ("Content-Length: +15", FORM + b"Content-Length: +15\r\n\r\n" + ASK, 400),
    ("Content-Length: 0x0f", FORM + b"Content-Length: 0x0f\r\n\r\n" + ASK, 400),
    ("Content-Length: 1_5", FORM + b"Content-Length: 1_5\r\n\r\n" + ASK, 400),
    ("Content-Length: 15 15", FORM + b"Content-Length: 15 15\r\n\r\n" + ASK, 400),
    ("Content-Length and chunked",
     FORM + b"Content-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("two Transfer-Encoding",
     FORM + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding: xchunked", FORM + b"Transfer-Encoding: xchunked\r\n\r\nf\r\n" + ASK + b"\r\n0\r\n\r\n", 501),
    ("Transfer-Encoding: gzip, chunked",
     FORM + b"Transfer-Encoding: gzip, chunked\r\n\r\nf\r\n" + ASK + b"\r\n0\r\n\r\n", 501),
    ("chunked in HTTP/1.0",
     FORM.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Transfer-Encoding: chunked\r\n\r\nf\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("chunk size +f", FORM + b"Transfer-Encoding: chunked\r\n\r\n+f\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("chunk size 0xf", FORM + b"Transfer-Encoding: chunked\r\n\r\n0xf\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("chunk longer than its size", FORM + b"Transfer-Encoding: chunked\r\n\r\n3\r\n" + ASK + b"\r\n0\r\n\r\n", 400),
    ("space before the colon", FORM + b"Content-Length : 15\r\n\r\n" + ASK, 400),
    ("a folded header line", FORM + b"X-A: 1\r\n  folded\r\nContent-Length: 15\r\n\r\n" + ASK, 400),
    ("Content_Length is not Content-Length", FORM + b"Content_Length: 15\r\nConnection: close\r\n\r\n" + ASK, 400),
    ("a header line without a colon", FORM + b"Content-Length 15\r\n\r\n" + ASK, 400),
    ("LF-only line ends", b"GET /sparql?query=ASK%7B%7D HTTP/1.1\nHost: x\nConnection: close\n\n", 200),
    ("LF-only line ends and a body",
     FORM.replace(b"\r\n", b"\n") + b"Content-Length: 15\nConnection: close\n\n" + ASK, 200),
    ("LF-only chunked body",
     FORM.replace(b"\r\n", b"\n") + b"Transfer-Encoding: chunked\nConnection: close\n\nf\n" + ASK + b"\n0\n\n", 200),
]  # fmt: skip


def _answer(port: int, data: bytes, timeout: float = 10.0) -> int | None:
    """The status of the answer to ``data`` sent without closing our side: a server that waits
    for more of the body than was sent times out here."""
    from helpers import raw_answer

    response = raw_answer(port, data, timeout=timeout)
    if not response:
        return None
    return int(response.split(b" ", 2)[1])


@pytest.mark.parametrize("name, data, status", FRAMING, ids=[c[0] for c in FRAMING])
def test_request_framing_is_strict(
    demo_site: tuple[str, Path], name: str, data: bytes, status: int
) -> None:
    port = int(demo_site[0].rsplit(":", 1)[1])
    try:
        got = _answer(port, data)
    except TimeoutError:
        raise AssertionError(
            f"{name}: no answer within 10 s (the server waits for a body)"
        ) from None
    assert got == status, f"{name}: {got}"
    assert _health(port) == 200


# -- queries that would overflow the SPARQL parser's stack --------------------------------------

P = "<http://example.org/p>"
SIZES = (100, 300, 1000, 3000, 20000)
HOSTILE = {
    "braces": lambda n: "SELECT * WHERE " + "{" * n + "?s ?p ?o" + "}" * n,
    "parentheses": lambda n: "SELECT * WHERE { FILTER(" + "(" * n + "1" + ")" * n + ") }",
    "brackets": lambda n: f"SELECT * WHERE {{ ?s {P} " + f"[ {P} " * n + "1" + " ]" * n + " }",
    "nested subqueries": lambda n: "SELECT * WHERE "
    + "{ SELECT * WHERE " * n
    + "{ ?s ?p ?o }"
    + " }" * n,
    "flat triple patterns": lambda n: "SELECT * WHERE { "
    + " ".join(f"?s{i} {P} ?o{i} ." for i in range(n))
    + " }",
    "object lists": lambda n: f"SELECT * WHERE {{ ?s {P} " + ", ".join(f"?o{i}" for i in range(n)) + " }",
    "property paths": lambda n: "SELECT * WHERE { ?s " + "/".join([P] * n) + " ?o }",
    "unions": lambda n: "SELECT * WHERE { " + " UNION ".join([f"{{ ?s {P} ?o }}"] * n) + " }",
    "huge VALUES": lambda n: "SELECT * WHERE { VALUES ?x { "
    + " ".join(str(i) for i in range(n))
    + " } }",
}  # fmt: skip
#: What each kind must get at each size with the default limits (max_query_depth 64,
#: max_query_patterns 200): nesting is refused from 100 levels, long groups from 300 elements;
#: VALUES data is not complex and is answered.
NESTING = {"braces", "parentheses", "brackets", "nested subqueries"}


def _expected(kind: str, size: int) -> int:
    if kind == "huge VALUES":
        return 200
    if kind in NESTING:
        return 400
    return 200 if size <= 100 else 400


def test_queries_that_would_overflow_the_parser_get_a_400_and_kill_no_worker(
    tmp_path: Path, demo_site: tuple[str, Path]
) -> None:
    """The 45 variants (9 kinds x 5 sizes), each followed by a good request: every hostile one
    is answered (a 400, or a 200 for what fits), the good one after it too, and no worker
    process of the server died (its master logs every death)."""
    import subprocess

    import requests

    from helpers import start_serve

    _, location = demo_site
    base, proc = start_serve(location, tmp_path, {"COLLECTOMICS_WORKERS": "2"})
    sent = 0
    got: Counter[int | None] = Counter()
    try:
        for kind, make in HOSTILE.items():
            for size in SIZES:
                query = make(size)
                try:
                    r = requests.post(
                        base + "/sparql",
                        data=query.encode(),
                        headers={
                            "Content-Type": "application/sparql-query",
                            "Accept": "application/sparql-results+json",
                        },
                        timeout=60,
                    )
                    status: int | None = r.status_code
                except requests.ConnectionError:
                    status = None  # the worker holding the connection died
                sent += 1
                got[status] += 1
                assert status == _expected(kind, size), f"{kind} x {size}: {status}"
                if status == 400:
                    assert "max_query_" in r.text, r.text
                good = requests.get(
                    base + "/sparql",
                    params={"query": "ASK { ?s ?p ?o }"},
                    headers={"Accept": "application/sparql-results+json"},
                    timeout=60,
                )
                assert good.status_code == 200 and good.json()["boolean"] is True
    finally:
        proc.terminate()
        try:
            _, log = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, log = proc.communicate()
    print(f"{sent} hostile queries sent, each followed by a good one: {dict(got)}")
    assert sent == 45
    assert "died" not in log and "Traceback" not in log, log
