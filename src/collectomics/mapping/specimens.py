"""Map one Darwin Core record (term -> value) to a specimen, its event, location, agents.

Driven by Darwin Core term names, so the same mapper serves the specimens CSV template and
Darwin Core Archives. See docs/model.md for the shape of the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from itertools import islice
from typing import NamedTuple

from collectomics.iri import slug
from collectomics.mapping.agentids import identifier_iri, split_identifiers
from collectomics.mapping.common import (
    NAME_CACHE,
    Context,
    Mapped,
    date_literal,
    decimal,
    integer,
    publisher_match,
    unknown_agent,
)
from collectomics.mapping.countries import COUNTRIES
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.dwc import (
    EVENT_TERMS,
    IDENTIFICATION_TERMS,
    LOCATION_TERMS,
    OTHER_TERMS,
    TAXON_TERMS,
)
from collectomics.mapping.names import (
    SplitName,
    display_form,
    is_organisation,
    normalise,
    read_agents,
)
from collectomics.mapping.verbatim import identifier, issue_flags, keep_all, label_transcription
from collectomics.model import IRI, XSD, Literal, iri_is_valid, quoted
from collectomics.vocab import (
    COL,
    DCTERMS,
    DSW,
    DWC,
    DWCIRI,
    FOAF,
    PROV,
    RDF,
    RDFS,
    ROLE,
    SCHEMA,
    WD,
)

#: ISO 3166 user-assigned and GBIF codes (XZ high seas, ZZ unknown): valid, but no country
_USER_ASSIGNED = {
    "AA",
    "QM",
    "QN",
    "QO",
    "QP",
    "QQ",
    "QR",
    "QS",
    "QT",
    "QU",
    "QV",
    "QW",
    "QX",
    "QY",
    "QZ",
    "XA",
    "XB",
    "XC",
    "XD",
    "XE",
    "XF",
    "XG",
    "XH",
    "XI",
    "XJ",
    "XL",
    "XM",
    "XN",
    "XO",
    "XP",
    "XQ",
    "XR",
    "XS",
    "XT",
    "XU",
    "XV",
    "XW",
    "XX",
    "XY",
    "XZ",
    "ZZ",
}

_SPECIMEN_CLASSES = {
    "preservedspecimen": DWC.PreservedSpecimen,
    "fossilspecimen": DWC.FossilSpecimen,
    "livingspecimen": DWC.LivingSpecimen,
    "materialsample": DWC.MaterialSample,
    "materialcitation": DWC.MaterialCitation,
    # the values of Darwin Core 1.2/1.4 and ABCD-era exports, still published (DwC 1.4 used
    # "Specimen" and "Fossil" before the *Specimen classes were split out)
    "specimen": DWC.PreservedSpecimen,
    "fossil": DWC.FossilSpecimen,
    "living": DWC.LivingSpecimen,
}

_LICENCES = {
    "cc0_1_0": "http://creativecommons.org/publicdomain/zero/1.0/",
    "cc_by_4_0": "http://creativecommons.org/licenses/by/4.0/",
    "cc_by_nc_4_0": "http://creativecommons.org/licenses/by-nc/4.0/",
}

_DECIMAL_LOCATION = {
    "decimalLatitude": (-90, 90),
    "decimalLongitude": (-180, 180),
    "coordinateUncertaintyInMeters": (0, None),
    "coordinatePrecision": (0, 1),
    "minimumElevationInMeters": (None, None),
    "maximumElevationInMeters": (None, None),
    "minimumDepthInMeters": (None, None),
    "maximumDepthInMeters": (None, None),
}
_RECORD_LITERALS = (
    "institutionCode collectionCode catalogNumber otherCatalogNumbers occurrenceID basisOfRecord "
    "recordNumber preparations typeStatus disposition sex lifeStage occurrenceRemarks "
    "ownerInstitutionCode datasetName informationWithheld dataGeneralizations associatedMedia "
    "associatedReferences"
).split()


def usable_occurrence_id(value: str) -> bool:
    """True when an occurrenceID looks like an identifier (has a digit or a ':').

    Real data carries placeholders such as ``present`` that would merge unrelated specimens.
    """
    return any(ch.isdigit() or ch == ":" for ch in value)


class SpecimenKey(NamedTuple):
    """What identifies one record's specimen: the IRI parts, and for reports which term(s)
    keyed it and their value as written."""

    parts: tuple[str, ...]
    term: str
    value: str


def specimen_key(record: Mapping[str, str], dataset_id: str, row: str = "") -> SpecimenKey:
    """The key of a record's specimen IRI (see docs/model.md, "How a specimen IRI is keyed").

    A GBIF download's record by its ``gbifID`` (unique by construction, the same in every
    download); a publisher's record by its dataset and ``occurrenceID``, else by its dataset and
    institution + collection + catalogue number, else by its dataset and ``row`` (the file and
    line it was read from). A key that repeats within a dataset is the reader's to number
    (:func:`repeat_iri`), so that each record stays its own node.
    """
    gbif_id = (record.get("gbifID") or "").strip()
    if gbif_id.isascii() and gbif_id.isdigit():
        return SpecimenKey(("gbif", gbif_id), "gbifID", gbif_id)
    occurrence_id = (record.get("occurrenceID") or "").strip()
    if occurrence_id and usable_occurrence_id(occurrence_id):
        return SpecimenKey((dataset_id, occurrence_id), "occurrenceID", occurrence_id)
    catalog = (record.get("catalogNumber") or "").strip()
    if catalog:
        institution = (record.get("institutionCode") or "").strip() or "_"
        collection = (record.get("collectionCode") or "").strip() or "_"
        return SpecimenKey(
            (dataset_id, "catalog", institution, collection, catalog),
            "institutionCode collectionCode catalogNumber",
            f"{institution} {collection} {catalog}",
        )
    return SpecimenKey((dataset_id, "row", row or "_"), "row", row or "_")


def repeat_iri(first: IRI, repeat: int) -> IRI:
    """The IRI of the ``repeat``-th record (2, 3...) of a dataset whose key is that of the
    specimen ``first``: its own node, numbered in reading order, so the same input always
    yields the same IRIs."""
    return first if repeat <= 1 else IRI(f"{first}/repeat/{repeat}")


_POSITIVE_INTEGER = XSD + "positiveInteger"
#: col:order literals 1..16, made once (most records name one to four agents)
_ORDERS = [Literal(str(n), _POSITIVE_INTEGER) for n in range(17)]
_ET_AL = Literal("the source names further agents ('et al.')")
# predicates and classes in N-Triples, for the blocks written as text (Context.ntriples)
_N3_TYPE = RDF.type.n3()
_N3_QUALIFIED = PROV.qualifiedAssociation.n3()
_N3_ASSOCIATED = PROV.wasAssociatedWith.n3()
_N3_ASSOCIATION = PROV.Association.n3()
_N3_AGENT = PROV.agent.n3()
_N3_ROLE = PROV.hadRole.n3()
_N3_ORDER = COL.order.n3()
_N3_WRITTEN = COL.nameAsWritten.n3()
_N3_VERBATIM = COL.verbatimAgentString.n3()
_N3_COMMENT = RDFS.comment.n3()


def _name(ctx: Context, written: str) -> tuple[IRI, tuple, Literal, str, str]:
    """A name as written -> (its name-string agent, or organisation agent when
    :func:`is_organisation`, the triples describing the agent, the name as a literal, the agent
    and the literal in N-Triples), memoised on the context: names repeat on many records of a
    dataset."""
    found = ctx.names.get(written)
    if found is None:
        if len(ctx.names) >= NAME_CACHE:  # forget the older half (dicts keep insertion order)
            for old in list(islice(ctx.names, NAME_CACHE // 2)):
                del ctx.names[old]
        agent = ctx.minter.agent(ctx.dataset_id, normalise(written))
        described = (
            (
                # an organisation ('Botanical Survey of India') is no name-string agent, so
                # linking and reconciliation never propose a person for it; its name as written
                (agent, RDF.type, FOAF.Organization),
                (agent, RDF.type, PROV.Agent),
                (agent, FOAF.name, Literal(written)),
                (agent, SCHEMA.includedInDataSet, ctx.dataset),
            )
            if is_organisation(written)
            else (
                (agent, RDF.type, COL.NameStringAgent),
                (agent, RDF.type, PROV.Agent),
                (agent, FOAF.name, Literal(display_form(written))),
                (agent, SCHEMA.includedInDataSet, ctx.dataset),
            )
        )
        literal = Literal(written)
        found = ctx.names[written] = (agent, described, literal, agent.n3(), literal.n3())
    return found


def role_node_iri(activity: IRI, role: IRI, order: int) -> IRI:
    """The role node of the ``order``-th agent playing ``role`` in ``activity`` (or towards an
    entity): ``{activity}/{role word}/{order}``, so the same input always yields the same IRI."""
    return IRI(f"{activity}/{slug(role.rsplit('/', 1)[-1])}/{order}")


def role_node(
    out: Mapped,
    activity: IRI,
    node: IRI,
    agent: IRI,
    role: IRI,
    order: int,
    written: Literal | None = None,
    verbatim: Literal | None = None,
    *,
    entity: bool = False,
) -> None:
    """The role-node rule (docs/model.md): ``activity`` qualified by ``node``, which names the
    agent, its role, its order and the name as written. ``entity``: a thing, not an activity
    (a specimen, a medium), so the node is a ``prov:Attribution``."""
    add = out.triples.append
    if entity:
        add((activity, PROV.qualifiedAttribution, node))
        add((activity, PROV.wasAttributedTo, agent))
        add((node, RDF.type, PROV.Attribution))
    else:
        add((activity, PROV.qualifiedAssociation, node))
        add((activity, PROV.wasAssociatedWith, agent))
        add((node, RDF.type, PROV.Association))
    add((node, PROV.agent, agent))
    add((node, PROV.hadRole, role))
    add(
        (
            node,
            COL.order,
            _ORDERS[order] if 0 < order < 17 else Literal(str(order), _POSITIVE_INTEGER),
        )
    )
    if written is not None:
        add((node, COL.nameAsWritten, written))
    if verbatim is not None:
        add((node, COL.verbatimAgentString, verbatim))


def _agent_roles(
    out: Mapped,
    ctx: Context,
    activity: IRI,
    specimen: IRI,
    value: str,
    column: str,
    role: IRI,
    shortcut: IRI,
    ids_value: str = "",
) -> None:
    names = read_agents(value)
    if names and names[0].unknown:
        out.warn(column, f"no agent name found in {value!r}")
    ids = _agent_ids(out, ids_value, column + "ID") if ids_value else []
    if ids_value and len(ids) < len(split_identifiers(ids_value)):  # kept whole, as written
        identifier(out, activity, column + "ID", ids_value.strip())
    add = out.triples.append
    for iri in ids:  # the publisher says this agent played the role: true whatever the pairing
        add((specimen, shortcut, iri))
    paired = len(names) == 1 and not names[0].unknown and _one_person(ids)
    if ids and not paired:
        out.add(
            activity,
            RDFS.comment,
            Literal(
                f"{column}ID gives {len(ids)} identifier(s) for {len(names)} name(s) in {column}; "
                "they are not paired with names, since Darwin Core gives their order no meaning "
                "(one name is paired with its identifiers when no two come from one authority)"
            ),
        )
    if out.lines is not None:
        _agent_lines(out, ctx, activity, specimen, value, column, role, shortcut, names, ids)
        return
    verbatim = Literal(value.strip())
    for order, name in enumerate(names, start=1):
        node = role_node_iri(activity, role, order)
        if name.unknown:
            unknown_agent(out, activity, node, role, _ORDERS[1], verbatim)
            continue
        agent, described, written, _, _ = _name(ctx, name.written)
        out.once.extend(described)
        out.organisation_agents += name.organisation
        role_node(out, activity, node, agent, role, order, written, verbatim)
        if name.et_al:
            add((node, RDFS.comment, _ET_AL))
        add((specimen, shortcut, agent))
        if len(names) == 1 and _one_person(ids):
            for iri in ids:
                _publisher_match(out, ctx, agent, iri, column + "ID")


def _agent_lines(
    out: Mapped,
    ctx: Context,
    activity: IRI,
    specimen: IRI,
    value: str,
    column: str,
    role: IRI,
    shortcut: IRI,
    names: list[SplitName],
    ids: list[IRI],
) -> None:
    """_agent_roles's triples for each name, written as one block of N-Triples per name."""
    lines = out.lines
    assert lines is not None
    act = activity.n3()
    spec = specimen.n3()
    role_n3 = role.n3()
    short = shortcut.n3()
    verbatim = quoted(value.strip())
    role_word = slug(role.rsplit("/", 1)[-1])
    for order, name in enumerate(names, start=1):
        if name.unknown:
            node_iri = IRI(f"{activity}/{role_word}/{order}")
            unknown_agent(out, activity, node_iri, role, _ORDERS[1], Literal(value.strip()))
            continue
        agent, described, _, an, written = _name(ctx, name.written)
        out.organisation_agents += name.organisation
        node = f"{act[:-1]}/{role_word}/{order}>"  # minted under the activity: nothing to escape
        order_n3 = (_ORDERS[order] if order < 17 else Literal(str(order), _POSITIVE_INTEGER)).n3()
        out.once.extend(described)
        lines.append(
            f"{act} {_N3_QUALIFIED} {node} .\n{act} {_N3_ASSOCIATED} {an} .\n"
            f"{node} {_N3_TYPE} {_N3_ASSOCIATION} .\n{node} {_N3_AGENT} {an} .\n"
            f"{node} {_N3_ROLE} {role_n3} .\n{node} {_N3_ORDER} {order_n3} .\n"
            f"{node} {_N3_WRITTEN} {written} .\n{node} {_N3_VERBATIM} {verbatim} .\n"
            f"{spec} {short} {an} .\n"
        )
        if name.et_al:
            lines.append(f"{node} {_N3_COMMENT} {_ET_AL.n3()} .\n")
        if len(names) == 1 and _one_person(ids):
            for iri in ids:
                _publisher_match(out, ctx, agent, iri, column + "ID")


