"""Canned SPARQL queries: ``queries/*.rq`` files whose comment header declares typed parameters.

Header lines at the top of a file::

    # title: Specimens from a country, by institution
    # description: How many specimens were collected in a country, per holding institution.
    # param: country country = "ES" -- ISO 3166-1 alpha-2 country code

Parameters are bound as typed RDF terms through the store's substitutions, never spliced into
the query text. Following SEP-0007 (what pyoxigraph implements), a bound variable must appear
in the SELECT projection; an ASK or CONSTRUCT query may bind any variable.

A value the query cannot use is refused with a :class:`ParameterError` naming the parameter and
the value, rather than answered with nothing: a value not of its type (a year that is not a
year), a country name where a code is expected (``Monaco``: the code is ``MC``) and, given the
store (:meth:`CannedQuery.bind` with a :class:`Lookup`), an IRI that is nowhere in the graph, a
name where an IRI is expected (with the IRIs of up to five agents or people of that name) and a
dataset the store does not hold. :func:`check_node` and :func:`check_dataset` apply the same
checks to the options of the commands that take a person or a dataset.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from collectomics.errors import ParameterError, QueryError, QueryNotFound
from collectomics.iri import Minter
from collectomics.mapping.countries import COUNTRIES
from collectomics.model import IRI, XSD, Literal, Term, iri_is_valid
from collectomics.resources import resource_path
from collectomics.store import Store

#: ``country``: an ISO 3166-1 alpha-2 code; ``dataset``: the id of a dataset in the store;
#: ``choice(a|b|c)``: one of the words listed.
PARAM_TYPES = (
    "string",
    "iri",
    "integer",
    "decimal",
    "date",
    "year",
    "boolean",
    "country",
    "dataset",
    "choice",
)
#: How many IRIs an error lists for a name given where an IRI is expected.
NAMED_SHOWN = 5
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>\w+)(?:\((?P<choices>[^()\s]+)\))?"
    r"(?:\s*=\s*(?P<default>\"[^\"]*\"|\S+))?"
    r"(?:\s+--\s*(?P<help>.*))?$"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Parameter:
    """A typed query parameter with an optional default."""

    name: str
    type: str
    default: str | None = None
    help: str = ""
    #: the values a ``choice`` parameter takes
    choices: tuple[str, ...] = ()

    def bind(self, raw: str, lookup: Lookup | None = None) -> Term:
        """The RDF term for a raw string value; ParameterError says what is wrong. With
        ``lookup``, the value is also checked against the graph (:meth:`check`)."""
        value = raw.strip()
        if self.type == "iri" and lookup is not None:  # a name gets the IRIs that bear it
            return IRI(check_node(lookup.store, raw, self.name))
        term = self._term(value, raw)
        if lookup is not None:
            self.check(term, lookup)
        return term

    def _term(self, value: str, raw: str) -> Term:
        try:
            if self.type == "iri":
                if value.startswith("<") and value.endswith(">"):
                    value = value[1:-1]
                if not iri_is_valid(value) or "://" not in value and not value.startswith("urn:"):
                    raise ValueError("not an absolute IRI")
                return IRI(value)
            if self.type == "integer":
                return Literal(str(int(value)), XSD + "integer")
            if self.type == "decimal":
                number = Decimal(value)
                if not number.is_finite():
                    raise ValueError("not finite")
                return Literal(format(number, "f"), XSD + "decimal")
            if self.type == "date":
                return Literal(date.fromisoformat(value).isoformat(), XSD + "date")
            if self.type == "year":
                if not re.fullmatch(r"-?\d{4}", value):
                    raise ValueError("not a four-digit year")
                return Literal(str(int(value)), XSD + "integer")
            if self.type == "boolean":
                if value.lower() not in {"true", "false"}:
                    raise ValueError("not true or false")
                return Literal(value.lower(), XSD + "boolean")
        except (ValueError, InvalidOperation) as exc:
            raise ParameterError(
                f"parameter {self.name!r} expects {self.type}: {exc}",
                parameter=self.name,
                value=raw,
            ) from None
        if self.type == "country":
            return Literal(country_code(value, self.name))
        if self.type == "choice" and value not in self.choices:
            raise ParameterError(
                f"parameter {self.name!r} expects one of {', '.join(self.choices)}, not {value!r}",
                parameter=self.name,
                value=raw,
            )
        if self.type == "dataset" and not value:
            raise ParameterError(
                f"parameter {self.name!r} expects a dataset id", parameter=self.name, value=raw
            )
        return Literal(value)

    def check(self, term: Term, lookup: Lookup) -> None:
        """Refuse a well-typed value that the graph cannot answer for (ParameterError)."""
        text = term.value if isinstance(term, Literal) else str(term)
        if self.type == "iri":
            check_node(lookup.store, text, self.name)
        elif self.type == "dataset":
            check_dataset(lookup.store, lookup.minter, text, self.name)
        elif self.type == "country" and text not in COUNTRIES:
            if not lookup.store.query(_HAS_COUNTRY, params={"c": term}).boolean:
                raise ParameterError(
                    f"parameter {self.name!r} expects an ISO 3166-1 alpha-2 country code: "
                    f"{text} is not one we know, and no specimen in the graph has it",
                    parameter=self.name,
                    value=text,
                )


@dataclass(frozen=True)
class Lookup:
    """The store (and the minter of its IRIs) that parameters are checked against."""

    store: Store
    minter: Minter


_HAS_COUNTRY = (
    "ASK { ?s <http://rs.tdwg.org/dwc/terms/countryCode> ?c }"  # an ASK binds any variable
)
_HAS_NODE = "ASK { { ?x ?p ?o } UNION { ?s ?p ?x } }"
_NAMED = """PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?x ?person ?q WHERE {{
  VALUES ?p {{ foaf:name skos:altLabel }} {pattern}
  FILTER(isIRI(?x)) BIND(EXISTS {{ ?x a foaf:Person }} AS ?person)
}} ORDER BY DESC(?person) ?x LIMIT {limit}"""


def _folded(text: str) -> str:
    """Lower case without accents or punctuation, for comparing names as people type them."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


