"""Load N-Quads shards (``export --shards``) into a store, with the server's own bulk loader
where it has one (``collectomics load``).

A shard names the graph of every quad; a bulk loader puts a file's triples into one graph of
our choosing, the dataset's new physical version, which no query sees until the catalog names
it. So each shard is first written out as N-Triples, one file per graph it holds, into a
staging folder (a shard of one graph, what ``export --shards --from`` writes, is rewritten in
blocks with ``bytes.replace``; other shards are parsed), then loaded. A gzipped shard
(``.nq.gz``, ``export --shards --compress gzip``) is read as a gzip stream and staged gzipped
(``.nt.gz``, gzip -1), so a load never needs the uncompressed size on disk; every loader below
reads those files as they are (Virtuoso's natively, the others through a gzip stream):

- ``graph-store`` (the default): the store's own path, Graph Store POSTs for a remote store
  (:meth:`RemoteStore.post_files`), pyoxigraph's ``bulk_load`` for an embedded one;
- ``virtuoso``: Virtuoso's bulk loader (``ld_add`` + ``rdf_loader_run()`` in parallel sessions,
  then ``checkpoint``) through its ``isql`` client on the SQL port; the server reads the files
  itself, so the staging folder must be on its file system and under a directory of its
  ``DirsAllowed`` (virtuoso.ini);
- :func:`build_oxigraph_location`: an Oxigraph server's data directory built offline (before
  ``oxigraph serve`` opens it) with pyoxigraph's bulk loader.

In every case all graphs of the load become current at once and a failure leaves the previous
versions current, as a replace does.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit

from collectomics.config import Settings
from collectomics.errors import InputError, StoreError
from collectomics.store.base import Source, Store
from collectomics.store.embedded import build_server_store, split_nquads
from collectomics.store.remote import RemoteStore, line_blocks

#: The loaders ``load`` can use (setting ``store_bulk_loader``).
LOADERS = ("graph-store", "virtuoso")
#: Bytes of a shard rewritten at a time.
BLOCK = 1 << 22
#: Called with the step ("stage": bytes of shards read; "load": files loaded), done and total.
Progress = Callable[[str, int, int], None]
#: gzip level of shards and staged files (the fastest: each is one pass over every quad; on
#: these files ~16x smaller, docs/scaling.md)
GZIP_LEVEL = 1


@dataclass
class Staged:
    """Shards written out as N-Triples, one file per (shard, graph)."""

    folder: Path
    #: graph -> its N-Triples files, in shard order
    parts: dict[str, list[Path]] = field(default_factory=dict)
    #: staged file -> the shard it came from
    origin: dict[Path, Path] = field(default_factory=dict)
    #: graph -> triples staged (lines; a triple repeated across shards counts each time)
    triples: dict[str, int] = field(default_factory=dict)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def shard_files(paths: Sequence[Path]) -> list[Path]:
    """The shards that ``paths`` name: files as given, folders as their ``part-*.nq`` and
    ``part-*.nq.gz`` files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            parts = sorted([*path.glob("part-*.nq"), *path.glob("part-*.nq.gz")])
            if not parts:
                raise InputError(
                    "no shards (part-*.nq or part-*.nq.gz) in this folder", file=str(path)
                )
            found.extend(parts)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError("no such file or folder", file=str(path))
    return found


def _graph_tail(block: bytes) -> bytes | None:
    """`` <graph> .\\n`` as the first line of ``block`` ends, if that line is a quad in a named
    graph (checked by parsing it)."""
    end = block.find(b"\n") + 1
    first = block[:end]
    if not first.endswith(b"> .\n"):
        return None
    start = first.rfind(b" <")
    if start < 0:
        return None
    try:
        graphs = split_nquads(first)
    except StoreError:
        return None
    tail = first[start:]
    return tail if list(graphs) == [tail[2:-4].decode("utf-8", "replace")] else None


def is_gzipped(path: Path | str) -> bool:
    """Whether a shard or staged file is gzipped: by its name, as the loaders tell."""
    return str(path).endswith(".gz")


def open_write(path: Path | str, gzipped: bool) -> IO[bytes]:
    """A shard or staged file opened for writing: plain, or a gzip stream at :data:`GZIP_LEVEL`
    with no timestamp in its header (the same quads give the same bytes)."""
    if gzipped:
        return cast(IO[bytes], gzip.GzipFile(path, "wb", compresslevel=GZIP_LEVEL, mtime=0))
    return open(path, "wb", buffering=1 << 20)


