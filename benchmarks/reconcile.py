"""The reconciliation service on a graph of 54,000 people (issue 7: p50 < 20 ms per batch of 10).

    .venv/bin/python benchmarks/reconcile.py                    # builds the store (~1 min)
    .venv/bin/python benchmarks/reconcile.py --workdir /tmp/rb  # keep (and reuse) the store
    .venv/bin/python benchmarks/reconcile.py --batches 300      # more batches

The people are the IPNI botanist authority joined to Wikidata (``tests/data/real/
ipni-authors-wikidata``: names, abbreviations, life years, QIDs, IPNI ids), written as a people
template (``people.csv``) and loaded with ``collectomics ingest`` into an on-disk store. Queries
are names drawn from the authority (fixed seed) in the forms spreadsheets hold them: full name,
initials, accents dropped, surname first, surname and initial, the botanist abbreviation; one in
five carries a birth year. They go in batches of 10, as OpenRefine sends them:

- through the library (``reconcile.reconcile`` on a read-only handle, as the server holds it);
- over HTTP to ``collectomics serve`` on 127.0.0.1 (form-encoded POST, one keep-alive
  connection, one batch at a time);
- baseline, in the same run: the service as it was before the token index: a scan of every
  person, and every person sharing a word with the query scored in full by the matcher.

Printed: p50, p99 and mean milliseconds per batch, the index build time, and how often the
person the name was drawn from comes first (and is auto-matched).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from collectomics import reconcile as rec
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.store import OxigraphStore

ROOT = Path(__file__).resolve().parent.parent
AUTHORITY = ROOT / "tests" / "data" / "real" / "ipni-authors-wikidata"
PEOPLE_COLUMNS = (
    "person_id name given_name family_name name_variants author_abbreviation birth_date "
    "death_date wikidata ipni"
).split()


def read_authority(folder: Path) -> list[dict[str, str]]:
    """The authority as people-template rows (suppressed IPNI records left out)."""
    qids: dict[str, str] = {}
    with (folder / "wikidata_P586_ipni_author.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qids[row["id"]] = row["wikidata"].rsplit("/", 1)[-1]
    rows = []
    with gzip.open(folder / "ipni_authors.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("suppressed"):
                continue
            given, family = (r.get("forename") or "").strip(), (r.get("surname") or "").strip()
            life = re.fullmatch(r"(\d{4})-(\d{4})?", (r.get("dates") or "").strip())
            variants = [v.strip() for v in (r.get("alternativeNames") or "").split(";")]
            rows.append(
                {
                    "person_id": r["id"],
                    "name": f"{given} {family}".strip(),
                    "given_name": given,
                    "family_name": family,
                    "name_variants": "|".join(v for v in variants if v),
                    "author_abbreviation": r.get("standardForm") or "",
                    "birth_date": life.group(1) if life else "",
                    "death_date": (life.group(2) or "") if life else "",
                    "wikidata": qids.get(r["id"], ""),
                    "ipni": r["id"],
                }
            )
    return rows


def build_store(rows: list[dict[str, str]], workdir: Path) -> Path:
    path = workdir / "store"
    if path.exists():
        return path
    people = workdir / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, PEOPLE_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    t = time.perf_counter()
    with OxigraphStore(path) as store:
        spec = DatasetSpec("ipni-authors", (people,), "IPNI authors with Wikidata QIDs", None, None)
        report = ingest_dataset(store, spec, minter=Minter(), replace=True)
    print(f"store: {report.summary()} in {time.perf_counter() - t:.1f} s")
    return path


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def variant(row: dict[str, str], rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """A real-looking spreadsheet cell for one person, and maybe a birth-year property."""
    given, family = row["given_name"], row["family_name"]
    words = given.replace(".", ". ").split()
    initials = " ".join(w[0] + "." for w in words if w[0].isupper())  # not "de", "von"
    forms = [
        f"{given} {family}",
        f"{initials} {family}",
        _ascii(f"{given} {family}"),
        f"{family}, {given}",
        f"{family}, {initials}",
        f"{family} {initials.replace(' ', '')}",
    ]
    if row["author_abbreviation"]:
        forms.append(row["author_abbreviation"])
    text = rng.choice([f for f in forms if f.strip(" ,.")] or [row["name"]])
    props = []
    if row["birth_date"] and rng.random() < 0.2:
        props = [{"pid": "birthYear", "v": row["birth_date"]}]
    return text, props


def make_batches(
    rows: list[dict[str, str]], n: int, seed: int = 7
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """``n`` batches of 10 queries, with the person id each query was drawn from."""
    rng = random.Random(seed)
    named = [r for r in rows if r["family_name"] and r["given_name"]]
    out = []
    for _ in range(n):
        batch, truth = {}, {}
        for k in range(10):
            row = rng.choice(named)
            text, props = variant(row, rng)
            q: dict[str, Any] = {"query": text, "type": "Person", "type_strict": "should"}
            if props:
                q["properties"] = props
            batch[f"q{k}"] = q
            truth[f"q{k}"] = "person/" + row["person_id"]
        out.append((batch, truth))
    return out


def stats(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (
        f"p50 {statistics.median(ms):7.1f} ms   p99 {p99:7.1f} ms   "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


def quality(answers: list[dict[str, Any]], truths: list[dict[str, str]]) -> str:
    first = matched = wrong = total = 0
    for answer, truth in zip(answers, truths, strict=True):
        for key, want in truth.items():
            total += 1
            result = answer.get(key, {}).get("result", [])
            if result and result[0]["id"] == want:
                first += 1
                matched += bool(result[0]["match"])
            elif result and result[0]["match"]:
                wrong += 1
    return (
        f"top-1 {first / total:.1%}, auto-matched right {matched / total:.1%}, "
        f"auto-matched wrong {wrong / total:.1%} of {total} queries"
    )


def run_library(store: Any, batches: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    times, answers = [], []
    for batch, _ in batches:
        t = time.perf_counter()
        answers.append(rec.reconcile(store, batch))
        times.append(time.perf_counter() - t)
    return [times, answers]


def scan_candidates(ix: Any, text: str, props: Any) -> list[Any]:
    """The baseline's candidates: a scan of every person for a word in common with the query."""
    words = set(rec.name_words(text)) | {rec.compact(text)}
    words |= {w for a in props.abbreviations for w in rec.name_words(a)}
    wanted = {(k, w.upper()) for k, ws in props.ids.items() for w in ws}
    return [
        e
        for e in ix.by_id.values()
        if e.type is rec.PERSON
        and (words & (e.family_words | e.given | e.abbr_keys) or any(
            (k, v.upper()) in wanted for k, v in e.ids.items()))
    ]  # fmt: skip