def _one_person(ids: list[IRI]) -> bool:
    """True when ``ids`` can all be one person's: at least one, and no two from one authority
    (two ORCIDs, or two Wikidata items, are two people)."""
    hosts = [i.partition("://")[2].split("/", 1)[0].lower().removeprefix("www.") for i in ids]
    return bool(ids) and len(set(hosts)) == len(hosts)


def _agent_ids(out: Mapped, value: str, column: str) -> list[IRI]:
    ids = []
    for part in split_identifiers(value):
        iri = identifier_iri(part)
        if iri is None:
            out.warn(
                column,
                f"{part!r} is not an identifier (an IRI, QID, ORCID...); no link made, "
                "kept as written",
            )
        elif iri not in ids:
            ids.append(iri)
    return ids


def _publisher_match(out: Mapped, ctx: Context, agent: IRI, target: IRI, column: str) -> None:
    """An accepted identity match for an identifier the data publisher paired with a name."""
    match = ctx.minter.part(agent, "match", target)
    publisher_match(out, ctx, agent, target, match, f"asserted by the publisher in dwc:{column}")


def _bounds(out: Mapped, node: IRI, value: str | None, column: str) -> tuple[str, str] | None:
    if not value or not value.strip():
        return None
    bounds = _date_literals(value)
    if bounds is None:
        out.warn(column, f"date {value.strip()!r} not understood; kept as written, no bounds")
        return None
    out.triples.append((node, COL.earliestDate, bounds[0]))
    out.triples.append((node, COL.latestDate, bounds[1]))
    return bounds[0].value, bounds[1].value


