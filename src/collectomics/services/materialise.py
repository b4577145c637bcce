"""What ``collectomics materialise`` keeps: the analyses' facets graph and its caches, then the
page sections of prolific people.

:func:`collectomics.analysis.network.materialise` writes the co-collection edges, facet counts,
edge index and itinerary rows; this adds, to the graph just written, the sections
(``col:PageSummary``) of every identity named on at least :data:`SUMMARY_AT` specimens, which
:mod:`collectomics.services.personpage` computes and reads (a service above the analyses).
"""

from __future__ import annotations

import time

from collectomics.analysis import identity
from collectomics.analysis.identity import Identities
from collectomics.analysis.network import MaterialiseReport
from collectomics.analysis.network import materialise as materialise_facets
from collectomics.analysis.readers import data_graphs, facets_graph
from collectomics.iri import Minter
from collectomics.services.personpage import summarised, summary_ntriples
from collectomics.store import Store

#: identities named on at least this many specimens get their page's sections kept in the
#: facets graph (:func:`collectomics.services.personpage.summary`); below it the page is computed
#: live, 0.69 s for 499 specimens and 1.6 s for 999 at 1,000,000 (docs/reliability.md)
SUMMARY_AT = 500


def materialise(
    store: Store, minter: Minter, *, summaries_at: int = SUMMARY_AT, speeds: str = ""
) -> MaterialiseReport:
    """Refresh the identities, replace the facets graph and its caches
    (:func:`collectomics.analysis.network.materialise`), then add the page sections of every
    identity named on at least ``summaries_at`` specimens (``speeds``: the itinerary's, the
    setting ``itinerary_speeds``; a page asking for other speeds reads the data)."""
    identity.refresh(store, minter)  # the facets are counted per identity, as it is now
    ids = Identities(store, minter)
    report = materialise_facets(store, minter, ids)
    # computed once the itineraries are kept; added to the graph just written (its own version
    # is no part of the stamp). Interrupted here, the graph holds fewer summaries and their
    # pages read the data.
    started = time.perf_counter()
    nodes = summarised(store, data_graphs(store, minter), ids, summaries_at)
    text, report.summary_triples = summary_ntriples(store, minter, nodes, speeds=speeds)
    if text:
        store.add(facets_graph(minter), text.encode("utf-8"), "ntriples")
    report.summaries = len(nodes)
    report.summary_seconds = time.perf_counter() - started
    return report
