"""References from one template to things another template or dataset mints.

A reference is written ``kind:key`` or as an absolute IRI:

- ``catalog:BCN-35752``: the specimen with that ``dwc:catalogNumber``, looked up by the ingest
  among specimens already in the store (passed in as :attr:`Refs.catalog`);
- ``occurrence:ID``: the specimen with that ``dwc:occurrenceID``, looked up the same way
  (:attr:`Refs.occurrences`), since an occurrenceID keys a specimen only within its dataset;
  one not in the store yet is the IRI it will have in the dataset being loaded;
- ``person:ID``, ``group:ID``, ``media:ID``, ``document:ID`` (``document:ID/PART/...`` for a
  page or other part), ``label:REF`` (label 1 of the specimen ``REF``; ``label:REF#2``) and
  ``event:REF`` (the collecting event of the specimen ``REF``);
- ``https://...``, ``http://...``, ``urn:...``: taken as it is.

Agent columns (creator, hand, attributed_by...) take a bare person id as ``person:ID``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from collectomics.iri import Minter
from collectomics.model import IRI, iri_is_valid

KINDS = ("catalog", "occurrence", "person", "group", "media", "document", "label", "event")
SPECIMEN_KINDS = ("catalog", "occurrence")


class RefError(ValueError):
    """A reference that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class Refs:
    """Resolves references; ``catalog`` maps catalogue numbers, ``occurrences`` occurrenceIDs,
    to the specimens that have them; ``dataset_id`` is the dataset being loaded."""

    minter: Minter
    catalog: Mapping[str, tuple[IRI, ...]] = field(default_factory=dict)
    occurrences: Mapping[str, tuple[IRI, ...]] = field(default_factory=dict)
    dataset_id: str = ""

    def resolve(self, ref: str, *, default_kind: str | None = None) -> IRI:
        """The IRI a reference names; RefError says what is wrong with it."""
        ref = ref.strip()
        if not ref:
            raise RefError("empty reference")
        if ref.startswith(("http://", "https://", "urn:")):
            if not iri_is_valid(ref):
                raise RefError(f"{ref!r} is not a valid IRI")
            return IRI(ref)
        kind, sep, key = ref.partition(":")
        if not sep or kind not in KINDS:
            if default_kind:
                kind, key = default_kind, ref
            else:
                raise RefError(
                    f"{ref!r} is not a reference; write kind:key ({', '.join(KINDS)}) or an IRI"
                )
        key = key.strip()
        if not key:
            raise RefError(f"{ref!r} names no key after {kind}:")
        m = self.minter
        if kind in SPECIMEN_KINDS:
            term = "catalogNumber" if kind == "catalog" else "occurrenceID"
            found = (self.catalog if kind == "catalog" else self.occurrences).get(key, ())
            if not found and kind == "occurrence" and self.dataset_id:
                return m.specimen(self.dataset_id, key)
            if not found:
                raise RefError(
                    f"no specimen with {term} {key!r} in the store (load the specimens "
                    "first, or use the specimen's IRI)"
                )
            if len(found) > 1:
                other = "occurrence:ID or " if kind == "catalog" else ""
                raise RefError(
                    f"{term} {key!r} names {len(found)} specimens; use {other}the specimen's IRI"
                )
            return found[0]
        if kind == "person":
            return m.person(key)
        if kind == "group":
            return m.mint("group", key)
        if kind == "media":
            return m.media(key)
        if kind == "document":
            head, *parts = key.split("/")
            doc = m.document(head)
            return m.part(doc, *parts) if parts else doc
        inner, _, number = key.partition("#")
        specimen = self.resolve(inner)
        if kind == "label":
            return m.part(specimen, "label", number or "1")
        return m.part(specimen, "event")

    def is_specimen(self, ref: str) -> bool:
        return ref.strip().split(":", 1)[0] in SPECIMEN_KINDS


def catalog_refs(values: list[str], kind: str = "catalog") -> set[str]:
    """The keys that ``catalog:`` (or ``kind:``: ``occurrence:``) references name, also inside
    label:/event: references."""
    found = set()
    for value in values:
        for ref in value.split("|"):
            ref = ref.strip()
            for prefix in ("label:", "event:"):
                if ref.startswith(prefix):
                    ref = ref[len(prefix) :].split("#")[0]
            if ref.startswith(kind + ":"):
                found.add(ref[len(kind) + 1 :].strip())
    return found
