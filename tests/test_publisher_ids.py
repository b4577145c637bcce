"""A publisher's identifiers for one name are paired with it, and resolve to one identity.

Real case: the BGBM herbarium sheet B 10 0242900 names "C. G. Pringle" with four identifiers
(Harvard botanist index, VIAF, Wikidata Q3009492, Bionomia); before, none was paired with the
name (only a single identifier was) and each counted as a collector of its own.
"""

from __future__ import annotations

from collectomics.analysis import identity
from collectomics.ingest import ingest_files
from collectomics.iri import Minter
from collectomics.mapping.roles import one_person as _one_person
from collectomics.model import IRI
from collectomics.store import OxigraphStore
from helpers import REAL

M = Minter()
PRINGLE = {
    "http://purl.oclc.org/net/edu.harvard.huh/guid/uuid/7ddb21fc-fa2f-4575-a594-322e837faa88",
    "http://viaf.org/viaf/74992245",
    "http://www.wikidata.org/entity/Q3009492",
    "https://bionomia.net/Q3009492",
}


def test_one_name_is_paired_with_identifiers_from_different_authorities() -> None:
    assert _one_person([IRI(i) for i in sorted(PRINGLE)])
    # two identifiers of one authority are two people: not paired
    assert not _one_person(
        [IRI("https://orcid.org/0000-0001-0000-0001"), IRI("https://orcid.org/0000-0001-0000-0002")]
    )
    assert not _one_person([])


def test_bgbm_collectors_and_their_identifiers_are_one_identity_each() -> None:
    store = OxigraphStore()
    [report] = ingest_files(
        store, [REAL / "bgbm-herbarium-recordedbyid" / "occurrence_utf8.txt"], minter=M
    )
    assert report.loaded == 4 and report.rejected == 0
    ident = identity.compute(store, M)
    rows = store.query(
        "SELECT ?a ?t WHERE { ?m a <https://w3id.org/collectomics/ontology#IdentityMatch> ; "
        "<http://www.w3.org/2002/07/owl#annotatedSource> ?a ; "
        "<http://www.w3.org/2002/07/owl#annotatedTarget> ?t }"
    ).rows()
    paired: dict[str, set[str]] = {}
    for r in rows:
        paired.setdefault(str(r["a"]), set()).add(str(r["t"]))
    [(agent, targets)] = [(a, t) for a, t in paired.items() if "Q3009492" in " ".join(t)]
    assert targets == PRINGLE
    assert {ident.resolve(i) for i in PRINGLE} == {agent}
    # every collector named on a record is one identity: the record's recordedBy values
    # (name-string agents and identifier IRIs) resolve to as many nodes as it names people
    per_record: dict[str, set[str]] = {}
    for r in store.query(
        "SELECT ?s ?a WHERE { ?s <http://rs.tdwg.org/dwc/iri/recordedBy> ?a }"
    ).rows():
        per_record.setdefault(str(r["s"]), set()).add(ident.resolve(str(r["a"])))
    assert sorted(len(v) for v in per_record.values()) == [1, 1, 2, 2]