def run_http(store_path: Path, batches: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    cmd = [sys.executable, "-m", "collectomics", "--store", str(store_path), "serve",
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("collectomics serve did not start") from None
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}

        def post(batch: dict[str, Any]) -> Any:
            conn.request("POST", "/reconcile", urlencode({"queries": json.dumps(batch)}), headers)
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (r.status, body[:200])
            return json.loads(body)

        t = time.perf_counter()
        post(batches[0][0])  # this worker process builds its index
        print(f"http: first batch (the worker builds its index) {time.perf_counter() - t:.1f} s")
        times, answers = [], []
        for batch, _ in batches:
            t = time.perf_counter()
            answers.append(post(batch))
            times.append(time.perf_counter() - t)
        conn.close()
        return [times, answers]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, help="where to build the store (reused if there)")
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--baseline-batches", type=int, default=10)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="collectomics-reconcile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = read_authority(AUTHORITY)
    path = build_store(rows, workdir)
    batches = make_batches(rows, args.batches)
    truths = [t for _, t in batches]

    store = OxigraphStore(path, read_only=True)
    t = time.perf_counter()
    ix = rec.index_for(store)
    people = sum(1 for e in ix.by_id.values() if e.type is rec.PERSON and not e.agent)
    print(f"people in the graph: {people:,}; index built in {time.perf_counter() - t:.1f} s")
    rec.reconcile(store, batches[0][0])  # warm

    lib_times, lib_answers = run_library(store, batches)
    saved = rec.person_candidates
    rec.person_candidates = scan_candidates  # type: ignore[assignment]
    try:
        base_times, base_answers = run_library(store, batches[: args.baseline_batches])
    finally:
        rec.person_candidates = saved
    store.close()
    http_times, http_answers = run_http(path, batches)

    n = len(batches)
    print(f"\n{n} batches of 10 queries ({args.baseline_batches} for the baseline)")
    print(f"library, token index:       {stats(lib_times)}")
    print(f"HTTP, collectomics serve:   {stats(http_times)}")
    print(f"baseline, scan, no index:   {stats(base_times)}")
    ratio = statistics.median(base_times) / statistics.median(lib_times)
    print(f"p50 baseline / token index: {ratio:.1f}x")
    print(f"\nquality, token index:   {quality(lib_answers, truths)}")
    print(f"quality, over HTTP:     {quality(http_answers, truths)}")
    print(f"quality, baseline:      {quality(base_answers, truths[: args.baseline_batches])}")
    print(f"\nwork directory: {workdir}")


if __name__ == "__main__":
    main()