@lru_cache(maxsize=16384)  # dates repeat across the records of a dataset
def _date_literals(value: str) -> tuple[Literal, Literal] | None:
    bounds = date_bounds(value)
    return None if bounds is None else (date_literal(bounds[0]), date_literal(bounds[1]))


#: Darwin Core terms copied onto the specimen as plain literals, with their predicates
_SPECIMEN_LITERALS = {
    **{t: DWC.term(t) for t in _RECORD_LITERALS},
    **{
        t: DCTERMS.term(t)
        for t in (
            "rightsHolder",
            "accessRights",
            "bibliographicCitation",
            "references",
            "modified",
            "identifier",
        )
    },
    # the current name, kept on the specimen as a facet (and on the identification)
    **{t: DWC.term(t) for t in TAXON_TERMS},
}
_EVENT_LITERALS = {
    t: DWC.term(t)
    for t in (
        "eventDate",
        "verbatimEventDate",
        "eventTime",
        "recordedBy",
        "fieldNumber",
        "fieldNotes",
        "habitat",
        "samplingProtocol",
        "eventRemarks",
    )
}
_EVENT_INTEGERS = {
    t: DWC.term(t) for t in ("year", "month", "day", "startDayOfYear", "endDayOfYear")
}
_EVENT_SET = frozenset(EVENT_TERMS)
_LOCATION_SET = frozenset(LOCATION_TERMS)
_IDENTIFICATION_SET = frozenset(IDENTIFICATION_TERMS)
_LOCATION_LITERALS = {t: DWC.term(t) for t in LOCATION_TERMS if t not in _DECIMAL_LOCATION}
_LOCATION_DECIMALS = {t: DWC.term(t) for t in LOCATION_TERMS if t in _DECIMAL_LOCATION}
_IDENTIFICATION_PREDICATES = {
    t: DWC.term(t)
    for t in (*IDENTIFICATION_TERMS, "scientificName", "scientificNameAuthorship", "taxonRank")
}

