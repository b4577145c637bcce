"""The SPARQL 1.1 Protocol endpoint at ``/sparql``, its descriptions and the canned queries."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from collectomics.errors import CollectomicsError, QueryError, QueryNotFound, StoreError
from collectomics.iri import Minter
from collectomics.model import iri_is_valid
from collectomics.services.description import convert, service_description
from collectomics.services.endpoint import (
    CHUNK,
    EndpointBusy,
    Job,
    QueryTimeout,
    UpdateRefused,
    read_query,
)
from collectomics.services.queries import Lookup, get_query, list_queries
from collectomics.services.sparqlcheck import (
    GraphRefused,
    check_services,
    has_relative_iri,
    service_targets,
)
from collectomics.store import RDF_FORMATS, RESULT_FORMATS
from collectomics.web.negotiate import choose, prefers_html
from collectomics.web.security import FAST_HEADERS

bp = Blueprint("sparql", __name__)

RESULT_MEDIA = {name: media for name, (_, media) in RESULT_FORMATS.items()}
RDF_MEDIA = {name: media for name, (_, media) in RDF_FORMATS.items()}
ALL_MEDIA = {**RESULT_MEDIA, **RDF_MEDIA}

_CURL_HINT = (
    "The query has no '{': if you sent it with curl, curl's URL globbing removed the braces. "
    "Use curl -g (--globoff), or curl -G --data-urlencode 'query=...'."
)
_EXAMPLE = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?country (COUNT(?s) AS ?specimens) WHERE {
  ?s a dwc:MaterialEntity ; dwc:countryCode ?country .
} GROUP BY ?country ORDER BY DESC(?specimens)"""


#: On every answer, errors included.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Type, Content-Length, Vary, Collectomics-Max-Rows",
}


def library_status(exc: CollectomicsError) -> tuple[int, dict[str, str]]:
    """The HTTP status (and extra headers) for an error of the library."""
    if isinstance(exc, QueryNotFound):
        return 404, {}
    if isinstance(exc, (UpdateRefused, GraphRefused)):
        return 403, {}
    if isinstance(exc, EndpointBusy):
        return 503, {"Retry-After": "5"}
    if isinstance(exc, (QueryTimeout, StoreError)):
        return 503, {}
    return 400, {}


class ProtocolError(Exception):
    """A request the protocol refuses: a status and a reason for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def script_json(data: object) -> Markup:
    """JSON safe inside a <script> element: no '<', '>' or '&' that could end it."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above for a script element


def state() -> Any:
    return current_app.extensions["collectomics"]


def media_type(fmt: str) -> str:
    """The Content-Type for one of our formats: all are UTF-8 text, and say so."""
    return ALL_MEDIA[fmt] + "; charset=utf-8"


def _negotiated(explicit: list[str]) -> dict[str, str | None]:
    """Chosen format per result kind; an explicit ``format`` parameter beats the Accept header."""
    return negotiated("\x00".join(explicit) or None, request.headers.get("Accept"))


_CHOSEN: dict[tuple[str | None, str | None], dict[str, str | None]] = {}


def negotiated(explicit: str | None, accept: str | None) -> dict[str, str | None]:
    """Chosen format per result kind for a ``format`` parameter and an Accept header (the
    answers are remembered: clients send the same few headers again and again)."""
    key = (explicit, accept)
    chosen = _CHOSEN.get(key)
    if chosen is None:
        chosen = _negotiate(explicit, accept)
        if len(_CHOSEN) > 512:
            _CHOSEN.clear()
        _CHOSEN[key] = chosen
    return dict(chosen)


#: ``format`` values (ours, SPARQLWrapper's, media types) -> (SELECT/ASK format, graph format):
#: a client that asks for "xml" or "json" gets the fitting kind for the query's form.
FORMAT_NAMES: dict[str, tuple[str | None, str | None]] = {
    **{name: (name, None) for name in RESULT_MEDIA},
    **{name: (None, name) for name in RDF_MEDIA},
    **{media: (name, None) for name, media in RESULT_MEDIA.items()},
    **{media: (None, name) for name, media in RDF_MEDIA.items()},
    "json": ("json", "jsonld"),
    "xml": ("xml", "rdfxml"),
    "application/json": ("json", "jsonld"),
    "application/xml": ("xml", "rdfxml"),
    "n3": (None, "turtle"),
    "text/n3": (None, "turtle"),
    "rdf": (None, "rdfxml"),
    "rdf+xml": (None, "rdfxml"),
    "json-ld": (None, "jsonld"),
}


