"""Counts of what the graph holds: datasets, triples, specimens, people, documents, links.

Specimens are material entities (a record whose basisOfRecord is a preserved, fossil or living
specimen, a material sample or citation, or not given); the other records (observations and
the like, ``dwc:Occurrence``) are counted apart, never as specimens."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from collectomics.iri import Minter
from collectomics.model import IRI, Literal
from collectomics.store import Store
from collectomics.vocab import COL

_COUNTS = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX rico: <https://www.ica.org/standards/RiC/ontology#>
PREFIX dcmitype: <http://purl.org/dc/dcmitype/>
SELECT
  (COUNT(DISTINCT ?specimen) AS ?specimens) (COUNT(DISTINCT ?person) AS ?people)
  (COUNT(DISTINCT ?agent) AS ?agents) (COUNT(DISTINCT ?document) AS ?documents)
  (COUNT(DISTINCT ?media) AS ?media_items) (COUNT(DISTINCT ?link) AS ?links)
  (COUNT(DISTINCT ?duplicate) AS ?duplicates) (COUNT(DISTINCT ?unknown) AS ?unknowns)
  (COUNT(DISTINCT ?organisation) AS ?organisations) (COUNT(DISTINCT ?other) AS ?others)
WHERE {
  { ?specimen a dwc:MaterialEntity } UNION { ?other a dwc:Occurrence } UNION { ?person a foaf:Person }
  UNION { ?agent a col:NameStringAgent } UNION { ?document a rico:Record }
  UNION { ?media a dcmitype:StillImage } UNION { ?link a col:IdentityMatch }
  UNION { ?duplicate a col:PossibleDuplicate } UNION { ?unknown a col:UnknownAgent }
  UNION { ?organisation a foaf:Organization }
}
"""


@dataclass
class Stats:
    datasets: int
    triples: int
    #: material entities: preserved, fossil and living specimens, material samples and citations
    specimens: int
    #: records that are no specimen (observations and the like): specimens + these = records
    other_records: int
    people: int
    name_string_agents: int
    #: agent values that name no one ('Anon.', '?'), each kept on an unknown agent
    unknown_agents: int
    #: organisations: those a record names as an agent, and those of people tables
    organisations: int
    documents: int
    media: int
    identity_links: int
    possible_duplicates: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def graph_stats(store: Store, minter: Minter) -> Stats:
    """One pass over the store for the headline counts shown by ``collectomics stats``.

    ``datasets`` counts the named graphs but those the project derives (facets, duplicates,
    inferences, links, itineraries: :meth:`Minter.is_derived`)."""
    row = next(store.query(_COUNTS).rows())
    n = {k: int(v.value) for k, v in row.items()}  # type: ignore[union-attr]
    return Stats(
        datasets=len([g for g in store.graphs() if not minter.is_derived(g)]),
        triples=store.count(),
        specimens=n["specimens"],
        other_records=n["others"],
        people=n["people"],
        name_string_agents=n["agents"],
        unknown_agents=n["unknowns"],
        organisations=n["organisations"],
        documents=n["documents"],
        media=n["media_items"],
        identity_links=n["links"],
        possible_duplicates=n["duplicates"],
    )


_RECORDS = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX schema: <http://schema.org/>
SELECT ?d (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?s schema:includedInDataSet ?d .
  { ?s a dwc:MaterialEntity } UNION { ?s a dwc:Occurrence }
} GROUP BY ?d
"""


def dataset_records(store: Store, minter: Minter) -> dict[str, int]:
    """Specimen nodes (one per specimen record: material entities and observations) in each
    dataset's graph, by graph: what the ingest report of the dataset counts as ``specimens``
    (``loaded``, for an Occurrence core)."""
    counts = {}
    for graph in store.graphs():
        node = minter.dataset_of_graph(graph)
        if node is None:
            continue
        rows = store.query(_RECORDS, params={"d": IRI(node)}, default_graphs=[graph]).rows()
        n = 0
        for row in rows:
            term = row["n"]
            n += int(term.value if isinstance(term, Literal) else str(term))
        if n:
            counts[graph] = n
    return counts


_SHAPES = """
PREFIX schema: <http://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?d ?v WHERE { ?d schema:sha256 ?h OPTIONAL { ?d dcterms:conformsTo ?v } }
"""


def outdated_datasets(store: Store) -> dict[str, str | None]:
    """Datasets mapped to another graph shape than this version writes and reads: dataset node
    -> the ontology version its graph follows (its ``dcterms:conformsTo``; ``None`` for a
    dataset loaded before 0.2.0, which did not say). Their pages and answers may miss what the
    shape moved (0.2.0 keeps GBIF issue flags as ``gbif:issue`` literals, for one); ``ingest
    --replace`` of the same files maps them again."""
    found: dict[str, str | None] = {}
    for row in store.query(_SHAPES).rows():
        shape = row.get("v")
        if shape is None or str(shape) != COL.VERSION:
            found[str(row["d"])] = str(shape) if shape is not None else None
    return found
