"""`collectomics infer`: date bounds for undated specimens from a label writer's life, dated
notebook pages and collecting number series; flags for records outside an agent's life, with
dates widened to their precision; a re-run replaces the inferences graph and nothing else."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from collectomics.analysis.inference import export_flags, infer, inferences_graph
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.store import Store
from helpers import StoreLocation, run_cli

BASE = "https://w3id.org/collectomics/"
M = Minter()
WD = "http://www.wikidata.org/entity/"

PEOPLE = """person_id,name,birth_date,death_date,floruit_start,floruit_end,wikidata
hooker,Joseph Dalton Hooker,1817-06-30,1911,,,Q157
active,Active Only,,,1850,1860,
matched,Matched Person,1880,1950,,,
"""
SPECIMENS = f"""catalogNumber,recordedBy,recordedByID,eventDate,verbatimEventDate,recordNumber,identifiedBy,identifiedByID,dateIdentified
S1,"Hooker, J.D.",{WD}Q157,,s.d.,,,,
S2,"Hooker, J.D.",{WD}Q157,1911-12-31,,,,,
S3,"Hooker, J.D.",{WD}Q157,1912-01-01,,,,,
S4,"Hooker, J.D.",{WD}Q157,1816,,,,,
S5,"Hooker, J.D.",{WD}Q157,1820,,,,,
S6,"Nobody, N.",,1950-05-01,,,"Hooker, J.D.",{WD}Q157,1950
S7,"Anon",,,,,,,
A10,"Series, A.",,1900-01-05,,A-10,,,
A20,"Series, A.",,1900-02-01,,A-20,,,
A25,"Series, A.",,,,A-25,,,
A30,"Series, A.",,1900-03-01,,A-30,,,
A99,"Series, A.",,,,A-99,,,
B10,"Weak, B.",,1901-05-01,,10,,,
B15,"Weak, B.",,,,15,,,
B20,"Weak, B.",,1901-01-01,,20,,,
B30,"Weak, B.",,1901-06-01,,30,,,
"""
LABELS = """specimen,transcription,writing_method,hand,hand_confidence,evidence
catalog:S1,"Sikkim, J.D.H.",handwritten,hooker,0.9,document:notes/p1
catalog:S7,Anon,handwritten,active,,
"""
DOCUMENTS = {
    "documents": [
        {"id": "notes", "type": "field notebook", "date": "1850",
         "pages": [{"id": "p1", "date": "1850-03", "mentions": [{"specimen": "catalog:S1"}]}]},
        {"id": "letters", "type": "correspondence", "pages": [
            {"id": "l1", "type": "letter", "date": "1851",
             "mentions": [{"specimen": "catalog:S1"}]}]},
    ]
}  # fmt: skip
MATCHES = """@prefix col: <https://w3id.org/collectomics/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix role: <https://w3id.org/collectomics/role/> .
@prefix status: <https://w3id.org/collectomics/status/> .
<specimen/M1> a dwc:MaterialEntity ; dwc:catalogNumber "M1" ; col:collectingEvent <specimen/M1/event> .
<specimen/M1/event> col:earliestDate "1960-01-01"^^xsd:date ; col:latestDate "1960-12-31"^^xsd:date ;
    prov:qualifiedAssociation [ prov:agent <agent/x/matched> ; prov:hadRole role:collector ] .
<match/1> a col:IdentityMatch ; owl:annotatedSource <agent/x/matched> ;
    owl:annotatedTarget <person/matched> ; col:matchStatus status:accepted .
<specimen/M2> a dwc:MaterialEntity ; dwc:catalogNumber "M2" ; col:collectingEvent <specimen/M2/event> .
<specimen/M2/event> col:earliestDate "1960-01-01"^^xsd:date ; col:latestDate "1960-12-31"^^xsd:date ;
    prov:qualifiedAssociation [ prov:agent <agent/x/rejected> ; prov:hadRole role:collector ] .
