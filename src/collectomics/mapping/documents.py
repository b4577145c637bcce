"""Map the documents template (JSON): notebooks, letters and other archive records and parts.

A document is a ``rico:Record`` with creator, dates, holding institution, scans and language;
its parts (volumes, pages, letters, nested at will under ``pages``) are ``rico:RecordPart``s
linked both ways (``rico:isOrWasPartOf``/``rico:hasOrHadPart``, also ``dcterms:isPartOf``). What
a page mentions becomes ``dcterms:references`` (specimens, people, groups, documents),
``dcterms:spatial`` (places), ``dcterms:temporal`` (dates) and ``col:mentionedRecordNumber``.
Each document and each part is one record: a part that cannot be mapped is rejected alone.
Problems name a JSON path such as ``documents[0].pages[3].mentions[0].specimen``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collectomics.mapping.annotations import (
    add_date,
    add_ref,
    image,
    mark_illustrative,
    transcription,
)
from collectomics.mapping.common import Context, Mapped, text
from collectomics.mapping.refs import RefError, Refs
from collectomics.mapping.roles import role_node, role_node_iri
from collectomics.model import IRI, Literal
from collectomics.vocab import COL, DCTERMS, FOAF, PROV, RDF, RDFS, RICO, ROLE

DOCUMENT_KEYS = {
    "id", "title", "type", "creator", "date", "holding_institution", "language", "scans",
    "manifest", "description", "illustrative", "pages", "mentions", "transcription", "scan",
    "region",
}  # fmt: skip
PART_TYPES = ("page", "volume", "letter", "folio", "entry", "item", "part")
MENTION_KINDS = ("specimen", "person", "group", "document", "place", "date", "collecting_number")

#: (JSON path, what it maps to) per record: a document or one of its parts
Record = tuple[str, Mapped]


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _common(
    out: Mapped, node: IRI, item: dict[str, Any], ctx: Context, refs: Refs, path: str
) -> None:
    """What documents and parts share: title, type, creator, date, scans, mentions, text."""
    for key in sorted(set(item) - DOCUMENT_KEYS):
        out.warn(f"{path}.{key}", "key not mapped; ignored")
    out.add(node, DCTERMS.title, text(_str(item.get("title"))))
    out.add(node, RDFS.label, text(_str(item.get("title"))))
    out.add(node, DCTERMS.type, text(_str(item.get("type"))))
    out.add(node, DCTERMS.description, text(_str(item.get("description"))))
    out.add(node, DCTERMS.language, text(_str(item.get("language"))))
    creators = item.get("creator") or []
    for i, ref in enumerate(creators if isinstance(creators, list) else [creators], start=1):
        try:
            who = refs.resolve(str(ref), default_kind="person")
        except RefError as exc:
            out.warn(f"{path}.creator", f"{exc}; left out")
            continue
        out.add(node, DCTERMS.creator, who)
        out.add(node, RICO.hasCreator, who)
        role_node(
            out, node, role_node_iri(node, ROLE.creator, i), who, ROLE.creator, i, entity=True
        )
    add_date(out, node, _str(item.get("date")), f"{path}.date")
    scans = item.get("scans") or []
    if item.get("scan"):
        scans = [item["scan"], *scans] if isinstance(scans, list) else [item["scan"]]
    if not isinstance(scans, list):
        out.warn(f"{path}.scans", "scans must be a list of image URLs; left out")
        scans = []
    for i, uri in enumerate(scans):
        image(out, refs, str(uri), f"{path}.scans[{i}]", [node])
    if _str(item.get("transcription")):
        first = _str(scans[0]) if scans else ""
        transcription(
            out,
            IRI(node + "/transcription"),
            [node],
            _str(item["transcription"]),
            language=_str(item.get("language")),
            image_uri=first if first.startswith(("http://", "https://")) else "",
            region=_str(item.get("region")),
            column=f"{path}.region",
        )
    mentions = item.get("mentions") or []
    if not isinstance(mentions, list):
        out.warn(f"{path}.mentions", "mentions must be a list of objects; left out")
        mentions = []
    for i, mention in enumerate(mentions):
        where = f"{path}.mentions[{i}]"
        if not isinstance(mention, dict) or len(mention) != 1:
            out.warn(where, f"a mention is one object with one key of {', '.join(MENTION_KINDS)}")
            continue
        ((kind, value),) = mention.items()
        value = str(value).strip() if value is not None else ""
        where = f"{where}.{kind}"
        if kind not in MENTION_KINDS:
            out.warn(where, f"unknown mention kind {kind!r}; use {', '.join(MENTION_KINDS)}")
        elif not value:
            out.warn(where, "empty mention; left out")
        elif kind == "place":
            is_iri = value.startswith(("http://", "https://"))
            out.add(node, DCTERMS.spatial, IRI(value) if is_iri else Literal(value))
        elif kind == "date":
            out.add(node, DCTERMS.temporal, Literal(value))
        elif kind == "collecting_number":
            out.add(node, COL.mentionedRecordNumber, Literal(value))
        else:
            default = {"specimen": None, "document": "document"}.get(kind, kind)
            add_ref(out, refs, node, DCTERMS.references, value, where, default_kind=default)


def _parts(
    parent: IRI, items: Any, ctx: Context, refs: Refs, path: str, illustrative: str
) -> Iterator[Record]:
    if items is None:
        return
    if not isinstance(items, list):
        bad = Mapped()
        yield path, bad.reject(path, "pages must be a list of objects")
        return
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        out = Mapped()
        if not isinstance(item, dict):
            yield where, out.reject(where, "a page or part must be an object")
            continue
        part_id = _str(item.get("id")) or str(item.get("id") or "")
        if not part_id:
            yield where, out.reject(f"{where}.id", "a page or part needs an id")
            continue
        if part_id in seen:
            yield where, out.reject(f"{where}.id", f"id {part_id!r} repeats a sibling's id")
            continue
        seen.add(part_id)
        node = ctx.minter.part(parent, part_id)
        out.subject = node
        kind = _str(item.get("type")).lower() or "page"
        if kind not in PART_TYPES:
            out.warn(f"{where}.type", f"{kind!r} is not one of {', '.join(PART_TYPES)}")
        out.add(node, RDF.type, RICO.Record if kind == "letter" else RICO.RecordPart)
        out.add(node, RDF.type, PROV.Entity)
        out.add(node, RICO.isOrWasPartOf, parent)
        out.add(node, DCTERMS.isPartOf, parent)
        out.add(parent, RICO.hasOrHadPart, node)
        _common(out, node, {"type": kind, **item}, ctx, refs, where)
        flag = str(item.get("illustrative", illustrative)).lower()
        mark_illustrative(out, flag, [node])
        yield where, out
        yield from _parts(node, item.get("pages"), ctx, refs, f"{where}.pages", flag)


def map_document(item: Any, ctx: Context, refs: Refs, path: str) -> Iterator[Record]:
    """The records of one document: itself, then its parts depth first."""
    out = Mapped()
    if not isinstance(item, dict):
        yield path, out.reject(path, "a document must be an object")
        return
    doc_id = _str(item.get("id"))
    if not doc_id:
        yield path, out.reject(f"{path}.id", "a document needs an id")
        return
    doc = ctx.minter.document(doc_id)
    out.subject = doc
    out.add(doc, RDF.type, RICO.Record)
    out.add(doc, RDF.type, PROV.Entity)
    out.add(doc, DCTERMS.identifier, Literal(doc_id))
    out.add(doc, DCTERMS.isPartOf, ctx.dataset)
    _common(out, doc, item, ctx, refs, path)
    holder = _str(item.get("holding_institution"))
    if holder:
        try:
            org = refs.resolve(holder)
        except RefError:
            org = ctx.minter.mint("organization", holder)
            out.add(org, RDF.type, FOAF.Organization)
            out.add(org, RDF.type, PROV.Organization)
            out.add(org, FOAF.name, Literal(holder))
        out.add(doc, RICO.hasOrHadHolder, org)
    manifest = _str(item.get("manifest"))
    if manifest:
        if manifest.startswith(("http://", "https://")):
            out.add(doc, DCTERMS.source, IRI(manifest))
        else:
            out.warn(f"{path}.manifest", f"{manifest!r} is not an http(s) URL; left out")
    flag = str(item.get("illustrative", "")).lower()
    mark_illustrative(out, flag, [doc])
    yield path, out
    yield from _parts(doc, item.get("pages"), ctx, refs, f"{path}.pages", flag)


def document_refs(data: Any) -> list[str]:
    """Every reference string in a documents file (to look catalogue numbers up first)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            found.append(value)

    walk(data)
    return found
