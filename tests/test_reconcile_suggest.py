"""The interactive parts of the reconciliation service, as OpenRefine 3.6 uses them: the suggest
box and "Search for match" (``notable`` types, ``cursor`` pages, the forms cells hold), the
flyout under the pointer, and entities found by an identifier typed as the query, in suggest
and in reconciliation queries. Checked on the demo, on the real archives that carry
``recordedByID``, and on a volunteer's store: the demo, the 54,067-person IPNI-Wikidata table
and every real archive of the corpus."""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.mapping.agentids import identifier_iri
from collectomics.services import reconcile as rec
from collectomics.store import Store
from collectomics.web import create_app
from helpers import REAL, new_store
from test_reconcile import schema_check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import suggest as bench  # noqa: E402

FORM = "application/x-www-form-urlencoded"
TYPE_IDS = {t["id"] for t in rec.TYPES}


@pytest.fixture(scope="module")
def validate() -> Any:
    return schema_check()


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    build_demo(store, Minter())
    return store


@pytest.fixture(scope="module")
def client(demo: Store) -> Any:
    return create_app(load_settings({}, environ={}), store=demo).test_client()


def _suggest(client: Any, **args: Any) -> dict[str, Any]:
    r = client.get("/reconcile/suggest/entity?" + urlencode(args))
    assert r.status_code == 200
    return dict(r.get_json())


def _query(store: Store, text: str, kind: str | None = None) -> list[dict[str, Any]]:
    q: dict[str, Any] = {"query": text, "type_strict": "should"}
    if kind:
        q["type"] = kind
    return list(rec.reconcile(store, {"q0": q})["q0"]["result"])


# -- flyouts, notable types, cursor ----------------------------------------------------------

PREFIXES = ["b", "blan", "font quer", "JBB", "bcn-19", "field note", "m", "pedrol"]


def test_every_suggest_result_has_a_flyout_and_a_type(client: Any, validate: Any) -> None:
    """The manifest declares a flyout service; for every result of every suggest, the flyout
    the suggest widget asks for (``${id}`` replaced by the URI-encoded id) answers the id and
    the escaped card, and the result carries its type as ``notable``."""
    manifest = client.get("/reconcile").get_json()
    validate("manifest.json", manifest)
    entity = manifest["suggest"]["entity"]
    assert "${id}" in entity["flyout_service_path"]
    prefix = entity["service_url"].split("/reconcile")[0]
    seen = 0
    for text in PREFIXES:
        answer = _suggest(client, prefix=text)
        validate("suggest-entities-response.json", answer)
        assert answer["result"], text
        for item in answer["result"]:
            assert item["notable"] and item["notable"][0]["id"] in TYPE_IDS, item
            url = entity["service_url"] + entity["flyout_service_path"].replace(
                "${id}", quote(item["id"], safe="")
            )
            r = client.get(url[len(prefix) :])
            assert r.status_code == 200, url
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            body = r.get_json()
            assert body["id"] == item["id"]
            assert html.escape(item["name"]) in body["html"], (item, body)
            seen += 1
    assert seen >= 30
    r = client.get("/reconcile/flyout/entity?id=" + quote("person/nobody-at-all", safe=""))
    assert r.status_code == 404 and r.get_json()["id"] == "person/nobody-at-all"
    r = client.get("/reconcile/flyout/entity?id=person/cesar-blanche&callback=cb")
    assert r.get_data(as_text=True).startswith("cb(")  # JSONP, as the widget asks by default


def test_the_widget_default_flyout_path_answers_too(client: Any) -> None:
    """A manifest kept in OpenRefine's preferences from before the flyout service names no
    ``flyout_service_path``: the widget then asks ``/search?filter=(all mid:${id})&...``."""
    path = "/reconcile/search?" + urlencode(
        {"filter": "(all mid:person/cesar-blanche)", "output": "(notable:/client/summary)"}
    )
    r = client.get(path)
    assert r.status_code == 200 and r.get_json()["id"] == "person/cesar-blanche"
    assert client.get("/reconcile/search?filter=(all mid:nope)").status_code == 404


def test_flyout_escapes_text(demo: Store) -> None:
    e = rec.index_for(demo).get("person/cesar-blanche")
    assert e is not None
    saved = e.name
    e.name = "<img src=x onerror=alert(1)>"
    try:
        card = rec.flyout(demo, "person/cesar-blanche")
    finally:
        e.name = saved
    assert card is not None and "<img" not in card["html"] and "&lt;img" in card["html"]


