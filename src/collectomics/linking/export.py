"""The round trip: identity matches as SSSOM TSV, QuickStatements V1 and Darwin Core patches.

SSSOM carries every match. QuickStatements and Darwin Core patches publish links to others, so
they carry only what a person or the publisher decided (``col:decidedBy``), unless the caller
asks for the matcher's own accepts too (``include_machine``): then each one is marked.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from collectomics.iri import Minter
from collectomics.linking.matcher import IDENTIFIER_PROPERTIES as PROPERTY_NAMES
from collectomics.linking.service import ORCID, PREFIXES, WIKIDATA, MatchRecord, read_matches
from collectomics.store import Store

SSSOM_COLUMNS = [
    "subject_id",
    "subject_label",
    "predicate_id",
    "predicate_modifier",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "author_id",
    "author_label",
    "mapping_date",
    "mapping_tool",
    "comment",
]
IPNI = "https://www.ipni.org/a/"
VIAF = "http://viaf.org/viaf/"
BHL = "https://www.biodiversitylibrary.org/creator/"
#: Wikidata properties for the identifiers a person item can gain from accepted links. Each has
#: Wikidata's single-value constraint: an item never gets a second value from an export.
IDENTIFIER_PROPERTIES = {ORCID: "P496", IPNI: "P586", VIAF: "P214", BHL: "P4081"}
SINGLE_VALUE = frozenset({"P496", "P586", "P214", "P4081", "P6264", "P6944"})
#: Who may have decided a link that an export publishes (without ``include_machine``).
ASSERTED = frozenset({"person", "publisher"})


def all_matches(store: Store, minter: Minter) -> list[MatchRecord]:
    """Every identity match: the links graph's and the publisher-asserted ones in dataset graphs."""
    records = read_matches(store, minter)
    rows = store.query(
        PREFIXES
        + """SELECT ?m ?a ?an ?t ?c ?by ?who WHERE {
        ?m a col:IdentityMatch ; owl:annotatedSource ?a ; owl:annotatedTarget ?t ;
           col:matchStatus <https://w3id.org/collectomics/status/accepted> ; prov:wasAttributedTo ?by .
        OPTIONAL { ?m sssom:confidence ?c } OPTIONAL { ?a foaf:name ?an }
        OPTIONAL { ?m col:decidedBy ?who } }"""
    ).rows()
    for r in rows:
        iri = str(r["m"])
        if iri in records:
            continue
        records[iri] = MatchRecord(
            iri=iri,
            agent=str(r["a"]),
            agent_name=r["an"].value if "an" in r else "",  # type: ignore[union-attr]
            target=str(r["t"]),
            target_label="",
            confidence=float(r["c"].value) if "c" in r else 1.0,  # type: ignore[union-attr]
            status="accepted",
            attributed_to=str(r["by"]),
            generated_at="",
            justification="ManualMappingCuration",
            comment="asserted by the data publisher",
            decided_by=r["who"].value if "who" in r else "publisher",  # type: ignore[union-attr]
        )
    return sorted(records.values(), key=lambda m: (m.agent, m.target))


def _curie(iri: str, prefixes: dict[str, str]) -> str:
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def write_sssom(records: Iterable[MatchRecord], minter: Minter, out: IO[str]) -> int:
    """An SSSOM TSV: the YAML metadata block (commented), then one row per match.

    A rejected match is written with ``predicate_modifier: Not`` (this person is *not* that one);
    a proposed one with its confidence and ``comment: proposed``.
    """
    prefixes = {
        "wd": WIKIDATA,
        "orcid": ORCID,
        "ipni": IPNI,
        "viaf": VIAF,
        "collectomics": minter.base,
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "semapv": "https://w3id.org/semapv/vocab/",
    }
    out.write("# curie_map:\n")
    for prefix, ns in prefixes.items():
        out.write(f"#   {prefix}: {ns}\n")
    out.write(f"# mapping_set_id: {minter.base}mappings/identity-matches.sssom.tsv\n")
    out.write("# mapping_set_description: Name-string agents of museum records linked to people\n")
    out.write("# license: https://creativecommons.org/publicdomain/zero/1.0/\n")
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(SSSOM_COLUMNS)
    n = 0
    for m in records:
        writer.writerow(
            [
                _curie(m.agent, prefixes),
                m.agent_name,
                "skos:exactMatch",
                "Not" if m.status == "rejected" else "",
                _curie(m.target, prefixes),
                m.target_label,
                f"semapv:{m.justification}",
                f"{m.confidence:.3f}",
                _curie(m.attributed_to, prefixes),
                m.reviewer_name,
                m.generated_at[:10],
                "collectomics-matcher" if m.generated_at else "",  # not for publishers' own
                m.status if not m.comment else f"{m.status}: {m.comment}",
            ]
        )
        n += 1
    return n


