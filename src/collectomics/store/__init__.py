"""The graph store: the interface the rest of the library uses, and its backends.

:mod:`~collectomics.store.base` holds the :class:`Store` interface and :class:`QueryResult`;
:mod:`~collectomics.store.embedded` the embedded pyoxigraph store (:class:`OxigraphStore`, on
disk or in memory; the only importer of pyoxigraph); :mod:`~collectomics.store.remote` a store on
a SPARQL 1.1 Query/Update + Graph Store Protocol server (:class:`RemoteStore`). Data goes in as
files, bytes or N-Triples/N-Quads text (what the mapping layer produces), so a remote backend can
forward it unchanged. :func:`open_store` opens the one a setting names.
"""

from __future__ import annotations

import os

from collectomics.errors import StoreError
from collectomics.store.base import (
    CACHE_DIR,
    CATALOG,
    CURRENT,
    EMPTY,
    INTERNAL,
    QUAD_FORMATS,
    RDF_MEDIA,
    RESULT_MEDIA,
    QueryResult,
    Source,
    Store,
    check_dataset_name,
    is_internal_graph,
    is_remote,
    next_physical,
    rdf_format_for,
    start_producer,
    tsv_row,
    tsv_term,
)
from collectomics.store.embedded import (
    COMPACT_SHARE,
    RDF_FORMATS,
    RESULT_FORMATS,
    OxigraphStore,
    build_server_store,
    convert_rdf,
    count_statements,
    ntriples_batches,
    ntriples_by_graph,
    parse_answer,
    split_nquads,
)
from collectomics.store.remote import RemoteStore

__all__ = [
    "CACHE_DIR",
    "CATALOG",
    "COMPACT_SHARE",
    "CURRENT",
    "EMPTY",
    "INTERNAL",
    "QUAD_FORMATS",
    "RDF_FORMATS",
    "RDF_MEDIA",
    "RESULT_FORMATS",
    "RESULT_MEDIA",
    "OxigraphStore",
    "QueryResult",
    "RemoteStore",
    "Source",
    "Store",
    "build_server_store",
    "check_dataset_name",
    "convert_rdf",
    "count_statements",
    "is_internal_graph",
    "is_remote",
    "next_physical",
    "ntriples_batches",
    "ntriples_by_graph",
    "open_store",
    "parse_answer",
    "rdf_format_for",
    "split_nquads",
    "start_producer",
    "tsv_row",
    "tsv_term",
]


def open_store(
    location: str | os.PathLike[str] | None,
    *,
    read_only: bool = False,
    update_url: str = "",
    graph_store_url: str = "",
) -> Store:
    """Open the store a setting names: a path (embedded, on disk), None (in memory), or
    ``sparql+http(s)://HOST:PORT/query`` (a remote SPARQL server; ``update_url`` and
    ``graph_store_url`` name its other endpoints, by default ``/update`` and ``/store`` beside)."""
    if is_remote(location):
        return RemoteStore.from_location(
            str(location),
            update_url=update_url,
            graph_store_url=graph_store_url,
            read_only=read_only,
        )
    if location is not None and str(location).startswith(("http://", "https://", "sparql+")):
        raise StoreError(
            "a remote store is named sparql+http://HOST:PORT/query (or sparql+https://)",
            store=location,
        )
    return OxigraphStore(location, read_only=read_only)
