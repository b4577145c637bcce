"""The matcher scored against people's own decisions: the Bloodhound attributions.

    .venv/bin/python benchmarks/linking_accuracy.py            # tests/data/real
    .venv/bin/python benchmarks/linking_accuracy.py --data DIR --show 20

Bloodhound (now Bionomia) users attributed 5,479 GBIF specimens to themselves or to a colleague
by ORCID, as collector ("recorded") or determiner ("identified"). Each attribution says: *this*
person is one of the names in this record's `recordedBy` / `identifiedBy`. The truth is the
person's Wikidata item, found through the IPNI author record of the same person (the join below,
checked by name, dates and field): 0000-0002-8509-0556 is Bente Bang Klitgaard (IPNI 36375-1),
0000-0003-3558-9794 is Warren M. Cardinal-McTeague (IPNI 20030899-1).

What runs is the product's path: the Wikidata stand-in (all 54,204 IPNI authors as entities)
on 127.0.0.1, the real client over HTTP, the matcher. Each attributed value is split into
names (`split_agents`); the attributed person's name among them is the one whose family name is
closest to theirs (what the attributing person pointed at). Names are grouped as the graph groups
them, one agent per normalised name per dataset (here per person's file), with the dates,
countries and families of their records as evidence. Then, per name string:

- top-1 / top-3: the true item is the best / among the three best candidates;
- auto-accepted precision and recall: of the names the high-confidence rule accepted, how many
  were accepted as the true person; of all names, how many were (recall);
- false accepts of the person elsewhere: the *other* names in the same values (co-collectors)
  accepted as the attributed person (each one an error).

The second gold set is every identifier a data publisher asserted for a name
(`recordedByID` / `identifiedByID` paired with one name) in every real archive the project ships
(tests/data/real/archives.txt) and in any archive given with `--archive`: ingest it, hide the
identifier, match the name, and compare with the item Wikidata gives for the identifier (P496,
P586, P214, P4081, P6264). An identifier no item carries is a person absent from the authority,
which no offline system can find: counted, not scored.

Every failure is classified by cause: `name reading` (the name as read has another family name,
or none), `missing alias` (the family agrees, the search never found the person), `dates` (the
person was found and vetoed by dates), `given names` (found, and vetoed: the given names as read
cannot be theirs), `threshold` (found, not vetoed, outranked or accepted wrongly by the rules),
`authority gap` (not in the authority), `bug` (anything else).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from collectomics.linking import standin  # noqa: E402
from collectomics.linking.matcher import (  # noqa: E402
    AgentEvidence,
    Scored,
    fold,
    parse_name,
    rank,
)
from collectomics.linking.service import ServiceSource  # noqa: E402
from collectomics.linking.session import HttpClient  # noqa: E402
from collectomics.linking.wikidata import WikidataClient  # noqa: E402
from collectomics.mapping.names import normalise, split_agents  # noqa: E402

COLUMNS = (
    "action,gbifID,occurrenceID,dateIdentified,decimalLatitude,decimalLongitude,country,"
    "countryCode,eventDate,year,family,identifiedBy,institutionCode,collectionCode,catalogNumber,"
    "recordedBy,scientificName,typeStatus"
).split(",")
#: ORCID -> (IPNI author id, family name) of the person each file attributes.
PEOPLE = {
    "0000-0002-8509-0556": ("36375-1", "Klitgaard"),
    "0000-0003-3558-9794": ("20030899-1", "Cardinal-McTeague"),
}


@dataclass
class Name:
    evidence: AgentEvidence
    spellings: set[str] = field(default_factory=set)
    rows: int = 0


def _year(text: str) -> int | None:
    text = (text or "").strip()
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def _closest(names: list[str], family: str) -> int | None:
    want = fold(family)
    best, at = 0.0, None
    for k, name in enumerate(names):
        fam = parse_name(name).family
        words = fold(name).split()
        score = max(
            [SequenceMatcher(None, want, fam).ratio()]
            + [SequenceMatcher(None, want.replace(" ", ""), w).ratio() for w in words]
        )
        if score > best:
            best, at = score, k
    return at if best >= 0.75 else None


def read_attributions(
    path: Path, family: str
) -> tuple[dict[str, Name], dict[str, Name], dict[str, Name], int]:
    """Names pointing at the person (one per normalised name), the other names in the same
    values, the person's name once per distinct value as written, and values naming nobody
    like them."""
    target: dict[str, Name] = {}
    others: dict[str, Name] = {}
    per_value: dict[str, Name] = {}
    missed = 0
    dataset = path.stem
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            actions = set(row[0].split(",")) if row else set()
            if not actions & {"recorded", "identified"}:
                continue
            rec = dict(zip(COLUMNS, row, strict=False))
            fields = []
            if "recorded" in actions:
                fields.append((rec["recordedBy"], _year(rec["eventDate"]) or _year(rec["year"])))
            if "identified" in actions:
                fields.append((rec["identifiedBy"], _year(rec["dateIdentified"])))
            for value, year in fields:
                names = [n.written for n in split_agents(value)]
                k = _closest(names, family)
                if k is None:
                    missed += 1
                    continue
                for j, written in enumerate(names):
                    pool = target if j == k else others
                    key = normalise(written)
                    if j == k:  # the same name again, keyed by the whole value as written
                        _add(per_value, value, written, dataset, rec, year)
                    _add(pool, key, written, dataset, rec, year)
    return target, others, per_value, missed


def _add(
    pool: dict[str, Name],
    key: str,
    written: str,
    dataset: str,
    rec: dict[str, str],
    year: int | None,
) -> None:
    if key not in pool:
        pool[key] = Name(AgentEvidence(f"urn:bench:{dataset}:{key}", written, datasets={dataset}))
    n = pool[key]
    n.rows += 1
    n.spellings.add(written)
    e = n.evidence
    e.written.add(written)
    if year and 1700 < year < 2030:
        lo, hi = date(year, 1, 1), date(year, 12, 31)
        e.earliest = min(e.earliest or lo, lo)
        e.latest = max(e.latest or hi, hi)
    if rec["countryCode"]:
        e.countries.add(rec["countryCode"].upper())
    if rec["institutionCode"]:
        e.institutions.add(rec["institutionCode"])
    e.fields.add("plants")
    e.bases.add("preservedspecimen")


CAUSES = (
    "name reading",
    "missing alias",
    "dates",
    "given names",
    "threshold",
    "authority gap",
    "bug",
)


def cause(ranked: list[Scored], truth: str, written: str, label: str) -> str:
    """Why the true person is not where they should be (see the module's docstring)."""
    if not truth:
        return "authority gap"
    mine = next((s for s in ranked if s.candidate.iri == truth), None)
    if mine is None:
        p = parse_name(written)
        if not p.family:
            return "name reading"
        fam = SequenceMatcher(None, p.family, fold(parse_name(label).family)).ratio()
        return "missing alias" if fam >= 0.8 else "name reading"
    if mine.veto:
        if mine.feature("dates").value == 0.0:
            return "dates"
        if mine.feature("given").value == 0.0:
            return "given names"
        return "bug"
    return "threshold"


@dataclass
class Tally:
    """Counts of one gold set, per name string (and weighted by records)."""

    n: int = 0
    records: int = 0
    top1: int = 0
    top3: int = 0
    top3_records: int = 0
    accepted: int = 0
    right: int = 0
    wrong_elsewhere: int = 0
    absent: int = 0
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, ranked: list[Scored], truth: str, written: str, label: str, rows: int) -> None:
        if not truth:
            self.absent += 1
            self.failures["authority gap"].append(f"{written!r}: not in the authority")
            return
        iris = [x.candidate.iri for x in ranked]
        self.n += 1
        self.records += rows
        self.top1 += iris[:1] == [truth]
        self.top3 += truth in iris[:3]
        self.top3_records += rows * (truth in iris[:3])
        acc = [x for x in ranked if x.status == "accepted"]
        self.accepted += bool(acc)
        self.right += bool(acc) and acc[0].candidate.iri == truth
        if truth not in iris[:3] or (acc and acc[0].candidate.iri != truth):
            why = cause(ranked, truth, written, label)
            best = f"{ranked[0].candidate.label} {ranked[0].score:.2f}" if ranked else "nobody"
            wrong = " (WRONG ACCEPT)" if acc and acc[0].candidate.iri != truth else ""
            self.failures[why].append(f"{written!r}: top is {best}{wrong}")

    def line(self, what: str) -> str:
        if not self.n:
            return f"  {what}: nothing to score ({self.absent} absent from the authority)"
        judged = self.accepted + self.wrong_elsewhere
        prec = f"{self.right / judged:.3f}" if judged else "n/a"
        return (
            f"  {what} ({self.n} names, {self.records} records): top-1 {self.top1 / self.n:.3f}  "
            f"top-3 {self.top3 / self.n:.3f} (per record {self.top3_records / self.records:.3f}; "
            f"target >= 0.95)  auto-accepted {self.accepted}, precision {prec} (target >= 0.99), "
            f"recall {self.right / self.n:.3f}; absent from the authority {self.absent}"
        )