def open_read(path: Path | str) -> IO[bytes]:
    """A shard or staged file opened for reading, through a gzip stream when gzipped."""
    if is_gzipped(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def _shard_blocks(shard: Path, raw: IO[bytes]) -> Iterator[bytes]:
    """The shard open as ``raw`` in blocks of whole lines, decompressed when gzipped; a gzip
    stream that is corrupt or cut short is an InputError naming the shard."""
    if not is_gzipped(shard):
        yield from line_blocks(raw, BLOCK)
        return
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
            yield from line_blocks(handle, BLOCK)  # type: ignore[arg-type]
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"not a whole gzip file (corrupt, or cut short?): {exc}; nothing was loaded",
            file=str(shard),
        ) from None


def _check_whole_gzip(shard: Path) -> None:
    """Raise _shard_blocks's InputError if ``shard`` is gzipped and its stream is corrupt: a
    damaged deflate stream can decompress to text the parser rejects before gzip's checksum at
    the end of the stream finds the damage, and the parse error would then name the wrong
    fault. Reads the whole stream; called only once a shard has already failed."""
    if is_gzipped(shard):
        with shard.open("rb") as raw:
            for _ in _shard_blocks(shard, raw):
                pass


class _ShardOut:
    """The N-Triples files of one shard, one per graph, opened as graphs appear; gzipped
    (``.nt.gz``) when the shard is."""

    def __init__(self, staged: Staged, shard: Path, index: int) -> None:
        self.staged, self.shard, self.index = staged, shard, index
        self.files: dict[str, Any] = {}
        self.gzipped = is_gzipped(shard)

    def write(self, graph: str, text: bytes) -> None:
        out = self.files.get(graph)
        if out is None:
            stem = Path(self.shard.name.removesuffix(".gz")).stem
            name = f"{self.index:05d}-{stem}-g{len(self.files)}.nt"
            path = self.staged.folder / (name + ".gz" if self.gzipped else name)
            out = self.files[graph] = open_write(path, self.gzipped)
            self.staged.parts.setdefault(graph, []).append(path)
            self.staged.origin[path] = self.shard
        out.write(text)
        self.staged.triples[graph] = self.staged.triples.get(graph, 0) + text.count(b"\n")

    def block(self, block: bytes, line: int) -> None:
        """One block of whole lines, its first line numbered ``line`` in the shard."""
        tail = _graph_tail(block)
        if tail is not None and block.count(tail) == block.count(b"\n"):
            self.write(tail[2:-4].decode("utf-8"), block.replace(tail, b" .\n"))
            return
        try:
            for graph, text in split_nquads(block, first_line=line).items():
                self.write(graph, text)
        except StoreError as exc:
            where = exc.context.get("line")
            raise InputError(
                exc.message, file=str(self.shard), row=where if isinstance(where, int) else None
            ) from None

    def close(self) -> None:
        for out in self.files.values():
            out.close()


def stage_shards(
    shards: Sequence[Path], folder: Path, *, on_progress: Progress | None = None
) -> Staged:
    """Write each shard's quads as N-Triples, one file per graph, into ``folder`` (made here);
    a gzipped shard (``.gz``) is read through gzip and staged gzipped (``.nt.gz``).
    A block whose every line ends in the same graph (a shard of one dataset) is rewritten as
    it is, line for line, so a loader's line numbers are the shard's; other blocks are parsed.
    InputError, naming the shard and line, for a syntax error the parser finds, a triple
    outside any named graph, or a gzip stream that is corrupt or cut short; the folder is then
    removed. Progress counts the shards' bytes on disk (compressed, when they are)."""
    folder.mkdir(parents=True, exist_ok=False)
    staged = Staged(folder)
    total = sum(s.stat().st_size for s in shards)
    before = 0
    try:
        for index, shard in enumerate(shards):
            out = _ShardOut(staged, shard, index)
            line = 1
            try:
                with shard.open("rb") as raw:
                    for block in _shard_blocks(shard, raw):
                        out.block(block, line)
                        line += block.count(b"\n")
                        if on_progress:
                            on_progress("stage", min(before + raw.tell(), total), total)
            except InputError:
                _check_whole_gzip(shard)  # garbage from a corrupt stream is the gzip's fault
                raise
            finally:
                out.close()
            before += shard.stat().st_size
    except BaseException:
        staged.remove()
        raise
    return staged


# -- Virtuoso ------------------------------------------------------------------------------------

