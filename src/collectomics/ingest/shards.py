"""Map archives to N-Quads shards in parallel worker processes (``collectomics export --shards``).

The archive is walked in this process by the one walk ``ingest`` uses
(:class:`~collectomics.ingest.archive.ArchiveWalk`, in archive order); its batches go to N
worker processes (``forkserver`` context) or Dask tasks that each append what
:func:`~collectomics.ingest.batches.map_batch` returns to their own ``part-0000k.nq`` (or
``part-0000k.nq.gz``, gzip level 1, with ``compress="gzip"``), and
the walk's outcomes are applied in batch order, so that the report is the one ``ingest``
makes of the same files, problems in the same order. At the walk's barriers (before the
extensions, whose rows need the nodes of the loaded core records) the reader waits for every
batch sent before.

The workers send back the first description of each shared name-string agent; the reader
keeps the first of each in batch order, the one ingest keeps, and hands them to a worker to
write. Descriptions that are the same wherever they are made (GBIF source datasets, the
dataset node and its EML) may land in several shards: N-Quads are sets, so loading every shard
gives one graph all the same.

:func:`shard_dump` deals a store's own N-Quads dump into N files instead (``export --shards``
without ``--from``).
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import queue
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from collectomics.config import ReadLimits
from collectomics.errors import CollectomicsError, InputError
from collectomics.ingest.archive import (
    ArchiveWalk,
    Barrier,
    Note,
    Work,
    check_core,
    default_dataset_id,
    qualified,
)
from collectomics.ingest.batches import TRIPLES, Batch, Outcome, map_batch
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.pipeline import (
    DatasetSpec,
    dataset_node,
    file_kind,
    files_digest,
)
from collectomics.ingest.report import IngestReport
from collectomics.ingest.sink import streaming_gc
from collectomics.iri import Minter
from collectomics.mapping.common import Context, Triple
from collectomics.model import DatasetMetadata
from collectomics.store.bulkload import open_write

#: rows per batch sent to a worker
BATCH = 1000
#: the most shards one export may write
MAX_SHARDS = 256
#: what ``compress`` takes: shards written as they are, or gzipped (``.nq.gz``)
COMPRESSIONS = ("none", "gzip")

Applier = Callable[[int, list[Outcome], list[Triple]], None]


# --------------------------------------------------------------------------- the worker pool


def shard_name(index: int, compress: str | None = None) -> str:
    """``part-0000k.nq``, or ``part-0000k.nq.gz`` when gzipped: triplestore loaders (Virtuoso's
    ``ld_dir``, ``oxigraph load``, Jena's and GraphDB's) tell a gzipped file by that suffix."""
    return f"part-{index:05d}.nq" + (".gz" if compress == "gzip" else "")


def check_compress(compress: str | None) -> str | None:
    """``"gzip"`` or None (``"none"`` and None: uncompressed); InputError for anything else."""
    if compress in (None, "none"):
        return None
    if compress not in COMPRESSIONS:
        raise InputError(
            f"must be one of {', '.join(COMPRESSIONS)}, got {compress!r}", parameter="--compress"
        )
    return compress


def open_shard(path: str | Path, compress: str | None) -> IO[bytes]:
    """A shard file opened for writing, gzipped as ``load`` stages files
    (:func:`~collectomics.store.bulkload.open_write`)."""
    return open_write(path, compress == "gzip")


def _worker(index: int, path: str, compress: str | None, tasks: Any, results: Any) -> None:
    """One shard: map the batches it takes, append their N-Quads to its file, send back the
    outcomes. Runs until it takes None."""
    # per dataset: its Context (whose memo of agent names then lasts across batches) and the
    # shared nodes this shard has described
    contexts: dict[str, tuple[Context, set[object]]] = {}
    try:
        with streaming_gc(), open_shard(path, compress) as out:
            while (task := tasks.get()) is not None:
                seq, batch, dataset_id, minter = task
                if dataset_id not in contexts:  # mappers write their bulk as text, as in ingest
                    contexts[dataset_id] = (Context(dataset_id, minter, ntriples=True), set())
                ctx, described = contexts[dataset_id]
                result = map_batch(batch, ctx, described)
                out.write(result.text.encode("utf-8"))
                results.put(("ok", seq, result.quads, result.outcomes, result.once))
    except OSError as exc:
        results.put(("oserror", index, f"cannot write {path}: {exc.strerror or exc}"))
        return
    except BaseException:
        results.put(("failed", index, traceback.format_exc()))
        return
    results.put(("done", index))


class _Pool:
    """N worker processes, one shard file each, fed batches in order; what each batch means for
    the report is applied in submission order, interleaved with what the reader reports itself.
    """

    def __init__(
        self,
        out_dir: Path,
        shards: int,
        on_record: Callable[[int], None] | None,
        batch_size: int = BATCH,
        compress: str | None = None,
    ) -> None:
        self.batch_size = batch_size
        # forkserver (never plain fork from a process that may run threads); spawn where the
        # platform has no forkserver (Windows)
        mp: Any
        if "forkserver" in multiprocessing.get_all_start_methods():
            mp = multiprocessing.get_context("forkserver")
            mp.set_forkserver_preload(["collectomics.ingest.shards"])
        else:
            mp = multiprocessing.get_context("spawn")
        self.out_dir = out_dir
        self.tasks: Any = mp.Queue(maxsize=2 * shards)
        self.results: Any = mp.Queue()
        self.paths = [out_dir / (shard_name(i, compress) + ".partial") for i in range(shards)]
        self.procs = [
            mp.Process(
                target=_worker,
                args=(i, str(self.paths[i]), compress, self.tasks, self.results),
                name=f"collectomics-shard-{i}",
                daemon=True,
            )
            for i in range(shards)
        ]
        for proc in self.procs:
            proc.start()
        self.on_record = on_record
        self.seq = 0
        self.journal: deque[tuple[int | None, Callable[..., None]]] = deque()
        self.done: dict[int, tuple[int, list[Outcome], list[Triple]]] = {}
        self.finished: set[int] = set()

    def submit(self, batch: Batch, ctx: Context, apply: Applier) -> None:
        """Send a batch to the next free worker; ``apply(quads, outcomes, once)`` runs on its
        result after everything submitted or noted before it."""
        self.seq += 1
        self.journal.append((self.seq, apply))
        task = (self.seq, batch, ctx.dataset_id, ctx.minter)  # the worker keeps its own Context
        while True:
            try:
                self.tasks.put(task, timeout=0.5)
                break
            except queue.Full:
                self._collect(0.0)
        self._collect(0.0)

    def note(self, action: Callable[[], None]) -> None:
        """Run ``action`` (a count or a problem the reader found) in its place among the results."""
        self.journal.append((None, action))
        self._apply()

    def barrier(self) -> None:
        """Wait until every batch submitted so far is applied."""
        while self.journal:
            self._collect(0.5)

    def _apply(self) -> None:
        while self.journal:
            seq, action = self.journal[0]
            if seq is None:
                self.journal.popleft()
                action()
                continue
            if seq not in self.done:
                return
            self.journal.popleft()
            quads, outcomes, once = self.done.pop(seq)
            action(quads, outcomes, once)
            if self.on_record and outcomes:
                self.on_record(len(outcomes))

    def _collect(self, timeout: float) -> None:
        """Take the results that are in (waiting up to ``timeout`` for one); apply what can be."""
        try:
            message = self.results.get(timeout=timeout) if timeout else self.results.get_nowait()
        except queue.Empty:
            self._check_alive()
            return
        while True:
            self._take(message)
            try:
                message = self.results.get_nowait()
            except queue.Empty:
                break
        self._apply()

    def _take(self, message: tuple[Any, ...]) -> None:
        status, key, *rest = message
        if status == "ok":
            self.done[key] = (rest[0], rest[1], rest[2])
        elif status == "done":
            self.finished.add(key)
        elif status == "oserror":
            raise InputError(rest[0], file=str(self.paths[key]))
        else:
            raise CollectomicsError(f"shard worker {key} failed:\n{rest[0]}")

    def _check_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if i not in self.finished and not proc.is_alive() and proc.exitcode is not None:
                # it may have sent its last word just before exiting
                try:
                    while True:
                        self._take(self.results.get(timeout=0.2))
                except queue.Empty:
                    pass
                if i not in self.finished:
                    raise CollectomicsError(
                        f"shard worker {i} ({self.paths[i].name}) exited with code "
                        f"{proc.exitcode} (killed, or out of memory?)"
                    )
                self._apply()

    def close(self) -> list[Path]:
        """Let the workers finish, rename their files into place, return them."""
        self.barrier()
        for _ in self.procs:
            while True:
                try:
                    self.tasks.put(None, timeout=0.5)
                    break
                except queue.Full:
                    self._collect(0.0)
        while len(self.finished) < len(self.procs):
            self._collect(0.5)
        for proc in self.procs:
            proc.join()
        return _publish(self.paths)

    def abort(self) -> None:
        """Stop the workers and remove their unfinished files."""
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout=10)
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()
        for path in self.paths:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the Dask engine

#: in a Dask worker process: its shard's index, path, open file and per-dataset contexts
_SHARD: dict[str, Any] = {}
#: batches in flight per worker (the reader waits when all are busy)
IN_FLIGHT = 2


def dask_available() -> bool:
    """Whether ``dask.distributed`` is installed (the ``scale`` extra)."""
    return importlib.util.find_spec("distributed") is not None


def _dask_open(index: int, path: str, compress: str | None = None) -> int:
    """On a worker: open its shard file (``client.run`` calls this once per worker)."""
    _dask_close()
    _SHARD.update(index=index, path=path, out=open_shard(path, compress), contexts={})
    return index


def _dask_close() -> int | None:
    """On a worker: close its shard file; its index, or None when it had none."""
    out = _SHARD.pop("out", None)
    if out is not None:
        out.close()
    index = _SHARD.get("index")
    _SHARD.clear()
    return index


def _dask_map(seq: int, batch: Batch, dataset_id: str, minter: Minter) -> tuple[Any, ...]:
    """A Dask task: :func:`map_batch` on one batch, appended to this worker's shard; the same
    message a forkserver worker sends back (see :meth:`_Pool._take`)."""
    if "out" not in _SHARD:
        return ("failed", -1, "a mapping task ran on a worker that holds no shard file")
    contexts: dict[str, tuple[Context, set[object]]] = _SHARD["contexts"]
    if dataset_id not in contexts:  # mappers write their bulk as text, as in ingest
        contexts[dataset_id] = (Context(dataset_id, minter, ntriples=True), set())
    ctx, described = contexts[dataset_id]
    with streaming_gc():
        result = map_batch(batch, ctx, described)
    try:
        _SHARD["out"].write(result.text.encode("utf-8"))
    except OSError as exc:
        return ("oserror", _SHARD["index"], f"cannot write {_SHARD['path']}: {exc.strerror or exc}")
    return ("ok", seq, result.quads, result.outcomes, result.once)


class _DaskPool(_Pool):
    """The pool's contract (batches in, outcomes applied in submission order, one shard file
    per worker) on ``dask.distributed``: a ``LocalCluster`` of N single-threaded worker
    processes on 127.0.0.1, or the cluster of an existing scheduler (``scheduler``, an address
    such as ``tcp://10.0.0.5:8786``; its workers must see ``out_dir`` at the same path). Dask
    places each batch on a free worker; a worker appends to its own file."""

    def __init__(
        self,
        out_dir: Path,
        shards: int,
        on_record: Callable[[int], None] | None,
        batch_size: int = BATCH,
        scheduler: str | None = None,
        compress: str | None = None,
    ) -> None:
        distributed = importlib.import_module("distributed")
        self.batch_size = batch_size
        self.out_dir = out_dir
        self.on_record = on_record
        self.seq = 0
        self.journal = deque()
        self.done = {}
        self.finished = set()
        self.cluster: Any = None
        self.client: Any = None
        self.paths = []
        self.pending: dict[Any, int] = {}  # future -> seq
        self.wait = distributed.wait
        self.dask_config = importlib.import_module("dask").config
        try:
            if scheduler:
                self.client = distributed.Client(scheduler, timeout=30)
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=shards,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    memory_limit=0,  # a batch is small; let the OS, not the nanny, decide
                    # a worker's heartbeat that outlives the scheduler at shutdown logs a
                    # traceback at ERROR on a busy machine; task failures and lost workers
                    # reach us anyway (_collect, close), so only CRITICAL is printed
                    silence_logs=50,
                )
                self.client = distributed.Client(self.cluster)
            workers = sorted(self.client.scheduler_info()["workers"])
            if not workers:
                raise CollectomicsError(f"the Dask scheduler {scheduler} has no workers")
            self.workers = workers[:shards]  # a given cluster's first N (fewer if it has fewer)
            self.paths = [
                out_dir / (shard_name(i, compress) + ".partial") for i in range(len(self.workers))
            ]
            for i, address in enumerate(self.workers):
                self.client.run(_dask_open, i, str(self.paths[i]), compress, workers=[address])
        except BaseException:
            self.abort()
            raise

    def submit(self, batch: Batch, ctx: Context, apply: Applier) -> None:
        self.seq += 1
        self.journal.append((self.seq, apply))
        while len(self.pending) >= IN_FLIGHT * len(self.workers):
            self._collect(0.5)
        future = self.client.submit(
            _dask_map, self.seq, batch, ctx.dataset_id, ctx.minter,
            pure=False, workers=self.workers, allow_other_workers=False,
        )  # fmt: skip
        self.pending[future] = self.seq
        self._collect(0.0)

    def _collect(self, timeout: float) -> None:
        if not self.pending:
            self._apply()
            return
        ready = [f for f in self.pending if f.done()]
        if not ready and timeout:
            try:
                self.wait(list(self.pending), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            ready = [f for f in self.pending if f.done()]
        for future in ready:
            seq = self.pending.pop(future)
            if future.status != "finished":
                raise CollectomicsError(
                    f"a Dask task mapping batch {seq} failed: {future.exception()!r}"
                )
            self._take(future.result())
        self._apply()

    def _check_alive(self) -> None:
        pass  # Dask reschedules or fails the tasks of a worker that dies: see _collect

    def close(self) -> list[Path]:
        """Let every batch finish, close the shard files, stop the cluster, rename the files."""
        self.barrier()
        closed = self._run_close()
        for i, address in enumerate(self.workers):
            if closed.get(address) != i:  # gone, or restarted by its nanny without the file
                raise CollectomicsError(
                    f"shard worker {i} ({self.paths[i].name}, Dask worker {address}) was lost "
                    "(killed, or out of memory?): its shard may be incomplete"
                )
        self._shutdown()
        return _publish(self.paths)

    def _run_close(self) -> dict[str, Any]:
        """Close the shard files on the workers that are still there: {address: index}. A
        lost worker's address refuses connections; it is given 5 s, not Dask's 30."""
        alive = set(self.client.scheduler_info()["workers"])
        workers = [w for w in self.workers if w in alive]
        with self.dask_config.set({"distributed.comm.timeouts.connect": "5s"}):
            return dict(self.client.run(_dask_close, workers=workers, on_error="return"))

    def _shutdown(self) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing what failed to start: nothing left to stop
                    pass
        self.client = self.cluster = None

    def abort(self) -> None:
        """Cancel the tasks, stop the cluster (or leave a given scheduler's running), remove
        the unfinished files."""
        if self.client is not None:
            try:
                self.client.cancel(list(self.pending))
                self._run_close()
            except Exception:  # a worker that died cannot close its file: it is removed below
                pass
        self._shutdown()
        for path in self.paths:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the reader


class _Dataset:
    """One dataset's export: its context and report, and the shared descriptions (first one per
    node, in batch order, as ``ingest``'s Sink keeps them) still to be written."""

    def __init__(self, ctx: Context, report: IngestReport, pool: _Pool) -> None:
        self.ctx, self.report, self.pool = ctx, report, pool
        self.keys = SpecimenKeys(ctx.dataset_id, ctx.minter)
        self.described: set[object] = set()
        self.shared: list[Triple] = []

    def send(self, batch: Batch, apply: Callable[[list[Outcome]], None]) -> None:
        """Submit ``batch``; ``apply(outcomes)`` runs in order once its result is in."""
        if not batch.items:
            return

        def done(quads: int, outcomes: list[Outcome], once: list[Triple]) -> None:
            self.report.triples += quads
            if once:
                fresh = [t for t in once if t[0] not in self.described]
                self.shared.extend(fresh)
                self.described.update(t[0] for t in fresh)
            apply(outcomes)

        self.pool.submit(batch, self.ctx, done)
        if len(self.shared) >= 20 * self.pool.batch_size:
            self.flush()

    def flush(self) -> None:
        """Send the shared descriptions gathered so far to a worker."""
        if self.shared:
            triples, self.shared = self.shared, []
            self.send(Batch(TRIPLES, "", triples), lambda outcomes: None)


def check_archive(path: Path, encoding: str | None = None) -> None:
    """InputError, naming the file, when ``path`` is missing, not an archive or a Darwin Core
    record file, or an archive whose meta.xml or core cannot be read."""
    if not path.exists():
        raise InputError("no such file", file=str(path))
    kind = file_kind(path, encoding)
    if kind not in ("dwca", "specimens"):
        raise InputError(
            f"export --shards maps Darwin Core Archives and Darwin Core record files; this "
            f"is a {kind} file: load it with `collectomics ingest`",
            file=str(path),
        )
    with open_source(path, encoding=encoding) as arc:
        check_core(arc, path)


def _read_archive(
    path: Path, dataset: _Dataset, encoding: str | None, limits: ReadLimits | None
) -> DatasetMetadata | None:
    """The archive's walk, its batches mapped by the pool; its EML metadata."""
    pool = dataset.pool
    try:
        with open_source(path, encoding=encoding, limits=limits) as arc:
            walk = ArchiveWalk(
                arc, path, dataset.ctx, dataset.report, dataset.keys, pool.batch_size
            )
            for step in walk.steps():
                if isinstance(step, Work):
                    dataset.send(step.batch, step.apply)
                elif isinstance(step, Note):
                    pool.note(step.action)
                elif isinstance(step, Barrier):
                    pool.barrier()
            return walk.meta
    except InputError as exc:
        raise qualified(exc, path) from None


# --------------------------------------------------------------------------- the export


def check_shards(shards: int) -> None:
    """InputError unless 1 <= ``shards`` <= MAX_SHARDS."""
    if shards < 1 or shards > MAX_SHARDS:
        raise InputError(f"must be between 1 and {MAX_SHARDS}, got {shards}", parameter="--shards")


#: what ``export_shards(engine=...)`` takes
ENGINES = ("dask", "processes")


def check_engine(engine: str | None, scheduler: str | None = None) -> str:
    """The engine ``export_shards`` will use: ``engine`` checked, or Dask when installed."""
    if engine is None:
        engine = "dask" if dask_available() or scheduler else "processes"
    if engine not in ENGINES:
        raise InputError(
            f"must be one of {', '.join(ENGINES)}, got {engine!r}", parameter="--engine"
        )
    if engine == "dask" and not dask_available():
        raise InputError(
            "the Dask engine needs dask.distributed: pip install 'collectomics[scale]'",
            parameter="--engine",
        )
    if scheduler and engine != "dask":
        raise InputError("a scheduler address goes with the Dask engine", parameter="--scheduler")
    return engine


def prepare_out_dir(out_dir: Path, *, force: bool) -> None:
    """Create ``out_dir``, or empty it of earlier shards with ``force``; refuse a non-empty one."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a folder", file=str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not force:
            raise InputError(
                "the output folder is not empty; pass --force to replace the shards in it",
                file=str(out_dir),
            )
        for old in out_dir.glob("part-*.nq*"):
            old.unlink()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the folder: {exc.strerror or exc}", file=str(out_dir)
        ) from None


def export_shards(
    paths: Sequence[Path],
    out_dir: Path,
    shards: int,
    *,
    minter: Minter,
    dataset_id: str | None = None,
    force: bool = False,
    on_record: Callable[[int], None] | None = None,
    encoding: str | None = None,
    batch_size: int = BATCH,
    limits: ReadLimits | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    compress: str | None = None,
) -> tuple[list[IngestReport], list[Path]]:
    """Map archives (or Darwin Core CSV files) to ``shards`` N-Quads files in ``out_dir``.

    Datasets as ``ingest`` makes them: all ``paths`` as ``dataset_id`` if given, else one per
    file (its own id). Returns one report per dataset, with the counts and problems ``ingest``
    reports for the same files (``triples`` counts the quads written, shared descriptions
    repeated across shards included), and the shard files. Raises InputError before any work
    for a bad ``shards``, a non-empty ``out_dir`` without ``force``, or a file that is missing
    or not an archive; an archive that cannot be read stops the export and leaves no shards.
    ``batch_size`` rows go to a worker at a time; ``limits`` bound the reading as in ``ingest``.

    ``engine``: ``"dask"`` maps the batches as tasks of ``dask.distributed`` (a LocalCluster of
    ``shards`` worker processes, or the workers of the running ``scheduler`` given by address,
    one shard each); ``"processes"`` on this package's own forkserver pool; None (default):
    Dask when it is installed (the ``scale`` extra), else the pool. Either way worker processes
    are started: a script that calls this must guard its top level with
    ``if __name__ == "__main__":``.

    ``compress``: ``"gzip"`` writes ``part-0000k.nq.gz`` (gzip level 1, what every triplestore
    loader reads); None or ``"none"``: plain ``part-0000k.nq``.
    """
    check_shards(shards)
    engine = check_engine(engine, scheduler)
    compress = check_compress(compress)
    if not paths:
        raise InputError("no archive given", parameter="--from")
    for path in paths:
        check_archive(path, encoding)
    if dataset_id:
        specs = [DatasetSpec(dataset_id, tuple(paths))]
    else:
        specs = [DatasetSpec(default_dataset_id(p), (p,)) for p in paths]
    prepare_out_dir(out_dir, force=force)
    pool = (
        _DaskPool(out_dir, shards, on_record, batch_size, scheduler, compress)
        if engine == "dask"
        else _Pool(out_dir, shards, on_record, batch_size, compress)
    )
    reports = []
    try:
        with streaming_gc():  # the reader's tables grow by the record: no full collections
            for spec in specs:
                ctx = Context(spec.dataset_id, minter)
                graph = minter.graph(spec.dataset_id)
                report = IngestReport(spec.dataset_id, graph, [str(f) for f in spec.files])
                report.max_problems_per_file = (limits or ReadLimits()).max_problems_per_file
                dataset = _Dataset(ctx, report, pool)
                meta = DatasetMetadata()
                for path in spec.files:
                    meta = _read_archive(path, dataset, encoding, limits) or meta
                node = dataset_node(spec, ctx, files_digest(spec.files), meta)
                dataset.send(Batch(TRIPLES, "", node.triples), lambda outcomes: None)
                pool.barrier()
                dataset.flush()
                reports.append(report)
            files = pool.close()
    except BaseException:
        pool.abort()
        raise
    return reports, files


# --------------------------------------------------------------------------- a store's dump


class _LineDealer:
    """A binary stream that deals whole N-Quads lines out to several files: every line with a
    blank node to the first (a blank node means one node only within one file), the others in
    turn, a written block at a time."""

    def __init__(self, outs: list[Any]) -> None:
        self.outs = outs
        self.rest = b""
        self.turn = 0
        self.quads = 0

    def write(self, data: bytes) -> int:
        block = self.rest + bytes(data)
        cut = block.rfind(b"\n") + 1
        self.rest = block[cut:]
        self._deal(block[:cut])
        return len(data)

    def _deal(self, block: bytes) -> None:
        if not block:
            return
        self.quads += block.count(b"\n")
        if b"_:" in block:
            plain: list[bytes] = []
            blank: list[bytes] = []
            for line in block.splitlines(keepends=True):
                parts = line.split(b" ", 2)
                bnode = parts[0].startswith(b"_:") or (
                    len(parts) == 3 and parts[2].startswith(b"_:")
                )
                (blank if bnode else plain).append(line)
            self.outs[0].write(b"".join(blank))
            block = b"".join(plain)
        self.outs[self.turn].write(block)
        self.turn = (self.turn + 1) % len(self.outs)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.rest:
            self._deal(self.rest if self.rest.endswith(b"\n") else self.rest + b"\n")
            self.rest = b""


def shard_dump(
    dump: Callable[[Any], None],
    out_dir: Path,
    shards: int,
    *,
    force: bool = False,
    compress: str | None = None,
) -> tuple[int, list[Path]]:
    """Deal what ``dump(stream)`` writes (a store's N-Quads) into ``shards`` files in
    ``out_dir`` (gzipped with ``compress="gzip"``): (quads, files). Triples with blank nodes all
    go to the first file, so that each blank node stays one node when the files are loaded one
    by one."""
    check_shards(shards)
    compress = check_compress(compress)
    prepare_out_dir(out_dir, force=force)
    paths = [out_dir / (shard_name(i, compress) + ".partial") for i in range(shards)]
    outs = []
    try:
        for path in paths:
            outs.append(open_shard(path, compress))
        dealer = _LineDealer(outs)
        dump(dealer)
        dealer.close()
        for out in outs:
            out.close()
    except BaseException as exc:
        for out in outs:
            out.close()
        for path in paths:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write: {exc.strerror or exc}", file=str(out_dir)) from None
        raise
    final = [path.with_name(path.name.removesuffix(".partial")) for path in paths]
    for path, target in zip(paths, final, strict=True):
        path.replace(target)
    return dealer.quads, final


def _publish(paths: list[Path]) -> list[Path]:
    """Give each finished shard its final name (``.partial`` dropped); the final paths."""
    final = []
    for path in paths:
        target = path.with_name(path.name.removesuffix(".partial"))
        path.replace(target)
        final.append(target)
    return final
