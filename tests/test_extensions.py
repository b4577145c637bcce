"""Pure mapping of archive extension rows, agent identifiers and dataset metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectomics.iri import Minter
from collectomics.mapping.agentids import identifier_iri, split_identifiers
from collectomics.mapping.common import Context
from collectomics.mapping.extensions import (
    map_dataset,
    map_identification,
    map_media,
    map_relationship,
    map_verbatim,
)
from collectomics.mapping.specimens import map_specimen
from collectomics.model import IRI, Contact, DatasetMetadata, Literal
from collectomics.vocab import AC, COL, DCTERMS, DSW, DWC, DWCIRI, FOAF, OWL, PROV, RDF, RDFS, ROLE

CTX = Context("ds", Minter())
S = Minter().specimen("BCN", "_", "BCN-1")
DWC_NS, DC_NS, GBIF_NS = (
    "http://rs.tdwg.org/dwc/terms/",
    "http://purl.org/dc/terms/",
    "http://rs.gbif.org/terms/1.0/",
)


def _objects(triples: list, s: object, p: object) -> list:
    return [o for (s_, p_, o) in triples if s_ == s and p_ == p]


@pytest.mark.parametrize(
    ("value", "iri"),
    [
        ("https://www.wikidata.org/wiki/Q5763750", "http://www.wikidata.org/entity/Q5763750"),
        ("Q5763750", "http://www.wikidata.org/entity/Q5763750"),
        ("https://orcid.org/0000-0002-8509-0556", "https://orcid.org/0000-0002-8509-0556"),
        ("0000-0002-8509-055x", "https://orcid.org/0000-0002-8509-055X"),
        ("http://viaf.org/viaf/12345", "http://viaf.org/viaf/12345"),
        ("0000 0001 2103 4996", "https://isni.org/isni/0000000121034996"),
        ("urn:lsid:ipni.org:authors:35484-1", "https://www.ipni.org/a/35484-1"),
        (
            "https://www.biodiversitylibrary.org/creator/123",
            "https://www.biodiversitylibrary.org/creator/123",
        ),
        (
            "https://kiki.huh.harvard.edu/databases/botanist_search.php?id=1",
            "https://kiki.huh.harvard.edu/databases/botanist_search.php?id=1",
        ),
        ("J. Smith", None),
    ],
)
def test_identifier_iris(value: str, iri: str | None) -> None:
    assert identifier_iri(value) == iri


def test_split_identifiers() -> None:
    assert split_identifiers("Q1 | https://orcid.org/0000-0002-8509-0556;Q2") == [
        "Q1",
        "https://orcid.org/0000-0002-8509-0556",
        "Q2",
    ]
    assert split_identifiers("") == []


def test_single_name_and_identifier_are_paired() -> None:
    out = map_specimen(
        {"catalogNumber": "1", "recordedBy": "Blanché, C.", "recordedByID": "Q5763750"}, CTX
    )
    t = out.triples
    match = [s for (s, p, o) in t if p == RDF.type and o == COL.IdentityMatch]
    assert len(match) == 1
    assert _objects(t, match[0], OWL.annotatedTarget) == [
        IRI("http://www.wikidata.org/entity/Q5763750")
    ]
    spec = out.subject
    assert IRI("http://www.wikidata.org/entity/Q5763750") in _objects(t, spec, DWCIRI.recordedBy)


def test_several_identifiers_are_not_paired_and_the_graph_says_so() -> None:
    out = map_specimen(
        {
            "catalogNumber": "1",
            "recordedBy": "Blanché, C. & Molero, J.",
            "recordedByID": "Q5763750|Q5956152",
        },
        CTX,
    )
    t = out.triples
    assert not [s for (s, p, o) in t if o == COL.IdentityMatch]
    assert len([o for (s, p, o) in t if p == DWCIRI.recordedBy and "wikidata" in o]) == 2
    assert any("not paired" in o.value for (s, p, o) in t if p == RDFS.comment)


def test_media_rows() -> None:
    gbif = {
        DC_NS + "type": "StillImage",
        DC_NS + "format": "image/jpeg",
        DC_NS + "identifier": "http://example.org/img/1.jpg",
        DC_NS + "license": "http://creativecommons.org/licenses/by/4.0/",
        DC_NS + "creator": "A. Photographer",
    }
    out = map_media(gbif, S, CTX, "1")
    m = out.subject
    assert m == Minter().media("http://example.org/img/1.jpg")
    assert _objects(out.triples, m, FOAF.depicts) == [S]
    assert _objects(out.triples, m, AC.accessURI) == [IRI("http://example.org/img/1.jpg")]
    assert IRI("http://purl.org/dc/dcmitype/StillImage") in _objects(out.triples, m, RDF.type)
    assert _objects(out.triples, m, DCTERMS.license) == [
        IRI("http://creativecommons.org/licenses/by/4.0/")
    ]
    ac = {
        "http://rs.tdwg.org/ac/terms/accessURI": "https://example.org/a.jpg",
        "http://rs.tdwg.org/ac/terms/subtypeLiteral": "Photograph",
    }
    out = map_media(ac, S, CTX, "2")
    assert _objects(out.triples, out.subject, AC.accessURI) == [IRI("https://example.org/a.jpg")]
    assert _objects(out.triples, out.subject, AC.subtypeLiteral) == [Literal("Photograph")]


def test_identification_history() -> None:
    out = map_identification(
        {
            DWC_NS + "identifiedBy": "Smith, J. & Jones, K.",
            DWC_NS + "dateIdentified": "1998",
            DWC_NS + "scientificName": "Delphinium sp.",
        },
        S,
        CTX,
        2,
    )
    node = out.subject
    assert _objects(out.triples, S, DWC.term("dummy")) == []
    assert node == Minter().part(S, "identification", "h2")
    roles = _objects(out.triples, node, PROV.qualifiedAssociation)
    assert len(roles) == 2 and all(
        _objects(out.triples, r, PROV.hadRole) == [ROLE.determiner] for r in roles
    )
    assert _objects(out.triples, node, COL.earliestDate)[0].value == "1998-01-01"
    assert len(_objects(out.triples, S, DWCIRI.identifiedBy)) == 2


def test_relationship_resolves_archive_ids() -> None:
    other = Minter().specimen("BCN", "_", "BCN-2")
    out = map_relationship(
        {DWC_NS + "relatedResourceID": "42", DWC_NS + "relationshipOfResource": "duplicate of"},
        S,
        CTX,
        1,
        {"42": other}.get,
    )
    assert _objects(out.triples, S, DCTERMS.relation) == [other]
    out = map_relationship({DWC_NS + "relatedResourceID": "urn:catalog:X:1"}, S, CTX, 1, {}.get)
    assert _objects(out.triples, S, DCTERMS.relation) == [IRI("urn:catalog:X:1")]


def test_verbatim_keeps_only_what_interpretation_changed() -> None:
    verbatim = {
        DWC_NS + "recordedBy": "leg. Blanché, C.",
        DWC_NS + "country": "España",
        DWC_NS + "catalogNumber": "BCN-1",
    }
    interpreted = {
        DWC_NS + "recordedBy": "Blanché, C.",
        DWC_NS + "country": "Spain",
        DWC_NS + "catalogNumber": "BCN-1",
    }
    out = map_verbatim(verbatim, interpreted, S, CTX)
    node = out.subject
    assert _objects(out.triples, S, PROV.wasDerivedFrom) == [node]
    assert _objects(out.triples, node, DWC.recordedBy) == [Literal("leg. Blanché, C.")]
    assert _objects(out.triples, node, DWC.catalogNumber) == []
    assert map_verbatim(interpreted, interpreted, S, CTX).triples == []


def test_dataset_metadata() -> None:
    meta = DatasetMetadata(
        title="Herbarium BCN",
        publisher="Universitat de Barcelona",
        license="http://creativecommons.org/licenses/by/4.0/",
        identifiers=["10.15468/abc"],
        contacts=[
            Contact("creator", "Neus Ibáñez", "UB", orcid="https://orcid.org/0000-0002-8509-0556")
        ],
    )
    d = Minter().dataset("bcn")
    out = map_dataset(meta, d, CTX)
    assert _objects(out.triples, d, DCTERMS.title) == [Literal("Herbarium BCN")]
    attribution = _objects(out.triples, d, PROV.qualifiedAttribution)[0]
    assert _objects(out.triples, attribution, PROV.hadRole) == [ROLE.creator]


# --- the role-node rule on the identification history (issue 21) -----------------------------

#: agent columns whose values (with their ...ID column) the properties below replay as
#: determiners: every name string and identifier list of the real corpus
_AGENT_COLUMNS = ("identifiedBy", "recordedBy")


def _real_agent_values() -> list[tuple[str, str]]:
    """Every distinct (agent string, its ...ID value) pair of the identifiedBy and recordedBy
    columns of every file of every archive of the real corpus (tests/data/real/archives.txt),
    tabs and line breaks made spaces (the archives the tests write are tab-separated)."""
    from collectomics.ingest.dwca import Archive, Row
    from helpers import REAL, REAL_ARCHIVES

    found: dict[tuple[str, str], None] = {}
    for name in REAL_ARCHIVES:
        with Archive.open(REAL / name) as archive:
            for spec in [archive.core, *archive.extensions]:
                for row in archive.rows(spec):
                    if not isinstance(row, Row):
                        continue
                    for column in _AGENT_COLUMNS:
                        value = row.values.get(DWC_NS + column, "")
                        ids = row.values.get(DWC_NS + column + "ID", "")
                        pair = tuple(" ".join(v.split()) for v in (value, ids))
                        if any(pair):
                            found[pair] = None  # type: ignore[index]
    # The corpus's identifiers are all one name's (paired); each is also given beside a real
    # string of several names, one that names no one, and one with 'et al.', and alone
    from collectomics.mapping.names import read_agents

    values = [v for v, _ in found]
    several = next(v for v in values if len(read_agents(v)) > 1)
    no_one = next(v for v in values if read_agents(v) and read_agents(v)[0].unknown)
    et_al = next(v for v in values if any(n.et_al for n in read_agents(v)))
    for ids in [ids for _, ids in found if ids]:
        for value in (several, no_one, et_al, ""):
            found[(value, ids)] = None
    return list(found)


REAL_AGENT_VALUES = _real_agent_values()


def _renamed(mapped: object, activity: IRI) -> set[tuple[str, str, str]]:
    """The triples of a mapping that are not about the specimen itself (its identification, the
    identification's role nodes and identifier nodes, the agents, the publisher's matches), plus
    the specimen's ``dwciri:identifiedBy`` shortcuts, with ``activity`` written as ``ACTIVITY``."""
    out = set()
    for s, p, o in [*mapped.triples, *mapped.once]:  # type: ignore[attr-defined]
        if s == S and p not in (DWCIRI.identifiedBy, DSW.hasIdentification):
            continue
        out.add(
            tuple(
                str(t).replace(activity, "ACTIVITY")
                if not isinstance(t, Literal)
                else f"{t.value}^^{t.datatype}"
                for t in (s, p, o)
            )
        )
    return out  # type: ignore[return-value]


