"""The person and specimen pages' sections (collectomics.services.personpage, collectomics.services.specimenpage):
their numbers on the demo, with Cèsar Blanché's agents linked to him by accepted matches (the
7 "Blanché, Cèsar", 4+2 "C. Blanché" and 1 "Cèsar Blanché Vergés" records counted once each),
and properties over a real GBIF download; a section that fails shows its message, not a 500."""

from __future__ import annotations

from collections import Counter

import pytest
from flask.testing import FlaskClient

from collectomics.analysis import identity
from collectomics.analysis.inference import infer
from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.ingest.dwca import Archive, Row
from collectomics.iri import Minter
from collectomics.services.pages import workbench
from collectomics.services.personpage import (
    flags,
    rows,
    what,
    where_when,
    who,
    with_whom,
    writings,
)
from collectomics.services.sections import Section, run_sections
from collectomics.services.specimenpage import (
    agents,
    bounds,
    documents,
    event,
    is_specimen,
    label_section,
    record,
    specimen_sections,
)
from collectomics.store import Store
from collectomics.web import create_app
from helpers import REAL, new_store

B = "https://w3id.org/collectomics/"
CESAR = B + "person/cesar-blanche"
FONT_QUER = B + "person/pius-font-quer"
D = B + "agent/gbif-0009886-250127130748423/"
AGENTS = ("cesar-blanche-0ce61d1c", "c-blanche-b9b4df43", "cesar-blanche-verges-e63e61ce")
SHEET = B + "specimen/gbif/1439645919"  # BCN-35752: a label, a notebook page, a photograph
REAL_ARCHIVE = "finch-gbif-download-2015/0000154-150116162929234.zip"
GBIF = "http://rs.gbif.org/terms/1.0/"


def blanche_links() -> str:
    """Accepted matches of Blanché's three demo agents to his person node, as a reviewer
    would make them (the demo itself may ship them: then they are the same triples' kin)."""
    head = (
        "@prefix col: <https://w3id.org/collectomics/ontology#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix status: <https://w3id.org/collectomics/status/> .\n"
        "@prefix sssom: <https://w3id.org/sssom/> .\n"
    )
    return head + "\n".join(
        f"<{B}match/test-blanche-{i}> a col:IdentityMatch ; owl:annotatedSource <{D}{a}> ; "
        f"owl:annotatedTarget <{CESAR}> ; col:matchStatus status:accepted ; "
        "sssom:confidence 0.95 ."
        for i, a in enumerate(AGENTS)
    )


def load_demo(store: Store) -> Minter:
    """The demo, Blanché's links, inferences and identities, as after `collectomics demo`."""
    minter = Minter()
    build_demo(store, minter)
    store.add(minter.graph("links"), blanche_links(), "turtle")
    infer(store, minter)
    identity.materialise(store, minter)
    return minter


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> tuple[Store, Minter]:
    store = new_store(request)
    return store, load_demo(store)


def _records(store: Store, agent_names: list[str]) -> set[str]:
    """Specimens whose collector or determiner role node names one of ``agent_names``."""
    found = set()
    for r in rows(
        store,
        "SELECT DISTINCT ?s ?n WHERE { { ?s col:collectingEvent ?x } UNION "
        "{ ?s dsw:hasIdentification ?x } ?x prov:qualifiedAssociation ?r . "
        "?r col:nameAsWritten ?n }",
    ):
        if r["n"] in agent_names:
            found.add(r["s"])
    return found


