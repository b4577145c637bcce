"""`export --shards` on its engines: Dask (the default when installed) and the process pool.

tests/test_export_shards.py holds the equality with `ingest` for the default engine (Dask, the
test extra installs it); here both engines give the same shards' graph and the same report on
real downloads, and a wrong engine is one clear error.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import distributed
import pytest

from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.shards import check_engine, dask_available, export_shards
from collectomics.iri import Minter
from collectomics.store import OxigraphStore
from helpers import REAL, run_cli

ARCHIVES = [
    "rgbif-gbif-downloads/0000066-140928181241064.zip",  # verbatim, multimedia, source EMLs
    "finch-gbif-download-2015/0000154-150116162929234.zip",
]
MINTER = Minter()


def _graph(files: list[Path], tmp: Path) -> set[str]:
    whole = tmp / "all.nq"
    whole.write_bytes(
        b"".join(
            gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes() for f in files
        )
    )
    store = OxigraphStore()
    store.restore(whole, "nquads")
    out = io.BytesIO()
    store.dump(out, "nquads")
    return set(out.getvalue().decode("utf-8").splitlines())


def test_dask_is_the_default_engine_when_installed() -> None:
    assert dask_available()  # the test extra installs it
    assert check_engine(None) == "dask"


@pytest.mark.parametrize("name", ARCHIVES)
def test_both_engines_write_what_ingest_loads(name: str, tmp_path: Path) -> None:
    path = REAL / name
    store = OxigraphStore()
    [ingested] = ingest_files(store, [path], minter=MINTER, dataset_id="d")
    out = io.BytesIO()
    store.dump(out, "nquads")
    # but the derived identity graph, which ingest writes after the data (shards hold data only)
    derived = f"<{MINTER.graph('identity')}> ."
    expected = {q for q in out.getvalue().decode("utf-8").splitlines() if not q.endswith(derived)}
    for engine, compress in [("dask", None), ("processes", None), ("dask", "gzip"),
                             ("processes", "gzip")]:  # fmt: skip
        [report], files = export_shards(
            [path],
            tmp_path / f"{engine}-{compress}",
            2,
            minter=MINTER,
            dataset_id="d",
            engine=engine,
            compress=compress,
        )
        assert [f.name.endswith(".nq.gz") for f in files] == [compress == "gzip"] * 2
        assert _graph(files, tmp_path) == expected, engine
        a, b = ingested.to_dict(), report.to_dict()
        a.pop("triples"), b.pop("triples")
        a.pop("duplicates"), b.pop("duplicates")
        assert a == b, engine


def test_a_wrong_engine_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        export_shards([REAL / ARCHIVES[0]], tmp_path / "o", 2, minter=MINTER, engine="spark")
    assert err.value.context.get("parameter") == "--engine"
    with pytest.raises(InputError) as err:
        export_shards([REAL / ARCHIVES[0]], tmp_path / "o", 2, minter=MINTER, compress="zip")
    assert err.value.context.get("parameter") == "--compress"
    assert not (tmp_path / "o").exists()  # refused before anything is written
    archive = str(REAL / ARCHIVES[0])
    r = run_cli("export", "--shards", "2", "--from", archive, "--engine", "x", str(tmp_path / "p"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--engine" in r.stderr
    r = run_cli("export", "--engine", "dask", str(tmp_path / "q.nq"), store=tmp_path / "s")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--shards" in r.stderr
    r = run_cli("export", "--compress", "gzip", str(tmp_path / "q.nq"), store=tmp_path / "s")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--shards" in r.stderr
    r = run_cli("export", "--shards", "2", "--from", archive, "--compress", "zip", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--compress" in r.stderr


def test_an_existing_dask_cluster_maps_the_shards(tmp_path: Path) -> None:
    """`--scheduler ADDRESS`: the workers of a running cluster (here two worker processes on
    127.0.0.1 under their own scheduler) write one shard each, equal to what ingest loads, and
    the cluster is left running for its next job."""
    path = REAL / ARCHIVES[1]
    store = OxigraphStore()
    ingest_files(store, [path], minter=MINTER, dataset_id="d")
    out = io.BytesIO()
    store.dump(out, "nquads")
    derived = f"<{MINTER.graph('identity')}> ."  # ingest's derived graph: not in the shards
    expected = {q for q in out.getvalue().decode("utf-8").splitlines() if not q.endswith(derived)}
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        r = run_cli(
            "export", "--shards", "2", "--from", str(path), "--dataset", "d",
            "--scheduler", address, str(tmp_path / "out"),
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        files = sorted((tmp_path / "out").glob("part-*.nq"))
        assert len(files) == 2 and not list((tmp_path / "out").glob("*.partial"))
        assert _graph(files, tmp_path) == expected
        with distributed.Client(address) as client:  # still serving
            assert len(client.scheduler_info()["workers"]) == 2


def test_a_failing_task_or_lost_dask_worker_stops_the_export_and_leaves_no_shards(
    tmp_path: Path,
) -> None:
    """A batch whose mapping raises, or a worker killed mid-export (its file may end in half a
    line), is one error naming it; abort removes every unfinished file."""
    import os
    import signal

    from collectomics.errors import CollectomicsError
    from collectomics.ingest.batches import SPECIMENS, Batch
    from collectomics.ingest.shards import _DaskPool
    from collectomics.mapping.common import Context

    ctx = Context("fail", MINTER)
    pool = _DaskPool(tmp_path, 2, None)
    pool.submit(Batch("no such kind", "f.txt", [1]), ctx, lambda *result: None)
    with pytest.raises(CollectomicsError, match="(?s)batch 1 failed.*KeyError"):
        pool.close()
    pool.abort()
    assert list(tmp_path.iterdir()) == []

    pool = _DaskPool(tmp_path, 2, None)
    pool.submit(Batch(SPECIMENS, "f.txt", []), ctx, lambda *result: None)
    pids = pool.client.run(os.getpid, workers=pool.workers)
    os.kill(pids[pool.workers[1]], signal.SIGKILL)
    with pytest.raises(CollectomicsError, match="shard worker 1 .* was lost"):
        pool.close()
    pool.abort()
    assert list(tmp_path.iterdir()) == []
