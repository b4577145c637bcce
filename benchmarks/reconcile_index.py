"""The reconciliation index shared by every worker (issue 20: first request after a change under
2 s at 54,000 people, a worker under 500 MB), against the in-process build it replaces.

    .venv/bin/python benchmarks/reconcile_index.py                    # builds the store (~1 min)
    .venv/bin/python benchmarks/reconcile_index.py --workdir /tmp/rb  # keep (and reuse) the store

The store: the 54,067-person IPNI–Wikidata authority as a people table (as ``reconcile.py``
loads it) and the 2025 GBIF download of ``tests/data/real``, each loaded by ``collectomics
ingest``. Measured, each in a fresh child process (a worker as ``collectomics serve`` starts it):

- **old** (baseline): open the store read-only, build the index in the process (``Index``, with
  its specimens and suggest list, as the first queries of each kind read them) and answer a
  batch of 10 names: seconds to the first answer, RSS after it (``/proc/self/status``);
- **build**: the shared file built by ``python -m collectomics.services.reconcile.buildindex``: seconds,
  the builder's peak RSS, the file's size;
- **new**: open the store read-only, open the file, answer the same batch: seconds and RSS.

Then ``collectomics serve`` with 2 workers on 127.0.0.1: the first batch with no file (it waits
for the build), the first batch after a store change (one more person loaded by ``collectomics
ingest`` beside the server: answered from the last version while the new one is built), the
seconds until the new person is found, and each worker's RSS (``/proc/PID/status``) after a
hundred batches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reconcile import build_store, make_batches, read_authority  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GBIF = ROOT / "tests" / "data" / "real" / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
FOLDER = Path("collectomics-cache") / "reconcile"

_WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
from collectomics import reconcile as rec
from collectomics.services.reconcile import index
from collectomics.store import OxigraphStore
mode, path, batch = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t = time.perf_counter()
store = OxigraphStore(path, read_only=True)
if mode == "old":
    ix = index.Index(store)
    ix.others(); ix.suggest_words()
    kind = type(ix).__name__
    answer = {k: rec.reconcile_one(ix, q) for k, q in batch.items()}
else:
    ix = rec.index_for(store)
    kind = type(ix).__name__
    answer = rec.reconcile(store, batch)
    rec.suggest_entities(store, "Benth")
seconds = time.perf_counter() - t
status = dict(l.split(":", 1) for l in open("/proc/self/status"))
print(json.dumps({"kind": kind, "seconds": seconds, "import": t - t0,
                  "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                  "hwm_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "answered": sum(1 for a in answer.values() if a["result"])}))
"""


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _build(store: Path) -> dict[str, Any]:
    shutil.rmtree(store / FOLDER, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "collectomics.services.reconcile.buildindex", str(store),
         "https://w3id.org/collectomics/"],
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    files = sorted((store / FOLDER).glob("index-*.sqlite"))
    return {
        "seconds": seconds,
        "peak_mb": max(peak, before) / 1024,
        "size_mb": files[0].stat().st_size / 2**20,
    }


