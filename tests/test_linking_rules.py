"""Each matching rule of issue 19 on a case from real data: the people are IPNI's own author
records (tests/data/real/ipni-authors-wikidata), turned into candidates exactly as the Wikidata
stand-in serves them; the agents are written as the issue's real records wrote them."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from collectomics.linking.matcher import (
    AgentEvidence,
    Candidate,
    FuzzyDate,
    Scored,
    agreements,
    identifier_property,
    rank,
)
from collectomics.linking.standin import entity_from_ipni, usual_names
from collectomics.linking.wikidata import candidate_from_entity

REAL = Path(__file__).resolve().parent / "data" / "real" / "ipni-authors-wikidata"
#: IPNI id -> QID (from wikidata_P586_ipni_author.tsv) of the people these tests use
PEOPLE = {
    "256-1": "Q5901611",  # Honoré Jean Baptiste Ardoino (1819-1874)
    "6611-1": "Q21521673",  # Albert Hanford Moore (1883-)
    "35892-1": "Q5927145",  # Jason Randall Grant (1969-)
    "30947-1": "Q18982607",  # Robert H. Archer (1965-)
    "30946-1": "",  # Alan W. Archer (1930-), mycologist
    "33709-1": "Q36576948",  # H. Nouvel, phycologist in IPNI
    "20047173-1": "Q60323010",  # Matias Köhler, ORCID 0000-0003-1863-6309 in IPNI's notes
    "1224-1": "",  # Jörgen Brunchorst (1862-1917), Norway
    "36375-1": "Q18986228",  # Bente Bang Klitgaard (1959-)
}
KLITGAARD_ORCID = "0000-0002-8509-0556"  # from the Bloodhound attributions


@pytest.fixture(scope="module")
def people() -> dict[str, Candidate]:
    out: dict[str, Candidate] = {}
    with gzip.open(REAL / "ipni_authors.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            if '"id": "' not in line:
                continue
            rec = json.loads(line)
            if rec["id"] in PEOPLE:
                qid = PEOPLE[rec["id"]] or "Q" + rec["id"].replace("-", "")
                out[rec["id"]] = candidate_from_entity(entity_from_ipni(qid, rec))
    assert len(out) == len(PEOPLE)
    return out


def _agent(name: str, *years: int, **kw: object) -> AgentEvidence:
    a = AgentEvidence("urn:agent", name, written={name}, **kw)  # type: ignore[arg-type]
    if years:
        a.earliest, a.latest = date(min(years), 1, 1), date(max(years), 12, 31)
    return a


def _by(s: Scored) -> dict[str, float]:
    return {f.name: f.value for f in s.features}


def test_dates_veto_only_beyond_the_tolerance(people: dict[str, Candidate]) -> None:
    """Honoré Ardoino died in 1874; an 1876 record is plausibly his (published posthumously,
    mis-dated): within the 5-year tolerance it is not vetoed, only marked down."""
    ardoino = people["256-1"]
    (s,) = rank(_agent("H. Ardoino", 1876), [ardoino])
    assert not s.veto and s.status != "rejected" and _by(s)["dates"] == 0.6
    assert "within 5 years" in s.feature("dates").note
    (strict,) = rank(_agent("H. Ardoino", 1876), [ardoino], tolerance=0)
    assert strict.status == "rejected" and "after death" in strict.veto
    (late,) = rank(_agent("H. Ardoino", 1880), [ardoino])
    assert late.status == "rejected" and "tolerance 5 years" in late.veto
    (inside,) = rank(_agent("H. Ardoino", 1850), [ardoino])
    assert _by(inside)["dates"] == 1.0


def test_an_open_life_ends_with_a_plausible_working_life(people: dict[str, Candidate]) -> None:
    """A. H. Moore, born 1883, no death date: a 2022 record is not his (it scored dates = 1)."""
    moore = people["6611-1"]
    (s,) = rank(_agent("A. Moore", 2022), [moore])
    assert s.status == "rejected" and "after a plausible working life" in s.veto
    (ok,) = rank(_agent("A. Moore", 1950), [moore])
    assert _by(ok)["dates"] == 1.0 and "assumed 10-90" in ok.feature("dates").note
    # each date's precision widens the life: born in the 1880s (precision 8), 1880-1889, works
    # until 1979 at most; 1984 is within the tolerance, 1985 beyond it
    decade = replace(moore, birth=FuzzyDate(1880, 8))
    assert _by(rank(_agent("A. Moore", 1979), [decade])[0])["dates"] == 1.0
    assert _by(rank(_agent("A. Moore", 1984), [decade])[0])["dates"] == 0.6
    assert rank(_agent("A. Moore", 1985), [decade])[0].status == "rejected"
    # only a death known: working from the age of 10 of someone who died at 90 at most
    ardoino = people["256-1"]
    dead_only = replace(ardoino, birth=None)
    assert rank(_agent("H. Ardoino", 1788), [dead_only])[0].status == "rejected"
    assert _by(rank(_agent("H. Ardoino", 1794), [dead_only])[0])["dates"] == 1.0


def test_rule_b_needs_an_agreement_beyond_the_name(people: dict[str, Candidate]) -> None:
    """iNaturalist observers 'Jason Grant' and 'Robert Archer' were accepted as the botanists
    J.R. Grant (1969-) and R.H. Archer (1965-) on the name alone."""
    grant, archer, alan = people["35892-1"], people["30947-1"], people["30946-1"]
    for name, who, others in (("Jason Grant", grant, []), ("Robert Archer", archer, [alan])):
        # an observation, with plant records: rule (b) is off
        observed = _agent(name, 2019, bases={"humanobservation"}, fields={"plants"})
        top = rank(observed, [who, *others])[0]
        assert top.candidate is who and top.status == "proposed", (name, top.rule)
        # a specimen, but nothing beyond the name (an open life is no independent evidence)
        bare = rank(_agent(name, 2019, bases={"preservedspecimen"}), [who, *others])[0]
        assert bare.status == "proposed" and agreements(bare) == [], name
        # a specimen of a plant: the kingdom agrees, so the only plausible person is accepted
        plant = _agent(name, 2019, bases={"preservedspecimen"}, fields={"plants"})
        top = rank(plant, [who, *others])[0]
        assert top.status == "accepted" and "agrees on taxa" in top.rule, (name, top.rule)


def test_taxa_count_against_whatever_the_kingdom(people: dict[str, Candidate]) -> None:
    """H. Nouvel the crustacean collector was proposed as the phycologist at 0.82, with no
    penalty for his animal records."""
    nouvel = people["33709-1"]
    (animal,) = rank(_agent("H. Nouvel", 1950, fields={"animals"}), [nouvel])
    (plant,) = rank(_agent("H. Nouvel", 1950, fields={"plants"}), [nouvel])
    assert _by(animal)["taxa"] == 0.2 and _by(plant)["taxa"] == 1.0
    assert animal.score < plant.score and animal.status != "accepted"
    zoologist = Candidate(
        "urn:zoologist", "wikidata", "Henri Nouvel", fields={"animals"}, birth=nouvel.birth
    )
    (z,) = rank(_agent("H. Nouvel", 1950, fields={"animals"}), [zoologist])
    assert _by(z)["taxa"] == 1.0  # animals count for a zoologist as plants do for a botanist


def test_citizenship_is_not_a_place_collected(people: dict[str, Candidate]) -> None:
    """Jörgen Brunchorst, Norwegian (IPNI's country, served as P27), collecting in Monaco."""
    brunchorst = people["1224-1"]
    assert brunchorst.citizenship == {"NO"} and not brunchorst.countries
    (s,) = rank(_agent("J. Brunchorst", 1890, countries={"MC"}), [brunchorst])
    assert _by(s)["countries"] == 0.5  # nothing known either way, not 0.2 against


def test_a_differing_publisher_identifier_vetoes_a_shared_one_confirms(
    people: dict[str, Candidate],
) -> None:
    """Matias Köhler's item carries his ORCID (IPNI's notes). A publisher that gives another
    ORCID for the name (here Bente Klitgaard's, from the Bloodhound attributions) vetoes him,
    with the reason; his own ORCID confirms him, decided on the publisher's word."""
    kohler = people["20047173-1"]
    assert kohler.identifiers["P496"] == {"0000-0003-1863-6309"}
    wrong = _agent("Matias Köhler", 2020, identifiers={"P496": {KLITGAARD_ORCID}})
    (s,) = rank(wrong, [kohler])
    assert s.status == "rejected" and s.score <= 0.2
    assert KLITGAARD_ORCID in s.veto and "0000-0003-1863-6309" in s.veto
    right = _agent("M. Köhler", identifiers={"P496": {"0000-0003-1863-6309"}})
    (ok,) = rank(right, [kohler])
    assert ok.status == "accepted" and ok.by == "publisher" and "ORCID iD" in ok.rule
    # an IPNI id the publisher gave counts the same way
    ipni = _agent("B.B. Klitgaard", 1995, identifiers={"P586": {"20030899-1"}})
    (k,) = rank(ipni, [people["36375-1"]])
    assert k.status == "rejected" and "IPNI author ID 20030899-1" in k.veto


def test_identifiers_a_publisher_writes_name_their_property() -> None:
    """As mapping.agentids normalises them; Bionomia pages name a Wikidata item or an ORCID."""
    assert identifier_property("http://viaf.org/viaf/170367321") == ("P214", "170367321")
    assert identifier_property("https://orcid.org/0000-0003-1863-6309") == (
        "P496",
        "0000-0003-1863-6309",
    )
    assert identifier_property("https://www.ipni.org/a/20047173-1") == ("P586", "20047173-1")
    assert identifier_property("https://www.biodiversitylibrary.org/creator/8139") == (
        "P4081",
        "8139",
    )
    harvard = "https://kiki.huh.harvard.edu/databases/botanist_search.php?mode=details&id=44081"
    assert identifier_property(harvard) == ("P6264", "44081")
    assert identifier_property("https://bionomia.net/Q60323010") == ("item", "Q60323010")
    assert identifier_property("https://example.org/people/1") is None
    # the forms herbaria publish (BGBM, Meise): IPNI's old author pages, ISNI
    old = "http://www.ipni.org/ipni/idAuthorSearch.do?id=36543-1"
    assert identifier_property(old) == ("P586", "36543-1")
    assert identifier_property("https://isni.org/isni/0000000394023651") == (
        "P213",
        "0000000394023651",
    )
    uuid = "http://purl.oclc.org/net/edu.harvard.huh/guid/uuid/472c372a-772d-4fcf-990e-5fd272017bce"
    assert identifier_property(uuid) is None


def test_ipni_bracketed_usual_names_are_aliases() -> None:
    """IPNI writes the usual form of a given name in brackets; the stand-in serves the plain
    forename as the label and each usual form as an alias (1,150 IPNI authors have one)."""
    assert usual_names("Carlo Pietro Stefano (Stephen)") == (
        "Carlo Pietro Stefano",
        ["Carlo Pietro Stephen"],
    )
    assert usual_names("Winsome Fanny ('Buddy')") == ("Winsome Fanny", ["Winsome Buddy"])
    count = 0
    with gzip.open(REAL / "ipni_authors.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            if "(" not in (rec.get("forename") or ""):
                continue
            e = entity_from_ipni("Q1", rec)
            label = e["labels"]["en"]["value"]
            assert "(" not in label and ")" not in label, label
            aliases = [a["value"] for a in e["aliases"].get("en", [])]
            plain, usual = usual_names(rec["forename"])
            assert label == f"{plain} {rec['surname']}".strip(), label
            assert all(f"{u} {rec['surname']}" in aliases for u in usual), rec["forename"]
            count += bool(usual)
    assert count >= 1000
