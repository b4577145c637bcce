"""Map one row of the media template: a photograph or other medium, as Audiovisual Core media.

A medium is typed with its DCMI type (``dcmitype:StillImage``...), reached at ``ac:accessURI``,
depicts (``foaf:depicts``) specimens, labels, people, events or documents, and credits its
creator with a role node (photographer for photographs).
"""

from __future__ import annotations

from collections.abc import Mapping

from collectomics.mapping.annotations import DCMITYPE, add_date, mark_illustrative
from collectomics.mapping.common import Context, Mapped, getter, text
from collectomics.mapping.refs import RefError, Refs
from collectomics.mapping.roles import role_node, role_node_iri
from collectomics.model import IRI, Literal, iri_is_valid
from collectomics.vocab import AC, DCTERMS, FOAF, RDF, ROLE

#: The columns of the media template, in order (docs/templates.md documents each).
MEDIA_COLUMNS = (
    "media_id access_uri title type subtype format creator created license rights_owner "
    "depicts description further_information illustrative"
).split()
DCMI_TYPES = {t.lower(): t for t in ("StillImage", "MovingImage", "Sound", "Text", "Image")}
_LICENCES = {
    "cc0": "http://creativecommons.org/publicdomain/zero/1.0/",
    "cc-by": "http://creativecommons.org/licenses/by/4.0/",
    "cc by": "http://creativecommons.org/licenses/by/4.0/",
    "cc-by-4.0": "http://creativecommons.org/licenses/by/4.0/",
    "cc-by-nc": "http://creativecommons.org/licenses/by-nc/4.0/",
}


def _http(value: str) -> bool:
    return value.startswith(("http://", "https://")) and iri_is_valid(value)


def map_media(record: Mapping[str, str], ctx: Context, refs: Refs) -> Mapped:
    """Map one media-template row; reject it when it has neither media_id nor access_uri."""
    out = Mapped()
    get = getter(record)
    access = get("access_uri")
    if access and not _http(access):
        return out.reject("access_uri", f"{access!r} is not an http(s) URL")
    key = get("media_id") or access
    if not key:
        return out.reject("media_id", "a medium needs a media_id or an access_uri")
    m = ctx.minter.media(key)
    out.subject = m
    kind = DCMI_TYPES.get((get("type") or "StillImage").lower())
    if kind is None:
        out.warn(
            "type", f"{get('type')!r} is not a DCMI type (StillImage, MovingImage, Sound, Text)"
        )
        kind = "StillImage"
    out.add(m, RDF.type, IRI(DCMITYPE + kind))
    out.add(m, DCTERMS.type, IRI(DCMITYPE + kind))
    out.add(m, DCTERMS.isPartOf, ctx.dataset)
    if access:
        out.add(m, AC.accessURI, IRI(access))
    out.add(m, DCTERMS.identifier, text(get("media_id")))
    out.add(m, DCTERMS.title, text(get("title")))
    out.add(m, AC.subtypeLiteral, text(get("subtype")))
    out.add(m, DCTERMS.format, text(get("format")))
    out.add(m, DCTERMS.description, text(get("description")))
    out.add(m, DCTERMS.rightsHolder, text(get("rights_owner")))
    further = get("further_information")
    if further:
        if _http(further):
            out.add(m, AC.furtherInformationURL, IRI(further))
        else:
            out.warn("further_information", f"{further!r} is not an http(s) URL; left out")
    licence = get("license")
    if licence:
        iri = _LICENCES.get(licence.lower(), licence)
        out.add(m, DCTERMS.license, IRI(iri) if _http(iri) else Literal(licence))
    add_date(out, m, get("created"), "created", DCTERMS.created)
    if get("creator"):
        try:
            who = refs.resolve(get("creator"), default_kind="person")
        except RefError as exc:
            out.warn("creator", f"{exc}; left out")
        else:
            out.add(m, DCTERMS.creator, who)
            photo = get("subtype").lower() == "photograph" or kind == "StillImage"
            role = ROLE.photographer if photo else ROLE.creator
            role_node(out, m, role_node_iri(m, role, 1), who, role, 1, entity=True)
    for ref in get("depicts").split("|"):
        if not ref.strip():
            continue
        try:
            target = refs.resolve(ref)
        except RefError as exc:
            out.warn("depicts", f"{exc}; left out")
            continue
        out.add(m, FOAF.depicts, target)
        if refs.is_specimen(ref):
            out.add(m, AC.associatedSpecimenReference, target)
    mark_illustrative(out, get("illustrative"), [m])
    return out
