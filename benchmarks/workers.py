"""Worker processes (``collectomics.workers``, used by the endpoint's pool): what a start and a
round trip cost, as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/workers.py                 # 300 round trips, 8 starts
    .venv/bin/python benchmarks/workers.py --trips 2000 --starts 20

On an on-disk store of 2,000 triples:

- **start**: a query worker from its start to "ready" (imports done, store opened), against a
  bare ``python -c pass`` (the interpreter's own start);
- **query**: a 1-row SELECT with a bound IRI through a pool of one worker (the job, the header
  and the answer cross the channel), against the same query run in this process
  (``InProcess``, the floor);
- **call**: a library function through the pool with a minter and an IRI as arguments (they
  cross as JSON, the answer too), against the same call in this process.

Each figure is the median of its runs; the machine is shared, so compare ratios, not times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from collectomics.iri import Minter
from collectomics.model import IRI
from collectomics.services.endpoint import InProcess, Job, WorkerPool
from collectomics.store import OxigraphStore

FORMATS = {"select": "json", "ask": "json", "graph": "ntriples"}
QUERY = "SELECT ?s ?o WHERE { ?s <urn:p> ?o }"
CALL = "collectomics.services.sections:query_rows"


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=300, help="round trips per measure")
    parser.add_argument("--starts", type=int, default=8, help="worker starts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.db"
        with OxigraphStore(path) as store:
            text = "".join(f"<urn:s:{i}> <urn:p> {i} .\n" for i in range(2000))
            store.add("urn:g:1", text, "turtle")

        bare, start = [], []
        for _ in range(args.starts):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            pool = WorkerPool(path, size=1, timeout=0)
            pool._idle.queue[0].await_ready(None)
            start.append(time.perf_counter() - t)
            pool.close()

        pool = WorkerPool(path, size=1, timeout=0)
        minter = Minter()
        try:
            with OxigraphStore(path, read_only=True) as store:
                here = InProcess(store)
                timings: dict[str, list[float]] = {}
                for name, runner in (("floor", here), ("pool", pool)):
                    for kind in ("query", "call"):
                        samples = timings.setdefault(f"{kind} {name}", [])
                        for i in range(args.trips):
                            t = time.perf_counter()
                            if kind == "query":
                                params = {"s": IRI(f"urn:s:{i % 2000}")}
                                job = Job(QUERY, FORMATS, params)
                                b"".join(runner.run(job).chunks)
                            else:
                                runner.call(CALL, (minter, "urn:s:1"), {"query": "co-collectors"})
                            samples.append(time.perf_counter() - t)
        finally:
            pool.close()

    print(f"start: worker {_median_ms(start):.1f} ms, bare interpreter {_median_ms(bare):.1f} ms, "
          f"ratio {statistics.median(start) / statistics.median(bare):.2f}")  # fmt: skip
    for kind in ("query", "call"):
        floor, through = timings[f"{kind} floor"], timings[f"{kind} pool"]
        print(
            f"{kind}: pool {_median_ms(through):.3f} ms, in-process {_median_ms(floor):.3f} ms, "
            f"ratio {statistics.median(through) / statistics.median(floor):.2f}, "
            f"overhead {_median_ms(through) - _median_ms(floor):.3f} ms"
        )


if __name__ == "__main__":
    main()
