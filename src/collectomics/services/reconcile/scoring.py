"""Scoring candidates against a query and its properties, and the match rule."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from collectomics.linking import matcher
from collectomics.mapping.agentids import identifier_iri
from collectomics.mapping.names import SplitName, is_unknown_agent, read_agents
from collectomics.services.reconcile.index import Entity, Index
from collectomics.services.reconcile.schema import (
    ABBREVIATION_BONUS,
    ABBREVIATION_NAME,
    AGENT_FACTOR,
    AGENT_FALLBACK_BELOW,
    CITIZENSHIP_BONUS,
    DEFAULT_LIMIT,
    FULL_NAME,
    ID_CAP,
    ID_PROPERTIES,
    LIFE_BONUS,
    LIFE_CAP,
    MATCH_AT,
    MATCH_MARGIN,
    MAX_CELL_PEOPLE,
    MAX_QUERY_CHARS,
    NOTE_SEVERAL,
    PER_CELL_PERSON,
    PERSON,
    PLACE_BONUS,
    PLACE_PENALTY,
    PROPOSE_AT,
    SHORTLIST,
    SPECIMEN,
    TAXON_BONUS,
    TAXON_PENALTY,
    property_id,
)
from collectomics.services.reconcile.text import (
    PARTICLES,
    STOP_WORDS,
    compact,
    country_code,
    fold,
    id_keys,
    name_words,
    outside_identifier,
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
    """The query properties as read: our ids, values normalised (docs/reconciliation.md)."""

    years: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: list[str] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    citizenship: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # values that could not be read

    def count(self) -> int:
        """How many properties the query gives a usable value of (each is one feature)."""
        return (
            len(self.years) + len(self.ids) + bool(self.abbreviations) + bool(self.countries)
            + bool(self.citizenship) + bool(self.families)
        )  # fmt: skip


#: an identifier written alone, per kind (URLs and prefixed forms are read by identifier_iri)
_BARE_ID = {
    "wikidata": re.compile(r"(Q[1-9]\d*)", re.I),
    "orcid": re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.I),
    "ipni": re.compile(r"(\d+-\d)"),
    "viaf": re.compile(r"(\d+)"),
}


def read_identifier(kind: str, text: str) -> str | None:
    """The identifier of ``kind`` in a property value, in the form the index holds it
    (``Q2987664``, ``0000-0002-1825-0097``, ``2810-1``, ``12345``): written alone, as its IRI or
    URL, or prefixed (``urn:lsid:ipni.org:authors:2810-1``, ``wd:Q42``); None if it is not one."""
    text = text.strip()
    if (iri := identifier_iri(text)) and (found := outside_identifier(iri)):
        return found[1].upper() if found[0] == kind else None
    if kind == "wikidata" and (m := re.search(r"(?:^|/)(Q[1-9]\d*)$", text, re.I)):
        return m.group(1).upper()
    m = _BARE_ID[kind].fullmatch(text)
    return m.group(1).upper() if m else None


def read_props(raw: Any) -> Props:
    """The query's properties: by our id or its aliases (schema.PID_ALIASES: Wikidata ids,
    Darwin Core terms). Values that cannot be read are listed in ``unusable``."""
    out = Props()
    if not isinstance(raw, list):
        return out
    for p in raw[:20]:
        if not isinstance(p, dict):
            continue
        pid = property_id(p["pid"]) if isinstance(p.get("pid"), str) else ""
        # an {id, name} object: its id only (but a country may be named)
        whole = [s for s in _values(p.get("v")) if s.strip()]
        values = whole[:1] if isinstance(p.get("v"), dict) else whole
        if not values:
            continue
        if pid in ("birthYear", "deathYear", "collectingYear"):
            years = [y for s in values if (y := year_of(s)) is not None]
            if years:
                out.years.setdefault(pid, []).extend(years)
            else:
                out.unusable.append(pid)
        elif pid in ID_PROPERTIES:
            found = [x for s in values if (x := read_identifier(pid, s))]
            if found:
                out.ids.setdefault(pid, []).extend(found)
            else:
                out.unusable.append(pid)
        elif pid == "abbreviation":
            out.abbreviations.extend(values)
        elif pid in ("country", "citizenship"):
            codes = {c for s in whole if (c := country_code(s))}
            (out.countries if pid == "country" else out.citizenship).update(codes)
            if not codes:
                out.unusable.append(pid)
        elif pid == "family":
            out.families |= {fold(s) for s in values} - {""}
        elif pid:
            out.unknown.append(pid)
    return out


def _feature(fid: str, value: float) -> dict[str, Any]:
    return {"id": fid, "value": round(value, 3)}


# -- people ------------------------------------------------------------------------------------


def _score_person(text: str, e: Entity, props: Props) -> tuple[float, list[dict[str, Any]]]:
    """The score (0-100) of person or name-string agent ``e`` for the name ``text``, and its
    features: the name's, then one per property given (1 agrees, 0 disagrees, 0.5 unknown).

    Agreeing properties add a bonus to a person's name score, disagreeing ones subtract or
    cap it, an identifier that agrees makes it 100. A name-string agent gets no bonus: what
    its specimens say (countries, families, years) is what the records it was read from say,
    often the very records a sheet is made from, so their agreement tells nothing."""
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
    if text and _written_abbreviation(text, e):
        # the query is the person's standard abbreviation (unique in IPNI: "Hook.f.")
        name = max(name, ABBREVIATION_NAME)
        out.append(_feature("abbreviation_exact", 1.0))
    bonus, penalty, caps, agrees = 0.0, 0.0, [], False
    if years:
        out.append(_feature("collecting_year_fit", by["dates"]))
        if by["dates"] == 0.0:
            caps.append(LIFE_CAP)
    for pid, life in (("birthYear", e.birth), ("deathYear", e.death)):
        if pid not in props.years:
            continue
        if life is None:
            out.append(_feature(f"{pid}_fit", 0.5))
        elif any(abs(life - y) <= 1 for y in props.years[pid]):
            out.append(_feature(f"{pid}_fit", 1.0))
            bonus += LIFE_BONUS
        else:
            out.append(_feature(f"{pid}_fit", 0.0))
            caps.append(LIFE_CAP)
    for kind, asked in props.ids.items():
        held = e.ids.get(kind, "").upper()
        if not held:
            out.append(_feature(f"{kind}_agrees", 0.5))
        elif held in asked:
            out.append(_feature(f"{kind}_agrees", 1.0))
            agrees = True
        else:
            out.append(_feature(f"{kind}_agrees", 0.0))
            caps.append(ID_CAP)
    if props.abbreviations:
        mine = {compact(x) for x in e.abbreviations}
        fit = 0.5 if not mine else float(any(compact(a) in mine for a in props.abbreviations))
        out.append(_feature("abbreviation_agrees", fit))
        # IPNI's standard forms are unique: another one is most likely another author
        bonus += ABBREVIATION_BONUS if fit == 1.0 else 0.0
        penalty += ABBREVIATION_BONUS if fit == 0.0 else 0.0
    for fid, wanted, known, plus, minus in (
        ("place_fit", props.countries, e.countries, PLACE_BONUS, PLACE_PENALTY),
        ("taxon_fit", props.families, e.families, TAXON_BONUS, TAXON_PENALTY),
        # a citizenship is where a collector came from, not where they collected: it agrees
        # when they collected there too, and says nothing when they did not
        ("citizenship_fit", props.citizenship, e.countries, CITIZENSHIP_BONUS, 0),
    ):
        if wanted:
            fit = _fit(wanted, known, partial=minus == 0)
            out.append(_feature(fid, fit))
            bonus += plus if fit == 1.0 else 0.0
            penalty += minus if fit == 0.0 else 0.0
    score = 100 * name
    if e.agent:
        out.append(_feature("name_string_agent", 1.0))
        score = AGENT_FACTOR * (score - penalty)  # a name string, not a person: never as sure
    else:
        score = min(100.0, score + bonus) - penalty
    if agrees:
        score = 100.0
    if caps:
        score = min(score, *caps)
    return round(max(score, 0.0), 1), out


def _fit(wanted: set[str], have: set[str], partial: bool = False) -> float:
    """1 when ``have`` includes something wanted, 0 when it never does, 0.5 when nothing is
    known (or, ``partial``, when a miss is no evidence)."""
    if not have:
        return 0.5
    if wanted & have:
        return 1.0
    return 0.5 if partial else 0.0


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
    """``place_fit`` and ``taxon_fit`` of a specimen, an institution or a document: its own
    country and family (1: +5, 0: −10, 0.5: no change)."""
    for fid, wanted, have, bonus, penalty in (
        ("place_fit", props.countries, e.countries, PLACE_BONUS, PLACE_PENALTY),
        ("taxon_fit", props.families, e.families, TAXON_BONUS, TAXON_PENALTY),
    ):
        if wanted:
            fit = _fit(wanted, have)
            out.append(_feature(fid, fit))
            score += bonus if fit == 1.0 else -penalty if fit == 0.0 else 0.0
    return min(score, 100.0)


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
    """Candidates for one person's name: people, then name-string agents (module doc)."""
    scored = []
    text = _surname_first(text)
    for e in person_candidates(ix, text, props):
        if is_unknown_agent(e.name):  # 'Anon.', 's.coll.', '?' name no one: never a candidate
            continue
        s, feats = _score_person(text, e, props)
        if s >= PROPOSE_AT:
            scored.append((s, e, feats))
    best_person = max((s for s, e, _ in scored if not e.agent), default=0.0)
    if best_person >= AGENT_FALLBACK_BELOW:
        scored = [x for x in scored if not x[1].agent]
    people = [(s, e) for s, e, _ in scored if not e.agent]
    linked = {e.iri for _, e in people}
    out = []
    for s, e, feats in scored:
        if e.agent and people:
            # an agent linked to a person offered already is that person: not a second
            # candidate; one whose name fits a person offered may be them: it ranks below
            if ix.resolve(e.iri) in linked:
                continue
            fitting = [ps for ps, p in people if _may_be(e, p)]
            if fitting and s >= min(fitting):
                s = round(max(min(fitting) - 0.1, 0.0), 1)
                feats.append(_feature("below_person", 1.0))
        out.append(_result(e, s, feats))
    return out


