"""The embedded store: :class:`OxigraphStore` over pyoxigraph, on disk or in memory, and the
pyoxigraph readers and writers of RDF that both backends use (a remote store parses its
server's answers and checks data before sending it with them). The only module of the library
that imports pyoxigraph: nothing outside it sees a pyoxigraph object.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

import pyoxigraph as ox

from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, XSD_STRING, BNode, Literal, Term
from collectomics.store.base import (
    CACHE_DIR,
    CATALOG,
    CURRENT,
    GARBAGE,
    QUAD_FORMATS,
    RDF_MEDIA,
    RESULT_MEDIA,
    QueryResult,
    Source,
    Store,
    check_count,
    check_dataset_name,
    is_version_of,
    next_physical,
    start_producer,
)
from collectomics.store.sparqltext import check_projected, leading_values

_RESULT_OX = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_RDF_OX = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
#: Result formats for SELECT/ASK, by our short name: (pyoxigraph format, media type).
RESULT_FORMATS: dict[str, tuple[Any, str]] = {
    name: (_RESULT_OX[name], media) for name, media in RESULT_MEDIA.items()
}
#: RDF formats for CONSTRUCT/DESCRIBE and dumps, by our short name.
RDF_FORMATS: dict[str, tuple[Any, str]] = {
    name: (_RDF_OX[name], media) for name, media in RDF_MEDIA.items()
}
#: The embedded store's catalog: one empty named graph per current version, named
#: ``{_CURRENT_MARK}{logical}/{physical}`` (each percent-encoded), and one per replaced version
#: still to delete, ``{_GARBAGE_MARK}{physical}``. Empty graphs add no triple to Oxigraph's union
#: default graph, so that a query can use it (see OxigraphStore.query).
_CURRENT_MARK = CURRENT + "/"
_GARBAGE_MARK = GARBAGE + "/"
#: A writable handle compacts the store on close when the table files written since it opened
#: reach this share of all of them (a bulk load's files otherwise leave reads ~2x slower).
COMPACT_SHARE = 1 / 16


class OxigraphResult(QueryResult):
    """A query answer held by pyoxigraph: of the embedded store, or parsed from a remote
    server's answer (:func:`parse_answer`), read lazily."""

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

    def serialize(self, fmt: str, output: IO[bytes] | None = None) -> bytes | None:
        """Write the result with pyoxigraph's own serializer (fast, releases the GIL)."""
        self.check_format(fmt)
        try:
            if not hasattr(self._raw, "serialize"):  # triples parsed from a remote answer
                return ox.serialize(self._raw, output, _RDF_OX[fmt])
            target = _RDF_OX[fmt] if self.kind == "graph" else _RESULT_OX[fmt]
            return self._raw.serialize(output, target)
        except (SyntaxError, OSError) as exc:  # a remote answer that breaks off or is malformed
            raise QueryError(f"cannot read the server's answer: {exc}") from None

    def rows(self) -> Iterator[dict[str, Term]]:
        if self.kind != "select":
            raise QueryError(f"a {self.kind.upper()} result has no rows")
        names = self.variables
        try:
            for solution in self._raw:
                row = {}
                for name in names:
                    value = solution[name]
                    if value is not None:
                        row[name] = _from_ox(value)
                yield row
        except (SyntaxError, OSError) as exc:  # a remote answer that breaks off or is malformed
            raise QueryError(f"cannot read the server's answer: {exc}") from None

    def triples(self) -> Iterator[tuple[Term, Term, Term]]:
        if self.kind != "graph":
            raise QueryError(f"a {self.kind.upper()} result has no triples")
        try:
            for t in self._raw:
                yield _from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)
        except (SyntaxError, OSError) as exc:
            raise QueryError(f"cannot read the server's answer: {exc}") from None


# -- the embedded store --------------------------------------------------------------------------


def _is_iri(value: str) -> bool:
    try:
        ox.NamedNode(value)
    except ValueError:
        return False
    return True


def _current_mark(graph: str, physical: str) -> str:
    return _CURRENT_MARK + quote(graph, safe="") + "/" + quote(physical, safe="")


def _garbage_mark(physical: str) -> str:
    return _GARBAGE_MARK + quote(physical, safe="")


