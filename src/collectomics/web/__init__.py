"""The Flask app (``create_app``): the SPARQL endpoint, canned queries, a query page and a landing
page. Queries run in worker processes (``collectomics.services.endpoint``) when the store is on disk."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from collectomics.analysis import identity
from collectomics.analysis.stats import graph_stats
from collectomics.config import Settings, load_settings
from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.services.description import void_description
from collectomics.services.endpoint import (
    InProcess,
    ReadOnlyStore,
    WorkerPool,
    limits_of,
    store_stamp,
)
from collectomics.services.queries import list_queries
from collectomics.services.sparqlcheck import plan_update
from collectomics.store import Store, is_remote, open_store
from collectomics.store.querylimits import check
from collectomics.web import frontend, graphstore, pages, security
from collectomics.web import views as views_bp
from collectomics.web.budget import Budget
from collectomics.web.compress import Gzip
from collectomics.web.sparql import CORS as _CORS
from collectomics.web.sparql import FastSparql, ProtocolError, bp, library_status

_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type, Authorization",
    "Access-Control-Max-Age": "86400",
}


class AppState:
    """What the routes share: settings, a way to run queries, the store for pages and stats."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None,
        runner_factory: Callable[[ReadOnlyStore], Any] | None = None,
    ) -> None:
        self.settings = settings
        self._given = store
        self._void: tuple[Any, str] | None = None
        self._stats: tuple[Any, dict[str, int]] | None = None
        self._lock = threading.Lock()
        if store is not None:
            self.runner: Any = InProcess(store, limits_of(settings))
            self._handle = None
        else:
            self._handle = ReadOnlyStore(settings.store)
            self._handle.get()  # fail now, with the store's path, if there is no store
            if runner_factory is not None:  # queries in this process (collectomics.web.server)
                self.runner = runner_factory(self._handle)
            else:
                self.runner = WorkerPool(
                    settings.store, settings.workers, settings.query_timeout, limits_of(settings)
                )

    def store(self) -> Store:
        return self._given if self._given is not None else self._handle.get()  # type: ignore[union-attr]

    def _key(self, store: Store) -> Any:
        """What changes when the store does: its stamp on disk, else its size and graphs."""
        if self._given is None and not is_remote(self.settings.store):
            return store_stamp(self.settings.store)
        return (store.count(), tuple(store.graphs()))

    def stats(self) -> dict[str, int]:
        """The landing page's counts, computed once per state of the store."""
        store = self.store()
        key = self._key(store)
        with self._lock:
            if self._stats is None or self._stats[0] != key:
                minter = Minter(self.settings.base_iri)
                self._stats = (key, graph_stats(store, minter).to_dict())
            return self._stats[1]

    def void(self, void_iri: str, endpoint: str) -> str:
        """The VoID description, computed once per state of the store."""
        store = self.store()
        key = (self._key(store), void_iri)
        with self._lock:
            if self._void is None or self._void[0] != key:
                self._void = (key, void_description(store, void_iri, endpoint))
            return self._void[1]

    def write(self, change: Callable[[Store], Any]) -> Any:
        """Apply ``change`` to a writable store (the routes checked that updates are allowed
        and authenticated). On disk the store is opened for this change only: one writer."""
        if self._given is not None:
            return change(self._given)
        if is_remote(self.settings.store):  # the server serialises writers
            s = self.settings
            with open_store(
                s.store, update_url=s.store_update_url, graph_store_url=s.store_graph_store_url
            ) as store:
                return change(store)
        with self._lock, _StoreLock(self.settings.store), open_store(self.settings.store) as store:
            return change(store)

    def retire(self) -> None:
        """A page overran its time budget and its thread cannot be stopped: ask the server to
        replace this process, when the runner offers a way (``collectomics.web.server``)."""
        retire = getattr(self.runner, "retire", None)
        if retire is None:  # the prefork server's runner: its watchdog knows the server
            server = getattr(getattr(self.runner, "watchdog", None), "server", None)
            retire = getattr(server, "retire", None)
        if retire is not None:
            retire()

    def update(self, sparql: str) -> None:
        """Run an update that names only datasets, at their current versions (``plan_update``
        refuses the catalog, ``DROP ALL``, graphs that are no dataset, the default graph); one
        too deep or too large for the parser is refused before it sees it."""
        check(sparql, limits_of(self.settings), what="update")

        def change(store: Store) -> None:
            datasets = {g: store.physical_graph(g) or g for g in store.graphs()}
            store.update(plan_update(sparql, datasets))
            # changed in place: the graphs keep their versions, which the identity graph's
            # stamp and the reconciliation index's key read (as a Graph Store POST does)
            identity.refresh(store, Minter(self.settings.base_iri), force=True)

        self.write(change)


