"""Synthetic Darwin Core Archives of preserved specimens, for benchmarks.

``write_archive(path, n, seed)`` writes a zipped Darwin Core Archive (``meta.xml``, a
tab-separated ``occurrence.txt`` and a small ``eml.xml``) of ``n`` specimen records whose columns
and value distributions look like a natural-history collection's export: ~40 institutions, a few
thousand names over ~150 families, ~120 country codes with a long tail, 70 % georeferenced,
mixed date precisions with 5 % unparseable dates, 1-4 collectors per record from a skewed pool
of ~20,000 people written in several styles, 40 % with a determiner, 1 % types.

The records are streamed into the zip in batches; memory stays flat whatever ``n``. The same
``(n, seed)`` always gives the same bytes (zip entries carry a fixed timestamp).

Run it alone: ``python benchmarks/synthetic.py OUT.zip N [SEED]``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

DWC = "http://rs.tdwg.org/dwc/terms/"

#: the columns of occurrence.txt, in order (all Darwin Core terms)
COLUMNS = (
    "occurrenceID institutionCode collectionCode catalogNumber basisOfRecord recordNumber "
    "recordedBy typeStatus eventDate year month day countryCode stateProvince locality "
    "decimalLatitude decimalLongitude kingdom phylum class order family genus scientificName "
    "identifiedBy dateIdentified"
).split()

BATCH = 2000

# 120 ISO 3166-1 alpha-2 codes, roughly in the order collections hold them (the skew follows
# the order: the first codes are far more common than the last).
COUNTRIES = (
    "US MX BR AU ZA CN FR ES CO PE EC BO VE AR CL CR PA GT HN NI IN ID MY PH TH VN PG NZ JP KR "
    "RU KZ MN TR IR IT GR PT DE AT CH PL CZ SK HU RO BG RS HR SI BA MK AL GB IE NO SE FI DK IS "
    "NL BE LU EE LV LT UA BY MD GE AM AZ MA DZ TN EG LY SD ET KE TZ UG RW CD CG CM GA NG GH CI "
    "SN ML NE TD CF AO ZM ZW MW MZ MG NA BW LS SZ CU JM HT DO PR TT GY SR GF UY PY NP BT BD LK"
).split()
assert len(COUNTRIES) == 120 and len(set(COUNTRIES)) == 120

# (kingdom, phylum, class, order) lineages that families hang from.
LINEAGES = (
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Asterales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Fabales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Lamiales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Rosales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Gentianales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Caryophyllales"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Malpighiales"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Poales"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales"),
    ("Plantae", "Tracheophyta", "Polypodiopsida", "Polypodiales"),
    ("Plantae", "Bryophyta", "Bryopsida", "Hypnales"),
    ("Animalia", "Arthropoda", "Insecta", "Coleoptera"),
    ("Animalia", "Arthropoda", "Insecta", "Lepidoptera"),
    ("Animalia", "Arthropoda", "Insecta", "Hymenoptera"),
    ("Animalia", "Arthropoda", "Insecta", "Diptera"),
    ("Animalia", "Arthropoda", "Arachnida", "Araneae"),
    ("Animalia", "Chordata", "Aves", "Passeriformes"),
    ("Animalia", "Chordata", "Mammalia", "Rodentia"),
    ("Animalia", "Chordata", "Actinopterygii", "Perciformes"),
    ("Animalia", "Mollusca", "Gastropoda", "Stylommatophora"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Agaricales"),
    ("Fungi", "Ascomycota", "Lecanoromycetes", "Lecanorales"),
)

_ONSETS = "b br c ch cl d f g gr h k l m n p pr r s st t tr v w z".split()
_VOWELS = "a e i o u a e i o ae ei ou".split()
_CODAS = ["", "", "", "", "", "n", "r", "s", "l", "t", "m", "ck", "nd", "rt", "ss"]
_GIVEN_INITIALS = "ABCDEFGHIJKLMNOPRSTVW"


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    )


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


class _Picker:
    """Draws items with Zipf-like weights (item 0 most often) in O(log n)."""

    def __init__(self, items: Sequence[object], s: float) -> None:
        self.items = items
        self.cum = _zipf_cum(len(items), s)
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> object:
        return self.items[bisect.bisect_left(self.cum, rng.random() * self.total)]


class _Pools:
    """Everything records are drawn from: institutions, taxa, places, people."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"collectomics-synthetic-pools-{seed}")
        # ~40 institutions with 1-4 collections each
        codes: set[str] = set()
        while len(codes) < 40:
            codes.add(
                "".join(
                    rng.choice("ABCDEFGHIKLMNOPRSTUWY") for _ in range(rng.choice((2, 3, 3, 4, 4)))
                )
            )
        kinds = ["HERB", "BOT", "ENT", "ZOO", "ORN", "MAM", "ICH", "MAL", "MYC", "BRY", "ARA"]
        self.collections = [
            (inst, coll)
            for inst in sorted(codes)
            for coll in rng.sample(kinds, rng.choice((1, 1, 2, 2, 3, 4)))
        ]
        rng.shuffle(self.collections)
        self.collection = _Picker(self.collections, 1.0)

        # ~150 families, ~1,500 genera, ~4,000 species
        families: list[tuple[str, tuple[str, str, str, str]]] = []
        seen: set[str] = set()
        while len(families) < 150:
            name = _word(rng, rng.choice((2, 3))).capitalize()
            lineage = rng.choice(LINEAGES)
            suffix = "aceae" if lineage[0] in ("Plantae", "Fungi") else "idae"
            if name + suffix not in seen:
                seen.add(name + suffix)
                families.append((name + suffix, lineage))
        genera: list[tuple[str, int]] = []
        seen.clear()
        while len(genera) < 1500:
            name = _word(rng, rng.choice((2, 2, 3))).capitalize() + rng.choice(
                ("a", "us", "ia", "um", "is", "ella")
            )
            if name not in seen:
                seen.add(name)
                genera.append((name, int(rng.random() ** 2 * len(families))))
        authors = [_word(rng, rng.choice((1, 2, 2, 3))).capitalize() for _ in range(400)]
        species = []
        for _ in range(4000):
            genus, family = genera[int(rng.random() ** 1.5 * len(genera))]
            epithet = _word(rng, rng.choice((2, 3))) + rng.choice(
                ("a", "um", "is", "ensis", "ii", "ata", "oides")
            )
            author = rng.choice(authors)
            if rng.random() < 0.3:
                author = f"({rng.choice(authors)}) {author}"
            if rng.random() < 0.35:  # zoological style: author and year
                author = f"{author}, {rng.randint(1758, 2015)}"
            name = f"{genus} {epithet} {author}"
            if rng.random() < 0.06:
                name = f"{genus} {epithet} subsp. {_word(rng, 2)}a {rng.choice(authors)}"
            kingdom, phylum, class_, order = families[family][1]
            species.append((kingdom, phylum, class_, order, families[family][0], genus, name))
        self.species = _Picker(species, 0.9)
        self.genus_only = species  # for the few records determined to genus only

        # countries, their regions and rough centres
        self.country = _Picker(COUNTRIES, 1.1)
        self.regions = {
            c: [_word(rng, rng.choice((2, 3))).capitalize() for _ in range(rng.randint(3, 15))]
            for c in COUNTRIES
        }
        self.centres = {c: (rng.uniform(-45, 60), rng.uniform(-170, 170)) for c in COUNTRIES}
        self.places = [_word(rng, rng.choice((2, 3))).capitalize() for _ in range(3000)]

        # ~20,000 people: (surname, initials), drawn with a strong skew (a few prolific collectors)
        people: set[tuple[str, str]] = set()
        while len(people) < 20000:
            surname = _word(rng, rng.choice((1, 2, 2, 2, 3))).capitalize()
            if rng.random() < 0.08:
                surname = f"{surname}-{_word(rng, 2).capitalize()}"
            initials = "".join(
                rng.choice(_GIVEN_INITIALS) + "." for _ in range(rng.choice((1, 1, 2, 2, 3)))
            )
            people.add((surname, initials))
        ordered = sorted(people)
        rng.shuffle(ordered)
        self.people = ordered
        self.person = _Picker(ordered, 0.8)