def test_real_agent_values_reach_every_branch_of_the_rule() -> None:
    """The corpus the properties replay holds what the rule must handle: several names in one
    string, 'et al.', values that name no one, and identifiers paired with one name, beside
    several names, beside none."""
    from collectomics.mapping.names import read_agents

    read = [read_agents(v) for v, _ in REAL_AGENT_VALUES]
    assert len(REAL_AGENT_VALUES) > 300
    assert sum(len(names) > 1 for names in read) > 50
    assert any(n.et_al for names in read for n in names)
    assert sum(bool(names) and names[0].unknown for names in read) >= 5
    with_ids = [(read_agents(v), ids) for v, ids in REAL_AGENT_VALUES if ids]
    assert sum(len(names) == 1 and not names[0].unknown for names, _ in with_ids) >= 3
    assert any(len(names) > 1 for names, _ in with_ids)
    assert any(not names for names, _ in with_ids)
    assert any("|" in ids for _, ids in with_ids)  # several identifiers of one person


def test_history_determiners_are_the_core_rule_over_every_real_agent_value() -> None:
    """Property: for every agent string and ``...ID`` value of the real corpus, an identification
    history row that gives them as identifiedBy / identifiedByID maps to the same role nodes as
    the core record that gives them: the same agents, orders, names as written, verbatim
    string, 'et al.' comments, unknown agents, identifier shortcuts, publisher matches (or the
    comment that the identifiers were not paired), and the same problems."""
    core_activity = IRI(S + "/identification")
    history_activity = Minter().part(S, "identification", "h1")
    for value, ids in REAL_AGENT_VALUES:
        ctx = Context("ds", Minter())
        core = map_specimen(
            {"occurrenceID": "urn:x:1", "identifiedBy": value, "identifiedByID": ids}, ctx, S
        )
        history = map_identification(
            {DWC_NS + "identifiedBy": value, DWC_NS + "identifiedByID": ids}, S, ctx, 1
        )
        assert _renamed(history, history_activity) == _renamed(core, core_activity), (value, ids)
        assert history.problems == core.problems, (value, ids)
        assert history.unknown_agents == core.unknown_agents
        assert history.organisation_agents == core.organisation_agents
        for node in _objects(history.triples, history_activity, PROV.qualifiedAssociation):
            assert _whole(history.triples, node) == [Literal(value.strip())], (value, node)


