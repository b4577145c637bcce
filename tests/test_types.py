"""mypy, with the project's settings (``[tool.mypy]`` in pyproject.toml), passes over the whole
package (issue 21): configured is not checked."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "collectomics"


def _mypy() -> subprocess.CompletedProcess[str]:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    assert mypy, "mypy is a test dependency: install the project with its [test] extra"
    return subprocess.run(
        [mypy, "--config-file", str(ROOT / "pyproject.toml")],  # its `files`: src/collectomics
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_mypy_is_clean_over_every_module() -> None:
    """No error, and every module of the package was checked (none left out by a ``files`` or
    ``exclude`` setting): a check that reads nothing would pass too."""
    r = _mypy()
    assert r.returncode == 0, "mypy (pyproject.toml's settings):\n" + r.stdout + r.stderr
    checked = re.search(r"(\d+) source files?\)?$", r.stdout.strip())
    assert checked, r.stdout + r.stderr
    assert int(checked.group(1)) == len(list(PACKAGE.rglob("*.py"))), r.stdout
