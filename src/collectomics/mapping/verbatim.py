"""Keep every value a publisher wrote, even where the model has no place for it (pure).

The rules, documented in docs/model.md ("Every published value is kept"):

- a value is kept verbatim: its term's IRI as the predicate, the value as written as a plain
  literal, one triple per value; an identifier term (a local name ending in ``ID``:
  ``institutionID``, ``taxonID``) too, so ``dwc:institutionID "http://grbio.org/..."``;
- a ``dwciri:`` term keeps an IRI value as an IRI; any other value goes on the ``dwc:`` term of
  the same name as a literal (never a literal on a ``dwciri:`` term).

Also here: a ``verbatimLabel`` as a label transcription (like the labels template's), and GBIF's
``issue`` flags, one ``gbif:issue`` literal per flag on the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from collectomics.mapping.annotations import transcription
from collectomics.mapping.common import Mapped
from collectomics.mapping.dwc import DC_TERMS
from collectomics.model import IRI, Literal, iri_is_valid, quoted
from collectomics.vocab import COL, DCTERMS, DWC, RDF, RDFS

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
DWCIRI_NS = "http://rs.tdwg.org/dwc/iri/"
GBIF_NS = "http://rs.gbif.org/terms/1.0/"
#: the term GBIF downloads carry their interpretation flags in (``;``-separated)
ISSUE = IRI(GBIF_NS + "issue")
#: a GBIF record's gbif.org page, followed by its ``gbifID``: the ``rdfs:seeAlso`` of its
#: specimen, where the graph keeps that ``gbifID``
GBIF_RECORD_PAGE = "https://www.gbif.org/occurrence/"
_PREFIXES = (
    (DWC_NS, "dwc"),
    (DWCIRI_NS, "dwciri"),
    ("http://purl.org/dc/terms/", "dcterms"),
    (GBIF_NS, "gbif"),
    ("http://rs.tdwg.org/ac/terms/", "ac"),
)


def term_iri(name: str) -> str:
    """The IRI of a term as a record names it: a full IRI as it is, a bare Darwin Core or Dublin
    Core name (as ``mapping.dwc.canonical_term`` gives them) in its namespace."""
    if "://" in name or name.startswith("urn:"):
        return name
    return DCTERMS.term(name) if name in DC_TERMS else DWC.term(name)


def compact(term: str) -> str:
    """``dwc:institutionID`` for a term's IRI (or bare name): how reports name terms."""
    iri = term_iri(term)
    for ns, prefix in _PREFIXES:
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def predicate(iri: str) -> IRI:
    """The term's IRI as a predicate; characters an IRI cannot hold (a header ``my column``)
    percent-encoded."""
    if iri_is_valid(iri):
        return IRI(iri)
    return IRI("".join(_escape(ch) for ch in iri))


_NOT_IN_IRI = set(' <>"{}|\\^`')


def _escape(ch: str) -> str:
    """A character as an IRI may hold it: percent-encoded when it is a space, a control
    character or one of ``<>"{}|\\^`` (RFC 3987)."""
    if ch in _NOT_IN_IRI or not ch.isprintable():
        return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
    return ch


def identifier(out: Mapped, node: IRI, term: str, value: str) -> None:
    """``value`` of the identifier term ``term`` on ``node`` as written: the term's IRI as the
    predicate, a plain literal (as any value kept verbatim)."""
    out.triples.append((node, predicate(term_iri(term)), Literal(value)))


@lru_cache(maxsize=4096)  # a dataset has a few hundred terms; records repeat them
def _plan(term: str) -> tuple[IRI | None, IRI, str]:
    """How :func:`keep` stores ``term``: (the dwciri: predicate for an IRI value or None, the
    predicate for a literal, that predicate in N-Triples)."""
    iri = term_iri(term)
    if iri.startswith(DWCIRI_NS):  # a literal goes on the dwc: term, never on dwciri:
        literal = predicate(DWC_NS + iri[len(DWCIRI_NS) :])
        return IRI(iri), literal, literal.n3()
    literal = predicate(iri)
    return None, literal, literal.n3()


def keep(out: Mapped, node: IRI, term: str, value: str) -> None:
    """One value the mapping has no other place for, on ``node`` by the rules above."""
    for_iri, p, p_n3 = _plan(term)
    if for_iri is not None and iri_is_valid(value) and ":" in value:
        out.triples.append((node, for_iri, IRI(value)))
    elif out.lines is not None:  # written as text when the mapper writes text
        out.lines.append(f"{node.n3()} {p_n3} {quoted(value)} .\n")
    else:
        out.triples.append((node, p, Literal(value)))


def keep_all(out: Mapped, node: IRI, values: Mapping[str, str], terms: Iterable[str]) -> None:
    """:func:`keep` each of ``terms`` (stripped, non-empty values of ``values``) on ``node``."""
    lines = out.lines
    n = node.n3() if lines is not None else ""
    for term in terms:
        for_iri, _, p_n3 = _plan(term)
        if lines is None or for_iri is not None:
            keep(out, node, term, values[term])
        else:  # the common case, written as text with the subject made once
            lines.append(f"{n} {p_n3} {quoted(values[term])} .\n")


def label_transcription(out: Mapped, specimen: IRI, text: str) -> IRI:
    """A publisher's ``verbatimLabel``: a label of the specimen transcribed by a Web Annotation,
    as the labels template makes them (its IRI ``{specimen}/label/verbatim``)."""
    label = IRI(f"{specimen}/label/verbatim")
    out.triples.append((specimen, COL.hasLabel, label))
    out.triples.append((label, RDF.type, COL.SpecimenLabel))
    out.triples.append((label, RDFS.label, Literal("Label text as published (verbatimLabel)")))
    annotation = IRI(f"{label}/transcription/1")
    transcription(out, annotation, [label], text)
    out.triples.append((annotation, DCTERMS.source, DWC.verbatimLabel))
    return label


def issue_flags(out: Mapped, specimen: IRI, value: str) -> list[str]:
    """GBIF's interpretation flags (``COORDINATE_ROUNDED;...``), each a ``gbif:issue`` literal
    on the record (the column's own term, one value per flag); returns the flags."""
    flags = list(dict.fromkeys(f.strip() for f in value.split(";") if f.strip()))
    out.triples.extend((specimen, ISSUE, Literal(flag)) for flag in flags)
    return flags
