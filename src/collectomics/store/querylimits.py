"""A cheap scan of SPARQL text that refuses what would overflow the parser's stack.

pyoxigraph's SPARQL parser and planner recurse once per nesting level and once per element of a
group: measured here (8 MiB thread stack), ``[`` blank-node property lists crash the process at
200 levels, ``{`` groups and sub-queries at 2,500, a group of 300 comma- or semicolon-joined
triple patterns or OPTIONALs, and a property path of 800 steps. A crash cannot be caught: it kills
the process with every request it holds. So every query and update is scanned here first, in
linear time and without recursion, and refused with one :class:`QueryTooComplex` (a 400 at the
endpoint) when its nesting depth passes ``max_query_depth`` or its count of pattern and operator
tokens passes ``max_query_patterns``. Strings, IRIs, comments and the data of ``VALUES`` blocks
are skipped: a long literal or a large ``VALUES`` table is not complex. An IRI is skipped only
when it holds no bracket: in an expression Oxigraph reads ``<`` as "less than", so
``FILTER(?a<((((1))))>?a)`` nests, and the scan counts its brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collectomics.config import default
from collectomics.errors import QueryError

#: Defaults of the ``max_query_depth`` and ``max_query_patterns`` settings (config.py).
MAX_DEPTH: int = default("max_query_depth")
MAX_PATTERNS: int = default("max_query_patterns")

_TOKEN = re.compile(
    r"""(?P<skip>\#[^\n]*
        | <[^<>"{}|^`\\\s()\[\]]*>
        | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\" | '''(?:[^'\\]|\\.|'(?!''))*'''
        | "(?:[^"\\\n]|\\.)*" | '(?:[^'\\\n]|\\.)*'
        | [+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?
        | [?$]\w+ | _:[\w.-]* )
    | (?P<open>[{(\[])
    | (?P<close>[})\]])
    | (?P<op>&&|\|\||!=|<=|>=|[.;,/|^*+=<>!-])
    | (?P<word>[A-Za-z_][\w-]*(?::[\w.:%-]*)?|:[\w.:%-]*)
    | (?P<other>\S)""",
    re.X,
)
#: Keywords that add an element to a group (a recursion level of the parser or planner).
_GROUP_WORDS = {"UNION", "OPTIONAL", "MINUS", "GRAPH", "SERVICE", "BIND", "FILTER", "SELECT"}


class QueryTooComplex(QueryError):
    """A query or update nests deeper, or holds more patterns, than the limits allow."""


@dataclass(frozen=True)
class QueryLimits:
    """How deep a query may nest brackets of any kind, and how many pattern and operator
    tokens (``.`` ``;`` ``,`` ``/`` ``|`` ``&&`` ``UNION`` ``OPTIONAL``...) it may hold; 0: no
    limit."""

    max_depth: int = MAX_DEPTH
    max_patterns: int = MAX_PATTERNS


DEFAULT = QueryLimits()


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def check(text: str, limits: QueryLimits = DEFAULT, *, what: str = "query") -> None:
    """Raise :class:`QueryTooComplex` if ``text`` passes ``limits``; return quietly otherwise
    (a malformed text is left to the parser, which reports it)."""
    max_depth, max_patterns = limits.max_depth, limits.max_patterns
    if max_depth <= 0 and max_patterns <= 0:
        return
    depth = 0
    patterns = 0
    values_at = -1  # the depth of the VALUES block being skipped, or -1
    after_values = False
    parens = 0  # depth in ( ): commas there separate arguments, not patterns
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "skip" or kind == "other":
            continue
        if kind == "open":
            depth += 1
            if m.group() == "(":
                parens += 1
            if max_depth > 0 and depth > max_depth:
                raise QueryTooComplex(
                    f"the {what} nests brackets more than {max_depth} deep "
                    f"(at {_where(text, m.start())}; the max_query_depth setting)"
                )
            if after_values and m.group() == "{":
                values_at, after_values = depth, False
            continue
        if kind == "close":
            if m.group() == ")" and parens > 0:
                parens -= 1
            if depth == values_at:
                values_at = -1
            depth = max(0, depth - 1)
            continue
        if values_at >= 0:
            continue  # data of a VALUES block
        if kind == "word":
            word = m.group().upper()
            if word == "VALUES":
                after_values = True
                continue
            if word not in _GROUP_WORDS:
                continue
        elif m.group() == "," and parens > 0:
            continue
        patterns += 1
        if max_patterns > 0 and patterns > max_patterns:
            raise QueryTooComplex(
                f"the {what} holds more than {max_patterns} patterns and operators "
                f"(at {_where(text, m.start())}; the max_query_patterns setting)"
            )
