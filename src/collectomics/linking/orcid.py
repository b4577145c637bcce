"""The ORCID public API v3.0 client: search, person, employments.

:func:`candidate_from_person` turns a ``/person`` record (and optionally ``/employments``) into a
:class:`~.matcher.Candidate` (pure).
"""

from __future__ import annotations

from typing import Any

from collectomics.linking.matcher import Candidate, FuzzyDate
from collectomics.linking.session import HttpClient

ORCID = "https://orcid.org/"
ACCEPT = {"Accept": "application/vnd.orcid+json"}


def _value(block: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(block, dict):
            return None
        block = block.get(key)
    return block


def candidate_from_person(
    person: dict[str, Any], employments: dict[str, Any] | None = None
) -> Candidate:
    """An ORCID ``/person`` record as a matching candidate."""
    orcid = _value(person, "name", "path") or str(person.get("path", "")).strip("/").split("/")[0]
    given = _value(person, "name", "given-names", "value") or ""
    family = _value(person, "name", "family-name", "value") or ""
    credit = _value(person, "name", "credit-name", "value")
    label = credit or " ".join(p for p in (given, family) if p) or orcid
    aliases = []
    if family and given:
        aliases.append(f"{family}, {given}")
    if credit:
        aliases.append(" ".join(p for p in (given, family) if p))
    for other in _value(person, "other-names", "other-name") or []:
        if other.get("content"):
            aliases.append(other["content"])
    countries = {
        a["country"]["value"]
        for a in _value(person, "addresses", "address") or []
        if _value(a, "country", "value")
    }
    institutions: set[str] = set()
    floruit: list[FuzzyDate] = []
    for group in (employments or {}).get("affiliation-group", []):
        for summary in group.get("summaries", []):
            emp = summary.get("employment-summary", {})
            name = _value(emp, "organization", "name")
            if name:
                institutions.add(name)
            for key in ("start-date", "end-date"):
                year = _value(emp, key, "year", "value")
                if year and str(year).isdigit():
                    floruit.append(FuzzyDate(int(year), 9))
    return Candidate(
        iri=ORCID + orcid,
        source="orcid",
        label=label,
        aliases=[a for a in aliases if a != label],
        description=(_value(person, "biography", "content") or "")[:200],
        floruit=floruit,
        countries=countries,
        institutions=institutions,
        identifiers={"P496": {orcid}},
    )


class OrcidClient:
    """The ORCID public API v3.0 at a configurable base URL (a stand-in in tests)."""

    service = "orcid"

    def __init__(self, http: HttpClient, api_url: str) -> None:
        self.http, self.api_url = http, api_url.rstrip("/")

    def search(self, query: str, *, rows: int = 10, start: int = 0) -> list[str]:
        """ORCID iDs answering a Solr query (``family-name:Klitgaard AND given-names:Bente``)."""
        body = self.http.get_json(
            f"{self.api_url}/search",
            {"q": query, "rows": rows, "start": start},
            headers=ACCEPT,
            service=self.service,
        )
        return [
            r["orcid-identifier"]["path"]
            for r in (body or {}).get("result") or []
            if _value(r, "orcid-identifier", "path")
        ]

    def person(self, orcid: str) -> dict[str, Any] | None:
        body: dict[str, Any] | None = self.http.get_json(
            f"{self.api_url}/{orcid}/person", headers=ACCEPT, service=self.service
        )
        return body

    def employments(self, orcid: str) -> dict[str, Any] | None:
        body: dict[str, Any] | None = self.http.get_json(
            f"{self.api_url}/{orcid}/employments", headers=ACCEPT, service=self.service
        )
        return body

    def candidates(self, family: str, given: str = "", *, rows: int = 10) -> list[Candidate]:
        """People whose family name (and given name, when a full one is known) match."""
        if not family:
            return []
        query = f"family-name:{_quote(family)}"
        if given and len(given) > 1:
            query += f" AND given-names:{_quote(given)}"
        out = []
        for orcid in self.search(query, rows=rows):
            person = self.person(orcid)
            if person:
                out.append(candidate_from_person(person, self.employments(orcid)))
        return out


def _quote(text: str) -> str:
    return '"' + text.replace('"', "") + '"' if " " in text else text.replace(":", " ")
