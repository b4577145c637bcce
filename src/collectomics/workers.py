"""Worker processes, started one way: ``python -P -m collectomics.workers MODULE:FUNCTION``, the
function's arguments as JSON on standard input.

The endpoint's query workers, the HTTP worker processes of ``collectomics serve`` and the
builder of the shared reconciliation index all start here, under the same rules:

- a fresh interpreter (``sys.executable``), never a fork of a process that may run threads; it
  imports the function's module, not the parent's ``__main__``, and ``-P`` keeps the current
  directory off its ``sys.path`` (what runs is the installed library, not a file that happens
  to sit where the server was started);
- the parent's environment; of its file descriptors, those in ``pass_fds`` only; standard
  output to ``/dev/null`` unless asked (a worker reports on its channel, its pipe or stderr);
- the arguments as JSON, never pickle: a pickle read from a pipe runs whatever code it names,
  should anything else write to that pipe. :func:`pack` and :func:`unpack` carry JSON and the
  kernel's values (IRIs, blank nodes, literals, a :class:`~collectomics.iri.Minter`) under a
  tag, and nothing else, both for the start and for messages on a channel;
- the function is a ``collectomics`` one (:func:`resolve_function`), whoever names it;
- by default a worker leads a process group of its own, so a Ctrl-C at the terminal reaches its
  parent only, which stops its workers itself, and :meth:`Worker.kill` ends the worker with any
  process it started in its group; and it exits when its parent has gone (killed, or retired
  with ``os._exit``): an idle worker would see its pipe close, a busy one would work on for
  nobody and hold its files, its port or its CPU.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from collectomics.iri import Minter
from collectomics.model import IRI, BNode, Literal

#: The module every worker process runs (``python -m``).
ENTRY = "collectomics.workers"
#: Seconds between two looks at whether a worker's parent is still there.
ORPHAN_POLL = 0.5
#: Exit status of a worker that could not read its start (a bad payload or function name).
BAD_START = 2


def resolve_function(spec: str) -> Callable[..., Any]:
    """The function named ``module:name``, only under ``collectomics`` (a worker runs nothing
    else, whoever names it)."""
    module, _, name = spec.partition(":")
    if not module.startswith("collectomics.") or not name:
        raise ValueError(f"not a collectomics library function: {spec!r}")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise ValueError(f"{spec!r} is not a function")
    return fn  # type: ignore[no-any-return]


# -- the wire: JSON, with the kernel's values under a tag ------------------------------------------

_TAGS = ("$iri", "$bnode", "$literal", "$minter", "$dict")


def encode(value: Any) -> Any:
    """``value`` as plain JSON data: IRIs, blank nodes, literals and minters become one-key
    objects with a ``$`` tag, tuples lists; TypeError names any other type (it cannot cross)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, IRI):
        return {"$iri": str(value)}
    if isinstance(value, BNode):
        return {"$bnode": str(value)}
    if isinstance(value, str):
        return value
    if isinstance(value, Literal):
        return {"$literal": [value.value, value.datatype, value.lang]}
    if isinstance(value, Minter):
        return {"$minter": value.base}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise TypeError(f"a key of type {type(key).__name__} cannot cross to a worker")
            out[key] = encode(v)
        # a mapping whose own key looks like a tag is wrapped, so that it decodes as itself
        return {"$dict": out} if any(k.startswith("$") for k in out) else out
    raise TypeError(f"a {type(value).__name__} cannot cross to a worker process as JSON")


