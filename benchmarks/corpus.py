"""Figures of the real corpus: what each real archive in tests/data/real becomes in the graph.

    .venv/bin/python benchmarks/corpus.py            # print the table (Markdown)
    .venv/bin/python benchmarks/corpus.py --check docs/corpus.md
                                                     # exit 1 unless the doc holds this table

Every archive is loaded, in the order below, into one embedded store in a temporary folder (so
that a specimen published by two of them is linked as a possible duplicate), with the library's
own ``ingest_files``. Per archive it gives: the core rows read; the specimen records among them
(for a Taxon or Event core, the rows of its Occurrence extension); the specimen nodes its dataset's
graph holds (``collectomics stats``'s count, which must equal ``loaded``); the records whose key
repeats within the dataset (each its own node, with a warning); the possible-duplicate pairs
linked to datasets loaded before it; the unknown agents (``Anon.``, ``?``, ``[no agent data]``);
the agent roles per specimen record (collector, determiner, georeferencer... role nodes); and the triples
written per record. ``tests/test_corpus.py`` runs ``--check``, so the doc's figures are the
code's. It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from collectomics.analysis.stats import dataset_records
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import OxigraphStore

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
#: the Darwin Core data of the corpus, as `collectomics ingest` reads it
ARCHIVES = tuple(
    line.strip()
    for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
HEADER = (
    "| archive | rows read | specimen records | specimen nodes | repeated keys | possible duplicates | "
    "unknown agents | agent roles / record | triples / record |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)
_ROLES = (
    "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ GRAPH <{g}> {{ ?r <http://www.w3.org/ns/prov#agent> "
    "?a ; <http://www.w3.org/ns/prov#hadRole> ?role }} }}"
)


def table() -> str:
    """The Markdown table of the corpus, one row an archive."""
    minter = Minter()
    rows = [HEADER]
    with tempfile.TemporaryDirectory() as tmp:
        store = OxigraphStore(Path(tmp) / "store")
        try:
            for name in ARCHIVES:
                [report] = ingest_files(store, [REAL / name], minter=minter)
                nodes = dataset_records(store, minter).get(report.graph, 0)
                repeated = sum(1 for p in report.problems if "already given" in p.reason)
                physical = store.physical_graph(report.graph) or report.graph
                [row] = store.query(_ROLES.format(g=physical)).rows()
                roles = int(str(row["n"].value))  # type: ignore[union-attr]
                records = report.specimens or report.loaded
                per = max(records, 1)
                rows.append(
                    f"| `{name}` | {report.read:,} | {records:,} | {nodes:,} | {repeated:,} | "
                    f"{report.duplicates:,} | {report.unknown_agents:,} | "
                    f"{roles / per:.2f} | {report.triples / per:.1f} |"
                )
        finally:
            store.close()
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", type=Path, help="a doc that must hold this table")
    args = parser.parse_args(argv)
    text = table()
    if args.check is None:
        print(text)
        return 0
    if text in args.check.read_text("utf-8"):
        return 0
    print(f"{args.check} does not hold the corpus table; it is now:\n{text}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
