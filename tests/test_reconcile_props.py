"""Reconciliation as volunteers use it (issue 20): query properties by our names and by their
Wikidata ids, identifiers as exact keys, one feature per property, people above the name
strings read from the same records, no placeholder or bare surname ever matched, and cells of
several names answered per person. Checked as properties over the real corpus
(tests/data/real) and the reconciliation fixture, not single examples."""

from __future__ import annotations

import csv
import gzip
import json
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collectomics.ingest import ingest_files
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.mapping.names import is_unknown_agent, read_agents
from collectomics.services import reconcile as rec
from collectomics.store import OxigraphStore, Store
from helpers import REAL, REAL_ARCHIVES
from test_reconcile import fixture_store, schema_check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import reconcile as bench  # noqa: E402

IPNI = REAL / "ipni-authors-wikidata" / "ipni_authors.jsonl.gz"
DWC = "http://rs.tdwg.org/dwc/terms/"


_INDEXES: dict[int, tuple[Store, rec.Index]] = {}


def index(store: Store) -> rec.Index:
    """The store's index, read once: the stores here do not change after loading, and
    recognising a writable store's version counts its triples (a quarter second each)."""
    if id(store) not in _INDEXES or _INDEXES[id(store)][0] is not store:
        _INDEXES[id(store)] = (store, rec.index_for(store))
    return _INDEXES[id(store)][1]


def answer(
    store: Store, text: str, props: list[dict[str, Any]] | None = None, **more: Any
) -> list[dict]:
    """The answer to one query of type Person (OpenRefine's default shape)."""
    q: dict[str, Any] = {"query": text, "type": "Person", "type_strict": "should", **more}
    if props:
        q["properties"] = props
    return rec.reconcile_one(index(store), q)["result"]


def feature(candidate: dict[str, Any], fid: str) -> float | None:
    values = [f["value"] for f in candidate["features"] if f["id"] == fid]
    assert len(values) <= 1, candidate["features"]
    return values[0] if values else None


@pytest.fixture(scope="module")
def collection(request: pytest.FixtureRequest) -> Store:
    return fixture_store(OxigraphStore())


@pytest.fixture(scope="module")
def real() -> Store:
    """Every real archive of the corpus in one store (tests/data/real/archives.txt)."""
    store = OxigraphStore()
    for name in REAL_ARCHIVES:
        [report] = ingest_files(store, [REAL / name], minter=Minter())
        assert report.loaded > 0, report.summary()
    return store


def _sampled(r: dict[str, Any]) -> bool:
    """A fixed sample of about 1 in 97 IPNI authors, with Krüger, Spruce and Ardoino."""
    return r["id"] in ("5084-1", "9995-1", "256-1") or zlib.crc32(r["id"].encode()) % 97 == 0


