"""Shared fixtures: paths, and the suite's stores, which COLLECTOMICS_TEST_BACKEND switches.

Every store a test makes comes from here (``store``, ``make_store``, ``store_location``,
``make_location``) or from ``new_store``/``new_location`` of tests/remote_servers.py (for module-
and session-scoped fixtures): an in-memory ``OxigraphStore`` or a directory by default, an empty
server of its own under ``COLLECTOMICS_TEST_BACKEND=oxigraph-server|virtuoso``
(``python3 dev.py test --backend KIND``). Tests about the embedded store itself carry
``@pytest.mark.embedded_only("why")`` and are skipped, with that reason, under a backend.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.store import Store
from remote_servers import (
    POOL,
    StoreLocation,
    _remote_servers,
    new_location,
    new_store,
    remote_server,
    remote_store,
    store_maker,
    suite_backend,
)

__all__ = ["_remote_servers", "remote_server", "remote_store"]  # fixtures for every test module

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def pytest_report_header(config: pytest.Config) -> str:
    backend = suite_backend()
    return f"store backend: {backend or 'embedded (pyoxigraph)'}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    started = POOL.started
    if started or suite_backend():
        said = ", ".join(f"{n} {kind}" for kind, n in sorted(started.items())) or "none"
        terminalreporter.write_line(f"SPARQL servers started on 127.0.0.1: {said}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under a remote backend, skip the tests marked embedded_only, saying why."""
    backend = suite_backend()
    for item in items:
        marker = item.get_closest_marker("embedded_only")
        if marker is None:
            continue
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: embedded_only needs a reason")
        if backend is not None:
            item.add_marker(pytest.mark.skip(reason=f"embedded only ({backend} run): {reason}"))


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Store:
    """An empty store: in memory, or on the server COLLECTOMICS_TEST_BACKEND names."""
    return new_store(request)


@pytest.fixture
def make_store(request: pytest.FixtureRequest) -> Callable[..., Store]:
    """Makes empty stores, each its own: ``make_store()`` in memory, ``make_store(path)`` on
    disk; under a backend, each on a server of its own."""
    return lambda path=None: new_store(request, path)


@pytest.fixture(scope="module")
def fresh_store(request: pytest.FixtureRequest) -> Callable[[], Store]:
    """Gives an empty store on each call, for a module's many short-lived stores (hypothesis
    examples): in memory, or the module's server emptied again (the last store only is live)."""
    return store_maker(request)


@pytest.fixture
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """Where the CLI or `serve` makes this test's store: ``tmp_path/store.db``, or a server."""
    return new_location(request, tmp_path / "store.db")


@pytest.fixture
def make_location(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], StoreLocation]:
    """Makes store locations, each its own: ``make_location("a.db")`` -> tmp_path/a.db or a
    server of its own."""
    return lambda name: new_location(request, tmp_path / name)


@pytest.fixture
def minter() -> Minter:
    return Minter()


@pytest.fixture(scope="session")
def demo_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One demo server for the whole run: (its URL, its store's location). By default
    `collectomics demo` (a store on disk); under a backend, the demo graph built into a server
    (what `collectomics demo` does) and `collectomics serve` on it."""
    from helpers import start_demo

    workdir = tmp_path_factory.mktemp("demo-site")
    if suite_backend() is None:
        base, proc = start_demo(workdir)
        location = StoreLocation(str(workdir / "collectomics-demo.db"))
    else:
        from helpers import build_demo_into, start_serve

        location = new_location(request, workdir / "collectomics-demo.db")
        build_demo_into(location, workdir)
        base, proc = start_serve(location, workdir, stderr=subprocess.DEVNULL)
    yield base, location
    proc.terminate()
    proc.wait(timeout=30)
