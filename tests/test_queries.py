"""Canned-query parameters the query cannot use get one clear error, over HTTP and in the CLI.

Against the demo (a real server on 127.0.0.1 and its store on disk): a country given by name,
a name where an IRI is expected, an IRI the graph does not hold, an unknown dataset, a year that
is not a year. Each error names the parameter and the value; the HTTP status is 400 and the CLI
exits 2 with one line, never a traceback or an empty answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from collectomics.config import load_settings
from collectomics.errors import ParameterError, QueryError
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.services.queries import (
    CannedQuery,
    Lookup,
    country_code,
    list_queries,
    parse_query,
)
from collectomics.store import Store
from collectomics.web import create_app
from helpers import StoreLocation, new_store, run_cli

FIX = Path(__file__).resolve().parent / "data" / "ingest"
BASE = "https://w3id.org/collectomics/"
BLANCHE = BASE + "person/cesar-blanche"  # the demo's main collector
NOBODY = BASE + "person/nobody-at-all"
ITINERARY = "person-itinerary"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

#: (query, parameters, words the error must hold): each a value the query cannot use
BAD = [
    ("count-from-country", {"country": "Monaco"}, ["'country'", "Monaco", "MC"]),
    ("specimens-by-country", {"country": "spain"}, ["'country'", "spain", "ES"]),
    ("specimens-by-country", {"country": "QX"}, ["'country'", "QX", "no specimen"]),
    (ITINERARY, {"agent": "C. Blanché", "year": "1983"}, ["'agent'", "expects an IRI", BLANCHE]),
    (ITINERARY, {"agent": "Nobody Atall", "year": "1983"}, ["'agent'", "bears that name"]),
    (ITINERARY, {"agent": NOBODY, "year": "1983"}, ["'agent'", NOBODY, "nowhere in the graph"]),
    (ITINERARY, {"agent": BLANCHE, "year": "19x3"}, ["'year'", "19x3", "four-digit year"]),
    ("flagged-records", {"dataset": "nope"}, ["'dataset'", "nope", "demo-people"]),
    ("co-collectors", {"agent": "C. Blanché"}, ["'agent'", BLANCHE]),
    ("matches-to-review", {"status": "accept"}, ["'status'", "'accept'", "proposed, accepted"]),
]


@pytest.fixture(scope="module")
def demo(demo_site: tuple[str, StoreLocation]) -> tuple[str, StoreLocation]:
    return demo_site


@pytest.mark.parametrize(("name", "params", "words"), BAD, ids=[b[0] for b in BAD])
def test_a_value_the_query_cannot_use_is_a_400_that_says_why(
    demo: tuple[str, StoreLocation], name: str, params: dict[str, str], words: list[str]
) -> None:
    base, _ = demo
    r = requests.get(f"{base}/queries/{name}", params={**params, "format": "json"}, timeout=60)
    assert r.status_code == 400, r.text
    for word in words:
        assert word in r.text, (word, r.text)


@pytest.mark.parametrize(("name", "params", "words"), BAD, ids=[b[0] for b in BAD])
def test_the_cli_refuses_the_same_values_with_exit_2(
    demo: tuple[str, StoreLocation], name: str, params: dict[str, str], words: list[str]
) -> None:
    _, location = demo
    args = [a for k, v in params.items() for a in ("--param", f"{k}={v}")]
    r = run_cli("query", name, *args, store=location)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    for word in words:
        assert word in r.stderr, (word, r.stderr)


def test_values_the_query_can_use_still_answer(demo: tuple[str, StoreLocation]) -> None:
    base, location = demo
    for name, params in (
        ("specimens-by-country", {"country": "es"}),  # a code in lower case is still the code
        (ITINERARY, {"agent": BLANCHE, "year": "1983"}),
        (ITINERARY, {"agent": f"<{BLANCHE}>", "year": "1983"}),
        ("flagged-records", {"dataset": "demo-illustrative-specimens"}),
    ):
        r = requests.get(f"{base}/queries/{name}", params={**params, "format": "json"}, timeout=60)
        assert r.status_code == 200, (name, r.text)
    rows = requests.get(
        f"{base}/queries/specimens-by-country",
        params={"country": "es", "format": "json"},
        timeout=60,
    ).json()["results"]["bindings"]
    assert rows and {row["country"]["value"] for row in rows} == {"ES"}
    done = run_cli("query", "specimens-by-country", "--param", "country=es", store=location)
    assert done.returncode == 0 and '"ES"' in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["itinerary", "C. Blanché"], ["PERSON", "expects an IRI", BLANCHE]),
        (["itinerary", NOBODY], ["PERSON", "nowhere in the graph"]),
        (["network", "-", "--person", "c. blanché"], ["--person", BLANCHE]),
        (["network", "-", "--dataset", "nope"], ["--dataset", "nope", "demo-people"]),
    ],
)
def test_commands_taking_a_person_or_a_dataset_check_it(
    demo: tuple[str, StoreLocation], args: list[str], words: list[str]
) -> None:
    _, location = demo
    r = run_cli(*args, store=location)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    for word in words:
        assert word in r.stderr, (word, r.stderr)


def test_a_name_lists_at_most_five_iris_people_first(request: pytest.FixtureRequest) -> None:
    store = new_store(request)
    lines = [f'<{BASE}agent/x/{i}> <http://xmlns.com/foaf/0.1/name> "A. Same" .' for i in range(8)]
    lines.append(f'<{BASE}person/z> <http://xmlns.com/foaf/0.1/name> "A. Same" .')
    lines.append(f"<{BASE}person/z> <{RDF_TYPE}> <http://xmlns.com/foaf/0.1/Person> .")
    store.replace_graph(BASE + "graph/x", "\n".join(lines).encode(), "ntriples")
    query = parse_query("# param: who iri\nSELECT ?who WHERE { ?who ?p ?o }", "q")
    with pytest.raises(ParameterError) as caught:
        query.bind({"who": "a. same"}, Lookup(store, Minter()))
    iris = [w.strip("<>,") for w in caught.value.message.split() if w.startswith("<")]
    assert len(iris) == 5 and iris[0] == BASE + "person/z"


def test_every_country_name_gives_its_code() -> None:
    from collectomics.mapping.countries import COUNTRIES

    for code, (_, name) in COUNTRIES.items():
        with pytest.raises(ParameterError) as caught:
            country_code(name)
        # the first exact match is the one named; names shared by two codes are not in the table
        assert f"is {code}" in str(caught.value), (code, name)
    assert country_code("my") == "MY"


def test_a_query_without_description_has_an_empty_one(tmp_path: Path, loaded: Store) -> None:
    (tmp_path / "bare.rq").write_text("# title: Bare\nSELECT * WHERE { ?s ?p ?o } LIMIT 1\n")
    query = parse_query((tmp_path / "bare.rq").read_text(), "bare")
    assert query.description == "" and isinstance(query.description, str)
    assert all(isinstance(q.description, str) for q in list_queries(str(tmp_path)))
    app = create_app(load_settings({"queries_dir": str(tmp_path)}, environ={}), store=loaded)
    client: FlaskClient = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert ">Bare</a>" in page and "[]" not in page
    listing = client.get("/queries", headers={"Accept": "application/json"}).get_json()
    assert {q["name"]: q["description"] for q in listing}["bare"] == ""


def test_every_bundled_parameter_default_binds() -> None:
    for q in list_queries():
        assert isinstance(q, CannedQuery) and isinstance(q.description, str) and q.description
        for p in q.parameters:
            if p.default is not None:
                p.bind(p.default)


@pytest.fixture(scope="module")
def loaded(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    ingest_files(store, [FIX / "specimens-mixed.csv"], minter=Minter())
    return store


def test_a_string_parameter_is_bound_not_spliced(loaded: Store) -> None:
    query = parse_query(
        "# param: code string\nSELECT ?code ?s WHERE { ?s <http://rs.tdwg.org/dwc/terms/"
        "institutionCode> ?code }",
        "q",
    )
    found = list(loaded.query(query.text, params=query.bind({"code": "BCN"})).rows())
    assert found
    hostile = 'BCN" } UNION { ?s ?p ?o } #'
    assert list(loaded.query(query.text, params=query.bind({"code": hostile})).rows()) == []


def test_a_choice_parameter_is_declared_with_its_values() -> None:
    query = parse_query("# param: kind choice(a|b) = a\nSELECT ?kind WHERE {}", "q")
    assert query.parameters[0].choices == ("a", "b")
    with pytest.raises(ParameterError, match="expects one of a, b, not 'c'"):
        query.bind({"kind": "c"})
    for bad in (
        "# param: kind choice = a",
        "# param: kind string(a|b)",
        "# param: k choice(a|b) = c",
    ):
        with pytest.raises((ParameterError, QueryError)):
            parse_query(bad + "\nSELECT ?kind ?k WHERE {}", "q")


def test_the_cli_lists_each_parameter_with_its_kind() -> None:
    r = run_cli("queries")
    assert r.returncode == 0, r.stderr
    assert "--param status=<proposed|accepted|rejected> = proposed" in r.stdout
    assert "--param country=<country> = MY" in r.stdout
    assert "--param dataset=<dataset>" in r.stdout
