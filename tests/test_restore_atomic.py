"""A restore into the embedded store switches every graph at once.

Readers, and a restore that fails or is killed half-way, see the store as it was or as the
backup holds it, never some graphs of each. (On a remote store a restore is graph by graph;
docs/reliability.md says so.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectomics.errors import StoreError
from collectomics.store import OxigraphStore, is_internal_graph
from collectomics.store import backup as bk

A, B, C = (f"https://example.org/graph/{x}" for x in "abc")


def _fill(store: OxigraphStore, graphs: dict[str, int], tag: str) -> None:
    for graph, n in graphs.items():
        lines = "".join(
            f'<https://example.org/s{i}> <https://example.org/p> "{tag}" .\n' for i in range(n)
        )
        store.replace_graph(graph, lines.encode(), "ntriples")


def _state(store: OxigraphStore) -> dict[str, tuple[int, set[str]]]:
    """graph -> (triples, the tags its objects carry)."""
    out = {}
    for graph in store.graphs():
        rows = store.query("SELECT DISTINCT ?o WHERE { ?s ?p ?o }", default_graphs=[graph])
        out[graph] = (store.count(graph), {r["o"].value for r in rows.rows()})
    return out


def _current_physical(path: Path) -> set[str]:
    with OxigraphStore(path, read_only=True) as store:
        return {store.physical_graph(g) for g in store.graphs()}


def _physical_graphs(path: Path) -> set[str]:
    import pyoxigraph as ox

    raw = ox.Store.read_only(str(path))
    return {g.value for g in raw.named_graphs() if not is_internal_graph(g.value)}


@pytest.fixture
def backed_up(tmp_path: Path) -> tuple[Path, Path]:
    """A store with new A and B, backed up; then the same store turned into old A, B and C."""
    path = tmp_path / "store"
    with OxigraphStore(path) as store:
        _fill(store, {A: 30, B: 40}, "new")
        bk.backup(store, tmp_path / "backup.nq.gz")
        _fill(store, {A: 3, B: 4, C: 5}, "old")
    return path, tmp_path / "backup.nq.gz"


OLD = {A: (3, {"old"}), B: (4, {"old"}), C: (5, {"old"})}
NEW = {A: (30, {"new"}), B: (40, {"new"})}


def test_restore_switches_every_graph_and_leaves_no_old_version(
    backed_up: tuple[Path, Path],
) -> None:
    path, backup = backed_up
    with OxigraphStore(path) as store:
        bk.restore(store, backup)
        assert _state(store) == NEW
    assert _physical_graphs(path) == _current_physical(path)  # old versions and C deleted
    assert len(_current_physical(path)) == 2


def test_a_restore_that_fails_half_way_changes_nothing(
    backed_up: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, backup = backed_up
    stage, calls = OxigraphStore._stage, []

    def failing(self, graph, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(graph)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return stage(self, graph, *args, **kwargs)

    monkeypatch.setattr(OxigraphStore, "_stage", failing)
    with OxigraphStore(path) as store:
        before = _physical_graphs(path)
        with pytest.raises(OSError, match="disk full"):
            bk.restore(store, backup)
        assert calls == [A, B]
        assert _state(store) == OLD
    assert _physical_graphs(path) == before  # the staged version of A is gone too


def test_counts_that_differ_from_the_manifest_switch_nothing(tmp_path: Path) -> None:
    with OxigraphStore(tmp_path / "s") as store:
        _fill(store, {A: 3}, "old")

        def produce(out):  # noqa: ANN001, ANN202
            out.write(
                b'<https://example.org/x> <https://example.org/p> "new" <https://example.org/g> .\n'
            )

        with pytest.raises(StoreError, match="loaded 1 triples where 2 were expected"):
            store.replace_graphs_stream([(A, produce)], expected={A: 2}, remove_others=True)
        assert _state(store) == {A: (3, {"old"})}


#: Run in a subprocess: restore, pausing (for the kill) just before or just after the switch.
WRAPPER = r"""
import os, sys, time
from collectomics.store import backup as bk
from collectomics.store import OxigraphStore
point, marker, store_path, backup_path = sys.argv[1:5]
switch = OxigraphStore._switch
def wrapped(self, current, removed):
    if point == "after":
        switch(self, current, removed)
    with open(marker, "w") as f:
        f.write(point)
    time.sleep(600)
OxigraphStore._switch = wrapped
with OxigraphStore(store_path) as store:
    bk.restore(store, backup_path)
"""


@pytest.mark.parametrize(("point", "expected"), [("before", OLD), ("after", NEW)])
def test_a_restore_killed_at_the_switch_leaves_old_or_new(
    backed_up: tuple[Path, Path], tmp_path: Path, point: str, expected: dict
) -> None:
    path, backup = backed_up
    marker = tmp_path / "reached"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, point, str(marker), str(path), str(backup)],
        env={k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the restore ended before the kill point"
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    with OxigraphStore(path) as store:  # a writable open deletes what the switch marked
        assert _state(store) == expected
    if point == "after":
        assert _physical_graphs(path) == _current_physical(path)
    with OxigraphStore(path) as store:  # a later restore completes and leaves nothing behind
        bk.restore(store, backup)
        assert _state(store) == NEW
    assert _physical_graphs(path) == _current_physical(path)
