"""Never hang, over HTTP on 127.0.0.1, on a real on-disk store loaded from a real GBIF download:

- a page whose section runs past ``section_timeout`` answers with that section's message and
  the other sections' data, and the worker process that computed it is gone;
- a canned query past ``query_timeout`` answers 503 and the worker process running it is gone;
- with ``collectomics serve``, a view or the dashboard past ``query_timeout`` answers 503 and the
  HTTP worker process that ran it exits (its work stops with it) and is replaced;
- and the store is whole after each.

The section page is a route the test adds to the real app (the entity pages that use sections
are built elsewhere): it calls ``run_sections`` as a page does, under the app's own middleware,
worker pool and settings, served by waitress (the server ``collectomics serve`` uses where it
cannot fork its own workers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import jsonify, request

from collectomics.config import load_settings
from collectomics.ingest.pipeline import ingest_files
from collectomics.iri import Minter
from collectomics.services.sections import TOO_LARGE, Section, query_rows, run_sections
from collectomics.store import OxigraphStore
from collectomics.web import create_app
from helpers import REAL, start_serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.embedded_only("worker processes open the store's directory read-only"),
]
ARCHIVE = REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
HEAVY = """# title: Every triple three times over
# param: agent iri -- the page's agent, counted with the rest
SELECT ?agent (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } GROUP BY ?agent
"""
SECTIONS = [
    Section(
        "co-collectors",
        "With whom",
        "collectomics.services.sections:query_rows",
        {"query": "co-collectors", "limit": 50},
        more="/queries/co-collectors",
    ),
    Section(
        "heavy",
        "Too much",
        "collectomics.services.sections:query_rows",
        {"query": "heavy"},
        more="/queries/heavy",
    ),
    Section(
        "dossier",
        "Everything",
        "collectomics.services.sections:query_rows",
        {"query": "person-dossier", "parameter": "person", "limit": 50},
        more="/queries/person-dossier",
    ),
]


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, int]:
    """The download in an on-disk store, a queries folder holding the heavy query, the agent
    with the most co-collectors, and the store's size."""
    root = tmp_path_factory.mktemp("budget-http")
    path = root / "store"
    with OxigraphStore(path) as store:
        ingest_files(store, [ARCHIVE], minter=Minter())
        agents = [
            str(row["a"])
            for row in store.query(
                "SELECT DISTINCT ?a WHERE { ?r <http://www.w3.org/ns/prov#agent> ?a "
                "FILTER(isIRI(?a)) } ORDER BY ?a"
            ).rows()
        ]
        rows = {
            a: len(query_rows(store, Minter(), a, query="co-collectors")["rows"]) for a in agents
        }
        agent = max(agents, key=lambda a: rows[a])
        count = store.count()
    queries = root / "queries"
    queries.mkdir()
    (queries / "heavy.rq").write_text(HEAVY, "utf-8")
    return path, queries, agent, count


def _waitress(app: Any) -> Iterator[str]:
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        server.close()
        app.extensions["collectomics"].runner.close()


def _app(store: Path, queries: Path, **settings: str) -> Any:
    env = {"COLLECTOMICS_STORE": str(store), "COLLECTOMICS_QUERIES_DIR": str(queries)}
    env.update({f"COLLECTOMICS_{k.upper()}": v for k, v in settings.items()})
    app = create_app(load_settings(environ=env))

    @app.get("/test/sections")
    def page() -> Any:
        state = app.extensions["collectomics"]
        iri = request.args["iri"]
        folder = state.settings.queries_dir  # a page names the folder its queries come from
        sections = [replace(s, params={**s.params, "queries_dir": folder}) for s in SECTIONS]
        results = run_sections(state.store(), Minter(), iri, sections)
        return jsonify({"iri": iri, "sections": [r.as_json() for r in results]})

    return app


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _count(path: Path) -> int:
    with OxigraphStore(path, read_only=True) as store:
        return store.count()


