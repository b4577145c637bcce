"""Agent strings of the real corpus: every one accounted for, and hand-checked readings.

``tests/data/names/agent-strings.tsv`` holds every distinct agent string of the archives in
``tests/data/real`` (3,206; ``build_corpus.py`` writes it, and a test here checks it is fresh).
``tests/data/names/readings.tsv`` gives, for 596 of them and for the hard cases of issue 16, the
reading a person makes: for each agent its family name and its given names or initials,
ORGANISATION: and its name as written, or UNKNOWN. Its README says how it was made; docs/names.md has the figures.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest

from collectomics.iri import Minter
from collectomics.linking.matcher import fold, parse_name
from collectomics.mapping import names
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.names import read_agents, read_name
from collectomics.mapping.specimens import map_specimen
from collectomics.model import IRI, nquad
from collectomics.vocab import COL, FOAF, PROV, RDF, RDFS, ROLE
from helpers import REAL

HERE = Path(__file__).resolve().parent / "data" / "names"
IRI_SPECIMEN = IRI("https://w3id.org/collectomics/specimen/x")
#: the share of hand-checked strings that must be read exactly as expected
TARGET = 0.98


def _table(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _unescape(shown: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), shown)


STRINGS = [_unescape(r["string"]) for r in _table("agent-strings.tsv")]
READINGS = _table("readings.tsv")


# --- the corpus ----------------------------------------------------------------------------


def test_the_corpus_is_every_agent_string_of_the_real_archives() -> None:
    sys.path.insert(0, str(HERE))
    import build_corpus

    assert len(STRINGS) >= 3000
    assert len(set(STRINGS)) == len(STRINGS)
    found: dict[str, dict] = {}
    build_corpus._archives(found)
    build_corpus._bloodhound(found)
    build_corpus._labels(found)
    build_corpus._idigbio(found)
    assert set(found) == set(STRINGS), "agent-strings.tsv is stale: run build_corpus.py"


def test_the_hand_checked_readings_are_well_formed() -> None:
    assert len(READINGS) >= 500
    strings = [r["string"] for r in READINGS]
    assert len(set(strings)) == len(strings), "each string once"
    real = set(STRINGS)
    for row in READINGS:
        assert row["source"].strip() and row["case"].strip(), row
        if row["source"] != "constructed from issue 16":
            assert row["string"] in real, f"{row['string']!r} is not in agent-strings.tsv"
        for agent in row["reading"].split(" || "):
            assert (
                agent == "UNKNOWN"
                or agent.startswith(_ORGANISATION)
                or agent.count(" | ") == 1
                or agent.endswith(" |")
            ), row
    # the hard cases of the issue are there
    cases = {r["case"] for r in READINGS}
    assert {"honorific", "particle", "surname first", "initial E. I. Y.", "separator"} <= cases
    assert sum(r["reading"] == "UNKNOWN" for r in READINGS) >= 15
    assert sum(_ORGANISATION in r["reading"] for r in READINGS) >= 20
    assert any(not r["string"].isascii() and re.search("[А-я]", r["string"]) for r in READINGS)


# --- readings ---------------------------------------------------------------------------------


_ORGANISATION = "ORGANISATION: "


def _given_key(given: str) -> str:
    """Initials compare with their dots and spaces folded: 'B.B.' is 'B. B.'."""
    return re.sub(r"[.\s]+", " ", given).strip()


def _expected(reading: str) -> list[tuple[str, str] | str]:
    out: list[tuple[str, str] | str] = []
    for agent in reading.split(" || "):
        if agent == "UNKNOWN":
            out.append("UNKNOWN")
        elif agent.startswith(_ORGANISATION):
            out.append(agent)
        else:
            family, _, given = agent.partition(" |")
            out.append((" ".join(family.split()), _given_key(given)))
    return out


def _read(value: str) -> list[tuple[str, str] | str]:
    out: list[tuple[str, str] | str] = []
    for name in read_agents(value):
        if name.unknown:
            out.append("UNKNOWN")
        elif name.organisation:
            out.append(_ORGANISATION + name.written)
        else:
            parts = read_name(name.written)
            out.append((" ".join(parts.family.split()), _given_key(parts.given)))
    return out


def test_hand_checked_strings_are_read_as_expected() -> None:
    """At least 98 % exactly right; every failure is printed (docs/names.md lists them)."""
    failures = []
    for row in READINGS:
        got = _read(row["string"])
        if got != _expected(row["reading"]):
            shown = " || ".join(
                "UNKNOWN"
                if n.unknown
                else _ORGANISATION + n.written
                if n.organisation
                else f"{read_name(n.written).family} | {read_name(n.written).given}"
                for n in read_agents(row["string"])
            )
            failures.append(
                f"{row['string']!r}\n    expected {row['reading']}\n    read     {shown}"
            )
    share = 1 - len(failures) / len(READINGS)
    print(f"\n{len(READINGS) - len(failures)} of {len(READINGS)} read as expected ({share:.4f})")
    print("\n".join(failures))
    assert share >= TARGET, f"{share:.4f} < {TARGET}:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    ("value", "family", "given"),
    [
        ("Vanden Berghen C.", "Vanden Berghen", "C."),
        ("Koehler René", "Koehler", "René"),
        ("d'Ansembourg V.", "d'Ansembourg", "V."),
        ("Remacle Rome O.S.B. (Dom)", "Rome", "Remacle"),
        ("cl. Arnold", "Arnold", ""),
        ("Cosson, E.", "Cosson", "E."),
    ],
)
def test_the_names_the_issue_lists(value: str, family: str, given: str) -> None:
    (name,) = read_agents(value)
    assert not name.unknown
    assert read_name(name.written) == names.NameParts(family, given)


def test_initials_that_look_like_particles_keep_their_evidence() -> None:
    assert parse_name("Cosson, E.").given == ("e",)
    assert parse_name("Manuel Rimachi Y.").family == "rimachi y"
    assert parse_name("I. Boivin").given == ("i",)
    assert parse_name("de la Cruz, J.").family == "de la cruz"  # a real particle stays one


def test_folding_keeps_every_letter_and_transliterates() -> None:
    assert fold("Øgle") == "ogle"
    assert fold("ØGLE") == "ogle"
    assert fold("Æbelø") == "aebelo"
    assert fold("Łukasiewicz") == "lukasiewicz"
    assert fold("Ольга Панина") == "olga panina"
    assert fold("Γ. Παπαδόπουλος") == fold("Γ. ΠΑΠΑΔΌΠΟΥΛΟΣ") == "g papadopoylos"
    # the name as written is what the graph keeps
    assert names.normalise("Ольга Панина") == "ольга панина"


# --- every agent string is accounted for ---------------------------------------------------


def test_every_non_empty_string_yields_an_agent_or_an_unknown_agent() -> None:
    """And an organisation among the agents ('Zoological Survey of India') is never read into
    family and given names, so the matcher can propose no person for it."""
    unknown = organisations = 0
    for value in STRINGS:
        found = read_agents(value)
        assert found, value
        if found[0].unknown:
            unknown += 1
            assert found == [names.SplitName(value.strip(), unknown=True)], value
            assert not parse_name(value).family, f"{value!r} could be matched to a person"
        else:
            assert all(n.written and not n.unknown for n in found), value
        for name in found:
            if name.organisation:
                organisations += 1
                assert names.is_organisation(name.written), name
                assert not parse_name(name.written).family, f"{name!r} read as a person"
                assert not parse_name(name.written).given, f"{name!r} read as a person"
                assert read_name(name.written).family == " ".join(name.written.split())
        if all(n.organisation for n in found):
            assert not parse_name(value).family, f"{value!r} could be matched to a person"
    assert 0 < unknown < len(STRINGS) // 10
    assert 15 <= organisations < len(STRINGS) // 100


def _graph(mapped: Mapped) -> set[tuple[str, str, str]]:
    """The record's triples, tuples and text alike, as N-Triples terms."""
    text = "".join(nquad((s, p, o, None)) for s, p, o in [*mapped.triples, *mapped.once])
    text += "".join(mapped.lines or [])
    return {
        (t.subject.value, t.predicate.value, t.object.value)
        for t in ox.parse(text.encode("utf-8"), ox.RdfFormat.N_TRIPLES)
    }


