"""A store on a remote SPARQL server: SPARQL 1.1 Query and Update over HTTP, and the Graph Store
HTTP Protocol for bulk loads.

:class:`RemoteStore` keeps :class:`~collectomics.store.embedded.OxigraphStore`'s semantics with the
server's own graphs: a dataset's current version is recorded in the catalog graph, a replace
loads a fresh physical graph (Graph Store POSTs of N-Triples chunks), points the catalog at it
in one SPARQL update, then drops the old version; every query names the current versions as its
dataset (``default-graph-uri`` / ``named-graph-uri``), so a half-loaded version is never seen.

Tested against ``oxigraph serve`` and Virtuoso open source 7.2, whose quirks are handled here:
queries go as form POSTs (a direct POST can hang), a SELECT cut at its row cap
(``ResultSetMaxRows``, announced by ``X-SPARQL-MaxRows``) is an error (internal reads page with
LIMIT/OFFSET), answers are read as SPARQL XML and N-Triples (its CSV and TSV are not standard),
its ``nodeID://`` blank node labels are rewritten, every query names its dataset (its
default graph is otherwise the union of all graphs, its own system graphs included), and a
``GRAPH <iri>`` naming a graph outside that dataset names an empty graph instead (Virtuoso
answers such a pattern with one empty solution: an ASK is true, a COUNT is 1).
"""

from __future__ import annotations

import gzip
import io
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from collectomics.errors import QueryError, StoreError
from collectomics.model import IRI, BNode, Literal, Term
from collectomics.store.base import (
    CATALOG,
    CURRENT,
    EMPTY,
    QUAD_FORMATS,
    QueryResult,
    Source,
    Store,
    check_dataset_name,
    is_version_of,
    next_physical,
    start_producer,
)
from collectomics.store.embedded import (
    OxigraphStore,
    convert_rdf,
    ntriples_batches,
    ntriples_by_graph,
    parse_answer,
)
from collectomics.store.sparqltext import check_projected, read_query, tokens

if TYPE_CHECKING:
    # Imported where it is used instead: requests costs ~110 ms of CPU at start-up, which every
    # command would pay (collectomics.store imports this module) for a backend few stores use.
    import requests

#: Lines (triples) per Graph Store POST.
CHUNK_LINES = 50_000
#: Seconds a read-only handle trusts its copy of the catalog (``catalog_ttl``).
CATALOG_TTL = 1.0
#: Seconds a replaced version stays on the server after the switch (``retire_after``): readers
#: that still hold the previous catalog (up to CATALOG_TTL old) keep reading it meanwhile.
RETIRE_AFTER = 2 * CATALOG_TTL
#: What to ask for, by query form: Virtuoso heeds only the first media type of an Accept header.
_ACCEPT = {
    "SELECT": "application/sparql-results+xml",
    "ASK": "application/sparql-results+xml",
    "CONSTRUCT": "application/n-triples",
    "DESCRIBE": "application/n-triples",
}
_EXCERPT = 300


class _Refused(QueryError):
    """The server answered 400 to a query or an update (a syntax error, or something it does
    not support)."""


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def _n3(term: Term) -> str:
    """A term in SPARQL/N-Triples syntax, escaped (what binds a parameter)."""
    if isinstance(term, (IRI, Literal)):
        return term.n3()
    if isinstance(term, BNode):
        raise QueryError("a blank node cannot be a parameter of a query to a remote store")
    if isinstance(term, str):
        return IRI(term).n3()
    raise QueryError(f"not an RDF term: {term!r}")


def _iri(value: str) -> str:
    """``<value>`` for an IRI that goes into an update's text: refused if it could escape."""
    if not value or re.search(r'[\x00-\x20<>"{}|^`\\]', value):
        raise StoreError(f"not a valid IRI: {value!r}")
    return f"<{value}>"


# -- binding parameters --------------------------------------------------------------------------


