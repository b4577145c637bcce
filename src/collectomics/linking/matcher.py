"""Match scoring: PURE (no network, no store). Name variants, features, a score and a decision.

An agent (a name string on records, with what its records say: dates, countries, taxa,
co-collectors, datasets) is compared with a candidate person (from Wikidata or ORCID). Each
comparison yields named :class:`Feature` values in [0, 1] with a one-line explanation; they are
stored with the decision so that a reviewer sees why. The formula (see docs/linking.md)::

    score = 0.40 F + 0.25 G + 0.15 A + 0.10 D + 0.04 C + 0.02 T + 0.02 K + 0.02 I

F family name, G given names, A abbreviation/alias hit, D dates, C places collected, T taxa
(kingdoms), K co-collectors already linked, I institution/dataset overlap. A ninth feature, the
publisher's identifiers (X), is not weighted: it vetoes or confirms. Vetoes cap the score: given
names that cannot be the same (Jim vs Jay) at 0.2, a life that excludes the agent's dates (beyond
the tolerance) at 0.3, an identifier that differs from the publisher's at 0.2.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache

from anyascii import anyascii

from collectomics.mapping.names import (
    display_form,
    is_organisation_agent,
    is_unknown_agent,
    normalise,
    read_name,
)

WEIGHTS = {
    "family": 0.40,
    "given": 0.25,
    "alias": 0.15,
    "dates": 0.10,
    "countries": 0.04,
    "taxa": 0.02,
    "cocollectors": 0.02,
    "institution": 0.02,
    "identifier": 0.0,  # not weighted: a veto (differs) or a confirmation (shared)
}
GIVEN_VETO_CAP = 0.2
DATES_VETO_CAP = 0.3
IDENTIFIER_VETO_CAP = 0.2
#: Below this a candidate is not worth a reviewer's time: decided "rejected" by the matcher.
PROPOSE_AT = 0.5
#: The high-confidence rule (all must hold) for accepting without a human: see :func:`decide`.
ACCEPT_AT = 0.9
ACCEPT_MARGIN = 0.15
#: ... or, when no other candidate is plausible, this score with full given names and a known life.
ACCEPT_ALONE_AT = 0.8
#: A plausible working life: from this age ...
WORKING_AGE = 10
#: ... to this one, when only one end of a life is known.
LAST_WORKING_AGE = 90
#: Years a record may fall outside a life before the dates veto it (NHM's Planetary Knowledge
#: Base uses 5); the setting ``linking_date_tolerance`` passes another value to :func:`rank`.
DATE_TOLERANCE = 5
#: Identifier properties a publisher may assert and a person item may carry: a difference vetoes,
#: a shared value confirms. Wikidata property -> what it is called in a reason.
IDENTIFIER_PROPERTIES = {
    "P496": "ORCID iD",
    "P586": "IPNI author ID",
    "P214": "VIAF ID",
    "P6264": "Harvard Index of Botanists ID",
    "P6944": "Bionomia ID",
    "P4081": "BHL creator ID",
    "P213": "ISNI",
}
#: basisOfRecord values (folded: no case, no '_') for which rule (b) is off.
OBSERVATIONS = frozenset({"humanobservation", "machineobservation", "observation"})
#: How far around a floruit a collector may plausibly have been active, in years.
FLORUIT_SLACK = 40

_PARTICLES = frozenset(
    "de da das do dos del della di du des la le van von der den ter ten zu y i e".split()
)
NICKNAMES = {
    "bill": "william", "will": "william", "bob": "robert", "rob": "robert", "jim": "james",
    "jimmy": "james", "jack": "john", "tom": "thomas", "dick": "richard", "harry": "henry",
    "ted": "edward", "ed": "edward", "chuck": "charles", "charlie": "charles", "joe": "joseph",
    "mike": "michael", "dave": "david", "dan": "daniel", "sam": "samuel", "steve": "stephen",
    "liz": "elizabeth", "beth": "elizabeth", "kate": "katherine", "peg": "margaret",
    "sue": "susan", "pat": "patricia", "nick": "nicholas", "fred": "frederick", "al": "albert",
}  # fmt: skip


@lru_cache(maxsize=4096)
def _letter(c: str) -> str:
    """One non-ASCII character in Latin letters (anyascii): 'Ø' -> 'O', 'Æ' -> 'AE',
    'Ł' -> 'L', 'л' -> 'l'; the apostrophes it writes for Cyrillic soft and hard signs go,
    so that 'Ольга' folds as 'olga'."""
    return anyascii(unicodedata.normalize("NFC", c)).replace("'", "").replace('"', "")


def fold(text: str) -> str:
    """The comparison and search key of a name: every letter kept, in Latin letters, lower
    case, punctuation folded: 'Klitgård' -> 'klitgard', 'Øgle' -> 'ogle', 'Ольга Панина' ->
    'olga panina'. The name itself stays as written in the graph."""
    if not text.isascii():
        text = "".join(c if c.isascii() else _letter(c) for c in unicodedata.normalize("NFC", text))
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def compact(text: str) -> str:
    """An abbreviation's comparison key: 'B.B. Klitg.' -> 'bbklitg'."""
    return fold(text).replace(" ", "")


