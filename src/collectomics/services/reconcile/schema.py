"""The service's types, query and extension properties, and its limits and score
thresholds (documented in docs/reconciliation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BASE = "https://w3id.org/collectomics/"
MATCH_AT = 85
MATCH_MARGIN = 15
#: the name score (0-1) when the family name and a full given name both agree
FULL_NAME = 0.95
#: the name score (0-1) when the query is exactly a person's botanist abbreviation
ABBREVIATION_NAME = 0.9
#: a candidate must reach this (0-100) to be proposed at all
PROPOSE_AT = 40
#: agents (name strings) are offered only when no linked person reaches this score
AGENT_FALLBACK_BELOW = 60
#: people scored in full per query, after the token index's cheap pre-score
SHORTLIST = 12
#: a family-name word is looked up fuzzily (trigrams) only when no word of the query is known
FUZZY_AT = 0.8
MAX_QUERY_CHARS = 1000
MAX_BATCH = 50
DEFAULT_LIMIT = 10
BATCH_SIZE = 10
#: score adjustments of the query properties (documented in docs/reconciliation.md)
LIFE_BONUS, ABBREVIATION_BONUS, PLACE_BONUS, TAXON_BONUS, CITIZENSHIP_BONUS = 5, 10, 5, 5, 5
PLACE_PENALTY, TAXON_PENALTY = 10, 10
#: a life year that disagrees (more than a year off), or a collecting year out of the life
LIFE_CAP = 30
#: an identifier property the person holds another value of
ID_CAP = 20
#: a name-string agent's score is this share of its name score: a name, not a person
AGENT_FACTOR = 0.9
#: a cell of several names: candidates kept per name, names read at most
PER_CELL_PERSON, MAX_CELL_PEOPLE = 3, 10
#: the id of the note that answers a cell of several names when no one is found
NOTE_SEVERAL = "note/several-names"

PERSON = {"id": "Person", "name": "Person"}
SPECIMEN = {"id": "Specimen", "name": "Specimen"}
INSTITUTION = {"id": "Institution", "name": "Institution/Collection"}
DOCUMENT = {"id": "Document", "name": "Document"}
TYPES = [PERSON, SPECIMEN, INSTITUTION, DOCUMENT]
TYPE_IDS = {t["id"]: t for t in TYPES}
TYPE_ALIASES = {"collection": "Institution", "organization": "Institution",
                 "organisation": "Institution", "q5": "Person", "agent": "Person"}  # fmt: skip

#: query properties: our id -> what it is (with its Wikidata property, which is accepted too)
QUERY_PROPERTIES = {
    "birthYear": "birth year (P569)",
    "deathYear": "death year (P570)",
    "collectingYear": "collecting year or date (the person must have been alive)",
    "wikidata": "Wikidata QID",
    "orcid": "ORCID iD (P496)",
    "ipni": "IPNI author ID (P586)",
    "viaf": "VIAF ID (P214)",
    "abbreviation": "botanist author abbreviation (P428)",
    "country": "country collected in (ISO code, name or Wikidata QID; P17)",
    "citizenship": "citizenship (P27)",
    "family": "taxon family collected",
}
#: the identifier properties: compared as exact keys with the identifiers a person holds
ID_PROPERTIES = ("wikidata", "orcid", "ipni", "viaf")
#: other names of the query properties: Wikidata property ids, Darwin Core terms, variants.
#: Matched ignoring case, and a Wikidata property IRI (``.../prop/direct/P569``) by its id.
PID_ALIASES = {
    "P569": "birthYear", "P570": "deathYear", "P496": "orcid", "P586": "ipni",
    "P214": "viaf", "P428": "abbreviation", "P17": "country", "P27": "citizenship",
    "qid": "wikidata", "wikidataId": "wikidata", "item": "wikidata",
    "countryCode": "country", "dwc:countryCode": "country", "dwc:country": "country",
    "countryOfCitizenship": "citizenship", "nationality": "citizenship",
    "collectingDate": "collectingYear", "eventDate": "collectingYear",
    "dwc:eventDate": "collectingYear", "year": "collectingYear", "dwc:year": "collectingYear",
    "dateOfBirth": "birthYear", "birthDate": "birthYear", "dateOfDeath": "deathYear",
    "deathDate": "deathYear", "ipniId": "ipni", "ipniAuthorId": "ipni", "viafId": "viaf",
    "orcidId": "orcid", "authorAbbreviation": "abbreviation",
    "taxonFamily": "family", "dwc:family": "family",
}  # fmt: skip
_PIDS = {k.lower(): v for k, v in PID_ALIASES.items()} | {k.lower(): k for k in QUERY_PROPERTIES}


def property_id(pid: str) -> str:
    """Our id of a query property given by our id, a Wikidata property id or IRI
    (``P569``, ``http://www.wikidata.org/prop/direct/P569``, ``wdt:P569``) or another alias,
    ignoring case; anything else is returned as given (an unknown property)."""
    key = pid.strip().rsplit("/", 1)[-1]
    if key.lower().startswith("wdt:"):
        key = key[4:]
    return _PIDS.get(key.lower(), pid)


#: Another reconciliation service whose identifier space holds Wikidata items (QIDs): named in
#: the ``meta`` of a data extension column whose values are Wikidata items, as the 0.2 spec asks
#: of values outside our identifier space (OpenRefine 3.6's own default Wikidata service).
WIKIDATA_SERVICE = "https://wikidata.reconci.link/en/api"
#: Wikidata classes of the Wikidata items a column holds (``meta`` ``type``)
WIKIDATA_HUMAN = {"id": "Q5", "name": "human"}
WIKIDATA_ORGANIZATION = {"id": "Q43229", "name": "organization"}
WIKIDATA_COUNTRY = {"id": "Q6256", "name": "country"}


@dataclass(frozen=True)
class ExtendProperty:
    """A data extension property: one id, one name (the column OpenRefine makes is named
    exactly so, whatever the type), the types that have it and the kind of its values:
    ``str``, ``int``, ``date`` (ISO, to the precision the graph holds), ``entity`` (ours, of
    type ``entity_type``) or ``wikidata`` (Wikidata items, from :data:`WIKIDATA_SERVICE`)."""

    id: str
    name: str
    description: str
    types: tuple[str, ...]
    value: str = "str"
    entity_type: dict[str, str] | None = None


#: data extension properties, in the order proposed
EXTENSION: dict[str, ExtendProperty] = {
    p.id: p
    for p in (
        ExtendProperty("wikidata", "Wikidata QID", "the Wikidata item, as a Wikidata entity",
                       ("Person", "Institution"), "wikidata"),
        ExtendProperty("orcid", "ORCID iD", "ORCID iD, 0000-0002-1825-0097", ("Person",)),
        ExtendProperty("ipni", "IPNI author ID", "IPNI author id, 4084-1", ("Person",)),
        ExtendProperty("viaf", "VIAF ID", "VIAF cluster id", ("Person",)),
        ExtendProperty("abbreviation", "botanist author abbreviation",
                       "standard form as IPNI gives it, Hook.f.", ("Person",)),
        ExtendProperty("birthDate", "birth date", "to the day, month or year the graph holds",
                       ("Person",), "date"),
        ExtendProperty("deathDate", "death date", "to the day, month or year the graph holds",
                       ("Person",), "date"),
        ExtendProperty("affiliations", "affiliations", "institutions the person worked at",
                       ("Person",), "entity", INSTITUTION),
        ExtendProperty("specimenCount", "specimen count", "specimens recorded",
                       ("Person", "Institution"), "int"),
        ExtendProperty("firstYear", "first collecting year", "earliest year collected",
                       ("Person", "Specimen"), "int"),
        ExtendProperty("lastYear", "last collecting year", "latest year collected",
                       ("Person", "Specimen"), "int"),
        ExtendProperty("countries", "countries collected in", "as Wikidata items",
                       ("Person", "Specimen"), "wikidata", WIKIDATA_COUNTRY),
        ExtendProperty("coCollectors", "co-collectors", "people named on the same specimens",
                       ("Person",), "entity", PERSON),
        ExtendProperty("catalogNumber", "catalogue number", "dwc:catalogNumber", ("Specimen",)),
        ExtendProperty("occurrenceID", "occurrenceID", "dwc:occurrenceID", ("Specimen",)),
        ExtendProperty("scientificName", "scientific name", "dwc:scientificName",
                       ("Specimen",)),
        ExtendProperty("family", "taxon family", "dwc:family", ("Specimen",)),
        ExtendProperty("eventDate", "collecting date", "dwc:eventDate, to its precision; a range "
                       "or an unparsed date as written", ("Specimen",), "date"),
        ExtendProperty("institution", "holding institution", "from dwc:institutionCode",
                       ("Specimen",), "entity", INSTITUTION),
        ExtendProperty("date", "date", "to the day, month or year the graph holds",
                       ("Document",), "date"),
        ExtendProperty("creator", "creator", "who wrote it", ("Document",), "entity", PERSON),
        ExtendProperty("holder", "holder", "the institution that holds it", ("Document",),
                       "entity", INSTITUTION),
    )
}  # fmt: skip
#: data extension properties, per type: id -> name (the one name of the property)
EXTEND_PROPERTIES = {
    t["id"]: {p.id: p.name for p in EXTENSION.values() if t["id"] in p.types} for t in TYPES
}


def query_type(q: dict[str, Any]) -> str | None:
    """The type asked for: a known type id, None (any), or "" for a type we do not have."""
    qtype = q.get("type")
    if isinstance(qtype, list):  # several types: the first one we have
        known = [t for t in qtype if isinstance(t, str) and known_type(t)]
        qtype = known[0] if known else (qtype[0] if qtype else None)
    if isinstance(qtype, dict):
        qtype = qtype.get("id")
    if qtype is None or qtype == "":
        return None
    if not isinstance(qtype, str):
        return ""
    return known_type(qtype) or ""


def known_type(text: str) -> str | None:
    if text in TYPE_IDS:
        return text
    folded = text.strip().lower().rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    for tid in TYPE_IDS:
        if folded == tid.lower():
            return tid
    return TYPE_ALIASES.get(folded)
