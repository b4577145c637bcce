"""Agent name strings: split a ``recordedBy``/``identifiedBy`` value into people, normalise names.

Real strings mix separators (``;`` ``|`` ``&`` ``and`` ``y`` ``et`` ``with``...), put surnames
first or last, abbreviate given names, and carry noise (``leg.``, ``det.``, ``s.n.``, dates,
herbarium codes, ``et al.``). The splitter keeps each person's name as written (for
``col:nameAsWritten``); :func:`normalise` gives the key that makes the same person one agent
within a dataset. The test corpus ``tests/data/names/hard-strings.tsv`` is the specification.

How a value is read, in order:

1. Remarks go: ``(BM)``-style herbarium codes together with whatever follows them up to the
   next name separator (dates, "Dec.", institutions); other parentheses (``(Coll. Delessert)``,
   ``(1996)``), bracketed remarks (``[1991-06-12]``) and quoted nicknames lose their content,
   but brackets or quotes around a whole name (``[Swezey, O.H.]``) are only unwrapped.
   Values meaning "no agent" (``unknown``, ``s.c.``, ``coll. ignot.``, ``[illegible]``...) give [].
2. ``et al.`` and its kin mark the name before them (:attr:`SplitName.et_al`).
3. Strong separators split: ``;`` ``|`` ``&`` ``+`` `` - `` and the conjunctions and, with,
   y, e, et, und, con, com, och, og (lower case or capitalised; ``E``/``Y`` only between
   upper-case words). ``Ortega y Gasset``-style compounds (a single bare word after y/e
   following a full name) and teams (``Department of Botany and Zoology``) are re-joined.
4. In each part: ``leg.``/``det.``/``fide``... prefixes, ``s.n.``, dates and collector
   numbers go (not in team names: ``Expedition Stewart 1931`` keeps its year).
5. Commas: each comma piece is classified by its tokens (I = initials, W = words; particles
   like ``de``/``van``, titles and ``Jr.`` are neutral) and pieces are paired into
   ``Surname, Given`` names when the shapes say so: a bare surname takes following initials
   (``Harkness, W.J.K.``) or given names (``Gillespie, Lynn J.``); a complete name
   (``A.K. Monro``, ``Andrikovics S``) stands alone. Two multi-word pieces
   (``Rovira López, Anna Maria`` vs ``Amanda Koch, Wilson Sakuda``) pair only when another
   part of the same value is clearly written surname-first.
6. Names written one after another without a separator (``D.Bertran  E.Ollé  A.Escuredo``,
   ``Paul C. Hutchison J. Kenneth Wright``) are cut where a complete given-first name ends
   and initials start another.
7. Shared parts are lent: ``M. & J. Shorthouse``, ``Rolla M. & Alice F. Tryon``,
   ``Mr. & Mrs. J. Smith``, ``Levi, H. & L.``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from collectomics.mapping.given_names import GIVEN_NAMES

__all__ = [
    "NameParts",
    "SplitName",
    "display_form",
    "is_organisation",
    "is_organisation_agent",
    "is_unknown_agent",
    "normalise",
    "read_agents",
    "read_name",
    "split_agents",
]

# --- character classes -------------------------------------------------------------------

#: Latin, Greek and Cyrillic letters: 'Панина О.' has an initial like 'Castagne E.'
_LETTERS = [*range(0x41, 0x250), *range(0x370, 0x530)]
_UPPER = "".join(c for c in map(chr, _LETTERS) if c.isupper())
_LOWER = "".join(c for c in map(chr, _LETTERS) if c.islower())
_UP = f"[{_UPPER}]"

# --- word lists ------------------------------------------------------------------------------


def _variants(words: str) -> frozenset[str]:
    """Each word as written, Capitalised and UPPER, with and without a final dot."""
    out: set[str] = set()
    for w in words.split():
        forms = (w, w.capitalize(), w.upper()) if len(w) > 2 else (w, w.capitalize())
        for v in forms:  # not "MR", "DR", "MS": those are initials
            out.update((v, v + "."))
    return frozenset(out)


#: Titles: kept in the written form, neutral when reading a name, dropped by normalise().
_HONORIFICS = _variants(
    "dr mr mrs ms miss mme mlle prof professor rev revd reverend father padre frei fray "
    "sir dra herr frau capt abbé cl clariss dom fr frère frere père bro brother soeur pater"
)
#: Religious and academic post-nominals after a name ("Remacle Rome O.S.B."): not the name.
_POSTNOMINAL = re.compile(
    r"(?:,?\s+|^)(?:O\.\s?S\.\s?B|S\.\s?J|O\.\s?F\.\s?M(?:\.\s?Cap)?|O\.\s?Cist|O\.\s?Carm"
    r"|C\.\s?Ss\.\s?R|F\.\s?S\.\s?C|C\.\s?M\.\s?F|S\.\s?D\.\s?B|M\.\s?S\.\s?C)\.?(?=\s*(?:,|$))"
)
#: Generational suffixes: neutral when reading a name, kept by normalise().
_SUFFIXES = frozenset("Jr Jr. jr jr. JR. Jnr Jnr. Sr Sr. Snr Snr. II III IV f. fil.".split())
_PIECE_SUFFIX = re.compile(r"(?:Jr|JR|jr|Jnr|Sr|Snr)\.?|I{2,3}|IV")  # a whole comma piece
#: Surname particles; lower-case tokens are particles anyway, capitalised ones only when a
#: word follows ("De Gracia J.", "H.C. DE LIMA"), never as the last word ("Le").
_PARTICLES = frozenset(
    "de da das do dos del della delle dei der den di du des la le les lo van von vom zu zur "
    "ter ten te y e vanden vander vande dalla dello".split()
)
#: Comma pieces that are not names: a month after a determiner's name, a job title.
_NOT_A_NAME = frozenset(
    """January February March April May June July August September October November December
    Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. Curator Collector Collectors
    Determiner Director Keeper Technician""".split()
)
#: Whole values (or parts) that say there is no agent, compared by _no_agent().
_NO_AGENT = frozenset(
    """unknown unknowncollector unknowncollectors collectorunknown anonymous anon anonymus
    anónimo anonimo ignotus ignot collignot legignot sc scol scoll sleg sincolector
    sinecollectore n/a nn none null nodata noagentdata notrecorded notgiven notstated
    notknown illegible unreadable indecipherable desconocido desconhecido unbekannt inconnu
    nodisponible sindatos nocollector noagent notavailable
    """.split()
)

# --- regular expressions (compiled once) ---------------------------------------------------

_WS = re.compile(r"\s+")
_NO_AGENT_STRIP = re.compile(r"[\s.\[\]()?\"'“”]+")
_INITIAL = re.compile(rf"-?{_UP}(?:[a-z]|{_UP}{{1,2}})?\.?")  # J. Ph. Cs BB TCY -P.
_ONE_INITIAL = re.compile(rf"-?{_UP}[a-z]?\.?|{_UP}\.")  # what counts in an all-caps value
_TOKEN = re.compile(r"[^\s.,]+\.?")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_JUNK = re.compile(r"[*!?\"“”„]")
_CODE_PIECE = re.compile(rf"{_UP}{{3,5}}")  # WIS, CTES: a herbarium code left on its own
_FAST_F = re.compile(rf"(?:{_UP}\.\s?){{1,4}}{_UP}[{_LOWER}]+(?:-{_UP}[{_LOWER}]+)?")
_FAST_W1 = re.compile(rf"{_UP}[{_LOWER}]+(?:-{_UP}?[{_LOWER}]+)?")
_FAST_I = re.compile(rf"(?:{_UP}\.\s?){{1,4}}")
_NOISE_HINT = re.compile(r"[\d/]|[sS]\.")
#: One plain name ("B.B. Klitgaard", "Thomas B. Croat", "Klitgaard"): nothing to split or clean.
_PLAIN_NAME = re.compile(
    rf"(?:(?:{_UP}\.\s?){{1,3}}|{_UP}[{_LOWER}]+ (?:{_UP}\. )?)?{_UP}[{_LOWER}]+(?:-{_UP}[{_LOWER}]+)?"
)

#: The strings _split_simple takes: full names with initials, given-first or inverted, in a list.
_SIMPLE_SURNAME = rf"{_UP}[{_LOWER}]+(?:-{_UP}[{_LOWER}]+)?"
_SIMPLE_INITIALS = rf"(?:{_UP}\. ?){{0,2}}{_UP}\."
_SIMPLE_ONE = rf"(?:{_SIMPLE_INITIALS} {_SIMPLE_SURNAME}|{_SIMPLE_SURNAME}, {_SIMPLE_INITIALS})"
_SIMPLE_LIST = re.compile(rf"{_SIMPLE_ONE}(?:(?:; | \| | & ){_SIMPLE_ONE})*")
_SIMPLE_SEP = re.compile(r"; | \| | & ")
_SIMPLE_WORD = re.compile(rf"{_UP}[{_LOWER}]+")

# "(BM)", "(F, MO)", "(CAN0": a herbarium code; it and what follows up to the next separator go.
_PAREN_CODE = re.compile(
    rf"\(\s*{_UP}(?:[{_UPPER}0-9 ,/&.-]*[{_UPPER}0-9])?\s*(?:\)|$)"
    r"(?:(?![;|&]|\s(?:and|et|y|e|und|with|con)\s).)*"
)
_PAREN = re.compile(r"\([^()]*\)|\([^()]*$")
# A bracketed or quoted span: unwrapped when it is a whole part, else dropped.
_WRAPPED = re.compile(r"\[([^\[\]]*)\]|[\"“„]([^\"“”„]*)[\"”“]")
_ET_AL = re.compile(
    r"[,;]?\s*(?:\bet\.?\s*al(?:ii|ia)?\b\.?|&\s*al\b\.?|\b(?:and|&)\s+others\b|\by\s+otros\b"
    r"|\be\s+outros\b|(?-i:\bu\.\s?a\.))",  # "u.a." only in lower case: "U. A." are initials
    re.I,
)
_MARK = "\ue000"  # stands where "et al." was
_SPLIT = re.compile(
    r"\s*([;|+&\ue000]|\s[-–/]\s"
    r"|(?<=\s)(?:and|And|AND|with|With|WITH|und|Und|UND|et|Et|ET|con|com|och|og|y|e|i)(?=\s)"
    r"|(?<=[A-Z]{2})\s[EY]\s(?=[A-Z]{2}))\s*"
)
_CONJ = frozenset(
    "and And AND with With WITH und Und UND et Et ET con com och og y e i & + E Y".split()
)
_PREFIX = re.compile(
    r"^(?:(?:dupl\.\s*)?(?:(?:leg(?:it)?|lgt|fide)\b\.?"
    r"|(?:coll|det|conf|ver|rev)\.\s*by\b\.?|(?:coll|det|conf|ver)\."
    r"|(?:collected|determined|identified|confirmed|verified|revised|gathered)\s+by\b"
    r"|(?:collectors?|det(?:erminavit|ermin)?|leg)\s*:)\s*:?\s*)+",
    re.I,
)
_NOISE = re.compile(
    # sine numero, sine dato: lower case anywhere; upper case only as a whole part ("S.N."),
    # since "Smith, S. D." and "Zhang S. D." are initials
    r"(?-i:\bs\.\s?[nd]\.?(?!\w)|^\s*S\.\s?[ND]\.?\s*$)|\bs/n\b"
    r"|(?<!\w)(?:\d{1,2}[-./])?(?:(?:\d{1,2}|[IVX]{1,4})[-./])?(?:1[5-9]|20)\d{2}(?:[-./]\d{1,2}){0,2}(?!\w)"
    # a month before a year: abbreviated ("Dec. 1991"), or in full at the start of a part
    # ("August 1990"); never a bare word inside a name ("Janzen 1985", "J. May 1987")
    r"|(?:\b(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.|^(?:january|february|march|april"
    r"|may|june|july|august|september|october|november|december)\b)"
    r"(?=\s*(?:\d{1,2}[,\s]+)?(?:1[5-9]|20)\d{2}\b)"
    r"|(?:\bno\.?|\bn[º°]|#)\s*\d+\b"  # collector numbers
    r"|(?<!\S)(?:\d{1,2}|[IVX]{1,4})/(?!\S)",  # month fragments: "8/", "VIII/"
    re.I,
)
_TRAILING_NUMBER = re.compile(r"\s+\d+$")
_STRAY_DOTS = re.compile(r"\s+\.(?=\s|$)|(?<=\.)\.+")  # "Wirth, Laurel ." "Merino, B.."
_TEAM = re.compile(
    r"\b(?:expedi(?:tion|tions|ción|cion|ção|cao|tie|ciones)|expédition|exped|dept|departments?"
    r"|departamento|staff|students?|estudiantes|alumnos|course|curso|team|equipe|equipo|grupo"
    r"|group|project|projeto|proyecto|programme|survey|society|sociedad|museum|museo|museu"
    r"|univ|universi\w+|institut\w*|herbarium|herbario|college|school|club|sons|party"
    r"|commission|comisión|company|service|servicio)\b",
    re.I,
)
#: Words that make a name an organisation beyond the teams above: a company's legal form, a
#: foundation, an association, an agency (never a word that is also a common surname, such as
#: 'Jardim' or 'Garden').
_ORGANISATION = re.compile(
    r"\b(?:Inc|INC|Ltd|LTD|LLC|Llc|Corp|CORP|GmbH|Plc|PLC)\b\.?"
    r"|\b(?:foundation|fundación|fundacion|fundação|fundacao|stiftung|association|asociación"
    r"|associação|agency|ministry|ministerio|council|laborator(?:y|ies|io|ório))\b",
    re.I,
)
#: Index Herbariorum codes of three letters or more that the real archives put in parentheses
#: after a name ('(AAU)', '(INB)'); standing alone they name the herbarium, not a person.
#: Codes that are also surnames in capitals ('HAM', 'MOL', 'COL') are left out.
_HERBARIUM_CODES = frozenset(
    """AAU BISH BOT CAN CICY COAH CUVC DLF FAUC GENT GUAY HRCB HUA INB ISC KESC LEA LOJA LTR MJG
    NEU PRC QCA QCNE SPF UEC USJ USZ UVIC WIS WLU""".split()
)
_DOTTED_INVERTED = re.compile(rf"({_UP}[{_LOWER}'-]+)\.((?:{_UP}\.?){{1,3}})")  # Lewis.G.P.
_BARE_INITIAL = re.compile(rf"(?<![\w.'-])({_UP})(?![\w.'])")
_CAPS_RUN = re.compile(rf"(?<![\w.'-])({_UP})({_UP})({_UP})?(?![\w.'])")
_DOT_SPACE = re.compile(r"\.(?=[^\s.,-])")
_FOLD = re.compile(r"[.,\s]+")
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")

# letter case of a whole value
_MIXED, _UPPERCASE, _LOWERCASE = range(3)


def _case_of(text: str) -> int:
    return _UPPERCASE if text.isupper() else _LOWERCASE if text.islower() else _MIXED


# token kinds and piece shapes
_I, _W, _P, _S, _H, _N = range(6)  # initial, word, particle, suffix, title, other
_SH_NONE, _SH_I, _SH_W1, _SH_WN, _SH_WI, _SH_F, _SH_SUF, _SH_TITLE, _SH_TEAM = range(9)


@dataclass(frozen=True)
class SplitName:
    """One person's name as written, and whether 'et al.' followed it in the source;
    ``unknown``: the value names no one ('Anon.', 's.coll.', '?'): an unknown agent whose
    ``written`` is the whole value; ``organisation``: the name is an institution, herbarium,
    survey, expedition, society, team or company (:func:`is_organisation`), not a person."""

    written: str
    et_al: bool = False
    unknown: bool = False
    organisation: bool = False


@dataclass(frozen=True)
class NameParts:
    """A name as read: family name (particles included, as written) and given names or
    initials as written (titles, post-nominals and generational suffixes left out);
    ``team``: an expedition, institution or group, whose whole name is ``family``."""

    family: str
    given: str = ""
    team: bool = False


# --- reading tokens ----------------------------------------------------------------------


def _kind(tok: str, last: bool, case: int) -> int:
    if case == _LOWERCASE and tok[0].isalpha():  # read "smith, j." as "Smith, J."
        tok = tok[0].upper() + tok[1:]
    if tok in _SUFFIXES:
        return _S
    if tok in _HONORIFICS:
        return _H
    first = tok[0]
    if first.islower() and last and tok.lower() not in _PARTICLES and tok.isalpha():
        return _W  # a lower-case surname standing alone: "klitgaard , Bente"
    if first.islower() and "'" in tok[:5] and tok[-1].isalpha():
        head, _, rest = tok.partition("'")
        if rest[:1].isupper() and len(head) <= 4:
            return _W  # "d'Ansembourg", "dell'Acqua": a surname with its particle attached
    if first.islower() or first == "'":
        return _P
    if not first.isalpha() and first != "-":
        return _N
    if not last and len(tok) > 1 and tok.lower() in _PARTICLES:
        return _P  # never a capital initial: "E." and "Y." are given names, not "e"/"y"
    if case == _UPPERCASE:
        if _ONE_INITIAL.fullmatch(tok):
            return _I
    elif _INITIAL.fullmatch(tok):
        return _I
    return _W


def _tokens(text: str, case: int) -> list[tuple[int, int]]:
    """(start offset, kind) of each token."""
    found = _TOKEN.findall(text)
    out = []
    pos = 0
    n = len(found)
    for k, tok in enumerate(found):
        pos = text.find(tok, pos)
        out.append((pos, _kind(tok, k == n - 1, case)))
        pos += len(tok)
    return out


def _shape_of(kinds: list[int]) -> int:
    core = [k for k in kinds if k <= _W]
    if not core:
        if _H in kinds:
            return _SH_TITLE
        if _S in kinds:
            return _SH_SUF
        return _SH_NONE
    if _W not in core:
        return _SH_I
    if _I not in core:
        return _SH_W1 if len(core) == 1 else _SH_WN
    if core[0] == _I:
        return _SH_F
    first_i = core.index(_I)
    if _W in core[first_i:] or first_i > 1:
        return _SH_F  # "Mildred E. Mathias", "Antonio Molina R."
    return _SH_WI  # "Lynn J.", "Andrikovics S"


def _shape(text: str, case: int) -> int:
    # fast paths for the commonest pieces: "B.B. Klitgaard", "Klitgaard", "B.B."
    if _FAST_F.fullmatch(text):
        return _SH_F
    if _FAST_W1.fullmatch(text) and text not in _HONORIFICS and text not in _SUFFIXES:
        return _SH_W1
    if _FAST_I.fullmatch(text):
        return _SH_I
    if _PIECE_SUFFIX.fullmatch(text):
        return _SH_SUF
    found = _TOKEN.findall(text)
    last = len(found) - 1
    return _shape_of([_kind(tok, k == last, case) for k, tok in enumerate(found)])


# --- pairing comma pieces -------------------------------------------------------------------


class _Name:
    """A name being assembled: its text, shape, whether it is 'Surname, Given'."""

    __slots__ = ("text", "shape", "inverted", "last", "sep", "et_al", "team")

    def __init__(self, text: str, shape: int, sep: str = ",", inverted: bool = False) -> None:
        self.text = text
        self.shape = shape
        self.inverted = inverted
        self.last = shape  # shape of its last comma piece
        self.sep = sep  # the separator before it
        self.et_al = False
        self.team = shape == _SH_TEAM


def _clear_surname_first(shapes: list[int]) -> bool:
    """Does a run of comma pieces show the 'Surname, Given' convention unmistakably?"""
    for p, q in zip(shapes, shapes[1:], strict=False):
        if p in (_SH_W1, _SH_WN, _SH_WI) and q == _SH_I:
            return True
        if p == _SH_W1 and q in (_SH_W1, _SH_WN, _SH_WI):
            return True
        if p in (_SH_WN, _SH_WI) and q == _SH_W1:
            return True
    return False


def _pairs(p: int, q: int, after: int, count: int, hint: bool) -> bool:
    """Do pieces of shapes p, q form one 'Surname, Given' name?"""
    if p not in (_SH_W1, _SH_WN, _SH_WI):
        return False
    if q == _SH_I:
        return True
    if q == _SH_F:
        return p == _SH_W1 and count == 2  # "Stainton, J.D. Adam"
    if after == _SH_I and q in (_SH_W1, _SH_WN, _SH_WI):
        return False  # q takes the initials that follow: "Smith, Jones, A."
    if p == _SH_W1:
        return q in (_SH_W1, _SH_WN, _SH_WI)
    if q == _SH_W1:
        return True  # "Bosch Daniel, Maria", "Perez M., Armando"
    return hint and q in (_SH_WN, _SH_WI) and not (p == _SH_WI and q == _SH_WI)


_SPLIT_I_WORD = re.compile(r"(.*[.\s])\s*([^\s.]+)")


def _group(pieces: list[str], shapes: list[int], case: int, hint: bool, sep: str) -> list[_Name]:
    if len(pieces) == 1:
        return [_Name(pieces[0], shapes[0], sep)]
    out: list[_Name] = []
    count = len(pieces)
    i = 0
    while i < count:
        p, sp = pieces[i], shapes[i]
        prev = out[-1] if out else None
        if _TEAM.search(p):  # "J. Smith, Botany Dept. staff": the team takes the rest
            out.append(_Name(", ".join(pieces[i:]), _SH_TEAM))
            break
        if prev is not None and p in _NOT_A_NAME:  # "B.B. Klitgaard, August", "Skog, L., Curator"
            i += 1
            continue
        if sp == _SH_SUF and prev is not None:
            prev.text += ", " + p
            prev.last = _SH_SUF
            i += 1
            continue
        if sp == _SH_I:
            if prev is not None and "," in prev.text and prev.last in (_SH_I, _SH_SUF):
                prev.text += ", " + p  # "Klitgaard, B,B.", "Ferreira, Jr, C.A"
                prev.last = _SH_I
            elif prev is not None and prev.shape == _SH_F and _CODE_PIECE.fullmatch(p):
                pass  # "H. Ballard, WIS": a herbarium code
            elif i + 1 < count and shapes[i + 1] in (_SH_I, _SH_F):
                pieces[i + 1] = f"{p}, {pieces[i + 1]}"  # "D, J, N. Hind", "C., W. B."
            else:
                out.append(_Name(p, sp))
            i += 1
            continue
        if i + 1 < count:
            q, sq = pieces[i + 1], shapes[i + 1]
            after = shapes[i + 2] if i + 2 < count else _SH_NONE
            if sp in (_SH_W1, _SH_WN) and sq == _SH_F and after == _SH_I:
                m = _SPLIT_I_WORD.fullmatch(q)
                if m and _shape(m[1], case) == _SH_I:
                    # "Annable, C.R. Crombie, R.": a separator is missing after C.R.
                    name = _Name(f"{p}, {m[1].strip()}", _SH_F, inverted=True)
                    name.last = _SH_I
                    out.append(name)
                    pieces[i + 1], shapes[i + 1] = m[2], _SH_W1
                    i += 1
                    continue
            if _pairs(sp, sq, after, count, hint):
                name = _Name(f"{p}, {q}", _SH_F, inverted=True)
                name.last = sq
                out.append(name)
                i += 2
                continue
        out.append(_Name(p, sp))
        i += 1
    if out:
        out[0].sep = sep
    return out


# --- names run together ------------------------------------------------------------------


def _cut_run(text: str, case: int) -> list[str]:
    """'Paul C. Hutchison J. Kenneth Wright' -> two names: cut where initials follow a
    complete given-first name and are themselves followed by a word."""
    toks = [(s, k) for s, k in _tokens(text, case) if k <= _W]
    if len(toks) < 4:
        return [text]
    cuts = []
    start = 0
    for j in range(2, len(toks) - 1):
        if toks[j][1] != _I or toks[j - 1][1] != _W:
            continue
        left = [k for _, k in toks[start:j]]
        if len(left) < 2 or _I not in left or (left[0] != _I and left[1] != _I):
            continue
        t = j
        while t < len(toks) and toks[t][1] == _I:
            t += 1
        if t < len(toks):  # a word follows the initials
            cuts.append(toks[j][0])
            start = j
    if not cuts:
        return [text]
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]


def _surname(text: str, case: int) -> str | None:
    """The surname of a given-first name: from its last word (with particles before it), or its
    last particle when no word follows the initials ('S. K. De', a Bengali surname); None when
    it has neither."""
    toks = _tokens(text, case)
    words = [n for n, (_, k) in enumerate(toks) if k == _W] or [
        n for n, (_, k) in enumerate(toks) if k == _P
    ]
    if not words:
        return None
    idx = words[-1]
    while idx > 0 and toks[idx - 1][1] == _P:
        idx -= 1
    return text[toks[idx][0] :]


def _core(text: str, case: int) -> list[int]:
    return [k for _, k in _tokens(text, case) if k <= _W]


def _lend(names: list[_Name], case: int) -> None:
    """Lend shared parts: 'M. & J. Shorthouse', 'Rolla M. & Alice F. Tryon', 'Mr. & Mrs. X'."""
    for n in range(len(names) - 2, -1, -1):
        this, nxt = names[n], names[n + 1]
        if this.inverted or this.team or nxt.inverted or nxt.team:
            continue
        if this.shape == _SH_TITLE:
            rest = nxt.text
            toks = _tokens(rest, case)
            skip = 0
            while skip < len(toks) and toks[skip][1] == _H:
                skip += 1
            if skip < len(toks):
                this.text = f"{this.text} {rest[toks[skip][0] :]}"
                this.shape = nxt.shape
        elif nxt.shape == _SH_F:
            surname = _surname(nxt.text, case)
            if surname is None:
                continue
            if this.shape == _SH_I and nxt.sep in _CONJ:
                this.text = f"{this.text} {surname}"
                this.shape = _SH_F
            elif this.shape == _SH_WI and _core(this.text, case).count(_W) == 1:
                core = _core(nxt.text, case)
                if core[0] == _W and core[-1] == _W and core.count(_W) == 2:  # "Alice F. Tryon"
                    this.text = f"{this.text} {surname}"
                    this.shape = _SH_F
    for n in range(1, len(names)):  # "Levi, H. & L." -> "Levi, L."
        this, prev = names[n], names[n - 1]
        if this.shape == _SH_I and not this.inverted and prev.inverted and this.sep in _CONJ:
            this.text = f"{prev.text.split(',', 1)[0]}, {this.text}"
            this.inverted = True


# --- the splitter ------------------------------------------------------------------------------


def _no_agent(text: str) -> bool:
    """Does the text say there is no agent ('unknown', 's.c.', '[illegible]')?"""
    return len(text) < 32 and _NO_AGENT_STRIP.sub("", text.casefold()) in _NO_AGENT


def _unwrap_or_drop(m: re.Match[str]) -> str:
    if _no_agent(m[1] if m[1] is not None else m[2]):
        return " "  # "[no agent data], Ledger": a placeholder beside a name
    text = m.string
    before = text[: m.start()].rstrip()
    after = text[m.end() :].lstrip()
    whole = (not before or before[-1] in ";|&,") and (not after or after[0] in ";|&,")
    return (m[1] if m[1] is not None else m[2]) if whole else " "


#: A role word after the name ("T. Wongratana det.", "Kotthaus ded.", "Smith Det."), and "ex
#: herb. X" (the herbarium the specimen came from, a provenance like "(Coll. Delessert)", not an
#: agent). A capitalised role word without its dot is a surname: 'M. Coll' (Catalan), 'K. R. Det'
_SUFFIX_ROLE = re.compile(
    r"\s+(?:(?:det|leg|ded|coll|legit|dedit)\.?|(?i:det|leg|ded|coll|legit|dedit)\.)\s*$"
    r"|,?\s+(?i:ex\.?\s+(?:herb|hb|herbario|herbarium))\b.*$"
)


def _clean_part(part: str) -> tuple[str, bool]:
    """Prefixes and noise off one part; (text, is_team)."""
    part = _PREFIX.sub("", part.strip(" ,;:-"))
    team = bool(_TEAM.search(part))
    if not team and _NOISE_HINT.search(part):
        part = _NOISE.sub(" ", part)
    part = _WS.sub(" ", part).strip(" ,;:-")
    if " " in part and not team:
        part = _SUFFIX_ROLE.sub("", part).strip(" ,;:-")
    return part, team


@lru_cache(maxsize=65536)
def _plain_surname(word: str) -> bool:
    """A capitalised word that can only be a surname: no title, suffix, particle, month, job,
    team word, no-agent word or collector prefix ('Leg')."""
    return not (
        word in _HONORIFICS
        or word in _SUFFIXES
        or word in _NOT_A_NAME
        or word.lower() in _PARTICLES
        or word.casefold() in _NO_AGENT
        or _TEAM.search(word)
        or _PREFIX.match(word)
    )


def _split_simple(text: str) -> tuple[SplitName, ...] | None:
    """The commonest agent strings, without the general splitter: full names, each either
    given-first with initials ('I. K. Geirt') or inverted ('Geirt, I. K.'), joined by '; ',
    ' | ' or ' & '. Returns exactly what the general splitter returns for them (a property
    test checks it), or None for anything else. Splitting was a quarter of an ingest's
    mapping time, and most strings of a collection look like these."""
    if not _SIMPLE_LIST.fullmatch(text):
        return None
    for word in _SIMPLE_WORD.findall(text):
        if not _plain_surname(word):
            return None
    return tuple(SplitName(part) for part in _SIMPLE_SEP.split(text))


def split_agents(value: str | None) -> list[SplitName]:
    """Split an agent string into individual names as written, in source order."""
    if not value:
        return []
    return list(_split(value))


def read_agents(value: str | None) -> list[SplitName]:
    """:func:`split_agents`, but a non-empty value that names no one ('Anon.', 's.coll.', '-',
    '?', '[no agent data]', '1234567') gives one unknown agent holding the value as written:
    every filled-in agent term is accounted for."""
    if not value:
        return []
    return list(_read(value))


@lru_cache(maxsize=8192)
def _read(value: str) -> tuple[SplitName, ...]:
    found = _split(value)
    if found or not value.strip():
        return found
    return (SplitName(value.strip(), unknown=True),)


def is_unknown_agent(value: str) -> bool:
    """Does a non-empty agent string name no one (so it must never be matched to a person)?"""
    return bool(value.strip()) and not _split(value)


@lru_cache(maxsize=8192)
def is_organisation(name: str) -> bool:
    """Is a name as written an organisation rather than a person: an institution, herbarium,
    museum, university, department, survey, expedition, society, course, team, staff,
    students, party or company ('Botanical Survey of India', 'SEINet Team', 'Acme Seeds
    Inc.'), or a herbarium code standing alone ('INB')?"""
    name = name.strip()
    if not name:
        return False
    if name.rstrip(".") in _HERBARIUM_CODES:
        return True
    return bool(_TEAM.search(name) or _ORGANISATION.search(name))


def is_organisation_agent(value: str) -> bool:
    """Does a non-empty agent string name only organisations (so it must never be matched to,
    or proposed as, a person)? 'Zoological Survey of India' does; 'B.B. Klitgaard; Students'
    does not (Klitgaard is a person)."""
    found = _split(value) if value else ()
    return bool(found) and all(name.organisation for name in found)


@lru_cache(maxsize=8192)  # values repeat a lot within a dataset; SplitName is immutable
def _split(value: str) -> tuple[SplitName, ...]:
    text = value.strip()
    if not text:
        return ()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _no_agent(text):
        return ()
    simple = _split_simple(text)
    found = simple if simple is not None else _split_general(text)
    if any(is_organisation(name.written) for name in found):
        found = tuple(
            SplitName(name.written, name.et_al, organisation=True)
            if is_organisation(name.written)
            else name
            for name in found
        )
    return found


def _split_general(text: str) -> tuple[SplitName, ...]:
    """Any agent string (stripped, NFC, not a no-agent value) into names as written."""
    if (
        _PLAIN_NAME.fullmatch(text)
        and text not in _SUFFIXES
        and text not in _HONORIFICS
        and not _PREFIX.match(text)  # "Leg Smith"
    ):
        return (SplitName(text),)
    if "&amp;" in text:
        text = text.replace("&amp;", "&")
    if "(" in text:
        text = _PAREN.sub(" ", _PAREN_CODE.sub("", text))
    if "[" in text or '"' in text or "“" in text or "„" in text:
        text = _WRAPPED.sub(_unwrap_or_drop, text)
    text = _JUNK.sub("", text)
    text = _ET_AL.sub(_MARK, text)
    case = _case_of(text)

    # parts between strong separators, with the separator before each
    raw = _SPLIT.split(text)
    parts: list[list[Any]] = []  # [separator, text, is_team, et_al]
    pending_et_al = False
    sep = ""
    for n, chunk in enumerate(raw):
        if n % 2:
            sep = chunk.strip()
            if sep == _MARK:
                if parts:
                    parts[-1][3] = True
                else:
                    pending_et_al = True
            continue
        part, team = _clean_part(chunk)
        if not part or not _HAS_LETTER.search(part) or _no_agent(part):
            continue
        if parts and sep != _MARK and " " not in part and "," not in part:
            prev = parts[-1]
            if _shape(part, case) == _SH_W1 and (
                (prev[2] and sep in _CONJ)  # "Department of Botany and Zoology"
                or (
                    sep in ("y", "e", "i")  # "J. Ortega y Gasset", "Maria Lopes e Silva",
                    # "Joan Coll i Pla" (Catalan)
                    and not prev[2]
                    and len(_core(prev[1].rsplit(",", 1)[-1], case)) >= 2
                )
            ):
                prev[1] = f"{prev[1]} {sep} {part}"
                continue
        parts.append([sep, part, team, False])

    pieces_of: list[list[str]] = []
    shapes_of: list[list[int]] = []
    hint = False
    for entry in parts:
        pieces: list[str]
        shapes: list[int]
        if entry[2]:
            pieces, shapes = [], []
        elif "," in entry[1]:
            pieces = [p.strip() for p in entry[1].split(",") if p.strip()]
            shapes = [_shape(p, case) for p in pieces]
            hint = hint or _clear_surname_first(shapes)
        else:
            pieces, shapes = [entry[1]], [_shape(entry[1], case)]
        pieces_of.append(pieces)
        shapes_of.append(shapes)
    names: list[_Name] = []
    for (sep, part, team, et_al), pieces, shapes in zip(parts, pieces_of, shapes_of, strict=True):
        if team:
            group = [_Name(part, _SH_TEAM, sep)]
        else:
            group = []
            for name in _group(pieces, shapes, case, hint, sep):
                if (
                    name.shape == _SH_F
                    and not name.inverted
                    and name.text.count(" ") + name.text.count(".") >= 4
                ):
                    run = _cut_run(name.text, case)
                    if len(run) > 1:
                        group.extend(
                            _Name(t, _SH_F, name.sep if k == 0 else " ") for k, t in enumerate(run)
                        )
                        continue
                group.append(name)
        if group:
            group[-1].et_al = et_al
            names.extend(group)
    if not names:
        return ()
    if pending_et_al:
        names[-1].et_al = True
    _lend(names, case)

    out = []
    lower_ok = case == _LOWERCASE  # an all-lower-case value is a style, not a non-name
    for name in names:
        written = name.text.strip(" ,;:")
        if not lower_ok and written[:1].islower() and not name.team and "," not in written:
            first = written.split(None, 1)[0]
            if first.lower() not in _PARTICLES and "'" not in first and first not in _HONORIFICS:
                continue  # "flora Mesoamericana", "macacaúba": not a person
        if ".." in written or " ." in written:
            written = _STRAY_DOTS.sub("", written)
        if name.shape in (_SH_F, _SH_I, _SH_WI) and _TRAILING_NUMBER.search(written):
            written = _TRAILING_NUMBER.sub("", written)  # "A.K. Monro 03"
        if written and name.shape not in (_SH_NONE, _SH_SUF):
            out.append(SplitName(written, name.et_al))
    return tuple(out)


# --- display and normalisation -------------------------------------------------------------


def _dot_initials(given: str, case: int) -> str:
    """'BB' -> 'B. B.', 'R W' -> 'R. W.', 'W.J.K.' -> 'W. J. K.' (given names untouched)."""
    if case != _UPPERCASE:
        given = _CAPS_RUN.sub(lambda m: " ".join(f"{c}." for c in m.groups() if c), given)
    given = _BARE_INITIAL.sub(r"\1.", given)
    return _DOT_SPACE.sub(". ", given)


def _split_given(given: str) -> tuple[str, str, str]:
    """Split trailing particles and suffixes off a given part: 'L.P.de' -> ('L.P.', 'de', '')."""
    words = _DOT_SPACE.sub(". ", given).split()
    suffix: list[str] = []
    while words and words[-1] in _SUFFIXES:
        suffix.insert(0, words.pop())
    particles: list[str] = []
    while len(words) > 1 and words[-1].lower() in _PARTICLES:
        particles.insert(0, words.pop())
    return " ".join(words), " ".join(particles), " ".join(suffix)


@lru_cache(maxsize=8192)
def display_form(name: str) -> str:
    """A name in given-first order for display: 'Blanché, C.' -> 'C. Blanché',
    'Andrikovics S' -> 'S. Andrikovics', 'Lewis.G.P.' -> 'G. P. Lewis'. Titles and team
    names stay as they are; other forms are unchanged apart from spacing."""
    name = _WS.sub(" ", name).strip()
    if not name or is_organisation(name):
        return name
    case = _case_of(name)
    if "," in name:
        pieces = [p.strip() for p in name.split(",") if p.strip()]
        if len(pieces) < 2:
            return pieces[0] if pieces else ""
        surname, rest = pieces[0], pieces[1:]
        if _shape(surname, case) == _SH_I:  # "D, J, N. Hind", "C., W. B."
            if _W in _core(pieces[-1], case):
                return " ".join(pieces)
            return " ".join([*rest, surname])
        suffixes = [p for p in rest if _PIECE_SUFFIX.fullmatch(p)]
        givens = [p for p in rest if not _PIECE_SUFFIX.fullmatch(p)]
        if not givens and suffixes == ["JR"]:  # "Mattos, JR": initials J. R. more likely
            givens, suffixes = suffixes, []
        if not givens:
            return " ".join([surname, *suffixes])  # "Dana Griffin, III"
        given, particles, suffix = _split_given(" ".join(givens))
        parts = [_dot_initials(given, case), particles, surname, suffix, *suffixes]
        return " ".join(p for p in parts if p)
    m = _DOTTED_INVERTED.fullmatch(name)
    if m:
        return f"{_dot_initials(m[2], case)} {m[1]}"
    toks = _tokens(name, case)
    core = [k for _, k in toks if k <= _W]
    if len(core) >= 2 and core[0] == _W and core[1] == _I and _W not in core[1:]:
        # "Andrikovics S", "De Gracia J.": surname then initials
        cut = next(s for s, k in toks if k == _I)
        return f"{_dot_initials(name[cut:].strip(), case)} {name[:cut].strip()}"
    if core == [_W, _W] and _given_last(name):  # "Koehler René"
        family, given = name.split(None, 1)
        return f"{given} {family}"
    return name


def _given_last(name: str) -> bool:
    """Two words, the second a known given name and the first not: 'Koehler René' is written
    surname first (and 'Remacle Rome', 'Lynn Gillespie' are not)."""
    words = name.split()
    if len(words) != 2:
        return False
    first, last = (w.rstrip(".").capitalize() if w.isupper() else w for w in words)
    return last in GIVEN_NAMES and first not in GIVEN_NAMES


def _double_surname(words: list[str], kinds: list[int], start: int) -> bool:
    """Is the word before a given-first name's family name a first surname ('L. González
    Géigel', 'P. Ponce de Leon', 'J. Florschütz-de Ward') rather than a middle name
    ('Richard Evans Schultes', 'Bente Bang Klitgaard')? Only when it cannot be a given name and
    the name looks Iberian (an accented letter) or it is joined to a particle."""
    word = words[start - 1]
    if word in GIVEN_NAMES or (word.isupper() and word.capitalize() in GIVEN_NAMES):
        return False
    if word.rsplit("-", 1)[-1].lower() in _PARTICLES:
        return True  # "Florschütz-de Ward"
    family = " ".join(words[start - 1 :])
    if not family.isascii():
        return True
    return kinds[start] == _P and all(k == _I for k in kinds[: start - 1])  # "P. Ponce de Leon"


def _without_titles(text: str) -> str:
    return " ".join(w for w in text.split() if w not in _HONORIFICS and w not in _SUFFIXES)


@lru_cache(maxsize=8192)
def read_name(written: str) -> NameParts:
    """A name as written, read into family name and given names or initials:
    'Vanden Berghen C.' -> ('Vanden Berghen', 'C.'), 'Koehler René' -> ('Koehler', 'René'),
    'Remacle Rome O.S.B.' -> ('Rome', 'Remacle'), 'Cosson, E.' -> ('Cosson', 'E.'),
    'van Benthem Jutting' -> ('van Benthem Jutting', ''). Titles, post-nominals and
    generational suffixes are left out; organisations and teams (:func:`is_organisation`) are
    read whole, never into family and given names."""
    name = _WS.sub(" ", written).strip()
    if not name or is_organisation(name):
        return NameParts(name, "", bool(name))
    name = _POSTNOMINAL.sub("", name).strip(" ,") or name
    case = _case_of(name)
    if "," in name:
        pieces = [p.strip() for p in name.split(",") if p.strip()]
        pieces = [p for p in pieces if _shape(p, case) not in (_SH_SUF, _SH_TITLE)] or pieces
        if len(pieces) >= 2 and _shape(pieces[0], case) != _SH_I:
            given, particles, _ = _split_given(_without_titles(" ".join(pieces[1:])))
            family = _without_titles(pieces[0]) or pieces[0]
            return NameParts(f"{particles} {family}".strip(), given)
        if len(pieces) >= 2 and _W not in _core(pieces[-1], case):
            return NameParts(pieces[0], " ".join(pieces[1:]))  # "C., W. B.": surname abbreviated
        name = " ".join(pieces) if len(pieces) >= 2 else pieces[0]
    m = _DOTTED_INVERTED.fullmatch(name)  # "Lewis.G.P."
    if m:
        return NameParts(m[1], _DOT_SPACE.sub(". ", m[2]))
    words = [
        w for w in _DOT_SPACE.sub(". ", name).split() if w not in _HONORIFICS and w not in _SUFFIXES
    ]
    if not words:
        return NameParts(name)
    n = len(words)
    if n == 1 and len(words[0].rstrip(".")) <= 2 and words[0].isupper():
        return NameParts("", words[0])  # "RL", "WB": initials
    kinds = [_kind(w, k == n - 1, case) for k, w in enumerate(words)]
    if _I in kinds and _W in kinds:
        first_i = kinds.index(_I)
        before = kinds[:first_i]
        if (
            first_i > 0
            and all(k == _I for k in kinds[first_i:])
            and before.count(_W) >= 1
            and (before.count(_W) == 1 or all(k == _P for k in before[:-1]))
        ):  # "Castagne E.", "Vanden Berghen C.", "Von Martius C.", "Wang Z.W."
            return NameParts(" ".join(words[:first_i]), " ".join(words[first_i:]))
    elif _I not in kinds and n == 2 and _given_last(" ".join(words)):  # "Koehler René"
        return NameParts(words[0], words[1])
    if _W not in kinds:
        if _I in kinds and _P not in kinds:  # initials only: "B.B."
            return NameParts("", " ".join(words))
        return NameParts(" ".join(words), "")
    if kinds[0] == _P:  # "van Benthem Jutting", "de la Cruz": a surname on its own
        return NameParts(" ".join(words), "")
    start = max(k for k, kind in enumerate(kinds) if kind == _W)  # "Antonio Molina R." too
    while start > 0 and kinds[start - 1] == _P:
        start -= 1
    if start > 1 and words[start].lower() in ("y", "e", "i") and kinds[start - 1] == _W:
        start -= 1  # "Ortega y Gasset"
    elif start > 1 and kinds[start - 1] == _W and _double_surname(words, kinds, start):
        start -= 1
    for j in range(1, start - 1):  # "W.S.S. van Benthem Jutting": from the first particle on
        if (
            kinds[j] == _P
            and words[j][0].islower()
            and words[j] not in ("y", "e", "i")
            and kinds[j + 1] == _W
            and all(k in (_P, _W) for k in kinds[j:start])
        ):
            start = j
            break
    if start == 0:
        return NameParts(" ".join(words), "")
    return NameParts(" ".join(words[start:]), " ".join(words[:start]))


def _fix_mojibake(text: str) -> str:
    """'CorrÃªa' (UTF-8 read as Latin-1) -> 'Corrêa'; anything else unchanged."""
    for codec in ("latin-1", "cp1252"):
        try:
            return text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
    return text


@lru_cache(maxsize=8192)
def normalise(name: str) -> str:
    """The key under which one dataset's spellings of the same name become one agent:
    given-first, titles dropped, case-folded, dots, commas and spaces folded; accents kept."""
    text = display_form(_POSTNOMINAL.sub("", name) or name)
    if _MOJIBAKE.search(text):
        text = _fix_mojibake(text)
    text = unicodedata.normalize("NFC", text).replace(".-", ". ")
    words = _DOT_SPACE.sub(". ", text).split()
    kept = [w for w in words if w not in _HONORIFICS]
    if kept and len(kept) < len(words):
        words = kept
    if not text.isupper():  # "WP Mull" -> "W P Mull" (not the last word, not in CAPS text)
        words = [
            " ".join(w)
            if k < len(words) - 1 and 2 <= len(w) <= 3 and w.isupper() and w.isalpha()
            else w
            for k, w in enumerate(words)
        ]
    return _FOLD.sub(" ", " ".join(words).casefold()).strip()
