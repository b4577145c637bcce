"""The historian views in the Flask app: dashboard (HTML and its JSON twin), a person's network,
itinerary and timeline (JSON and downloads), the front-end files, the canned count queries."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from flask.testing import FlaskClient

from collectomics.analysis.network import materialise
from collectomics.config import load_settings
from collectomics.iri import Minter
from collectomics.store import Store
from collectomics.web import create_app
from test_network import AB, P, hand_store

HTML = {"Accept": "text/html"}


@pytest.fixture()
def client(store: Store) -> FlaskClient:
    hand_store(store)
    materialise(store, Minter())
    app = create_app(load_settings({}, environ={}), store=store)
    return app.test_client()


def test_dashboard_and_its_json_twin(client: FlaskClient) -> None:
    data = client.get("/dashboard?format=json").get_json()
    assert data["source"] == "facets"
    assert data["facets"]["country"]["rows"][0] == {"value": "AA", "specimens": 6}
    collectors = data["facets"]["collector"]["rows"]
    assert collectors[0]["value"] == P and collectors[0]["label"] == "Person P"
    html = client.get("/dashboard", headers=HTML).get_data(as_text=True)
    assert 'id="facet-family"' in html
    # one click: a country's count across all collections, from one canned query
    assert "/queries/count-from-country?country=AA" in html
    answer = client.get("/queries/count-from-country?country=AA&format=json").get_json()
    assert answer["results"]["bindings"][0]["specimens"]["value"] == "6"


def test_canned_counts(client: FlaskClient) -> None:
    for facet, first in (("decade", "1920"), ("institution", "X"), ("family", "Fam")):
        rows = client.get(f"/queries/count-by-{facet}?format=json").get_json()
        assert rows["results"]["bindings"][0]["value"]["value"] == first


def test_person_views_json_and_downloads(client: FlaskClient) -> None:
    net = client.get("/views/network", query_string={"iri": AB, "depth": 2}).get_json()
    assert len(net["edges"]) == 3 and net["ego"] == AB
    gexf = client.get("/views/network", query_string={"iri": AB, "format": "gexf", "download": 1})
    assert gexf.headers["Content-Disposition"].endswith('.gexf"')
    assert gexf.get_data(as_text=True).startswith("<?xml")
    it = client.get("/views/itinerary", query_string={"iri": P}).get_json()
    assert len(it["stops"]) == 9 and len(it["flags"]) == 3
    geo = client.get("/views/itinerary", query_string={"iri": P, "format": "geojson"})
    assert geo.content_type == "application/geo+json"
    assert json.loads(geo.data)["features"][-1]["geometry"]["type"] == "LineString"
    tl = client.get("/views/timeline", query_string={"iri": P}).get_json()
    assert [e["kind"] for e in tl] == ["specimens"] * 9
    assert client.get("/views/network").status_code == 400
    assert client.get("/views/network", query_string={"iri": AB, "depth": 3}).status_code == 400


def test_person_views_say_what_is_wrong_with_the_iri(client: FlaskClient) -> None:
    """A name where an IRI is expected, or an IRI the graph does not hold: a 400 that names
    the parameter (and the IRIs bearing the name), never an empty view."""
    for view in ("network", "itinerary", "timeline"):
        r = client.get(f"/views/{view}", query_string={"iri": "https://example.org/nobody"})
        text = r.get_data(as_text=True)
        assert r.status_code == 400 and "'iri'" in text and "nowhere in the graph" in text, text
        name = client.get(f"/views/{view}", query_string={"iri": "Nobody Atall"})
        text = name.get_data(as_text=True)
        assert name.status_code == 400 and "expects an IRI, not the name" in text, text


def test_person_page_carries_the_views(client: FlaskClient) -> None:
    html = client.get("/person/p", headers=HTML).get_data(as_text=True)
    assert 'id="ego-network"' in html and 'id="itinerary-map"' in html
    assert "/assets/views/cytoscape.min.js" in html


def test_front_end_files_come_from_node_modules(client: FlaskClient) -> None:
    for name in ("cytoscape.min.js", "topojson-client.min.js", "countries-110m.json", "views.js"):
        r = client.get(f"/assets/views/{name}")
        assert r.status_code == 200, f"{name}: run `npm ci` (python3 dev.py setup)"
    world = client.get("/assets/views/countries-110m.json").get_json()
    assert world["type"] == "Topology"
    assert client.get("/assets/views/other.js").status_code == 404


def test_gexf_download_reads_back(client: FlaskClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/views/network", query_string={"iri": AB, "format": "graphml"}).data
    (tmp_path / "n.graphml").write_bytes(body)
    assert nx.read_graphml(tmp_path / "n.graphml").number_of_edges() == 3