@dataclass
class Statements:
    """QuickStatements lines, and what was left out and why."""

    lines: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    machine: int = 0


def quickstatements(
    records: Iterable[MatchRecord],
    existing: dict[str, dict[str, set[str]]],
    at: str,
    *,
    include_machine: bool = False,
) -> Statements:
    """QuickStatements V1 lines adding identifiers to person items, each with its evidence.

    For every agent whose accepted matches include a Wikidata item and an ORCID / IPNI / VIAF /
    BHL identifier, the item gains that identifier. Only links a person or the publisher decided
    (both the item link and the identifier link), unless ``include_machine``: then a statement
    resting on a matcher's accept ends with a ``/* ... */`` edit summary saying so. Never a value
    the item already has, and never a second value of a single-value property: ``existing``
    (QID -> property -> values, from Wikidata) says what the item has; two different values for
    one item in the same export are both left out. References: S854 the match node, S813 the
    day of the export.
    """
    by_agent: dict[str, list[MatchRecord]] = defaultdict(list)
    for m in records:
        if m.status == "accepted":
            by_agent[m.agent].append(m)
    # (qid, prop) -> value -> (the identifier's match, machine-decided?)
    wanted: dict[tuple[str, str], dict[str, tuple[MatchRecord, bool]]] = defaultdict(dict)
    # (qid, prop) known to have another value: the matcher saw it when it compared identifiers
    seen_other: set[tuple[str, str]] = set()
    out = Statements()
    for _agent, matches in sorted(by_agent.items()):
        for item in (m for m in matches if m.target.startswith(WIKIDATA)):
            qid = item.target[len(WIKIDATA) :]
            conflict = item.conflict
            for other in matches:
                for ns, prop in IDENTIFIER_PROPERTIES.items():
                    if not other.target.startswith(ns):
                        continue
                    value = other.target[len(ns) :].strip("/")
                    if item.justification == "MappingChaining" and f"<{other.target}>" in (
                        item.comment
                    ):
                        out.left_out.append(f"{qid} {prop} {value}: the item was found by it")
                        continue
                    if conflict and PROPERTY_NAMES[prop] in conflict:
                        seen_other.add((qid, prop))
                    machine = not {item.decided_by, other.decided_by} <= ASSERTED
                    if machine and not include_machine:
                        out.left_out.append(
                            f"{qid} {prop} {value}: only the matcher accepted it "
                            "(review it, or give --include-machine)"
                        )
                        continue
                    seen = wanted[(qid, prop)].get(value)
                    if seen is None or (seen[1] and not machine):
                        wanted[(qid, prop)][value] = (other, machine)
    for (qid, prop), values in sorted(wanted.items()):
        has = existing.get(qid, {}).get(prop, set())
        fresh = {v: mv for v, mv in values.items() if v not in has}
        for v in sorted(set(values) - set(fresh)):
            out.left_out.append(f"{qid} {prop} {v}: the item already has it")
        if not fresh:
            continue
        if prop in SINGLE_VALUE and (has or len(fresh) > 1 or (qid, prop) in seen_other):
            why = (
                f"the item already has {', '.join(sorted(has))}"
                if has
                else f"{len(fresh)} different values for one item"
                if len(fresh) > 1
                else "the item has another value (the matcher saw it)"
            )
            for v in sorted(fresh):
                out.left_out.append(f"{qid} {prop} {v}: single-value property, {why}")
            continue
        for value, (match, machine) in sorted(fresh.items()):
            line = f'{qid}\t{prop}\t"{value}"\tS854\t"{match.iri}"\tS813\t+{at[:10]}T00:00:00Z/11'
            if machine:
                line += f" /* machine-accepted (confidence {match.confidence:.2f}): review first */"
                out.machine += 1
            out.lines.append(line)
    return out