@dataclass(frozen=True)
class ParsedName:
    """A personal name in parts: given tokens (names or initials) and the family name."""

    given: tuple[str, ...]
    family: str

    @property
    def initials(self) -> str:
        return "".join(g[0] for g in self.given if g)


def parse_name(name: str) -> ParsedName:
    """Split a name into given tokens and family name (as :func:`names.read_name` reads it);
    'Klitgaard, B.B.' -> (b, b) klitgaard, 'Castagne E.' -> (e,) castagne. An unknown agent
    ('Anon.', 's.coll.') and an organisation ('Botanical Survey of India', 'SEINet Team') have
    no family name, so no person is ever matched to them."""
    name = name.strip()
    if not name or is_unknown_agent(name) or is_organisation_agent(name):
        return ParsedName((), "")
    parts = read_name(name)
    family, given = parts.family, parts.given
    tokens = re.findall(r"[^\W\d_]+\.?", given.replace("-", " "))
    shouting = name.isupper()  # "JOHN SMITH": only one- or two-letter runs are initials
    parsed: list[str] = []
    for tok in tokens:
        bare = fold(tok)
        # a particle is a lower-case word ("de"); "E.", "Y.", "I." are initials
        if not bare or (bare in _PARTICLES and tok.islower() and not tok.endswith(".")):
            continue
        word = tok.rstrip(".")
        if word.isupper() and len(word) <= (2 if shouting else 3):  # "BB", "WJK.", "B."
            parsed.extend(bare)
        elif tok.endswith(".") and len(bare) <= 2:  # "Ch.": an abbreviated given name
            parsed.append(bare[0])
        else:
            parsed.append(bare)
    return ParsedName(tuple(parsed), fold(family))


def name_variants(
    label: str, *, aliases: Sequence[str] = (), abbreviations: Sequence[str] = ()
) -> set[str]:
    """The forms a person's name takes on labels: full name, initials in every common order,
    surname-initial forms, aliases and abbreviations (used to build search terms and indexes)."""
    out: set[str] = set()
    for name in [label, *aliases]:
        p = parse_name(name)
        if not p.family:
            continue
        fam = p.family
        out.add(fold(name))
        if p.given:
            inits = " ".join(p.initials)
            first = p.given[0]
            out.update(
                {
                    f"{' '.join(p.given)} {fam}",
                    f"{fam} {' '.join(p.given)}",
                    f"{inits} {fam}",
                    f"{fam} {inits}",
                    f"{first[0]} {fam}",
                    f"{fam} {first[0]}",
                    f"{first} {fam}",
                }
            )
        out.add(fam)
    out.update(fold(a) for a in abbreviations if a)
    return {v for v in out if v}


