"""Date inferences and flags drawn from people's lives, labels, notebooks and number series.

:func:`infer` reads the graph (every graph but its own and the derived facets graph), derives

- **date bounds** for specimens without a usable collecting date (no ``col:earliestDate`` on
  their collecting event), one ``col:DateInference`` node per rule and piece of evidence:

  * ``col:labelWriterLifetime``: a label in a known person's hand: from the writer's birth plus
    the working age (else the start of their active period) to their death (else the end of
    their active period); the inference carries the attribution's confidence;
  * ``col:notebookPageDate``: a dated page that mentions the specimen: the page's bounds when
    the page belongs to a field notebook (a ``dcterms:type`` containing "notebook"), else (a
    letter, a register) only its latest bound;
  * ``col:collectingNumberSeries``: the specimen's collecting number lies between two dated
    numbers of the same collector and the same prefix, the series is strong evidence: at least
    :data:`SERIES_MIN_DATED` dated numbers, dates never decreasing as numbers increase, and both
    neighbours within :data:`SERIES_MAX_GAP` numbers;

- **label writing windows**: for every label in the hand of a person with a known life or active
  period, a ``col:DateInference`` for the label itself, with the bounds of the first rule above;

- **flags** (``col:RecordFlag``, an ``oa:Annotation`` motivated by ``oa:assessing``): a specimen
  collected, or identified, certainly before its agent's birth, before the working age, or after
  their death, with dates widened to their precision (a death known to the year ends on
  31 December).

An agent reaches the people of its identity (:mod:`collectomics.analysis.identity`: the person, the
name strings linked to it by accepted matches, the identifiers it carries; an agent whose links
reach two people reaches neither), and a collecting number series is one identity's. Everything is written to one named graph, ``{base}graph/inferences``,
which a re-run replaces as a whole; no other graph is touched. The run itself is recorded there
(``{base}inference/run``, a ``prov:Activity`` that ``prov:used`` each graph version it read), so
that :func:`check_flags` can refuse to export flags for a dataset no run has seen as loaded now.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO

from collectomics.analysis import identity
from collectomics.analysis.readers import PROLOGUE, table
from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.model import IRI, XSD, Literal, Term, nquad
from collectomics.store import Store
from collectomics.vocab import COL, DCTERMS, OA, PROV, RDF, RDFS

#: fewest dated specimens a collecting number series needs to count as strong evidence
SERIES_MIN_DATED = 3
#: farthest (in collecting numbers) a dated neighbour may be from the undated specimen
SERIES_MAX_GAP = 50
INFERENCES_GRAPH = "inferences"

_NUMBER = re.compile(r"^(.*?)(\d+)\s*$")


def inferences_graph(minter: Minter) -> IRI:
    """The named graph that holds every inference and flag."""
    return minter.graph(INFERENCES_GRAPH)


@dataclass
class InferenceReport:
    """What one run produced."""

    graph: str
    undated: int = 0
    inferences: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    triples: int = 0
    ran_at: str = ""

    def summary(self) -> str:
        lines = [
            f"{self.undated} specimens without a usable collecting date; "
            f"{sum(self.inferences.values())} date inferences, {sum(self.flags.values())} flags, "
            f"{self.triples} triples in <{self.graph}>"
        ]
        lines += [f"  inference {k}: {v}" for k, v in sorted(self.inferences.items())]
        lines += [f"  flag {k}: {v}" for k, v in sorted(self.flags.items())]
        return "\n".join(lines)


# ------------------------------------------------------------------ dates


def _bounds(value: str) -> tuple[date, date] | None:
    """Earliest and latest day of an ISO date of any precision (``1890`` -> 1 Jan..31 Dec)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value.strip()[:10])
    if not m:
        return None
    year = int(m.group(1))
    try:
        if m.group(3):
            d = date(year, int(m.group(2)), int(m.group(3)))
            return d, d
        if m.group(2):
            month = int(m.group(2))
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


