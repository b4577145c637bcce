"""Suggest ("Search for match" and the suggest box in OpenRefine) on the strings cells hold.

    .venv/bin/python benchmarks/suggest.py                    # builds the store (~45 s)
    .venv/bin/python benchmarks/suggest.py --workdir /tmp/sg  # keep (and reuse) the store

The store is what a volunteer reconciles against: the demo, the 54,067-person IPNI-Wikidata
authority (``tests/data/real/ipni-authors-wikidata``, as ``benchmarks/reconcile.py`` loads it)
and every real archive of the corpus (``tests/data/real/archives.txt``: GBIF downloads and
publishers' archives; one the demo holds already is not loaded twice). The queries are the most frequent ``recordedBy`` strings of those
archives, exactly as written. Printed: of the 200 most frequent, how many name an entity
exactly (its name or an alias is the string), how many of those suggest that entity first,
and milliseconds per suggest (p50, p99), with a baseline measured in the same run: the same
prefixes answered by the reconciliation query (``reconcile_one``, the service's other path to
a name), as the ratio suggest/reconcile.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.model import Literal
from collectomics.services import reconcile as rec
from collectomics.store import OxigraphStore, Store

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reconcile import AUTHORITY, PEOPLE_COLUMNS, read_authority  # noqa: E402

_STRINGS = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?v (COUNT(?e) AS ?n) WHERE { ?e dwc:recordedBy ?v } GROUP BY ?v"""
_AGENTS = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX col: <https://w3id.org/collectomics/ontology#>
SELECT DISTINCT ?v ?a WHERE { ?e dwc:recordedBy ?v . ?s col:collectingEvent ?e ; dwciri:recordedBy ?a }"""


_NAMED = """PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX col: <https://w3id.org/collectomics/ontology#>
SELECT DISTINCT ?n ?k ?v WHERE {
  VALUES ?k { foaf:name skos:altLabel col:authorAbbreviation } ?n ?k ?v }"""


def archives() -> list[Path]:
    """The real archives of the corpus, in the order archives.txt lists them."""
    lines = (REAL / "archives.txt").read_text(encoding="utf-8").splitlines()
    return [REAL / line.strip() for line in lines if line.strip() and not line.startswith("#")]


def load(store: Store, workdir: Path) -> None:
    """The demo, the real archives and the IPNI-Wikidata authority, into ``store`` (the
    authority last: each load refreshes the identities, 25 s each with 54,000 people)."""
    minter = Minter()
    build_demo(store, minter)
    for path in archives():
        try:
            ingest_files(store, [path], minter=minter)
        except InputError:  # the demo holds that download already
            continue
    people = workdir / "ipni-people.csv"
    with people.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, PEOPLE_COLUMNS)
        w.writeheader()
        w.writerows(read_authority(AUTHORITY))
    spec = DatasetSpec("ipni-authors", (people,), "IPNI authors with Wikidata QIDs", None, None)
    ingest_dataset(store, spec, minter=minter, replace=True)


def frequent_strings(store: Store, n: int = 200) -> list[str]:
    """The ``n`` most frequent ``recordedBy`` strings as written (ties in string order)."""
    rows = [(v, int(c)) for v, c in store.query(_STRINGS).table()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return [v for v, _ in rows[:n]]


def exactly_named(store: Store, text: str) -> set[str]:
    """Ids of the people and agents whose name, an alias or an abbreviation is ``text`` exactly,
    as the index reads them: a node's ``foaf:name`` names its identity's entity (its name, or an
    alias when the node is another of the identity's), ``skos:altLabel`` and
    ``col:authorAbbreviation`` the entity that bears them. One lookup in the store, not a walk
    of every entity (the same sets as that walk on 5,000 sampled names of the volunteer's
    store)."""
    ix = rec.index_for(store)
    found = set()
    for node, k, _ in store.query(_NAMED, params={"v": Literal(text)}).table():
        e = ix.by_iri.get(ix.resolve(node) if k.endswith("/name") else node)
        if e is not None:
            found.add(e.id)
    return found


def made_from(store: Store, text: str) -> set[str]:
    """Ids of the entities the records that give ``text`` as ``recordedBy`` name (their
    agents, or the people those are linked to)."""
    ix = rec.index_for(store)
    found = set()
    for _, agent in store.query(_AGENTS, params={"v": Literal(text)}).table():
        e = ix.by_iri.get(ix.resolve(agent))
        if e is not None:
            found.add(e.id)
    return found


def made_first(
    store: Store, strings: list[str], page: int = 10
) -> tuple[int, list[str], list[str]]:
    """Of the strings whose records name one entity: how many, those that do not suggest it
    first, and those that do not suggest it on the first page."""
    one, not_first, not_on_page = 0, [], []
    for text in strings:
        made = made_from(store, text)
        if len(made) != 1:
            continue
        one += 1
        ids = [r["id"] for r in rec.suggest_entities(store, text, limit=page)["result"]]
        if ids[:1] != list(made):
            not_first.append(text)
        if not made & set(ids):
            not_on_page.append(text)
    return one, not_first, not_on_page


def exact_first(store: Store, strings: list[str]) -> tuple[int, list[str]]:
    """How many strings name an entity exactly, and those whose top suggestion is not one."""
    named, misses = 0, []
    for text in strings:
        wanted = exactly_named(store, text)
        if not wanted:
            continue
        named += 1
        top = rec.suggest_entities(store, text, limit=1)["result"]
        if not top or top[0]["id"] not in wanted:
            misses.append(text)
    return named, misses


def _ms(times: list[float]) -> str:
    times = sorted(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return f"p50 {1000 * statistics.median(times):.2f} ms, p99 {1000 * p99:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, help="where to build the store (reused if there)")
    ap.add_argument("--strings", type=int, default=200)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="suggest-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "store"
    if not path.exists():
        t = time.perf_counter()
        with OxigraphStore(path) as store:
            load(store, workdir)
        print(f"store built in {time.perf_counter() - t:.1f} s")
    store = OxigraphStore(path, read_only=True)
    t = time.perf_counter()
    rec.index_for(store)
    print(f"index: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    rec.suggest_entities(store, "a")
    print(f"first suggest (its sorted words): {time.perf_counter() - t:.1f} s")
    strings = frequent_strings(store, args.strings)
    named, misses = exact_first(store, strings)
    print(
        f"{len(strings)} most frequent recordedBy strings: {named} name an entity exactly; "
        f"{named - len(misses)} suggest it first, {len(misses)} do not"
    )
    for text in misses:
        print(f"  miss: {text!r} -> {rec.suggest_entities(store, text, limit=1)['result'][:1]}")
    one, not_first, not_on_page = made_first(store, strings)
    print(
        f"{one} name one entity on their records: {one - len(not_first)} suggest it first, "
        f"{one - len(not_on_page)} on the first page of 10"
    )
    for text in not_first:
        top = rec.suggest_entities(store, text, limit=1)["result"][:1]
        print(f"  not first: {text!r} ({sorted(made_from(store, text))}) -> {top}")
    suggest_t: list[float] = []
    query_t: list[float] = []
    ix = rec.index_for(store)
    for text in strings:
        t = time.perf_counter()
        rec.suggest_entities(store, text)
        suggest_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        q: dict[str, Any] = {"query": text, "type": "Person"}
        rec.reconcile_one(ix, q)
        query_t.append(time.perf_counter() - t)
    print(f"suggest: {_ms(suggest_t)}; reconciliation query (baseline): {_ms(query_t)}")
    print(f"suggest / reconciliation query, median: "
          f"{statistics.median(suggest_t) / statistics.median(query_t):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
