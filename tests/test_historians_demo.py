"""The demo graph, built from the templates, links every kind of thing; `infer` bounds its undated
sheet from its label writer's life and flags the sheet dated after its collector's death; the
historians' canned queries answer on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from collectomics.analysis.inference import infer
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.services.queries import get_query
from collectomics.store import Store
from helpers import new_store

BASE = "https://w3id.org/collectomics/"
PREFIXES = """PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rico: <https://www.ica.org/standards/RiC/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX schema: <http://schema.org/>
PREFIX ac: <http://rs.tdwg.org/ac/terms/>
"""
FONT_QUER = BASE + "person/pius-font-quer"
DEMO_1 = BASE + "specimen/demo-illustrative-specimens/catalog/DEMO/DEMO/DEMO-1"
DEMO_2 = BASE + "specimen/demo-illustrative-specimens/catalog/DEMO/DEMO/DEMO-2"
BCN_35752 = BASE + "specimen/gbif/1439645919"


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    reports = build_demo(store, Minter())
    assert all(r.rejected == 0 for r in reports)
    assert not [p for r in reports for p in r.problems if "demo-documents" in r.dataset]
    infer(store, Minter())
    return store


def _ask(store: Store, body: str) -> bool:
    return store.query(PREFIXES + "ASK {" + body + "}").boolean


def test_each_kind_links_to_the_others(demo: Store) -> None:
    assert _ask(
        demo,
        f"""<{BCN_35752}> col:hasLabel ?label .
        ?label prov:qualifiedAttribution ?hand . ?hand a col:HandwritingAttribution ;
            prov:agent ?writer ; col:evidence ?page .
        ?page a rico:RecordPart ; rico:isOrWasPartOf ?notebook ; dcterms:references <{BCN_35752}> .
        ?notebook rico:hasCreator ?writer .
        ?photo foaf:depicts ?page . ?photo2 foaf:depicts <{BCN_35752}>, ?label .
        ?transcription oa:hasTarget ?label ; oa:motivatedBy oa:transcribing .
        ?group foaf:member ?writer, ?guide ; schema:member/schema:roleName "guide" .
        ?guide a col:DescribedPerson . ?page dcterms:references ?guide .
        ?groupPhoto foaf:depicts ?group, ?guide .""",
    )
    # the transcription of the invented sheet sits on a region of its label's image
    assert _ask(
        demo,
        f"""<{DEMO_1}/label/1/transcription/1> oa:hasTarget ?t . ?t oa:hasSource ?img ;
        oa:hasSelector/<http://www.w3.org/1999/02/22-rdf-syntax-ns#value> "xywh=120,1480,900,420" .
        ?media ac:accessURI ?img ; foaf:depicts <{DEMO_1}/label/1> .""",
    )


def test_illustrative_nodes_are_marked_and_real_ones_are_not(demo: Store) -> None:
    unmarked = demo.query(
        PREFIXES + "SELECT DISTINCT ?s { GRAPH ?g { ?s a ?t } "
        'FILTER(CONTAINS(STR(?g), "demo-documents") || CONTAINS(STR(?g), "illustrative")) '
        "FILTER NOT EXISTS { ?s col:illustrative true } FILTER(?t != schema:Dataset) }"
    )
    assert [str(r["s"]) for r in unmarked.rows()] == []
    assert not _ask(demo, f"<{BCN_35752}> col:illustrative true")
    assert not _ask(demo, f"<{FONT_QUER}> col:illustrative true")
    assert _ask(demo, f"<{DEMO_2}> col:illustrative true")


def test_undated_sheet_bounded_by_its_label_writers_life(demo: Store) -> None:
    rows = list(demo.query(get_query("undated-specimen-bounds").text).rows())
    mine = {
        (str(r["method"]).rsplit("#")[-1], r["earliest"].value, r["latest"].value)  # type: ignore[union-attr]
        for r in rows
        if str(r["specimen"]) == DEMO_1
    }
    assert ("labelWriterLifetime", "1898-01-01", "1964-12-31") in mine
    assert ("notebookPageDate", "1935-06-01", "1935-06-30") in mine
    evidence = {str(r["evidence"]) for r in rows if str(r["specimen"]) == DEMO_1}
    assert {FONT_QUER, DEMO_1 + "/label/1/hand/pius-font-quer"} <= evidence
    # the real undated sheets are listed, without bounds
    assert any(r.get("method") is None for r in rows)


def test_label_writing_window_of_a_living_writer(demo: Store) -> None:
    # Blanché (born 1958, living): his label cannot be older than 1968 (working age 10)
    rows = list(
        demo.query(
            PREFIXES + f"SELECT ?e ?l {{ ?i col:inferredFor <{BCN_35752}/label/1> ; "
            "col:earliestDate ?e . OPTIONAL { ?i col:latestDate ?l } }"
        ).rows()
    )
    assert [(r["e"].value, r.get("l")) for r in rows] == [("1968-01-01", None)]  # type: ignore[union-attr]


def test_flag_after_death_and_person_dossier(demo: Store) -> None:
    q = get_query("flagged-records")
    rows = list(demo.query(q.text, params=q.bind({})).rows())
    assert [(str(r["specimen"]), str(r["rule"]).rsplit("#")[-1]) for r in rows] == [
        (DEMO_2, "collectedAfterDeath")
    ]
    q = get_query("person-dossier")
    rows = list(demo.query(q.text, params=q.bind({"person": FONT_QUER})).rows())
    sections = {r["section"].value for r in rows}  # type: ignore[union-attr]
    assert {
        "specimen",
        "label in their hand",
        "document they wrote",
        "outside identifier",
        "flag",
    } <= sections
    q = get_query("person-dossier")
    guide = BASE + "person/guide-ulldemolins-1983"
    rows = list(demo.query(q.text, params=q.bind({"person": guide})).rows())
    assert {"document mentioning them", "photograph of them", "group or expedition"} <= {
        r["section"].value  # type: ignore[union-attr]
        for r in rows
    }


def test_pages_mentioning_a_specimen(demo: Store) -> None:
    q = get_query("documents-mentioning-specimen")
    rows = list(demo.query(q.text, params=q.bind({})).rows())
    assert [str(r["page"]) for r in rows] == [BASE + "document/blanche-field-notebook-1983/page-3"]
    assert str(rows[0]["document"]) == BASE + "document/blanche-field-notebook-1983"
    assert rows[0]["image"] is not None


def test_inferences_and_flags_conform_and_shapes_catch_broken_ones(
    demo: Store, make_store: Callable[..., Store]
) -> None:
    from collectomics.services.validation import validate_store

    graph = BASE + "graph/inferences"
    report = validate_store(demo, graph=graph)
    assert report.conforms and not report.results, report.to_text()
    broken = make_store()
    broken.replace_graph(
        BASE + "graph/broken",
        """@base <https://w3id.org/collectomics/test/> .
        @prefix col: <https://w3id.org/collectomics/ontology#> .
        @prefix prov: <http://www.w3.org/ns/prov#> .
        <l1> col:writingMethod "carved" ; prov:qualifiedAttribution <h1> .
        <h1> a col:HandwritingAttribution ; prov:agent <p1> ;
            prov:hadRole <https://w3id.org/collectomics/role/collector> .
        <i1> a col:DateInference ; col:inferredFor <s1> .
        <f1> a col:RecordFlag ; col:method col:collectedAfterDeath .
        """,
        "turtle",
    )
    tags = {r.message.split("]")[0] + "]" for r in validate_store(broken).results}
    assert tags == {
        "[writing-method]",
        "[handwriting-role]",
        "[inference-evidence]",
        "[inference-bounds]",
        "[flag-target]",
        "[flag-body]",
    }


def test_tutorial_names_queries_that_exist() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "tutorial-historians.md").read_text()
    names = set(re.findall(r"collectomics query ([a-z][a-z0-9-]+)", text))
    assert {"person-dossier", "label-writing-window", "undated-specimen-bounds"} <= names
    for name in names:
        get_query(name)


def test_iiif_manifest_of_the_notebook_links_to_its_description(demo: Store) -> None:
    manifest = "https://example.org/collectomics-demo/iiif/font-quer-notebook-1935/manifest.json"
    notebook = BASE + "document/font-quer-notebook-1935"
    assert _ask(
        demo,
        f"""?fromManifest dcterms:source <{manifest}> ; rico:hasOrHadPart ?canvas ;
            col:illustrative true .
        <{notebook}> dcterms:source <{manifest}> .
        ?image foaf:depicts ?canvas, <{notebook}/page-12> .
        FILTER(?fromManifest != <{notebook}>)""",
    )