def _explicit(values: list[str]) -> tuple[str | None, str | None]:
    """The formats a ``format`` parameter names. SPARQLWrapper repeats it (a name, then a media
    type, or an empty value): the first value we know wins, empty values are ignored."""
    given = [v.strip() for v in values if v.strip()]
    for value in given:
        found = FORMAT_NAMES.get(value) or FORMAT_NAMES.get(value.lower())
        if found is not None:
            return found
    raise ProtocolError(400, f"unknown format {given[0]!r}; known: {', '.join(FORMAT_NAMES)}")


def _negotiate(explicit: str | None, accept: str | None) -> dict[str, str | None]:
    values = explicit.split("\x00") if explicit else []
    if any(v.strip() for v in values):
        select, graph = _explicit(values)
    else:
        select = choose(accept, RESULT_MEDIA, "json")
        graph = choose(accept, RDF_MEDIA, "turtle")
        if select is None and graph is None:
            offered = ", ".join(ALL_MEDIA.values())
            raise ProtocolError(
                406, f"no acceptable format for any SPARQL result; offered: {offered}"
            )
    return {"select": select, "ask": select, "graph": graph}


def _form() -> MultiDict[str, str]:
    """A form-encoded body, decoded strictly: a body that is not UTF-8 is refused."""
    raw = request.get_data(cache=True)
    try:
        return MultiDict(
            parse_qsl(
                raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"
            )
        )
    except UnicodeDecodeError:
        raise ProtocolError(
            400, "the request body is not UTF-8 (percent-encoded UTF-8 expected)"
        ) from None


def _charset_is_utf8() -> None:
    charset = request.mimetype_params.get("charset")
    if charset and charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise ProtocolError(415, f"only UTF-8 is accepted, not charset={charset}")


def _body_text() -> str:
    _charset_is_utf8()
    try:
        return request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "the request body is not UTF-8") from None


def _one(params: MultiDict[str, str], name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise ProtocolError(400, f"more than one {name!r} parameter ({len(values)} given)")
    return values[0] if values else None


def _read_request() -> tuple[str | None, str | None, MultiDict[str, str]]:
    """(query, update, all parameters) from a GET, a form POST or a direct POST."""
    params: MultiDict[str, str] = MultiDict(request.args.items(multi=True))
    query = update = None
    if request.method == "POST":
        ctype = request.mimetype
        if ctype == "application/x-www-form-urlencoded":
            _charset_is_utf8()
            for key, value in _form().items(multi=True):
                params.add(key, value)
        elif ctype == "application/sparql-query":
            query = _body_text()
            if "query" in params:
                raise ProtocolError(400, "a query in the body and a 'query' parameter: send one")
        elif ctype == "application/sparql-update":
            update = _body_text()
        elif not ctype:
            raise ProtocolError(
                415,
                "a POST needs a Content-Type: application/sparql-query (the query as the body) "
                "or application/x-www-form-urlencoded (the form field 'query')",
            )
        else:
            raise ProtocolError(
                415,
                f"cannot read a {ctype} body; POST a query as application/sparql-query or as the "
                "form field 'query' (application/x-www-form-urlencoded)",
            )
    if query is None:
        query = _one(params, "query")
    if update is None:
        update = _one(params, "update")
    elif "update" in params:
        raise ProtocolError(400, "an update in the body and an 'update' parameter: send one")
    if query is not None and update is not None:
        raise ProtocolError(400, "a request carries either a 'query' or an 'update', not both")
    return query, update, params


def check_token() -> None:
    token = state().settings.update_token
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    # compared as bytes: a token that is not ASCII is just a wrong token
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(value.strip().encode("utf-8"), token.encode("utf-8"))
    ):
        raise ProtocolError(
            401,
            "updates need the token of the update_token setting: Authorization: Bearer TOKEN",
            {"WWW-Authenticate": 'Bearer realm="collectomics"'},
        )


def _run_update(update: str) -> Response:
    settings = state().settings
    if not (settings.allow_updates and settings.update_token):
        raise ProtocolError(403, "this endpoint is read-only: SPARQL updates are refused")
    if request.method != "POST":
        raise ProtocolError(405, "send updates with POST", {"Allow": "GET, HEAD, OPTIONS, POST"})
    check_token()
    if not update.strip():
        raise ProtocolError(400, "the 'update' is empty")
    check_services(update, frozenset(settings.federation_endpoints.split()))
    state().update(update)
    return Response(status=204)