<match/2> a col:IdentityMatch ; owl:annotatedSource <agent/x/rejected> ;
    owl:annotatedTarget <person/matched> ; col:matchStatus status:rejected .
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (
        ("people.csv", PEOPLE),
        ("specimens.csv", SPECIMENS),
        ("labels.csv", LABELS),
        ("documents.json", json.dumps(DOCUMENTS)),
        ("matches.ttl", MATCHES),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


def _load(store: Store, files: dict[str, Path]) -> None:
    for name in ("people.csv", "specimens.csv", "labels.csv", "documents.json", "matches.ttl"):
        [report] = ingest_files(store, [files[name]], minter=M, dataset_id=name.split(".")[0])
        assert report.rejected == 0, report.problems


def _specimen(cat: str) -> str:
    return f"{BASE}specimen/specimens/catalog/_/_/{cat}"  # dataset "specimens"


def _inferences(store: Store) -> dict[tuple[str, str], list[tuple[str, str, set[str]]]]:
    found: dict[tuple[str, str], list[tuple[str, str, set[str]]]] = {}
    rows = store.query(
        "PREFIX col: <https://w3id.org/collectomics/ontology#> "
        "SELECT ?i ?s ?m ?e ?l ?ev WHERE { ?i a col:DateInference ; "
        "<http://purl.org/dc/terms/subject> ?s ; col:method ?m ; col:evidence ?ev . "
        "OPTIONAL { ?i col:earliestDate ?e } OPTIONAL { ?i col:latestDate ?l } }"
    ).rows()
    by_node: dict[str, tuple[str, str, str, str, set[str]]] = {}
    for r in rows:
        entry = by_node.setdefault(
            str(r["i"]),
            (
                str(r["s"]).rsplit("/", 1)[-1],
                str(r["m"]).rsplit("#", 1)[-1],
                r["e"].value if r.get("e") else "",  # type: ignore[union-attr]
                r["l"].value if r.get("l") else "",  # type: ignore[union-attr]
                set(),
            ),
        )
        entry[4].add(str(r["ev"]))
    for cat, method, early, late, evidence in by_node.values():
        found.setdefault((cat, method), []).append((early, late, evidence))
    return found


def _flags(store: Store) -> set[tuple[str, str, str]]:
    rows = store.query(
        "PREFIX col: <https://w3id.org/collectomics/ontology#> "
        "SELECT ?s ?m ?p WHERE { ?f a col:RecordFlag ; <http://www.w3.org/ns/oa#hasTarget> ?s ; "
        "col:method ?m ; col:evidence ?p . ?p a <http://xmlns.com/foaf/0.1/Person> }"
    ).rows()
    return {
        (
            str(r["s"]).rsplit("/", 1)[-1],
            str(r["m"]).rsplit("#", 1)[-1],
            str(r["p"]).rsplit("/", 1)[-1],
        )
        for r in rows
    }


def test_bounds_from_label_writer_pages_and_number_series(
    files: dict[str, Path], make_store: Callable[..., Store]
) -> None:
    store = make_store()
    _load(store, files)
    report = infer(store, M)
    found = _inferences(store)
    hand = f"{_specimen('S1')}/label/1/hand/hooker"
    # the writer's life: born 30 June 1817, +10 years; died 1911, known to the year
    assert found[("S1", "labelWriterLifetime")] == [
        ("1827-06-30", "1911-12-31", {hand, f"{BASE}person/hooker"})
    ]
    # a field notebook page dated March 1850; a letter dated 1851 gives a latest bound only
    pages = sorted(found[("S1", "notebookPageDate")])
    assert pages == [
        ("", "1851-12-31", {f"{BASE}document/letters/l1"}),
        ("1850-03-01", "1850-03-31", {f"{BASE}document/notes/p1"}),
    ]
    # a person known only by an active period
    assert found[("S7", "labelWriterLifetime")][0][:2] == ("1850-01-01", "1860-12-31")
    # A-25 sits between of a series whose dates follow its numbers
    assert found[("A25", "collectingNumberSeries")] == [
        ("1900-02-01", "1900-03-01", {_specimen("A20"), _specimen("A30")})
    ]
    assert ("A99", "collectingNumberSeries") not in found  # no dated neighbour above
    assert ("B15", "collectingNumberSeries") not in found  # numbers do not follow the dates
    assert report.inferences == {
        "labelWriterLifetime": 2,
        "labelWriterLifetime (label writing)": 2,
        "notebookPageDate": 2,
        "collectingNumberSeries": 1,
    }
    # the label's own writing window, as a node of its own for the label
    label = store.query(
        "PREFIX col: <https://w3id.org/collectomics/ontology#> SELECT ?e ?l { ?i col:inferredFor "
        f"<{_specimen('S1')}/label/1> ; col:earliestDate ?e ; col:latestDate ?l }}"
    )
    [row] = list(label.rows())
    assert (row["e"].value, row["l"].value) == ("1827-06-30", "1911-12-31")  # type: ignore[union-attr]
    assert report.undated == 5  # S1 S7 A25 A99 B15


def test_flags_respect_precision_and_reach(
    files: dict[str, Path], make_store: Callable[..., Store]
) -> None:
    store = make_store()
    _load(store, files)
    infer(store, M)
    assert _flags(store) == {
        ("S3", "collectedAfterDeath", "hooker"),  # 1912-01-01 > 31 December 1911
        ("S4", "collectedBeforeBirth", "hooker"),
        ("S5", "collectedBeforeWorkingAge", "hooker"),  # 1820, aged 3
        ("S6", "identifiedAfterDeath", "hooker"),  # identified 1950 by a determiner dead in 1911
        ("M1", "collectedAfterDeath", "matched"),  # reached through an accepted identity match
    }  # S2 (31 December 1911) is not flagged: a death known to the year ends on 31 December
    assert infer(store, M, working_age=0).flags == {
        "collectedAfterDeath": 2,
        "collectedBeforeBirth": 1,
        "identifiedAfterDeath": 1,
    }
    with pytest.raises(Exception, match="working age"):
        infer(store, M, working_age=-1)


def test_rerun_replaces_only_the_inferences_graph(
    files: dict[str, Path], make_store: Callable[..., Store]
) -> None:
    store = make_store()
    _load(store, files)
    others = {g: store.count(g) for g in store.graphs()}
    first = infer(store, M)
    graph = inferences_graph(M)
    assert graph == BASE + "graph/inferences"
    assert {g: store.count(g) for g in store.graphs() if g != graph} == others
    assert infer(store, M).triples == first.triples == store.count(graph)
    # the evidence changes: Hooker's death is removed, so the flag after his death goes
    people = files["people.csv"]
    people.write_text(PEOPLE.replace("1817-06-30,1911,", "1817-06-30,,"), encoding="utf-8")
    ingest_files(store, [people], minter=M, dataset_id="people", replace=True)
    infer(store, M)
    assert ("S3", "collectedAfterDeath", "hooker") not in _flags(store)
    assert ("S4", "collectedBeforeBirth", "hooker") in _flags(store)
    assert store.count(BASE + "graph/specimens") == others[BASE + "graph/specimens"]


def test_export_flags_csv(files: dict[str, Path], make_store: Callable[..., Store]) -> None:
    store = make_store()
    _load(store, files)
    infer(store, M)
    out = io.StringIO()
    assert export_flags(store, M, "specimens", out) == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["catalog_number"] for r in rows} == {"S3", "S4", "S5", "S6"}
    s3 = next(r for r in rows if r["catalog_number"] == "S3")
    assert s3["rule_label"] == "collected after the collector's death"
    assert "1911" in s3["message"] and s3["person"] == f"{BASE}person/hooker"
    assert s3["evidence"] == _specimen("S3") + "/event"


