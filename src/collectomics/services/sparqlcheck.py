"""What a public endpoint checks in a SPARQL text before the store sees it: the endpoints a query
calls with ``SERVICE`` (off unless allow-listed), relative IRIs (resolved against the endpoint's
own address), and the graphs an update touches (the catalog is internal; an update writes only
to datasets, at their current version).

The text is read as tokens (:func:`collectomics.store.sparqltext.tokens`, the one tokenizer), so
strings, IRIs and comments are never mistaken for keywords; whatever cannot be read for certain is
refused."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from collectomics.errors import CollectomicsError
from collectomics.store import INTERNAL  # graphs under it belong to the store (its catalog)
from collectomics.store.sparqltext import tokens

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: an escaped character of a prefixed name's local part (``ex:d\\/v1`` names ``...d/v1``)
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class ServiceRefused(CollectomicsError):
    """A query calls an endpoint with SERVICE that the federation_endpoints setting does not list."""


class GraphRefused(CollectomicsError):
    """An update would touch the store's own catalog, or every graph at once."""


class NotADataset(CollectomicsError):
    """An update writes to a graph that is not a dataset (so that no query would see it)."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str
    start: int
    end: int


#: Keywords Oxigraph also reads when they are written together (``CLEARALL``,
#: ``SERVICESILENT``, ``INSERTDATA``): such a word is read as the keywords it is made of.
_KEYWORDS = (
    "SERVICE SILENT INSERT DELETE DATA WHERE DROP CLEAR CREATE ADD MOVE COPY LOAD ALL NAMED "
    "DEFAULT GRAPH INTO TO WITH USING OPTIONAL MINUS UNION FILTER BIND VALUES"
).split()


#: Longest glued keyword run read (``SERVICESILENT``, ``CLEARALL`` are short; longer words are
#: names): bounds the work one word can cost.
_MAX_GLUED = 64


def _keyword_runs(word: str) -> list[str | None]:
    """For each length i, the keyword ending ``word[:i]`` when ``word[:i]`` reads as a run of
    keywords (index 0: ``""``), else None: one pass, no recursion, at most :data:`_MAX_GLUED`
    characters."""
    upper = word[:_MAX_GLUED].upper()
    last: list[str | None] = [None] * (len(upper) + 1)
    last[0] = ""
    for i in range(len(upper)):
        if last[i] is None:
            continue
        for kw in _KEYWORDS:
            end = i + len(kw)
            if end <= len(upper) and last[end] is None and upper.startswith(kw, i):
                last[end] = kw
    return last


def _run(last: list[str | None], end: int) -> list[str]:
    """The keywords of ``word[:end]``, read back from :func:`_keyword_runs`."""
    out: list[str] = []
    while end > 0:
        kw = last[end]
        assert kw
        out.append(kw)
        end -= len(kw)
    return out[::-1]


def _split_keywords(word: str) -> list[str] | None:
    """``word`` as a run of keywords, or None."""
    if len(word) > _MAX_GLUED:
        return None
    last = _keyword_runs(word)
    return _run(last, len(word)) if last[len(word)] is not None else None


def _tokens(text: str) -> list[_Tok]:
    out = []
    for kind, value, start, end in tokens(text):
        if kind == "word" and value.upper().startswith("PREFIX") and value.endswith(":"):
            # PREFIXe: <...> is PREFIX e: <...> for Oxigraph
            out.append(_Tok(kind, "PREFIX", start, start + 6))
            out.append(_Tok(kind, value[6:], start + 6, end))
            continue
        if kind == "word" and value[0] not in "?$" and ":" not in value:
            parts = _split_keywords(value)
            if parts is None and value.upper().startswith("SERVICE"):
                parts = ["SERVICE", value[7:]]  # fail closed: an endpoint nobody can read
            if parts is not None and len(parts) > 1:
                out.extend(_Tok(kind, part, start, end) for part in parts)
                continue
        out.append(_Tok(kind, value, start, end))
    return out


def _unescape(iri: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), iri)


class _Reader:
    """Tokens with the prologue's prefixes and base, to resolve IRIs and prefixed names."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.prefixes: dict[str, str] = {}
        self.base = ""
        toks = self.tokens
        for i, tok in enumerate(toks):
            upper = tok.value.upper()
            if tok.kind != "word":
                continue
            if upper == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
                self.prefixes[toks[i + 1].value.rstrip(":")] = self._join(toks[i + 2].value)
            elif upper == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
                self.base = self._join(toks[i + 1].value)
        self.tokens = [part for tok in toks for part in self._unglue(tok)]

    def _unglue(self, tok: _Tok) -> list[_Tok]:
        """A prefixed name written against the keywords before it (``GRAPHc:catalog``,
        ``SERVICEe:x``), which Oxigraph reads as those keywords and a name, as separate tokens
        (a word starting with SERVICE always, so that no endpoint goes unseen)."""
        if tok.kind != "word" or tok.value[0] in "?$" or ":" not in tok.value:
            return [tok]
        prefix, _, local = tok.value.partition(":")
        if prefix in self.prefixes and not prefix.upper().startswith("SERVICE"):
            return [tok]
        last = _keyword_runs(prefix)
        for i in range(1, len(last)):
            if not last[i]:
                continue
            keywords = _run(last, i)
            rest = prefix[i:]
            if rest in self.prefixes or keywords[0] == "SERVICE":
                at = tok.start + i
                return [_Tok("word", kw, tok.start, at) for kw in keywords] + [
                    _Tok("word", f"{rest}:{local}", at, tok.end)
                ]
        return [tok]

    def _join(self, token: str) -> str:
        iri = _unescape(token[1:-1])
        return urljoin(self.base, iri) if self.base and not _SCHEME.match(iri) else iri

    def resolve(self, tok: _Tok) -> str | None:
        """The IRI a token names (an IRI or a prefixed name), or None."""
        if tok.kind == "iri":
            return self._join(tok.value)
        if tok.kind == "word" and ":" in tok.value and not tok.value.startswith(("?", "$")):
            prefix, _, local = tok.value.partition(":")
            if prefix in self.prefixes:
                return self.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
        return None

    def word(self, i: int) -> str:
        return self.tokens[i].value.upper() if i < len(self.tokens) else ""


