"""Reading and writing the materialise caches: the array format against pickle, in one run.

    .venv/bin/python benchmarks/edgeindex.py                         # 100,000 people, 1,000,000 ties
    .venv/bin/python benchmarks/edgeindex.py --nodes 20000 --edges 200000 --rows 49000

Builds a synthetic co-collection edge index (``analysis/edgeindex.py``: random people with
labels, kinds, counts and years, random weighted and dated ties) and one prolific collector's
itinerary rows (eight strings each, as ``itinerary.event_rows`` gives them), then times writing
and reading each in the format the store keeps now (a JSON header and raw integer arrays; JSON
rows) and, as the baseline, in the pickle format 1 used (the same objects through
``pickle.dump``/``pickle.load``, in a temporary folder of its own). Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import pickle
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collectomics.analysis import edgeindex
from collectomics.analysis.edgeindex import EdgeIndex


def best(fn: Callable[[], Any], repeat: int) -> float:
    """Best wall-clock seconds of ``repeat`` runs of ``fn``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def synthetic(nodes: int, edges: int, seed: int = 0) -> EdgeIndex:
    """An index of ``nodes`` people and about ``edges`` distinct ties."""
    rnd = random.Random(seed)
    names = [f"https://w3id.org/collectomics/agent/synthetic/{i:07d}" for i in range(nodes)]
    people = {
        n: {
            "kind": "person" if i % 7 == 0 else "agent",
            "specimens": rnd.randint(1, 5000),
            "first_year": 1800 + rnd.randint(0, 100),
            "last_year": 1900 + rnd.randint(0, 120),
        }
        for i, n in enumerate(names)
    }
    ties: dict[tuple[str, str], dict[str, Any]] = {}
    for _ in range(edges):
        a, b = rnd.sample(names, 2)
        key = (a, b) if a < b else (b, a)
        first = 1800 + rnd.randint(0, 200)
        ties[key] = {"weight": rnd.randint(1, 50), "first_year": first, "last_year": first + 3}
    return EdgeIndex.build(
        "token", people, ties, lambda n: "Name " + n[-7:], lambda n: people[n]["kind"]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=49_000, help="itinerary rows of one collector")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    index = synthetic(args.nodes, args.edges)
    state = (1, index.token, index.nodes, index.node_attrs, index.counts, index.first,
             index.last, index.a, index.b, index.weight, index.efirst, index.elast)  # fmt: skip
    rows = [
        [f"https://w3id.org/collectomics/specimen/s/{i}", f"https://w3id.org/collectomics/event/{i}",
         "1901-03-04", "1901-03-04", f"{i % 90}.25", f"{i % 180}.5", f"Locality {i % 500}", "BR"]
        for i in range(args.rows)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="collectomics-edgeindex-") as tmp:
        folder = Path(tmp)
        arrays, pickled = folder / edgeindex.FILE, folder / "baseline.pickle"

        class _Store:  # what cache_file reads of a store: its folder
            path = folder
            read_only = False

        store = _Store()

        def pickle_save() -> None:
            with open(pickled, "wb") as out:
                pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)

        def pickle_load() -> None:  # format 1's EdgeIndex.load
            with open(pickled, "rb") as handle:
                EdgeIndex(*pickle.load(handle)[1:])  # noqa: S301 - the baseline's own file

        def rows_pickle_save() -> None:
            with open(folder / "rows.pickle", "wb") as out:
                pickle.dump((1, "token", "p", rows), out, protocol=pickle.HIGHEST_PROTOCOL)

        def rows_pickle_load() -> None:
            with open(folder / "rows.pickle", "rb") as handle:
                pickle.load(handle)  # noqa: S301 - the baseline's own file

        figures = [
            ("edge index, write", lambda: index.save(arrays), pickle_save),
            ("edge index, read", lambda: EdgeIndex.load(arrays), pickle_load),
            (
                "itinerary rows, write",
                lambda: edgeindex.save_rows(store, "token", "p", rows),
                rows_pickle_save,
            ),
            (
                "itinerary rows, read",
                lambda: edgeindex.load_rows(store, "token", "p"),
                rows_pickle_load,
            ),
        ]
        index.save(arrays)
        loaded = EdgeIndex.load(arrays)
        assert loaded is not None and loaded.nodes == index.nodes and loaded.a == index.a
        print(
            f"{len(index.nodes):,} people, {len(index.a):,} ties, {args.rows:,} itinerary rows; "
            f"best of {args.repeat}"
        )
        for name, ours, baseline in figures:
            baseline()
            ours()
            t_base, t_ours = best(baseline, args.repeat), best(ours, args.repeat)
            print(
                f"  {name}: {t_ours * 1000:.1f} ms (pickle: {t_base * 1000:.1f} ms), "
                f"ratio {t_ours / t_base:.2f}"
            )
        size = arrays.stat().st_size, pickled.stat().st_size
        print(f"  edge index file: {size[0]:,} bytes (pickle: {size[1]:,} bytes)")


if __name__ == "__main__":
    main()
