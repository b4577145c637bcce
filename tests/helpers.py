"""Helpers for tests: run the real CLI in a subprocess, and serve a store.

``store`` arguments are a directory, or a ``StoreLocation`` (tests/remote_servers.py: a
directory, or a server under COLLECTOMICS_TEST_BACKEND), whose settings go to the subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import IO

from remote_servers import StoreLocation, free_port, new_location, new_store, suite_backend

__all__ = [
    "REAL",
    "REAL_ARCHIVES",
    "StoreLocation",
    "free_port",
    "new_location",
    "new_store",
    "suite_backend",
]

#: The real corpus that ships with the project (tests/data/real/README.md).
REAL = Path(__file__).resolve().parent / "data" / "real"
#: Its Darwin Core archives and files (tests/data/real/archives.txt), in loading order.
REAL_ARCHIVES = tuple(
    line.strip()
    for line in (REAL / "archives.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


def _store_args(store: Path | str | StoreLocation | None) -> tuple[list[str], dict[str, str]]:
    """``--store`` and the other settings a subprocess needs for ``store``."""
    if store is None:
        return [], {}
    if isinstance(store, StoreLocation):
        return ["--store", store.location], dict(store.env)
    return ["--store", str(store)], {}


def run_cli(
    *args: str,
    store: Path | str | StoreLocation | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m collectomics`` for real, as a user would."""
    store_args, store_env = _store_args(store)
    cmd = [sys.executable, "-m", "collectomics", *store_args]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    full_env.update(store_env)
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


def build_demo_into(location: StoreLocation, workdir: Path) -> None:
    """The demo graph in ``location``: `collectomics demo --build-only` run in ``workdir``
    (``location`` must be its collectomics-demo.db, which it builds), or, on a server, what
    that command does, through the library (the command builds only into a directory)."""
    if not location.remote:
        assert location.path == workdir / "collectomics-demo.db", location
        r = run_cli("demo", "--build-only", cwd=workdir)
        assert r.returncode == 0, r.stderr
        return
    from collectomics.ingest.demo import build_demo
    from collectomics.iri import Minter

    with location.open() as store:
        for report in build_demo(store, Minter()):
            assert report.rejected == 0, report.summary()


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
    store: Path | StoreLocation,
    workdir: Path,
    settings: dict[str, str] | None = None,
    timeout: float = 60,
    stderr: int | IO[str] = subprocess.PIPE,
) -> tuple[str, subprocess.Popen[str]]:
    """Run `collectomics serve` on ``store`` on a free port with ``settings`` (COLLECTOMICS_*
    variables; the caller's own are dropped); return its URL once /health answers, and the
    process (stderr piped, text, unless ``stderr`` says otherwise), which the caller
    terminates."""
    import time

    import requests

    port = free_port()
    store_args, store_env = _store_args(store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    env.update(store_env)
    env.update(settings or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectomics", *store_args, "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
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
        except (requests.ConnectionError, requests.ReadTimeout):  # still starting: a busy machine
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not answer within {timeout:g} s") from None
            time.sleep(0.2)


def raw_answer(port: int, data: bytes, until: bytes = b"\r\n", timeout: float = 10.0) -> bytes:
    """What a server on 127.0.0.1 sends back to ``data`` (sent without closing our side), read
    until ``until`` appears or the server closes: a server that waits for more of a body than
    was sent makes this time out."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = b""
        while until not in response:
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    return response


def markdown_prose(text: str) -> str:
    """Markdown without its fenced code blocks (where a ``#`` line is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def markdown_anchors(text: str) -> set[str]:
    """The fragments a Markdown page answers to on GitHub: each heading's anchor (lower case,
    punctuation but ``-`` and ``_`` dropped, each space a hyphen; a repeated one gets ``-1``,
    ``-2``...) and each ``<a id>``/``<a name>``."""
    prose = markdown_prose(text)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose, re.M):
        base = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slug, n = base, 1
        while slug in found:
            slug, n = f"{base}-{n}", n + 1
        found.add(slug)
    return found | set(re.findall(r'<a (?:id|name)="([^"]+)"', prose))