_HABITATS = (
    "forest edge",
    "roadside",
    "dry grassland",
    "wet meadow",
    "limestone rocks",
    "riverbank",
    "secondary forest",
    "sandy soil",
    "under bark",
    "at light",
)
_DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW")
_TYPES = ("Holotype", "Isotype", "Paratype", "Syntype", "Lectotype", "Isolectotype", "Neotype")
_BAD_DATES = (
    "s.d.",
    "spring 1978",
    "19??",
    "ca. 1905",
    "Summer",
    "1960s",
    "15 Mai 1932",
    "illegible",
    "0000-00-00",
    "1984-13-45",
)


def _date(rng: random.Random) -> tuple[str, str, str, str]:
    """eventDate, year, month, day: full dates, year-month, year, ranges, 5 % unparseable."""
    year = min(2023, int(1800 + 224 * rng.random() ** 0.6))
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    r = rng.random()
    if r < 0.55:
        return f"{year}-{month:02d}-{day:02d}", str(year), str(month), str(day)
    if r < 0.70:
        return f"{year}-{month:02d}", str(year), str(month), ""
    if r < 0.82:
        return str(year), str(year), "", ""
    if r < 0.90:
        end = min(28, day + rng.randint(1, 20))
        if rng.random() < 0.5:
            return (
                f"{year}-{month:02d}-{day:02d}/{year}-{month:02d}-{end:02d}",
                str(year),
                str(month),
                str(day),
            )
        return f"{year}-{month:02d}-{day:02d}/{end:02d}", str(year), str(month), str(day)
    if r < 0.95:
        return rng.choice(_BAD_DATES), "", "", ""
    return "", "", "", ""