#: Identifier IRIs (as ``mapping.agentids`` writes them) and the Wikidata property holding each.
_IDENTIFIER_IRIS = [
    (re.compile(r"^https://orcid\.org/(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$"), "P496"),
    (re.compile(r"^https://www\.ipni\.org/a/(\d+-\d)$"), "P586"),
    # as herbaria publish them: http://www.ipni.org/ipni/idAuthorSearch.do?id=36543-1
    (re.compile(r"^https?://(?:www\.)?ipni\.org/ipni/idAuthorSearch\.do\?id=(\d+-\d)$"), "P586"),
    (re.compile(r"^https://isni\.org/isni/(\d{15}[\dX])$"), "P213"),
    (re.compile(r"^http://viaf\.org/viaf/(\d+)$"), "P214"),
    (re.compile(r"^https://www\.biodiversitylibrary\.org/creator/(\d+)$"), "P4081"),
    (
        re.compile(r"^https?://kiki\.huh\.harvard\.edu/databases/botanist_\w+\.php\?.*\bid=(\d+)"),
        "P6264",
    ),
    (re.compile(r"^https?://(?:www\.)?bionomia\.net/(Q[1-9]\d*)$"), "item"),
    (re.compile(r"^https?://(?:www\.)?bionomia\.net/(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$"), "P496"),
    (re.compile(r"^http://www\.wikidata\.org/entity/(Q[1-9]\d*)$"), "item"),
]


def identifier_property(iri: str) -> tuple[str, str] | None:
    """(Wikidata property, value) for an identifier IRI a publisher gave: ORCID P496, IPNI P586
    (also IPNI's old ``idAuthorSearch.do?id=`` pages), VIAF P214, ISNI P213, BHL creator P4081,
    Harvard botanist P6264 (its numeric id; its UUID PURLs have no Wikidata property); ("item",
    QID) for a Wikidata item (or a Bionomia page named by one); None for anything else."""
    for pattern, prop in _IDENTIFIER_IRIS:
        m = pattern.match(iri.strip())
        if m:
            return prop, m.group(1)
    return None


# -- the two sides ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzyDate:
    """A date with a Wikidata precision: 9 year, 8 decade, 7 century, 10 month, 11 day."""

    year: int
    precision: int = 9

    def bounds(self) -> tuple[int, int]:
        """The years this date may mean, widened to its precision."""
        if self.precision >= 9:
            return self.year, self.year
        span = {8: 10, 7: 100, 6: 1000}.get(self.precision, 10)
        start = self.year - self.year % span if self.precision == 8 else self.year - span + 1
        if self.precision == 8:
            return start, start + span - 1
        # Wikidata writes the 19th century as 1801-1900 with year 1900 (or 1801..1900)
        start = (self.year - 1) // span * span + 1
        return start, start + span - 1


@dataclass
class Candidate:
    """A person an agent may be: what a Wikidata item or an ORCID record says about them."""

    iri: str
    source: str  # "wikidata" | "orcid"
    label: str
    aliases: list[str] = field(default_factory=list)
    abbreviations: list[str] = field(default_factory=list)
    description: str = ""
    birth: FuzzyDate | None = None
    death: FuzzyDate | None = None
    floruit: list[FuzzyDate] = field(default_factory=list)
    #: places worked or collected in (P937, ORCID addresses), ISO 3166-1 alpha-2; never P27
    countries: set[str] = field(default_factory=set)
    #: countries of citizenship (P27): kept to show, never compared with where records were made
    citizenship: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)  # kingdoms worked on: plants, fungi, animals...
    institutions: set[str] = field(default_factory=set)
    #: identifier property -> values: {"P586": {"36375-1"}, "P496": {"0000-..."}}
    identifiers: dict[str, set[str]] = field(default_factory=dict)
    #: people already linked as this candidate's co-collectors elsewhere in the graph
    cocollectors: set[str] = field(default_factory=set)
    is_human: bool = True

    @property
    def names(self) -> list[str]:
        return [self.label, *self.aliases]