@pytest.mark.parametrize("ntriples", [False, True], ids=["tuples", "text"])
def test_every_string_keeps_its_agents_roles_and_order_when_mapped(ntriples: bool) -> None:
    """Each string of the corpus as recordedBy and identifiedBy of a record: one role node per
    agent read, in order, with the name as written; an unknown agent keeps the whole string."""
    minter = Minter()
    ctx = Context("names", minter, ntriples=ntriples)
    a, typ, label = str(PROV.agent), str(RDF.type), str(RDFS.label)
    order_p, written_p, role_p = str(COL.order), str(COL.nameAsWritten), str(PROV.hadRole)
    unknown_count = 0
    for n, value in enumerate(STRINGS):
        record = {"occurrenceID": f"urn:names:{n}", "recordedBy": value, "identifiedBy": value}
        mapped = map_specimen(record, ctx)
        assert not mapped.rejected
        triples = _graph(mapped)
        by_subject: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for s, p, o in triples:
            by_subject[s][p].add(o)
        expected = read_agents(value)
        for role in (ROLE.collector, ROLE.determiner):
            nodes = [s for s, props in by_subject.items() if str(role) in props.get(role_p, ())]
            assert len(nodes) == len(expected), (value, role)
            ordered = sorted(nodes, key=lambda s: int(next(iter(by_subject[s][order_p]))))
            orders = [int(next(iter(by_subject[s][order_p]))) for s in ordered]
            assert orders == list(range(1, len(expected) + 1)), value
            for node, name in zip(ordered, expected, strict=True):
                assert by_subject[node][written_p] == {name.written}, value
                (agent,) = by_subject[node][a]
                kinds = by_subject[agent][typ]
                if name.unknown:
                    assert str(COL.UnknownAgent) in kinds and str(COL.NameStringAgent) not in kinds
                    assert by_subject[agent][label] == {value.strip()}
                elif name.organisation:  # never a name-string agent: linking never sees it
                    assert kinds == {str(FOAF.Organization), str(PROV.Agent)}, value
                    assert by_subject[agent][str(FOAF.name)] == {name.written}, value
                else:
                    assert str(COL.NameStringAgent) in kinds and str(COL.UnknownAgent) not in kinds
                    assert str(FOAF.Organization) not in kinds, value
        unknown_count += mapped.unknown_agents
        assert mapped.unknown_agents == (2 if expected[0].unknown else 0), value
        assert mapped.organisation_agents == 2 * sum(n.organisation for n in expected), value
    assert unknown_count > 0


