"""A real browser: headless Chromium (Debian's `chromium`) loads the query page served by
`collectomics demo`, runs a query in YASGUI, opens a person page; screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AGENT = "agent/gbif-0009886-250127130748423/cesar-blanche-0ce61d1c"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectomics", "demo", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the demo server did not start") from None
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def _chromium(profile: Path, *args: str) -> str:
    assert CHROMIUM, "chromium is not installed: `python3 dev.py test` installs it (apt-get)"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--virtual-time-budget=20000",
        *args,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return r.stdout


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
    dom = _chromium(tmp_path / "p1", "--dump-dom", url)
    assert 'class="yasgui' in dom, "YASGUI did not load (is node_modules installed?)"
    assert f"specimens-{n}" in dom, "the query's answer is not in the page"
    _chromium(tmp_path / "p2", f"--screenshot={ARTIFACTS / 'query-page.png'}", url)
    assert (ARTIFACTS / "query-page.png").stat().st_size > 10_000


def test_person_page_in_a_browser(demo: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{demo}/{AGENT}"
    dom = _chromium(tmp_path / "p3", "--dump-dom", url)
    assert "Cèsar Blanché" in dom and "Collected with" in dom
    _chromium(tmp_path / "p4", f"--screenshot={ARTIFACTS / 'person-page.png'}", url)
    assert (ARTIFACTS / "person-page.png").stat().st_size > 10_000
