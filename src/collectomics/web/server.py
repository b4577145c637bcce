"""`collectomics serve` on Linux: pre-started HTTP worker processes that run queries themselves.

pyoxigraph cannot cancel a query and a signal reaches it only between rows, so a time limit that
really stops the work must end the process running it. Here every HTTP worker process holds a
read-only handle on the store and runs queries in the thread that read the request (the query and
the serializer release the GIL); a watchdog thread answers 503 on the client's socket when a
query runs past ``query_timeout``, and the process retires: it stops accepting, finishes the other
requests it has, and exits, while the master process has already started its replacement. This
keeps the HTTP handling and the query in one process (no hand-off to a query worker), spread over
``workers`` processes that share one listening socket.

The HTTP/1.1 server is small on purpose (keep-alive, ``Content-Length`` and chunked bodies,
``Expect: 100-continue``, chunked answers) and hands every request to the WSGI app, whose
``/sparql`` fast path (``collectomics.web.sparql.FastSparql``) bypasses Flask's routing.
"""

from __future__ import annotations

import io
import os
import queue
import re
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from collectomics import workers
from collectomics.config import Settings
from collectomics.errors import CollectomicsError
from collectomics.services.endpoint import (
    CHUNK,
    Answer,
    Header,
    Job,
    QueryTimeout,
    ReadOnlyStore,
    WorkerPool,
    execute,
    limits_of,
)
from collectomics.store.querylimits import QueryLimits
from collectomics.web.security import FAST_HEADERS

#: the headers every answer carries (web/security.py), on the answers the server writes itself too
_SECURITY = b"".join(f"{name}: {value}\r\n".encode("ascii") for name, value in FAST_HEADERS)
_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 303: "See Other",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}  # fmt: skip
#: Seconds an idle keep-alive connection is kept open.
IDLE = 60.0
#: Stack of a connection thread, which runs the parser and the query (bytes of address space).
THREAD_STACK = 64 << 20
_local = threading.local()
#: Header lines already encoded, by (name, value).
_LINES: dict[tuple[str, str], bytes] = {}
#: Bytes a query string may not hold as they are (RFC 3986): percent-encoded before the app
#: sees them, as a browser would, so that bytes that are not UTF-8 reach it as %XX escapes.
_RAW_IN_QUERY = re.compile(r"[^\x21-\x7e]")


def timeout_message(seconds: float) -> str:
    return f"the query was stopped after {seconds:g} s (the query_timeout setting)"


class _Date:
    """The Date header, formatted once a second."""

    def __init__(self) -> None:
        self.second = 0
        self.value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.value = (
                b"Date: "
                + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode("ascii")
                + b"\r\n"
            )
            self.second = now
        return self.value


_DATE = _Date()


class _Closed(Exception):
    """The client went away, or the connection was cut (a timeout)."""


class BadRequest(Exception):
    """The request cannot be framed safely (RFC 9112): a 400, then the connection closes."""


