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
person the name was drawn from comes first and is auto-matched, by our match rule and by
openrefine-wikibase's (score > 95 - 5 x properties given, and more than 10 above the runner-up)
applied to the same scores.

Then the real cells (``--cells``, on by default): every distinct ``recordedBy`` value of the
real archives (``tests/data/real/archives.txt``, loaded beside the authority in a second store,
so that their name strings are there) and of the two Bloodhound attribution tables (not loaded:
the authority alone answers them), each sent as OpenRefine sends a cell, alone and with the
country, family and year of one of its records. Printed: how many get no candidate, how many
the ingest reads as several names and whether any of those is matched, and how often a name
string comes first while a person is proposed.
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

from collectomics.ingest import ingest_files
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.mapping.names import read_agents
from collectomics.services import reconcile as rec
from collectomics.services.reconcile import scoring
from collectomics.services.reconcile.schema import property_id
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


REAL = ROOT / "tests" / "data" / "real"
DWC = "http://rs.tdwg.org/dwc/terms/"
BLOODHOUND_RECORDED_BY = 15  # the column of recordedBy in the headerless Bloodhound tables


def build_cells_store(people: Path, workdir: Path) -> Path:
    """The authority and the real archives of the corpus, in a second store."""
    path = workdir / "store-cells"
    if path.exists():
        return path
    archives = [
        line.strip()
        for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    t = time.perf_counter()
    with OxigraphStore(path) as store:
        spec = DatasetSpec("ipni-authors", (people,), "IPNI authors with Wikidata QIDs", None, None)
        ingest_dataset(store, spec, minter=Minter(), replace=True)
        for name in archives:
            ingest_files(store, [REAL / name], minter=Minter())
    print(f"cells store: the authority and {len(archives)} archives in "
          f"{time.perf_counter() - t:.1f} s")  # fmt: skip
    return path


def archive_cells(store: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each distinct recordedBy value of the store, with the country, family and year of one
    of its records, as a sheet row would give them."""
    rows = store.query(
        f"SELECT ?v (SAMPLE(?c) AS ?cc) (SAMPLE(?f) AS ?ff) (SAMPLE(?y) AS ?yy) WHERE {{ "
        f"?s <{DWC}recordedBy> ?v . OPTIONAL {{ ?s <{DWC}countryCode> ?c }} "
        f"OPTIONAL {{ ?s <{DWC}family> ?f }} OPTIONAL {{ ?s <{DWC}year> ?y }} }} GROUP BY ?v"
    ).rows()
    cells = []
    for r in rows:
        props = [
            {"pid": pid, "v": r[k].value}
            for pid, k in (("country", "cc"), ("family", "ff"), ("collectingYear", "yy"))
            if r.get(k) is not None
        ]
        cells.append((r["v"].value, props))
    return sorted(cells, key=lambda c: c[0])


def bloodhound_cells() -> list[tuple[str, list[dict[str, Any]]]]:
    """The distinct recordedBy values of the two Bloodhound attribution tables."""
    values: set[str] = set()
    for path in sorted((REAL / "bloodhound-orcid-attributions").glob("*.csv")):
        with path.open(encoding="utf-8") as f:
            for row in csv.reader(f):
                if len(row) > BLOODHOUND_RECORDED_BY and row[0] != "action":
                    if value := row[BLOODHOUND_RECORDED_BY].strip():
                        values.add(value)
    return [(v, []) for v in sorted(values)]


def cell_report(store: Any, cells: list[tuple[str, list[dict[str, Any]]]], label: str) -> None:
    """How the real cells are answered: alone (the name only) and with their properties."""
    several = {t for t, _ in cells if len(read_agents(t)) > 1}
    print(f"\n{label}: {len(cells):,} distinct recordedBy values, {len(several):,} read by the "
          "ingest as several names")  # fmt: skip
    for with_props in (False, True):
        if with_props and not any(p for _, p in cells):
            continue
        none = agent_first = agent_matched = several_matched = notes = candidates = 0
        for k in range(0, len(cells), 10):
            batch = {
                f"q{i}": {"query": text, "type": "Person", "type_strict": "should",
                          **({"properties": props} if with_props else {})}
                for i, (text, props) in enumerate(cells[k : k + 10])
            }  # fmt: skip
            answer = rec.reconcile(store, batch)
            for key, q in batch.items():
                result = answer[key]["result"]
                real = [c for c in result if not c["id"].startswith("note/")]
                notes += len(real) < len(result)
                candidates += len(real)
                none += not real
                if (
                    q["query"] not in several
                    and real
                    and real[0]["id"].startswith("agent/")
                    and any(c["id"].startswith("person/") for c in real)
                ):
                    agent_first += 1
                    agent_matched += bool(real[0]["match"])
                if q["query"] in several and any(c["match"] for c in result):
                    several_matched += 1
        print(f"  {'with their records country, family, year' if with_props else 'name only'}: "
              f"no candidate {none:,} ({notes:,} answered by a note to split the cell); "
              f"{candidates / len(cells):.1f} candidates a cell; a cell of one name with a name "
              f"string first while a person is proposed {agent_first:,} ({agent_matched:,} "
              f"matched); cells of several "
              f"names matched {several_matched:,}")  # fmt: skip


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def forms(row: dict[str, str]) -> dict[str, str]:
    """A person's name in each form spreadsheets hold it, by the form's name (the order is
    :func:`variant`'s: the same seed draws the same names)."""
    given, family = row["given_name"], row["family_name"]
    words = given.replace(".", ". ").split()
    initials = " ".join(w[0] + "." for w in words if w[0].isupper())  # not "de", "von"
    out = {
        "full name": f"{given} {family}",
        "initials": f"{initials} {family}",
        "accents dropped": _ascii(f"{given} {family}"),
        "surname first": f"{family}, {given}",
        "surname, initials": f"{family}, {initials}",
        "surname initials": f"{family} {initials.replace(' ', '')}",
    }
    if row["author_abbreviation"]:
        out["abbreviation"] = row["author_abbreviation"]
    return out


def form_of(row: dict[str, str], text: str) -> str:
    """The name of the first form of ``row`` that ``text`` is (``name`` when none)."""
    return next((k for k, v in forms(row).items() if v == text), "name")


def variant(row: dict[str, str], rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """A real-looking spreadsheet cell for one person, and maybe one property: a birth year
    (as ``birthYear`` or ``P569``), a death year (``P570``) or the IPNI id (``P586``); of the
    4,724 names benchmarks/openrefine.py draws, 389, 114 and 1,381. A sheet holds each in its
    own column (:data:`SHEET_COLUMNS`)."""
    text = rng.choice([f for f in forms(row).values() if f.strip(" ,.")] or [row["name"]])
    props = []
    r = rng.random()
    if row["birth_date"] and r < 0.2:  # by our name or by the Wikidata id, as OpenRefine sends it
        props = [{"pid": rng.choice(["birthYear", "P569"]), "v": row["birth_date"]}]
    elif row["death_date"] and r < 0.3:
        props = [{"pid": "P570", "v": row["death_date"]}]
    elif r < 0.4:  # the IPNI author id column of a sheet
        props = [{"pid": "P586", "v": row["ipni"]}]
    return text, props


#: the property columns of a sheet of names, and the property OpenRefine's dialog sends each
#: column as. Each property :func:`variant` gives has its own: a death year or an IPNI id in the
#: birth-year column is a wrong birth year, which caps the right person at 30 (benchmarks/
#: openrefine.py once wrote them there, and measured 88.3 % right top candidates for 95 %).
SHEET_COLUMNS = {"birth": "birthYear", "death": "P570", "ipni": "P586"}


def sheet_row(text: str, props: list[dict[str, Any]]) -> list[str]:
    """A sheet row: the name, then one cell per :data:`SHEET_COLUMNS` column, holding the value
    of the property given for that column's property (blank otherwise)."""
    given = {property_id(p["pid"]): str(p["v"]) for p in props}
    return [text, *(given.get(property_id(pid), "") for pid in SHEET_COLUMNS.values())]


def sheet_query(row: list[str]) -> dict[str, Any]:
    """The query OpenRefine 3.6 makes of a sheet row (:func:`sheet_row`): type Person, and each
    non-blank property column as its property."""
    q: dict[str, Any] = {"query": row[0], "type": "Person", "type_strict": "should"}
    cells = zip(SHEET_COLUMNS.values(), row[1:], strict=True)
    props = [{"pid": pid, "v": v} for pid, v in cells if v.strip()]
    if props:
        q["properties"] = props
    return q


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


def wikibase_match(result: list[dict[str, Any]], properties: int) -> bool:
    """openrefine-wikibase's auto-match rule on our scores: the top candidate scores more
    than 95 - 5 x the properties given, and more than 10 above the runner-up."""
    if not result:
        return False
    runner = result[1]["score"] if len(result) > 1 else 0.0
    top = result[0]["score"]
    return bool(top > 95 - 5 * properties and top > runner + 10)


def quality(
    answers: list[dict[str, Any]], batches: list[tuple[dict[str, Any], dict[str, str]]]
) -> str:
    """Right top candidate, auto-matched share, right and wrong, by our rule and by
    openrefine-wikibase's on the same scores."""
    first = total = 0
    ours = {"right": 0, "wrong": 0}
    theirs = {"right": 0, "wrong": 0}
    for answer, (batch, truth) in zip(answers, batches, strict=True):
        for key, want in truth.items():
            total += 1
            result = answer.get(key, {}).get("result", [])
            right = bool(result) and result[0]["id"] == want
            first += right
            if result and result[0]["match"]:
                ours["right" if right else "wrong"] += 1
            if wikibase_match(result, len(batch[key].get("properties", []))):
                theirs["right" if right else "wrong"] += 1

    def rule(m: dict[str, int]) -> str:
        share = (m["right"] + m["wrong"]) / total
        return (
            f"auto-matched {share:.1%} (right {m['right'] / total:.1%}, "
            f"wrong {m['wrong'] / total:.1%})"
        )

    return (
        f"top-1 {first / total:.1%} of {total} queries; our rule: {rule(ours)}; "
        f"openrefine-wikibase's rule: {rule(theirs)}"
    )


def breakdown(
    answers: list[dict[str, Any]],
    batches: list[tuple[dict[str, Any], dict[str, str]]],
    rows: list[dict[str, str]],
) -> list[str]:
    """Right top candidate and auto-matched right and wrong per form of the name
    (:func:`forms`) and per property given, one line each: where a change of the service (or
    of the queries) gained or lost."""
    person = {"person/" + r["person_id"]: r for r in rows}
    tally: dict[str, list[int]] = {}
    for answer, (batch, truth) in zip(answers, batches, strict=True):
        for key, want in truth.items():
            q = batch[key]
            result = answer.get(key, {}).get("result", [])
            pids = [property_id(p["pid"]) for p in q.get("properties", [])]
            right = bool(result) and result[0]["id"] == want
            matched = bool(result) and bool(result[0]["match"])
            for group in (f"form: {form_of(person[want], q['query'])}",
                          f"property: {', '.join(pids) or 'none'}"):  # fmt: skip
                t = tally.setdefault(group, [0, 0, 0, 0])
                t[0] += 1
                t[1] += right
                t[2] += matched and right
                t[3] += matched and not right
    return [
        f"  {group:28s} {n:5d} queries: top-1 {top / n:6.1%}, auto-matched right "
        f"{auto / n:6.1%}, wrong {wrong / n:5.1%}"
        for group, (n, top, auto, wrong) in sorted(tally.items())
    ]


def run_library(store: Any, batches: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    times, answers = [], []
    for batch, _ in batches:
        t = time.perf_counter()
        answers.append(rec.reconcile(store, batch))
        times.append(time.perf_counter() - t)
    return [times, answers]


_EVERYONE: dict[int, tuple[Any, list[Any]]] = {}


def everyone(ix: Any) -> list[Any]:
    """Every person of the index, read once and held in memory, as the service held them
    before the token index (a shared index reads each entity from its file on use)."""
    if id(ix) not in _EVERYONE or _EVERYONE[id(ix)][0] is not ix:
        _EVERYONE[id(ix)] = (ix, [e for e in ix.by_id.values() if e.type is rec.PERSON])
    return _EVERYONE[id(ix)][1]


def scan_candidates(ix: Any, text: str, props: Any) -> list[Any]:
    """The baseline's candidates: a scan of every person for a word in common with the query."""
    words = set(rec.name_words(text)) | {rec.compact(text)}
    words |= {w for a in props.abbreviations for w in rec.name_words(a)}
    wanted = {(k, w.upper()) for k, ws in props.ids.items() for w in ws}
    return [
        e
        for e in everyone(ix)
        if words & (e.family_words | e.given | e.abbr_keys) or any(
            (k, v.upper()) in wanted for k, v in e.ids.items())
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
    ap.add_argument("--no-http", dest="http", action="store_false", help="skip the HTTP run")
    ap.add_argument("--no-cells", dest="cells", action="store_false", help="skip the real cells")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="collectomics-reconcile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = read_authority(AUTHORITY)
    path = build_store(rows, workdir)
    batches = make_batches(rows, args.batches)

    store = OxigraphStore(path, read_only=True)
    t = time.perf_counter()
    ix = rec.index_for(store)
    people = sum(1 for e in ix.by_id.values() if e.type is rec.PERSON and not e.agent)
    print(f"people in the graph: {people:,}; index built in {time.perf_counter() - t:.1f} s")
    rec.reconcile(store, batches[0][0])  # warm

    lib_times, lib_answers = run_library(store, batches)
    saved = scoring.person_candidates  # where the scoring looks it up
    scoring.person_candidates = scan_candidates  # type: ignore[assignment]
    everyone(rec.index_for(store))  # read before the baseline is timed
    try:
        base_times, base_answers = run_library(store, batches[: args.baseline_batches])
    finally:
        scoring.person_candidates = saved
    store.close()
    http_times, http_answers = run_http(path, batches) if args.http else ([1.0], [])

    n = len(batches)
    print(f"\n{n} batches of 10 queries ({args.baseline_batches} for the baseline)")
    print(f"library, token index:       {stats(lib_times)}")
    if args.http:
        print(f"HTTP, collectomics serve:   {stats(http_times)}")
    print(f"baseline, scan, no index:   {stats(base_times)}")
    ratio = statistics.median(base_times) / statistics.median(lib_times)
    print(f"p50 baseline / token index: {ratio:.1f}x")
    print(f"\nquality, token index:   {quality(lib_answers, batches)}")
    print("\n".join(breakdown(lib_answers, batches, rows)))
    if args.http:
        print(f"quality, over HTTP:     {quality(http_answers, batches)}")
    print(f"quality, baseline:      {quality(base_answers, batches[: args.baseline_batches])}")
    if args.cells:
        cells_path = build_cells_store(workdir / "people.csv", workdir)
        cells_store = OxigraphStore(cells_path, read_only=True)
        t = time.perf_counter()
        rec.index_for(cells_store)
        print(f"\ncells store index built in {time.perf_counter() - t:.1f} s")
        cell_report(cells_store, archive_cells(cells_store), "real archives")
        cell_report(cells_store, bloodhound_cells(), "Bloodhound tables")
        cells_store.close()
    print(f"\nwork directory: {workdir}")


if __name__ == "__main__":
    main()
