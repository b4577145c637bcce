"""Helpers for tests: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str,
    store: Path | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m collectomics`` for real, as a user would."""
    cmd = [sys.executable, "-m", "collectomics"]
    if store is not None:
        cmd += ["--store", str(store)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    full_env.update(env or {})
    return subprocess.run(
        cmd + list(args),
        capture_output=True,
        text=True,
        input=input,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )
