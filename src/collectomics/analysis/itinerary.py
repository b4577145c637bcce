"""Itineraries: a person's dated and placed collecting events in order, with plausibility flags.

:func:`itinerary` reads the collecting events of every node of the person's identity (its agents,
person nodes and identifiers, :mod:`collectomics.analysis.identity`: a person's IRI, any of its agents' or
its Wikidata IRI give the same itinerary), merges events with the same dates and place into one
:class:`Stop`, orders them by date, and says where each stop's place comes from: ``coordinates``
(``dwc:decimalLatitude``/``Longitude``), ``locality`` (text only), ``country`` (a code only) or
``none``. Only stops with coordinates have a distance to the next, so only they are checked:

- ``col:itineraryImpossibleSpeed``: consecutive stops whose distance, over the days between the
  first one's latest and the next one's earliest date, is faster than the period allows
  (setting ``itinerary_speeds``, e.g. 100 km a day before 1900);
- ``col:itineraryTwoPlacesOneDay``: two stops on the same single day farther apart than a day's
  plausible travel.

Flags are :class:`Flag` objects; :func:`flag_ntriples` writes them in the shape of the other flags
(``col:RecordFlag``, an ``oa:Annotation`` motivated by ``oa:assessing``).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from collectomics.analysis.edgeindex import clear_rows, load_rows, save_rows
from collectomics.analysis.identity import Identities
from collectomics.analysis.readers import data_graphs, facets_token, iri_values, table
from collectomics.errors import ConfigError
from collectomics.iri import Minter, slug
from collectomics.model import IRI, Literal, nquad
from collectomics.store import Store
from collectomics.vocab import COL, OA, RDF, RDFS

ITINERARY_GRAPH = "itinerary"
DEFAULT_SPEEDS = "1900:100 1950:500 *:1500"


def parse_speeds(text: str) -> list[tuple[int | None, float]]:
    """``"1900:100 1950:500 *:1500"`` -> [(1900, 100.0), (1950, 500.0), (None, 1500.0)]."""
    out: list[tuple[int | None, float]] = []
    for part in text.replace(",", " ").split():
        before, _, km = part.partition(":")
        try:
            out.append((None if before == "*" else int(before), float(km)))
        except ValueError:
            raise ConfigError(f"itinerary_speeds: {part!r} is not BEFORE_YEAR:KM or *:KM") from None
    if not out:
        raise ConfigError("itinerary_speeds is empty")
    return sorted(out, key=lambda p: (p[0] is None, p[0] or 0))


def max_speed(speeds: list[tuple[int | None, float]], year: int) -> float:
    """Fastest plausible km a day in ``year``."""
    for before, km in speeds:
        if before is None or year < before:
            return km
    return speeds[-1][1]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class Stop:
    """One dated place in a person's collecting life, and the specimens collected there."""

    earliest: date
    latest: date
    lat: float | None = None
    lon: float | None = None
    locality: str = ""
    country: str = ""
    specimens: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def place_source(self) -> str:
        if self.lat is not None and self.lon is not None:
            return "coordinates"
        if self.locality:
            return "locality"
        return "country" if self.country else "none"

    @property
    def point(self) -> tuple[float, float] | None:
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
            "lat": self.lat,
            "lon": self.lon,
            "locality": self.locality,
            "country": self.country,
            "place_source": self.place_source,
            "specimens": len(self.specimens),
            "specimen_iris": self.specimens,
            "events": self.events,
            "flags": self.flags,
        }


@dataclass
class Flag:
    """An implausible step between two stops (indexes into the itinerary's stops)."""

    rule: str  # "impossibleSpeed" or "twoPlacesOneDay"
    previous: int
    stop: int
    km: float
    days: int
    limit: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": str(_RULES[self.rule]),
            "previous": self.previous,
            "stop": self.stop,
            "km": round(self.km, 1),
            "days": self.days,
            "limit_km_per_day": self.limit,
            "message": self.message,
        }


_RULES = {
    "impossibleSpeed": COL.itineraryImpossibleSpeed,
    "twoPlacesOneDay": COL.itineraryTwoPlacesOneDay,
}


