"""Bulk load rate into remote SPARQL servers against pyoxigraph's bulk loader, in one run.

    .venv/bin/python benchmarks/remote_load.py                     # 20,000 synthetic records
    .venv/bin/python benchmarks/remote_load.py --records 100000 --keep /tmp/bench-remote

One synthetic Darwin Core Archive (`synthetic.py`) is ingested into an embedded store and its
graph exported as N-Triples; that file is then loaded, timed from start to the final count:

| path | what is timed |
|---|---|
| floor | `OxigraphStore(path).replace_graph(g, file, "ntriples")`: pyoxigraph `bulk_load` into a fresh on-disk store, then flush |
| oxigraph serve | `RemoteStore.replace_graph_parts(g, [(file, "ntriples")], lenient=True)`: Graph Store POSTs of 50,000-line N-Triples chunks into a fresh `oxigraph serve` |
| virtuoso | the same into a fresh Virtuoso open source 7.2 (`/sparql-graph-crud`) |
| ... parsed | the same with ``lenient=False``: every chunk parsed and re-serialized here first |

Prints triples/s per path and the ratio to the floor. The servers run on this machine and
share its cores with the client.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from synthetic import write_archive  # noqa: E402

from collectomics.store import OxigraphStore  # noqa: E402
from remote_servers import start_oxigraph, start_virtuoso  # noqa: E402

GRAPH = "https://w3id.org/collectomics/graph/bench"


def _export(workdir: Path, records: int) -> tuple[Path, int]:
    archive = write_archive(workdir / "archive.zip", records)
    store = workdir / "local.db"
    cli = [sys.executable, "-m", "collectomics", "--store", str(store)]
    subprocess.run([*cli, "ingest", str(archive), "--dataset", "bench"], check=True)
    dump = workdir / "bench.nt"
    subprocess.run([*cli, "export", str(dump), "--format", "ntriples"], check=True)
    shutil.rmtree(store)
    lines = sum(1 for _ in dump.open("rb"))
    return dump, lines


def _floor(dump: Path, workdir: Path) -> float:
    path = workdir / "floor.db"
    start = time.perf_counter()
    store = OxigraphStore(path)
    store.replace_graph(GRAPH, dump, "ntriples")
    store.close()
    seconds = time.perf_counter() - start
    shutil.rmtree(path)
    return seconds


def _remote(kind: str, dump: Path, workdir: Path, *, lenient: bool) -> tuple[float, int]:
    start_server = start_oxigraph if kind == "oxigraph serve" else start_virtuoso
    server = start_server(workdir / (kind.replace(" ", "-") + ("" if lenient else "-parsed")))
    try:
        store = server.store(timeout=600)
        start = time.perf_counter()
        count = store.replace_graph_parts(GRAPH, [(dump, "ntriples")], lenient=lenient)
        return time.perf_counter() - start, count
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir)")
    parser.add_argument("--skip-virtuoso", action="store_true")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-remote-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        dump, triples = _export(workdir, args.records)
        print(f"{args.records:,} records, {triples:,} triples ({dump.stat().st_size / 1e6:.0f} MB)")
        floor = _floor(dump, workdir)
        rows = [("floor: pyoxigraph bulk_load", floor, triples)]
        kinds = ["oxigraph serve"] + ([] if args.skip_virtuoso else ["virtuoso"])
        for kind in kinds:
            for lenient in (True, False):
                seconds, count = _remote(kind, dump, workdir, lenient=lenient)
                label = f"{kind}: Graph Store POSTs" + ("" if lenient else ", parsed here")
                rows.append((label, seconds, count))
        print(f"{'path':<50} {'seconds':>8} {'triples':>10} {'triples/s':>10} {'/ floor':>8}")
        for label, seconds, count in rows:
            rate = count / seconds
            print(
                f"{label:<50} {seconds:8.2f} {count:10,} {rate:10,.0f} {floor and seconds / floor:8.2f}"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
