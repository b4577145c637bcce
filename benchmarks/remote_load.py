"""Loading the same N-Quads shards into the embedded store and into SPARQL servers, by each
path `collectomics load` has, in one run: the servers' own bulk loaders against the Graph Store
path, with pyoxigraph's bulk loader as the floor.

    .venv/bin/python benchmarks/remote_load.py                      # 20,000 synthetic records
    .venv/bin/python benchmarks/remote_load.py --records 100000 --keep /tmp/bench-remote
    .venv/bin/python benchmarks/remote_load.py --keep /tmp/bench-remote --paths virtuoso-bulk-2

One synthetic Darwin Core Archive (`synthetic.py`, seed 0) is mapped by `export --shards 2`
into two N-Quads shards (kept with `--keep` and reused by the next run with the same folder);
then each path loads them into a fresh store, timed from the call to the graph's count after
the switch (staging the shards as N-Triples included: the same for every path, and timed alone
as `stage only`):

| path | what |
|---|---|
| floor | `load_shards` into an on-disk `OxigraphStore`: pyoxigraph `bulk_load` |
| oxigraph-offline | `build_oxigraph_location`: pyoxigraph `bulk_load` into an Oxigraph server's directory, the server stopped |
| oxigraph-serve-gsp | Graph Store POSTs (50,000 lines each, `no_transaction`) into a fresh `oxigraph serve` |
| virtuoso-gsp | the same into a fresh Virtuoso open source 7.2 (`/sparql-graph-crud`) |
| virtuoso-bulk-1, -2 | Virtuoso's bulk loader: `ld_add` + 1 or 2 sessions of `rdf_loader_run()` + `checkpoint` |

Each path runs in a child process of its own, which reports its peak RSS and CPU seconds (the
client's); a server's peak (VmHWM of its process) and the CPU seconds it spent during the load
are read from /proc. On a machine that other work keeps busy, the CPU seconds (client + server)
say more than the wall time. Virtuoso runs with
NumberOfBuffers = `--virtuoso-buffers` (default 170,000 pages of 8 KB, ~1.4 GB: its advice for
a machine with 2 GB free for it). The servers share this machine's cores with the client.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from synthetic import write_archive  # noqa: E402

from remote_servers import Server, start_oxigraph, start_virtuoso  # noqa: E402

PATHS = (
    "stage-only",
    "floor",
    "oxigraph-offline",
    "oxigraph-serve-gsp",
    "virtuoso-gsp",
    "virtuoso-bulk-1",
    "virtuoso-bulk-2",
)


def _shards(workdir: Path, records: int) -> list[Path]:
    """The shards of ``records`` synthetic records (made once per work folder)."""
    out = workdir / f"shards-{records}"
    if not (out / "part-00001.nq").exists():
        archive = write_archive(workdir / f"archive-{records}.zip", records)
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "collectomics", "export", "--shards", "2"]
        subprocess.run(
            [*cmd, "--engine", "processes", "--from", str(archive), str(out)], check=True
        )
    return sorted(out.glob("part-*.nq"))


def _peak_kb(pid: int) -> int:
    """VmHWM (peak resident set) of a running process, in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(path: str, shards: list[str], target: dict[str, Any], result: Any) -> None:
    """Run one path in this (child) process; put (seconds, triples, peak RSS KB) in result."""
    from collectomics.store import OxigraphStore
    from collectomics.store.bulkload import (
        VirtuosoLoader,
        build_oxigraph_location,
        load_shards,
        stage_shards,
    )
    from collectomics.store.remote import RemoteStore

    files = [Path(s) for s in shards]
    stage = Path(target["stage"])
    start = time.perf_counter()
    if path == "stage-only":
        staged = stage_shards(files, stage / ".stage-only")
        triples = sum(staged.triples.values())
        staged.remove()
    elif path == "floor":
        with OxigraphStore(target["location"]) as store:
            triples = sum(load_shards(store, files, stage_dir=stage).values())
    elif path == "oxigraph-offline":
        counts = build_oxigraph_location(Path(target["location"]), files, stage_dir=stage)
        triples = sum(counts.values())
    else:
        store = RemoteStore(
            target["query_url"],
            update_url=target["update_url"],
            graph_store_url=target["graph_store_url"],
            timeout=3600,
        )
        loader = None
        if path.startswith("virtuoso-bulk"):
            sessions = int(path.rsplit("-", 1)[1])
            loader = VirtuosoLoader(target["sql"], user="dba", password="dba", loaders=sessions)
        counts = load_shards(
            store,
            files,
            loader="virtuoso" if loader else "graph-store",
            virtuoso=loader,
            stage_dir=stage,
        )
        triples = sum(counts.values())
        store.close()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.put((seconds, triples, usage.ru_maxrss, usage.ru_utime + usage.ru_stime))


