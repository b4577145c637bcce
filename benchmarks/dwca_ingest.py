"""Darwin Core Archive ingest benchmark: `collectomics ingest` against the store's floor and rdflib.

    .venv/bin/python benchmarks/dwca_ingest.py [--records N] [--keep DIR] [--seed S]
                                               [--naive-records K] [--profile-records P]

One run, one synthetic archive (benchmarks/synthetic.py), one machine:

- ingest:  ``python -m collectomics --store S ingest archive.zip --dataset bench`` in a child
           process; wall time, peak RSS (wait4), CPU per thread sampled from /proc.
- floor:   the graph that ingest produced, exported as N-Quads (``collectomics export``), then
           bulk-loaded by pyoxigraph alone (``Store(path).bulk_load(..., N_QUADS, lenient=True)``
           plus flush and close) into a fresh on-disk store in a child process: the fastest the
           store can index those same quads.
- naive:   rdflib: csv rows -> ``map_specimen`` -> rdflib terms -> ``Graph.add``, then
           N-Triples serialisation; on the first K records (default: at most 20,000) and
           extrapolated linearly to N when K < N (the table says so).
- context: the producer alone (the ingest's own archive reading, mapping and N-Triples writing
           into /dev/null, no store) on all N records, and a phase split (read / map / serialise)
           on the first P records.

It prints ratios against the floor measured in the same run; it asserts nothing about time
(machines are shared and noisy). Child processes run in the work directory, so no
collectomics.toml is picked up; COLLECTOMICS_* variables are removed from their environment, and
the facets are not rebuilt after the ingest (materialise_after_load=false): the load alone is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import write_archive  # noqa: E402

DATASET = "bench"
TICK = os.sysconf("SC_CLK_TCK")
INGEST_TARGET = 1.25  # ingest / floor
RSS_TARGET_MB = 2048  # at 1,000,000 records


# -- running children ----------------------------------------------------------------------


@dataclass
class ThreadCPU:
    tid: int
    name: str
    cpu: float  # seconds, last sample
    first: float  # seconds since start, first seen
    last: float  # last seen


@dataclass
class Run:
    """One child process: wall time, exit code, rusage, and what /proc sampling saw."""

    cmd: list[str]
    pid: int
    wall: float
    code: int
    maxrss_mb: float
    user: float
    system: float
    stdout: str
    stderr: str
    threads: list[ThreadCPU] = field(default_factory=list)
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (t, MB)

    @property
    def cpu(self) -> float:
        return self.user + self.system

    def json(self) -> dict:
        """The last line of stdout, for children that report JSON."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env["COLLECTOMICS_MATERIALISE_AFTER_LOAD"] = "false"  # the load alone, as the floor is
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    return env


