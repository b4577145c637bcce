"""The materialised co-collection edges as compact arrays, for neighbourhoods and the whole
network without a SPARQL round trip per ring.

Reading every tie of a prolific collector's co-collectors back out of the facets graph costs
seconds on a million specimens (measured in docs/performance.md), most of it moving rows into
Python. ``materialise`` therefore also writes the same edges, with the collectors' labels and
counts, as arrays in a compressed-sparse-row layout: a file inside the store's folder
(``collectomics-cache/``), or, for a store in memory, this process's memory. It is a cache,
never the truth: the facets graph stays what SPARQL sees, and an index is used only when the
token it was written with is the one the current facets graph carries
(``col:Materialisation dcterms:identifier``); otherwise readers fall back to SPARQL.

The itineraries of prolific collectors are kept the same way (their rows, one file each): on a
million specimens, one collector's 49,000 specimens took 5-12 s to read through SPARQL, nine
index lookups each.

Neither file can execute code when read: the index is a JSON header (token, the nodes' IRIs,
labels and kinds) followed by the integer arrays' raw bytes (:mod:`array`), an itinerary is
JSON. A file that is damaged, cut short, of another format or not ours is ignored (readers fall
back to SPARQL) and the next ``materialise`` writes it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import weakref
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import IO, Any

import networkx as nx

from collectomics.store import Store

#: bumped when the layout changes; an index of another format is ignored
FORMAT = 2
#: "no year" in the year arrays
NO_YEAR = -(2**31)
FILE = "co-collection-edges.arrays"
#: what format 1 wrote (a pickle): never read, removed when a new index is written
_LEGACY = "co-collection-edges.pickle"
#: the first bytes of an index file; then the header's length (8 bytes, little-endian), the
#: header (JSON) and the arrays' bytes, in the header's order
MAGIC = b"COLLECTOMICS-EDGES\n"
#: the integer arrays of an index, in file order
_ARRAYS = ("counts", "first", "last", "a", "b", "weight", "efirst", "elast")

#: indexes of stores in memory (no folder to write to), by store object
_MEMORY: weakref.WeakKeyDictionary[Any, EdgeIndex] = weakref.WeakKeyDictionary()
#: indexes read from files, by path (each knows its token)
_LOADED: dict[str, EdgeIndex] = {}


class EdgeIndex:
    """Nodes (IRIs with label, kind, specimen count and years) and weighted, dated edges, with
    each node's incident edges in one contiguous slice (``offsets``/``neighbours``/``edge``)."""

    def __init__(self, token: str, nodes: list[str], node_attrs: list[tuple[str, str]],
                 counts: array, first: array, last: array,
                 a: array, b: array, weight: array, efirst: array, elast: array) -> None:  # fmt: skip
        self.token = token
        self.nodes, self.node_attrs = nodes, node_attrs  # node_attrs: (label, kind)
        self.counts, self.first, self.last = counts, first, last
        self.a, self.b, self.weight, self.efirst, self.elast = a, b, weight, efirst, elast
        self.index = {n: i for i, n in enumerate(nodes)}
        self._csr()

    def _csr(self) -> None:
        n = len(self.nodes)
        degree = array("i", bytes(4 * (n + 1)))
        for x in self.a:
            degree[x + 1] += 1
        for x in self.b:
            degree[x + 1] += 1
        for i in range(n):
            degree[i + 1] += degree[i]
        self.offsets = degree
        fill = array("i", degree[:-1]) if n else array("i")
        self.neighbours = array("i", bytes(4 * 2 * len(self.a)))
        self.edge = array("i", bytes(4 * 2 * len(self.a)))
        for e, (x, y) in enumerate(zip(self.a, self.b, strict=True)):
            self.neighbours[fill[x]], self.edge[fill[x]] = y, e
            fill[x] += 1
            self.neighbours[fill[y]], self.edge[fill[y]] = x, e
            fill[y] += 1

    # -- building and storing ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        token: str,
        nodes: dict[str, dict[str, Any]],
        edges: dict[tuple[str, str], dict[str, Any]],
        label: Callable[[str], str],
        kind: Callable[[str], str],
    ) -> EdgeIndex:
        """From a builder's nodes and edges (``network._Builder``); ``label`` names every node,
        ``kind`` tells the kind of a node that has ties but was not counted as a collector."""
        names = sorted(set(nodes) | {x for e in edges for x in e})
        index = {n: i for i, n in enumerate(names)}
        attrs, counts, first, last = [], array("i"), array("i"), array("i")
        for n in names:
            got = nodes.get(n)
            if got is None:
                attrs.append((label(n), kind(n)))
                counts.append(0)
                first.append(NO_YEAR)
                last.append(NO_YEAR)
            else:
                attrs.append((label(n), got["kind"]))
                counts.append(got["specimens"])
                first.append(_y(got.get("first_year")))
                last.append(_y(got.get("last_year")))
        a, b, w, ef, el = (array("i") for _ in range(5))
        for (x, y), e in sorted(edges.items()):
            a.append(index[x])
            b.append(index[y])
            w.append(e["weight"])
            ef.append(_y(e.get("first_year")))
            el.append(_y(e.get("last_year")))
        return cls(token, names, attrs, counts, first, last, a, b, w, ef, el)

    def save(self, path: Path) -> None:
        """Write atomically (a temporary file renamed over the old one): a JSON header with the
        token and the nodes' IRIs, labels and kinds, then the integer arrays' raw bytes."""
        header = {
            "format": FORMAT,
            "token": self.token,
            "byteorder": sys.byteorder,
            "itemsize": array("i").itemsize,
            "lengths": [len(getattr(self, name)) for name in _ARRAYS],
            "nodes": self.nodes,
            "labels": [label for label, _ in self.node_attrs],
            "kinds": [kind for _, kind in self.node_attrs],
        }
        head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        with _atomic(path) as out:
            out.write(MAGIC + len(head).to_bytes(8, "little") + head)
            for name in _ARRAYS:
                getattr(self, name).tofile(out)
        (path.parent / _LEGACY).unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> EdgeIndex | None:
        """The index in ``path``; None when there is none, or it is of another format, damaged
        or foreign (nothing in the file is ever executed: JSON and integer arrays only)."""
        try:
            with open(path, "rb") as handle:
                return cls._read(handle, os.fstat(handle.fileno()).st_size)
        except (OSError, ValueError, TypeError, KeyError, EOFError, IndexError):
            return None

    @classmethod
    def _read(cls, handle: IO[bytes], size: int) -> EdgeIndex | None:
        if handle.read(len(MAGIC)) != MAGIC:
            return None
        length = int.from_bytes(handle.read(8), "little")
        if length > size:
            return None
        header = json.loads(handle.read(length).decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            return None
        if header["itemsize"] != array("i").itemsize:
            return None
        nodes, labels, kinds = header["nodes"], header["labels"], header["kinds"]
        counts = header["lengths"]
        n, e = len(nodes), counts[_ARRAYS.index("a")]
        if len(labels) != n or len(kinds) != n or counts != [n, n, n, e, e, e, e, e]:
            return None
        if not set(map(type, chain(nodes, labels, kinds))) <= {str}:  # the types, in C
            return None
        arrays = []
        for count in counts:
            got = array("i")
            got.fromfile(handle, count)  # EOFError when the file is cut short
            if header["byteorder"] != sys.byteorder:
                got.byteswap()
            arrays.append(got)
        if handle.read(1):
            return None  # more than the header says: not ours
        a, b = arrays[3], arrays[4]
        # read as unsigned, a negative node number is as out of range as one past the last
        if e and max(max(array("I", a.tobytes())), max(array("I", b.tobytes()))) >= n:
            return None
        return cls(str(header["token"]), nodes, list(zip(labels, kinds, strict=True)), *arrays)

    # -- reading -----------------------------------------------------------------------------

    def _node_data(self, i: int) -> dict[str, Any]:
        label, kind = self.node_attrs[i]
        data: dict[str, Any] = {"label": label, "kind": kind, "specimens": self.counts[i]}
        if self.first[i] != NO_YEAR:
            data["first_year"], data["last_year"] = self.first[i], self.last[i]
        return data

    def _edge_data(self, e: int) -> dict[str, Any]:
        data: dict[str, Any] = {"weight": self.weight[e]}
        if self.efirst[e] != NO_YEAR:
            data["first_year"], data["last_year"] = self.efirst[e], self.elast[e]
        return data

    def whole(self) -> nx.Graph:
        """Every collector and every co-collection tie."""
        g = nx.Graph()
        g.add_nodes_from((n, self._node_data(i)) for i, n in enumerate(self.nodes))
        nodes = self.nodes
        g.add_edges_from(
            (nodes[x], nodes[y], self._edge_data(e))
            for e, (x, y) in enumerate(zip(self.a, self.b, strict=True))
        )
        return g

    def ego(self, person: str, depth: int, limit: int = 0) -> nx.Graph | None:
        """``person``'s neighbourhood, ring by ring out to ``depth``, then the ties among the
        people reached; ``limit`` keeps, per ring, those most strongly tied to the ring inside.
        None when ``person`` has no entry (the caller describes a lone node)."""
        start = self.index.get(person)
        if start is None:
            return None
        offsets, neighbours, edge, weight = self.offsets, self.neighbours, self.edge, self.weight
        dist = {start: 0}
        frontier = [start]
        kept: set[int] = set()
        for ring in range(depth + 1):
            if not frontier:
                break
            found: set[int] = set()
            strength: dict[int, int] = defaultdict(int)
            seen_edges: set[int] = set()
            for x in frontier:
                for k in range(offsets[x], offsets[x + 1]):
                    e, y = edge[k], neighbours[k]
                    if e in seen_edges:
                        continue
                    seen_edges.add(e)
                    if ring == depth and y not in dist:
                        continue
                    kept.add(e)
                    if y not in dist:
                        found.add(y)
                        strength[y] += weight[e]
            if limit and ring < depth:
                found = set(sorted(found, key=lambda n: (-strength[n], self.nodes[n]))[:limit])
            for y in found:
                dist.setdefault(y, ring + 1)
            frontier = sorted(found)
        g = nx.Graph()
        g.add_nodes_from((self.nodes[i], self._node_data(i)) for i in sorted(dist))
        for e in kept:
            x, y = self.a[e], self.b[e]
            if x in dist and y in dist:
                g.add_edge(self.nodes[x], self.nodes[y], **self._edge_data(e))
        return g


@contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file to write ``path`` through: a temporary file renamed over it once written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _y(year: int | None) -> int:
    return NO_YEAR if year is None else int(year)


def cache_file(store: Store) -> Path | None:
    """Where the index of an on-disk store lives (its cache folder), else None."""
    folder = store.cache_dir
    return None if folder is None else folder / FILE


def remember(store: Any, index: EdgeIndex) -> None:
    """Keep ``index`` for ``store``: in its folder when it has one, else in this process."""
    path = cache_file(store)
    if path is None:
        _MEMORY[store] = index
        return
    if store.read_only:
        return
    index.save(path)
    _LOADED[str(path)] = index


def lookup(store: Any, token: str) -> EdgeIndex | None:
    """The index written with ``token`` (the current facets graph's), or None."""
    path = cache_file(store)
    if path is None:
        found = _MEMORY.get(store)
        return found if found is not None and found.token == token else None
    found = _LOADED.get(str(path))
    if found is not None and found.token == token:
        return found
    found = EdgeIndex.load(path)
    if found is None or found.token != token:
        return None
    _LOADED.clear()  # one store's index at a time in a process
    _LOADED[str(path)] = found
    return found


# -- itinerary rows of prolific collectors ---------------------------------------------------------

ROWS_DIR = "itinerary"
_MEMORY_ROWS: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, list[list[str]]]]] = (
    weakref.WeakKeyDictionary()
)


