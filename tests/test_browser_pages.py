"""The workbench pages as a person sees them: headless Chromium (Debian's `chromium`) loads, from
`collectomics serve` on a store on disk (the demo with Blanché's agents linked to him, inferred,
identities materialised, beside a real GBIF download), the person page of the demo's main
collector, the page of the most prolific collector of the real download, and the specimen page
of a sheet with a label, a notebook mention and a photograph; it checks the numbers each
section shows, and saves the screenshots that docs/pages.md shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectomics.analysis import identity
from collectomics.ingest import ingest_files
from collectomics.store import open_store
from helpers import REAL, chromium, start_serve
from test_pages_sections import REAL_ARCHIVE, load_demo

pytestmark = [pytest.mark.slow, pytest.mark.embedded_only("serves a store directory it builds")]

DOCS = Path(__file__).resolve().parent.parent / "docs"
STEERE = "agent/0000154-150116162929234/w-c-steere-2fd79b55"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("pages-site")
    path = workdir / "store.db"
    with open_store(path) as store:
        minter = load_demo(store)
        ingest_files(store, [REAL / REAL_ARCHIVE], minter=minter)
        identity.materialise(store, minter)
    base, proc = start_serve(path, workdir)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def _section(dom: str, name: str) -> str:
    """The HTML of one section of the page, which must have answered."""
    m = re.search(
        rf'<section class="wb" id="{name}" data-section="{name}" data-ok="(\w+)">(.*?)</section>',
        dom,
        re.S,
    )
    assert m, f"no section {name}"
    assert m.group(1) == "true", f"section {name} did not answer: {m.group(2)[:300]}"
    return m.group(2)


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of table ``table_id``."""
    m = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert m, f"no table {table_id}"
    out = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells:
            out.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return out


def _shot(profile: Path, name: str, url: str, height: int) -> None:
    shot = DOCS / name
    chromium(profile, f"--screenshot={shot}", url, height=height)
    assert shot.stat().st_size > 20_000


def test_the_main_collector_s_page(site: str, tmp_path: Path) -> None:
    url = f"{site}/person/cesar-blanche"
    dom = chromium(tmp_path / "p1", "--dump-dom", url, height=3000)
    assert "Cèsar Blanché i Vergés" in dom
    who = _section(dom, "who")
    assert "1958" in who and "Q5763750" in who
    assert _cells(who, "who-variants")[:2] == [["Blanché, Cèsar", "7"], ["Blanché, C.", "4"]]
    what = _section(dom, "what")
    assert re.search(r'id="what-total"><strong>12</strong> specimens', what)
    assert len(_cells(what, "what-list")) == 12
    where = _section(dom, "where")
    assert sum(int(r[2]) for r in _cells(where, "where-stops")) == 12
    box = re.search(r'<div id="itinerary-map"[^>]*>', dom)
    assert box and 'data-rendered="true"' in box.group(0), "the itinerary map did not draw"
    assert dom.count('class="land"') > 100, "the world basemap (world-atlas) is missing"
    whom = _section(dom, "whom")
    assert _cells(whom, "whom-co") == [["R. Ferrer", "1", "1984"]]
    net = re.search(r'<div id="ego-network"[^>]*>', dom)
    assert net and 'data-rendered="true"' in net.group(0), "the ego network did not draw"
    wrote = _section(dom, "writings")
    assert _cells(wrote, "writings-labels")[0][:2] == ["BCN-35752", "0.8"]
    assert "Field notebook of Cèsar Blanché, 1983" in wrote and "mentions 5" in wrote
    _section(dom, "flags")
    # the same page for a name he wrote under
    agent = chromium(
        tmp_path / "p2",
        "--dump-dom",
        f"{site}/agent/gbif-0009886-250127130748423/c-blanche-b9b4df43",
    )
    assert "one of the names of this person" in agent
    assert re.search(r'id="what-total"><strong>12</strong> specimens', agent)
    _shot(tmp_path / "p3", "pages-person.png", url, 3600)


def test_a_prolific_real_collector_s_page(site: str, tmp_path: Path) -> None:
    url = f"{site}/{STEERE}"
    dom = chromium(tmp_path / "p1", "--dump-dom", url, height=3000)
    what = _section(dom, "what")
    total = int(re.search(r'id="what-total"><strong>([\d,]+)</strong>', what).group(1))  # type: ignore[union-attr]
    assert total == 119  # 117 collected, and 2 more identified
    assert 'data-role="collector">117 as collector' in what
    assert len(_cells(what, "what-list")) == 25 and 'rel="next"' in what
    years = re.search(r"<h3>By year</h3><table>(.*?)</table>", what, re.S)
    assert years
    assert sum(int(n) for n in re.findall(r'<td class="n">(\d+)</td>', years.group(1))) == total
    page5 = chromium(tmp_path / "p2", "--dump-dom", url + "?sort=catalog&page=5")
    rows = _cells(_section(page5, "what"), "what-list")
    assert len(rows) == total - 4 * 25
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    for name in ("who", "where", "whom", "writings", "flags"):
        _section(dom, name)
    _shot(tmp_path / "p3", "pages-real-collector.png", url, 3000)


def test_the_specimen_page_of_a_sheet_with_label_notebook_and_photograph(
    site: str, tmp_path: Path
) -> None:
    url = f"{site}/specimen/gbif/1439645919"
    dom = chromium(tmp_path / "p1", "--dump-dom", url, height=2600)
    assert "BCN-35752" in dom
    assert "dwc:catalogNumber" in _section(dom, "record")
    labels = _section(dom, "labels")
    assert "Els Segalassos, Tarragona" in labels
    assert re.search(r"Cèsar Blanché i Vergés</a></td><td class=\"n\">0.8</td>", labels)
    event = _section(dom, "event")
    assert "41.31, 0.91" in event and "1983-06-14" in event
    svg = re.search(r'<svg id="event-map"[^>]*>', dom)
    assert svg and 'data-rendered="true"' in svg.group(0), "the place map did not draw"
    agents = _cells(_section(dom, "agents"), "agents-list")
    assert [(a[0], a[2], a[4]) for a in agents] == [
        ("collector", "Blanché, Cèsar", "Cèsar Blanché i Vergés person"),
        ("labelWriter", "", "Cèsar Blanché i Vergés person"),
    ]
    docs = _section(dom, "documents")
    assert "p. 3: Els Segalassos, 14 June 1983" in docs
    assert "Photograph of herbarium specimen BCN-35752" in docs
    assert "labelWriterLifetime" in _section(dom, "bounds")
    for name in ("identifications", "duplicates"):
        _section(dom, name)
    _shot(tmp_path / "p2", "pages-specimen.png", url, 2600)
