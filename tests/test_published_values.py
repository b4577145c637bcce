"""Nothing a publisher wrote is dropped (issue 16): every non-empty cell of every data file of
every real archive (and of the quirk archives) is answerable by SPARQL from the stored graph.

"Answerable" means: some record node of the graph (a specimen, an event or taxon row, a medium)
reaches a term whose string is the cell's value, on itself, on a node minted under its IRI (its
event, location, identification, verbatim record, labels, identifier nodes, extension rows) or
one hop away (its agents, its source dataset). The graph is read back through SPARQL from a real
on-disk store. Documented rewrites are the only exceptions: GBIF's ``issue`` cell is checked
flag by flag, a number may be found by its value (``0.0`` is stored as ``0``), a licence code may stand as its licence IRI, and a ``gbifID`` N as the
specimen's identifier ``gbif:N``.
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
from collectomics.store import Store

DATA = Path(__file__).resolve().parent / "data"
REAL = DATA / "real"  # the real corpus (tests/data/real/README.md)
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
_ISSUE = "http://rs.gbif.org/terms/1.0/issue"
_LICENSE = "http://purl.org/dc/terms/license"
_GBIF_ID = "http://rs.gbif.org/terms/1.0/gbifID"


def _graph(store: Store, graph: str) -> dict[str, list[tuple[str, str]]]:
    """subject -> (predicate, object as a string), read back with SPARQL."""
    triples: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").rows():
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


def _reach(triples: dict[str, list[tuple[str, str]]]) -> dict[str, set[str]]:
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
        near += [o for _, o in triples.get(node, []) if o in triples]  # one hop: agents, sources
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
        if term == _GBIF_ID:  # the specimen's dcterms:identifier "gbif:N"
            found = found | index.get(f"gbif:{value}", set())
        return found

    return nodes


@pytest.mark.parametrize("name", ARCHIVES)
def test_every_published_value_is_answerable(
    name: str, make_store: Callable[..., Store], tmp_path: Path, minter: Minter
) -> None:
    path = DATA / name
    store = make_store(tmp_path / "store")
    [report] = ingest_files(store, [path], minter=minter)
    nodes = _answers(_reach(_graph(store, report.graph)))
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
