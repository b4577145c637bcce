"""SPARQL text read as tokens: the query form, FROM clauses, and parameters given as a leading
``VALUES`` block. The one tokenizer of query text (:func:`tokens`), which the store's backends,
the endpoint and the update checks share; it imports nothing of ours but the model and the
errors."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from collectomics.errors import QueryError
from collectomics.model import IRI, Literal, Term

#: SPARQL text as tokens, read as Oxigraph reads it: IRIs with ``\u`` escapes, prefixed names
#: whose prefix starts with any letter (``éx:``) and whose local part holds ``\/``-style
#: escapes, so that no name is split into pieces that would read as something else.
_TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
    | (?P<iri><(?:[^<>"{}|^`\\\s]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
        |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<brace>[{}])
    | (?P<word>(?:[^\W\d][\w.-]*)?:(?:[\w.:%-]|\\[_~.\-!$&'()*+,;=/?\#@%])*
        |[^\W\d][\w-]*|\?\w+|\$\w+)
    | (?P<other>\S)""",
    re.X,
)


class Token(NamedTuple):
    """One token of SPARQL text: ``kind`` is ``iri`` (``<...>``), ``string`` (any of the four
    quotings), ``brace`` (``{`` or ``}``), ``word`` (a keyword, a prefixed name, ``prefix:``,
    or a variable ``?x``/``$x``) or ``other`` (one character: punctuation, an operator, a digit);
    ``start`` and ``end`` are its offsets in the text."""

    kind: str
    value: str
    start: int
    end: int


def tokens(text: str, start: int = 0) -> Sequence[Token]:
    """The tokens of ``text`` from offset ``start`` (a token's start), comments left out:
    strings, IRIs and comments are never read as keywords, and a prefixed name is never split.

    Remembered for the last texts read: the store and the endpoint read one query several
    times (its form, its projection, where a parameter goes), and it is tokenized once."""
    found = _tokenize(text)
    if start <= 0:
        return found
    return found[bisect.bisect_left(found, start, key=_start) :]


def _start(token: Token) -> int:
    return token.start


@functools.lru_cache(maxsize=256)
def _tokenize(text: str) -> tuple[Token, ...]:
    make = tuple.__new__  # a Token without NamedTuple's Python-level __new__ (a third faster)
    return tuple(
        [
            make(Token, (m.lastgroup, m.group(), m.start(), m.end()))
            for m in _TOKEN.finditer(text)
            if m.lastgroup != "comment"
        ]
    )


_UPDATE_WORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "DROP",
    "CREATE",
    "ADD",
    "MOVE",
    "COPY",
    "WITH",
}
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


@dataclass
class QueryText:
    """What the endpoint needs to know of a query before running it."""

    text: str
    form: str | None = None  # SELECT, ASK, CONSTRUCT, DESCRIBE, or None if not found
    form_at: int = 0  # offset of the query form keyword (end of the prologue)
    looks_like_update: bool = False
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    without_dataset: str = ""  # the text with its FROM clauses removed


def read_query(text: str) -> QueryText:
    """The query form, the FROM / FROM NAMED graphs (prefixes resolved) and the text without
    them: tokens, so that strings, IRIs and comments are never mistaken for keywords.

    Remembered for the last queries read (the endpoint reads each query twice, and clients send
    the same queries again): treat the answer as read-only."""
    return _read_query(text)


