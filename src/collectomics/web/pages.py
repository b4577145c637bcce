"""Entity pages: every IRI minted under the base dereferences here, as HTML (with schema.org
JSON-LD), its JSON twin, or Turtle / JSON-LD / N-Triples of the same resource.

A person, an agent and a specimen get the workbench page (``person.html``, ``specimen.html``)
of :func:`collectomics.services.pages.workbench`; an agent whose identity is a person shows that
person's page (not a redirect: every IRI dereferences to itself, the page names the person's
IRI as canonical). ``/sections/<name>?iri=`` answers one section as JSON, and
``/resolve?iri=`` sends an outside IRI (Wikidata, ORCID...) to the page of its identity."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, render_template, request

from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.model import iri_is_valid
from collectomics.services.pages import Pages, describe_identity, workbench, workbench_kind
from collectomics.services.personpage import SORTS, canonical, page_args, person_sections
from collectomics.services.sections import Section, run_sections
from collectomics.services.specimenpage import specimen_sections
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
    settings = state().settings
    store = state().store()
    minter = Minter(settings.base_iri)
    pages = Pages(store, settings.base_iri)
    kind = workbench_kind(store, minter, iri)
    if kind in ("person", "agent") and fmt not in ("html", "json"):
        # the RDF twin of the page: every node of the identity, with their parts
        identity_rdf = describe_identity(store, canonical(store, iri), fmt)
        return Response(identity_rdf, content_type=media_type(fmt), headers={"Vary": "Accept"})
    if kind and fmt in ("html", "json"):
        return _workbench(store, minter, iri, fmt)
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


def _workbench(store: object, minter: Minter, iri: str, fmt: str) -> Response:
    settings = state().settings
    args = request.args
    sort = args.get("sort", "date")
    if sort not in SORTS:
        raise ProtocolError(400, f"sort is one of {', '.join(SORTS)}")
    try:
        page_args(args.get("page", "1"), args.get("size", "25"))
    except CollectomicsError as exc:
        raise ProtocolError(400, str(exc)) from None
    try:
        page = workbench(
            store,  # type: ignore[arg-type]
            minter,
            iri,
            page=args.get("page", "1"),
            size=args.get("size", "25"),
            sort=sort,
            speeds=settings.itinerary_speeds,  # each section within section_timeout
        )
    except CollectomicsError as exc:
        raise ProtocolError(400, str(exc)) from None
    if page is None:
        raise ProtocolError(404, f"the graph says nothing about {iri}")
    if fmt == "json":
        body = json.dumps(page.to_dict(), ensure_ascii=False, indent=1)
        response = Response(body, content_type="application/json; charset=utf-8")
    else:
        base = settings.base_iri
        html = render_template(
            "specimen.html" if page.kind == "specimen" else "person.html",
            page=page,
            s={r.name: r for r in page.sections},
            schema_org=script_json(page.schema_org),
            local_path=lambda x: "/" + x[len(base) :] if x.startswith(base) else x,
            is_local=lambda x: isinstance(x, str) and x.startswith(base),
            sort=sort,
        )
        response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


#: every section of both pages, by name: the page modules' own lists
_SECTION_FUNCTIONS = {s.name: s.function for s in person_sections("") + specimen_sections("")}
_SECTION_PARAMS = {"what": ("page", "size", "sort"), "whom": ("limit",)}


@bp.get("/sections/<name>")
def section(name: str) -> Response:
    """One section of a page as JSON: ``?iri=`` and the section's own parameters."""
    function = _SECTION_FUNCTIONS.get(name)
    if function is None:
        raise ProtocolError(404, f"no section {name!r}; known: {', '.join(_SECTION_FUNCTIONS)}")
    iri = request.args.get("iri", "").strip()
    if not iri:
        raise ProtocolError(400, "give the IRI of the page as ?iri=")
    params: dict[str, object] = {
        k: request.args[k] for k in _SECTION_PARAMS.get(name, ()) if k in request.args
    }
    if "limit" in params:
        try:
            params["limit"] = max(1, min(1000, int(str(params["limit"]))))
        except ValueError:
            raise ProtocolError(400, "limit must be a whole number") from None
    settings = state().settings
    [result] = run_sections(  # in a worker when the app has a pool: killed past its budget
        state().store(), Minter(settings.base_iri), iri, [Section(name, name, function, params)]
    )
    if not result.ok:
        raise ProtocolError(400, result.message)
    return Response(
        json.dumps(result.as_json(), ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
    )


@bp.get("/resolve")
def resolve() -> Response:
    """303 to the page of the identity an IRI resolves to (an outside IRI such as a Wikidata
    item a publisher asserted, or any agent)."""
    iri = request.args.get("iri", "").strip()
    base = state().settings.base_iri
    try:
        target = canonical(state().store(), iri)
    except CollectomicsError as exc:
        raise ProtocolError(400, str(exc)) from None
    if not target.startswith(base):
        raise ProtocolError(404, f"{iri} resolves to no page of this graph")
    return Response("", status=303, headers={"Location": "/" + target[len(base) :]})