# --- unknown agents in the ingest, publisher links kept -------------------------------------


def test_the_ingest_report_counts_unknown_agents_alike_in_both_writers(tmp_path: Path) -> None:
    """The 2015 finch download names no one in 12 agent terms ('?' twice as collector,
    '[no agent data]' six times as determiner and four times as georeferencer): both the ingest
    and the sharded export count 12, and the store holds 12."""
    from collectomics.ingest import ingest_files
    from collectomics.ingest.shards import export_shards
    from collectomics.store import OxigraphStore

    archive = REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip"
    store = OxigraphStore()
    [ingested] = ingest_files(store, [archive], minter=Minter())
    [exported], _ = export_shards([archive], tmp_path / "out", 2, minter=Minter(), batch_size=50)
    assert ingested.unknown_agents == exported.unknown_agents == 12
    assert "12 unknown agents" in ingested.summary()
    sparql = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?a a <" + str(COL.UnknownAgent) + "> } }"
    assert int(next(store.query(sparql).rows())["n"].value) == 12  # type: ignore[union-attr]


def test_the_ingest_report_counts_organisations_alike_in_both_writers(tmp_path: Path) -> None:
    """pydwca's GBIF results name organisations in 4 agent roles ('Zoological Survey of India'
    twice, 'COLMAN + PARTY', and the museum of 'Larson, Dr Helen - NT Museum of Arts &
    Sciences'): both the ingest and the sharded export count 4, the store holds those 4 roles
    played by a foaf:Organization, and no name-string agent is named so."""
    from collectomics.ingest import ingest_files
    from collectomics.ingest.shards import export_shards
    from collectomics.store import OxigraphStore

    archive = REAL / "pydwca-gbif-results" / "gbif-results.zip"
    store = OxigraphStore(tmp_path / "store")
    [ingested] = ingest_files(store, [archive], minter=Minter())
    [exported], _ = export_shards([archive], tmp_path / "out", 2, minter=Minter(), batch_size=50)
    assert ingested.organisation_agents == exported.organisation_agents == 4
    assert "4 organisations as agents" in ingested.summary()
    rows = store.query(
        "SELECT ?name (COUNT(?role) AS ?n) WHERE { GRAPH ?g { ?role <" + str(PROV.agent) + "> ?a . "
        "?a a <" + str(FOAF.Organization) + "> ; <" + str(FOAF.name) + "> ?name } } GROUP BY ?name"
    ).rows()  # type: ignore[union-attr]
    assert {(r["name"].value, int(r["n"].value)) for r in rows} == {
        ("Zoological Survey of India", 2),
        ("PARTY", 1),
        ("NT Museum of Arts & Sciences", 1),
    }
    ask = "ASK { GRAPH ?g { ?a a <" + str(COL.NameStringAgent) + "> ; ?p ?name . "
    ask += 'FILTER(CONTAINS(STR(?name), "Survey")) } }'
    assert not store.query(ask).boolean  # type: ignore[union-attr]


