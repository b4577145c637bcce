"""Running SPARQL queries for the endpoint: the dataset a query names, a row cap, and a pool of
worker processes that can be killed when a query runs too long.

pyoxigraph cannot cancel a query, and a signal reaches it only between rows, so a timeout that
really stops the work kills the process running it. Each worker holds a read-only handle on the
store and reopens it when the store directory has changed; it writes the answer with
pyoxigraph's serializer and sends it to the parent in chunks, so a large result crosses in
constant memory (the pipe blocks the worker while the client reads).

The same workers run named library functions (:meth:`WorkerPool.call`): a page section, a view,
the dashboard, computed on the worker's read-only store and sent back as JSON, under a time
limit of their own that kills the worker too: the work stops, and its CPU is freed.

Workers start through :mod:`collectomics.workers`; every message between the two crosses as
a tag byte and JSON (:func:`collectomics.workers.pack`) or as raw answer bytes, never pickled.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from collectomics import workers
from collectomics.errors import CollectomicsError, QueryError, StoreError
from collectomics.model import Term
from collectomics.store import CATALOG, EMPTY, Store, is_remote, open_store
from collectomics.store.querylimits import DEFAULT as DEFAULT_LIMITS
from collectomics.store.querylimits import QueryLimits, check
from collectomics.store.sparqltext import read_query
from collectomics.workers import pack, resolve_function, unpack

CHUNK = 64 * 1024
#: Seconds a call awaits the start of a new worker at least (imports, opening the store): the
#: start is no part of the call's own time limit.
START_WAIT = 30.0
#: Where an unknown graph named by the protocol is sent: the store's name of a graph that holds nothing.
NO_GRAPH = EMPTY


class QueryTimeout(CollectomicsError):
    """A query ran past the time limit and was stopped."""


class EndpointBusy(CollectomicsError):
    """No worker became free within the time limit."""


class UpdateRefused(CollectomicsError):
    """An update was sent to a read-only endpoint."""


# -- reading the query text: collectomics.store.sparqltext ---------------------------------------

# -- one query -------------------------------------------------------------------------------


@dataclass
class Job:
    """A query to run, with the dataset the protocol names and the formats the client accepts.

    ``formats`` maps a result kind (``select``, ``ask``, ``graph``) to the format chosen by
    content negotiation, or None when the client accepts none of that kind.
    """

    query: str
    formats: dict[str, str | None]
    params: Mapping[str, Term] | None = None
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    max_rows: int = 0
    #: Checked before the parser sees the query (set by the runner from the settings).
    limits: QueryLimits = DEFAULT_LIMITS


@dataclass
class Header:
    """What is known before the first byte: result kind, format, or why there is no answer."""

    kind: str = ""
    fmt: str | None = None
    error: str | None = None  # class name of a CollectomicsError
    message: str = ""
    capped: bool = False


@dataclass
class Call:
    """A named library function for a worker: ``function(store, *args, **kwargs)`` on the
    worker's read-only store. Its answer must be JSON-able: it crosses as JSON."""

    function: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def run_call(store: Store, call: Call) -> bytes:
    """Run ``call`` on ``store``; its answer as JSON (UTF-8)."""
    result = resolve_function(call.function)(store, *call.args, **call.kwargs)
    return json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _call_error(name: str, message: str) -> Exception:
    """The exception a worker reported, by class name: a library error of that class when the
    library has one, else a CollectomicsError; a bug in the function stays a RuntimeError."""
    if name == "InternalError":
        return RuntimeError(message)
    from collectomics import errors

    cls = _ERRORS.get(name) or getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, CollectomicsError):
        try:
            return cls(message)
        except TypeError:  # a constructor that wants more than a message
            pass
    return CollectomicsError(message)


def _visible(store: Store, graphs: list[str] | None) -> list[str] | None:
    """Graphs the client may name: current logical graphs (or their current physical names);
    anything else, the store's catalog included, becomes an empty graph."""
    if graphs is None:
        return None
    known = set(store.graphs())
    physical = {store.physical_graph(g) for g in known}
    return [g if (g in known or g in physical) and g != CATALOG else NO_GRAPH for g in graphs]


_SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {}


class Output(Protocol):
    """Where :func:`execute` writes an answer: a binary file, or anything with its ``write``."""

    def write(self, data: bytes, /) -> int: ...


