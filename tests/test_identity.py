"""The one identity rule (collectomics.analysis.identity): which nodes are the same person."""

from __future__ import annotations

from collectomics.analysis import identity
from collectomics.analysis.identity import resolve_links
from collectomics.iri import Minter
from collectomics.model import IRI
from collectomics.store import open_store

B = "https://w3id.org/collectomics/"
P1, P2 = B + "person/p1", B + "person/p2"
A1, A2, A3 = B + "agent/d/a1", B + "agent/d/a2", B + "agent/d/a3"
Q1, Q2 = "http://www.wikidata.org/entity/Q1", "http://www.wikidata.org/entity/Q2"
O1 = "https://orcid.org/0000-0001-0000-0001"


def test_person_carries_its_identifiers_and_matched_agents() -> None:
    ident = resolve_links({P1}, [(P1, Q1), (A1, P1), (A2, Q1)], [A3], base=B)
    assert ident.resolve(A1) == ident.resolve(A2) == ident.resolve(Q1) == P1
    assert ident.members(A1) == {P1, A1, A2, Q1}
    assert ident.resolve(A3) == A3  # no link: itself
    assert ident.is_person(A2) and not ident.is_person(A3)


def test_name_string_and_its_publisher_identifier_without_a_person_are_one() -> None:
    # Valentin Moser and his own ORCID: one identity, shown as the local agent
    ident = resolve_links(set(), [(A1, O1), (A2, O1)], [O1], base=B)
    assert ident.resolve(O1) == ident.resolve(A2) == A1
    assert not ident.is_person(A1)


def test_an_agent_reaching_two_people_stays_itself_and_is_reported() -> None:
    ident = resolve_links({P1, P2}, [(P1, Q1), (P2, Q2), (A1, Q1), (A1, P2)], base=B)
    assert ident.resolve(A1) == A1
    assert ident.conflicts[A1] == sorted([P1, P2])
    assert ident.resolve(Q1) == P1 and ident.resolve(Q2) == P2


def test_people_never_merge_through_agents_only_through_a_shared_identifier() -> None:
    # A1 is matched to P1, and its publisher gave O1, which P2's other agent also carries
    ident = resolve_links({P1, P2}, [(A1, P1), (A1, O1), (A2, P2), (A2, O1)], base=B)
    assert ident.resolve(P1) != ident.resolve(P2)
    # two person nodes carrying the same Wikidata item are one person
    same = resolve_links({P1, P2}, [(P1, Q1), (P2, Q1)], base=B)
    assert same.resolve(P2) == same.resolve(Q1) == P1


def test_canonical_prefers_person_then_local_agent_then_wikidata() -> None:
    ident = resolve_links(set(), [(O1, Q1)], base=B)
    assert ident.resolve(O1) == Q1
    ident = resolve_links(set(), [(O1, Q1), (A2, O1)], base=B)
    assert ident.resolve(Q1) == A2


def _load(store, text: str) -> None:  # type: ignore[no-untyped-def]
    store.replace_graph(B + "graph/d", text.encode(), "turtle")


TTL = f"""
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix schema: <http://schema.org/> .
@prefix prov: <http://www.w3.org/ns/prov#> . @prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .
@prefix col: <https://w3id.org/collectomics/ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix status: <https://w3id.org/collectomics/status/> .
<{P1}> a foaf:Person ; schema:sameAs <{Q1}> .
<{A1}> a prov:Agent . <{A2}> a prov:Agent .
<{B}specimen/s1> dwciri:recordedBy <{A1}>, <{A2}>, <{O1}> .
<{B}m1> a col:IdentityMatch ; owl:annotatedSource <{A1}> ; owl:annotatedTarget <{Q1}> ;
   col:matchStatus status:accepted .
<{B}m2> a col:IdentityMatch ; owl:annotatedSource <{A2}> ; owl:annotatedTarget <{P1}> ;
   col:matchStatus status:rejected .
"""