@dataclass
class Life:
    """What the graph says about a person's life, as (earliest, latest) day pairs."""

    name: str = ""
    birth: tuple[date, date] | None = None
    death: tuple[date, date] | None = None
    floruit_start: tuple[date, date] | None = None
    floruit_end: tuple[date, date] | None = None
    raw: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ reading the graph


class _Graph:
    """The facts inference needs, read from the datasets and the links
    (:meth:`Minter.is_source`).

    Every query is one hop, or a star on one subject, and Python joins the answers: a nested
    OPTIONAL over specimen, event and dates did not finish in minutes at 100,000 specimens,
    where these flat queries take seconds (docs/performance.md)."""

    def __init__(self, store: Store, minter: Minter) -> None:
        self.store = store
        self.graphs = [g for g in store.graphs() if minter.is_source(g)]
        self._dates: dict[str, dict[str, str]] = {}

    def table(self, sparql: str) -> Iterator[list[str]]:
        """Rows as plain strings ('' when unbound), in projection order."""
        if not self.graphs:
            return iter(())
        return table(self.store, sparql, graphs=self.graphs)

    def pairs(self, predicate: str) -> Iterator[list[str]]:
        """Subject and object of every triple with ``predicate`` (a prefixed name)."""
        return self.table(f"SELECT ?s ?o WHERE {{ ?s {predicate} ?o }}")

    def dates(self, which: str) -> dict[str, str]:
        """node -> its ``col:earliestDate`` or ``col:latestDate`` (``which``), read once; of
        several values, the earliest earliest and the latest latest."""
        if which not in self._dates:
            found: dict[str, str] = {}
            pick = min if which == "earliestDate" else max
            for node, value in self.pairs(f"col:{which}"):
                found[node] = pick(found[node], value) if node in found else value
            self._dates[which] = found
        return self._dates[which]

    def window(self, node: str) -> tuple[date, date] | None:
        """A node's (earliest, latest) day from its date bounds, when both are readable."""
        early = _bounds(self.dates("earliestDate").get(node, ""))
        late = _bounds(self.dates("latestDate").get(node, ""))
        return (early[0], late[1]) if early and late else None

    def roles(self, role: str) -> dict[str, set[str]]:
        """holder (an event or an identification) -> the agents of its ``role`` nodes."""
        nodes = {r for (r,) in self.table(f"SELECT ?r WHERE {{ ?r prov:hadRole role:{role} }}")}
        agents: dict[str, set[str]] = defaultdict(set)
        if nodes:
            for node, agent in self.pairs("prov:agent"):  # two flat reads beat a star join
                if node in nodes:
                    agents[node].add(agent)
        found: dict[str, set[str]] = defaultdict(set)
        if agents:
            for holder, node in self.pairs("prov:qualifiedAssociation"):
                if node in agents:
                    found[holder] |= agents[node]
        return found


def _lives(g: _Graph) -> dict[str, Life]:
    lives: dict[str, Life] = {}
    props = {
        "birthDate": "birth",
        "deathDate": "death",
        "floruitStart": "floruit_start",
        "floruitEnd": "floruit_end",
    }
    for person, prop, value in g.table(
        "SELECT ?p ?prop ?v WHERE { VALUES ?prop { schema:birthDate schema:deathDate "
        "col:floruitStart col:floruitEnd } ?p ?prop ?v }"
    ):
        life = lives.setdefault(person, Life())
        attr = props[prop.rsplit("/", 1)[-1].rsplit("#", 1)[-1]]
        bounds = _bounds(value)
        if bounds and getattr(life, attr) is None:
            setattr(life, attr, bounds)
            life.raw[attr] = value
    if lives:
        for person, name in g.pairs("foaf:name"):
            named = lives.get(person)
            if named and (not named.name or name < named.name):
                named.name = name
    return lives


