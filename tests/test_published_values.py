"""Nothing a publisher wrote is dropped (issue 16): every non-empty cell of every data file of
every real archive (and of the quirk archives) is answerable by SPARQL from the stored graph.

"Answerable" means: some record node of the graph (a specimen, an event or taxon row, a medium)
reaches a term whose string is the cell's value, on itself, on a node minted under its IRI (its
event, location, identification, verbatim record, labels, extension rows) or one hop away (its
agents, its source dataset). The graph is read back through SPARQL from a real on-disk store.
Documented rewrites are the only exceptions: GBIF's ``issue`` cell is checked flag by flag, a
number may be found by its value (``0.0`` is stored as ``0``), a licence code may stand as its
licence IRI, and a ``gbifID`` N as the specimen's gbif.org page
``https://www.gbif.org/occurrence/N`` (its ``rdfs:seeAlso``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from collectomics.ingest import ingest_files
from collectomics.ingest.dwca import Archive, Row
from collectomics.iri import Minter
from collectomics.mapping.specimens import _LICENCES
from collectomics.mapping.verbatim import GBIF_RECORD_PAGE
from collectomics.store import Store

DATA = Path(__file__).resolve().parent / "data"
ARCHIVES = [
    "real/rgbif-gbif-downloads/0000066-140928181241064.zip",
    "real/rgbif-gbif-downloads/0009886-250127130748423.zip",
    "real/finch-gbif-download-2015/0000154-150116162929234.zip",
    "real/pydwca-gbif-results/gbif-results.zip",
    "real/dwca-io-fixtures/archive-occ.zip",
    "real/dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip",
    "real/dwca-io-fixtures/Borza.txt",
    "real/dwca-io-fixtures/csv_optional_quotes_puma.csv",
    *sorted(
        f"dwca/{p.name}"
        for p in (DATA / "dwca").iterdir()
        if (p / "meta.xml").exists() and p.name not in {"broken-meta-xml", "missing-data-file"}
    ),  # the two left out are refused whole, with their reason (test_dwca)
    "dwca/meta-in-subfolder/export-2024",
    "dwca/semicolon-csv-no-meta/specimens.csv",
    "dwca/utf16-excel-export/specimens.txt",
]
_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RECORD_TYPES = {
    "http://rs.tdwg.org/dwc/terms/MaterialEntity",
    "http://rs.tdwg.org/dwc/terms/Occurrence",
    "http://rs.tdwg.org/dwc/terms/Event",
    "http://rs.tdwg.org/dwc/terms/Taxon",
}
_DEPICTS = "http://xmlns.com/foaf/0.1/depicts"
#: What the mapping writes of its own, never a publisher's value: a role's order ("1", "2"
#: would answer any cell holding a small number). The loaded dataset's own node is not a hop
#: either (its title and rights would answer any cell that repeats them); a GBIF source
#: dataset is (it holds the record's datasetKey).
_STRUCTURE = {"https://w3id.org/collectomics/ontology#order"}
_ISSUE = "http://rs.gbif.org/terms/1.0/issue"
_LICENSE = "http://purl.org/dc/terms/license"
_GBIF_ID = "http://rs.gbif.org/terms/1.0/gbifID"
GBIF_LABEL = "http://rs.gbif.org/terms/1.0/verbatimLabel"  # as Plazi declares it
DWC_INSTITUTION_ID = "http://rs.tdwg.org/dwc/terms/institutionID"


def _graph(store: Store, graph: str) -> dict[str, list[tuple[str, str]]]:
    """subject -> (predicate, object as a string), read back with SPARQL."""
    triples: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").rows():
        if str(row["p"]) in _STRUCTURE:
            continue
        o = row["o"]
        value = getattr(o, "value", str(o))
        triples[str(row["s"])].append((str(row["p"]), value))
        if getattr(o, "datatype", "").endswith(("#decimal", "#integer")):
            triples[str(row["s"])].append(("", _number(value)))
    return triples


def _number(value: str) -> str:
    """A key for a number's value: Oxigraph writes xsd:decimal canonically (0.0 as 0)."""
    try:
        return f"number:{Decimal(value).normalize()}"
    except InvalidOperation:
        return ""


def _reach(triples: dict[str, list[tuple[str, str]]], own: str) -> dict[str, set[str]]:
    """value -> the record nodes that reach it (see the module's docstring)."""
    subjects = sorted(triples)
    records = {
        s for s, po in triples.items() if any(p == _TYPE and o in _RECORD_TYPES for p, o in po)
    }
    media = {s: o for s, po in triples.items() for p, o in po if p == _DEPICTS}
    index: dict[str, set[str]] = defaultdict(set)
    for node in records | set(media):
        start = bisect.bisect_left(subjects, node + "/")
        near = [node]
        for s in subjects[start:]:
            if not s.startswith(node + "/"):
                break
            near.append(s)
        near += [m for m, depicted in media.items() if depicted == node]
        near += [  # one hop: agents, identifiers, sources; not the dataset itself (``own``)
            o for _, o in triples.get(node, []) if o in triples and o != own
        ]
        for s in near:
            for _, o in triples.get(s, []):
                index[o].add(node)
    return index


