"""Random records of awkward values through the record mapper: it must map each one (warnings
allowed) or reject it with a reason, never raise, and write only triples N-Quads can hold. Two
bugs it found: a name string that raised ValueError ('A. K. & S. K. De') and a number cell
that exhausted memory ('1e40018620501')."""

from __future__ import annotations

import random

from collectomics.iri import Minter
from collectomics.mapping.common import Context
from collectomics.mapping.specimens import map_specimen
from collectomics.model import nquad

TERMS = (
    "occurrenceID catalogNumber basisOfRecord eventDate year month day verbatimEventDate "
    "startDayOfYear endDayOfYear decimalLatitude decimalLongitude coordinateUncertaintyInMeters "
    "countryCode country stateProvince locality recordedBy recordedByID identifiedBy "
    "identifiedByID dateIdentified scientificName individualCount minimumElevationInMeters "
    "maximumElevationInMeters institutionCode collectionCode institutionID typeStatus "
    "georeferencedBy gbifID datasetKey license modified eventTime sex recordNumber "
    "verbatimLatitude verbatimLongitude geodeticDatum taxonRank kingdom issue"
).split()

#: values that have broken parsers somewhere: numbers past any float, impossible dates,
#: control characters, IRIs cut short, names without surnames, very long strings
SOUP = [
    *("", " ", "NaN", "inf", "-0", "1e400", "1E-400", "1e40018620501", "9" * 120, "1" * 400 + ".0"),
    *("9999-99-99", "1900-02-29", "2000-02-29", "2001/2000", "0000-00-00", "1850-06-15T25:61:61"),
    *("-0050-01-01", "+12000", "1862?", "[1862]", "ca. 1862", "1 V 1862", "20/13/1862", "/", "//"),
    *("-91", "181", "90.0000000001", "1,5", "12.5.3", "Ä", "名字", "😀", "\u200b", "\ufeff"),
    *("\x00", "\x1f", "a\nb", "a\rb", "\\", '"', "<", ">", "{", "}", "`", "^", "|", "x" * 5000),
    *("http://", "https://", "urn:", "https://orcid.org/0000-0002-1825-0097", "Q42", "wd:Q42"),
    *("https://orcid.org/0000-0000-0000-000X", "http://www.wikidata.org/entity/Q"),
    *("Smith, J.; Jones & Brown", "A. K. & S. K. De", "K. R. & C. C. De", "et al.", "Anon."),
    *("s.n.", "?", "-", "leg. ", "det.", ";;;", "M. Coll i J. Vigo", "PreservedSpecimen"),
    *("FOSSIL_SPECIMEN", "holotype", "CC-BY 4.0", "ZERO_COORDINATE;COUNTRY_MISMATCH", "US", "XX"),
]


def test_random_awkward_records_map_or_are_rejected_never_raise() -> None:
    rng = random.Random(7)
    ctx = Context(minter=Minter(), dataset_id="fuzz")
    mapped = rejected = 0
    for _ in range(4_000):
        record = {}
        for term in rng.sample(TERMS, rng.randint(0, 20)):
            value = rng.choice(SOUP)
            record[term] = value + rng.choice(SOUP) if rng.random() < 0.2 else value
        out = map_specimen(record, ctx)
        for triple in out.triples:
            assert nquad((*triple, None)).endswith(" .\n")
        if out.rejected:
            assert any(p.severity == "error" for p in out.problems), record
            rejected += 1
        else:
            mapped += 1
    assert mapped > 1_000 and mapped + rejected == 4_000
