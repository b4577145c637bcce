"""The round trip: identity matches as SSSOM TSV, QuickStatements V1 and Darwin Core patches."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import IO

from collectomics.iri import Minter
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
#: Wikidata properties for the identifiers a person item can gain from accepted links.
IDENTIFIER_PROPERTIES = {ORCID: "P496", IPNI: "P586", VIAF: "P214"}


def all_matches(store: Store, minter: Minter) -> list[MatchRecord]:
    """Every identity match: the links graph's and the publisher-asserted ones in dataset graphs."""
    records = read_matches(store, minter)
    rows = store.query(
        PREFIXES
        + """SELECT ?m ?a ?an ?t ?c ?by WHERE {
        ?m a col:IdentityMatch ; owl:annotatedSource ?a ; owl:annotatedTarget ?t ;
           col:matchStatus <https://w3id.org/collectomics/status/accepted> ; prov:wasAttributedTo ?by .
        OPTIONAL { ?m sssom:confidence ?c } OPTIONAL { ?a foaf:name ?an } }"""
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


def quickstatements(
    records: Iterable[MatchRecord], existing: dict[str, dict[str, set[str]]], at: str
) -> list[str]:
    """QuickStatements V1 lines adding identifiers to person items, each with its evidence.

    For every agent whose accepted matches include a Wikidata item and an ORCID / IPNI / VIAF
    identifier, the item gains that identifier unless ``existing`` (QID -> property -> values)
    shows it already has it. References: S854 the match node, S813 the day of the export.
    """
    by_agent: dict[str, list[MatchRecord]] = defaultdict(list)
    for m in records:
        if m.status == "accepted":
            by_agent[m.agent].append(m)
    lines: list[str] = []
    done: set[tuple[str, str, str]] = set()
    for _agent, matches in sorted(by_agent.items()):
        items = [m for m in matches if m.target.startswith(WIKIDATA)]
        for item in items:
            qid = item.target[len(WIKIDATA) :]
            for other in matches:
                for ns, prop in IDENTIFIER_PROPERTIES.items():
                    if not other.target.startswith(ns):
                        continue
                    value = other.target[len(ns) :].strip("/")
                    if value in existing.get(qid, {}).get(prop, set()):
                        continue
                    if (qid, prop, value) in done:
                        continue
                    done.add((qid, prop, value))
                    lines.append(
                        f'{qid}\t{prop}\t"{value}"\tS854\t"{other.iri}"\tS813\t+{at[:10]}T00:00:00Z/11'
                    )
    return lines


def dwc_patches(
    store: Store, minter: Minter, records: Iterable[MatchRecord]
) -> dict[str, list[dict[str, str]]]:
    """Per dataset, rows of ``occurrenceID, recordedBy, recordedByID, identifiedBy,
    identifiedByID``: the agents in their written order, their accepted identifiers joined by
    `` | `` (an empty slot where a name has none). Only records that gain an identifier."""
    target_of: dict[str, str] = {}
    for m in records:
        if m.status != "accepted":
            continue
        current = target_of.get(m.agent)
        # prefer a Wikidata item, then ORCID, then anything else
        rank = 0 if m.target.startswith(WIKIDATA) else 1 if m.target.startswith(ORCID) else 2
        if current is None or rank < (
            0 if current.startswith(WIKIDATA) else 1 if current.startswith(ORCID) else 2
        ):
            target_of[m.agent] = m.target
    rows = store.query(
        PREFIXES
        + """SELECT ?ds ?occ ?term ?verbatim ?order ?a WHERE { GRAPH ?ds {
        ?s dwc:occurrenceID ?occ .
        { ?s col:collectingEvent ?act . BIND("recordedBy" AS ?term) }
        UNION { ?s dsw:hasIdentification ?act . BIND("identifiedBy" AS ?term) }
        ?act prov:qualifiedAssociation ?r . ?r prov:agent ?a ; col:order ?order .
        OPTIONAL { ?r col:verbatimAgentString ?verbatim } }
        } ORDER BY ?ds ?occ ?term ?order"""
    ).rows()
    table: dict[tuple[str, str], dict[str, list[tuple[int, str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    verbatim: dict[tuple[str, str, str], str] = {}
    for r in rows:
        ds = re.sub(r"/v\d+$", "", str(r["ds"]))[len(minter.base + "graph/") :]
        occ = r["occ"].value  # type: ignore[union-attr]
        term = r["term"].value  # type: ignore[union-attr]
        order = int(r["order"].value)  # type: ignore[union-attr]
        table[(ds, occ)][term].append((order, str(r["a"]), target_of.get(str(r["a"]), "")))
        if "verbatim" in r:
            verbatim[(ds, occ, term)] = r["verbatim"].value  # type: ignore[union-attr]
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for (ds, occ), terms in sorted(table.items()):
        row = {"occurrenceID": occ}
        gained = False
        for term in ("recordedBy", "identifiedBy"):
            agents = sorted(set(terms.get(term, [])))
            ids = [t for _o, _a, t in agents]
            gained |= any(ids)
            row[term] = verbatim.get((ds, occ, term), "")
            row[term + "ID"] = " | ".join(ids) if any(ids) else ""
        if gained:
            out[ds].append(row)
    return dict(out)


PATCH_COLUMNS = ["occurrenceID", "recordedBy", "recordedByID", "identifiedBy", "identifiedByID"]


def write_patch(rows: list[dict[str, str]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, PATCH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
