"""Darwin Core Archive extension rows and dataset metadata to triples (pure).

Extension rows arrive as ``term IRI -> value`` dicts, already tied to their specimen's IRI:
media (GBIF Multimedia and Audubon Core), identification history, resource relationships, and
GBIF's verbatim record.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

from collectomics.mapping.common import Context, Mapped, date_literal, getter, text
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.roles import agent_roles, role_for, role_node, role_node_iri
from collectomics.mapping.verbatim import keep
from collectomics.model import IRI, Contact, DatasetMetadata, Literal, iri_is_valid
from collectomics.vocab import (
    AC,
    COL,
    DCTERMS,
    DSW,
    DWC,
    DWCIRI,
    FOAF,
    PROV,
    RDF,
    ROLE,
    SCHEMA,
)

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
DC_NS = "http://purl.org/dc/terms/"
DCE_NS = "http://purl.org/dc/elements/1.1/"
AC_NS = "http://rs.tdwg.org/ac/terms/"
XMP_NS = ("http://ns.adobe.com/xap/1.0/rights/", "http://ns.adobe.com/xap/1.0/")
DCMITYPE = "http://purl.org/dc/dcmitype/"
#: the IIIF Presentation API's class of manifests
IIIF_MANIFEST = IRI("http://iiif.io/api/presentation/3#Manifest")
_DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/[^\s\"<>]+)$", re.I)

#: local names whose values are links, kept as IRIs when they are valid ones
_LINK_TERMS = {
    "identifier",
    "references",
    "accessURI",
    "thumbnailAccessURI",
    "goodQualityAccessURI",
    "furtherInformationURL",
    "WebStatement",
    "license",
    "derivedFrom",
    "source",
}
_MEDIA_TYPES = {
    "stillimage": "StillImage",
    "movingimage": "MovingImage",
    "sound": "Sound",
    "image": "StillImage",
    "text": "Text",
}


def _local(term: str) -> tuple[str, str]:
    for ns in (DWC_NS, DC_NS, DCE_NS, AC_NS, *XMP_NS, "http://rs.gbif.org/terms/1.0/"):
        if term.startswith(ns):
            return ns, term[len(ns) :]
    head, _, tail = term.rpartition("/")
    return head + "/", tail


def _value_term(value: str) -> IRI | Literal:
    return IRI(value) if iri_is_valid(value) and "://" in value else Literal(value)


def is_iiif_manifest(url: str, media_format: str = "") -> bool:
    """True when a media row names a IIIF Presentation manifest rather than an image: its
    format is IIIF's JSON-LD (``application/ld+json;profile=...iiif.io...``), or its URL's last
    segment is ``manifest`` / ``manifest.json`` (the IIIF convention publishers follow)."""
    fmt = media_format.lower()
    if "iiif.io/api/presentation" in fmt or ("ld+json" in fmt and "iiif" in fmt):
        return True
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").lower()
    return path.rsplit("/", 1)[-1] in {"manifest", "manifest.json"}


def map_media(values: Mapping[str, str], specimen: IRI, ctx: Context, key: str) -> Mapped:
    """One multimedia row (GBIF Multimedia or Audubon Core) depicting ``specimen``; a IIIF
    manifest is typed as one (``iiif:Manifest``), not as a still image. The manifest is not
    fetched here (mapping does no I/O)."""
    out = Mapped()
    access = ""
    media_format = ""
    for term, value in values.items():
        local = _local(term)[1]
        if local in {"identifier", "accessURI"} and iri_is_valid(value.strip()) and not access:
            access = value.strip()
        elif local == "format":
            media_format = value.strip()
    media = ctx.minter.media(access) if access else ctx.minter.part(specimen, "media", key)
    out.subject = media
    out.add(media, FOAF.depicts, specimen)
    out.add(media, SCHEMA.includedInDataSet, ctx.dataset)
    typed = False
    if access and is_iiif_manifest(access, media_format):
        out.add(media, RDF.type, IIIF_MANIFEST)
        out.add(media, DCTERMS.type, Literal("IIIF manifest"))
        typed = True
    for term, value in values.items():
        value = value.strip()
        if not value:
            continue
        ns, name = _local(term)
        if name == "type" and ns in (DC_NS, DCE_NS) and typed:  # a manifest, whatever it says
            out.add(media, DCTERMS.type, Literal(value))
            continue
        if name == "type" and ns in (DC_NS, DCE_NS):
            kind = _MEDIA_TYPES.get(value.rsplit("/", 1)[-1].replace(" ", "").lower())
            if kind:
                out.add(media, RDF.type, IRI(DCMITYPE + kind))
                typed = True
            out.add(media, DCTERMS.type, Literal(value))
            continue
        if name == "identifier" and ns in (DC_NS, DCE_NS, "http://rs.gbif.org/terms/1.0/"):
            out.add(media, AC.accessURI, _value_term(value))
            continue
        predicate = IRI(term) if ns != DCE_NS else DCTERMS.term(name)
        if name in _LINK_TERMS:
            out.add(media, predicate, _value_term(value))
        elif ns == AC_NS and name == "associatedSpecimenReference":
            out.add(media, predicate, Literal(value))
        else:
            out.add(media, predicate, Literal(value))
    if not typed:
        out.add(media, RDF.type, IRI(DCMITYPE + "StillImage"))
    return out


def map_identification(
    values: Mapping[str, str], specimen: IRI, ctx: Context, number: int
) -> Mapped:
    """One row of the identification history: a past or current identification of ``specimen``,
    its determiners role nodes by the rule the core record's follow (:func:`agent_roles`: the
    verbatim string, 'et al.', unknown agents, and ``identifiedByID`` paired as on the core)."""
    out = Mapped()
    node = ctx.minter.part(specimen, "identification", f"h{number}")
    out.subject = node
    out.add(specimen, DSW.hasIdentification, node)
    out.add(node, RDF.type, DWC.Identification)  # a prov:Activity by the ontology
    for term, value in values.items():
        ns, name = _local(term)
        if ns == DWC_NS and value.strip() and name != "identifiedByID":
            out.add(node, DWC.term(name), Literal(value.strip()))
        elif value.strip() and term != DWC_NS + "identifiedByID":
            keep(out, node, term, value.strip())  # an identifier node, or verbatim
    get = getter(values, DWC_NS)
    bounds = date_bounds(get("dateIdentified")) if get("dateIdentified") else None
    if bounds:
        out.add(node, COL.earliestDate, date_literal(bounds[0]))
        out.add(node, COL.latestDate, date_literal(bounds[1]))
    elif get("dateIdentified"):
        out.warn(
            "dateIdentified", f"date {get('dateIdentified')!r} not understood; kept as written"
        )
    if get("identifiedBy") or get("identifiedByID"):
        agent_roles(
            out,
            ctx,
            node,
            specimen,
            get("identifiedBy"),
            "identifiedBy",
            ROLE.determiner,
            DWCIRI.identifiedBy,
            get("identifiedByID"),
        )
    return out


def map_relationship(
    values: Mapping[str, str],
    specimen: IRI,
    ctx: Context,
    number: int,
    resolve: Callable[[str], IRI | None],
) -> Mapped:
    """One resource relationship of ``specimen``; ``resolve`` turns an id of this archive into
    the IRI of the record it names."""
    out = Mapped()
    get = getter(values, DWC_NS)
    node = ctx.minter.part(specimen, "relationship", str(number))
    out.subject = node
    out.add(node, RDF.type, DWC.ResourceRelationship)
    out.add(node, DCTERMS.subject, specimen)
    related_id = get("relatedResourceID")
    if related_id:
        related = resolve(related_id) or (
            IRI(related_id) if iri_is_valid(related_id) and ":" in related_id else None
        )
        if related is None:
            related = ctx.minter.mint("resource", related_id)
            out.add(related, DCTERMS.identifier, Literal(related_id))
        out.add(node, DCTERMS.relation, related)
        out.add(specimen, DCTERMS.relation, related)
    else:
        out.warn("relatedResourceID", "a relationship without relatedResourceID")
    placed = (
        "relationshipOfResource",
        "relationshipAccordingTo",
        "relationshipEstablishedDate",
        "relationshipRemarks",
    )
    for name in placed:
        out.add(node, DWC.term(name), text(get(name)))
    for term, value in values.items():
        if value.strip() and term not in {DWC_NS + n for n in (*placed, "relatedResourceID")}:
            keep(out, node, term, value.strip())  # resourceID, ...: identifier nodes, verbatim
    return out


def map_verbatim(
    values: Mapping[str, str], interpreted: Mapping[str, str], specimen: IRI, ctx: Context
) -> Mapped:
    """What GBIF's interpretation changed or dropped, kept on a verbatim record node (a value
    the same as the interpreted one is the specimen's already)."""
    out = Mapped()
    node = ctx.minter.part(specimen, "verbatim")
    kept = 0
    for term, value in values.items():
        value = value.strip()
        if not value or interpreted.get(term, "").strip() == value:
            continue
        keep(out, node, term, value)  # an ...ID term as an identifier node of the record
        kept += 1
    if kept:
        out.subject = node
        out.add(node, RDF.type, COL.VerbatimRecord)
        out.add(specimen, PROV.wasDerivedFrom, node)
    return out