def _rss(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _post(base: str, batch: dict[str, Any], refused: list[int] | None = None) -> dict[str, Any]:
    """The answer to ``batch``; a 503 (the request outlived ``query_timeout`` while the index was
    built) is counted in ``refused`` and asked again, as OpenRefine's user would."""
    data = urlencode({"queries": json.dumps(batch)}).encode()
    while True:
        try:
            with urllib.request.urlopen(base + "/reconcile", data=data, timeout=600) as r:
                return dict(json.load(r))
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or refused is None:
                raise
            refused.append(exc.code)
            time.sleep(0.5)


def serve(store: Path, batches: list[Any], workdir: Path) -> dict[str, Any]:
    import socket

    shutil.rmtree(store / FOLDER, ignore_errors=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env["COLLECTOMICS_WORKERS"] = "2"
    log = (workdir / "serve.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "collectomics",
        "--store",
        str(store),
        "serve",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("collectomics serve did not start") from None
                time.sleep(0.2)
        t = time.perf_counter()
        refused: list[int] = []
        _post(base, batches[0][0], refused)
        out["first batch, no file yet (waits for the build started at serve's start)"] = (
            time.perf_counter() - t
        )
        out["503 answers meanwhile (query_timeout)"] = len(refused)
        for batch, _ in batches:
            _post(base, batch)
        workers = _children(proc.pid)
        out["worker RSS after the batches (MB)"] = [round(_rss(p)) for p in workers]
        # a name no earlier run loaded: the change is seen only once the new file is there
        family = "Quax" + "".join(random.choice("bcdfghjklmnprstvz") for _ in range(6))
        people = workdir / "latecomer.csv"
        people.write_text(
            f"person_id,name,given_name,family_name\nzq1,Zebulon {family},Zebulon,{family}\n"
        )
        subprocess.run(
            [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(people),
             "--dataset", "latecomers", "--replace"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        t = time.perf_counter()
        _post(base, batches[1][0])
        out["first batch after a change (the last version answers)"] = time.perf_counter() - t
        after = time.perf_counter()
        for batch, _ in batches[2:12]:
            _post(base, batch)
        out["next 10 batches, mean"] = (time.perf_counter() - after) / 10
        q = {"q0": {"query": f"Zebulon {family}", "type": "Person"}}
        while not _post(base, q)["q0"]["result"]:
            time.sleep(0.2)
        out["until the change is answered"] = time.perf_counter() - t
        for batch, _ in batches:
            _post(base, batch)
        out["worker RSS after the change (MB)"] = [round(_rss(p)) for p in workers]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    builds = [line for line in (workdir / "serve.log").read_text().splitlines() if "built" in line]
    out["builds"] = builds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, help="where to build the store (reused if there)")
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--serve-only", action="store_true", help="only the collectomics serve part")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="collectomics-reconcile-index-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = read_authority(ROOT / "tests" / "data" / "real" / "ipni-authors-wikidata")
    store = workdir / "store"
    fresh = not store.exists()
    build_store(rows, workdir)
    if fresh:
        subprocess.run(
            [sys.executable, "-m", "collectomics", "--store", str(store), "ingest", str(GBIF),
             "--dataset", "gbif-2025"],
            check=True, capture_output=True,
        )  # fmt: skip
    batches = make_batches(rows, args.batches)
    first = json.dumps(batches[0][0])
    load = os.getloadavg()[0]
    if args.serve_only:
        for key, value in serve(store, batches, workdir).items():
            print(f"  {key}: {value:.2f} s" if isinstance(value, float) else f"  {key}: {value}")
        return
    old = _child("old", str(store), first)
    built = _build(store)
    new = _child("new", str(store), first)
    print(f"store: {store} (54,067 people + the 2025 GBIF download); load average {load:.1f}")
    print(f"old, index built in the worker: first batch after {old['seconds']:6.2f} s, "
          f"RSS {old['rss_mb']:5.0f} MB")  # fmt: skip
    print(f"shared file built once:         {built['seconds']:6.2f} s (a process of its own, "
          f"peak RSS {built['peak_mb']:.0f} MB), {built['size_mb']:.0f} MB on disk")  # fmt: skip
    print(f"new, worker opens the file:     first batch after {new['seconds']:6.2f} s, "
          f"RSS {new['rss_mb']:5.0f} MB")  # fmt: skip
    print(f"first batch, old / new:         {old['seconds'] / new['seconds']:.0f}x; "
          f"RSS old / new {old['rss_mb'] / new['rss_mb']:.1f}x")  # fmt: skip
    print("\ncollectomics serve, 2 workers:")
    for key, value in serve(store, batches, workdir).items():
        if isinstance(value, float):
            print(f"  {key}: {value:.2f} s")
        else:
            print(f"  {key}: {value}")
    print(f"\nwork directory: {workdir}")


if __name__ == "__main__":
    main()