def test_cli_infer_and_flags_on_disk(
    files: dict[str, Path], tmp_path: Path, store_location: StoreLocation
) -> None:
    """On disk (on the server under a backend)."""
    db = store_location
    for name in ("people.csv", "specimens.csv", "labels.csv", "documents.json"):
        r = run_cli("ingest", str(files[name]), "--dataset", name.split(".")[0], store=db)
        assert r.returncode == 0, r.stderr
    r = run_cli("infer", "--working-age", "10", store=db)
    assert r.returncode == 0, r.stderr
    assert "7 date inferences, 4 flags" in r.stdout
    out = tmp_path / "flags.csv"
    r = run_cli("flags", "--dataset", "specimens", str(out), store=db)
    assert r.returncode == 0, r.stderr
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 4
    r = run_cli("flags", "--dataset", "no-such-dataset", "-", store=db)
    assert r.returncode == 2 and "no-such-dataset" in r.stderr
    r = run_cli("infer", store=db, env={"COLLECTOMICS_WORKING_AGE": "0"})
    assert "flag collectedBeforeWorkingAge" not in r.stdout
    r = run_cli("query", "undated-specimen-bounds", "--format", "csv", store=db)
    assert r.returncode == 0 and "1827-06-30" not in r.stdout  # working age 0 now
    assert "1817-06-30,1911-12-31" in r.stdout


