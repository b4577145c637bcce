"""The role-node rule (mapping/roles.py, docs/model.md "People and roles") holds over whole
graphs, whatever mapper made the node: the demo (GBIF records, documents, labels, photographs),
the document-side fixtures (Field Museum label ground truth, iDigBio media, a notebook, a IIIF
manifest), the shipped templates, every real archive of tests/data/real (EML contacts,
identification history, publisher identifiers) and the DwC-DP guide example (issue 21).

A role node is what SHACL's RoleNodeShape targets: an object of ``prov:qualifiedAssociation`` /
``prov:qualifiedAttribution``, or a node typed ``prov:Association``, ``prov:Attribution`` or
``col:HandwritingAttribution``. Over the same graphs, the types the vocabularies entail are not
written and what entails them is (docs/model.md, "What is not written"; issue 23)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.mapping.common import Context, Mapped
from collectomics.mapping.documents import map_document
from collectomics.mapping.labels import map_label
from collectomics.mapping.media import map_media
from collectomics.mapping.refs import Refs
from collectomics.model import IRI, Literal
from collectomics.resources import resource_path
from collectomics.store import Store
from collectomics.vocab import COL, DWC, PROV, RDF, ROLE
from helpers import REAL, REAL_ARCHIVES
from remote_servers import new_store

TESTS = Path(__file__).resolve().parent
DOCUMENTS = TESTS / "data" / "documents"
TEMPLATES = TESTS.parent / "data" / "templates"
DEMO = TESTS.parent / "data" / "demo"
POSITIVE = "http://www.w3.org/2001/XMLSchema#positiveInteger"
#: the qualifying property -> the node's class, the holder's unqualified shortcut (PROV-O), and
#: whether the two are written: an activity's role node is a prov:Association by the range of
#: prov:qualifiedAssociation, and prov:wasAssociatedWith follows from its prov:agent, so the
#: graph holds neither (issue 23); an entity's prov:Attribution keeps both
QUALIFIED = {
    PROV.qualifiedAssociation: (PROV.Association, PROV.wasAssociatedWith, False),
    PROV.qualifiedAttribution: (PROV.Attribution, PROV.wasAttributedTo, True),
}
#: the role -> the property of its holder that keeps the source's whole agent string
SOURCE_STRING = {ROLE.collector: DWC.recordedBy, ROLE.determiner: DWC.identifiedBy}
M = Minter()
Facts = dict[str, list[object]]
PREFIXES = (
    f"PREFIX prov: <{PROV}>\nPREFIX col: <{COL.NS.iri}>\n"
    "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>\n"
)


@pytest.fixture(scope="module")
def graph(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store on disk holding every source above, each its own dataset."""
    store = new_store(request, tmp_path_factory.mktemp("roles") / "store.db")
    for report in build_demo(store, M):
        assert report.rejected == 0, report.summary()
    sources = {
        "fm": [DOCUMENTS / n for n in ("fieldmuseum-specimens.csv", "fieldmuseum-labels.csv")],
        "idigbio-media": [DOCUMENTS / "idigbio-media.csv"],
        "notebook": [DOCUMENTS / "notebook.json", DOCUMENTS / "manifest.json"],
        "templates": [
            TEMPLATES / n
            for n in ("people.csv", "groups.csv", "documents.json", "labels.csv", "media.csv")
        ],
        "dwc-dp-guide": [TESTS / "data" / "dwc-dp" / "guide-example"],
    }
    for n, archive in enumerate(REAL_ARCHIVES):
        sources[f"real-{n}"] = [REAL / archive]
    for dataset, files in sources.items():
        [report] = ingest_files(store, files, minter=M, dataset_id=dataset)
        assert report.loaded, (dataset, report.summary())
    return store


