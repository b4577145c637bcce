"""`export --shards` on Dask against the ingest's in-process producer and the old process pool.

    .venv/bin/python benchmarks/scale_engine.py [--records N] [--workers 1,2] [--repeat R]

One run, one synthetic archive (benchmarks/synthetic.py, seed 0), one machine. Rows:

- producer alone: the ingest's own producer (``stream_archive`` into a Sink writing N-Triples
  to nowhere) in this process, one core: the baseline.
- ``export --shards K --engine dask``: a Dask LocalCluster of K single-threaded worker
  processes (started by the command: start-up included), the reader in the main process.
- ``export --shards K --engine processes``: the forkserver pool Dask replaces.

Printed: seconds, records/s, records/s per core used (CPU seconds of the command and all its
descendants, sampled from /proc every 0.2 s, over wall seconds), the speed-up over the producer
and its ratio of records per CPU second. Nothing is asserted about time (a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from export_shards import DATASET, _watch, producer_alone  # noqa: E402
from synthetic import write_archive  # noqa: E402


def export(archive: Path, out: Path, shards: int, engine: str) -> tuple[float, int, float]:
    """(seconds, records read, CPU seconds of the command and its descendants)."""
    if out.exists():
        shutil.rmtree(out)
    report = out.with_suffix(".json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    cmd = [sys.executable, "-m", "collectomics", "export", "--shards", str(shards)]
    cmd += ["--engine", engine, "--from", str(archive), "--dataset", DATASET]
    cmd += ["--report", str(report), str(out)]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cpu: dict[int, tuple[int, float]] = {}
    stop: list[bool] = []
    watcher = threading.Thread(target=_watch, args=(child.pid, cpu, stop), daemon=True)
    watcher.start()
    _, err = child.communicate()
    seconds = time.perf_counter() - t0
    stop.append(True)
    watcher.join()
    if child.returncode:
        raise SystemExit(f"export failed: {err.decode()}")
    [r] = json.loads(report.read_text())
    assert r["read"] == r["loaded"] + r["rejected"]
    shutil.rmtree(out)
    return seconds, r["read"], sum(c for _, c in cpu.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--engines", default="dask,processes")
    parser.add_argument("--repeat", type=int, default=1, help="keep the fastest of R rounds")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    archive = work / f"synthetic-{args.records}.zip"
    print(f"writing {archive} ...", file=sys.stderr)
    write_archive(archive, args.records, seed=0)
    workers = [int(x) for x in args.workers.split(",")]
    engines = args.engines.split(",")
    best: dict[str, tuple[float, int, float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        print("producer alone ...", file=sys.stderr)
        s, n, _, cpu, _ = producer_alone(archive)
        timed = {"producer alone (ingest's, 1 process)": (s, n, cpu)}
        for engine in engines:
            for k in workers:
                print(f"export --shards {k} --engine {engine} ...", file=sys.stderr)
                timed[f"export --shards {k} --engine {engine}"] = export(
                    archive, work / f"shards-{engine}-{k}", k, engine
                )
        for name, t in timed.items():
            if name not in best or t[0] < best[name][0]:
                best[name] = t
        load.append(os.getloadavg()[0])
    print(
        f"{args.records:,} synthetic records; {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"fastest of {args.repeat}; 1-min load average: " + ", ".join(f"{x:.1f}" for x in load)
    )
    print(
        f"{'path':<40} {'seconds':>8} {'records/s':>10} {'CPU s':>7} {'cores':>6} "
        f"{'rec/s/core':>11} {'speed-up':>9} {'per core':>9}"
    )
    names = list(best)
    base_s, base_n, base_cpu = best[names[0]]
    base_per_core = base_n / base_cpu
    for name in names:
        s, n, cpu = best[name]
        cores = cpu / s
        per_core = n / cpu if cpu else 0.0
        print(
            f"{name:<40} {s:8.1f} {n / s:10,.0f} {cpu:7.1f} {cores:6.2f} {per_core:11,.0f} "
            f"{base_s / s:8.2f}x {per_core / base_per_core:8.2f}x"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
