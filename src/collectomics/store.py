"""The graph store: the only module that imports pyoxigraph.

:class:`Store` is the interface the rest of the library uses; :class:`OxigraphStore` implements
it over an embedded pyoxigraph store (on disk, or in memory for tests). A remote SPARQL 1.1
Query/Update + Graph Store Protocol backend can implement the same methods: nothing outside this
module sees a pyoxigraph object. Data goes in as files, bytes or N-Triples/N-Quads text (what the
mapping layer produces), so a remote backend can forward it unchanged.
"""

from __future__ import annotations

import abc
import io
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, XSD_STRING, BNode, Literal, Term

#: Result formats for SELECT/ASK, by our short name: (pyoxigraph format, media type).
RESULT_FORMATS: dict[str, tuple[Any, str]] = {
    "json": (ox.QueryResultsFormat.JSON, "application/sparql-results+json"),
    "xml": (ox.QueryResultsFormat.XML, "application/sparql-results+xml"),
    "csv": (ox.QueryResultsFormat.CSV, "text/csv"),
    "tsv": (ox.QueryResultsFormat.TSV, "text/tab-separated-values"),
}
#: RDF formats for CONSTRUCT/DESCRIBE and dumps, by our short name.
RDF_FORMATS: dict[str, tuple[Any, str]] = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle"),
    "ntriples": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    "nquads": (ox.RdfFormat.N_QUADS, "application/n-quads"),
    "trig": (ox.RdfFormat.TRIG, "application/trig"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}
QUAD_FORMATS = {"nquads", "trig"}
_EXTENSIONS = {
    ".ttl": "turtle",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".rdf": "rdfxml",
    ".owl": "rdfxml",
    ".xml": "rdfxml",
}

Source = str | bytes | os.PathLike[str] | IO[bytes]


def rdf_format_for(path: str | os.PathLike[str]) -> str | None:
    """Our short RDF format name for a file name, from its extension (None if unknown)."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


class QueryResult:
    """The answer to a query: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        if isinstance(raw, ox.QuerySolutions):
            self.kind = "select"
            self.variables = [v.value for v in raw.variables]
        elif isinstance(raw, ox.QueryBoolean):
            self.kind = "ask"
            self.variables = []
        else:
            self.kind = "graph"
            self.variables = []

    @property
    def boolean(self) -> bool:
        if self.kind != "ask":
            raise QueryError("not an ASK query")
        return bool(self._raw)

    def formats(self) -> dict[str, tuple[Any, str]]:
        """The formats this result can be written in, short name -> (format, media type)."""
        return RDF_FORMATS if self.kind == "graph" else RESULT_FORMATS

    def serialize(self, fmt: str, output: IO[bytes] | None = None) -> bytes | None:
        """Write the result with pyoxigraph's own serializer (fast, releases the GIL)."""
        formats = self.formats()
        if fmt not in formats:
            raise QueryError(
                f"format {fmt!r} does not fit a {self.kind.upper()} result",
                allowed=", ".join(formats),
            )
        return self._raw.serialize(output, formats[fmt][0])  # type: ignore[no-any-return]

    def rows(self) -> Iterator[dict[str, Term]]:
        """SELECT solutions as dicts of plain terms (unbound variables left out)."""
        if self.kind != "select":
            raise QueryError(f"a {self.kind.upper()} result has no rows")
        names = self.variables
        for solution in self._raw:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = _from_ox(value)
            yield row

    def triples(self) -> Iterator[tuple[Term, Term, Term]]:
        """CONSTRUCT/DESCRIBE triples as plain terms."""
        if self.kind != "graph":
            raise QueryError(f"a {self.kind.upper()} result has no triples")
        for t in self._raw:
            yield _from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)


