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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(workdir: Path, timeout: float = 120) -> tuple[str, subprocess.Popen[bytes]]:
    """Run `collectomics demo` in ``workdir`` on a free port; return its URL once it answers."""
    import time
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectomics", "demo", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=5).read()
            return base, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the demo server did not start") from None
            time.sleep(0.2)


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=20000",
)


def chromium(profile: Path, *args: str, height: int = 1000) -> str:
    """Run Debian's headless Chromium with a fresh profile; return what it prints (the DOM)."""
    import shutil

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is not installed: `python3 dev.py test` installs it (apt-get)"
    cmd = [
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size=1280,{height}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def start_serve(
    store: Path, workdir: Path, settings: dict[str, str] | None = None, timeout: float = 60
) -> tuple[str, subprocess.Popen[str]]:
    """Run `collectomics serve` on ``store`` on a free port with ``settings`` (COLLECTOMICS_*
    variables; the caller's own are dropped); return its URL once /health answers, and the
    process (stderr piped, text), which the caller terminates."""
    import time

    import requests

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env.update(settings or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectomics", "--store", str(store), "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            requests.get(base + "/health", timeout=5)
            return base, proc
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not answer within {timeout:g} s") from None
            time.sleep(0.2)