@dataclass
class AgentEvidence:
    """What the records say about one name-string agent."""

    iri: str
    name: str
    written: set[str] = field(default_factory=set)
    earliest: date | None = None
    latest: date | None = None
    countries: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    institutions: set[str] = field(default_factory=set)
    datasets: set[str] = field(default_factory=set)
    #: targets already accepted for this agent's co-collectors
    linked_cocollectors: set[str] = field(default_factory=set)
    specimens: int = 0
    #: identifiers the publisher asserted for this name string: property -> values
    identifiers: dict[str, set[str]] = field(default_factory=dict)
    #: basisOfRecord values of its records, folded ('preservedspecimen', 'humanobservation')
    bases: set[str] = field(default_factory=set)

    @property
    def observed(self) -> bool:
        """Some of its records are observations (iNaturalist and the like), not specimens."""
        return bool(self.bases & OBSERVATIONS)


@dataclass(frozen=True)
class Feature:
    name: str
    value: float
    note: str


@dataclass
class Scored:
    """One candidate for one agent: its features, score and the matcher's decision."""

    candidate: Candidate
    features: list[Feature]
    score: float
    veto: str = ""
    status: str = "proposed"  # proposed | accepted | rejected
    rule: str = ""
    #: who decided an acceptance: "matcher", or "publisher" when it rests on their identifier
    by: str = "matcher"

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


# -- features -----------------------------------------------------------------------------------


def _family_variants(c: Candidate) -> set[str]:
    out = set()
    for name in c.names:
        p = parse_name(name)
        if p.family:
            out.add(p.family)
            words = p.family.split()
            if len(words) > 1:  # "Blanché i Vergés" is also written "Blanché"
                out.add(words[0])
        if "," not in name:
            words = fold(name).split()
            for k in range(1, min(3, len(words))):
                out.add(" ".join(words[-k:]))
    return out


def family_feature(agent: ParsedName, c: Candidate) -> Feature:
    if not agent.family:
        return Feature("family", 0.0, "no family name to compare")
    best, with_ = 0.0, ""
    for fam in _family_variants(c):
        if fam == agent.family or _bare(fam).replace(" ", "") == _bare(agent.family).replace(
            " ", ""
        ):
            return Feature("family", 1.0, f"family name {agent.family!r} agrees")
        ratio = SequenceMatcher(None, agent.family, fam).ratio()
        if ratio > best:
            best, with_ = ratio, fam
    value = round((best - 0.75) / 0.25, 3) if best >= 0.8 else 0.0
    return Feature("family", value, f"family name {agent.family!r} vs {with_!r} ({best:.2f})")


def _fits(token: str, given: str) -> int:
    """2: same name; 1: an initial (or prefix) that fits; 0: cannot be the same name."""
    if len(token) == 1 or len(given) == 1:
        return 1 if token[0] == given[0] else 0
    if token == given:
        return 2
    if NICKNAMES.get(token) == given or NICKNAMES.get(given) == token:
        return 2
    return 0


def given_feature(agent: ParsedName, c: Candidate) -> tuple[Feature, str]:
    """Given names must fit in order: J. fits John, John fits J.; Jim does not fit Jay."""
    if not agent.given:
        return Feature("given", 0.4, "no given name on the record"), ""
    options = [parse_name(n).given for n in c.names]
    options = [o for o in options if o] or [()]
    best: tuple[float, str] = (-1.0, "")
    for cand in options:
        if not cand:
            if best[0] < 0.4:
                best = (0.4, "the candidate has no given name to compare")
            continue
        k, full, placed = 0, 0, 0
        for tok in agent.given:
            while k < len(cand) and not _fits(tok, cand[k]):
                k += 1
            if k == len(cand):
                break
            fit = _fits(tok, cand[k])
            full += fit == 2
            placed += 1
            k += 1
        if placed < len(agent.given):
            continue
        if agent.given[0][0] != cand[0][0] and placed:  # a skipped first given name
            value = 0.6
        elif full:
            value = 1.0
        else:
            value = 0.7 + 0.1 * min(placed, 2) if placed > 1 else 0.7
        if value > best[0]:
            best = (value, f"{' '.join(agent.given)} fits {' '.join(cand)}")
    if best[0] < 0:
        shown = " ".join(options[0])
        note = f"given names {' '.join(agent.given)!r} cannot be {shown!r}"
        return Feature("given", 0.0, note), note
    return Feature("given", round(best[0], 3), best[1]), ""


