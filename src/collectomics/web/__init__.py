"""The Flask app: the SPARQL endpoint, canned queries and a landing page (``create_app``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request

from collectomics.config import Settings, load_settings
from collectomics.errors import CollectomicsError, QueryError, QueryNotFound
from collectomics.queries import get_query, list_queries
from collectomics.stats import graph_stats
from collectomics.store import RDF_FORMATS, RESULT_FORMATS, QueryResult, Store, open_store

_MEDIA = {
    **{mt: name for name, (_, mt) in RESULT_FORMATS.items()},
    **{mt: name for name, (_, mt) in RDF_FORMATS.items()},
    "application/json": "json",
    "text/xml": "xml",
    "application/xml": "xml",
    "text/plain": "ntriples",
}

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Collectomics</title>
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
textarea{width:100%;font-family:monospace}td,th{padding:.2rem .6rem;text-align:left}</style></head>
<body><h1>Collectomics</h1>
<p>Museum specimens, the people behind them, their labels, notebooks and photographs as one graph.</p>
<table>{% for k, v in stats.items() %}<tr><th>{{ k.replace('_', ' ') }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>SPARQL</h2>
<form action="sparql" method="get"><textarea name="query" rows="8">{{ example }}</textarea>
<p><button type="submit">Run</button> (endpoint: <code>/sparql</code>, GET or POST)</p></form>
<h2>Canned queries</h2><ul>
{% for q in queries %}<li><a href="queries/{{ q.name }}">{{ q.title }}</a> &mdash; {{ q.description }}</li>{% endfor %}
</ul></body></html>"""

_EXAMPLE = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?country (COUNT(?s) AS ?specimens) WHERE {
  ?s a dwc:MaterialEntity ; dwc:countryCode ?country .
} GROUP BY ?country ORDER BY DESC(?specimens)"""


_CURL_HINT = (
    "The query has no '{': if you sent it with curl, curl's URL globbing removed the braces. "
    "Use curl -g (--globoff), or curl -G --data-urlencode 'query=...'."
)


def _error(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _choose_format(result: QueryResult, explicit: str | None) -> str | None:
    """The format to answer in: an explicit ``format`` parameter, else the Accept header."""
    formats = result.formats()
    if explicit:
        return explicit if explicit in formats else None
    default = "turtle" if result.kind == "graph" else "json"
    accepted = request.accept_mimetypes
    if not accepted or accepted.provided is False:
        return default
    best, best_q = None, 0.0
    for media, q in accepted:
        if media in ("*/*", "application/*", "text/*"):
            name = default
        else:
            name = _MEDIA.get(media)
        if name in formats and q > best_q:
            best, best_q = name, q
    return best


def _answer(result: QueryResult, explicit: str | None) -> Response:
    fmt = _choose_format(result, explicit)
    if fmt is None:
        allowed = ", ".join(mt for _, mt in result.formats().values())
        return _error(
            406, f"no acceptable format for a {result.kind.upper()} result; offered: {allowed}"
        )
    body = result.serialize(fmt)
    media = result.formats()[fmt][1]
    if media.startswith("text/") or media.endswith(("+json", "+xml", "/json")) or fmt == "ntriples":
        media += "; charset=utf-8"
    response = Response(body, mimetype=None, content_type=media)
    response.headers["Vary"] = "Accept"
    return response


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """The WSGI app over ``store`` (by default the store the settings name, opened read-only)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    graph_store = store if store is not None else open_store(settings.store, read_only=True)
    app.config["COLLECTOMICS_STORE"] = graph_store
    app.config["COLLECTOMICS_SETTINGS"] = settings

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.errorhandler(CollectomicsError)
    def library_error(exc: CollectomicsError) -> Response:
        status = 404 if isinstance(exc, QueryNotFound) else 400
        return _error(status, str(exc))

    @app.get("/")
    def index() -> str:
        return render_template_string(
            _INDEX,
            stats=graph_stats(graph_store).to_dict(),
            queries=list_queries(settings.queries_dir or None),
            example=_EXAMPLE,
        )

    @app.route("/sparql", methods=["GET", "POST"])
    def sparql() -> Response:
        if request.method == "POST":
            ctype = request.mimetype
            if ctype == "application/sparql-query":
                try:
                    query = request.get_data().decode("utf-8")
                except UnicodeDecodeError:
                    return _error(400, "the request body is not UTF-8")
            elif ctype == "application/x-www-form-urlencoded":
                query = request.form.get("query", "")
            else:
                return _error(
                    415,
                    "POST a query as application/sparql-query or as the form field 'query' "
                    "(application/x-www-form-urlencoded)",
                )
        else:
            query = request.args.get("query", "")
        if not query.strip():
            return _error(400, "missing the 'query' parameter")
        try:
            result = graph_store.query(query)
        except QueryError as exc:
            if "{" not in query and request.method == "GET":
                # curl's URL globbing turns '{?s ?p ?o}' into '?s ?p ?o' before sending.
                return _error(400, f"{exc}\n{_CURL_HINT}")
            raise
        return _answer(result, request.args.get("format"))

    @app.get("/queries")
    def queries_index() -> Response:
        return jsonify(
            [
                {
                    "name": q.name,
                    "title": q.title,
                    "description": q.description,
                    "parameters": [p.__dict__ for p in q.parameters],
                }
                for q in list_queries(settings.queries_dir or None)
            ]
        )

    @app.get("/queries/<name>")
    def run_canned(name: str) -> Response:
        query = get_query(name, settings.queries_dir or None)
        values: Mapping[str, Any] = {k: v for k, v in request.args.items() if k != "format"}
        result = graph_store.query(query.text, params=query.bind(values))
        return _answer(result, request.args.get("format"))

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok", "triples": graph_store.count()})

    return app
