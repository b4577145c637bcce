"""Agent name strings: split a ``recordedBy``/``identifiedBy`` value into people, normalise names.

Real strings mix separators (``;`` ``|`` ``&`` ``and``), put surnames first or last, abbreviate
given names, and carry noise (``leg.``, ``det.``, ``s.n.``, dates, ``et al.``). The splitter keeps
each person's name as written (for ``col:nameAsWritten``); :func:`normalise` gives the key that
makes the same person one agent within a dataset.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_PREFIX = re.compile(
    r"^\s*(?:leg|legit|coll|collected by|collector|det|determined by|identified by|conf|rev|ex herb)\b\.?:?\s*",
    re.I,
)
_NOISE = [
    re.compile(r"\[[^\]]*\]"),  # bracketed remarks and dates: [1991-06-12]
    re.compile(r"\bs\.\s?n\.?(?=\s|$)", re.I),  # sine numero
    re.compile(r"\b(?:1[5-9]|20)\d{2}(?:-\d{2}(?:-\d{2})?)?\b"),  # years and dates
    re.compile(r"\bno\.?\s*\d+\b", re.I),  # collecting numbers
]
_ET_AL = re.compile(r"[,;]?\s*\bet\.?\s*al\b\.?|[,;]?\s*&\s*al\b\.?|\band others\b", re.I)
_SPLIT = re.compile(r"\s*(?:;|\||\s&\s|&|\s+and\s+|\s+y\s+|\s+und\s+|\s+et\s+|\s+with\s+)\s*", re.I)
_INITIAL = re.compile(r"^(?:[A-ZÀ-Ý][a-z]?\.?-?){1,4}$")


@dataclass(frozen=True)
class SplitName:
    """One person's name as written on the record, and whether the string ended in 'et al.'."""

    written: str
    et_al: bool = False


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _PREFIX.sub("", text)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:-")


def _is_initials(piece: str) -> bool:
    tokens = piece.replace(".", ". ").split()
    return bool(tokens) and all(_INITIAL.match(t) for t in tokens)


def _is_full_name(piece: str) -> bool:
    """'A.K. Monro', 'Andrikovics S': initials beside a word, a name that stands alone.

    Several words without initials ('Rovira López', 'Anna Maria') are ambiguous: they may be a
    compound surname or given names, so they do not count here.
    """
    tokens = piece.replace(".", ". ").split()
    initials = [t for t in tokens if _INITIAL.match(t)]
    return 0 < len(initials) < len(tokens)


def _split_commas(segment: str) -> list[str]:
    pieces = [p.strip() for p in segment.split(",") if p.strip()]
    if len(pieces) <= 1:
        return pieces
    if len(pieces) == 2 and not (_is_full_name(pieces[0]) and _is_full_name(pieces[1])):
        return [f"{pieces[0]}, {pieces[1]}"]  # "Blanché, Cèsar" / "Bosch Daniel, Maria"
    names: list[str] = []
    for piece in pieces:
        if names and _is_initials(piece) and "," not in names[-1] and not _is_full_name(names[-1]):
            names[-1] = f"{names[-1]}, {piece}"  # "Harkness, W.J.K." pairs
        else:
            names.append(piece)
    return names


def split_agents(value: str | None) -> list[SplitName]:
    """Split an agent string into individual names as written, in order."""
    if not value or not value.strip():
        return []
    text = value.strip()
    et_al = bool(_ET_AL.search(text))
    text = _ET_AL.sub("", text)
    names: list[str] = []
    for segment in _SPLIT.split(text):
        segment = _clean(segment)
        if segment:
            names.extend(_split_commas(segment))
    # "M. & J. Shorthouse": a part that is only initials borrows the surname of the next part.
    for i, name in enumerate(names[:-1]):
        following = names[i + 1].split()
        if (
            _is_initials(name)
            and "," not in name
            and len(following) >= 2
            and not _is_initials(following[-1])
        ):
            surname = following[-1] if "," not in names[i + 1] else names[i + 1].split(",")[0]
            names[i] = f"{name} {surname}"
    out = [SplitName(n.strip(" ,;"), et_al and i == len(names) - 1) for i, n in enumerate(names)]
    return [n for n in out if n.written and any(ch.isalpha() for ch in n.written)]


def display_form(name: str) -> str:
    """'Blanché, C.' -> 'C. Blanché'; other forms unchanged (spacing tidied)."""
    name = re.sub(r"\s+", " ", name).strip()
    if name.count(",") == 1:
        surname, given = (p.strip() for p in name.split(","))
        if given and surname:
            given = re.sub(r"\.(?=[^\s.])", ". ", given)
            return f"{given} {surname}"
    return name


def normalise(name: str) -> str:
    """The key under which one dataset's spellings of the same name become one agent."""
    text = display_form(name)
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"[.\s]+", " ", text).strip()
    return text