def test_cl_arnold_is_an_agent_and_keeps_the_publishers_wikidata_link() -> None:
    """'cl. Arnold' gave no agent, so the recordedByID QID paired with it was lost."""
    ctx = Context("ds", Minter())
    record = {
        "occurrenceID": "urn:x:1",
        "recordedBy": "cl. Arnold",
        "recordedByID": "http://www.wikidata.org/entity/Q78570",
    }
    mapped = map_specimen(record, ctx)
    triples = {(str(s), str(p), str(o)) for s, p, o in [*mapped.triples, *mapped.once]}
    targets = {o for s, p, o in triples if p.endswith("annotatedTarget")}
    assert targets == {"http://www.wikidata.org/entity/Q78570"}
    assert mapped.unknown_agents == 0
    names_ = {o.value for s, p, o in [*mapped.triples] if p == COL.nameAsWritten}
    assert names_ == {"cl. Arnold"}


def test_an_identification_history_row_that_names_no_one_has_an_unknown_agent() -> None:
    from collectomics.mapping.extensions import map_identification

    dwc = "http://rs.tdwg.org/dwc/terms/"
    mapped = map_identification(
        {dwc + "identifiedBy": "[no agent data]", dwc + "scientificName": "Bufo"},
        IRI_SPECIMEN,
        Context("ds", Minter()),
        1,
    )
    kinds = {str(o) for s, p, o in mapped.triples if p == RDF.type}
    assert str(COL.UnknownAgent) in kinds and str(COL.NameStringAgent) not in kinds
    assert mapped.unknown_agents == 1
    assert not [t for t in mapped.triples if "identifiedBy" in str(t[1]) and "dwc/iri" in str(t[1])]


def test_stats_counts_unknown_agents_and_organisations() -> None:
    """`collectomics stats` counts the unknown agents and the organisations the ingest made: on
    the finch download, the 12 values that name no one; on the pydwca download, its
    organisations (each a foaf:Organization node)."""
    from collectomics.analysis.stats import graph_stats
    from collectomics.ingest import ingest_files
    from collectomics.store import OxigraphStore

    store = OxigraphStore()
    finch = REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip"
    [report] = ingest_files(store, [finch], minter=Minter())
    stats = graph_stats(store, Minter())
    assert stats.unknown_agents == report.unknown_agents == 12
    assert stats.organisations == 0
    ingest_files(store, [REAL / "pydwca-gbif-results" / "gbif-results.zip"], minter=Minter())
    sparql = "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?o a <http://xmlns.com/foaf/0.1/Organization> }"
    organisations = int(next(store.query(sparql).rows())["n"].value)  # type: ignore[union-attr]
    assert graph_stats(store, Minter()).organisations == organisations > 0
