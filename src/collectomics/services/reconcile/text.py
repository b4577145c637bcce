"""Folding names and identifiers into the keys the index compares, and reading years,
countries and outside identifiers from what a volunteer's cells hold."""

from __future__ import annotations

import re

from collectomics.linking import matcher
from collectomics.mapping.countries import COUNTRIES

PARTICLES = frozenset(
    "de da das do dos del della di du des la le van von der den ter ten zu y i e".split()
)
STOP_WORDS = PARTICLES | {"the", "of", "and", "et", "und", "fur", "field", "notebook", "page"}


SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
SCHEMA = "http://schema.org/"
COL = "https://w3id.org/collectomics/ontology#"
DWC = "http://rs.tdwg.org/dwc/terms/"


#: a year at the start of a value: ``1849``, ``1849-05-10``, ``+1849-05-10T00:00:00Z``,
#: ``1849-1850``, ``1849.0``, ``1849-5-10``; not the start of a longer number (``20026449-1``)
#: nor a number and one digit after a hyphen (``2810-1``: IPNI author ids)
_YEAR = re.compile(r"\s*\+?(-?\d{3,4})(?!\d)(?!-\d\s*$)")


def year_of(text: str) -> int | None:
    """The year a value starts with, or None when it holds none (:data:`_YEAR`)."""
    m = _YEAR.match(str(text))
    return int(m.group(1)) if m else None


def int_of(text: str) -> int | None:
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


NOT_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """``matcher.fold``, with a quick path for ASCII text (most names): the same result."""
    if text.isascii():
        return NOT_WORD.sub(" ", text.lower()).strip()
    return matcher.fold(text)


def compact(text: str) -> str:
    return fold(text).replace(" ", "")


def name_words(text: str) -> list[str]:
    return [w for w in fold(text).split() if len(w) > 1 and w not in PARTICLES]


def id_keys(text: str) -> set[str]:
    """Comparison keys of an identifier: compact, and compact with leading zeros dropped."""
    key = compact(text)
    return {key, re.sub(r"(?<![0-9])0+(?=[0-9])", "", key)} - {""}


#: identifier forms, as IRIs and as volunteers type them: (pattern, kind); group 1 is the value
_IDENTIFIERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:https?://(?:www\.|m\.)?wikidata\.org/(?:wiki|entity)/|wd:)?(Q[1-9]\d*)/?$", re.I),
     "wikidata"),
    (re.compile(r"^(?:https?://(?:www\.)?orcid\.org/|orcid:\s*)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])/?$",
                re.I), "orcid"),
    (re.compile(r"^(?:urn:lsid:ipni\.org:authors:|https?://(?:www\.)?ipni\.org/(?:a/|ipni/"
                r"idAuthorSearch\.do\?id=)|ipni:\s*)?(\d+-[1-9])(?::[\d.]+)?/?$", re.I), "ipni"),
    (re.compile(r"^(?:https?://(?:www\.)?viaf\.org/viaf/|viaf:\s*)(\d+)/?$", re.I), "viaf"),
    (re.compile(r"^(?:https?://(?:www\.)?isni\.org/isni/|isni:\s*)(\d{4} ?\d{4} ?\d{4} ?\d{3}[\dX])/?$",
                re.I), "isni"),
    # Harvard Index of Botanists: the GUID PURL, the botanist page, or the bare UUID
    (re.compile(r"^(?:https?://purl\.oclc\.org/net/edu\.harvard\.huh/guid/uuid/)?"
                r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/?$", re.I), "harvard"),
    (re.compile(r"^https?://kiki\.huh\.harvard\.edu/databases/botanist_search\.php\?"
                r"(?:.*&)?(?:botanistid|id)=(\d+)", re.I), "harvard"),
    (re.compile(r"^https?://(?:www\.)?biodiversitylibrary\.org/creator/(\d+)/?$", re.I), "bhl"),
]  # fmt: skip
#: Bionomia's people are keyed by their Wikidata QID or ORCID iD: https://bionomia.net/Q3009492
_BIONOMIA = re.compile(r"^https?://(?:www\.)?bionomia\.net/([^/?#\s]+)/?$", re.I)


def identifier(text: str) -> tuple[str, str] | None:
    """``(kind, value)`` of an identifier for a person, given as an IRI or as typed in a cell:
    a Wikidata QID, an ORCID iD, an IPNI author id, VIAF, ISNI, Harvard Index of Botanists,
    BHL creator, or a Bionomia profile (its QID or ORCID iD). Values are normalised (QIDs and
    ORCID iDs upper case, ISNI without spaces); None when ``text`` is none of them."""
    text = text.strip().strip("<>").strip()
    if m := _BIONOMIA.match(text):
        text = m.group(1)
    for pattern, kind in _IDENTIFIERS:
        if m := pattern.match(text):
            value = m.group(1)
            if kind in ("wikidata", "orcid", "isni"):
                value = value.replace(" ", "").upper()
            return kind, value.lower() if kind == "harvard" else value
    return None


def outside_identifier(iri: str) -> tuple[str, str] | None:
    """``(kind, value)`` of an outside IRI a person carries (``schema:sameAs``); see
    :func:`identifier`."""
    if not iri.startswith(("http://", "https://", "urn:")):
        return None
    return identifier(iri)


def trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def split_numbers(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[|;,]", text) if p.strip()]


_COUNTRY_BY_QID = {qid: code for code, (qid, _) in COUNTRIES.items()}
_COUNTRY_BY_NAME = {fold(name): code for code, (_, name) in COUNTRIES.items()}
_COUNTRY_BY_NAME.update({"usa": "US", "united states": "US", "uk": "GB", "great britain": "GB",
                         "england": "GB", "scotland": "GB", "wales": "GB", "espana": "ES",
                         "catalonia": "ES", "catalunya": "ES", "deutschland": "DE",
                         "brasil": "BR", "mexico": "MX"})  # fmt: skip


def country_code(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code, an English name or a Wikidata QID (or its IRI)."""
    text = text.strip()
    if m := re.search(r"(?:^|/)(Q\d+)$", text, re.I):
        return _COUNTRY_BY_QID.get(m.group(1).upper())
    if len(text) == 2 and text.upper() in COUNTRIES:
        return text.upper()
    return _COUNTRY_BY_NAME.get(fold(text))
