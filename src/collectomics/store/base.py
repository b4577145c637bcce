"""The store's interface and what both backends share.

:class:`Store` is what the library needs from a graph store and :class:`QueryResult` the answer
to a query; :mod:`collectomics.store.embedded` implements them over pyoxigraph and
:mod:`collectomics.store.remote` over a SPARQL 1.1 server. Here too: the formats data and answers
are written in, the names of the graphs the store keeps for itself (its catalog), and the rules
on dataset names and versions that both backends follow. No RDF library is imported here.
"""

from __future__ import annotations

import abc
import hashlib
import io
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from collectomics.errors import QueryError, StoreError
from collectomics.model import Term

#: Result formats for SELECT/ASK: our short name -> media type.
RESULT_MEDIA: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
#: RDF formats for CONSTRUCT/DESCRIBE and dumps: our short name -> media type.
RDF_MEDIA: dict[str, str] = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "nquads": "application/n-quads",
    "trig": "application/trig",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
#: The RDF formats that keep named graphs.
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

#: Data a store reads: RDF text, bytes, a file's path, or a binary stream.
Source = str | bytes | os.PathLike[str] | IO[bytes]

#: Graphs whose IRI starts with this belong to the store itself (its catalog of dataset
#: versions, and names the backends use internally), never to a dataset.
INTERNAL = "urn:collectomics:"
#: The graph that records, per logical graph, its current physical version: a remote store's
#: catalog, and the embedded store's before it named versions by empty marker graphs (read and
#: converted when such a store is opened for writing).
CATALOG = INTERNAL + "catalog"
#: The predicate of a catalog triple ``<logical> CURRENT <physical>``; with a ``/`` after it,
#: the prefix of the embedded store's marker graphs of current versions.
CURRENT = INTERNAL + "current"
#: Marks a physical graph that a switch replaced and that is to be deleted (a catalog triple's
#: predicate; with a ``/`` after it, the prefix of the embedded store's garbage markers).
GARBAGE = INTERNAL + "garbage"
#: An IRI no graph has: the dataset of a query that must see nothing.
EMPTY = INTERNAL + "empty"
#: The folder, inside an on-disk store's folder, that holds caches derived from it.
CACHE_DIR = "collectomics-cache"

_VERSION = re.compile(r"^(?P<logical>.+)/v(?P<n>\d+)$")