def test_the_person_page_counts_every_name_once(demo: tuple[Store, Minter]) -> None:
    store, minter = demo
    names = ["Blanché, Cèsar", "C. Blanché", "Blanché, C.", "Cèsar Blanché Vergés"]
    expected = _records(store, names)
    assert len(expected) == 12  # 7 + 4 (W and JBAG "C. Blanché") + 1: no sheet twice
    # any of his names gives his page
    for iri in [CESAR] + [D + a for a in AGENTS] + ["http://www.wikidata.org/entity/Q5763750"]:
        w = who(store, minter, iri)
        assert w["iri"] == CESAR and w["kind"] == "person"
    data = what(store, minter, CESAR, size=100)
    assert data["specimens"] == 12
    assert {r["iri"] for r in data["list"]["rows"]} == expected
    roles = {r["catalog"]: r["roles"] for r in data["list"]["rows"]}
    assert roles["0025654"] == ["collector", "determiner"] and roles["BCN-35752"] == ["collector"]
    assert data["by_role"] == {"collector": 12, "determiner": 2, "label writer": 1}
    assert {f["value"]: f["specimens"] for f in data["facets"]["year"]} == {
        "1983": 6,
        "1984": 1,
        "1991": 4,
        "2012": 1,
    }
    assert data["facets"]["country"] == [{"value": "ES", "specimens": 12}]
    assert sum(f["specimens"] for f in data["facets"]["institution"]) == 12
    w = who(store, minter, CESAR)
    assert w["birth"] == {"date": "1958", "precision": "year"} and w["abbreviation"] == "C.Blanché"
    assert who(store, minter, FONT_QUER)["death"] == {"date": "1964", "precision": "year"}
    assert {v["name"]: v["uses"] for v in w["variants"]}["Blanché, Cèsar"] == 7
    wikidata = next(i for i in w["identifiers"] if i["target"].endswith("Q5763750"))
    assert {lk["via"] for lk in wikidata["links"]} == {"identity match", "people table"}
    assert {m["iri"] for m in w["members"] if m["match_status"] == "accepted"} == {
        D + a for a in AGENTS
    }


def test_the_list_sorts_and_pages_without_losing_a_row(demo: tuple[Store, Minter]) -> None:
    store, minter = demo
    for sort in ("date", "-date", "catalog", "-institution"):
        pages = [what(store, minter, CESAR, page=n, size=5, sort=sort)["list"] for n in (1, 2, 3)]
        got = [r["iri"] for p in pages for r in p["rows"]]
        assert len(got) == len(set(got)) == 12 and [p["has_next"] for p in pages] == [
            True,
            True,
            False,
        ]
    dates = [r["date"] for r in what(store, minter, CESAR, size=12, sort="-date")["list"]["rows"]]
    assert dates == sorted(dates, reverse=True)
    catalog = [
        r["catalog"] for r in what(store, minter, CESAR, size=12, sort="catalog")["list"]["rows"]
    ]
    assert catalog == sorted(catalog)


def test_where_with_whom_and_what_they_wrote(demo: tuple[Store, Minter]) -> None:
    store, minter = demo
    where = where_when(store, minter, CESAR)
    assert len(where["stops"]) == 7  # six places with coordinates, and Mura (2012) without
    assert where["placed"] == sum(1 for st in where["stops"] if st["lat"] is not None) == 6
    assert sum(s["specimens"] for s in where["stops"]) == 12  # every dated sheet, once
    assert where["timeline_counts"]["document"] >= 2  # the notebook and its pages
    assert where["timeline_counts"]["photograph"] == 1  # the excursion's photograph
    whom = with_whom(store, minter, CESAR)
    assert [(c["name"], c["specimens"], c["first_year"]) for c in whom["co_collectors"]] == [
        ("R. Ferrer", 1, "1984")
    ]
    wrote = writings(store, minter, CESAR)
    assert [(x["catalog"], x["confidence"]) for x in wrote["labels"]] == [("BCN-35752", "0.8")]
    [notebook] = wrote["notebooks"]
    assert [p["mentions"] for p in notebook["pages"]] == [5, 2]
    assert [p["relation"] for p in wrote["photographs"]] == ["shows them"]
    # Font Quer: the invented sheet after his death is flagged on his page
    from collectomics.services.personpage import flags

    assert [f["rule"] for f in flags(store, minter, FONT_QUER)["flags"]] == ["collectedAfterDeath"]


