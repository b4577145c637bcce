"""The reconciliation index as one SQLite file beside the store, shared by every process.

Each HTTP worker of ``collectomics serve`` used to read its own index from the store (15-16 s at
54,000 people, again after every change, 1-2 GB each). The index is now written once per store
version, by one process, to ``{store}/collectomics-cache/reconcile/index-{key}.sqlite``, and
every worker opens that file read-only (``mode=ro&immutable=1``, memory-mapped): the pages are
shared through the OS page cache and read when a query touches them.

SQLite, not pickle nor numpy arrays: it comes with Python, cannot execute code, holds variable
length postings and JSON per entity without a format of our own, answers a key lookup through
its B-tree without reading the rest of the file, and is safe to read from many processes. The
file is never changed after it is written (a new version is a new file, written to a temporary
name and renamed), so readers need no locks.

What is in it (:func:`write`): one JSON object per entity (:class:`collectomics.services.reconcile.index
.Entity`'s fields), the dictionaries of the index as ordered key -> entity tables, the token
postings as ordered lists of entity numbers, and the sorted lists that suggest and specimen
prefix search bisect. ``key`` digests the format, the source of the code that builds the index,
the base IRI and every graph's physical version (a replaced dataset, a new identity or facets
graph is a new version).
"""

from __future__ import annotations

import contextlib
import fcntl  # POSIX; ``collectomics serve`` runs several processes on Linux only
import hashlib
import json
import logging
import os
import sqlite3
import struct
import tempfile
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from collectomics.store import CACHE_DIR as CACHE_DIR  # re-exported: callers name ondisk.CACHE_DIR
from collectomics.store import Store

log = logging.getLogger(__name__)

#: bumped when the layout changes; a file of another format has another name and is ignored
FORMAT = 1
FOLDER = "reconcile"
LOCK = "build.lock"
PREFIX = "index-"
SUFFIX = ".sqlite"
#: rows of a sorted list read at once (suggest walks them in order)
BLOCK = 256
#: postings kinds
FAMILY, ABBR, IDS, KEYS, WORDS, TRIGRAMS, AGENTS_OF = range(7)


class CorruptIndex(Exception):
    """The file cannot be read as an index (truncated, overwritten, of another format)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


# -- where, and which version --------------------------------------------------------------------


def folder_of(store: Store) -> Path | None:
    """The folder of an on-disk store's index files; None for a store in memory or remote."""
    folder = store.cache_dir
    return None if folder is None else folder / FOLDER


def code_digest(*modules: Any) -> str:
    """A digest of the source of ``modules`` (what shapes the index: its builder, the folding
    of names, the matcher's name parsing): a new release, or an Entity field added, is a new
    key, so a file written by other code is never read."""
    h = hashlib.sha256()
    for m in modules:
        source = getattr(m, "__file__", None)
        try:
            h.update(Path(source).read_bytes() if source else m.__name__.encode())
        except OSError:
            h.update(m.__name__.encode())
    return h.hexdigest()