def _facts(store: Store) -> tuple[dict[tuple[str, str], Facts], dict[tuple[str, str], set[str]]]:
    """Every role node of every dataset's graph: its properties there (predicate -> values;
    ``^holder`` -> (qualifying property, holder) pairs), and the holders' shortcuts and source
    strings in that graph ((graph, holder) -> 'p o' keys). Graph by graph, since that is what
    a mapping writes (a dataset node that two downloads share is a node of both graphs)."""
    nodes: dict[tuple[str, str], Facts] = defaultdict(lambda: defaultdict(list))
    query = """SELECT DISTINCT ?g ?r ?p ?o WHERE { GRAPH ?g {
      { ?h prov:qualifiedAssociation|prov:qualifiedAttribution ?r }
      UNION { ?r a prov:Association } UNION { ?r a prov:Attribution }
      UNION { ?r a col:HandwritingAttribution }
      ?r ?p ?o } }"""
    for row in store.query(PREFIXES + query).rows():
        nodes[str(row["g"]), str(row["r"])][str(row["p"])].append(row["o"])
    held = """SELECT DISTINCT ?g ?h ?q ?r WHERE { GRAPH ?g {
      VALUES ?q { prov:qualifiedAssociation prov:qualifiedAttribution } ?h ?q ?r } }"""
    for row in store.query(PREFIXES + held).rows():
        nodes[str(row["g"]), str(row["r"])]["^holder"].append((str(row["q"]), str(row["h"])))
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    about = """SELECT DISTINCT ?g ?h ?p ?o WHERE { GRAPH ?g {
      ?h prov:qualifiedAssociation|prov:qualifiedAttribution ?r .
      VALUES ?p { prov:wasAssociatedWith prov:wasAttributedTo dwc:recordedBy dwc:identifiedBy }
      ?h ?p ?o } }"""
    for row in store.query(PREFIXES + about).rows():
        holders[str(row["g"]), str(row["h"])].add(f"{row['p']} {_text(row['o'])}")
    return nodes, holders


def _kept_datatype(store: Store) -> str:
    """The datatype ``store`` gives back for an ``xsd:positiveInteger`` it was given: Oxigraph
    keeps every integer type as ``xsd:integer`` (pyoxigraph 0.5.13), so there the order's
    datatype is checked on the mapping's own output (test_template_role_nodes_...)."""
    probe = "urn:x-test:probe"
    store.add(probe, f'<{probe}> <{probe}> "1"^^<{POSITIVE}> .\n'.encode(), "ntriples")
    [row] = store.query(f"SELECT ?o WHERE {{ GRAPH <{probe}> {{ ?s ?p ?o }} }}").rows()
    store.remove_graph(probe)
    kept = row["o"]
    assert isinstance(kept, Literal)
    return kept.datatype


def _text(term: object) -> str:
    return term.value if isinstance(term, Literal) else str(term)


def _broken(
    graph: str, node: str, facts: Facts, holders: dict[tuple[str, str], set[str]], order_type: str
) -> list[str]:
    """What in ``node`` (of ``graph``) departs from the rule: one holder, qualified the rule's
    way, typed and with the unqualified shortcut to the agent (none to an unknown agent) only
    where PROV-O does not entail them; one role (an IRI), one ``xsd:positiveInteger`` order
    (``order_type``: what the store keeps of one), one agent (an IRI), at most one name as
    written and one verbatim string, never equal to the name (it is written only for a split
    string); the verbatim string, else the name, is the holder's own source string where the
    holder keeps one."""
    wrong = []
    held = facts.get("^holder", [])
    if len(held) != 1:
        return [f"{len(held)} holders"]
    [(qualified, holder)] = held  # type: ignore[misc]
    node_class, shortcut, written_out = QUALIFIED[IRI(qualified)]
    if (node_class in facts.get(str(RDF.type), [])) != written_out:
        wrong.append(f"{'not ' * written_out}typed {node_class.rsplit('#', 1)[-1]}")
    roles = facts.get(str(PROV.hadRole), [])
    if len(roles) != 1 or not isinstance(roles[0], IRI):
        wrong.append(f"roles {roles}")
    orders = facts.get(str(COL.order), [])
    if not (
        len(orders) == 1
        and isinstance(orders[0], Literal)
        and orders[0].datatype == order_type
        and orders[0].value.isdigit()
        and int(orders[0].value) >= 1
    ):
        wrong.append(f"orders {orders}")
    agents = facts.get(str(PROV.agent), [])
    if len(agents) != 1 or not isinstance(agents[0], IRI):
        wrong.append(f"agents {agents}")
        return wrong
    unknown = f"{node}/agent" == agents[0]  # an unknown agent is minted under its role node
    has_shortcut = f"{shortcut} {agents[0]}" in holders[graph, holder]
    if written_out and not unknown and not has_shortcut:
        wrong.append(f"no {shortcut.rsplit('#', 1)[-1]} shortcut from {holder}")
    if has_shortcut and not written_out:
        wrong.append(f"an entailed {shortcut.rsplit('#', 1)[-1]} from {holder}")
    written = facts.get(str(COL.nameAsWritten), [])
    verbatim = facts.get(str(COL.verbatimAgentString), [])
    if len(written) > 1 or len(verbatim) > 1 or (verbatim and verbatim == written):
        wrong.append(f"written {written}, verbatim {verbatim}")
    source = SOURCE_STRING.get(IRI(roles[0])) if len(roles) == 1 else None
    strings = {
        k.split(" ", 1)[1] for k in holders[graph, holder] if source and k.startswith(source)
    }
    whole = verbatim or written  # COALESCE(?verbatim, ?nameAsWritten), as the readers take it
    if strings and {_text(v).strip() for v in whole} != {s.strip() for s in strings}:
        wrong.append(f"verbatim {verbatim}, written {written}, the source says {sorted(strings)}")
    return wrong


