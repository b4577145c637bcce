"""A real browser on the historian views: headless Chromium (Debian's `chromium`) opens a person
page of `collectomics demo`, waits for the ego network (Cytoscape.js) and the itinerary map
(world-atlas drawn as SVG) to render, and opens the dashboard; screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers import chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BASE = "https://w3id.org/collectomics/"
AGENT = "agent/gbif-0009886-250127130748423/cesar-blanche-0ce61d1c"


@pytest.fixture(scope="module")
def demo(demo_site: tuple[str, Path]) -> str:
    return demo_site[0]


def _chromium(profile: Path, *args: str, height: int = 1000) -> str:
    return chromium(profile, *args, height=height)


def _box(dom: str, box_id: str) -> str:
    m = re.search(rf'<div [^>]*id="{box_id}"[^>]*>', dom)
    assert m, f"no #{box_id} on the page"
    return m.group(0)


def test_person_page_renders_network_map_and_timeline(demo: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{demo}/{AGENT}"
    dom = _chromium(tmp_path / "p1", "--dump-dom", url)
    assert "Cèsar Blanché" in dom
    net = _box(dom, "ego-network")
    assert 'data-rendered="true"' in net, f"the ego network did not render: {net}"
    assert int(re.search(r'data-items="(\d+)"', net).group(1)) >= 2  # type: ignore[union-attr]
    assert "<canvas" in dom, "Cytoscape.js drew no canvas (is node_modules installed?)"
    map_box = _box(dom, "itinerary-map")
    assert 'data-rendered="true"' in map_box, f"the map did not render: {map_box}"
    # every stop with coordinates of his identity's itinerary (his three name strings' events)
    with urllib.request.urlopen(f"{demo}/views/itinerary?iri={quote(BASE + AGENT)}") as r:
        stops = json.load(r)["stops"]
    placed = sum(1 for s in stops if s["lat"] is not None)
    assert placed == 6 and len(stops) == 7
    assert int(re.search(r'data-items="(\d+)"', map_box).group(1)) == placed  # type: ignore[union-attr]
    assert dom.count('class="land"') > 100, "the world basemap (world-atlas) is missing"
    assert dom.count('class="stop') == placed
    # the workbench lists the timeline in the page itself (no JavaScript needed)
    timeline = re.search(r'<table class="list" id="where-timeline">(.*?)</table>', dom, re.S)
    assert timeline and timeline.group(1).count("<tr>") > 4
    shot = ARTIFACTS / "person-views.png"
    _chromium(tmp_path / "p2", f"--screenshot={shot}", url, height=2600)
    assert shot.stat().st_size > 20_000


def test_dashboard_in_a_browser(demo: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{demo}/dashboard"
    dom = _chromium(tmp_path / "p3", "--dump-dom", url)
    # the demo is materialised when built: the counts and the country's one query read the facets
    assert 'id="facet-country"' in dom and "count-from-country?country=ES" in dom
    assert "Specimens by collector" in dom and "Records by basis of record" in dom
    shot = ARTIFACTS / "dashboard.png"
    _chromium(tmp_path / "p4", f"--screenshot={shot}", url, height=1400)
    assert shot.stat().st_size > 10_000