@pytest.fixture(scope="module")
def ipni(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A real sample of the IPNI authors with their Wikidata QIDs, as a people table."""
    people = ipni_people(tmp_path_factory.mktemp("ipni") / "people.csv", _sampled)
    store = OxigraphStore()
    ingest_dataset(store, DatasetSpec("ipni", (people,)), minter=Minter())
    return store


def real_cells(store: Store) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each distinct real recordedBy value, with the country, family and year of one of its
    records as a sheet row would give them (as benchmarks/reconcile.py sends them)."""
    return bench.archive_cells(store)


def ipni_people(path: Path, keep: Callable[[dict[str, Any]], bool]) -> Path:
    """The real IPNI authors that ``keep`` keeps, with their QIDs, as a people template."""
    qids = {}
    with (IPNI.parent / "wikidata_P586_ipni_author.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qids[row["id"]] = row["wikidata"].rsplit("/", 1)[-1]
    with gzip.open(IPNI, "rt", encoding="utf-8") as f, path.open("w", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["person_id", "name", "given_name", "family_name", "author_abbreviation",
                    "birth_date", "death_date", "ipni", "wikidata"])  # fmt: skip
        for line in f:
            r = json.loads(line)
            if r.get("suppressed") or not keep(r):
                continue
            given, family = (r.get("forename") or "").strip(), (r.get("surname") or "").strip()
            life = (r.get("dates") or "").split("-")
            born = life[0] if len(life) == 2 and life[0].isdigit() else ""
            died = life[1] if len(life) == 2 and life[1].isdigit() else ""
            w.writerow([r["id"], f"{given} {family}".strip(), given, family,
                        r.get("standardForm") or "", born, died, r["id"],
                        qids.get(r["id"], "")])  # fmt: skip
    return path


# -- properties by our name and by Wikidata id -------------------------------------------------

#: (our id, Wikidata property) of each query property a Wikidata id names
BY_PID = [("birthYear", "P569"), ("deathYear", "P570"), ("orcid", "P496"), ("ipni", "P586"),
          ("viaf", "P214"), ("citizenship", "P27"), ("abbreviation", "P428"),
          ("country", "P17")]  # fmt: skip


@pytest.mark.parametrize(("ours", "pid"), BY_PID, ids=[p for _, p in BY_PID])
def test_a_wikidata_property_id_is_our_property(ours: str, pid: str) -> None:
    assert rec.schema.property_id(pid) == ours
    assert rec.schema.property_id(f"http://www.wikidata.org/prop/direct/{pid}") == ours
    assert rec.schema.property_id(ours.upper()) == ours
    assert ours in rec.QUERY_PROPERTIES


def _person_values(e: rec.Entity) -> list[tuple[str, str, Any]]:
    """(our id, Wikidata id, a value that agrees) for every property the person has a value of."""
    out: list[tuple[str, str, Any]] = []
    if e.birth:
        out.append(("birthYear", "P569", f"{e.birth}-01-01T00:00:00Z"))
    if e.death:
        out.append(("deathYear", "P570", str(e.death)))
    pids = {"wikidata": "wikidata", "orcid": "P496", "ipni": "P586", "viaf": "P214"}
    for kind, value in e.ids.items():
        if kind in pids:
            out.append((kind, pids[kind], value))
    if e.abbreviations:
        out.append(("abbreviation", "P428", e.abbreviations[0]))
    for code in sorted(e.countries)[:1]:
        out.append(("country", "P17", code))
        out.append(("citizenship", "P27", code))
    return out


def _identified(store: Store) -> list[rec.Entity]:
    ix = index(store)
    return sorted(
        (e for e in ix.by_id.values() if e.type is rec.PERSON and (e.ids or e.birth)),
        key=lambda e: e.id,
    )


@pytest.mark.parametrize("corpus", ["fixture", "ipni"])
def test_each_property_by_either_name_gives_one_agreeing_feature(
    corpus: str, collection: Store, ipni: Store
) -> None:
    """For every person and name string of the corpus with identifiers or life years: each
    property it has, sent under our id or the Wikidata id, gives one feature that agrees, the
    same score either way, and the person first; an identifier that agrees gives 100."""
    store = collection if corpus == "fixture" else ipni
    people = _identified(store)[:: 1 if corpus == "fixture" else 5]
    assert len(people) >= (8 if corpus == "fixture" else 100)  # the property is exercised
    seen: set[str] = set()
    for e in people:
        for ours, pid, value in _person_values(e):
            seen.add(ours)
            by_ours = answer(store, e.name, [{"pid": ours, "v": value}])
            by_pid = answer(store, e.name, [{"pid": pid, "v": value}])
            assert by_ours == by_pid, (e.id, ours)
            top = by_ours[0]
            assert top["id"] == e.id, (e.id, ours, by_ours[:2])
            fid = f"{ours}_agrees" if ours in rec.schema.ID_PROPERTIES else None
            fid = fid or {"birthYear": "birthYear_fit", "deathYear": "deathYear_fit",
                          "abbreviation": "abbreviation_agrees", "country": "place_fit",
                          "citizenship": "citizenship_fit"}[ours]  # fmt: skip
            assert feature(top, fid) == 1.0, (e.id, ours, top["features"])
            if ours in rec.schema.ID_PROPERTIES:
                assert top["score"] == 100.0, (e.id, ours)
    assert seen >= {"birthYear", "deathYear", "wikidata", "ipni", "abbreviation"}
    if corpus == "fixture":
        assert "country" in seen


@pytest.mark.parametrize("corpus", ["fixture", "ipni"])
def test_identifiers_are_exact_keys_in_every_written_form(
    corpus: str, collection: Store, ipni: Store
) -> None:
    """An identifier finds its holder whatever the name, as a bare value, its IRI or URL, or
    prefixed; a different identifier of the same kind caps the holder at 20, never matched."""
    store = collection if corpus == "fixture" else ipni
    forms = {
        "wikidata": ["{}", "http://www.wikidata.org/entity/{}", "https://www.wikidata.org/wiki/{}"],
        "orcid": ["{}", "https://orcid.org/{}"],
        "ipni": ["{}", "urn:lsid:ipni.org:authors:{}", "https://www.ipni.org/a/{}"],
        "viaf": ["{}", "http://viaf.org/viaf/{}"],
    }
    wrong = {"wikidata": "Q1", "orcid": "0000-0002-1825-0097", "ipni": "1-1", "viaf": "1"}
    checked = 0
    for e in _identified(store)[:: 1 if corpus == "fixture" else 5]:
        for kind, value in e.ids.items():
            if kind not in forms:
                continue
            for form in forms[kind]:
                result = answer(store, "", [{"pid": kind, "v": form.format(value)}])
                assert result and result[0]["id"] == e.id, (e.id, kind, form)
                assert result[0]["score"] == 100.0
                checked += 1
            if value.upper() != wrong[kind].upper():
                result = answer(store, e.name, [{"pid": kind, "v": wrong[kind]}])
                mine = [c for c in result if c["id"] == e.id]
                assert not mine or mine[0]["score"] <= rec.schema.ID_CAP, (e.id, kind)
                assert not mine or feature(mine[0], f"{kind}_agrees") == 0.0
                assert not any(c["match"] and c["id"] == e.id for c in result)
    assert checked >= 5


def test_every_property_given_is_one_feature(collection: Store) -> None:
    """The scoring rule has one feature per property given, whatever the candidate knows
    (0.5 when it does not know): every candidate of every query lists each once."""
    props = [
        {"pid": "P586", "v": "4084-1"},  # first: Hooker is a candidate of every query
        {"pid": "P569", "v": "1817"},
        {"pid": "P570", "v": 1911},
        {"pid": "collectingYear", "v": "1849-05-10"},
        {"pid": "P214", "v": "http://viaf.org/viaf/12345"},
        {"pid": "P496", "v": "0000-0002-1825-0097"},
        {"pid": "P428", "v": "Hook.f."},
        {"pid": "P17", "v": "IN"},
        {"pid": "P27", "v": {"id": "Q145", "name": "United Kingdom"}},
        {"pid": "family", "v": "Ericaceae"},
    ]
    ids = ["ipni_agrees", "birthYear_fit", "deathYear_fit", "collecting_year_fit", "viaf_agrees",
           "orcid_agrees", "abbreviation_agrees", "place_fit", "citizenship_fit",
           "taxon_fit"]  # fmt: skip
    assert rec.read_props(props).count() == len(props)
    for text in ("Hooker", "J. D. Hooker", "Smith", "Spruce", "Gray, A.", "T. Thomson"):
        for k in range(len(props)):
            given = props[: k + 1]
            result = answer(collection, text, given)
            assert result, text
            for c in result:
                mine = [f["id"] for f in c["features"] if f["id"] in ids]
                assert sorted(mine) == sorted(ids[: k + 1]), (text, c["id"], c["features"])


def test_citizenship_agrees_or_says_nothing(collection: Store) -> None:
    """P27 is not where someone collected: a collector's own country among the countries
    of their specimens agrees (+5); any other says nothing (0.5), where P17 subtracts 10."""
    plain = answer(collection, "Hooker, J.D.")[0]
    india = answer(collection, "Hooker, J.D.", [{"pid": "P27", "v": "Q668"}])[0]
    britain = answer(collection, "Hooker, J.D.", [{"pid": "P27", "v": "GB"}])[0]
    collected = answer(collection, "Hooker, J.D.", [{"pid": "P17", "v": "GB"}])[0]
    assert india["id"] == britain["id"] == plain["id"] == "person/joseph-dalton-hooker"
    assert feature(india, "citizenship_fit") == 1.0 and india["score"] > plain["score"]
    assert feature(britain, "citizenship_fit") == 0.5 and britain["score"] == plain["score"]
    assert feature(collected, "place_fit") == 0.0 and collected["score"] < plain["score"]


# -- people before name strings; placeholders; bare surnames ----------------------------------


def test_a_person_ranks_above_the_name_string_of_the_same_records(tmp_path: Path) -> None:
    """Issue 20: with country, family and year given, 'Ardoino, H.J.B.' auto-matched the name
    string 'Ardoino, H.J.B.' read from the very records the sheet came from (90) instead of
    Honoré Ardoino (IPNI 256-1, real), whose own specimens, loaded with his identifier, are
    from elsewhere. The name string's fit with its own records is no evidence: the person
    comes first, and the name string is never matched while he is proposed."""
    people = ipni_people(tmp_path / "people.csv", lambda r: r["id"] == "256-1")
    rows = ["occurrenceID,basisOfRecord,scientificName,family,countryCode,year,recordedBy,"
            "recordedByID"]  # fmt: skip
    rows += [f"urn:it:{k},PreservedSpecimen,Senecio,Asteraceae,IT,1865,Ardoino,"
             "https://www.ipni.org/a/256-1" for k in range(3)]  # fmt: skip
    rows += [f"urn:fr:{k},PreservedSpecimen,Viola,Violaceae,FR,1860,\"Ardoino, H.J.B.\","
             for k in range(3)]  # fmt: skip
    specimens = tmp_path / "specimens.csv"
    specimens.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = OxigraphStore()
    ingest_dataset(store, DatasetSpec("ardoino", (people, specimens)), minter=Minter())
    own = [{"pid": "country", "v": "FR"}, {"pid": "family", "v": "Violaceae"},
           {"pid": "collectingYear", "v": "1860"}]  # fmt: skip
    result = answer(store, "Ardoino, H.J.B.", own)
    assert result[0]["id"] == "person/256-1", result[:2]
    assert not any(c["match"] for c in result if c["id"].startswith("agent/"))
    agents = [c for c in result if c["id"].startswith("agent/")]
    assert all(c["score"] < result[0]["score"] for c in agents)


def test_no_name_string_ranks_above_a_person_it_may_be(real: Store) -> None:
    """Over every real recordedBy value, with the country, family and year of its own records:
    a name string never comes before a person whose name it could be, is never matched while
    one is proposed, and no candidate is a value that names no one ('Anon.', 's.coll.', '?')."""
    ix = index(real)
    cells = real_cells(real)
    assert len(cells) > 250
    for text, props in cells:
        for given in ([], props):
            result = answer(real, text, given)
            people = [c for c in result if c["id"].startswith("person/")]
            for c in result:
                assert not is_unknown_agent(c["name"]), (text, c["name"])
                if not c["id"].startswith("agent/"):
                    continue
                agent = ix.get(c["id"])
                assert agent is not None
                for p in people:
                    person = ix.get(p["id"])
                    assert person is not None
                    if rec.scoring._may_be(agent, person):
                        assert c["score"] < p["score"] and not c["match"], (text, c, p)


def test_placeholders_are_never_candidates(tmp_path: Path) -> None:
    """People tables hold placeholder rows too ('Sin datos', 'inconnu', 'Anon.', real values of
    the corpus): nothing that names no one is ever proposed, even for a query near it."""
    placeholders = ["Sin datos", "inconnu", "Anon.", "s.coll.", "Unknown collector",
                    "[no agent data]"]  # fmt: skip
    assert all(is_unknown_agent(p) for p in placeholders)
    path = tmp_path / "people.csv"
    rows = ["person_id,name,family_name"]
    rows += [f"p{k},{json.dumps(p)},{json.dumps(p.split()[-1])}" for k, p in
             enumerate(placeholders)]  # fmt: skip
    rows.append("datos,María Datos,Datos")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = OxigraphStore()
    ingest_dataset(store, DatasetSpec("placeholders", (path,)), minter=Minter())
    queries = ["Datos, M.", "M. Datos", "Datos", "Inconnue", "Collector, U.", "Anon, A.",
               "Datos & Inconnu", "Sin Datos, J."]  # fmt: skip
    for text in queries:
        for c in answer(store, text):
            assert not is_unknown_agent(c["name"]), (text, c)
    assert answer(store, "M. Datos")[0]["id"] == "person/datos"


def test_a_bare_surname_is_proposed_never_matched(ipni: Store) -> None:
    """IPNI's standard form of 24,177 authors is a bare surname ('Krüger', 'Spruce'): unique
    among IPNI authors, but a cell that says 'Krüger' names anyone called Krüger. Over a real
    sample of them, each is proposed and never matched; its IPNI id or its abbreviation given
    as a property still matches it."""
    ix = index(ipni)
    forms = {
        e.id: a
        for e in ix.by_id.values()
        for a in e.abbreviations[:1]
        if e.type is rec.PERSON and rec.scoring.bare_surname(a)
    }
    assert len(forms) >= 200 and {"person/5084-1", "person/9995-1"} <= forms.keys()
    for pid, form in forms.items():
        result = answer(ipni, form)
        assert any(c["id"] == pid for c in result), form
        assert not any(c["match"] for c in result), (form, result[:2])
        for prop in ({"pid": "P586", "v": pid.split("/")[1]}, {"pid": "P428", "v": form}):
            confirmed = answer(ipni, form, [prop])
            assert confirmed[0]["id"] == pid, (form, prop, confirmed[:2])
            runner = confirmed[1]["score"] if len(confirmed) > 1 else 0.0
            assert confirmed[0]["score"] == 100.0, (form, prop, confirmed[:2])
            assert confirmed[0]["match"] or runner > 100 - rec.MATCH_MARGIN, (form, prop)


# -- cells of several names ----------------------------------------------------------------------


def test_cells_of_several_names_are_answered_per_person(real: Store) -> None:
    """Over every real recordedBy value that the ingest reads as several names: it is never
    matched; each candidate says in its description which name of the cell it is for, by the
    ingest's own reading; and since the ingest made a name string of every person named, every
    such cell gets candidates."""
    validate = schema_check()
    ix = index(real)
    cells = [(t, p) for t, p in real_cells(real) if len(read_agents(t)) > 1]
    assert len(cells) >= 60
    for text, props in cells:
        names = read_agents(text)
        people = [n.written for n in names if not n.unknown and not n.organisation]
        for given in ([], props):
            result = answer(real, text, given, type=None)
            validate("reconciliation-result-batch.json", {"q0": {"result": result}})
            assert result and not any(c["match"] for c in result), (text, result[:2])
            if not people:
                continue
            for c in result:
                k, _, rest = c["description"].removeprefix("for name ").partition(" of ")
                n, _, written = rest.partition(" in the cell: ")
                assert int(n) == len(names) and names[int(k) - 1].written in written, (text, c)
            assert {c["description"].split(": ", 1)[1].split(" (")[0] for c in result} <= set(
                people
            )
            # every name the index finds someone for has a place among the first 10
            shown = {c["id"] for c in result}
            for k, name in enumerate(names, start=1):
                if name.unknown or name.organisation:
                    continue
                own = rec.scoring.person_results(ix, name.written, rec.read_props(given))
                mine = [c for c in result if c["description"].startswith(f"for name {k} of")]
                assert not own or mine or {c["id"] for c in own} & shown, (text, name)


def test_a_cell_of_names_no_one_holds_says_why() -> None:
    """Nothing found for any name of the cell: one note, never matched, that says the cell
    names several people and to split the column."""
    store = OxigraphStore()
    for text in ("H. Nouvel; M. Vannini", "Smith & Jones", "A. B. et C. D."):
        result = answer(store, text)
        assert len(result) == 1 and result[0]["id"] == rec.schema.NOTE_SEVERAL, result
        assert result[0]["match"] is False and result[0]["score"] == 0
        assert "2 names" in result[0]["name"] and "split the column" in result[0]["name"]


def test_values_that_are_not_what_their_property_is_are_ignored(collection: Store) -> None:
    """An ORCID sent as the IPNI id, a country that is none, a year that is no year: each is
    set aside as unreadable (and logged), and the answer is the one without it."""
    props = rec.read_props(
        [
            {"pid": "P586", "v": "0000-0002-1825-0097"},
            {"pid": "P27", "v": "Atlantis"},
            {"pid": "P569", "v": "unknown"},
            {"pid": "P214", "v": "viaf"},
        ]
    )
    assert props.count() == 0 and props.unusable == ["ipni", "citizenship", "birthYear", "viaf"]
    plain = answer(collection, "Hooker, J.D.")
    noisy = answer(collection, "Hooker, J.D.", [{"pid": "P586", "v": "0000-0002-1825-0097"}])
    assert noisy == plain
