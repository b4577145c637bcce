"""The same specimen published twice is linked, not merged: possible duplicates between datasets.

Two specimen records are possible duplicates when they share an ``occurrenceID``, or an
institution code and catalogue number, and come from two datasets (or from two source datasets
of one GBIF download). Each pair gets a ``col:PossibleDuplicate`` node with its evidence (which
terms matched, the value, the datasets) and the ``col:possibleDuplicateOf`` shortcut both
ways, in the graph ``{base}graph/duplicates``. Loading a dataset recomputes its links there
(:func:`link_duplicates`) and keeps every other dataset's, so re-ingesting one dataset keeps
the graph right. Records that share a key within one dataset are repeats the reader warns
about (:mod:`collectomics.ingest.keys`), not duplicates.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from collectomics.analysis import identity
from collectomics.iri import Minter
from collectomics.mapping.specimens import usable_occurrence_id
from collectomics.model import IRI, Literal, quoted
from collectomics.store import Store
from collectomics.vocab import COL, DWC, OWL, PROV, RDF, RDFS

DUPLICATES_GRAPH = "duplicates"
#: a value held by more records than this identifies nothing (a placeholder): it is not linked
#: (its pairs are still read: a value repeated k times in a dataset is k * k rows); catalogue
#: numbers without a digit ("s.n.") are not compared at all
MAX_HOLDERS = 50

_PREFIXES = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX schema: <http://schema.org/>
"""
# (?g: the physical graph of the dataset) -> each record of it that shares a value with another
# record, that record, and the datasets of both. Scoped to the dataset's graph on one side, the
# join costs index lookups per record of the dataset, not a pass over the store (a version that
# grouped holders per value in subqueries took 4x as long on 20,000 records).
_BY_OCCURRENCE_ID = (
    _PREFIXES
    + """SELECT ?g ?a ?b ?v ?da ?db WHERE {
  GRAPH ?g { ?a dwc:occurrenceID ?v }
  ?b dwc:occurrenceID ?v .
  FILTER(?b != ?a)
  ?a schema:includedInDataSet ?da .
  ?b schema:includedInDataSet ?db .
}"""
)
_BY_CATALOGUE = (
    _PREFIXES
    + """SELECT ?g ?a ?b ?i ?c ?da ?db WHERE {
  GRAPH ?g { ?a dwc:catalogNumber ?c ; dwc:institutionCode ?i }
  FILTER(REGEX(?c, "[0-9]"))
  ?b dwc:catalogNumber ?c .
  FILTER(?b != ?a)
  ?b dwc:institutionCode ?i .
  ?a schema:includedInDataSet ?da .
  ?b schema:includedInDataSet ?db .
}"""
)
# the links already in the duplicates graph
_LINKS = """PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?link ?a ?b ?term ?value ?ds WHERE {
  ?link a col:PossibleDuplicate ; owl:annotatedSource ?a ; owl:annotatedTarget ?b ;
        col:matchedOn ?term ; rdf:value ?value ; prov:wasDerivedFrom ?ds .
}"""

_OCCURRENCE_TERMS = (DWC.occurrenceID,)
_CATALOGUE_TERMS = (DWC.institutionCode, DWC.catalogNumber)


@dataclass(frozen=True)
class Duplicate:
    """Two records that may be one specimen, and why: the terms that matched and the value."""

    a: IRI
    b: IRI
    terms: tuple[IRI, ...]
    value: str
    datasets: frozenset[IRI]


def duplicates_graph(minter: Minter) -> IRI:
    """The named graph that holds every possible-duplicate link."""
    return minter.graph(DUPLICATES_GRAPH)


def _dataset_nodes(store: Store, minter: Minter) -> set[IRI]:
    """The nodes of the datasets loaded into graphs of their own (not GBIF source datasets)."""
    return {node for g in store.graphs() if (node := minter.dataset_of_graph(g)) is not None}


def find_duplicates(store: Store, minter: Minter, dataset_id: str) -> list[Duplicate]:
    """The possible duplicates of the records of ``dataset_id`` among all the store's records."""
    node = minter.dataset(dataset_id)
    physical = store.physical_graph(minter.graph(dataset_id))
    if physical is None:
        return []
    loaded = _dataset_nodes(store, minter)
    found: dict[tuple[IRI, IRI, tuple[IRI, ...]], Duplicate] = {}
    for query, terms in ((_BY_OCCURRENCE_ID, _OCCURRENCE_TERMS), (_BY_CATALOGUE, _CATALOGUE_TERMS)):
        # value -> record -> its datasets (the dataset's own records, and the others holding it)
        holders: dict[str, dict[IRI, set[IRI]]] = defaultdict(lambda: defaultdict(set))
        for row in store.query(query, params={"g": IRI(physical)}).rows():
            if terms == _OCCURRENCE_TERMS:
                value = row["v"].value  # type: ignore[union-attr]
                if not usable_occurrence_id(value):
                    continue
            else:
                value = f"{row['i'].value} {row['c'].value}"  # type: ignore[union-attr]
            records = holders[value]
            records[IRI(str(row["a"]))].add(IRI(str(row["da"])))
            records[IRI(str(row["b"]))].add(IRI(str(row["db"])))
        for value, records in holders.items():
            if len(records) > MAX_HOLDERS:
                continue
            ours = [r for r, ds in records.items() if node in ds]
            for a in ours:
                for b, b_ds in records.items():
                    if b == a or records[a] == b_ds:
                        continue  # one record, or two records of one (source) dataset
                    first, second = sorted((a, b))
                    datasets = frozenset((records[a] | b_ds) & loaded) or frozenset({node})
                    found[(first, second, terms)] = Duplicate(first, second, terms, value, datasets)
    return sorted(found.values(), key=lambda d: (d.a, d.b, d.terms))