@dataclass
class Itinerary:
    person: str
    label: str
    agents: list[str]
    stops: list[Stop]
    flags: list[Flag]
    undated: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "label": self.label,
            "agents": self.agents,
            "stops": [s.to_dict() for s in self.stops],
            "flags": [f.to_dict() for f in self.flags],
            "undated_specimens": self.undated,
        }


_EVENTS = """
SELECT ?s ?e ?early ?late ?lat ?lon ?loc ?cc WHERE {{
  VALUES ?a {{ {agents} }}
  ?s dwciri:recordedBy ?a ; col:collectingEvent ?e . ?e dsw:locatedAt ?l .
  OPTIONAL {{ ?e col:earliestDate ?early }} OPTIONAL {{ ?e col:latestDate ?late }}
  OPTIONAL {{ ?l dwc:decimalLatitude ?lat }} OPTIONAL {{ ?l dwc:decimalLongitude ?lon }}
  OPTIONAL {{ ?l dwc:locality ?loc }} OPTIONAL {{ ?l dwc:countryCode ?cc }}
}}
"""
# One-pattern OPTIONALs on bound variables are index lookups in Oxigraph; a two-pattern OPTIONAL
# was evaluated as a join against every event in the store (4x slower on 100,000 specimens).


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


#: collectors with at least this many specimens get their itinerary rows kept by ``materialise``
CACHE_AT = 5000


def event_rows(store: Store, agents: list[str], graphs: list[str] | None = None) -> list[list[str]]:
    """The rows :func:`itinerary` reads: specimen, event, dates, coordinates, locality, country."""
    return list(table(store, _EVENTS.format(agents=iri_values(agents)), graphs=graphs))


def cache_itineraries(
    store: Store, minter: Minter, token: str, ids: Identities, specimens: dict[str, int]
) -> int:
    """Keep the rows of every collector with at least :data:`CACHE_AT` specimens (called by
    ``network.materialise`` with its token); returns how many collectors."""
    clear_rows(store)
    graphs = data_graphs(store, minter)
    done = 0
    for person, n in specimens.items():
        if n >= CACHE_AT:
            save_rows(
                store, token, person, event_rows(store, sorted(ids.agents_of(person)), graphs)
            )
            done += 1
    return done


def _rows(store: Store, person: str, agents: list[str], minter: Minter | None) -> list[list[str]]:
    if minter is None:
        return event_rows(store, agents)
    token = facets_token(store, minter)
    rows = load_rows(store, token, person) if token else None
    if rows is not None:
        return rows
    # only the data graphs: every extra graph in the union is one more lookup per pattern
    return event_rows(store, agents, data_graphs(store, minter))


def itinerary(
    store: Store,
    person: str,
    *,
    speeds: str = DEFAULT_SPEEDS,
    ids: Identities | None = None,
    start: int | None = None,
    end: int | None = None,
    minter: Minter | None = None,
) -> Itinerary:
    """``person``'s stops in date order (optionally within collecting years), with flags.

    With ``minter``, the rows of a prolific collector come from what ``materialise`` kept, when
    that is fresh, and otherwise only the data graphs are read."""
    limits = parse_speeds(speeds)
    ids = ids or Identities(store, minter=minter)
    person = ids.resolve(person)
    agents = sorted(ids.agents_of(person))
    stops: dict[tuple[Any, ...], Stop] = {}
    undated: set[str] = set()
    seen: set[tuple[str, str]] = set()
    rows = _rows(store, person, agents, minter)
    # tens of thousands of small objects: the cyclic collector would walk them again and
    # again while they are built (a third of the time for 49,000 specimens); none form cycles
    collecting = gc.isenabled()
    gc.disable()
    try:
        for s, e, early, late, lat, lon, loc, cc in rows:
            if (s, e) in seen:
                continue
            seen.add((s, e))
            first, last = _date(early), _date(late)
            if first is None or last is None:
                undated.add(s)
                continue
            if (start is not None and last.year < start) or (end is not None and first.year > end):
                continue
            y, x = _float(lat), _float(lon)
            key = (first, last, y, x, loc, cc)
            stop = stops.get(key)
            if stop is None:
                stop = stops[key] = Stop(first, last, y, x, loc, cc)
            stop.specimens.append(s)
            if e not in stop.events:
                stop.events.append(e)
        ordered = sorted(
            stops.values(),
            key=lambda st: (
                st.earliest,
                st.latest,
                st.country,
                st.locality,
                st.lat or 0,
                st.lon or 0,
            ),
        )
        for st in ordered:
            st.specimens.sort()
            st.events.sort()
        flags = check(ordered, limits)
    finally:
        if collecting:
            gc.enable()
    ids.fetch_names([person])
    return Itinerary(person, ids.label(person), agents, ordered, flags, len(undated))