def test_search_for_match_keeps_the_type(client: Any) -> None:
    """OpenRefine stores the ``notable`` ids as the type of a cell matched from "Search for
    match": every result says its own type (people, specimens, institutions, documents)."""
    kinds = {}
    for text in PREFIXES:
        for item in _suggest(client, prefix=text, limit=50)["result"]:
            kinds[item["id"].split("/")[0]] = item["notable"][0]["id"]
    assert kinds["person"] == "Person" and kinds["specimen"] == "Specimen"
    assert kinds["institution"] == "Institution" and kinds["document"] == "Document"
    assert kinds.get("agent", "Person") == "Person"


@pytest.mark.parametrize("text", ["b", "m", "JBB", "bcn"])
def test_cursor_pages_through_every_result_once(client: Any, validate: Any, text: str) -> None:
    whole = _suggest(client, prefix=text, limit=50)["result"]
    assert len(whole) > 3, whole
    pages: list[dict[str, Any]] = []
    cursor: int | None = 0
    while cursor is not None:
        answer = _suggest(client, prefix=text, limit=3, cursor=cursor)
        validate("suggest-entities-response.json", answer)
        assert len(answer["result"]) <= 3
        pages.extend(answer["result"])
        cursor = answer.get("cursor")
        assert cursor is None or cursor == len(pages)
    assert [p["id"] for p in pages] == [w["id"] for w in whole]
    assert _suggest(client, prefix=text, cursor=len(whole))["result"] == []
    assert _suggest(client, prefix=text, cursor="x")["result"][:1] == whole[:1]


def test_cursor_on_properties(client: Any) -> None:
    first = client.get("/reconcile/suggest/property?prefix=year&limit=1").get_json()
    rest = client.get("/reconcile/suggest/property?prefix=year&limit=1&cursor=1").get_json()
    full = client.get("/reconcile/suggest/property?prefix=year").get_json()["result"]
    assert len(full) >= 2, full
    assert first["result"] == full[:1] and first["cursor"] == 1
    assert rest["result"] == full[1:2]


def test_a_cell_with_notes_or_several_people_suggests_each_name(client: Any) -> None:
    """When the cell as a whole finds no one, the names the ingest reads in it: notes around
    a name are dropped, several people are each offered, the first one's first."""

    def ids(text: str) -> list[str]:
        return [x["id"] for x in _suggest(client, prefix=text, limit=50)["result"]]

    assert ids("Blanché,C. s.n. [1991-06-12]")[:1] == ["person/cesar-blanche"]
    assert ids("Collector(s): J. Pedrol")[:1] == ["person/joan-pedrol"]
    both = ids("Pedrol, Joan & Molero, Julià")
    assert both[:1] == ["person/joan-pedrol"] and "person/julia-molero" in both
    assert both.index("person/joan-pedrol") < both.index("person/julia-molero")
    assert ids("?") == [] and ids("s.coll.") == []


# -- identifiers typed as the query ------------------------------------------------------------


def _top(store: Store, text: str) -> tuple[str | None, str | None]:
    """(top suggest id, top reconciliation id if matched at 100)."""
    s = rec.suggest_entities(store, text, limit=1)["result"]
    q = _query(store, text)
    won = q[0]["id"] if q and q[0]["score"] == 100 and q[0]["match"] else None
    return (s[0]["id"] if s else None), won


def test_our_iri_and_id_find_the_entity(demo: Store) -> None:
    base = "https://w3id.org/collectomics/"
    for ident in [
        "person/cesar-blanche",
        "institution/JBB",
        "document/blanche-field-notebook-1983",
    ]:
        assert _top(demo, ident) == (ident, ident), ident
        assert _top(demo, base + ident) == (ident, ident), ident
        assert _top(demo, f"<{base}{ident}>") == (ident, ident), ident
    # a name string linked to a person by a reviewed link: its IRI finds the person
    ix = rec.index_for(demo)
    linked = [a for p, agents in ix.agents_of.items() for a in agents if p in ix.by_iri]
    assert linked
    for agent in linked:
        want = ix.by_iri[ix.resolve(agent)].id
        assert _top(demo, agent) == (want, want), agent
    assert _query(demo, "person/nobody-at-all") == []