def alias_feature(agent: AgentEvidence, c: Candidate) -> Feature:
    written = {compact(w) for w in agent.written | {agent.name}}
    for abbr in c.abbreviations:
        if compact(abbr) in written:
            return Feature("alias", 1.0, f"written as the botanist abbreviation {abbr!r}")
    keys = {normalise(w) for w in agent.written | {agent.name}}
    for alias in c.names:
        if normalise(alias) in keys or compact(alias) in written:
            return Feature("alias", 1.0, f"written as the name form {alias!r}")
    return Feature("alias", 0.0, "no abbreviation or alias written as such")


def life(c: Candidate) -> tuple[int, int, bool] | None:
    """The years ``c`` may have worked in, widened to each date's precision: from birth plus
    WORKING_AGE to death; with one end unknown, LAST_WORKING_AGE stands in for it. The flag says
    whether both ends are known (then the life is evidence on its own)."""
    if not c.birth and not c.death:
        return None
    if c.birth:
        start = c.birth.bounds()[0] + WORKING_AGE
        end = c.death.bounds()[1] if c.death else c.birth.bounds()[1] + LAST_WORKING_AGE
    else:
        end = c.death.bounds()[1]  # type: ignore[union-attr]
        start = c.death.bounds()[0] - LAST_WORKING_AGE + WORKING_AGE  # type: ignore[union-attr]
    return start, end, bool(c.birth and c.death)


def dates_feature(
    agent: AgentEvidence, c: Candidate, tolerance: int = DATE_TOLERANCE
) -> tuple[Feature, str]:
    """1 inside the working life (0.6 only within ``tolerance`` years of it); a veto beyond."""
    if agent.earliest is None or agent.latest is None:
        return Feature("dates", 0.5, "no dates on the records"), ""
    first, last = agent.earliest.year, agent.latest.year
    span = life(c)
    if span is not None:
        start, end, known = span
        shown = f"{c.birth.year if c.birth else '?'}-{c.death.year if c.death else ''}"
        assumed = "" if known else f", working life assumed {WORKING_AGE}-{LAST_WORKING_AGE}"
        if last < start - tolerance:
            note = (
                f"records {first}-{last} before {start}, the age of {WORKING_AGE} "
                f"(life {shown}{assumed}; tolerance {tolerance} years)"
            )
            return Feature("dates", 0.0, note), note
        if first > end + tolerance:
            why = "after death" if c.death else "after a plausible working life"
            note = f"records {first}-{last} {why} ({shown}{assumed}; tolerance {tolerance} years)"
            return Feature("dates", 0.0, note), note
        if last < start or first > end:
            note = f"records {first}-{last} within {tolerance} years of the life {shown}{assumed}"
            return Feature("dates", 0.6, note), ""
        return Feature("dates", 1.0, f"records {first}-{last} within the life {shown}{assumed}"), ""
    if c.floruit:
        lo = min(f.bounds()[0] for f in c.floruit) - FLORUIT_SLACK
        hi = max(f.bounds()[1] for f in c.floruit) + FLORUIT_SLACK
        if last < lo or first > hi:
            return Feature(
                "dates", 0.2, f"records {first}-{last} far from floruit {lo + FLORUIT_SLACK}"
            ), ""
        return Feature("dates", 0.8, f"records {first}-{last} near the floruit"), ""
    return Feature("dates", 0.5, "no life dates for the candidate"), ""


def identifier_feature(agent: AgentEvidence, c: Candidate) -> tuple[Feature, str]:
    """The publisher's identifiers for this name string against the candidate's: a shared one
    confirms (1), a different one of the same kind vetoes (0), else 0.5."""
    shared, differ = [], []
    for prop, what in IDENTIFIER_PROPERTIES.items():
        ours, theirs = agent.identifiers.get(prop, set()), c.identifiers.get(prop, set())
        if not ours or not theirs:
            continue
        if ours & theirs:
            shared.append(f"{what} {sorted(ours & theirs)[0]}")
        else:
            differ.append(
                f"the publisher asserted {what} {', '.join(sorted(ours))} for this name; "
                f"this person has {', '.join(sorted(theirs))}"
            )
    if differ:
        note = "; ".join(differ)
        return Feature("identifier", 0.0, note), note
    if shared:
        return Feature("identifier", 1.0, "shares the publisher's " + ", ".join(shared)), ""
    return Feature("identifier", 0.5, "no identifier of the publisher's to compare"), ""


