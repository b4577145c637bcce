"""Map the tables of a Darwin Core Data Package (DwC-DP) onto the graph (docs/dwc-dp.md).

Pure: tables of rows in, one :class:`Mapped` per row out, in the order the rows are given.
Each material (or occurrence that no material evidences) is flattened, with its event and
accepted identification, into one Darwin Core record and mapped by
:func:`~collectomics.mapping.specimens.map_specimen`, so a specimen from a DwC-DP has the
shape of one from a Darwin Core Archive. The ``*-agent-role`` tables become role nodes by the
one role-node rule (:func:`~collectomics.mapping.roles.role_node`); an agent-role table
that names collectors (determiners, georeferencers) of a record replaces the split of its
verbatim string, whose names then only say how each agent was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from collectomics.iri import slug
from collectomics.mapping.agentids import identifier_iri
from collectomics.mapping.common import Context, Mapped, guarded, publisher_match, text
from collectomics.mapping.dwc import IDENTIFICATION_TERMS
from collectomics.mapping.extensions import (
    AC_NS,
    DC_NS,
    DWC_NS,
    map_identification,
    map_media,
    map_relationship,
)
from collectomics.mapping.names import display_form, is_organisation, read_agents
from collectomics.mapping.roles import role_for, role_node, role_node_iri, unknown_agent
from collectomics.mapping.specimens import (
    map_specimen,
    measurers,
    repeat_iri,
    specimen_key,
)
from collectomics.mapping.verbatim import keep_all
from collectomics.model import IRI, Literal, iri_is_valid
from collectomics.vocab import COL, DCTERMS, DSW, DWC, DWCIRI, FOAF, PROV, RDF, RDFS, ROLE, SCHEMA

#: DwC-DP tables this mapping places; rows of any other table are counted and reported as
#: having no place in the graph
MAPPED_TABLES = frozenset(
    """agent agent-identifier agent-agent-role agent-media event event-agent-role
    event-identifier event-media event-reference occurrence occurrence-agent-role
    occurrence-identifier occurrence-media occurrence-reference material material-agent-role
    material-identifier material-media material-reference identification
    identification-agent-role identification-reference media media-agent-role
    media-identifier bibliographic-resource resource-relationship event-assertion
    occurrence-assertion material-assertion media-assertion""".split()
)


#: roles a record's verbatim string also names: (the record's term, the activity's suffix)
_STRING_ROLES = {
    ROLE.collector: ("recordedBy", "event"),
    ROLE.determiner: ("identifiedBy", "identification"),
    ROLE.georeferencer: ("georeferencedBy", "georeference"),
}
#: the dwciri shortcut from the specimen to each agent of these roles
_SHORTCUTS = {
    ROLE.collector: DWCIRI.recordedBy,
    ROLE.determiner: DWCIRI.identifiedBy,
    ROLE.georeferencer: DWCIRI.georeferencedBy,
}
#: DwC-DP field -> the Darwin Core term a record carries it as, where the names differ
_RENAMED = {
    "collectedBy": "recordedBy",
    "collectedByID": "recordedByID",
    "collectorNumber": "recordNumber",
    "evidenceForOccurrenceID": "occurrenceID",
}
_AGENT_TYPES = {
    "person": (FOAF.Person, PROV.Person),
    "group": (FOAF.Group, PROV.Organization),
    "organization": (FOAF.Organization,),  # as an organisation named on a record is typed
    "organisation": (FOAF.Organization,),
    "institution": (FOAF.Organization,),
}
#: the literals of an identification node (as map_specimen writes them)
_IDENTIFICATION_LITERALS = (
    *IDENTIFICATION_TERMS,
    "scientificName",
    "scientificNameAuthorship",
    "taxonRank",
)
#: DwC-DP materialEntityCategory -> the basisOfRecord that gives our specimen class
_CATEGORIES = {
    "preserved": "PreservedSpecimen",
    "living": "LivingSpecimen",
    "fossilized": "FossilSpecimen",
    "fossil": "FossilSpecimen",
}
#: fields the reader uses up (which identification is current): not kept on the record
_CONSUMED = frozenset({"isAcceptedIdentification"})
#: media fields that are Dublin Core terms (the rest are Audiovisual Core)
_MEDIA_DC = frozenset("title description language modified format".split())


@dataclass
class Table:
    """One resource of a package: its rows (row 1 is the header) with the keys its schema
    declares. ``refs``: referenced table -> the field holding the reference (``""`` for a
    reference to a row of the same table)."""

    name: str
    file: str
    key: str | None = None
    refs: dict[str, str] = field(default_factory=dict)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def ref(self, row: Mapping[str, str], target: str) -> str:
        """The key of the ``target`` row this row refers to ('' when none)."""
        name = self.refs.get(target)
        return (row.get(name) or "").strip() if name else ""


@dataclass
class Outcome:
    """What one row became: its table, row number and mapping."""

    table: str
    row: int
    mapped: Mapped


def _clean(row: Mapping[str, str]) -> dict[str, str]:
    return {k: v.strip() for k, v in row.items() if k and v and v.strip()}


def _own_fields(table: Table, row: Mapping[str, str]) -> dict[str, str]:
    """A row's values as Darwin Core terms: without its key and reference columns."""
    return {
        _RENAMED.get(k, k): v
        for k, v in row.items()
        if not k.endswith("_pk") and not k.endswith("_fk") and k not in _CONSUMED
    }


