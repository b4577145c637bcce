"""Where the triples of a real record go (issue 23): what to cut, and what a cut saved.

    .venv/bin/python benchmarks/triples.py                    # every archive of archives.txt
    .venv/bin/python benchmarks/triples.py --only dwca-io-fixtures/Borza.txt
    .venv/bin/python benchmarks/triples.py --records 10000    # also a synthetic archive

Each archive is ingested with the library into a fresh on-disk store; every triple of its
dataset's graph is put in one category, and the figures are triples per specimen record (the
records its ingest report counts, as in ``benchmarks/corpus.py``). A node belongs to the record
whose IRI its own IRI extends (``{specimen}/event``, ``/location``, ``/verbatim``, ``/id/...``,
``/issue/...``, ``/event/collector/1``), a medium to what it depicts; the rules, first that
applies:

- **role node**: any triple of a role node (a subject with ``prov:hadRole``): cutting the node
  cuts them all, its type included;
- **annotation**: any triple of a GBIF issue flag (a subject with ``oa:motivatedBy``);
- **identifier node**: any triple of an identifier node (a ``schema:PropertyValue``), and the
  ``schema:identifier`` link to it;
- **identity link**: any triple of an identity match node (a publisher's ``recordedByID``...
  linking the agent to Wikidata, ORCID...: ``col:IdentityMatch``);
- **type**: any other ``rdf:type``;
- **agent shortcut**: ``prov:wasAssociatedWith`` and ``dwciri:`` terms whose object is an agent
  (the same agent its role node names);
- **structural link**: an IRI object that is a node of the same record (``collectingEvent``,
  ``locatedAt``, ``qualifiedAssociation``, ``hasIdentification``, ``wasDerivedFrom``...);
- **dataset/provenance**: a triple of a node of no record (the dataset nodes) but agents, and
  ``schema:includedInDataSet``;
- **agent node**: a triple of an agent or person node (a ``prov:agent`` object);
- **published value**: the object's string (literal or IRI) is the value of some cell of the
  archive's data files (how ``tests/test_published_values.py`` finds cells: GBIF's ``issue``
  cell flag by flag, a number by its value), the first time the record's nodes hold it under
  that term (the record node first, its ``/verbatim`` node last);
- **published value, again**: the same term and value held a second time by the same record
  (an interpreted value copied on the verbatim record, ``dwc:year`` on both specimen and event);
- **derived value**: another literal, or an IRI that is no node of the graph, which the mapping
  minted from a value (dates as bounds, country IRIs, a licence IRI, a year);
- **other**: the rest (a link to a node of another record or of none).

It also prints the 25 (subject kind, predicate) pairs with the most triples per record. With
``--normalise`` it prints instead, for each archive's core, what two normalisations the graph
does not make would save, in published values per record (docs/scaling.md, "After the cuts"):
each record-level term (``NORMALISE_DATASET``) whose value is the same on every record of a
source dataset (GBIF's ``datasetKey``, else ``datasetID``, else the archive) said once by that dataset, and the classification GBIF
derives from its backbone (``NORMALISE_TAXON``) said once per ``taxonKey``, less one link a
record. It asserts nothing and times nothing; ``docs/scaling.md`` ("Where the triples go") keeps its output
on the graph before the cuts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from collectomics.ingest import ingest_files
from collectomics.ingest.dwca import Archive, Row
from collectomics.iri import Minter
from collectomics.services.specimenpage import term
from collectomics.store import OxigraphStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ARCHIVES, REAL  # noqa: E402  (the corpus, as benchmarks/corpus.py reads it)

CATEGORIES = (
    "published value",
    "published value, again",
    "derived value",
    "type",
    "structural link",
    "role node",
    "agent shortcut",
    "annotation",
    "identifier node",
    "identity link",
    "agent node",
    "dataset/provenance",
    "other",
)
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RECORD_TYPES = {
    "http://rs.tdwg.org/dwc/terms/MaterialEntity",
    "http://rs.tdwg.org/dwc/terms/Occurrence",
    "http://rs.tdwg.org/dwc/terms/Event",
    "http://rs.tdwg.org/dwc/terms/Taxon",
}
_HAD_ROLE = "http://www.w3.org/ns/prov#hadRole"
_AGENT = "http://www.w3.org/ns/prov#agent"
_ASSOCIATED = "http://www.w3.org/ns/prov#wasAssociatedWith"
_MOTIVATED = "http://www.w3.org/ns/oa#motivatedBy"
_MATCH = "https://w3id.org/collectomics/ontology#IdentityMatch"
_PROPERTY_VALUE = "http://schema.org/PropertyValue"
_IDENTIFIER = "http://schema.org/identifier"
_DEPICTS = "http://xmlns.com/foaf/0.1/depicts"
_IN_DATASET = "http://schema.org/includedInDataSet"
_DWCIRI = "http://rs.tdwg.org/dwc/iri/"
_ISSUE = "http://rs.gbif.org/terms/1.0/issue"


short = term  # ``dwc:locality`` for a term's IRI, as the pages name it


def _number(value: str) -> str:
    try:
        return f"number:{Decimal(value).normalize()}"
    except (InvalidOperation, ValueError):
        return ""


def published_cells(path: Path) -> set[str]:
    """Every non-empty cell value of the archive's data files (GBIF's issue cell flag by flag),
    and each numeric one as its number too."""
    found: set[str] = set()
    with Archive.open(path) as archive:
        for spec in [archive.core, *archive.extensions]:
            for row in archive.rows(spec):
                if not isinstance(row, Row):
                    continue
                for term, value in row.values.items():
                    value = value.strip()
                    if not value:
                        continue
                    parts = value.split(";") if term == _ISSUE else [value]
                    for part in (p.strip() for p in parts):
                        if part:
                            found.add(part)
                            found.add(f"gbif:{part}")  # a gbifID as the identifier gbif:N
                            if part[-1:].isdigit() and (n := _number(part)):
                                found.add(n)
    return found


class Classifier:
    """The category of each triple of one dataset graph (module docstring)."""

    def __init__(self, triples: list[tuple[str, str, str, bool]]) -> None:
        self.triples = triples
        by_s: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for s, p, o, _ in triples:
            by_s[s].append((p, o))
        self.by_s = by_s
        self.records = sorted(
            s for s, po in by_s.items() if any(p == _RDF_TYPE and o in _RECORD_TYPES for p, o in po)
        )
        self.media = {s: o for s, po in by_s.items() for p, o in po if p == _DEPICTS}
        self.record_set: set[str] = set()
        for r in sorted(self.records, key=len):  # a record's event is typed dwc:Event: not one
            if self.record_of(r) is None:
                self.record_set.add(r)
        self.records = sorted(self.record_set)
        self.roles = {s for s, po in by_s.items() if any(p == _HAD_ROLE for p, _ in po)}
        self.flags = {s for s, po in by_s.items() if any(p == _MOTIVATED for p, _ in po)}
        self.ids = {
            s
            for s, po in by_s.items()
            if any(p == _RDF_TYPE and o == _PROPERTY_VALUE for p, o in po)
        }
        self.matches = {
            s for s, po in by_s.items() if any(p == _RDF_TYPE and o == _MATCH for p, o in po)
        }
        self.agents = {o for _, p, o, lit in triples if p == _AGENT and not lit}

    def record_of(self, node: str) -> str | None:
        """The record whose IRI ``node`` is or extends."""
        if node in self.media:  # a medium belongs to what it depicts
            node = self.media[node]
        while node not in self.record_set:
            if "/" not in node:
                return None
            node = node.rsplit("/", 1)[0]
        return node

    def kind(self, s: str) -> str:
        """The subject kind named in the top pairs: record, event, role node..."""
        if s in self.roles:
            return "role node"
        if s in self.flags:
            return "annotation"
        if s in self.ids:
            return "identifier node"
        if s in self.matches:
            return "identity link"
        if s in self.agents:
            return "agent"
        record = self.record_of(s)
        if record is None:
            return "dataset/other"
        if s == record:
            return "record"
        if s in self.media:
            return "medium"
        rest = s[len(record) + 1 :].split("/")[0]
        return f"record/{rest}"

    def classify(self, cells: set[str]) -> Counter[tuple[str, str, str]]:
        """(category, subject kind, predicate) -> triples."""
        out: Counter[tuple[str, str, str]] = Counter()
        seen: dict[str, set[tuple[str, str]]] = defaultdict(set)

        def order(t: tuple[str, str, str, bool]) -> tuple[int, str, str, str]:
            s = t[0]
            r = self.record_of(s)
            return (0 if s == r else 2 if s.endswith("/verbatim") else 1, s, t[1], t[2])

        for s, p, o, literal in sorted(self.triples, key=order):
            kind = self.kind(s)
            record = self.record_of(s)
            if s in self.roles:
                cat = "role node"
            elif s in self.flags:
                cat = "annotation"
            elif s in self.ids or (p == _IDENTIFIER and o in self.ids):
                cat = "identifier node"
            elif s in self.matches:
                cat = "identity link"
            elif p == _RDF_TYPE:
                cat = "type"
            elif not literal and (p == _ASSOCIATED or p.startswith(_DWCIRI)) and o in self.agents:
                cat = "agent shortcut"
            elif not literal and record is not None and self.record_of(o) == record:
                cat = "structural link"
            elif p == _IN_DATASET or (record is None and s not in self.agents):
                cat = "dataset/provenance"
            elif s in self.agents:
                cat = "agent node"
            elif o in cells or (o[-1:].isdigit() and _number(o) in cells):
                key = (p.rsplit("/", 1)[-1].rsplit("#", 1)[-1], o)
                cat = "published value, again" if key in seen[record or ""] else "published value"
                seen[record or ""].add(key)
            elif literal or o not in self.by_s:
                cat = "derived value"  # a literal, or an outside IRI minted from a value
            else:
                cat = "other"  # a link to a node of another record, or of no record
            out[(cat, kind, short(p))] += 1
        return out


def measure(path: Path) -> tuple[int, int, Counter[tuple[str, str, str]]]:
    """Ingest ``path`` into a fresh store: (records, triples, classified triples)."""
    minter = Minter()
    with tempfile.TemporaryDirectory() as tmp:
        store = OxigraphStore(Path(tmp) / "store")
        try:
            [report] = ingest_files(store, [path], minter=minter)
            result = store.query(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH <{report.graph}> {{ ?s ?p ?o }} }}"
            )
            triples = [
                (
                    str(getattr(r["s"], "value", r["s"])),
                    str(getattr(r["p"], "value", r["p"])),
                    str(getattr(r["o"], "value", r["o"])),
                    type(r["o"]).__name__ == "Literal",
                )
                for r in result.rows()
            ]
        finally:
            store.close()
    records = report.specimens or report.loaded
    return records, len(triples), Classifier(triples).classify(published_cells(path))


def table(name: str, records: int, total: int, found: Counter[tuple[str, str, str]]) -> str:
    """The Markdown tables of one archive: per category, then the top 25 pairs."""
    per = max(records, 1)
    cats: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for (cat, kind, p), n in found.items():
        cats[cat] += n
        pairs[(kind, p)] += n
    lines = [
        f"### `{name}`: {records:,} records, {total:,} triples, {total / per:.1f} per record",
        "",
        "| category | triples / record | share |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {c} | {cats[c] / per:.1f} | {cats[c] / max(total, 1):.0%} |"
        for c in CATEGORIES
        if cats[c]
    ]
    lines += ["", "| subject | predicate | triples / record |", "|---|---|---:|"]
    lines += [f"| {k} | `{p}` | {n / per:.2f} |" for (k, p), n in pairs.most_common(25)]
    return "\n".join(lines)


def summary(rows: list[tuple[str, int, int, Counter[str]]]) -> str:
    """One line per archive: triples per record by category."""
    heads = [c for c in CATEGORIES if any(r[3][c] for r in rows)]
    lines = [
        "| archive | records | total | " + " | ".join(heads) + " |",
        "|---|---:|---:|" + "---:|" * len(heads),
    ]
    for name, records, total, cats in rows:
        per = max(records, 1)
        lines.append(
            f"| `{name}` | {records:,} | {total / per:.1f} | "
            + " | ".join(f"{cats[c] / per:.1f}" for c in heads)
            + " |"
        )
    return "\n".join(lines)


#: record-level terms a source dataset could say once for all its records (DwC's record-level
#: terms, and GBIF's crawl and publisher columns)
NORMALISE_DATASET = frozenset(
    "type modified language license rights rightsHolder accessRights bibliographicCitation "
    "references institutionID collectionID datasetID institutionCode collectionCode datasetName "
    "ownerInstitutionCode basisOfRecord informationWithheld datasetKey publishingOrgKey "
    "publishingCountry protocol lastCrawled lastParsed lastInterpreted installationKey "
    "hostingOrganizationKey networkKey".split()
)
#: the classification GBIF derives from its backbone, the same for every record of a taxonKey
NORMALISE_TAXON = frozenset(
    "kingdom phylum class order family genus subgenus species kingdomKey phylumKey classKey "
    "orderKey familyKey genusKey subgenusKey speciesKey genericName specificEpithet "
    "infraspecificEpithet taxonRank acceptedScientificName acceptedTaxonKey taxonomicStatus "
    "iucnRedListCategory higherClassification".split()
)


def normalisations(path: Path) -> tuple[int, float, float]:
    """The core's records, and the published values per record that saying dataset-level
    values once per source dataset, and GBIF's classification once per taxonKey, would save."""
    rows: list[dict[str, str]] = []
    with Archive.open(path) as archive:
        for row in archive.rows(archive.core):
            if isinstance(row, Row):
                values = {t.rsplit("/", 1)[-1]: v.strip() for t, v in row.values.items()}
                rows.append({t: v for t, v in values.items() if v})
    if not rows:
        return 0, 0.0, 0.0
    saved = {"dataset": 0, "taxon": 0}
    for kind, key, terms in (
        ("dataset", "datasetKey", NORMALISE_DATASET),
        ("taxon", "taxonKey", NORMALISE_TAXON),
    ):
        groups: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in rows:  # a source dataset by GBIF's key, else its datasetID, else the archive
            if kind == "dataset":
                groups[row.get(key) or row.get("datasetID", "")].append(row)
            elif key in row:
                groups[row[key]].append(row)
        for group in groups.values():
            for name in terms:
                values = {row.get(name) for row in group}
                if len(values) == 1 and None not in values:
                    saved[kind] += len(group) - 1  # said once, not once a record
            if kind == "taxon":
                saved[kind] -= len(group)  # each record links to its taxon
    return len(rows), saved["dataset"] / len(rows), max(0, saved["taxon"]) / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="an archive of archives.txt (repeatable)")
    parser.add_argument("--records", type=int, help="also a synthetic archive of N records")
    parser.add_argument("--summary", action="store_true", help="print only the summary table")
    parser.add_argument("--normalise", action="store_true", help="what two normalisations save")
    args = parser.parse_args(argv)
    paths = [(name, REAL / name) for name in args.only or ARCHIVES]
    if args.normalise:
        print("| archive | records | dataset-level values once | classification once | both |")
        print("|---|---:|---:|---:|---:|")
        for name, path in paths:
            n, by_dataset, by_taxon = normalisations(path)
            both = by_dataset + by_taxon
            print(f"| `{name}` | {n} | {by_dataset:.1f} | {by_taxon:.1f} | {both:.1f} |")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.records:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from synthetic import write_archive

            paths.append(
                (f"synthetic, {args.records:,}", write_archive(Path(tmp) / "s.zip", args.records))
            )
        rows = []
        for name, path in paths:
            records, total, found = measure(path)
            cats: Counter[str] = Counter()
            for (cat, _, _), n in found.items():
                cats[cat] += n
            rows.append((name, records, total, cats))
            if not args.summary:
                print(table(name, records, total, found) + "\n", flush=True)
    print("### Triples per record, by category\n")
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
