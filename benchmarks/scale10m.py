"""Issue 23's measurement in one command: N synthetic records (default 10,000,000) mapped by
Dask to gzipped shards and loaded into the embedded store and into Virtuoso, each step against
its baseline in the same run, every step checked against the free disk before it starts.

    .venv/bin/python benchmarks/scale10m.py                          # 10,000,000 records
    .venv/bin/python benchmarks/scale10m.py --records 100000 --json out.json
    .venv/bin/python benchmarks/scale10m.py --work /big/disk/scale10m --steps export-1,export-2

Steps, in order, each in a child process of its own (wall seconds; CPU seconds of the child and
all its descendants, Dask's workers included; peak resident memory of that process tree, summed
over its processes; a server's own CPU and peak, VmHWM, apart):

| step | what | baseline |
|---|---|---|
| archive | the synthetic Darwin Core Archive (synthetic.py, seed 0) | |
| producer | ingest's in-process producer: read, map, serialise to nowhere, one core | |
| export-1, export-2 | `export --shards K --engine dask --compress gzip`: K workers | producer |
| oxigraph-load | `oxigraph load --lenient` of the shards (it reads `.nq.gz` itself) into a fresh store | |
| load-embedded | `load_shards` into a fresh on-disk store: stage as `.nt.gz`, pyoxigraph bulk load, switch | oxigraph-load |
| virtuoso-ld | Virtuoso's own loader on the same `.nq.gz`: `ld_add` + 2 `rdf_loader_run()` + `checkpoint` | |
| load-virtuoso | `load_shards(loader="virtuoso")`: stage, `ld_add` of the `.nt.gz`, 2 sessions, switch | virtuoso-ld |

Disk: a calibration run of `--calibrate` records (default 100,000, 1 % of the full run: 10,000
proved too small to extrapolate; the same steps, in their own folder) records the peak bytes
each step's folders reach (sampled every 0.5 s: outputs, staging, stores, Virtuoso's database
and its bulk folder). Before each step of the N-record run the
space it needs, the calibration's bytes per record times N times `--margin` (default 1.3), is
checked against the free space of the work folder; a step that does not fit is skipped with one
line saying how much it needs and how much is free, and so are the steps that need its output.
The export-1 shards are removed once measured (export-2's feed the loads); each store is
removed after its step. The archive and export-2's shards stay in `--work` (when given), so a
later run with `--steps` (the loads, on a bigger disk or a quiet machine) reuses them. With
`--dry-run`, only the calibration and the plan are printed. Each Virtuoso database gets
`--virtuoso-buffers` pages of 8 kB (default: what Virtuoso's own virtuoso.ini advises for the
memory available, at most 1,360,000 = 11.1 GB; its default 170,000 stalls a 10 M-record load).

Printed: a table (seconds, CPU s, cores used, records/s or triples/s, per core, ratio to the
baseline, peak MB, disk GB) and, with `--json FILE`, the same as JSON with the calibration.
Nothing is asserted about time: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from export_shards import DATASET, producer_alone  # noqa: E402
from synthetic import write_archive  # noqa: E402

from remote_servers import Server, start_virtuoso  # noqa: E402

STEPS = (
    "archive",
    "producer",
    "export-1",
    "export-2",
    "oxigraph-load",
    "load-embedded",
    "virtuoso-ld",
    "load-virtuoso",
)
#: what each step reads, made by an earlier step
NEEDS = {
    "producer": "archive",
    "export-1": "archive",
    "export-2": "archive",
    "oxigraph-load": "export-2",
    "load-embedded": "export-2",
    "virtuoso-ld": "export-2",
    "load-virtuoso": "export-2",
}
#: the baseline each step is compared with
BASELINE = {
    "export-1": "producer",
    "export-2": "producer",
    "load-embedded": "oxigraph-load",
    "load-virtuoso": "virtuoso-ld",
}
LOADERS = 2  # Virtuoso loader sessions (one per core here)
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
GRAPH = f"https://w3id.org/collectomics/graph/{DATASET}"


@dataclass
class Row:
    """One step's figures."""

    step: str
    records: int = 0
    triples: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    server_cpu: float = 0.0
    server_mb: float = 0.0
    disk_bytes: int = 0  # the peak of the step's own folders
    disk_base: int = 0  # their bytes as the step started (an empty Virtuoso database)
    skipped: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- watching a process tree ----------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, resident bytes) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, int(fields[21]) * PAGE