def publisher_gold(
    archives: list[Path], source: ServiceSource, client: WikidataClient, show: int
) -> Tally:
    """Identifiers publishers asserted for one name, hidden and matched (see the docstring)."""
    from collectomics.ingest import ingest_files
    from collectomics.iri import Minter
    from collectomics.linking.matcher import identifier_property
    from collectomics.linking.service import gather_agents, publisher_targets
    from collectomics.store import OxigraphStore

    store, minter = OxigraphStore(), Minter()
    for k, path in enumerate(archives):
        ingest_files(store, [path], minter=minter, dataset_id=f"gold-{k}")
    agents = gather_agents(store, minter)
    asserted = publisher_targets(store, minter)
    tally = Tally()
    for agent_iri, targets in sorted(asserted.items()):
        agent = agents.get(agent_iri)
        if agent is None:
            continue
        # one name may carry several identifiers of one person (BGBM: Harvard, VIAF, Wikidata,
        # Bionomia): the truth is the one item they resolve to, whichever resolves
        items: set[str] = set()
        for target in sorted(targets):
            found = identifier_property(target)
            if found is not None:
                items.update([found[1]] if found[0] == "item" else client.resolve(target))
        qids = sorted(items)
        truth = "http://www.wikidata.org/entity/" + qids[0] if len(qids) == 1 else ""
        hidden = AgentEvidence(**{**agent.__dict__, "identifiers": {}})
        ranked = rank(hidden, source.candidates_for(agent.name))
        label = next((x.candidate.label for x in ranked if x.candidate.iri == truth), "")
        if truth and not label:
            entities = client.entities([qids[0]])
            if qids[0] in entities:
                from collectomics.linking.wikidata import candidate_from_entity

                label = candidate_from_entity(entities[qids[0]]).label
        tally.add(ranked, truth, agent.name, label, agent.specimens)
    print(
        f"\nPublisher-asserted identifiers: {sum(len(t) for t in asserted.values())} in "
        f"{len(archives)} archives"
    )
    print(tally.line("per name"))
    _failures(tally, show)
    return tally


