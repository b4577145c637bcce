"""Shared fixtures: paths and an in-memory store."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.store import OxigraphStore

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def store() -> OxigraphStore:
    return OxigraphStore()


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