def _rows_file(store: Any, person: str) -> Path | None:
    base = cache_file(store)
    if base is None:
        return None
    name = hashlib.sha1(person.encode("utf-8")).hexdigest() + ".json"
    return base.parent / ROWS_DIR / name


def clear_rows(store: Any) -> None:
    """Forget every cached itinerary of ``store`` (a new materialisation is being written)."""
    _MEMORY_ROWS.pop(store, None)
    base = cache_file(store)
    if base is not None and not store.read_only:
        folder = base.parent / ROWS_DIR
        if folder.is_dir():
            for f in folder.iterdir():
                f.unlink(missing_ok=True)


def save_rows(store: Any, token: str, person: str, rows: list[list[str]]) -> None:
    """Keep ``person``'s itinerary rows, tied to the materialisation ``token`` (JSON)."""
    path = _rows_file(store, person)
    if path is None:
        _MEMORY_ROWS.setdefault(store, {})[person] = (token, rows)
        return
    kept = {"format": FORMAT, "token": token, "person": person, "rows": rows}
    with _atomic(path) as out:
        out.write(json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def load_rows(store: Any, token: str, person: str) -> list[list[str]] | None:
    """``person``'s cached itinerary rows when they were written with ``token``, else None
    (also when the file is damaged or foreign: it is JSON, never executed)."""
    path = _rows_file(store, person)
    if path is None:
        found = _MEMORY_ROWS.get(store, {}).get(person)
        return found[1] if found is not None and found[0] == token else None
    try:
        kept = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != FORMAT:
        return None
    rows = kept.get("rows")
    if kept.get("token") != token or kept.get("person") != person or not _rows_ok(rows):
        return None
    return rows


def _rows_ok(rows: Any) -> bool:
    """True when ``rows`` has the shape :func:`collectomics.analysis.itinerary.event_rows`
    gives: lists of eight strings."""
    if not isinstance(rows, list) or not all(type(r) is list and len(r) == 8 for r in rows):
        return False
    return set(map(type, chain.from_iterable(rows))) <= {str}  # the values' types, in C
