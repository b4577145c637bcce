#!/usr/bin/env python3
"""Set up a virtual environment from pyproject.toml and run one job in it.

    python3 dev.py demo [ARGS...]   install, build the demo graph and serve it on 127.0.0.1
    python3 dev.py test [ARGS...]   install with test extras and run the whole test suite
    python3 dev.py test --backend oxigraph-server|virtuoso [ARGS...]
                                    the whole suite with every store on such a server, started
                                    on 127.0.0.1 by the tests (COLLECTOMICS_TEST_BACKEND)
    python3 dev.py setup            only install
    python3 dev.py generate         after editing the ontology: regenerate src/collectomics/vocab.py
                                    and docs/ontology.{html,md} (.ci/tools/, outside the wheel)

Only the Python standard library is used here, so it runs on a fresh machine with Python 3.11+.
The environment lives in .venv/ and is reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
#: What `test --backend` takes (tests/remote_servers.py starts them).
BACKENDS = ("oxigraph-server", "virtuoso")


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def setup(extras: str = "test") -> None:
    """Create .venv and install the project (editable) with its extras, once per pyproject change."""
    if sys.version_info < (3, 11):
        sys.exit(f"Collectomics needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    stamp_file = VENV / ".collectomics-installed"
    want = _stamp() + ":" + extras
    if stamp_file.exists() and stamp_file.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    print("dev.py: installing collectomics and its dependencies", flush=True)
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[{extras}]"], check=True)
    stamp_file.write_text(want)


def setup_web() -> None:
    """Install the query page's front-end code (YASGUI) from the npm registry, per the lock file.

    Without npm the query page falls back to a plain form; it never loads code from a CDN."""
    lock = ROOT / "package-lock.json"
    stamp = ROOT / "node_modules" / ".collectomics-installed"
    if not lock.exists() or (stamp.exists() and stamp.read_text() == _hash(lock)):
        return
    npm = shutil.which("npm")
    if npm is None:
        print("dev.py: npm not found; the query page will be a plain form", flush=True)
        return
    print("dev.py: installing the query page's front-end code (npm ci)", flush=True)
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    if subprocess.call(cmd, cwd=ROOT) == 0:
        stamp.write_text(_hash(lock))


def _apt_install(package: str) -> None:
    """``apt-get install`` one Debian package, without its recommends (root only)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0"]
    subprocess.call([*apt, "update"], env=env, stdout=subprocess.DEVNULL)
    subprocess.call([*apt, "install", "--no-install-recommends", package], env=env)


def setup_browser() -> None:
    """Install Debian's chromium for the headless browser test, when missing and we are root."""
    if any(shutil.which(name) for name in ("chromium", "chromium-browser")):
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("dev.py: chromium is missing; the browser test will fail (apt-get install chromium)")
        return
    print("dev.py: installing chromium for the browser test (apt-get)", flush=True)
    _apt_install("chromium")


def setup_virtuoso() -> None:
    """Install Debian's Virtuoso open source for the remote-store tests, when missing and root."""
    if shutil.which("virtuoso-t"):
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            "dev.py: virtuoso-t is missing; its remote-store tests will fail "
            "(apt-get install virtuoso-opensource)"
        )
        return
    print("dev.py: installing virtuoso-opensource for the remote-store tests (apt-get)", flush=True)
    _apt_install("virtuoso-opensource")


def setup_openrefine() -> None:
    """Install Debian's OpenRefine (3.6.2, with a JRE) for the OpenRefine tests, when missing and
    we are root."""
    if shutil.which("openrefine") or Path("/usr/share/openrefine/refine").exists():
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            "dev.py: openrefine is missing; the OpenRefine tests will fail (apt-get install openrefine)"
        )
        return
    print("dev.py: installing openrefine for the OpenRefine tests (apt-get)", flush=True)
    _apt_install("openrefine")


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _take_backend(args: list[str]) -> tuple[str | None, list[str]]:
    """``--backend KIND`` (or ``--backend=KIND``) at the head of ``args``, and the rest."""
    if args[:1] == ["--backend"]:
        if len(args) < 2:
            raise ValueError("--backend needs a value: " + ", ".join(BACKENDS))
        kind, rest = args[1], args[2:]
    elif args and args[0].startswith("--backend="):
        kind, rest = args[0].split("=", 1)[1], args[1:]
    else:
        return None, args
    if kind not in BACKENDS:
        raise ValueError(f"--backend is one of {', '.join(BACKENDS)}, not {kind!r}")
    return kind, rest


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup", "generate"}:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    backend = None
    if job == "test":
        try:
            backend, rest = _take_backend(rest)
        except ValueError as exc:
            print(f"dev.py: {exc}")
            return 2
    setup()
    if (
        job == "generate"
    ):  # the developer tools, outside the wheel: vocab.py, then the ontology docs
        tools = ROOT / ".ci" / "tools"
        for tool in ("vocabgen.py", "ontodoc.py"):
            if subprocess.call([str(PY), str(tools / tool)], cwd=ROOT):
                return 1
        return 0
    setup_web()
    if job == "test":
        setup_browser()
        setup_virtuoso()
        setup_openrefine()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if backend is not None:
        env["COLLECTOMICS_TEST_BACKEND"] = backend
        print(f"dev.py: every store of the suite on a server: {backend}", flush=True)
    if job == "setup":
        return 0
    if job == "demo":
        cmd = [str(BIN / "collectomics"), "demo", *rest]
    else:
        cmd = [str(PY), "-m", "pytest", *rest]
    print("dev.py: " + " ".join(cmd), flush=True)
    try:
        return subprocess.call(cmd, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
