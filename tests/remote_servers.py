"""Real SPARQL servers on 127.0.0.1 for the remote-store tests: `oxigraph serve` and Virtuoso,
and the one switch that points the whole suite at one of them.

Servers are pooled per kind for the test session: a test or fixture *leases* one (``lease``),
emptied for it by ``reset`` (our graphs only: Virtuoso keeps system graphs of its own), and gives
it back when it ends; a lease held by a module- or session-scoped fixture keeps its server for
that long, and the pool starts another server when every one is leased. So each store a test
makes is empty and its own, whatever its scope.

``COLLECTOMICS_TEST_BACKEND`` set to ``oxigraph-server`` or ``virtuoso`` (``python3 dev.py test
--backend KIND``) makes every store of the suite a RemoteStore on such a server: ``new_store``
(the ``store`` and ``make_store`` fixtures) and ``new_location`` (the ``store_location`` and
``make_location`` fixtures, for the CLI and ``serve``). Without it they are what the tests always
used: an in-memory ``OxigraphStore`` and a directory under the test's tmp_path. Tests about the
embedded store itself carry ``@pytest.mark.embedded_only(reason)`` and are skipped under a
backend, with that reason (docs/reliability.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from collectomics.store import Store, open_store
from collectomics.store.remote import RemoteStore

BACKENDS = ("oxigraph-server", "virtuoso")
BACKEND_ENV = "COLLECTOMICS_TEST_BACKEND"
#: Virtuoso's row cap in the tests: small, so that paging and the cap's error are exercised.
VIRTUOSO_MAX_ROWS = 20_000
#: Seconds a server spends on one query at most (`oxigraph serve --timeout-s`, Virtuoso's
#: MaxQueryExecutionTime). `serve` stops waiting after its own `query_timeout`, but the server
#: goes on: a test that leaves it such a query restarts it (``end_runaway_queries``).
SERVER_QUERY_TIMEOUT = 20


@dataclass
class Server:
    """A running SPARQL server: its endpoints and the graphs it had before any test."""

    kind: str
    query_url: str
    update_url: str
    graph_store_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    system_graphs: set[str] = field(default_factory=set)
    #: Virtuoso's SQL port as HOST:PORT (isql, its bulk loader); empty for other servers.
    sql: str = ""
    #: A temporary folder the server may read files from (Virtuoso's DirsAllowed): where its
    #: bulk loader's tests stage their files.
    bulk_dir: Path | None = None

    @property
    def location(self) -> str:
        """The `store` setting that names this server."""
        return "sparql+" + self.query_url

    def env(self) -> dict[str, str]:
        """The COLLECTOMICS_* settings that point the CLI at this server."""
        return {
            "COLLECTOMICS_STORE": self.location,
            "COLLECTOMICS_STORE_UPDATE_URL": self.update_url,
            "COLLECTOMICS_STORE_GRAPH_STORE_URL": self.graph_store_url,
        }

    def bulk_env(self) -> dict[str, str]:
        """The settings of :meth:`env` and those of the server's own bulk loader (Virtuoso)."""
        env = self.env()
        if self.kind == "virtuoso":
            assert self.bulk_dir is not None
            env.update(
                COLLECTOMICS_STORE_BULK_LOADER="virtuoso",
                COLLECTOMICS_STORE_SQL=self.sql,
                COLLECTOMICS_STORE_SQL_USER="dba",
                COLLECTOMICS_STORE_SQL_PASSWORD="dba",
                COLLECTOMICS_STORE_BULK_DIR=str(self.bulk_dir),
            )
        return env

    def store(self, **kwargs: object) -> RemoteStore:
        return RemoteStore(
            self.query_url,
            update_url=self.update_url,
            graph_store_url=self.graph_store_url,
            **kwargs,  # type: ignore[arg-type]
        )

    def graphs(self) -> set[str]:
        answer = requests.post(
            self.query_url,
            # The FILTER is no-op but matters: Virtuoso takes seconds over this query without it.
            data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?g)) }"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        answer.raise_for_status()
        rows = answer.json()["results"]["bindings"]
        return {r["g"]["value"] for r in rows if "g" in r}

    def reset(self) -> None:
        """Drop every graph the tests made."""
        drops = [f"DROP SILENT GRAPH <{g}>" for g in sorted(self.graphs() - self.system_graphs)]
        if self.kind == "oxigraph-server":
            drops.append("DROP SILENT DEFAULT")
        if drops:
            answer = requests.post(
                self.update_url, data={"update": " ;\n".join(drops)}, timeout=120
            )
            answer.raise_for_status()

    def restart(self) -> None:
        """Stop the server (and whatever queries it still runs) and start it again on the same
        ports and data: how an operator ends a runaway query on either server."""
        command, cwd = list(self.process.args), self.workdir  # type: ignore[arg-type]
        self._halt()
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - the server writes to it
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        _wait(self)

    def _halt(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.bulk_dir is not None:
            shutil.rmtree(self.bulk_dir, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.post(server.query_url, data={"query": "ASK {}"}, timeout=5).close()
            return
        except requests.RequestException:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                log = ""
                for name in ("server.log", "virtuoso.log"):
                    if (server.workdir / name).exists():
                        log += (server.workdir / name).read_text(errors="replace")[-2000:]
                raise AssertionError(f"the {server.kind} server did not start:\n{log}") from None
            time.sleep(0.2)


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    assert Path(found).exists(), "`oxigraph` is missing: install the test extra (dev.py test)"
    return found


def start_oxigraph(workdir: Path) -> Server:
    """`oxigraph serve` on a free port, its data in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - the server writes to it
    process = subprocess.Popen(
        [
            oxigraph_binary(),
            "serve",
            "--location",
            str(workdir / "db"),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout-s",
            str(SERVER_QUERY_TIMEOUT),
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "oxigraph-server", base + "/query", base + "/update", base + "/store", process, workdir
    )
    _wait(server)
    return server


_VIRTUOSO_INI = """[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
CheckpointInterval = 60
DirsAllowed = ., {dir}, {bulk}
CaseMode = 2
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {timeout}
"""


def virtuoso_binary() -> str:
    found = shutil.which("virtuoso-t")
    assert found, (
        "virtuoso-t is not installed: `python3 dev.py test` installs it "
        "(apt-get install virtuoso-opensource)"
    )
    return found


def start_virtuoso(workdir: Path, *, buffers: int = 20_000) -> Server:
    """Virtuoso open source on free ports, its database in ``workdir``; the anonymous SPARQL
    account may update (GRANT SPARQL_UPDATE), which opens /sparql-graph-crud to writes too.
    ``buffers``: its NumberOfBuffers (8 KB pages of cache; 20,000 for the tests, more for a
    benchmark), three quarters of them may be dirty."""
    binary = virtuoso_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    # a folder of its own beside the database, listed in DirsAllowed: the bulk loader's files
    bulk = workdir.parent / f"{workdir.name}-bulk"
    bulk.mkdir(exist_ok=True)
    ini = workdir / "virtuoso.ini"
    ini.write_text(
        _VIRTUOSO_INI.format(
            dir=workdir,
            bulk=bulk,
            buffers=buffers,
            dirty=buffers * 3 // 4,
            sql_port=sql_port,
            http_port=http_port,
            max_rows=VIRTUOSO_MAX_ROWS,
            timeout=SERVER_QUERY_TIMEOUT,
        )
    )
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - the server writes to it
    process = subprocess.Popen(
        [binary, "-f", "-c", str(ini)],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http_port}"
    server = Server(
        "virtuoso",
        base + "/sparql",
        base + "/sparql",
        base + "/sparql-graph-crud",
        process,
        workdir,
        sql=f"127.0.0.1:{sql_port}",
        bulk_dir=bulk,
    )
    _wait(server)
    isql = shutil.which("isql-vt") or shutil.which("isql")
    assert isql, "isql-vt (part of virtuoso-opensource) is missing"
    done = subprocess.run(
        [isql, f"127.0.0.1:{sql_port}", "dba", "dba", 'exec=GRANT SPARQL_UPDATE TO "SPARQL";'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        server.stop()
        raise AssertionError(f"cannot grant SPARQL_UPDATE on Virtuoso: {done.stdout}{done.stderr}")
    server.system_graphs = server.graphs()
    return server


def start(kind: str, workdir: Path) -> Server:
    if kind == "oxigraph-server":
        return start_oxigraph(workdir)
    if kind == "virtuoso":
        return start_virtuoso(workdir)
    raise ValueError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}, not {kind!r}")


def suite_backend() -> str | None:
    """The backend the whole suite runs against (COLLECTOMICS_TEST_BACKEND), if any."""
    kind = os.environ.get(BACKEND_ENV, "").strip()
    if kind and kind not in BACKENDS:
        raise pytest.UsageError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}, not {kind!r}")
    return kind or None


class Pool:
    """The servers of the session, by kind, and which of them are leased."""

    def __init__(self) -> None:
        self.servers: dict[str, list[Server]] = {}
        self.leased: set[int] = set()
        #: How many servers of each kind this session started.
        self.started: dict[str, int] = {}

    def lease(self, kind: str, factory: pytest.TempPathFactory) -> Server:
        """A server of ``kind`` that nobody holds, emptied; started when there is none."""
        for server in self.servers.get(kind, []):
            if id(server) not in self.leased and server.process.poll() is None:
                break
        else:
            server = start(kind, factory.mktemp(kind))
            self.servers.setdefault(kind, []).append(server)
            self.started[kind] = self.started.get(kind, 0) + 1
        self.leased.add(id(server))
        try:
            server.reset()
        except BaseException:
            self.leased.discard(id(server))
            raise
        return server

    def release(self, server: Server) -> None:
        self.leased.discard(id(server))

    def stop_all(self) -> None:
        for servers in self.servers.values():
            for server in servers:
                server.stop()
        self.servers.clear()
        self.leased.clear()


POOL = Pool()


def stop_all() -> None:
    POOL.stop_all()


def lease(request: pytest.FixtureRequest, kind: str) -> Server:
    """A server of ``kind`` for as long as ``request``'s test or fixture lives, empty."""
    request.getfixturevalue("_remote_servers")  # stops the servers at the end of the session
    server = POOL.lease(kind, request.getfixturevalue("tmp_path_factory"))
    request.addfinalizer(lambda: POOL.release(server))
    return server


@pytest.fixture(scope="session")
def _remote_servers() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=BACKENDS)
def remote_server(request: pytest.FixtureRequest) -> Server:
    """Each kind of server in turn, emptied for this test."""
    return lease(request, request.param)


@pytest.fixture
def remote_store(remote_server: Server) -> Iterator[RemoteStore]:
    """A RemoteStore on an empty server, of each kind in turn."""
    store = remote_server.store()
    yield store
    store.close()


# -- the suite's backend switch -----------------------------------------------------------------


@dataclass
class StoreLocation:
    """Where a test's store lives, as the CLI and ``serve`` name it: a directory (embedded), or
    a leased server under a backend (``sparql+http://...`` plus the other endpoints' settings)."""

    location: str
    #: COLLECTOMICS_* settings a subprocess needs besides ``--store`` (the other endpoints).
    env: dict[str, str] = field(default_factory=dict)
    server: Server | None = None

    @property
    def remote(self) -> bool:
        return self.server is not None

    @property
    def path(self) -> Path:
        """The directory of an embedded store (only tests marked embedded_only need it)."""
        assert self.server is None, f"{self.location} is a server, not a directory"
        return Path(self.location)

    def settings(self) -> dict[str, str]:
        """Every COLLECTOMICS_* setting that names this store (``COLLECTOMICS_STORE`` too)."""
        return {"COLLECTOMICS_STORE": self.location, **self.env}

    def open(self, *, read_only: bool = False) -> Store:
        if self.server is not None:
            return self.server.store(read_only=read_only)
        return open_store(self.location, read_only=read_only)

    def __str__(self) -> str:
        return self.location


def end_runaway_queries(location: StoreLocation) -> None:
    """After a test left queries running on ``location``'s server that `serve` stopped waiting
    for (`serve` cannot cancel a query on a server): restart the server, so that they do not
    slow the next tests down. (`oxigraph serve --timeout-s 20` gave up a 5-way cross join only
    after 245 s; Virtuoso stops it at 20 s.) On disk there is nothing to do: `serve` killed the
    worker process that ran it.

    `serve` has just replaced its HTTP workers whose queries timed out: the replacements are
    given a few seconds to open their handles first (a worker that starts while the server is
    down exits with a traceback)."""
    if location.server is not None:
        time.sleep(5)
        location.server.restart()


def new_store(request: pytest.FixtureRequest, path: str | os.PathLike[str] | None = None) -> Store:
    """An empty store of its own for ``request``'s test or fixture (any scope): the
    ``OxigraphStore(path)`` the test always used (in memory without ``path``), or under a
    backend a RemoteStore on a leased server, closed and given back when ``request`` ends."""
    backend = suite_backend()
    if backend is None:
        from collectomics.store import OxigraphStore

        return OxigraphStore(path)
    server = lease(request, backend)
    store = server.store()
    request.addfinalizer(store.close)
    return store


def store_maker(request: pytest.FixtureRequest) -> Callable[[], Store]:
    """A function that gives an empty store on each call, for many short-lived stores (one per
    hypothesis example): a new in-memory store, or under a backend one server leased for
    ``request``'s lifetime and emptied again on each call (so only the last store is usable)."""
    backend = suite_backend()
    if backend is None:
        from collectomics.store import OxigraphStore

        return OxigraphStore
    leased: list[Server] = []

    def make() -> Store:
        if not leased:
            leased.append(lease(request, backend))
        else:
            leased[0].reset()
        return leased[0].store()

    return make


def new_location(request: pytest.FixtureRequest, path: str | os.PathLike[str]) -> StoreLocation:
    """Where a CLI or ``serve`` subprocess makes its store: the directory ``path`` (not yet
    there), or under a backend a leased, empty server."""
    backend = suite_backend()
    if backend is None:
        return StoreLocation(str(path))
    server = lease(request, backend)
    env = server.env()
    env.pop("COLLECTOMICS_STORE")
    return StoreLocation(server.location, env, server)