def execute(store: Store, job: Job, output: Output) -> Header:
    """Run ``job`` on ``store``; write the answer to ``output`` unless the header says why not.

    When ``output`` has a ``start`` method, it gets the header before the first byte."""
    check(job.query, job.limits)  # before any parser: a crash there takes the process down
    text = read_query(job.query)
    if text.looks_like_update:
        raise UpdateRefused("this is a SPARQL update; the endpoint answers queries only")
    default_graphs, named_graphs = job.default_graphs, job.named_graphs
    query = job.query
    if default_graphs is None and named_graphs is None and (text.from_graphs or text.from_named):
        # The store overrides the query's own dataset, so hand FROM / FROM NAMED to it.
        default_graphs, named_graphs = text.from_graphs, text.from_named
        query = text.without_dataset
    elif default_graphs is not None or named_graphs is not None:
        query = text.without_dataset  # the protocol's dataset wins over the query's
        default_graphs = default_graphs or []
        named_graphs = named_graphs or []
    kwargs: dict[str, Any] = {
        "params": job.params,
        "default_graphs": _visible(store, default_graphs),
        "named_graphs": _visible(store, named_graphs),
    }
    # A query's kind and variables depend on its text only: remembered, so that a capped
    # SELECT seen before is parsed once, not twice.
    shape = _SHAPES.get(query) if job.params is None else None
    result: Any = None
    if shape is None:
        result = store.query(query, **kwargs)
        shape = (result.kind, tuple(result.variables))
        if job.params is None:
            if len(_SHAPES) > 1024:
                _SHAPES.clear()
            _SHAPES[query] = shape
    kind, variables = shape
    header = Header(kind=kind)
    header.fmt = job.formats.get(kind)
    if header.fmt is None:
        return header
    if kind == "select" and job.max_rows > 0 and text.form == "SELECT":
        capped_query = (
            query[: text.form_at]
            + "SELECT "
            + " ".join("?" + v for v in variables)
            + " WHERE {\n"
            + query[text.form_at :]
            + f"\n}} LIMIT {int(job.max_rows)}"
        )
        try:
            result = store.query(capped_query, **kwargs)
            header.capped = True
        except QueryError:
            pass  # a form the wrapping does not fit: answer uncapped, the timeout still holds
    if result is None:
        result = store.query(query, **kwargs)
    start = getattr(output, "start", None)
    if start is not None:
        start(header)
    result.serialize(header.fmt, output)
    return header


# -- the store, reopened when it changes -------------------------------------------------------


def limits_of(settings: Any) -> QueryLimits:
    """The query limits the settings name (``max_query_depth``, ``max_query_patterns``)."""
    return QueryLimits(settings.max_query_depth, settings.max_query_patterns)


def store_stamp(path: str | os.PathLike[str]) -> tuple[int, ...]:
    """A cheap fingerprint of an on-disk store that changes when the store is written to.

    RocksDB appends writes to its ``*.log`` files and creates and removes table files when it
    flushes or compacts: the directory's mtime and file names, and the logs' sizes, suffice.
    """
    names = sorted(os.listdir(path))
    stamps = [os.stat(path).st_mtime_ns, hash(tuple(names))]
    for name in names:
        if name.endswith(".log"):
            try:
                st = os.stat(os.path.join(path, name))
            except FileNotFoundError:
                return store_stamp(path)
            stamps += [st.st_mtime_ns, st.st_size]
    return tuple(stamps)


