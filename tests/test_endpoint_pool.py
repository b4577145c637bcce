"""The worker pool on a real on-disk store: a timeout kills the query's process and a new one
takes its place; a worker that dies is replaced; workers see data written after they opened;
bound terms cross to the workers as themselves, and what cannot cross is refused here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectomics.errors import QueryError, StoreError
from collectomics.ingest.pipeline import ingest_files
from collectomics.iri import Minter
from collectomics.services.endpoint import InProcess, Job, QueryTimeout, WorkerPool
from collectomics.store import OxigraphStore
from helpers import REAL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.embedded_only(
        "the worker pool: query processes that open the store's directory read-only and are "
        "killed on a timeout (pyoxigraph cannot cancel a query); the data is written with "
        "OxigraphStore.flush"
    ),
]
FORMATS = {"select": "json", "ask": "json", "graph": "ntriples"}
COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def _count(pool: WorkerPool) -> int:
    answer = pool.run(Job(COUNT, FORMATS))
    return int(json.loads(b"".join(answer.chunks))["results"]["bindings"][0]["n"]["value"])


@pytest.fixture
def disk_store(tmp_path: Path) -> OxigraphStore:
    store = OxigraphStore(tmp_path / "s.db")
    store.add("urn:g:1", "".join(f"<urn:s:{i}> <urn:p> {i} .\n" for i in range(300)), "turtle")
    store.flush()
    return store


def test_timeout_kills_and_replaces_the_worker(disk_store: OxigraphStore) -> None:
    pool = WorkerPool(disk_store.path, size=1, timeout=1)
    try:
        first = pool._idle.queue[0].process
        with pytest.raises(QueryTimeout, match="stopped after 1 s"):
            pool.run(Job(SLOW, FORMATS))
        assert first.poll() is not None  # the process that ran it is gone
        assert _count(pool) == 300
    finally:
        pool.close()


def test_a_dead_worker_is_replaced(disk_store: OxigraphStore) -> None:
    pool = WorkerPool(disk_store.path, size=1, timeout=10)
    try:
        pool._idle.queue[0].process.kill()
        with pytest.raises(StoreError, match="stopped unexpectedly"):
            pool.run(Job(COUNT, FORMATS))
        assert _count(pool) == 300
        with pytest.raises(QueryError, match="syntax"):
            pool.run(Job("SELECT ?x {", FORMATS))
        assert _count(pool) == 300  # an error leaves the worker in service
    finally:
        pool.close()


def test_workers_see_new_data(disk_store: OxigraphStore) -> None:
    pool = WorkerPool(disk_store.path, size=2, timeout=10)
    try:
        assert _count(pool) == _count(pool) == 300
        disk_store.add("urn:g:2", "<urn:x> <urn:p> 1 .", "turtle")
        disk_store.flush()
        assert _count(pool) == _count(pool) == 301
        disk_store.remove_graph("urn:g:1")
        disk_store.flush()
        assert _count(pool) == _count(pool) == 1
    finally:
        pool.close()


def test_large_answers_come_in_chunks(disk_store: OxigraphStore) -> None:
    pool = WorkerPool(disk_store.path, size=1, timeout=10)
    try:
        query = "CONSTRUCT { ?s ?p ?o2 } { ?s ?p ?o . ?x ?y ?z BIND(STR(?z) AS ?o2) }"
        answer = pool.run(Job(query, FORMATS))
        assert answer.complete is None
        sizes = [len(chunk) for chunk in answer.chunks]
        assert len(sizes) > 10 and max(sizes) <= 2 * 64 * 1024
        assert _count(pool) == 300
    finally:
        pool.close()


def test_bound_terms_cross_to_the_workers_as_themselves(tmp_path: Path) -> None:
    """For every distinct object of a real GBIF download (IRIs, strings, decimals, integers,
    dates), a query with that term bound counts in a worker what it counts in this process: the
    term crossed to the worker as JSON and came out the same term."""
    path = tmp_path / "real.db"
    with OxigraphStore(path) as store:
        ingest_files(
            store, [REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"], minter=Minter()
        )
    pool = WorkerPool(path, size=2, timeout=60)
    try:
        with OxigraphStore(path, read_only=True) as store:
            here = InProcess(store)
            terms = [r["o"] for r in store.query("SELECT DISTINCT ?o { ?s ?p ?o }").rows()]
            assert len({type(t) for t in terms}) == 2 and len(terms) > 1000
            query = "SELECT ?o (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?o"
            for term in terms:
                remote = pool.run(Job(query, FORMATS, {"o": term}))
                local = here.run(Job(query, FORMATS, {"o": term}))
                assert b"".join(remote.chunks) == b"".join(local.chunks), term
    finally:
        pool.close()


def test_an_argument_that_cannot_cross_leaves_the_worker(disk_store: OxigraphStore) -> None:
    pool = WorkerPool(disk_store.path, size=1, timeout=10)
    try:
        assert _count(pool) == 300
        before = pool.pids()
        with pytest.raises(TypeError, match="cannot cross to a worker"):
            pool.call("collectomics.services.sections:query_rows", (object(),))
        with pytest.raises(TypeError, match="cannot cross to a worker"):
            pool.run(Job(COUNT, FORMATS, {"o": 1j}))  # type: ignore[dict-item]
        assert pool.pids() == before and _count(pool) == 300
    finally:
        pool.close()
