"""The reconciliation service (Reconciliation Service API 0.2, for OpenRefine) at ``/reconcile``:
the manifest, queries (GET ``?queries=``, POST form field ``queries``), data extension
(``extend=``), suggest, flyouts, preview, view and property proposals. The logic is
``collectomics.services.reconcile``; its index is kept per store handle, and the handle
(``state().store()``) is reopened when the store changes on disk, so a new version of the store
gets a new index. Every answer carries CORS headers; bad input gets a well-formed, empty answer,
never a 500."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from collectomics.services import reconcile as rec
from collectomics.web.sparql import state

log = logging.getLogger(__name__)
bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
}
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,63}$")


def _json(data: Any, status: int = 200) -> Response:
    text = json.dumps(data, ensure_ascii=False)
    callback = request.args.get("callback", "")
    if callback and _CALLBACK.match(callback):  # JSONP, for old clients
        return Response(f"{callback}({text});", status, mimetype="application/javascript")
    return Response(text, status, mimetype="application/json")


def _param(name: str) -> str | None:
    try:
        value = request.form.get(name) if request.method == "POST" else None
    except RequestEntityTooLarge:
        raise
    except Exception:  # noqa: BLE001 - an unreadable body is no query
        value = None
    return value if value is not None else request.args.get(name)


def _base() -> str:
    return str(state().settings.base_iri)


def _service_url() -> str:
    return request.url_root.rstrip("/") + "/reconcile"


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers.update(_CORS)
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Response:
    log.warning("reconciliation request too large")
    return _json({}, 413)


@bp.route("", methods=["GET", "POST", "OPTIONS"])
def service() -> Response:
    if request.method == "OPTIONS":
        return Response("", 204)
    queries = _param("queries")
    if queries is not None:
        answer = rec.reconcile(state().store(), queries, _base())
        if not answer and queries.strip() not in ("{}", ""):
            log.warning("reconciliation: unusable queries %.200r", queries)
        return _json(answer)
    extend = _param("extend")
    if extend is not None:
        return _json(rec.extend(state().store(), extend, _base()))
    return _json(rec.manifest(_service_url(), _base()))


def _prefix() -> str:
    return (request.args.get("prefix") or "")[: rec.MAX_QUERY_CHARS]


def _cursor() -> int:
    """``cursor``: the offset of a suggest page (OpenRefine's "view more")."""
    try:
        return min(1_000_000, max(0, int(request.args.get("cursor", "0"))))
    except ValueError:
        return 0


def _limit(default: int, most: int) -> int:
    try:
        return min(most, max(1, int(request.args.get("limit", str(default)))))
    except ValueError:
        return default


@bp.get("/suggest/entity")
def suggest_entity() -> Response:
    kind = request.args.get("type") or None
    found = rec.suggest_entities(
        state().store(), _prefix(), _base(), _limit(10, 50), kind, cursor=_cursor()
    )
    return _json(found)


@bp.get("/suggest/type")
def suggest_type() -> Response:
    return _json(rec.paged(rec.suggest_types(_prefix()), _cursor(), _limit(50, 50)))


@bp.get("/suggest/property")
def suggest_property() -> Response:
    """Query properties when ``type`` is given (OpenRefine's reconciliation dialog), extension
    properties when it is not (its "Add columns from reconciled values" dialog)."""
    kind = request.args.get("type") or None
    found = rec.suggest_properties(_prefix(), kind, limit=1000)
    return _json(rec.paged(found, _cursor(), _limit(10, 50)))


@bp.get("/flyout/entity")
def flyout_entity() -> Response:
    """The manifest's ``suggest.entity.flyout_service_path``: ``{"id", "html"}`` for the entity
    under the pointer in a suggest list; 404 (JSON) for an unknown id."""
    return _flyout(request.args.get("id", ""))


_MID = re.compile(r"mid:(\S+?)\)*$")


@bp.get("/search")
def flyout_default_path() -> Response:
    """Where OpenRefine's suggest widget asks for a flyout when a manifest names no
    ``flyout_service_path`` (an old manifest kept in OpenRefine's preferences):
    ``/search?filter=(all mid:{id})&output=...``. The same answer as ``/flyout/entity``."""
    m = _MID.search(request.args.get("filter", ""))
    return _flyout(m.group(1) if m else "")


def _flyout(ident: str) -> Response:
    found = rec.flyout(state().store(), ident[: rec.MAX_QUERY_CHARS], _base())
    if found is None:
        return _json({"id": ident[:200], "error": "unknown id"}, 404)
    return _json(found)


@bp.get("/preview")
def preview() -> Response:
    ident = request.args.get("id", "")
    card = rec.preview(state().store(), ident, _base())
    if card is None and (item := rec.wikidata_item(state().store(), ident, _base())):
        card = rec.wikidata_card(*item)  # a Wikidata item that data extension handed out
    if card is None:
        return Response("<html><body>unknown id</body></html>", 404, mimetype="text/html")
    return Response(card, 200, mimetype="text/html")


@bp.get("/view")
def view() -> Response:
    ident = request.args.get("id", "")
    found = rec.view(state().store(), ident, _base())
    if found is None and (item := rec.wikidata_item(state().store(), ident, _base())):
        return Response("", 303, headers={"Location": item[1]})  # its Wikidata page
    if found is None:
        return Response("<html><body>unknown id</body></html>", 404, mimetype="text/html")
    kind, value = found
    if kind == "redirect":
        return Response("", 303, headers={"Location": request.script_root + value})
    return Response(value, 200, mimetype="text/html")


@bp.get("/properties")
def properties() -> Response:
    return _json(rec.propose_properties(request.args.get("type", ""), _limit(50, 50)))
