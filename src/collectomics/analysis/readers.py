"""The graph readers every analysis shares: SELECT rows as plain strings, which graphs hold the
data, IRIs as a ``VALUES`` list, and the facets graph with its freshness and token.

Identities (:mod:`collectomics.analysis.identity`), networks, itineraries and inference all read
through here, so that none of them reaches into another's private names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.model import IRI, Term
from collectomics.store import Store
from collectomics.vocab import COL, PREFIXES

#: every prefix of :data:`collectomics.vocab.PREFIXES`, ahead of each query read here
PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
#: the named graph of materialised co-collection edges and facet counts (``{base}graph/facets``)
FACETS_GRAPH = "facets"
#: characters that cannot stand inside ``<...>`` in SPARQL: such an IRI is never interpolated
_UNSAFE = '<>"{}|^`\\ \n'


def table(
    store: Store,
    sparql: str,
    *,
    graphs: Sequence[str] | None = None,
    params: Mapping[str, Term] | None = None,
) -> Iterator[list[str]]:
    """Rows of a SELECT as lists of plain strings ('' when unbound), in projection order, over
    ``graphs`` (None: the union of every graph).

    Read through :meth:`QueryResult.table` (the store's TSV serializer, every term decoded):
    far cheaper per row than building term objects in Python, and exact for any IRI.
    """
    result = store.query(
        PROLOGUE + sparql,
        params=params,
        default_graph_union=graphs is None,
        default_graphs=list(graphs) if graphs is not None else None,
    )
    yield from result.table()


def data_graphs(store: Store, minter: Minter, dataset: str | None = None) -> list[str]:
    """The graphs analyses read: one dataset's (an :class:`InputError` when it is not loaded),
    or every dataset's and the identity links' (:meth:`Minter.is_source`)."""
    if dataset is not None:
        graph = minter.graph(dataset)
        if graph not in store.graphs():
            raise InputError(f"no dataset {dataset!r} in the store", parameter="dataset")
        return [graph]
    return [g for g in store.graphs() if minter.is_source(g)]


def safe(iri: str) -> bool:
    """True when ``iri`` can be written between ``<`` and ``>`` in a query."""
    return not any(c in iri for c in _UNSAFE)


def iri_values(nodes: Iterable[str]) -> str:
    """``nodes`` as the body of a SPARQL ``VALUES`` block, in IRI order (unsafe IRIs left out)."""
    return " ".join(f"<{IRI(n)}>" for n in sorted(nodes) if safe(n))


# ------------------------------------------------------------------ the facets graph


def facets_graph(minter: Minter) -> IRI:
    """The named graph of materialised co-collection edges and facet counts."""
    return minter.graph(FACETS_GRAPH)


def stamp(store: Store, graphs: Iterable[str]) -> list[str]:
    """What a derived graph is computed from: each of ``graphs`` that has a current version, with
    that physical version (a derived graph records it as ``col:basedOn`` values)."""
    return sorted(f"{g} {store.physical_graph(g)}" for g in graphs if store.physical_graph(g))


def derived_fresh(store: Store, graph: str, kind: IRI, based_on: list[str]) -> bool:
    """True when the derived ``graph`` exists and its ``kind`` node was computed from
    ``based_on`` (a :func:`stamp`): the one freshness rule of the identity and facets graphs."""
    if graph not in store.graphs():
        return False
    rows = table(store, f"SELECT ?v WHERE {{ ?m a <{kind}> ; col:basedOn ?v }}", graphs=[graph])
    return sorted(r[0] for r in rows) == based_on


def facets_stamp(store: Store, minter: Minter) -> list[str]:
    """What the facets graph is computed from: every other graph with its physical version."""
    own = facets_graph(minter)
    return stamp(store, (g for g in store.graphs() if g != own))


def facets_fresh(store: Store, minter: Minter) -> bool:
    """True when the facets graph exists and was computed from the graphs as they are now."""
    return derived_fresh(
        store, facets_graph(minter), COL.Materialisation, facets_stamp(store, minter)
    )


def materialisation_token(store: Store, minter: Minter) -> str | None:
    """The token the facets graph's materialisation carries (its caches carry the same), fresh
    or not; None when there is no single one."""
    rows = list(
        table(
            store,
            "SELECT ?t WHERE { ?m a col:Materialisation ; dcterms:identifier ?t }",
            graphs=[facets_graph(minter)],
        )
    )
    return rows[0][0] if len(rows) == 1 else None


def facets_token(store: Store, minter: Minter) -> str | None:
    """The token of the current materialisation when it is fresh (what its caches carry)."""
    return materialisation_token(store, minter) if facets_fresh(store, minter) else None