def test_person_identifiers_of_a_people_table(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """Every identifier column of the people template, and IRIs in other_ids (Harvard Index
    of Botanists, Bionomia), typed as the query in any usual form."""
    rows = [
        "person_id,name,wikidata,orcid,ipni,viaf,isni,other_ids",
        "pringle,Cyrus Guernsey Pringle,Q3009492,0000-0002-1825-0097,6894-1,74992245,"
        "0000 0001 2103 2683,"
        "http://purl.oclc.org/net/edu.harvard.huh/guid/uuid/7ddb21fc-fa2f-4575-a594-322e837faa88"
        "|https://www.biodiversitylibrary.org/creator/2433",
        "other,Someone Else,Q42,,,,,",
    ]
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    store = make_store()
    ingest_dataset(store, DatasetSpec("ids", (path,)), minter=Minter())
    forms = [
        "Q3009492", "wd:Q3009492", "http://www.wikidata.org/entity/Q3009492",
        "https://www.wikidata.org/wiki/Q3009492", "https://bionomia.net/Q3009492",
        "0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097",
        "https://bionomia.net/0000-0002-1825-0097", "6894-1", "urn:lsid:ipni.org:authors:6894-1",
        "https://www.ipni.org/a/6894-1", "http://viaf.org/viaf/74992245", "viaf:74992245",
        "https://isni.org/isni/0000000121032683",
        "http://purl.oclc.org/net/edu.harvard.huh/guid/uuid/7ddb21fc-fa2f-4575-a594-322e837faa88",
        "7DDB21FC-FA2F-4575-A594-322E837FAA88",
        "https://www.biodiversitylibrary.org/creator/2433",
    ]  # fmt: skip
    for text in forms:
        assert _top(store, text) == ("person/pringle", "person/pringle"), text
        result = _query(store, text, "Person")
        assert result[0]["features"] == [{"id": "identifier_exact", "value": 1.0}], text
        assert _query(store, text, "Specimen") == [], text  # the type asked for is kept
    assert _top(store, "Q1") == (None, None)  # an identifier no one here holds


@pytest.mark.parametrize(
    "archive",
    ["bgbm-herbarium-recordedbyid/occurrence_utf8.txt", "broke-west-fish-orcid/occurrence.csv"],
)
def test_every_recorded_by_id_of_a_real_archive_finds_its_agent(
    make_store: Callable[..., Store], archive: str
) -> None:
    """A property over the real archives that carry recordedByID / identifiedByID: every
    outside identifier a record names (Wikidata, ORCID, VIAF, Harvard PURL, Bionomia), typed
    as its IRI or as its bare id, finds the entity of its identity first, at score 100."""
    store = make_store()
    ingest_files(store, [REAL / archive], minter=Minter())
    rows = store.query(
        "SELECT DISTINCT ?a WHERE { ?s <http://rs.tdwg.org/dwc/iri/recordedBy>"
        "|<http://rs.tdwg.org/dwc/iri/identifiedBy> ?a "
        'FILTER(!STRSTARTS(STR(?a), "https://w3id.org/collectomics/")) }'
    ).table()
    ix = rec.index_for(store)
    checked = 0
    for (iri,) in rows:
        e = ix.by_iri.get(ix.resolve(iri))
        assert e is not None, iri
        known = rec.identifier(iri)
        assert known is not None, iri  # every kind a publisher writes here is recognised
        forms = [iri]
        if known[0] in ("wikidata", "orcid", "harvard"):
            forms.append(known[1])
        for text in forms:
            assert _top(store, text) == (e.id, e.id), (text, _query(store, text)[:2])
            checked += 1
    assert checked >= 5 if archive.startswith("bgbm") else checked >= 2


def test_identifier_recognition_matches_the_mapping() -> None:
    """Every IRI form the mapping writes for a publisher's identifier is recognised, with
    the value the mapping keeps."""
    for typed in ["Q5763750", "0000-0002-1825-0097", "urn:lsid:ipni.org:authors:35484-1",
                  "viaf:74992245", "https://isni.org/isni/0000000121032683",
                  "https://www.biodiversitylibrary.org/creator/2433"]:  # fmt: skip
        iri = identifier_iri(typed)
        assert iri is not None, typed
        assert rec.identifier(str(iri)) is not None, (typed, iri)
        assert rec.identifier(str(iri)) == rec.identifier(typed), typed


# -- a volunteer's store: the demo, 54,067 IPNI people, the real archives ----------------------


@pytest.fixture(scope="module")
def volunteer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """What benchmarks/suggest.py measures: the demo, the real archives of the corpus and the
    IPNI-Wikidata authority (tests/data/real/ipni-authors-wikidata)."""
    from collectomics.store import OxigraphStore

    work = tmp_path_factory.mktemp("volunteer")
    store = new_store(request, work / "store")
    bench.load(store, work)
    if not isinstance(store, OxigraphStore):  # a remote backend's store, as it is
        return store
    # read-only, as serve opens it: the index is the shared file, built once (a writable
    # handle counts every triple on each call to see whether the store changed)
    store.close()
    handle = OxigraphStore(work / "store", read_only=True)
    request.addfinalizer(handle.close)
    return handle


@pytest.fixture(scope="module")
def by_ipni(volunteer: Store) -> dict[str, list[str]]:
    """IPNI id -> the ids of the people who carry it (one walk of the index)."""
    out: dict[str, list[str]] = {}
    for e in rec.index_for(volunteer).by_iri.values():
        if e.type is rec.PERSON and e.ids.get("ipni"):
            out.setdefault(e.ids["ipni"], []).append(e.id)
    return out


def test_the_most_frequent_strings_suggest_their_entity_first(volunteer: Store) -> None:
    """A property over the real archives: each of the 200 most frequent recordedBy strings
    that names an entity exactly (name, alias or abbreviation as written) suggests it first."""
    strings = bench.frequent_strings(volunteer, 200)
    assert len(strings) == 200
    named, misses = bench.exact_first(volunteer, strings)
    assert named >= 80  # 85 measured: the others are several people in one cell
    assert misses == []
    # each single person's string suggests the entity its records name on the first page
    # (149 of 151 measured; before: 87): the misses are in docs/reconciliation.md
    one, _, not_on_page = bench.made_first(volunteer, strings)
    assert one >= 150 and len(not_on_page) <= 2, not_on_page


FORMS = [
    # (what a cell holds, IPNI id of the person suggest must put first)
    ("Chevalier, A.", "1584-1"),
    ("A. Chevalier", "1584-1"),
    ("Chevalier A.", "1584-1"),
    ("Chevalier, Auguste", "1584-1"),
    ("A.J.B. Chevalier", "1584-1"),
    ("A.Chev.", "1584-1"),
    ("L.", "12653-1"),
    ("Carl Linnaeus", "12653-1"),
    ("Linnaeus, C.", "12653-1"),
    ("DC.", "16855-1"),
    ("Hook.f.", "4084-1"),
    ("Hook.f", "4084-1"),
    ("Benth.", "15956-1"),
    ("Rchb.f.", "8254-1"),
    ("Willd.", "11692-1"),
    ("Владимир Комаров", "4948-1"),
    ("Комаров, В.", "4948-1"),
    ("Θεόδωρος Γεωργιάδης", "19260-1"),
]


@pytest.mark.parametrize(("text", "ipni"), FORMS, ids=[f[0] for f in FORMS])
def test_suggest_finds_the_forms_cells_hold(
    volunteer: Store, by_ipni: dict[str, list[str]], text: str, ipni: str
) -> None:
    """Surname first with initials, initials first, botanist abbreviations, other scripts."""
    result = rec.suggest_entities(volunteer, text, limit=5)["result"]
    [wanted] = by_ipni[ipni]
    assert result and result[0]["id"] == wanted, (text, result[:3])


def test_identifiers_of_the_authority_find_their_person(volunteer: Store) -> None:
    """A property over the IPNI-Wikidata table: every 500th person's QID and IPNI id, typed as
    the query, find that person first in suggest and at 100 (matched) in a query."""
    ix = rec.index_for(volunteer)
    people = sorted(
        (e for e in ix.by_iri.values() if e.type is rec.PERSON and e.ids.get("ipni")),
        key=lambda e: e.id,
    )
    assert len(people) > 50000
    checked = 0
    for e in people[::1000]:
        for text in [e.ids["ipni"], e.ids.get("wikidata")]:
            if text:
                assert _top(volunteer, text) == (e.id, e.id), (text, e.name)
                checked += 1
    assert checked > 80