class OxigraphStore(Store):
    """An embedded pyoxigraph store: on disk at ``path``, or in memory when ``path`` is None.

    Each logical graph's current version is recorded in the catalog (empty marker graphs). A
    load goes into a new physical graph (``{graph}`` the first time, ``{graph}/vN`` when
    replacing), which becomes visible when one small transaction points the catalog at it; the
    old version is then removed. A load killed half-way leaves an unlisted graph that no query
    sees and the next load of that dataset removes.

    Reads use Oxigraph's union default graph (all graphs) when the snapshot holds nothing but
    current versions, which is the case between loads; a snapshot that also holds a staged,
    replaced or foreign graph lists the current versions instead (slower, as correct). A read-only
    handle is a snapshot, so it decides once when it opens.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        if read_only and path is not None and not Path(path).is_dir():
            raise StoreError(
                "no store here yet; load data with `collectomics ingest` first", path=str(path)
            )
        for attempt in range(8):
            try:
                if path is None:
                    self._store = ox.Store()
                elif read_only:
                    self._store = ox.Store.read_only(str(path))
                else:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    self._store = ox.Store(str(path))
            except (OSError, RuntimeError) as exc:  # RocksDB's errors are RuntimeErrors
                raise StoreError(f"cannot open store: {exc}", path=str(path)) from None
            self._catalog: dict[str, str] = self._read_catalog()
            self._union_ok: bool | None = None  # a read-only snapshot's answer, once known
            self._bulk_loaded = False
            self._tables_at_open: set[str] = set()
            if not read_only:
                self._upgrade_catalog()
                self._collect_garbage()
                self._tables_at_open = set(self._table_sizes())
                break
            if self._snapshot_is_whole():
                self._union_ok = self._only_current_graphs()
                break
            # A read-only open beside a writer saw the catalog's switch to a new version but not
            # yet the files that hold it: open again (it settles within milliseconds).
            self._store = None  # type: ignore[assignment]
            time.sleep(0.01 * 2**attempt)
        else:
            raise StoreError(
                "the store changed while it was opened (a load was committing); try again",
                path=str(path),
            )

    @property
    def location(self) -> str | None:
        return str(self.path) if self.path is not None else None

    @property
    def cache_dir(self) -> Path | None:
        if self.path is None or not self.path.is_dir():
            return None
        return self.path / CACHE_DIR

    # -- the catalog ---------------------------------------------------------------------

    def _snapshot_is_whole(self) -> bool:
        """False when the catalog names a version that is missing while an older version of the
        same graph is present: a read-only open that read RocksDB's log (the catalog switch)
        after its manifest (the bulk-loaded files of the new version)."""
        present = {g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)}
        for graph, physical in self._catalog.items():
            if physical in present:
                continue
            if any(is_version_of(other, graph) for other in present):
                return False
        return True

    def _read_catalog(self) -> dict[str, str]:
        """logical graph -> current physical graph, from the marker graphs (and from the
        catalog graph of a store written before them)."""
        catalog = {
            q.subject.value: q.object.value
            for q in self._store.quads_for_pattern(
                None, ox.NamedNode(CURRENT), None, ox.NamedNode(CATALOG)
            )
            if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode)
        }
        for g in self._store.named_graphs():
            if isinstance(g, ox.NamedNode) and g.value.startswith(_CURRENT_MARK):
                graph, _, physical = g.value[len(_CURRENT_MARK) :].partition("/")
                if graph and physical:
                    catalog[unquote(graph)] = unquote(physical)
        return catalog

    def _upgrade_catalog(self) -> None:
        """Turn a catalog graph (stores written before the marker graphs) into markers, in one
        transaction."""
        catalog = ox.NamedNode(CATALOG)
        if not any(g == catalog for g in self._store.named_graphs()):
            return
        ops = [f"CREATE SILENT GRAPH <{_current_mark(g, p)}>" for g, p in self._catalog.items()]
        for mark in self._store.quads_for_pattern(
            None, ox.NamedNode(GARBAGE), None, ox.NamedNode(CATALOG)
        ):
            if isinstance(mark.subject, ox.NamedNode):
                ops.append(f"CREATE SILENT GRAPH <{_garbage_mark(mark.subject.value)}>")
        ops.append(f"DROP GRAPH <{CATALOG}>")
        self._store.update(" ;\n".join(ops))

    def _only_current_graphs(self) -> bool:
        """True when the union of all graphs is the union of the current versions: no staged,
        replaced or foreign named graph, an empty default graph, and empty catalog markers (an
        update could write into one)."""
        current = set(self._catalog.values())
        for g in self._store.named_graphs():
            if not isinstance(g, ox.NamedNode):
                return False
            if g.value in current:
                continue
            if not g.value.startswith((_CURRENT_MARK, _GARBAGE_MARK)) or not self._empty(g):
                return False
        return self._empty(ox.DefaultGraph())

    def _empty(self, graph: Any) -> bool:
        return next(iter(self._store.quads_for_pattern(None, None, None, graph)), None) is None

    def _set_current(self, graph: str, physical: str) -> None:
        """Point ``graph`` at ``physical`` in one transaction (the moment a load becomes visible)."""
        self._switch({graph: physical}, ())

    def _versions(self, graph: str) -> list[str]:
        """Every physical graph that holds some version of ``graph``, current or not."""
        return [
            g.value
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and is_version_of(g.value, graph)
        ]

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only", path=str(self.path))

    def _new_physical(self, graph: str) -> str:
        self._check_writable()
        ox.NamedNode(graph)  # raises ValueError on a bad IRI before anything is written
        check_dataset_name(graph)
        current = self._catalog.get(graph)
        versions = self._versions(graph)
        for stale in versions:  # leftovers of an interrupted load
            if stale != current:
                self._store.remove_graph(ox.NamedNode(stale))
        return next_physical(graph, current, versions)

    def _activate(self, graph: str, physical: str) -> None:
        self._set_current(graph, physical)
        self._collect_garbage()  # the version it replaced

    def _active(self) -> list[Any]:
        return [ox.NamedNode(p) for p in self._catalog.values()]

    # -- writing -------------------------------------------------------------------------

    def _load_into(
        self,
        graph: str,
        source: Source,
        fmt: str,
        *,
        bulk: bool,
        base_iri: str | None = None,
        lenient: bool = False,
    ) -> None:
        rdf_format = _rdf_format(fmt)
        target = ox.NamedNode(graph)
        kwargs = _source_kwargs(source)
        if base_iri:
            kwargs["base_iri"] = base_iri
        self._bulk_loaded = self._bulk_loaded or bulk
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
                self._store.bulk_load(format=rdf_format, to_graph=target, lenient=lenient, **kwargs)
            else:
                self._store.load(format=rdf_format, to_graph=target, lenient=lenient, **kwargs)
        except SyntaxError as exc:
            raise StoreError(f"cannot parse {fmt} data: {exc}", graph=graph) from None
        except OSError as exc:
            raise StoreError(f"cannot load data: {exc}", graph=graph) from None

    def replace_graph_parts(
        self,
        graph: str,
        parts: Sequence[tuple[Source, str]],
        *,
        base_iri: str | None = None,
        lenient: bool = False,
    ) -> int:
        physical = self._new_physical(graph)
        try:
            for source, fmt in parts:
                self._load_into(
                    physical, source, fmt, bulk=True, base_iri=base_iri, lenient=lenient
                )
        except BaseException:
            self._store.remove_graph(ox.NamedNode(physical))
            raise
        self._activate(graph, physical)
        return self.count(graph)

    def replace_graph_stream(
        self,
        graph: str,
        produce: Callable[[IO[bytes]], None],
        fmt: str = "ntriples",
        *,
        base_iri: str | None = None,
        lenient: bool = False,
        extra: Sequence[tuple[Source, str]] = (),
    ) -> None:
        physical = self._stage(graph, produce, fmt, base_iri=base_iri, lenient=lenient, extra=extra)
        self._activate(graph, physical)

    def replace_graphs_stream(
        self,
        graphs: Sequence[tuple[str, Callable[[IO[bytes]], None]]],
        fmt: str = "nquads",
        *,
        remove_others: bool = False,
        expected: Mapping[str, int] | None = None,
    ) -> dict[str, int]:
        # Every graph is loaded into a new version first; one catalog transaction then makes
        # them all current (and forgets the removed ones); old versions are deleted last.
        staged: dict[str, str] = {}
        counts: dict[str, int] = {}
        try:
            for graph, produce in graphs:
                if graph in staged:
                    raise StoreError("graph given twice", graph=graph)
                staged[graph] = self._stage(graph, produce, fmt)
                counts[graph] = self._count_in([ox.NamedNode(staged[graph])])
                check_count(graph, counts[graph], expected)
        except BaseException:
            for physical in staged.values():
                self._store.remove_graph(ox.NamedNode(physical))
            raise
        removed = [g for g in self._catalog if g not in staged] if remove_others else []
        self._switch(staged, removed)
        self._collect_garbage()
        return counts

    def _stage(
        self,
        graph: str,
        produce: Callable[[IO[bytes]], None],
        fmt: str,
        *,
        base_iri: str | None = None,
        lenient: bool = False,
        extra: Sequence[tuple[Source, str]] = (),
    ) -> str:
        """Load what ``produce`` writes (and ``extra``) into a new version of ``graph``, not yet
        current; returns its physical IRI. On any failure the new version is removed."""
        physical = self._new_physical(graph)
        read_fd, producer, failure = start_producer(produce)
        try:
            # The loader reads the pipe from Rust, without the GIL, while mapping runs in Python.
            self._load_into(
                physical,
                Path(f"/dev/fd/{read_fd}"),
                fmt,
                bulk=True,
                base_iri=base_iri,
                lenient=lenient,
            )
        except BaseException:
            os.close(read_fd)
            producer.join()
            self._store.remove_graph(ox.NamedNode(physical))
            if failure:
                raise failure[0] from None
            raise
        os.close(read_fd)
        producer.join()
        if failure:
            self._store.remove_graph(ox.NamedNode(physical))
            raise failure[0]
        try:
            for source, part_fmt in extra:
                self._load_into(physical, source, part_fmt, bulk=True, base_iri=base_iri)
        except BaseException:
            self._store.remove_graph(ox.NamedNode(physical))
            raise
        return physical

    def _collect_garbage(self) -> None:
        """Delete the physical graphs a switch marked for deletion (see _switch): what a
        process killed between the switch and the deletions left."""
        marks = [
            g
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and g.value.startswith(_GARBAGE_MARK)
        ]
        current = set(self._catalog.values())
        for mark in marks:
            physical = unquote(mark.value[len(_GARBAGE_MARK) :])
            if physical not in current and _is_iri(physical):
                self._store.remove_graph(ox.NamedNode(physical))
            self._store.remove_graph(mark)

    def _switch(self, current: Mapping[str, str], removed: Sequence[str]) -> None:
        """Point each graph of ``current`` at its physical graph and forget ``removed``, in one
        transaction that also marks the versions they replace as garbage, for _collect_garbage
        (called next, and by the next writable open if this process is killed first)."""
        garbage = {self._catalog[g] for g in [*current, *removed] if g in self._catalog} - set(
            current.values()
        )
        # Every IRI passes through ox.NamedNode first, which rejects anything that could escape
        # <...> (the markers are percent-encoded): pyoxigraph's update() takes no bound
        # parameters, and this must be one transaction.
        for iri in [*current, *removed, *current.values()]:
            ox.NamedNode(iri)
        ops = [
            f"DROP SILENT GRAPH <{_current_mark(g, self._catalog[g])}>"
            for g in [*current, *removed]
            if g in self._catalog
        ]
        ops += [f"CREATE SILENT GRAPH <{_current_mark(g, p)}>" for g, p in current.items()]
        ops += [f"CREATE SILENT GRAPH <{_garbage_mark(p)}>" for p in sorted(garbage)]
        if ops:
            self._store.update(" ;\n".join(ops))
        for graph in removed:
            self._catalog.pop(graph, None)
        self._catalog.update(current)

    def _count_in(self, physical: list[Any]) -> int:
        """Triples in these physical graphs (current or staged)."""
        result = self._store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=physical
        )
        assert isinstance(result, ox.QuerySolutions)
        count = next(iter(result))["n"]
        return int(count.value) if isinstance(count, ox.Literal) else 0

    def add(self, graph: str, source: Source, fmt: str) -> None:
        self._check_writable()
        physical = self._catalog.get(graph) or self._new_physical(graph)
        self._load_into(physical, source, fmt, bulk=False)
        if graph not in self._catalog:
            self._set_current(graph, physical)

    def remove_graph(self, graph: str) -> bool:
        if graph not in self._catalog:
            return False
        self._check_writable()
        ox.NamedNode(graph)  # validated before it enters the update text
        self._store.update(f"DROP SILENT GRAPH <{_current_mark(graph, self._catalog[graph])}>")
        del self._catalog[graph]
        for version in self._versions(graph):
            self._store.remove_graph(ox.NamedNode(version))
        return True

    def update(self, sparql: str) -> None:
        self._check_writable()
        try:
            self._store.update(sparql)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL update syntax error: {exc}") from None
        except OSError as exc:
            raise QueryError(f"SPARQL update failed: {exc}") from None

    def restore(self, source: Source, fmt: str = "nquads") -> None:
        self._check_writable()
        rdf_format = _rdf_format(fmt)
        kwargs = _source_kwargs(source)
        # Parse fully first, so that a broken dump leaves the store as it was.
        try:
            quads = list(ox.parse(format=rdf_format, **kwargs))
        except SyntaxError as exc:
            raise StoreError(f"cannot parse {fmt} dump: {exc}") from None
        self._store.clear()
        self._catalog = {}
        self._store.bulk_extend(quads)
        self._bulk_loaded = True
        graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
        self._switch({g: g for g in sorted(graphs)}, ())
        self.flush()

    # -- reading -------------------------------------------------------------------------

    def graphs(self) -> list[str]:
        return sorted(self._catalog)

    def physical_graph(self, graph: str) -> str | None:
        return self._catalog.get(graph)

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            targets = self._active()
        elif graph in self._catalog:
            targets = [ox.NamedNode(self._catalog[graph])]
        else:
            return 0
        return self._count_in(targets)

    def _union_is_current(self) -> bool:
        """Whether the union of all graphs is the current versions' (see
        _only_current_graphs): decided once for a read-only snapshot, per query for a writer."""
        if self._union_ok is not None:
            return self._union_ok
        return self._only_current_graphs()

    def _physical_list(self, graphs: list[str]) -> list[Any]:
        return [ox.NamedNode(self._catalog.get(g, g)) for g in graphs]

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
            kwargs["default_graph"] = self._physical_list(default_graphs)
        elif default_graph_union and self._union_is_current():
            # Oxigraph's own union: one index scan per pattern, where a list of N graphs costs
            # N (2.5x slower with 10 graphs; docs/performance.md).
            kwargs["use_default_graph_as_union"] = True
        elif default_graph_union:
            kwargs["default_graph"] = self._active()
        kwargs["named_graphs"] = (
            self._physical_list(named_graphs) if named_graphs is not None else self._active()
        )
        try:
            if params:
                # a leading VALUES block starts the plan at the bound terms; pyoxigraph applies
                # a substitution as a late filter (an entity page's query: 6 s against 0.002 s)
                check_projected(sparql, params)
                valued = leading_values(sparql, params)
                if valued is not None:
                    sparql = valued
                else:
                    kwargs["substitutions"] = {ox.Variable(k): _to_ox(v) for k, v in params.items()}
            return OxigraphResult(self._store.query(sparql, **kwargs))
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from None
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            # e.g. a parameter that the SELECT does not project (SEP-0007 substitution rule)
            raise QueryError(f"query failed: {exc}") from None

    def _current_quads(self) -> Iterator[Any]:
        for graph, physical in sorted(self._catalog.items()):
            target = ox.NamedNode(graph)
            for q in self._store.quads_for_pattern(None, None, None, ox.NamedNode(physical)):
                yield ox.Quad(q.subject, q.predicate, q.object, target)

    def dump(self, output: str | os.PathLike[str] | IO[bytes], fmt: str = "nquads") -> None:
        rdf_format = _rdf_format(fmt)
        if fmt in QUAD_FORMATS:
            ox.serialize(self._current_quads(), output, rdf_format)
        else:
            # Triple formats cannot carry graphs: write the union of all current graphs.
            result = self._store.query(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", default_graph=self._active()
            )
            result.serialize(output, rdf_format)

    def flush(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()

    def _table_sizes(self) -> dict[str, int]:
        """RocksDB's table files (``*.sst``) in the store directory, name -> bytes."""
        if self.path is None:
            return {}
        sizes = {}
        for entry in os.scandir(self.path):
            if entry.name.endswith(".sst"):
                try:
                    sizes[entry.name] = entry.stat().st_size
                except FileNotFoundError:
                    pass  # removed by a compaction meanwhile
        return sizes

    def compact(self) -> None:
        """Merge the store's table files (RocksDB's full compaction): after a bulk load, reads
        of an uncompacted store take about twice as long as of a fresh load of the same quads
        (docs/performance.md). Costs about 3 s per million quads."""
        if self.path is not None and not self.read_only:
            try:
                # A background compaction that the load started can leave new files behind
                # the first pass: run again until a pass changes nothing (the second is cheap).
                for _ in range(3):
                    before = set(self._table_sizes())
                    self._store.optimize()
                    if set(self._table_sizes()) == before:
                        break
            except OSError as exc:
                raise StoreError(f"cannot compact the store: {exc}", path=str(self.path)) from None

    def _compact_if_loaded(self) -> None:
        """Compact when this handle bulk-loaded a good share of the store's table files (a
        small load is not worth a rewrite of the whole store)."""
        if not self._bulk_loaded or self.path is None or self.read_only:
            return
        self._store.flush()
        sizes = self._table_sizes()
        new = sum(size for name, size in sizes.items() if name not in self._tables_at_open)
        if new and new >= COMPACT_SHARE * sum(sizes.values()):
            self.compact()
        self._bulk_loaded = False
        self._tables_at_open = set(self._table_sizes())

    def close(self) -> None:
        if getattr(self, "_store", None) is not None:
            self._compact_if_loaded()
            self.flush()
        self._store = None  # type: ignore[assignment]