def test_the_page_lists_are_bounded_and_say_their_totals(
    demo: tuple[Store, Minter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prolific collector's itinerary had 44,148 stops (32 MB of JSON at 1,000,000 specimens):
    the page shows the first ROWS_SHOWN of each list with the totals; the views give them all."""
    import collectomics.services.personpage as pp

    store, minter = demo
    whole = where_when(store, minter, CESAR)
    monkeypatch.setattr(pp, "ROWS_SHOWN", 3)
    cut = where_when(store, minter, CESAR)
    assert len(cut["stops"]) == 3 and cut["stops_total"] == len(whole["stops"]) == 7
    assert cut["stops"] == whole["stops"][:3]
    assert len(cut["timeline"]) == 3 and cut["timeline_total"] == len(whole["timeline"])
    assert cut["placed"] == whole["placed"] == 6  # counted over every stop
    assert cut["timeline_counts"] == whole["timeline_counts"]


def test_the_specimen_page_of_a_sheet_with_label_notebook_and_photograph(
    demo: tuple[Store, Minter],
) -> None:
    store, minter = demo
    [label] = label_section(store, minter, SHEET)["labels"]
    assert (
        label["method"] == "handwritten" and "Els Segalassos" in label["transcriptions"][0]["text"]
    )
    assert [(h["person"], h["confidence"]) for h in label["hands"]] == [(CESAR, "0.8")]
    ev = event(store, minter, SHEET)
    assert (ev["date"], ev["lat"], ev["lon"], ev["locality"]) == (
        "1983-06-14",
        41.31,
        0.91,
        "Els Segalassos",
    )
    people = agents(store, minter, SHEET)["agents"]
    assert [(a["role"], a["as_written"], a["resolves_to"]) for a in people] == [
        ("collector", "Blanché, Cèsar", CESAR),
        ("labelWriter", "", CESAR),
    ]
    docs = documents(store, minter, SHEET)
    assert [d["title"] for d in docs["documents"]] == ["p. 3: Els Segalassos, 14 June 1983"]
    assert len(docs["photographs"]) == 1
    assert [i["method"] for i in bounds(store, minter, SHEET)["inferences"]] == [
        "labelWriterLifetime"
    ]
    results = run_sections(store, minter, SHEET, specimen_sections(SHEET))
    assert all(r.ok for r in results), [r.message for r in results]


def test_every_agent_of_every_demo_specimen_resolves_as_the_identity_says(
    demo: tuple[Store, Minter],
) -> None:
    """Property over the whole demo: the agents section names, for each role node, the node
    identity.compute gives for its agent."""
    store, minter = demo
    ident = identity.compute(store, minter)
    specimens = [r["s"] for r in rows(store, "SELECT ?s WHERE { ?s a dwc:MaterialEntity }")]
    assert len(specimens) == 34
    for s in specimens:
        for a in agents(store, minter, s)["agents"]:
            assert a["resolves_to"] == ident.resolve(a["agent"]), (s, a)


@pytest.fixture(scope="module")
def real(request: pytest.FixtureRequest) -> tuple[Store, Minter]:
    store = new_store(request)
    minter = Minter()
    [report] = ingest_files(store, [REAL / REAL_ARCHIVE], minter=minter)
    assert report.loaded > 0
    identity.materialise(store, minter)
    return store, minter


def test_a_prolific_real_collector_and_every_collector_count(real: tuple[Store, Minter]) -> None:
    """Over the whole real download: each collector's page counts exactly the specimens whose
    collector role node names it, and its year facet adds up to them."""
    store, minter = real
    by_agent: Counter[str] = Counter()
    for r in rows(
        store,
        "SELECT DISTINCT ?s ?c WHERE { ?s col:collectingEvent ?e . "
        "?e prov:qualifiedAssociation ?r . ?r prov:hadRole role:collector ; prov:agent ?a . "
        "?a col:resolvesTo ?c }",
    ):
        by_agent[r["c"]] += 1
    top, n = by_agent.most_common(1)[0]
    assert n >= 100, by_agent.most_common(3)  # W. C. Steere, 117 specimens
    assert who(store, minter, top)["name"] == "W.C. Steere"
    for agent, count in by_agent.items():
        data = what(store, minter, agent, size=1)
        assert data["by_role"].get("collector") == count, agent
        assert sum(f["specimens"] for f in data["facets"]["year"]) == data["specimens"]
    listed = []
    page, more = 1, True
    while more:
        chunk = what(store, minter, top, page=page, size=50, sort="catalog")["list"]
        listed += [r["iri"] for r in chunk["rows"]]
        page, more = page + 1, chunk["has_next"]
    total = what(store, minter, top, size=1)["specimens"]  # collected or identified
    assert len(listed) == len(set(listed)) == total >= n


def test_gbif_issue_flags_on_every_real_specimen_and_person_page(
    real: tuple[Store, Minter],
) -> None:
    """Over the whole real download: each specimen page lists its record's GBIF issue flags
    (as the archive's ``issue`` cell gives them, none twice) in the bounds section and not
    among the published values; each person page counts, per flag, their specimens with it."""
    store, minter = real
    flagged: dict[str, set[str]] = {}
    with Archive.open(REAL / REAL_ARCHIVE) as archive:
        for row in archive.rows(archive.core):
            if isinstance(row, Row):
                cell = row.values.get(GBIF + "issue", "")
                specimen = minter.specimen("gbif", row.values[GBIF + "gbifID"].strip())
                flagged[specimen] = {f.strip() for f in cell.split(";") if f.strip()}
    assert sum(len(f) for f in flagged.values()) > 600  # 617 flags on 443 records
    for specimen, issues in flagged.items():
        if not is_specimen(store, specimen):
            continue  # the one observation (basisOfRecord UNKNOWN) has no specimen page
        assert bounds(store, minter, specimen)["issues"] == sorted(issues), specimen
        published = record(store, minter, specimen)["published"]
        assert not [v for v in published if v["term"] == "gbif:issue"], specimen
    theirs: dict[str, set[str]] = {}
    for r in rows(
        store,
        "SELECT DISTINCT ?c ?s WHERE { ?s dwciri:recordedBy|dwciri:identifiedBy ?a . "
        "?a col:resolvesTo ?c }",
    ):
        theirs.setdefault(r["c"], set()).add(r["s"])
    assert len(theirs) > 70  # 79 agents
    for person, specimens in theirs.items():
        counts = Counter(f for s in specimens for f in flagged[s])
        expected = sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:30]
        found = [(i["issue"], i["specimens"]) for i in flags(store, minter, person)["issues"]]
        assert found == expected, person


def _broken(store: Store, minter: Minter, iri: str) -> dict[str, object]:
    from collectomics.errors import QueryError

    raise QueryError("the section ran past its budget")


def test_a_failing_section_shows_its_message_and_the_page_stands(
    demo: tuple[Store, Minter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section whose function fails (as the runner reports a section past its budget) is
    shown as 'too large to show here, see the query', with the link; the others are drawn."""
    import collectomics.services.personpage as personpage

    store, _ = demo
    original = personpage.person_sections

    def sections(iri: str, **kw: object) -> list[Section]:
        out = original(iri, **kw)  # type: ignore[arg-type]
        return [
            Section(s.name, s.title, f"{__name__}:_broken", more=s.more) if s.name == "whom" else s
            for s in out
        ]

    monkeypatch.setattr(personpage, "person_sections", sections)
    # services/pages.py binds the name at import
    monkeypatch.setattr("collectomics.services.pages.person_sections", sections)
    monkeypatch.setattr("collectomics.services.sections.resolve_function", _resolver())
    page = workbench(store, Minter(), CESAR)
    assert page is not None
    assert page.section("whom").message == "the section ran past its budget"
    assert page.section("what").ok
    client: FlaskClient = create_app(load_settings(environ={}), store=store).test_client()
    r = client.get("/person/cesar-blanche")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-section="whom" data-ok="false"' in html
    assert 'Too large to show here, see <a href="/queries/co-collectors?agent=' in html
    assert 'id="what-list"' in html


def _resolver():  # type: ignore[no-untyped-def]
    """resolve_function that also accepts this test module's broken section."""
    from collectomics.services import sections

    real = sections.resolve_function

    def resolve(spec: str):  # type: ignore[no-untyped-def]
        if spec == f"{__name__}:_broken":
            return _broken
        return real(spec)

    return resolve


def test_pages_answer_every_demo_specimen_and_person(demo: tuple[Store, Minter]) -> None:
    """Every specimen, person and agent of the demo gets a page whose every section answers."""
    store, minter = demo
    client: FlaskClient = create_app(load_settings(environ={}), store=store).test_client()
    nodes = [
        r["x"]
        for r in rows(
            store,
            "SELECT DISTINCT ?x WHERE { { ?x a dwc:MaterialEntity } UNION { ?x a foaf:Person } "
            "UNION { ?x a col:NameStringAgent } }",
        )
        if r["x"].startswith(B)
    ]
    assert len(nodes) > 50
    for x in nodes:
        page = client.get("/" + x[len(B) :] + "?format=json").get_json()
        bad = [s for s in page["sections"] if "message" in s]
        assert not bad, (x, bad)


def test_twins_and_routes_of_the_person_page(demo: tuple[Store, Minter]) -> None:
    """The RDF twin holds every node of the identity; /resolve sends a Wikidata item to its
    person; /sections answers one section, and says what is wrong with a bad parameter."""
    from urllib.parse import quote

    from rdflib import Graph, URIRef

    store, _ = demo
    client: FlaskClient = create_app(load_settings(environ={}), store=store).test_client()
    r = client.get("/person/cesar-blanche", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=r.data, format="turtle")
    subjects = {str(x) for x in graph.subjects()}
    assert {D + a for a in AGENTS} | {CESAR} <= subjects
    assert (URIRef(CESAR), None, None) in graph
    page = client.get(f"/agent/gbif-0009886-250127130748423/{AGENTS[1]}?format=json").get_json()
    assert page["resolves_to"] == CESAR and page["kind"] == "person"
    r = client.get("/resolve", query_string={"iri": "http://www.wikidata.org/entity/Q5763750"})
    assert r.status_code == 303 and r.headers["Location"] == "/person/cesar-blanche"
    assert client.get("/resolve", query_string={"iri": "not an iri"}).status_code == 400
    one = client.get(f"/sections/what?iri={quote(CESAR, safe='')}&size=3&sort=-date")
    data = one.get_json()["data"]
    assert data["specimens"] == 12 and len(data["list"]["rows"]) == 3
    bad = client.get(f"/sections/what?iri={quote(CESAR, safe='')}&sort=sideways")
    assert bad.status_code == 400 and "sort" in bad.get_data(as_text=True)
    assert client.get("/sections/nothing?iri=x").status_code == 404
    assert client.get("/sections/who").status_code == 400


def test_awkward_iris_get_every_section(request: pytest.FixtureRequest) -> None:
    """People named by the IRIs that break naive parsing (commas, quotes, non-ASCII, a query
    string, a URN) get every section of their page, with their own specimens counted."""
    from test_awkward_iris import AWKWARD

    store = new_store(request)
    minter = Minter()
    lines = [
        "@prefix dwciri: <http://rs.tdwg.org/dwc/iri/> . @prefix dwc: <http://rs.tdwg.org/dwc/terms/> ."
    ]
    for i, iri in enumerate(AWKWARD):
        other = AWKWARD[(i + 1) % len(AWKWARD)]
        lines.append(
            f"<{B}specimen/awk/{i}> a dwc:MaterialEntity ; dwc:year {1900 + i} ; "
            f"dwciri:recordedBy <{iri}>, <{other}> ."
        )
        lines.append(
            f'<{iri}> a <http://xmlns.com/foaf/0.1/Person> ; <http://xmlns.com/foaf/0.1/name> "P{i}" .'
        )
    store.add(B + "graph/awk", "\n".join(lines), "turtle")
    identity.materialise(store, minter)
    from collectomics.services.personpage import person_sections

    for i, iri in enumerate(AWKWARD):
        results = run_sections(store, minter, iri, person_sections(iri))
        assert all(r.ok for r in results), (iri, [r.message for r in results if not r.ok])
        data = {r.name: r.data for r in results}
        assert data["what"]["specimens"] == 2, iri  # its own sheet and its neighbour's
        assert {c["iri"] for c in data["whom"]["co_collectors"]} == {
            AWKWARD[(i + 1) % len(AWKWARD)],
            AWKWARD[(i - 1) % len(AWKWARD)],
        }