# -- queries ---------------------------------------------------------------------------------


def service_targets(query: str) -> list[str | None]:
    """The endpoint of each ``SERVICE`` in ``query``: its IRI, or None when it is a variable or
    cannot be read."""
    reader = _Reader(query)
    found: list[str | None] = []
    for i, tok in enumerate(reader.tokens):
        if tok.kind == "word" and tok.value.upper() == "SERVICE":
            j = i + 1
            if reader.word(j) == "SILENT":
                j += 1
            found.append(reader.resolve(reader.tokens[j]) if j < len(reader.tokens) else None)
    return found


def check_services(query: str, allowed: frozenset[str] | set[str]) -> list[str]:
    """The endpoints ``query`` calls, when every one is allowed; else ServiceRefused, before any
    request is made. The message names the endpoint as written, never whether it answers."""
    targets = service_targets(query)
    for target in targets:
        if target is None:
            raise ServiceRefused(
                "SERVICE with a variable (or an endpoint that cannot be read) is refused: "
                "federated queries may call only the endpoints of the federation_endpoints setting"
            )
        if target not in allowed:
            if not allowed:
                raise ServiceRefused(
                    "SERVICE (federated query) is off on this endpoint; its operator can allow "
                    "endpoints with the federation_endpoints setting",
                    service=target[:200],
                )
            raise ServiceRefused(
                "SERVICE may call only the endpoints of the federation_endpoints setting",
                service=target[:200],
            )
    return [t for t in targets if t is not None]


#: Text that may be a relative IRI: ``<`` not followed by a scheme (a quick look before tokens).
_MAYBE_RELATIVE = re.compile(r'<(?![A-Za-z][A-Za-z0-9+.-]*:)[^<>"{}|^`\s]*>')


def has_relative_iri(query: str) -> bool:
    """True when ``query`` holds a relative IRI and no BASE to resolve it."""
    if _MAYBE_RELATIVE.search(query) is None:
        return False
    reader = _Reader(query)
    if reader.base:
        return False
    return any(
        t.kind == "iri" and not _SCHEME.match(_unescape(t.value[1:-1])) for t in reader.tokens
    )


# -- updates ---------------------------------------------------------------------------------

_GRAPH_AFTER = {
    "GRAPH",
    "INTO",
    "WITH",
    "USING",
    "TO",
    "NAMED",
    "SILENT",
    "DROP",
    "CLEAR",
    "ADD",
    "MOVE",
    "COPY",
}
_MANAGE = {"DROP", "CLEAR", "CREATE", "ADD", "MOVE", "COPY"}