def rdf_format_for(path: str | os.PathLike[str]) -> str | None:
    """Our short RDF format name for a file name, from its extension (None if unknown)."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


def is_remote(location: object) -> bool:
    """True when a store setting names a remote SPARQL server rather than a directory."""
    return isinstance(location, str) and location.startswith(("sparql+http://", "sparql+https://"))


def is_internal_graph(name: str) -> bool:
    """True for the graphs that hold a store's catalog (the catalog graph, the embedded store's
    marker graphs), never data."""
    return name.startswith((CATALOG, CURRENT + "/", GARBAGE + "/"))


# -- dataset names and versions -------------------------------------------------------------------


def check_dataset_name(graph: str) -> None:
    """StoreError for a name the store keeps for itself: a dataset's later versions are named
    ``{graph}/vN``, so a dataset named ``d/v1`` would be read as a version of ``d``, and
    replacing or removing ``d`` would empty it."""
    if _VERSION.match(graph):
        raise StoreError(
            "a graph name ending in /v and a number is how the store names a dataset's later "
            "versions: name the dataset otherwise",
            graph=graph,
        )


def logical_of(physical: str) -> str | None:
    """The dataset a later version ``{graph}/vN`` belongs to; None for any other name."""
    m = _VERSION.match(physical)
    return m.group("logical") if m else None


def is_version_of(name: str, graph: str) -> bool:
    """True when the physical graph ``name`` holds some version of ``graph``."""
    return name == graph or logical_of(name) == graph


def next_physical(graph: str, current: str | None, versions: Sequence[str]) -> str:
    """The physical graph the next version of ``graph`` goes into, given its ``current``
    version (None: not loaded) and the ``versions`` the store holds: ``graph`` itself the first
    time, then ``{graph}/vN`` above every version seen."""
    if current is None:
        return graph
    numbers = [int(m.group("n")) for v in versions if (m := _VERSION.match(v))]
    if (m := _VERSION.match(current)) and m.group("logical") == graph:
        numbers.append(int(m.group("n")))
    return f"{graph}/v{max(numbers, default=1) + 1}"


def check_count(graph: str, count: int, expected: Mapping[str, int] | None) -> None:
    """StoreError when ``graph`` was loaded with another number of triples than ``expected``
    says (graphs it does not name are not checked)."""
    if expected is not None and graph in expected and expected[graph] != count:
        raise StoreError(
            f"loaded {count} triples where {expected[graph]} were expected", graph=graph
        )


# -- answers ---------------------------------------------------------------------------------------

_TSV_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_TSV_CHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _tsv_unescape(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2)
    if code:
        return chr(int(code, 16))
    return _TSV_CHARS.get(m.group(3), m.group(0))


def tsv_term(field: str) -> str:
    """One term of a SPARQL TSV result (Turtle syntax) as a plain string: ``<iri>`` -> its
    text, ``"lexical"@lang`` or ``"lexical"^^<datatype>`` -> the unescaped lexical form; a
    number, a boolean, a blank node (``_:id``) or '' (unbound) as written."""
    head = field[:1]
    if head == "<":
        return field[1:-1]
    if head == '"':
        # the closing quote is the last one: a language tag or a datatype IRI holds none
        body = field[1 : field.rindex('"')]
        return _TSV_ESCAPE.sub(_tsv_unescape, body) if "\\" in body else body
    return field


def tsv_row(line: str) -> list[str]:
    """One line of a SPARQL TSV result (without its newline) as plain strings (see
    :func:`tsv_term`); a tab inside a literal is escaped there, and no IRI holds one."""
    fields = line.split("\t")
    if '"' in line:
        return [tsv_term(f) for f in fields]
    return [f[1:-1] if f[:1] == "<" else f for f in fields]  # IRIs, numbers: the common case


class QueryResult(abc.ABC):
    """The answer to a query: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT).

    ``kind`` is ``select``, ``ask`` or ``graph``; ``variables`` a SELECT's projection."""

    kind: str
    variables: list[str]

    def media_types(self) -> dict[str, str]:
        """The formats this result can be written in: short name -> media type."""
        return RDF_MEDIA if self.kind == "graph" else RESULT_MEDIA

    def check_format(self, fmt: str) -> None:
        """QueryError when this result cannot be written in ``fmt``."""
        if fmt not in self.media_types():
            raise QueryError(
                f"format {fmt!r} does not fit a {self.kind.upper()} result",
                allowed=", ".join(self.media_types()),
            )

    @property
    @abc.abstractmethod
    def boolean(self) -> bool:
        """An ASK query's answer (QueryError for another form)."""

    @abc.abstractmethod
    def serialize(self, fmt: str, output: IO[bytes] | None = None) -> bytes | None:
        """Write the result in ``fmt`` (one of :meth:`media_types`) to ``output``, or return
        it as bytes when ``output`` is None."""

    @abc.abstractmethod
    def rows(self) -> Iterator[dict[str, Term]]:
        """SELECT solutions as dicts of plain terms (unbound variables left out)."""

    @abc.abstractmethod
    def triples(self) -> Iterator[tuple[Term, Term, Term]]:
        """CONSTRUCT/DESCRIBE triples as plain terms."""

    def table(self) -> Iterator[list[str]]:
        """SELECT solutions as lists of plain strings in projection order: an IRI's text, a
        literal's lexical form, ``_:id`` for a blank node, '' when unbound.

        Written by the result's TSV serializer (pyoxigraph's: in Rust, without the GIL, to a
        temporary file, as its results may not cross threads) and read back by :func:`tsv_row`,
        which decodes every term (unlike CSV, where pyoxigraph leaves an IRI holding a comma
        unquoted). Far cheaper per row than :meth:`rows`."""
        if self.kind != "select":
            raise QueryError(f"a {self.kind.upper()} result has no rows")
        with tempfile.TemporaryFile() as raw:
            self.serialize("tsv", raw)
            raw.seek(0)
            with io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as handle:
                header = next(handle, "")
                width = header.count("\t") + 1 if header.strip() else 0
                for number, line in enumerate(handle, start=2):
                    row = tsv_row(line[:-1] if line.endswith("\n") else line)
                    if len(row) != width:
                        raise QueryError(
                            f"cannot read the answer: line {number} has {len(row)} values "
                            f"for {width} variables"
                        )
                    yield row


# -- the interface -------------------------------------------------------------------------------