def decode(value: Any) -> Any:
    """The value :func:`encode` gave ``value`` for; ValueError for an unknown tag."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag.startswith("$"):
            if tag == "$iri":
                return IRI(inner)
            if tag == "$bnode":
                return BNode(inner)
            if tag == "$literal":
                text, datatype, lang = inner
                return Literal(text, datatype, lang)
            if tag == "$minter":
                return Minter(inner)
            if tag == "$dict":
                return {k: decode(v) for k, v in inner.items()}
            raise ValueError(f"an unknown tag in a worker message: {tag!r}")
    return {k: decode(v) for k, v in value.items()}


def pack(value: Any) -> bytes:
    """``value`` as UTF-8 JSON (:func:`encode`)."""
    return json.dumps(encode(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unpack(data: bytes) -> Any:
    """The value :func:`pack` wrote; ValueError if ``data`` is not such JSON."""
    return decode(json.loads(data))


# -- the parent's side -------------------------------------------------------------------------


class Worker:
    """A started worker process: its ``process`` (a Popen) and, when asked for, the parent's end
    of a channel (a :class:`~multiprocessing.connection.Connection`: bytes messages, pickle
    never used; send :func:`pack` ed values)."""

    def __init__(
        self, process: subprocess.Popen[bytes], channel: Connection | None, group: bool
    ) -> None:
        self.process = process
        self._channel = channel
        self.group = group  # it leads a process group of its own

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def channel(self) -> Connection:
        if self._channel is None:
            raise ValueError("this worker was started without a channel")
        return self._channel

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process.returncode is not None:  # reaped: its pid may be another's by now
            return
        try:
            if self.group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        """SIGTERM to the worker (and its group)."""
        self._signal(signal.SIGTERM)

    def kill(self, wait: float = 30.0) -> None:
        """SIGKILL to the worker (and its group), await its end up to ``wait`` seconds, close
        the channel."""
        self._signal(signal.SIGKILL)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
        if self._channel is not None:
            self._channel.close()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds."""
        self.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()


def start(
    function: str,
    payload: Mapping[str, Any] | None = None,
    *,
    pass_fds: Sequence[int] = (),
    channel: bool = False,
    group: bool = True,
    die_with_parent: bool = True,
    stdout: int | None = subprocess.DEVNULL,
) -> Worker:
    """Start ``python -P -m collectomics.workers FUNCTION`` to run ``function(**payload)``
    (``module:name`` under ``collectomics``); its exit status is what the function returns (an
    int; None: 0).

    ``pass_fds``: descriptors the worker inherits (it gets their numbers in ``payload``).
    ``channel``: a socket pair between the two, the worker's end given to the function as
    ``channel=`` (a Connection), the parent's as :attr:`Worker.channel`. ``group``: the worker
    leads a process group of its own. ``die_with_parent``: it exits when this process has gone.
    ``stdout``: where its standard output goes (None: this process's). TypeError before any
    process starts when ``payload`` cannot cross as JSON; OSError when no process can start."""
    envelope: dict[str, Any] = {
        "payload": dict(payload or {}),
        "parent": os.getpid() if die_with_parent else None,
        "channel": None,
    }
    data = pack(envelope)  # first: a payload that cannot cross starts nothing
    fds = list(pass_fds)
    ours: socket.socket | None = None
    theirs: socket.socket | None = None
    if channel:
        ours, theirs = socket.socketpair()
        fds.append(theirs.fileno())
        envelope["channel"] = theirs.fileno()
        data = pack(envelope)
    try:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", ENTRY, function],
            stdin=subprocess.PIPE,
            stdout=stdout,
            pass_fds=fds,
            process_group=0 if group else None,
        )
    except BaseException:
        if ours is not None and theirs is not None:
            ours.close()
            theirs.close()
        raise
    conn: Connection | None = None
    if ours is not None and theirs is not None:
        theirs.close()
        conn = Connection(ours.detach())
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except BrokenPipeError:  # it died at once: its parent sees that as it reads its end
        pass
    return Worker(process, conn, group)


# -- the worker's side -------------------------------------------------------------------------


def _orphan_watch(parent: int) -> None:
    """Exit when ``parent`` is no longer this process's parent."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(ORPHAN_POLL)


def main(argv: Sequence[str]) -> int:
    """A worker process: read the start from stdin, run the function, exit with its status."""
    if len(argv) != 1:
        print(f"usage: python -m {ENTRY} MODULE:FUNCTION < payload.json", file=sys.stderr)
        return BAD_START
    try:
        envelope = unpack(sys.stdin.buffer.read())
        payload = envelope["payload"]
        if envelope.get("parent") is not None:
            threading.Thread(target=_orphan_watch, args=(envelope["parent"],), daemon=True).start()
        fn = resolve_function(argv[0])
    except (ValueError, KeyError, TypeError, ImportError, AttributeError) as exc:
        print(f"worker {argv[0]}: cannot start: {exc}", file=sys.stderr)
        return BAD_START
    if envelope.get("channel") is not None:
        payload["channel"] = Connection(envelope["channel"])
    result = fn(**payload)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    # run by the library's own module object, not this __main__ copy of it
    from collectomics import workers

    sys.exit(workers.main(sys.argv[1:]))
