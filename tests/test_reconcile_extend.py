"""Data extension as OpenRefine's "Add columns from reconciled values" dialog uses it (issue 20):
the property suggest it calls (no ``type``) finds every extension property, the proposals echo
the type asked for, each column is named exactly as its property, entity values come back as
reconciled entities (ours, or Wikidata items with the service that holds them) and dates to the
precision the graph holds. The invariants are checked over every entity of a store holding the
whole real corpus (tests/data/real), the demo and the reconciliation fixture, in batches of 10
as OpenRefine sends them, every answer against the official 0.2 schemas."""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from collectomics.analysis.network import institution_iri
from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.mapping.countries import COUNTRIES
from collectomics.services import reconcile as rec
from collectomics.services.reconcile.extend import date_value
from collectomics.services.reconcile.schema import EXTENSION, WIKIDATA_SERVICE
from collectomics.store import Store
from collectomics.web import create_app
from helpers import REAL, REAL_ARCHIVES, new_location
from test_reconcile import fixture_store, schema_check

FORM = "application/x-www-form-urlencoded"
DOCUMENTS = Path(__file__).resolve().parent / "data" / "documents"
XSD = "http://www.w3.org/2001/XMLSchema#"
TYPES = ("Person", "Specimen", "Institution", "Document")
QID = re.compile(r"^Q[1-9][0-9]*$")


@pytest.fixture(scope="module")
def validate() -> Any:
    return schema_check()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Store:
    """Every real archive of the corpus, the demo graph, the Field Museum sheets with a notebook
    that mentions them (held by an institution) and the reconciliation fixture (people with
    affiliations, specimens linked to them) in an on-disk store, opened read-only as `serve`'s
    workers hold it."""
    location = new_location(request, tmp_path_factory.mktemp("extend") / "store")
    store = location.open()
    for name in REAL_ARCHIVES:
        [report] = ingest_files(store, [REAL / name], minter=Minter())
        assert report.loaded > 0, report.summary()
    build_demo(store, Minter())
    for name, dataset in (("fieldmuseum-specimens.csv", "fm"), ("notebook.json", "nb")):
        [report] = ingest_files(store, [DOCUMENTS / name], minter=Minter(), dataset_id=dataset)
        assert report.loaded > 0, report.summary()
    fixture_store(store).close()
    handle = location.open(read_only=True)
    request.addfinalizer(handle.close)
    return handle


@pytest.fixture(scope="module")
def client(corpus: Store) -> Any:
    return create_app(load_settings({}, environ={}), store=corpus).test_client()


def _extend(client: Any, ids: list[str], pids: list[str]) -> dict[str, Any]:
    body = json.dumps({"ids": ids, "properties": [{"id": p} for p in pids]})
    r = client.post("/reconcile", data=urlencode({"extend": body}), content_type=FORM)
    assert r.status_code == 200
    answer: dict[str, Any] = r.get_json()
    return answer


def _proposed(client: Any, type_id: str) -> list[dict[str, str]]:
    props: list[dict[str, str]] = client.get(f"/reconcile/properties?type={type_id}").get_json()[
        "properties"
    ]
    return props


# -- the property suggest and the proposals ---------------------------------------------------


def _suggest(client: Any, prefix: str, **more: str) -> list[dict[str, str]]:
    # as OpenRefine 3.6's suggest widget asks: prefix, scoring=schema, and type only from
    # the reconciliation dialog
    query = urlencode({"prefix": prefix, "scoring": "schema", **more})
    r = client.get("/reconcile/suggest/property?" + query)
    assert r.status_code == 200
    found: list[dict[str, str]] = r.get_json()["result"]
    return found


