"""IRIs and literals that break naive result parsing (issue 17, item 2): commas, semicolons,
apostrophes, parentheses, percent-escapes, non-ASCII in IRIs; tabs, newlines, quotes, backslashes
in literals. Query results are read through pyoxigraph's serializer and a term decoder
(``QueryResult.table``), never by splitting CSV: checked against the term objects on the suite's
store, then end to end through ingest, materialise, infer, flags, network and a real
`collectomics serve` (the /views routes and /reconcile)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collectomics.model import BNode, Literal, Term
from collectomics.store import Store, tsv_row
from helpers import run_cli, start_serve

AWKWARD = (
    "https://example.org/people/Doe,Jane",
    "https://example.org/people/a;b;c",
    "https://example.org/people/O'Brien_(Jr.)",
    "https://example.org/people/Смит#a",
    "https://example.org/people/%22quoted%22%09tab",
    "https://example.org/people/x?y=1&z=2,3",
    "urn:example:people:中文,名",
)
TEXTS = (
    'Jane "JD" Doe',
    "tab\there",
    "line\nbreak\r\nand more",
    "back\\slash \\t not a tab",
    "comma, and; semicolon",
    "Ольга Панина",
    "",
    "'single' quotes",
    "emoji \U0001f33f and \u2028 separator",
)


def _plain(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, Literal):
        return term.value
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def _turtle_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid Turtle string


def _name(i: int) -> str:
    """The name of the i-th awkward person: a family name, then an awkward text."""
    return f"Awkward{i} {TEXTS[i % len(TEXTS)]}".replace("\n", " ").replace("\r", " ")


def _people_turtle() -> str:
    lines = [
        "@prefix foaf: <http://xmlns.com/foaf/0.1/> .",
        "@prefix schema: <http://schema.org/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
    ]
    for i, iri in enumerate(AWKWARD):
        name = _name(i)
        lines.append(
            f"<{iri}> a foaf:Person ; foaf:name {_turtle_string(name)} ; "
            f'schema:birthDate "1850"^^xsd:gYear ; schema:deathDate "1890"^^xsd:gYear .'
        )
    for j, text in enumerate(TEXTS):
        lines.append(
            f"<{AWKWARD[j % len(AWKWARD)]}> <http://example.org/note> "
            f"{_turtle_string(text)}@en, {_turtle_string(text)}^^<http://example.org/dt> ."
        )
    lines.append("[] <http://example.org/note> 12, 1.5, true, 1.0e3 .")
    return "\n".join(lines) + "\n"


def test_tsv_rows_decode_every_term(store: Store, tmp_path: Path) -> None:
    """For every row of every answer, ``table()`` equals the term objects' plain values."""
    path = tmp_path / "people.ttl"
    path.write_text(_people_turtle(), encoding="utf-8")
    store.add("https://example.org/graph/awkward", path, "turtle")
    for sparql in (
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
        "SELECT ?s ?missing ?o WHERE { ?s <http://example.org/note> ?o OPTIONAL { ?s <http://example.org/none> ?missing } }",
        "SELECT ?s (GROUP_CONCAT(?o; separator='\\t') AS ?all) WHERE { ?s ?p ?o } GROUP BY ?s",
    ):
        result = store.query(sparql)
        expected = [[_plain(row.get(v)) for v in result.variables] for row in result.rows()]
        got = list(store.query(sparql).table())
        assert len(got) == len(expected) > 0
        assert sorted(got) == sorted(expected)
    seen = {v for row in store.query("SELECT ?s ?o WHERE { ?s ?p ?o }").table() for v in row}
    assert set(AWKWARD) <= seen and set(TEXTS) - {""} <= seen


