"""Write one dataset of the store as a Darwin Core Data Package (``export --format dwc-dp``).

The package holds what the graph knows of the dataset's specimens: their material (or
occurrence) rows, events with places, identifications, every role node as a row of the
``*-agent-role`` table of the thing it qualifies (collectors, determiners, georeferencers,
label writers...), the agents with the identifiers of their accepted identity links, groups
with their members, media, and what ``collectomics infer`` concluded (date bounds and flags)
as assertion rows a publisher can review. Keys are the graph's own IRIs, so ingesting the
package again gives back the same nodes (docs/dwc-dp.md lists what the format does not carry).
Table schemas are the pinned official ones (data/dwc-dp), declared inline.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from collectomics.errors import InputError
from collectomics.ingest.dwcdp import (
    DESCRIPTOR,
    pinned_schema,
    profile_problems,
    resolve,
    validate,
)
from collectomics.iri import Minter
from collectomics.mapping.dwc import TAXON_TERMS
from collectomics.mapping.verbatim import GBIF_RECORD_PAGE
from collectomics.model import IRI, Literal, iri_is_valid
from collectomics.store import Store
from collectomics.vocab import COL, DCTERMS, DWC, FOAF, OA, PROV, RDF, RDFS, ROLE

PROFILE = "http://rs.tdwg.org/dwc-dp/1.0/dwc-dp-profile.json"
_DWC = str(DWC.eventDate)[: -len("eventDate")]
_ROLE_NS = str(ROLE.collector)[: -len("collector")]
#: DwC term on our nodes -> the DwC-DP field that carries it, where the names differ
_FIELDS = {"recordNumber": "collectorNumber", "occurrenceID": "evidenceForOccurrenceID"}
_TAXON = frozenset(TAXON_TERMS)
#: identifier schemes named in agent-identifier rows, by the host of the identifier
_SCHEMES = (
    ("wikidata.org", "Wikidata"),
    ("orcid.org", "ORCID"),
    ("ipni.org", "IPNI"),
    ("viaf.org", "VIAF"),
    ("isni.org", "ISNI"),
    ("bionomia.net", "Bionomia"),
)
#: the hands attributed to the labels of the dataset's specimens, from any graph
_LABELS = (
    "PREFIX schema: <http://schema.org/> PREFIX prov: <http://www.w3.org/ns/prov#> "
    "PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
    "CONSTRUCT { ?s col:hasLabel ?l . ?l prov:qualifiedAttribution ?r . ?r ?p ?o . "
    "?a a ?t ; foaf:name ?n } WHERE { ?s schema:includedInDataSet ?d ; col:hasLabel ?l . "
    "?l prov:qualifiedAttribution ?r . ?r ?p ?o ; prov:agent ?a . "
    "OPTIONAL { ?a a ?t } OPTIONAL { ?a foaf:name ?n } }"
)
#: specimen classes <-> DwC-DP materialEntityCategory (its examples: preserved, living...)
CATEGORIES = {
    str(DWC.PreservedSpecimen): "preserved",
    str(DWC.LivingSpecimen): "living",
    str(DWC.FossilSpecimen): "fossilized",
}
_MODIFIED = str(DCTERMS.modified)
_PREFIXES = (
    "PREFIX col: <https://w3id.org/collectomics/ontology#> "
    "PREFIX status: <https://w3id.org/collectomics/status/> "
    "PREFIX owl: <http://www.w3.org/2002/07/owl#> PREFIX oa: <http://www.w3.org/ns/oa#> "
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)


@dataclass
class ExportResult:
    """What an export wrote: rows per table, and the validation problems (none when valid)."""

    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: values the official field types or constraints refuse (a day of year 0), left out
    refused: list[str] = field(default_factory=list)


class _Graph:
    """The dataset's triples, indexed by subject; media by what they depict."""

    def __init__(self, triples: list[tuple[Any, Any, Any]]) -> None:
        self.by_s: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self.depicted: dict[str, list[str]] = defaultdict(list)
        depicts = str(FOAF.depicts)
        for s, p, o in triples:
            self.by_s[str(s)].append((str(p), o))
            if str(p) == depicts:
                self.depicted[str(o)].append(str(s))

    def values(self, s: str, p: object) -> list[Any]:
        return [o for q, o in self.by_s.get(s, []) if q == str(p)]

    def one(self, s: str, p: object) -> str:
        found = self.values(s, p)
        return _text(found[0]) if found else ""

    def types(self, s: str) -> set[str]:
        return {str(o) for o in self.values(s, RDF.type)}


