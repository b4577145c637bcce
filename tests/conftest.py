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