def _whole(triples: list, node: object) -> list:
    """The whole agent string a role node was read from: its ``col:verbatimAgentString``, else
    its name as written (the verbatim string is written only when it differs: issue 23)."""
    verbatim = _objects(triples, node, COL.verbatimAgentString)
    written = _objects(triples, node, COL.nameAsWritten)
    assert not verbatim or verbatim != written, (node, verbatim)
    return verbatim or written


_META = """<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""
        ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
    <field index="0" term="http://rs.tdwg.org/dwc/terms/occurrenceID"/>
    {core_fields}
  </core>
  <extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""
        ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Identification">
    <files><location>identification.txt</location></files>
    <coreid index="0"/>
    <field index="1" term="http://rs.tdwg.org/dwc/terms/scientificName"/>
    {extension_fields}
  </extension>
</archive>
"""
_AGENT_FIELDS = (
    '<field index="{0}" term="http://rs.tdwg.org/dwc/terms/identifiedBy"/>'
    '<field index="{1}" term="http://rs.tdwg.org/dwc/terms/identifiedByID"/>'
)


def _write_archive(folder: Path, on_core: bool) -> Path:
    """An archive of one record per real agent value: given as the record's own identifiedBy /
    identifiedByID (``on_core``), or as its identification history row instead."""
    folder.mkdir()
    core, history = ["occurrenceID\tidentifiedBy\tidentifiedByID"], ["id\tname\tby\tbyID"]
    for n, (value, ids) in enumerate(REAL_AGENT_VALUES):
        key = f"urn:test:{n}"
        core.append(f"{key}\t{value}\t{ids}" if on_core else key)
        history.append(f"{key}\tAus bus\t" + ("\t" if on_core else f"{value}\t{ids}"))
    (folder / "occurrence.txt").write_text("\n".join(core) + "\n", "utf-8")
    (folder / "identification.txt").write_text("\n".join(history) + "\n", "utf-8")
    (folder / "meta.xml").write_text(
        _META.format(
            core_fields=_AGENT_FIELDS.format(1, 2) if on_core else "",
            extension_fields="" if on_core else _AGENT_FIELDS.format(2, 3),
        ),
        "utf-8",
    )
    return folder