def test_extension_dialog_suggest_finds_every_extension_property(
    client: Any, validate: Any
) -> None:
    """Every property proposed for any type is found by the property suggest of the
    extension dialog (no type sent) by its id and by each word of its name, and no query
    property that is not also an extension property is ever offered there."""
    proposed = {p["id"]: p["name"] for t in TYPES for p in _proposed(client, t)}
    assert len(proposed) >= 17
    query_only = set(rec.QUERY_PROPERTIES) - set(proposed)
    assert {"birthYear", "country", "collectingYear"} <= query_only
    for pid, name in proposed.items():
        for prefix in [pid, pid[:3], *name.split()]:
            found = _suggest(client, prefix, limit="50")
            validate("suggest-properties-response.json", {"result": found})
            assert pid in [p["id"] for p in found], (pid, prefix, found)
            assert not {p["id"] for p in found} & query_only, (prefix, found)
            assert all(p["name"] == proposed[p["id"]] for p in found)
    everything = _suggest(client, "", limit="50")
    assert sorted(p["id"] for p in everything) == sorted(proposed)  # each once


def test_reconciliation_dialog_suggest_offers_query_properties(client: Any) -> None:
    """OpenRefine's reconciliation dialog sends the type it reconciles against: query
    properties only, also by their Wikidata aliases; ``cursor`` pages through them."""
    for prefix, pid in [("birth", "birthYear"), ("coun", "country"), ("P569", "birthYear"),
                        ("P570", "deathYear"), ("collecting", "collectingYear")]:  # fmt: skip
        found = [p["id"] for p in _suggest(client, prefix, type="Person")]
        assert found and found[0] == pid, (prefix, found)
        assert not set(found) - set(rec.QUERY_PROPERTIES)
    every = [p["id"] for p in _suggest(client, "", type="Person", limit="50")]
    assert every == list(rec.QUERY_PROPERTIES)
    pages = [_suggest(client, "", type="Person", limit="3", cursor=str(c)) for c in (0, 3, 6)]
    assert [p["id"] for page in pages for p in page] == every[:9]


@pytest.mark.parametrize(
    "asked",
    ["Person", "person", "Q5", "https://w3id.org/collectomics/ontology#Person", "Institution",
     "Collection", "Specimen", "Document", "", "Ship"],
)  # fmt: skip
def test_proposals_echo_the_type_asked_for(client: Any, validate: Any, asked: str) -> None:
    r = client.get("/reconcile/properties?" + urlencode({"type": asked}))
    answer = r.get_json()
    validate("data-extension-property-proposal.json", answer)
    assert answer["type"] == asked
    kind = rec.schema.known_type(asked) if asked else None
    ids = [p["id"] for p in answer["properties"]]
    if asked == "Ship":
        assert ids == []
    else:
        assert ids == [p.id for p in EXTENSION.values() if kind is None or kind in p.types]


def test_one_name_per_property_across_types(corpus: Store, client: Any, validate: Any) -> None:
    """A column is named exactly as its property, whatever the type of the entities: the
    names of the proposals, of the suggest and of the answer's ``meta`` agree, and no two
    properties share a name (OpenRefine would rename the second column)."""
    names: dict[str, set[str]] = defaultdict(set)
    for t in TYPES:
        for p in _proposed(client, t):
            names[p["id"]].add(p["name"])
    assert all(len(n) == 1 for n in names.values()), names
    assert len({next(iter(n)) for n in names.values()}) == len(names)
    ids = {
        "Person": "person/joseph-dalton-hooker",
        "Specimen": _first(corpus, "Specimen"),
        "Institution": "institution/K",
        "Document": "document/blanche-field-notebook-1983",
    }
    for t, ident in ids.items():
        pids = [p["id"] for p in _proposed(client, t)]
        body = _extend(client, [ident], pids)
        validate("data-extension-response.json", body)
        assert [(m["id"], m["name"]) for m in body["meta"]] == [
            (p, next(iter(names[p]))) for p in pids
        ]


def _first(store: Store, type_id: str) -> str:
    """An entity of the type with countries (the first, by id)."""
    ix = rec.index_for(store)
    ix.others()
    return min(e.id for e in ix.by_id.values() if e.type["id"] == type_id and e.countries)


# -- the values, over the whole corpus ----------------------------------------------------------


def _graph(store: Store, sparql: str) -> list[list[str]]:
    from collectomics.analysis.network import table

    return [list(r) for r in table(store, sparql)]