def _dataset(params: MultiDict[str, str]) -> tuple[list[str] | None, list[str] | None]:
    default = params.getlist("default-graph-uri")
    named = params.getlist("named-graph-uri")
    for name, values in (("default-graph-uri", default), ("named-graph-uri", named)):
        for value in values:
            if not iri_is_valid(value):
                raise ProtocolError(400, f"{name} is not an absolute IRI: {value[:200]!r}")
    if not default and not named:
        return None, None
    return default, named


@functools.lru_cache(maxsize=256)
def _inspect(query: str) -> tuple[tuple[str | None, ...], bool]:
    """(the SERVICE endpoints, holds a relative IRI without BASE) of a query text."""
    services = tuple(service_targets(query)) if "SERVICE" in query.upper() else ()
    relative = has_relative_iri(query)
    return services, relative


def guard_query(query: str, endpoint: str, allowed: str) -> str:
    """The query to run for ``query``: SERVICE only to the allowed endpoints (ServiceRefused
    before any request is made), relative IRIs resolved against the endpoint's address."""
    services, relative = _inspect(query)
    if services:
        check_services(query, frozenset(allowed.split()))
    if relative:
        return f"BASE <{endpoint}>\n{query}"
    return query


def _describe_service() -> Response:
    if prefers_html(request.headers.get("Accept")):
        return query_page()
    fmt = choose(request.headers.get("Accept"), RDF_MEDIA, "turtle")
    if fmt is None:
        raise ProtocolError(406, f"the service description is in {', '.join(RDF_MEDIA.values())}")
    endpoint = url_for("sparql.sparql", _external=True)
    void = url_for("sparql.void", _external=True)
    text = service_description(endpoint, void, updates=bool(state().settings.allow_updates))
    response = Response(convert(text, fmt), content_type=media_type(fmt))
    response.headers["Vary"] = "Accept"
    return response


def query_page() -> Response:
    """The query page: YASGUI with the canned queries as example tabs, or a plain form."""
    from collectomics.web.frontend import yasgui_dir

    queries = list_queries(state().settings.queries_dir or None)
    examples = [{"name": "Example", "query": _EXAMPLE}] + [
        {"name": q.title, "query": q.text} for q in queries
    ]
    endpoint = url_for("sparql.sparql", _external=True)
    return Response(
        render_template(
            "query.html",
            example=_EXAMPLE,
            queries=queries,
            yasgui=yasgui_dir() is not None,
            endpoint=endpoint,
            endpoint_json=script_json(endpoint),
            examples=script_json(examples),
        ),
        content_type="text/html; charset=utf-8",
        headers={"Vary": "Accept"},
    )


def answer(job: Job) -> Response:
    """Run ``job`` and stream its answer, with the headers of the chosen format."""
    result = state().runner.run(job)
    header = result.header
    if header.fmt is None:
        offered = RDF_MEDIA if header.kind == "graph" else RESULT_MEDIA
        raise ProtocolError(
            406,
            f"no acceptable format for a {header.kind.upper()} result; offered: "
            + ", ".join(offered.values()),
        )
    if result.complete is not None:  # small: one piece, with a Content-Length
        response = Response(result.complete, content_type=media_type(header.fmt))
    else:
        chunks = result.chunks
        if request.method == "HEAD":
            for _ in chunks:  # the same work as GET, without the body
                pass
            chunks = iter(())
        response = Response(chunks, content_type=media_type(header.fmt), direct_passthrough=True)
    response.headers["Vary"] = "Accept"
    if header.capped:
        response.headers["Collectomics-Max-Rows"] = str(job.max_rows)
    return response


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    query, update, params = _read_request()
    if update is not None:
        return _run_update(update)
    if query is None:
        if request.method in ("GET", "HEAD") and not params:
            return _describe_service()
        raise ProtocolError(
            400,
            "missing the 'query' parameter (parameters given: "
            + ", ".join(sorted(set(params)))[:200]
            + ")",
        )
    if not query.strip():
        raise ProtocolError(400, "the 'query' parameter is empty")
    if read_query(query).looks_like_update:
        raise ProtocolError(
            403, "this is a SPARQL update; the endpoint is read-only and answers queries only"
        )
    default_graphs, named_graphs = _dataset(params)
    settings = state().settings
    query = guard_query(
        query, url_for("sparql.sparql", _external=True), settings.federation_endpoints
    )
    job = Job(
        query,
        _negotiated(params.getlist("format")),
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        max_rows=state().settings.max_rows,
    )
    try:
        return answer(job)
    except QueryError as exc:
        if "{" not in query and request.method == "GET":
            # curl's URL globbing turns '{?s ?p ?o}' into '?s ?p ?o' before sending.
            raise ProtocolError(400, f"{exc}\n{_CURL_HINT}") from None
        raise


