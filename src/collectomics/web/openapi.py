"""``/openapi.json``: the OpenAPI 3 description of the HTTP API (``openapi.json`` beside this
file), with this server's own address as its server."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

bp = Blueprint("openapi", __name__)
SPEC = Path(__file__).with_name("openapi.json")


@lru_cache(maxsize=1)
def description() -> dict[str, Any]:
    """The description as shipped (tests validate it)."""
    spec: dict[str, Any] = json.loads(SPEC.read_text("utf-8"))
    return spec


@bp.get("/openapi.json")
def openapi() -> Response:
    spec = {**description(), "servers": [{"url": request.url_root.rstrip("/")}]}
    return Response(json.dumps(spec, ensure_ascii=False), content_type="application/json")
