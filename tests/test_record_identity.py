"""One input record is one specimen node; the same specimen published twice is linked, not
merged; counts add up per dataset (issue 16, "Record identity").

The publisher archives here are derived, in the test, from a real GBIF download
(tests/data/real/finch-gbif-download-2015: 443 records of ten museums): its rows written back as
a publisher would (no gbifID, no datasetKey), with a repeated occurrenceID, records without one,
and the same records in two datasets. The expected links are computed from those rows by a plain
reference of the rule, never read back from the graph.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import pytest

from collectomics.analysis.stats import dataset_records
from collectomics.config import load_settings
from collectomics.ingest import ingest_files
from collectomics.ingest.duplicates import MAX_HOLDERS, duplicates_graph, remove_dataset
from collectomics.ingest.pipeline import IngestReport
from collectomics.iri import Minter
from collectomics.mapping.specimens import usable_occurrence_id
from collectomics.services.pages import Pages
from collectomics.store import OxigraphStore
from collectomics.web import create_app
from helpers import REAL

QUIRKS = Path(__file__).resolve().parent / "data" / "dwca"
FINCH = REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip"
COLUMNS = [
    "occurrenceID",
    "institutionCode",
    "collectionCode",
    "catalogNumber",
    "basisOfRecord",
    "scientificName",
    "recordedBy",
    "eventDate",
    "countryCode",
]
PREFIXES = """PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX schema: <http://schema.org/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""


