"""Entity pages: every IRI minted under the base dereferences here, as HTML (with schema.org
JSON-LD), its JSON twin, or Turtle / JSON-LD / N-Triples of the same resource."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, render_template, request

from collectomics.model import iri_is_valid
from collectomics.pages import Pages
from collectomics.web.negotiate import choose
from collectomics.web.sparql import RDF_MEDIA, ProtocolError, media_type, script_json, state

bp = Blueprint("pages", __name__)

_BAD_PATH = re.compile(r"[\[\]\x7f]|%(?![0-9A-Fa-f]{2})")


def _iri_chars(text: str) -> bool:
    """Every character may stand in an IRI path (RFC 3987): no '[' or ']', a '%' only before
    two hex digits, no DEL, no U+FFFD from bytes that were not UTF-8, no non-character or
    private-use code point."""
    if _BAD_PATH.search(text):
        return False
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            continue
        if (
            cp < 0xA0
            or 0xD800 <= cp <= 0xF8FF
            or 0xFDD0 <= cp <= 0xFDEF
            or 0xFFF0 <= cp <= 0xFFFF
            or (cp & 0xFFFF) >= 0xFFFE
            or (cp >= 0xE0000 and not 0xE1000 <= cp <= 0xEFFFD)
        ):
            return False
    return True


_OFFERED = {
    "html": "text/html",
    "json": "application/json",
    "turtle": RDF_MEDIA["turtle"],
    "jsonld": RDF_MEDIA["jsonld"],
    "ntriples": RDF_MEDIA["ntriples"],
    "rdfxml": RDF_MEDIA["rdfxml"],
}


@bp.route("/<path:rest>", methods=["GET"])
def entity(rest: str) -> Response:
    """Any other path is an IRI under the base: ``/person/x`` is ``{base}person/x``."""
    iri = state().settings.base_iri + rest
    if not iri_is_valid(iri) or not _iri_chars(rest):
        raise ProtocolError(404, f"not an IRI this graph mints: {rest[:200]!r}")
    explicit = request.args.get("format")
    if explicit:
        if explicit not in _OFFERED:
            raise ProtocolError(400, f"unknown format {explicit!r}; known: {', '.join(_OFFERED)}")
        fmt: str | None = explicit
    else:
        fmt = choose(request.headers.get("Accept"), _OFFERED, "html")
    if fmt is None:
        raise ProtocolError(406, f"this resource is served as {', '.join(_OFFERED.values())}")
    pages = Pages(state().store(), state().settings.base_iri)
    if fmt not in ("html", "json"):
        body = pages.describe(iri, fmt)
        if body is None:
            raise ProtocolError(404, f"the graph says nothing about {iri}")
        return Response(body, content_type=media_type(fmt), headers={"Vary": "Accept"})
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        raise ProtocolError(400, "page must be a number") from None
    page = pages.page(iri, page=number)
    if page is None:
        raise ProtocolError(404, f"the graph says nothing about {iri}")
    if fmt == "json":
        response = Response(
            json.dumps(page.to_dict(), ensure_ascii=False, indent=1),
            content_type="application/json; charset=utf-8",
        )
    else:
        html = render_template(
            "entity.html",
            page=page,
            schema_org=script_json(page.schema_org),
            local_path=lambda iri: "/" + iri[len(state().settings.base_iri) :],
        )
        response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response