@bp.get("/query")
def query_ui() -> Response:
    """The query page at its own address (``?query=`` fills the editor, ``&run=1`` runs it)."""
    return query_page()


@bp.get("/void")
def void() -> Response:
    fmt = choose(request.headers.get("Accept"), RDF_MEDIA, "turtle")
    if fmt is None:
        raise ProtocolError(406, f"the VoID description is in {', '.join(RDF_MEDIA.values())}")
    text = state().void(
        url_for("sparql.void", _external=True), url_for("sparql.sparql", _external=True)
    )
    response = Response(convert(text, fmt), content_type=media_type(fmt))
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/.well-known/void")
def well_known_void() -> Response:
    return Response(status=303, headers={"Location": url_for("sparql.void")})


@bp.get("/queries")
def queries_index() -> Response:
    listing = list_queries(state().settings.queries_dir or None)
    if prefers_html(request.headers.get("Accept")) and request.args.get("format") != "json":
        return Response(
            render_template("queries.html", queries=listing),
            content_type="text/html; charset=utf-8",
            headers={"Vary": "Accept"},
        )
    response = jsonify(
        [
            {
                "name": q.name,
                "title": q.title,
                "description": q.description,
                "parameters": [p.__dict__ for p in q.parameters],
                "query": q.text,
            }
            for q in listing
        ]
    )
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/queries/<name>")
def run_canned(name: str) -> Response:
    query = get_query(name, state().settings.queries_dir or None)
    values = {k: v for k, v in request.args.items() if k != "format"}
    check_services(query.text, frozenset(state().settings.federation_endpoints.split()))
    lookup = Lookup(state().store(), Minter(state().settings.base_iri))
    job = Job(
        query.text,
        _negotiated(request.args.getlist("format")),
        params=query.bind(values, lookup),
        max_rows=state().settings.max_rows,
    )
    return answer(job)


# -- the fast path ------------------------------------------------------------------------------

#: Query strings read lately (clients send the same queries again and again).
_PAIRS: dict[str, list[tuple[str, str]]] = {}
_REASON = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


class _Bail(Exception):
    """The fast path leaves this request to the Flask route (which answers it, or says why not)."""


