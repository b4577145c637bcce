"""Views for historians: the dashboard of specimen counts, and a person's ego network, itinerary
and timeline (each with a JSON twin and downloads), plus the front-end code they need, served
from node_modules (installed from the npm registry by the set-up), never from a CDN."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_from_directory

from collectomics.iri import Minter
from collectomics.web.negotiate import prefers_html
from collectomics.web.sparql import ProtocolError, state

bp = Blueprint("views", __name__)

_ROOTS = (Path(__file__).resolve().parents[3], Path.cwd())
_STATIC = Path(__file__).resolve().parent / "static"
#: file name served at /assets/views/<name> -> its path under node_modules
_ASSETS = {
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
    "topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
    "countries-110m.json": "world-atlas/countries-110m.json",
}
#: the page's neighbourhood: at most this many people per ring (``limit=0`` for all)
VIEW_LIMIT = 100
_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "gexf": "application/gexf+xml",
    "graphml": "application/graphml+xml",
    "csv": "text/csv; charset=utf-8",
}


def _minter() -> Minter:
    return Minter(state().settings.base_iri)


def _wants_json() -> bool:
    return request.args.get("format") == "json" or not prefers_html(request.headers.get("Accept"))


def _iri() -> str:
    """The ``iri`` parameter: an IRI the graph holds (a name gets the IRIs that bear it)."""
    from collectomics.services.queries import check_node

    iri = request.args.get("iri", "").strip()
    if not iri:
        raise ProtocolError(400, "give the person's IRI as ?iri=")
    return check_node(state().store(), iri, "iri")


def _int(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ProtocolError(400, f"{name} must be a whole number") from None


def _download(body: str, fmt: str, name: str) -> Response:
    response = Response(body, content_type=_TYPES[fmt])
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@bp.get("/dashboard")
def dashboard() -> Response:
    """Specimens by country, decade, institution, collector and family."""
    from collectomics.analysis.network import dashboard as counts

    try:
        limit = max(0, _int("limit", 25) or 0)
    except ProtocolError:
        raise
    data = counts(state().store(), _minter(), limit=limit)
    if _wants_json():
        return Response(json.dumps(data, ensure_ascii=False), content_type="application/json")
    return Response(
        render_template("dashboard.html", data=data, base=state().settings.base_iri),
        content_type="text/html; charset=utf-8",
    )


@bp.get("/views/network")
def network() -> Response:
    """A person's ego network: JSON (default), GEXF or GraphML (``format=``)."""
    from collectomics.analysis.network import KINDS, build_network, to_text

    fmt = request.args.get("format", "json")
    if fmt not in ("json", "gexf", "graphml"):
        raise ProtocolError(400, "format is json, gexf or graphml")
    kind = request.args.get("kind", "co-collector")
    if kind not in KINDS:
        raise ProtocolError(400, f"kind is one of {', '.join(KINDS)}")
    depth = _int("depth", 1)
    if depth not in (1, 2):
        raise ProtocolError(400, "depth is 1 or 2")
    net = build_network(
        state().store(),
        _minter(),
        kind,
        person=_iri(),
        depth=depth,
        limit=max(0, _int("limit", VIEW_LIMIT) or 0),
        start=_int("from"),
        end=_int("to"),
        decade=_int("decade"),
        metrics=True if fmt != "json" else "basic",  # the page's view: no betweenness
    )
    return _download(to_text(net, fmt), fmt, f"{kind}-network")


@bp.get("/views/itinerary")
def itinerary() -> Response:
    """A person's itinerary: JSON (default), GeoJSON or CSV (``format=``)."""
    from collectomics.analysis.itinerary import itinerary as run
    from collectomics.analysis.itinerary import to_geojson, to_json, write_csv

    fmt = request.args.get("format", "json")
    if fmt not in ("json", "geojson", "csv"):
        raise ProtocolError(400, "format is json, geojson or csv")
    it = run(
        state().store(),
        _iri(),
        speeds=state().settings.itinerary_speeds,
        start=_int("from"),
        end=_int("to"),
        minter=_minter(),
    )
    if fmt == "geojson":
        body = json.dumps(to_geojson(it), ensure_ascii=False)
    elif fmt == "csv":
        buf = io.StringIO()
        write_csv(it, buf)
        body = buf.getvalue()
    else:
        body = to_json(it)
    return _download(body, fmt, "itinerary")


@bp.get("/views/timeline")
def timeline() -> Response:
    """Dated specimens, documents and photographs of a person, as JSON."""
    from collectomics.analysis.itinerary import timeline as run

    entries: list[dict[str, Any]] = run(state().store(), _iri(), minter=_minter())
    return Response(json.dumps(entries, ensure_ascii=False), content_type="application/json")


@bp.get("/assets/views/<name>")
def asset(name: str) -> Response:
    if name in ("views.js", "views.css", "specimen.js"):
        return send_from_directory(_STATIC, name, max_age=300)
    rel = _ASSETS.get(name)
    if rel is None:
        abort(404)
    for root in _ROOTS:
        path = root / "node_modules" / rel
        if path.is_file():
            return send_from_directory(path.parent, path.name, max_age=3600)
    abort(404)
