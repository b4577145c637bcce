"""Real SPARQL servers on 127.0.0.1 for the remote-store tests: `oxigraph serve` and Virtuoso.

One server of each kind per test session (``remote_server``); ``reset`` empties it between tests
(our graphs only: Virtuoso keeps system graphs of its own). ``COLLECTOMICS_TEST_BACKEND`` set to
``oxigraph-server`` or ``virtuoso`` makes the ``store`` fixture of every test a RemoteStore on
such a server (see docs/scaling.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from collectomics.remote import RemoteStore
from helpers import free_port

BACKENDS = ("oxigraph-server", "virtuoso")
BACKEND_ENV = "COLLECTOMICS_TEST_BACKEND"
#: Virtuoso's row cap in the tests: small, so that paging and the cap's error are exercised.
VIRTUOSO_MAX_ROWS = 20_000


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

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


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
        ],
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
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
CheckpointInterval = 60
DirsAllowed = ., {dir}
CaseMode = 2
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 120
"""


def virtuoso_binary() -> str:
    found = shutil.which("virtuoso-t")
    assert found, (
        "virtuoso-t is not installed: `python3 dev.py test` installs it "
        "(apt-get install virtuoso-opensource)"
    )
    return found


def start_virtuoso(workdir: Path) -> Server:
    """Virtuoso open source on free ports, its database in ``workdir``; the anonymous SPARQL
    account may update (GRANT SPARQL_UPDATE), which opens /sparql-graph-crud to writes too."""
    binary = virtuoso_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    ini = workdir / "virtuoso.ini"
    ini.write_text(
        _VIRTUOSO_INI.format(
            dir=workdir, sql_port=sql_port, http_port=http_port, max_rows=VIRTUOSO_MAX_ROWS
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


_SERVERS: dict[str, Server] = {}


def session_server(kind: str, factory: pytest.TempPathFactory) -> Server:
    """One server of ``kind`` for the whole session, started on first use."""
    if kind not in _SERVERS:
        _SERVERS[kind] = start(kind, factory.mktemp(kind))
    return _SERVERS[kind]


def stop_all() -> None:
    while _SERVERS:
        _SERVERS.popitem()[1].stop()


@pytest.fixture(scope="session")
def _remote_servers() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=BACKENDS)
def remote_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _remote_servers: None,
) -> Server:
    """Each kind of server in turn, emptied for this test."""
    server = session_server(request.param, tmp_path_factory)
    server.reset()
    return server


@pytest.fixture
def remote_store(remote_server: Server) -> Iterator[RemoteStore]:
    """A RemoteStore on an empty server, of each kind in turn."""
    store = remote_server.store()
    yield store
    store.close()