def test_every_role_node_has_the_rules_shape(graph: Store) -> None:
    order_type = _kept_datatype(graph)
    nodes, holders = _facts(graph)
    kinds = {str(facts[str(PROV.hadRole)][0]).rsplit("/", 1)[-1] for facts in nodes.values()}
    # the property is asserted over every kind of role node the mappers make
    assert {
        "collector", "determiner", "transcriber", "photographer", "creator", "labelWriter"
    } <= kinds, kinds  # fmt: skip
    broken = {k: w for k, f in nodes.items() if (w := _broken(*k, f, holders, order_type))}
    examples = "\n".join(f"{n} ({g}): {'; '.join(w)}" for (g, n), w in sorted(broken.items())[:20])
    assert not broken, f"{len(broken)} of {len(nodes)} role nodes break the rule:\n{examples}"


def _template_outputs() -> list[tuple[str, Mapped]]:
    """What the labels, media and documents mappers write for every row of the real and
    shipped template files (the demo's, data/templates', the Field Museum and iDigBio rows)."""
    ctx = Context("roles", M)
    refs = Refs(M, dataset_id="roles")
    outputs: list[tuple[str, Mapped]] = []
    for folder in (DEMO, TEMPLATES, DOCUMENTS):
        for path in sorted(folder.glob("*.csv")):
            mapper = {"labels": map_label, "media": map_media}.get(path.stem.split("-")[-1])
            if mapper is None:
                continue
            with path.open(encoding="utf-8", newline="") as handle:
                for n, row in enumerate(csv.DictReader(handle), start=2):
                    outputs.append((f"{path.name}:{n}", mapper(row, ctx, refs)))
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text("utf-8"))
            items = data.get("documents", []) if isinstance(data, dict) else []
            for i, item in enumerate(items):
                for where, out in map_document(item, ctx, refs, f"documents[{i}]"):
                    outputs.append((f"{path.name}:{where}", out))
    return outputs


def test_template_role_nodes_are_written_by_the_rule() -> None:
    """The role nodes of labels (transcriber, hand), photographs and documents as their mappers
    write them, before a store sees them: an ``xsd:positiveInteger`` order (the embedded
    store keeps it as ``xsd:integer``, so only here can the datatype be told), the unqualified
    shortcut, and the same IRIs as before the rule was shared (``{holder}/{role}/{order}``)."""
    outputs = _template_outputs()
    seen: set[str] = set()
    for where, out in outputs:
        triples = set(out.triples)
        for s, p, o in triples:
            if p != PROV.qualifiedAttribution:
                continue
            seen.add(str(o).rsplit("/", 2)[-2])
            facts = {(p2, o2) for s2, p2, o2 in triples if s2 == o}
            [agent] = [a for p2, a in facts if p2 == PROV.agent]
            [role] = [r for p2, r in facts if p2 == PROV.hadRole]
            assert (s, PROV.wasAttributedTo, agent) in triples, (where, o)
            assert (o, RDF.type, PROV.Attribution) in triples, (where, o)
            [order] = [x for p2, x in facts if p2 == COL.order]
            assert isinstance(order, Literal) and order.datatype == POSITIVE, (where, o, order)
            if (o, RDF.type, COL.HandwritingAttribution) in triples:
                assert o == f"{s}/hand/{agent.rsplit('/', 1)[-1]}" and order.value == "1"
            else:
                assert o == f"{s}/{role.rsplit('/', 1)[-1]}/{order.value}", (where, o)
    # every kind of template role node was among them
    assert {"transcriber", "hand", "photographer", "creator"} <= seen, seen