def _folder_bytes(folders: list[Path]) -> int:
    total = 0
    for folder in folders:
        for dirpath, _, files in os.walk(folder):
            for name in files:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if st.st_nlink == 1:  # a hard link to a shard takes no space of its own
                    total += st.st_blocks * 512
    return total


class Watch:
    """Samples a process tree's CPU and summed RSS, and the bytes of some folders, until stopped:
    the tree's last CPU seconds per process, its peak RSS, the folders' peak bytes."""

    def __init__(self, root: int, folders: list[Path]) -> None:
        self.root, self.folders = root, folders
        self.cpu: dict[int, float] = {}
        self.peak_rss = 0
        self.base_disk = _folder_bytes(folders)
        self.peak_disk = self.base_disk
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        ticks = 0
        while not self.stopped:
            tree, rss = {self.root}, 0
            stats = {int(n): s for n in os.listdir("/proc") if n.isdigit() and (s := _stat(int(n)))}
            grew = True
            while grew:  # descendants, whatever order /proc lists them in
                grew = False
                for pid, (parent, _, _) in stats.items():
                    if parent in tree and pid not in tree:
                        tree.add(pid)
                        grew = True
            for pid in tree:
                if pid in stats:
                    self.cpu[pid] = stats[pid][1]
                    rss += stats[pid][2]
            self.peak_rss = max(self.peak_rss, rss)
            if ticks % 3 == 0:
                self.peak_disk = max(self.peak_disk, _folder_bytes(self.folders))
            ticks += 1
            time.sleep(0.2)

    def stop(self) -> None:
        self.peak_disk = max(self.peak_disk, _folder_bytes(self.folders))
        self.stopped = True
        self.thread.join()


def _server_figures(server: Server) -> tuple[float, float]:
    """(CPU seconds so far, peak resident MB) of a server process."""
    st = _stat(server.process.pid)
    hwm = 0
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return (st[1] if st else 0.0), hwm / 1024