class ReadOnlyStore:
    """A read-only handle on an on-disk store, reopened when the directory has changed; or on
    a remote store (``sparql+http://...``), which reads the current versions itself."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = str(path)
        self.path = Path(path)
        self._store: Store | None = None
        self._stamp: tuple[int, ...] | None = None
        self._names: tuple[int, int, list[str]] | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the handle: the next ``get`` reopens the store."""
        with self._lock:
            self._stamp = None

    def _quick_stamp(self) -> tuple[int, ...]:
        """``store_stamp``, with the directory listed again only when its mtime moved (a file
        was created, removed or renamed) or moved recently (timestamps are coarse): a stat of
        the directory and of its logs per query."""
        mtime = os.stat(self.path).st_mtime_ns
        if self._names is None or mtime != self._names[0] or time.time_ns() - mtime < 200_000_000:
            names = sorted(os.listdir(self.path))
            logs = [os.path.join(self.path, n) for n in names if n.endswith(".log")]
            self._names = (mtime, hash(tuple(names)), logs)
        stamps = [mtime, self._names[1]]
        for log in self._names[2]:
            try:
                st = os.stat(log)
            except FileNotFoundError:
                self._names = None
                return self._quick_stamp()
            stamps += [st.st_mtime_ns, st.st_size]
        return tuple(stamps)

    def get(self) -> Store:
        with self._lock:
            if is_remote(self.location):
                if self._store is None:
                    self._store = open_store(self.location, read_only=True)
                return self._store
            try:
                stamp = self._quick_stamp()
            except FileNotFoundError:
                raise StoreError("the store is gone", path=str(self.path)) from None
            if self._store is None or stamp != self._stamp:
                fresh = self._reopen()
                if fresh is None:  # being written: the previous snapshot answers meanwhile
                    return self._store  # type: ignore[return-value]
                # The old handle is not closed here: queries in other threads may still be
                # reading it; it closes when the last of them lets go of it.
                self._store = fresh
                self._stamp = stamp
            return self._store

    def _reopen(self) -> Store | None:
        """Open the store anew. A writer may delete the files a read-only open is reading (it
        flushes or compacts): retry a few times, then give None if an older handle can still
        answer, else raise StoreError."""
        for attempt in range(5):
            try:
                return open_store(str(self.path), read_only=True)
            except (StoreError, OSError, RuntimeError) as exc:
                if not _STALE.search(str(exc)):
                    raise
                if attempt == 4:
                    if self._store is not None:
                        return None
                    raise StoreError(
                        "the store is being written and could not be opened; try again",
                        path=str(self.path),
                    ) from None
                time.sleep(0.02 * 2**attempt)
        return None


# -- worker processes ----------------------------------------------------------------------------

# Messages, each a tag byte then its body. To a worker: a query or a call, as JSON. From it: a
# header as JSON, then the answer's bytes in chunks; or a call's answer or error as JSON.
_QUERY, _CALL = b"Q", b"C"
_HEADER = b"H"
_DATA, _LAST, _FAIL = b"D", b"L", b"X"
_RESULT, _ERROR = b"J", b"E"  # a call's JSON answer, or its error as JSON
_READY = b"R"  # a new worker has started


def _job_message(job: Job) -> bytes:
    """``job`` as a message to a worker."""
    return _QUERY + pack(
        {
            "query": job.query,
            "formats": job.formats,
            "params": job.params,
            "default_graphs": job.default_graphs,
            "named_graphs": job.named_graphs,
            "max_rows": job.max_rows,
            "limits": [job.limits.max_depth, job.limits.max_patterns],
        }
    )


def _call_message(call: Call) -> bytes:
    """``call`` as a message to a worker (TypeError if its arguments cannot cross as JSON)."""
    return _CALL + pack({"function": call.function, "args": call.args, "kwargs": call.kwargs})


def _read_message(message: bytes) -> Job | Call:
    """The job or call a message to a worker holds; ValueError for anything else."""
    tag, body = message[:1], unpack(message[1:])
    if tag == _CALL:
        return Call(body["function"], tuple(body["args"]), dict(body["kwargs"]))
    if tag == _QUERY:
        depth, patterns = body.pop("limits")
        return Job(**body, limits=QueryLimits(depth, patterns))
    raise ValueError(f"not a message to a worker: {tag!r}")


def _header_message(header: Header) -> bytes:
    return _HEADER + pack(asdict(header))


def _read_header(message: bytes) -> Header:
    """The header a worker sent; EOFError when the message is not one (the worker is lost)."""
    if message[:1] != _HEADER:
        raise EOFError(f"the worker sent {message[:1]!r} where a header was due")
    return Header(**unpack(message[1:]))


_STALE = re.compile(r"No such file or directory|Corruption", re.I)