def query_form(sparql: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the query's form, read as the endpoint reads it."""
    return read_query(sparql).form


def outside_graphs(sparql: str, named: Sequence[str]) -> str:
    """``sparql`` with each ``GRAPH <iri>`` (or ``GRAPH prefix:name``) whose IRI is not one of
    ``named`` turned into ``GRAPH <EMPTY>``: the pattern matches nothing, as SPARQL says it must
    when the graph is not in the query's dataset. (Virtuoso answers such a pattern with one
    empty solution, which makes an ASK true; its answer for a graph in the dataset that does not
    exist is right, so ``EMPTY`` must be among the named graphs sent.)"""
    toks = list(tokens(sparql))
    prefixes: dict[str, str] = {}
    cuts: list[tuple[int, int]] = []
    allowed = set(named)
    for i, tok in enumerate(toks):
        word = tok.value.upper() if tok.kind == "word" else ""
        if word == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].value.rstrip(":")] = toks[i + 2].value[1:-1]
        if word != "GRAPH" or i + 1 >= len(toks):
            continue
        target = toks[i + 1]
        if target.kind == "iri":
            iri = target.value[1:-1]
        elif target.kind == "word" and ":" in target.value and target.value[0] not in "?$":
            prefix, _, local = target.value.partition(":")
            if prefix not in prefixes:
                continue
            iri = prefixes[prefix] + local
        else:
            continue  # a variable, or something this does not read: left as it is
        if iri not in allowed:
            cuts.append((target.start, target.end))
    for start, end in reversed(cuts):
        sparql = sparql[:start] + f"<{EMPTY}>" + sparql[end:]
    return sparql


def local_syntax_error(sparql: str, *, update: bool = False) -> QueryError | None:
    """The error an embedded store gives for ``sparql`` when it is not valid SPARQL (with the
    parser's line and column), else None. Run on an empty in-memory store, so nothing is read
    or written; queries that could reach out (SERVICE, LOAD) are not tried."""
    if any(t.kind == "word" and t.value.upper() in ("SERVICE", "LOAD") for t in tokens(sparql)):
        return None
    scratch = OxigraphStore()
    try:
        if update:
            scratch.update(sparql)
        else:
            scratch.query(sparql, default_graph_union=False)  # parsed now, evaluated lazily
    except QueryError as exc:
        return exc if "syntax error" in str(exc) else None
    except Exception:  # noqa: BLE001 - anything else: the server's message stands
        return None
    finally:
        scratch.close()
    return None


def bind(sparql: str, params: Mapping[str, Term]) -> str:
    """``sparql`` with ``params`` bound as terms: a ``VALUES`` block opens the query's WHERE
    group. The values are escaped terms, never text spliced into the query; as with
    pyoxigraph's substitutions, a SELECT must project every bound variable
    (:func:`collectomics.store.sparqltext.unprojected`, the embedded store's rule too)."""
    query = read_query(sparql)
    where_open = -1
    previous = ""
    for tok in tokens(sparql, query.form_at) if query.form else ():
        if tok.kind == "brace" and tok.value == "{":
            if query.form != "CONSTRUCT" or previous == "WHERE":
                where_open = tok.end
                break
        previous = tok.value.upper()
    if where_open < 0:
        raise QueryError("cannot bind parameters: no query form and WHERE group found")
    check_projected(sparql, params)
    names = sorted(params)
    values = " ".join(_n3(params[name]) for name in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }} "
    return sparql[:where_open] + block + sparql[where_open:]


# -- reading answers -----------------------------------------------------------------------------


class _Body(io.RawIOBase):
    """A response body as a file for pyoxigraph's parsers: transport errors become OSError, and
    Virtuoso's ``nodeID://`` blank node labels (not valid labels) lose that prefix."""

    _FIX = (b"<bnode>nodeID://", b"<bnode>")

    def __init__(self, response: requests.Response, fix_bnodes: bool) -> None:
        import requests

        self.broken = (requests.RequestException, OSError)
        self.response = response
        self.chunks = response.iter_content(65536)
        self.fix = fix_bnodes
        self.pending = b""
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            try:
                chunk = next(self.chunks, None)
            except self.broken as exc:
                raise OSError(f"the connection to the server broke: {exc}") from None
            if chunk is None:
                self.pending, self.tail = self.tail, b""
                if not self.pending:
                    return 0
                break
            data = self.tail + chunk
            if self.fix:
                data = data.replace(*self._FIX)
                keep = len(self._FIX[0]) - 1
                self.pending, self.tail = data[:-keep], data[-keep:]
            else:
                self.pending = data
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.response.close()
        super().close()