def map_dataset(meta: DatasetMetadata, dataset: IRI, ctx: Context) -> Mapped:
    """A dataset node from its metadata: title, publisher, licence, citation, contacts."""
    out = Mapped()
    out.subject = dataset
    out.add(dataset, RDF.type, SCHEMA.Dataset)
    out.add(dataset, DCTERMS.title, text(meta.title))
    out.add(dataset, DCTERMS.abstract, text(meta.abstract))
    out.add(dataset, DCTERMS.publisher, text(meta.publisher))
    if meta.license:
        out.add(dataset, DCTERMS.license, _value_term(meta.license.strip()))
    out.add(dataset, DCTERMS.rights, text(meta.rights))
    out.add(dataset, DCTERMS.bibliographicCitation, text(meta.citation))
    out.add(dataset, DCTERMS.language, text(meta.language))
    out.add(dataset, DCTERMS.issued, text(meta.pub_date))
    for identifier in meta.identifiers:
        out.add(dataset, DCTERMS.identifier, text(identifier))
        doi = _DOI.match(identifier.strip())
        if doi:
            out.add(dataset, SCHEMA.sameAs, IRI("https://doi.org/" + doi.group(1)))
    orders: Counter[IRI] = Counter()
    for n, contact in enumerate(meta.contacts, start=1):
        role, word = contact_role(contact)
        orders[role] += 1  # the order among the dataset's agents in this role
        # keyed by who the contact is, not by position: a source dataset's node is shared by
        # every download that carries it, and two versions of its EML list other people
        # first, so a position would make one node of two people
        who = [p.strip() for p in (contact.name, contact.organization, contact.orcid) if p]
        who = who or [p.strip() for p in (contact.position,) if p] or [f"unnamed {n}"]
        agent = ctx.minter.part(dataset, "contact", "; ".join(who))
        node = role_node_iri(agent, role, orders[role])
        role_node(out, dataset, node, agent, role, orders[role], entity=True)
        out.add(node, SCHEMA.roleName, text(word))
        out.add(agent, RDF.type, FOAF.Agent)
        out.add(agent, FOAF.name, text(contact.name or contact.organization))
        if contact.name and contact.organization:
            out.add(agent, SCHEMA.affiliation, Literal(contact.organization))
        out.add(agent, SCHEMA.jobTitle, text(contact.position))
        if contact.orcid:
            out.add(agent, SCHEMA.identifier, _value_term(contact.orcid))
    return out


#: EML elements whose party plays one of our roles
_CONTACT_ROLES = {
    "creator": ROLE.creator,
    "contact": ROLE.contact,
    "metadataProvider": ROLE.metadataProvider,
}


def contact_role(contact: Contact) -> tuple[IRI, str | None]:
    """Our role for an EML party, and the word the EML wrote for it, kept as
    ``schema:roleName``: the element's role for a creator, contact or metadata provider; for an
    associated party or personnel, the ``<role>`` written inside it (``pointOfContact`` is our
    contact, ``principalInvestigator`` or ``curator`` our ``otherRole``); a publisher, or a
    party with no ``<role>``, is an ``otherRole`` named by its element."""
    fixed = _CONTACT_ROLES.get(contact.role)
    if fixed is not None:
        return fixed, contact.party_role
    if contact.party_role:
        return role_for(contact.party_role, "")[0], contact.party_role
    return ROLE.otherRole, contact.role
