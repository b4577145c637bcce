"""The OpenAPI 3 description (`/openapi.json`) covers every route, and a bounded schemathesis run
against the demo server (for real, on 127.0.0.1) finds no server error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from collectomics.config import load_settings
from collectomics.store import Store
from collectomics.web import create_app
from collectomics.web.openapi import description

#: Routes that are files, not API (static assets, the query page's scripts).
NOT_API = ("/static/", "/assets/")


def _as_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_route_is_described(make_store: Callable[..., Store]) -> None:
    app = create_app(load_settings(environ={}), store=make_store())
    paths = description()["paths"]
    for rule in app.url_map.iter_rules():
        path = _as_openapi(rule.rule)
        if path.startswith(NOT_API) or path == "/{rest}":  # entity pages: /{kind}/{id}
            continue
        assert path in paths, f"{path} is served but not in openapi.json"
        methods = rule.methods - {"HEAD", "OPTIONS"}  # type: ignore[operator]
        described = {m.upper() for m in paths[path]}
        assert methods == described, (
            f"{path}: serves {sorted(methods)}, describes {sorted(described)}"
        )
    for path, operations in paths.items():
        for operation in operations.values():
            assert operation["responses"], f"{path} has no responses"
            assert operation.get("operationId") and operation.get("summary"), path


@pytest.mark.slow
def test_the_served_description_names_this_server(demo_site: tuple[str, Path]) -> None:
    base, _ = demo_site
    with urllib.request.urlopen(base + "/openapi.json", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        spec = json.load(response)
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": base}]
    assert spec["paths"] == description()["paths"]


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(demo_site: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = demo_site
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis is a test dependency: install the project with its [test] extra"
    cmd = [
        st, "run", base + "/openapi.json",
        "--checks", "not_a_server_error",
        "--max-examples", "5",
        "--seed", "1",
        "--workers", "1",
        "--request-timeout", "40",
        "--generation-database", "none",
        "--no-color",
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", r.stdout)
    operations = [(p, m) for p, ops in description()["paths"].items() for m in ops]
    # every operation but the description itself, which schemathesis leaves out
    assert tested and int(tested.group(1)) == len(operations) - 1, r.stdout[-3000:]
    assert re.search(r"(\d+) generated, \1 passed", r.stdout), r.stdout[-3000:]