def test_flags_refuse_when_no_inference_has_run(
    files: dict[str, Path], tmp_path: Path, store_location: StoreLocation
) -> None:
    """`flags` says when `infer` has not run on a dataset as loaded now: exit 2, one line, no
    file; a change to another graph since the run is a warning and the flags are written."""
    db = store_location
    for name in ("people.csv", "specimens.csv"):
        r = run_cli("ingest", str(files[name]), "--dataset", name.split(".")[0], store=db)
        assert r.returncode == 0, r.stderr
    out = tmp_path / "flags.csv"
    r = run_cli("flags", "--dataset", "specimens", str(out), store=db)
    assert r.returncode == 2 and not out.exists()
    assert "no inference has run" in r.stderr and "Traceback" not in r.stderr
    assert run_cli("infer", store=db).returncode == 0
    r = run_cli("flags", "--dataset", "specimens", str(out), store=db)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 4
    # another dataset loaded after the run: the specimens' flags are written, with a warning
    r = run_cli("ingest", str(files["labels.csv"]), "--dataset", "labels", store=db)
    assert r.returncode == 0, r.stderr
    out.unlink()
    r = run_cli("flags", "--dataset", "specimens", str(out), store=db)
    assert r.returncode == 0 and "warning" in r.stderr and "graph/labels" in r.stderr
    assert out.exists()
    r = run_cli("flags", "--dataset", "all", "-", store=db)
    assert r.returncode == 2 and "no inference has run on any dataset" in r.stderr
    # the dataset itself reloaded after the run
    assert run_cli("infer", store=db).returncode == 0
    r = run_cli(
        "ingest", str(files["specimens.csv"]), "--dataset", "specimens", "--replace", store=db
    )
    assert r.returncode == 0, r.stderr
    out.unlink()
    r = run_cli("flags", "--dataset", "specimens", str(out), store=db)
    assert r.returncode == 2 and "'specimens' as loaded now" in r.stderr and not out.exists()


DUPLICATES = """catalogNumber,recordedBy,eventDate,recordNumber
D10a,"Dup, D.",1900-01-05,10
D10b,"Dup, D.",1900-01-05,10
D20a,"Dup, D.",1900-02-01,20
D20b,"Dup, D.",1900-02-01,20
D20c,"Dup, D.",,20
D25,"Dup, D.",,25
D30a,"Dup, D.",1900-03-01,30
D30b,"Dup, D.",1900-03-02,30
"""


def test_flags_for_all_warn_when_only_links_or_derived_graphs_changed(
    files: dict[str, Path], make_store: Callable[..., Store]
) -> None:
    """After `infer`, new identity links (which inference reads) are a warning for every
    dataset, `all` included: no dataset changed. A graph derived from the datasets (an
    itinerary, the possible duplicates) is neither read by `infer` nor a reason to warn."""
    from collectomics.analysis.inference import check_flags

    store = make_store()
    ingest_files(store, [files["specimens.csv"]], minter=M, dataset_id="specimens")
    infer(store, M)
    assert check_flags(store, M, "all") == []
    store.replace_graph(M.graph("itinerary-someone"), "<urn:a> <urn:b> <urn:c> .", "ntriples")
    assert check_flags(store, M, "all") == []
    store.replace_graph(M.graph("links"), "<urn:a> <urn:b> <urn:c> .", "ntriples")
    [warning] = check_flags(store, M, "all")
    assert "graph/links changed" in warning
    assert check_flags(store, M, "specimens") == [warning]


def test_duplicate_sheets_in_a_number_series(
    tmp_path: Path, make_store: Callable[..., Store]
) -> None:
    """Duplicate sheets (one collector, one number, several dated sheets) are ordinary members of
    a series: nearest dated numbers below and above, never a comparison of specimens."""
    path = tmp_path / "duplicates.csv"
    path.write_text(DUPLICATES, encoding="utf-8")
    store = make_store()
    ingest_files(store, [path], minter=M, dataset_id="specimens")  # the id _specimen names
    report = infer(store, M)
    assert report.inferences == {"collectingNumberSeries": 2}
    found = _inferences(store)
    # 25 lies between 20 (1 February) and 30, whose sheets end on 2 March at the latest: of a
    # neighbour's duplicates, the earliest below and the latest above (the widest window)
    assert found[("D25", "collectingNumberSeries")] == [
        ("1900-02-01", "1900-03-02", {_specimen("D20a"), _specimen("D30b")})
    ]
    # an undated duplicate of 20 lies between 10 and 30
    assert found[("D20c", "collectingNumberSeries")] == [
        ("1900-01-05", "1900-03-02", {_specimen("D10a"), _specimen("D30b")})
    ]