def _finch_rows() -> list[dict[str, str]]:
    with zipfile.ZipFile(FINCH) as z:
        text = z.read("occurrence.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def _publish(path: Path, rows: Iterable[dict[str, str]]) -> Path:
    """Write ``rows`` as a publisher's tab-separated Darwin Core file (line 1: the header)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "").replace("\t", " ") for c in COLUMNS])
    return path


def _n(store: OxigraphStore, body: str) -> int:
    rows = store.query(PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ {body} }}").rows()
    return int(next(rows)["n"].value)  # type: ignore[union-attr]


def _specimen_nodes(store: OxigraphStore, minter: Minter, report: IngestReport) -> int:
    return dataset_records(store, minter).get(report.graph, 0)


# --------------------------------------------------------------------- one record, one node


def _key(r: dict[str, str], line: int) -> tuple[str, ...]:
    """A reference of the publisher key rule: occurrenceID, else the catalogue triplet, else
    the row."""
    if usable_occurrence_id(r["occurrenceID"] or "-") and r["occurrenceID"]:
        return ("occurrenceID", r["occurrenceID"])
    if r["catalogNumber"]:
        return ("catalogue", r["institutionCode"], r["collectionCode"], r["catalogNumber"])
    return ("row", str(line))


def test_repeated_and_missing_keys_stay_one_node_per_record(tmp_path: Path) -> None:
    rows = _finch_rows()[:120]
    with_id = [i for i, r in enumerate(rows) if r["occurrenceID"]]
    first, again = with_id[0], with_id[1]
    rows[again] = dict(rows[again], occurrenceID=rows[first]["occurrenceID"])  # a reused ID
    for i in with_id[2:5]:  # no occurrenceID: keyed by institution + collection + catalogue
        rows[i] = dict(rows[i], occurrenceID="")
    twin = {k: rows[with_id[2]][k] for k in ("institutionCode", "collectionCode", "catalogNumber")}
    rows[with_id[3]] = dict(rows[with_id[3]], **twin)  # a catalogue number given twice
    by_row = with_id[5]
    rows[by_row] = dict(rows[by_row], occurrenceID="", catalogNumber="")  # keyed by its row
    path = _publish(tmp_path / "publisher.txt", rows)
    minter, store = Minter(), OxigraphStore()
    [report] = ingest_files(store, [path], minter=minter, dataset_id="publisher")
    assert report.read == report.loaded == report.specimens == len(rows) == 120
    assert _specimen_nodes(store, minter, report) == 120
    first_line: dict[tuple[str, ...], int] = {}
    expected = {}  # line -> the line that first gave its key
    for i, r in enumerate(rows):
        line = i + 2  # line 1 is the header
        seen = first_line.setdefault(_key(r, line), line)
        if seen != line:
            expected[line] = seen
    assert expected == {again + 2: first + 2, with_id[3] + 2: with_id[2] + 2}
    repeats = {p.row: p.reason for p in report.problems if "already given" in p.reason}
    assert set(repeats) == set(expected)
    assert all(f"line {expected[line]} " in reason for line, reason in repeats.items())
    assert f"occurrenceID {rows[first]['occurrenceID']!r}" in repeats[again + 2]
    row_keyed = [p.row for p in report.problems if p.column == "catalogNumber"]
    assert row_keyed == [by_row + 2]
    # the reused ID's records: two nodes, not one node with two dates and two collectors
    value = rows[first]["occurrenceID"]
    assert (
        _n(
            store,
            f'SELECT DISTINCT ?s {{ ?s dwc:occurrenceID "{value}" ; schema:includedInDataSet ?d }}',
        )
        == 2
    )
    merged = (
        f'SELECT ?s {{ ?s dwc:occurrenceID "{value}" ; dwc:catalogNumber ?c }} '
        "GROUP BY ?s HAVING (COUNT(?c) > 1)"
    )
    assert _n(store, merged) == 0  # no node carries both records' catalogue numbers


def test_the_same_input_mints_the_same_iris(tmp_path: Path) -> None:
    rows = _finch_rows()[:60]
    rows[1] = dict(rows[1], occurrenceID=rows[0]["occurrenceID"])
    path = _publish(tmp_path / "p.txt", rows)
    dumps = []
    for _ in range(2):
        store = OxigraphStore()
        ingest_files(store, [path], minter=Minter(), dataset_id="p")
        out = io.BytesIO()
        store.dump(out)
        dumps.append(sorted(out.getvalue().decode().splitlines()))
    assert dumps[0] == dumps[1]


# --------------------------------------------------------------------- linked, not merged


def _expected_links(
    datasets: dict[str, list[tuple[str, dict[str, str], frozenset[str]]]],
) -> dict[str, int]:
    """Pairs of records that share a usable occurrenceID, or an institution code and catalogue
    number (one with a digit), and whose datasets differ (a record's datasets: its own, and for a
    GBIF download record its source dataset); values held by more than MAX_HOLDERS records are
    skipped."""
    holders: dict[tuple[str, str], dict[str, frozenset[str]]] = defaultdict(dict)
    for records in datasets.values():
        for record_id, r, sources in records:
            occurrence_id = r["occurrenceID"].strip()
            if occurrence_id and usable_occurrence_id(occurrence_id):
                holders[("occurrenceID", occurrence_id)][record_id] = sources
            number = r["catalogNumber"].strip()
            if r["institutionCode"].strip() and any(ch.isdigit() for ch in number):
                key = f"{r['institutionCode'].strip()} {r['catalogNumber'].strip()}"
                holders[("catalogue", key)][record_id] = sources
    counts = {"occurrenceID": 0, "catalogue": 0}
    for (kind, _), records in holders.items():
        if not 1 < len(records) <= MAX_HOLDERS:
            continue
        for a, b in combinations(sorted(records), 2):
            if records[a] != records[b]:
                counts[kind] += 1
    return counts


def _links(store: OxigraphStore) -> dict[str, int]:
    return {
        "occurrenceID": _n(store, "?l a col:PossibleDuplicate ; col:matchedOn dwc:occurrenceID"),
        "catalogue": _n(store, "?l a col:PossibleDuplicate ; col:matchedOn dwc:catalogNumber"),
    }


def _as_publisher(
    name: str, rows: list[dict[str, str]]
) -> list[tuple[str, dict[str, str], frozenset[str]]]:
    return [(f"{name}:{i}", r, frozenset({name})) for i, r in enumerate(rows)]


def _as_download(
    name: str, rows: list[dict[str, str]]
) -> list[tuple[str, dict[str, str], frozenset[str]]]:
    return [(f"gbif:{r['gbifID']}", r, frozenset({name, r["datasetKey"]})) for r in rows]


def test_the_same_specimen_in_two_datasets_is_linked_not_merged(tmp_path: Path) -> None:
    rows = _finch_rows()
    a_rows, b_rows = rows[:120], rows[100:160]  # rows 100..119 are published by both
    a = _publish(tmp_path / "a.txt", a_rows)
    b = _publish(tmp_path / "b.txt", b_rows)
    minter, store = Minter(), OxigraphStore()
    [ra] = ingest_files(store, [a], minter=minter, dataset_id="museum-a")
    [rb] = ingest_files(store, [b], minter=minter, dataset_id="museum-b")
    expected = _expected_links({"a": _as_publisher("a", a_rows), "b": _as_publisher("b", b_rows)})
    assert expected["occurrenceID"] >= 15 and _links(store) == expected
    assert rb.duplicates == sum(expected.values()) and ra.duplicates == 0  # a was loaded first
    # merged nowhere: every record is its own node in its own graph
    assert _specimen_nodes(store, minter, ra) == 120 and _specimen_nodes(store, minter, rb) == 60
    # symmetric shortcut, and the evidence names what matched
    both = _n(store, "?x col:possibleDuplicateOf ?y . ?y col:possibleDuplicateOf ?x")
    assert both == 2 * _n(
        store, "SELECT DISTINCT ?x ?y { ?x col:possibleDuplicateOf ?y FILTER(STR(?x) < STR(?y)) }"
    )
    pair = next(
        store.query(
            PREFIXES
            + "SELECT ?x ?y ?v WHERE { ?l a col:PossibleDuplicate ; owl:annotatedSource ?x ; "
            "owl:annotatedTarget ?y ; col:matchedOn dwc:occurrenceID ; rdf:value ?v }"
        ).rows()
    )
    for end in (pair["x"], pair["y"]):
        page = Pages(store, minter.base).page(str(end))
        assert page is not None
        [shown] = [d for d in page.duplicates if "dwc:occurrenceID" in d["matched_on"]]
        assert shown["value"] == pair["v"].value  # type: ignore[union-attr]
        assert shown["other"] in (str(pair["x"]), str(pair["y"])) and shown["other"] != str(end)
    # ... and on both HTML pages, with the JSON twin
    client = create_app(load_settings(environ={}), store=store).test_client()
    for end, other in ((pair["x"], pair["y"]), (pair["y"], pair["x"])):
        path = "/" + str(end)[len(minter.base) :]
        html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert "Possible duplicates" in html and str(other)[len(minter.base) :] in html
        twin = client.get(path + "?format=json").get_json()
        [section] = [x for x in twin["sections"] if x["name"] == "duplicates"]
        shown_twin = section["data"]["duplicates"]
        assert {d["iri"] for d in shown_twin} == {str(other)}  # one row per evidence

    # the GBIF download itself: its records keyed by gbifID, linked to both publishers' copies
    [rd] = ingest_files(store, [FINCH], minter=minter)
    everything = {
        "a": _as_publisher("a", a_rows),
        "b": _as_publisher("b", b_rows),
        "d": _as_download("d", rows),
    }
    assert _links(store) == _expected_links(everything)
    assert rd.specimens == _specimen_nodes(store, minter, rd) == 443

    # re-ingesting one dataset keeps the others' links right: a now shares nothing with b
    a2 = _publish(tmp_path / "a2.txt", rows[:100])
    ingest_files(store, [a2], minter=minter, dataset_id="museum-a", replace=True)
    everything["a"] = _as_publisher("a", rows[:100])
    assert _links(store) == _expected_links(everything)
    assert duplicates_graph(minter) in store.graphs()
    # removing a dataset (as a Graph Store DELETE does) drops its links, and only its links
    assert remove_dataset(store, minter, minter.graph("museum-b"))
    del everything["b"]
    assert _links(store) == _expected_links(everything)


# --------------------------------------------------------------------- counts add up


#: quirk archives the reader refuses as a whole (each with one clear error, tested elsewhere)
REFUSED = {"broken-meta-xml", "missing-data-file"}


def _archives() -> list[Path]:
    """Every Darwin Core archive or file of the real corpus, and every quirk archive."""
    real = [
        p
        for p in sorted(REAL.glob("*/*"))
        if p.suffix.lower() == ".zip" or p.name in ("Borza.txt", "csv_optional_quotes_puma.csv")
    ]
    quirks = []
    for folder in sorted(p for p in QUIRKS.iterdir() if p.is_dir() and p.name not in REFUSED):
        inside = [p for p in folder.iterdir() if p.name != "eml.xml"]
        quirks.append(folder if (folder / "meta.xml").exists() else inside[0])
    return real + quirks


@pytest.mark.parametrize("archive", _archives(), ids=lambda p: p.parent.name + "/" + p.name)
def test_loaded_equals_the_specimen_nodes_of_every_real_archive(archive: Path) -> None:
    minter, store = Minter(), OxigraphStore()
    [report] = ingest_files(store, [archive], minter=minter)
    assert report.read == report.loaded + report.rejected
    nodes = dataset_records(store, minter)
    assert nodes.get(report.graph, 0) == report.specimens > 0
    parents = _n(store, "?e a ?t FILTER(?t = dwc:Event || ?t = dwc:Taxon)")
    if not parents:  # an Occurrence core: each loaded record is one specimen node
        assert report.loaded == report.specimens


# --------------------------------------------------------------------- a download is one dataset


def test_a_download_is_one_dataset_as_a_zip_or_a_folder(tmp_path: Path) -> None:
    from collectomics.errors import InputError
    from collectomics.ingest.archive import default_dataset_id

    folder = tmp_path / "my-unpacked-download"
    with zipfile.ZipFile(FINCH) as z:
        z.extractall(folder)
    key = "0000154-150116162929234"  # metadata.xml: "GBIF Occurrence Download 0000154-..."
    assert default_dataset_id(FINCH) == default_dataset_id(folder) == key
    renamed = tmp_path / "download.zip"
    renamed.write_bytes(FINCH.read_bytes())
    assert default_dataset_id(renamed) == key

    minter, store = Minter(), OxigraphStore()
    [first] = ingest_files(store, [FINCH], minter=minter)
    with pytest.raises(InputError, match="--replace"):
        ingest_files(store, [folder], minter=minter)  # the same dataset id
    # under another id: refused, naming the dataset that holds the records
    with pytest.raises(InputError, match=f"dataset/{key}>") as refused:
        ingest_files(store, [folder / "occurrence.txt"], minter=minter)
    assert "records are already in the store" in refused.value.message
    assert refused.value.context["file"] == str(folder / "occurrence.txt")
    assert dataset_records(store, minter) == {first.graph: 443}  # nothing counted twice
    # said explicitly: loaded, one graph each (the records' nodes are shared, keyed by gbifID)
    [again] = ingest_files(store, [folder], minter=minter, dataset_id="on-purpose")
    assert again.loaded == again.specimens == 443
    assert dataset_records(store, minter)[again.graph] == 443


def test_the_same_file_under_another_name_is_refused(tmp_path: Path) -> None:
    from collectomics.errors import InputError

    rows = _finch_rows()[:50]
    a = _publish(tmp_path / "herbarium.txt", rows)
    copy = tmp_path / "herbarium-copy.txt"
    copy.write_bytes(a.read_bytes())
    minter, store = Minter(), OxigraphStore()
    [report] = ingest_files(store, [a], minter=minter)
    with pytest.raises(InputError, match="byte for byte") as refused:
        ingest_files(store, [copy], minter=minter)
    assert f"<{minter.dataset(report.dataset)}>" in refused.value.message
    assert dataset_records(store, minter) == {report.graph: 50}
    [copied] = ingest_files(store, [copy], minter=minter, replace=True)  # said explicitly
    assert copied.specimens == 50


@pytest.mark.parametrize(
    "name", ["duplicates", "facets", "inferences", "links", "identity", "itinerary-x"]
)
def test_a_dataset_id_never_names_a_derived_graph(tmp_path: Path, name: str) -> None:
    """A dataset called 'duplicates' would have been mixed with the possible-duplicates graph
    (and 'facets' with the facet counts...): such an id is refused before anything loads, and
    what the store held is untouched."""
    from collectomics.analysis.identity import identity_graph
    from collectomics.analysis.inference import inferences_graph
    from collectomics.analysis.network import facets_graph
    from collectomics.errors import InputError
    from collectomics.iri import DERIVED_GRAPHS, DERIVED_PREFIX
    from collectomics.linking.service import links_graph

    minter = Minter()
    # the reserved names are the ones the modules write to
    assert {facets_graph(minter), duplicates_graph(minter), inferences_graph(minter),
            links_graph(minter), identity_graph(minter)} == {minter.graph(n) for n in DERIVED_GRAPHS}  # fmt: skip
    assert DERIVED_PREFIX == "itinerary-"
    path = tmp_path / "specimens.csv"
    path.write_text('catalogNumber,recordedBy\nA1,"Smith, J."\n', encoding="utf-8")
    store = OxigraphStore()
    ingest_files(store, [path], minter=minter, dataset_id="kept")
    before = sorted(store.graphs())
    with pytest.raises(InputError, match="choose another id"):
        ingest_files(store, [path], minter=minter, dataset_id=name)
    assert sorted(store.graphs()) == before


def test_stats_count_datasets_not_the_graphs_derived_from_them(tmp_path: Path) -> None:
    """After an ingest and `infer` the store holds a derived graph beside the dataset: `stats`
    counts one dataset, whose records it lists, and `dataset_of_graph` names no dataset for any
    derived graph."""
    from collectomics.analysis.inference import infer, inferences_graph
    from collectomics.analysis.stats import graph_stats

    minter = Minter()
    store = OxigraphStore()
    ingest_files(store, [FINCH], minter=minter)
    infer(store, minter)
    assert inferences_graph(minter) in store.graphs() and len(store.graphs()) == 3  # + identity
    assert graph_stats(store, minter).datasets == 1
    derived = [inferences_graph(minter), duplicates_graph(minter), minter.graph("itinerary-q1")]
    assert all(minter.dataset_of_graph(g) is None for g in derived)
    assert minter.dataset_of_graph(minter.graph("herbarium")) == minter.dataset("herbarium")
    assert list(dataset_records(store, minter).values()) == [443]