class PackageMapper:
    """Maps the tables of one package within one dataset (``ctx``)."""

    def __init__(self, tables: Mapping[str, Table], ctx: Context) -> None:
        self.tables = tables
        self.ctx = ctx
        self.base_specimen = ctx.minter.base + "specimen/"
        self.agents: dict[str, IRI] = {}  # agent key -> its node
        self.unknown: dict[IRI, str] = {}  # agents that name no one -> the name as written
        self.events: dict[str, dict[str, str]] = {}  # event key -> its row
        self.event_ids: dict[str, str] = {}  # eventID -> event key
        self.subjects: dict[tuple[str, str], IRI] = {}  # (table, key) -> the record's node
        self.identifications: dict[str, IRI] = {}  # identification key -> its node
        self.media: dict[str, IRI] = {}
        self.references: dict[str, IRI] = {}
        self.records: dict[str, list[IRI]] = {}  # event key -> records made from it
        self.by_id: dict[str, IRI] = {}  # any record's ID or key -> its node (relationships)
        self._keys_seen: dict[IRI, int] = {}
        self._done: set[str] = set()
        self._verbatim: dict[tuple[IRI, str], str] = {}
        self._role_count: dict[tuple[IRI, IRI], int] = {}
        self._role_agents: dict[IRI, IRI] = {}  # role node -> its agent
        self.owner: dict[IRI, IRI] = {}  # a record's event or identification -> the record

    # ------------------------------------------------------------------ helpers

    def _rows(self, name: str) -> list[tuple[int, dict[str, str]]]:
        table = self.tables.get(name)
        return table.rows if table else []

    def _key(self, name: str, row: Mapping[str, str]) -> str:
        table = self.tables[name]
        return (row.get(table.key) or "").strip() if table.key else ""

    def _agent(self, out: Mapped, row: Mapping[str, str], table: Table) -> IRI | None:
        key = table.ref(row, "agent")
        agent = self.agents.get(key)
        if agent is None:
            out.reject(table.refs.get("agent"), f"agent {key!r} is no loaded row of table agent")
        return agent

    # ------------------------------------------------------------------ tables

    def run(self) -> Iterator[Outcome]:
        """Every row of every table, mapped once (agents, events and references first, since
        the rest refer to them)."""
        yield from self._each("agent", self.agent)
        yield from self._each("agent-identifier", self.agent_identifier)
        yield from self._each("agent-agent-role", self.agent_agent_role)
        for _, row in self._rows("event"):
            key = self._key("event", row)
            self.events.setdefault(key, row)
            if row.get("eventID"):
                self.event_ids.setdefault(row["eventID"].strip(), key)
        yield from self._each("bibliographic-resource", self.reference)
        records = list(self._records())
        yield from records
        self.prepare_roles(records)
        yield from self._each("event", self.event)
        yield from self._each("media", self.medium)
        yield from self._each("identification", self.identification)  # history, for its roles
        for name in self.tables:
            if name not in MAPPED_TABLES:
                continue
            if name.endswith("-agent-role") and name != "agent-agent-role":
                yield from self._each(name, self.agent_role)
            elif name.endswith("-media") and name != "media":
                yield from self._each(name, self.depicts)
            elif name.endswith("-reference"):
                yield from self._each(name, self.cites)
            elif name.endswith("-identifier") and name != "agent-identifier":
                yield from self._each(name, self.identifier)
            elif name.endswith("-assertion"):
                yield from self._each(name, self.assertion)
        yield from self._each("resource-relationship", self.relationship)
        for name, table in self.tables.items():
            if name not in MAPPED_TABLES or name not in self._done:
                for number, _ in table.rows:
                    out = Mapped(rejected=f"table {name} has no place in the graph")
                    yield Outcome(name, number, out)

    def _each(
        self, name: str, fn: Callable[[Table, int, dict[str, str]], Mapped]
    ) -> Iterator[Outcome]:
        """Each row of table ``name`` mapped by ``fn``, once per table."""
        table = self.tables.get(name)
        if table is None:
            return
        if name in self._done:
            return
        self._done.add(name)
        for number, row in table.rows:
            yield Outcome(name, number, guarded(fn, table, number, row))

    def agent(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        key = self._key("agent", values)
        if not key:
            return out.reject(table.key, "an agent without its key")
        name = values.get("preferredAgentName", "")
        agent_id = values.get("agentID", "")
        kind = values.get("agentType", "").lower()
        if agent_id.startswith(self.ctx.minter.base) and iri_is_valid(agent_id):
            node = IRI(agent_id)  # one of ours, written by collectomics export: the same node
        else:
            node = self.ctx.minter.mint("agent", self.ctx.dataset_id, "dwc-dp", key)
        self.agents[key] = node
        out.subject = node
        read = read_agents(name) if name and not kind else []
        if read and read[0].unknown:  # 'Anon.', '?': an unknown agent per role, never linked
            self.unknown[node] = name
            return out
        if kind in _AGENT_TYPES:
            for cls in _AGENT_TYPES[kind]:
                out.add(node, RDF.type, cls)
        elif name and is_organisation(name):
            out.add(node, RDF.type, FOAF.Organization)
        else:  # a name, no more is known of it: linking may propose a person
            out.add(node, RDF.type, COL.NameStringAgent)
        out.add(node, RDF.type, PROV.Agent)
        if kind and kind not in _AGENT_TYPES:
            out.add(node, DCTERMS.type, Literal(values["agentType"]))
        if name:
            shown = name if kind in _AGENT_TYPES or is_organisation(name) else display_form(name)
            out.add(node, FOAF.name, Literal(shown))
            if shown != name:
                out.add(node, SCHEMA.alternateName, Literal(name))
        out.add(node, RDFS.comment, text(values.get("agentRemarks")))
        out.add(node, SCHEMA.includedInDataSet, self.ctx.dataset)
        if agent_id and node != IRI(agent_id):
            self._identity(out, node, agent_id, "agentID")
        return out

    def _identity(self, out: Mapped, node: IRI, value: str, column: str) -> None:
        target = identifier_iri(value)
        if target is None:
            out.add(node, DCTERMS.identifier, Literal(value))
            return
        match = self.ctx.minter.part(node, "match", target)
        publisher_match(
            out, self.ctx, node, target, match, f"asserted by the publisher in {column}"
        )

    def agent_identifier(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        agent = self._agent(out, values, table)
        if agent is None:
            return out
        value = values.get("identifier", "")
        if not value:
            return out.reject("identifier", "an agent identifier without its identifier")
        if value != str(agent):
            self._identity(out, agent, value, "agent-identifier")
        return out

    def agent_agent_role(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        """``agent`` plays a role towards ``relatedAgent`` (a member of a group, an employee
        of an organisation): a ``schema:OrganizationRole`` as the groups template writes."""
        out = Mapped()
        values = _clean(row)
        agent = self._agent(out, values, table)
        related = self.agents.get(table.ref(values, "relatedAgent") or table.ref(values, ""))
        if agent is None:
            return out
        if related is None:
            field_name = table.refs.get("relatedAgent") or table.refs.get("") or "relatedAgent_fk"
            return out.reject(field_name, "the related agent is no loaded row of table agent")
        word = values.get("agentRole", "")
        role, other = role_for(word, values.get("agentRoleIRI", ""))
        node = self.ctx.minter.part(related, "member", str(agent), values.get("agentRoleOrder", ""))
        out.subject = node
        out.add(related, SCHEMA.member, node)
        out.add(node, RDF.type, SCHEMA.OrganizationRole)
        out.add(node, SCHEMA.member, agent)
        out.add(node, PROV.hadRole, role)
        out.add(node, SCHEMA.roleName, text(word or other))
        out.add(node, COL.order, _order(values))
        out.add(node, SCHEMA.startDate, text(values.get("agentRoleDate")))
        if role == ROLE.member:
            out.add(related, FOAF.member, agent)
        return out

    def reference(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        key = self._key(table.name, values)
        if not key:
            return out.reject(table.key, "a reference without its key")
        node = self.ctx.minter.mint("reference", self.ctx.dataset_id, key)
        self.references[key] = node
        out.subject = node
        out.add(node, RDF.type, DCTERMS.BibliographicResource)
        out.add(node, SCHEMA.includedInDataSet, self.ctx.dataset)
        for name, value in _own_fields(table, values).items():
            predicate = DCTERMS.identifier if name == "referenceID" else DCTERMS.term(name)
            out.add(node, predicate, Literal(value))
        return out

    # ------------------------------------------------------------------ records

    def _records(self) -> Iterator[Outcome]:
        """Materials, then the occurrences no material evidences: one specimen node each."""
        occurrences = self.tables.get("occurrence")
        by_occurrence_id: dict[str, dict[str, str]] = {}
        if occurrences:
            for _, row in occurrences.rows:
                if row.get("occurrenceID"):
                    by_occurrence_id.setdefault(row["occurrenceID"].strip(), row)
        evidenced: set[str] = set()
        accepted = self._accepted_identifications()
        material = self.tables.get("material")
        if material:
            self._done.add("material")
            for number, row in material.rows:
                values = _clean(row)
                occurrence = by_occurrence_id.get(values.get("evidenceForOccurrenceID", ""), {})
                if occurrence:
                    evidenced.add(occurrence["occurrenceID"].strip())
                mapped = guarded(
                    self._record,
                    material,
                    number,
                    values,
                    _clean(occurrence),
                    "collectionEvent",
                    accepted,
                )
                yield Outcome("material", number, mapped)
        if occurrences:
            self._done.add("occurrence")
            for number, row in occurrences.rows:
                values = _clean(row)
                if values.get("occurrenceID", "") in evidenced:
                    out = Mapped(subject=self.by_id.get(values["occurrenceID"]))
                    key = self._key("occurrence", values)
                    if out.subject is not None and key:
                        self.subjects[("occurrence", key)] = out.subject
                    yield Outcome("occurrence", number, out)  # on the material's node
                    continue
                yield Outcome(
                    "occurrence",
                    number,
                    guarded(self._record, occurrences, number, values, {}, "event", accepted),
                )

    def _accepted_identifications(self) -> dict[tuple[str, str], dict[str, str]]:
        """(material or occurrence, its key) -> the identification merged into its record:
        the one marked accepted, else the first."""
        table = self.tables.get("identification")
        found: dict[tuple[str, str], dict[str, str]] = {}
        if table is None:
            return found
        for _, row in table.rows:
            values = _clean(row)
            for target in ("material", "occurrence"):
                key = table.ref(values, target)
                if not key:
                    continue
                accepted = values.get("isAcceptedIdentification", "").lower() in {"true", "1"}
                if accepted or (target, key) not in found:
                    found[(target, key)] = values
        return found

    def _record(
        self,
        table: Table,
        number: int,
        values: dict[str, str],
        occurrence: dict[str, str],
        event_ref: str,
        accepted: dict[tuple[str, str], dict[str, str]],
    ) -> Mapped:
        key = self._key(table.name, values)
        if not key:
            return Mapped().reject(table.key, f"a {table.name} row without its key")
        event_key = table.ref(values, event_ref) or table.ref(values, "event")
        if not event_key and values.get("eventID"):  # a package keyed by eventID itself
            event_key = self.event_ids.get(values["eventID"], values["eventID"])
        event = self.events.get(event_key, {}) if event_key else {}
        if event_key and not event:
            field_name = table.refs.get(event_ref) or table.refs.get("event")
            return Mapped().reject(field_name, f"event {event_key!r} is no row of table event")
        record: dict[str, str] = {}
        event_table = self.tables.get("event")
        if event and event_table:
            record.update(_own_fields(event_table, _clean(event)))
        if occurrence and "occurrence" in self.tables:
            record.update(_own_fields(self.tables["occurrence"], occurrence))
        record.update({k: v for k, v in _own_fields(table, values).items() if k not in record or v})
        identification = accepted.get((table.name, key))
        id_table = self.tables.get("identification")
        if identification and id_table:
            record.update(_own_fields(id_table, identification))
        basis = ""  # the class of the record's node, told to map_specimen by basisOfRecord
        if "basisOfRecord" not in record:
            if table.name == "occurrence":
                basis = "Occurrence"  # an occurrence with no material: no specimen
            else:
                basis = _CATEGORIES.get(values.get("materialEntityCategory", "").lower(), "")
            if basis:
                record["basisOfRecord"] = basis
        # agent-role tables that name agents of the roles a verbatim string also names
        roles = self._string_roles(table.name, key, event_key, identification)
        kept = {_STRING_ROLES[r][0]: record.pop(_STRING_ROLES[r][0], "") for r in roles}
        ident = values.get("materialEntityID") or values.get("occurrenceID") or ""
        if key.startswith(self.base_specimen):  # written by collectomics export: the same node
            ident = key
        subject = self._subject(table.name, ident, record, f"{table.file}:{number}")
        out = map_specimen(record, self.ctx, subject)
        if basis:  # the publisher gave no basisOfRecord: its literal is not kept
            _drop(out, (subject, DWC.basisOfRecord, Literal(basis)))
        if subject.startswith(self.base_specimen) and key.startswith(self.base_specimen):
            # keyed by the IRI collectomics export wrote, not by the record's terms or row
            out.problems[:] = [p for p in out.problems if "keyed by" not in p.reason]
        self.subjects[(table.name, key)] = subject
        for name in (key, ident, values.get("occurrenceID", ""), occurrence.get("occurrenceID")):
            if name:
                self.by_id.setdefault(name, subject)
        if event_key:
            self.records.setdefault(event_key, []).append(subject)
        for part in ("event", "identification", "georeference"):
            self.owner[IRI(f"{subject}/{part}")] = subject
        if identification and id_table:
            id_key = self._key("identification", identification)
            if id_key:
                self.identifications[id_key] = IRI(subject + "/identification")
        for term, value in kept.items():  # the string stays as written; the table names who
            node = IRI(f"{subject}/{_suffix(term)}")
            if value:
                out.add(node, DWC.term(term), Literal(value))
            # the activity map_specimen makes when the string is there (same triples)
            if term == "recordedBy":
                out.add(subject, COL.collectingEvent, node)
                out.add(node, RDF.type, DWC.Event)  # a prov:Activity by the ontology
            elif term == "identifiedBy":
                out.add(subject, DSW.hasIdentification, node)
                out.add(node, RDF.type, DWC.Identification)  # a prov:Activity, likewise
                for name in _IDENTIFICATION_LITERALS:
                    out.add(node, DWC.term(name), text(record.get(name)))
            else:
                out.add(node, RDF.type, PROV.Activity)
                out.add(IRI(subject + "/location"), PROV.wasGeneratedBy, node)
        out.verbatim_names = kept  # type: ignore[attr-defined]
        return out

    def _string_roles(
        self, table: str, key: str, event_key: str, identification: dict[str, str] | None
    ) -> set[IRI]:
        """The string roles (collector, determiner, georeferencer) that agent-role tables give
        for this record: its event's, its own, its accepted identification's."""
        found: set[IRI] = set()
        sources = [(f"{table}-agent-role", table, key), ("event-agent-role", "event", event_key)]
        if identification:
            sources.append(
                (
                    "identification-agent-role",
                    "identification",
                    self._key("identification", identification),
                )
            )
        for name, target, target_key in sources:
            roles = self.tables.get(name)
            if roles is None or not target_key:
                continue
            for _, row in roles.rows:
                if roles.ref(row, target) == target_key:
                    role, _ = role_for(row.get("agentRole", ""), row.get("agentRoleIRI", ""))
                    if role in _STRING_ROLES:
                        found.add(role)
        return found

    def _subject(self, table: str, ident: str, record: dict[str, str], row: str) -> IRI:
        if ident.startswith(self.base_specimen) and iri_is_valid(ident):
            subject = IRI(ident)  # one of ours, written by collectomics export
        else:
            keyed = dict(record)
            if ident and not keyed.get("occurrenceID"):
                keyed["occurrenceID"] = ident
            subject = self.ctx.minter.specimen(*specimen_key(keyed, self.ctx.dataset_id, row).parts)
        seen = self._keys_seen.get(subject, 0) + 1
        self._keys_seen[subject] = seen
        return repeat_iri(subject, seen)

    def event(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        """An event row: mapped onto the event of each record made from it; an event no record
        names (a parent, an expedition) is its own ``dwc:Event`` node."""
        out = Mapped()
        values = _clean(row)
        key = self._key("event", values)
        if not key:
            return out.reject(table.key, "an event without its key")
        parent = table.ref(values, "") or table.ref(values, "event")
        if key in self.records:
            if parent:
                for subject in self.records[key]:
                    out.add(IRI(subject + "/event"), DCTERMS.isPartOf, self._event_node(parent))
            return out
        node = self._event_node(key)
        out.subject = node
        out.add(node, RDF.type, DWC.Event)  # a prov:Activity by the ontology
        out.add(node, SCHEMA.includedInDataSet, self.ctx.dataset)
        for name, value in _own_fields(table, values).items():
            out.add(
                node, DCTERMS.identifier if name == "eventID" else DWC.term(name), Literal(value)
            )
        if parent:
            out.add(node, DCTERMS.isPartOf, self._event_node(parent))
        return out

    def _event_node(self, key: str) -> IRI:
        return self.ctx.minter.mint("event", self.ctx.dataset_id, key)

    def _targets(self, table: Table, row: Mapping[str, str]) -> tuple[str, list[IRI], str]:
        """The nodes a row of a link table (``*-agent-role``, ``*-media``...) is about, by the
        table its name starts with: (that table, the nodes, the key)."""
        target = table.name.rsplit("-", 2 if table.name.endswith("-agent-role") else 1)[0]
        key = table.ref(row, target)
        if target == "event":
            nodes = [IRI(s + "/event") for s in self.records.get(key, [])]
            if not nodes and key in self.events:
                nodes = [self._event_node(key)]
        elif target in ("material", "occurrence"):
            subject = self.subjects.get((target, key))
            nodes = [subject] if subject else []
        elif target == "identification":
            found = self.identifications.get(key)
            nodes = [found] if found else []
        elif target == "media":
            found = self.media.get(key)
            nodes = [found] if found else []
        elif target == "agent":
            found = self.agents.get(key)
            nodes = [found] if found else []
        else:
            nodes = []
        return target, nodes, key

    def agent_role(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        agent = self._agent(out, values, table)
        if agent is None:
            return out
        target, nodes, key = self._targets(table, values)
        if not nodes:
            return out.reject(table.refs.get(target), f"{target} {key!r} is no loaded row")
        role, other = role_for(values.get("agentRole", ""), values.get("agentRoleIRI", ""))
        order = int(values.get("agentRoleOrder", "1") or 1)
        for node in nodes:
            self._role(out, table, target, node, agent, role, order, other, values)
        return out

    def _role(
        self,
        out: Mapped,
        table: Table,
        target: str,
        node: IRI,
        agent: IRI,
        role: IRI,
        order: int,
        other: str | None,
        values: dict[str, str],
    ) -> None:
        specimen = self.owner.get(node, node)  # the record an event or identification is of
        activity = node
        if role in _STRING_ROLES and target in ("event", "material", "occurrence"):
            suffix = _STRING_ROLES[role][1]
            if target != "event" or suffix != "event":
                activity = IRI(f"{specimen}/{suffix}")
        entity = target in ("material", "occurrence", "media") and activity == node
        written, verbatim = self._written(table, activity, agent, role, order)
        role_iri = role_node_iri(activity, role, order) if other is None else None
        if role_iri is None:
            role_iri = self.ctx.minter.part(activity, "role", slug(other or "role"), str(order))
        if self._role_agents.setdefault(role_iri, agent) != agent:
            # two tables give the same role and order to two agents (a collector on both the
            # event and the material): each keeps a node of its own, named by its table
            role_iri = self.ctx.minter.part(role_iri, table.name)
            out.warn(
                "agentRoleOrder",
                f"another agent has role {role.rsplit('/', 1)[-1]} {order} of this record",
            )
        if agent in self.unknown:  # its own unknown agent under the role node, as in a DwC-A
            written = Literal(self.unknown[agent])
            unknown_agent(out, activity, role_iri, role, Literal("1", _POSITIVE), written)
            return
        role_node(out, activity, role_iri, agent, role, order, written, verbatim, entity=entity)
        if other:
            out.add(role_iri, SCHEMA.roleName, Literal(other))
        if values.get("agentRoleIRI") and str(role) != values["agentRoleIRI"]:
            out.add(role_iri, DCTERMS.type, _term(values["agentRoleIRI"]))
        out.add(role_iri, DCTERMS.date, text(values.get("agentRoleDate")))
        shortcut = _SHORTCUTS.get(role)
        if shortcut is not None and (specimen != node or target in ("material", "occurrence")):
            out.add(specimen, shortcut, agent)

    def _written(
        self, table: Table, activity: IRI, agent: IRI, role: IRI, order: int
    ) -> tuple[Literal | None, Literal | None]:
        """The name as written and the verbatim string, when the record's string names as
        many agents as the table gives for the role (then the order pairs them)."""
        term = _STRING_ROLES.get(role, ("", ""))[0]
        if not term:
            return None, None
        value = self._verbatim.get((activity, term))
        if not value:
            return None, None
        names = read_agents(value)
        count = self._role_count.get((activity, role), 0)
        if len(names) == count and 0 < order <= len(names):
            return Literal(names[order - 1].written), Literal(value)
        return None, Literal(value)

    def prepare_roles(self, outcomes: list[Outcome]) -> None:
        """Index what the records kept of their verbatim agent strings and how many agents the
        role tables give per activity and role, for :meth:`_written`."""
        for o in outcomes:
            kept = getattr(o.mapped, "verbatim_names", None)
            if kept and o.mapped.subject is not None:
                for term, value in kept.items():
                    suffix = "event" if term == "recordedBy" else _suffix(term)
                    self._verbatim[(IRI(f"{o.mapped.subject}/{suffix}"), term)] = value
        for name, table in self.tables.items():
            if not name.endswith("-agent-role") or name == "agent-agent-role":
                continue
            for _, row in table.rows:
                role, other = role_for(row.get("agentRole", ""), row.get("agentRoleIRI", ""))
                if role not in _STRING_ROLES:
                    continue
                target, nodes, _ = self._targets(table, _clean(row))
                for node in nodes:
                    specimen = node
                    for suffix in ("/event", "/identification"):
                        if node.endswith(suffix):
                            specimen = IRI(node[: -len(suffix)])
                    activity = IRI(f"{specimen}/{_STRING_ROLES[role][1]}")
                    if target == "event" and role == ROLE.collector:
                        activity = node
                    k = (activity, role)
                    self._role_count[k] = self._role_count.get(k, 0) + 1

    def medium(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        values = _clean(row)
        key = self._key("media", values)
        if not key:
            return Mapped().reject(table.key, "a media row without its key")
        terms = {}
        for name, value in _own_fields(table, values).items():
            if name == "mediaType":
                terms[DC_NS + "type"] = value
            elif name in _MEDIA_DC:
                terms[DC_NS + name] = value
            elif name == "mediaID":
                terms[DC_NS + "identifier"] = value
            else:
                terms[AC_NS + name] = value
        out = map_media(terms, self.ctx.dataset, self.ctx, key)
        own = IRI(key) if key.startswith(self.ctx.minter.base) and iri_is_valid(key) else None
        made = out.subject
        if own is not None and made != own:  # written by collectomics export: the same node
            out.subject = own
        out.triples[:] = [
            (own if own is not None and t[0] == made else t[0], t[1], t[2])
            for t in out.triples
            if t[1] != FOAF.depicts
        ]
        if out.subject is not None:
            self.media[key] = out.subject
        return out

    def depicts(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        media = self.media.get(table.ref(values, "media"))
        if media is None:
            return out.reject(table.refs.get("media"), "the media row is not loaded")
        target, nodes, key = self._targets(table, values)
        if not nodes:
            return out.reject(table.refs.get(target), f"{target} {key!r} is no loaded row")
        for node in nodes:
            out.add(media, FOAF.depicts, node)
        for name in ("subjectPartLiteral", "subjectOrientationLiteral", "subjectCategory"):
            out.add(media, IRI(AC_NS + name), text(values.get(name)))
        return out

    def cites(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        reference = self.references.get(table.ref(values, "bibliographic-resource"))
        target, nodes, key = self._targets(table, values)
        if not nodes:
            return out.reject(table.refs.get(target), f"{target} {key!r} is no loaded row")
        if reference is None:
            return out.reject(
                table.refs.get("bibliographic-resource"), "the reference is no loaded row"
            )
        for node in nodes:
            out.add(node, DCTERMS.isReferencedBy, reference)
        out.add(reference, DCTERMS.type, text(values.get("relationshipType")))
        return out

    def identifier(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        out = Mapped()
        values = _clean(row)
        target, nodes, key = self._targets(table, values)
        if not nodes:
            return out.reject(table.refs.get(target), f"{target} {key!r} is no loaded row")
        for node in nodes:
            out.add(node, DCTERMS.identifier, text(values.get("identifier")))
        return out

    def assertion(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        """An assertion (a measurement, a fact, a flag to review): node
        ``{target}/assertion/{row}``, a ``dwc:MeasurementOrFact`` about its target, as a
        Darwin Core Archive's MeasurementOrFact row is kept; its ``assertionBy`` as measurers."""
        out = Mapped()
        values = _clean(row)
        target, nodes, key = self._targets(table, values)
        if not nodes:
            return out.reject(table.refs.get(target), f"{target} {key!r} is no loaded row")
        kept = {DWC_NS + k: v for k, v in _own_fields(table, values).items()}
        for node in nodes:
            fact = self.ctx.minter.part(node, "assertion", str(number))
            out.add(fact, RDF.type, DWC.MeasurementOrFact)
            out.add(fact, DCTERMS.subject, node)
            keep_all(out, fact, kept, kept)
            if values.get("assertionBy") or values.get("assertionByID"):
                specimen = IRI(node[: -len("/event")]) if node.endswith("/event") else node
                measurers(
                    out,
                    self.ctx,
                    fact,
                    specimen,
                    values.get("assertionBy", ""),
                    values.get("assertionByID", ""),
                )
        return out

    def identification(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        """An identification: the accepted one is already on its record; any other is a row
        of the record's identification history."""
        values = _clean(row)
        key = self._key("identification", values)
        if key in self.identifications:
            return Mapped(subject=self.identifications[key])
        for target in ("material", "occurrence"):
            subject = self.subjects.get((target, table.ref(values, target)))
            if subject is not None:
                fields = _own_fields(table, values)
                # determiners the role table names are its role nodes, not the string's; the
                # string stays as written, and names them as on the record (see _written)
                determiners = self._determiners(key)
                written = fields.pop("identifiedBy", "") if determiners else ""
                terms = {DWC_NS + k: v for k, v in fields.items()}
                out = map_identification(terms, subject, self.ctx, number)
                if out.subject is not None and key:
                    self.identifications[key] = out.subject
                    self.owner[out.subject] = subject
                    out.add(out.subject, DWC.identifiedBy, text(written))
                    if written:
                        self._verbatim[(out.subject, "identifiedBy")] = written
                        self._role_count[(out.subject, ROLE.determiner)] = determiners
                return out
        return Mapped().reject(None, "an identification of no loaded material or occurrence")

    def _determiners(self, key: str) -> int:
        """How many determiners identification-agent-role gives identification ``key``."""
        roles = self.tables.get("identification-agent-role")
        if not key or roles is None:
            return 0
        return sum(
            roles.ref(row, "identification") == key
            and role_for(row.get("agentRole", ""), row.get("agentRoleIRI", ""))[0]
            == ROLE.determiner
            for _, row in roles.rows
        )

    def relationship(self, table: Table, number: int, row: dict[str, str]) -> Mapped:
        values = _clean(row)
        subject_id = values.get("subjectResourceID", "")
        subject = self.by_id.get(subject_id)
        if subject is None:
            return Mapped().reject(
                "subjectResourceID", f"{subject_id!r} names no record of this package"
            )
        terms = {DWC_NS + k: v for k, v in values.items() if k != "subjectResourceID"}
        if "relationshipType" in values:
            terms[DWC_NS + "relationshipOfResource"] = terms.pop(DWC_NS + "relationshipType")
        return map_relationship(terms, subject, self.ctx, number, self.by_id.get)


def _drop(out: Mapped, triple: tuple[IRI, IRI, Literal]) -> None:
    """Remove one triple from a mapping's output (its tuples and its N-Triples lines)."""
    out.triples[:] = [t for t in out.triples if t != triple]
    if out.lines:
        line = f"{triple[0].n3()} {triple[1].n3()} {triple[2].n3()} .\n"
        out.lines[:] = [block.replace(line, "") for block in out.lines]


def _suffix(term: str) -> str:
    return {"identifiedBy": "identification", "georeferencedBy": "georeference"}.get(term, "event")


_POSITIVE = "http://www.w3.org/2001/XMLSchema#positiveInteger"


def _order(values: Mapping[str, str]) -> Literal | None:
    order = values.get("agentRoleOrder", "")
    return Literal(order, _POSITIVE) if order else None


def _term(value: str) -> IRI | Literal:
    return IRI(value) if iri_is_valid(value) and "://" in value else Literal(value)


def map_package(tables: Mapping[str, Table], ctx: Context) -> list[Outcome]:
    """Every row of ``tables`` mapped once, as :class:`Outcome` s."""
    return list(PackageMapper(tables, ctx).run())