def dwc_patches(
    store: Store,
    minter: Minter,
    records: Iterable[MatchRecord],
    *,
    include_machine: bool = False,
) -> dict[str, list[dict[str, str]]]:
    """Per dataset, rows of ``occurrenceID, recordedBy, recordedByID, identifiedBy,
    identifiedByID``: the agents in their written order, their accepted identifiers joined by
    `` | `` (an empty slot where a name has none).

    A patch only fills what is empty: a term for which the publisher gave any identifier on that
    record is left alone (its ID column empty: nothing to change), and a record is written only
    when one of its terms gains an identifier. Only links a person or the publisher decided,
    unless ``include_machine``: then the column ``machineAccepted`` lists the identifiers of the
    row that only the matcher accepted.
    """
    target_of: dict[str, tuple[str, bool]] = {}

    def rank(target: str) -> int:  # prefer a Wikidata item, then ORCID, then anything else
        return 0 if target.startswith(WIKIDATA) else 1 if target.startswith(ORCID) else 2

    for m in records:
        if m.status != "accepted":
            continue
        by_machine = m.decided_by not in ASSERTED
        if by_machine and not include_machine:
            continue
        current = target_of.get(m.agent)
        if current is None or (rank(m.target), by_machine) < (rank(current[0]), current[1]):
            target_of[m.agent] = (m.target, by_machine)
    rows = store.query(
        PREFIXES
        + """SELECT ?ds ?occ ?term ?verbatim ?order ?a WHERE { GRAPH ?ds {
        ?s dwc:occurrenceID ?occ .
        { ?s col:collectingEvent ?act . BIND("recordedBy" AS ?term) }
        UNION { ?s dsw:hasIdentification ?act . BIND("identifiedBy" AS ?term) }
        ?act prov:qualifiedAssociation ?r . ?r prov:agent ?a ; col:order ?order .
        OPTIONAL { ?r col:verbatimAgentString ?split } OPTIONAL { ?r col:nameAsWritten ?written }
        BIND (COALESCE(?split, ?written) AS ?verbatim) }
        } ORDER BY ?ds ?occ ?term ?order"""
    ).rows()
    # the identifiers the publisher gave on each record and term (the dwciri shortcut to an IRI
    # that is not one of our name-string agents)
    given: set[tuple[str, str, str]] = set()
    for r in store.query(
        PREFIXES
        + """SELECT DISTINCT ?ds ?occ ?term WHERE { GRAPH ?ds { ?s dwc:occurrenceID ?occ .
        { ?s dwciri:recordedBy ?id . BIND("recordedBy" AS ?term) }
        UNION { ?s dwciri:identifiedBy ?id . BIND("identifiedBy" AS ?term) }
        FILTER NOT EXISTS { ?id a col:NameStringAgent } } }"""
    ).rows():
        given.add((_dataset(minter, str(r["ds"])), r["occ"].value, r["term"].value))  # type: ignore[union-attr]
    table: dict[tuple[str, str], dict[str, list[tuple[int, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    verbatim: dict[tuple[str, str, str], str] = {}
    for r in rows:
        ds = _dataset(minter, str(r["ds"]))
        occ = r["occ"].value  # type: ignore[union-attr]
        term = r["term"].value  # type: ignore[union-attr]
        order = int(r["order"].value)  # type: ignore[union-attr]
        table[(ds, occ)][term].append((order, str(r["a"])))
        if "verbatim" in r:
            verbatim[(ds, occ, term)] = r["verbatim"].value  # type: ignore[union-attr]
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for (ds, occ), terms in sorted(table.items()):
        row = {"occurrenceID": occ}
        gained = False
        machine: list[str] = []
        for term in ("recordedBy", "identifiedBy"):
            agents = sorted(set(terms.get(term, [])))
            slots = [target_of.get(a, ("", False)) for _o, a in agents]
            row[term] = verbatim.get((ds, occ, term), "")
            row[term + "ID"] = ""
            if (ds, occ, term) in given or not any(t for t, _m in slots):
                continue  # the publisher's own identifiers stand; or nothing to add
            gained = True
            row[term + "ID"] = " | ".join(t for t, _m in slots)
            machine += [t for t, m in slots if m]
        if gained:
            if include_machine:
                row["machineAccepted"] = " | ".join(dict.fromkeys(machine))
            out[ds].append(row)
    return dict(out)


def _dataset(minter: Minter, graph: str) -> str:
    return re.sub(r"/v\d+$", "", graph)[len(minter.base + "graph/") :]


PATCH_COLUMNS = ["occurrenceID", "recordedBy", "recordedByID", "identifiedBy", "identifiedByID"]


def write_patch(rows: list[dict[str, str]], out: IO[str]) -> None:
    columns = PATCH_COLUMNS + (["machineAccepted"] if rows and "machineAccepted" in rows[0] else [])
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
