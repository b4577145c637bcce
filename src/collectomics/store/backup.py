"""Backups of the whole store: every current named graph (datasets, links, reviews, inferences)
as gzip-compressed N-Quads, with a manifest that lets ``restore`` refuse a damaged file.

A backup is one ``.nq.gz`` file that any N-Quads loader reads after ``gunzip`` (the manifest
lines are N-Quads comments)::

    # collectomics-backup {"format": 1, "collectomics": "...", "created": "...", "graphs": {...}}
    <s> <p> <o> <graph> .          one section per graph, in the manifest's order
    ...
    # collectomics-backup-end {"quads": N, "sha256": "..."}

``graphs`` counts the triples of each graph; ``sha256`` is that of every line between the two
comments. ``restore`` reads the file twice: first it checks the gzip stream, the checksum and
the counts without touching the store, then it replaces every graph and removes the graphs the
backup does not hold: on the embedded store all at once (a reader, or a restore killed half-way,
sees the old store or the restored one), on a remote store one graph at a time. The graphs are named by their logical
IRIs, so a restored store has one current version of each (the catalog is rebuilt as it loads).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from collectomics import __version__
from collectomics.errors import InputError, StoreError
from collectomics.store.base import Store

FORMAT = 1
HEAD = b"# collectomics-backup "
END = b"# collectomics-backup-end "
#: How much N-Triples text is handed to the store's loader at once.
_CHUNK = 1 << 20


@dataclass
class Manifest:
    """What a backup holds: triples per graph, who wrote it and when."""

    graphs: dict[str, int] = field(default_factory=dict)
    created: str = ""
    collectomics: str = __version__
    format: int = FORMAT

    @property
    def quads(self) -> int:
        return sum(self.graphs.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "collectomics": self.collectomics,
            "created": self.created,
            "quads": self.quads,
            "graphs": dict(self.graphs),
        }

    def summary(self) -> str:
        return f"{self.quads} quads in {len(self.graphs)} graphs (backup of {self.created})"


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Writer:
    """Compresses, hashes and counts the lines written to it."""

    def __init__(self, out: _Sink) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.lines = 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.sha.update(data)
        self.lines += data.count(b"\n")
        return len(data)

    def flush(self) -> None:
        pass


class _GraphLines:
    """Turns the N-Triples the serializer writes into N-Quads lines of one graph."""

    def __init__(self, out: _Writer, graph: str) -> None:
        self.out = out
        self.token = f" <{graph}> .\n".encode()
        self.carry = b""

    def write(self, data: bytes) -> int:
        text = self.carry + bytes(data)
        cut = text.rfind(b"\n") + 1
        self.carry = text[cut:]
        if cut:
            # Every N-Triples line ends with " .\n" and no line holds a raw newline, so each
            # " .\n" is a line's end: give it the graph.
            self.out.write(text[:cut].replace(b" .\n", self.token))
        return len(data)

    def flush(self) -> None:
        pass


def _graph_lines(store: Store, graph: str, out: _Writer) -> int:
    """Write ``graph`` as N-Quads lines; returns how many were written."""
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        default_graphs=[graph],
        default_graph_union=False,
    )
    before = out.lines
    lines = _GraphLines(out, graph)
    result.serialize("ntriples", lines)  # type: ignore[arg-type]
    if lines.carry:
        raise StoreError("the serializer wrote an unfinished line", graph=graph)
    return out.lines - before


def backup(store: Store, path: str | os.PathLike[str], *, overwrite: bool = False) -> Manifest:
    """Write every current graph of ``store`` to ``path`` (gzip N-Quads with a manifest).

    The file appears under its name only once it is complete: a backup that fails or is killed
    leaves at most a ``.partial`` file beside it. Open the store read-only so that the backup is
    one consistent snapshot while writers go on.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise InputError(
            "the backup file exists already; pass --force to overwrite it", file=str(target)
        )
    if target.is_dir():
        raise InputError("this is a directory; name the backup file", file=str(target))
    graphs = store.graphs()
    manifest = Manifest(
        {g: store.count(g) for g in graphs},
        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                head = {k: v for k, v in manifest.to_dict().items() if k != "quads"}
                gz.write(HEAD + json.dumps(head, ensure_ascii=True).encode() + b"\n")
                body = _Writer(gz)
                for graph in graphs:
                    written = _graph_lines(store, graph, body)
                    if written != manifest.graphs[graph]:
                        raise StoreError(
                            f"the graph changed during the backup ({manifest.graphs[graph]} "
                            f"triples counted, {written} written); open the store read-only",
                            graph=graph,
                        )
                end = {"quads": body.lines, "sha256": body.sha.hexdigest()}
                gz.write(END + json.dumps(end).encode() + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(
            f"cannot write the backup: {exc.strerror or exc}", file=str(target)
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


# -- reading -------------------------------------------------------------------------------------


def is_backup(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a backup (a gzip file), as opposed to a plain dump."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _bad(path: Path, reason: str, line: int | None = None) -> InputError:
    return InputError(
        f"not a complete collectomics backup: {reason}; nothing was changed",
        file=str(path),
        row=line,
    )


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The decompressed lines with their numbers; gzip damage becomes an InputError."""
    number = 0
    try:
        with gzip.open(path, "rb") as gz:
            for number, line in enumerate(gz, 1):  # noqa: B007 - used after the loop
                yield number, line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reason = (
            "the file is cut short" if isinstance(exc, EOFError) else f"damaged gzip data ({exc})"
        )
        raise _bad(path, reason, number + 1 or None) from None
    except OSError as exc:
        raise InputError(f"cannot read the backup: {exc.strerror or exc}", file=str(path)) from None


def _graph_of(line: bytes) -> str | None:
    """The graph IRI of an N-Quads line as ``backup`` writes it (``... <g> .``)."""
    if not line.endswith(b"> .\n"):
        return None
    start = line.rfind(b" <", 0, len(line) - 4)
    if start < 0:
        return None
    return line[start + 2 : len(line) - 4].decode("utf-8", "replace")


def _read_head(path: Path, line: bytes) -> Manifest:
    if not line.startswith(HEAD):
        raise _bad(path, "no manifest on the first line", 1)
    try:
        data = json.loads(line[len(HEAD) :])
        manifest = Manifest(
            {str(g): int(n) for g, n in data["graphs"].items()},
            str(data.get("created", "")),
            str(data.get("collectomics", "")),
            int(data["format"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _bad(path, "the manifest cannot be read", 1) from None
    if manifest.format != FORMAT:
        raise InputError(
            f"backup format {manifest.format} is not one this version reads ({FORMAT})",
            file=str(path),
        )
    return manifest


def verify(path: str | os.PathLike[str]) -> Manifest:
    """Check a backup completely (gzip stream, checksum, triples per graph) without loading it;
    InputError saying what is wrong and where, else its manifest."""
    path = Path(path)
    manifest: Manifest | None = None
    sha = hashlib.sha256()
    counts: dict[str, int] = {}
    current: str | None = None
    end: dict[str, object] | None = None
    for number, line in _lines(path):
        if manifest is None:
            manifest = _read_head(path, line)
            continue
        if end is not None:
            raise _bad(path, "data after the end line", number)
        if line.startswith(END):
            try:
                end = json.loads(line[len(END) :])
            except ValueError:
                raise _bad(path, "the end line cannot be read", number) from None
            continue
        graph = _graph_of(line)
        if graph is None:
            raise _bad(path, "a line that is not a quad in a named graph", number)
        if graph != current:
            if graph in counts:
                raise _bad(path, f"graph <{graph}> appears in two places", number)
            if graph not in manifest.graphs:
                raise _bad(path, f"graph <{graph}> is not in the manifest", number)
            current = graph
            counts[graph] = 0
        counts[graph] += 1
        sha.update(line)
    if manifest is None:
        raise _bad(path, "the file is empty")
    if end is None:
        raise _bad(path, "no end line (the file is cut short)")
    if end.get("sha256") != sha.hexdigest():
        raise _bad(path, "the checksum does not match the data")
    for graph, expected in manifest.graphs.items():
        if counts.get(graph, 0) != expected:
            raise _bad(
                path,
                f"graph <{graph}> holds {counts.get(graph, 0)} triples, the manifest says {expected}",
            )
    return manifest


def restore(store: Store, path: str | os.PathLike[str]) -> Manifest:
    """Make ``store`` hold exactly what the backup at ``path`` holds.

    The backup is verified first; a damaged one raises InputError and the store is not touched.
    Then every graph is replaced and graphs absent from the backup are removed, all in one
    switch where the store can stage versions (the embedded store), else graph by graph.
    Graphs derived from the others (the identity graph) come back as they were backed up: the
    caller refreshes them (``collectomics restore`` does), as after any other change.
    """
    path = Path(path)
    manifest = verify(path)
    lines = _lines(path)
    next(lines)  # the manifest
    pending: list[bytes] = []  # a line read ahead: the first of the next graph

    def section(graph: str) -> Iterator[bytes]:
        """The lines of ``graph``'s section."""
        token = f" <{graph}> .\n".encode()
        while True:
            if pending:
                line = pending.pop()
            else:
                try:
                    _, line = next(lines)
                except StopIteration:
                    return
            if not line.endswith(token):
                pending.append(line)
                return
            yield line

    def producer(graph: str) -> Callable[[IO[bytes]], None]:
        def produce(out: IO[bytes]) -> None:
            batch: list[bytes] = []
            size = 0
            for line in section(graph):
                batch.append(line)
                size += len(line)
                if size >= _CHUNK:
                    out.write(b"".join(batch))
                    batch, size = [], 0
            out.write(b"".join(batch))

        return produce

    # As N-Quads (flattened into each graph) the blank nodes keep their labels, so a graph that
    # shares a blank node with another still does after a restore. The embedded store stages
    # every graph and switches them all at once; a count that differs from the manifest's
    # stops the restore before anything is switched.
    store.replace_graphs_stream(
        [(graph, producer(graph)) for graph in manifest.graphs],
        "nquads",
        remove_others=True,
        expected=manifest.graphs,
    )
    return manifest
