"""Kill safety: `collectomics ingest --replace` killed with SIGKILL at any moment leaves the
dataset's previous version or the new one, never a mixture, and the store opens afterwards;
a server answering queries while an ingest replaces a dataset answers from the old or the new
version, and sees the new one once the load has committed.

The ingest runs for real in a subprocess (``python -c``) on synthetic Darwin Core Archives.
To stop it at a named point without a hook in the product, that subprocess wraps one library
function before running the CLI: at the point it writes a marker file, then either pauses (the
test kills it there) or carries on (the test kills it at once, while mapping and loading go on).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from collectomics.errors import StoreError
from collectomics.store import OxigraphStore, is_internal_graph
from helpers import StoreLocation, free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from synthetic import write_archive  # noqa: E402

pytestmark = pytest.mark.slow
DATASET = "synth"
GRAPH = "https://w3id.org/collectomics/graph/synth"
OTHER = "https://w3id.org/collectomics/graph/people"
#: derived, rewritten after each ingest (present or not, stale or not, after a kill)
IDENTITY = "https://w3id.org/collectomics/graph/identity"

#: Run in the ingest subprocess: wrap the function named by KILL_POINT, then run the CLI.
WRAPPER = r"""
import os, sys, time
from collectomics.cli import main
from collectomics.ingest import pipeline
from collectomics.errors import StoreError
from collectomics.store import OxigraphStore

point, marker = os.environ["KILL_POINT"], os.environ["KILL_MARKER"]

def reached(pause):
    with open(marker + ".tmp", "w") as f:
        f.write(point)
    os.replace(marker + ".tmp", marker)
    if pause:
        time.sleep(600)

if point == "mapping":  # the mapping thread has handed two batches to the loader; go on
    flush, calls = pipeline.Sink.flush, [0]
    def wrapped(self):
        flush(self)
        calls[0] += 1
        if calls[0] == 2:
            reached(False)
    pipeline.Sink.flush = wrapped
elif point == "loaded":  # every triple loaded into the new version, not yet made current
    activate = OxigraphStore._activate
    def wrapped(self, graph, physical):
        reached(True)
        activate(self, graph, physical)
    OxigraphStore._activate = wrapped
elif point == "switched":  # the catalog points at the new version; the old one is still there
    set_current = OxigraphStore._set_current
    def wrapped(self, graph, physical):
        set_current(self, graph, physical)
        reached(True)
    OxigraphStore._set_current = wrapped
elif point == "removing":  # the old version is being deleted
    activate = OxigraphStore._activate
    def wrapped(self, graph, physical):
        old_remove = self._store.remove_graph
        class Proxy:
            def __getattr__(self, name):
                return getattr(store, name)
            def remove_graph(self, g):
                reached(False)
                return old_remove(g)
        store = self._store
        self._store = Proxy()
        try:
            activate(self, graph, physical)
        finally:
            self._store = store
    OxigraphStore._activate = wrapped
sys.argv = ["collectomics"] + sys.argv[1:]
main()
"""


def _env() -> dict[str, str]:
    # The kill points are in the ingest; the facets rebuilt after it are a replace of their own
    # (tested in test_network), kept out of here so that the graphs compared are the datasets'.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    return {**env, "COLLECTOMICS_MATERIALISE_AFTER_LOAD": "false"}


def _location(store: Path | StoreLocation) -> StoreLocation:
    return store if isinstance(store, StoreLocation) else StoreLocation(str(store))


def _ingest(store: Path | StoreLocation, archive: Path, *extra: str) -> None:
    where = _location(store)
    r = subprocess.run(
        [sys.executable, "-m", "collectomics", "--store", where.location, "ingest", str(archive)]
        + ["--dataset", DATASET, *extra],
        capture_output=True,
        text=True,
        env={**_env(), **where.env},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr


def _content(store: Path | StoreLocation, graph: str = GRAPH) -> frozenset[str]:
    """The graph's triples as N-Triples lines (the synthetic data has no blank nodes)."""
    where = _location(store)
    with where.open(read_only=True) as s:
        if not where.remote:
            result = s.query(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                default_graphs=[graph],
                default_graph_union=False,
            )
            data = result.serialize("ntriples")
            assert data is not None
            return frozenset(data.decode("utf-8").splitlines())
        # A server may cut a CONSTRUCT at its row cap without saying so (Virtuoso's
        # ResultSetMaxRows, 20,000 here): the dump pages past it.
        out = io.BytesIO()
        s.dump(out, "nquads")
    tail = f" <{graph}> ."
    return frozenset(
        line[: -len(tail)] + " ."
        for line in out.getvalue().decode("utf-8").splitlines()
        if line.endswith(tail)
    )


