"""A real browser: headless Chromium (Debian's `chromium`) loads the query page served by
`collectomics demo`, runs a query in YASGUI, opens a person page; screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AGENT = "agent/gbif-0009886-250127130748423/cesar-blanche-0ce61d1c"


@pytest.fixture(scope="module")
def demo(demo_site: tuple[str, Path]) -> str:
    return demo_site[0]


def _chromium(profile: Path, *args: str) -> str:
    return chromium(profile, *args)


def test_query_page_runs_a_query_in_yasgui(demo: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    count_query = "SELECT (COUNT(*) AS ?n) { ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> }"
    with urllib.request.urlopen(
        demo + "/sparql?query=" + urllib.parse.quote(count_query), timeout=30
    ) as r:
        n = json.loads(r.read())["results"]["bindings"][0]["n"]["value"]
    query = (
        "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>\n"
        'SELECT (CONCAT("specimens-", STR(COUNT(*))) AS ?marker) { ?s a dwc:MaterialEntity }'
    )
    url = demo + "/query?run=1&query=" + urllib.parse.quote(query)
    with urllib.request.urlopen(url, timeout=30) as r:  # YASGUI runs under the page's policy
        policy = r.headers["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-eval" not in policy
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    dom = _chromium(tmp_path / "p1", "--dump-dom", url)
    assert 'class="yasgui' in dom, "YASGUI did not load (is node_modules installed?)"
    assert f"specimens-{n}" in dom, "the query's answer is not in the page"
    _chromium(tmp_path / "p2", f"--screenshot={ARTIFACTS / 'query-page.png'}", url)
    assert (ARTIFACTS / "query-page.png").stat().st_size > 10_000


def test_person_page_in_a_browser(demo: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{demo}/{AGENT}"
    with urllib.request.urlopen(url, timeout=30) as r:
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    dom = _chromium(tmp_path / "p3", "--dump-dom", url)
    assert "Cèsar Blanché" in dom and "Collected with" in dom
    _chromium(tmp_path / "p4", f"--screenshot={ARTIFACTS / 'person-page.png'}", url)
    assert (ARTIFACTS / "person-page.png").stat().st_size > 10_000
