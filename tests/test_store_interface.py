"""The members of the ``Store`` interface that callers used to probe for (``read_only``, the
cache folder, the version token, the location), on every backend.

Properties over real archives in tests/data/real, on the suite's store (an embedded one on disk,
or a server under COLLECTOMICS_TEST_BACKEND): every change a writable handle makes gives a new
version token and a state seen again gives the same one; the location opens the same store; a
read-only handle refuses every write with a StoreError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from collectomics.errors import StoreError
from collectomics.ingest import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.store import CACHE_DIR, OxigraphStore, Store, is_remote, open_store
from helpers import REAL

ARCHIVES = {
    "dwca-io-occ": REAL / "dwca-io-fixtures/archive-occ.zip",
    "plazi": REAL / "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip",
}
MINTER = Minter("https://w3id.org/collectomics/")
EXTRA = "<https://ex.org/s> <https://ex.org/p> <https://ex.org/o> .\n"


def _loaded(store: Store) -> Store:
    for name, archive in ARCHIVES.items():
        ingest_dataset(store, DatasetSpec(name, (archive,)), minter=MINTER)
    return store


def _changes(store: Store) -> Iterator[str]:
    """Every kind of change a writable handle can make, one at a time; yields its name."""
    graphs = store.graphs()
    first = next(g for g in graphs if g.endswith("dwca-io-occ"))
    spec = DatasetSpec("dwca-io-occ", (ARCHIVES["dwca-io-occ"],))
    ingest_dataset(store, spec, minter=MINTER, replace=True)
    yield "re-ingest (a new physical version)"
    store.add(first, EXTRA, "ntriples")
    yield "add (in place)"
    physical = store.physical_graph(first)
    store.update(
        f"INSERT DATA {{ GRAPH <{physical}> {{ <https://ex.org/s> <https://ex.org/p> 2 }} }}"
    )
    yield "update (in place)"
    store.replace_graph("https://example.org/graph/new", EXTRA, "ntriples")
    yield "a new dataset"
    store.remove_graph("https://example.org/graph/new")
    yield "a dataset removed"


def _write_extra(out: IO[bytes]) -> None:
    out.write(EXTRA.encode())


def test_every_change_gives_a_new_version_and_a_read_changes_none(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    store = _loaded(make_store(tmp_path / "versions.db"))
    seen = {store.version(): "loaded"}
    for change in _changes(store):
        token = store.version()
        if change == "a dataset removed":  # back to the state after the update
            assert seen.get(token) == "update (in place)", seen.get(token)
        else:
            assert token not in seen, (change, seen[token])
        seen.setdefault(token, change)
        list(store.query("SELECT * WHERE { ?s ?p ?o } LIMIT 5").rows())
        assert store.version() == token, f"a query changed the version ({change})"


@pytest.mark.embedded_only("a read-only embedded handle is a snapshot as of its opening")
def test_a_read_only_snapshot_keeps_its_version_while_a_writer_changes_the_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "snapshot.db"
    # closed first, so that no background compaction of the load races the read-only opens
    # (such an open can fail with pyoxigraph's RuntimeError: a table file removed under it)
    _loaded(OxigraphStore(path)).close()
    reader = open_store(path, read_only=True)
    before, quads = reader.version(), reader.count()
    with open_store(path, read_only=True) as again:
        assert again.version() == before  # two handles on one state agree
    writer = OxigraphStore(path)
    for change in _changes(writer):
        assert reader.version() == before, change
        assert reader.count() == quads, change
    writer.close()
    with open_store(path, read_only=True) as now:
        assert now.version() != before  # a handle opened after the changes sees a new one
    reader.close()


def test_the_location_opens_the_same_store(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    memory = make_store()
    assert memory.location is None or is_remote(memory.location)
    store = make_store(tmp_path / "located.db")
    ingest_dataset(store, DatasetSpec("plazi", (ARCHIVES["plazi"],)), minter=MINTER)
    location, graphs = store.location, store.graphs()
    assert location is not None
    counts = [store.count(g) for g in graphs]
    store.close()  # the load settled: no background compaction races the read-only open
    with open_store(location, read_only=True) as other:
        assert other.graphs() == graphs and [other.count(g) for g in graphs] == counts
        assert other.location == location


def test_the_cache_folder_is_inside_an_on_disk_store_only(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_store(tmp_path / "cached.db")
    store.replace_graph("https://example.org/graph/one", EXTRA, "ntriples")
    if store.location is not None and not is_remote(store.location):
        assert store.cache_dir == Path(store.location) / CACHE_DIR
        store.close()
        with open_store(store.location, read_only=True) as reader:
            assert reader.cache_dir == Path(store.location) / CACHE_DIR
    else:  # a server: caches stay in the process
        assert store.cache_dir is None
    assert OxigraphStore().cache_dir is None  # in memory


def test_a_read_only_handle_refuses_every_write_and_changes_nothing(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    writer = make_store(tmp_path / "guarded.db")
    ingest_dataset(writer, DatasetSpec("plazi", (ARCHIVES["plazi"],)), minter=MINTER)
    graph = writer.graphs()[0]
    assert not writer.read_only
    assert writer.location is not None
    writer_state = writer.version()
    writer.close()  # one writable handle at a time (the last lines open another)
    reader = open_store(writer.location, read_only=True)
    assert reader.read_only
    before = reader.version()
    counts = [reader.count(g) for g in reader.graphs()]
    writes: dict[str, Callable[[], object]] = {
        "add": lambda: reader.add(graph, EXTRA, "ntriples"),
        "replace": lambda: reader.replace_graph(graph, EXTRA, "ntriples"),
        "new dataset": lambda: reader.replace_graph(
            "https://example.org/graph/x", EXTRA, "ntriples"
        ),
        "stream": lambda: reader.replace_graph_stream(graph, _write_extra),
        "update": lambda: reader.update("INSERT DATA { <https://ex.org/a> <https://ex.org/b> 1 }"),
        "remove": lambda: reader.remove_graph(graph),
        "restore": lambda: reader.restore(
            b'<https://ex.org/a> <https://ex.org/b> "1" <urn:g:1> .\n'
        ),
    }
    for name, write in writes.items():
        with pytest.raises(StoreError, match="read-only"):
            write()
        assert reader.version() == before, name
    assert [reader.count(g) for g in reader.graphs()] == counts
    reader.close()
    with open_store(writer.location) as again:
        assert [again.count(g) for g in again.graphs()] == counts
        assert again.version() == writer_state