def _failures(tally: Tally, show: int) -> None:
    for why in CAUSES:
        items = tally.failures.get(why, [])
        if items:
            print(f"    {why}: {len(items)}")
            for item in items[:show]:
                print(f"      {item}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT / "tests" / "data" / "real"))
    parser.add_argument("--show", type=int, default=10, help="failures to print per cause")
    parser.add_argument(
        "--archive",
        action="append",
        default=[],
        help="also score the publisher-asserted identifiers of this archive (repeatable)",
    )
    parser.add_argument(
        "--authority-sample",
        type=int,
        default=300,
        help="also score label-style spellings of N IPNI authors who share a surname (0: skip)",
    )
    args = parser.parse_args()
    data = Path(args.data)

    t0 = time.monotonic()
    wd = standin.load("wikidata", data)
    print(
        f"Wikidata stand-in: {len(wd.entities):,} entities from IPNI ({time.monotonic() - t0:.1f} s)"
    )
    totals = {"name": Tally(), "value": Tally()}
    found: dict[str, list] = {}  # type: ignore[type-arg]
    with standin.running("wikidata", wd) as urls:
        http = HttpClient(rate=0)
        client = WikidataClient(http, urls["wikidata_api_url"], urls["wikidata_sparql_url"])
        source = ServiceSource(client)

        def candidates(name: str) -> list:  # type: ignore[type-arg]
            if name not in found:
                found[name] = source.candidates_for(name)
            return found[name]

        print("\nBloodhound attributions (people's own decisions):")
        for orcid, (ipni, family) in PEOPLE.items():
            path = data / "bloodhound-orcid-attributions" / f"{orcid}.csv"
            truth = client.items_with("P586", ipni)
            assert len(truth) == 1, (orcid, truth)
            true_iri = "http://www.wikidata.org/entity/" + truth[0]
            label = candidates(family)[0].label if candidates(family) else family
            target, others, per_value, missed = read_attributions(path, family)
            wrong_person = 0
            for name in others.values():
                ranked = rank(name.evidence, candidates(name.evidence.name))
                wrong = any(x.status == "accepted" and x.candidate.iri == true_iri for x in ranked)
                wrong_person += wrong
                if wrong:
                    totals["name"].failures["threshold"].append(
                        f"co-collector {name.evidence.name!r} accepted as {family} (WRONG ACCEPT)"
                    )
            print(
                f"  {orcid} ({family}, {truth[0]}): {len(per_value)} distinct values naming them, "
                f"{len(target)} normalised names; {missed} attributed values name nobody like "
                f"them; co-collector names accepted as this person: {wrong_person} of {len(others)}"
            )
            for unit, pool in (("name", target), ("value", per_value)):
                t = totals[unit]
                for name in pool.values():
                    ranked = rank(name.evidence, candidates(name.evidence.name))
                    t.add(ranked, true_iri, name.evidence.name, label, name.rows)
                t.wrong_elsewhere += wrong_person
        for unit, t in totals.items():
            print(t.line(f"per {unit}"))
            _failures(t, args.show)
        archives = [data / line for line in _archives(data)] + [Path(a) for a in args.archive]
        publisher_gold(archives, source, client, args.show)
        http.close()
    print(f"\n{http.requests_made} requests to the stand-in; {time.monotonic() - t0:.0f} s in all")
    if args.authority_sample:
        print("\nSynthetic (not people's decisions):")
        namesakes(wd, args.authority_sample)


def _archives(data: Path) -> list[str]:
    listed = data / "archives.txt"
    if not listed.is_file():
        return []
    lines = listed.read_text("utf-8").splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def namesakes(wd: standin.WikidataData, sample: int) -> None:
    """A harder, synthetic check: authors who share a surname with two or more other authors,
    written as on labels (initials + surname; full name), with one collecting year in their life.

    Not people's decisions: the spellings are generated from the authority itself. It shows how
    the given-name veto and the dates separate namesakes, which Bloodhound's two rare surnames
    never test.
    """
    from collectomics.linking.wikidata import candidate_from_entity

    by_surname: dict[str, list[str]] = defaultdict(list)
    for qid, e in wd.entities.items():
        c = candidate_from_entity(e)
        fam = parse_name(c.aliases[0]).family if c.aliases and "," in c.aliases[0] else ""
        if fam and c.birth and c.birth.precision >= 9 and "P570" in e["claims"]:
            by_surname[fam].append(qid)
    pool = sorted(q for qids in by_surname.values() if len(qids) >= 3 for q in qids)
    step = max(1, len(pool) // sample)
    chosen = pool[::step][:sample]
    with standin.running("wikidata", wd) as urls:
        http = HttpClient(rate=0)
        client = WikidataClient(http, urls["wikidata_api_url"], urls["wikidata_sparql_url"])
        source = ServiceSource(client)
        for form in ("initials", "full name"):
            n = top1 = top3 = accepted = right = 0
            for qid in chosen:
                c = candidate_from_entity(wd.entities[qid])
                surname, _, forename = c.aliases[0].partition(", ")
                given = forename.split()
                if form == "initials":
                    written = " ".join(g[0] + "." for g in given) + " " + surname
                else:
                    written = f"{forename} {surname}"
                year = (c.birth.year if c.birth else 1900) + 35
                if c.death:
                    year = min(year, c.death.year - 1)
                agent = AgentEvidence(f"urn:bench:{qid}", written, written={written})
                agent.earliest, agent.latest = date(year, 1, 1), date(year, 12, 31)
                ranked = rank(agent, source.candidates_for(written))
                iris = [x.candidate.iri for x in ranked]
                truth = "http://www.wikidata.org/entity/" + qid
                n += 1
                top1 += iris[:1] == [truth]
                top3 += truth in iris[:3]
                acc = [x for x in ranked if x.status == "accepted"]
                accepted += bool(acc)
                right += bool(acc) and acc[0].candidate.iri == truth
            prec = right / accepted if accepted else float("nan")
            print(
                f"  namesakes, {form:<9} ({n} IPNI authors sharing a surname with 2+ others): "
                f"top-1 {top1 / n:.3f}  top-3 {top3 / n:.3f}  auto-accepted {accepted}, "
                f"precision {prec:.3f}, recall {right / n:.3f}"
            )
        http.close()


if __name__ == "__main__":
    main()
