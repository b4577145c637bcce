"""Descriptions of the endpoint: a SPARQL 1.1 Service Description and a VoID description with
per-dataset statistics, written as Turtle and convertible to any RDF format we serve."""

from __future__ import annotations

import io

from collectomics.model import IRI
from collectomics.store import RDF_FORMATS, RESULT_FORMATS, OxigraphStore, Store

_PREFIXES = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix formats: <http://www.w3.org/ns/formats/> .
"""
_FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
    "turtle": "Turtle",
    "ntriples": "N-Triples",
    "nquads": "N-Quads",
    "trig": "TriG",
    "jsonld": "JSON-LD",
    "rdfxml": "RDF_XML",
}


def service_description(endpoint: str, void: str, *, updates: bool = False) -> str:
    """The Service Description of the endpoint at ``endpoint`` (Turtle)."""
    results = ", ".join(
        f"formats:{_FORMAT_IRIS[name]}" for name in list(RESULT_FORMATS) + list(RDF_FORMATS)
    )
    languages = "sd:SPARQL11Query" + (", sd:SPARQL11Update" if updates else "")
    return (
        _PREFIXES
        + f"""
<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage {languages} ;
    sd:resultFormat {results} ;
    sd:feature sd:UnionDefaultGraph, sd:BasicFederatedQuery ;
    sd:defaultDataset <{void}#dataset> .
<{void}#dataset> a sd:Dataset, void:Dataset ;
    sd:defaultGraph [ a sd:Graph ] ;
    dcterms:description "The default graph is the union of the named graphs, one per source dataset." .
"""
    )


_GRAPH_STATS = """
SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
       (COUNT(DISTINCT ?p) AS ?properties) (COUNT(DISTINCT ?o) AS ?objects)
WHERE { ?s ?p ?o }
"""
_CLASSES = (
    "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class ORDER BY ?class"
)


def void_description(store: Store, void: str, endpoint: str) -> str:
    """A VoID description: the whole graph, and per named graph (dataset) its triples,
    distinct subjects, properties and objects, and entities per class."""
    lines = [
        _PREFIXES,
        f"<{void}#dataset> a void:Dataset ;",
        f"    void:sparqlEndpoint <{endpoint}> ;",
        f"    void:triples {store.count()} .",
    ]
    for n, graph in enumerate(store.graphs(), start=1):
        row = next(store.query(_GRAPH_STATS, default_graphs=[graph]).rows())
        node = f"<{void}#graph-{n}>"
        lines += [
            f"<{void}#dataset> void:subset {node} .",
            f"{node} a void:Dataset, sd:NamedGraph ; sd:name {IRI(graph).n3()} ;",
            f"    void:sparqlEndpoint <{endpoint}> ;",
            f"    void:triples {int(row['triples'].value)} ;",  # type: ignore[union-attr]
            f"    void:distinctSubjects {int(row['subjects'].value)} ;",  # type: ignore[union-attr]
            f"    void:properties {int(row['properties'].value)} ;",  # type: ignore[union-attr]
            f"    void:distinctObjects {int(row['objects'].value)} .",  # type: ignore[union-attr]
        ]
        for m, cls in enumerate(store.query(_CLASSES, default_graphs=[graph]).rows(), start=1):
            part = f"<{void}#graph-{n}-class-{m}>"
            lines += [
                f"{node} void:classPartition {part} .",
                f"{part} void:class {cls['class'].n3()} ; void:entities {int(cls['n'].value)} .",  # type: ignore[union-attr]
            ]
    return "\n".join(lines) + "\n"


def convert(turtle: str, fmt: str) -> bytes:
    """Turtle text in another of our RDF formats (through an in-memory store)."""
    if fmt == "turtle":
        return turtle.encode("utf-8")
    scratch = OxigraphStore()
    scratch.add("urn:collectomics:scratch", turtle, "turtle")
    out = io.BytesIO()
    scratch.query("CONSTRUCT WHERE { ?s ?p ?o }").serialize(fmt, out)
    return out.getvalue()
