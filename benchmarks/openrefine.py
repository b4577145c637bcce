"""The reconciliation service as a volunteer meets it: real OpenRefine 3.6.2 (Debian's package)
reconciling 5,000 names against `collectomics serve` (issue 20, "Measured, in the docs").

    .venv/bin/python benchmarks/openrefine.py                    # builds the store (~2 min)
    .venv/bin/python benchmarks/openrefine.py --workdir /tmp/ob  # keep (and reuse) the store
    .venv/bin/python benchmarks/openrefine.py --names 1000       # fewer names

The store: the demo, a real GBIF download (``finch-gbif-download-2015``, the one the page tests
load beside the demo) and the 54,067-person IPNI–Wikidata table (``tests/data/real/
ipni-authors-wikidata``, written as a people template and ingested as benchmarks/reconcile.py
does). The names, one column of one OpenRefine project: every distinct ``recordedBy`` string of
the real corpus (``tests/data/real/archives.txt``, read by ingesting each archive into a scratch
store), then names drawn from the IPNI table (fixed seed) in the forms spreadsheets hold them
(benchmarks/reconcile.py's ``variant``: full name, initials, accents dropped, surname first,
the abbreviation), some with a birth year, a death year or the IPNI id (``variant``), each in
its own column (``sheet_row``), up to ``--names``. The IPNI names are
the ones with known answers (the person they were drawn from).

Driven with the project's own driver (tests/openrefine.py): OpenRefine on 127.0.0.1 posts the
``reconcile`` command as its dialog does (type Person; the columns as ``birthYear``, ``P570``
and ``P586``: ``SHEET_COLUMNS``),
and the figures are read back from what OpenRefine stored (``get-rows``):

- time for all names, cold (the server just started: the first batch builds the index in the
  worker it reaches) and warm (a second project, same names); a third run without auto-match
  keeps every cell's candidates, for candidates per cell;
- the auto-matched share of all cells, and on the names with known answers: right top
  candidate, auto-matched right, auto-matched wrong;
- first-request latency after a store change (a small dataset ingested by `collectomics ingest`
  beside the running server): one batch of 10 through OpenRefine, then batches posted directly
  until each worker has answered;
- memory: resident set (VmRSS from /proc) of each server worker and of OpenRefine's JVM.

It prints figures, asserts nothing about time; docs/reconciliation.md quotes a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
# the project's OpenRefine driver, tests/openrefine.py, found before this script's own name
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

from reconcile import (  # noqa: E402
    AUTHORITY,
    SHEET_COLUMNS,
    build_store,
    read_authority,
    sheet_query,
    sheet_row,
    variant,
)

from collectomics.ingest import ingest_files  # noqa: E402
from collectomics.ingest.demo import build_demo  # noqa: E402
from collectomics.iri import Minter  # noqa: E402
from collectomics.store import OxigraphStore  # noqa: E402
from openrefine import OpenRefine, csv_text, proc_rss  # noqa: E402

REAL = ROOT / "tests" / "data" / "real"
GBIF_DOWNLOAD = "finch-gbif-download-2015/0000154-150116162929234.zip"
ARCHIVES = [
    line.strip()
    for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
#: a small people table ingested beside the running server: the store change
CHANGE = ROOT / "tests" / "data" / "reconcile" / "people.csv"


def real_recorded_by(workdir: Path) -> list[str]:
    """Every distinct recordedBy string of the real corpus, as written, sorted."""
    with OxigraphStore(workdir / "names-store") as store:
        ingest_files(store, [REAL / a for a in ARCHIVES], minter=Minter())
        rows = store.query(
            "SELECT DISTINCT ?n WHERE { GRAPH ?g { ?e <http://rs.tdwg.org/dwc/terms/recordedBy> ?n } }"
        ).rows()
        names = {str(r["n"].value).strip() for r in rows}  # type: ignore[union-attr]
    return sorted(n for n in names if n)


def build(workdir: Path, people: list[dict[str, str]]) -> Path:
    """The store: IPNI people (benchmarks/reconcile.py), then the demo and a GBIF download."""
    path = workdir / "store"
    if (workdir / "store.complete").exists():
        return path
    build_store(people, workdir)
    t = time.perf_counter()
    with OxigraphStore(path) as store:
        minter = Minter()
        build_demo(store, minter)
        ingest_files(store, [REAL / GBIF_DOWNLOAD], minter=minter)
    print(f"demo and {GBIF_DOWNLOAD} added in {time.perf_counter() - t:.1f} s")
    (workdir / "store.complete").write_text("")
    return path


def names_table(
    real: list[str], people: list[dict[str, str]], total: int, seed: int = 7
) -> tuple[list[list[str]], list[str | None]]:
    """Rows (name, then birth year, death year and IPNI id: benchmarks/reconcile.py's
    ``sheet_row``) and, per row, the id of the person it was drawn from (None for the real
    recordedBy strings, whose answer is not known)."""
    rng = random.Random(seed)
    rows: list[list[str]] = [sheet_row(n, []) for n in real[:total]]
    truth: list[str | None] = [None] * len(rows)
    named = [r for r in people if r["family_name"] and r["given_name"]]
    while len(rows) < total:
        person = rng.choice(named)
        text, props = variant(person, rng)
        rows.append(sheet_row(text, props))
        truth.append("person/" + person["person_id"])
    return rows, truth


def start_serve(
    store: Path, workdir: Path, settings: dict[str, str]
) -> tuple[str, subprocess.Popen[bytes]]:
    from helpers import start_serve as start

    base, proc = start(store, workdir, settings, stderr=subprocess.DEVNULL)  # type: ignore[arg-type]
    return base, proc  # type: ignore[return-value]


def workers(pid: int) -> list[int]:
    """The server's worker processes (children of its pre-fork master)."""
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def loadavg() -> str:
    """The machine's 1-minute load average (it is shared: figures scale with it)."""
    return Path("/proc/loadavg").read_text().split()[0]