def _sample(pid: int, t: float, threads: dict[int, ThreadCPU]) -> float | None:
    """Update per-thread CPU of ``pid``; return its RSS in MB (None once it is gone)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(rest[11]) + int(rest[12])) / TICK
        entry = threads.get(int(tid))
        if entry is None:
            threads[int(tid)] = ThreadCPU(int(tid), name, cpu, t, t)
        else:
            entry.cpu, entry.last, entry.name = cpu, t, name
    return rss


def run_child(cmd: list[str], cwd: Path, *, interval: float = 0.2) -> Run:
    """Run ``cmd``, sampling its threads every ``interval`` s; wait4 gives its own rusage."""
    out_path, err_path = cwd / "child.out", cwd / "child.err"
    threads: dict[int, ThreadCPU] = {}
    samples: list[tuple[float, float]] = []
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=_child_env())
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            t = time.perf_counter() - start
            rss = _sample(proc.pid, t, threads)
            if rss is not None:
                samples.append((t, rss))
            time.sleep(interval)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(
        cmd,
        proc.pid,
        wall,
        proc.returncode,
        usage.ru_maxrss / 1024,
        usage.ru_utime,
        usage.ru_stime,
        out_path.read_text("utf-8", "replace"),
        err_path.read_text("utf-8", "replace"),
        sorted(threads.values(), key=lambda x: -x.cpu),
        samples,
    )
    if run.code != 0:
        sys.exit(
            f"child failed ({run.code}): {' '.join(cmd)}\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
        )
    return run


def _ingest_cmd(store: Path, archive: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "collectomics",
        "--store",
        str(store),
        "ingest",
        str(archive),
        "--dataset",
        DATASET,
    ]


def _script(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


# -- the children's own work ----------------------------------------------------------------


def child_floor(store: str, dump: str) -> None:
    """pyoxigraph alone: bulk-load the dump into a fresh store, flush, close."""
    import gc

    import pyoxigraph as ox

    t0 = time.perf_counter()
    s = ox.Store(store)
    t1 = time.perf_counter()
    s.bulk_load(path=dump, format=ox.RdfFormat.N_QUADS, lenient=True)
    t2 = time.perf_counter()
    s.flush()
    t3 = time.perf_counter()
    del s
    gc.collect()
    t4 = time.perf_counter()
    print(json.dumps({"open": t1 - t0, "bulk_load": t2 - t1, "flush": t3 - t2, "close": t4 - t3}))


def child_count(store: str) -> None:
    """Triples in the dataset's graph, and how long counting them takes (the ingest used to end
    with this count; its report now counts the triples it writes)."""
    from collectomics.iri import Minter
    from collectomics.store import OxigraphStore

    graph = Minter().graph(DATASET)
    with OxigraphStore(store, read_only=True) as s:
        t0 = time.perf_counter()
        n = s.count(graph)
        t1 = time.perf_counter()
        total = s.count()
    print(json.dumps({"triples": n, "all": total, "count_seconds": t1 - t0}))


def child_producer(archive: str) -> None:
    """The ingest's producer side alone: stream_archive into a Sink writing to /dev/null."""
    from collectomics.ingest.archive import stream_archive
    from collectomics.ingest.pipeline import IngestReport, Sink, streaming_gc
    from collectomics.iri import Minter
    from collectomics.mapping.common import Context

    minter = Minter()
    ctx = Context(DATASET, minter, ntriples=True)  # as the ingest maps
    report = IngestReport(DATASET, minter.graph(DATASET))
    t0 = time.perf_counter()
    with open(os.devnull, "wb", buffering=1 << 20) as out, streaming_gc():
        counter = _CountingWriter(out)
        stream_archive(Path(archive), ctx, report, Sink(counter, None))
    t1 = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": t1 - t0,
                "records": report.read,
                "lines": counter.lines,
                "bytes": counter.bytes,
            }
        )
    )


class _CountingWriter:
    def __init__(self, out) -> None:  # noqa: ANN001
        self.out, self.lines, self.bytes = out, 0, 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        self.bytes += len(data)
        return self.out.write(data)


def child_phases(archive: str, limit: str) -> None:
    """Cumulative passes over the first ``limit`` records: read; read+map; read+map+N-Triples."""
    from itertools import islice

    from collectomics.ingest.dwca import Archive, RowError
    from collectomics.ingest.sink import BATCH
    from collectomics.iri import Minter
    from collectomics.mapping.common import Context
    from collectomics.mapping.dwc import canonical_term
    from collectomics.mapping.specimens import map_specimen
    from collectomics.model import nquad

    n = int(limit)
    ctx = Context(DATASET, Minter())
    result: dict[str, float] = {}
    for stage in ("read", "map", "serialise"):
        t0 = time.perf_counter()
        records = 0
        triples = 0
        with Archive.open(archive) as arc, open(os.devnull, "wb", buffering=1 << 20) as out:
            rename = {f.term: canonical_term(f.term) for f in arc.core.fields}
            rename = {k: v for k, v in rename.items() if v}
            lines: list[str] = []
            for row in islice(arc.rows(arc.core), n):
                if isinstance(row, RowError):
                    continue
                record = {rename[t]: v for t, v in row.values.items() if t in rename}
                records += 1
                if stage == "read":
                    continue
                mapped = map_specimen(record, ctx)
                triples += len(mapped.triples)
                if stage == "map":
                    continue
                lines.extend(nquad((s, p, o, None)) for s, p, o in mapped.triples)
                if records % BATCH == 0:
                    out.write("".join(lines).encode("utf-8"))
                    lines.clear()
            out.write("".join(lines).encode("utf-8"))
        result[stage] = time.perf_counter() - t0
    result["records"] = records
    result["mapped_triples"] = triples
    print(json.dumps(result))


