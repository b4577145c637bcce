"""The Wikidata client: ``wbsearchentities``, ``wbgetentities`` and the query service (SPARQL).

:func:`candidate_from_entity` turns an entity's JSON into a :class:`~.matcher.Candidate`
(pure); :class:`WikidataClient` does the requests through the shared :class:`HttpClient`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectomics.linking.matcher import (
    IDENTIFIER_PROPERTIES,
    Candidate,
    FuzzyDate,
    identifier_property,
)
from collectomics.linking.session import HttpClient
from collectomics.mapping.countries import COUNTRIES

ENTITY = "http://www.wikidata.org/entity/"
HUMAN = "Q5"
_COUNTRY_CODE = {qid: code for code, (qid, _name) in COUNTRIES.items()}
#: Fields of work (P101) and occupations (P106) to the kingdoms the matcher compares with
#: ``dwc:kingdom`` (see ``service.KINGDOMS``): animals count as much as plants.
FIELDS = {
    "Q441": "plants",  # botany
    "Q2374149": "plants",  # botanist
    "Q7148": "fungi",  # mycology
    "Q2487799": "fungi",  # mycologist
    "Q133500": "plants",  # bryology
    "Q1144552": "plants",  # pteridology
    "Q1057701": "algae",  # phycology
    "Q431": "animals",  # zoology
    "Q350979": "animals",  # zoologist
    "Q182978": "animals",  # entomology
    "Q3055126": "animals",  # entomologist
    "Q1225716": "animals",  # ornithologist
}


def _values(entity: dict[str, Any], prop: str) -> list[Any]:
    out = []
    for claim in entity.get("claims", {}).get(prop, []):
        if claim.get("rank") == "deprecated":
            continue
        snak = claim.get("mainsnak", {})
        if snak.get("snaktype") == "value":
            out.append(snak.get("datavalue", {}).get("value"))
    return out


def _time(value: Any) -> FuzzyDate | None:
    if not isinstance(value, dict) or "time" not in value:
        return None
    text = value["time"]
    sign = -1 if text.startswith("-") else 1
    try:
        year = int(text.lstrip("+-").split("-")[0])
    except ValueError:
        return None
    return FuzzyDate(sign * year, int(value.get("precision", 9)))


def _item(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else None


def _texts(entity: dict[str, Any], key: str) -> list[str]:
    block = entity.get(key, {})
    out: list[str] = []
    for lang_values in block.values():
        items = lang_values if isinstance(lang_values, list) else [lang_values]
        for item in items:
            value = item.get("value") if isinstance(item, dict) else None
            if value and value not in out:
                out.append(value)
    return out


def candidate_from_entity(
    entity: dict[str, Any], languages: Iterable[str] = ("en", "mul")
) -> Candidate:
    """A Wikidata entity's JSON (as ``wbgetentities`` gives it) as a matching candidate."""
    qid = entity["id"]
    labels = entity.get("labels", {})
    label = next(
        (labels[lang]["value"] for lang in languages if lang in labels),
        next((v["value"] for v in labels.values()), qid),
    )
    aliases = [a for a in _texts(entity, "labels") + _texts(entity, "aliases") if a != label]
    native = [v.get("text") for v in _values(entity, "P1559") if isinstance(v, dict)]
    aliases += [n for n in native if n and n not in aliases]
    descriptions = entity.get("descriptions", {})
    description = next(
        (descriptions[lang]["value"] for lang in languages if lang in descriptions), ""
    )
    # where they worked (P937) is a place collected; citizenship (P27) is not
    countries = {
        _COUNTRY_CODE[q] for v in _values(entity, "P937") if (q := _item(v)) in _COUNTRY_CODE
    }
    citizenship = {
        _COUNTRY_CODE[q] for v in _values(entity, "P27") if (q := _item(v)) in _COUNTRY_CODE
    }
    fields = {
        FIELDS[q] for p in ("P101", "P106") for v in _values(entity, p) if (q := _item(v)) in FIELDS
    }
    identifiers = {}
    for prop in IDENTIFIER_PROPERTIES:
        found = {v for v in _values(entity, prop) if isinstance(v, str)}
        if found:
            identifiers[prop] = found
    births = [d for v in _values(entity, "P569") if (d := _time(v))]
    deaths = [d for v in _values(entity, "P570") if (d := _time(v))]
    floruit = [
        d for p in ("P1317", "P2031", "P2032") for v in _values(entity, p) if (d := _time(v))
    ]
    return Candidate(
        iri=ENTITY + qid,
        source="wikidata",
        label=label,
        aliases=aliases,
        abbreviations=[v for v in _values(entity, "P428") if isinstance(v, str)],
        description=description,
        birth=births[0] if births else None,
        death=deaths[0] if deaths else None,
        floruit=floruit,
        countries=countries,
        citizenship=citizenship,
        fields=fields,
        institutions={q for p in ("P108", "P1416") for v in _values(entity, p) if (q := _item(v))},
        identifiers=identifiers,
        is_human=not _values(entity, "P31") or HUMAN in {_item(v) for v in _values(entity, "P31")},
    )