# -- reading and writing RDF with pyoxigraph (the remote backend's too) ----------------------

#: Media types of answers a remote server may send -> (result kind, pyoxigraph format).
_ANSWER_TYPES: dict[str, tuple[str, Any]] = {
    "application/sparql-results+xml": ("results", ox.QueryResultsFormat.XML),
    "application/sparql-results+json": ("results", ox.QueryResultsFormat.JSON),
    "text/tab-separated-values": ("results", ox.QueryResultsFormat.TSV),
    "application/n-triples": ("graph", ox.RdfFormat.N_TRIPLES),
    "text/plain": ("graph", ox.RdfFormat.N_TRIPLES),
    "text/turtle": ("graph", ox.RdfFormat.TURTLE),
    "application/rdf+xml": ("graph", ox.RdfFormat.RDF_XML),
    "application/ld+json": ("graph", ox.RdfFormat.JSON_LD),
}


def parse_answer(stream: IO[bytes], media_type: str) -> QueryResult:
    """A query answer read lazily from ``stream`` (a remote server's response body)."""
    found = _ANSWER_TYPES.get(media_type.split(";")[0].strip().lower())
    if found is None:
        raise QueryError(f"the server answered in an unexpected format: {media_type or 'none'}")
    kind, fmt = found
    try:
        if kind == "results":
            return OxigraphResult(ox.parse_query_results(stream, fmt))
        return OxigraphResult(ox.parse(stream, fmt))
    except (SyntaxError, OSError) as exc:
        raise QueryError(f"cannot read the server's answer: {exc}") from None


