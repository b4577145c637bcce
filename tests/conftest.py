"""Shared fixtures: paths and an in-memory store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.store import OxigraphStore, Store
from remote_servers import (
    _remote_servers,
    remote_server,
    remote_store,
    session_server,
    suite_backend,
)

__all__ = ["_remote_servers", "remote_server", "remote_store"]  # fixtures for every test module

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store: in memory, or on the server COLLECTOMICS_TEST_BACKEND names."""
    backend = suite_backend()
    if backend is None:
        yield OxigraphStore()
        return
    request.getfixturevalue("_remote_servers")  # stops the servers at the end of the session
    server = session_server(backend, request.getfixturevalue("tmp_path_factory"))
    server.reset()
    remote = server.store()
    yield remote
    remote.close()


@pytest.fixture
def minter() -> Minter:
    return Minter()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One `collectomics demo` server for the whole run: (its URL, its store's path)."""
    from helpers import start_demo

    workdir = tmp_path_factory.mktemp("demo-site")
    base, proc = start_demo(workdir)
    yield base, workdir / "collectomics-demo.db"
    proc.terminate()
    proc.wait(timeout=30)
