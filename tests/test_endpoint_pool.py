"""The worker pool on a real on-disk store: a timeout kills the query's process and a new one
takes its place; a worker that dies is replaced; workers see data written after they opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectomics.errors import QueryError, StoreError
from collectomics.services.endpoint import Job, QueryTimeout, WorkerPool
from collectomics.store import OxigraphStore

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