def check(stops: list[Stop], limits: list[tuple[int | None, float]]) -> list[Flag]:
    """Flags between consecutive stops that have coordinates (see the module docstring)."""
    flags: list[Flag] = []
    placed = [i for i, s in enumerate(stops) if s.point is not None]
    for prev_i, i in zip(placed, placed[1:], strict=False):
        a, b = stops[prev_i], stops[i]
        km = distance_km(a.point, b.point)  # type: ignore[arg-type]
        limit = max_speed(limits, a.latest.year)
        same_day = a.earliest == a.latest == b.earliest == b.latest
        days = (b.earliest - a.latest).days
        if same_day and km > limit:
            flag = Flag(
                "twoPlacesOneDay", prev_i, i, km, 0, limit,
                f"On {a.earliest} at two places {km:.0f} km apart, more than a day's "
                f"{limit:g} km plausible {_period(limits, a.latest.year)}.",
            )  # fmt: skip
        elif not same_day and days >= 1 and km / days > limit:
            flag = Flag(
                "impossibleSpeed", prev_i, i, km, days, limit,
                f"{km:.0f} km from {a.latest} to {b.earliest} in {days} day(s): "
                f"{km / days:.0f} km a day, over the {limit:g} km a day plausible "
                f"{_period(limits, a.latest.year)}.",
            )  # fmt: skip
        else:
            continue
        flags.append(flag)
        a.flags.append(flag.rule)
        b.flags.append(flag.rule)
    return flags


def _period(limits: list[tuple[int | None, float]], year: int) -> str:
    for before, _ in limits:
        if before is None or year < before:
            return f"before {before}" if before is not None else "in that period"
    return "in that period"


# ------------------------------------------------------------------ output


def itinerary_graph(minter: Minter, person: str) -> IRI:
    """The named graph that holds one person's itinerary flags (replaced on each run)."""
    return minter.graph(f"{ITINERARY_GRAPH}-{slug(person.rstrip('/').rsplit('/', 1)[-1])}")


def flag_ntriples(it: Itinerary, minter: Minter) -> str:
    """The flags as N-Triples, shaped like :mod:`collectomics.analysis.inference`'s record flags."""
    lines: list[str] = []

    def add(s: str, p: str, o: Any) -> None:
        lines.append(nquad((IRI(s), IRI(p), o, None)))

    for f in it.flags:
        a, b = it.stops[f.previous], it.stops[f.stop]
        rule = _RULES[f.rule]
        key = hashlib.sha1("|".join([rule, it.person, *a.events, *b.events]).encode())
        node = minter.mint("flag", f.rule, key.hexdigest()[:16])
        add(node, RDF.type, COL.RecordFlag)
        add(node, RDF.type, OA.Annotation)
        add(node, OA.motivatedBy, OA.assessing)
        for specimen in b.specimens:
            add(node, OA.hasTarget, IRI(specimen))
        add(node, COL.method, rule)
        for event in a.events + b.events:
            add(node, COL.evidence, IRI(event))
        add(node, COL.evidence, IRI(it.person))
        body = IRI(node + "/body")
        add(node, OA.hasBody, body)
        add(body, RDF.type, OA.TextualBody)
        add(body, RDF.value, Literal(f.message))
        add(node, RDFS.comment, Literal(f.message))
    return "".join(lines)


