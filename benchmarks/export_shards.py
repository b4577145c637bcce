"""`collectomics export --shards N`: records/s and triples/s against the ingest's producer.

    .venv/bin/python benchmarks/export_shards.py [--records N] [--shards 1,2] [--keep DIR]
                                                 [--repeat R] [--no-load]

One run, one synthetic archive (benchmarks/synthetic.py, seed 0), one machine:

- producer alone: the ingest's own producer (``stream_archive`` into a ``Sink`` writing
  N-Triples to /dev/null) in this process: reading, mapping and serialising on one core, no
  store. The baseline: what ``ingest`` can feed its loader at best.
- export, K shards: ``python -m collectomics export --shards K --from archive.zip --dataset
  bench OUT`` in a child process, start to exit (worker start-up included): K worker processes
  map and write N-Quads while the main process reads the archive.
- oxigraph load of K shards: ``oxigraph load --lenient --file part-*.nq`` (the native bulk
  loader of the ``oxigraph`` command from the test extra; it loads several files in parallel)
  into a fresh store, start to exit: what the shards are for.

It prints seconds, records/s, triples/s (N-Quads lines written; the shards repeat a few shared
descriptions, so slightly more lines than the producer's) and the speed-up over the producer,
the fastest of ``--repeat`` rounds, with the machine's load average (other work on a shared
machine skews every figure), and for the exports the CPU seconds of the main process (reader)
and of the workers, sampled from /proc every 0.2 s.
It asserts nothing about time: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import write_archive  # noqa: E402

DATASET = "bench"


class _Counting:
    """A binary sink that counts lines and bytes."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        self.bytes += len(data)
        return len(data)


def producer_alone(archive: Path) -> tuple[float, int, int, float, float]:
    """(seconds, records read, N-Triples lines, CPU s, 0) of stream_archive into a Sink, no
    store."""
    from collectomics.ingest.archive import stream_archive
    from collectomics.ingest.pipeline import IngestReport, Sink, streaming_gc
    from collectomics.iri import Minter
    from collectomics.mapping.common import Context

    minter = Minter()
    ctx = Context(DATASET, minter, ntriples=True)  # as the ingest maps
    report = IngestReport(DATASET, minter.graph(DATASET))
    out = _Counting()
    t0, c0 = time.perf_counter(), time.process_time()
    with streaming_gc():
        stream_archive(archive, ctx, report, Sink(out, None))  # type: ignore[arg-type]
    return time.perf_counter() - t0, report.read, out.lines, time.process_time() - c0, 0.0


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _watch(root: int, cpu: dict[int, tuple[int, float]], stop: list[bool]) -> None:
    """Keep the last CPU seconds of ``root`` and its descendants until ``stop``."""
    while not stop:
        tree = {root}
        for name in os.listdir("/proc"):
            if name.isdigit() and (st := _stat(int(name))) is not None:
                if st[0] in tree or int(name) == root:
                    tree.add(int(name))
                    cpu[int(name)] = st
                elif st[0] in cpu:  # a grandchild seen after its parent
                    tree.add(int(name))
                    cpu[int(name)] = st
        time.sleep(0.2)


