"""The person page's sections kept by ``collectomics materialise`` (collectomics.services.personpage:
``summary``, ``summary_ntriples``): over every identity of the demo and of each real archive,
the kept answer a page reads equals the live computation from the data; a facets graph made
stale by a load is never read, nor a summary kept for other parameters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from collectomics.analysis import identity
from collectomics.analysis.identity import Identities
from collectomics.analysis.readers import facets_fresh
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.services.materialise import materialise
from collectomics.services.personpage import (
    SUMMARISED,
    flags,
    summarised,
    summary,
    what,
    where_when,
    who,
    with_whom,
    writings,
)
from collectomics.store import Store
from helpers import REAL, REAL_ARCHIVES, new_store
from test_pages_sections import AGENTS, CESAR, D, load_demo

#: the sections as a page calls them (its defaults), by the name they are kept under
SECTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "who": who,
    "what": what,
    "where": where_when,
    "whom": with_whom,
    "writings": writings,
    "flags": flags,
}


def _as_served(data: dict[str, Any]) -> Any:
    """A section's answer as a page serves it (JSON)."""
    return json.loads(json.dumps(data))


def _answers(store: Store, minter: Minter, nodes: list[str]) -> dict[tuple[str, str], Any]:
    """Every section of every node in ``nodes`` as a page reads it, as served."""
    return {
        (p, name): _as_served(SECTIONS[name](store, minter, p))
        for p in nodes
        for name in SUMMARISED
    }


def _kept_equals_live(store: Store, minter: Minter) -> int:
    """Each section of each identity as computed from the data (no facets graph yet), then
    materialised with every identity kept and read again: the kept answer is the one read,
    and it is the same. Returns how many identities."""
    nodes = summarised(store, None, Identities(store, minter), 0)
    assert not facets_fresh(store, minter)
    live = _answers(store, minter, nodes)
    report = materialise(store, minter, summaries_at=0)
    assert report.summaries == len(nodes)
    assert report.summary_triples == 4 * len(SUMMARISED) * len(nodes)
    assert facets_fresh(store, minter)
    assert all(
        summary(store, minter, p, name, _page_params(name)) is not None
        for p in nodes
        for name in SUMMARISED
    )
    read = _answers(store, minter, nodes)
    differ = [key for key in live if read[key] != live[key]]
    assert not differ, differ[:10]
    return len(nodes)


def _page_params(name: str) -> dict[str, Any]:
    """The parameters a page calls section ``name`` with by default."""
    from collectomics.analysis.itinerary import DEFAULT_SPEEDS
    from collectomics.services.personpage import FACET_LIMIT, PAGE_SIZE

    return {
        "what": {"page": 1, "size": PAGE_SIZE, "sort": "date"},
        "where": {"speeds": DEFAULT_SPEEDS},
        "whom": {"limit": FACET_LIMIT},
    }.get(name, {})


def test_every_demo_identity_reads_what_the_data_says(request: pytest.FixtureRequest) -> None:
    store = new_store(request)
    minter = load_demo(store)
    assert _kept_equals_live(store, minter) >= 10
    # the kept answer is the one read: Blanché's, asked through one of his agents too
    kept = summary(
        store,
        minter,
        CESAR,
        "what",
        {"page": 1, "size": 25, "sort": "date"},
    )
    assert kept is not None and kept["by_role"]["collector"] == 12
    assert who(store, minter, D + AGENTS[1])["asked"] == D + AGENTS[1]
    assert who(store, minter, D + AGENTS[1])["iri"] == CESAR


@pytest.mark.parametrize("archive", [a for a in REAL_ARCHIVES if a.endswith(".zip")])
def test_every_real_identity_reads_what_the_data_says(
    request: pytest.FixtureRequest, archive: str
) -> None:
    store = new_store(request)
    minter = Minter()
    [report] = ingest_files(store, [REAL / archive], minter=minter)
    assert report.loaded > 0
    identity.materialise(store, minter)
    assert _kept_equals_live(store, minter) >= 1


@pytest.mark.parametrize("archive", [a for a in REAL_ARCHIVES if not a.endswith(".zip")])
def test_every_identity_of_the_real_files_reads_what_the_data_says(
    request: pytest.FixtureRequest, archive: str
) -> None:
    store = new_store(request)
    minter = Minter()
    ingest_files(store, [REAL / archive], minter=minter)
    identity.materialise(store, minter)
    _kept_equals_live(store, minter)


def test_a_stale_facets_graph_is_never_read(request: pytest.FixtureRequest) -> None:
    """After a load changes Blanché's records, every section is computed from the data again,
    though the facets graph still holds what was kept before."""
    store = new_store(request)
    minter = load_demo(store)
    materialise(store, minter, summaries_at=0)
    before = what(store, minter, CESAR)
    assert summary(store, minter, CESAR, "what", _page_params("what")) == before
    # a dataset reloaded without the collector of one of his sheets
    graph = minter.graph("gbif-0009886-250127130748423")
    assert graph in store.graphs()
    recorded = "<http://rs.tdwg.org/dwc/iri/recordedBy>"
    text = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        default_graph_union=False,
        default_graphs=[graph],
    ).serialize("ntriples")
    assert text is not None
    lines = text.decode("utf-8").splitlines()
    dropped = next(x for x in lines if recorded in x and any(a in x for a in AGENTS))
    store.replace_graph(graph, "\n".join(x for x in lines if x != dropped).encode(), "ntriples")
    assert not facets_fresh(store, minter)
    assert all(summary(store, minter, CESAR, n, _page_params(n)) is None for n in SUMMARISED)
    stale = _answers(store, minter, [CESAR])
    assert stale[(CESAR, "what")]["by_role"]["collector"] == before["by_role"]["collector"] - 1
    # what the data says: the same sections with no facets graph at all
    store.remove_graph(minter.graph("facets"))
    assert stale == _answers(store, minter, [CESAR])


def test_a_summary_kept_for_other_parameters_is_not_read(request: pytest.FixtureRequest) -> None:
    """A page that asks for other itinerary speeds, another page of the list, another sort or
    a shorter table gets the live answer to its question, not the kept default."""
    store = new_store(request)
    minter = load_demo(store)
    slow = "*:1"  # one km a day: every step between placed stops is flagged
    asked: list[tuple[Callable[..., dict[str, Any]], dict[str, Any]]] = [
        (where_when, {"speeds": slow}),
        (what, {"size": 2, "sort": "-catalog"}),
        (what, {"page": 2, "size": 5}),
        (with_whom, {"limit": 1}),
    ]
    live = [_as_served(fn(store, minter, CESAR, **kw)) for fn, kw in asked]
    materialise(store, minter, summaries_at=0)
    assert [_as_served(fn(store, minter, CESAR, **kw)) for fn, kw in asked] == live
    assert live[0]["flags_total"] > where_when(store, minter, CESAR)["flags_total"]
    assert live[1]["list"]["rows"] != what(store, minter, CESAR)["list"]["rows"][:2]