def test_every_value_of_every_entity(corpus: Store, client: Any, validate: Any) -> None:
    """Extend every entity of the corpus with every property of its type, 10 ids a request as
    OpenRefine sends them. Each answer validates; each entity-valued column says its type in
    ``meta``; our entities resolve to entities of that type with that name; Wikidata items are
    QIDs named by the service in ``meta``; a specimen's countries are the items of its
    dwc:countryCode values; dates are the graph's, to its precision."""
    ix = rec.index_for(corpus)
    others = ix.others()
    entities = [*ix.by_id.values(), *others.virtual.values()]
    by_type: dict[str, list[str]] = defaultdict(list)
    for e in entities:
        by_type[e.type["id"]].append(e.id)
    assert {t: len(v) > 0 for t, v in by_type.items()} == {t: True for t in TYPES}
    codes: dict[str, set[str]] = defaultdict(set)
    for s, c in _graph(
        corpus, "SELECT ?s ?c WHERE { ?s a dwc:MaterialEntity ; dwc:countryCode ?c }"
    ):
        codes[ix.rel(s)].add(c.upper())
    dates: dict[str, list[dict[str, str]]] = defaultdict(list)
    query = "SELECT DISTINCT ?s ?d WHERE { ?s col:collectingEvent ?e . ?e dwc:eventDate ?d }"
    for s, d in sorted(_graph(corpus, query)):
        day = _day(d)  # the graph's date to its precision: a day as a date value
        dates[ix.rel(s)].append({"date": day + "T00:00:00+00:00"} if day else {"str": d.strip()})
    assert sum(map(len, dates.values())) > 100
    seen: dict[str, int] = defaultdict(int)  # property -> values checked
    for t in TYPES:
        pids = [p.id for p in EXTENSION.values() if t in p.types]
        ids = sorted(by_type[t])
        for k in range(0, len(ids), 10):
            body = _extend(client, ids[k : k + 10], pids)
            validate("data-extension-response.json", body)
            meta = {m["id"]: m for m in body["meta"]}
            assert set(body["rows"]) == set(ids[k : k + 10])
            for ident, row in body["rows"].items():
                assert list(row) == pids
                for pid, values in row.items():
                    prop = EXTENSION[pid]
                    for v in values:
                        seen[pid] += 1
                        _check_value(ix, prop, meta[pid], v)
                if t == "Specimen":
                    wanted = [
                        {"id": COUNTRIES[c][0], "name": COUNTRIES[c][1]} if c in COUNTRIES
                        else {"str": c} for c in sorted(codes.get(ident, ()))
                    ]  # fmt: skip
                    assert row["countries"] == wanted, ident
                    assert row["eventDate"] == dates.get(ident, []), ident
    # the corpus exercises every kind of value
    for pid in ("wikidata", "countries", "coCollectors", "affiliations", "institution",
                "creator", "holder", "birthDate", "date", "family", "firstYear",
                "eventDate"):  # fmt: skip
        assert seen[pid] > 0, pid