def country_code(value: str, parameter: str = "country") -> str:
    """The upper-case ISO 3166-1 alpha-2 code ``value`` gives; a country's name or anything
    else gets a ParameterError that names the code where the name is one we know."""
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    folded = _folded(value)
    exact = [code for code, (_, name) in COUNTRIES.items() if folded and _folded(name) == folded]
    if exact:
        hint = f"the code of {COUNTRIES[exact[0]][1]} is {exact[0]}"
    else:
        near = [
            f"{code} ({name})"
            for code, (_, name) in sorted(COUNTRIES.items())
            if folded and folded in _folded(name)
        ]
        hint = ("did you mean " + ", ".join(near[:NAMED_SHOWN])) if near else "e.g. ES for Spain"
    raise ParameterError(
        f"parameter {parameter!r} expects an ISO 3166-1 alpha-2 country code, not {value!r}: {hint}",
        parameter=parameter,
        value=value,
    )


def named(store: Store, name: str, limit: int = NAMED_SHOWN) -> list[str]:
    """IRIs of up to ``limit`` people or agents whose ``foaf:name`` or ``skos:altLabel`` is
    ``name`` (as written, else ignoring case), people first."""
    found: list[str] = []
    for pattern in ("?x ?p ?q .", "?x ?p ?n . FILTER(LCASE(STR(?n)) = LCASE(?q))"):
        q = _NAMED.format(pattern=pattern, limit=int(limit))
        rows = store.query(q, params={"q": Literal(name)}).rows()
        found = [str(row["x"]) for row in rows]
        if found:
            break
    return found


def check_node(store: Store, value: str, parameter: str) -> str:
    """``value`` when it is an IRI the graph holds (as subject or object); else a
    ParameterError: a name gets the IRIs of the agents and people who bear it."""
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if not (iri_is_valid(text) and ("://" in text or text.startswith("urn:"))):
        iris = named(store, text)
        where = (
            "agents or people named so: " + ", ".join(f"<{i}>" for i in iris)
            if iris
            else "no agent or person in the graph bears that name"
        )
        raise ParameterError(
            f"parameter {parameter!r} expects an IRI, not the name {text!r}; {where}",
            parameter=parameter,
            value=value,
        )
    if not store.query(_HAS_NODE, params={"x": IRI(text)}).boolean:
        raise ParameterError(
            f"parameter {parameter!r}: <{text}> is nowhere in the graph",
            parameter=parameter,
            value=value,
        )
    return text