@functools.lru_cache(maxsize=256)
def _read_query(text: str) -> QueryText:
    out = QueryText(text, without_dataset=text)
    prefixes: dict[str, str] = {}
    base = ""
    toks = list(tokens(text))
    depth = 0
    cuts: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        kind, value, start, _ = toks[i]
        upper = value.upper()
        if kind == "brace":
            depth += 1 if value == "{" else -1
        elif kind == "word" and depth == 0:
            if upper == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
                prefixes[toks[i + 1].value.rstrip(":")] = urljoin(base, toks[i + 2].value[1:-1])
                i += 3
                continue
            if upper == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
                base = urljoin(base, toks[i + 1].value[1:-1])
                i += 2
                continue
            if out.form is None and upper in _FORMS:
                out.form, out.form_at = upper, start
            elif out.form is None and upper in _UPDATE_WORDS:
                out.looks_like_update = True
                break
            elif upper == "FROM" and out.form is not None:
                j = i + 1
                named = j < len(toks) and toks[j].value.upper() == "NAMED"
                j += named
                if j < len(toks):
                    target = _resolve(toks[j], prefixes, base)
                    if target is not None:
                        (out.from_named if named else out.from_graphs).append(target)
                        cuts.append((start, toks[j].end))
                        i = j + 1
                        continue
        i += 1
    for start, end in reversed(cuts):
        out.without_dataset = out.without_dataset[:start] + " " + out.without_dataset[end:]
    return out


def leading_values(text: str, params: Mapping[str, Term]) -> str | None:
    """``text`` with ``params`` given as a ``VALUES`` block opening its WHERE group, or None
    when that does not fit (not a SELECT or ASK, no group, a subquery, a blank node among the
    terms).

    pyoxigraph plans a substituted parameter (``substitutions=``) as a filter applied late: a
    page's query about one IRI walks every match of its first pattern (an entity page's identity
    links: 6 s over 108,134 matches). The same IRI in a leading ``VALUES`` block starts the plan
    there (0.002 s). The terms are written in their N-Triples form (``Term.n3``), never as text
    a client wrote; tokens are read as ``read_query`` reads them, so that no brace in a string,
    an IRI or a comment is taken for the group's."""
    if not params or not all(isinstance(t, (IRI, Literal)) for t in params.values()):
        return None
    query = read_query(text)
    if query.form not in ("SELECT", "ASK"):
        return None
    opening = None
    for tok in tokens(text, query.form_at):
        if tok.kind == "brace" and tok.value == "{" and opening is None:
            opening = tok
        elif opening is not None and tok.kind == "word" and tok.value.upper() == "SELECT":
            # a subquery: a VALUES block outside it would not bind it (a substitution does), and
            # it would compute its answer for every value (every person's specimens)
            return None
    if opening is None:
        return None
    names = sorted(params)
    block = (
        f"\nVALUES ({' '.join('?' + n for n in names)}) "
        f"{{ ({' '.join(params[n].n3() for n in names)}) }}\n"
    )
    return text[: opening.end] + block + text[opening.end :]


def unprojected(text: str, names: Iterable[str]) -> list[str]:
    """The ``names`` a SELECT does not project (none for ``SELECT *`` or another form): a
    parameter must be projected, the rule of pyoxigraph's substitutions (SEP-0007), whether it
    is bound by substitution or by a leading ``VALUES`` block."""
    query = read_query(text)
    if query.form != "SELECT":
        return []
    projected: set[str] = set()
    parens = 0
    previous = ""
    for kind, value, _, _ in tokens(text, query.form_at):
        if kind == "brace" or value.upper() in ("WHERE", "FROM"):
            break
        if value == "(":
            parens += 1
        elif value == ")":
            parens -= 1
        elif value == "*" and parens == 0:
            return []
        elif kind == "word" and value[0] in "?$" and (parens == 0 or previous == "AS"):
            projected.add(value[1:])
        previous = value.upper()
    return sorted(set(names) - projected)


def check_projected(text: str, params: Iterable[str]) -> None:
    """Raise :class:`QueryError` when a SELECT does not project a parameter (SEP-0007)."""
    missing = unprojected(text, params)
    if missing:
        raise QueryError(
            "parameters must be in the query's projection (SEP-0007): "
            + ", ".join("?" + name for name in missing)
        )


def _resolve(token: Token, prefixes: dict[str, str], base: str) -> str | None:
    kind, value = token.kind, token.value
    if kind == "iri":
        return urljoin(base, value[1:-1]) if base else value[1:-1]
    if kind == "word" and ":" in value:
        prefix, _, local = value.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + local
    return None