#: the record's terms that the mapping above places (everything else is kept verbatim, see
#: mapping.verbatim): the ingest report counts their values as mapped
MAPPED_TERMS = frozenset(
    {
        *_SPECIMEN_LITERALS,
        *_EVENT_LITERALS,
        *_EVENT_INTEGERS,
        *LOCATION_TERMS,
        *_IDENTIFICATION_PREDICATES,
        *"gbifID datasetKey license recordedByID identifiedByID illustrative".split(),
        *OTHER_TERMS,
    }
)

_SPECIMEN_LITERALS_N3 = {t: p.n3() for t, p in _SPECIMEN_LITERALS.items()}
_EVENT_LITERALS_N3 = {t: p.n3() for t, p in _EVENT_LITERALS.items()}
_LOCATION_LITERALS_N3 = {t: p.n3() for t, p in _LOCATION_LITERALS.items()}
_IDENTIFICATION_PREDICATES_N3 = {t: p.n3() for t, p in _IDENTIFICATION_PREDICATES.items()}


_EVENT_TYPES = (DWC.Event, PROV.Activity)
_LOCATION_TYPES = (DCTERMS.Location,)
_IDENTIFICATION_TYPES = (DWC.Identification, PROV.Activity)


def _links(out: Mapped, node: IRI, pairs: list[tuple[IRI, IRI]]) -> None:
    """(predicate, IRI) ``pairs`` on ``node``: as tuples, or as one block of N-Triples."""
    if out.lines is None:
        out.triples.extend([(node, p, o) for p, o in pairs])
    else:
        n = node.n3()
        out.lines.append("".join([f"{n} {p.n3()} {o.n3()} .\n" for p, o in pairs]))


