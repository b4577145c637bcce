"""map_specimen writes the same triples as tuples and as N-Triples text (Context.ntriples).

The ingest asks for text (it is a third cheaper to produce); tests and other callers read
tuples. Both come from one function, and these tests hold them to the same graph and the same
problems on synthetic records and on hand-made records that reach every branch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.specimens import map_specimen
from collectomics.model import nquad

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic import COLUMNS, records  # noqa: E402


def _lines(mapped: Mapped) -> set[str]:
    out = {nquad((s, p, o, None)) for s, p, o in mapped.triples}
    for block in mapped.lines or []:
        out.update(line + "\n" for line in block.splitlines())
    out.update(nquad((s, p, o, None)) for s, p, o in mapped.once)
    return out


def _both(record: dict[str, str]) -> tuple[Mapped, Mapped]:
    minter = Minter()
    as_tuples = map_specimen(record, Context("ds", minter))
    as_text = map_specimen(record, Context("ds", minter, ntriples=True))
    return as_tuples, as_text


def _assert_same(record: dict[str, str]) -> None:
    as_tuples, as_text = _both(record)
    assert as_tuples.lines is None
    assert _lines(as_text) == _lines(as_tuples), record
    assert as_text.problems == as_tuples.problems
    assert as_text.subject == as_tuples.subject
    assert as_text.rejected == as_tuples.rejected


def test_synthetic_records_map_alike_as_text_and_tuples() -> None:
    n = 0
    for row in records(3000, seed=7):
        _assert_same(dict(zip(COLUMNS, row, strict=True)))
        n += 1
    assert n == 3000


@pytest.mark.parametrize(
    "record",
    [
        # quotes, backslashes and line breaks in literals; et al.; several determiners
        {
            "catalogNumber": "A-1",
            "institutionCode": 'The "Old" Herbarium',
            "locality": "between\\the rivers\nnear the ford",
            "recordedBy": "Smith, J. et al.",
            "identifiedBy": "A. Jones & B. Brown",
            "eventDate": "1911-03/04",
            "decimalLatitude": "91",
            "decimalLongitude": "12.5e1",
            "countryCode": "QQQ",
        },
        # identifiers paired and unpaired with names
        {
            "catalogNumber": "A-2",
            "recordedBy": "Charles Darwin",
            "recordedByID": "https://www.wikidata.org/wiki/Q1035",
            "identifiedBy": "X; Y",
            "identifiedByID": "https://orcid.org/0000-0002-1825-0097",
            "year": "1832",
            "month": "x",
        },
        # more than sixteen collectors (col:order past the made-once literals)
        {
            "catalogNumber": "A-3",
            "recordedBy": "; ".join(f"Person{n}, A." for n in range(1, 20)),
        },
        # no event, identification only; an observation; a rejected record
        {"occurrenceID": "urn:x:1", "basisOfRecord": "HumanObservation", "typeStatus": "holotype"},
        {"recordedBy": "Nobody"},
        # terms kept verbatim, identifier terms, georeferencers, a label text, GBIF flags
        {
            "catalogNumber": "A-4",
            "http://rs.tdwg.org/dwc/terms/institutionID": "http://grbio.org/cool/abc",
            "http://rs.tdwg.org/dwc/terms/nomenclaturalCode": 'ICZN "1999"',
            "http://rs.gbif.org/terms/1.0/taxonKey": "2435099",
            "http://example.org/terms/my column": "x\ny",
            "http://rs.tdwg.org/dwc/iri/recordedBy": "not an IRI",
            "individualCount": "3",
            "georeferencedBy": "Grant, P. | Lee, K.",
            "georeferencedByID": "https://orcid.org/0000-0002-1825-0097",
            "verbatimLabel": "Typus\nleg. Smith",
            "issue": "COORDINATE_ROUNDED;GEODETIC_DATUM_ASSUMED_WGS84",
        },
    ],
)
def test_edge_records_map_alike(record: dict[str, str]) -> None:
    _assert_same(record)


def test_text_mode_writes_text() -> None:
    _, as_text = _both({"catalogNumber": "A-4", "recordedBy": "J. Smith", "locality": "Here"})
    assert as_text.lines and any("nameAsWritten" in block for block in as_text.lines)


def test_illustrative_records_stay_tuples() -> None:
    as_tuples, as_text = _both({"catalogNumber": "A-5", "illustrative": "true", "locality": "X"})
    assert as_text.lines is None
    assert _lines(as_text) == _lines(as_tuples)