def child_naive(archive: str, limit: str, out_path: str) -> None:
    """rdflib: csv -> map_specimen -> rdflib terms -> Graph.add -> N-Triples."""
    import csv
    import io
    import zipfile
    from itertools import islice

    from rdflib import BNode as RBNode
    from rdflib import Graph, URIRef
    from rdflib import Literal as RLiteral

    from collectomics.iri import Minter
    from collectomics.mapping.common import Context
    from collectomics.mapping.dwc import canonical_term
    from collectomics.mapping.specimens import map_specimen
    from collectomics.model import XSD_STRING, BNode, Literal

    def term(t):  # noqa: ANN001, ANN202
        if isinstance(t, Literal):
            if t.lang:
                return RLiteral(t.value, lang=t.lang)
            if t.datatype == XSD_STRING:
                return RLiteral(t.value)
            return RLiteral(t.value, datatype=URIRef(t.datatype))
        if isinstance(t, BNode):
            return RBNode(t)
        return URIRef(t)

    ctx = Context(DATASET, Minter())
    g = Graph()
    t0 = time.perf_counter()
    records = 0
    with zipfile.ZipFile(archive) as zf, zf.open("occurrence.txt") as raw:
        reader = csv.reader(
            io.TextIOWrapper(raw, "utf-8", newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
        )
        header = [canonical_term(h) for h in next(reader)]
        for row in islice(reader, int(limit)):
            record = {h: v for h, v in zip(header, row, strict=False) if h}
            for s, p, o in map_specimen(record, ctx).triples:
                g.add((term(s), URIRef(p), term(o)))
            records += 1
    t1 = time.perf_counter()
    g.serialize(destination=out_path, format="nt", encoding="utf-8")
    t2 = time.perf_counter()
    print(json.dumps({"records": records, "triples": len(g), "add": t1 - t0, "serialise": t2 - t1}))


CHILDREN = {
    "floor": child_floor,
    "count": child_count,
    "producer": child_producer,
    "phases": child_phases,
    "naive": child_naive,
}


# -- the report -------------------------------------------------------------------------------


def _machine() -> str:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    import pyoxigraph
    import rdflib

    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {mem:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"pyoxigraph {pyoxigraph.__version__}, rdflib {rdflib.__version__}"
    )


def _commit() -> str:
    """The checked-out commit, whether src/ differs from it, and where children import from."""
    root = HERE.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        text = head + (" with uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        text = "unknown (not a git checkout)"
    where = subprocess.run(
        [sys.executable, "-c", "import collectomics; print(collectomics.__file__)"],
        text=True,
        capture_output=True,
        env=_child_env(),
    ).stdout.strip()
    if where and not Path(where).resolve().is_relative_to(root / "src"):
        text += f"; NOTE: children import collectomics from {Path(where).parent}"
    return text


def _threads_line(run: Run) -> list[str]:
    """The busiest threads of a child: name, CPU seconds, when seen (sampled every 0.2 s)."""
    rows = []
    for t in run.threads[:6]:
        if t.cpu < 0.05 * run.wall:
            continue
        name = "main thread" if t.tid == run.pid else f"thread {t.name}"
        rows.append(f"    {name:<20} cpu {t.cpu:7.1f} s   alive {t.first:6.1f} .. {t.last:6.1f} s")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000, help="records in the archive")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="work in DIR and keep the archive, stores and dumps there",
    )
    ap.add_argument(
        "--naive-records",
        type=int,
        default=20_000,
        metavar="K",
        help="records for the rdflib baseline (extrapolated to N) [20,000]",
    )
    ap.add_argument(
        "--profile-records",
        type=int,
        default=100_000,
        metavar="P",
        help="records for the read/map/serialise split [100,000]",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="run ingest and floor R times, alternately, and keep the fastest of each [1]",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        CHILDREN[args.child[0]](*args.child[1:])
        return

    n = args.records
    work = (
        args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="collectomics-bench-"))
    )
    work.mkdir(parents=True, exist_ok=True)
    for name in ("store-ingest", "store-floor"):
        shutil.rmtree(work / name, ignore_errors=True)
    archive = work / f"synthetic-{n}-{args.seed}.zip"
    naive_n = min(n, args.naive_records)
    profile_n = min(n, args.profile_records)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = dt.datetime.now().astimezone()
    commit = _commit()
    say(f"work directory: {work}")
    t0 = time.perf_counter()
    if not archive.exists():
        write_archive(archive, n, args.seed)
    say(
        f"archive: {archive.name} ({archive.stat().st_size / 2**20:,.1f} MiB) "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    store = work / "store-ingest"
    say("ingest ...")
    ingest = run_child(_ingest_cmd(store, archive), work)
    say(f"  {ingest.wall:.1f} s: {ingest.stdout.strip()}")
    count = run_child(_script("count", str(store)), work).json()
    triples = count["triples"]

    dump = work / "bench.nq"
    say("export ...")
    export = run_child(
        [
            sys.executable,
            "-m",
            "collectomics",
            "--store",
            str(store),
            "export",
            str(dump),
            "--format",
            "nquads",
        ],
        work,
    )
    with open(dump, "rb") as f:
        dump_quads = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    say(f"  {export.wall:.1f} s, {dump_quads:,} quads, {dump.stat().st_size / 2**20:,.0f} MiB")

    say("floor ...")
    floor = run_child(_script("floor", str(work / "store-floor"), str(dump)), work)
    say(f"  {floor.wall:.1f} s")
    ingests, floors = [ingest], [floor]
    for i in range(2, args.repeat + 1):  # alternate, so that a noisy minute hits both alike
        say(f"ingest and floor, round {i} ...")
        extra = work / f"store-ingest-{i}"
        ingests.append(run_child(_ingest_cmd(extra, archive), work))
        shutil.rmtree(extra, ignore_errors=True)
        extra = work / f"store-floor-{i}"
        floors.append(run_child(_script("floor", str(extra), str(dump)), work))
        shutil.rmtree(extra, ignore_errors=True)
        say(f"  {ingests[-1].wall:.1f} s, {floors[-1].wall:.1f} s")
    ingest = min(ingests, key=lambda r: r.wall)
    floor = min(floors, key=lambda r: r.wall)
    floor_parts = floor.json()

    say("producer alone ...")
    producer = run_child(_script("producer", str(archive)), work)
    producer_parts = producer.json()
    say(f"  {producer.wall:.1f} s")

    say(f"phases on {profile_n:,} records ...")
    phases = run_child(_script("phases", str(archive), str(profile_n)), work).json()

    say(f"naive rdflib on {naive_n:,} records ...")
    naive = run_child(_script("naive", str(archive), str(naive_n), str(work / "naive.nt")), work)
    naive_parts = naive.json()
    naive_scale = n / naive_parts["records"]
    measured = naive_parts["add"] + naive_parts["serialise"]
    naive_seconds = naive.wall - measured + measured * naive_scale  # startup counted once
    naive_triples = naive_parts["triples"] * naive_scale

    # -- table
    floor_s = floor.wall
    rows = [
        ("ingest (collectomics ingest)", ingest.wall, n, triples, ingest.maxrss_mb, ""),
        ("floor (pyoxigraph bulk_load)", floor_s, n, triples, floor.maxrss_mb, ""),
        (
            f"naive (rdflib){' *' if naive_scale > 1 else ''}",
            naive_seconds,
            n,
            naive_triples,
            naive.maxrss_mb,
            " *" if naive_scale > 1 else "",
        ),
    ]
    lines = []
    lines.append(
        f"Darwin Core Archive ingest, {n:,} records (seed {args.seed}), {started:%Y-%m-%d %H:%M %Z}"
    )
    lines.append(f"machine: {_machine()}")
    lines.append(f"code: {commit}")
    lines.append(
        f"archive: {archive.stat().st_size / 2**20:,.1f} MiB zip; store after ingest: "
        f"{triples:,} triples = {triples / n:.1f} per record"
    )
    lines.append("")
    head = (
        f"{'path':<30} {'seconds':>9} {'records/s':>10} {'triples/s':>10} "
        f"{'x floor':>8} {'peak RSS':>10} {'naive/x':>8}"
    )
    lines.append(head)
    lines.append("-" * len(head))
    for name, seconds, recs, trip, rss, mark in rows:
        lines.append(
            f"{name:<30} {seconds:9.1f} {recs / seconds:10,.0f} {trip / seconds:10,.0f} "
            f"{seconds / floor_s:8.2f} {rss:7,.0f} MB{mark:<1} {naive_seconds / seconds:7.1f}"
        )
    lines.append("-" * len(head))
    prod_s = producer.wall
    lines.append(
        f"{'producer alone (no store)':<30} {prod_s:9.1f} {n / prod_s:10,.0f} "
        f"{producer_parts['lines'] / prod_s:10,.0f} {prod_s / floor_s:8.2f} "
        f"{producer.maxrss_mb:7,.0f} MB"
    )
    map_s = phases["serialise"]
    lines.append(
        f"{'mapping only (map+N-Triples)':<30} {map_s:9.1f} {phases['records'] / map_s:10,.0f} "
        f"{phases['mapped_triples'] / map_s:10,.0f} {'':>8} {'':>10}   on {phases['records']:,} records"
    )
    lines.append("")
    if len(ingests) > 1:
        lines.append(
            f"fastest of {len(ingests)} alternating rounds; ingest "
            + ", ".join(f"{r.wall:.1f}" for r in ingests)
            + " s; floor "
            + ", ".join(f"{r.wall:.1f}" for r in floors)
            + " s"
        )
    ratio = ingest.wall / floor_s
    lines.append(
        f"ingest / floor = {ratio:.2f} (target <= {INGEST_TARGET}: "
        f"{'met' if ratio <= INGEST_TARGET else 'NOT met'})"
    )
    rss_note = f"target < {RSS_TARGET_MB:,} MB at 1,000,000 records: " + (
        "met" if ingest.maxrss_mb < RSS_TARGET_MB else "NOT met"
    )
    lines.append(
        f"ingest peak RSS = {ingest.maxrss_mb:,.0f} MB ({rss_note}"
        f"{'' if n >= 1_000_000 else '; this run is smaller'})"
    )
    if naive_scale > 1:
        lines.append(
            f"* naive measured on the first {naive_parts['records']:,} records "
            f"({naive.wall:.1f} s, {naive_parts['triples']:,} triples, peak RSS "
            f"{naive.maxrss_mb:,.0f} MB at that size) and extrapolated linearly x{naive_scale:.1f};"
            " its RSS is the subset's"
        )
    lines.append(
        f"  naive split: Graph.add {naive_parts['add']:.1f} s, N-Triples serialise "
        f"{naive_parts['serialise']:.1f} s (measured part)"
    )
    lines.append("")
    lines.append("where the time goes")
    lines.append(
        f"  ingest child: wall {ingest.wall:.1f} s, CPU {ingest.cpu:.1f} s "
        f"(user {ingest.user:.1f}, sys {ingest.system:.1f}) = "
        f"{ingest.cpu / ingest.wall:.2f} cores busy on average"
    )
    lines.extend(_threads_line(ingest))
    lines.append(
        f"  floor child: wall {floor.wall:.1f} s = open {floor_parts['open']:.1f} + bulk_load "
        f"{floor_parts['bulk_load']:.1f} + flush {floor_parts['flush']:.1f} + close "
        f"{floor_parts['close']:.1f} + startup; CPU {floor.cpu:.1f} s = "
        f"{floor.cpu / floor.wall:.2f} cores"
    )
    lines.extend(_threads_line(floor))
    lines.append(
        f"  producer alone: {prod_s:.1f} s wall, CPU {producer.cpu:.1f} s, "
        f"{producer_parts['bytes'] / 2**20:,.0f} MiB of N-Triples"
    )
    p = phases
    lines.append(
        f"  split on {p['records']:,} records: read archive {p['read']:.1f} s, "
        f"map_specimen {p['map'] - p['read']:.1f} s, N-Triples text {p['serialise'] - p['map']:.1f} s "
        f"(read {p['read'] / p['serialise']:.0%} / map {(p['map'] - p['read']) / p['serialise']:.0%} / "
        f"serialise {(p['serialise'] - p['map']) / p['serialise']:.0%})"
    )
    lines.append(
        f"  a COUNT of the graph: {count['count_seconds']:.1f} s on the finished store (the "
        "ingest no longer ends with one: its report counts the triples it writes)"
    )
    lines.append(f"  export to N-Quads (for the floor): {export.wall:.1f} s")
    text = "\n".join(lines)
    print(text, flush=True)
    (work / f"result-{n}.txt").write_text(text + "\n")
    (work / f"result-{n}.json").write_text(
        json.dumps(
            {
                "records": n,
                "seed": args.seed,
                "date": started.isoformat(),
                "machine": _machine(),
                "commit": commit,
                "triples": triples,
                "ingest": _run_dict(ingest),
                "floor": {**_run_dict(floor), **floor_parts},
                "producer": {**_run_dict(producer), **producer_parts},
                "phases": phases,
                "naive": {**_run_dict(naive), **naive_parts, "scale": naive_scale},
                "count_seconds": count["count_seconds"],
                "ingest_walls": [r.wall for r in ingests],
                "floor_walls": [r.wall for r in floors],
                "export_seconds": export.wall,
            },
            indent=2,
        )
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def _run_dict(run: Run) -> dict:
    return {
        "wall": run.wall,
        "user": run.user,
        "system": run.system,
        "maxrss_mb": run.maxrss_mb,
        "threads": [t.__dict__ for t in run.threads[:12]],
        "rss_samples": run.rss_samples[:: max(1, len(run.rss_samples) // 200)],
    }


if __name__ == "__main__":
    main()