def _text(term: Any) -> str:
    return str(term.value) if isinstance(term, Literal) else str(term)


def _fits(value: str, spec: dict[str, Any]) -> bool:
    """Whether ``value`` meets the field descriptor ``spec``: its type (``integer``,
    ``number``, ``boolean``) and constraints (minimum, maximum, enum, pattern)."""
    kind = spec.get("type", "string")
    number: Decimal | None = None
    try:
        if kind == "integer":
            number = Decimal(int(value))
        elif kind == "number":
            number = Decimal(value)
            if not number.is_finite():
                return False
        elif kind == "boolean" and value not in ("true", "false"):
            return False
    except (ValueError, InvalidOperation):
        return False
    rules = spec.get("constraints") or {}
    if number is not None:
        if "minimum" in rules and number < Decimal(str(rules["minimum"])):
            return False
        if "maximum" in rules and number > Decimal(str(rules["maximum"])):
            return False
    if "enum" in rules and value not in [str(v) for v in rules["enum"]]:
        return False
    return not ("pattern" in rules and re.fullmatch(rules["pattern"], value) is None)


class _Tables:
    """Rows per DwC-DP table, checked against the pinned schema's fields."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.schemas: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.specs: dict[str, dict[str, dict[str, Any]]] = {}
        #: values left out because the field's type or constraints refuse them
        self.refused: list[str] = []

    def fields(self, table: str) -> dict[str, dict[str, Any]]:
        """The field descriptors of a table's pinned schema, by name."""
        if table not in self.schemas:
            schema = pinned_schema(table)
            assert schema is not None, table
            # a few official descriptors say "dcterms:references": "pending", which the
            # official profile refuses (it must be an http IRI): left out, being optional
            for f in schema["fields"]:
                if not str(f.get("dcterms:references", "http")).startswith("http"):
                    del f["dcterms:references"]
            self.schemas[table] = schema
            self.specs[table] = {f["name"]: f for f in schema["fields"]}
        return self.specs[table]

    def add(self, table: str, row: dict[str, str], key: str | None = None) -> bool:
        """Add a row (once per ``key``); values of fields the table lacks or of the wrong
        type are left out."""
        if key is not None:
            if key in self.seen[table]:
                return False
            self.seen[table].add(key)
        fields = self.fields(table)
        kept = {}
        for k, v in row.items():
            if k not in fields or v == "":
                continue
            if _fits(v, fields[k]):
                kept[k] = v
            else:
                self.refused.append(f"{table}.{k} {v!r} ({key or 'a link row'})")
        self.rows[table].append(kept)
        return True


def export_package(store: Store, dataset_id: str, out: Path, *, minter: Minter) -> ExportResult:
    """Write ``dataset_id`` as a DwC-DP into the folder ``out`` (made; must be empty) and
    validate it as the reader does."""
    graph = minter.graph(dataset_id)
    if graph not in store.graphs():
        raise InputError(f"no dataset {dataset_id!r} in the store", parameter="--dataset")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("the output folder must be new or empty", file=str(out))
    out.mkdir(parents=True, exist_ok=True)
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    triples = list(store.query(construct, default_graphs=[graph]).triples())
    # who wrote the labels of these specimens: label datasets attribute hands to them
    labels = store.query(_PREFIXES + _LABELS, params={"d": minter.dataset(dataset_id)})
    g = _Graph(triples + list(labels.triples()))
    tables = _Tables()
    agents: dict[str, str] = {}  # agent IRI -> agentType
    specimens = sorted(
        s
        for s, pos in g.by_s.items()
        if any(
            p == str(RDF.type) and str(o) in (str(DWC.MaterialEntity), str(DWC.Occurrence))
            for p, o in pos
        )
    )
    for s in specimens:
        _specimen(g, tables, agents, s)
    for node, pos in g.by_s.items():  # the people of a people table, with their identifiers
        if any(p == str(RDF.type) and str(o) == str(FOAF.Person) for p, o in pos):
            agents.setdefault(node, "person")
    _groups(g, tables, agents)
    _agents(store, g, tables, agents)
    _inferences(store, minter, tables, specimens)
    if not any(tables.rows.values()):
        out.rmdir()
        raise InputError(
            f"dataset {dataset_id!r} holds no specimens, occurrences, people or groups: a Data "
            "Package of it would have no table",
            parameter="--dataset",
        )
    rows = _write(tables, out, store, minter, dataset_id, g)
    result = ExportResult(out, rows, refused=tables.refused)
    descriptor = json.loads((out / DESCRIPTOR).read_text(encoding="utf-8"))
    result.problems.extend(f"{DESCRIPTOR}: {p}" for p in profile_problems(descriptor))
    errors = validate(resolve(descriptor, out, DESCRIPTOR), out)
    for name, found in errors.items():
        for error in found:
            row = getattr(error, "row_number", None)
            result.problems.append(f"{name or DESCRIPTOR}, row {row}: {error.message}")
    return result