class _Reach:
    """agent -> the people with known lives its identity holds (:mod:`collectomics.analysis.identity`)."""

    def __init__(self, ident: identity.Identity, lives: dict[str, Life]) -> None:
        self.ident = ident
        self.lives = lives

    def people(self, agent: str) -> set[str]:
        return {m for m in self.ident.members(agent) if m in self.lives}

    def key(self, agent: str) -> str:
        """The identity ``agent`` counts as (a collecting number series is one identity's)."""
        return self.ident.resolve(agent)


# ------------------------------------------------------------------ output


class _Out:
    """N-Triples lines for the inferences graph, with node minting and counts."""

    def __init__(self, minter: Minter, report: InferenceReport) -> None:
        self.minter = minter
        self.report = report
        self.lines: list[str] = []

    def add(self, s: IRI, p: IRI, o: Term | None) -> None:
        if o is not None:
            self.lines.append(nquad((s, p, o, None)))

    def node(self, kind: str, rule: IRI, *parts: str) -> IRI:
        key = hashlib.sha1("|".join([rule, *parts]).encode()).hexdigest()[:16]
        return self.minter.mint(kind, rule.rsplit("#", 1)[-1], key)


def _day(d: date) -> Literal:
    return Literal(d.isoformat(), XSD + "date")


@dataclass(slots=True)
class _Specimen:
    iri: str
    event: str = ""
    bounds: tuple[date, date] | None = None
    record_number: str = ""
    collectors: set[str] = field(default_factory=set)


def _specimens(g: _Graph) -> dict[str, _Specimen]:
    specimens = {s: _Specimen(s) for (s,) in g.table("SELECT ?s WHERE { ?s a dwc:MaterialEntity }")}
    for s, event in g.pairs("col:collectingEvent"):
        sp = specimens.get(s)
        if sp is not None and (not sp.event or event < sp.event):
            sp.event = event
    for s, number in g.pairs("dwc:recordNumber"):
        sp = specimens.get(s)
        if sp is not None and (not sp.record_number or number < sp.record_number):
            sp.record_number = number
    collectors = g.roles("collector")
    for sp in specimens.values():
        if sp.event:
            sp.bounds = g.window(sp.event)
            sp.collectors |= collectors.get(sp.event, set())
    for s, agent in g.pairs("dwciri:recordedBy"):
        if s in specimens:
            specimens[s].collectors.add(agent)
    return specimens


def _inference(
    out: _Out,
    sp: _Specimen | None,
    rule: IRI,
    early: date | None,
    late: date | None,
    evidence: Iterable[str],
    comment: str,
    confidence: str = "",
    label: str = "",
) -> None:
    """One col:DateInference: for a specimen's collecting, or (``label``) for a label's writing."""
    evidence = sorted(set(evidence))
    if early is None and late is None or early and late and early > late:
        return
    target = label or (sp.event or sp.iri if sp else "")
    node = out.node("inference", rule, target, *evidence)
    out.add(node, RDF.type, COL.DateInference)
    out.add(node, COL.inferredFor, IRI(target))
    if sp and not label:
        out.add(node, DCTERMS.subject, IRI(sp.iri))
    out.add(node, COL.method, rule)
    out.add(node, COL.earliestDate, _day(early) if early else None)
    out.add(node, COL.latestDate, _day(late) if late else None)
    for e in evidence:
        out.add(node, COL.evidence, IRI(e))
    if confidence:
        out.add(node, COL.confidence, Literal(confidence, XSD + "decimal"))
    out.add(node, RDFS.comment, Literal(comment))
    out.add(node, PROV.wasAttributedTo, IRI("https://w3id.org/collectomics/software"))
    name = rule.rsplit("#", 1)[-1] + (" (label writing)" if label else "")
    out.report.inferences[name] = out.report.inferences.get(name, 0) + 1


