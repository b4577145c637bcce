"""Worker processes, started one way (``collectomics.workers``): what crosses to them is JSON
that carries the graph's values as themselves, never a pickle; only library functions run; a
worker leads its own process group and does not outlive its parent, even mid-query."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectomics import workers
from collectomics.ingest.pipeline import ingest_files
from collectomics.iri import Minter
from collectomics.model import IRI, BNode, Literal
from collectomics.store import OxigraphStore
from helpers import REAL, REAL_ARCHIVES

FLAGS = {"select": "json", "ask": "json", "graph": "ntriples"}
#: A query that runs for hours on any store of a few hundred triples.
SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (gone, or a zombie that its new parent has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _until_gone(pids: list[int], seconds: float = 60.0) -> list[int]:
    """The processes of ``pids`` still running after up to ``seconds`` (a bound for a loaded
    machine, not a measure)."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if not _gone(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture
def disk_store(tmp_path: Path) -> Path:
    with OxigraphStore(tmp_path / "s.db") as store:
        store.add("urn:g:1", "".join(f"<urn:s:{i}> <urn:p> {i} .\n" for i in range(300)), "turtle")
    return tmp_path / "s.db"


@pytest.mark.slow
def test_every_term_of_the_real_archives_crosses_as_itself() -> None:
    """Every quad of the corpus, and every one of its strings as a language-tagged literal and a
    blank node (the corpus has none), comes back from the wire equal and of the same type."""
    store = OxigraphStore()
    minter = Minter()
    for archive in REAL_ARCHIVES:
        ingest_files(store, [REAL / archive], minter=minter)
    rows = list(store.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows())
    assert len(rows) > 100_000
    strings = sorted({r["o"].value for r in rows if isinstance(r["o"], Literal)})
    made = [{"l": Literal(s, lang="en"), "b": BNode(f"b{i}")} for i, s in enumerate(strings)]
    for batch in (rows, made):
        back = workers.unpack(workers.pack(batch))
        assert back == batch
        for got, sent in zip(back, batch, strict=True):
            assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in sent.items()}
    # the other values a call carries: a minter, tuples (as lists), mappings with '$' keys
    call = {"args": (minter, IRI(minter.base + "x")), "kwargs": {"$iri": "not a tag", "n": 1.5}}
    back = workers.unpack(workers.pack(call))
    assert isinstance(back["args"][0], Minter) and back["args"][0].base == minter.base
    assert back["args"][1] == IRI(minter.base + "x") and isinstance(back["args"][1], IRI)
    assert back["kwargs"] == {"$iri": "not a tag", "n": 1.5}
    with pytest.raises(TypeError, match="a object cannot cross"):
        workers.pack({"x": object()})
    with pytest.raises(ValueError, match="unknown tag"):
        workers.unpack(b'{"$code": "os.system"}')


def test_a_pickle_on_stdin_runs_nothing(tmp_path: Path) -> None:
    """A worker reads JSON only: a pickle that would run a command when loaded is refused, and
    the command never runs."""
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (f"touch {marker}",)

    payload = pickle.dumps({"payload": {"location": str(tmp_path), "base": "x"}, "x": Exploit()})
    done = subprocess.run(
        [sys.executable, "-m", "collectomics.workers", "collectomics.services.endpoint:serve_jobs"],
        input=payload,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == workers.BAD_START, done.stderr
    assert b"cannot start" in done.stderr and b"Traceback" not in done.stderr
    assert not marker.exists()


def test_only_library_functions_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for target in ("os:system", "subprocess:getoutput", "collectomics", "collectomics.nope:x"):
        done = subprocess.run(
            [sys.executable, "-m", "collectomics.workers", target],
            input=workers.pack({"payload": {"command": f"touch {marker}"}}),
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == workers.BAD_START, (target, done.stderr)
        assert b"cannot start" in done.stderr, (target, done.stderr)
    assert not marker.exists()


def test_a_payload_that_cannot_cross_starts_nothing(disk_store: Path) -> None:
    def children() -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{os.getpid()}/task").iterdir():
            found |= {int(x) for x in (task / "children").read_text().split()}
        return found

    before = children()
    with pytest.raises(TypeError, match="cannot cross"):
        workers.start("collectomics.services.endpoint:serve_jobs", {"path": disk_store.open})
    assert children() <= before


def test_a_worker_leads_its_own_group_and_kill_ends_it(disk_store: Path) -> None:
    worker = workers.start(
        "collectomics.services.endpoint:serve_jobs", {"path": str(disk_store)}, channel=True
    )
    try:
        assert worker.channel.poll(120) and worker.channel.recv_bytes() == b"R"  # ready
        assert os.getpgid(worker.pid) == worker.pid != os.getpgrp()
        assert worker.poll() is None
    finally:
        worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert worker.channel.closed


#: Run in a process of its own: a pool of one worker, busy on a query that never ends.
PARENT = r"""
import sys, threading, time
from collectomics.services.endpoint import Job, WorkerPool
pool = WorkerPool(sys.argv[1], size=1, timeout=0)
threading.Thread(target=pool.run, args=(Job(sys.argv[2], {"select": "json"}),), daemon=True).start()
time.sleep(2)
print(*pool.pids(), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_busy_worker_does_not_outlive_its_parent(disk_store: Path) -> None:
    """The parent of a worker busy on a query that never ends is killed: the worker ends too,
    instead of holding its CPU and the store for nobody."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(disk_store), SLOW],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        (pid,) = map(int, parent.stdout.readline().split())
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) == parent.pid
        time.sleep(1)
        assert not _gone(pid)  # busy: on its own it would run for hours
    finally:
        parent.kill()
        parent.wait()
    try:
        assert _until_gone([pid]) == []
    finally:
        if not _gone(pid):  # what a failure would leave behind
            os.kill(pid, signal.SIGKILL)