def _overlap(name: str, ours: set[str], theirs: set[str], what: str) -> Feature:
    if not ours or not theirs:
        return Feature(name, 0.5, f"no {what} to compare")
    common = ours & theirs
    if common:
        return Feature(name, 1.0, f"{what} in common: {', '.join(sorted(common)[:5])}")
    return Feature(name, 0.2, f"no {what} in common")


def _bare(family: str) -> str:
    return " ".join(w for w in family.split() if w not in _PARTICLES)


def reading_for(name: str, c: Candidate) -> ParsedName:
    """How to read ``name`` against candidate ``c``: as :func:`parse_name` reads it, unless the
    whole name is one of the candidate's family names written without its particles ('Font
    Quer' for 'Font i Quer'): then it is a family name with no given name."""
    parsed = parse_name(name)
    if parsed.given and "," not in name and "." not in name:
        whole = _bare(fold(name))
        if whole in _compound_families(c):
            return ParsedName((), fold(name))
    return parsed


def _compound_families(c: Candidate) -> set[str]:
    """The candidate's family names of several words, without particles ('font quer')."""
    out = {_bare(parse_name(n).family) for n in c.names}
    return {f for f in out if " " in f}


def features(
    agent: AgentEvidence, c: Candidate, *, tolerance: int = DATE_TOLERANCE
) -> tuple[list[Feature], str]:
    """Every feature of one comparison, and the veto reason if any."""
    parsed = reading_for(agent.name, c)
    given, given_veto = given_feature(parsed, c)
    if not parsed.given and len(_bare(parsed.family).split()) > 1 and "," not in agent.name:
        # "Font Quer": a compound family name written whole is as telling as a given name
        whole = _bare(parsed.family)
        if whole in _compound_families(c):
            given = Feature("given", 1.0, f"the whole compound family name {whole!r} agrees")
    dates, dates_veto = dates_feature(agent, c, tolerance)
    ident, ident_veto = identifier_feature(agent, c)
    cocollectors = (
        Feature("cocollectors", 1.0, "co-collectors linked to people it worked with")
        if agent.linked_cocollectors & c.cocollectors
        else Feature("cocollectors", 0.5, "no linked co-collector in common")
    )
    feats = [
        family_feature(parsed, c),
        given,
        alias_feature(agent, c),
        dates,
        _overlap("countries", agent.countries, c.countries, "places collected or worked in"),
        _overlap("taxa", agent.fields, c.fields, "kingdoms"),
        cocollectors,
        _overlap(
            "institution", agent.institutions | agent.datasets, c.institutions, "institutions"
        ),
        ident,
    ]
    veto = ident_veto or given_veto or dates_veto
    return feats, veto


def score(feats: list[Feature]) -> float:
    """The documented weighted sum, capped by vetoes."""
    total = sum(WEIGHTS[f.name] * f.value for f in feats)
    by = {f.name: f.value for f in feats}
    if by.get("given", 1.0) == 0.0:
        total = min(total, GIVEN_VETO_CAP)
    if by.get("dates", 1.0) == 0.0:
        total = min(total, DATES_VETO_CAP)
    if by.get("identifier", 1.0) == 0.0:
        total = min(total, IDENTIFIER_VETO_CAP)
    return round(min(max(total, 0.0), 1.0), 3)


