"""Dataset metadata from EML documents (eml.xml, metadata.xml, a GBIF download's dataset/*.xml).

``parse_eml(data, source=name)`` reads EML 2.0/2.1/2.2 as GBIF (IPT, the download service),
Symbiota, ALA and iDigBio write it, and returns a ``DatasetMetadata``. Namespaces are ignored
(``eml:eml`` of any version; children are matched by local name). Reading only: nothing is
looked up, nothing is mapped.

``DatasetMetadata`` is ``collectomics.model.DatasetMetadata`` (what ``mapping`` consumes); its
``identifiers`` hold ``packageId``, every ``alternateIdentifier`` (GBIF dataset keys, DOIs, URLs)
and a DOI given as a citation identifier, as written, without repeats.

Licence: the first ``ulink/@url`` in ``intellectualRights`` (EML 2.1), ``licensed/url`` or
``licensed/identifier`` (EML 2.2), a Creative Commons or Open Data Commons URL written in the
rights text, or a Creative Commons licence named in words ("Creative Commons Attribution Australia
3.0", "CC-BY-NC 4.0", "CC0") -- as an IRI; otherwise the text of the rights (or of its "License"
section, as ALA writes it). ``rights`` is the whole ``intellectualRights`` text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from collectomics.errors import InputError
from collectomics.ingest.csvfile import check_xml
from collectomics.model import Contact as _ModelContact
from collectomics.model import DatasetMetadata

__all__ = ["Contact", "DatasetMetadata", "parse_eml"]

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CC = "http://creativecommons.org/"
_CC0 = _CC + "publicdomain/zero/1.0/legalcode"
_LICENCE_URL = re.compile(
    r"https?://(?:www\.)?(?:creativecommons\.org|opendatacommons\.org)/[^\s<>\"')]*",
    re.IGNORECASE,
)
_DOI = re.compile(r"(?:^|doi\.org/|doi:)\s*(10\.\d{4,9}/\S+)", re.I)
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
_JURISDICTIONS = {
    "australia": "au",
    "new zealand": "nz",
    "united states": "us",
    "netherlands": "nl",
    "spain": "es",
    "germany": "de",
    "france": "fr",
    "brazil": "br",
}


@dataclass
class Contact(_ModelContact):
    """A person or organisation named in the EML (``model.Contact``): ``name`` is given name(s)
    and surname joined; ``orcid`` the ``https://orcid.org/...`` IRI from a ``userId`` whose
    directory is ORCID."""


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = _local(el.tag)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def _text(el: ET.Element | None) -> str | None:
    return None if el is None else _clean("".join(el.itertext()))


def _block_text(el: ET.Element) -> str | None:
    """Readable text of an EML text block: paragraphs on their own lines, a ``ulink`` shown as
    its title and URL, ALA-style ``section`` titles kept ("License: ...")."""
    blocks: list[str] = []

    def inline(node: ET.Element) -> str:
        out = [node.text or ""]
        for child in node:
            if child.tag == "ulink":
                title = _text(child.find("citetitle")) or _clean(child.text)
                url = (child.get("url") or "").strip()
                out.append(f" {title} ({url}) " if title and url else f" {title or url} ")
            else:
                out.append(inline(child))
            out.append(child.tail or "")
        return "".join(out)

    def walk(node: ET.Element, heading: str = "") -> None:
        children = list(node)
        if node.tag == "section":
            title = _text(node.find("title"))
            for child in children:
                if child.tag != "title":
                    walk(child, f"{title}: " if title else "")
            return
        if node.tag in ("para", "literalLayout", "markdown") or not any(
            c.tag in ("para", "section", "literalLayout", "markdown") for c in children
        ):
            text = _clean(inline(node))
            if text:
                blocks.append(heading + text)
            return
        if _clean(node.text):
            blocks.append(heading + (_clean(node.text) or ""))
        for child in children:
            walk(child, heading)

    walk(el)
    return "\n".join(blocks) or None


def _cc_from_words(text: str) -> str | None:
    """A Creative Commons licence IRI for a licence named in words, or None."""
    t = " ".join(text.lower().replace("_", " ").split())
    if re.search(r"\bcc[\s-]?(0|zero)\b|public domain dedication|publicdomain/zero", t):
        return _CC0
    version = re.search(r"\b([1-4])[.\s]([05])\b", t)
    m = re.search(r"\bcc[\s-]+by((?:[\s-]+(?:nc|sa|nd))*)\b", t)
    if m:
        parts = ["by", *re.findall(r"nc|sa|nd", m.group(1))]
    elif "creative commons attribution" in t:
        parts = ["by"]
        if re.search(r"non[\s-]?commercial", t):
            parts.append("nc")
        if re.search(r"share[\s-]?alike", t):
            parts.append("sa")
        if re.search(r"no[\s-]?deriv", t):
            parts.append("nd")
    else:
        return None
    if not version:
        return None
    number = f"{version.group(1)}.{version.group(2)}"
    port = ""
    if number != "4.0":
        port = next((f"{code}/" for name, code in _JURISDICTIONS.items() if name in t), "")
    return f"{_CC}licenses/{'-'.join(parts)}/{number}/{port}"


def _licence(rights: ET.Element | None, dataset: ET.Element) -> str | None:
    licensed = dataset.find("licensed")
    if licensed is not None:
        for tag in ("url", "identifier"):
            value = _text(licensed.find(tag))
            if value:
                return value
    if rights is None:
        return _text(licensed.find("licenseName")) if licensed is not None else None
    for ulink in rights.iter("ulink"):
        url = (ulink.get("url") or "").strip()
        if url:
            return url
    # ALA: <section><title>License</title><para>Creative Commons Attribution ...</para>
    licence_text = None
    for section in rights.iter("section"):
        if (_text(section.find("title")) or "").lower() in ("license", "licence"):
            licence_text = _text(section.find("para")) or licence_text
    text = _block_text(rights) or ""
    for candidate in (licence_text, text):
        if not candidate:
            continue
        link = _LICENCE_URL.search(candidate)
        if link:
            return link.group(0).rstrip(".,;:")
        named = _cc_from_words(candidate)
        if named:
            return named
    return licence_text or text or None


def _contact(el: ET.Element, role: str) -> Contact | None:
    person = el.find("individualName")
    name = None
    if person is not None:
        given = " ".join(filter(None, (_text(g) for g in person.findall("givenName"))))
        surname = _text(person.find("surName")) or ""
        if surname and len(given.split()) > 1 and given.split()[-1] == surname:
            surname = ""  # GBIF's 2014-15 EML wrote <givenName>Deb Trock</givenName><surName>Trock
        name = _clean(f"{given} {surname}")
    orcid = None
    for user in el.findall("userId"):
        directory = (user.get("directory") or "").lower()
        value = _text(user) or ""
        m = _ORCID.search(value)
        if m and ("orcid" in directory or "orcid.org" in value.lower()):
            orcid = f"https://orcid.org/{m.group(1)}"
            break
    contact = Contact(
        role=role,
        name=name,
        organization=_text(el.find("organizationName")),
        email=_text(el.find("electronicMailAddress")),
        orcid=orcid,
        party_role=_text(el.find("role")),
        position=_text(el.find("positionName")),
    )
    if not (
        contact.name or contact.organization or contact.email or contact.orcid or contact.position
    ):
        return None
    return contact


def _preferred_title(dataset: ET.Element) -> str | None:
    titles = dataset.findall("title")
    for wanted in (None, "en", "eng"):
        for t in titles:
            lang = t.get(_XML_LANG)
            if (lang is None and wanted is None) or (lang and lang.lower() == wanted):
                if _text(t):
                    return _text(t)
    return next((_text(t) for t in titles if _text(t)), None)


def _citation(root: ET.Element) -> tuple[str | None, str | None]:
    """(citation text, its identifier attribute) from additionalMetadata: GBIF's first."""
    found: list[ET.Element] = []
    for meta in root.findall("additionalMetadata/metadata"):
        found += meta.findall("gbif/citation")
    for meta in root.findall("additionalMetadata/metadata"):
        found += meta.findall("formattedCitation") + meta.findall("*/citation")
    for el in found:
        if _text(el):
            return _text(el), (el.get("identifier") or "").strip() or None
    return None, None