def test_compute_reads_accepted_matches_only_and_materialises_with_a_freshness_stamp(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    minter = Minter()
    with open_store(tmp_path / "s.db") as store:
        _load(store, TTL)
        ident = identity.compute(store, minter)
        assert ident.resolve(A1) == P1  # accepted match to the person's Wikidata item
        assert ident.resolve(A2) == A2  # the rejected match joins nothing
        assert ident.resolve(O1) == O1  # an identifier given directly counts as itself
        assert not identity.fresh(store, minter)
        report = identity.materialise(store, minter)
        assert report.persons == 1 and report.merged == 1
        assert identity.fresh(store, minter)
        rows = store.query(
            "SELECT ?a ?c WHERE { ?a <https://w3id.org/collectomics/ontology#resolvesTo> ?c }",
            params={"a": IRI(A1)},
        ).rows()
        assert [str(r["c"]) for r in rows] == [P1]
        assert identity.load(store, minter).canonical == ident.canonical
        one = identity.load_one(store, minter, P1)  # a page's read of one identity
        assert one.members(P1) == ident.members(P1) == {P1, Q1, A1}
        assert one.is_person(A1) and identity.load_one(store, minter, A2).members(A2) == {A2}
        # a change to the data makes it stale, and refresh rewrites it
        _load(store, TTL + f"<{A2}> schema:sameAs <{Q1}> .")
        assert not identity.fresh(store, minter)
        assert identity.refresh(store, minter) is not None
        assert identity.load(store, minter).resolve(A2) == P1
        assert identity.refresh(store, minter) is None


def test_a_people_table_person_is_canonical_over_the_person_a_link_made() -> None:
    # the demo's case: person/linked/Q... (made by an accepted link) and the people table's row
    linked, table_row = B + "person/linked/Q1", B + "person/zz-table-row"
    ident = resolve_links({linked, table_row}, [(linked, Q1), (table_row, Q1), (A1, Q1)], base=B)
    assert ident.resolve(linked) == ident.resolve(A1) == table_row


def test_display_names_prefer_the_canonical_name_else_a_member_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    minter = Minter()
    with open_store(tmp_path / "s.db") as store:
        _load(
            store,
            TTL
            + f"""<{P1}> <http://xmlns.com/foaf/0.1/name> "Person One" .
            <{A1}> <http://xmlns.com/foaf/0.1/name> "P. One" .
            <{A3}> <http://xmlns.com/foaf/0.1/name> "Zed" . <{A3}> <{B}m3x> <{O1}> .
            <{B}m3> a col:IdentityMatch ; owl:annotatedSource <{A3}> ; owl:annotatedTarget <{O1}> ;
               col:matchStatus status:accepted .""",
        )
        ident = identity.compute(store, minter)
        names = identity.display_names(store, minter, ident, [A1, Q1, O1, A2])
        assert names[A1] == names[Q1] == "Person One"  # the person's own name
        assert names[O1] == "Zed"  # an ORCID iD shows its name string's name
        assert A2 not in names  # no name anywhere in its identity


def test_a_store_naming_no_one_gets_no_identity_graph(tmp_path) -> None:  # type: ignore[no-untyped-def]
    minter = Minter()
    with open_store(tmp_path / "s.db") as store:
        store.replace_graph(
            B + "graph/d", b'<https://example.org/a> <https://example.org/p> "1" .\n', "ntriples"
        )
        report = identity.refresh(store, minter)
        assert report is not None and report.nodes == 0
        assert identity.identity_graph(minter) not in store.graphs()
        assert "no agents" in identity.status(store, minter)
        _load(store, TTL)
        report = identity.refresh(store, minter)
        assert report is not None and report.persons == 1
        assert identity.status(store, minter) == report.summary(timed=False)


def test_a_graph_written_through_the_graph_store_protocol_refreshes_the_identities(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from collectomics.config import load_settings
    from collectomics.web import create_app

    minter = Minter()
    with open_store(tmp_path / "s.db") as store:
        env = {"COLLECTOMICS_ALLOW_UPDATES": "1", "COLLECTOMICS_UPDATE_TOKEN": "t"}
        client = create_app(load_settings(environ=env), store=store).test_client()
        auth = {"Authorization": "Bearer t"}
        for method in (client.put, client.post):
            r = method(
                f"/rdf-graph-store?graph={B}graph/d",
                data=TTL if method == client.put else f"<{A2}> <http://schema.org/sameAs> <{Q1}> .",
                content_type="text/turtle",
                headers=auth,
            )
            assert r.status_code in (201, 204)
            assert identity.fresh(store, minter)
        assert identity.load(store, minter).resolve(A2) == P1  # the POSTed link counts
        r = client.delete(f"/rdf-graph-store?graph={B}graph/d", headers=auth)
        assert r.status_code == 204 and identity.fresh(store, minter)