#: the types the graph leaves out (docs/model.md, "What is not written"), each as the query for
#: the nodes that would carry it and still do; every such node keeps what entails the type
LEFT_OUT = {
    "an event or identification typed prov:Activity (dwc:Event, dwc:Identification rdfs:subClassOf"
    " prov:Activity)": "?n a prov:Activity . { ?n a dwc:Event } UNION { ?n a dwc:Identification }",
    "a location typed dcterms:Location (the range of dsw:locatedAt)": "?e dsw:locatedAt ?n . "
    "?n a <http://purl.org/dc/terms/Location>",
    "an activity's role node typed prov:Association (the range of prov:qualifiedAssociation)": (
        "?a prov:qualifiedAssociation ?n . ?n a prov:Association"
    ),
    "prov:wasAssociatedWith (entailed by prov:qualifiedAssociation/prov:agent)": (
        "?n prov:wasAssociatedWith ?agent"
    ),
    "a role node's verbatim string equal to its name as written": (
        "?n col:verbatimAgentString ?v ; col:nameAsWritten ?v"
    ),
}
#: nodes that must keep what entails the left-out type: a collecting event its dwc:Event, an
#: identification its dwc:Identification, a location its dsw:locatedAt (its only way in)
KEPT = {
    "a collecting event that is no dwc:Event": (
        "?s col:collectingEvent ?n FILTER NOT EXISTS { ?n a dwc:Event }"
    ),
    "an identification that is no dwc:Identification": (
        "?s dsw:hasIdentification ?n FILTER NOT EXISTS { ?n a dwc:Identification }"
    ),
    "a location with values that no event is dsw:locatedAt": (
        "?s col:collectingEvent ?e . BIND (IRI(CONCAT(STR(?s), '/location')) AS ?n) "
        "?n ?p ?v FILTER (?p != prov:wasGeneratedBy) FILTER NOT EXISTS { ?x dsw:locatedAt ?n }"
    ),
}


def test_no_entailed_type_is_written_and_what_entails_it_is(graph: Store) -> None:
    """Over every mapper's output (the demo, templates, documents, DwC-DP, every real archive):
    no node carries a triple the vocabularies entail, and every node keeps the triple that
    entails it, so a reasoner (or the query of docs/model.md) gives the left-out one back.
    The ontology states the subclass axioms the events and identifications rely on."""
    prefixes = PREFIXES + "PREFIX dsw: <http://purl.org/dsw/>\n"
    found = {}
    for what, pattern in {**LEFT_OUT, **KEPT}.items():
        query = f"SELECT DISTINCT ?n WHERE {{ GRAPH ?g {{ {pattern} }} }} LIMIT 3"
        rows = [str(r["n"]) for r in graph.query(prefixes + query).rows()]
        if rows:
            found[what] = rows
    assert not found, found
    # what the graph does hold, so the queries above are not vacuous
    [counts] = graph.query(
        prefixes + "SELECT (COUNT(DISTINCT ?e) AS ?events) (COUNT(DISTINCT ?l) AS ?locations) "
        "WHERE { GRAPH ?g { ?s col:collectingEvent ?e OPTIONAL { ?e dsw:locatedAt ?l } } }"
    ).rows()
    assert int(counts["events"].value) > 5000 and int(counts["locations"].value) > 5000
    ontology = Graph().parse(resource_path("ontology") / "collectomics.ttl")
    for cls in (DWC.Event, DWC.Identification):
        assert (URIRef(cls), RDFS.subClassOf, URIRef(PROV.Activity)) in ontology, cls