_DETERMINERS = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>  PREFIX dsw: <http://purl.org/dsw/>
PREFIX prov: <http://www.w3.org/ns/prov#>  PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX role: <https://w3id.org/collectomics/role/>  PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?occ ?order ?written ?verbatim ?etal ?target ?kind WHERE { GRAPH <%s> {
  ?s dwc:occurrenceID ?occ ; dsw:hasIdentification ?i . ?i dwc:identifiedBy ?by .
  ?i prov:qualifiedAssociation ?r . ?r prov:hadRole role:determiner ; col:order ?order ;
     prov:agent ?a ; col:nameAsWritten ?written .
  OPTIONAL { ?r col:verbatimAgentString ?split } BIND (COALESCE(?split, ?written) AS ?verbatim)
  OPTIONAL { ?r rdfs:comment ?etal }
  OPTIONAL { ?a a ?kind FILTER (?kind IN (col:NameStringAgent, col:UnknownAgent)) }
  OPTIONAL { ?m owl:annotatedSource ?a ; owl:annotatedTarget ?target ; col:decidedBy "publisher" }
} }"""
_SHORTCUTS = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>  PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX dsw: <http://purl.org/dsw/>  PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?occ ?target ?unpaired WHERE { GRAPH <%s> {
  ?s dwc:occurrenceID ?occ .
  { ?s dwciri:identifiedBy ?target FILTER (!STRSTARTS(STR(?target), "%s")) }
  UNION { ?s dsw:hasIdentification ?i . ?i rdfs:comment ?unpaired }
} }"""


def _rows(store: object, query: str) -> list[tuple[str | None, ...]]:
    rows = store.query(query).rows()  # type: ignore[attr-defined]
    return sorted(
        tuple(None if row[k] is None else getattr(row[k], "value", str(row[k])) for k in row)
        for row in rows
    )


