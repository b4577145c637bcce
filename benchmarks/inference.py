"""`collectomics infer` benchmark: its time against reading the same store once, per record.

    .venv/bin/python benchmarks/inference.py [--records N ...] [--keep DIR] [--seed S]
                                             [--old-timeout SECONDS]

For each N (default 100,000), one synthetic archive (benchmarks/synthetic.py: 1-4 collectors a
record, collecting numbers that repeat within a collector, 5 % unparseable and 5 % empty dates),
ingested by ``collectomics ingest`` without materialising, then, each in a child process:

- infer:    ``collectomics infer`` (wall time, peak RSS), start to exit;
- floor:    ``SELECT ?s ?p ?o`` over the whole store, written as TSV into /dev/null by
            pyoxigraph's serializer: every triple and its strings read once by Oxigraph alone, the
            floor for anything that reads the store (``collectomics export``, which builds each
            quad in Python, took 54 s at 10,000 records, 5 x infer);
- reading:  one flat query (``?r prov:agent ?a``, the largest infer runs) read as plain strings
            through ``QueryResult.table`` (TSV, every term decoded) and through the CSV parsing it
            replaced (which misreads an IRI holding a comma), to show what correctness costs;
- old:      with ``--old-timeout``, the nested-OPTIONAL specimen query infer used before,
            stopped after that many seconds if it has not finished.

It prints infer / floor, and microseconds of infer per record, for each N, so that growth with
N is visible in one run; it asserts nothing about time. ``--keep DIR`` keeps (and reuses) the
archives and stores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import write_archive  # noqa: E402

DATASET = "bench"

READING = r"""
import csv, io, os, sys, tempfile, time
from collectomics.store import OxigraphStore
from collectomics.vocab import PREFIXES
store = OxigraphStore(sys.argv[1], read_only=True)
q = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
q += "SELECT ?r ?a WHERE { ?r prov:agent ?a }"
def by_csv():
    with tempfile.TemporaryFile() as raw:
        store.query(q).serialize("csv", raw)
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            next(rows, None)
            return sum(1 for _ in rows)
def by_table():
    return sum(1 for _ in store.query(q).table())
def serialize_only():
    with open(os.devnull, "wb") as sink:
        store.query(q).serialize("tsv", sink)
    return 0
for name, f in (("serialize", serialize_only), ("csv", by_csv), ("table", by_table)) * 2:
    t = time.perf_counter(); n = f(); print(name, n, time.perf_counter() - t, flush=True)
"""

FLOOR = r"""
import os, sys
from collectomics.store import OxigraphStore
store = OxigraphStore(sys.argv[1], read_only=True)
with open(os.devnull, "wb") as sink:
    store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").serialize("tsv", sink)
"""

OLD = r"""
import sys, time
from collectomics.store import OxigraphStore
from collectomics.vocab import PREFIXES
store = OxigraphStore(sys.argv[1], read_only=True)
q = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
q += ("SELECT ?s ?e ?early ?late ?rn WHERE { ?s a dwc:MaterialEntity . "
      "OPTIONAL { ?s col:collectingEvent ?e . OPTIONAL { ?e col:earliestDate ?early ; "
      "col:latestDate ?late } } OPTIONAL { ?s dwc:recordNumber ?rn } }")
graphs = [g for g in store.graphs() if not g.endswith("/inferences")]
t = time.perf_counter()
n = sum(1 for _ in store.query(q, default_graph_union=False, default_graphs=graphs).table())
print(n, time.perf_counter() - t, flush=True)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env["COLLECTOMICS_MATERIALISE_AFTER_LOAD"] = "false"
    return env


def _run(args: list[str], timeout: float | None = None) -> tuple[float, float, str, bool]:
    """Wall seconds, peak RSS (MB, wait4) of the child, its stdout, and whether it finished
    (a child still running after ``timeout`` seconds is killed)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True, env=_env())
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        finished = not (timer and not timer.is_alive() and os.WIFSIGNALED(status))
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if finished and proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:6])}... failed:\n{err.read()}")
        return wall, usage.ru_maxrss / 1024, out.read(), finished


def _cli(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "collectomics", "--store", str(store), *args]


def bench(n: int, work: Path, seed: int, old_timeout: float) -> dict[str, float | str]:
    archive = work / f"synthetic-{n}-{seed}.zip"
    store = work / f"store-{n}-{seed}"
    if not archive.exists():
        write_archive(archive, n, seed)
    if not store.exists():
        partial = store.with_name(store.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        wall, _, _, _ = _run(_cli(partial, "ingest", str(archive), "--dataset", DATASET))
        partial.rename(store)
        print(f"{n:>9,} records: ingested in {wall:.1f} s", flush=True)
    infer_s, infer_rss, out, _ = _run(_cli(store, "infer"))
    base_s, _, _, _ = _run([sys.executable, "-c", FLOOR, str(store)])
    row: dict[str, float | str] = {
        "records": n,
        "infer_s": infer_s,
        "infer_rss_mb": infer_rss,
        "baseline_s": base_s,
        "summary": out.strip().splitlines()[0] if out.strip() else "",
    }
    _, _, reading, _ = _run([sys.executable, "-c", READING, str(store)])
    for line in reading.splitlines():
        name, rows, seconds = line.split()
        row[f"{name}_rows"] = int(rows)
        row[f"{name}_s"] = min(float(seconds), float(row.get(f"{name}_s", 1e9)))
    if old_timeout:
        old_s, _, out, finished = _run([sys.executable, "-c", OLD, str(store)], old_timeout)
        row["old_s"] = old_s
        row["old_finished"] = "yes" if finished else "no"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) archives and stores here")
    parser.add_argument("--old-timeout", type=float, default=0,
                        help="also run the old nested-OPTIONAL query, for at most this long")  # fmt: skip
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="collectomics-infer-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in args.records:
            rows.append(bench(n, work, args.seed, args.old_timeout))
            r = rows[-1]
            print(
                f"{n:>9,} records: infer {r['infer_s']:.1f} s ({1e6 * float(r['infer_s']) / n:.0f} us "
                f"a record, peak RSS {float(r['infer_rss_mb']):.0f} MB), floor {r['baseline_s']:.1f} s, "
                f"infer / floor {float(r['infer_s']) / float(r['baseline_s']):.2f}",
                flush=True,
            )
            print(f"           {r['summary']}")
            print(
                f"           reading {r['table_rows']:,} rows: serializer alone "
                f"{r['serialize_s']:.2f} s, TSV table() {r['table_s']:.2f} s, CSV parse "
                f"{r['csv_s']:.2f} s (table / csv {float(r['table_s']) / float(r['csv_s']):.2f})"
            )
            if "old_s" in r:
                state = "finished" if r["old_finished"] == "yes" else "unfinished, stopped"
                print(
                    f"           old nested-OPTIONAL specimen query: {state} after {r['old_s']:.0f} s"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