def _label_writers(
    g: _Graph, out: _Out, undated: dict[str, _Specimen], reach: _Reach, working_age: int
) -> None:
    hands: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for hand, agent, conf in g.table(
        "SELECT ?hand ?agent ?conf WHERE { ?hand a col:HandwritingAttribution ; prov:agent ?agent "
        "OPTIONAL { ?hand col:confidence ?conf } }"
    ):
        if reach.people(agent):
            hands[hand].append((agent, conf))
    if not hands:
        return
    labels: dict[str, list[str]] = defaultdict(list)
    for label, hand in g.pairs("prov:qualifiedAttribution"):
        if hand in hands:
            labels[label].append(hand)
    rows = sorted(
        (s, label, hand, agent, conf)
        for s, label in g.pairs("col:hasLabel")
        for hand in labels.get(label, ())
        for agent, conf in hands[hand]
    )
    for s, label, hand, agent, conf in rows:
        row = {"label": label, "hand": hand, "conf": conf}
        sp = undated.get(s)
        for person in sorted(reach.people(agent)):
            life = reach.lives[person]
            early = _plus_years(life.birth[0], working_age) if life.birth else None
            early = early or (life.floruit_start[0] if life.floruit_start else None)
            late = life.death[1] if life.death else None
            late = late or (life.floruit_end[1] if life.floruit_end else None)
            span = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(life.raw.items()))
            who = f"{life.name or person} ({span})"
            evidence = [row["hand"], person]
            _inference(
                out,
                None,
                COL.labelWriterLifetime,
                early,
                late,
                evidence,
                f"The label is in the hand of {who}, written in the writer's lifetime, from a "
                f"working age of {working_age} years.",
                row["conf"],
                label=row["label"],
            )
            if sp is None:
                continue
            _inference(
                out,
                sp,
                COL.labelWriterLifetime,
                early,
                late,
                evidence,
                f"Its label is in the hand of {who}; an original label is written in its "
                f"writer's lifetime, from a working age of {working_age} years.",
                row["conf"],
            )


def _notebook_pages(g: _Graph, out: _Out, undated: dict[str, _Specimen]) -> None:
    mentions = sorted(
        (s, page) for page, s in g.pairs("dcterms:references") if s in undated and g.window(page)
    )
    if not mentions:
        return
    parents: dict[str, set[str]] = defaultdict(set)
    for part, whole in g.pairs("rico:isOrWasPartOf"):
        parents[part].add(whole)
    types: dict[str, set[str]] = defaultdict(set)
    for node, kind in g.pairs("dcterms:type"):
        types[node].add(kind.lower())

    def in_notebook(page: str) -> bool:
        """The page, or anything it is part of (transitively), has a type naming a notebook."""
        seen, todo = set(), [page]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if any("notebook" in kind for kind in types.get(node, ())):
                return True
            todo.extend(parents.get(node, ()))
        return False

    for s, page in mentions:
        sp = undated[s]
        early, late = g.window(page)  # type: ignore[misc]
        notebook = in_notebook(page)
        _inference(
            out,
            sp,
            COL.notebookPageDate,
            early if notebook else None,
            late,
            [page],
            "A dated field notebook page mentions it: collected on the page's date."
            if notebook
            else "A dated document mentions it: collected no later than the document's date.",
        )


