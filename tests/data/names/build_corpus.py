"""Rebuild ``agent-strings.tsv``: every distinct agent string in the real corpus (tests/data/real).

Run from the repository root with the project's interpreter::

    .venv/bin/python tests/data/names/build_corpus.py

It also rebuilds ``src/collectomics/mapping/given_names.py``, the given names the name reader
uses to tell ``Koehler René`` (surname first) from ``Remacle Rome`` (given name first): every
word of at least three letters that is a forename of at least 4 of the 54,204 IPNI authors in
``real/ipni-authors-wikidata`` and a forename at least 8 times as often as a surname word.

An agent string is the value of a Darwin Core term naming people (any term whose name ends in
``By``: recordedBy, identifiedBy, georeferencedBy, measuredBy...; and the label transcriptions'
verbatimCollectors / collectedBy / secondaryCollectors). Every archive is read with the
project's own reader (``collectomics.ingest.dwca.Archive``: meta.xml, no header row, Windows code
pages), the other files with the standard library. Values are kept exactly as written; each row
says which terms and which sources it was seen in, and how often. The output is sorted, so that
a rebuild on the same files gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "real"
OUT = HERE / "agent-strings.tsv"
GIVEN_NAMES = HERE.parents[2] / "src" / "collectomics" / "mapping" / "given_names.py"

#: Label-transcription columns that name people (fieldmuseum-label-groundtruth)
LABEL_TERMS = ("verbatimCollectors", "collectedBy", "secondaryCollectors", "identifiedBy")
#: The Bloodhound exports have no header row (SOURCE.txt gives the columns)
BLOODHOUND_COLUMNS = (
    "action gbifID occurrenceID dateIdentified decimalLatitude decimalLongitude country "
    "countryCode eventDate year family identifiedBy institutionCode collectionCode catalogNumber "
    "recordedBy scientificName typeStatus"
).split()
#: Placeholders in the label transcriptions that stand for an empty cell, not for a value
EMPTY = {"", "N/A"}


def is_agent_term(term: str) -> bool:
    """Does a Darwin Core term name (bare or as an IRI) hold people's names?"""
    local = term.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return local.endswith("By") or local in LABEL_TERMS


def _archives(found: dict[str, dict[str, set[str] | int]]) -> None:
    sys.path.insert(0, str(HERE.parents[2] / "src"))
    from collectomics.ingest.dwca import Archive, RowError

    paths = sorted(REAL.rglob("*.zip")) + [
        REAL / "dwca-io-fixtures" / "Borza.txt",
        REAL / "dwca-io-fixtures" / "csv_optional_quotes_puma.csv",
    ]
    for path in paths:
        source = str(path.relative_to(REAL))
        with Archive.open(path) as archive:
            for spec in [archive.core, *archive.extensions]:
                terms = [t for t in spec.terms if is_agent_term(t)]
                if not terms:
                    continue
                for row in archive.rows(spec):
                    if isinstance(row, RowError):
                        continue
                    for term in terms:
                        _add(found, row.values.get(term, ""), term, source)


def _bloodhound(found: dict[str, dict[str, set[str] | int]]) -> None:
    for path in sorted((REAL / "bloodhound-orcid-attributions").glob("*.csv")):
        source = str(path.relative_to(REAL))
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                if len(row) != len(BLOODHOUND_COLUMNS) or row[0] == "action":
                    continue  # the header line some exports carry mid-file
                values = dict(zip(BLOODHOUND_COLUMNS, row, strict=True))
                for term in ("recordedBy", "identifiedBy"):
                    _add(found, values[term], term, source)


def _labels(found: dict[str, dict[str, set[str] | int]]) -> None:
    for path in sorted((REAL / "fieldmuseum-label-groundtruth").glob("*.csv")):
        source = str(path.relative_to(REAL))
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                for term in LABEL_TERMS:
                    value = row.get(term) or ""
                    if value.strip() not in EMPTY:
                        _add(found, value, term, source)


def _idigbio(found: dict[str, dict[str, set[str] | int]]) -> None:
    for path in sorted((REAL / "idigbio-audubon-mediarecords").glob("*.jsonl")):
        source = str(path.relative_to(REAL))
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                for part in (record, record.get("data") or {}, record.get("indexData") or {}):
                    for key, value in part.items():
                        if isinstance(value, str) and key.startswith("dwc:") and is_agent_term(key):
                            _add(found, value, key[4:], source)


def _add(found: dict[str, dict[str, set[str] | int]], value: str, term: str, source: str) -> None:
    if not value or not value.strip():
        return
    entry = found.setdefault(value, {"terms": set(), "sources": set(), "count": 0})
    entry["terms"].add(term.rstrip("/").rsplit("/", 1)[-1])  # type: ignore[union-attr]
    entry["sources"].add(source.split("/", 1)[0])  # type: ignore[union-attr]
    entry["count"] += 1  # type: ignore[operator]


def given_names() -> int:
    """Write given_names.py from the IPNI authors' forenames; returns how many."""
    given: Counter[str] = Counter()
    family: Counter[str] = Counter()
    word = re.compile(r"[^\W\d_][^\W\d_'-]+")
    with gzip.open(REAL / "ipni-authors-wikidata" / "ipni_authors.jsonl.gz", "rt") as fh:
        for line in fh:
            author = json.loads(line)
            given.update(w for w in word.findall(author.get("forename") or "") if not w.isupper())
            family.update(word.findall(author.get("surname") or ""))
    kept = sorted(
        w
        for w, n in given.items()
        if n >= 4 and n >= 8 * family[w] and w[0].isupper() and len(w) >= 3
    )
    lines = [
        '"""Given names (IPNI authors\' forenames) for the name reader: generated by',
        'tests/data/names/build_corpus.py; do not edit."""',
        "",
        "GIVEN_NAMES = frozenset(",
        '    """',
    ]
    row: list[str] = []
    for w in kept:  # a few words a line, within the line length
        if sum(len(x) + 1 for x in row) + len(w) > 90:
            lines.append("    " + " ".join(row))
            row = []
        row.append(w)
    lines += ["    " + " ".join(row), '    """.split()', ")", ""]
    GIVEN_NAMES.write_text("\n".join(lines), encoding="utf-8")
    return len(kept)


def build() -> int:
    """Write agent-strings.tsv; returns the number of distinct strings."""
    found: dict[str, dict[str, set[str] | int]] = {}
    _archives(found)
    _bloodhound(found)
    _labels(found)
    _idigbio(found)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write("string\tterms\tsources\tcount\n")
        for value in sorted(found):
            entry = found[value]
            # a tab or line break inside a value cannot be written in this format: escaped
            shown = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            shown = shown.replace("\r", "\\r")
            terms = ",".join(sorted(entry["terms"]))  # type: ignore[arg-type]
            sources = ",".join(sorted(entry["sources"]))  # type: ignore[arg-type]
            fh.write(f"{shown}\t{terms}\t{sources}\t{entry['count']}\n")
    return len(found)


if __name__ == "__main__":
    print(f"{build()} distinct agent strings written to {OUT}")
    print(f"{given_names()} given names written to {GIVEN_NAMES}")
