"""The cost of resolving identities, and of the canned queries that join people through them.

    .venv/bin/python benchmarks/identity.py                       # 100,000 synthetic records
    .venv/bin/python benchmarks/identity.py --records 1000000     # ~15 min to build the store
    .venv/bin/python benchmarks/identity.py --store S             # reuse a synthetic store

Three parts, each against a baseline measured in the same run:

1. every real archive of tests/data/real/archives.txt, loaded alone into a fresh store: the time
   of ``identity.compute``, ``identity.materialise`` (what ``refresh`` costs when the data
   changed), ``identity.fresh`` (what it costs when nothing changed) and ``identity.load``,
   against the ingest itself;
2. the synthetic archive (``synthetic.py``): the same timings against its ingest;
3. the canned queries that join people (``person-itinerary``, ``person-dossier``,
   ``co-collectors``) for the most prolific collector and a median one, as they are now (one hop
   through ``col:resolvesTo``) and as they were before (``--before``, a commit; they joined
   accepted identity matches and ``schema:sameAs`` chains).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_archive  # noqa: E402

from collectomics.analysis import identity  # noqa: E402
from collectomics.analysis.network import facet_counts, facets_fresh, materialise  # noqa: E402
from collectomics.ingest.pipeline import ingest_files  # noqa: E402
from collectomics.iri import Minter  # noqa: E402
from collectomics.services.queries import get_query  # noqa: E402
from collectomics.store import OxigraphStore, Store  # noqa: E402

#: the commit whose canned queries are the baseline (before they joined col:resolvesTo)
BEFORE = "212459b"
QUERIES = ("person-itinerary", "person-dossier", "co-collectors")


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` wall-clock runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def identity_costs(store: Store, minter: Minter) -> dict[str, float]:
    t_compute, ident = timed(lambda: identity.compute(store, minter))
    t_mat, report = timed(lambda: identity.materialise(store, minter, ident), repeat=1)
    t_all, _ = timed(lambda: identity.materialise(store, minter), repeat=1)
    t_fresh, _ = timed(lambda: identity.fresh(store, minter))
    t_load, _ = timed(lambda: identity.load(store, minter))
    return {
        "compute": t_compute,
        "write": t_mat,
        "refresh": t_all,
        "fresh": t_fresh,
        "load": t_load,
        "nodes": report.nodes,
        "identities": report.identities,
    }


def real_archives(workdir: Path) -> None:
    listed = (ROOT / "tests/data/real/archives.txt").read_text("utf-8").splitlines()
    paths = [ROOT / "tests/data/real" / x.strip() for x in listed if x.strip() and x[0] != "#"]
    minter = Minter()
    print(
        "| real archive | ingest, s | refresh (compute + write), s | / ingest | fresh, s | load, s | nodes -> identities |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for path in paths:
        with OxigraphStore(workdir / f"real-{path.stem}") as store:
            t_ingest, _ = timed(
                lambda path=path, store=store: ingest_files(store, [path], minter=minter), repeat=1
            )
            c = identity_costs(store, minter)
            print(
                f"| {path.name} | {t_ingest:.2f} | {c['refresh']:.3f} | {c['refresh'] / t_ingest:.1%} | "
                f"{c['fresh']:.4f} | {c['load']:.3f} | {c['nodes']:,} -> {c['identities']:,} |"
            )


def build(records: int, workdir: Path) -> tuple[Path, float]:
    store = workdir / f"store-{records}"
    archive = write_archive(workdir / f"synthetic-{records}.zip", records)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(archive),
         "--dataset", "synthetic"],
        check=True,
        env={**os.environ, "COLLECTOMICS_MATERIALISE_AFTER_LOAD": "false"},
    )  # fmt: skip
    return store, time.perf_counter() - t


def _before(name: str) -> str | None:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BEFORE}:queries/{name}.rq"],
        capture_output=True,
        text=True,
    )
    return found.stdout if found.returncode == 0 else None


def _run_query(store_path: str, text: str, params: dict[str, str]) -> None:
    """Child process: run ``text`` once on a read-only handle; print seconds and rows."""
    from collectomics.services.queries import get_query as _get

    with OxigraphStore(store_path, read_only=True) as store:
        q = _get(params.pop("__name"))
        t = time.perf_counter()
        rows = list(store.query(text, params=q.bind(params)).rows())
        print(f"{time.perf_counter() - t:.6f} {len(rows)}")


def _timed_child(
    store_path: Path, text: str, params: dict[str, str], limit: float
) -> tuple[float | None, int]:
    """Seconds and rows of one run in a child process (pyoxigraph cannot cancel a query), or
    (None, 0) past ``limit`` seconds."""
    import json

    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import identity; "
        f"identity._run_query({str(store_path)!r}, sys.stdin.read(), json.loads({json.dumps(params)!r}))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], input=text, capture_output=True, text=True,
            timeout=limit, check=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, 0
    seconds, rows = out.stdout.split()
    return float(seconds), int(rows)


def queries(store_path: Path, minter: Minter, label: str, limit: float) -> None:
    with OxigraphStore(store_path, read_only=True) as store:
        collectors = facet_counts(store, minter, "collector")
        ident = identity.load(store, minter)
    if not collectors:
        return
    people = {"top": collectors[0], "median": collectors[len(collectors) // 2]}
    print(f"\n| {label}: query, collector | now, s | rows | before, s | rows | before / now |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in QUERIES:
        q = get_query(name)
        old = _before(name)
        for who, row in people.items():
            # an agent of the identity stands for the person (what the old queries were given)
            agent = sorted(ident.members(row["value"]))[0]
            params = {"__name": name, "person" if name == "person-dossier" else "agent": agent}
            if name == "person-itinerary":
                params["year"] = str(row.get("first_year") or 1983)
            t_now, n_now = _timed_child(store_path, q.text, dict(params), limit)
            t_old, n_old = _timed_child(store_path, old, dict(params), limit) if old else (None, 0)
            now = f"{t_now:.3f}" if t_now is not None else f"> {limit:g}"
            before = f"{t_old:.3f}" if t_old is not None else f"> {limit:g}"
            ratio = (
                f"{t_old / max(t_now, 1e-6):.1f}"
                if t_old is not None and t_now is not None
                else (f"> {limit / max(t_now, 1e-6):.0f}" if t_now is not None else "")
            )
            print(
                f"| {name}, {who} ({row['specimens']:,} specimens) | {now} | {n_now:,} | "
                f"{before} | {n_old:,} | {ratio} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--store", type=Path, help="an existing synthetic store (skips building)")
    ap.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder)")
    ap.add_argument("--skip-real", action="store_true", help="no real archives")
    ap.add_argument(
        "--limit", type=float, default=120, help="seconds a query may take (default 120)"
    )
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="collectomics-identity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    minter = Minter()
    if not args.skip_real:
        real_archives(workdir)
    if args.store:
        path, t_ingest = args.store, None
    else:
        path, t_ingest = build(args.records, workdir)
    with OxigraphStore(path) as store:
        c = identity_costs(store, minter)
        if not facets_fresh(store, minter):
            materialise(store, minter)
        quads = store.count()
        print(f"\nsynthetic store {path}: {quads:,} quads")
        print("| synthetic | s | / ingest |")
        print("|---|---:|---:|")
        if t_ingest:
            print(f"| ingest (with its refresh) | {t_ingest:.1f} | 1 |")
        for key in ("compute", "write", "refresh", "fresh", "load"):
            ratio = f"{c[key] / t_ingest:.1%}" if t_ingest else ""
            print(f"| identity {key} | {c[key]:.3f} | {ratio} |")
        print(f"| nodes -> identities | {c['nodes']:,} -> {c['identities']:,} | |")
    queries(
        path, minter, f"synthetic {args.records:,}" if not args.store else str(path), args.limit
    )
    print(f"(built in {workdir}; remove it when done)")


if __name__ == "__main__":
    main()
