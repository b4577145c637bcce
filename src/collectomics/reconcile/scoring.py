"""Scoring candidates against a query and its properties, and the match rule."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from collectomics.linking import matcher
from collectomics.reconcile.index import Entity, Index
from collectomics.reconcile.schema import (
    ABBREVIATION_BONUS,
    ABBREVIATION_NAME,
    AGENT_FALLBACK_BELOW,
    FULL_NAME,
    LIFE_BONUS,
    MATCH_AT,
    MATCH_MARGIN,
    MAX_QUERY_CHARS,
    PERSON,
    PID_ALIASES,
    PLACE_BONUS,
    PLACE_PENALTY,
    PROPOSE_AT,
    SHORTLIST,
    SPECIMEN,
    TAXON_BONUS,
    TAXON_PENALTY,
)
from collectomics.reconcile.text import (
    PARTICLES,
    STOP_WORDS,
    compact,
    country_code,
    fold,
    id_keys,
    name_words,
    norm_id,
    year_of,
)

# -- query properties --------------------------------------------------------------------------


def _values(v: Any) -> list[str]:
    """A property value as strings: plain strings, numbers, ``{id, name}`` objects or lists."""
    if isinstance(v, list):
        return [x for item in v[:20] for x in _values(item)]
    if isinstance(v, dict):
        out = []
        for k in ("id", "name"):  # the id first: {id: "Q29", name: "Spain"}
            if isinstance(v.get(k), (str, int, float)) and not isinstance(v.get(k), bool):
                out.append(str(v[k])[:MAX_QUERY_CHARS])
        return out
    if isinstance(v, bool) or v is None:
        return []
    if isinstance(v, (str, int, float)):
        return [str(v)[:MAX_QUERY_CHARS]]
    return []


@dataclass
class Props:
    years: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: list[str] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # values that could not be read


def read_props(raw: Any) -> Props:
    out = Props()
    if not isinstance(raw, list):
        return out
    for p in raw[:20]:
        if not isinstance(p, dict):
            continue
        pid: str = p["pid"] if isinstance(p.get("pid"), str) else ""
        pid = PID_ALIASES.get(pid, pid)
        values = [s for s in _values(p.get("v")) if s.strip()]
        if pid in ("birthYear", "deathYear", "collectingYear"):
            years = [y for s in values if (y := year_of(s)) is not None]
            out.years.setdefault(pid, []).extend(
                years[:1] if isinstance(p.get("v"), dict) else years
            )
        elif pid in ("wikidata", "orcid"):
            # an {id, name} object: its id only
            vals = values[:1] if isinstance(p.get("v"), dict) else values
            out.ids.setdefault(pid, []).extend(norm_id(pid, s) for s in vals)
        elif pid == "abbreviation":
            out.abbreviations.extend(values)
        elif pid == "country":
            codes = {c for s in values if (c := country_code(s))}
            out.countries |= codes
            if values and not codes:
                out.unusable.append("country")
        elif pid == "family":
            vals = values[:1] if isinstance(p.get("v"), dict) else values  # {id, name}: the id
            out.families |= {fold(s) for s in vals} - {""}
        elif pid:
            out.unknown.append(pid)
    return out


def _feature(fid: str, value: float) -> dict[str, Any]:
    return {"id": fid, "value": round(value, 3)}


# -- people ------------------------------------------------------------------------------------


def _score_person(text: str, e: Entity, props: Props) -> tuple[float, list[dict[str, Any]]]:
    years = props.years.get("collectingYear", [])
    agent = matcher.AgentEvidence(
        iri="query",
        name=text,
        written={text, *props.abbreviations},
        earliest=date(min(years), 1, 1) if years else None,
        latest=date(max(years), 12, 31) if years else None,
    )
    feats, _veto = matcher.features(agent, e.candidate())
    by = {f.name: f.value for f in feats}
    # the name alone: family, given, alias (0.8 of the matcher's weights), scaled to 0-100
    name = (0.40 * by["family"] + 0.25 * by["given"] + 0.15 * by["alias"]) / 0.80
    if by["family"] == 1.0 and by["given"] == 1.0:  # full given name and family name agree
        name = max(name, FULL_NAME)
    if by["given"] == 0.0:
        name = min(name, matcher.GIVEN_VETO_CAP)
    out = [_feature("name_family", by["family"]), _feature("name_given", by["given"]),
           _feature("name_alias", by["alias"])]  # fmt: skip
    if _written_abbreviation(text, e):
        # the query is the person's standard abbreviation (unique in IPNI: "Hook.f.")
        name = max(name, ABBREVIATION_NAME)
        out.append(_feature("abbreviation_exact", 1.0))
    score = 100 * name
    caps: list[float] = []
    if years:
        out.append(_feature("collecting_year_fit", by["dates"]))
        if by["dates"] == 0.0:
            caps.append(100 * matcher.DATES_VETO_CAP)
    for pid, life in (("birthYear", e.birth), ("deathYear", e.death)):
        for y in props.years.get(pid, []):
            if life is None:
                out.append(_feature(f"{pid}_unknown", 0.5))
            elif abs(life - y) <= 1:
                out.append(_feature(f"{pid}_fit", 1.0))
                score = min(100.0, score + LIFE_BONUS)
            else:
                out.append(_feature(f"{pid}_fit", 0.0))
                caps.append(30.0)
    for pid, wanted in props.ids.items():
        have = e.ids.get(pid)
        for w in wanted:
            if have and have.upper() == w.upper():
                out.append(_feature(f"{pid}_agrees", 1.0))
                score = 100.0
            elif have:
                out.append(_feature(f"{pid}_agrees", 0.0))
                caps.append(20.0)
    for a in props.abbreviations:
        if any(compact(a) == compact(x) for x in e.abbreviations):
            out.append(_feature("abbreviation_agrees", 1.0))
            score = min(100.0, score + ABBREVIATION_BONUS)
    score = _place_and_taxon(e, props, score, out)
    if e.agent:
        out.append(_feature("name_string_agent", 1.0))
        score *= 0.9  # a name string, not a linked person: never as sure
    if caps:
        score = min(score, *caps)
    return round(max(score, 0.0), 1), out


def _written_abbreviation(text: str, e: Entity) -> bool:
    """True when ``text`` is one of the person's botanist abbreviations as such: shortened
    ("Benth.", "Hook.f.") or a bare family name ("Spruce"); not "H.Hu", which any "H. Hu" is."""
    folded = fold(text)
    for a in e.abbreviations:
        if fold(a) == folded:
            p = matcher.parse_name(a)
            if not p.given or p.family not in e.family_words:
                return True
    return False


def _place_and_taxon(e: Entity, props: Props, score: float, out: list[dict[str, Any]]) -> float:
    """``place_fit`` and ``taxon_fit``: 1 when the entity's specimens include the country or
    family asked for, 0 when they never do, 0.5 when nothing is known."""
    for fid, wanted, have, bonus, penalty in (
        ("place_fit", props.countries, e.countries, PLACE_BONUS, PLACE_PENALTY),
        ("taxon_fit", props.families, e.families, TAXON_BONUS, TAXON_PENALTY),
    ):
        if not wanted:
            continue
        if not have:
            out.append(_feature(fid, 0.5))
        elif wanted & have:
            out.append(_feature(fid, 1.0))
            score = min(100.0, score + bonus)
        else:
            out.append(_feature(fid, 0.0))
            score -= penalty
    return score


@dataclass
class _QueryName:
    tokens: list[str]
    family: set[str]  # what the query's family name may be (either order of the words)
    given: set[str]
    initials: set[str]  # initials in order ("lb" for "L. B."), in either reading of the name
    keys: set[str]  # compact forms: the whole text, abbreviations


def _query_name(text: str, props: Props) -> _QueryName:
    tokens = name_words(text)
    readings = [matcher.parse_name(text)]
    words = text.split()
    if "," not in text and len(words) > 1:  # surname first without a comma: "Wang Z.W."
        readings.append(matcher.parse_name(words[0] + ", " + " ".join(words[1:])))
    family: set[str] = set()
    given: set[str] = set()
    initials: set[str] = set()
    for p in readings:
        family |= {w for w in p.family.split() if len(w) > 1 and w not in PARTICLES}
        given |= {g for g in p.given if len(g) > 1}
        if p.initials:
            initials.add(p.initials)
    keys = {compact(text)} | {compact(a) for a in props.abbreviations}
    return _QueryName(tokens, family, given, initials, keys - {""})


def _prescore(q: _QueryName, e: Entity) -> float:
    """Cheap agreement of a query with a person, to choose whom to score in full."""
    s = 3.0 * len(q.family & e.family_words) + 1.0 * len(set(q.tokens) & e.family_words)
    if q.given & e.given:
        s += 2
    if q.initials and e.initials:
        if q.initials & e.initials:
            s += 3  # the same initials in the same order
        elif any(i.startswith(q) or q.startswith(i) for q in q.initials for i in e.initials):
            s += 2
        elif any(q[0] == i[0] for q in q.initials for i in e.initials):
            s += 1
        else:
            s -= 2  # a first initial that fits none of the person's names
    if q.keys & e.abbr_keys:
        s += 5
    if e.agent:
        s -= 0.5
    return s


def person_candidates(ix: Index, text: str, props: Props) -> list[Entity]:
    q = _query_name(text, props)
    found: dict[int, Entity] = {}
    for t in q.tokens:
        for e in ix.family_index.get(t, ()):
            found[id(e)] = e
    for k in q.keys:
        for e in ix.abbr_index.get(k, ()):
            found[id(e)] = e
    if not found:  # no known family word: look for close ones (a typo, missing letters)
        for t in q.tokens:
            if len(t) > 3:
                for w in ix.similar_family_words(t):
                    for e in ix.family_index.get(w, ()):
                        found[id(e)] = e
    forced = [e for kind, ws in props.ids.items() for w in ws
              for e in ix.id_index.get((kind, w.upper()), ())]  # fmt: skip
    ranked = sorted(
        found.values(), key=lambda e: (-_prescore(q, e), -e.specimens, e.agent, e.name, e.id)
    )
    short = ranked[:SHORTLIST]
    return short + [e for e in forced if e not in short]


def _result(e: Entity, score: float, feats: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "type": [dict(e.type)],
        "score": score,
        "match": False,
        "features": feats,
        "description": describe(e),
    }


def describe(e: Entity) -> str:
    if e.type is not PERSON:
        return e.description
    if e.agent:
        return "name as written on records (not yet linked to a person)"
    life = f"{e.birth or '?'}-{e.death or ''}" if (e.birth or e.death) else ""
    ids = (f"{k}: {v}" for k, v in sorted(e.ids.items()))
    collected = f"{e.specimens} specimens" if e.specimens else ""
    return ", ".join(x for x in (life, *ids, collected) if x)


_TRAILING_INITIALS = re.compile(
    r"^(?P<family>[^,]*[^\W\d_]{2}[^,]*?)\s+(?P<initials>(?:[A-Z]\.\s*)+)$"
)


def _surname_first(text: str) -> str:
    """``Smith J.E.`` (a family name, then initials, no comma) as ``Smith, J.E.``, the way the
    matcher reads surname-first names."""
    m = _TRAILING_INITIALS.match(text.strip())
    return f"{m.group('family')}, {m.group('initials').strip()}" if m else text


def person_results(ix: Index, text: str, props: Props) -> list[dict[str, Any]]:
    scored = []
    text = _surname_first(text)
    for e in person_candidates(ix, text, props):
        s, feats = _score_person(text, e, props)
        if s >= PROPOSE_AT:
            scored.append((s, e, feats))
    best_person = max((s for s, e, _ in scored if not e.agent), default=0.0)
    if best_person >= AGENT_FALLBACK_BELOW:
        scored = [x for x in scored if not x[1].agent]
    people = {e.iri for _, e, _ in scored if not e.agent}
    # an agent linked to a person offered already is that person: not a second candidate
    scored = [x for x in scored if not x[1].agent or ix.resolve(x[1].iri) not in people]
    return [_result(e, s, f) for s, e, f in scored]


# -- specimens, institutions, documents ------------------------------------------------------


def specimen_results(ix: Index, text: str, props: Props) -> list[dict[str, Any]]:
    others = ix.others()
    out: dict[str, dict[str, Any]] = {}
    keys = id_keys(text)
    for key in keys:
        for e in others.keys.get(key, ()):
            if e.type is SPECIMEN and e.id not in out:
                feats = [_feature("identifier_exact", 1.0)]
                out[e.id] = _result(e, _adjust(e, props, 100.0, feats), feats)
    key = compact(text)
    if not out and len(key) >= 4:  # a number that starts with the query
        k = bisect.bisect_left(others.sorted_keys, key)
        while k < len(others.sorted_keys) and others.sorted_keys[k].startswith(key):
            for e in others.keys[others.sorted_keys[k]]:
                if e.id not in out:
                    feats = [_feature("identifier_prefix", 1.0)]
                    out[e.id] = _result(e, _adjust(e, props, 60.0, feats), feats)
            k += 1
            if len(out) > 50:
                break
    return list(out.values())


def _adjust(e: Entity, props: Props, score: float, feats: list[dict[str, Any]]) -> float:
    return round(max(_place_and_taxon(e, props, score, feats), 0.0), 1)


def _text_score(text: str, e: Entity) -> tuple[float, list[dict[str, Any]]]:
    """A name of an institution or document: identifier or code, then words and spelling."""
    if id_keys(text) & e.keys:
        return 100.0, [_feature("identifier_exact", 1.0)]
    q = fold(text)
    qwords = {w for w in name_words(text) if w not in STOP_WORDS}
    best_ratio, best_cover = 0.0, 0.0
    for n in e.names():
        f = fold(n)
        best_ratio = max(best_ratio, SequenceMatcher(None, q, f).ratio())
        words = set(name_words(n))
        if qwords:
            best_cover = max(best_cover, len(qwords & words) / len(qwords))
    score = 100 * max(best_ratio, 0.9 * best_cover)
    feats = [_feature("name_similarity", best_ratio), _feature("name_words", best_cover)]
    return round(min(score, 99.0), 1), feats


def text_results(ix: Index, text: str, props: Props, kind: dict[str, str]) -> list[dict[str, Any]]:
    others = ix.others()
    found: dict[str, Entity] = {}
    for key in id_keys(text):
        for e in others.keys.get(key, ()):
            found[e.id] = e
    for w in name_words(text):
        for e in others.words.get(w, ())[:500]:
            found[e.id] = e
    out = []
    for e in found.values():
        if e.type is not kind:
            continue
        s, feats = _text_score(text, e)
        s = _adjust(e, props, s, feats)
        if s >= PROPOSE_AT:
            out.append(_result(e, s, feats))
    return out


# -- queries -----------------------------------------------------------------------------------


def decide(results: list[dict[str, Any]]) -> None:
    results.sort(key=lambda r: (-r["score"], r["name"], r["id"]))
    if results:
        top = results[0]["score"]
        runner = results[1]["score"] if len(results) > 1 else 0.0
        results[0]["match"] = top >= MATCH_AT and top - runner >= MATCH_MARGIN