def _may_be(agent: Entity, person: Entity) -> bool:
    """Could the name string ``agent`` be ``person`` by name (family agrees, given names fit)?"""
    score, _ = _score_person(_surname_first(agent.name), person, Props())
    return score >= AGENT_FALLBACK_BELOW


_ONE_WORD = re.compile(r"[^\W\d_]{2,}(?:[-'’][^\W\d_]+)*")


def bare_surname(text: str) -> bool:
    """Is the query one word of letters, a surname alone (``Krüger``, ``Bob``)? Not an
    abbreviation written as such (``Hook.``, ``L.``, ``DC.``), nor two words (``Font Quer``)."""
    return bool(_ONE_WORD.fullmatch(text.strip()))


def _confirmed(result: dict[str, Any]) -> bool:
    """An identifier or the abbreviation given as a property agrees: a bare surname may match."""
    return any(
        f["value"] == 1.0 and (f["id"] == "abbreviation_agrees" or f["id"][:-7] in ID_PROPERTIES)
        for f in result["features"]
        if f["id"].endswith("_agrees")
    )


def person_answer(
    ix: Index, text: str, props: Props
) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], bool] | bool]:
    """The candidates for a cell of names, and whether its top candidate may be matched.

    The cell is read as the ingest reads ``recordedBy`` (:func:`mapping.names.read_agents`):
    a cell of several names (``H. Nouvel; M. Vannini``) is answered per person, never matched;
    a bare surname may be matched only when an identifier or the abbreviation agrees; a cell
    whose name comes with noise the ingest drops (``Burchard 28.IV.1894``) is also looked up
    by the name as the ingest reads it when the whole cell finds no one."""
    names = read_agents(text) if text.strip() else []
    if len(names) > 1:
        return several_people(ix, names, props), False
    results = person_results(ix, text, props)
    if not results and names and not names[0].unknown and names[0].written != text.strip():
        text = names[0].written
        results = person_results(ix, text, props)
    if bare_surname(text):
        for r in results:
            r["features"].append(_feature("bare_surname", 1.0))
        return results, _confirmed
    return results, True