def plan_update(update: str, datasets: Mapping[str, str]) -> str:
    """The update to run for ``update`` on a store whose datasets are ``datasets`` (logical
    graph -> its current physical graph): every graph it names is a dataset, written at its
    current version (the names are rewritten to it). Refused with GraphRefused when it would
    touch the catalog (a graph under ``urn:collectomics:``, ``DROP ALL``, ``CLEAR NAMED``,
    ``GRAPH ?variable``), with NotADataset when it names a graph that is not a dataset or puts
    triples in the default graph (the union of the datasets, which stores nothing itself)."""
    reader = _Reader(update)
    toks = reader.tokens
    cuts: list[tuple[int, int, str]] = []
    with_graph = False
    for tok in toks:
        iri = reader.resolve(tok)
        if iri is not None and iri.startswith(INTERNAL):
            raise GraphRefused(
                "the store's catalog graph is internal: no update may touch it", graph=iri[:200]
            )
    for i, tok in enumerate(toks):
        if tok.kind != "word":
            continue
        upper = tok.value.upper()
        if upper == "LOAD":
            raise GraphRefused(
                "LOAD is refused: the server never fetches URLs; PUT the data to the Graph Store "
                "(/rdf-graph-store?graph=IRI) instead"
            )
        if upper in _MANAGE:
            nxt = reader.word(i + 1 + (reader.word(i + 1) == "SILENT"))
            if upper in {"DROP", "CLEAR"} and nxt in {"ALL", "NAMED"}:
                raise GraphRefused(
                    f"{upper} {nxt} would remove the store's catalog; drop datasets by name "
                    "(DROP GRAPH <IRI>)"
                )
            if upper == "CREATE":
                raise NotADataset(
                    "CREATE GRAPH makes a graph that is no dataset; create a dataset with a Graph "
                    "Store PUT (/rdf-graph-store?graph=IRI)"
                )
        if upper == "DEFAULT" and i > 0 and reader.word(i - 1) in {"TO", "DROP", "CLEAR"}:
            raise NotADataset(
                "the default graph is the union of the datasets and stores nothing itself; name a "
                "dataset"
            )
        if upper in _GRAPH_AFTER and i + 1 < len(toks):
            target = toks[i + 1]
            if target.kind == "word" and target.value.upper() in {
                "GRAPH",
                "SILENT",
                "DEFAULT",
                "NAMED",
                "ALL",
            }:
                continue  # DROP SILENT GRAPH <g>, ADD ... TO GRAPH <g>: the next word names it
            if target.kind == "word" and target.value.startswith(("?", "$")):
                raise GraphRefused(
                    f"{upper} {target.value}: an update names its graphs, since a variable could "
                    "reach the store's catalog"
                )
            name = reader.resolve(target)
            if name is None:  # fail closed: whatever follows is read as the graph it names
                raise NotADataset(
                    f"{upper} {target.value[:200]}: cannot tell which graph this names "
                    "(an undeclared prefix?)"
                )
            if name not in datasets:
                raise NotADataset(
                    "the update names a graph that is not a dataset, so no query would see what "
                    "it writes; create the dataset first with a Graph Store PUT "
                    "(/rdf-graph-store?graph=IRI)",
                    graph=name[:200],
                )
            with_graph = with_graph or upper == "WITH"
            cuts.append((target.start, target.end, f"<{datasets[name]}>"))
    if not with_graph:
        _check_default_triples(reader)
    out = update
    for start, end, text in sorted(cuts, reverse=True):
        out = out[:start] + text + out[end:]
    return out


def _check_default_triples(reader: _Reader) -> None:
    """NotADataset when an INSERT / DELETE template holds triples outside a GRAPH block."""
    toks = reader.tokens
    for i, tok in enumerate(toks):
        if tok.kind != "word" or tok.value.upper() not in {"INSERT", "DELETE"}:
            continue
        j = i + 1
        if reader.word(j) in {"DATA", "WHERE"}:
            j += 1
        if j >= len(toks) or toks[j].value != "{":
            continue
        depth = 1
        j += 1
        while j < len(toks) and depth:
            t = toks[j]
            if t.value == "{":
                depth += 1
            elif t.value == "}":
                depth -= 1
            elif depth == 1:
                if t.kind == "word" and t.value.upper() == "GRAPH":
                    j += 2  # GRAPH, its name; the block follows
                    continue
                if t.value != ".":
                    raise NotADataset(
                        f"{tok.value.upper()} puts triples in the default graph, which is the "
                        "union of the datasets and stores nothing itself; wrap them in "
                        "GRAPH <dataset> { ... }"
                    )
            j += 1