def _part(out: Mapped, node: IRI, link: IRI, part: IRI, types: tuple[IRI, ...]) -> IRI:
    """A node that is part of the record (an event, location, identification), linked from
    ``node`` by ``link`` and typed; returns it."""
    if out.lines is None:
        out.triples.append((node, link, part))
        out.triples.extend([(part, RDF.type, t) for t in types])
    else:
        pn = part.n3()
        out.lines.append(
            f"{node.n3()} {link.n3()} {pn} .\n"
            + "".join([f"{pn} {_N3_TYPE} {t.n3()} .\n" for t in types])
        )
    return part


def _literals(
    out: Mapped,
    node: IRI,
    values: dict[str, str],
    predicates: dict[str, IRI],
    predicates_n3: dict[str, str],
    plain: bool = False,
) -> None:
    """A plain literal on ``node`` for each of the terms in ``predicates`` that ``values`` has:
    as tuples, or as one block of N-Triples when the output is text. ``plain``: no value of the
    record needs escaping (checked once per record, see :func:`_plain`)."""
    lines = out.lines
    if lines is None:
        add = out.triples.append
        for term, value in values.items():
            predicate = predicates.get(term)
            if predicate is not None:
                add((node, predicate, Literal(value)))
        return
    n = node.n3()
    if plain:
        lines.extend(
            [
                f'{n} {p} "{value}" .\n'
                for term, value in values.items()
                if (p := predicates_n3.get(term)) is not None
            ]
        )
        return
    lines.extend(
        [
            f"{n} {p} {quoted(value)} .\n"
            for term, value in values.items()
            if (p := predicates_n3.get(term)) is not None
        ]
    )