class _StoreLock:
    """An exclusive lock on the store's directory across the server's processes (each HTTP
    worker process may apply an update): one writer at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: a single process serves
            return
        self.fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
            self.fd = -1


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def create_app(
    settings: Settings | None = None,
    store: Store | None = None,
    runner_factory: Callable[[ReadOnlyStore], Any] | None = None,
) -> Flask:
    """The WSGI app over ``store`` (queries run in this process, without a time limit), or by
    default over the store the settings name, queried by worker processes (or by the runner
    ``runner_factory`` makes from a read-only handle: ``collectomics.web.server``).

    Queries to ``/sparql`` take a fast path in front of Flask (``FastSparql``); answers worth
    it are gzipped for clients that accept it (``collectomics.web.compress``)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["collectomics"] = state = AppState(settings, store, runner_factory)
    app.config["COLLECTOMICS_SETTINGS"] = settings
    app.register_blueprint(bp)
    app.register_blueprint(graphstore.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(frontend.bp)
    app.register_blueprint(views_bp.bp)
    from collectomics.web import openapi as openapi_bp
    from collectomics.web import reconcile as reconcile_bp

    app.register_blueprint(reconcile_bp.bp)
    app.register_blueprint(openapi_bp.bp)

    @app.before_request
    def limits() -> Response | None:
        if len(request.query_string) > settings.max_request_bytes:
            return _text(
                414,
                f"the URL is longer than {settings.max_request_bytes} bytes (max_request_bytes); "
                "POST long queries",
            )
        return None

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers.update(_CORS)
        if request.method == "OPTIONS":
            response.headers.update(_PREFLIGHT)
        return security.secure(response)

    app.jinja_env.tests["linkable"] = security.linkable
    app.jinja_env.globals["csp_nonce"] = security.csp_nonce

    @app.errorhandler(ProtocolError)
    def protocol_error(exc: ProtocolError) -> Response:
        return _text(exc.status, exc.message, exc.headers)

    @app.errorhandler(CollectomicsError)
    def library_error(exc: CollectomicsError) -> Response:
        status, headers = library_status(exc)
        return _text(status, str(exc), headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        message = f"{exc.code} {exc.name}: {exc.description}"
        if exc.code == 405:
            message += f" (allowed: {headers.get('Allow', '')})"
        return _text(exc.code or 500, message, headers)

    @app.get("/")
    def index() -> str:
        return render_template(
            "index.html",
            stats=state.stats(),
            queries=list_queries(settings.queries_dir or None),
        )

    @app.get("/health")
    def health() -> Response:
        """The store opens and its catalog reads: no triple is counted (a probe stays cheap)."""
        return jsonify({"status": "ok", "datasets": len(state.store().graphs())})

    app.wsgi_app = Budget(  # type: ignore[method-assign]
        app.wsgi_app,
        settings.query_timeout,
        settings.threads,
        settings.max_request_bytes,
        [*_CORS.items(), *security.FAST_HEADERS],
        overrun=state.retire,
        # page sections in killable worker processes, when queries have them (not in-process)
        sections=None if isinstance(state.runner, InProcess) else state.runner,
        section_timeout=settings.section_timeout,
    )
    app.wsgi_app = Gzip(FastSparql(app.wsgi_app, app))  # type: ignore[method-assign]
    return app
