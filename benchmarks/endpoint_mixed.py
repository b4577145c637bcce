"""Mixed load over the union default graph: `collectomics serve` against `oxigraph serve` on the
same store, in the same run, rounds alternating.

    .venv/bin/python benchmarks/endpoint_mixed.py                  # 10,000 records, 4 datasets
    .venv/bin/python benchmarks/endpoint_mixed.py --rounds 5 --seconds 10 --keep /tmp/bench-mixed

One store: ``--datasets`` synthetic Darwin Core Archives (``--records`` in all) ingested by
`collectomics ingest`, one dataset each, with the facets it materialises: several named graphs,
as a museum's store has (the facets are materialised once, after the last). Both servers run at once on 127.0.0.1: `collectomics serve` (default
settings but ``--workers``) and `oxigraph serve-read-only --union-default-graph` on the same
directory. The load: ``--clients`` processes, each with one keep-alive HTTP/1.1 connection,
alternating a 1-row SELECT (one specimen's catalogue number, a different specimen each time) and
a ``--rows``-row SELECT, GET ``/sparql`` (``/query`` for Oxigraph) with ``Accept:
application/sparql-results+json``, back to back for ``--seconds`` after one second of warm-up.
Rounds alternate between the servers; the machine is shared and noisy, so the fastest round of
each is compared, and the load average is printed.

Before the load, in this process, on read-only handles (the fastest of ``--repeat`` runs):
the ``--rows``-row SELECT over the union default graph against the same query over the list of
current graph versions (what queries passed before), and the store `ingest` wrote against a
fresh bulk load of the same quads (what compaction after a load is for).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from endpoint import _free_port, _wait  # noqa: E402  (the same server start as endpoint.py)
from synthetic import write_archive  # noqa: E402

BIN = Path(sys.executable).parent
CATALOGUE = "http://rs.tdwg.org/dwc/terms/catalogNumber"
ONE_ROW = "SELECT ?n WHERE {{ <{iri}> <" + CATALOGUE + "> ?n }}"
MANY_ROWS = "SELECT ?s ?n WHERE {{ ?s <" + CATALOGUE + "> ?n }} LIMIT {rows}"
ACCEPT = "application/sparql-results+json"


def _client(args: tuple[int, str, list[str], str, int, float, float]) -> dict[str, list[float]]:
    """One connection alternating the two queries; latencies (s) per kind after the warm-up."""
    port, route, one_row_iris, many, offset, warm_until, stop_at = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    out: dict[str, list[float]] = {"1-row": [], "many": []}
    i = offset
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            break
        if i % 2:
            kind, query = "many", many
        else:
            iri = one_row_iris[(i // 2) % len(one_row_iris)]
            kind, query = "1-row", ONE_ROW.format(iri=iri)
        conn.request("GET", route + urllib.parse.quote(query), headers={"Accept": ACCEPT})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status} from {route}")
        if start >= warm_until:
            out[kind].append(time.perf_counter() - start)
        i += 1
    conn.close()
    return out


def mixed_load(
    port: int, route: str, iris: list[str], many: str, clients: int, seconds: float
) -> dict[str, float]:
    now = time.perf_counter()
    warm_until, stop_at = now + 1.0, now + 1.0 + seconds
    jobs = [(port, route, iris, many, c, warm_until, stop_at) for c in range(clients)]
    with mp.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    summary: dict[str, float] = {}
    total = 0
    for kind in ("1-row", "many"):
        latencies = sorted(x for r in results for x in r[kind])
        n = len(latencies)
        total += n
        summary[f"{kind} p50 ms"] = 1000 * latencies[n // 2] if n else float("nan")
        summary[f"{kind} p95 ms"] = 1000 * latencies[min(n - 1, int(n * 0.95))] if n else 0.0
    summary["req/s"] = total / seconds
    return summary


def _best_ms(run: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def in_process(store: Path, fresh: Path, many: str, repeat: int) -> dict[str, float]:
    """The many-row SELECT in this process: union default graph against the list of current
    versions, and on the store `ingest` wrote against a fresh bulk load of its quads."""
    import pyoxigraph as ox

    from collectomics.store import OxigraphStore

    ours = OxigraphStore(store, read_only=True)
    listed = ours.graphs()
    fmt = "json"

    def union() -> None:
        ours.query(many).serialize(fmt, io.BytesIO())

    def by_list() -> None:
        ours.query(many, default_graphs=listed).serialize(fmt, io.BytesIO())

    raw_ingested = ox.Store.read_only(str(store))
    raw_fresh = ox.Store.read_only(str(fresh))

    def on(raw: object) -> object:
        def run() -> None:
            raw.query(many, use_default_graph_as_union=True).serialize(  # type: ignore[attr-defined]
                io.BytesIO(), ox.QueryResultsFormat.JSON
            )

        return run

    out: dict[str, float] = {}
    for _ in range(2):  # alternate, keep the fastest
        for name, run in (
            ("union default graph", union),
            (f"list of {len(listed)} current versions", by_list),
            ("store written by ingest (raw union)", on(raw_ingested)),
            ("fresh bulk load of the same quads (raw union)", on(raw_fresh)),
        ):
            out[name] = min(out.get(name, float("inf")), _best_ms(run, repeat))
    ours.close()
    return out


def build(work: Path, records: int, datasets: int, env: dict[str, str]) -> Path:
    store = work / "store.db"
    if store.exists():
        return store
    each = max(1, records // datasets)
    for d in range(datasets):
        archive = write_archive(work / f"archive-{d}.zip", each, d)
        last = d == datasets - 1  # the facets once, over every dataset
        subprocess.run(
            [BIN / "collectomics", "--store", store, "ingest", archive, "--dataset", f"bench-{d}"],
            check=True,
            env=env | {"COLLECTOMICS_MATERIALISE_AFTER_LOAD": "true" if last else "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return store


def fresh_copy(store: Path, work: Path) -> Path:
    """The same quads, dumped from the store (union of all graphs) and bulk-loaded afresh."""
    import pyoxigraph as ox

    fresh = work / "fresh.db"
    if fresh.exists():
        return fresh
    source = ox.Store.read_only(str(store))
    target = ox.Store(str(fresh))
    target.bulk_extend(iter(source))
    target.flush()
    del target, source
    return fresh


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--datasets", type=int, default=4)
    ap.add_argument("--rows", type=int, default=1000, help="rows of the large SELECT")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3, help="load rounds per server, alternating")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20, help="runs per in-process figure")
    ap.add_argument("--keep", type=Path, help="keep the archives and stores in this folder")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    store = build(work, args.records, args.datasets, env)
    fresh = fresh_copy(store, work)

    import pyoxigraph as ox

    probe = ox.Store.read_only(str(store))
    iris = [
        s["s"].value
        for s in probe.query(
            f"SELECT ?s {{ ?s <{CATALOGUE}> ?n }} LIMIT 500", use_default_graph_as_union=True
        )
    ]
    quads = len(probe)
    graphs = sum(1 for _ in probe.named_graphs())
    del probe
    many = MANY_ROWS.format(rows=args.rows)
    load_before = os.getloadavg()
    print(
        f"store: {quads:,} quads in {graphs} named graphs (catalog markers included) from "
        f"{args.records:,} records in {args.datasets} datasets; {args.clients} clients, "
        f"{args.workers} collectomics workers, {args.rounds} rounds of {args.seconds:g} s per "
        f"server; {os.cpu_count()} CPUs; load average {load_before[0]:.2f}",
        flush=True,
    )
    floor = in_process(store, fresh, many, args.repeat)
    print(f"\nin process, {args.rows:,}-row SELECT, fastest of {2 * args.repeat}:")
    for name, ms in floor.items():
        print(f"  {name}: {ms:.2f} ms")

    ours_port, oxi_port = _free_port(), _free_port()
    ours = subprocess.Popen(
        [BIN / "collectomics", "--store", store, "serve", "--port", str(ours_port)],
        env=env | {"COLLECTOMICS_WORKERS": str(args.workers)},
        stderr=subprocess.DEVNULL,
    )
    oxi = subprocess.Popen(
        [BIN / "oxigraph", "serve-read-only", "--location", store]
        + ["--bind", f"127.0.0.1:{oxi_port}", "--union-default-graph"],
        stderr=subprocess.DEVNULL,
    )
    servers = {
        "collectomics serve": (ours_port, "/sparql?query="),
        "oxigraph serve": (oxi_port, "/query?query="),
    }
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        _wait(ours_port, "/health", ours)
        _wait(oxi_port, "/query?query=ASK%7B%7D", oxi)
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for name in order:
                port, route = servers[name]
                result = mixed_load(port, route, iris, many, args.clients, args.seconds)
                result["load average"] = os.getloadavg()[0]
                rounds[name].append(result)
                print(f"round {r + 1} {name}: " + json.dumps(result), flush=True)
    finally:
        for proc in (ours, oxi):
            proc.terminate()
            proc.wait(timeout=60)

    print()
    print(
        f"| server | best req/s | rounds req/s | 1-row p50 / p95 ms | {args.rows:,}-row p50 / p95 ms |"
    )
    print("|---|---:|---|---:|---:|")
    best = {name: max(rs, key=lambda x: x["req/s"]) for name, rs in rounds.items()}
    for name, b in best.items():
        print(
            f"| {name} | {b['req/s']:.1f} | "
            + ", ".join(f"{x['req/s']:.1f}" for x in rounds[name])
            + f" | {b['1-row p50 ms']:.1f} / {b['1-row p95 ms']:.1f}"
            + f" | {b['many p50 ms']:.1f} / {b['many p95 ms']:.1f} |"
        )
    ratio = best["collectomics serve"]["req/s"] / best["oxigraph serve"]["req/s"]
    print(
        f"\ncollectomics serve / oxigraph serve, fastest rounds: {ratio:.2f}x req/s (target 0.90); "
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