def test_a_slow_section_gives_its_message_and_the_page_answers(
    real_store: tuple[Path, Path, str, int],
) -> None:
    path, queries, agent, count = real_store
    app = _app(path, queries, section_timeout="3", query_timeout="60", workers="2")
    pool = app.extensions["collectomics"].runner
    with OxigraphStore(path, read_only=True) as store:
        expected = run_sections(store, Minter(), agent, [SECTIONS[0], SECTIONS[2]])
    for base in _waitress(app):
        before = pool.pids()
        r = requests.get(base + "/test/sections", params={"iri": agent}, timeout=120)
        assert r.status_code == 200, r.text
        got = r.json()["sections"]
        assert [s["name"] for s in got] == ["co-collectors", "heavy", "dossier"]
        assert got[1]["message"].startswith(TOO_LARGE) and "data" not in got[1]
        assert "section_timeout" in got[1]["message"] and got[1]["more"] == "/queries/heavy"
        assert [got[0], got[2]] == [s.as_json() for s in expected]
        assert got[0]["data"]["rows"], "the agent has co-collectors: the section shows them"
        timing = [part.split(";") for part in r.headers["Server-Timing"].split(", ")]
        assert [t[0] for t in timing] == ["co-collectors", "heavy", "dossier"]
        assert timing[1][2] == 'desc="too large"' and len(timing[0]) == len(timing[2]) == 2
        assert float(timing[1][1].removeprefix("dur=")) >= 3000  # its budget, then stopped
        gone = set(before) - set(pool.pids())
        assert len(gone) == 1 and not any(_alive(p) for p in gone)
        # the next page is computed by the replacement, and the store answers as before
        again = requests.get(base + "/test/sections", params={"iri": agent}, timeout=120)
        assert again.json()["sections"][0] == got[0]
        assert requests.get(base + "/health", timeout=30).status_code == 200
    assert _count(path) == count


def test_a_canned_query_past_its_limit_answers_503_and_stops(
    real_store: tuple[Path, Path, str, int],
) -> None:
    path, queries, agent, count = real_store
    app = _app(path, queries, query_timeout="2", workers="1")
    pool = app.extensions["collectomics"].runner
    for base in _waitress(app):
        requests.get(base + "/queries/co-collectors", params={"agent": agent}, timeout=60)
        (pid,) = pool.pids()  # started, and has answered a query
        r = requests.get(base + "/queries/heavy", params={"agent": agent}, timeout=60)
        assert r.status_code == 503 and "query_timeout" in r.text, r.text
        assert "Traceback" not in r.text
        assert not _alive(pid)
        (fresh,) = pool.pids()
        assert fresh != pid and _alive(fresh)
        ok = requests.get(base + "/queries/co-collectors", params={"agent": agent}, timeout=60)
        assert ok.status_code == 200
    assert _count(path) == count


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid``."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def test_serve_stops_a_view_past_its_limit(
    real_store: tuple[Path, Path, str, int], tmp_path: Path
) -> None:
    """``collectomics serve`` with one HTTP worker process and a 1 ms budget: each view and the
    dashboard answers 503 naming query_timeout; the process that ran it exits (so does the
    work it could not stop) and a new one answers the next request."""
    path, _, agent, count = real_store
    base, proc = start_serve(
        path, tmp_path, {"COLLECTOMICS_QUERY_TIMEOUT": "0.001", "COLLECTOMICS_WORKERS": "1"}
    )
    views = [
        ("/views/network", {"iri": agent, "depth": "2", "limit": "0", "format": "gexf"}),
        ("/views/itinerary", {"iri": agent}),
        ("/views/timeline", {"iri": agent}),
        ("/dashboard", {"format": "json", "limit": "0"}),
    ]
    try:
        for route, params in views:
            (worker,) = _children(proc.pid)
            r = requests.get(base + route, params=params, timeout=60)
            assert r.status_code == 503 and "query_timeout" in r.text, (route, r.text)
            deadline = time.monotonic() + 60
            while _alive(worker):
                assert time.monotonic() < deadline, f"{route}: the HTTP worker never exited"
                time.sleep(0.05)
            assert requests.get(base + "/health", timeout=60).status_code == 200
            assert len(_children(proc.pid)) == 1
    finally:
        proc.terminate()
        _, errors = proc.communicate(timeout=30)
    assert "Traceback" not in errors, errors
    assert _count(path) == count