def datasets(store: Store, minter: Minter) -> list[str]:
    """The ids of the datasets the store holds (their named graphs, not the derived ones)."""
    prefix = minter.base + "graph/"
    return sorted(
        g[len(prefix) :] for g in store.graphs() if minter.dataset_of_graph(g) is not None
    )


def check_dataset(store: Store, minter: Minter, value: str, parameter: str = "dataset") -> str:
    """``value`` when the store holds a dataset of that id; else a ParameterError that lists
    the datasets it holds."""
    if minter.graph(value) in store.graphs():
        return value
    known = datasets(store, minter)
    raise ParameterError(
        f"parameter {parameter!r}: no dataset {value!r} in the store; it holds "
        + (", ".join(known) if known else "none"),
        parameter=parameter,
        value=value,
    )


@dataclass(frozen=True)
class CannedQuery:
    """A query from the library: its text, title, description and parameters."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    path: str | None = None

    def bind(self, values: Mapping[str, str], lookup: Lookup | None = None) -> dict[str, Term]:
        """Typed terms for every parameter: the given value, else the default; errors name it.

        With ``lookup``, values are also checked against the graph (:meth:`Parameter.check`)."""
        declared = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise ParameterError(
                f"unknown parameter {unknown[0]!r} for query {self.name!r}",
                parameter=unknown[0],
                known=", ".join(declared) or "none",
            )
        bound: dict[str, Term] = {}
        for p in self.parameters:
            raw = values.get(p.name, p.default)
            if raw is None:
                raise ParameterError(
                    f"query {self.name!r} needs parameter {p.name!r} ({p.type})", parameter=p.name
                )
            bound[p.name] = p.bind(raw, lookup)
        return bound


def parse_query(text: str, name: str, path: str | None = None) -> CannedQuery:
    """Read a query's header: ``# title:``, ``# description:`` and ``# param:`` lines."""
    title, description = "", ""
    params: list[Parameter] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        key, sep, value = stripped.lstrip("#").strip().partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "title":
            title = value
        elif key == "description":
            description = (description + " " + value).strip() if description else value
        elif key == "param":
            m = _PARAM.match(value)
            if (
                not m
                or m.group("type") not in PARAM_TYPES
                or (bool(m.group("choices")) != (m.group("type") == "choice"))
            ):
                raise QueryError(
                    f"bad parameter declaration {value!r}; expected 'NAME TYPE [= DEFAULT] [-- help]' "
                    f"with TYPE one of {', '.join(PARAM_TYPES)} (choice as choice(A|B|...))",
                    file=path or name,
                    line=number,
                )
            default = m.group("default")
            if default and default.startswith('"'):
                default = default[1:-1]
            choices = tuple((m.group("choices") or "").split("|")) if m.group("choices") else ()
            params.append(
                Parameter(m.group("name"), m.group("type"), default, m.group("help") or "", choices)
            )
    query = CannedQuery(name, text, title or name, description, tuple(params), path)
    for p in params:  # a bad default is a bug in the query file: say so early
        if p.default is not None:
            p.bind(p.default)
    return query


def query_dirs(extra: str | None = None) -> list[Path]:
    """Folders searched for canned queries: the ``queries_dir`` setting first, then the bundle."""
    dirs = [Path(extra)] if extra else []
    return dirs + [resource_path("queries")]


def list_queries(extra: str | None = None) -> list[CannedQuery]:
    """Every canned query, by name; a name in an earlier folder hides the same name later."""
    found: dict[str, CannedQuery] = {}
    for folder in query_dirs(extra):
        for path in sorted(folder.glob("*.rq")) if folder.is_dir() else []:
            found.setdefault(path.stem, parse_query(path.read_text("utf-8"), path.stem, str(path)))
    return sorted(found.values(), key=lambda q: q.name)


def get_query(name: str, extra: str | None = None) -> CannedQuery:
    """A canned query by name; QueryNotFound lists what exists."""
    if _NAME.match(name):
        for folder in query_dirs(extra):
            path = folder / f"{name}.rq"
            if path.is_file():
                return parse_query(path.read_text("utf-8"), name, str(path))
    known = ", ".join(q.name for q in list_queries(extra))
    raise QueryNotFound(f"no canned query named {name!r}", known=known or "none")
