"""The specimen page as the centre of the graph: one library function per section.

Each section is ``fn(store, minter, iri, **params) -> dict`` about one specimen, reading its own
nodes (``{specimen}/event``, ``/location``, ``/identification``, ``/label/n``...) and the few
that point at it (notebook pages, photographs, inferences, flags, duplicate links): one or two
hops, each list bounded. :func:`specimen_sections` lists them in the page's order.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.mapping.verbatim import GBIF_NS
from collectomics.services.personpage import check_iri, labels, rows, values
from collectomics.services.sections import Section
from collectomics.store import Store
from collectomics.vocab import PREFIXES

_DWC = "http://rs.tdwg.org/dwc/terms/"
#: the values of the record as published: its literals, with the term's short name
#: (GBIF's issue flags are the ``bounds`` section's)
_ISSUE = "<http://rs.gbif.org/terms/1.0/issue>"
_RECORD = f"""SELECT ?s ?p ?o WHERE {{ ?s ?p ?o FILTER(isLiteral(?o) && ?p != {_ISSUE}) }}
ORDER BY ?p ?o LIMIT 300"""
_RECORD_LINKS = """SELECT ?s ?p ?o WHERE {
  ?s ?p ?o FILTER(isIRI(?o) && ?p IN (rdfs:seeAlso, schema:includedInDataSet, dcterms:license,
                                       dwciri:recordedBy, dwciri:identifiedBy, dwciri:toTaxon))
} ORDER BY ?p ?o LIMIT 100"""
_VERBATIM = """SELECT ?s ?p ?o WHERE {
  ?s prov:wasDerivedFrom ?v . ?v a col:VerbatimRecord ; ?p ?o FILTER(isLiteral(?o))
} ORDER BY ?p LIMIT 300"""
#: namespace -> prefix for showing terms: the graph's (vocab.PREFIXES) and GBIF's terms
_PREFIXES = {ns: f"{prefix}:" for prefix, ns in PREFIXES.items()} | {GBIF_NS: "gbif:"}


def term(iri: str) -> str:
    """``dwc:catalogNumber`` for the IRI of a term (the IRI when no prefix is known); the one
    such function of the pages."""
    for ns, prefix in _PREFIXES.items():
        if iri.startswith(ns):
            return prefix + iri[len(ns) :]
    return iri


def is_specimen(store: Store, iri: str) -> bool:
    """True when the graph has a specimen (``dwc:MaterialEntity``) of IRI ``iri``."""
    return bool(
        rows(
            store,
            "SELECT ?s ?t WHERE { ?s a ?t FILTER(?t = dwc:MaterialEntity) } LIMIT 1",
            s=check_iri(iri),
        )
    )


def _specimen(store: Store, iri: str) -> str:
    """``iri`` when the graph has a specimen (``dwc:MaterialEntity``) of that IRI."""
    found = rows(
        store,
        "SELECT ?s ?t WHERE { ?s a ?t FILTER(?t = dwc:MaterialEntity) } LIMIT 1",
        s=check_iri(iri),
    )
    if not found:
        raise InputError(f"not a specimen of this graph: {iri}", parameter="iri")
    return iri


def record(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """The record as published (its values on the specimen) and as written (the values of its
    ``col:VerbatimRecord`` that GBIF's interpretation changed), with its dataset and links."""
    s = _specimen(store, iri)
    published = [{"term": term(r["p"]), "value": r["o"]} for r in rows(store, _RECORD, s=s)]
    verbatim = [{"term": term(r["p"]), "value": r["o"]} for r in rows(store, _VERBATIM, s=s)]
    values = {v["term"]: v["value"] for v in published}
    return {
        "iri": s,
        "catalog": values.get("dwc:catalogNumber", ""),
        "institution": values.get("dwc:institutionCode", ""),
        "taxon": values.get("dwc:scientificName", ""),
        "basis": values.get("dwc:basisOfRecord", ""),
        "published": published,
        "verbatim": verbatim,
        "links": [{"term": term(r["p"]), "iri": r["o"]} for r in rows(store, _RECORD_LINKS, s=s)],
    }


_LABELS = """SELECT ?s ?label ?method ?language ?image ?url ?text ?transcriber ?when ?source WHERE {
  ?s col:hasLabel ?label .
  OPTIONAL { ?label col:writingMethod ?method } OPTIONAL { ?label dcterms:language ?language }
  OPTIONAL { ?image foaf:depicts ?label OPTIONAL { ?image ac:accessURI ?url } }
  OPTIONAL { ?t oa:hasTarget ?label ; oa:motivatedBy oa:transcribing ; oa:hasBody/rdf:value ?text
             OPTIONAL { ?t dcterms:creator ?transcriber } OPTIONAL { ?t dcterms:created ?when }
             OPTIONAL { ?t dcterms:source ?source } }
} ORDER BY ?label LIMIT 100"""
_HANDS = """SELECT ?s ?label ?agent ?person ?confidence ?evidence ?by ?on WHERE {
  ?s col:hasLabel ?label . ?label prov:qualifiedAttribution ?h .
  ?h prov:agent ?agent ; prov:hadRole role:labelWriter .
  OPTIONAL { ?agent col:resolvesTo ?person }
  OPTIONAL { ?h col:confidence ?confidence } OPTIONAL { ?h col:evidence ?evidence }
  OPTIONAL { ?h prov:wasAttributedTo ?by } OPTIONAL { ?h dcterms:date ?on }
} ORDER BY ?label DESC(?confidence) LIMIT 100"""


def label_section(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Its labels: images, transcriptions, and the hand each is attributed to (the person it
    resolves to, with the confidence and evidence of the attribution)."""
    s = _specimen(store, iri)
    found: dict[str, dict[str, Any]] = {}
    for r in rows(store, _LABELS, s=s):
        lab = found.setdefault(
            r["label"],
            {
                "iri": r["label"],
                "method": r["method"],
                "language": r["language"],
                "images": [],
                "transcriptions": [],
                "hands": [],
            },
        )
        if r["image"] and r["image"] not in [i["iri"] for i in lab["images"]]:
            lab["images"].append({"iri": r["image"], "url": r["url"]})
        t = {
            "text": r["text"],
            "by": r["transcriber"],
            "on": r["when"],
            "source": term(r["source"]),
        }
        if r["text"] and t not in lab["transcriptions"]:
            lab["transcriptions"].append(t)
    hands = rows(store, _HANDS, s=s)
    names = labels(store, [r["person"] or r["agent"] for r in hands])
    for r in hands:
        who = r["person"] or r["agent"]
        found.setdefault(
            r["label"],
            {
                "iri": r["label"],
                "images": [],
                "transcriptions": [],
                "hands": [],
                "method": "",
                "language": "",
            },
        )["hands"].append(
            {
                "agent": r["agent"],
                "person": who,
                "name": names[who],
                "confidence": r["confidence"],
                "evidence": r["evidence"],
                "attributed_by": r["by"],
                "attributed_on": r["on"],
            }
        )
    return {"iri": s, "labels": list(found.values())}


_EVENT = """SELECT ?s ?e ?date ?verbatimDate ?earliest ?latest ?recordedBy ?number ?locality
       ?state ?country ?lat ?lon ?uncertainty ?habitat WHERE {
  ?s col:collectingEvent ?e .
  OPTIONAL { ?e dwc:eventDate ?date } OPTIONAL { ?e dwc:verbatimEventDate ?verbatimDate }
  OPTIONAL { ?e col:earliestDate ?earliest } OPTIONAL { ?e col:latestDate ?latest }
  OPTIONAL { ?e dwc:recordedBy ?recordedBy } OPTIONAL { ?s dwc:recordNumber ?number }
  OPTIONAL { ?e dwc:habitat ?habitat }
  OPTIONAL { ?e dsw:locatedAt ?l .
    OPTIONAL { ?l dwc:locality ?locality } OPTIONAL { ?l dwc:stateProvince ?state }
    OPTIONAL { ?l dwc:countryCode ?country } OPTIONAL { ?l dwc:decimalLatitude ?lat }
    OPTIONAL { ?l dwc:decimalLongitude ?lon }
    OPTIONAL { ?l dwc:coordinateUncertaintyInMeters ?uncertainty } }
} LIMIT 1"""


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def event(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """The collecting event: dates as written and as bounds, the place with its coordinates."""
    s = _specimen(store, iri)
    found = rows(store, _EVENT, s=s)
    if not found:
        return {"iri": s, "event": ""}
    r = found[0]
    return {
        "iri": s,
        "event": r["e"],
        "date": r["date"],
        "verbatim_date": r["verbatimDate"],
        "earliest": r["earliest"],
        "latest": r["latest"],
        "recorded_by": r["recordedBy"],
        "record_number": r["number"],
        "locality": r["locality"],
        "state": r["state"],
        "country": r["country"],
        "lat": _number(r["lat"]),
        "lon": _number(r["lon"]),
        "uncertainty_m": r["uncertainty"],
        "habitat": r["habitat"],
    }


#: the role nodes first (each branch a chain from the bound specimen), then their facts by
#: VALUES: the join of two UNIONs took 8 s on 30,000 specimens beside 54,000 people. The
#: verbatim string is written only where a name was split from it: else it is the name.
_ROLE_NODES = """SELECT ?s ?activity ?node WHERE {
  { ?s col:collectingEvent ?activity . ?activity prov:qualifiedAssociation ?node }
  UNION { ?s dsw:hasIdentification ?activity . ?activity prov:qualifiedAssociation ?node }
  UNION { ?s col:hasLabel ?activity . ?activity prov:qualifiedAttribution ?node }
} LIMIT 200"""
_ROLE_FACTS = """SELECT ?node ?role ?order ?written ?verbatim ?agent ?person WHERE {{
  VALUES ?node {{ {values} }}
  ?node prov:agent ?agent . ?node prov:hadRole ?role .
  OPTIONAL {{ ?node col:order ?order }} OPTIONAL {{ ?node col:nameAsWritten ?written }}
  OPTIONAL {{ ?node col:verbatimAgentString ?split }}
  BIND (COALESCE(?split, ?written) AS ?verbatim)
  OPTIONAL {{ ?agent col:resolvesTo ?person }}
}}"""


def agents(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Every agent of the record in order: the role, the name as written (and the whole string
    it was split from), the agent node, and the person or identity it resolves to."""
    s = _specimen(store, iri)
    activity = {r["node"]: r["activity"] for r in rows(store, _ROLE_NODES, s=s)}
    found = rows(store, _ROLE_FACTS.format(values=values(sorted(activity)))) if activity else []
    for r in found:
        r["activity"] = activity[r["node"]]
    names = labels(store, [r["person"] or r["agent"] for r in found])
    out: list[dict[str, Any]] = []
    for r in found:
        who = r["person"] or r["agent"]
        out.append(
            {
                "role": r["role"].rsplit("/", 1)[-1],
                "order": int(r["order"]) if r["order"].isdigit() else None,
                "as_written": r["written"],
                "verbatim": r["verbatim"],
                "agent": r["agent"],
                "resolves_to": who,
                "name": names[who],
                "is_person": who.startswith(minter.base + "person/"),
                "local": who.startswith(minter.base),
                "activity": r["activity"],
            }
        )
    rank = {"collector": 0, "determiner": 1, "labelWriter": 2}
    out.sort(key=lambda a: (rank.get(a["role"], 3), a["activity"], a["order"] or 0))
    return {"iri": s, "agents": out}


_IDENTIFICATIONS = """SELECT ?s ?i ?name ?by ?date ?type ?remarks ?current WHERE {
  ?s dsw:hasIdentification ?i .
  OPTIONAL { ?i dwc:scientificName ?name } OPTIONAL { ?i dwc:identifiedBy ?by }
  OPTIONAL { ?i dwc:dateIdentified ?date } OPTIONAL { ?i dwc:typeStatus ?type }
  OPTIONAL { ?i dwc:identificationRemarks ?remarks }
  OPTIONAL { ?i dwc:identificationVerificationStatus ?current }
} ORDER BY ?date ?i LIMIT 100"""


def identifications(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Identifications over time, oldest first (undated ones last)."""
    s = _specimen(store, iri)
    found = [
        {
            "iri": r["i"],
            "name": r["name"],
            "by": r["by"],
            "date": r["date"],
            "type_status": r["type"],
            "remarks": r["remarks"],
            "status": r["current"],
        }
        for r in rows(store, _IDENTIFICATIONS, s=s)
    ]
    found.sort(key=lambda x: (not x["date"], x["date"]))
    return {"iri": s, "identifications": found}


_DOCUMENTS = """SELECT ?s ?doc ?title ?date ?parent ?parentTitle ?creator WHERE {
  ?doc dcterms:references ?s .
  OPTIONAL { ?doc dcterms:title|rdfs:label ?title } OPTIONAL { ?doc dcterms:date ?date }
  OPTIONAL { ?doc rico:isOrWasPartOf ?parent OPTIONAL { ?parent dcterms:title ?parentTitle } }
  OPTIONAL { ?doc rico:hasCreator|dcterms:creator ?creator }
} ORDER BY ?date ?doc LIMIT 100"""
_PHOTOS = """SELECT ?s ?m ?title ?date ?url ?info ?creator ?license WHERE {
  { ?m foaf:depicts ?s } UNION { ?m ac:associatedSpecimenReference ?s }
  OPTIONAL { ?m dcterms:title ?title } OPTIONAL { ?m dcterms:created ?date }
  OPTIONAL { ?m ac:accessURI ?url } OPTIONAL { ?m ac:furtherInformationURL ?info }
  OPTIONAL { ?m dcterms:creator ?creator } OPTIONAL { ?m dcterms:license ?license }
} ORDER BY ?date ?m LIMIT 100"""


def documents(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Notebook pages and other documents that mention it, and photographs of it."""
    s = _specimen(store, iri)
    docs: dict[str, dict[str, Any]] = {}
    for r in rows(store, _DOCUMENTS, s=s):
        docs.setdefault(
            r["doc"],
            {
                "iri": r["doc"],
                "title": r["title"],
                "date": r["date"],
                "document": r["parent"],
                "document_title": r["parentTitle"],
                "creator": r["creator"],
            },
        )
    photos: dict[str, dict[str, Any]] = {}
    for r in rows(store, _PHOTOS, s=s):
        photos.setdefault(
            r["m"],
            {
                "iri": r["m"],
                "title": r["title"],
                "date": r["date"],
                "url": r["url"],
                "info": r["info"],
                "creator": r["creator"],
                "license": r["license"],
            },
        )
    names = labels(store, [d["creator"] for d in docs.values() if d["creator"]])
    for d in docs.values():
        d["creator_name"] = names.get(d["creator"], "")
    return {"iri": s, "documents": list(docs.values()), "photographs": list(photos.values())}


_BOUNDS = """SELECT ?s ?x ?method ?earliest ?latest ?confidence ?comment
       (GROUP_CONCAT(DISTINCT STR(?ev); separator=" ") AS ?evidence) WHERE {
  ?x a col:DateInference .
  { ?x dcterms:subject ?s } UNION { ?s col:hasLabel ?label . ?x col:inferredFor ?label }
  OPTIONAL { ?x col:method ?method } OPTIONAL { ?x col:earliestDate ?earliest }
  OPTIONAL { ?x col:latestDate ?latest } OPTIONAL { ?x col:confidence ?confidence }
  OPTIONAL { ?x rdfs:comment ?comment } OPTIONAL { ?x col:evidence ?ev }
} GROUP BY ?s ?x ?method ?earliest ?latest ?confidence ?comment ORDER BY ?method ?x LIMIT 50"""
_FLAGS = """SELECT ?s ?flag ?rule ?message (GROUP_CONCAT(DISTINCT STR(?ev); separator=" ") AS ?evidence)
WHERE {
  ?flag a col:RecordFlag ; oa:hasTarget ?s .
  OPTIONAL { ?flag col:method ?rule }
  OPTIONAL { ?flag oa:hasBody/rdf:value|rdfs:comment ?message }
  OPTIONAL { ?flag col:evidence ?ev }
} GROUP BY ?s ?flag ?rule ?message ORDER BY ?rule ?flag LIMIT 100"""
_ISSUES = f"SELECT ?s ?issue WHERE {{ ?s {_ISSUE} ?issue }} ORDER BY ?issue LIMIT 100"
_DUPLICATES = """SELECT ?s ?link ?other ?value (GROUP_CONCAT(DISTINCT STR(?t); separator=" ") AS ?terms)
       (SAMPLE(?d) AS ?dataset) (SAMPLE(?c) AS ?catalog) (SAMPLE(?i) AS ?institution) WHERE {
  { ?link owl:annotatedSource ?s ; owl:annotatedTarget ?other }
  UNION { ?link owl:annotatedTarget ?s ; owl:annotatedSource ?other }
  ?link a col:PossibleDuplicate .
  OPTIONAL { ?link col:matchedOn ?t } OPTIONAL { ?link rdf:value ?value }
  OPTIONAL { ?other schema:includedInDataSet ?d } OPTIONAL { ?other dwc:catalogNumber ?c }
  OPTIONAL { ?other dwc:institutionCode ?i }
} GROUP BY ?s ?link ?other ?value ORDER BY ?other LIMIT 100"""


def bounds(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Inferred date bounds (``collectomics infer``) with the evidence of each, the flags raised
    on the record, and the publisher's issue flags."""
    s = _specimen(store, iri)
    return {
        "iri": s,
        "inferences": [
            {
                "iri": r["x"],
                "method": r["method"].rsplit("#", 1)[-1],
                "earliest": r["earliest"],
                "latest": r["latest"],
                "confidence": r["confidence"],
                "comment": r["comment"],
                "evidence": r["evidence"].split(),
            }
            for r in rows(store, _BOUNDS, s=s)
        ],
        "flags": [
            {
                "flag": r["flag"],
                "rule": r["rule"].rsplit("#", 1)[-1],
                "message": r["message"],
                "evidence": r["evidence"].split(),
            }
            for r in rows(store, _FLAGS, s=s)
        ],
        "issues": [r["issue"] for r in rows(store, _ISSUES, s=s)],
    }


def duplicates(store: Store, minter: Minter, iri: str) -> dict[str, Any]:
    """Records in other collections that may be this specimen (linked, never merged), with the
    terms they matched on."""
    s = _specimen(store, iri)
    return {
        "iri": s,
        "duplicates": [
            {
                "iri": r["other"],
                "catalog": r["catalog"],
                "institution": r["institution"],
                "dataset": r["dataset"],
                "matched_on": [term(t) for t in r["terms"].split()],
                "value": r["value"],
                "local": r["other"].startswith(minter.base),
            }
            for r in rows(store, _DUPLICATES, s=s)
        ],
    }


def specimen_sections(iri: str) -> list[Section]:
    """The sections of a specimen's page, in the page's order."""
    q = quote(iri, safe="")
    here = "collectomics.services.specimenpage:"

    def more(name: str) -> str:
        return f"/sections/{name}?iri={q}"

    return [
        Section(
            "record", "The record as published and as written", here + "record", more=more("record")
        ),
        Section(
            "labels",
            "Labels and the hands that wrote them",
            here + "label_section",
            more=more("labels"),
        ),
        Section("event", "The collecting event", here + "event", more=more("event")),
        Section("agents", "Every agent, in order", here + "agents", more=more("agents")),
        Section(
            "identifications",
            "Identifications over time",
            here + "identifications",
            more=more("identifications"),
        ),
        Section(
            "documents",
            "Notebook pages, documents and photographs",
            here + "documents",
            more=f"/queries/documents-mentioning-specimen?specimen={q}&format=json",
        ),
        Section("bounds", "Date bounds, flags and issues", here + "bounds", more=more("bounds")),
        Section("duplicates", "Possible duplicates", here + "duplicates", more=more("duplicates")),
    ]
