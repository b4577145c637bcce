"""Validation time against ingest time of the same archive, in the same run (issue 22).

For each archive (the real GBIF downloads of the corpus, then a synthetic archive of
``--records`` records from ``synthetic.py``), in child processes, one after the other:

- ingest: ``python -m collectomics --store S ingest ARCHIVE --dataset bench``
- validate: ``python -m collectomics --store S validate`` (the shapes as SPARQL in the store)
- constraints: the same validation in a child that times each constraint's query (the three
  slowest are printed: what keeps the ratio from holding, if anything does)
- pyshacl (real downloads only, ``--pyshacl-timeout`` seconds at most): the reference engine on
  a copy of the graph, as ``validate`` ran before issue 22

It prints per archive: records, triples, seconds of each, validate / ingest (target <= 1.0),
peak RSS of each child (``wait4``). Run time at 100,000 records: about 3 ingests' worth.

    .venv/bin/python benchmarks/validate.py                       # real downloads + 100,000
    .venv/bin/python benchmarks/validate.py --records 1000000     # on request
    .venv/bin/python benchmarks/validate.py --keep /tmp/vbench    # keep stores and archives
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL = ROOT / "tests" / "data" / "real"
#: the GBIF downloads among the corpus's archives (tests/data/real/archives.txt)
GBIF = [
    a
    for a in (REAL / "archives.txt").read_text("utf-8").split()
    if not a.startswith("#") and "gbif" in a
]


@dataclass
class Run:
    """One child process: wall seconds, peak RSS in MB, exit code, output."""

    seconds: float
    peak_mb: float
    code: int
    out: str


def run_child(cmd: list[str], timeout: float | None = None) -> Run:
    """Run ``cmd`` to its end (killed after ``timeout`` s): its time and its own peak RSS."""
    import threading

    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text)


def _cli(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "collectomics", "--store", str(store), *args]


def child_constraints(store: str) -> None:
    """Each constraint's query, timed in this process; prints JSON: [label, seconds, rows]."""
    from collectomics.services.validation import validate_store
    from collectomics.store import open_store

    times: list[tuple[str, float, int]] = []
    last = [time.perf_counter(), 0]

    def progress(done: int, total: int, check: object, results: int) -> None:
        now = time.perf_counter()
        times.append((check.label, now - last[0], results - last[1]))  # type: ignore[attr-defined]
        last[:] = [now, results]

    with open_store(store, read_only=True) as s:
        last[0] = time.perf_counter()
        validate_store(s, progress=progress)
    print(json.dumps(times))


def child_pyshacl(store: str) -> None:
    """pySHACL on a copy of the store (the reference engine): prints the result count."""
    from collectomics.services.validation import validate_store
    from collectomics.store import open_store

    with open_store(store, read_only=True) as s:
        print(len(validate_store(s, engine="pyshacl").results))


def _count(store: Path) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from collectomics.store import open_store; "
            "s = open_store(sys.argv[1], read_only=True); print(s.count()); s.close()",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(out.stdout.strip())


def measure(archive: Path, work: Path, *, pyshacl_timeout: float | None) -> dict[str, object]:
    store = work / f"store-{archive.stem}"
    shutil.rmtree(store, ignore_errors=True)
    ingest = run_child(_cli(store, "ingest", str(archive), "--dataset", "bench"))
    if ingest.code != 0:
        raise SystemExit(f"ingest failed:\n{ingest.out}")
    validate = run_child(_cli(store, "validate"))
    if validate.code not in (0, 1):
        raise SystemExit(f"validate failed:\n{validate.out}")
    constraints = run_child(
        [sys.executable, __file__, "--child-constraints", str(store)],
    )
    slowest = sorted(json.loads(constraints.out.splitlines()[-1]), key=lambda t: -t[1])[:3]
    row: dict[str, object] = {
        "archive": archive.name,
        "triples": _count(store),
        "ingest_s": round(ingest.seconds, 2),
        "validate_s": round(validate.seconds, 2),
        "ratio": round(validate.seconds / ingest.seconds, 3),
        "ingest_peak_mb": round(ingest.peak_mb),
        "validate_peak_mb": round(validate.peak_mb),
        "verdict": validate.out.strip().splitlines()[-1],
        "slowest": [(label, round(s, 2)) for label, s, _rows in slowest],
    }
    if pyshacl_timeout is not None:
        ref = run_child(
            [sys.executable, __file__, "--child-pyshacl", str(store)], timeout=pyshacl_timeout
        )
        row["pyshacl_s"] = round(ref.seconds, 1) if ref.code == 0 else f">{pyshacl_timeout:.0f}"
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000, help="synthetic records (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    ap.add_argument("--no-real", action="store_true", help="skip the real GBIF downloads")
    ap.add_argument(
        "--pyshacl-timeout",
        type=float,
        default=300,
        help="seconds pySHACL may take on each real download (0: do not run it)",
    )
    ap.add_argument("--child-constraints", help=argparse.SUPPRESS)
    ap.add_argument("--child-pyshacl", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_constraints:
        return child_constraints(args.child_constraints)
    if args.child_pyshacl:
        return child_pyshacl(args.child_pyshacl)

    sys.path.insert(0, str(HERE))
    from synthetic import write_archive

    work = args.keep or Path(tempfile.mkdtemp(prefix="validate-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        if not args.no_real:
            for name in GBIF:
                rows.append(
                    measure(REAL / name, work, pyshacl_timeout=args.pyshacl_timeout or None)
                )
                print(json.dumps(rows[-1]), flush=True)
        if args.records:
            archive = work / f"synthetic-{args.records}.zip"
            if not archive.exists():
                write_archive(archive, args.records, args.seed)
            rows.append(measure(archive, work, pyshacl_timeout=None))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'archive':42} {'triples':>10} {'ingest s':>9} {'validate s':>10} {'ratio':>6} "
        f"{'peak MB (ingest/validate)':>26} {'pySHACL s':>10}"
    )
    for r in rows:
        print(
            f"{r['archive']:42} {r['triples']:>10,} {r['ingest_s']:>9} {r['validate_s']:>10} "
            f"{r['ratio']:>6} {str(r['ingest_peak_mb']) + ' / ' + str(r['validate_peak_mb']):>26} "
            f"{r.get('pyshacl_s', '-')!s:>10}"
        )
    for r in rows:
        print(
            f"slowest constraints, {r['archive']}: "
            + ", ".join(f"{lab} {s} s" for lab, s in r["slowest"])
        )  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
