"""A time budget for every route that reads the store outside the query runner: entity pages,
``/views/*``, the dashboard, reconciliation, the Graph Store's GET, VoID... (``/sparql`` and
``/queries/<name>`` have the runner's own limit, which stops the query itself).

Such a request runs in a thread of its own; when it has not answered within ``query_timeout``
seconds the client gets a 503 that says so. pyoxigraph cannot cancel the work: the thread runs
to its end, holding one of at most ``threads`` slots per process, so that slow pages can fill
the slots (further requests get a 503 "busy") but never take more than that many threads; and
the process is asked to retire when the server it runs in can replace it (``collectomics
serve``: it exits once its other requests are answered, which stops the work).

Page sections are computed apart (``collectomics.services.sections``): for the time of each request the
middleware hands the app's worker pool to ``run_sections``, which runs every section in a worker
process under ``section_timeout``, killed past it, so that one slow section costs its own
message and no CPU beyond its budget, and the page around it answers."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from collectomics.services.sections import Runner, server_timing, use_runner

#: Paths answered without the budget: the query runner's own limit, static files, and the
#: health probe, which reads no triple.
EXEMPT = ("/sparql", "/queries/", "/assets/", "/health")
_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "5")]


class Budget:
    """WSGI middleware: ``app`` answers each read within ``timeout`` seconds, or the client
    gets a 503 naming the setting."""

    def __init__(
        self,
        app: WSGIApplication,
        timeout: float,
        slots: int,
        max_body: int,
        extra_headers: list[tuple[str, str]],
        overrun: Callable[[], None] | None = None,
        sections: Runner | None = None,
        section_timeout: float = 0.0,
    ) -> None:
        self.app = app
        self.sections = sections
        self.section_timeout = section_timeout
        self.timeout = timeout
        self.slots = threading.BoundedSemaphore(max(1, slots))
        self.max_body = max_body
        self.extra_headers = extra_headers
        self.overrun = overrun

    def _budgeted(self, environ: WSGIEnvironment) -> bool:
        if self.timeout <= 0:
            return False
        path = environ.get("PATH_INFO", "")
        if path == "/sparql" or path.startswith(EXEMPT):
            return False
        method = environ.get("REQUEST_METHOD", "GET")
        # writes are never cut off half-way (a 503 for a change that then commits would lie);
        # reconciliation queries come by POST too, and are reads
        return method in ("GET", "HEAD") or path.startswith("/reconcile")

    def _refuse(self, start_response: StartResponse, message: str) -> list[bytes]:
        body = (message + "\n").encode("utf-8")
        start_response(
            "503 Service Unavailable",
            [*_HEADERS, ("Content-Length", str(len(body))), *self.extra_headers],
        )
        return [body]

    def _read_body(self, environ: WSGIEnvironment) -> bool:
        """Read a request's body here, so that the connection is never read by a thread that
        runs on after its answer; False when it is too large or has no length (then Flask
        answers it without the budget: 413, or a body it reads itself)."""
        if environ.get("REQUEST_METHOD") not in ("POST", "PUT"):
            return True
        if "collectomics.body" in environ:  # read whole by the server already
            return True
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return False
        if not 0 <= length <= self.max_body:
            return False
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return True

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The app, with page sections handed to the worker pool (each within
        ``section_timeout``; a free worker awaited for what is left of ``query_timeout``)."""
        if self.sections is None:
            return self.app(environ, start_response)
        wait = None
        if self.timeout > 0:
            wait = max(0.1, self.timeout - self.section_timeout)
        with use_runner(self.sections, self.section_timeout, wait) as computed:

            def timed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                if computed:  # the page's sections and their times, for browsers and benchmarks
                    headers = [*headers, ("Server-Timing", server_timing(computed))]
                return start_response(status, headers, exc_info)

            return self.app(environ, timed)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._budgeted(environ) or not self._read_body(environ):
            return self._app(environ, start_response)
        deadline = time.monotonic() + self.timeout
        if not self.slots.acquire(timeout=self.timeout):
            return self._refuse(
                start_response,
                f"every page slot stayed busy for {self.timeout:g} s (the query_timeout "
                "setting): slower pages are still being computed; try again later",
            )
        answer: dict[str, Any] = {}
        finished = threading.Event()

        def work() -> None:
            try:
                body: list[bytes] = []

                def capture(
                    status: str, headers: list[tuple[str, str]], exc_info: Any = None
                ) -> Any:
                    answer["head"] = (status, headers)
                    return body.append

                result = self._app(environ, capture)
                try:
                    body.extend(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                answer["body"] = body
                answer["done"] = time.monotonic()
            except BaseException as exc:  # noqa: BLE001 - handed to the request's thread
                answer["error"] = exc
            finally:
                self.slots.release()
                finished.set()

        threading.Thread(target=work, name="budgeted-request", daemon=True).start()
        # judged by when the work finished, not by when this thread looked: on a busy machine
        # it may get the interpreter back only after a late answer is ready
        in_time = finished.wait(max(0.0, deadline - time.monotonic()))
        if not in_time or answer.get("done", deadline) > deadline:
            if self.overrun is not None:
                self.overrun()
            path = environ.get("PATH_INFO", "")[:200]
            return self._refuse(
                start_response,
                f"{path} took longer than {self.timeout:g} s (the query_timeout setting) and "
                "was given up; ask for less (a smaller limit, depth or page) or try again later",
            )
        if "error" in answer:
            raise answer["error"]
        status, headers = answer["head"]
        start_response(status, headers)
        body: list[bytes] = answer["body"]
        return body