def ntriples_batches(
    source: Source,
    fmt: str,
    *,
    base_iri: str | None = None,
    lenient: bool = False,
    batch: int = 50_000,
) -> Iterator[bytes]:
    """Any RDF ``source`` as N-Triples text, ``batch`` triples at a time (quads flattened):
    parsed here, so a syntax error is reported before the data reaches a server."""
    kwargs = _source_kwargs(source)
    if base_iri:
        kwargs["base_iri"] = base_iri
    pending: list[Any] = []
    try:
        for item in ox.parse(format=_rdf_format(fmt), lenient=lenient, **kwargs):
            pending.append(item.triple if isinstance(item, ox.Quad) else item)
            if len(pending) >= batch:
                yield ox.serialize(pending, format=ox.RdfFormat.N_TRIPLES) or b""
                pending = []
    except SyntaxError as exc:
        raise StoreError(f"cannot parse {fmt} data: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot read data: {exc}") from None
    if pending:
        yield ox.serialize(pending, format=ox.RdfFormat.N_TRIPLES) or b""


def count_statements(source: Source, fmt: str, *, base_iri: str | None = None) -> int:
    """How many triples (or quads) an RDF ``source`` states, a repeated one counted each time:
    parsed here, so a syntax error is reported with its line before anything is loaded."""
    kwargs = _source_kwargs(source)
    if base_iri:
        kwargs["base_iri"] = base_iri
    try:
        return sum(1 for _ in ox.parse(format=_rdf_format(fmt), **kwargs))
    except SyntaxError as exc:
        raise StoreError(f"cannot parse {fmt} data: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot read data: {exc}") from None


