"""The demo end to end: `collectomics demo` serves a graph that answers SPARQL over HTTP on
127.0.0.1; the demo store validates; a literal on dwciri:recordedBy fails validation by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import StoreLocation, run_cli

pytestmark = pytest.mark.slow


def _get(url: str, accept: str = "application/sparql-results+json") -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.fixture(scope="module")
def demo_server(demo_site: tuple[str, StoreLocation]) -> tuple[str, StoreLocation]:
    return demo_site


def test_demo_answers_sparql_over_http(demo_server: tuple[str, StoreLocation]) -> None:
    base, _ = demo_server
    query = "SELECT(COUNT(*)AS?n){?s?p?o}"  # the README's curl example, as written
    status, ctype, body = _get(f"{base}/sparql?query={urllib.parse.quote(query)}")
    assert status == 200 and ctype.startswith("application/sparql-results+json")
    assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 1000


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_command(demo_server: tuple[str, StoreLocation]) -> None:
    base, _ = demo_server
    url = f"{base}/sparql?query=SELECT(COUNT(*)AS?n){{?s?p?o}}"
    r = subprocess.run(["curl", "-sg", url], capture_output=True, text=True, timeout=60)
    assert int(json.loads(r.stdout)["results"]["bindings"][0]["n"]["value"]) > 1000


def test_demo_graph_links_all_five_kinds(demo_server: tuple[str, StoreLocation]) -> None:
    base, _ = demo_server
    query = """
    PREFIX col: <https://w3id.org/collectomics/ontology#>
    PREFIX dcterms: <http://purl.org/dc/terms/>
    PREFIX foaf: <http://xmlns.com/foaf/0.1/>
    PREFIX prov: <http://www.w3.org/ns/prov#>
    PREFIX schema: <http://schema.org/>
    ASK {
      ?specimen col:hasLabel ?label ; col:collectingEvent ?event .
      ?label prov:qualifiedAttribution [ prov:agent ?writer ] .
      ?writer schema:sameAs ?wikidata ; schema:birthDate ?born .
      ?page dcterms:references ?specimen .
      ?photo foaf:depicts ?specimen .
      ?person a col:DescribedPerson .
      FILTER(STRSTARTS(STR(?wikidata), "http://www.wikidata.org/entity/Q"))
    }"""
    _, _, body = _get(f"{base}/sparql?query={urllib.parse.quote(query)}")
    assert json.loads(body)["boolean"] is True


def test_canned_query_over_http(demo_server: tuple[str, StoreLocation]) -> None:
    base, _ = demo_server
    _, ctype, body = _get(f"{base}/queries/specimens-by-country?country=ES", "text/csv")
    assert ctype.startswith("text/csv")
    lines = body.decode().splitlines()
    assert lines[0] == "country,institution,specimens" and len(lines) > 2


def test_demo_store_validates(demo_server: tuple[str, StoreLocation]) -> None:
    _, store = demo_server
    r = run_cli("validate", store=store)
    assert r.returncode == 0, r.stdout + r.stderr


def test_literal_on_dwciri_fails_validation_naming_the_node(
    tmp_path: Path, store_location: StoreLocation
) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .\n"
        "@prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .\n"
        '<specimen/BAD-1> a dwc:PreservedSpecimen ; dwc:catalogNumber "BAD-1" ;\n'
        '    dwciri:recordedBy "J. Smith" .\n'
    )
    db = store_location
    assert run_cli("ingest", str(bad), store=db).returncode == 0
    r = run_cli("validate", store=db)
    assert r.returncode == 1
    assert "https://w3id.org/collectomics/specimen/BAD-1" in r.stdout
    assert "http://rs.tdwg.org/dwc/iri/recordedBy" in r.stdout
    r = run_cli("validate", "--format", "json", store=db)
    report = json.loads(r.stdout)
    assert report["conforms"] is False


@pytest.mark.embedded_only(
    "`collectomics demo` builds its graph in a directory of its own and refuses a foreign one; "
    "it does not build into a remote store (the demo_site fixture builds the demo into the "
    "server instead)"
)
def test_demo_refuses_to_overwrite_a_foreign_store(tmp_path: Path) -> None:
    precious = tmp_path / "precious.db"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    r = run_cli("demo", "--build-only", store=precious)
    assert r.returncode == 2 and "not a demo store" in r.stderr
    assert (precious / "keep.txt").read_text() == "mine"