class WikidataClient:
    """Wikidata's MediaWiki API and query service, at configurable URLs (stand-ins in tests)."""

    service = "wikidata"

    def __init__(self, http: HttpClient, api_url: str, sparql_url: str) -> None:
        self.http, self.api_url, self.sparql_url = http, api_url, sparql_url

    def search(self, text: str, *, limit: int = 10, language: str = "en") -> list[dict[str, Any]]:
        """``wbsearchentities``: items whose label or alias starts with ``text``."""
        body = self.http.get_json(
            self.api_url,
            {
                "action": "wbsearchentities",
                "search": text,
                "language": language,
                "uselang": language,
                "type": "item",
                "limit": limit,
                "format": "json",
            },
            service=self.service,
        )
        return list((body or {}).get("search", []))

    def entities(self, ids: list[str], *, languages: str = "en|mul") -> dict[str, dict[str, Any]]:
        """``wbgetentities`` for up to 50 ids at a time: labels, aliases, descriptions, claims."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            body = self.http.get_json(
                self.api_url,
                {
                    "action": "wbgetentities",
                    "ids": "|".join(chunk),
                    "props": "labels|aliases|descriptions|claims",
                    "languages": languages,
                    "format": "json",
                },
                service=self.service,
            )
            for qid, entity in ((body or {}).get("entities") or {}).items():
                if "missing" not in entity:
                    out[qid] = entity
        return out

    def sparql(self, query: str) -> list[dict[str, Any]]:
        """A SELECT on the query service; rows as SPARQL JSON bindings."""
        body = self.http.get_json(
            self.sparql_url,
            {"query": query, "format": "json"},
            headers={"Accept": "application/sparql-results+json"},
            service="wikidata-sparql",
        )
        return list((body or {}).get("results", {}).get("bindings", []))

    def items_with(self, prop: str, value: str) -> list[str]:
        """QIDs of the items whose ``prop`` has ``value`` (e.g. P586 "36375-1")."""
        if not prop.startswith("P") or not prop[1:].isdigit():
            raise ValueError(f"not a property id: {prop!r}")
        literal = value.replace("\\", "\\\\").replace('"', '\\"')
        rows = self.sparql(
            f'SELECT ?item WHERE {{ ?item <http://www.wikidata.org/prop/direct/{prop}> "{literal}" }}'
        )
        return [r["item"]["value"].rsplit("/", 1)[-1] for r in rows if "item" in r]

    def resolve(self, identifier: str) -> list[str]:
        """QIDs of the items carrying a person identifier IRI (ORCID P496, IPNI P586, VIAF P214,
        BHL creator P4081, Harvard botanist P6264); a Wikidata or Bionomia item IRI is its own
        QID; [] for an identifier Wikidata does not hold."""
        found = identifier_property(identifier)
        if found is None:
            return []
        prop, value = found
        return [value] if prop == "item" else self.items_with(prop, value)

    def candidates(self, terms: list[str], *, limit: int = 10) -> list[Candidate]:
        """Search each term, fetch the hits, and return them as candidates (humans first)."""
        ids: list[str] = []
        for term in terms:
            for hit in self.search(term, limit=limit):
                if hit.get("id") and hit["id"] not in ids:
                    ids.append(hit["id"])
        entities = self.entities(ids)
        return [candidate_from_entity(entities[q]) for q in ids if q in entities]