class _Push:
    """Where the serializer writes: the first 64 KB are kept, so that a small answer goes out
    whole with a Content-Length; beyond that the answer streams through the WSGI ``write``."""

    def __init__(self, begin: Callable[[Any], Callable[[bytes], object]]) -> None:
        self.begin = begin
        self.header: Any = None
        self.buffer = bytearray()
        self.send: Callable[[bytes], object] | None = None

    def start(self, header: Any) -> None:
        self.header = header

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            if self.send is None:
                self.send = self.begin(self.header)
            self.send(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass


class FastSparql:
    """A WSGI dispatcher in front of the Flask app for the hot path: a query to ``/sparql`` by
    GET, form POST or direct POST, answered without Flask's routing, request and response
    objects. Everything else, and every request the fast path does not fully understand (no
    query, an update, repeated parameters, HEAD, a body that is not UTF-8...), goes to Flask,
    which answers it exactly as before."""

    def __init__(self, app: WSGIApplication, flask_app: Flask) -> None:
        self.app = app
        self.state = flask_app.extensions["collectomics"]
        self.settings = self.state.settings
        self.cors = list(CORS.items()) + FAST_HEADERS
        self.heads: dict[str, list[tuple[str, str]]] = {}
        for fmt in ALL_MEDIA:
            self.heads[fmt] = [
                ("Content-Type", media_type(fmt)),
                ("Vary", "Accept"),
                *self.cors,
            ]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/sparql":
            return self.app(environ, start_response)
        try:
            query, job = self._read(environ)
        except _Bail:
            return self.app(environ, start_response)
        try:
            return self._answer(environ, start_response, query, job)
        except ProtocolError as exc:
            return self._plain(start_response, exc.status, exc.message, exc.headers)
        except QueryError as exc:
            message = str(exc)
            if "{" not in query and environ["REQUEST_METHOD"] == "GET":
                message = f"{message}\n{_CURL_HINT}"
            return self._plain(start_response, 400, message, {})
        except CollectomicsError as exc:
            status, headers = library_status(exc)
            return self._plain(start_response, status, str(exc), headers)

    def _plain(
        self, start_response: StartResponse, status: int, message: str, headers: dict[str, str]
    ) -> list[bytes]:
        body = (message.rstrip("\n") + "\n").encode("utf-8")
        start_response(
            _REASON.get(status, str(status)),
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *headers.items(),
                *self.cors,
            ],
        )
        return [body]

    def _read(self, environ: WSGIEnvironment) -> tuple[str, Job]:
        method = environ["REQUEST_METHOD"]
        settings = self.settings
        text = environ.get("QUERY_STRING", "")
        if len(text) > settings.max_request_bytes:
            raise _Bail
        pairs = _PAIRS.get(text)
        if pairs is None:
            pairs = parse_qsl(text, keep_blank_values=True) if text else []
            if len(_PAIRS) > 256:
                _PAIRS.clear()
            _PAIRS[text] = pairs
        pairs = list(pairs)
        query: str | None = None
        if method == "POST":
            ctype = environ.get("CONTENT_TYPE", "")
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                raise _Bail from None
            if length > settings.max_request_bytes or length < 0:
                raise _Bail
            body = environ.get("collectomics.body")
            if body is None:
                body = environ["wsgi.input"].read(length) if length else b""
                import io

                environ["wsgi.input"] = io.BytesIO(body)  # for Flask, if it comes to that
            ctype, _, ctype_params = ctype.partition(";")
            if ctype_params.strip() and ctype_params.strip().lower().replace(" ", "") not in {
                "charset=utf-8",
                "charset=utf8",
                'charset="utf-8"',
            }:
                raise _Bail
            ctype = ctype.strip().lower()
            try:
                if ctype == "application/x-www-form-urlencoded":
                    pairs += parse_qsl(
                        body.decode("ascii"), keep_blank_values=True, errors="strict"
                    )
                elif ctype == "application/sparql-query":
                    query = body.decode("utf-8")
                else:
                    raise _Bail
            except UnicodeDecodeError:
                raise _Bail from None
        elif method != "GET":
            raise _Bail
        default: list[str] = []
        named: list[str] = []
        fmt: list[str] = []
        for key, value in pairs:
            if key == "query":
                if query is not None:
                    raise _Bail
                query = value
            elif key == "default-graph-uri":
                default.append(value)
            elif key == "named-graph-uri":
                named.append(value)
            elif key == "format":
                fmt.append(value)
            elif key == "update":
                raise _Bail
        if query is None or not query.strip() or read_query(query).looks_like_update:
            raise _Bail
        if not all(iri_is_valid(g) for g in default) or not all(iri_is_valid(g) for g in named):
            raise _Bail
        services, relative = _inspect(query)
        if services or relative:
            raise _Bail  # checked, resolved and answered by the route
        try:
            formats = negotiated("\x00".join(fmt) or None, environ.get("HTTP_ACCEPT"))
        except ProtocolError:
            raise _Bail from None
        job = Job(
            query,
            formats,
            default_graphs=default if default or named else None,
            named_graphs=named if default or named else None,
            max_rows=settings.max_rows,
        )
        return query, job

    def _headers(self, job: Job, header: Any) -> list[tuple[str, str]]:
        if header.fmt is None:
            offered = RDF_MEDIA if header.kind == "graph" else RESULT_MEDIA
            raise ProtocolError(
                406,
                f"no acceptable format for a {header.kind.upper()} result; offered: "
                + ", ".join(offered.values()),
            )
        headers = list(self.heads[header.fmt])
        if header.capped:
            headers.append(("Collectomics-Max-Rows", str(job.max_rows)))
        return headers

    def _answer(
        self, environ: WSGIEnvironment, start_response: StartResponse, query: str, job: Job
    ) -> Iterable[bytes]:
        runner = self.state.runner
        push = getattr(runner, "push", None)
        if push is None:  # a pool of query processes, or a store in this process
            result = runner.run(job)
            headers = self._headers(job, result.header)
            if result.complete is not None:
                headers.append(("Content-Length", str(len(result.complete))))
                start_response("200 OK", headers)
                return [result.complete]
            start_response("200 OK", headers)
            chunks: Iterable[bytes] = result.chunks
            return chunks

        def begin(header: Any) -> Callable[[bytes], object]:
            return start_response("200 OK", self._headers(job, header))

        out = _Push(begin)
        try:
            header = push(job, out)
        except (QueryError, ProtocolError, CollectomicsError):
            if out.send is not None:
                raise ConnectionAbortedError("the answer failed half-way") from None
            raise
        if out.send is not None:
            if out.buffer:
                out.send(bytes(out.buffer))
            return []
        headers = self._headers(job, header)
        body = bytes(out.buffer)
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]
