"""ruff's lint rules (pyproject.toml) hold for the whole tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a test dependency: install the project with its [test] extra"
    r = subprocess.run(
        [ruff, "check", "src", "tests", "benchmarks", ".ci/tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_clean() -> None:
    """The whole tree is as `ruff format` writes it (issue 21): no diff a reviewer has to read twice."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a test dependency: install the project with its [test] extra"
    r = subprocess.run(
        [ruff, "format", "--check", "src", "tests", "benchmarks", ".ci/tools", "dev.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, "run `ruff format` on: " + r.stdout + r.stderr
