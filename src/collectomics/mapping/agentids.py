"""Agent identifiers as publishers write them (``recordedByID``, ``identifiedByID``) to IRIs.

Wikidata, ORCID, VIAF, ISNI, IPNI, BHL creator and Harvard botanist index identifiers are
normalised to one IRI form each; any other absolute IRI is kept as it is; anything else is not
an identifier the graph can use.
"""

from __future__ import annotations

import re

from collectomics.model import IRI, iri_is_valid

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(?:https?://(?:www\.)?wikidata\.org/(?:wiki|entity)/|wd:)?(Q[1-9]\d*)$", re.I
        ),
        "http://www.wikidata.org/entity/{}",
    ),
    (
        re.compile(
            r"^(?:https?://(?:www\.)?orcid\.org/|orcid:)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$", re.I
        ),
        "https://orcid.org/{}",
    ),
    (
        re.compile(r"^(?:https?://(?:www\.)?viaf\.org/viaf/|viaf:)(\d+)/?$", re.I),
        "http://viaf.org/viaf/{}",
    ),
    (
        re.compile(
            r"^(?:https?://(?:www\.)?isni\.org/isni/|isni:)?(\d{4} ?\d{4} ?\d{4} ?\d{3}[\dX])$",
            re.I,
        ),
        "https://isni.org/isni/{}",
    ),
    (
        re.compile(
            r"^(?:urn:lsid:ipni\.org:authors:|https?://(?:www\.)?ipni\.org/a/|ipni:)(\d+-\d)$", re.I
        ),
        "https://www.ipni.org/a/{}",
    ),
    (
        re.compile(r"^https?://(?:www\.)?biodiversitylibrary\.org/creator/(\d+)/?$", re.I),
        "https://www.biodiversitylibrary.org/creator/{}",
    ),
]
_SPLIT = re.compile(r"\s*[|;]\s*|\s*,\s*(?=[a-z]+:|Q\d|\d{4}-)|\s+(?=https?://)", re.I)


def identifier_iri(value: str) -> IRI | None:
    """The IRI for one agent identifier, or None when it is not one."""
    text = value.strip().strip("<>")
    for pattern, template in _RULES:
        m = pattern.match(text)
        if m:
            return IRI(
                template.format(
                    m.group(1).replace(" ", "").upper()
                    if "isni" in template or "orcid" in template
                    else m.group(1)
                )
            )
    if re.match(r"^(?:https?|urn):", text, re.I) and iri_is_valid(text):
        return IRI(text)
    return None


def split_identifiers(value: str | None) -> list[str]:
    """The identifiers in a ``recordedByID``-style field, in the order given."""
    if not value or not value.strip():
        return []
    return [part for part in _SPLIT.split(value.strip()) if part]
