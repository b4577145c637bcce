"""Networks, itineraries and dashboard statistics on a synthetic graph.

    .venv/bin/python benchmarks/networks.py                       # 100,000 records
    .venv/bin/python benchmarks/networks.py --records 1000000     # ~15 min to build the store
    .venv/bin/python benchmarks/networks.py --store S             # reuse a store built before

Builds (unless ``--store`` names an existing one) a store from ``synthetic.py``'s archive with
``collectomics ingest``, times ``materialise``, then, on a read-only handle, the targets of
issue 8: one person's ego network (depth 1 and 2) and itinerary (< 1 s), the whole graph's
co-collector edges with counts and the dashboard's statistics (< 5 s). The people are the most
prolific collector and a median one. The baseline, measured in the same run, is the same call
reading the data instead of the materialised facets graph (what it costs without `materialise`).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_archive  # noqa: E402

from collectomics.analysis.identity import Identities  # noqa: E402
from collectomics.analysis.itinerary import itinerary  # noqa: E402
from collectomics.analysis.network import build_network, dashboard, facet_counts  # noqa: E402
from collectomics.iri import Minter  # noqa: E402
from collectomics.services.materialise import materialise  # noqa: E402
from collectomics.store import OxigraphStore  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` wall-clock runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def build(records: int, workdir: Path) -> Path:
    store = workdir / f"store-{records}"
    if store.exists():
        return store
    archive = write_archive(workdir / f"synthetic-{records}.zip", records)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(archive),
         "--dataset", "synthetic"],
        check=True,
        env={**os.environ, "COLLECTOMICS_MATERIALISE_AFTER_LOAD": "false"},  # timed below
    )  # fmt: skip
    print(f"ingest: {time.perf_counter() - t:.1f} s")
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--store", type=Path, help="an existing store (skips building)")
    ap.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder)")
    ap.add_argument("--skip-baseline", action="store_true", help="no timings from the raw data")
    args = ap.parse_args()
    tmp = None
    if args.store:
        path = args.store
    else:
        workdir = args.workdir or Path(tmp := tempfile.mkdtemp(prefix="collectomics-networks-"))
        path = build(args.records, workdir)
    minter = Minter()

    rows: list[tuple[str, float, float | None, str]] = []
    with OxigraphStore(path) as store:
        specimens = store.count()
        t, report = timed(lambda: materialise(store, minter), repeat=1)
        print(f"store: {path} ({specimens:,} quads)")
        print(f"materialise: {t:.1f} s — {report.summary()}")
    store = OxigraphStore(path, read_only=True)
    collectors = facet_counts(store, minter, "collector")
    top, median = collectors[0], collectors[len(collectors) // 2]
    ids = Identities(store)

    def add(name: str, fast: Callable[[], Any], slow: Callable[[], Any] | None, note: str) -> None:
        tf, _ = timed(fast)
        ts = None
        if slow is not None and not args.skip_baseline:
            ts, _ = timed(slow, repeat=1)
        rows.append((name, tf, ts, note))
        print(f"  {name}: {tf:.3f} s" + (f" (data: {ts:.3f} s)" if ts is not None else ""))

    for who, person in (("top", top), ("median", median)):
        iri = person["value"]
        for depth in (1, 2):
            net = build_network(store, minter, person=iri, depth=depth, limit=100)
            note = f"{net.graph.number_of_nodes()} nodes, {net.graph.number_of_edges()} edges"
            add(
                f"ego network (page view: 100 per ring), {who} collector "
                f"({person['specimens']:,} specimens), depth {depth}",
                lambda iri=iri, depth=depth: build_network(
                    store, minter, person=iri, depth=depth, limit=100, metrics="basic"
                ),
                lambda iri=iri, depth=depth: build_network(
                    store,
                    minter,
                    person=iri,
                    depth=depth,
                    limit=100,
                    start=-9999,
                    end=9999,
                    metrics="basic",
                ),
                note,
            )
        it = itinerary(store, iri, ids=ids, minter=minter)
        add(
            f"itinerary, {who} collector",
            lambda iri=iri: itinerary(store, iri, ids=ids, minter=minter),
            None,
            f"{len(it.stops):,} stops, {len(it.flags):,} flags",
        )
    whole = build_network(store, minter, metrics=False)
    add(
        "whole-graph co-collector edges with counts",
        lambda: build_network(store, minter, metrics=False),
        lambda: build_network(store, minter, metrics=False, start=-9999, end=9999),
        f"{whole.graph.number_of_edges():,} edges, {whole.graph.number_of_nodes():,} people",
    )
    add(
        "dashboard statistics (5 facets, top 25 each)",
        lambda: dashboard(store, minter),
        None,
        "from the facets graph",
    )
    add(
        "  same, every value of every facet",
        lambda: dashboard(store, minter, limit=0),
        None,
        "",
    )

    print()
    print(
        f"| what ({args.records if not args.store else 'given store'}) | s | from data, s | data / facets | |"
    )
    print("|---|---:|---:|---:|---|")
    for name, tf, ts, note in rows:
        ratio = f"{ts / tf:.1f}" if ts else ""
        print(f"| {name} | {tf:.3f} | {'' if ts is None else f'{ts:.2f}'} | {ratio} | {note} |")
    if tmp:
        print(f"(built in {tmp}; remove it when done)")


if __name__ == "__main__":
    main()