def _number_series(out: _Out, specimens: dict[str, _Specimen], reach: _Reach) -> None:
    series: dict[tuple[str, str], list[tuple[int, _Specimen]]] = defaultdict(list)
    for sp in specimens.values():
        m = _NUMBER.match(sp.record_number)
        if not m:
            continue
        for key in {reach.key(agent) for agent in sp.collectors}:
            series[(key, m.group(1).strip())].append((int(m.group(2)), sp))
    for (_, prefix), members in series.items():
        # duplicate sheets share a number: order them by date, then IRI, never by object
        dated = sorted(
            ((n, sp) for n, sp in members if sp.bounds),
            key=lambda m: (m[0], m[1].bounds, m[1].iri),
        )
        if len(dated) < SERIES_MIN_DATED:
            continue
        bounds = [sp.bounds for _, sp in dated]
        if any(a[0] > b[0] or a[1] > b[1] for a, b in zip(bounds, bounds[1:], strict=False)):  # type: ignore[index]
            continue  # the numbers do not follow the dates: weak evidence, no inference
        numbers = [n for n, _ in dated]
        for n, sp in members:
            if sp.bounds:
                continue
            # the nearest dated numbers below and above (a prolific collector has thousands);
            # of duplicate sheets of a neighbour, the earliest below and the latest above
            below, above = bisect_left(numbers, n), bisect_right(numbers, n)
            if below == 0 or above == len(dated):
                continue
            lo, hi = numbers[below - 1], numbers[above]
            if n - lo > SERIES_MAX_GAP or hi - n > SERIES_MAX_GAP:
                continue
            lo_sp = dated[bisect_left(numbers, lo)][1]
            hi_sp = dated[bisect_right(numbers, hi) - 1][1]
            _inference(
                out,
                sp,
                COL.collectingNumberSeries,
                lo_sp.bounds[0],  # type: ignore[index]
                hi_sp.bounds[1],  # type: ignore[index]
                [lo_sp.iri, hi_sp.iri],
                f"Collecting number {prefix}{n} lies between the dated numbers {prefix}{lo} and "
                f"{prefix}{hi} of the same collector, whose {len(dated)} dated numbers follow "
                "their dates.",
            )


# ------------------------------------------------------------------ flags

_FLAG_RULES = {
    ("collected", "birth"): COL.collectedBeforeBirth,
    ("collected", "age"): COL.collectedBeforeWorkingAge,
    ("collected", "death"): COL.collectedAfterDeath,
    ("identified", "birth"): COL.identifiedBeforeBirth,
    ("identified", "age"): COL.identifiedBeforeWorkingAge,
    ("identified", "death"): COL.identifiedAfterDeath,
}


def _flag(
    out: _Out,
    specimen: str,
    activity: str,
    what: str,
    bounds: tuple[date, date],
    person: str,
    life: Life,
    working_age: int,
) -> None:
    early, late = bounds
    who = life.name or person
    role = "collector" if what == "collected" else "determiner"
    if life.death and early > life.death[1]:
        kind = "death"
        text = (
            f"{what.capitalize()} no earlier than {early}, after the death of the {role} {who} "
            f"({life.raw['death']}, so by {life.death[1]} at the latest)."
        )
    elif life.birth and late < life.birth[0]:
        kind = "birth"
        text = (
            f"{what.capitalize()} no later than {late}, before the birth of the {role} {who} "
            f"({life.raw['birth']}, so on {life.birth[0]} at the earliest)."
        )
    elif life.birth and late < _plus_years(life.birth[0], working_age):
        kind = "age"
        text = (
            f"{what.capitalize()} no later than {late}, when the {role} {who} (born "
            f"{life.raw['birth']}) was younger than {working_age}."
        )
    else:
        return
    rule = _FLAG_RULES[(what, kind)]
    node = out.node("flag", rule, specimen, activity, person)
    out.add(node, RDF.type, COL.RecordFlag)
    out.add(node, RDF.type, OA.Annotation)
    out.add(node, OA.motivatedBy, OA.assessing)
    out.add(node, OA.hasTarget, IRI(specimen))
    out.add(node, COL.method, rule)
    out.add(node, COL.evidence, IRI(activity))
    out.add(node, COL.evidence, IRI(person))
    body = IRI(node + "/body")
    out.add(node, OA.hasBody, body)
    out.add(body, RDF.type, OA.TextualBody)
    out.add(body, RDF.value, Literal(text))
    out.add(node, RDFS.comment, Literal(text))
    name = rule.rsplit("#", 1)[-1]
    out.report.flags[name] = out.report.flags.get(name, 0) + 1