class Versions:
    """The old and the new version of the dataset, and a store holding the old one."""

    def __init__(self, root: Path) -> None:
        self.old_zip, self.new_zip = root / "old.zip", root / "new.zip"
        write_archive(self.old_zip, 500, 1)
        write_archive(self.new_zip, 650, 2)
        self.old_store, new_store = root / "old.db", root / "new.db"
        for store, archive in ((self.old_store, self.old_zip), (new_store, self.new_zip)):
            _ingest(store, archive)
            with OxigraphStore(store) as s:  # a second graph that no ingest of synth may touch
                s.replace_graph(OTHER, '<urn:x:a> <urn:x:name> "A. Person" .\n', "ntriples")
        self.old, self.new = _content(self.old_store), _content(new_store)
        assert self.old != self.new and len(self.new) > len(self.old)

    def fresh(self, path: Path) -> Path:
        shutil.copytree(self.old_store, path)
        return path


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    return Versions(tmp_path_factory.mktemp("kill"))


def _check_after_kill(store: Path, versions: Versions, *, reload: bool = True) -> str:
    """The store opens, holds the old or the new version exactly, and a later ingest works."""
    content = _content(store)
    assert content in (versions.old, versions.new), (
        f"a mixture: {len(content & versions.old)} old and {len(content & versions.new)} new "
        f"triples of {len(versions.old)} / {len(versions.new)}"
    )
    with OxigraphStore(store) as s:  # opens for writing: the next command can run
        assert [g for g in s.graphs() if g != IDENTITY] == sorted([GRAPH, OTHER])
        assert s.count(GRAPH) == len(content)
        assert s.count(OTHER) == 1
    which = "new" if content == versions.new else "old"
    if not reload:
        return which
    # The next replace succeeds and leaves no version behind but the current one.
    _ingest(store, versions.old_zip, "--replace")
    assert _content(store) == versions.old
    with OxigraphStore(store) as s:
        physical = {g.value for g in s._store.named_graphs() if not is_internal_graph(g.value)}
        assert physical - {s.physical_graph(IDENTITY)} == {
            s.physical_graph(GRAPH),
            s.physical_graph(OTHER),
        }
        assert s._only_current_graphs()  # so reads use Oxigraph's union default graph again
    return which


def _run_until(store: Path, archive: Path, point: str, tmp: Path) -> subprocess.Popen[bytes]:
    tmp.mkdir(exist_ok=True)
    marker = tmp / f"reached-{point}"
    env = {**_env(), "KILL_POINT": point, "KILL_MARKER": str(marker)}
    args = ["--store", str(store), "ingest", str(archive), "--dataset", DATASET, "--replace"]
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the ingest ended before {point}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.005)
    return proc


KILL_POINTS = pytest.mark.embedded_only(
    "SIGKILL at points of the embedded store's load (the wrapper patches OxigraphStore's "
    "_activate/_set_current/remove_graph and the bulk loader's Sink.flush), on copies of the "
    "store's directory; the RocksDB files must then open"
)


@KILL_POINTS
@pytest.mark.parametrize(
    ("point", "expected"),
    [("mapping", "old"), ("loaded", "old"), ("switched", "new"), ("removing", "new")],
)
def test_sigkill_at_a_named_point(
    point: str, expected: str, versions: Versions, tmp_path: Path
) -> None:
    store = versions.fresh(tmp_path / "store.db")
    proc = _run_until(store, versions.new_zip, point, tmp_path)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert _check_after_kill(store, versions) == expected


