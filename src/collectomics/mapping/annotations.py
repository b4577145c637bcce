"""Shared pieces of the document-side mappers: dated nodes, transcriptions, images, agents."""

from __future__ import annotations

import re

from collectomics.mapping.common import Mapped, boolean, date_literal, text
from collectomics.mapping.dates import date_bounds, year_precision_type
from collectomics.mapping.refs import RefError, Refs
from collectomics.model import IRI, XSD, Literal
from collectomics.vocab import AC, COL, DCTERMS, FOAF, OA, RDF, RDFS

DCMITYPE = "http://purl.org/dc/dcmitype/"
MEDIA_FRAGMENTS = IRI("http://www.w3.org/TR/media-frags/")
_XYWH = re.compile(r"^(?:xywh=)?(?:(pixel|percent):)?(\d+(?:\.\d+)?(?:,\d+(?:\.\d+)?){3})$")
TRUE_VALUES = {"true", "yes", "1", "y"}


def typed_date(value: str) -> Literal | None:
    """An ISO date typed to its precision (xsd:gYear, xsd:gYearMonth, xsd:date), or None."""
    kind = year_precision_type(value)
    return Literal(value.strip(), XSD + kind) if kind else None


def add_date(out: Mapped, node: IRI, value: str, column: str, prop: IRI = DCTERMS.date) -> bool:
    """``prop`` typed to precision (or as written) plus col:earliestDate/latestDate bounds."""
    value = value.strip()
    if not value:
        return False
    bounds = date_bounds(value)
    if bounds is None:
        out.warn(column, f"{value!r} is not an ISO date or interval; kept as written, no bounds")
        out.add(node, prop, Literal(value))
        return False
    out.add(node, prop, typed_date(value) or Literal(value))
    out.add(node, COL.earliestDate, date_literal(bounds[0]))
    out.add(node, COL.latestDate, date_literal(bounds[1]))
    return True


def add_ref(
    out: Mapped,
    refs: Refs,
    subject: IRI,
    prop: IRI,
    value: str,
    column: str,
    *,
    default_kind: str | None = None,
) -> IRI | None:
    """Resolve a reference and add ``subject prop ref``; a bad reference is a warning."""
    if not value.strip():
        return None
    try:
        target = refs.resolve(value, default_kind=default_kind)
    except RefError as exc:
        out.warn(column, f"{exc}; left out")
        return None
    out.add(subject, prop, target)
    return target


def image(out: Mapped, refs: Refs, uri: str, column: str, depicts: list[IRI]) -> IRI | None:
    """A still image reached at ``uri`` (ac:accessURI), depicting ``depicts``."""
    uri = uri.strip()
    if not uri:
        return None
    if not uri.startswith(("http://", "https://")) or not refs.minter or " " in uri:
        out.warn(column, f"{uri!r} is not an http(s) URL; left out")
        return None
    node = refs.minter.media(uri)
    out.add(node, RDF.type, IRI(DCMITYPE + "StillImage"))
    out.add(node, DCTERMS.type, IRI(DCMITYPE + "StillImage"))
    out.add(node, AC.accessURI, IRI(uri))
    for d in depicts:
        out.add(node, FOAF.depicts, d)
    return node


def transcription(
    out: Mapped,
    annotation: IRI,
    targets: list[IRI],
    value: str,
    *,
    language: str = "",
    image_uri: str = "",
    region: str = "",
    column: str = "region",
) -> None:
    """A Web Annotation transcribing ``value``; on an image region (xywh) when there is an image."""
    out.add(annotation, RDF.type, OA.Annotation)
    out.add(annotation, OA.motivatedBy, OA.transcribing)
    for t in targets:
        out.add(annotation, OA.hasTarget, t)
    body = IRI(annotation + "/body")
    out.add(annotation, OA.hasBody, body)
    out.add(body, RDF.type, OA.TextualBody)
    out.add(body, RDF.value, Literal(value))
    out.add(body, DCTERMS.format, Literal("text/plain"))
    out.add(body, DCTERMS.language, text(language))
    if image_uri:
        target = IRI(annotation + "/target")
        out.add(annotation, OA.hasTarget, target)
        out.add(target, RDF.type, OA.SpecificResource)
        out.add(target, OA.hasSource, IRI(image_uri))
        if region.strip():
            m = _XYWH.match(region.strip().replace(" ", ""))
            if not m:
                out.warn(column, f"{region!r} is not a region x,y,w,h (xywh=...); whole image")
                return
            selector = IRI(annotation + "/selector")
            out.add(target, OA.hasSelector, selector)
            out.add(selector, RDF.type, OA.FragmentSelector)
            out.add(selector, DCTERMS.conformsTo, MEDIA_FRAGMENTS)
            unit = f"{m.group(1)}:" if m.group(1) else ""
            out.add(selector, RDF.value, Literal(f"xywh={unit}{m.group(2)}"))
    elif region.strip():
        out.warn(column, "a region needs an image; left out")


def mark_illustrative(out: Mapped, value: str, nodes: list[IRI]) -> None:
    """``col:illustrative true`` on ``nodes`` and every node minted under them (``{node}/...``),
    when the column says so; a comment on ``nodes``."""
    if value.strip().lower() not in TRUE_VALUES:
        return
    prefixes = tuple(n + "/" for n in nodes)
    minted = [t[0] for t in out.triples if t[0] in nodes or t[0].startswith(prefixes)]
    for n in dict.fromkeys([*nodes, *minted]):
        out.add(n, COL.illustrative, boolean(True))
    for n in nodes:
        out.add(
            n,
            RDFS.comment,
            Literal("Illustrative: written for the Collectomics demo; not a historical record."),
        )


def confidence(out: Mapped, value: str, column: str) -> Literal | None:
    """A confidence in [0, 1] as xsd:decimal; anything else is a warning."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:
        out.warn(column, f"{value!r} is not a confidence from 0 to 1; left out")
        return None
    return Literal(value if "." in value else f"{value}.0", XSD + "decimal")