def _flags(
    g: _Graph, out: _Out, specimens: dict[str, _Specimen], reach: _Reach, working_age: int
) -> None:
    for sp in sorted(specimens.values(), key=lambda s: s.iri):
        if not sp.bounds:
            continue
        for person in sorted({p for a in sp.collectors for p in reach.people(a)}):
            _flag(out, sp.iri, sp.event, "collected", sp.bounds, person, reach.lives[person],
                  working_age)  # fmt: skip
    if not reach.lives:
        return  # nobody with a known life: no identification can fall outside one
    determiners = g.roles("determiner")
    named: dict[str, set[str]] = defaultdict(set)
    for s, agent in g.pairs("dwciri:identifiedBy"):
        named[s].add(agent)
    idents: dict[tuple[str, str], tuple[tuple[date, date], set[str]]] = {}
    for s, i in g.pairs("dsw:hasIdentification"):
        bounds = g.window(i)
        agents = determiners.get(i, set()) | named.get(s, set())
        if bounds and agents:
            idents.setdefault((s, i), (bounds, set()))[1].update(agents)
    for (s, i), (bounds, agents) in sorted(idents.items()):
        for person in sorted({p for a in agents for p in reach.people(a)}):
            _flag(out, s, i, "identified", bounds, person, reach.lives[person], working_age)


# ------------------------------------------------------------------ entry points


def infer(store: Store, minter: Minter, *, working_age: int = 10) -> InferenceReport:
    """Replace the inferences graph with the date inferences and flags the graph supports."""
    if working_age < 0:
        raise InputError("the working age must be 0 or more years", parameter="working_age")
    graph = inferences_graph(minter)
    report = InferenceReport(graph)
    g = _Graph(store, minter)
    lives = _lives(g)
    fresh_identities = identity.fresh(store, minter)  # then load reads the identity graph
    reach = _Reach(identity.load(store, minter), lives)
    specimens = _specimens(g)
    undated = {s: sp for s, sp in specimens.items() if sp.bounds is None}
    report.undated = len(undated)
    out = _Out(minter, report)
    _label_writers(g, out, undated, reach, working_age)
    _notebook_pages(g, out, undated)
    _number_series(out, specimens, reach)
    _flags(g, out, specimens, reach, working_age)
    report.ran_at = _record_run(
        store,
        minter,
        out,
        g.graphs + ([identity.identity_graph(minter)] if fresh_identities else []),
    )
    report.triples = store.replace_graph(graph, "".join(out.lines).encode("utf-8"), "ntriples")
    return report


# ------------------------------------------------------------------ runs


def _run_node(minter: Minter) -> IRI:
    return minter.mint("inference", "run")


def _record_run(store: Store, minter: Minter, out: _Out, graphs: list[str]) -> str:
    """The run itself, a ``prov:Activity`` that ``prov:used`` the physical version of every
    graph it read, so that :func:`check_flags` can tell which loads it has seen."""
    node = _run_node(minter)
    ended = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.add(node, RDF.type, PROV.Activity)
    out.add(node, RDFS.label, Literal("collectomics infer"))
    out.add(node, PROV.endedAtTime, Literal(ended, XSD + "dateTime"))
    for graph in graphs:
        physical = store.physical_graph(graph)
        if physical:
            out.add(node, PROV.used, IRI(physical))
    return ended


@dataclass
class InferenceRun:
    """The last `infer` run: when it ended, and the physical graph versions it read."""

    ended: str
    used: set[str]


def last_run(store: Store, minter: Minter) -> InferenceRun | None:
    """The last run recorded in the inferences graph, or None when `infer` never ran."""
    graph = inferences_graph(minter)
    if graph not in store.graphs():
        return None
    ended, used = "", set()
    for _, prop, value in store.query(
        "SELECT ?run ?p ?v WHERE { ?run ?p ?v }",
        params={"run": _run_node(minter)},
        default_graph_union=False,
        default_graphs=[graph],
    ).table():
        if prop == PROV.endedAtTime:
            ended = value
        elif prop == PROV.used:
            used.add(value)
    return InferenceRun(ended, used) if ended else None


