"""Map a IIIF Presentation 3 manifest: a notebook or specimen sheet as a document with pages.

The manifest becomes a ``rico:Record`` minted from the manifest's IRI and keeping it
(``dcterms:source``); each canvas a ``rico:RecordPart`` (``dcterms:source`` the canvas IRI);
each painted image an Audiovisual Core medium (``ac:accessURI`` the image, ``foaf:depicts`` the
page). Labels are IIIF language maps; ``navDate`` dates the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collectomics.mapping.annotations import DCMITYPE, add_date, mark_illustrative
from collectomics.mapping.common import Context, Mapped, text
from collectomics.model import IRI, XSD, Literal, iri_is_valid
from collectomics.vocab import AC, DCTERMS, FOAF, PROV, RDF, RDFS, RICO

PRESENTATION_3 = "http://iiif.io/api/presentation/3/context.json"

Record = tuple[str, Mapped]


def is_manifest(data: Any) -> bool:
    """True for a IIIF Presentation 3 manifest (its @context names the version 3 context)."""
    if not isinstance(data, dict) or data.get("type") != "Manifest":
        return False
    context = data.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return PRESENTATION_3 in contexts


def language_map(value: Any) -> str:
    """The first string of a IIIF language map (``none`` and ``en`` first), else ''."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    for key in ("none", "en", *sorted(value)):
        strings = value.get(key)
        if isinstance(strings, list) and strings and isinstance(strings[0], str):
            return strings[0]
    return ""


def _http_id(value: Any) -> str:
    return (
        value
        if isinstance(value, str)
        and value.startswith(("http://", "https://"))
        and (iri_is_valid(value))
        else ""
    )


def illustrative(data: dict[str, Any]) -> str:
    """'true' when the manifest's ``metadata`` has the pair Illustrative: true (the demo's marker)."""
    for pair in data.get("metadata") or []:
        if isinstance(pair, dict) and language_map(pair.get("label")).lower() == "illustrative":
            return language_map(pair.get("value")).lower()
    return ""


def map_manifest(data: dict[str, Any], ctx: Context) -> Iterator[Record]:
    """The manifest as a document, then one record per canvas."""
    out = Mapped()
    flag = illustrative(data)
    manifest_id = _http_id(data.get("id"))
    if not manifest_id:
        yield "id", out.reject("id", "a manifest needs an http(s) id")
        return
    doc = ctx.minter.document(manifest_id)
    out.subject = doc
    out.add(doc, RDF.type, RICO.Record)
    out.add(doc, RDF.type, PROV.Entity)
    out.add(doc, DCTERMS.source, IRI(manifest_id))
    out.add(doc, DCTERMS.isPartOf, ctx.dataset)
    title = language_map(data.get("label"))
    out.add(doc, DCTERMS.title, text(title))
    out.add(doc, RDFS.label, text(title))
    out.add(doc, DCTERMS.description, text(language_map(data.get("summary"))))
    out.add(doc, DCTERMS.type, Literal("IIIF manifest"))
    rights = _http_id(data.get("rights"))
    if rights:
        out.add(doc, DCTERMS.license, IRI(rights))
    nav = data.get("navDate")
    if isinstance(nav, str) and nav:
        add_date(out, doc, nav[:10], "navDate")
    canvases = data.get("items")
    if not isinstance(canvases, list) or not canvases:
        out.warn("items", "the manifest has no canvases")
        canvases = []
    mark_illustrative(out, flag, [doc])
    yield "", out
    for i, canvas in enumerate(canvases):
        yield from _canvas(doc, canvas, i, ctx, flag)


def _canvas(doc: IRI, canvas: Any, i: int, ctx: Context, flag: str) -> Iterator[Record]:
    where = f"items[{i}]"
    out = Mapped()
    canvas_id = _http_id(canvas.get("id")) if isinstance(canvas, dict) else ""
    if not isinstance(canvas, dict) or canvas.get("type") != "Canvas" or not canvas_id:
        yield where, out.reject(where, "a canvas needs type Canvas and an http(s) id")
        return
    page = ctx.minter.part(doc, "canvas", str(i + 1))
    out.subject = page
    out.add(page, RDF.type, RICO.RecordPart)
    out.add(page, RDF.type, PROV.Entity)
    out.add(page, RICO.isOrWasPartOf, doc)
    out.add(page, DCTERMS.isPartOf, doc)
    out.add(doc, RICO.hasOrHadPart, page)
    out.add(page, DCTERMS.source, IRI(canvas_id))
    out.add(page, DCTERMS.type, Literal("page"))
    label = language_map(canvas.get("label"))
    out.add(page, DCTERMS.title, text(label))
    out.add(page, RDFS.label, text(label))
    out.add(page, RICO.identifier, Literal(str(i + 1)))
    images: list[IRI] = []
    for j, annotation_page in enumerate(canvas.get("items") or []):
        items = annotation_page.get("items") if isinstance(annotation_page, dict) else None
        for k, annotation in enumerate(items or []):
            path = f"{where}.items[{j}].items[{k}]"
            body = annotation.get("body") if isinstance(annotation, dict) else None
            if not isinstance(body, dict):
                out.warn(f"{path}.body", "an annotation without a body object; left out")
                continue
            if annotation.get("motivation") != "painting":
                continue
            image_id = _http_id(body.get("id"))
            if not image_id:
                out.warn(f"{path}.body.id", "a painted body needs an http(s) id; left out")
                continue
            media = ctx.minter.media(image_id)
            kind = "StillImage" if body.get("type") == "Image" else "MovingImage"
            out.add(media, RDF.type, IRI(DCMITYPE + kind))
            out.add(media, DCTERMS.type, IRI(DCMITYPE + kind))
            out.add(media, AC.accessURI, IRI(image_id))
            out.add(media, FOAF.depicts, page)
            out.add(media, DCTERMS.format, text(body.get("format") or None))
            for dim, prop in (("width", AC.pixelXDimension), ("height", AC.pixelYDimension)):
                if isinstance(body.get(dim), int):
                    out.add(media, prop, Literal(str(body[dim]), XSD + "integer"))
            images.append(media)
    mark_illustrative(out, flag, [page, *images])
    yield where, out