def export(archive: Path, out: Path, shards: int) -> tuple[float, int, int, float, float]:
    """(seconds, records read, quads written, reader CPU s, workers CPU s) of the CLI export
    into ``shards`` files; CPU sampled from /proc every 0.2 s (the last 0.2 s may be missed)."""
    import threading

    if out.exists():
        shutil.rmtree(out)
    report = out.with_suffix(".json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    cmd = [sys.executable, "-m", "collectomics", "export", "--shards", str(shards)]
    cmd += ["--from", str(archive), "--dataset", DATASET, "--report", str(report), str(out)]
    t0 = time.perf_counter()
    child = subprocess.Popen(
        cmd, env=env, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
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
    helpers = {pid for pid, (ppid, _) in cpu.items() if ppid == child.pid}  # forkserver, tracker
    reader = cpu.get(child.pid, (0, 0.0))[1]
    workers = sum(c for pid, (ppid, c) in cpu.items() if ppid in helpers)
    import json

    [r] = json.loads(report.read_text())
    lines = 0
    for part in sorted(out.glob("part-*.nq")):
        with open(part, "rb") as f:
            while chunk := f.read(1 << 24):
                lines += chunk.count(b"\n")
    assert lines == r["triples"], (lines, r["triples"])
    assert r["read"] == r["loaded"] + r["rejected"]
    return seconds, r["read"], lines, reader, workers


def oxigraph_load(files: list[Path], location: Path) -> float | None:
    """Seconds of ``oxigraph load --lenient --file F...`` (files loaded in parallel) into a
    fresh store, or None without the ``oxigraph`` command (the test extra installs it)."""
    exe = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which(
        "oxigraph"
    )
    if exe is None:
        return None
    shutil.rmtree(location, ignore_errors=True)
    cmd = [exe, "load", "--location", str(location), "--lenient", "--file", *map(str, files)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(location, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--shards", default="1,2", help="shard counts to time, comma-separated")
    parser.add_argument("--keep", type=Path, help="work directory to keep (archive, shards)")
    parser.add_argument(
        "--no-load", action="store_true", help="do not time `oxigraph load` of the shards"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time every path R times, alternating; keep the fastest",
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    archive = work / f"synthetic-{args.records}.zip"
    if not archive.exists():
        print(f"writing {archive} ...", file=sys.stderr)
        write_archive(archive, args.records, seed=0)
    shards = [int(x) for x in args.shards.split(",")]
    names = ["producer alone (ingest's, 1 process)"] + [f"export --shards {k}" for k in shards]
    if not args.no_load:
        names += [f"oxigraph load of {k} shard{'s' * (k > 1)}" for k in shards]
    best: dict[str, tuple[float, int, int, float, float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        print("producer alone ...", file=sys.stderr)
        timed = [producer_alone(archive)]
        loads = []
        for k in shards:  # one set of shards on disk at a time (~245 bytes per quad)
            print(f"export --shards {k} ...", file=sys.stderr)
            timed.append(export(archive, work / f"shards-{k}", k))
            _, n, lines, _, _ = timed[-1]
            if not args.no_load:
                print(f"oxigraph load of {k} shards ...", file=sys.stderr)
                files = sorted((work / f"shards-{k}").glob("part-*.nq"))
                seconds = oxigraph_load(files, work / f"oxigraph-{k}")
                if seconds is None:
                    print("  no `oxigraph` command: not timed", file=sys.stderr)
                    args.no_load = True
                    names = [x for x in names if not x.startswith("oxigraph")]
                else:
                    loads.append((seconds, n, lines, 0.0, 0.0))
            if not args.keep:
                shutil.rmtree(work / f"shards-{k}")
        timed += loads
        for name, t in zip(names, timed, strict=True):
            if name not in best or t[0] < best[name][0]:
                best[name] = t
        load.append(os.getloadavg()[0])
    rows = [(name, *best[name]) for name in names]
    base_s = rows[0][1]
    print(
        f"{args.records:,} synthetic records; {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"fastest of {args.repeat}; 1-min load average before and after each round: "
        + ", ".join(f"{x:.1f}" for x in load)
    )
    print(
        f"{'path':<38} {'seconds':>8} {'records/s':>10} {'triples/s':>10} {'speed-up':>9} "
        f"{'CPU s: main':>12} {'workers':>8} {'CPU/wall':>9}"
    )
    for name, s, n, lines, main_cpu, workers_cpu in rows:
        load_row = name.startswith("oxigraph")
        speed_up = "" if load_row else f"{base_s / s:8.2f}x"
        cpu = (
            ""
            if load_row
            else f"{main_cpu:12.1f} {workers_cpu:8.1f} {(main_cpu + workers_cpu) / s:9.2f}"
        )
        print(f"{name:<38} {s:8.1f} {n / s:10,.0f} {lines / s:10,.0f} {speed_up:>9} {cpu}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
