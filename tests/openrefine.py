"""Real OpenRefine (Debian's 3.6.2) and a real headless Chromium, driven the way a volunteer's
OpenRefine is: the HTTP commands its web UI posts, and its web UI itself over the Chrome DevTools
protocol. Used by tests/test_openrefine.py and benchmarks/openrefine.py.

- :class:`OpenRefine` starts ``openrefine`` on 127.0.0.1 (a free port, a temporary workspace
  ``-d``, a bounded heap ``-m``, ``refine.headless`` so it opens no browser), waits for it with a
  bounded timeout, and speaks its commands: ``get-csrf-token``, ``create-project-from-upload``,
  ``reconcile``, ``get-processes``, ``get-rows``, ``extend-data``, ``set-preference``.
- :class:`Browser` runs Debian's ``chromium`` headless with ``--remote-debugging-port`` and
  drives one page: navigate, evaluate, wait for a condition, move the mouse, type, and take
  screenshots. Every host but 127.0.0.1 is unresolvable in it, so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests

from remote_servers import free_port

#: Where Debian's package puts the launcher (``/usr/bin/openrefine`` runs it from its folder).
REFINE_HOME = Path("/usr/share/openrefine")
#: Processes of OpenRefine's long operations (reconcile, extend-data) are awaited at most this.
PROCESS_TIMEOUT = 300.0


def openrefine_binary() -> str:
    """The ``openrefine`` launcher; fails with how to install it."""
    binary = shutil.which("openrefine")
    assert binary or (REFINE_HOME / "refine").exists(), (
        "openrefine is not installed: `python3 dev.py test` installs it (apt-get install openrefine)"
    )
    return binary or str(REFINE_HOME / "refine")


class OpenRefine:
    """One OpenRefine server on 127.0.0.1, with its workspace in ``workdir``."""

    def __init__(self, workdir: Path, memory: str = "768M", timeout: float = 180) -> None:
        self.workdir = workdir
        workspace = workdir / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "openrefine.log").open("w")
        cmd = [openrefine_binary(), "-i", "127.0.0.1", "-p", str(self.port),
               "-d", str(workspace), "-m", memory, "-x", "refine.headless=true", "run"]  # fmt: skip
        # its own session, so that stop() ends the launcher shell and the JVM it started
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.http = requests.Session()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"OpenRefine exited: {self._log_tail()}")
            try:
                version = self.http.get(self.url + "/command/core/get-version", timeout=5).json()
                self.version: str = version["version"]
                break
            except (requests.ConnectionError, requests.ReadTimeout, ValueError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(
                        f"OpenRefine did not answer within {timeout:g} s: {self._log_tail()}"
                    ) from None
                time.sleep(0.5)

    def _log_tail(self) -> str:
        self.log.flush()
        return (self.workdir / "openrefine.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """End OpenRefine (its process group: the launcher and its JVM)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.log.close()

    def rss_bytes(self) -> int:
        """Resident memory of OpenRefine: its launcher shell and the JVM it runs, from /proc."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return sum(proc_rss(int(pid)) for pid in [self.proc.pid, *map(int, children)])

    # -- commands -------------------------------------------------------------------------------

    def token(self) -> str:
        r = self.http.get(self.url + "/command/core/get-csrf-token", timeout=30)
        r.raise_for_status()
        return str(r.json()["token"])

    def post(self, command: str, params: dict[str, Any] | None = None, **form: str) -> Any:
        """POST a core command as the web UI does (``Refine.postCSRF``): a form with the token;
        a JSON answer whose ``code`` is ``error`` fails."""
        data = {"csrf_token": self.token(), **form}
        r = self.http.post(
            f"{self.url}/command/core/{command}", params=params or {}, data=data, timeout=120
        )
        r.raise_for_status()
        answer = r.json()
        assert answer.get("code") != "error", f"{command}: {answer}"
        return answer

    def create_project(self, name: str, csv_text: str) -> str:
        """A project from a CSV (header line, comma-separated, UTF-8); its id."""
        options = {"separator": ",", "headerLines": 1, "encoding": "UTF-8",
                   "guessCellValueTypes": False, "storeBlankCellsAsNulls": True}  # fmt: skip
        r = self.http.post(
            f"{self.url}/command/core/create-project-from-upload",
            params={"csrf_token": self.token()},
            files={"project-file": (f"{name}.csv", csv_text.encode("utf-8"), "text/csv")},
            data={
                "project-name": name,
                "format": "text/line-based/*sv",
                "options": json.dumps(options),
            },  # fmt: skip
            allow_redirects=False,
            timeout=120,
        )
        assert r.status_code == 302, (r.status_code, r.text[:500])
        return r.headers["Location"].rsplit("project=", 1)[1]

    def register_service(self, service_url: str) -> dict[str, Any]:
        """Remember a standard reconciliation service as the web UI's "Add Standard Service"
        does (``ReconciliationManager``): its manifest, with ``url`` and ``ui``, stored in the
        ``reconciliation.standardServices`` preference; the manifest."""
        manifest: dict[str, Any] = requests.get(service_url, timeout=60).json()
        manifest["url"] = service_url
        manifest["ui"] = {"handler": "ReconStandardServicePanel", "access": "json"}
        self.http.post(
            f"{self.url}/command/core/set-preference",
            params={"name": "reconciliation.standardServices"},
            data={"value": json.dumps([manifest]), "csrf_token": self.token()},
            timeout=30,
        ).raise_for_status()
        return manifest

    def reconcile(
        self,
        project: str,
        column: str,
        service_url: str,
        manifest: dict[str, Any],
        type_id: str | None = "Person",
        details: Iterable[tuple[str, str]] = (),
        auto_match: bool = True,
        timeout: float = PROCESS_TIMEOUT,
    ) -> float:
        """Reconcile ``column`` with a standard service, as the reconciliation dialog posts it;
        ``details`` are (column, property id) pairs. Returns the seconds until it finished."""
        config = {
            "mode": "standard-service",
            "service": service_url,
            "identifierSpace": manifest["identifierSpace"],
            "schemaSpace": manifest["schemaSpace"],
            "type": {"id": type_id, "name": type_id} if type_id else None,
            "autoMatch": auto_match,
            "columnDetails": [{"column": c, "property": {"id": p, "name": p}} for c, p in details],
            "limit": 0,
        }
        t = time.perf_counter()
        self.post("reconcile", {"project": project}, columnName=column,
                  config=json.dumps(config), engine=ENGINE)  # fmt: skip
        self.wait_idle(project, timeout)
        return time.perf_counter() - t

    def extend(
        self, project: str, column: str, service_url: str, manifest: dict[str, Any],
        properties: list[dict[str, str]], insert_at: int,
    ) -> None:  # fmt: skip
        """Add columns from reconciled values (``extend-data``), as the extension dialog posts
        it (menu-edit-column.js: the service goes as ``endpoint``)."""
        params = {"project": project, "baseColumnName": column, "endpoint": service_url,
                  "identifierSpace": manifest["identifierSpace"],
                  "schemaSpace": manifest["schemaSpace"], "columnInsertIndex": str(insert_at)}  # fmt: skip
        self.post("extend-data", params, extension=json.dumps({"properties": properties}),
                  engine=ENGINE)  # fmt: skip
        self.wait_idle(project)

    def wait_idle(self, project: str, timeout: float = PROCESS_TIMEOUT) -> None:
        """Wait until the project has no running or pending process."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.http.get(
                self.url + "/command/core/get-processes", params={"project": project}, timeout=30
            )
            if not r.json()["processes"]:
                return
            assert time.monotonic() < deadline, f"still busy after {timeout:g} s: {r.text[:500]}"
            time.sleep(0.2)

    def columns(self, project: str) -> list[dict[str, Any]]:
        r = self.http.get(
            self.url + "/command/core/get-models", params={"project": project}, timeout=30
        )
        return list(r.json()["columnModel"]["columns"])

    def rows(self, project: str, limit: int = 100_000) -> list[list[dict[str, Any] | None]]:
        """Every row's cells, in the order of the columns' cell indices, with each cell's recon
        (``r``) resolved from the answer's pool."""
        r = self.http.get(
            self.url + "/command/core/get-rows",
            params={"project": project, "start": 0, "limit": limit},
            timeout=120,
        )
        answer = r.json()
        recons = answer.get("pool", {}).get("recons", {})
        out = []
        for row in answer["rows"]:
            cells = []
            for cell in row["cells"]:
                if cell and "r" in cell:
                    cell = dict(cell, r=recons[str(cell["r"])])
                cells.append(cell)
            out.append(cells)
        return out

    def table(self, project: str) -> list[dict[str, dict[str, Any] | None]]:
        """Every row as {column name: cell}."""
        index = {c["name"]: c["cellIndex"] for c in self.columns(project)}
        rows = self.rows(project)
        return [
            {name: (row[i] if i < len(row) else None) for name, i in index.items()} for row in rows
        ]


