"""Match scoring: name parsing, the given-name veto, dates widened by precision, the decision."""

from __future__ import annotations

from datetime import date

from collectomics.linking.matcher import (
    ACCEPT_AT,
    AgentEvidence,
    Candidate,
    FuzzyDate,
    given_feature,
    name_variants,
    parse_name,
    rank,
)


def _agent(name: str, *years: int, **kw: object) -> AgentEvidence:
    a = AgentEvidence("urn:agent", name, written={name}, **kw)  # type: ignore[arg-type]
    if years:
        a.earliest, a.latest = date(min(years), 1, 1), date(max(years), 12, 31)
    return a


def test_names_parse_in_every_common_order() -> None:
    for written in (
        "Klitgaard, B.B.",
        "B.B.  Klitgaard",
        "BB Klitgaard",
        "G.P.Lewis",
        "Lewis.G.P.",
    ):
        p = parse_name(written)
        assert len(p.given) == 2 and p.family in {"klitgaard", "lewis"}, written
    assert parse_name("J. van der Berg").family == "van der berg"
    assert parse_name("Cardinal-McTeague, Warren").family == "cardinal mcteague"


def test_variants_cover_initials_surname_first_and_abbreviations() -> None:
    v = name_variants(
        "Bente Bang Klitgaard", aliases=["Klitgaard, Bente Bang"], abbreviations=["Klitg."]
    )
    assert {"b b klitgaard", "klitgaard b b", "b klitgaard", "klitgaard b", "klitg"} <= v


def test_given_names_fit_or_veto() -> None:
    john = Candidate("urn:c", "wikidata", "John Smith")
    jay = Candidate("urn:c", "wikidata", "Jay Smith")
    assert given_feature(parse_name("J. Smith"), john)[0].value > 0  # J. fits John
    assert given_feature(parse_name("John Smith"), john)[0].value == 1.0
    assert given_feature(parse_name("Jim Smith"), jay)[1]  # Jim does not fit Jay: a veto
    assert (
        given_feature(parse_name("Jim Smith"), Candidate("u", "wikidata", "James Smith"))[0].value
        == 1.0
    )
    assert given_feature(parse_name("Smith"), john)[0].value == 0.4  # nothing to compare


def test_dates_are_widened_by_their_precision() -> None:
    assert FuzzyDate(1850, 8).bounds() == (1850, 1859)
    assert FuzzyDate(1900, 7).bounds() == (1801, 1900)
    dead = Candidate("urn:dead", "wikidata", "Charles Blanche", death=FuzzyDate(1887, 9))
    decade = Candidate("urn:decade", "wikidata", "Charles Blanche", death=FuzzyDate(1880, 8))
    agent = _agent("C. Blanche", 1889)
    by = {s.candidate.iri: s for s in rank(agent, [dead, decade], tolerance=0)}
    assert by["urn:dead"].status == "rejected" and "after death" in by["urn:dead"].veto
    assert by["urn:decade"].status != "rejected"  # died in the 1880s: 1889 is possible


def test_high_confidence_rule_and_margin() -> None:
    c = Candidate(
        "urn:cesar", "wikidata", "Cèsar Blanché", abbreviations=["C.Blanché"], birth=FuzzyDate(1958)
    )
    other = Candidate("urn:other", "wikidata", "Charles Blanché", death=FuzzyDate(1887))
    ranked = rank(_agent("Cèsar Blanché", 1983, countries={"ES"}), [c, other])
    top = ranked[0]
    assert top.candidate.iri == "urn:cesar" and top.score >= ACCEPT_AT and top.status == "accepted"
    assert {f.name for f in top.features} == {
        "family",
        "given",
        "alias",
        "dates",
        "countries",
        "taxa",
        "cocollectors",
        "institution",
        "identifier",
    }
    # initials only: never accepted without a human
    assert rank(_agent("C. Blanché", 1983), [c])[0].status == "proposed"
    # two equally good people: proposed, not accepted
    twin = Candidate("urn:twin", "wikidata", "Cèsar Blanché", birth=FuzzyDate(1958))
    assert {s.status for s in rank(_agent("Cèsar Blanché", 1983), [c, twin])} == {"proposed"}


def test_an_agent_that_names_no_one_is_never_proposed() -> None:
    """'Anon.' folds like 'Añón' (a real botanist): it must get no candidate at all."""
    anon = Candidate("urn:anon", "wikidata", "Sebastián Añón", aliases=["Añón", "Anon"])
    for name in ("Anon.", "anon", "s.coll.", "?", "[no agent data]", "1234567"):
        assert rank(AgentEvidence("urn:agent", name, written={name}), [anon]) == [], name
        assert not parse_name(name).family, name
    assert rank(AgentEvidence("urn:agent", "Añón", written={"Añón"}), [anon])  # still found


def test_an_organisation_is_never_proposed_as_a_person() -> None:
    """'Botanical Survey of India' was read as given names 'Botanical Survey of' and family name
    'India'; 'Acme Seeds Inc.' as a person called Inc. Candidates spelled like those readings
    (and like the organisations themselves) must get nothing."""
    people = [
        Candidate("urn:india", "wikidata", "Botanical India", aliases=["India", "B. India"]),
        Candidate("urn:team", "wikidata", "Seinet Team", aliases=["Team", "S. Team"]),
        Candidate("urn:inc", "wikidata", "Acme Seeds Inc", aliases=["Inc", "A. S. Inc"]),
        Candidate("urn:inb", "wikidata", "Inb", aliases=["INB"]),
        Candidate("urn:society", "wikidata", "Bryological Society", aliases=["Society"]),
    ]
    for name in (
        "Botanical Survey of India",
        "Herbarium of the University of X",
        "Staff of the Museum",
        "Expedition 1912",
        "Bryological Society",
        "SEINet Team",
        "INB",
        "Acme Seeds Inc.",
        "Zoological Survey of India",
    ):
        assert rank(AgentEvidence("urn:agent", name, written={name}), people) == [], name
        assert not parse_name(name).family and not parse_name(name).given, name
    # a person is still a person
    smith = Candidate("urn:smith", "wikidata", "John Smith", aliases=["J. Smith"])
    assert rank(AgentEvidence("urn:agent", "J. Smith", written={"J. Smith"}), [smith])