def post_direct(service: str, rows: list[list[str]]) -> tuple[float, list[list[Any]]]:
    """The same names posted straight to the service in batches of 10 (no OpenRefine), as
    OpenRefine words them: the baseline of the same run. Seconds, and each name's results."""
    session = requests.Session()
    results: list[list[Any]] = []
    t = time.perf_counter()
    for start in range(0, len(rows), 10):
        batch = {}
        for k, row in enumerate(rows[start : start + 10]):
            batch[f"q{k}"] = sheet_query(row)
        r = session.post(service, data={"queries": json.dumps(batch)}, timeout=300)
        if r.status_code != 200:  # a worker replaced past query_timeout answers 503
            print(f"  direct batch at name {start}: HTTP {r.status_code}")
            results += [[] for _ in batch]
            continue
        answer = r.json()
        results += [answer[f"q{k}"]["result"] for k in range(len(batch))]
    return time.perf_counter() - t, results


def lost(table: list[dict[str, Any]], direct: list[list[Any]]) -> int:
    """Cells OpenRefine holds without a match or candidate although the service, asked
    directly, has candidates for them: batches OpenRefine gave up on (it waits 60 s)."""
    out = 0
    for row, results in zip(table, direct, strict=True):
        cell = row["name"]
        recon = cell.get("r") if cell else None
        empty = recon is None or (recon["j"] != "matched" and not recon.get("c"))
        out += bool(empty and results)
    return out


def judge(table: list[dict[str, Any]], truth: list[str | None]) -> dict[str, float]:
    """Figures of what OpenRefine stored for the names column."""
    cells = [row["name"] for row in table]
    matched = sum(1 for c in cells if c and c.get("r", {}).get("j") == "matched")
    known = right_top = auto_right = auto_wrong = 0
    for cell, want in zip(cells, truth, strict=True):
        if want is None or not cell or "r" not in cell:
            continue
        known += 1
        recon = cell["r"]
        if recon["j"] == "matched":
            auto_right += recon["m"]["id"] == want
            auto_wrong += recon["m"]["id"] != want
            right_top += recon["m"]["id"] == want
        elif recon.get("c"):
            right_top += recon["c"][0]["id"] == want
    share = max(known, 1)  # none known when --names is under the count of real strings
    return {
        "cells": len(cells),
        "auto-matched": matched / len(cells),
        "known": known,
        "top right": right_top / share,
        "auto right": auto_right / share,
        "auto wrong": auto_wrong / share,
    }