def rank(
    agent: AgentEvidence, candidates: list[Candidate], *, tolerance: int = DATE_TOLERANCE
) -> list[Scored]:
    """Score every candidate and decide, best first. An agent string that names no one
    ('Anon.', 's.coll.') or names an organisation ('Zoological Survey of India') has no
    candidates: it is never proposed or matched to a person."""
    if is_unknown_agent(agent.name) or is_organisation_agent(agent.name):
        return []
    out = []
    for c in candidates:
        feats, veto = features(agent, c, tolerance=tolerance)
        out.append(Scored(c, feats, score(feats), veto))
    out.sort(key=lambda s: (-s.score, s.candidate.iri))
    decide(out, observed=agent.observed)
    return out


#: Features that agree independently of the name (for rule (b)), and the value that counts.
INDEPENDENT = ("countries", "taxa", "cocollectors", "institution", "identifier")


def agreements(s: Scored) -> list[str]:
    """What agrees beyond the name: a life known at both ends that holds the records, a place,
    the kingdom, a co-collector, an institution, a publisher's identifier."""
    by = {f.name: f.value for f in s.features}
    out = [n for n in INDEPENDENT if by.get(n) == 1.0]
    span = life(s.candidate)
    if by.get("dates") == 1.0 and span is not None and span[2]:
        out.insert(0, "dates")
    return out


def decide(ranked: list[Scored], *, observed: bool = False) -> None:
    """The matcher's decision for each candidate of one agent (best first).

    Rejected: a veto (given names, dates beyond the tolerance, an identifier that differs from
    the publisher's), or a score under PROPOSE_AT. Accepted on the publisher's word: the
    candidate shares an identifier the publisher asserted and the family name agrees. Accepted
    without a human (the high-confidence rule): the top candidate, a human, with the family name
    agreeing exactly, no kingdom against it, and either (a) a score of at least ACCEPT_AT, a full
    given name (not only initials) or the botanist abbreviation agreeing, dates known and
    consistent with the life or floruit, and no other candidate within ACCEPT_MARGIN; or (b) a
    score of at least ACCEPT_ALONE_AT, a full given name agreeing, the records' dates inside a
    known life, no other candidate worth proposing, at least one agreement beyond the name
    (:func:`agreements`), and no observation among the records. Otherwise proposed.
    """
    for k, s in enumerate(ranked):
        by = {f.name: f.value for f in s.features}
        if s.veto or s.score < PROPOSE_AT:
            s.status, s.rule = "rejected", s.veto or f"score under {PROPOSE_AT}"
            continue
        if by.get("identifier") == 1.0 and by["family"] == 1.0 and s.candidate.is_human:
            s.status, s.by = "accepted", "publisher"
            s.rule = "the publisher's identifier: " + s.feature("identifier").note
            continue
        runner_up = next((r.score for r in ranked[k + 1 :]), 0.0) if k == 0 else 1.0
        strong = (
            k == 0
            and s.candidate.is_human
            and by["family"] == 1.0
            and by.get("taxa", 0.5) != 0.2  # records in kingdoms this person never worked on
        )
        if (
            strong
            and s.score >= ACCEPT_AT
            and (by["given"] == 1.0 or by["alias"] == 1.0)
            and by["dates"] >= 0.8
            and s.score - runner_up >= ACCEPT_MARGIN
        ):
            s.status, s.rule = "accepted", "high-confidence rule"
        elif (
            strong
            and not observed
            and s.score >= ACCEPT_ALONE_AT
            and by["given"] == 1.0
            and by["dates"] == 1.0
            and runner_up < PROPOSE_AT
            and agreements(s)
        ):
            s.status = "accepted"
            s.rule = (
                "high-confidence rule (the only plausible person; agrees on "
                + ", ".join(agreements(s))
                + ")"
            )
        else:
            s.status, s.rule = "proposed", ""


def search_terms(name: str) -> list[str]:
    """What to ask a search service for a name string: the family name, then given + family."""
    p = parse_name(name)
    terms = []
    shown = display_form(name)
    if p.family:
        terms.append(p.family)
    if p.given and p.family and len(p.given[0]) > 1:
        terms.append(f"{p.given[0]} {p.family}")
    if shown and fold(shown) not in {fold(t) for t in terms} and len(fold(shown)) > 2:
        terms.append(shown)
    return terms