def _cells(row: Row) -> list[tuple[str, str]]:
    """(term, value) of each non-empty cell, GBIF's issue cell as one pair per flag."""
    cells = []
    for term, value in row.values.items():
        value = value.strip()
        if not value:
            continue
        if term == _ISSUE:
            cells += [(term, flag.strip()) for flag in value.split(";") if flag.strip()]
        else:
            cells.append((term, value))
    return cells


def _answers(index: dict[str, set[str]]) -> Callable[[str, str], set[str]]:
    def nodes(term: str, value: str) -> set[str]:
        found = index.get(value, set())
        if term == _LICENSE and value.lower() in _LICENCES:
            found = found | index.get(_LICENCES[value.lower()], set())
        if value[-1:].isdigit() and _number(value):  # 0.0 stored as 0
            found = found | index.get(_number(value), set())
        if term == _GBIF_ID:  # the specimen's rdfs:seeAlso <https://www.gbif.org/occurrence/N>
            found = found | index.get(GBIF_RECORD_PAGE + value, set())
        return found

    return nodes


@pytest.mark.parametrize("name", ARCHIVES)
def test_every_published_value_is_answerable(
    name: str, make_store: Callable[..., Store], tmp_path: Path, minter: Minter
) -> None:
    path = DATA / name
    store = make_store(tmp_path / "store")
    [report] = ingest_files(store, [path], minter=minter)
    own = minter.dataset(report.dataset)
    nodes = _answers(_reach(_graph(store, report.graph), own))
    missing: list[str] = []
    cells = 0
    with Archive.open(path) as archive:
        for spec in [archive.core, *archive.extensions]:
            for row in archive.rows(spec):
                if not isinstance(row, Row):
                    continue  # a malformed row is rejected with its reason (test_dwca)
                pairs = _cells(row)
                cells += len(pairs)
                common: set[str] | None = None
                for term, value in pairs:
                    found = nodes(term, value)
                    if not found:
                        missing.append(f"{spec.name} line {row.line}: {term} = {value[:60]!r}")
                        continue
                    common = found if common is None else common & found
                if pairs and common is not None and not common:
                    best = max(
                        {n for t, v in pairs for n in nodes(t, v)},
                        key=lambda n: sum(n in nodes(t, v) for t, v in pairs),
                    )
                    lost = [f"{t} = {v[:40]!r}" for t, v in pairs if best not in nodes(t, v)]
                    missing.append(f"{spec.name} line {row.line}: not from {best}: {lost[:3]}")
    assert cells > 0
    assert not missing, f"{len(missing)} of {cells} cells not in the graph:\n" + "\n".join(
        missing[:40]
    )


# -- where the terms with a place of their own go, asked as a user would ---------------------