def several_people(ix: Index, names: list[SplitName], props: Props) -> list[dict[str, Any]]:
    """Candidates for each person of a cell, each described as for which one; none found:
    one note (score 0, never matched) that says the cell holds several names, to split."""
    n = len(names)
    people = sum(1 for x in names[:MAX_CELL_PEOPLE] if not x.unknown and not x.organisation)
    # every name keeps a place in the first DEFAULT_LIMIT candidates
    per_name = max(1, min(PER_CELL_PERSON, DEFAULT_LIMIT // max(people, 1)))
    best: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names[:MAX_CELL_PEOPLE], start=1):
        if name.unknown or name.organisation:
            continue
        found = person_results(ix, name.written, props)
        found.sort(key=lambda r: (-r["score"], r["name"], r["id"]))
        for r in found[:per_name]:
            if r["id"] in best and best[r["id"]]["score"] >= r["score"]:
                continue
            what = f"for name {k} of {n} in the cell: {name.written}"
            r["description"] = f"{what} ({r['description']})" if r["description"] else what
            r["features"].append(_feature("names_in_cell", n))
            best[r["id"]] = r
    if best:
        return list(best.values())
    written = " | ".join(x.written for x in names[:MAX_CELL_PEOPLE])
    why = (
        f"No one found for the {n} names in this cell ({written}): split the column into one "
        "name per cell and reconcile each"
    )
    return [{"id": NOTE_SEVERAL, "name": why, "type": [dict(PERSON)], "score": 0.0,
             "match": False, "features": [_feature("names_in_cell", n)],
             "description": why}]  # fmt: skip


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


def decide(
    results: list[dict[str, Any]], may_match: Callable[[dict[str, Any]], bool] | bool = True
) -> None:
    """Sort by score and set ``match`` on the top candidate by the match rule: a score of at
    least MATCH_AT and MATCH_MARGIN above the runner-up, if ``may_match`` (a flag, or a test of
    the top candidate) allows it."""
    results.sort(key=lambda r: (-r["score"], r["name"], r["id"]))
    if results:
        top = results[0]["score"]
        runner = results[1]["score"] if len(results) > 1 else 0.0
        allowed = may_match(results[0]) if callable(may_match) else may_match
        results[0]["match"] = allowed and top >= MATCH_AT and top - runner >= MATCH_MARGIN