def parse_eml(data: bytes, *, source: str = "") -> DatasetMetadata:
    """Read one EML document. Raises ``InputError(file=source, row=line)`` when the bytes are
    not well-formed XML or not EML (e.g. an HTML error page saved in its place), or declare
    DTD entities or nest too deep (see ``csvfile.check_xml``)."""
    check_xml(data, source)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"EML is not well-formed XML: {exc}", file=source, row=line) from None
    if _local(root.tag) != "eml":
        raise InputError(
            f"not an EML document: the root element is <{_local(root.tag)}>", file=source, row=1
        )
    _strip_namespaces(root)
    dataset = root.find("dataset")
    if dataset is None:
        dataset = ET.Element("dataset")
    meta = DatasetMetadata()
    meta.title = _preferred_title(dataset)
    abstract = dataset.find("abstract")
    meta.abstract = _block_text(abstract) if abstract is not None else None
    meta.language = _text(dataset.find("language"))
    meta.pub_date = _text(dataset.find("pubDate"))
    rights = dataset.find("intellectualRights")
    meta.rights = _block_text(rights) if rights is not None else None
    meta.license = _licence(rights, dataset)
    meta.citation, cited_id = _citation(root)

    identifiers = [(root.get("packageId") or "").strip()]
    identifiers += [_text(a) or "" for a in dataset.findall("alternateIdentifier")]
    if cited_id and _DOI.search(cited_id):
        identifiers.append(cited_id)
    meta.identifiers = [i for i in dict.fromkeys(identifiers) if i]

    for role in ("creator", "contact", "metadataProvider", "associatedParty", "publisher"):
        for el in dataset.findall(role):
            contact = _contact(el, role)
            if contact:
                meta.contacts.append(contact)
    for el in dataset.findall("project/personnel"):
        contact = _contact(el, "personnel")
        if contact:
            meta.contacts.append(contact)

    publisher = dataset.find("publisher")
    if publisher is not None:
        meta.publisher = _text(publisher.find("organizationName")) or _text(publisher)
    if not meta.publisher:
        meta.publisher = next(
            (
                c.organization
                for c in meta.contacts
                if c.role == "associatedParty"
                and isinstance(c, Contact)
                and (c.party_role or "").lower() == "publisher"
            ),
            None,
        )
    return meta