#: The blank line that ends a request head: CRLF CRLF, or bare LFs (with or without CRs).
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,18}")
#: A header name (an RFC 9110 token): no spaces before the colon, no obs-fold line.
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class Connection:
    """One client connection, served by one thread: requests one after another (keep-alive)."""

    def __init__(self, server: Server, sock: socket.socket, addr: Any) -> None:
        self.server, self.sock, self.addr = server, sock, addr
        self.buffer = b""
        self.lock = threading.Lock()  # the status line: the request thread or the watchdog
        self.busy = False  # a request is being handled
        self.dead = False  # timed out or cut: nothing more is written
        self.headers_sent = False
        self.close_after = False
        self.opened = time.monotonic()
        self.served = 0  # requests answered

    # -- reading ------------------------------------------------------------------------------

    def _recv(self) -> bytes:
        try:
            data = self.sock.recv(65536)
        except (OSError, ValueError):
            raise _Closed from None
        if not data:
            raise _Closed
        return data

    def _read_head(self) -> bytes | None:
        """The request line and headers, up to the blank line that ends them (CRLF or a bare
        LF, as RFC 9112 section 2.2 lets a server accept)."""
        limit = self.server.max_header
        while True:
            match = _HEAD_END.search(self.buffer)
            if match is not None:
                head, self.buffer = self.buffer[: match.start()], self.buffer[match.end() :]
                return head
            if len(self.buffer) > limit:
                return None
            self.buffer += self._recv()

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buffer) > 65536:
                raise _Closed
            self.buffer += self._recv()

    def _read_chunked(self, limit: int) -> bytes | None:
        body = bytearray()
        while True:
            size_line = self._read_line().split(b";", 1)[0].rstrip(b" \t")
            if not _HEX.fullmatch(size_line):  # int() would take "+f", "0x1f", " 1_f"
                raise BadRequest(f"a bad chunk size: {size_line[:40]!r}")
            size = int(size_line, 16)
            if size == 0:
                while self._read_line():  # trailers
                    pass
                return bytes(body)
            if len(body) + size > limit:
                return None
            body += self._read_exact(size)
            if self._read_line():
                raise BadRequest("a chunk is longer than its size says")

    # -- writing ------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, ValueError):
            raise _Closed from None

    def simple(self, status: int, message: str, extra: bytes = b"") -> None:
        """A plain-text answer written by the server itself, then the connection closes."""
        body = (message.rstrip("\n") + "\n").encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n".encode("ascii")
            + _DATE.get()
            + b"Server: collectomics\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + self.server.cors
            + _SECURITY
            + extra
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("ascii")
        )
        self._send(head + body)

    def timed_out(self, message: str) -> None:
        """From the watchdog: answer 503 if nothing was sent yet, else cut the stream."""
        with self.lock:
            if self.dead:
                return
            self.dead = True
            if not self.headers_sent:
                try:
                    self.sock.settimeout(5)
                    self.simple(503, message)
                except _Closed:
                    pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- serving ------------------------------------------------------------------------------

    def serve(self) -> None:
        server = self.server
        try:
            self.sock.settimeout(IDLE)
            while True:  # a new connection gets its first request answered, even when retiring
                if not self.buffer:
                    self.busy = False
                    self.buffer = self._recv()
                self.busy = True
                keep = self.handle_one()
                self.served += 1
                if not keep or server.retiring:
                    break
        except (_Closed, OSError):  # the client went away, or the stream was cut
            pass
        except Exception:  # noqa: BLE001 - reported, the process goes on
            traceback.print_exc()
        finally:
            self.busy = False
            with self.lock:
                self.dead = True
            try:
                self.sock.close()
            except OSError:
                pass
            server.forget(self)

    def handle_one(self) -> bool:
        """Read and answer one request; False when the connection is to be closed."""
        server = self.server
        head = self._read_head()
        if head is None:
            self.simple(431, "the request head is too long")
            return False
        lines = [line.removesuffix("\r") for line in head.decode("latin-1").split("\n")]
        while lines and not lines[0]:
            lines.pop(0)  # stray CRLF between requests
        if not lines:
            return True
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.simple(400, f"not an HTTP/1.x request line: {lines[0][:100]!r}")
            return False
        method, target, version = parts
        path, _, query = target.partition("?")
        if not query.isascii() or _RAW_IN_QUERY.search(query):
            query = _RAW_IN_QUERY.sub(lambda m: f"%{ord(m.group()):02X}", query)
        if len(query) > server.max_body:
            self.simple(
                414,
                f"the URL is longer than {server.max_body} bytes (max_request_bytes); "
                "POST long queries",
            )
            return False
        if path.startswith(("http://", "https://")):  # an absolute form
            path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1") if "%" in path else path,
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": server.host,
            "SERVER_PORT": server.port_text,
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.addr[0] if self.addr else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        try:
            framing = _framing(lines[1:], environ, version)
        except BadRequest as exc:
            self.simple(400, str(exc))
            return False
        if framing == "unsupported":
            self.simple(
                501, "only the chunked transfer coding is supported (Transfer-Encoding: chunked)"
            )
            return False
        connection = environ.get("HTTP_CONNECTION", "").lower()
        keep = ("close" not in connection) if version == "HTTP/1.1" else "keep-alive" in connection
        chunked_request = framing == "chunked"
        length_text = environ.get("CONTENT_LENGTH", "")
        body = b""
        if chunked_request or (length_text and length_text != "0"):
            if chunked_request:
                length = -1
            else:
                length = int(length_text)  # digits only: _framing checked it
                if length > server.max_body:
                    self.simple(
                        413,
                        f"the request body is larger than {server.max_body} bytes "
                        "(max_request_bytes)",
                    )
                    return False
            if environ.get("HTTP_EXPECT", "").lower() == "100-continue":
                self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
            if chunked_request:
                try:
                    got = self._read_chunked(server.max_body)
                except BadRequest as exc:
                    self.simple(400, str(exc))
                    return False
                if got is None:
                    self.simple(
                        413,
                        f"the request body is larger than {server.max_body} bytes "
                        "(max_request_bytes)",
                    )
                    return False
                body = got
                environ["CONTENT_LENGTH"] = str(len(body))
            else:
                body = self._read_exact(length)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["collectomics.body"] = body
        self.headers_sent = False
        self.close_after = not keep
        return self._respond(environ, method == "HEAD", version == "HTTP/1.1") and keep

    def _respond(self, environ: dict[str, Any], head_only: bool, http11: bool) -> bool:
        state: dict[str, Any] = {}
        chunked = False

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info and self.headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def send_head() -> None:
            nonlocal chunked
            headers = state["headers"]
            has_length = False
            out = [b"HTTP/1.1 ", state["status"].encode("latin-1"), b"\r\n", _DATE.get()]
            out.append(b"Server: collectomics\r\n")
            for pair in headers:
                line = _LINES.get(pair)
                if line is None:
                    line = f"{pair[0]}: {pair[1]}\r\n".encode("latin-1")
                    if len(_LINES) < 4096:
                        _LINES[pair] = line
                if line[:15].lower() == b"content-length:":
                    has_length = True
                out.append(line)
            if not has_length and not head_only and not state["status"].startswith(("204", "304")):
                if http11:
                    chunked = True
                    out.append(b"Transfer-Encoding: chunked\r\n")
                else:
                    self.close_after = True
            if self.close_after or self.server.retiring:
                self.close_after = True
                out.append(b"Connection: close\r\n")
            out.append(b"\r\n")
            state["head"] = b"".join(out)
            with self.lock:
                if self.dead:
                    raise _Closed
                self.headers_sent = True

        def write(data: bytes) -> None:
            if not self.headers_sent:
                send_head()
                head = state.pop("head")
                if head_only:
                    self._send(head)
                    return
                if chunked:
                    self._send(head + (b"%x\r\n" % len(data) + data + b"\r\n" if data else b""))
                else:
                    self._send(head + data)
                return
            if head_only or not data:
                return
            if chunked:
                self._send(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self._send(data)

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
        except (_Closed, OSError):
            raise _Closed from None
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            if not self.headers_sent and not self.dead:
                self.simple(500, "internal error")
            return False
        try:
            if isinstance(result, list) and len(result) == 1 and not self.headers_sent:
                write(result[0])
            else:
                for data in result:
                    if data:
                        write(data)
            if not self.headers_sent:
                write(b"")
            if chunked and not head_only:
                self._send(b"0\r\n\r\n")
        except CollectomicsError as exc:
            if not self.headers_sent and not self.dead:
                from collectomics.web.sparql import library_status

                self.simple(library_status(exc)[0], str(exc))
            raise _Closed from None  # a timeout or an error half-way: cut the stream
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return not self.close_after


def _framing(lines: list[str], environ: dict[str, Any], version: str) -> str:
    """Read the header lines into ``environ`` and say how the body is framed: ``"length"``
    (``Content-Length``, or no body), ``"chunked"``, or ``"unsupported"`` (another transfer
    coding: a 501). Raises BadRequest for what would let this server and a proxy in front of it
    disagree on where the request ends (request smuggling, RFC 9112 sections 6.1-6.3): a
    header line that is not ``name: value`` or that folds onto the next, a repeated
    ``Content-Length`` or ``Transfer-Encoding``, both at once, or a length that is not digits."""
    lengths: list[str] = []
    codings: list[str] = []
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not _FIELD_NAME.fullmatch(name):
            raise BadRequest(f"not a header line (name: value): {line[:100]!r}")
        if "_" in name:  # dropped, as gunicorn and nginx do: in WSGI it would pass for a "-"
            continue  # (a Content_Length read as the Content-Length)
        key = name.upper().replace("-", "_")
        value = value.strip(" \t")
        if key == "CONTENT_LENGTH":
            lengths.append(value)
            environ[key] = value
            continue
        if key == "CONTENT_TYPE":
            environ[key] = value
            continue
        if key == "TRANSFER_ENCODING":
            codings.append(value)
        key = "HTTP_" + key
        environ[key] = environ[key] + ", " + value if key in environ else value
    if len(lengths) > 1:
        raise BadRequest("the request has more than one Content-Length header")
    if len(codings) > 1:
        raise BadRequest("the request has more than one Transfer-Encoding header")
    if lengths and codings:
        raise BadRequest("the request has both Content-Length and Transfer-Encoding")
    if lengths and not _DIGITS.fullmatch(lengths[0]):
        raise BadRequest(f"a bad Content-Length: {lengths[0][:40]!r} (digits only)")
    if codings:
        if version != "HTTP/1.1":
            raise BadRequest("Transfer-Encoding is not allowed in an HTTP/1.0 request")
        if codings[0].lower() != "chunked":
            return "unsupported"
        return "chunked"
    return "length"


class Watchdog:
    """A thread that answers 503 for a request whose query runs past its deadline and makes
    the process retire (the query cannot be stopped any other way)."""

    def __init__(self, server: Server, timeout: float) -> None:
        self.server, self.timeout = server, timeout
        self.deadlines: dict[Connection, float] = {}
        if timeout > 0:
            threading.Thread(target=self._run, name="watchdog", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(0.05 if self.timeout < 2 else 0.1)
            now = time.monotonic()
            for conn, deadline in list(self.deadlines.items()):
                if deadline <= now and self.deadlines.pop(conn, None) is not None:
                    conn.timed_out(timeout_message(self.timeout))
                    self.server.retire()


class LocalRunner:
    """Runs queries in this process on a read-only handle, under the watchdog; and named
    library functions (page sections, views) in a pool of ``call_workers`` worker processes of
    its own, started at the first call, whose timeout kills the worker, not this process."""

    def __init__(
        self,
        handle: ReadOnlyStore,
        watchdog: Watchdog,
        size: int,
        limits: QueryLimits,
        call_workers: int = 2,
    ) -> None:
        self.handle, self.watchdog, self.limits = handle, watchdog, limits
        self.timeout = watchdog.timeout
        self.call_workers = call_workers
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        # At most ``size`` queries at once: tokens in a queue (a C-level queue, cheaper than a
        # semaphore on the hot path).
        self.slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(max(1, size)):
            self.slots.put(None)

    def push(self, job: Job, output: Any) -> Header:
        """Run ``job`` writing the answer to ``output`` (whose ``start`` gets the header)."""
        conn: Connection | None = getattr(_local, "conn", None)
        deadlines = self.watchdog.deadlines
        job.limits = self.limits
        self.slots.get()
        try:
            if conn is not None and self.timeout > 0:
                deadlines[conn] = time.monotonic() + self.timeout
            try:
                return execute(self.handle.get(), job, output)
            finally:
                if conn is not None:
                    deadlines.pop(conn, None)
                    if conn.dead:
                        raise _Closed
        finally:
            self.slots.put(None)

    def run(self, job: Job) -> Answer:
        """For routes that want chunks to pull (canned queries): the query runs in a thread."""
        job.limits = self.limits
        chunks: queue.Queue[Any] = queue.Queue(maxsize=4)
        stop = threading.Event()

        class Writer:
            def __init__(self) -> None:
                self.header: Header | None = None
                self.buffer = bytearray()

            def flush(self) -> None:
                pass

            def start(self, header: Header) -> None:
                self.header = header

            def write(self, data: bytes) -> int:
                if stop.is_set():
                    raise BrokenPipeError("the client went away")
                self.buffer += data
                if len(self.buffer) >= CHUNK:
                    chunks.put(("header", self.header))
                    chunks.put(("data", bytes(self.buffer)))
                    self.buffer = bytearray()
                return len(data)

        writer = Writer()

        def work() -> None:
            try:
                self.slots.get()
                try:
                    header = execute(self.handle.get(), job, writer)
                finally:
                    self.slots.put(None)
                chunks.put(("header", writer.header or header))
                chunks.put(("last", bytes(writer.buffer)))
            except BaseException as exc:  # noqa: BLE001 - handed to the request thread
                chunks.put(("error", exc))

        threading.Thread(target=work, daemon=True).start()
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None

        def get() -> tuple[str, Any]:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return chunks.get(timeout=left)
            except queue.Empty:
                stop.set()
                self.watchdog.server.retire()
                raise QueryTimeout(timeout_message(self.timeout)) from None

        kind, value = get()
        if kind == "error":
            raise value
        header: Header = value
        kind, value = get()
        if kind == "error":
            raise value
        if kind == "last" or header.fmt is None:
            return Answer(header, iter((value,)), complete=value)

        def rest(first: bytes) -> Any:
            try:
                yield first
                while True:
                    kind, value = get()
                    if kind == "error":
                        raise value
                    if kind == "data":
                        yield value
                    elif kind == "last":
                        yield value
                        return
            finally:
                stop.set()

        return Answer(header, rest(value))

    def pool(self) -> WorkerPool:
        """The worker processes that run library functions, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(
                    self.handle.location, self.call_workers, self.timeout, self.limits
                )
            return self._pool

    def call(
        self,
        function: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Any = None,
        *,
        timeout: float | None = None,
        wait: float | None = None,
        setting: str = "query_timeout",
    ) -> Any:
        """``WorkerPool.call`` on this process's pool (a timeout kills a worker of the pool)."""
        return self.pool().call(function, args, kwargs, timeout=timeout, wait=wait, setting=setting)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


class Server:
    """One HTTP worker process: an accepting thread and a thread per connection."""

    def __init__(self, app: Any, listener: socket.socket, settings: Any, status_fd: int) -> None:
        self.app, self.listener = app, listener
        self.host, self.port_text = settings.host, str(settings.port)
        self.max_body = settings.max_request_bytes
        self.max_header = max(262144, settings.max_request_bytes + 65536)
        self.status_fd = status_fd
        self.retiring = False
        #: set once the accept loop has ended: no connection joins ``connections`` after it
        self.stopped_accepting = threading.Event()
        self.connections: set[Connection] = set()
        self._lock = threading.Lock()
        self.cors = b""

    def forget(self, conn: Connection) -> None:
        with self._lock:
            self.connections.discard(conn)

    def retire(self) -> None:
        """Stop accepting, tell the master (which starts a replacement), finish the requests
        under way, close idle connections, and exit."""
        with self._lock:
            if self.retiring:
                return
            self.retiring = True
        try:
            os.write(self.status_fd, b"r")
        except OSError:
            pass
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        # A connection accepted while retiring began is still being registered: wait for the
        # accept loop to end (it checks every 0.5 s), or the exit below could cut it unanswered.
        self.stopped_accepting.wait(timeout=5)
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            with self._lock:
                left = [c for c in self.connections if not c.dead]
            now = time.monotonic()
            fresh = [c for c in left if not c.served and now - c.opened < 5]
            for conn in left:
                if not conn.busy and conn not in fresh:
                    with conn.lock:
                        conn.dead = True
                    try:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            if not fresh and not any(c.busy for c in left):
                break
            time.sleep(0.05)
        sys.stderr.flush()
        os._exit(0)

    def serve_forever(self) -> None:
        self.listener.settimeout(0.5)
        while not self.retiring:
            try:
                sock, addr = self.listener.accept()
            except (TimeoutError, BlockingIOError, InterruptedError):
                continue
            except OSError:
                if self.retiring:
                    break
                time.sleep(0.05)
                continue
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, sock, addr)
            with self._lock:
                self.connections.add(conn)
                n = len(self.connections)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
            if n > 1:
                time.sleep(0.0005 * min(n, 20))  # let a less busy worker take the next one
        self.stopped_accepting.set()
        while True:  # _drain exits the process
            time.sleep(1)

    @staticmethod
    def _serve(conn: Connection) -> None:
        _local.conn = conn
        conn.serve()


# -- the worker process ------------------------------------------------------------------------


def worker_main(listen_fd: int, status_fd: int, settings: dict[str, Any]) -> None:
    """Entry point of an HTTP worker process (:func:`collectomics.workers.start`): serve on the
    listening socket ``listen_fd``, tell the master on the pipe ``status_fd`` when it has started
    and when it retires; ``settings``: the master's, as ``{"values": ..., "sources": ...}``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master stops us
    # Connection threads hand the GIL over at each recv, send and query; when one thread runs
    # Python the others wait at most this long (5 ms by default: long tail latencies).
    sys.setswitchinterval(0.001)
    # Queries run in the connection threads: a deep stack is a margin over the query limits
    # (querylimits), which were measured against the 8 MiB default. Untouched pages cost nothing.
    threading.stack_size(THREAD_STACK)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    resolved = Settings(dict(settings["values"]), dict(settings["sources"]))
    from collectomics.web import create_app

    listener = socket.socket(fileno=listen_fd)
    server_box: list[Server] = []

    def make_runner(handle: ReadOnlyStore) -> LocalRunner:
        watchdog = Watchdog(server_box[0], resolved.query_timeout)
        return LocalRunner(
            handle, watchdog, resolved.threads, limits_of(resolved), resolved.workers
        )

    server = Server(None, listener, resolved, status_fd)
    server_box.append(server)
    app = create_app(resolved, runner_factory=make_runner)
    from collectomics.web import _CORS

    server.cors = "".join(f"{k}: {v}\r\n" for k, v in _CORS.items()).encode("latin-1")
    server.app = app
    os.write(status_fd, b"s")  # started: a death from now on is a crash, not a failed start
    server.serve_forever()


# -- the master --------------------------------------------------------------------------------


#: Seconds between a crashed worker and its replacement: doubled for each crash that follows
#: the previous one within ``_CALM`` seconds, up to ``_MAX_BACKOFF``; never a reason to exit.
_FIRST_BACKOFF, _MAX_BACKOFF, _CALM = 0.1, 10.0, 30.0
#: Workers in a row that die before they start (a broken install or setting, not a request)
#: after which the master gives up.
_START_FAILURES = 5


class _Child:
    """An HTTP worker process (:func:`collectomics.workers.start`) and the read end of the pipe
    on which it says it has started (``s``) or retires (``r``)."""

    def __init__(self, listen_fd: int, settings: Any) -> None:
        read, write = os.pipe()
        try:
            self.worker = workers.start(
                "collectomics.web.server:worker_main",
                {
                    "listen_fd": listen_fd,
                    "status_fd": write,
                    "settings": {"values": settings.values, "sources": settings.sources},
                },
                pass_fds=[listen_fd, write],
                stdout=None,
            )
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self.process = self.worker.process
        self.status = read
        self.started = time.monotonic()
        self.ready = False  # it has started serving
        self.retiring = False


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _log(message: str) -> None:
    print(f"collectomics serve: {message}", file=sys.stderr, flush=True)


def serve_prefork(settings: Any, announce: Callable[[], None] | None = None) -> None:
    """Listen on the settings' host and port with ``workers`` HTTP worker processes, replacing
    each one that retires (after a timeout) or dies, until SIGINT or SIGTERM.

    A worker that dies while serving is replaced after a back-off that grows while crashes
    follow each other, and the master says why in its log; crashes never stop the master (the
    listening socket stays open, so clients wait rather than being refused). Only workers that
    keep dying before they start, which no request can cause, make it exit."""
    # Fail here, with the store's path, if there is no store (the master never queries).
    ReadOnlyStore(settings.store).get().close()
    listener = socket.create_server((settings.host, settings.port), backlog=1024)
    listener.set_inheritable(True)
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    selector = selectors.DefaultSelector()
    children: list[_Child] = []
    start_failures = 0
    backoff, last_crash = 0.0, -_CALM
    due: list[float] = []  # when replacements of crashed workers are to start

    def spawn() -> None:
        child = _Child(listener.fileno(), settings)
        children.append(child)
        selector.register(child.status, selectors.EVENT_READ, child)

    def ended(child: _Child) -> None:
        nonlocal start_failures, backoff, last_crash
        how = _how_it_ended(child.process.returncode)
        if not child.ready:
            start_failures += 1
            _log(f"an HTTP worker process (pid {child.process.pid}) failed to start ({how})")
            if start_failures >= _START_FAILURES:
                raise SystemExit(
                    f"the HTTP worker processes keep failing to start ({how}); see the log above"
                )
            due.append(time.monotonic() + 0.5 * start_failures)
            return
        now = time.monotonic()
        backoff = min(_MAX_BACKOFF, backoff * 2) if now - last_crash < _CALM else _FIRST_BACKOFF
        last_crash = now
        due.append(now + backoff)
        _log(
            f"HTTP worker process {child.process.pid} died ({how}) after "
            f"{now - child.started:.1f} s; the requests it held were cut; a new one starts in "
            f"{backoff:g} s"
        )

    for _ in range(max(1, settings.workers)):
        spawn()
    if announce is not None:
        announce()
    try:
        while not stopping.is_set():
            now = time.monotonic()
            for when in [d for d in due if d <= now]:
                due.remove(when)
                spawn()
            wait = min([0.5, *(d - now for d in due)])
            for key, _ in selector.select(timeout=max(0.0, wait)):
                child: _Child = key.data
                try:
                    data = os.read(child.status, 64)
                except OSError:
                    data = b""
                if b"s" in data:
                    child.ready = True
                    start_failures = 0
                if b"r" in data and not child.retiring:  # it retires: start its replacement now
                    child.retiring = True
                    spawn()
                if not data:
                    selector.unregister(child.status)
                    os.close(child.status)
                    child.process.wait()
                    children.remove(child)
                    if not child.retiring and not stopping.is_set():
                        ended(child)
    finally:
        for child in children:
            child.worker.terminate()
        for child in children:
            child.worker.stop(grace=10)
        listener.close()