def save_flags(store: Store, minter: Minter, it: Itinerary) -> int:
    """Replace the person's itinerary-flags graph with ``it``'s flags; returns its triples."""
    return store.replace_graph(
        itinerary_graph(minter, it.person), flag_ntriples(it, minter).encode(), "ntriples"
    )


def to_geojson(it: Itinerary) -> dict[str, Any]:
    """Points for the stops with coordinates, and one line through them in date order."""
    features: list[dict[str, Any]] = []
    line: list[list[float]] = []
    for order, st in enumerate(it.stops):
        if st.point is None:
            continue
        coords = [st.lon, st.lat]
        line.append(coords)  # type: ignore[arg-type]
        props = {k: v for k, v in st.to_dict().items() if k not in ("lat", "lon", "specimen_iris")}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": coords},
                "properties": {"order": order, **props},
            }
        )
    if len(line) > 1:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {"person": it.person, "label": it.label, "stops": len(line)},
            }
        )
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = (
    "order earliest latest place_source lat lon locality country specimens flags specimen_iris"
).split()


def write_csv(it: Itinerary, out: IO[str]) -> None:
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for order, st in enumerate(it.stops):
        d = st.to_dict()
        w.writerow(
            [order, d["earliest"], d["latest"], d["place_source"]]
            + ["" if d[k] is None else d[k] for k in ("lat", "lon")]
            + [d["locality"], d["country"], d["specimens"], " ".join(st.flags)]
            + [" ".join(st.specimens)]
        )


def to_json(it: Itinerary) -> str:
    return json.dumps(it.to_dict(), ensure_ascii=False, indent=1)


# ------------------------------------------------------------------ timeline

_RECORDS = """
SELECT DISTINCT ?x ?type ?early ?created ?date ?title WHERE {{
  VALUES ?a {{ {agents} }}
  {{ ?x rico:hasCreator ?a }} UNION {{ ?x dcterms:creator ?a }} UNION {{ ?x dcterms:references ?a }}
  UNION {{ ?x foaf:depicts ?a }}
  OPTIONAL {{ ?x a ?type }}
  OPTIONAL {{ ?x col:earliestDate ?early }} OPTIONAL {{ ?x dcterms:created ?created }}
  OPTIONAL {{ ?x dcterms:date ?date }} OPTIONAL {{ ?x dcterms:title ?title }}
}}
"""
_PHOTO = ("http://purl.org/dc/dcmitype/StillImage",)
_DOCUMENT = (
    "https://www.ica.org/standards/RiC/ontology#Record",
    "https://www.ica.org/standards/RiC/ontology#RecordPart",
)


def timeline(
    store: Store,
    person: str,
    *,
    ids: Identities | None = None,
    it: Itinerary | None = None,
    minter: Minter | None = None,
) -> list[dict[str, Any]]:
    """Dated specimens (one entry per itinerary stop), documents and photographs, in order:
    those of every node of ``person``'s identity."""
    ids = ids or Identities(store, minter=minter)
    it = it or itinerary(store, ids.resolve(person), ids=ids, minter=minter)
    entries: list[dict[str, Any]] = [
        {
            "date": st.earliest.isoformat(),
            "end": st.latest.isoformat(),
            "kind": "specimens",
            "count": len(st.specimens),
            "label": st.locality or st.country or "",
            "iri": st.specimens[0],
        }
        for st in it.stops
    ]
    found: dict[str, dict[str, Any]] = {}
    for x, type_, early, created, when, title in table(
        store, _RECORDS.format(agents=iri_values(it.agents))
    ):
        e = found.setdefault(x, {"iri": x, "kind": "", "date": "", "label": title, "count": 1})
        if type_ in _PHOTO:
            e["kind"] = "photograph"
        elif type_ in _DOCUMENT and e["kind"] != "photograph":
            e["kind"] = "document"
        day = early or created or when
        if day and (not e["date"] or day[:10] < e["date"]):
            e["date"] = day[:10]
        e["label"] = e["label"] or title
    for e in found.values():
        if e["kind"] and e["date"]:
            entries.append(e)
    return sorted(entries, key=lambda e: (e["date"], e["kind"], e["iri"]))