def test_tsv_row_is_a_correct_parser() -> None:
    """The decoder on its own: the Turtle escapes of the SPARQL TSV format, and the fast path."""
    assert tsv_row('<http://a/b,c>\t"x\\ty\\n\\"q\\" \\\\ \\u00e9\\U0001F33F"@en\t\t_:b0\t12') == [
        "http://a/b,c",
        'x\ty\n"q" \\ é\U0001f33f',
        "",
        "_:b0",
        "12",
    ]
    assert tsv_row('"a\\"b"^^<http://x/dt>') == ['a"b']
    assert tsv_row("<http://a>\t<urn:x:中,文>") == ["http://a", "urn:x:中,文"]


SPECIMEN_ROWS = [
    ["catalogNumber", "recordedBy", "recordedByID", "eventDate", "recordNumber", "identifiedBy",
     "identifiedByID", "dateIdentified"],
    ["X1", "Doe, Jane", AWKWARD[0], "1900-01-01", "1", "O'Brien, P.", AWKWARD[2], "1901"],
    ["X2", "Doe, Jane | Smith, A.", f"{AWKWARD[0]} | {AWKWARD[3]}", "1900-02-01", "2", "", "", ""],
    ["X3", 'Tab\tName "Quoted"', AWKWARD[6], "1900-03-01", "3", "", "", ""],
    ["X4", "Doe, Jane & Roe, R.", AWKWARD[5], "", "2", "", "", ""],
]  # fmt: skip


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    work = tmp_path_factory.mktemp("awkward")
    with (work / "specimens.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(SPECIMEN_ROWS)
    (work / "people.ttl").write_text(_people_turtle(), encoding="utf-8")
    yield work, work / "db"


def _ok(r: object) -> None:
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr  # type: ignore[attr-defined]


def test_the_tool_chain_end_to_end(awkward: tuple[Path, Path]) -> None:
    work, location = awkward  # on disk
    # two ingests: the second runs after the awkward IRIs are in the store
    _ok(run_cli("ingest", str(work / "specimens.csv"), "--dataset", "specimens", store=location))
    _ok(run_cli("ingest", str(work / "people.ttl"), "--dataset", "people", store=location))
    _ok(run_cli("ingest", str(work / "specimens.csv"), "--dataset", "specimens", "--replace",
                store=location))  # fmt: skip
    _ok(run_cli("materialise", store=location))
    r = run_cli("infer", store=location)
    _ok(r)
    assert "collectedAfterDeath" in r.stdout  # 1900 after a death in 1890, people reached by IRI
    out = work / "flags.csv"
    _ok(run_cli("flags", "--dataset", "specimens", str(out), store=location))
    people = {row["person"] for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert "https://example.org/people/Doe,Jane" in people
    # Jane Doe co-collected X2; the person with the awkward IRI AWKWARD[2] determined X1
    for kind, person in (("co-collector", AWKWARD[0]), ("determiner", AWKWARD[2])):
        net = work / f"{kind}.json"
        _ok(run_cli("network", "--kind", kind, str(net), store=location))
        nodes = {n["id"] for n in json.loads(net.read_text("utf-8"))["nodes"]}
        assert person in nodes, (kind, sorted(nodes))
    base, proc = start_serve(location, work)
    try:
        for iri in (i for i in AWKWARD if "://" in i):  # the views take http(s) IRIs only
            for route in ("network", "itinerary", "timeline"):
                answer = requests.get(f"{base}/views/{route}", params={"iri": iri}, timeout=60)
                assert answer.status_code == 200, (route, iri, answer.text[:300])
        ego = requests.get(
            f"{base}/views/network", params={"iri": AWKWARD[0], "depth": 2}, timeout=60
        ).json()
        assert ego["ego"] == AWKWARD[0]
        assert AWKWARD[3] in {n["id"] for n in ego["nodes"]}  # co-collected on X2
        names = {i: _name(i) for i in range(len(AWKWARD))}
        queries = {f"q{i}": {"query": name} for i, name in names.items()}
        found = requests.post(
            f"{base}/reconcile", data={"queries": json.dumps(queries)}, timeout=60
        ).json()
        for i, iri in enumerate(AWKWARD):  # each awkward person is found by its name
            assert iri in [c["id"] for c in found[f"q{i}"]["result"]], (names[i], found[f"q{i}"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
