"""The HTTP session (retries, Retry-After, cache, offline) and the Wikidata/ORCID stand-ins."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collectomics.linking import standin
from collectomics.linking.orcid import OrcidClient, candidate_from_person
from collectomics.linking.session import HttpClient, ServiceError
from collectomics.linking.wikidata import WikidataClient, candidate_from_entity

DATA = Path(__file__).resolve().parent / "data" / "linking"


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 3), then 503 (no header), then 200; records what it saw."""

    seen: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append({"path": self.path, "ua": self.headers.get("User-Agent", "")})
        n = len(self.seen)
        status = 429 if n == 1 else 503 if n == 2 else 200
        body = json.dumps({"n": n}).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "3")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_retries_honour_retry_after_then_back_off(flaky: str, tmp_path: Path) -> None:
    slept: list[float] = []
    http = HttpClient(cache_dir=tmp_path, rate=0, backoff=0.5, sleep=slept.append)
    assert http.get_json(flaky, {"q": "x"}) == {"n": 3}
    assert slept == [3.0, 1.0]  # Retry-After: 3, then backoff 0.5 * 2**1
    assert all("Collectomics/" in s["ua"] for s in _Flaky.seen)


def test_cache_and_offline_mode(flaky: str, tmp_path: Path) -> None:
    online = HttpClient(cache_dir=tmp_path, rate=0, sleep=lambda s: None)
    assert online.get_json(flaky, {"q": "x"}) == {"n": 3}
    again = online.get_json(flaky, {"q": "x"})
    assert again == {"n": 3} and online.cache_hits == 1 and len(_Flaky.seen) == 3
    offline = HttpClient(cache_dir=tmp_path, offline=True)
    assert offline.get_json(flaky, {"q": "x"}) == {"n": 3}
    with pytest.raises(ServiceError, match="offline"):
        offline.get_json(flaky, {"q": "not cached"})
    assert len(_Flaky.seen) == 3 and offline.requests_made == 0


def test_rate_limit_waits_between_requests(flaky: str) -> None:
    slept: list[float] = []
    http = HttpClient(rate=1.0, retries=0, sleep=slept.append)
    with pytest.raises(ServiceError):
        http.get_json(flaky)  # 429, no retries left
    with pytest.raises(ServiceError):
        http.get_json(flaky)
    assert slept and 0 < slept[0] <= 1.0


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[WikidataClient, OrcidClient]]:
    wd = standin.load("wikidata", DATA)
    orcid = standin.load("orcid", DATA)
    with standin.running("wikidata", wd) as w, standin.running("orcid", orcid) as o:
        http = HttpClient(rate=0)
        yield (
            WikidataClient(http, w["wikidata_api_url"], w["wikidata_sparql_url"]),
            OrcidClient(http, o["orcid_api_url"]),
        )


def test_ipni_dates_carry_their_precision() -> None:
    assert standin.ipni_dates("1834-1920") == {"P569": [(1834, 9)], "P570": [(1920, 9)]}
    assert standin.ipni_dates("c. 1850-") == {"P569": [(1850, 8)]}
    assert standin.ipni_dates("fl. 1994") == {"P1317": [(1994, 9)]}


def test_wikidata_stand_in_speaks_the_api(services: tuple[WikidataClient, OrcidClient]) -> None:
    wikidata, _ = services
    hits = wikidata.search("Klitgaard")
    assert hits[0]["id"] == "Q18986228" and hits[0]["concepturi"].endswith("/Q18986228")
    assert hits[0]["match"]["type"] in {"label", "alias"}
    assert [h["id"] for h in wikidata.search("Klitg.")] == ["Q18986228"]  # the P428 abbreviation
    entity = wikidata.entities(["Q18986228", "Q1"])
    assert list(entity) == ["Q18986228"]  # Q1 is missing from the stand-in
    claims = entity["Q18986228"]["claims"]
    assert claims["P586"][0]["mainsnak"]["datavalue"]["value"] == "36375-1"
    assert claims["P569"][0]["mainsnak"]["datavalue"]["value"]["precision"] == 9
    c = candidate_from_entity(entity["Q18986228"])
    assert c.label == "Bente Bang Klitgaard" and c.abbreviations == ["Klitg."]
    assert c.birth is not None and c.birth.year == 1959 and c.identifiers["P586"] == {"36375-1"}


def test_wikidata_query_service(services: tuple[WikidataClient, OrcidClient]) -> None:
    wikidata, _ = services
    assert wikidata.items_with("P586", "36375-1") == ["Q18986228"]
    assert wikidata.items_with("P586", "no-such-id") == []
    # identifiers a publisher writes, resolved through their property (P586 here); an item IRI,
    # or a Bionomia page named by one, is its own item; an identifier Wikidata lacks gives none
    assert wikidata.resolve("https://www.ipni.org/a/36375-1") == ["Q18986228"]
    assert wikidata.resolve("https://bionomia.net/Q18986228") == ["Q18986228"]
    assert wikidata.resolve("http://viaf.org/viaf/1") == []
    assert wikidata.resolve("https://example.org/person/1") == []


def test_orcid_stand_in_speaks_the_api(services: tuple[WikidataClient, OrcidClient]) -> None:
    _, orcid = services
    assert orcid.search("carl+boettiger")[0] == "0000-0002-1642-628X"  # the recorded answer
    assert orcid.search("family-name:Boettiger AND given-names:Carl") == ["0000-0002-1642-628X"]
    person = orcid.person("0000-0002-1642-628X")
    assert person is not None and person["name"]["family-name"]["value"] == "Boettiger"
    assert orcid.employments("0000-0002-1642-628X") == {
        "last-modified-date": None,
        "affiliation-group": [],
        "path": "/0000-0002-1642-628X/employments",
    }
    assert orcid.person("0000-0000-0000-0000") is None  # 404
    c = candidate_from_person(person)
    assert c.iri == "https://orcid.org/0000-0002-1642-628X" and c.label == "Carl Boettiger"
    assert [x.label for x in orcid.candidates("Boettiger", "Carl")] == ["Carl Boettiger"]