class _PipeWriter:
    """A file-like object for the serializer that sends full chunks down the pipe. The header
    goes first, with the first bytes: until then a failed query can still be retried."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.buffer = bytearray()
        self.header: Header | None = None
        self.started = False  # the header has been sent

    def start(self, header: Header) -> None:
        self.header = header

    def _send_header(self) -> None:
        if not self.started:
            assert self.header is not None
            self.conn.send_bytes(_header_message(self.header))
            self.started = True

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self._send_header()
            self.conn.send_bytes(_DATA + bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self._send_header()
        self.conn.send_bytes(_LAST + bytes(self.buffer))  # the rest, and the end, in one message
        self.buffer.clear()


def _retrying(
    handle: ReadOnlyStore, run: Callable[[Store], Any], started: Callable[[], bool]
) -> Any:
    """``run(store)``, again on a reopened handle when a writer compacted away files this handle
    had open (a read-only handle beside a writer is only safe between compactions), unless
    ``started()`` says part of the answer has left already."""
    for attempt in range(4):
        try:
            return run(handle.get())
        except (CollectomicsError, OSError, RuntimeError) as exc:
            if started() or attempt == 3 or not _STALE.search(str(exc)):
                raise
            time.sleep(0.05 * 2**attempt)
            handle.reset()
    raise AssertionError("unreachable")


def _answer_call(conn: Any, handle: ReadOnlyStore, call: Call) -> None:
    """Run ``call`` and send its JSON answer, or its error, in one message."""
    try:
        message = _RESULT + _retrying(handle, lambda store: run_call(store, call), lambda: False)
    except CollectomicsError as exc:
        error = {"error": type(exc).__name__, "message": str(exc)}
        message = _ERROR + json.dumps(error).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - reported to the parent, the worker lives on
        error = {"error": "InternalError", "message": f"{type(exc).__name__}: {exc}"}
        message = _ERROR + json.dumps(error).encode("utf-8")
    conn.send_bytes(message)


def serve_jobs(channel: Connection, path: str) -> None:
    """A query worker process: run jobs from ``channel`` (a Connection) until it closes, on a
    read-only handle of the store at ``path``.

    It says when it is ready (imports done, store opened), so that a job's time limit never
    pays for the start of a process."""
    conn = channel
    handle = ReadOnlyStore(path)
    try:
        handle.get()
    except CollectomicsError:
        pass  # the first job reports it
    try:
        conn.send_bytes(_READY)
    except OSError:
        return
    while True:
        try:
            received = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            job = _read_message(received)
        except (ValueError, KeyError, TypeError) as exc:  # a parent of another version?
            conn.send_bytes(_header_message(Header(error="InternalError", message=str(exc))))
            continue
        if isinstance(job, Call):
            try:
                _answer_call(conn, handle, job)
            except (BrokenPipeError, EOFError, OSError):
                return
            continue
        writer = _PipeWriter(conn)
        try:
            for attempt in range(4):
                try:
                    header = execute(handle.get(), job, writer)
                    break
                except (CollectomicsError, OSError, RuntimeError) as exc:
                    # A writer compacted away files this handle had open (a read-only handle
                    # beside a writer is only safe between compactions): reopen and try again.
                    if writer.started or attempt == 3 or not _STALE.search(str(exc)):
                        raise
                    time.sleep(0.05 * 2**attempt)
                    handle.reset()
                    writer = _PipeWriter(conn)
            if writer.header is None:
                conn.send_bytes(_header_message(header))  # no answer (406): it says why
                continue
            writer.finish()
        except CollectomicsError as exc:
            if writer.started:
                conn.send_bytes(_FAIL + str(exc).encode("utf-8"))
            else:
                header = Header(error=type(exc).__name__, message=str(exc))
                conn.send_bytes(_header_message(header))
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - reported to the parent, the worker lives on
            message = f"{type(exc).__name__}: {exc}"
            if writer.started:
                conn.send_bytes(_FAIL + message.encode("utf-8"))
            else:
                conn.send_bytes(_header_message(Header(error="InternalError", message=message)))


class _Worker:
    """A query worker process (:func:`collectomics.workers.start`: a fresh interpreter, never a
    fork of a threaded server, that exits when its parent has gone), talking over a channel."""

    def __init__(self, path: str) -> None:
        self.worker = workers.start(f"{__name__}:serve_jobs", {"path": path}, channel=True)
        self.process = self.worker.process
        self.conn = self.worker.channel
        self.ready = False
        self.ran = False  # it has run a job

    def await_ready(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) for the worker's start; False if it
        has not started by then. Raises EOFError if it died."""
        if not self.ready:
            if not self.conn.poll(timeout):
                return False
            if self.conn.recv_bytes() != _READY:
                raise EOFError("the worker said something before it was ready")
            self.ready = True
        return True

    def kill(self) -> None:
        self.worker.kill()


