"""Page sections in killable worker processes, on a real on-disk store loaded from a real GBIF
download: every section computed in a worker answers what it answers in this process; a section
past its budget says so, its worker is killed (the process is gone: its CPU is freed) and
replaced, and the other sections and the store are unharmed; a library error stays the section's
message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collectomics.errors import QueryNotFound
from collectomics.ingest.pipeline import ingest_files
from collectomics.iri import Minter
from collectomics.model import IRI
from collectomics.services.endpoint import InProcess, QueryTimeout, WorkerPool
from collectomics.services.queries import list_queries
from collectomics.services.sections import (
    TOO_LARGE,
    Section,
    run_sections,
    use_runner,
)
from collectomics.store import OxigraphStore
from collectomics.store.sparqltext import leading_values, read_query
from helpers import REAL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.embedded_only(
        "worker processes open the store's directory read-only and are killed past their budget"
    ),
]
ARCHIVE = REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
#: A real query that never ends on any real store: the cube of its triples, counted.
HEAVY = """# title: Every triple three times over
# param: agent iri -- the page's agent, counted with the rest
SELECT ?agent (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } GROUP BY ?agent
"""


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The download in an on-disk store, a folder with the heavy query, and every agent that
    plays a role in it."""
    root = tmp_path_factory.mktemp("sections")
    path = root / "store"
    with OxigraphStore(path) as store:
        ingest_files(store, [ARCHIVE], minter=Minter())
        agents = sorted(
            str(row["a"])
            for row in store.query(
                "SELECT DISTINCT ?a WHERE { ?r <http://www.w3.org/ns/prov#agent> ?a "
                "FILTER(isIRI(?a)) }"
            ).rows()
        )
    queries = root / "queries"
    queries.mkdir()
    (queries / "heavy.rq").write_text(HEAVY, "utf-8")
    assert len(agents) > 20
    return path, queries, agents


def _sections(queries: Path, *, heavy: bool) -> list[Section]:
    out = [
        Section(
            "co-collectors",
            "With whom",
            "collectomics.services.sections:query_rows",
            {"query": "co-collectors", "limit": 50},
            more="/queries/co-collectors",
        ),
        Section(
            "dossier",
            "Everything",
            "collectomics.services.sections:query_rows",
            {"query": "person-dossier", "parameter": "person", "limit": 50},
            more="/queries/person-dossier",
        ),
    ]
    if heavy:
        out.insert(
            1,
            Section(
                "heavy",
                "Too much",
                "collectomics.services.sections:query_rows",
                {"query": "heavy", "queries_dir": str(queries)},
                more="/queries/heavy",
            ),
        )
    return out


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_sections_in_workers_answer_as_in_process(
    real_store: tuple[Path, Path, list[str]],
) -> None:
    """For every agent of the download, each section computed by the pool equals the same
    section computed in this process (data, or the same message)."""
    path, queries, agents = real_store
    minter = Minter()
    pool = WorkerPool(path, size=2, timeout=60)
    try:
        with OxigraphStore(path, read_only=True) as store:
            here = InProcess(store)
            for agent in agents:
                local = run_sections(store, minter, agent, _sections(queries, heavy=False))
                remote = run_sections(
                    store, minter, agent, _sections(queries, heavy=False), runner=pool, budget=60
                )
                assert [r.as_json() for r in remote] == [r.as_json() for r in local], agent
                assert all(r.ok for r in remote), agent
                # the pool's answers cross as JSON: the same values the in-process runner gives
                assert pool.call(
                    "collectomics.services.sections:query_rows",
                    (minter, agent),
                    {"query": "co-collectors"},
                ) == here.call(
                    "collectomics.services.sections:query_rows",
                    (minter, agent),
                    {"query": "co-collectors"},
                )
    finally:
        pool.close()


def test_a_section_past_its_budget_is_stopped_and_the_others_answer(
    real_store: tuple[Path, Path, list[str]],
) -> None:
    path, queries, agents = real_store
    minter = Minter()
    with OxigraphStore(path, read_only=True) as store:
        count = store.count()
        expected = run_sections(store, minter, agents[0], _sections(queries, heavy=False))
    pool = WorkerPool(path, size=2, timeout=60)
    try:
        before = pool.pids()
        assert all(_alive(p) for p in before)
        with OxigraphStore(path, read_only=True) as store, use_runner(pool, 3.0):
            # a page that asks for more than the setting gets the setting's budget
            results = run_sections(
                store, minter, agents[0], _sections(queries, heavy=True), budget=30
            )
        assert [r.name for r in results] == ["co-collectors", "heavy", "dossier"]
        heavy = results[1]
        assert heavy.message.startswith(TOO_LARGE) and "section_timeout" in heavy.message
        assert "longer than 3 s" in heavy.message  # the setting, not the 30 s asked for
        assert heavy.more == "/queries/heavy" and heavy.data is None
        assert heavy.as_json()["message"] == heavy.message
        assert [r.as_json() for r in (results[0], results[2])] == [r.as_json() for r in expected]
        # the worker that ran the heavy section was killed: its process is gone, and a new
        # one took its place
        after = pool.pids()
        gone = set(before) - set(after)
        assert len(gone) == 1 and not any(_alive(p) for p in gone)
        assert len(after) == 2 and all(_alive(p) for p in after)
        # the pool answers on, and the store is whole
        again = run_sections(
            OxigraphStore(path, read_only=True), minter, agents[0], _sections(queries, heavy=False),
            runner=pool, budget=60,
        )  # fmt: skip
        assert [r.as_json() for r in again] == [r.as_json() for r in expected]
    finally:
        pool.close()
    with OxigraphStore(path, read_only=True) as store:
        assert store.count() == count