_PREFIXES = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX schema: <http://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX role: <https://w3id.org/collectomics/role/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX gbif: <http://rs.gbif.org/terms/1.0/>
"""


def _load(store: Store, name: str, minter: Minter) -> list[dict[str, str]]:
    """Ingest the archive ``name``; return its core rows (term IRI -> stripped value)."""
    path = DATA / name
    ingest_files(store, [path], minter=minter)
    with Archive.open(path) as archive:
        return [
            {t: v.strip() for t, v in row.values.items() if v.strip()}
            for row in archive.rows(archive.core)
            if isinstance(row, Row)
        ]


def _select(store: Store, query: str) -> list[tuple[str, ...]]:
    rows = store.query(_PREFIXES + query).rows()
    return [tuple(getattr(v, "value", str(v)) for v in row.values()) for row in rows]


def test_gbif_issue_flags_are_literals_on_their_records(store: Store, minter: Minter) -> None:
    rows = _load(store, "real/finch-gbif-download-2015/0000154-150116162929234.zip", minter)
    found: dict[str, set[str]] = defaultdict(set)
    for page, flag in _select(
        store,
        "SELECT ?page ?flag { ?s rdfs:seeAlso ?page ; gbif:issue ?flag . "
        "FILTER(isLiteral(?flag)) }",
    ):
        found[page.removeprefix(GBIF_RECORD_PAGE)].add(flag)
    published = {row[_GBIF_ID]: set(row[_ISSUE].split(";")) for row in rows if row.get(_ISSUE, "")}
    assert sum(len(f) for f in published.values()) > 400  # 443 rows, most flagged
    assert found == published  # one literal per flag, on its own record, and no other
    assert _select(store, "SELECT ?a { ?a oa:motivatedBy oa:assessing }") == []


def test_label_text_becomes_a_label_transcription(store: Store, minter: Minter) -> None:
    rows = _load(store, "real/dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip", minter)
    with Archive.open(DATA / "real/dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip") as a:
        [occurrences] = [s for s in a.extensions if s.name == "occurrences.txt"]
        labels = {
            row.values[GBIF_LABEL].strip()
            for row in a.rows(occurrences)
            if isinstance(row, Row) and row.values.get(GBIF_LABEL, "").strip()
        }
    assert rows and len(labels) > 40  # Plazi: 47 material citations with their label text
    transcribed = _select(
        store,
        "SELECT DISTINCT ?text { ?s col:hasLabel ?label . ?label a col:SpecimenLabel . "
        "?a oa:hasTarget ?label ; oa:motivatedBy oa:transcribing ; oa:hasBody/rdf:value ?text }",
    )
    assert {t for (t,) in transcribed} == labels


def test_georeferencers_are_roles_like_collectors(store: Store, minter: Minter) -> None:
    _load(store, "real/rgbif-gbif-downloads/0000066-140928181241064.zip", minter)
    roles = _select(
        store,
        "SELECT ?name ?written { ?s dwciri:georeferencedBy ?agent . "
        "?g prov:qualifiedAssociation ?r . ?r prov:hadRole role:georeferencer ; "
        "prov:agent ?agent ; col:nameAsWritten ?written . "
        "?agent <http://xmlns.com/foaf/0.1/name> ?name . ?loc prov:wasGeneratedBy ?g }",
    )
    assert roles == [("Christopher J. Hayden", "Christopher J. Hayden")]


def test_identifier_terms_are_kept_on_their_own_term(store: Store, minter: Minter) -> None:
    rows = _load(store, "real/rgbif-gbif-downloads/0000066-140928181241064.zip", minter)
    published = {
        (row[_GBIF_ID], row[DWC_INSTITUTION_ID]) for row in rows if DWC_INSTITUTION_ID in row
    }
    assert len({v for _, v in published}) > 1
    found = _select(
        store,
        "SELECT ?page ?v { ?s rdfs:seeAlso ?page ; dwc:institutionID ?v FILTER(isLiteral(?v)) }",
    )
    assert {(page.removeprefix(GBIF_RECORD_PAGE), v) for page, v in found} == published
    assert len(found) == len(published)  # one triple a value: no copy as an IRI
    assert _select(store, "SELECT ?i { ?s schema:identifier ?i }") == []


def test_a_iiif_manifest_in_the_media_file_is_typed_as_a_manifest(
    store: Store, minter: Minter
) -> None:
    _load(store, "dwca/iiif-manifest-in-multimedia", minter)
    types = _select(
        store,
        "SELECT ?url ?type { ?m <http://rs.tdwg.org/ac/terms/accessURI> ?url ; a ?type } "
        "ORDER BY ?url ?type",
    )
    assert types == [
        (
            "https://iiif.example.org/bcn/BCN-33966/info",
            "http://iiif.io/api/presentation/3#Manifest",
        ),
        (
            "https://iiif.example.org/presentation/bcn/BCN-18671/manifest.json",
            "http://iiif.io/api/presentation/3#Manifest",
        ),
        ("https://images.example.org/bcn/BCN-33966.jpg", "http://purl.org/dc/dcmitype/StillImage"),
    ]


def test_an_agent_identifier_that_is_no_identifier_is_kept_as_written() -> None:
    from collectomics.mapping.common import Context
    from collectomics.mapping.specimens import map_specimen

    record = {"catalogNumber": "A-1", "recordedBy": "Smith, J.", "recordedByID": "Bionomia 123"}
    out = map_specimen(record, Context("ds", Minter()))
    assert any("kept as written" in p.reason for p in out.problems)
    values = [str(getattr(o, "value", o)) for _, _, o in out.triples]
    assert "Bionomia 123" in values


def test_measurers_are_roles_like_collectors(store: Store, minter: Minter) -> None:
    _load(store, "dwca/measurement-or-fact-ext", minter)
    roles = _select(
        store,
        "SELECT ?catalog ?type ?written { ?s dwc:catalogNumber ?catalog ; "
        "dwciri:measuredBy ?agent . ?m a dwc:MeasurementOrFact ; dcterms:subject ?s ; "
        "dwc:measurementType ?type ; prov:qualifiedAssociation ?r . "
        "?r prov:hadRole role:measurer ; prov:agent ?agent ; col:nameAsWritten ?written } "
        "ORDER BY ?catalog ?type ?written",
    )
    assert roles == [
        ("BCN-33966", "plant height", "Blanché, Cèsar"),
        ("BCN-33966", "sheet height", "Bosch, Maria"),
        ("BCN-33966", "sheet height", "Molero, Julià"),
    ]
    orcid = "https://orcid.org/0000-0002-1825-0097"
    assert _select(store, f"SELECT ?s {{ ?s dwciri:measuredBy <{orcid}> }}")