def _literals(g: _Graph, node: str, fields: Container[str]) -> dict[str, str]:
    """The node's Darwin Core literals under their DwC-DP field names, where ``fields`` has
    them."""
    row: dict[str, str] = {}
    for p, o in g.by_s.get(node, []):
        if not isinstance(o, Literal):
            continue
        if p.startswith(_DWC):
            name = p[len(_DWC) :]
        elif p == _MODIFIED:
            name = "modified"
        else:
            continue
        name = _FIELDS.get(name, name)
        if name in fields and name not in row:
            row[name] = o.value
    return row


def _specimen(g: _Graph, tables: _Tables, agents: dict[str, str], s: str) -> None:
    material = str(DWC.MaterialEntity) in g.types(s)
    table = "material" if material else "occurrence"
    fields = tables.fields(table)
    row = _literals(g, s, fields)
    event = s + "/event"
    if material:
        row["materialEntity_pk"] = s
        row["collectedBy"] = g.one(event, DWC.recordedBy)
        row["materialEntityCategory"] = next(
            (word for cls, word in CATEGORIES.items() if cls in g.types(s)), ""
        )
        label = f"{s}/label/verbatim"  # the publisher's verbatimLabel, as a transcription
        if label in [str(o) for o in g.values(s, COL.hasLabel)]:
            body = g.values(f"{label}/transcription/1", OA.hasBody)
            row["verbatimLabel"] = g.one(str(body[0]), RDF.value) if body else ""
    else:
        row["occurrence_pk"] = s
        row["recordedBy"] = g.one(event, DWC.recordedBy)
        row["occurrenceStatus"] = row.get("occurrenceStatus") or "detected"
        occurrence_id = g.one(s, DWC.occurrenceID)
        row["occurrenceID"] = occurrence_id
        row.pop("evidenceForOccurrenceID", None)
    if g.by_s.get(event) or not material:
        efields = tables.fields("event")
        erow = _literals(g, s, efields)  # event terms the mapping kept on the specimen
        erow.update(_literals(g, event, efields))
        erow.update(_literals(g, s + "/location", efields))
        erow.update(_literals(g, s + "/georeference", efields))
        erow.pop("recordedBy", None)
        erow["event_pk"] = event
        erow["eventCategory"] = "material collection" if material else "occurrence"
        tables.add("event", erow, event)
        row["collectionEvent_fk" if material else "event_fk"] = event
    tables.add(table, row, s)
    for value in _identifiers(g, s):
        key = {"materialEntity_fk" if material else "occurrence_fk": s}
        tables.add(f"{table}-identifier", {**key, "identifier": value})
    identification = s + "/identification"
    ifields = tables.fields("identification")
    names = {  # names kept on the specimen, and identification terms material lacks
        k: v
        for k, v in _literals(g, s, ifields).items()
        if k in _TAXON or k not in tables.fields("material")
    }
    if g.by_s.get(identification) or names:
        irow = {**names, **_literals(g, identification, ifields)}
        irow["identification_pk"] = identification
        irow["materialEntity_fk" if material else "occurrence_fk"] = s
        irow["isAcceptedIdentification"] = "true"
        tables.add("identification", irow, identification)
    # every role node under the specimen, in the table of what it qualifies
    for node in [s, event, identification, s + "/georeference"] + _labels(g, s):
        for p in (PROV.qualifiedAssociation, PROV.qualifiedAttribution):
            for rnode in g.values(node, p):
                _role(g, tables, agents, str(rnode), node, s, event, identification, material)
    for media in _depicting(g, s):
        mrow = {"media_pk": media, "mediaID": g.one(media, DCTERMS.identifier)}
        mrow["accessURI"] = g.one(media, IRI("http://rs.tdwg.org/ac/terms/accessURI"))
        for name in ("format", "title", "description", "license", "created"):
            value = g.one(media, DCTERMS.term(name))
            if value:
                mrow[{"license": "", "created": "createDate"}.get(name, name)] = value
        mrow.pop("", None)
        tables.add("media", mrow, media)
        link = {"media_fk": media, ("materialEntity_fk" if material else "occurrence_fk"): s}
        tables.add(f"{table}-media", link)