class Store(abc.ABC):
    """What the library needs from a graph store. Graph names are IRIs (``str``)."""

    def replace_graph(self, graph: str, source: Source, fmt: str) -> int:
        """Atomically replace the content of ``graph`` with ``source``; returns its triple count.

        Triples go into ``graph``; a quad format is flattened into ``graph``.
        """
        return self.replace_graph_parts(graph, [(source, fmt)])

    @abc.abstractmethod
    def replace_graph_parts(
        self, graph: str, parts: Sequence[tuple[Source, str]], *, base_iri: str | None = None
    ) -> int:
        """Atomically replace ``graph`` with the union of several (source, format) parts.

        Relative IRIs in the parts resolve against ``base_iri``. Nothing changes if any part
        fails to parse. Returns the graph's triple count.
        """

    @abc.abstractmethod
    def add(self, graph: str, source: Source, fmt: str) -> None:
        """Add data to ``graph`` in one transaction."""

    @abc.abstractmethod
    def remove_graph(self, graph: str) -> bool:
        """Remove a named graph and its triples; False if it did not exist."""

    @abc.abstractmethod
    def graphs(self) -> list[str]:
        """Named graphs in the store, sorted."""

    @abc.abstractmethod
    def count(self, graph: str | None = None) -> int:
        """Triples in one graph, or quads in the whole store."""

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        *,
        params: Mapping[str, Term] | None = None,
        default_graph_union: bool = True,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        """Run a SPARQL query with ``params`` bound as RDF terms (never spliced into the text)."""

    @abc.abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL update in one transaction."""

    @abc.abstractmethod
    def dump(self, output: str | os.PathLike[str] | IO[bytes], fmt: str = "nquads") -> None:
        """Write the whole store: N-Quads or TriG keep graphs; triple formats merge them."""

    @abc.abstractmethod
    def restore(self, source: Source, fmt: str = "nquads") -> None:
        """Replace the whole store with a dump."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store (flush and close files)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OxigraphStore(Store):
    """An embedded pyoxigraph store: on disk at ``path``, or in memory when ``path`` is None."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        if read_only and path is not None and not Path(path).is_dir():
            raise StoreError(
                "no store here yet; load data with `collectomics ingest` first", path=str(path)
            )
        try:
            if path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(path))
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open store: {exc}", path=str(path)) from None

    # -- writing -------------------------------------------------------------------------

    def _load_into(
        self, graph: str, source: Source, fmt: str, *, bulk: bool, base_iri: str | None = None
    ) -> None:
        rdf_format = _rdf_format(fmt)
        target = ox.NamedNode(graph)
        kwargs = _source_kwargs(source)
        if base_iri:
            kwargs["base_iri"] = base_iri
        try:
            if fmt in QUAD_FORMATS:
                quads = (
                    ox.Quad(q.subject, q.predicate, q.object, target)
                    for q in ox.parse(format=rdf_format, **kwargs)
                )
                if bulk:
                    self._store.bulk_extend(quads)
                else:
                    self._store.extend(list(quads))
            elif bulk:
                self._store.bulk_load(format=rdf_format, to_graph=target, **kwargs)
            else:
                self._store.load(format=rdf_format, to_graph=target, **kwargs)
        except SyntaxError as exc:
            raise StoreError(f"cannot parse {fmt} data: {exc}", graph=graph) from None
        except OSError as exc:
            raise StoreError(f"cannot load data: {exc}", graph=graph) from None

    def replace_graph_parts(
        self, graph: str, parts: Sequence[tuple[Source, str]], *, base_iri: str | None = None
    ) -> int:
        # Load into a private staging graph, then swap it in with one update (one transaction):
        # readers see the old graph or the new one, never a mixture.
        ox.NamedNode(graph)  # raises ValueError on a bad IRI before anything is written
        staging = f"urn:collectomics:staging:{uuid.uuid4().hex}"
        try:
            for source, fmt in parts:
                self._load_into(staging, source, fmt, bulk=True, base_iri=base_iri)
            if self._has(staging):
                self._store.update(f"MOVE SILENT GRAPH <{staging}> TO GRAPH <{graph}>")
            else:  # nothing to load: the dataset becomes empty
                self._store.update(f"DROP SILENT GRAPH <{graph}>")
        finally:
            if self._has(staging):
                self._store.remove_graph(ox.NamedNode(staging))
        return self.count(graph)

    def add(self, graph: str, source: Source, fmt: str) -> None:
        self._load_into(graph, source, fmt, bulk=False)

    def remove_graph(self, graph: str) -> bool:
        if not self._has(graph):
            return False
        self._store.remove_graph(ox.NamedNode(graph))
        return True

    def update(self, sparql: str) -> None:
        try:
            self._store.update(sparql)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL update syntax error: {exc}") from None
        except OSError as exc:
            raise QueryError(f"SPARQL update failed: {exc}") from None

    def restore(self, source: Source, fmt: str = "nquads") -> None:
        rdf_format = _rdf_format(fmt)
        kwargs = _source_kwargs(source)
        # Parse fully first, so that a broken dump leaves the store as it was.
        try:
            quads = list(ox.parse(format=rdf_format, **kwargs))
        except SyntaxError as exc:
            raise StoreError(f"cannot parse {fmt} dump: {exc}") from None
        self._store.clear()
        self._store.bulk_extend(quads)
        self._store.flush()

    # -- reading -------------------------------------------------------------------------

    def _has(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def graphs(self) -> list[str]:
        return sorted(
            g.value
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and not g.value.startswith("urn:collectomics:staging:")
        )

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            sparql = (
                "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
            )
            result = self._store.query(sparql)
        else:
            result = self._store.query(
                "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=ox.NamedNode(graph)
            )
        return int(next(iter(result))["n"].value)

    def query(
        self,
        sparql: str,
        *,
        params: Mapping[str, Term] | None = None,
        default_graph_union: bool = True,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        kwargs: dict[str, Any] = {}
        if default_graphs is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        elif default_graph_union:
            kwargs["use_default_graph_as_union"] = True
        if named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        if params:
            kwargs["substitutions"] = {ox.Variable(k): _to_ox(v) for k, v in params.items()}
        try:
            return QueryResult(self._store.query(sparql, **kwargs))
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from None
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            # e.g. a parameter that the SELECT does not project (SEP-0007 substitution rule)
            raise QueryError(f"query failed: {exc}") from None

    def dump(self, output: str | os.PathLike[str] | IO[bytes], fmt: str = "nquads") -> None:
        rdf_format = _rdf_format(fmt)
        if fmt in QUAD_FORMATS:
            self._store.dump(output, rdf_format)
        else:
            # Triple formats cannot carry graphs: write the union of all graphs.
            result = self._store.query(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True
            )
            result.serialize(output, rdf_format)

    def flush(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()

    def close(self) -> None:
        if getattr(self, "_store", None) is not None:
            self.flush()
        self._store = None  # type: ignore[assignment]


def open_store(location: str | os.PathLike[str] | None, *, read_only: bool = False) -> Store:
    """Open the store a setting names: a path (embedded, on disk) or None (in memory)."""
    if location is not None and str(location).startswith(("http://", "https://", "sparql+")):
        raise StoreError(
            "remote SPARQL stores are not supported yet; give a directory path", store=location
        )
    return OxigraphStore(location, read_only=read_only)


# -- term conversion -----------------------------------------------------------------------


def _rdf_format(fmt: str) -> Any:
    try:
        return RDF_FORMATS[fmt][0]
    except KeyError:
        raise StoreError(f"unknown RDF format {fmt!r}", allowed=", ".join(RDF_FORMATS)) from None


def _source_kwargs(source: Source) -> dict[str, Any]:
    if isinstance(source, (str, bytes)):
        return {"input": source.encode("utf-8") if isinstance(source, str) else source}
    if isinstance(source, os.PathLike):
        return {"path": os.fspath(source)}
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        return {"input": source}
    raise StoreError(f"cannot read data from {type(source).__name__}")


def _to_ox(term: Term) -> Any:
    if isinstance(term, IRI):
        return ox.NamedNode(term)
    if isinstance(term, BNode):
        return ox.BlankNode(term)
    if isinstance(term, Literal):
        if term.lang:
            return ox.Literal(term.value, language=term.lang)
        return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
    raise TypeError(f"not an RDF term: {term!r}")


def _from_ox(term: Any) -> Term:
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(
                term.value, "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", term.language
            )
        return Literal(term.value, term.datatype.value if term.datatype else XSD_STRING)
    raise TypeError(f"unsupported term {term!r}")


def iter_lines(lines: Iterable[str]) -> bytes:
    """Join N-Triples/N-Quads lines into bytes for :meth:`Store.add`/``replace_graph``."""
    return "".join(lines).encode("utf-8")