class _CutResult(QueryResult):
    """An answer the server cut at its row cap: its shape is known, reading it is an error."""

    def __init__(self, result: QueryResult, cap: str) -> None:
        self.kind, self.variables = result.kind, result.variables
        self._result = result  # its response stays open until this answer goes
        self.cap = cap

    def _refuse(self) -> QueryError:
        return QueryError(
            f"the server cut the answer at its row cap of {self.cap} rows (Virtuoso's "
            "ResultSetMaxRows): page with LIMIT/OFFSET or raise the cap"
        )

    @property
    def boolean(self) -> bool:
        raise self._refuse()

    def serialize(self, fmt: str, output: IO[bytes] | None = None) -> bytes | None:
        raise self._refuse()

    def rows(self) -> Iterator[dict[str, Term]]:
        raise self._refuse()

    def triples(self) -> Iterator[tuple[Term, Term, Term]]:
        raise self._refuse()


class RemoteStore(Store):
    """A store on a SPARQL 1.1 server: ``query_url``, ``update_url`` and ``graph_store_url``
    (SPARQL 1.1 Graph Store HTTP Protocol, for bulk loads). ``timeout`` bounds the wait for
    each answer's next bytes (None: no limit).

    A replaced version is dropped ``retire_after`` seconds after the switch, not at once:
    read-only handles (``serve``, ``query``) reread the catalog every ``catalog_ttl`` seconds,
    and one that still names the old version would otherwise query a graph that is gone (a
    dataset missing from its answers). ``close`` waits for the drops that are due."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str = "",
        graph_store_url: str = "",
        read_only: bool = False,
        timeout: float | None = None,
        chunk_lines: int = CHUNK_LINES,
        catalog_ttl: float = CATALOG_TTL,
        retire_after: float = RETIRE_AFTER,
    ) -> None:
        self.query_url = query_url
        self.update_url = update_url or _beside(query_url, "update") or query_url
        self.graph_store_url = graph_store_url or _beside(query_url, "store")
        self.read_only = read_only
        self.timeout = timeout
        self.chunk_lines = chunk_lines
        self.page_rows: int | None = None  # a row cap the server announced (Virtuoso)
        self.server = ""  # the Server header of its last answer
        #: Seconds a read-only handle trusts its copy of the catalog.
        self.catalog_ttl = catalog_ttl
        self.retire_after = retire_after
        #: Replaced versions not dropped yet: (when, logical graph, physical graph).
        self._retiring: list[tuple[float, str, str]] = []
        self._read_at = 0.0
        import requests

        self.session = requests.Session()
        self._catalog: dict[str, str] = {}
        self._read_catalog()

    @classmethod
    def from_location(
        cls, location: str, *, update_url: str = "", graph_store_url: str = "", **kwargs: Any
    ) -> RemoteStore:
        """The store that a ``sparql+http(s)://HOST:PORT/PATH`` setting names."""
        url = location.removeprefix("sparql+")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise StoreError(
                "a remote store is named sparql+http://HOST:PORT/query", store=location
            )
        return cls(url, update_url=update_url, graph_store_url=graph_store_url, **kwargs)

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r})"

    @property
    def location(self) -> str:
        return "sparql+" + self.query_url

    @property
    def cache_dir(self) -> None:
        return None

    # -- HTTP -------------------------------------------------------------------------------

    def _post(
        self,
        url: str,
        *,
        what: str,
        error: type[StoreError] | type[QueryError] = StoreError,
        stream: bool = False,
        retry: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """POST to the server. With ``retry`` (queries, which change nothing), a request that
        the server dropped without an answer is sent once more: a server may close a kept-alive
        connection just as it is reused (Virtuoso does), and requests does not resend a POST."""
        import requests

        try:
            try:
                response = self.session.post(
                    url, stream=stream, timeout=(10, self.timeout), **kwargs
                )
            except requests.ConnectionError as exc:
                if not retry or "refused" in str(exc).lower():
                    raise
                response = self.session.post(
                    url, stream=stream, timeout=(10, self.timeout), **kwargs
                )
        except requests.ConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else _excerpt(str(exc))
            raise StoreError(f"cannot reach the SPARQL server at {url}: {reason}") from None
        except requests.Timeout:
            raise StoreError(
                f"the SPARQL server at {url} did not answer within {self.timeout:g} s"
            ) from None
        except requests.RequestException as exc:
            raise StoreError(f"cannot talk to the SPARQL server at {url}: {exc}") from None
        if response.status_code >= 400:
            body = _excerpt(response.text)
            response.close()
            status = response.status_code
            if status == 400 and error is QueryError:
                raise _Refused(
                    f"the server refused the {what} (HTTP 400; a syntax error or something "
                    f"it does not support): {body}"
                )
            if status == 400 and what.startswith("load"):
                raise StoreError(f"cannot parse the data: the server refused it: {body}")
            if status in {401, 403}:
                raise StoreError(
                    f"the SPARQL server at {url} refused the {what} (HTTP {status}): {body}; "
                    "does this account have write access (for Virtuoso: GRANT SPARQL_UPDATE)?"
                )
            raise error(f"the SPARQL server at {url} failed the {what} (HTTP {status}): {body}")
        return response

    def _select(
        self, sparql: str, dataset: Sequence[tuple[str, str]] = (), *, paged: bool = False
    ) -> QueryResult:
        """A query as a form POST (Virtuoso can hang on a direct POST), answer read lazily.

        An answer cut at the server's row cap can still tell its variables, but its rows are
        an error; a ``paged`` query asks for at most the cap, so its answer is whole."""
        response = self._post(
            self.query_url,
            what="query",
            error=QueryError,
            stream=True,
            retry=True,
            data=[("query", sparql), *dataset],
            headers={"Accept": _ACCEPT.get(query_form(sparql) or "", _ACCEPT["SELECT"])},
        )
        self.server = response.headers.get("Server", "")
        media = response.headers.get("Content-Type", "")
        fix = media.startswith("application/sparql-results+xml")
        result = parse_answer(io.BufferedReader(_Body(response, fix), 1 << 16), media)
        capped = response.headers.get("X-SPARQL-MaxRows")
        if capped and not paged:
            self.page_rows = int(capped) if capped.isdigit() else 10_000
            return _CutResult(result, capped)
        return result

    def _rows(self, sparql: str) -> Iterator[dict[str, Term]]:
        """All rows of an internal SELECT over the whole server, paged with LIMIT/OFFSET when
        the server caps answers (``sparql`` must end with its WHERE group)."""
        if self.page_rows is None:
            result = self._select(sparql)
            if not isinstance(result, _CutResult):
                yield from result.rows()
                return
        offset = 0
        while True:
            query = f"{sparql} LIMIT {self.page_rows} OFFSET {offset}"
            page = list(self._select(query, paged=True).rows())
            yield from page
            if len(page) < (self.page_rows or 0):
                return
            offset += len(page)

    def _update(self, sparql: str, *, error: type[StoreError] | type[QueryError]) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only", store=self.query_url)
        self._post(self.update_url, what="update", error=error, data={"update": sparql}).close()

    # -- the catalog ----------------------------------------------------------------------

    def _read_catalog(self) -> None:
        rows = self._rows(f"SELECT ?g ?p WHERE {{ GRAPH <{CATALOG}> {{ ?g <{CURRENT}> ?p }} }}")
        self._catalog = {str(r["g"]): str(r["p"]) for r in rows if "g" in r and "p" in r}
        self._read_at = time.monotonic()

    def _fresh(self) -> None:
        """A read-only handle sees other writers: it rereads the catalog when it is older than
        ``catalog_ttl`` seconds (a writer's own catalog is always current)."""
        if self.read_only and time.monotonic() - self._read_at >= self.catalog_ttl:
            self._read_catalog()

    def _set_current(self, graph: str, physical: str) -> None:
        # One request, so one transaction: the moment a load becomes visible.
        g, c, cur = _iri(graph), _iri(CATALOG), _iri(CURRENT)
        self._update(
            f"DELETE WHERE {{ GRAPH {c} {{ {g} {cur} ?old }} }} ;\n"
            f"INSERT DATA {{ GRAPH {c} {{ {g} {cur} {_iri(physical)} }} }}",
            error=StoreError,
        )
        self._catalog[graph] = physical

    def _set_current_many(self, physical: Mapping[str, str]) -> None:
        """Point several graphs at their new versions in one request (one transaction)."""
        c, cur = _iri(CATALOG), _iri(CURRENT)
        steps = []
        for graph, version in physical.items():
            g = _iri(graph)
            steps.append(f"DELETE WHERE {{ GRAPH {c} {{ {g} {cur} ?old }} }}")
            steps.append(f"INSERT DATA {{ GRAPH {c} {{ {g} {cur} {_iri(version)} }} }}")
        if steps:
            self._update(" ;\n".join(steps), error=StoreError)
        self._catalog.update(physical)

    def _drop(self, physical: str) -> None:
        self._update(f"DROP SILENT GRAPH {_iri(physical)}", error=StoreError)

    def _named_graphs(self, graph: str) -> list[str]:
        """Named graphs that hold some version of ``graph``. ``GRAPH ?g {}`` lists graphs
        cheaply where it is supported (Oxigraph); Virtuoso answers it with one empty row, and
        gets the scan instead."""
        rows = list(self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }").rows())
        if any("g" not in r for r in rows):
            prefix = graph + "/v"
            rows = list(
                self._rows(
                    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                    f"FILTER(?g = {_iri(graph)} || STRSTARTS(STR(?g), {Literal(prefix).n3()})) }}"
                )
            )
        names = [str(r["g"]) for r in rows if isinstance(r.get("g"), IRI)]
        return [g for g in names if is_version_of(g, graph)]

    def _new_physical(self, graph: str) -> str:
        _iri(graph)
        check_dataset_name(graph)
        if self.read_only:
            raise StoreError("this store was opened read-only", store=self.query_url)
        self._read_catalog()
        current = self._catalog.get(graph)
        versions = self._named_graphs(graph)
        self._forget_retiring(graph)  # dropped here with the other stale versions
        for stale in versions:  # leftovers of an interrupted load, or a retiring version
            if stale != current:
                self._drop(stale)
        return next_physical(graph, current, versions)

    def _activate(self, graph: str, physical: str) -> None:
        old = self._catalog.get(graph)
        self._set_current(graph, physical)
        if old and old != physical:
            self._retire(graph, old)
        self._drop_retired()

    def _retire(self, graph: str, physical: str) -> None:
        """Drop ``physical`` (a replaced version of ``graph``) once readers cannot name it."""
        if self.retire_after <= 0:
            self._drop(physical)
            return
        self._retiring.append((time.monotonic() + self.retire_after, graph, physical))

    def _drop_retired(self, *, wait: bool = False) -> None:
        """Drop the retiring versions that are due (all of them, waiting, with ``wait``)."""
        while self._retiring:
            when, _graph, physical = self._retiring[0]
            delay = when - time.monotonic()
            if delay > 0 and not wait:
                return
            if delay > 0:
                time.sleep(delay)
            self._retiring.pop(0)
            self._drop_quietly(physical)

    def _forget_retiring(self, graph: str) -> None:
        """The caller drops every version of ``graph`` but the current one itself."""
        self._retiring = [r for r in self._retiring if r[1] != graph]

    # -- loading --------------------------------------------------------------------------

    def _post_chunk(self, physical: str, data: bytes) -> None:
        if not self.graph_store_url:
            raise StoreError(
                "no Graph Store endpoint: set store_graph_store_url (for Virtuoso, "
                "http://HOST:PORT/sparql-graph-crud)",
                store=self.query_url,
            )
        params = {"graph": physical}
        if self.server.lower().startswith("oxigraph"):
            # Its bulk loader, without a transaction: about twice as fast, and a chunk that fails
            # half-way is harmless here (it goes into a version no query sees, dropped on error).
            params["no_transaction"] = ""
        self._post(
            self.graph_store_url,
            what="load (Graph Store POST)",
            params=params,
            data=data,
            headers={"Content-Type": "application/n-triples"},
        ).close()

    def _upload(self, physical: str, batches: Iterable[bytes]) -> None:
        """Send N-Triples text in POSTs of ``chunk_lines`` lines, the next chunk read while
        the last one is sent. Triples with blank nodes go together in the last POST: a blank
        node label is local to one request, so splitting them would split the node."""
        outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        failure: list[BaseException] = []

        def send() -> None:
            while (data := outbox.get()) is not None:
                if not failure:
                    try:
                        self._post_chunk(physical, data)
                    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
                        failure.append(exc)

        sender = threading.Thread(target=send, name="collectomics-upload", daemon=True)
        sender.start()
        try:
            lines: list[bytes] = []
            blank: list[bytes] = []
            for text in batches:
                for line in text.splitlines(keepends=True):
                    if b"_:" in line:
                        blank.append(line)
                    elif line.strip():
                        lines.append(line)
                        if len(lines) >= self.chunk_lines:
                            outbox.put(b"".join(lines))
                            lines = []
                if failure:
                    break
            if not failure:
                if lines:
                    outbox.put(b"".join(lines))
                if blank:
                    outbox.put(b"".join(blank))
        finally:
            outbox.put(None)
            sender.join()
        if failure:
            raise failure[0]

    def _batches(
        self, source: Source, fmt: str, base_iri: str | None, lenient: bool
    ) -> Iterable[bytes]:
        if fmt == "ntriples" and lenient:  # trusted, generated N-Triples: sent as they are
            return _raw_lines(source)
        return ntriples_batches(source, fmt, base_iri=base_iri, lenient=lenient)

    def _load_parts(
        self,
        physical: str,
        parts: Sequence[tuple[Source, str]],
        base_iri: str | None,
        lenient: bool,
    ) -> None:
        try:
            for source, fmt in parts:
                self._upload(physical, self._batches(source, fmt, base_iri, lenient))
        except BaseException:
            self._drop_quietly(physical)
            raise

    def post_files(self, physical: str, files: Sequence[Path]) -> None:
        """Send trusted N-Triples files, unparsed, into the physical graph ``physical`` with
        Graph Store POSTs (the ``graph-store`` path of :func:`collectomics.store.bulkload.load_shards`,
        inside :meth:`replace_graphs_bulk`)."""
        for file in files:
            self._upload(physical, _raw_lines(file))

    def _drop_quietly(self, physical: str) -> None:
        try:
            self._drop(physical)
        except StoreError:
            pass  # unreachable now: the next load of this dataset removes it

    def replace_graph_parts(
        self,
        graph: str,
        parts: Sequence[tuple[Source, str]],
        *,
        base_iri: str | None = None,
        lenient: bool = False,
    ) -> int:
        physical = self._new_physical(graph)
        self._load_parts(physical, parts, base_iri, lenient)
        self._activate(graph, physical)
        return self.count(graph)

    def replace_graphs_bulk(
        self,
        parts: Mapping[str, Sequence[Path]],
        load: Callable[[list[tuple[Path, str]]], None],
    ) -> dict[str, int]:
        """Replace several graphs with N-Triples files that a server-side bulk loader reads:
        ``parts`` maps each graph to its files, and ``load`` is given (file, physical graph)
        pairs to load (the files must be where the server can read them). Each graph goes into
        a new physical version; all become current in one update, so a query sees every old
        version or every new one. If ``load`` raises, the new versions are dropped and the old
        ones stay current. Returns the triples of each graph."""
        physical = {graph: self._new_physical(graph) for graph in parts}
        try:
            load([(file, physical[graph]) for graph, files in parts.items() for file in files])
        except BaseException:
            for version in physical.values():
                self._drop_quietly(version)
            raise
        old = dict(self._catalog)
        self._set_current_many(physical)
        for graph, version in physical.items():
            if old.get(graph) and old[graph] != version:
                self._retire(graph, old[graph])
        self._drop_retired()
        return {graph: self.count(graph) for graph in physical}

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
        physical = self._new_physical(graph)
        read_fd, producer, failure = start_producer(produce)
        reader = os.fdopen(read_fd, "rb", buffering=1 << 20)
        try:
            self._upload(physical, self._batches(reader, fmt, base_iri, lenient))
            if failure:
                raise failure[0]
        except BaseException as exc:
            reader.close()
            producer.join()
            self._drop_quietly(physical)
            if failure and failure[0] is not exc:
                raise failure[0] from None
            raise
        reader.close()
        producer.join()
        if failure:
            self._drop_quietly(physical)
            raise failure[0]
        self._load_parts(physical, extra, base_iri, False)
        self._activate(graph, physical)

    def add(self, graph: str, source: Source, fmt: str) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only", store=self.query_url)
        self._read_catalog()
        physical = self._catalog.get(graph) or self._new_physical(graph)
        # Parsed here first: a broken source changes nothing (each POST is its own transaction).
        batches = list(ntriples_batches(source, fmt))
        self._upload(physical, batches)
        if graph not in self._catalog:
            self._set_current(graph, physical)

    def remove_graph(self, graph: str) -> bool:
        self._read_catalog()
        if graph not in self._catalog:
            return False
        c, cur = _iri(CATALOG), _iri(CURRENT)
        self._update(f"DELETE WHERE {{ GRAPH {c} {{ {_iri(graph)} {cur} ?p }} }}", error=StoreError)
        del self._catalog[graph]
        self._forget_retiring(graph)  # dropped now with the rest: the dataset is gone
        for version in self._named_graphs(graph):
            self._drop(version)
        return True

    def update(self, sparql: str) -> None:
        try:
            self._update(sparql, error=QueryError)
        except _Refused as refused:
            raise local_syntax_error(sparql, update=True) or refused from None
        self._read_catalog()

    def restore(self, source: Source, fmt: str = "nquads") -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only", store=self.query_url)
        if fmt not in QUAD_FORMATS:
            raise StoreError(f"a dump is N-Quads or TriG, not {fmt}")
        graphs = ntriples_by_graph(source, fmt)  # whole, so a broken dump changes nothing
        # Only what this store holds is removed: the server may hold other data, and its own.
        for graph in list(self.graphs()):
            self.remove_graph(graph)
        for graph, data in sorted(graphs.items()):
            physical = self._new_physical(graph)
            self._load_parts(physical, [(data, "ntriples")], None, True)
            self._activate(graph, physical)

    # -- reading --------------------------------------------------------------------------

    def graphs(self) -> list[str]:
        self._fresh()
        return sorted(self._catalog)

    def physical_graph(self, graph: str) -> str | None:
        self._fresh()
        return self._catalog.get(graph)

    def _active(self) -> list[str]:
        return sorted(self._catalog.values()) or [EMPTY]

    def _physical_list(self, graphs: list[str]) -> list[str]:
        return [self._catalog.get(g, g) for g in graphs] or [EMPTY]

    def count(self, graph: str | None = None) -> int:
        self._fresh()
        if graph is None:
            targets = self._active()
        elif graph in self._catalog:
            targets = [self._catalog[graph]]
        else:
            return 0
        dataset = [("default-graph-uri", g) for g in targets] + [("named-graph-uri", EMPTY)]
        result = self._select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", dataset)
        rows = list(result.rows())
        value = rows[0].get("n") if rows else None
        return int(value.value) if isinstance(value, Literal) else 0

    def query(
        self,
        sparql: str,
        *,
        params: Mapping[str, Term] | None = None,
        default_graph_union: bool = True,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        self._fresh()
        if params:
            sparql = bind(sparql, params)
        if default_graphs is not None:
            default = self._physical_list(default_graphs)
        elif default_graph_union:
            default = self._active()
        else:
            default = [EMPTY]
        named = self._physical_list(named_graphs) if named_graphs is not None else self._active()
        sparql = outside_graphs(sparql, named)
        if EMPTY not in named:
            named = [*named, EMPTY]
        dataset = [("default-graph-uri", g) for g in default]
        dataset += [("named-graph-uri", g) for g in named]
        try:
            return self._select(sparql, dataset)
        except _Refused as refused:
            raise local_syntax_error(sparql) or refused from None

    def _current_lines(self, physical: str, graph: str | None) -> Iterator[bytes]:
        """The triples of one physical graph as N-Quads lines in ``graph`` (N-Triples if None)."""
        tail = f" {IRI(graph).n3()} .\n" if graph else " .\n"
        for row in self._rows(f"SELECT ?s ?p ?o WHERE {{ GRAPH {_iri(physical)} {{ ?s ?p ?o }} }}"):
            s, p, o = row.get("s"), row.get("p"), row.get("o")
            if s is None or p is None or o is None:
                continue
            yield f"{_dump_term(s)} {_dump_term(p)} {_dump_term(o)}{tail}".encode()

    def dump(self, output: str | os.PathLike[str] | IO[bytes], fmt: str = "nquads") -> None:
        self._fresh()
        quads = fmt in QUAD_FORMATS
        with tempfile.TemporaryFile() as spool:
            for graph, physical in sorted(self._catalog.items()):
                for line in self._current_lines(physical, graph if quads else None):
                    spool.write(line)
            spool.seek(0)
            if fmt != "nquads":
                convert_rdf(spool, "nquads" if quads else "ntriples", output, fmt)
            elif isinstance(output, (str, os.PathLike)):
                with open(output, "wb") as out:
                    shutil.copyfileobj(spool, out, 1 << 20)
            else:
                shutil.copyfileobj(spool, output, 1 << 20)

    def close(self) -> None:
        if self._retiring:
            self._drop_retired(wait=True)
        self.session.close()


def _dump_term(term: Term) -> str:
    if isinstance(term, BNode):
        return "_:" + re.sub(r"[^A-Za-z0-9_]", "_", str(term))
    return term.n3()


def _beside(url: str, name: str) -> str:
    """``…/query`` -> ``…/{name}`` (Oxigraph server's layout); empty for other URLs."""
    parts = urlsplit(url)
    if not parts.path.endswith("/query"):
        return ""
    return urlunsplit(parts._replace(path=parts.path[: -len("query")] + name, query=""))


def _raw_lines(source: Source) -> Iterator[bytes]:
    """N-Triples text in blocks, read as it is (no parsing): bytes, text, a path (gzipped when
    it ends in ``.gz``) or a stream."""
    if isinstance(source, str):
        yield source.encode("utf-8")
        return
    if isinstance(source, bytes):
        yield source
        return
    if isinstance(source, os.PathLike):
        gzipped = os.fspath(source).endswith(".gz")  # a staged file of gzipped shards
        with gzip.open(source, "rb") if gzipped else open(source, "rb") as handle:
            yield from line_blocks(handle)  # type: ignore[arg-type]
        return
    yield from line_blocks(source)


def line_blocks(handle: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """A file in blocks of whole lines (about ``size`` bytes; the last one given its newline)."""
    rest = b""
    while block := handle.read(size):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
    if rest:
        yield rest + b"\n"
