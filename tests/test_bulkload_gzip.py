"""`collectomics load` of gzipped shards (`export --shards N --compress gzip`, `part-*.nq.gz`) on
every path: the embedded store, an Oxigraph server's store built offline, the Graph Store path of
each real server, and Virtuoso's own bulk loader, which reads the staged `.nt.gz` files itself.
Each load gives the graph `ingest` makes; a gzip shard that is cut short, corrupt or not gzip at
all is one error naming it, and the dataset's previous version stays current."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.shards import export_shards
from collectomics.iri import Minter
from collectomics.store import CATALOG, OxigraphStore
from collectomics.store.bulkload import (
    BLOCK,
    VirtuosoLoader,
    build_oxigraph_location,
    load_shards,
    shard_files,
    stage_shards,
)
from helpers import run_cli
from remote_servers import Server, lease, start_oxigraph
from test_bulkload import ARCHIVES, DATASET, GRAPH, Version, _quads, _staging_left

#: how a gzip shard goes wrong, and what the error then says
DAMAGE = {
    "cut short": "cut short",
    "corrupt": "gzip",
    "not gzip": "gzip",
}


@pytest.fixture(scope="module")
def gz(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Version]:
    """The two versions of the dataset as gzipped shards (one per engine)."""
    found = {}
    for (name, archive), engine in zip(ARCHIVES.items(), ("processes", "dask"), strict=True):
        out = tmp_path_factory.mktemp(f"gz-shards-{name}")
        shutil.rmtree(out)
        _, files = export_shards(
            [archive], out, 2, minter=Minter(), dataset_id=DATASET, engine=engine, compress="gzip"
        )
        assert [f.name for f in files] == ["part-00000.nq.gz", "part-00001.nq.gz"]
        with OxigraphStore() as store:
            ingest_files(store, [archive], minter=Minter(), dataset_id=DATASET)
            found[name] = Version(out, store.count(GRAPH), _quads(store, GRAPH))
    return found


def _damaged(version: Version, how: str, tmp_path: Path) -> Path:
    """A copy of ``version``'s shards whose second shard is damaged ``how`` (see DAMAGE)."""
    copy = tmp_path / f"damaged-{how.replace(' ', '-')}"
    shutil.copytree(version.shards, copy)
    shard = copy / "part-00001.nq.gz"
    data = shard.read_bytes()
    if how == "cut short":
        shard.write_bytes(data[: len(data) // 2])
    elif how == "corrupt":  # a run of bytes in the middle of the deflate stream overwritten
        middle = len(data) // 2
        shard.write_bytes(data[:middle] + bytes(64) + data[middle + 64 :])
    else:  # N-Quads text under a .gz name
        shard.write_bytes(gzip.decompress(data))
    return copy


def test_garbage_before_the_checksum_is_named_a_gzip_fault(tmp_path: Path) -> None:
    """A damaged deflate stream can decompress to text the parser rejects long before gzip's
    checksum at the end finds the damage: the error names the gzip, not a syntax error."""
    text = (
        b"this line is what a damaged stream decompressed to\n"
        + b"<urn:s> <urn:p> <urn:o> <urn:g> .\n" * (2 * BLOCK // 34)
    )
    data = bytearray(gzip.compress(text, mtime=0))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer, read only at the end of the stream
    shard = tmp_path / "part-00000.nq.gz"
    shard.write_bytes(bytes(data))
    with pytest.raises(InputError) as failure:
        stage_shards([shard], tmp_path / "staged")
    assert failure.value.file == str(shard)
    assert "gzip" in str(failure.value) and "CRC" in str(failure.value), failure.value
    assert not (tmp_path / "staged").exists()
    shard.write_bytes(gzip.compress(text, mtime=0))  # whole: the parse error stands
    with pytest.raises(InputError) as failure:
        stage_shards([shard], tmp_path / "staged")
    assert failure.value.row == 1 and "gzip" not in str(failure.value), failure.value


def _lines(files: list[Path]) -> list[bytes]:
    return sorted(line for f in files for line in gzip.decompress(f.read_bytes()).splitlines())


def _staged_names(folder: Path) -> list[str]:
    """The names of the files in the staging folders under ``folder``."""
    return sorted(f.name for staging in _staging_left(folder) for f in staging.iterdir())


def test_shard_files_finds_gzipped_shards(gz: dict[str, Version]) -> None:
    files = shard_files([gz["a"].shards])
    assert [f.name for f in files] == ["part-00000.nq.gz", "part-00001.nq.gz"]


def test_embedded_store(gz: dict[str, Version], tmp_path: Path) -> None:
    """Loaded through gzip streams, staged gzipped: the graph ingest makes; every kind of
    damaged shard is one InputError naming it, before anything is loaded."""
    a, b = gz["a"], gz["b"]
    staged: list[str] = []

    def during(step: str, done: int, total: int) -> None:
        if step == "load" and not staged:
            staged.extend(_staged_names(a.shards))

    with OxigraphStore(tmp_path / "store") as store:
        assert load_shards(store, [a.shards], on_progress=during) == {GRAPH: a.triples}
        assert _quads(store, GRAPH) == a.quads
        assert staged and all(name.endswith(".nt.gz") for name in staged), staged
        for how, says in DAMAGE.items():
            broken = _damaged(b, how, tmp_path)
            with pytest.raises(InputError) as failure:
                load_shards(store, [broken], replace=True)
            assert failure.value.file == str(broken / "part-00001.nq.gz"), how
            assert says in str(failure.value), (how, str(failure.value))
            assert _quads(store, GRAPH) == a.quads and store.graphs() == [GRAPH]
            assert _staging_left(broken) == []
        assert load_shards(store, [b.shards], replace=True) == {GRAPH: b.triples}
        assert _quads(store, GRAPH) == b.quads


def test_oxigraph_server_store_built_offline(gz: dict[str, Version], tmp_path: Path) -> None:
    a, b = gz["a"], gz["b"]
    workdir = tmp_path / "oxigraph"
    location = workdir / "db"
    assert build_oxigraph_location(location, [a.shards]) == {GRAPH: a.triples}
    with pytest.raises(InputError) as failure:
        build_oxigraph_location(location, [_damaged(b, "cut short", tmp_path)], replace=True)
    assert "part-00001.nq.gz" in str(failure.value) and "cut short" in str(failure.value)
    server = start_oxigraph(workdir)
    try:
        store = server.store()
        assert store.count() == a.triples and _quads(store, GRAPH) == a.quads
        assert server.graphs() == {GRAPH, CATALOG}  # nothing of the failed load
        store.close()
    finally:
        server._halt()
    done = run_cli("load", "--oxigraph-location", str(location), "--replace", str(b.shards))
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {b.triples} triples" in done.stdout
    server.restart()
    try:
        store = server.store()
        assert store.count() == b.triples and _quads(store, GRAPH) == b.quads
        store.close()
    finally:
        server.stop()


def test_graph_store_path_on_each_server(remote_server: Server, gz: dict[str, Version]) -> None:
    a = gz["a"]
    store = remote_server.store()
    assert load_shards(store, [a.shards]) == {GRAPH: a.triples}
    assert store.count(GRAPH) == a.triples
    if remote_server.kind == "oxigraph-server":  # Virtuoso rewrites some literals' lexical forms
        assert _quads(store, GRAPH) == a.quads
    store.close()


@pytest.fixture
def virtuoso(request: pytest.FixtureRequest) -> Server:
    return lease(request, "virtuoso")


def test_virtuoso_loads_the_gzipped_files_itself(
    virtuoso: Server, gz: dict[str, Version], tmp_path: Path
) -> None:
    """Virtuoso's bulk loader is given the staged `.nt.gz` files (never decompressed on disk)
    and loads the count ingest gives; a damaged shard stops the load before the server sees
    anything, and the first version stays current."""
    a, b = gz["a"], gz["b"]
    bulk_dir: Path = virtuoso.bulk_dir  # type: ignore[assignment]
    store = virtuoso.store()
    given: list[str] = []

    class Spy(VirtuosoLoader):
        def __call__(self, assignments: Sequence[tuple[Path, str]]) -> None:
            given.extend(Path(f).name for f, _ in assignments)
            super().__call__(assignments)

    loader = Spy(virtuoso.sql, user="dba", password="dba", loaders=2)
    counts = load_shards(store, [a.shards], loader="virtuoso", virtuoso=loader, stage_dir=bulk_dir)
    assert counts == {GRAPH: a.triples} and store.count(GRAPH) == a.triples
    assert len(given) == 2 and all(name.endswith(".nt.gz") for name in given), given
    before = virtuoso.graphs()
    broken = _damaged(b, "corrupt", tmp_path)
    with pytest.raises(InputError) as failure:
        load_shards(
            store, [broken], loader="virtuoso", virtuoso=loader, replace=True, stage_dir=bulk_dir
        )
    assert failure.value.file == str(broken / "part-00001.nq.gz")
    assert store.count(GRAPH) == a.triples and store.physical_graph(GRAPH) == GRAPH
    assert virtuoso.graphs() == before
    assert _staging_left(bulk_dir) == []
    env = virtuoso.bulk_env()
    done = run_cli("load", "--replace", str(b.shards), env=env)
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {b.triples} triples" in done.stdout
    bad = run_cli("load", "--replace", str(_damaged(a, "cut short", tmp_path)), env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert [line for line in bad.stderr.splitlines() if line.strip()] == [
        line for line in bad.stderr.splitlines() if line.startswith("error:")
    ]  # one line
    assert "part-00001.nq.gz" in bad.stderr and "cut short" in bad.stderr
    assert virtuoso.store().count(GRAPH) == b.triples
    store.close()


@pytest.mark.slow
def test_cli_export_gzip_then_load_equals_ingest(gz: dict[str, Version], tmp_path: Path) -> None:
    out = tmp_path / "shards"
    archive = ARCHIVES["a"]
    r = run_cli(
        "export", "--shards", "2", "--compress", "gzip", "--from", str(archive),
        "--dataset", DATASET, str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(f.name for f in out.iterdir()) == ["part-00000.nq.gz", "part-00001.nq.gz"]
    # decompressed, the lines of the library's export of the same archive
    assert _lines(shard_files([out])) == _lines(shard_files([gz["a"].shards]))
    done = run_cli("load", str(out), store=tmp_path / "db")
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {gz['a'].triples} triples" in done.stdout