def _run(cmd: list[str], folders: list[Path], env: dict[str, str] | None = None) -> Row:
    """Run ``cmd`` as a child; its wall, CPU and peak RSS, and the peak bytes of ``folders``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    full.update(env or {})
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch = Watch(child.pid, folders)
    out, err = child.communicate()
    seconds = time.perf_counter() - t0
    watch.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # every descendant that was waited for, which sampling /proc misses at the end of each life
    waited = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed:\n{err.decode()[-3000:]}")
    row = Row(
        "",
        seconds=seconds,
        cpu=max(waited, sum(watch.cpu.values())),
        peak_mb=watch.peak_rss / 2**20,
        disk_bytes=watch.peak_disk,
        disk_base=watch.base_disk,
    )
    lines = out.decode().strip().splitlines()
    if lines and lines[-1].startswith("{"):
        row.extra = json.loads(lines[-1])
    return row


def advised_buffers() -> int:
    """Virtuoso's advice in its own virtuoso.ini, 85,000 buffers (8 kB pages) per GB of free
    memory (1,360,000 for 16 GB), for the memory available now, at most 16 GB's worth and at
    least the tests' 20,000. Its default, 170,000 (1.4 GB), made the 10 M-record load bound by
    page writes (docs/scaling.md)."""
    try:
        with open("/proc/meminfo") as meminfo:
            kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return 170_000
    return max(20_000, min(16, kb // 2**20) * 85_000)


# -- the steps (run as `scale10m.py --child STEP ...`) --------------------------------------------


def _child(step: str, args: list[str]) -> None:
    """One step in this process: prints its figures as one JSON line."""
    if step == "archive":
        write_archive(Path(args[0]), int(args[1]), seed=0)
        print(json.dumps({"records": int(args[1])}))
    elif step == "producer":
        seconds, records, lines, cpu, _ = producer_alone(Path(args[0]))
        print(json.dumps({"records": records, "triples": lines}))
    elif step == "load-embedded":
        from collectomics.store import OxigraphStore
        from collectomics.store.bulkload import load_shards

        with OxigraphStore(args[0]) as store:
            counts = load_shards(store, [Path(args[1])], stage_dir=Path(args[2]))
        print(json.dumps({"triples": sum(counts.values())}))
    elif step == "load-virtuoso":
        from collectomics.store.bulkload import VirtuosoLoader, load_shards
        from collectomics.store.remote import RemoteStore

        target = json.loads(args[0])
        store = RemoteStore(
            target["query_url"],
            update_url=target["update_url"],
            graph_store_url=target["graph_store_url"],
            timeout=24 * 3600,
        )
        loader = VirtuosoLoader(target["sql"], user="dba", password="dba", loaders=LOADERS)
        counts = load_shards(
            store, [Path(args[1])], loader="virtuoso", virtuoso=loader, stage_dir=Path(args[2])
        )
        store.close()
        print(json.dumps({"triples": sum(counts.values())}))
    elif step == "virtuoso-ld":
        from collectomics.store.bulkload import VirtuosoLoader

        target = json.loads(args[0])
        loader = VirtuosoLoader(target["sql"], user="dba", password="dba", loaders=LOADERS)
        bulk = Path(args[2])
        files = []
        for shard in sorted(Path(args[1]).glob("part-*.nq.gz")):
            linked = bulk / shard.name  # where the server may read; a link takes no space
            os.link(shard, linked)
            files.append(str(linked.resolve()))
        loader.run("\n".join(f"ld_add('{f}', '{GRAPH}');" for f in files))
        procs = [
            subprocess.Popen(loader._command("rdf_loader_run();"), stdout=subprocess.DEVNULL)
            for _ in range(LOADERS)
        ]
        for p in procs:
            p.wait()
        errors = loader.run(
            "select ll_file, ll_error from DB.DBA.load_list where ll_error is not null;"
        )
        if errors:
            raise SystemExit(f"Virtuoso's loader failed: {errors}")
        loader.run("checkpoint;")
        [count] = loader.run(f"sparql select count(*) from <{GRAPH}> where {{ ?s ?p ?o }};")
        print(json.dumps({"triples": int(count.strip())}))
    else:
        raise SystemExit(f"unknown child step {step}")


# -- the run --------------------------------------------------------------------------------------


class Run:
    """The steps at one size in one folder."""

    def __init__(self, work: Path, records: int, buffers: int) -> None:
        self.work, self.records, self.buffers = work, records, buffers
        self.archive = work / f"synthetic-{records}.zip"
        self.rows: dict[str, Row] = {}
        work.mkdir(parents=True, exist_ok=True)

    def has(self, step: str) -> bool:
        """Whether the output of ``step`` is there: made by this run, or kept in the work
        folder by an earlier one (``--work``; the archive, export-2's shards)."""
        if step in self.rows:
            return not self.rows[step].skipped
        if step == "archive":
            return self.archive.exists()
        if step == "export-2":
            return any((self.work / "shards-2").glob("part-*.nq.gz"))
        return False

    def _me(self, step: str, *args: str) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--child", step, *args]

    def _export(self, step: str) -> Row:
        shards = int(step.rsplit("-", 1)[1])
        out = self.work / f"shards-{shards}"
        shutil.rmtree(out, ignore_errors=True)
        report = self.work / f"{step}.json"
        cmd = [sys.executable, "-m", "collectomics", "export", "--shards", str(shards)]
        cmd += ["--engine", "dask", "--compress", "gzip", "--from", str(self.archive)]
        cmd += ["--dataset", DATASET, "--report", str(report), str(out)]
        row = _run(cmd, [out])
        [r] = json.loads(report.read_text())
        row.records, row.triples = r["read"], r["triples"]
        files = sorted(out.glob("part-*.nq.gz"))
        row.extra = {"shard_bytes": sum(f.stat().st_size for f in files)}
        return row

    def _virtuoso(self, step: str) -> Row:
        folder = self.work / step
        shutil.rmtree(folder, ignore_errors=True)
        server = start_virtuoso(folder / "db", buffers=self.buffers)
        try:
            target = {
                "query_url": server.query_url,
                "update_url": server.update_url,
                "graph_store_url": server.graph_store_url,
                "sql": server.sql,
            }
            cpu0, _ = _server_figures(server)
            bulk = server.bulk_dir
            assert bulk is not None
            cmd = self._me(step, json.dumps(target), str(self.work / "shards-2"), str(bulk))
            row = _run(cmd, [folder])
            cpu1, mb = _server_figures(server)
            row.server_cpu, row.server_mb = cpu1 - cpu0, mb
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        return row

    def step(self, step: str) -> Row:
        """Run one step; its row."""
        if step == "archive":
            row = _run(self._me(step, str(self.archive), str(self.records)), [])
            row.disk_bytes = self.archive.stat().st_size
        elif step == "producer":
            row = _run(self._me(step, str(self.archive)), [])
        elif step.startswith("export-"):
            row = self._export(step)
        elif step == "oxigraph-load":
            db = self.work / "oxigraph-load.db"
            shutil.rmtree(db, ignore_errors=True)
            binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
            files = [str(f) for f in sorted((self.work / "shards-2").glob("part-*.nq.gz"))]
            row = _run([binary, "load", "--lenient", "--location", str(db), "--file", *files], [db])
            shutil.rmtree(db, ignore_errors=True)
        elif step == "load-embedded":
            folder = self.work / step
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            cmd = self._me(step, str(folder / "store"), str(self.work / "shards-2"), str(folder))
            row = _run(cmd, [folder])
            shutil.rmtree(folder, ignore_errors=True)
        else:
            row = self._virtuoso(step)
        row.step = step
        row.records = row.records or row.extra.get("records", 0)
        row.triples = row.triples or row.extra.get("triples", 0)
        if step == "oxigraph-load" and "export-2" in self.rows:
            row.triples = self.rows["export-2"].triples  # the quads it read
        self.rows[step] = row
        if step == "export-2":
            shutil.rmtree(self.work / "shards-1", ignore_errors=True)  # the loads use export-2's
        return row


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def _table(rows: Sequence[Row], before: Sequence[Row] = ()) -> str:
    """The rows as a Markdown table; ``before``: earlier rows, for the baselines."""
    by = {r.step: r for r in [*before, *rows]}
    head = (
        f"| {'step':<14} | {'seconds':>8} | {'CPU s':>8} | {'cores':>5} | {'rate':>16} | "
        f"{'per core':>10} | {'vs baseline':>11} | {'peak MB':>8} | {'server':>14} | "
        f"{'disk GB':>7} |"
    )
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.step:<14} | skipped: {r.skipped} |")
            continue
        records_step = r.step in ("archive", "producer") or r.step.startswith("export")
        n = r.records if records_step else r.triples
        unit = "rec/s" if records_step else "triples/s"
        cpu = r.cpu + r.server_cpu
        rate = n / r.seconds if r.seconds else 0.0
        per_core = n / cpu if cpu else 0.0
        base = by.get(BASELINE.get(r.step, ""))
        vs = ""
        if base and not base.skipped and base.seconds:
            vs = f"{base.seconds / r.seconds:.2f}x"
        server = f"{r.server_cpu:.0f} s, {r.server_mb:.0f} MB" if r.server_mb else ""
        lines.append(
            f"| {r.step:<14} | {r.seconds:8.1f} | {cpu:8.1f} | {cpu / r.seconds:5.2f} | "
            f"{rate:>10,.0f} {unit:<5} | {per_core:>10,.0f} | {vs:>11} | {r.peak_mb:8.0f} | "
            f"{server:>14} | {r.disk_bytes / 1e9:7.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--calibrate", type=int, default=100_000, help="records of the small run")
    parser.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps to run")
    parser.add_argument("--margin", type=float, default=1.3, help="disk needed x this")
    parser.add_argument(
        "--virtuoso-buffers",
        type=int,
        default=advised_buffers(),
        help="Virtuoso's NumberOfBuffers (default: its virtuoso.ini's advice for the free memory)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--dry-run", action="store_true", help="calibrate and print the plan")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1:])
        return
    steps = [s for s in args.steps.split(",") if s]
    for s in steps:
        if s not in STEPS:
            raise SystemExit(f"unknown step {s!r}: one of {', '.join(STEPS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale10m-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        print(f"calibrating: {args.calibrate:,} records in {work / 'calibration'}", file=sys.stderr)
        small = Run(work / "calibration", args.calibrate, args.virtuoso_buffers)
        for s in STEPS:
            if s in steps or s in ("archive", "export-2"):
                small.step(s)
        per_record = {
            s: max(0, r.disk_bytes - r.disk_base) / args.calibrate for s, r in small.rows.items()
        }
        base = {s: r.disk_base for s, r in small.rows.items()}
        shutil.rmtree(work / "calibration", ignore_errors=True)

        def needs(n: int) -> dict[str, int]:
            return {s: int(base.get(s, 0) + per_record.get(s, 0) * n * args.margin) for s in steps}

        plan = needs(args.records)
        sizes = sorted({args.records, 10_000_000})
        print(f"\ndisk each step needs at its peak ({_gb(shutil.disk_usage(work).free)} free):")
        print(f"  {'step':<14} " + " ".join(f"{n:>14,}" for n in sizes))
        for s in steps:
            print(f"  {s:<14} " + " ".join(f"{_gb(needs(n)[s]):>14}" for n in sizes))
        run = Run(work / f"run-{args.records}", args.records, args.virtuoso_buffers)
        rows: list[Row] = []
        if not args.dry_run:
            for s in steps:
                free = shutil.disk_usage(work).free
                need = NEEDS.get(s)
                if need and not run.has(need):
                    row = Row(s, skipped=f"needs the output of {need}, which did not run")
                elif plan[s] > free:
                    row = Row(s, skipped=f"needs {_gb(plan[s])} of disk, {_gb(free)} free")
                else:
                    print(f"{s} ...", file=sys.stderr, flush=True)
                    row = run.step(s)
                if row.skipped:
                    run.rows[s] = row
                    print(f"skip {s}: {row.skipped}", flush=True)
                else:  # each row as soon as it is measured: a long run stopped keeps them
                    print(_table([row], rows).splitlines()[-1], file=sys.stderr, flush=True)
                rows.append(row)
        load = os.getloadavg()[0]
        print(
            f"\n{args.records:,} synthetic records; {os.cpu_count()} CPUs; Python "
            f"{platform.python_version()}; {started}; 1-min load average at the end {load:.1f}; "
            f"Virtuoso NumberOfBuffers {args.virtuoso_buffers:,}"
        )
        if rows:
            print(_table(rows))
        print(f"\ncalibration ({args.calibrate:,} records), disk at each step's peak:")
        print(_table(list(small.rows.values())))
        result = {
            "records": args.records,
            "calibration_records": args.calibrate,
            "cpus": os.cpu_count(),
            "started": started,
            "load_average_end": load,
            "virtuoso_buffers": args.virtuoso_buffers,
            "disk_bytes_per_record": per_record,
            "disk_base_bytes": base,
            "disk_needed": plan,
            "disk_needed_10m": needs(10_000_000),
            "margin": args.margin,
            "rows": [asdict(r) for r in rows],
            "calibration": [asdict(r) for r in small.rows.values()],
        }
        print(json.dumps(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