def _identifiers(g: _Graph, s: str) -> list[str]:
    """The record's identifiers: its ``dcterms:identifier`` values, its occurrenceID when an
    IRI, and ``gbif:N`` for a GBIF record (its ``rdfs:seeAlso`` page ``.../occurrence/N``)."""
    found = [_text(v) for v in g.values(s, DCTERMS.identifier)]
    occurrence_id = g.one(s, DWC.occurrenceID)
    if "://" in occurrence_id and iri_is_valid(occurrence_id):
        found.append(occurrence_id)
    for page in g.values(s, RDFS.seeAlso):
        if str(page).startswith(GBIF_RECORD_PAGE):
            found.append("gbif:" + str(page)[len(GBIF_RECORD_PAGE) :])
    return list(dict.fromkeys(found))


def _labels(g: _Graph, s: str) -> list[str]:
    return [str(o) for o in g.values(s, COL.hasLabel)]


def _depicting(g: _Graph, s: str) -> list[str]:
    return sorted(set(g.depicted.get(s, [])))


def _role(
    g: _Graph,
    tables: _Tables,
    agents: dict[str, str],
    rnode: str,
    node: str,
    s: str,
    event: str,
    identification: str,
    material: bool,
) -> None:
    agent = g.one(rnode, PROV.agent)
    role = g.one(rnode, PROV.hadRole)
    if not agent or not role:
        return
    order = g.one(rnode, COL.order) or "1"
    word = role[len(_ROLE_NS) :] if role.startswith(_ROLE_NS) else role
    row = {"agent_fk": agent, "agentRole": word, "agentRoleIRI": role, "agentRoleOrder": order}
    row["agentRoleDate"] = g.one(rnode, DCTERMS.date)
    if node in (event, s + "/georeference"):
        table, row["event_fk"] = "event-agent-role", event
    elif node == identification:
        table, row["identification_fk"] = "identification-agent-role", identification
    else:  # the specimen itself, its labels (label writers)
        table = "material-agent-role" if material else "occurrence-agent-role"
        row["materialEntity_fk" if material else "occurrence_fk"] = s
    agents.setdefault(agent, "")
    tables.add(table, row, f"{row.get('event_fk') or s}|{agent}|{role}|{order}")


def _groups(g: _Graph, tables: _Tables, agents: dict[str, str]) -> None:
    """Groups of the dataset and their members (agent-agent-role 'member')."""
    for group, pos in sorted(g.by_s.items()):
        if not any(p == str(RDF.type) and str(o) == str(FOAF.Group) for p, o in pos):
            continue
        agents[group] = "group"
        for order, member in enumerate(sorted(str(m) for m in g.values(group, FOAF.member)), 1):
            agents.setdefault(member, "")
            row = {
                "agent_fk": member,
                "relatedAgent_fk": group,
                "agentRole": "member",
                "agentRoleIRI": str(ROLE.member),
                "agentRoleOrder": str(order),
            }
            tables.add("agent-agent-role", row)


def _agents(store: Store, g: _Graph, tables: _Tables, agents: dict[str, str]) -> None:
    """One agent row per agent named, with the identifiers of its accepted identity links
    (the publisher's, and those reviewed in the links graph)."""
    accepted = _PREFIXES + (
        "SELECT ?agent ?target WHERE { ?m col:matchStatus status:accepted ; "
        "owl:annotatedSource ?agent ; owl:annotatedTarget ?target }"
    )
    links: dict[str, list[str]] = defaultdict(list)  # one query, not one per agent
    for row in store.query(accepted).rows():
        if str(row["agent"]) in agents:
            links[str(row["agent"])].append(str(row["target"]))
    for agent in sorted(agents):
        types = g.types(agent)
        kind = agents[agent] or (
            "person"
            if str(FOAF.Person) in types
            else "group"
            if str(FOAF.Group) in types
            else "organization"
            if str(FOAF.Organization) in types
            else ""
        )
        name = g.one(agent, FOAF.name) or g.one(agent, RDFS.label)
        tables.add(
            "agent",
            {"agent_pk": agent, "agentID": agent, "agentType": kind, "preferredAgentName": name},
            agent,
        )
        for target in sorted(set(links[agent])):
            scheme = next((word for host, word in _SCHEMES if host in target), "IRI")
            tables.add(
                "agent-identifier",
                {"agent_fk": agent, "identifier": target, "identifierType": scheme},
                f"{agent}|{target}",
            )