def test_history_determiners_in_a_store_match_the_core_over_the_real_corpus(
    tmp_path: Path,
) -> None:
    """End to end, through a real on-disk store: every real agent value of the corpus ingested
    once as the records' own identifiedBy / identifiedByID and once as their identification
    history rows gives the same determiners (order, name as written, verbatim string, 'et al.',
    kind of agent, publisher-asserted identifiers) and the same identifier shortcuts and
    unpaired comments; and every determiner of a history row carries its verbatim string."""
    from collectomics.ingest import ingest_files
    from collectomics.store import OxigraphStore

    minter = Minter()
    store = OxigraphStore(tmp_path / "store")
    for name, on_core in (("core", True), ("history", False)):
        (report,) = ingest_files(
            store, [_write_archive(tmp_path / name, on_core)], minter=minter, dataset_id=name
        )
        assert (report.loaded, report.rejected) == (len(REAL_AGENT_VALUES), 0)
        assert sum(c.rejected for c in report.extensions.values()) == 0
    core_graph, history_graph = minter.graph("core"), minter.graph("history")
    core = _rows(store, _DETERMINERS % core_graph)
    history = _rows(store, _DETERMINERS % history_graph)
    assert len(core) > len(REAL_AGENT_VALUES)  # some strings name several determiners
    assert history == core
    assert all(verbatim for _, _, _, verbatim, *_ in history)
    assert any(target for *_, target, _ in history)  # a publisher's identifier was paired
    base = minter.base
    core_ids = _rows(store, _SHORTCUTS % (core_graph, base))
    assert core_ids and _rows(store, _SHORTCUTS % (history_graph, base)) == core_ids


def test_dwcdp_history_determiners_from_a_role_table_keep_the_verbatim_string() -> None:
    """A Darwin Core Data Package's earlier identification whose determiners come from
    identification-agent-role keeps its identifiedBy string as the current one does: each
    determiner's role node carries the whole string and, the counts agreeing, its own name as
    written (paired by order)."""
    from collectomics.mapping.dwcdp import PackageMapper, Table

    def table(name: str, key: str, refs: dict[str, str], rows: list[dict[str, str]]) -> Table:
        numbered = [(n, row) for n, row in enumerate(rows, start=2)]
        return Table(name, f"{name}.csv", key, refs, numbered)

    agent_refs = {"identification": "identification_fk", "agent": "agent_fk"}
    tables = {
        "agent": table(
            "agent",
            "agent_pk",
            {},
            [
                {"agent_pk": "a1", "agentType": "person", "preferredAgentName": "Josiah Carberry"},
                {"agent_pk": "a2", "agentType": "person", "preferredAgentName": "Ynés Mexía"},
            ],
        ),
        "material": table(
            "material", "materialEntity_pk", {}, [{"materialEntity_pk": "m1", "catalogNumber": "1"}]
        ),
        "identification": table(
            "identification",
            "identification_pk",
            {"material": "materialEntity_fk"},
            [
                {"identification_pk": "i1", "materialEntity_fk": "m1", "identifiedBy": "Y. Mexía"}
                | {"isAcceptedIdentification": "true", "scientificName": "Zea mays"},
                {"identification_pk": "i2", "materialEntity_fk": "m1"}
                | {"identifiedBy": "Carberry, J. & Y. Mexía", "scientificName": "Zea perennis"},
            ],
        ),
        "identification-agent-role": table(
            "identification-agent-role",
            "",
            agent_refs,
            [
                {"identification_fk": i, "agent_fk": a, "agentRole": "determiner"}
                | {"agentRoleOrder": order}
                for i, a, order in (("i1", "a2", "1"), ("i2", "a1", "1"), ("i2", "a2", "2"))
            ],
        ),
    }
    outcomes = list(PackageMapper(tables, Context("ds", Minter())).run())
    triples = [t for o in outcomes for t in [*o.mapped.triples, *o.mapped.once]]
    assert not [o for o in outcomes if o.mapped.rejected]
    found = {}
    for i in {s for s, p, o in triples if p == DSW.hasIdentification for s in [o]}:
        (by,) = _objects(triples, i, DWC.identifiedBy)
        for node in _objects(triples, i, PROV.qualifiedAssociation):
            assert _whole(triples, node) == [by], (i, node)
            (order,) = _objects(triples, node, COL.order)
            written = _objects(triples, node, COL.nameAsWritten)
            found[(i.rsplit("/", 1)[-1], int(order.value))] = [w.value for w in written]
    assert found == {
        ("identification", 1): ["Y. Mexía"],
        ("h3", 1): ["Carberry, J."],
        ("h3", 2): ["Y. Mexía"],
    }