def _day(text: str) -> str | None:
    """The day of an ISO date or date-time (``1849-05-10``, ``1849-05-10T13:00Z``), or None."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(T.*)?", text.strip())
    if m is None:
        return None
    try:
        return date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        return None


def _check_value(ix: Any, prop: Any, meta: dict[str, Any], v: dict[str, Any]) -> None:
    if prop.value in ("entity", "wikidata") and "id" in v:
        assert "type" in meta, meta
        if prop.value == "wikidata":
            assert QID.match(v["id"]) and v["name"], v
            assert meta["service"] == WIKIDATA_SERVICE
        else:
            e = ix.get(v["id"])
            assert e is not None and e.id == v["id"] and e.name == v["name"], v
            assert e.type["id"] == meta["type"]["id"], (v, meta)
            assert "service" not in meta
    elif prop.value == "int":
        assert set(v) == {"int"}
    elif prop.value == "date":
        assert set(v) <= {"date", "str"}
    else:
        assert set(v) == {"str"} or (prop.value == "entity" and set(v) == {"str"}), v


def test_dates_keep_the_precision_the_graph_holds(
    tmp_path: Path, make_store: Callable[..., Store], validate: Any
) -> None:
    """A date known to the day comes back as a date; one known to the month or the year as
    its ISO text (a date value would claim a day); over every birth and death date a people
    table gives, checked against the literal and datatype the graph holds."""
    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,name,given_name,family_name,birth_date,death_date,wikidata\n"
        "pius-font-quer,Pius Font i Quer,Pius,Font i Quer,1888-03-21,1964-03-02,Q2987664\n"
        "joseph-dalton-hooker,Joseph Dalton Hooker,Joseph Dalton,Hooker,1817-06,1911,Q157501\n"
        "richard-spruce,Richard Spruce,Richard,Spruce,1817,1893-12-28,Q1387331\n",
        encoding="utf-8",
    )
    store = make_store(tmp_path / "store")
    ingest_dataset(store, DatasetSpec("dates", (people,)), minter=Minter())
    rows = _graph(
        store,
        "SELECT ?p ?k ?v (DATATYPE(?v) AS ?t) WHERE { VALUES ?k { schema:birthDate "
        "schema:deathDate } ?p ?k ?v }",
    )
    assert len(rows) == 6
    ix = rec.index_for(store)
    ids = [ix.rel(p) for p in sorted({r[0] for r in rows})]
    body = rec.extend(store, {"ids": ids, "properties": [{"id": "birthDate"}, {"id": "deathDate"}]})
    validate("data-extension-response.json", body)
    for p, k, v, t in rows:
        kind = t.rsplit("#", 1)[-1]
        wanted = {"date": f"{v}T00:00:00+00:00"} if kind == "date" else {"str": v}
        assert body["rows"][ix.rel(p)][k.rsplit("/", 1)[-1]] == [wanted], (p, k, v, t)
    assert body["rows"]["person/pius-font-quer"]["birthDate"] == [
        {"date": "1888-03-21T00:00:00+00:00"}
    ]
    assert body["rows"]["person/joseph-dalton-hooker"]["birthDate"] == [{"str": "1817-06"}]
    assert date_value("juny 1935") == {"str": "juny 1935"}
    assert date_value("1983-06-14T10:00:00", XSD + "dateTime") == {
        "date": "1983-06-14T00:00:00+00:00"
    }


def test_entities_of_the_fixture(corpus: Store, client: Any, validate: Any) -> None:
    """The values a volunteer sees: people and institutions as ours, countries and a person's
    QID as Wikidata items, with the column types in ``meta``."""
    pids = ["wikidata", "countries", "affiliations", "coCollectors", "birthDate", "firstYear"]
    body = _extend(client, ["person/joseph-dalton-hooker"], pids)
    validate("data-extension-response.json", body)
    row = body["rows"]["person/joseph-dalton-hooker"]
    assert row["wikidata"] == [{"id": "Q157501", "name": "Joseph Dalton Hooker"}]
    assert row["countries"] == [{"id": "Q668", "name": "India"}]
    assert [a["name"] for a in row["affiliations"]] == ["Royal Botanic Gardens, Kew"]
    assert row["affiliations"][0]["id"].startswith("organization/")
    assert [c["name"] for c in row["coCollectors"]] == ["T. Thomson"]
    assert row["birthDate"] == [{"str": "1817"}] and row["firstYear"] == [{"int": 1849}]
    meta = {m["id"]: m for m in body["meta"]}
    assert meta["wikidata"]["type"] == {"id": "Q5", "name": "human"}
    assert meta["countries"]["type"] == {"id": "Q6256", "name": "country"}
    assert meta["wikidata"]["service"] == meta["countries"]["service"] == WIKIDATA_SERVICE
    assert meta["affiliations"]["type"]["id"] == "Institution"
    assert meta["coCollectors"]["type"]["id"] == "Person"
    assert "type" not in meta["birthDate"] and "service" not in meta["affiliations"]
    specimen = _first(corpus, "Specimen")
    body = _extend(client, [specimen], ["institution", "family", "countries"])
    validate("data-extension-response.json", body)
    [inst] = body["rows"][specimen]["institution"]
    ix = rec.index_for(corpus)
    assert ix.get(inst["id"]) is not None
    assert inst["id"] == ix.rel(institution_iri(Minter(), inst["name"]))
    body = _extend(client, ["document/blanche-field-notebook-1983"], ["date", "creator", "holder"])
    row = body["rows"]["document/blanche-field-notebook-1983"]
    assert row["creator"] == [{"id": "person/cesar-blanche", "name": "Cèsar Blanché i Vergés"}]
    assert row["date"] and all(set(v) <= {"date", "str"} for v in row["date"])


EXTEND_GARBAGE = [
    "{not json",
    "[]",
    "null",
    json.dumps({"ids": "person/joseph-dalton-hooker", "properties": [{"id": "wikidata"}]}),
    json.dumps({"ids": [1, None, {"id": "x"}], "properties": "wikidata"}),
    json.dumps({"ids": ["person/joseph-dalton-hooker"],
                "properties": [{"id": 5}, "wikidata", {"id": "wikidata"}, {"id": "wikidata"}]}),
    json.dumps({"ids": ["../../etc/passwd", "http://example.org/x", "\ud800"],
                "properties": [{"id": "birthDate"}, {"id": "institution"}]}),
    json.dumps({"ids": ["person/joseph-dalton-hooker"] * 2000, "properties": [{"id": "countries"}]}),
    "[" * 50000,
]  # fmt: skip


@pytest.mark.parametrize("body", EXTEND_GARBAGE, ids=range(len(EXTEND_GARBAGE)))
def test_garbage_extension_requests(client: Any, validate: Any, body: str) -> None:
    """Whatever arrives as ``extend`` gets a well-formed answer, one column per property id."""
    r = client.post("/reconcile", data=urlencode({"extend": body}), content_type=FORM)
    assert r.status_code == 200
    answer = r.get_json()
    validate("data-extension-response.json", answer)
    ids = [m["id"] for m in answer["meta"]]
    assert len(ids) == len(set(ids))
    assert all(set(row) == set(ids) for row in answer["rows"].values())


@pytest.mark.parametrize(
    "query",
    ["cursor=x&limit=-1&prefix=birth", "cursor=-5&prefix=", "limit=100000&prefix=a", "type=&prefix=c",
     "prefix=" + "x" * 5000, "type=%00&prefix=birth"],
)  # fmt: skip
def test_garbage_property_suggest(client: Any, validate: Any, query: str) -> None:
    r = client.get("/reconcile/suggest/property?" + query)
    assert r.status_code == 200
    validate("suggest-properties-response.json", r.get_json())
    r = client.get("/reconcile/properties?" + query.replace("prefix", "type"))
    assert r.status_code == 200
    validate("data-extension-property-proposal.json", r.get_json())


def test_wikidata_items_handed_out_have_a_card_and_a_page(corpus: Store, client: Any) -> None:
    """OpenRefine files the Wikidata items of an extension under this service: its link on such
    a cell (``view``) and its hover card (``preview``) come here. Every item handed out for
    the corpus's people and specimens gets a card with its name and a 303 to its Wikidata page;
    a QID we never hand out stays unknown."""
    ix = rec.index_for(corpus)
    ix.others()
    handed: dict[str, str] = {}
    for t in ("Person", "Specimen", "Institution"):
        ids = sorted(e.id for e in ix.by_id.values() if e.type["id"] == t)
        pids = [p for p in ("wikidata", "countries") if t in EXTENSION[p].types]
        for k in range(0, len(ids), 50):
            body = _extend(client, ids[k : k + 50], pids)
            for row in body["rows"].values():
                for values in row.values():
                    handed.update({v["id"]: v["name"] for v in values if "id" in v})
    assert len(handed) >= 10 and {"Q668", "Q157501"} <= set(handed)
    for qid, name in handed.items():
        card = client.get("/reconcile/preview?" + urlencode({"id": qid}))
        text = card.get_data(as_text=True)
        assert card.status_code == 200 and qid in text and html.escape(name) in text, qid
        page = client.get("/reconcile/view?" + urlencode({"id": qid}))
        assert page.status_code == 303, qid
        assert page.headers["Location"] == "https://www.wikidata.org/wiki/" + qid
    assert client.get("/reconcile/preview?id=Q1").status_code == 404
    assert client.get("/reconcile/view?id=Q1").status_code == 404