@dataclass
class Answer:
    """A query's header and an iterator over the answer's bytes; ``complete`` holds the whole
    answer when it fitted in the first chunk (then the response can carry a Content-Length)."""

    header: Header
    chunks: Iterator[bytes]
    complete: bytes | None = None


_ERRORS: dict[str, type[CollectomicsError]] = {
    "QueryError": QueryError,
    "ParameterError": QueryError,
    "StoreError": StoreError,
    "UpdateRefused": UpdateRefused,
}


class WorkerPool:
    """``size`` worker processes over the store at ``path``; a query that runs past ``timeout``
    seconds (0: no limit) kills its worker, which is replaced."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        size: int = 2,
        timeout: float = 30.0,
        limits: QueryLimits = DEFAULT_LIMITS,
    ) -> None:
        self.path = str(path)
        self.timeout = timeout
        self.limits = limits
        self.size = max(1, size)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._workers: set[_Worker] = set()  # idle and busy
        self._lock = threading.Lock()
        for _ in range(self.size):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        worker = _Worker(self.path)
        with self._lock:
            self._workers.add(worker)
        return worker

    def pids(self) -> list[int]:
        """The process ids of the workers alive now, idle or busy."""
        with self._lock:
            return sorted(w.process.pid for w in self._workers)

    def _deadline(self) -> float | None:
        return time.monotonic() + self.timeout if self.timeout > 0 else None

    @staticmethod
    def _left(deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        if not self._closed:
            self._idle.put(self._start())

    def _started(self, worker: _Worker, wait: float | None, limit: float) -> None:
        """Wait for a new ``worker`` to start (not counted in a job's time limit); EndpointBusy
        when it has not within ``wait`` seconds, StoreError when it died."""
        try:
            ready = worker.await_ready(wait)
        except (EOFError, OSError):
            self._replace(worker)
            raise StoreError("the worker stopped unexpectedly as it started; try again") from None
        if not ready:
            self._idle.put(worker)
            raise EndpointBusy(
                "no worker started within the time limit; try again", timeout=f"{limit:g} s"
            )

    def call(
        self,
        function: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        wait: float | None = None,
        setting: str = "query_timeout",
    ) -> Any:
        """Run the library function ``function`` (``module:name``) in a worker as
        ``function(store, *args, **kwargs)`` and return its JSON answer.

        It may run ``timeout`` seconds (default: the pool's; 0: no limit), counted from when a
        worker takes it; past that the worker is killed, which stops the work and frees its
        CPU, and QueryTimeout names ``setting``. A free worker is awaited ``wait`` seconds
        (default: ``timeout``; a worker still starting, ``START_WAIT`` at least), else
        EndpointBusy. The function's library error is raised
        again here (same class when it takes a message alone), a bug as RuntimeError."""
        limit = self.timeout if timeout is None else timeout
        patience = limit if wait is None else wait
        message = _call_message(Call(function, tuple(args), dict(kwargs or {})))
        try:
            worker = self._idle.get(timeout=patience if patience > 0 else None)
        except queue.Empty:
            raise EndpointBusy(
                "every worker stayed busy for the whole time limit; try again",
                timeout=f"{patience:g} s",
            ) from None
        self._started(worker, max(patience, START_WAIT) if patience > 0 else None, patience)
        try:
            worker.conn.send_bytes(message)
            if not worker.conn.poll(limit if limit > 0 else None):
                raise QueryTimeout(
                    f"the work was stopped after {limit:g} s (the {setting} setting)"
                )
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._replace(worker)
            raise StoreError("the worker stopped unexpectedly; try again") from None
        except BaseException:
            self._replace(worker)  # a timeout, or the caller interrupted: stop the work
            raise
        self._idle.put(worker)
        tag, body = message[:1], message[1:]
        if tag == _RESULT:
            return json.loads(body)
        error = json.loads(body)
        raise _call_error(error["error"], error["message"])

    def run(self, job: Job) -> Answer:
        """Send ``job`` to a free worker; raises QueryTimeout, EndpointBusy or the query's error."""
        job.limits = self.limits
        check(job.query, job.limits)  # here too: a refused query never occupies a worker
        message = _job_message(job)
        deadline = self._deadline()
        try:
            worker = self._idle.get(timeout=self._left(deadline))
        except queue.Empty:
            raise EndpointBusy(
                "every query worker stayed busy for the whole time limit; try again",
                timeout=f"{self.timeout:g} s",
            ) from None
        left = self._left(deadline)
        self._started(worker, None if left is None else max(left, START_WAIT), self.timeout)
        if not worker.ran:  # a new worker's start is no part of the query's time
            deadline = self._deadline()
        worker.ran = True
        stream: _Stream | None = None
        try:
            worker.conn.send_bytes(message)
            if not worker.conn.poll(self._left(deadline)):
                raise QueryTimeout(
                    f"the query was stopped after {self.timeout:g} s (the query_timeout setting)"
                )
            header = _read_header(worker.conn.recv_bytes())
        except (EOFError, OSError):
            self._replace(worker)
            raise StoreError("the query worker stopped unexpectedly; try again") from None
        except BaseException:
            self._replace(worker)
            raise
        if header.error or header.fmt is None:
            self._idle.put(worker)  # it answered: it is free again
            if header.error:
                raise _ERRORS.get(header.error, QueryError)(header.message)
            return Answer(header, iter(()))
        try:
            # Wait for the first chunk too: a query that does its work before the first byte
            # (a sort, an aggregate) still times out before the status line is sent.
            stream = _Stream(self, worker, deadline)
            first = next(stream, b"")
        except BaseException:
            if stream is None:  # else the stream has released the worker already
                self._replace(worker)
            raise
        if stream.finished:
            return Answer(header, iter((first,)), complete=first)
        stream.head = first
        return Answer(header, stream)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.kill()
            with self._lock:
                self._workers.discard(worker)


class _Stream:
    """The answer's chunks as they arrive from a worker. Closing it early (a client that went
    away, a HEAD request) or a timeout kills the worker, which may be mid-answer."""

    def __init__(self, pool: WorkerPool, worker: _Worker, deadline: float | None) -> None:
        self.pool, self.worker, self.deadline = pool, worker, deadline
        self.finished = False
        self.head: bytes | None = None  # a chunk received before the response started

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        if self.head is not None:
            head, self.head = self.head, None
            return head
        if self.finished:
            raise StopIteration
        conn = self.worker.conn
        try:
            if not conn.poll(self.pool._left(self.deadline)):
                # The status line is sent: all that is left is to stop the work and cut the stream.
                raise QueryTimeout(
                    f"the query was stopped after {self.pool.timeout:g} s (the query_timeout setting)"
                )
            message = conn.recv_bytes()
        except (EOFError, OSError):
            self._release(reuse=False)
            raise StoreError("the query worker stopped unexpectedly") from None
        except BaseException:
            self._release(reuse=False)
            raise
        tag, body = message[:1], message[1:]
        if tag == _DATA:
            return body
        self._release(reuse=True)
        if tag == _LAST:
            return body
        raise QueryError(body.decode("utf-8", "replace"))

    def _release(self, *, reuse: bool) -> None:
        if self.finished:
            return
        self.finished = True
        if reuse:
            self.pool._idle.put(self.worker)
        else:
            self.pool._replace(self.worker)

    def close(self) -> None:
        self._release(reuse=False)


class InProcess:
    """Runs jobs in the calling thread on a given store (tests, in-memory stores): no timeout."""

    def __init__(self, store: Store, limits: QueryLimits = DEFAULT_LIMITS) -> None:
        self.store = store
        self.limits = limits

    def run(self, job: Job) -> Answer:
        import io

        job.limits = self.limits
        buffer = io.BytesIO()
        header = execute(self.store, job, buffer)
        if header.fmt is None:
            return Answer(header, iter(()))
        return Answer(header, iter((buffer.getvalue(),)), complete=buffer.getvalue())

    def call(
        self,
        function: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        wait: float | None = None,
        setting: str = "query_timeout",
    ) -> Any:
        """``WorkerPool.call`` in this thread: no time limit; the answer crosses JSON as it
        would from a worker, so that both give the same values."""
        del timeout, wait, setting
        return json.loads(run_call(self.store, Call(function, tuple(args), dict(kwargs or {}))))

    def close(self) -> None:
        pass
