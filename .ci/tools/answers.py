"""Record the library's answers to users' questions on every real archive (issue 23).

    .venv/bin/python .ci/tools/answers.py            # re-record tests/data/answers/*.json.gz
    .venv/bin/python .ci/tools/answers.py --only NAME --out /tmp/x   # one archive, elsewhere

For each Darwin Core archive of ``tests/data/real/archives.txt``: ingest it into a fresh
on-disk store with the library, run ``infer``, then ask the questions users ask, through the
library's own functions (never by reading triples): the specimen page's sections, the person
page's sections, ``stats``, every canned query, the co-collector, determiner and institution
networks with their metrics (connected components in place of Louvain's communities, which
depend on the order the edges are read in), ``infer``'s report and flags, ``validate``, the DwC-DP export's
rows, the SSSOM export and a reconciliation batch of agent names. The answers are normalised
(lists without a meaningful order sorted, timings, paths, run stamps and triple counts left
out) so that two graphs of different shapes that answer alike record alike.

The questions (which specimens, people, names and query parameters) are chosen once, when
recording, and stored beside the answers: ``tests/test_answers.py`` asks the same questions
of the tree under test and requires the same answers. Re-record only for a deliberate change
of an answer, and say which and why in the commit.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx

from collectomics.analysis.inference import check_flags, infer
from collectomics.analysis.network import KINDS, build_network
from collectomics.analysis.stats import dataset_records, graph_stats
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.linking.export import all_matches, write_sssom
from collectomics.services.dwcdp_export import export_package
from collectomics.services.materialise import materialise
from collectomics.services.personpage import canonical, person_sections
from collectomics.services.queries import list_queries
from collectomics.services.reconcile import reconcile
from collectomics.services.sections import run_section
from collectomics.services.specimenpage import specimen_sections
from collectomics.services.validation import validate_store
from collectomics.store import OxigraphStore, Store

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "real"
ANSWERS = ROOT / "tests" / "data" / "answers"
#: the Darwin Core data of the corpus, in loading order
ARCHIVES = tuple(
    line.strip()
    for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
#: most specimens, people and reconciliation names asked about per archive (every k-th by IRI)
SPECIMENS = 100
PEOPLE = 16
NAMES = 10
#: keys whose values change from run to run, or count triples: never recorded
_UNSTABLE = frozenset({"seconds", "ran_at", "triples", "generated_at", "created", "version"})


# ------------------------------------------------------------------ normalising


def normal(value: Any) -> Any:
    """``value`` as plain JSON: unstable keys dropped, floats rounded, and every list of
    objects or strings sorted (no list the library returns orders by meaning that a shape
    change could alter without changing the answer; its members are compared in full)."""
    if isinstance(value, dict):
        return {str(k): normal(v) for k, v in sorted(value.items()) if k not in _UNSTABLE}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [normal(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def every_kth(items: list[str], most: int) -> list[str]:
    """A deterministic sample: every k-th of the sorted ``items``, at most ``most`` of them."""
    items = sorted(set(items))
    step = max(1, math.ceil(len(items) / most))
    return items[::step]


# ------------------------------------------------------------------ choosing the questions


def _column(store: Store, sparql: str) -> list[str]:
    return [str(getattr(t, "value", t)) for row in store.query(sparql).rows() for t in row.values()]


def choose(store: Store, minter: Minter, dataset: str) -> dict[str, Any]:
    """The questions to ask of this archive's graph: which specimens, people, names and
    query parameters. Chosen once, when recording; the test asks the same ones."""
    specimens = every_kth(
        _column(store, "SELECT ?s WHERE { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> }"),
        SPECIMENS,
    )
    agents = _column(store, "SELECT DISTINCT ?a WHERE { ?n <http://www.w3.org/ns/prov#agent> ?a }")
    people = every_kth([canonical(store, a) for a in agents], PEOPLE)
    names: list[str] = []
    countries: Counter[str] = Counter()
    years: Counter[str] = Counter()
    for s in specimens:
        data = run_section(store, minter, s, specimen_sections(s)[3]).data or {}
        names += [a["as_written"] for a in data.get("agents", []) if a.get("as_written")]
        ev = run_section(store, minter, s, specimen_sections(s)[2]).data or {}
        if ev.get("country"):
            countries[ev["country"]] += 1
        if (ev.get("earliest") or "")[:4].isdigit():
            years[ev["earliest"][:4]] += 1
    params: dict[str, dict[str, str]] = {}
    for q in list_queries():
        values: dict[str, str] = {}
        for p in q.parameters:
            if p.type == "iri" and p.name == "specimen" and specimens:
                values[p.name] = specimens[0]
            elif p.type == "iri" and people:
                values[p.name] = people[0]
            elif p.type == "dataset":
                values[p.name] = dataset
            elif p.type == "country" and countries:
                values[p.name] = countries.most_common(1)[0][0]
            elif p.type == "year":
                values[p.name] = years.most_common(1)[0][0] if years else "1900"
            elif p.default is None:
                values[p.name] = minter.base  # an IRI that names nothing: an empty answer
        params[q.name] = values
    return {
        "specimens": specimens,
        "people": people,
        "names": every_kth(names, NAMES),
        "queries": params,
    }


# ------------------------------------------------------------------ asking them


def _sections(store: Store, minter: Minter, iri: str, sections: list[Any]) -> dict[str, Any]:
    out = {}
    for section in sections:
        result = run_section(store, minter, iri, section)
        out[section.name] = result.data if result.ok else {"message": result.message}
    return out


def _canned(store: Store, name: str, values: dict[str, str]) -> Any:
    from collectomics.services.queries import get_query

    canned = get_query(name)
    result = store.query(canned.text, params=canned.bind(values))
    return [{k: str(getattr(v, "value", v)) for k, v in row.items()} for row in result.rows()]


def _network(store: Store, minter: Minter, kind: str) -> dict[str, Any]:
    net = build_network(store, minter, kind)
    out = net.to_dict()
    # Louvain's communities depend on the order the edges were read in (3 of the corpus's 30
    # networks split otherwise when the same edges come in another order), which a change of
    # the graph's shape may alter: the connected components, which contain them, stand in
    for node in out["nodes"]:
        node.pop("community", None)
    out["components"] = [sorted(c) for c in nx.connected_components(net.graph)]
    return out


def _dwcdp(store: Store, minter: Minter, dataset: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "dp"
        result = export_package(store, dataset, folder, minter=minter)
        tables: dict[str, Any] = {}
        for path in sorted(folder.glob("*.csv")):
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                found = list(reader)
            key = (reader.fieldnames or [""])[0]  # a table's first column is its row's id
            ids = [row.get(key, "") for row in found]
            unique = len(set(ids)) == len(ids) and all(ids)
            tables[path.stem] = {row[key]: row for row in found} if unique else found
        descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    descriptor.pop("created", None)
    problems = [p.replace(str(folder), "<folder>") for p in result.problems]
    return {
        "rows": result.rows,
        "problems": problems,
        "refused": result.refused,
        "tables": tables,
        "descriptor": descriptor,
    }


def _sssom(store: Store, minter: Minter) -> list[dict[str, str]]:
    out = io.StringIO()
    write_sssom(all_matches(store, minter), minter, out)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def ask(
    store: Store, minter: Minter, dataset: str, graph: str, questions: dict[str, Any]
) -> dict[str, Any]:
    """The library's answers to ``questions`` about the archive loaded as ``dataset``
    (graph ``graph``), after ``infer``, normalised (:func:`normal`): first those read from the
    data, then, after ``materialise``, the networks again and the canned queries (several
    count from the facets graph)."""
    inferred = infer(store, minter)
    report = {
        "undated": inferred.undated,
        "inferences": inferred.inferences,
        "flags": inferred.flags,
    }
    validation = validate_store(store, graph=graph)
    counts = graph_stats(store, minter).to_dict()
    del counts["triples"]
    batch = {
        f"q{i}": {"query": n, "type_strict": "should"} for i, n in enumerate(questions["names"])
    }
    answers: dict[str, Any] = {
        "specimens": {
            s: _sections(store, minter, s, specimen_sections(s)) for s in questions["specimens"]
        },
        "people": {p: _sections(store, minter, p, person_sections(p)) for p in questions["people"]},
        "networks": {kind: _network(store, minter, kind) for kind in KINDS},
        "stats": {**counts, "records": dataset_records(store, minter)},
        "infer": {**report, "check_flags": check_flags(store, minter, dataset)},
        "validate": {
            "conforms": validation.conforms,
            "results": [r.to_dict() for r in validation.results],
            "fallback": validation.fallback,
        },
        "dwcdp": _dwcdp(store, minter, dataset),
        "sssom": _sssom(store, minter),
        "reconcile": {
            questions["names"][int(k[1:])]: v
            for k, v in reconcile(store, json.dumps(batch), minter.base).items()
        },
    }
    # then what reads the facets graph (`collectomics materialise`, run after every load)
    made = materialise(store, minter)
    answers["materialised"] = {
        "edges": made.edges,
        "facets": made.facets,
        "itineraries": made.itineraries,
        "summaries": made.summaries,
        "networks": {kind: _network(store, minter, kind) for kind in KINDS},
    }
    answers["queries"] = {
        name: _canned(store, name, values) for name, values in questions["queries"].items()
    }
    return normal(answers)  # type: ignore[no-any-return]


def record_one(name: str, questions: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest the archive ``name`` (under tests/data/real) into a fresh on-disk store and
    return ``{"archive", "questions", "answers"}``; the questions are chosen unless given."""
    minter = Minter()
    with tempfile.TemporaryDirectory() as tmp:
        store = OxigraphStore(Path(tmp) / "store")
        try:
            [report] = ingest_files(store, [REAL / name], minter=minter)
            if questions is None:
                questions = choose(store, minter, report.dataset)
            answers = ask(store, minter, report.dataset, report.graph, questions)
        finally:
            store.close()
    return {"archive": name, "questions": questions, "answers": answers}


def file_for(name: str, folder: Path = ANSWERS) -> Path:
    """Where the answers of archive ``name`` are kept."""
    return folder / (name.replace("/", "__") + ".json.gz")


def load(path: Path) -> dict[str, Any]:
    """A recorded answers file."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def save(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as gzipped JSON, byte for byte the same for the same data."""
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="an archive of archives.txt (repeatable)")
    parser.add_argument("--out", type=Path, default=ANSWERS, help="the folder to write to")
    args = parser.parse_args(argv)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    for name in args.only or ARCHIVES:
        data = record_one(name)
        path = file_for(name, args.out)
        save(data, path)
        print(f"{name}: {path.stat().st_size:,} bytes (tree at {head[:12]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