#: The engine the web UI sends with an operation: every row, no facet.
ENGINE = json.dumps({"facets": [], "mode": "row-based"})


def proc_rss(pid: int) -> int:
    """A process's resident memory in bytes (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """A CSV document (RFC 4180 quoting) of ``rows`` under ``header``."""
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


# -- a headless Chromium over the DevTools protocol ----------------------------------------------


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol (CDP)."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        import websocket  # websocket-client: the test extras

        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary, "chromium is not installed: `python3 dev.py test` installs it (apt-get)"
        profile.mkdir(parents=True, exist_ok=True)
        cmd = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
            # nothing but this machine: every other host name fails to resolve
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [
            t
            for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=30).json()
            if t["type"] == "page"
        ]
        self.ws = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self._id = 0
        #: where wait_for saves what the page showed when it gave up (None: nowhere)
        self.failure_shot: Path | None = None
        #: every event received, in order (``method``, ``params``)
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=height, deviceScaleFactor=1, mobile=False,
        )  # fmt: skip

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its result (events that arrive meanwhile are kept)."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                assert "error" not in message, f"{method}: {message['error']}"
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str, context: int | None = None) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        params: dict[str, Any] = {"expression": expression, "returnByValue": True,
                                  "awaitPromise": True}  # fmt: skip
        if context is not None:
            params["contextId"] = context
        result = self.send("Runtime.evaluate", **params)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:200]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, what: str = "") -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                if self.failure_shot is not None:
                    self.failure_shot.parent.mkdir(parents=True, exist_ok=True)
                    self.screenshot(self.failure_shot)
                raise AssertionError(f"waited {timeout:g} s for {what or expression}")
            time.sleep(0.2)

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def center(self, selector: str) -> tuple[float, float]:
        """The middle of the first element that ``selector`` finds, scrolled into view."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        assert box, f"no element {selector}"
        return float(box[0]), float(box[1])

    def hover(self, selector: str) -> None:
        """Move the mouse over an element, as a person does (mouseenter, mouseover)."""
        x, y = self.center(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x - 2, y=y)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def click(self, selector: str) -> None:
        x, y = self.center(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_text(self, text: str) -> None:
        """Type into the focused element, key by key."""
        for ch in text:
            self.send("Input.dispatchKeyEvent", type="keyDown", text=ch, key=ch, unmodifiedText=ch)
            self.send("Input.dispatchKeyEvent", type="keyUp", key=ch)

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def drain(self, seconds: float = 0.0) -> None:
        """Read the events that arrive within ``seconds``."""
        import websocket

        deadline = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while True:
                try:
                    message = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    if time.monotonic() >= deadline:
                        return
                    continue
                if "method" in message:
                    self.events.append(message)
        finally:
            self.ws.settimeout(60)

    def requested(self, keep: Callable[[str], bool] = lambda url: True) -> list[str]:
        """The URLs the page has requested so far (and the events read)."""
        self.drain()
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent" and keep(e["params"]["request"]["url"])
        ]

    def responses(self) -> dict[str, int]:
        """Status of every response received so far, by URL (the last one wins)."""
        self.drain()
        return {
            e["params"]["response"]["url"]: int(e["params"]["response"]["status"])
            for e in self.events
            if e["method"] == "Network.responseReceived"
        }

    def frame_text(self, url_prefix: str, timeout: float = 30) -> str:
        """The text of the (first) frame whose document URL starts with ``url_prefix``: a
        preview's iframe, read through its own execution context."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            frames = _frames(self.send("Page.getFrameTree")["frameTree"])
            wanted = {fid for fid, url in frames.items() if url.startswith(url_prefix)}
            contexts = [
                e["params"]["context"]["id"]
                for e in self.events
                if e["method"] == "Runtime.executionContextCreated"
                and e["params"]["context"].get("auxData", {}).get("frameId") in wanted
            ]
            for ctx in reversed(contexts):
                try:
                    text = self.evaluate("document.body ? document.body.innerText : ''", ctx)
                except AssertionError:  # a context already gone (the popup was redrawn)
                    continue
                if text:
                    return str(text)
            assert time.monotonic() < deadline, f"no frame at {url_prefix} with text"
            time.sleep(0.2)


def _frames(tree: dict[str, Any]) -> dict[str, str]:
    """Every frame of a CDP frame tree: id -> document URL."""
    out = {tree["frame"]["id"]: tree["frame"]["url"]}
    for child in tree.get("childFrames", []):
        out.update(_frames(child))
    return out