def _run(path: str, shards: list[Path], workdir: Path, buffers: int) -> dict[str, Any]:
    server: Server | None = None
    target: dict[str, Any] = {"stage": str(workdir), "location": str(workdir / f"{path}.db")}
    if path.startswith("virtuoso"):
        server = start_virtuoso(workdir / path, buffers=buffers)
        target["stage"] = str(server.bulk_dir)
    elif path == "oxigraph-serve-gsp":
        server = start_oxigraph(workdir / path)
    if server is not None:
        target.update(
            query_url=server.query_url,
            update_url=server.update_url,
            graph_store_url=server.graph_store_url,
            sql=server.sql,
        )
    ctx = multiprocessing.get_context("forkserver")
    result = ctx.Queue()
    child = ctx.Process(target=_child, args=(path, [str(s) for s in shards], target, result))
    try:
        server_cpu = _cpu_seconds(server.process.pid) if server is not None else 0.0
        child.start()
        seconds, triples, client_kb, client_cpu = result.get()
        child.join()
        server_kb = _peak_kb(server.process.pid) if server is not None else 0
        if server is not None:
            server_cpu = _cpu_seconds(server.process.pid) - server_cpu
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir / f"{path}.db", ignore_errors=True)
    return {
        "path": path,
        "seconds": seconds,
        "triples": triples,
        "client_mb": client_kb / 1024,
        "server_mb": server_kb / 1024,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir)")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated paths to run")
    parser.add_argument("--virtuoso-buffers", type=int, default=170_000)
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-remote-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        shards = _shards(workdir, args.records)
        size = sum(s.stat().st_size for s in shards)
        lines = sum(s.read_bytes().count(b"\n") for s in shards)
        print(
            f"{args.records:,} records: {len(shards)} shards, {lines:,} quads, {size / 1e6:.0f} MB; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        rows = []
        for path in args.paths.split(","):
            if path not in PATHS:
                raise SystemExit(f"unknown path {path!r}: one of {', '.join(PATHS)}")
            rows.append(_run(path, shards, workdir, args.virtuoso_buffers))
            print(f"  {path}: {rows[-1]['seconds']:.1f} s", flush=True)
        base = {r["path"]: r for r in rows}
        floor = base.get("floor")
        gsp = base.get("virtuoso-gsp")
        print(
            f"{'path':<20} {'seconds':>8} {'triples':>10} {'triples/s':>10} {'/ floor':>8} "
            f"{'/ v-gsp':>8} {'client MB':>10} {'server MB':>10} {'CPU s':>12}"
        )
        for r in rows:
            rate = r["triples"] / r["seconds"]
            vs_floor = f"{r['seconds'] / floor['seconds']:8.2f}" if floor else f"{'':>8}"
            vs_gsp = f"{gsp['seconds'] / r['seconds']:8.2f}" if gsp else f"{'':>8}"
            print(
                f"{r['path']:<20} {r['seconds']:8.1f} {r['triples']:10,} {rate:10,.0f} {vs_floor} "
                f"{vs_gsp} {r['client_mb']:10.0f} {r['server_mb']:10.0f} "
                f"{r['client_cpu']:5.1f}+{r['server_cpu']:<6.1f}"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
