"""Ingest and endpoint speed of this tree against an earlier commit's, in one run (issue 21).

    .venv/bin/python benchmarks/refactor.py                       # baseline: before the layer move
    .venv/bin/python benchmarks/refactor.py --baseline REV --records 50000 --rounds 3

A code move must not cost speed. The baseline commit's source tree is written to a scratch folder
(``git archive``), and both trees run the same work in child processes of this interpreter, with
``PYTHONPATH`` set to the tree's ``src/`` (it comes before the editable install on ``sys.path``):

- ingest: ``python -m collectomics --store S ingest ARCHIVE`` into a fresh store, for one
  synthetic archive of ``--records`` records (benchmarks/synthetic.py) and for the real GBIF
  download of ``tests/data/real`` named by ``--real``;
- endpoint: ``python -m collectomics --store S serve`` on the synthetic store (2 workers), under
  ``--connections`` keep-alive clients for ``--seconds`` each on a 1-row SELECT, a 1,000-row
  SELECT and an aggregate (benchmarks/endpoint.py's load).

The trees alternate for ``--rounds`` rounds and the fastest run of each counts (a shared machine
only slows runs down). Ingest is reported as wall time and as CPU time (user + system of the
child and its threads, from ``wait4``), which other jobs on the machine disturb less. Prints each figure and the ratio this tree / baseline (time: above 1 is
slower; requests/s: below 1 is slower); asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from endpoint import _free_port, _wait, load  # noqa: E402
from synthetic import write_archive  # noqa: E402

#: The last commit before the modules moved into layer packages.
BEFORE_MOVE = "1adc15a"
QUERIES = {
    "1-row SELECT": "SELECT ?s WHERE { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> } LIMIT 1",
    "1,000-row SELECT": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1000",
    "aggregate": "SELECT ?c (COUNT(*) AS ?n) WHERE { ?l <http://rs.tdwg.org/dwc/terms/countryCode> ?c } GROUP BY ?c",
}


def _extract(rev: str, into: Path) -> Path:
    """The source tree of ``rev`` (src/, ontology/, queries/, data/demo), written under ``into``."""
    blob = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src", "ontology", "queries", "data/demo"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def _compile(tree: Path) -> None:
    """Byte-compile a tree first, so that no timed run pays for it."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "src")], check=True)


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env["PYTHONPATH"] = str(tree / "src")
    env["COLLECTOMICS_MATERIALISE_AFTER_LOAD"] = "false"
    return env


def _ingest(tree: Path, archive: Path, store: Path, work: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads, from ``wait4``) of one ingest."""
    cmd = [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(archive)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=work, env=_env(tree), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"ingest with {tree} failed:\n{err.decode(errors='replace')[-2000:]}")
    return took, usage.ru_utime + usage.ru_stime


def _serve(tree: Path, store: Path, work: Path, args: argparse.Namespace) -> dict[str, float]:
    port = _free_port()
    cmd = [sys.executable, "-m", "collectomics", "--store", str(store), "serve"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)],
        cwd=work,
        env=_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port, "/sparql?query=ASK%7B%7D", proc)
        return {
            name: load(port, query, args.connections, args.seconds)["rps"]
            for name, query in QUERIES.items()
        }
    finally:
        proc.terminate()
        proc.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BEFORE_MOVE, help="commit to compare with")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--real", default="finch-gbif-download-2015", help="tests/data/real/...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    folder = ROOT / "tests" / "data" / "real" / args.real
    real = next(iter(sorted(folder.glob("*.zip"))), folder)  # the download's zip, or the folder
    with tempfile.TemporaryDirectory(prefix="collectomics-refactor-") as tmp:
        work = Path(tmp)
        trees = {"baseline": _extract(args.baseline, work / "baseline"), "this tree": ROOT}
        for tree in trees.values():
            _compile(tree)
        archive = write_archive(work / "synthetic.zip", args.records, seed=0)
        times: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
        rps: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
        print(f"baseline {args.baseline}; load average {os.getloadavg()[0]:.1f}", flush=True)
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                tree = trees[name]
                for label, source in (
                    (f"ingest {args.records:,} synthetic", archive),
                    (f"ingest {args.real}", real),
                ):
                    store = work / f"store-{name.replace(' ', '-')}-{r}-{label.split()[1]}"
                    took, cpu = _ingest(tree, source, store, work)
                    times[name].setdefault(label, []).append(took)
                    times[name].setdefault(label.replace("ingest", "ingest CPU", 1), []).append(cpu)
                    print(
                        f"round {r + 1} {name}: {label} {took:.2f} s, CPU {cpu:.2f} s", flush=True
                    )
                synthetic_store = work / f"store-{name.replace(' ', '-')}-{r}-{args.records:,}"
                for query, value in _serve(tree, synthetic_store, work, args).items():
                    rps[name].setdefault(query, []).append(value)
                    print(f"round {r + 1} {name}: {query} {value:.0f} req/s", flush=True)
        print(f"\nload average after {os.getloadavg()[0]:.1f}; fastest of {args.rounds} rounds")
        print(f"{'':40} {'baseline':>10} {'this tree':>10} {'ratio':>7}")
        for label in times["baseline"]:
            b, t = min(times["baseline"][label]), min(times["this tree"][label])
            print(f"{label + ' (s)':40} {b:10.2f} {t:10.2f} {t / b:7.2f}")
        for query in rps["baseline"]:
            b, t = max(rps["baseline"][query]), max(rps["this tree"][query])
            print(f"{query + ' (req/s)':40} {b:10.0f} {t:10.0f} {t / b:7.2f}")


if __name__ == "__main__":
    main()
