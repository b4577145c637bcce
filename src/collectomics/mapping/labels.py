"""Map one row of the labels template: a specimen label, its transcription and its hands.

The label is a ``col:SpecimenLabel`` of the specimen (``col:hasLabel``); its transcription an
``oa:Annotation`` (``oa:transcribing``) on the label and, when an image is given, on a region of
that image (``oa:SpecificResource`` + ``oa:FragmentSelector`` xywh); the hand a
``col:HandwritingAttribution`` with confidence, who attributed it, when and on what evidence.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectomics.mapping.annotations import (
    add_date,
    confidence,
    image,
    mark_illustrative,
    transcription,
)
from collectomics.mapping.common import Context, Mapped, getter, text
from collectomics.mapping.refs import RefError, Refs
from collectomics.mapping.roles import role_node, role_node_iri
from collectomics.vocab import COL, DCTERMS, PROV, RDF, RDFS, ROLE

#: The columns of the labels template, in order (docs/templates.md documents each).
LABEL_COLUMNS = (
    "specimen label transcription writing_method language image region transcriber "
    "transcribed_on hand hand_confidence attributed_by attributed_on evidence notes illustrative"
).split()
WRITING_METHODS = {"typed": "typed", "handwritten": "handwritten", "mixed": "mixed", "mix": "mixed"}


def map_label(record: Mapping[str, str], ctx: Context, refs: Refs) -> Mapped:
    """Map one labels-template row; reject it when its specimen cannot be resolved."""
    out = Mapped()
    get = getter(record)
    if not get("specimen"):
        return out.reject("specimen", "specimen is empty (catalog:NUMBER, occurrence:ID or IRI)")
    try:
        specimen = refs.resolve(get("specimen"))
    except RefError as exc:
        return out.reject("specimen", str(exc))
    number = get("label") or "1"
    label = ctx.minter.part(specimen, "label", number)
    out.subject = label
    out.add(specimen, COL.hasLabel, label)
    out.add(label, RDF.type, COL.SpecimenLabel)
    out.add(label, RDFS.label, text(f"Label {number} of {get('specimen')}"))
    out.add(label, DCTERMS.isPartOf, ctx.dataset)
    method = get("writing_method")
    if method:
        key = method.lower().split()[0] if method.split() else ""
        if key.startswith("mix"):
            key = "mixed"
        if key in WRITING_METHODS:
            out.add(label, COL.writingMethod, text(WRITING_METHODS[key]))
        else:
            out.warn("writing_method", f"{method!r} is not typed, handwritten or mixed; left out")
    out.add(label, DCTERMS.language, text(get("language")))
    out.add(label, RDFS.comment, text(get("notes")))
    nodes = [label]

    img = image(out, refs, get("image"), "image", [label, specimen])
    if img:
        nodes.append(img)
    if get("transcription"):
        annotation = ctx.minter.part(label, "transcription", "1")
        transcription(
            out,
            annotation,
            [label],
            get("transcription"),
            language=get("language"),
            image_uri=get("image") if img else "",
            region=get("region"),
        )
        nodes.append(annotation)
        if get("transcriber"):
            try:
                who = refs.resolve(get("transcriber"), default_kind="person")
                out.add(annotation, DCTERMS.creator, who)
                node = role_node_iri(annotation, ROLE.transcriber, 1)
                role_node(out, annotation, node, who, ROLE.transcriber, 1, entity=True)
            except RefError as exc:
                out.warn("transcriber", f"{exc}; left out")
        add_date(out, annotation, get("transcribed_on"), "transcribed_on", DCTERMS.created)
    elif get("region"):
        out.warn("region", "a region without a transcription; left out")

    if get("hand"):
        try:
            writer = refs.resolve(get("hand"), default_kind="person")
        except RefError as exc:
            out.warn("hand", f"{exc}; no handwriting attribution")
        else:
            hand = ctx.minter.part(label, "hand", writer.rsplit("/", 1)[-1])
            nodes.append(hand)
            # a role node by the rule (one writer each: order 1), and a handwriting attribution
            role_node(out, label, hand, writer, ROLE.labelWriter, 1, entity=True)
            out.add(hand, RDF.type, COL.HandwritingAttribution)
            out.add(
                hand, COL.confidence, confidence(out, get("hand_confidence"), "hand_confidence")
            )
            if get("attributed_by"):
                try:
                    by = refs.resolve(get("attributed_by"), default_kind="person")
                    out.add(hand, PROV.wasAttributedTo, by)
                except RefError as exc:
                    out.warn("attributed_by", f"{exc}; left out")
            add_date(out, hand, get("attributed_on"), "attributed_on", DCTERMS.date)
            for ref in get("evidence").split("|"):
                if ref.strip():
                    try:
                        out.add(hand, COL.evidence, refs.resolve(ref))
                    except RefError as exc:
                        out.warn("evidence", f"{exc}; left out")
    else:
        for column in ("hand_confidence", "attributed_by", "attributed_on", "evidence"):
            if get(column):
                out.warn(column, f"{column} given without a hand; left out")
    mark_illustrative(out, get("illustrative"), nodes)
    return out