def _person(surname: str, initials: str, style: int) -> str:
    if style == 0:
        return f"{surname}, {initials}"
    return (
        f"{initials.replace('.', '. ').strip()} {surname}"
        if style == 2
        else f"{initials} {surname}"
    )


def _agents(rng: random.Random, pools: _Pools, count: int) -> str:
    """1-4 people in one of the usual styles, sometimes ending in 'et al.'."""
    people = []
    while len(people) < count:
        p = pools.person(rng)
        if p not in people:
            people.append(p)
    style = rng.choice((0, 0, 1, 2))
    names = [_person(s, i, style) for s, i in people]  # type: ignore[misc]
    if count == 1:
        text = names[0]
    elif count == 2 and rng.random() < 0.6:
        text = f"{names[0]} & {names[1]}"
    else:
        text = rng.choice(("; ", " | ", "; ")).join(names)
    if rng.random() < 0.04:
        text += " et al."
    return text


def records(n: int, seed: int = 0) -> Iterator[list[str]]:
    """The ``n`` records' values, in COLUMNS order; deterministic for ``seed``."""
    pools = _Pools(seed)
    rng = random.Random(seed)
    numbers: dict[tuple[str, str], int] = {}
    for _ in range(n):
        inst, coll = pools.collection(rng)  # type: ignore[misc]
        number = numbers[(inst, coll)] = numbers.get(
            (inst, coll), rng.randint(1, 90000)
        ) + rng.randint(1, 3)
        catalog = f"{coll[0]}{number:07d}" if rng.random() < 0.5 else str(number)
        kingdom, phylum, class_, order, family, genus, name = pools.species(rng)  # type: ignore[misc]
        if rng.random() < 0.03:
            name = f"{genus} sp."
        country = pools.country(rng)
        regions = pools.regions[country]  # type: ignore[index]
        region = regions[int(rng.random() ** 2 * len(regions))] if rng.random() < 0.85 else ""
        place = pools.places[int(rng.random() ** 1.5 * len(pools.places))]
        r = rng.random()
        if r < 0.4:
            locality = f"{rng.randint(1, 40)} km {rng.choice(_DIRECTIONS)} of {place}"
        elif r < 0.7:
            locality = f"{place}, {rng.choice(_HABITATS)}"
        elif r < 0.93:
            locality = f"near {place}"
        else:
            locality = ""
        if rng.random() < 0.7:
            clat, clon = pools.centres[country]  # type: ignore[index]
            digits = rng.choice((2, 4, 4, 5, 6))
            lat = f"{max(-89.9, min(89.9, clat + rng.gauss(0, 4))):.{digits}f}"
            lon = f"{max(-179.9, min(179.9, clon + rng.gauss(0, 6))):.{digits}f}"
        else:
            lat = lon = ""
        event_date, year, month, day = _date(rng)
        count = 1 + (rng.random() > 0.6) + (rng.random() > 0.8) + (rng.random() > 0.93)
        recorded_by = _agents(rng, pools, count) if rng.random() < 0.95 else ""
        r = rng.random()
        record_number = (
            ""
            if r < 0.25
            else "s.n."
            if r < 0.3
            else f"{rng.choice(('', '', 'A-', 'JB '))}{int(rng.random() ** 2 * 30000) + 1}"
        )
        identified_by = date_identified = ""
        if rng.random() < 0.4:
            identified_by = _agents(rng, pools, 1 if rng.random() < 0.9 else 2)
            if rng.random() < 0.7:
                date_identified = (
                    _date(rng)[0] if rng.random() < 0.5 else str(rng.randint(1950, 2023))
                )
        type_status = f"{rng.choice(_TYPES)} of {name}" if rng.random() < 0.01 else ""
        yield [
            f"urn:catalog:{inst}:{coll}:{catalog}",
            inst,
            coll,
            catalog,
            "PreservedSpecimen",
            record_number,
            recorded_by,
            type_status,
            event_date,
            year,
            month,
            day,
            country,
            region,
            locality,
            lat,
            lon,  # type: ignore[list-item]
            kingdom,
            phylum,
            class_,
            order,
            family,
            genus,
            name,
            identified_by,
            date_identified,
        ]


