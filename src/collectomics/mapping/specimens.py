"""Map one Darwin Core record (term -> value) to a specimen, its event, location, agents.

Driven by Darwin Core term names, so the same mapper serves the specimens CSV template and
Darwin Core Archives. See docs/model.md for the shape of the output.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectomics.mapping.agentids import identifier_iri, split_identifiers
from collectomics.mapping.common import (
    Context,
    Mapped,
    date_literal,
    decimal,
    integer,
    publisher_match,
    text,
)
from collectomics.mapping.countries import COUNTRIES
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.dwc import EVENT_TERMS, IDENTIFICATION_TERMS, LOCATION_TERMS, TAXON_TERMS
from collectomics.mapping.names import display_form, normalise, split_agents
from collectomics.model import IRI, XSD, Literal, iri_is_valid
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


def specimen_key(record: Mapping[str, str]) -> tuple[str, ...] | None:
    """The parts that identify a specimen: its occurrenceID, else its catalogue triplet."""
    occurrence_id = (record.get("occurrenceID") or "").strip()
    if occurrence_id and usable_occurrence_id(occurrence_id):
        return (occurrence_id,)
    catalog = (record.get("catalogNumber") or "").strip()
    if not catalog:
        return None
    return (
        (record.get("institutionCode") or "").strip() or "_",
        (record.get("collectionCode") or "").strip() or "_",
        catalog,
    )


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
    names = split_agents(value)
    if not names and value.strip():
        out.warn(column, f"no agent name found in {value!r}")
    role_word = role.rsplit("/", 1)[-1]
    ids = _agent_ids(out, ids_value, column + "ID")
    for iri in ids:  # the publisher says this agent played the role: true whatever the pairing
        out.add(specimen, shortcut, iri)
    if ids and len(ids) != 1 or len(names) > 1 and ids:
        out.add(
            activity,
            RDFS.comment,
            Literal(
                f"{column}ID gives {len(ids)} identifier(s) for {len(names)} name(s) in {column}; "
                "they are not paired with names, since Darwin Core gives their order no meaning"
            ),
        )
    for order, name in enumerate(names, start=1):
        key = normalise(name.written)
        agent = ctx.minter.agent(ctx.dataset_id, key)
        node = ctx.minter.part(activity, role_word, str(order))
        out.add_once(agent, RDF.type, COL.NameStringAgent)
        out.add_once(agent, RDF.type, PROV.Agent)
        out.add_once(agent, FOAF.name, Literal(display_form(name.written)))
        out.add_once(agent, SCHEMA.includedInDataSet, ctx.dataset)
        out.add(activity, PROV.qualifiedAssociation, node)
        out.add(activity, PROV.wasAssociatedWith, agent)
        out.add(node, RDF.type, PROV.Association)
        out.add(node, PROV.agent, agent)
        out.add(node, PROV.hadRole, role)
        out.add(
            node, COL.order, Literal(str(order), "http://www.w3.org/2001/XMLSchema#positiveInteger")
        )
        out.add(node, COL.nameAsWritten, Literal(name.written))
        out.add(node, COL.verbatimAgentString, Literal(value.strip()))
        if name.et_al:
            out.add(node, RDFS.comment, Literal("the source names further agents ('et al.')"))
        out.add(specimen, shortcut, agent)
        if len(names) == 1 and len(ids) == 1:
            _publisher_match(out, ctx, agent, ids[0], column + "ID")


def _agent_ids(out: Mapped, value: str, column: str) -> list[IRI]:
    ids = []
    for part in split_identifiers(value):
        iri = identifier_iri(part)
        if iri is None:
            out.warn(column, f"{part!r} is not an identifier (an IRI, QID, ORCID...); left out")
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
    bounds = date_bounds(value)
    if bounds is None:
        out.warn(column, f"date {value.strip()!r} not understood; kept as written, no bounds")
        return None
    out.add(node, COL.earliestDate, date_literal(bounds[0]))
    out.add(node, COL.latestDate, date_literal(bounds[1]))
    return bounds[0].isoformat(), bounds[1].isoformat()


def map_specimen(record: Mapping[str, str], ctx: Context) -> Mapped:
    """Map one Darwin Core record; reject it only when it cannot identify a specimen."""
    out = Mapped()
    key = specimen_key(record)
    if key is None:
        return out.reject("catalogNumber", "neither occurrenceID nor catalogNumber given")
    s = ctx.minter.specimen(*key)
    out.subject = s
    # Strip once; loops below visit only the terms a record has (this runs per record, at scale).
    values = {k: v.strip() for k, v in record.items() if v and not v.isspace()}
    get = lambda term: values.get(term, "")  # noqa: E731
    if get("occurrenceID") and not usable_occurrence_id(get("occurrenceID")):
        out.warn(
            "occurrenceID",
            f"{get('occurrenceID')!r} does not look like an identifier; the specimen is keyed by "
            "its catalogue number instead",
        )

    basis = get("basisOfRecord")
    specimen_class = _SPECIMEN_CLASSES.get(basis.replace("_", "").replace(" ", "").lower())
    if basis and specimen_class is None:
        out.add(s, RDF.type, DWC.Occurrence)  # an observation, not a material entity
    else:
        out.add(s, RDF.type, DWC.MaterialEntity)
        out.add(s, RDF.type, specimen_class or DWC.PreservedSpecimen)
    out.add(s, SCHEMA.includedInDataSet, ctx.dataset)
    for term in _RECORD_LITERALS:
        if term in values:
            out.add(s, DWC.term(term), Literal(values[term]))
    occurrence_id = get("occurrenceID")
    if occurrence_id and iri_is_valid(occurrence_id) and "://" in occurrence_id:
        out.add(s, DCTERMS.identifier, Literal(occurrence_id))
    gbif_id = get("gbifID")
    if gbif_id:
        out.add(s, DCTERMS.identifier, Literal(f"gbif:{gbif_id}"))
        if gbif_id.isdigit():
            out.add(s, RDFS.seeAlso, IRI(f"https://www.gbif.org/occurrence/{gbif_id}"))
    licence = get("license")
    if licence:
        iri = _LICENCES.get(licence.lower()) or (licence if licence.startswith("http") else None)
        out.add(s, DCTERMS.license, IRI(iri) if iri and iri_is_valid(iri) else Literal(licence))
    for term in ("rightsHolder", "accessRights", "bibliographicCitation", "references", "modified"):
        if term in values:
            out.add(s, DCTERMS.term(term), Literal(values[term]))
    # The current name, kept on the specimen as a facet (and on the identification).
    for term in TAXON_TERMS:
        if term in values:
            out.add(s, DWC.term(term), Literal(values[term]))

    # -- collecting event and location
    event_values = {t: values.get(t, "") for t in EVENT_TERMS}
    location_values = {t: values.get(t, "") for t in LOCATION_TERMS}
    if any(event_values.values()) or any(location_values.values()) or get("recordedByID"):
        e = ctx.minter.part(s, "event")
        out.add(s, COL.collectingEvent, e)
        out.add(e, RDF.type, DWC.Event)
        out.add(e, RDF.type, PROV.Activity)
        for term in (
            "eventDate",
            "verbatimEventDate",
            "eventTime",
            "recordedBy",
            "fieldNumber",
            "fieldNotes",
            "habitat",
            "samplingProtocol",
            "eventRemarks",
        ):
            if event_values[term]:
                out.add(e, DWC.term(term), Literal(event_values[term]))
        for term in ("year", "month", "day", "startDayOfYear", "endDayOfYear"):
            if not event_values[term]:
                continue
            try:
                value = integer(event_values[term])
            except ValueError as exc:
                out.warn(term, str(exc))
                continue
            out.add(e, DWC.term(term), value)
            if term == "year":
                out.add(s, DWC.year, value)
        bounds = _bounds(out, e, event_values["eventDate"], "eventDate")
        if bounds is None and event_values["year"].isdigit():
            y = event_values["year"]
            m = event_values["month"].zfill(2) if event_values["month"].isdigit() else ""
            d = event_values["day"].zfill(2) if event_values["day"].isdigit() and m else ""
            _bounds(out, e, "-".join(p for p in (y, m, d) if p), "year")
        if event_values["recordedBy"] or get("recordedByID"):
            _agent_roles(
                out,
                ctx,
                e,
                s,
                event_values["recordedBy"],
                "recordedBy",
                ROLE.collector,
                DWCIRI.recordedBy,
                get("recordedByID"),
            )
        if any(location_values.values()):
            loc = ctx.minter.part(s, "location")
            out.add(e, DSW.locatedAt, loc)
            out.add(loc, RDF.type, DCTERMS.Location)
            for term, value in location_values.items():
                if not value:
                    continue
                if term in _DECIMAL_LOCATION:
                    low, high = _DECIMAL_LOCATION[term]
                    try:
                        number = decimal(value)
                    except ValueError as exc:
                        out.warn(term, f"{exc}; left out")
                        continue
                    n = float(number.value) if number else 0.0
                    if (low is not None and n < low) or (high is not None and n > high):
                        out.warn(term, f"{value} is out of range; left out")
                        continue
                    out.add(loc, DWC.term(term), number)
                else:
                    out.add(loc, DWC.term(term), Literal(value))
            if location_values["countryCode"]:
                code = location_values["countryCode"].upper()
                if len(code) == 2 and code.isalpha():
                    out.add(s, DWC.countryCode, Literal(code))
                    country = COUNTRIES.get(code)
                    if country:
                        out.add(loc, SCHEMA.containedInPlace, WD.term(country[0]))
                    elif code not in _USER_ASSIGNED:
                        out.warn("countryCode", f"{code!r} is not a country code we know")
                else:
                    out.warn(
                        "countryCode",
                        f"{location_values['countryCode']!r} is not an ISO 3166-1 alpha-2 code",
                    )

    # -- identification
    ident_values = {t: values.get(t, "") for t in IDENTIFICATION_TERMS}
    if any(ident_values.values()) or get("identifiedByID"):
        i = ctx.minter.part(s, "identification")
        out.add(s, DSW.hasIdentification, i)
        out.add(i, RDF.type, DWC.Identification)
        out.add(i, RDF.type, PROV.Activity)
        for term, value in ident_values.items():
            out.add(i, DWC.term(term), text(value))
        for term in ("scientificName", "scientificNameAuthorship", "taxonRank"):
            out.add(i, DWC.term(term), text(get(term)))
        _bounds(out, i, ident_values["dateIdentified"], "dateIdentified")
        if ident_values["identifiedBy"] or get("identifiedByID"):
            _agent_roles(
                out,
                ctx,
                i,
                s,
                ident_values["identifiedBy"],
                "identifiedBy",
                ROLE.determiner,
                DWCIRI.identifiedBy,
                get("identifiedByID"),
            )
    if get("illustrative").lower() in {"true", "yes", "1"}:  # invented for the demo
        for node in dict.fromkeys(t[0] for t in out.triples):
            out.add(node, COL.illustrative, Literal("true", XSD + "boolean"))
        out.add(s, RDFS.comment, Literal("Illustrative: invented for the demo; not a specimen."))
    return out