def _plain(values: dict[str, str]) -> bool:
    """True when no value needs escaping in an N-Triples string: four scans of one joined
    string cost less than a test per value (a record has ~25 values, written ~4 at a time)."""
    text = "".join(values.values())
    return not ('"' in text or "\\" in text or "\n" in text or "\r" in text)


def map_specimen(record: Mapping[str, str], ctx: Context, subject: IRI | None = None) -> Mapped:
    """Map one Darwin Core record to its own specimen node: ``subject``, the IRI the reader
    minted for it (:func:`specimen_key`, :func:`repeat_iri`), else the IRI of its key.

    This runs once per record of every ingest, so it adds triples straight to the output list
    (or, when the context asks for N-Triples, writes its bulk as text) and visits only the
    terms a record has (an ingest's speed is mostly this function's)."""
    illustrative = (record.get("illustrative") or "").strip().lower() in {"true", "yes", "1"}
    # an illustrative record lists its nodes from its tuples below: no text for it
    out = Mapped(lines=[] if ctx.ntriples and not illustrative else None)
    s = subject or ctx.minter.specimen(*specimen_key(record, ctx.dataset_id).parts)
    out.subject = s
    add = out.triples.append
    # Strip once; loops below visit only the terms a record has.
    values = {k: v.strip() for k, v in record.items() if v and not v.isspace()}
    rest = values.keys() - MAPPED_TERMS  # kept verbatim below
    if rest:  # the loops below visit only the terms they may map (a GBIF record has ~50 more)
        everything, values = values, {k: values[k] for k in values.keys() & MAPPED_TERMS}
    plain = out.lines is not None and _plain(values)
    get = values.get
    occurrence_id = get("occurrenceID", "")
    if "gbifID" not in values and not (occurrence_id and usable_occurrence_id(occurrence_id)):
        if occurrence_id:
            out.warn(
                "occurrenceID",
                f"{occurrence_id!r} does not look like an identifier; the specimen is keyed by "
                "its catalogue number (or its row) instead",
            )
        if "catalogNumber" not in values:
            out.warn(
                "catalogNumber",
                "neither occurrenceID nor catalogNumber given: the specimen is keyed by its "
                "row (file and line), so its IRI changes if the rows of the file move",
            )

    basis = get("basisOfRecord", "")
    specimen_class = _SPECIMEN_CLASSES.get(basis.replace("_", "").replace(" ", "").lower())
    if basis and specimen_class is None:
        classes: tuple[IRI, ...] = (DWC.Occurrence,)  # an observation, not a material entity
    else:
        classes = (DWC.MaterialEntity, specimen_class or DWC.PreservedSpecimen)
    _links(out, s, [(RDF.type, c) for c in classes] + [(SCHEMA.includedInDataSet, ctx.dataset)])
    _literals(out, s, values, _SPECIMEN_LITERALS, _SPECIMEN_LITERALS_N3, plain)
    if occurrence_id and iri_is_valid(occurrence_id) and "://" in occurrence_id:
        add((s, DCTERMS.identifier, Literal(occurrence_id)))
    gbif_id = get("gbifID")
    if gbif_id:
        add((s, DCTERMS.identifier, Literal(f"gbif:{gbif_id}")))
        if gbif_id.isdigit():
            add((s, RDFS.seeAlso, IRI(f"https://www.gbif.org/occurrence/{gbif_id}")))
    licence = get("license")
    if licence:
        iri = _LICENCES.get(licence.lower()) or (licence if licence.startswith("http") else None)
        add((s, DCTERMS.license, IRI(iri) if iri and iri_is_valid(iri) else Literal(licence)))

    present = values.keys()
    has_location = not _LOCATION_SET.isdisjoint(present)
    if has_location or not _EVENT_SET.isdisjoint(present) or "recordedByID" in values:
        _event(out, ctx, s, values, has_location, plain)
    if not _IDENTIFICATION_SET.isdisjoint(present) or "identifiedByID" in values:
        _identification(out, ctx, s, values, plain)
    if rest:
        keep_all(out, s, everything, rest)
    if "georeferencedBy" in values or "georeferencedByID" in values:
        _georeference(out, ctx, s, values)
    if "verbatimLabel" in values:
        label_transcription(out, s, values["verbatimLabel"])
    if "issue" in values:
        issue_flags(out, s, values["issue"])
    if illustrative:  # invented for the demo
        for node in dict.fromkeys(t[0] for t in out.triples):
            out.add(node, COL.illustrative, Literal("true", XSD + "boolean"))
        out.add(s, RDFS.comment, Literal("Illustrative: invented for the demo; not a specimen."))
    return out


