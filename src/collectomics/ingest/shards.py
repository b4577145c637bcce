"""Map archives to N-Quads shards in parallel worker processes (``collectomics export --shards``).

Two halves:

- :func:`map_batch` is the per-record step as a pure function over one batch: a :class:`Batch`
  of read rows (line number, renamed record dict, and what the reader resolved for it) and the
  mapping :class:`~collectomics.mapping.common.Context` in, a :class:`BatchResult` out (the
  batch's N-Quads text in the dataset's named graph, the quads' count, per row whether it was
  loaded, its main node and its problems, and the descriptions of shared nodes). No I/O, no
  global state: the same function runs in-process, in the worker processes below, or under a
  distributed dataflow engine.
- :func:`export_shards` reads the archives in this process (in archive order, as ``ingest``
  does), sends batches to N worker processes (``forkserver`` context) that each append what
  :func:`map_batch` returns to their own ``part-0000k.nq``, and assembles the same report as
  ``ingest`` from the results, applied in batch order so that problems come in the order ingest
  gives them.

What needs the whole archive stays in the reader: pairing GBIF's verbatim rows with their core
rows, duplicate detection (first line per specimen), core id -> specimen IRI for the extensions
(extension files are read once every core row's result is in), the events of an Event core,
and the first description of each shared name-string agent (the workers send them back; the
reader keeps the first of each in batch order, the one ingest keeps, and hands them to a worker
to write). Descriptions that are the same wherever they are made (GBIF source datasets, the
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from collectomics.config import ReadLimits
from collectomics.errors import CollectomicsError, InputError
from collectomics.ingest.archive import (
    DWC_NS,
    EVENT,
    OCCURRENCE,
    TAXON,
    _extension_kind,
    _parent_triples,
    _renamer,
    _row_type,
    _TermCounts,
    archive_file,
    check_unpaired,
    child_record,
    default_dataset_id,
    extension_row,
    member_name,
    qualified,
    source_dataset,
    verbatim_terms,
)
from collectomics.ingest.dwca import Archive, FileSpec, Row, RowError
from collectomics.ingest.eml import parse_eml
from collectomics.ingest.keys import SpecimenKeys
from collectomics.ingest.parquet import open_source
from collectomics.ingest.pipeline import (
    Counts,
    DatasetSpec,
    IngestReport,
    Problem,
    _dataset_node,
    _digest,
    file_kind,
    streaming_gc,
)
from collectomics.iri import Minter, slug
from collectomics.mapping.common import Context, Mapped, Triple
from collectomics.mapping.extensions import (
    map_dataset,
    map_identification,
    map_media,
    map_relationship,
    map_verbatim,
)
from collectomics.mapping.specimens import map_specimen
from collectomics.model import IRI, DatasetMetadata
from collectomics.vocab import DCTERMS, DWC, DWCIRI, SCHEMA

#: rows per batch sent to a worker
BATCH = 1000
#: the most shards one export may write
MAX_SHARDS = 256

# batch kinds
SPECIMENS = "specimens"  # Occurrence core rows: (line, record, verbatim, specimen IRI)
PARENTS = "parents"  # Event or Taxon core rows: (line, record, node)
CHILDREN = "children"  # an Event/Taxon core's Occurrence extension: (line, record, parent, IRI)
MEDIA = "media"  # extension rows: (line, values, specimen, number, related)
IDENTIFICATION = "identification"
RELATIONSHIP = "relationship"
TRIPLES = "triples"  # already mapped triples (dataset and source nodes): the items are triples


@dataclass(frozen=True)
class Reject:
    """A row the reader rejected already (it could not be read, or names nothing loaded); it
    travels in its batch so that its problem keeps its place in the report."""

    column: str | None
    reason: str


@dataclass
class Batch:
    """Rows of one file of one archive, read and resolved, for :func:`map_batch`.

    ``items`` per ``kind``: ``SPECIMENS`` ``(line, record, verbatim, iri)`` with ``record`` the row
    renamed to Darwin Core names (or a :class:`Reject`) and ``verbatim`` None or GBIF's verbatim
    row paired with it, ``(line, core id, values, the core row's own values)``; ``PARENTS``
    ``(line, record, node)``; ``CHILDREN`` ``(line, record, parent node, iri)`` with the parent's
    fields merged into ``record``; ``MEDIA``/``IDENTIFICATION``/``RELATIONSHIP`` ``(line, values,
    specimen, number, related)`` with ``values`` keyed by term IRI, ``number`` the row's label
    among its specimen's rows and ``related`` the IRI the reader resolved for
    ``relatedResourceID`` (or None); ``TRIPLES`` triples. ``file`` names the file in problems;
    ``verbatim_file`` the verbatim file; ``word`` is 'event' or 'taxon' for the Event/Taxon cores.
    ``iri`` is the specimen IRI the reader minted for the row (:class:`SpecimenKeys`).
    """

    kind: str
    file: str
    items: list[Any] = field(default_factory=list)
    verbatim_file: str = ""
    word: str = ""


class Outcome(NamedTuple):
    """What became of one row: loaded or rejected, its main node, its problems, and for a
    specimen with a paired verbatim row whether that row was loaded (None: no verbatim row).
    A verbatim row that was not loaded (its core row was rejected) is for the reader to report,
    with the verbatim rows that found no core row, as ingest does."""

    loaded: bool
    subject: IRI | None
    problems: list[Problem]
    verbatim: bool | None = None
    unknown_agents: int = 0  # roles played by an unknown agent ('Anon.'): see Mapped
    organisation_agents: int = 0  # roles played by an organisation: see Mapped


@dataclass
class BatchResult:
    """The N-Quads of one batch, how many lines they are, one :class:`Outcome` per row (none
    for ``TRIPLES``), and the descriptions of shared nodes, apart (see :func:`map_batch`)."""

    text: str
    quads: int
    outcomes: list[Outcome]
    once: list[Triple] = field(default_factory=list)


def map_batch(batch: Batch, ctx: Context, described: set[object] | None = None) -> BatchResult:
    """Map one batch of rows to N-Quads in ``ctx``'s dataset graph. Pure: no I/O.

    The descriptions of nodes that many rows share (``Mapped.once``: name-string agents) are not
    in the text: they come back in ``once``, each node's from the first row of the batch that
    describes it, skipping nodes in ``described`` (which this function then updates). The
    caller keeps the first description of each node for the whole dataset and writes it, as
    ``ingest`` does: one name written two ways can give one agent two descriptions, and ingest
    keeps the one it met first. (A GBIF source dataset's description is the same from every row:
    it is in the text, once per batch or per ``described``.)
    """
    graph = " " + ctx.minter.graph(ctx.dataset_id).n3() + " .\n"
    lines: list[str] = []
    blocks: list[str] = []  # several lines each
    once: list[Triple] = []
    seen: set[object] = set() if described is None else described

    def put(triples: Iterable[Triple]) -> None:
        lines.extend(f"{s.n3()} {p.n3()} {o.n3()}{graph}" for s, p, o in triples)

    def put_mapped(mapped: Mapped) -> None:
        put(mapped.triples)
        written = getattr(mapped, "lines", None)  # N-Triples a mapper wrote itself, if any
        if written:  # blocks of lines "s p o .\n" (a raw newline ends a line, never a literal)
            blocks.extend(block.replace(" .\n", graph) for block in written)
        if mapped.once:
            fresh = [t for t in mapped.once if t[0] not in seen]
            once.extend(fresh)
            seen.update(t[0] for t in fresh)

    outcomes: list[Outcome] = []
    if batch.kind == TRIPLES:
        put(batch.items)
    else:
        step = _STEPS[batch.kind]
        outcomes = [step(item, batch, ctx, put, put_mapped, seen) for item in batch.items]
    text = "".join(lines) + "".join(blocks)
    return BatchResult(text, len(lines) + sum(b.count("\n") for b in blocks), outcomes, once)


Put = Callable[[Iterable[Triple]], None]
Applier = Callable[[int, list[Outcome], list[Triple]], None]
PutMapped = Callable[[Mapped], None]


def _problems(file: str, line: int, mapped: Mapped) -> list[Problem]:
    return [Problem(file, line, p.column, p.reason, p.severity) for p in mapped.problems]


def _rejected(file: str, line: int, reject: Reject) -> Outcome:
    return Outcome(False, None, [Problem(file, line, reject.column, reject.reason)])


def _specimen(
    item: Any, batch: Batch, ctx: Context, put: Put, put_mapped: PutMapped, seen: set[object]
) -> Outcome:
    line, record, verbatim, iri = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    mapped = map_specimen(record, ctx, iri)
    problems = _problems(batch.file, line, mapped)
    subject = mapped.subject
    if mapped.rejected or subject is None:  # its verbatim row, if any, is not loaded either
        return Outcome(False, None, problems, None if verbatim is None else False)
    put_mapped(mapped)
    key = record.get("datasetKey", "").strip()
    if key:
        node, description = source_dataset(key, ctx)
        put([(subject, SCHEMA.includedInDataSet, node)])
        if node not in seen:
            put(description)
            seen.add(node)
    if verbatim is None:
        return Outcome(
            True, subject, problems, None, mapped.unknown_agents, mapped.organisation_agents
        )
    put_mapped(map_verbatim(verbatim[2], verbatim[3], subject, ctx))
    return Outcome(True, subject, problems, True, mapped.unknown_agents, mapped.organisation_agents)


def _parent(
    item: Any, batch: Batch, ctx: Context, put: Put, put_mapped: PutMapped, seen: set[object]
) -> Outcome:
    line, record, node = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    cls = DWC.Event if batch.word == "event" else DWC.Taxon
    put(_parent_triples(node, cls, record, ctx))
    return Outcome(True, node, [])


def _child(
    item: Any, batch: Batch, ctx: Context, put: Put, put_mapped: PutMapped, seen: set[object]
) -> Outcome:
    line, record, parent, iri = item
    if isinstance(record, Reject):
        return _rejected(batch.file, line, record)
    mapped = map_specimen(record, ctx, iri)
    problems = _problems(batch.file, line, mapped)
    if mapped.rejected or mapped.subject is None:
        return Outcome(False, None, problems)
    put_mapped(mapped)
    if batch.word == "event":
        put([(ctx.minter.part(mapped.subject, "event"), DCTERMS.isPartOf, parent)])
    else:
        put([(mapped.subject, DWCIRI.toTaxon, parent)])
    return Outcome(
        True, mapped.subject, problems, None, mapped.unknown_agents, mapped.organisation_agents
    )


def _extension_row(
    item: Any, batch: Batch, ctx: Context, put: Put, put_mapped: PutMapped, seen: set[object]
) -> Outcome:
    line, values, specimen, number, related = item
    if isinstance(values, Reject):
        return _rejected(batch.file, line, values)
    if batch.kind == MEDIA:
        mapped = map_media(values, specimen, ctx, number)
    elif batch.kind == IDENTIFICATION:
        mapped = map_identification(values, specimen, ctx, number)
    else:
        mapped = map_relationship(values, specimen, ctx, number, lambda _id: related)
    put_mapped(mapped)
    return Outcome(
        True,
        mapped.subject,
        _problems(batch.file, line, mapped),
        None,
        mapped.unknown_agents,
        mapped.organisation_agents,
    )


_STEPS = {
    SPECIMENS: _specimen,
    PARENTS: _parent,
    CHILDREN: _child,
    MEDIA: _extension_row,
    IDENTIFICATION: _extension_row,
    RELATIONSHIP: _extension_row,
}


# --------------------------------------------------------------------------- the worker pool


def shard_name(index: int) -> str:
    return f"part-{index:05d}.nq"


def _worker(index: int, path: str, tasks: Any, results: Any) -> None:
    """One shard: map the batches it takes, append their N-Quads to its file, send back the
    outcomes. Runs until it takes None."""
    # per dataset: its Context (whose memo of agent names then lasts across batches) and the
    # shared nodes this shard has described
    contexts: dict[str, tuple[Context, set[object]]] = {}
    try:
        with streaming_gc(), open(path, "wb") as out:
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
        self.paths = [out_dir / (shard_name(i) + ".partial") for i in range(shards)]
        self.procs = [
            mp.Process(
                target=_worker,
                args=(i, str(self.paths[i]), self.tasks, self.results),
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


def _dask_open(index: int, path: str) -> int:
    """On a worker: open its shard file (``client.run`` calls this once per worker)."""
    _dask_close()
    _SHARD.update(index=index, path=path, out=open(path, "wb"), contexts={})
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
            self.paths = [out_dir / (shard_name(i) + ".partial") for i in range(len(self.workers))]
            for i, address in enumerate(self.workers):
                self.client.run(_dask_open, i, str(self.paths[i]), workers=[address])
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


class _Reader:
    """One archive's reading: what ``archive._Loader`` does, with the mapping sent to the pool."""

    def __init__(self, arc: Archive, path: Path, dataset: _Dataset) -> None:
        self.arc, self.path, self.dataset = arc, path, dataset
        self.ctx, self.report, self.pool = dataset.ctx, dataset.report, dataset.pool
        self.batch_size = self.pool.batch_size
        self.ids: dict[str, IRI] = {}
        self.keys = dataset.keys

    def where(self, spec: FileSpec) -> str:
        return member_name(self.path, spec)

    def problems(self, problems: Sequence[Problem]) -> None:
        if problems:
            self.pool.note(lambda: self.report.add(problems))

    def counts(self, spec: FileSpec) -> Counts:
        return self.report.extensions.setdefault(spec.name, Counts())

    def send(self, batch: Batch, apply: Callable[[list[Outcome]], None]) -> None:
        self.dataset.send(batch, apply)

    # -- cores --------------------------------------------------------------------------

    def occurrence_core(self, verbatim: FileSpec | None, keep_ids: bool) -> None:
        core = self.arc.core
        file = self.where(core)
        rename = _renamer(core)
        terms = _TermCounts(self.report, core.name)  # the core's counts first, as ingest has them
        pairing = _Pairing(self, verbatim) if verbatim else None
        v_file = pairing.file if pairing else ""
        batch = Batch(SPECIMENS, file, verbatim_file=v_file)
        # per item: (line, core id, problems the pairing found reading ahead, the verbatim row,
        # the warning when the record's key repeats, the core row's values)
        side: list[
            tuple[int, str | None, list[Problem], Row | None, str | None, dict[str, str]]
        ] = []
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, None))
                side.append((row.line, None, [], None, None, {}))
            else:
                terms.row(row.values)
                record = {rename[t]: v for t, v in row.values.items() if t in rename}
                paired, found = pairing.take(row.id) if pairing and row.id else (None, [])
                v_item = (paired.line, row.id, paired.values, row.values) if paired else None
                iri, repeated = self.keys.mint(record, file, core.name, row.line)
                batch.items.append((row.line, record, v_item, iri))
                side.append((row.line, row.id, found, paired, repeated, row.values))
            if len(batch.items) >= self.batch_size:
                self.send(batch, self._specimens_done(side, keep_ids, pairing))
                batch, side = Batch(SPECIMENS, file, verbatim_file=v_file), []
        self.send(batch, self._specimens_done(side, keep_ids, pairing))
        terms.finish(rename)
        if pairing is not None:
            pairing.finish()

    def _specimens_done(
        self,
        side: list[tuple[int, str | None, list[Problem], Row | None, str | None, dict[str, str]]],
        keep_ids: bool,
        pairing: _Pairing | None,
    ) -> Callable[[list[Outcome]], None]:
        report = self.report
        file = self.where(self.arc.core)

        def apply(outcomes: list[Outcome]) -> None:
            for (line, core_id, found, paired, repeated, values), outcome in zip(
                side, outcomes, strict=True
            ):
                report.add(outcome.problems)
                if outcome.loaded and outcome.subject is not None:
                    report.loaded += 1
                    report.count_agents(outcome)
                    report.specimens += 1
                    if repeated:
                        report.problem(file, line, None, repeated, "warning")
                    if keep_ids and core_id:
                        self.ids[core_id] = outcome.subject
                else:
                    report.rejected += 1
                if pairing is not None and outcome.verbatim is not None:
                    if outcome.verbatim:
                        pairing.counts.loaded += 1
                        if paired is not None:
                            verbatim_terms(pairing.terms, paired.values, values)
                    elif paired is not None:
                        pairing.unclaimed.append(paired)
                report.add(found)

        return apply

    def parent_core(self, occurrences: FileSpec | None) -> None:
        core = self.arc.core
        word = "event" if core.row_type == EVENT else "taxon"
        file = self.where(core)
        rename = _renamer(core)
        events: dict[str, tuple[IRI, dict[str, str]]] = {}
        terms = _TermCounts(self.report, core.name)
        batch = Batch(PARENTS, file, word=word)
        for row in self.arc.rows(core):
            self.report.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None))
            else:
                for term, value in row.values.items():
                    if value.strip():  # every term of an event or taxon row has its place
                        terms.add(term, True)
                record = {rename[t]: v for t, v in row.values.items() if t in rename}
                key = row.id or record.get(f"{word}ID") or ""
                if not key:
                    batch.items.append((row.line, Reject(None, f"a {word} row without id"), None))
                else:
                    node = self.ctx.minter.mint(word, self.ctx.dataset_id, key)
                    events[key] = (node, record)
                    self.ids[key] = node  # media and other extensions of the core attach to it
                    batch.items.append((row.line, record, node))
            if len(batch.items) >= self.batch_size:
                self.send(batch, self._core_done)
                batch = Batch(PARENTS, file, word=word)
        self.send(batch, self._core_done)
        terms.finish()
        if occurrences is None:
            return
        counts = self.counts(occurrences)
        occ_file = self.where(occurrences)
        rename = _renamer(occurrences)
        occ_terms = _TermCounts(self.report, occurrences.name)
        batch = Batch(CHILDREN, occ_file, word=word)
        repeats: list[Problem | None] = []  # per item: the warning when its key repeats
        for row in self.arc.rows(occurrences):
            counts.read += 1
            if not isinstance(row, RowError):
                occ_terms.row(row.values)
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, None))
                repeats.append(None)
            elif (parent := events.get(row.id or "")) is None:
                reason = f"no {word} with id {row.id!r} in the core"
                batch.items.append((row.line, Reject("coreid", reason), None, None))
                repeats.append(None)
            else:
                own = {rename[t]: v for t, v in row.values.items() if t in rename}
                record = child_record(parent[1], own)
                iri, repeated = self.keys.mint(record, occ_file, occurrences.name, row.line)
                batch.items.append((row.line, record, parent[0], iri))
                repeats.append(
                    Problem(occ_file, row.line, None, repeated, "warning") if repeated else None
                )
            if len(batch.items) >= self.batch_size:
                self.send(batch, self._extension_done(counts, repeats))
                batch, repeats = Batch(CHILDREN, occ_file, word=word), []
        self.send(batch, self._extension_done(counts, repeats))
        occ_terms.finish(rename)

    def _core_done(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.report.add(outcome.problems)
            if outcome.loaded:
                self.report.loaded += 1
            else:
                self.report.rejected += 1

    def _extension_done(
        self, counts: Counts, repeats: list[Problem | None] | None = None
    ) -> Callable[[list[Outcome]], None]:
        """Apply a batch's outcomes; ``repeats``, per row of an Occurrence extension, the
        warning when its specimen key repeats."""

        def apply(outcomes: list[Outcome]) -> None:
            for i, outcome in enumerate(outcomes):
                self.report.add(outcome.problems)
                if outcome.loaded:
                    counts.loaded += 1
                    self.report.count_agents(outcome)
                    if repeats is not None:  # an Occurrence extension: each row a specimen
                        self.report.specimens += 1
                        if (repeated := repeats[i]) is not None:
                            self.report.add([repeated])
                else:
                    counts.rejected += 1

        return apply

    # -- extensions ---------------------------------------------------------------------

    def extension(self, spec: FileSpec, kind: str) -> None:
        counts = self.counts(spec)
        file = self.where(spec)
        apply = self._extension_done(counts)
        numbers: dict[str, int] = {}
        batch = Batch(kind, file)
        for row in self.arc.rows(spec):
            counts.read += 1
            if isinstance(row, RowError):
                batch.items.append((row.line, Reject(None, row.reason), None, 0, None))
            elif (specimen := self.ids.get(row.id or "")) is None:
                reason = f"no loaded core record with id {row.id!r}"
                batch.items.append((row.line, Reject("coreid", reason), None, 0, None))
            else:
                n = numbers[row.id or ""] = numbers.get(row.id or "", 0) + 1
                related = None
                if kind == RELATIONSHIP:
                    related_id = (row.values.get(DWC_NS + "relatedResourceID") or "").strip()
                    related = self.ids.get(related_id) if related_id else None
                number: str | int = f"{row.id}-{n}" if kind == MEDIA else n
                batch.items.append((row.line, row.values, specimen, number, related))
            if len(batch.items) >= self.batch_size:
                self.send(batch, apply)
                batch = Batch(kind, file)
        self.send(batch, apply)

    def unsupported(self, spec: FileSpec) -> None:
        """Rows of an extension the model has no place for, kept verbatim (``archive``'s
        ``extension_row``), mapped here rather than by the pool: such files are small."""
        counts = self.counts(spec)
        file = self.where(spec)
        terms = _TermCounts(self.report, spec.name)
        kind = slug(Path(spec.name).stem)
        numbers: dict[str, int] = {}
        triples: list[Triple] = []
        problems: list[Problem] = []
        for row in self.arc.rows(spec):
            counts.read += 1
            if isinstance(row, RowError):
                counts.rejected += 1
                problems.append(Problem(file, row.line, None, row.reason))
            elif (core := self.ids.get(row.id or "")) is None:
                counts.rejected += 1
                reason = f"no loaded core record with id {row.id!r}"
                problems.append(Problem(file, row.line, "coreid", reason))
            else:
                n = numbers[row.id or ""] = numbers.get(row.id or "", 0) + 1
                mapped = extension_row(row.values, core, spec, kind, n, self.ctx, terms)
                problems += [
                    Problem(file, row.line, p.column, p.reason, p.severity) for p in mapped.problems
                ]
                self.report.count_agents(mapped)
                triples += mapped.triples + mapped.once  # once: measurers' name descriptions
                counts.loaded += 1
        terms.finish()
        self.problems(problems)
        self.send(Batch(TRIPLES, file, triples), lambda outcomes: None)

    # -- metadata -----------------------------------------------------------------------

    def metadata(self) -> DatasetMetadata | None:
        meta = None
        if self.arc.metadata_name:
            meta = self._eml(self.arc.metadata_name)
        triples: list[Triple] = []
        for name in self.arc.dataset_metadata_names():
            source_meta = self._eml(name)
            if source_meta is None:
                continue
            node, description = source_dataset(Path(name).stem, self.ctx)
            triples += description
            triples += map_dataset(source_meta, node, self.ctx).triples
        self.send(Batch(TRIPLES, str(self.path), triples), lambda outcomes: None)
        return meta

    def _eml(self, name: str) -> DatasetMetadata | None:
        try:
            return parse_eml(self.arc.read_bytes(name), source=f"{self.path}!{name}")
        except InputError as exc:
            file = f"{self.path}!{name}"
            self.problems([Problem(file, None, None, f"metadata not read: {exc}", "warning")])
            return None


class _Pairing:
    """GBIF's verbatim rows matched to core rows by id as both files stream by (as
    ``archive._VerbatimPairing`` does), before the core row is mapped: the pair goes to the
    worker together."""

    def __init__(self, reader: _Reader, spec: FileSpec) -> None:
        self.reader, self.spec = reader, spec
        self.rows = reader.arc.rows(spec)
        self.waiting: dict[str, Row] = {}
        #: verbatim rows paired with a core row that the mapping rejected
        self.unclaimed: list[Row] = []
        self.counts = reader.counts(spec)
        self.file = reader.where(spec)
        self.terms = _TermCounts(reader.report, spec.name)

    def take(self, core_id: str) -> tuple[Row | None, list[Problem]]:
        """The verbatim row of ``core_id``, and the problems of rows read on the way."""
        found: list[Problem] = []
        row = self.waiting.pop(core_id, None)
        if row is not None:
            return row, found
        for read in self.rows:
            if (v := self._take(read, found)) is not None:
                if v.id == core_id:
                    return v, found
                self.waiting[v.id or ""] = v
                arc = self.reader.arc
                check_unpaired(
                    arc.limits.max_unpaired_rows, len(self.waiting), arc.core, self.spec,
                    self.file, v.line,
                )  # fmt: skip
        return None, found

    def _take(self, row: Row | RowError, found: list[Problem]) -> Row | None:
        """Count a row read; a RowError is rejected (None), a Row returned."""
        self.counts.read += 1
        if isinstance(row, RowError):
            self.counts.rejected += 1
            found.append(Problem(self.file, row.line, None, row.reason))
            return None
        return row

    def finish(self) -> None:
        found: list[Problem] = []
        for read in self.rows:
            if (row := self._take(read, found)) is not None:
                self.waiting[row.id or ""] = row
        self.reader.problems(found)

        def reject() -> None:  # runs once every core row's outcome is in
            self.terms.finish()
            left = sorted([*self.waiting.values(), *self.unclaimed], key=lambda r: r.line)
            for row in left:  # in file order, as ingest rejects them
                self.counts.rejected += 1
                self.reader.report.problem(
                    self.file, row.line, "coreid", f"no loaded core record with id {row.id!r}"
                )

        self.reader.pool.note(reject)


def _check_core(arc: Archive, path: Path) -> str:
    core_type = _row_type(arc.core)
    if core_type not in (EVENT, TAXON, OCCURRENCE):
        raise InputError(
            f"the archive's core is {arc.core.row_type}; Collectomics reads Occurrence, "
            "Event and Taxon cores",
            file=str(path),
        )
    return core_type


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
        _check_core(arc, path)


def _read_archive(
    path: Path, dataset: _Dataset, encoding: str | None, limits: ReadLimits | None
) -> DatasetMetadata | None:
    """``archive.stream_archive``'s order of work, with the mapping done by the pool."""
    try:
        return _read(path, dataset, encoding, limits)
    except InputError as exc:
        raise qualified(exc, path) from None


def _read(
    path: Path, dataset: _Dataset, encoding: str | None, limits: ReadLimits | None
) -> DatasetMetadata | None:
    pool, report = dataset.pool, dataset.report
    with open_source(path, encoding=encoding, limits=limits) as arc:
        core_type = _check_core(arc, path)
        reader = _Reader(arc, path, dataset)
        meta = reader.metadata()
        kinds = [(spec, _extension_kind(spec, arc.core)) for spec in arc.extensions]
        if core_type in (EVENT, TAXON):
            occurrence = next((s for s, k in kinds if k == "occurrence"), None)
            reader.parent_core(occurrence)
            kinds = [(s, k) for s, k in kinds if s is not occurrence]
        else:
            verbatim = next((s for s, k in kinds if k == "verbatim"), None)
            keep = any(k != "verbatim" for _, k in kinds)  # extensions attach by core id
            reader.occurrence_core(verbatim, keep)
            kinds = [(s, k) for s, k in kinds if s is not verbatim]
        if kinds:
            pool.barrier()  # every core row's specimen IRI is known from here on
        for spec, kind in kinds:
            if kind in (MEDIA, IDENTIFICATION, RELATIONSHIP):
                reader.extension(spec, kind)
            else:
                reader.unsupported(spec)
        pool.barrier()  # the archive's own problems (read as its rows were) come last
        for p in arc.problems:
            report.problem(archive_file(path, p.file), p.line, p.column, p.reason, p.severity)
        return meta


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
    """
    check_shards(shards)
    engine = check_engine(engine, scheduler)
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
        _DaskPool(out_dir, shards, on_record, batch_size, scheduler)
        if engine == "dask"
        else _Pool(out_dir, shards, on_record, batch_size)
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
                node = _dataset_node(spec, ctx, _digest(spec.files), meta)
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
    dump: Callable[[Any], None], out_dir: Path, shards: int, *, force: bool = False
) -> tuple[int, list[Path]]:
    """Deal what ``dump(stream)`` writes (a store's N-Quads) into ``shards`` files in
    ``out_dir``: (quads, files). Triples with blank nodes all go to the first file, so that
    each blank node stays one node when the files are loaded one by one."""
    check_shards(shards)
    prepare_out_dir(out_dir, force=force)
    paths = [out_dir / (shard_name(i) + ".partial") for i in range(shards)]
    outs = []
    try:
        for path in paths:
            outs.append(open(path, "wb", buffering=1 << 20))
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