def _kept_links(store: Store, minter: Minter, dataset_id: str) -> list[Duplicate]:
    """The links of the duplicates graph that do not involve ``dataset_id``."""
    graph = duplicates_graph(minter)
    if graph not in store.graphs():
        return []
    node = minter.dataset(dataset_id)
    links: dict[IRI, dict[str, object]] = {}
    for row in store.query(_LINKS, default_graphs=[graph]).rows():
        link = links.setdefault(
            IRI(str(row["link"])),
            {"a": IRI(str(row["a"])), "b": IRI(str(row["b"])), "terms": set(), "ds": set()},
        )
        link["value"] = row["value"].value  # type: ignore[union-attr]
        link["terms"].add(IRI(str(row["term"])))  # type: ignore[attr-defined]
        link["ds"].add(IRI(str(row["ds"])))  # type: ignore[attr-defined]
    kept = []
    for link in links.values():
        datasets = frozenset(link["ds"])  # type: ignore[call-overload]
        if node in datasets:
            continue
        matched = link["terms"]
        terms = tuple(t for t in (*_OCCURRENCE_TERMS, *_CATALOGUE_TERMS) if t in matched)  # type: ignore[operator]
        kept.append(Duplicate(link["a"], link["b"], terms, str(link["value"]), datasets))  # type: ignore[arg-type]
    return kept


def _ntriples(minter: Minter, duplicates: list[Duplicate]) -> str:
    lines = []
    for d in duplicates:
        key = f"{d.a} {d.b} {' '.join(d.terms)}".encode()
        link = minter.mint("duplicate", hashlib.sha1(key).hexdigest()[:16]).n3()
        a, b = d.a.n3(), d.b.n3()
        names = " and ".join(t.rsplit("/", 1)[-1] for t in d.terms)
        comment = f"same {names} {d.value!r} in two datasets: possibly one specimen published twice"
        lines += [
            f"{link} {RDF.type.n3()} {COL.PossibleDuplicate.n3()} .",
            f"{link} {OWL.annotatedSource.n3()} {a} .",
            f"{link} {OWL.annotatedProperty.n3()} {COL.possibleDuplicateOf.n3()} .",
            f"{link} {OWL.annotatedTarget.n3()} {b} .",
            f"{link} {RDF.value.n3()} {quoted(d.value)} .",
            f"{link} {RDFS.comment.n3()} {Literal(comment).n3()} .",
            f"{a} {COL.possibleDuplicateOf.n3()} {b} .",
            f"{b} {COL.possibleDuplicateOf.n3()} {a} .",
        ]
        lines += [f"{link} {COL.matchedOn.n3()} {t.n3()} ." for t in d.terms]
        lines += [f"{link} {PROV.wasDerivedFrom.n3()} {ds.n3()} ." for ds in sorted(d.datasets)]
    return "".join(line + "\n" for line in lines)


def remove_dataset(store: Store, minter: Minter, graph: str) -> bool:
    """Remove a named graph; when it is a dataset's, drop its possible-duplicate links too, and
    refresh the identity graph. False if the graph did not exist."""
    if not store.remove_graph(graph):
        return False
    node = minter.dataset_of_graph(graph)
    if node is not None and duplicates_graph(minter) in store.graphs():
        dataset_id = node[len(minter.base + "dataset/") :]
        link_duplicates(store, minter, dataset_id)
    identity.refresh(store, minter)
    return True


def link_duplicates(store: Store, minter: Minter, dataset_id: str) -> int:
    """Recompute the possible duplicates of ``dataset_id`` (just loaded, replaced or removed)
    in the duplicates graph, keeping the other datasets' links; returns how many it has now."""
    kept = _kept_links(store, minter, dataset_id)
    fresh = (
        find_duplicates(store, minter, dataset_id)
        if minter.graph(dataset_id) in store.graphs()
        else []
    )
    graph = duplicates_graph(minter)
    if not kept and not fresh:
        store.remove_graph(graph)
        return 0
    store.replace_graph(graph, _ntriples(minter, kept + fresh).encode("utf-8"), "ntriples")
    return len(fresh)