class Store(abc.ABC):
    """What the library needs from a graph store.

    Graphs are named by their logical IRI (``{base}graph/{dataset}``). A store may keep a
    dataset's current version under another physical name; queries see only current versions,
    so a half-loaded or superseded version is never visible.
    """

    #: True for a handle that only reads: a snapshot as of its opening (embedded), or a reader
    #: that rereads the catalog now and then (remote). Writes through it raise StoreError.
    read_only: bool = False

    @property
    @abc.abstractmethod
    def location(self) -> str | None:
        """What :func:`collectomics.store.open_store` opens to reach this store from another
        process: a folder, a ``sparql+http(s)://`` URL; None for a store in memory."""

    @property
    @abc.abstractmethod
    def cache_dir(self) -> Path | None:
        """The folder for caches derived from this store (indexes tied to :meth:`version`):
        inside an on-disk store's folder; None for a store in memory or on a server, whose
        caches stay in the process that computed them."""

    def version(self) -> str:
        """A token that changes when what this handle reads may have: the current physical
        version of every graph (a replace makes a new one), and for a writable handle, whose
        graphs also change in place (``add``, ``update``), the number of quads."""
        state: list[object] = [[g, self.physical_graph(g) or ""] for g in self.graphs()]
        if not self.read_only:
            state.append(self.count())
        text = json.dumps(state, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def replace_graph(self, graph: str, source: Source, fmt: str) -> int:
        """Atomically replace the content of ``graph`` with ``source``; returns its triple count.

        Triples go into ``graph``; a quad format is flattened into ``graph``.
        """
        return self.replace_graph_parts(graph, [(source, fmt)])

    @abc.abstractmethod
    def replace_graph_parts(
        self,
        graph: str,
        parts: Sequence[tuple[Source, str]],
        *,
        base_iri: str | None = None,
        lenient: bool = False,
    ) -> int:
        """Atomically replace ``graph`` with the union of several (source, format) parts.

        Relative IRIs in the parts resolve against ``base_iri``. Nothing visible changes if any
        part fails to parse. ``lenient`` skips IRI validation (for trusted, generated data).
        Returns the graph's triple count.
        """

    @abc.abstractmethod
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
        """Atomically replace ``graph`` with what ``produce`` writes, loading while it writes.

        ``produce`` runs in another thread and writes serialized data to the stream it is given;
        an exception it raises aborts the load, leaves the old graph in place and is re-raised.
        ``extra`` parts (source, format) join the same version, validated strictly.

        Nothing is counted: a count is a scan of the whole graph (~0.35 us a triple, single
        threaded, 2 s for 5.5 million), so callers that need what is stored ask :meth:`count`.
        """

    def replace_graphs_stream(
        self,
        graphs: Sequence[tuple[str, Callable[[IO[bytes]], None]]],
        fmt: str = "nquads",
        *,
        remove_others: bool = False,
        expected: Mapping[str, int] | None = None,
    ) -> dict[str, int]:
        """Replace several graphs, each with what its ``produce`` writes (in order), and with
        ``remove_others`` remove every graph not named; returns the triples loaded per graph.

        A count that differs from ``expected`` raises StoreError. This default does it one
        graph at a time (each replaced atomically); stores that can stage versions override it
        so that readers see all old graphs or all new ones."""
        counts: dict[str, int] = {}
        for graph, produce in graphs:
            self.replace_graph_stream(graph, produce, fmt)
            counts[graph] = self.count(graph)
            check_count(graph, counts[graph], expected)
        if remove_others:
            for graph in self.graphs():
                if graph not in counts:
                    self.remove_graph(graph)
        return counts

    @abc.abstractmethod
    def add(self, graph: str, source: Source, fmt: str) -> None:
        """Add data to ``graph`` (created if new) in one transaction."""

    @abc.abstractmethod
    def remove_graph(self, graph: str) -> bool:
        """Remove a named graph and its triples; False if it did not exist."""

    @abc.abstractmethod
    def graphs(self) -> list[str]:
        """Current named graphs (logical names), sorted."""

    @abc.abstractmethod
    def physical_graph(self, graph: str) -> str | None:
        """The IRI under which ``graph``'s current version is stored (what ``GRAPH ?g`` shows)."""

    @abc.abstractmethod
    def count(self, graph: str | None = None) -> int:
        """Triples in one graph, or quads in all current graphs."""

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
        """Run a SPARQL query with ``params`` bound as RDF terms (never spliced into the text).

        The default graph is the union of the current graphs unless ``default_graphs`` (logical
        names) says otherwise; ``GRAPH`` sees the current graphs or ``named_graphs``.
        """

    @abc.abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL update in one transaction."""

    @abc.abstractmethod
    def dump(self, output: str | os.PathLike[str] | IO[bytes], fmt: str = "nquads") -> None:
        """Write the current graphs under their logical names: N-Quads or TriG keep the graphs;
        triple formats merge them."""

    @abc.abstractmethod
    def restore(self, source: Source, fmt: str = "nquads") -> None:
        """Replace the whole store with a dump."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store (flush and close files)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- loading while a producer writes ---------------------------------------------------------------


def _widen_pipe(fd: int) -> None:
    """Give a pipe a 1 MiB buffer where Linux allows it (64 KiB by default): the loader then
    wakes per megabyte, not per 64 KiB, of the gigabyte an ingest of 100,000 records writes."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # another OS, or a lower pipe-max-size: the default buffer works, only slower


def start_producer(
    produce: Callable[[IO[bytes]], None],
) -> tuple[int, threading.Thread, list[BaseException]]:
    """Run ``produce`` in a thread that writes into a pipe, for a loader that reads it as it is
    written. Returns the pipe's read end (the caller closes it), the thread, and a list that
    receives the thread's exception (a loader that stops first is not one)."""
    failure: list[BaseException] = []
    read_fd, write_fd = os.pipe()
    _widen_pipe(write_fd)

    def run() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as out:
                produce(out)
        except BrokenPipeError:
            pass  # the loader stopped first; its own error is reported
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    producer = threading.Thread(target=run, name="collectomics-mapping", daemon=True)
    producer.start()
    return read_fd, producer, failure