def meta_xml() -> str:
    fields = "\n".join(
        f'    <field index="{i}" term="{DWC}{term}"/>' for i, term in enumerate(COLUMNS)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""
        ignoreHeaderLines="1" rowType="{DWC}Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
{fields}
  </core>
</archive>
"""


def eml_xml(n: int, seed: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         packageId="collectomics-synthetic-{seed}-{n}" system="http://gbif.org" scope="system" xml:lang="en">
  <dataset>
    <alternateIdentifier>collectomics-synthetic-{seed}-{n}</alternateIdentifier>
    <title xml:lang="en">Synthetic preserved specimens ({n:,} records, seed {seed})</title>
    <creator>
      <individualName><givenName>Bench</givenName><surName>Mark</surName></individualName>
      <organizationName>Collectomics benchmarks</organizationName>
    </creator>
    <pubDate>2024-01-01</pubDate>
    <language>en</language>
    <abstract><para>Synthetic Darwin Core records generated for ingest benchmarks; not real data.</para></abstract>
    <intellectualRights><para>This work is licensed under a
      <ulink url="http://creativecommons.org/publicdomain/zero/1.0/legalcode"><citetitle>CC0 1.0</citetitle></ulink>.</para></intellectualRights>
    <contact><individualName><surName>Mark</surName></individualName></contact>
  </dataset>
</eml:eml>
"""


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp, so that the archive's bytes depend on n and seed only."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_archive(path: Path, n: int, seed: int = 0) -> Path:
    """Write a zipped Darwin Core Archive of ``n`` synthetic specimens to ``path``; return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(_entry("meta.xml"), meta_xml())
        zf.writestr(_entry("eml.xml"), eml_xml(n, seed))
        with zf.open(_entry("occurrence.txt"), "w", force_zip64=True) as out:
            out.write(("\t".join(COLUMNS) + "\n").encode("utf-8"))
            lines: list[str] = []
            for values in records(n, seed):
                lines.append("\t".join(values))
                if len(lines) >= BATCH:
                    out.write(("\n".join(lines) + "\n").encode("utf-8"))
                    lines.clear()
            if lines:
                out.write(("\n".join(lines) + "\n").encode("utf-8"))
    return path


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python benchmarks/synthetic.py OUT.zip N [SEED]")
    out = write_archive(
        Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else 0
    )
    print(out)