def check_flags(store: Store, minter: Minter, dataset_id: str) -> list[str]:
    """Raise InputError when the dataset is unknown or no `infer` run has read it as loaded now
    (for ``all``: any dataset); else return warnings, one per graph (links, reviews, another
    dataset) loaded or changed since, which the flags do not reflect yet."""
    if (
        dataset_id != "all"
        and not store.query(
            "ASK { ?s <http://schema.org/includedInDataSet> ?d }",
            params={"d": minter.dataset(dataset_id)},
        ).boolean
    ):
        raise InputError(f"no specimens of dataset {dataset_id!r} in the store", dataset=dataset_id)
    run = last_run(store, minter)
    if run is None:
        raise InputError(
            "no inference has run on this store: run `collectomics infer` first",
            dataset=dataset_id,
        )
    changed = [
        g for g in store.graphs() if minter.is_source(g) and store.physical_graph(g) not in run.used
    ]
    datasets = [g for g in changed if minter.dataset_of_graph(g) is not None]
    mine = minter.graph(dataset_id)
    if datasets if dataset_id == "all" else mine in changed:
        what = "any dataset" if dataset_id == "all" else f"dataset {dataset_id!r}"
        raise InputError(
            f"no inference has run on {what} as loaded now (the last `collectomics infer` "
            f"ended {run.ended}, before {', '.join(datasets or [mine])} was loaded): run it "
            "again",
            dataset=dataset_id,
        )
    return [
        f"{g} changed after the last `collectomics infer` ({run.ended}): the flags may be "
        "out of date; run it again"
        for g in changed
    ]


#: rule -> its label in the ontology, for the CSV export
RULE_LABELS = {
    COL.collectedBeforeBirth: "collected before the collector's birth",
    COL.collectedBeforeWorkingAge: "collected before a plausible working age",
    COL.collectedAfterDeath: "collected after the collector's death",
    COL.identifiedBeforeBirth: "identified before the determiner's birth",
    COL.identifiedBeforeWorkingAge: "identified before a plausible working age",
    COL.identifiedAfterDeath: "identified after the determiner's death",
}

FLAG_COLUMNS = (
    "dataset specimen catalog_number occurrence_id rule rule_label message person evidence flag"
).split()


def export_flags(store: Store, minter: Minter, dataset_id: str, output: IO[str]) -> int:
    """Write the flags on one dataset's specimens as CSV for curators; returns the row count.

    Refuses (InputError, before writing anything) an unknown dataset, and one that no `infer`
    run has read as loaded now (:func:`check_flags`)."""
    check_flags(store, minter, dataset_id)
    dataset = minter.dataset(dataset_id)
    sparql = PROLOGUE + (
        "SELECT ?flag ?specimen ?cat ?occ ?rule ?message ?person ?evidence ?d WHERE { "
        "?flag a col:RecordFlag ; oa:hasTarget ?specimen ; col:method ?rule ; "
        "oa:hasBody/rdf:value ?message ; col:evidence ?person , ?evidence . "
        "?person a foaf:Person . FILTER (?evidence != ?person) "
        "?specimen schema:includedInDataSet ?d . "
        "OPTIONAL { ?specimen dwc:catalogNumber ?cat } OPTIONAL { ?specimen dwc:occurrenceID ?occ } "
        "} ORDER BY ?specimen ?rule ?person"
    )
    params = {} if dataset_id == "all" else {"d": dataset}
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(FLAG_COLUMNS)
    seen: set[tuple[str, str]] = set()
    count = 0
    for flag, specimen, cat, occ, rule, message, person, evidence, d in store.query(
        sparql, params=params
    ).table():
        key = (flag, d)
        if key in seen or (dataset_id != "all" and d != dataset):
            continue
        seen.add(key)
        writer.writerow(
            [
                dataset_id if dataset_id != "all" else d,
                specimen,
                cat,
                occ,
                rule,
                RULE_LABELS.get(IRI(rule), ""),
                message,
                person,
                evidence,
                flag,
            ]
        )
        count += 1
    return count