def version_key(store: Store, base: str, code: str = "") -> str:
    """What names an index file: the format, the code that built it, the base IRI and the
    store's version (:meth:`Store.version`: every graph's physical version)."""
    text = json.dumps([FORMAT, code, base, store.version()], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def file_for(folder: Path, key: str) -> Path:
    return folder / f"{PREFIX}{key}{SUFFIX}"


def complete_files(folder: Path) -> list[Path]:
    """The index files in ``folder``, newest first (temporary files are not listed)."""
    try:
        found = [p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.suffix == SUFFIX]
    except FileNotFoundError:
        return []
    stamped = []
    for p in found:
        with contextlib.suppress(FileNotFoundError):
            stamped.append((p.stat().st_mtime_ns, p.name, p))
    return [p for _, _, p in sorted(stamped, reverse=True)]


# -- writing -------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE entity(n INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE map(name TEXT, key TEXT, pos INTEGER, n INTEGER, PRIMARY KEY(name, key)) WITHOUT ROWID;
CREATE INDEX map_order ON map(name, pos);
CREATE TABLE posting(kind INTEGER, token TEXT, items BLOB, PRIMARY KEY(kind, token)) WITHOUT ROWID;
CREATE TABLE canonical(node TEXT PRIMARY KEY, head TEXT) WITHOUT ROWID;
CREATE TABLE sorted(name TEXT, pos INTEGER, item TEXT, rank INTEGER, n INTEGER,
                    PRIMARY KEY(name, pos)) WITHOUT ROWID;
"""


class Writer:
    """Fills a new index file; :meth:`commit` renames it into place."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the builder's pid in the name: only a file whose builder is gone is ever pruned
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=SUFFIX, dir=path.parent)
        os.fchmod(fd, 0o644)  # read by every worker, whoever built it
        os.close(fd)
        self.path, self.tmp = path, Path(tmp)
        self.db = sqlite3.connect(self.tmp)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=4096;" + _SCHEMA
        )

    def meta(self, **values: Any) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def entities(self, rows: Iterable[tuple[int, str]]) -> None:
        self.db.executemany("INSERT INTO entity VALUES (?, ?)", rows)

    # Rows go in in key order: SQLite then appends to its B-trees instead of splitting pages.

    def mapping(self, name: str, items: Iterable[tuple[str, int]]) -> None:
        rows = sorted((name, k, pos, n) for pos, (k, n) in enumerate(items))
        self.db.executemany("INSERT OR REPLACE INTO map VALUES (?, ?, ?, ?)", rows)

    def postings(self, kind: int, items: Iterable[tuple[str, list[int]]]) -> None:
        """token -> numbers (entities, or positions in a sorted list), as int32 arrays."""
        rows = sorted((kind, token, array("i", ns).tobytes()) for token, ns in items)
        self.db.executemany("INSERT OR REPLACE INTO posting VALUES (?, ?, ?)", rows)

    def text_postings(self, kind: int, items: Iterable[tuple[str, list[str]]]) -> None:
        rows = sorted((kind, token, "\n".join(xs).encode("utf-8")) for token, xs in items)
        self.db.executemany("INSERT OR REPLACE INTO posting VALUES (?, ?, ?)", rows)

    def canonical(self, items: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO canonical VALUES (?, ?)", sorted(items))

    def sorted_list(self, name: str, items: Iterable[Any]) -> None:
        """Strings, or (string, rank, entity number) rows."""
        rows = (
            (name, pos, *(x if isinstance(x, tuple) else (x, None, None)))
            for pos, x in enumerate(items)
        )
        self.db.executemany("INSERT INTO sorted VALUES (?, ?, ?, ?, ?)", rows)

    def commit(self) -> None:
        """Finish the file and rename it into place (readers see it whole or not at all)."""
        self.db.commit()
        self.db.close()
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        self.tmp.unlink(missing_ok=True)


# -- reading -------------------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """A cheap check before SQLite sees the file: its header, and a size that holds every page
    the header announces (a file cut short by a full disk or a copy)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise CorruptIndex(path, f"cannot be read ({exc.strerror})") from None
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise CorruptIndex(path, "is not an SQLite file")
    page = struct.unpack(">H", head[16:18])[0]
    page = 65536 if page == 1 else page
    pages = struct.unpack(">I", head[28:32])[0]
    if pages == 0 or size != page * pages:
        raise CorruptIndex(path, f"holds {size} bytes where its header announces {page * pages}")


class Reader:
    """One index file, open read-only; every query under one lock (SQLite connections are not
    shared between threads otherwise)."""

    def __init__(self, path: Path) -> None:
        _check_header(path)
        self.path = path
        self.stat = path.stat()
        uri = f"file:{path}?mode=ro&immutable=1"
        try:
            self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self.db.execute(f"PRAGMA mmap_size={max(self.stat.st_size, 1 << 20)}")
            self.db.execute("PRAGMA cache_size=-2000")  # 2 MB of our own; the rest is mapped
            problems = [r[0] for r in self.db.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise CorruptIndex(path, "fails SQLite's check: " + "; ".join(problems))
            meta = {k: json.loads(v) for k, v in self.db.execute("SELECT name, value FROM meta")}
        except sqlite3.DatabaseError as exc:
            raise CorruptIndex(path, f"cannot be read by SQLite ({exc})") from None
        if meta.get("format") != FORMAT:
            raise CorruptIndex(path, f"is of format {meta.get('format')}, not {FORMAT}")
        self.meta = meta
        #: set when a read failed: the file is moved aside and built again
        self.broken = False
        self._lock = threading.Lock()
        self._blocks: OrderedDict[tuple[str, int], list[Any]] = OrderedDict()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            with self._lock:
                return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            self.broken = True
            raise CorruptIndex(self.path, f"cannot be read by SQLite ({exc})") from None

    def entity_data(self, n: int) -> str | None:
        got = self.rows("SELECT data FROM entity WHERE n = ?", (n,))
        return got[0][0] if got else None

    def map_get(self, name: str, key: str) -> int | None:
        got = self.rows("SELECT n FROM map WHERE name = ? AND key = ?", (name, key))
        return got[0][0] if got else None

    def map_items(self, name: str) -> Iterator[tuple[str, int]]:
        last = -1
        while True:
            got = self.rows(
                "SELECT pos, key, n FROM map WHERE name = ? AND pos > ? ORDER BY pos LIMIT 5000",
                (name, last),
            )
            if not got:
                return
            for pos, key, n in got:
                yield key, n
                last = pos

    def map_len(self, name: str) -> int:
        return int(self.rows("SELECT COUNT(*) FROM map WHERE name = ?", (name,))[0][0])

    def _posting(self, kind: int, token: str) -> bytes | None:
        got = self.rows("SELECT items FROM posting WHERE kind = ? AND token = ?", (kind, token))
        return bytes(got[0][0]) if got else None

    def posting(self, kind: int, token: str) -> list[int] | None:
        found = self._posting(kind, token)
        if found is None:
            return None
        numbers = array("i")
        numbers.frombytes(found)
        return numbers.tolist()

    def text_posting(self, kind: int, token: str) -> list[str] | None:
        found = self._posting(kind, token)
        return found.decode("utf-8").split("\n") if found is not None else None

    def posting_tokens(self, kind: int) -> Iterator[str]:
        for (token,) in self.rows("SELECT token FROM posting WHERE kind = ?", (kind,)):
            yield token

    def canonical_pairs(self) -> list[tuple[str, str]]:
        """Every (node, canonical node) of an identity whose node is not its own canonical."""
        return [(n, h) for n, h in self.rows("SELECT node, head FROM canonical", ())]

    def canonical(self, node: str) -> str | None:
        got = self.rows("SELECT head FROM canonical WHERE node = ?", (node,))
        return got[0][0] if got else None

    def sorted_len(self, name: str) -> int:
        return int(self.meta.get("sorted", {}).get(name, 0))

    def sorted_item(self, name: str, pos: int) -> Any:
        """Item ``pos`` of a sorted list, read with its block (suggest reads on from there)."""
        block = pos // BLOCK
        with self._lock:
            rows = self._blocks.get((name, block))
            if rows is not None:
                self._blocks.move_to_end((name, block))
        if rows is None:
            got = self.rows(
                "SELECT item, rank, n FROM sorted WHERE name = ? AND pos >= ? AND pos < ? "
                "ORDER BY pos",
                (name, block * BLOCK, (block + 1) * BLOCK),
            )
            rows = [r[0] if r[1] is None else r for r in got]
            with self._lock:
                self._blocks[(name, block)] = rows
                while len(self._blocks) > 64:
                    self._blocks.popitem(last=False)
        return rows[pos - block * BLOCK]

    def close(self) -> None:
        with self._lock:
            self.db.close()


# -- building once, under a lock -----------------------------------------------------------------


class BuildLock:
    """An exclusive lock on the folder's lock file across processes: one builder at a time."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, *, wait: bool) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        os.close(self.fd)  # releases the lock

    @staticmethod
    def held(folder: Path) -> bool:
        """True while a builder holds the lock."""
        lock = BuildLock(folder)
        try:
            got = lock.acquire(wait=False)
        finally:
            lock.release()
        return not got


def prune(folder: Path, keep: int = 2) -> None:
    """Remove all but the ``keep`` newest index files (processes that have an older one open
    keep reading it: an open file outlives its name), the temporary files of builders that are
    gone (killed half-way), and all but the last corrupt file kept."""
    for old in complete_files(folder)[keep:]:
        old.unlink(missing_ok=True)
    stale = [t for t in folder.glob(".tmp-*") if not _alive(t.name.split("-")[1])]
    for f in [*stale, *sorted(folder.glob("*.corrupt"))[:-1]]:
        f.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    """Whether process ``pid`` (as written in a temporary file's name) still runs."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discard(path: Path) -> None:
    """Move a file that cannot be read out of the way (kept once, for a post-mortem)."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(path.name + ".corrupt"))