def _inferences(store: Store, minter: Minter, tables: _Tables, specimens: list[str]) -> None:
    """Date bounds and flags from ``collectomics infer`` as assertion rows to review."""
    wanted = set(specimens)
    graph = minter.mint("graph", "inferences")
    if graph not in store.graphs():
        return
    query = _PREFIXES + (
        "SELECT ?n ?for ?method ?early ?late ?comment WHERE { ?n a col:DateInference ; "
        "col:inferredFor ?for . OPTIONAL { ?n col:method ?method } "
        "OPTIONAL { ?n col:earliestDate ?early } OPTIONAL { ?n col:latestDate ?late } "
        "OPTIONAL { ?n rdfs:comment ?comment } }"
    )
    for row in store.query(query, default_graphs=[graph]).rows():
        about = str(row["for"])
        record = about.split("/label/")[0].removesuffix("/event")
        if record not in wanted:
            continue
        if about.endswith("/event"):  # when the specimen was collected
            table, key, prefix = "event-assertion", {"event_fk": about}, ""
        else:  # when its label was written
            material = record in tables.seen["material"]
            table = "material-assertion" if material else "occurrence-assertion"
            key, prefix = {("materialEntity_fk" if material else "occurrence_fk"): record}, "label "
        for name in ("early", "late"):
            if name not in row:
                continue
            tables.add(
                table,
                {
                    "assertionID": f"{row['n']}#{name}",
                    **key,
                    "assertionType": prefix + ("earliestDate" if name == "early" else "latestDate"),
                    "assertionValue": _text(row[name]),
                    "assertionBy": "collectomics infer",
                    "assertionProtocols": _text(row.get("method", "")),
                    "assertionRemarks": _text(row.get("comment", "")),
                },
            )
    flags = _PREFIXES + (
        "SELECT ?n ?target ?method ?text WHERE { ?n a col:RecordFlag ; oa:hasTarget ?target . "
        "OPTIONAL { ?n col:method ?method } OPTIONAL { ?n oa:hasBody/rdf:value ?text } }"
    )
    for row in store.query(flags, default_graphs=[graph]).rows():
        target = str(row["target"])
        if target not in wanted:
            continue
        material = target in tables.seen["material"]
        tables.add(
            "material-assertion" if material else "occurrence-assertion",
            {
                "assertionID": str(row["n"]),
                ("materialEntity_fk" if material else "occurrence_fk"): target,
                "assertionType": "flag",
                "assertionValue": _text(row.get("method", "")).rsplit("#", 1)[-1],
                "assertionBy": "collectomics infer",
                "assertionProtocols": _text(row.get("method", "")),
                "assertionRemarks": _text(row.get("text", "")),
            },
        )


def _write(
    tables: _Tables, out: Path, store: Store, minter: Minter, dataset_id: str, g: _Graph
) -> dict[str, int]:
    """The CSV files and the descriptor, with each table's pinned schema inline (foreign keys
    to tables the package does not hold left out)."""
    present = {name for name, rows in tables.rows.items() if rows}
    resources = []
    counts = {}
    for name in sorted(present):
        schema = dict(tables.schemas[name])
        names = [f["name"] for f in schema["fields"]]
        if schema.get("foreignKeys"):
            schema["foreignKeys"] = [
                fk
                for fk in schema["foreignKeys"]
                if fk.get("reference", {}).get("resource", "") in present | {""}
            ]
            if not schema["foreignKeys"]:
                del schema["foreignKeys"]
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names, lineterminator="\n")
            writer.writeheader()
            writer.writerows(tables.rows[name])
        counts[name] = len(tables.rows[name])
        resources.append(
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": schema,
            }
        )
    dataset = str(minter.dataset(dataset_id))
    descriptor = {
        "profile": PROFILE,
        "id": dataset,
        "name": "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset_id.lower()),
        "title": g.one(dataset, DCTERMS.title) or dataset_id,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": resources,
    }
    licence = g.one(dataset, DCTERMS.license)
    if licence.startswith("http"):
        descriptor["licenses"] = [{"path": licence}]
    (out / DESCRIPTOR).write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
    return counts