def _event(
    out: Mapped,
    ctx: Context,
    s: IRI,
    values: dict[str, str],
    has_location: bool,
    plain: bool = False,
) -> None:
    """The collecting event, its collectors and its location."""
    add = out.triples.append
    get = values.get
    e = _part(out, s, COL.collectingEvent, IRI(s + "/event"), _EVENT_TYPES)
    _literals(out, e, values, _EVENT_LITERALS, _EVENT_LITERALS_N3, plain)
    for term, predicate in _EVENT_INTEGERS.items():
        value = get(term)
        if not value:
            continue
        try:
            number = integer(value)
        except ValueError as exc:
            out.warn(term, f"{exc}; kept as written")
            add((e, predicate, Literal(value)))
            continue
        add((e, predicate, number))
        if term == "year":
            add((s, DWC.year, number))
    event_date = get("eventDate", "")
    bounds = _bounds(out, e, event_date, "eventDate")
    year = get("year", "")
    if bounds is None and year.isdigit():
        month, day = get("month", ""), get("day", "")
        m = month.zfill(2) if month.isdigit() else ""
        d = day.zfill(2) if day.isdigit() and m else ""
        _bounds(out, e, "-".join(p for p in (year, m, d) if p), "year")
    recorded_by = get("recordedBy", "")
    if recorded_by or "recordedByID" in values:
        _agent_roles(
            out,
            ctx,
            e,
            s,
            recorded_by,
            "recordedBy",
            ROLE.collector,
            DWCIRI.recordedBy,
            get("recordedByID", ""),
        )
    if has_location:
        _location(out, s, e, values, plain)