def ntriples_by_graph(source: Source, fmt: str) -> dict[str, bytes]:
    """A quad dump (N-Quads, TriG) as N-Triples text per named graph, read whole (so that a
    broken dump is refused before anything changes); default-graph triples are left out."""
    graphs: dict[str, list[Any]] = {}
    try:
        for q in ox.parse(format=_rdf_format(fmt), **_source_kwargs(source)):
            if isinstance(q, ox.Quad) and isinstance(q.graph_name, ox.NamedNode):
                graphs.setdefault(q.graph_name.value, []).append(q.triple)
    except SyntaxError as exc:
        raise StoreError(f"cannot parse {fmt} dump: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot read the dump: {exc}") from None
    return {g: ox.serialize(t, format=ox.RdfFormat.N_TRIPLES) or b"" for g, t in graphs.items()}


def split_nquads(block: bytes, *, first_line: int = 1) -> dict[str, bytes]:
    """N-Quads text as N-Triples text per named graph, blank node labels kept (so that a node
    stays one node within the file it is written to). StoreError, with the line (counted from
    ``first_line``), for a syntax error or a triple in the default graph."""
    graphs: dict[str, list[Any]] = {}
    line = first_line
    try:
        for q in ox.parse(block, format=ox.RdfFormat.N_QUADS, lenient=True):
            if not isinstance(q.graph_name, ox.NamedNode):
                # the parser does not say where; the lines before it are one per quad
                raise StoreError(
                    "a triple outside any named graph: a shard names the graph of every quad",
                    line=line + sum(len(t) for t in graphs.values()),
                )
            graphs.setdefault(q.graph_name.value, []).append(q.triple)
    except SyntaxError as exc:
        where = (exc.lineno or 1) + first_line - 1
        raise StoreError(f"cannot parse N-Quads: {exc.msg}", line=where) from None
    return {g: ox.serialize(t, format=ox.RdfFormat.N_TRIPLES) or b"" for g, t in graphs.items()}