def candidates_per_cell(table: list[dict[str, Any]]) -> tuple[float, int, float]:
    """Mean and median candidates per reconciled cell, and the share with none."""
    counts = [
        len(row["name"]["r"].get("c", [])) for row in table if row["name"] and "r" in row["name"]
    ]
    return statistics.fmean(counts), int(statistics.median(counts)), counts.count(0) / len(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, help="where to build the store (reused if there)")
    ap.add_argument("--names", type=int, default=5000)
    ap.add_argument("--review", type=int, default=1000,
                    help="names of the run without auto-match (candidates per cell)")  # fmt: skip
    ap.add_argument("--memory", default="1400M", help="OpenRefine's heap (-m)")
    ap.add_argument("--query-timeout", type=float, default=None,
                    help="serve's query_timeout (default: the setting's; 0: none). A worker "
                         "whose index build outlasts it is replaced, and builds again")  # fmt: skip
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="collectomics-openrefine-"))
    workdir.mkdir(parents=True, exist_ok=True)
    people = read_authority(AUTHORITY)
    t = time.perf_counter()
    real = real_recorded_by(Path(tempfile.mkdtemp(dir=workdir)))
    print(f"real recordedBy strings: {len(real):,} (read in {time.perf_counter() - t:.1f} s)")
    store = build(workdir, people)
    rows, truth = names_table(real, people, args.names)
    print(
        f"names: {len(rows):,}, of which {sum(t is not None for t in truth):,} with known answers"
    )
    header = ["name", *SHEET_COLUMNS]
    details = list(SHEET_COLUMNS.items())
    sheet = csv_text(header, rows)

    settings = {}
    if args.query_timeout is not None:
        settings["COLLECTOMICS_QUERY_TIMEOUT"] = str(args.query_timeout)
    base, serve = start_serve(store, workdir, settings)
    refine = OpenRefine(workdir / f"refine-{time.time_ns()}", memory=args.memory)
    try:
        service = base + "/reconcile"
        manifest = refine.register_service(service)
        pids = workers(serve.pid)
        print(f"OpenRefine {refine.version}; collectomics serve with {len(pids)} workers, "
              f"query_timeout {args.query_timeout if args.query_timeout is not None else 'default'}")  # fmt: skip

        def run(
            name: str, auto: bool = True, sheet_rows: list[list[str]] | None = None
        ) -> tuple[float, list[dict[str, Any]]]:
            text = sheet if sheet_rows is None else csv_text(header, sheet_rows)
            project = refine.create_project(name, text)
            seconds = refine.reconcile(project, "name", service, manifest, auto_match=auto,
                                       details=details, timeout=3600)  # fmt: skip
            return seconds, refine.table(project)

        seen = set(pids)
        print(f"load average before: {loadavg()}")
        cold, cold_table = run("cold")
        seen |= set(workers(serve.pid))
        warm, warm_table = run("warm")
        seen |= set(workers(serve.pid))
        direct, direct_results = post_direct(service, rows)
        subset = rows[: args.review]
        review, review_table = run("review", auto=False, sheet_rows=subset)
        seen |= set(workers(serve.pid))
        n = len(rows)
        print(f"\n{n:,} names through OpenRefine (batches of {manifest.get('batchSize', 10)}), "
              f"load average now {loadavg()} on {os.cpu_count()} cores:")  # fmt: skip
        print(f"  cold (server just started): {cold:6.1f} s  ({n / cold:,.1f} names/s)")
        print(f"  warm:                       {warm:6.1f} s  ({n / warm:,.1f} names/s)")
        print(f"  baseline, posted directly:  {direct:6.1f} s  (OpenRefine warm / direct: "
              f"{warm / direct:.2f}x; cold / direct: {cold / direct:.2f}x)")  # fmt: skip
        print(f"  {len(subset):,} names, no auto-match: {review:6.1f} s")
        for label, table in (("cold", cold_table), ("warm", warm_table)):
            q = judge(table, truth)
            print(
                f"  {label}: auto-matched {q['auto-matched']:.1%} of {q['cells']:,} cells; "
                f"of {q['known']:,} with known answers: right top candidate {q['top right']:.1%}, "
                f"auto-matched right {q['auto right']:.1%}, wrong {q['auto wrong']:.2%}; "
                f"cells left empty though the service has candidates: {lost(table, direct_results)}"
            )
        mean, median, none = candidates_per_cell(review_table)
        print(f"  candidates per cell (no auto-match run): mean {mean:.2f}, median {median}, "
              f"none {none:.1%}")  # fmt: skip
        now = workers(serve.pid)
        print(f"  worker processes seen: {len(seen)} ({len(seen) - len(pids)} replaced: a request "
              f"past query_timeout replaces its worker)")  # fmt: skip
        rss = [proc_rss(p) for p in now]
        print("memory (RSS): workers " + ", ".join(f"{r / 2**20:,.0f} MB" for r in rss)
              + f"; OpenRefine {refine.rss_bytes() / 2**20:,.0f} MB")  # fmt: skip

        # a store change beside the running server, then the first requests
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(CHANGE),
             "--dataset", f"bench-change-{time.time_ns()}"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        print(f"\nstore changed (collectomics ingest, {time.perf_counter() - t:.1f} s), "
              f"load average {loadavg()}; then:")  # fmt: skip
        small = refine.create_project("after-change", csv_text(header, rows[-10:]))
        first = refine.reconcile(small, "name", service, manifest,
                                 details=details, timeout=3600)  # fmt: skip
        print(f"  first batch of 10 through OpenRefine: {first:.2f} s")
        after = refine.table(small)
        _, answers = post_direct(service, rows[-10:])
        print(f"  of its 10 cells, {10 - lost(after, answers)} hold what the service answers "
              f"when asked again (the others: a batch OpenRefine gave up on)")  # fmt: skip
        batch = {f"q{k}": {"query": rows[-10 - k][0], "type": "Person"} for k in range(10)}
        direct = []
        for _ in range(2 * len(workers(serve.pid))):
            t = time.perf_counter()
            r = requests.post(service, data={"queries": json.dumps(batch)}, timeout=300)
            direct.append(f"{time.perf_counter() - t:.2f} s (HTTP {r.status_code})")
        print("  then batches posted directly: " + ", ".join(direct))
        rss = [proc_rss(p) for p in workers(serve.pid)]
        print("memory after the change (RSS): workers "
              + ", ".join(f"{r / 2**20:,.0f} MB" for r in rss))  # fmt: skip
    finally:
        refine.stop()
        serve.terminate()
        serve.wait(timeout=30)
    print(f"\nwork directory: {workdir}")


if __name__ == "__main__":
    main()