def _location(out: Mapped, s: IRI, e: IRI, values: dict[str, str], plain: bool = False) -> None:
    add = out.triples.append
    loc = _part(out, e, DSW.locatedAt, IRI(s + "/location"), _LOCATION_TYPES)
    _literals(out, loc, values, _LOCATION_LITERALS, _LOCATION_LITERALS_N3, plain)
    for term, predicate in _LOCATION_DECIMALS.items():
        value = values.get(term)
        if value:
            low, high = _DECIMAL_LOCATION[term]
            try:
                number = decimal(value)
            except ValueError as exc:
                out.warn(term, f"{exc}; kept as written, not as a number")
                add((loc, predicate, Literal(value)))
                continue
            n = float(number.value) if number else 0.0
            if (low is not None and n < low) or (high is not None and n > high):
                out.warn(term, f"{value} is out of range; kept as written, not as a number")
                add((loc, predicate, Literal(value)))
                continue
            add((loc, predicate, number))
    country_code = values.get("countryCode")
    if country_code:
        code = country_code.upper()
        if len(code) == 2 and code.isalpha():
            add((s, DWC.countryCode, Literal(code)))
            country = COUNTRIES.get(code)
            if country:
                add((loc, SCHEMA.containedInPlace, WD.term(country[0])))
            elif code not in _USER_ASSIGNED:
                out.warn("countryCode", f"{code!r} is not a country code we know")
        else:
            out.warn("countryCode", f"{country_code!r} is not an ISO 3166-1 alpha-2 code")


def _identification(
    out: Mapped, ctx: Context, s: IRI, values: dict[str, str], plain: bool = False
) -> None:
    """The current identification and its determiners."""
    get = values.get
    i = _part(out, s, DSW.hasIdentification, IRI(s + "/identification"), _IDENTIFICATION_TYPES)
    _literals(out, i, values, _IDENTIFICATION_PREDICATES, _IDENTIFICATION_PREDICATES_N3, plain)
    _bounds(out, i, get("dateIdentified"), "dateIdentified")
    identified_by = get("identifiedBy", "")
    if identified_by or "identifiedByID" in values:
        _agent_roles(
            out,
            ctx,
            i,
            s,
            identified_by,
            "identifiedBy",
            ROLE.determiner,
            DWCIRI.identifiedBy,
            get("identifiedByID", ""),
        )


def _georeference(out: Mapped, ctx: Context, s: IRI, values: dict[str, str]) -> None:
    """Who georeferenced the record: a georeferencing activity that generated the location,
    its georeferencers as role nodes, split and linked like collectors."""
    g = IRI(s + "/georeference")
    out.triples.append((g, RDF.type, PROV.Activity))
    out.triples.append((IRI(s + "/location"), PROV.wasGeneratedBy, g))
    if values.get("georeferencedBy"):
        out.triples.append((g, DWC.georeferencedBy, Literal(values["georeferencedBy"])))
    _agent_roles(
        out,
        ctx,
        g,
        s,
        values.get("georeferencedBy", ""),
        "georeferencedBy",
        ROLE.georeferencer,
        DWCIRI.georeferencedBy,
        values.get("georeferencedByID", ""),
    )


def measurers(out: Mapped, ctx: Context, node: IRI, specimen: IRI, value: str, ids: str) -> None:
    """Who made a measurement (``dwc:measuredBy`` of a MeasurementOrFact row ``node``): role
    nodes split and linked like collectors, ``dwciri:measuredBy`` on the specimen."""
    _agent_roles(
        out, ctx, node, specimen, value, "measuredBy", ROLE.measurer, DWCIRI.measuredBy, ids
    )
