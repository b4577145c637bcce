"""Map one Darwin Core record (term -> value) to a specimen, its event, location, agents.

Driven by Darwin Core term names, so the same mapper serves the specimens CSV template and
Darwin Core Archives. See docs/model.md for the shape of the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from collectomics.mapping.common import Context, Mapped, date_literal, decimal, integer
from collectomics.mapping.countries import COUNTRIES
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.dwc import (
    EVENT_TERMS,
    IDENTIFICATION_TERMS,
    LOCATION_TERMS,
    OTHER_TERMS,
    TAXON_TERMS,
)
from collectomics.mapping.roles import agent_roles
from collectomics.mapping.verbatim import (
    GBIF_NS,
    GBIF_RECORD_PAGE,
    issue_flags,
    keep,
    keep_all,
    label_transcription,
)
from collectomics.model import IRI, XSD, Literal, iri_is_valid, quoted
from collectomics.vocab import COL, DCTERMS, DSW, DWC, DWCIRI, PROV, RDF, RDFS, ROLE, SCHEMA, WD

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


_N3_TYPE = RDF.type.n3()


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


# an event and an identification are prov:Activity by the ontology (dwc:Event, dwc:Identification
# rdfs:subClassOf prov:Activity): the graph writes only the Darwin Core class; a location is a
# dcterms:Location by the range of dsw:locatedAt, its one way in, so it is not typed (docs/model.md)
_EVENT_TYPES = (DWC.Event,)
_LOCATION_TYPES: tuple[IRI, ...] = ()
_IDENTIFICATION_TYPES = (DWC.Identification,)


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
    gbif_id = get("gbifID")
    if gbif_id:  # GBIF's key: the record's gbif.org page (and its IRI's key), else as written
        if gbif_id.isascii() and gbif_id.isdigit():
            add((s, RDFS.seeAlso, IRI(GBIF_RECORD_PAGE + gbif_id)))
        else:
            keep(out, s, GBIF_NS + "gbifID", gbif_id)
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
        if number is None:  # integer() gives None only for an empty value
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
        agent_roles(
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
            if number is None:  # decimal() gives None only for an empty value
                continue
            n = float(number.value)
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
        agent_roles(
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
    agent_roles(
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
    agent_roles(
        out, ctx, node, specimen, value, "measuredBy", ROLE.measurer, DWCIRI.measuredBy, ids
    )
