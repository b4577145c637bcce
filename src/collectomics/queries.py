"""Canned SPARQL queries: ``queries/*.rq`` files whose comment header declares typed parameters.

Header lines at the top of a file::

    # title: Specimens from a country, by institution
    # description: How many specimens were collected in a country, per holding institution.
    # param: country string = "ES" -- ISO 3166-1 alpha-2 country code

Parameters are bound as typed RDF terms through the store's substitutions, never spliced into
the query text. Following SEP-0007 (what pyoxigraph implements), a bound variable must appear
in the SELECT projection; an ASK or CONSTRUCT query may bind any variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from collectomics.errors import ParameterError, QueryError, QueryNotFound
from collectomics.model import IRI, XSD, Literal, Term, iri_is_valid
from collectomics.resources import resource_path

PARAM_TYPES = ("string", "iri", "integer", "decimal", "date", "year", "boolean")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>\w+)(?:\s*=\s*(?P<default>\"[^\"]*\"|\S+))?"
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

    def bind(self, raw: str) -> Term:
        """The RDF term for a raw string value; ParameterError says what is wrong."""
        value = raw.strip()
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
        return Literal(value)


@dataclass(frozen=True)
class CannedQuery:
    """A query from the library: its text, title, description and parameters."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    path: str | None = None

    def bind(self, values: Mapping[str, str]) -> dict[str, Term]:
        """Typed terms for every parameter: the given value, else the default; errors name it."""
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
            bound[p.name] = p.bind(raw)
        return bound


def parse_query(text: str, name: str, path: str | None = None) -> CannedQuery:
    """Read a query's header: ``# title:``, ``# description:`` and ``# param:`` lines."""
    title, description, params = "", [], []
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
            if not m or m.group("type") not in PARAM_TYPES:
                raise QueryError(
                    f"bad parameter declaration {value!r}; expected 'NAME TYPE [= DEFAULT] [-- help]' "
                    f"with TYPE one of {', '.join(PARAM_TYPES)}",
                    file=path or name,
                    line=number,
                )
            default = m.group("default")
            if default and default.startswith('"'):
                default = default[1:-1]
            params.append(
                Parameter(m.group("name"), m.group("type"), default, m.group("help") or "")
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
