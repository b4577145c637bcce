"""Ingest's producer reading a Parquet occurrence table against the same rows as a text file.

    .venv/bin/python benchmarks/scale_parquet.py [--records N] [--repeat R]

One run, one machine: ``records`` synthetic specimens (benchmarks/synthetic.py, seed 0) written
once as a tab-separated ``occurrence.txt`` with a header row and once as a Parquet table in the
snapshot's layout (lower-case column names, strings, row groups of 100,000 rows, Snappy); the
ingest's producer (``stream_archive`` into a Sink writing N-Triples to nowhere) maps each, in
a fresh child process each. Printed: seconds, records/s, the ratio to the text file, the file
sizes, the triples written (the same for both) and the child's peak resident memory
(ru_maxrss). Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from export_shards import DATASET, _Counting  # noqa: E402
from synthetic import COLUMNS, records  # noqa: E402

ROW_GROUP = 100_000


def write_tables(work: Path, n: int) -> tuple[Path, Path]:
    """The same rows as occurrence.txt and occurrence.parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text, parquet = work / "occurrence.txt", work / "occurrence.parquet"
    names = [c.lower() for c in COLUMNS]
    schema = pa.schema([(name, pa.string()) for name in names])
    with open(text, "w", encoding="utf-8") as out, pq.ParquetWriter(parquet, schema) as writer:
        out.write("\t".join(COLUMNS) + "\n")
        chunk: list[list[str]] = []

        def flush() -> None:
            columns = [
                pa.array([r[i] or None for r in chunk], pa.string()) for i in range(len(names))
            ]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            chunk.clear()

        for values in records(n, 0):
            out.write("\t".join(values) + "\n")
            chunk.append(values)
            if len(chunk) >= ROW_GROUP:
                flush()
        if chunk:
            flush()
    return text, parquet


def produce(path: Path) -> tuple[float, int, int]:
    """(seconds, records read, N-Triples lines) of the ingest's producer over ``path``."""
    from collectomics.ingest.archive import stream_archive
    from collectomics.ingest.pipeline import IngestReport, Sink, streaming_gc
    from collectomics.iri import Minter
    from collectomics.mapping.common import Context

    minter = Minter()
    ctx = Context(DATASET, minter, ntriples=True)
    report = IngestReport(DATASET, minter.graph(DATASET))
    out = _Counting()
    t0 = time.perf_counter()
    with streaming_gc():
        stream_archive(path, ctx, report, Sink(out, None))  # type: ignore[arg-type]
    assert report.read == report.loaded + report.rejected
    return time.perf_counter() - t0, report.read, out.lines


def produce_in_child(path: Path) -> tuple[float, int, int, float]:
    """:func:`produce` in a fresh process: (seconds, records, lines, its peak RSS in MB)."""
    out = subprocess.run(
        [sys.executable, __file__, "--produce", str(path)], check=True, capture_output=True
    )
    s, n, lines, rss = out.stdout.split()
    return float(s), int(n), int(lines), float(rss)


def main() -> None:
    if sys.argv[1:2] == ["--produce"]:
        s, n, lines = produce(Path(sys.argv[2]))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(s, n, lines, rss)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-parquet-"))
    print(f"writing {args.records:,} records as text and Parquet ...", file=sys.stderr)
    text, parquet = write_tables(work, args.records)
    best: dict[str, tuple[float, int, int, float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        for name, path in (("Parquet table", parquet), ("text file", text)):
            s, n, lines, rss = produce_in_child(path)
            if name not in best or s < best[name][0]:
                best[name] = (s, n, lines, rss)
        load.append(os.getloadavg()[0])
    print(
        f"{args.records:,} synthetic records; {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"fastest of {args.repeat}; 1-min load average: " + ", ".join(f"{x:.1f}" for x in load)
    )
    sizes = {"Parquet table": parquet.stat().st_size, "text file": text.stat().st_size}
    base = best["text file"][0]
    print(
        f"{'source':<14} {'MB':>7} {'seconds':>8} {'records/s':>10} {'vs text':>8} {'peak MB':>8} {'triples':>10}"
    )
    for name, (s, n, lines, rss) in best.items():
        print(
            f"{name:<14} {sizes[name] / 1e6:7.1f} {s:8.1f} {n / s:10,.0f} {base / s:7.2f}x "
            f"{rss:8.0f} {lines:10,}"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