_ERROR = re.compile(r"^\*\*\* Error (?P<code>\S+): (?P<message>.*)$", re.M)


def _sql_string(value: str) -> str:
    """A SQL string literal for isql's ``exec=``: quotes doubled; characters that could end a
    statement or a line refused."""
    if re.search(r"[;\n\r\x00]", value):
        raise StoreError(f"a path or graph the bulk loader cannot name: {value!r}")
    return "'" + value.replace("'", "''") + "'"


class VirtuosoLoader:
    """Virtuoso's bulk loader, driven through ``isql`` on its SQL port (``HOST:PORT``, 1111 by
    default) as ``user`` (who may run ``ld_add``, ``rdf_loader_run`` and ``checkpoint``: dba).

    Called with (file, graph) pairs: registers each file with ``ld_add`` (the server's
    ``DB.DBA.load_list``), runs ``rdf_loader_run()`` in ``loaders`` sessions at once, reads
    back each file's ``ll_error``, removes the files from the list, and runs ``checkpoint``
    (the loader writes no transaction log). A file that failed raises one StoreError with the
    file and the loader's message. Note that ``rdf_loader_run`` also loads files others left
    waiting in the list."""

    def __init__(
        self,
        sql: str,
        *,
        user: str = "dba",
        password: str = "",
        loaders: int = 2,
        isql: str | None = None,
        on_progress: Progress | None = None,
        poll: float = 0.5,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", sql or ""):
            raise StoreError(
                "Virtuoso's SQL port is named HOST:PORT (setting store_sql)", store_sql=sql
            )
        self.sql = sql
        self.user, self.password = user, password
        self.loaders = max(1, loaders)
        found = isql or shutil.which("isql-vt") or shutil.which("isql")
        if not found:
            raise StoreError(
                "Virtuoso's isql client is not installed (Debian: isql-vt, in "
                "virtuoso-opensource); the virtuoso loader runs through it"
            )
        self.isql = found
        self.on_progress = on_progress
        self.poll = poll

    def _command(self, sql: str | None = None) -> list[str]:
        quiet = ["VERBOSE=OFF", "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF"]
        exec_ = [f"exec={sql}"] if sql is not None else []
        return [self.isql, self.sql, self.user, self.password, *quiet, *exec_]

    def run(self, sql: str) -> list[str]:
        """Run SQL statements (each ending in ``;``, one a line), read by isql from its
        standard input (an ``exec=`` argument is cut short past a few kilobytes); their result
        rows, one line each. StoreError on any error."""
        try:
            done = subprocess.run(self._command(), input=sql + "\n", capture_output=True, text=True)
        except OSError as exc:
            raise StoreError(f"cannot run {self.isql}: {exc}") from None
        out = done.stdout + done.stderr
        error = _ERROR.search(out)
        if error or done.returncode != 0:
            message = error.group("message") if error else out.strip()[-300:]
            if "connect" in message.lower() or "login" in message.lower():
                raise StoreError(
                    f"cannot log in to Virtuoso's SQL port {self.sql} as {self.user}: {message}"
                )
            raise StoreError(f"Virtuoso refused the bulk loader's SQL: {message}")
        return [line.rstrip() for line in done.stdout.splitlines() if line.strip()]

    def check(self) -> None:
        """StoreError unless isql can log in (before anything is staged or loaded)."""
        self.run("select 1;")

    def __call__(self, assignments: Sequence[tuple[Path, str]]) -> None:
        files = [(str(Path(f).resolve()), graph) for f, graph in assignments]
        if not files:
            return
        # the files by their folders (a load stages into one new folder): short SQL whatever
        # the number of files
        folders = sorted({str(Path(f).parent) for f, _ in files})
        names = " or ".join(f"ll_file like {_sql_string(folder + '/%')}" for folder in folders)
        for start in range(0, len(files), 200):
            batch = files[start : start + 200]
            self.run("\n".join(f"ld_add({_sql_string(f)}, {_sql_string(g)});" for f, g in batch))
        try:
            self._run_loaders(names, len(files))
            failed = self.run(
                "select concat(ll_file, '\t', ll_error) from DB.DBA.load_list "
                f"where ({names}) and ll_error is not null;"
            )
            pending = self.run(
                f"select count(*) from DB.DBA.load_list where ({names}) and ll_state <> 2;"
            )
        finally:
            self.run(f"delete from DB.DBA.load_list where {names};")
        if failed:
            file, _, message = failed[0].partition("\t")
            if "FA003" in message:
                message += (
                    f" (add {Path(file).parent} or a folder above it to DirsAllowed in "
                    "virtuoso.ini, or set store_bulk_dir to such a folder)"
                )
            more = f"; {len(failed) - 1} more files failed" if len(failed) > 1 else ""
            raise StoreError(f"Virtuoso's bulk loader failed: {message}{more}", file=file)
        if pending and pending[0].strip() not in ("0", ""):
            raise StoreError(
                f"Virtuoso's bulk loader left {pending[0].strip()} files unloaded "
                "(the server stopped?)"
            )
        self.run("checkpoint;")
        if self.on_progress:
            self.on_progress("load", len(files), len(files))

    def _run_loaders(self, names: str, total: int) -> None:
        procs = [
            subprocess.Popen(
                self._command("rdf_loader_run();"),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(self.loaders)
        ]
        try:
            while any(p.poll() is None for p in procs):
                time.sleep(self.poll)
                if self.on_progress:
                    done = self.run(
                        f"select count(*) from DB.DBA.load_list where ({names}) and ll_state = 2;"
                    )
                    self.on_progress("load", int(done[0]) if done else 0, total)
        finally:
            outputs = []
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                out, _ = p.communicate()
                outputs.append(out)
        for out in outputs:
            error = _ERROR.search(out or "")
            if error:
                raise StoreError(f"Virtuoso's rdf_loader_run() failed: {error.group('message')}")


# -- the load ------------------------------------------------------------------------------------


def _origin_error(exc: StoreError, staged: Staged) -> StoreError:
    """``exc`` naming the shard that a staged file came from (in its context and its message),
    instead of the staged file."""
    message, context = exc.message, dict(exc.context)
    origin = None
    named = context.get("file")
    for staged_file, shard in staged.origin.items():
        if named is not None and Path(str(named)).resolve() == staged_file.resolve():
            origin = shard
        if str(staged_file) in message or staged_file.name in message:
            message = message.replace(str(staged_file), str(shard))
            message = message.replace(staged_file.name, shard.name)
            origin = origin or shard
    if origin is None:
        return exc
    context["file"] = str(origin)
    return StoreError(message, **context)


def _refuse_existing(existing: set[str], replace: bool) -> None:
    if existing and not replace:
        raise InputError(
            f"the shards hold {len(existing)} graph(s) already in the store ("
            + ", ".join(sorted(existing)[:3])
            + "); pass --replace to replace them"
        )


def load_shards(
    store: Store,
    shards: Sequence[Path],
    *,
    loader: str = "graph-store",
    replace: bool = False,
    stage_dir: Path | None = None,
    virtuoso: VirtuosoLoader | None = None,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """Load N-Quads shards into ``store``, replacing each graph they name (all of them at once
    on a remote store); returns the triples of each graph after the load.

    ``loader``: ``"graph-store"`` (the store's own path) or ``"virtuoso"`` (``virtuoso``'s
    bulk loader; ``store`` must be a RemoteStore on that server). The shards are staged as
    N-Triples in a new folder under ``stage_dir`` (default: the first shard's folder), removed
    afterwards; for Virtuoso that folder must be one the server may read (DirsAllowed). Without
    ``replace``, a graph already in the store is refused before anything is loaded. A shard
    that fails raises one error naming it; the graphs' previous versions stay current."""
    if loader not in LOADERS:
        raise InputError(
            f"unknown bulk loader {loader!r}: one of {', '.join(LOADERS)}",
            parameter="store_bulk_loader",
        )
    if loader == "virtuoso":
        if not isinstance(store, RemoteStore):
            raise InputError(
                "the virtuoso loader loads into a Virtuoso server: set store to "
                "sparql+http://HOST:PORT/sparql",
                parameter="store_bulk_loader",
            )
        if virtuoso is None:
            raise InputError("the virtuoso loader needs store_sql", parameter="store_sql")
        virtuoso.check()
    shards = shard_files(shards)
    staged = _stage(shards, stage_dir, on_progress)
    try:
        _refuse_existing(set(store.graphs()) & set(staged.parts), replace)
        try:
            if isinstance(store, RemoteStore):
                load = virtuoso if loader == "virtuoso" else _posting(store, on_progress)
                assert load is not None
                return store.replace_graphs_bulk(staged.parts, load)
            counts = {}
            done = 0
            total = sum(len(files) for files in staged.parts.values())
            for graph, files in staged.parts.items():
                reading: list[str] = []  # the gzipped file read last
                with ExitStack() as opened:  # gzipped files as streams pyoxigraph reads
                    streams = [opened.enter_context(_Stream(file, reading)) for file in files]
                    parts: list[tuple[Source, str]] = [
                        (cast(IO[bytes], s) if s.gzipped else s.path, "ntriples") for s in streams
                    ]
                    try:
                        counts[graph] = store.replace_graph_parts(graph, parts, lenient=True)
                    except StoreError as exc:
                        if "file" in exc.context or not reading:
                            raise
                        raise StoreError(exc.message, **exc.context, file=reading[-1]) from None
                done += len(files)
                if on_progress:
                    on_progress("load", done, total)
            return counts
        except StoreError as exc:
            raise _origin_error(exc, staged) from None
    finally:
        staged.remove()


class _Stream:
    """A staged file for the embedded store: its path, or a gzip stream over it, opened on
    the first read, that appends its path to ``reading`` as it is read (so an error can name
    the file being loaded)."""

    def __init__(self, path: Path, reading: list[str]) -> None:
        self.path, self.gzipped, self.reading = path, is_gzipped(path), reading
        self.handle: IO[bytes] | None = None

    def read(self, size: int = -1) -> bytes:
        if self.handle is None:
            self.handle = open_read(self.path)
        if not self.reading or self.reading[-1] != str(self.path):
            self.reading.append(str(self.path))
        return self.handle.read(size)

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _stage(shards: Sequence[Path], stage_dir: Path | None, on_progress: Progress | None) -> Staged:
    parent = stage_dir or shards[0].parent
    if not parent.is_dir():
        raise InputError("the staging folder does not exist", file=str(parent))
    folder = Path(tempfile.mkdtemp(prefix=".collectomics-load-", dir=parent))
    folder.rmdir()  # made again by stage_shards: a fresh, unique name
    return stage_shards(shards, folder, on_progress=on_progress)


def _posting(store: RemoteStore, on_progress: Progress | None) -> Callable[..., None]:
    def load(assignments: Sequence[tuple[Path, str]]) -> None:
        for done, (file, physical) in enumerate(assignments, 1):
            try:
                store.post_files(physical, [file])
            except StoreError as exc:
                raise StoreError(exc.message, file=str(file), **exc.context) from None
            if on_progress:
                on_progress("load", done, len(assignments))

    return load


def build_oxigraph_location(
    location: Path,
    shards: Sequence[Path],
    *,
    replace: bool = False,
    stage_dir: Path | None = None,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """Load shards into the data directory of an Oxigraph server that is not running (made if
    missing), as ``oxigraph load`` would, with the catalog a RemoteStore reads: then
    ``oxigraph serve --location LOCATION`` serves the datasets to ``serve`` and ``query``.
    All graphs become current at once; a shard that fails leaves the previous versions
    current and raises one error naming it."""
    shards = shard_files(shards)
    staged = _stage(shards, stage_dir, on_progress)
    try:
        total = sum(len(files) for files in staged.parts.values())
        done = [0]

        def on_file(_file: object) -> None:
            done[0] += 1
            if on_progress:
                on_progress("load", done[0], total)

        try:
            return build_server_store(location, staged.parts, replace=replace, on_file=on_file)
        except StoreError as exc:
            raise _origin_error(exc, staged) from None
    finally:
        staged.remove()


def load_with_settings(
    store: Store,
    shards: Sequence[Path],
    settings: Settings,
    *,
    loader: str | None = None,
    replace: bool = False,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """:func:`load_shards` with the loader, staging folder and Virtuoso login that the
    settings name (``store_bulk_loader``, ``store_bulk_dir``, ``store_sql``...); ``loader``
    overrides ``store_bulk_loader``."""
    loader = loader or settings.store_bulk_loader
    stage = Path(settings.store_bulk_dir) if settings.store_bulk_dir else None
    virtuoso = None
    if loader == "virtuoso" and isinstance(store, RemoteStore):
        sql = settings.store_sql or f"{urlsplit(store.query_url).hostname}:1111"
        virtuoso = VirtuosoLoader(
            sql,
            user=settings.store_sql_user,
            password=settings.store_sql_password,
            loaders=settings.store_bulk_loaders,
            on_progress=on_progress,
        )
    return load_shards(
        store,
        shards,
        loader=loader,
        replace=replace,
        stage_dir=stage,
        virtuoso=virtuoso,
        on_progress=on_progress,
    )