def build_server_store(
    path: str | os.PathLike[str],
    parts: Mapping[str, Sequence[str | os.PathLike[str]]],
    *,
    replace: bool = True,
    on_file: Callable[[str | os.PathLike[str]], None] | None = None,
) -> dict[str, int]:
    """Load N-Triples files into the data directory of an Oxigraph server (what
    ``oxigraph serve --location path`` serves) while no server runs, with pyoxigraph's bulk
    loader; ``parts`` maps each dataset's graph to its files. The graphs are recorded as a
    :class:`~collectomics.store.remote.RemoteStore` records them (the catalog graph names each
    dataset's current physical version), so ``serve`` and ``query`` against the server see
    them. Each graph goes into a new physical version; all of them become current in one
    transaction, then the versions they replace are removed. A file that fails to load
    removes what this call loaded and raises StoreError naming it: the previous versions stay
    current. Without ``replace``, a graph already there is refused before anything is loaded.
    Returns the triples of each graph."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        store = ox.Store(os.fspath(path))
    except OSError as exc:
        hint = (
            "; it is in use: `oxigraph load` and this need the store offline, so stop "
            "`oxigraph serve` first"
            if "lock" in str(exc).lower()
            else ""
        )
        raise StoreError(
            f"cannot open the Oxigraph server's store: {exc}{hint}", store=os.fspath(path)
        ) from None
    error: StoreError | None = None
    try:
        return _fill_server_store(store, path, parts, replace, on_file)
    except StoreError as exc:
        # raised afresh below, without the traceback whose frames hold the store open
        error = StoreError(exc.message, **exc.context)
    finally:
        store.flush()
        del store  # closes it (RocksDB's lock): pyoxigraph has no close()
    raise error


@contextlib.contextmanager
def _file_input(file: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """pyoxigraph's input for a file: its path, or a gzip stream when it is gzipped (``.gz``),
    which pyoxigraph does not decompress itself."""
    if os.fspath(file).endswith(".gz"):
        with gzip.open(file, "rb") as handle:
            yield {"input": handle}
    else:
        yield {"path": os.fspath(file)}


def _fill_server_store(
    store: Any,
    path: str | os.PathLike[str],
    parts: Mapping[str, Sequence[str | os.PathLike[str]]],
    replace: bool,
    on_file: Callable[[str | os.PathLike[str]], None] | None,
) -> dict[str, int]:
    catalog, cur = ox.NamedNode(CATALOG), ox.NamedNode(CURRENT)
    current = {
        q.subject.value: q.object.value
        for q in store.quads_for_pattern(None, cur, None, catalog)
        if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode)
    }
    there = sorted(set(current) & set(parts))
    if there and not replace:
        raise StoreError(
            f"{len(there)} graph(s) of the load are already in the store ({', '.join(there[:3])}); "
            "pass --replace to replace them",
            store=os.fspath(path),
        )
    named = [g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)]
    physical: dict[str, str] = {}
    for graph in parts:
        if not _is_iri(graph):
            raise StoreError(f"not a valid IRI: {graph!r}")
        check_dataset_name(graph)
        versions = [g for g in named if is_version_of(g, graph)]
        for stale in versions:  # leftovers of an interrupted load
            if stale != current.get(graph):
                store.remove_graph(ox.NamedNode(stale))
        physical[graph] = next_physical(graph, current.get(graph), versions)
    try:
        for graph, files in parts.items():
            target = ox.NamedNode(physical[graph])
            for file in files:
                try:
                    with _file_input(file) as source:
                        store.bulk_load(
                            **source, format=ox.RdfFormat.N_TRIPLES, to_graph=target, lenient=True
                        )
                except SyntaxError as exc:
                    raise StoreError(
                        f"cannot load: {exc.msg}", file=os.fspath(file), line=exc.lineno
                    ) from None
                except OSError as exc:
                    raise StoreError(f"cannot load: {exc}", file=os.fspath(file)) from None
                if on_file:
                    on_file(file)
    except BaseException:
        for graph in parts:
            if physical[graph] != current.get(graph):
                store.remove_graph(ox.NamedNode(physical[graph]))
        store.flush()
        raise
    switch = [ox.Quad(ox.NamedNode(g), cur, ox.NamedNode(p), catalog) for g, p in physical.items()]
    with_old = [
        q for q in store.quads_for_pattern(None, cur, None, catalog) if q.subject.value in physical
    ]
    # one update, so one transaction: the moment the new versions become current
    store.update(
        "DELETE DATA { "
        + " ".join(
            f"GRAPH <{CATALOG}> {{ {q.subject} {q.predicate} {q.object} }}" for q in with_old
        )
        + " } ; INSERT DATA { "
        + " ".join(f"GRAPH <{CATALOG}> {{ {q.subject} {q.predicate} {q.object} }}" for q in switch)
        + " }"
    )
    for graph, old in current.items():
        if graph in physical and old != physical[graph]:
            store.remove_graph(ox.NamedNode(old))
    counts = {}
    for graph, version in physical.items():
        rows = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{version}> {{ ?s ?p ?o }} }}")
        counts[graph] = int(next(iter(rows))["n"].value)
    return counts


def convert_rdf(
    source: IO[bytes], from_fmt: str, output: str | os.PathLike[str] | IO[bytes], to_fmt: str
) -> None:
    """Rewrite RDF from one format to another, streaming; quads lose their graph when the
    target format has none."""
    parsed: Iterable[Any] = ox.parse(source, _rdf_format(from_fmt))
    if to_fmt not in QUAD_FORMATS:
        parsed = (q.triple if isinstance(q, ox.Quad) else q for q in parsed)
    target = os.fspath(output) if isinstance(output, os.PathLike) else output
    ox.serialize(parsed, target, _rdf_format(to_fmt))


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