def test_a_call_past_its_limit_frees_the_cpu_and_errors_keep_their_class(
    real_store: tuple[Path, Path, list[str]],
) -> None:
    path, queries, agents = real_store
    minter = Minter()
    pool = WorkerPool(path, size=1, timeout=0.5)
    try:
        (pid,) = pool.pids()
        with pytest.raises(QueryTimeout, match=r"stopped after 0\.5 s \(the query_timeout"):
            pool.call(
                "collectomics.services.sections:query_rows",
                (minter, agents[0]),
                {"query": "heavy", "queries_dir": str(queries)},
            )
        assert not _alive(pid)
        with pytest.raises(OSError):
            os.kill(pid, 0)
        with pytest.raises(QueryNotFound, match="no canned query named 'nope'"):
            pool.call(
                "collectomics.services.sections:query_rows", (minter, agents[0]), {"query": "nope"}
            )
        (same,) = pool.pids()  # a library error leaves the worker as it is
        with pytest.raises(ValueError, match="not a collectomics library function"):
            InProcess(OxigraphStore(path, read_only=True)).call("os:system", ("true",))
        with pytest.raises(RuntimeError, match="not a collectomics library function"):
            pool.call("os:system", ("true",))
        assert pool.pids() == [same] and same != pid
        answer = pool.call(
            "collectomics.services.sections:query_rows",
            (minter, agents[0]),
            {"query": "co-collectors"},
        )
        assert set(answer) == {"variables", "rows", "more"}
    finally:
        pool.close()


def test_sections_without_a_runner_run_here(real_store: tuple[Path, Path, list[str]]) -> None:
    """The library and the CLI: no runner, one section after the other, errors as messages."""
    path, queries, agents = real_store
    broken = Section(
        "broken", "Broken", "collectomics.services.sections:query_rows", {"query": "nope"}
    )
    with OxigraphStore(path, read_only=True) as store:
        (result,) = run_sections(store, Minter(), agents[0], [broken], budget=0.001)
    assert result.message.startswith("no canned query named 'nope'")
    assert result.as_json() == {
        "name": "broken",
        "title": "Broken",
        "more": "",
        "message": result.message,
    }


def test_a_leading_values_block_answers_as_substitution(
    real_store: tuple[Path, Path, list[str]],
) -> None:
    """For every canned query about one IRI (its other parameters defaulted) and every agent of
    the download, the query with the IRI in a leading VALUES block gives the same rows as the
    query with the IRI substituted; a query that it does not fit is left to substitution."""
    path, _, agents = real_store
    queries = [
        q
        for q in list_queries()
        if [p.type for p in q.parameters if p.default is None] == ["iri"]
        and read_query(q.text).form in ("SELECT", "ASK")
    ]
    assert {q.name for q in queries} >= {"co-collectors"}
    compared = 0
    with OxigraphStore(path, read_only=True) as store:
        for q in queries:
            (name,) = [p.name for p in q.parameters if p.default is None]
            for agent in agents:
                bound = q.bind({name: agent})
                text = leading_values(q.text, bound)
                assert text is not None and text.count("VALUES") == q.text.count("VALUES") + 1
                inline = sorted(map(repr, store.query(text).rows()))
                substituted = sorted(map(repr, store.query(q.text, params=bound).rows()))
                assert inline == substituted, (q.name, agent)
                compared += bool(inline)
    assert compared >= 10  # answers with rows, not only empty ones, were compared
    construct = "CONSTRUCT { ?agent ?p ?o } WHERE { ?agent ?p ?o }"
    assert leading_values(construct, {"agent": IRI(agents[0])}) is None
    assert leading_values('SELECT * WHERE { ?s ?p "}" }', {"s": IRI(agents[0])}) == (
        f'SELECT * WHERE {{\nVALUES (?s) {{ (<{agents[0]}>) }}\n ?s ?p "}}" }}'
    )