@KILL_POINTS
def test_sigkill_at_random_moments(versions: Versions, tmp_path: Path) -> None:
    """Kills spread over a whole replace, timed from the moment the mapping starts."""
    # How long a replace takes here, to spread the kills over it (no assertion on time).
    store = versions.fresh(tmp_path / "timing.db")
    proc = _run_until(store, versions.new_zip, "mapping", tmp_path)
    started = time.monotonic()
    assert proc.wait(timeout=300) == 0
    span = time.monotonic() - started
    rng = random.Random(9)
    seen = set()
    for i in range(3):
        store = versions.fresh(tmp_path / f"store-{i}.db")
        proc = _run_until(store, versions.new_zip, "mapping", tmp_path / f"m{i}")
        time.sleep(rng.uniform(0, span * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        seen.add(_check_after_kill(store, versions, reload=False))
    assert seen <= {"old", "new"}


# -- serving while ingesting ---------------------------------------------------------------------

# the data, not the identity graph derived from it (rewritten after the ingest's switch)
COUNT = (
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
    f'FILTER(!STRSTARTS(STR(?g), "{IDENTITY}")) }}'
)


def _count(base: str) -> int:
    url = base + "/sparql?" + urllib.parse.urlencode({"query": COUNT})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        data = json.load(response)
    return int(data["results"]["bindings"][0]["n"]["value"])


def test_serving_while_ingesting_answers_old_or_new(
    versions: Versions, tmp_path: Path, store_location: StoreLocation
) -> None:
    """On a copy of the old store (under a backend: the old version ingested into a server)."""
    if store_location.remote:
        store = store_location
        _ingest(store, versions.old_zip)
        with store.open() as s:
            s.replace_graph(OTHER, '<urn:x:a> <urn:x:name> "A. Person" .\n', "ntriples")
        # The same triples, but not always the same terms: Oxigraph keeps a derived integer
        # type's value only ("1"^^xsd:positiveInteger comes back as xsd:integer), Virtuoso
        # keeps the type; the reference versions are embedded stores.
        assert len(_content(store)) == len(versions.old)
    else:
        store = StoreLocation(str(versions.fresh(tmp_path / "served.db")))
    old_total = len(versions.old) + 1
    new_total = len(versions.new) + 1
    port = free_port()
    log = tmp_path / "server.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collectomics",
            "--store",
            store.location,
            "serve",
            "--port",
            str(port),
        ],
        env={**_env(), **store.env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                first = _count(base)
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        assert first == old_total
        answers: list[tuple[bool, int]] = []  # (the ingest had ended, the count)
        done = threading.Event()
        errors: list[BaseException] = []

        def poll() -> None:
            try:
                while True:
                    ended = done.is_set()
                    answers.append((ended, _count(base)))
                    # after the ingest: poll until the new version shows, a bounded number of times
                    if ended and (answers[-1][1] == new_total or len(answers) > 5000):
                        return
                    time.sleep(0.02)  # leave the cores to the ingest
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        pollers = [threading.Thread(target=poll) for _ in range(2)]
        for t in pollers:
            t.start()
        _ingest(store, versions.new_zip, "--replace")
        done.set()
        for t in pollers:
            t.join(timeout=120)
        assert not errors, (errors, log.read_text()[-3000:])
        counts = [n for _, n in answers]
        assert set(counts) <= {old_total, new_total}, sorted(set(counts))
        assert counts.count(old_total) > 0  # answered while the ingest ran
        assert any(n == new_total for ended, n in answers if ended)
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.embedded_only(
    "a read-only RocksDB open beside a committing writer (OxigraphStore's check of the catalog "
    "against the files it sees)"
)
def test_a_read_only_open_never_sees_the_catalog_ahead_of_the_data(tmp_path: Path) -> None:
    """The state the serving test caught under load: the catalog already names the new version,
    the files holding it are not visible yet, the old version still is. A read-only open retries,
    then refuses, rather than answer from a store where the dataset is missing."""
    path = tmp_path / "s.db"
    with OxigraphStore(path) as s:
        s.replace_graph(GRAPH, "<urn:x:a> <urn:x:b> <urn:x:c> .\n", "ntriples")
        s._set_current(GRAPH, GRAPH + "/v2")  # as a reader could glimpse it mid-commit
    with pytest.raises(StoreError, match="changed while it was opened"):
        OxigraphStore(path, read_only=True)
    with OxigraphStore(path) as s:  # a writer is not concerned: it is the one committing
        s.replace_graph(GRAPH, "<urn:x:a> <urn:x:b> <urn:x:d> .\n", "ntriples")
    with OxigraphStore(path, read_only=True) as s:
        assert s.count(GRAPH) == 1
