"""Map one row of the people template to a person, with identity matches for its identifiers.

Identifiers given by the table's publisher (Wikidata, ORCID, IPNI, VIAF) become accepted
``col:IdentityMatch`` nodes justified as publisher assertions, plus the ``schema:sameAs``
shortcut that accepted links may have. People with no name but a description are
``col:DescribedPerson``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from collectomics.mapping.common import Context, Mapped, getter, publisher_match, text
from collectomics.mapping.dates import year_precision_type
from collectomics.model import IRI, XSD, Literal, iri_is_valid
from collectomics.vocab import (
    COL,
    DCTERMS,
    FOAF,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    WD,
)

#: The columns of the people template, in order (docs/templates.md documents each).
PEOPLE_COLUMNS = (
    "person_id name given_name family_name name_variants author_abbreviation birth_date "
    "death_date description wikidata orcid ipni viaf floruit_start floruit_end affiliations "
    "isni other_ids notes illustrative"
).split()
IDENTIFIER_COLUMNS = ("wikidata", "orcid", "ipni", "viaf", "isni")

_QID = re.compile(r"(?:https?://(?:www\.)?wikidata\.org/(?:wiki|entity)/)?(Q[1-9]\d*)$")
_ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_IPNI = re.compile(r"(?:urn:lsid:ipni\.org:authors:|https?://(?:www\.)?ipni\.org/a/)?(\d+-\d)$")
_VIAF = re.compile(r"(?:https?://viaf\.org/viaf/)?(\d+)$")
_ISNI = re.compile(r"(?:https?://isni\.org/isni/)?(\d{15}[\dX])$")
_AFFILIATION = re.compile(r"^(?P<name>.+?)\s*(?:\((?P<start>[0-9-]*)(?:/(?P<end>[0-9-]*))?\))?$")


#: identifier kind -> its pattern, and the IRI its first group makes
_EXTERNAL: dict[str, tuple[re.Pattern[str], str]] = {
    "wikidata": (_QID, WD.iri + "{}"),
    "orcid": (_ORCID, "https://orcid.org/{}"),
    "ipni": (_IPNI, "https://www.ipni.org/a/{}"),
    "viaf": (_VIAF, "http://viaf.org/viaf/{}"),
    "isni": (_ISNI, "https://isni.org/isni/{}"),
}


def _external(kind: str, value: str) -> IRI | None:
    pattern, template = _EXTERNAL[kind]
    m = pattern.match(value.strip().replace(" ", "") if kind == "isni" else value.strip())
    return IRI(template.format(m.group(1))) if m else None


def map_person(record: Mapping[str, str], ctx: Context) -> Mapped:
    """Map one people-template row; reject it when it has no id, or neither name nor description."""
    out = Mapped()
    get = getter(record)
    person_id = get("person_id")
    if not person_id:
        return out.reject("person_id", "person_id is empty")
    name, description = get("name"), get("description")
    if not name and not description:
        return out.reject("name", "a person needs a name or, if unnamed, a description")

    p = ctx.minter.person(person_id)
    out.subject = p
    out.add(p, RDF.type, FOAF.Person)
    out.add(p, RDF.type, PROV.Person)
    if not name:
        out.add(p, RDF.type, COL.DescribedPerson)
        out.add(p, RDFS.label, Literal(description))
    out.add(p, SCHEMA.includedInDataSet, ctx.dataset)
    out.add(p, FOAF.name, text(name))
    out.add(p, FOAF.givenName, text(get("given_name")))
    out.add(p, FOAF.familyName, text(get("family_name")))
    out.add(p, DCTERMS.description, text(description))
    out.add(p, COL.authorAbbreviation, text(get("author_abbreviation")))
    for variant in get("name_variants").split("|"):
        out.add(p, SKOS.altLabel, text(variant))

    for column, prop in (("birth_date", SCHEMA.birthDate), ("death_date", SCHEMA.deathDate)):
        value = get(column)
        if not value:
            continue
        kind = year_precision_type(value)
        if kind is None:
            out.warn(
                column, f"{value!r} is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD); left out"
            )
            continue
        out.add(p, prop, Literal(value, XSD + kind))
    birth, death = get("birth_date"), get("death_date")
    if birth and death and year_precision_type(birth) and year_precision_type(death):
        if death[:4] < birth[:4]:
            out.warn("death_date", f"death {death} is before birth {birth}")

    for column in ("floruit_start", "floruit_end"):
        value = get(column)
        if value:
            kind = year_precision_type(value)
            if kind is None:
                out.warn(
                    column, f"{value!r} is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD); left out"
                )
            else:
                prop = COL.floruitStart if column == "floruit_start" else COL.floruitEnd
                out.add(p, prop, Literal(value, XSD + kind))
    out.add(p, RDFS.comment, text(get("notes")))
    _affiliations(out, ctx, p, get("affiliations"))

    for column in IDENTIFIER_COLUMNS:
        value = get(column)
        if not value:
            continue
        target = _external(column, value)
        if target is None:
            out.warn(column, f"{value!r} is not a {column} identifier; left out")
            continue
        add_identity(out, ctx, p, column, target, "asserted by the publisher of the people table")
    for value in get("other_ids").split("|"):
        value = value.strip()
        if not value:
            continue
        if not value.startswith(("http://", "https://")) or not iri_is_valid(value):
            out.warn("other_ids", f"{value!r} is not an http(s) IRI; left out")
            continue
        add_identity(
            out, ctx, p, "other", IRI(value), "asserted by the publisher of the people table"
        )
    if get("illustrative").lower() in {"true", "yes", "1", "y"}:
        out.add(p, COL.illustrative, Literal("true", XSD + "boolean"))
    return out


def add_identity(out: Mapped, ctx: Context, p: IRI, column: str, target: IRI, comment: str) -> None:
    """An accepted, publisher-asserted identity match of ``p`` to ``target``, plus schema:sameAs."""
    match = ctx.minter.part(p, "match", column, target.rstrip("/").rsplit("/", 1)[-1])
    publisher_match(out, ctx, p, target, match, comment)


def external_id(kind: str, value: str) -> IRI | None:
    """The IRI of a Wikidata, ORCID, IPNI, VIAF or ISNI identifier, or None if malformed."""
    return _external(kind, value)


def _affiliations(out: Mapped, ctx: Context, p: IRI, value: str) -> None:
    """``Name (start/end)|Name (start/)|Name``: schema:affiliation role nodes with dates."""
    for entry in value.split("|"):
        entry = entry.strip()
        if not entry:
            continue
        m = _AFFILIATION.match(entry)
        if not m:
            out.warn("affiliations", f"{entry!r} is not 'Name (start/end)'; left out")
            continue
        name = m.group("name").strip()
        org = ctx.minter.mint("organization", name)
        out.add(org, RDF.type, FOAF.Organization)
        out.add(org, RDF.type, PROV.Organization)
        out.add(org, FOAF.name, Literal(name))
        role = ctx.minter.part(p, "affiliation", name)
        out.add(p, SCHEMA.affiliation, role)
        out.add(role, RDF.type, SCHEMA.Role)
        out.add(role, SCHEMA.affiliation, org)
        for part, prop in ((m.group("start"), SCHEMA.startDate), (m.group("end"), SCHEMA.endDate)):
            part = (part or "").strip()
            if not part:
                continue
            kind = year_precision_type(part)
            if kind is None:
                out.warn("affiliations", f"{part!r} in {entry!r} is not an ISO date; left out")
            else:
                out.add(role, prop, Literal(part, XSD + kind))
