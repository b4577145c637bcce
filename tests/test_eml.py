"""EML dataset metadata, read from the real documents GBIF, IPTs, Symbiota, ALA and Plazi wrote."""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.dwca import Archive
from collectomics.ingest.eml import Contact, DatasetMetadata, parse_eml
from collectomics.iri import Minter
from collectomics.mapping.common import Context
from collectomics.mapping.extensions import contact_role, map_dataset
from collectomics.model import DatasetMetadata as ModelDatasetMetadata
from collectomics.model import Literal
from collectomics.store import OxigraphStore
from collectomics.vocab import PROV, ROLE, SCHEMA
from helpers import REAL

IDIGBIO = REAL / "idigbio-audubon-mediarecords" / "eml"
CORPUS = Path(__file__).resolve().parent / "data" / "dwca"
DOWNLOADS = [
    REAL / "rgbif-gbif-downloads" / "0000066-140928181241064.zip",
    REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip",
    REAL / "pydwca-gbif-results" / "gbif-results.zip",
]
CC = "http://creativecommons.org/"


def _idigbio(name: str) -> DatasetMetadata:
    return parse_eml((IDIGBIO / name).read_bytes(), source=name)


def test_every_idigbio_eml_reads_but_the_html_page() -> None:
    parsed = {}
    for path in sorted(IDIGBIO.iterdir()):
        if path.name == "usgs_pwrc_northamerican_bees":
            continue
        parsed[path.name] = parse_eml(path.read_bytes(), source=path.name)
    assert len(parsed) == 20 and all(m.title for m in parsed.values())
    assert isinstance(parsed["dr90.xml"], ModelDatasetMetadata)  # what mapping/ consumes
    licences = [m.license for m in parsed.values()]
    assert sum(1 for x in licences if x and x.startswith(("http://", "https://"))) == 17
    # an IPT's redirect page saved in place of the EML
    with pytest.raises(InputError) as caught:
        parse_eml((IDIGBIO / "usgs_pwrc_northamerican_bees").read_bytes(), source="bees")
    assert (caught.value.file, caught.value.row) == ("bees", 28)


def test_ipt_eml_with_ulink_licence() -> None:
    meta = _idigbio("MNHN_Paris_RA.xml")
    assert meta.title == (
        "The reptiles and amphibians collection (RA) of the Muséum national d'Histoire "
        "Naturelle (MNHN - Paris)"
    )
    assert meta.license == CC + "licenses/by/4.0/legalcode"
    assert meta.rights == (
        "This work is licensed under a Creative Commons Attribution (CC-BY) 4.0 License "
        "(http://creativecommons.org/licenses/by/4.0/legalcode) ."
    )
    assert meta.identifiers == [
        "217b0d4f-c87e-4063-b6c5-78277e40e866/v55.6",
        "217b0d4f-c87e-4063-b6c5-78277e40e866",
        "http://collections.mnhn.fr/ipt/resource?r=mnhn-ra",
    ]
    assert (meta.language, meta.pub_date) == ("fre", "2017-04-07")
    assert [c.role for c in meta.contacts].count("associatedParty") == 6


def test_symbiota_eml_link_wins_over_the_words() -> None:
    """LUC: CC0 wording, a CC BY-NC link with an empty citetitle: the link is the licence."""
    meta = _idigbio("LUC_DwC-A.eml.xml")
    assert meta.license == CC + "licenses/by-nc/4.0/"
    assert meta.rights is not None and meta.rights.startswith(
        "To the extent possible under law, the publisher has waived all rights"
    )
    assert meta.rights.endswith(
        "dedicated them to the http://creativecommons.org/licenses/by-nc/4.0/"
    )
    assert meta.title == "Loyola University Chicago Herbarium"  # xml:lang="eng"
    [party] = [c for c in meta.contacts if c.role == "associatedParty"]
    assert (party.name, party.email, party.party_role) == (
        "Roberta Lammers-Campbell",
        "rlammer@luc.edu",
        "contentProvider",
    )


@pytest.mark.parametrize(
    ("name", "licence"),
    [
        ("dr130.xml", CC + "licenses/by/3.0/au/"),  # "Creative Commons Attribution Australia 3.0"
        ("dr367.xml", CC + "licenses/by-sa/2.5/au/"),
        ("dr90.xml", CC + "licenses/by/3.0/"),  # "... Attribution International 3.0"
        (
            "formatted.56e711e6-c847-4f99-915a-6894bb5c5dea_NHM_London.xml",
            CC + "publicdomain/zero/1.0/legalcode",
        ),
        ("vertnet_sui_verts.xml", CC + "publicdomain/zero/1.0/"),  # a URL in the text
        (
            "museu_paraense_emilio_goeldi_ornithology_collection.xml",
            "http://www.opendatacommons.org/licenses/by/1.0/",
        ),
        ("AEC-TTD-TCN_DwC-A20160308.eml", "Attribution"),  # nothing to recognise: the text
        ("MNHN_Paris_el.xml", None),  # no intellectualRights
    ],
)
def test_licence_from_words_urls_and_sections(name: str, licence: str | None) -> None:
    assert _idigbio(name).license == licence


def test_ala_sections_and_nhm_doi() -> None:
    ala = _idigbio("dr130.xml")
    assert ala.rights == (
        "Rights: Source of data should be cited where possible.\n"
        "Citation: Australian National Insect Collection\n"
        "License: Creative Commons Attribution Australia 3.0"
    )
    nhm = _idigbio("formatted.56e711e6-c847-4f99-915a-6894bb5c5dea_NHM_London.xml")
    assert nhm.citation == "Natural History Museum (2015): Collection specimens data.nhm.ac.uk."
    assert nhm.identifiers == [
        "10568940-f695-4717-b631-a9a224b54fa3",
        "http://dx.doi.org/10.5519/0002965",  # the citation's identifier, a DOI
    ]


def test_latin1_eml_with_publisher_and_formatted_citation() -> None:
    meta = _idigbio("AEC-TTD-TCN_DwC-A20160308.eml")  # encoding="iso-8859-1"
    assert meta.publisher == "Arthropod Easy Capture"
    assert meta.citation is not None and meta.citation.startswith(
        "Tri-Trophic Thematic Collection Network, 2014 (and updates)."
    )
    assert [(c.role, c.name) for c in meta.contacts] == [
        ("creator", None),
        ("contact", "Christine Johnson"),
        ("publisher", None),
    ]
    assert meta.abstract is None  # it sits in additionalMetadata, not dataset/abstract


def test_gbif_download_metadata_and_dataset_emls() -> None:
    counts = []
    for path in DOWNLOADS:
        with Archive.open(path) as archive:
            names = archive.dataset_metadata_names()
            for name in names:
                meta = parse_eml(archive.read_bytes(name), source=name)
                assert meta.identifiers[0] == Path(name).stem  # packageId = GBIF dataset key
                assert meta.title and meta.citation
            counts.append(len(names))
            download = parse_eml(archive.read_bytes("metadata.xml"), source="metadata.xml")
            assert (
                download.title == f"GBIF Occurrence Download {path.stem}"
                or path.stem == "gbif-results"
            )
            assert download.citation == download.title
            assert download.license is None and download.rights is None
    assert counts == [26, 10, 23]


def test_gbif_download_2014_details() -> None:
    with Archive.open(DOWNLOADS[0]) as archive:
        meta = parse_eml(archive.read_bytes("metadata.xml"))
        cas = parse_eml(archive.read_bytes("dataset/f934f8e2-32ca-46a7-b2f8-b032a4740454.xml"))
        kansas = parse_eml(archive.read_bytes("dataset/e3b959d6-fcbe-4a28-a166-e4a807c340a0.xml"))
    assert (meta.pub_date, meta.language) == ("2014-09-29", "ENGLISH")
    assert meta.identifiers == ["6e90b1e8-32ec-4b40-b2a0-d82e546a2e3a"]
    assert len(meta.contacts) == 16
    assert sum(1 for c in meta.contacts if c.party_role == "CONTENT_PROVIDER") == 11
    assert (
        meta.abstract is not None and "326 records from Snow Entomological Museum" in meta.abstract
    )
    # GBIF wrote <givenName>Deb Trock</givenName><surName>Trock</surName>
    [contact] = [c for c in cas.contacts if c.role == "contact"]
    assert (contact.name, contact.organization, contact.position) == (
        "Deb Trock",
        "California Academy of Sciences",
        "Senior Collections Manager, Botany",
    )
    assert kansas.title == "MVZ Bird Collection (Arctos)"
    assert kansas.license is not None and kansas.license.startswith("The data and media available")


def test_plazi_and_dwc_1_4_emls() -> None:
    with Archive.open(REAL / "dwca-io-fixtures" / "6632D8151686A3F8C71D4B5A5B1181A4.zip") as a:
        plazi = parse_eml(a.read_bytes(a.metadata_name or ""))
    assert plazi.title == (
        "Draposa, a new wolf spider genus from South and Southeast Asia (Araneae: Lycosidae)"
    )
    assert plazi.publisher == "Magnolia Press"  # associatedParty with role publisher
    assert plazi.license is not None and plazi.license.startswith("Public Domain\n")
    assert plazi.identifiers[1:] == ["6632D8151686A3F8C71D4B5A5B1181A4", "zt02637p054"]
    assert (plazi.pub_date, plazi.abstract) == ("2010", "UNAVAILABLE")
    with Archive.open(REAL / "dwca-io-fixtures" / "archive-occ.zip") as a:
        occ = parse_eml(a.read_bytes("eml.xml"))
    assert (occ.title, occ.rights, occ.license) == ("PonTaurus", None, None)  # empty rights
    assert occ.contacts[0] == Contact(
        role="creator", name="Markus Döring", email="mdoering@gbif.org"
    )


def test_eml_2_2_with_orcid_and_licensed() -> None:
    meta = parse_eml((CORPUS / "event-core-occurrence-ext" / "eml.xml").read_bytes())
    assert meta.title == "Delphinium bolosii specimens by collecting event"  # the English one
    assert meta.license == "https://creativecommons.org/licenses/by/4.0/legalcode"
    assert meta.publisher == "Collectomics Publishing"
    assert meta.identifiers == [
        "b6f1a0f2-2f43-4a8e-9d4e-0c1e7c0ffee0/v1.2",
        "https://doi.org/10.5555/collectomics-test-corpus",
        "b6f1a0f2-2f43-4a8e-9d4e-0c1e7c0ffee0",
    ]
    assert [(c.role, c.name, c.orcid) for c in meta.contacts[:2]] == [
        ("creator", "Josiah Carberry", "https://orcid.org/0000-0002-1825-0097"),
        ("contact", "Josiah S. Carberry", "https://orcid.org/0000-0002-1825-0097"),  # bare iD
    ]
    assert meta.abstract == (
        "Five herbarium specimens of <i>Delphinium bolosii</i> grouped by the day they were "
        "collected.\nValues reuse GBIF download 0009886-250127130748423 (CC BY 4.0)."
    )


def _rights(text: str) -> bytes:
    return (
        '<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1"><dataset><title>t</title>'
        f"<intellectualRights><para>{text}</para></intellectualRights></dataset></eml:eml>"
    ).encode()


@pytest.mark.parametrize(
    ("text", "licence"),
    [
        ("CC-BY-NC 4.0", CC + "licenses/by-nc/4.0/"),
        ("CC_BY_4_0", CC + "licenses/by/4.0/"),  # GBIF's enumeration
        (
            "Creative Commons Attribution Non Commercial (CC-BY-NC) 4.0 License",
            CC + "licenses/by-nc/4.0/",
        ),
        (
            "Creative Commons Attribution-NonCommercial-ShareAlike 3.0",
            CC + "licenses/by-nc-sa/3.0/",
        ),
        ("Public Domain (CC0 1.0)", CC + "publicdomain/zero/1.0/legalcode"),
        ("CC BY", "CC BY"),  # no version: not a licence IRI
        ("All rights reserved", "All rights reserved"),
    ],
)
def test_licences_named_in_words(text: str, licence: str) -> None:
    assert parse_eml(_rights(text)).license == licence


def test_not_eml() -> None:
    with pytest.raises(InputError) as caught:
        parse_eml(b"<eml:eml xmlns:eml='x'><dataset>", source="eml.xml")
    assert (caught.value.file, caught.value.row) == ("eml.xml", 1)
    with pytest.raises(InputError, match="root element is <archive>"):
        parse_eml(b"<archive/>", source="meta.xml")


_CONTACTS = """PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX col: <https://w3id.org/collectomics/ontology#>
PREFIX schema: <http://schema.org/>
"""
#: each contact agent of a dataset node, with how many names it has
_AGENT_NAMES = (
    _CONTACTS
    + """SELECT ?agent (COUNT(DISTINCT ?name) AS ?n) WHERE {
  ?d a schema:Dataset ; prov:qualifiedAttribution/prov:agent ?agent . ?agent foaf:name ?name
} GROUP BY ?agent"""
)
#: each contact role node, with how many agents and orders it has
_ROLE_NODES = (
    _CONTACTS
    + """SELECT ?node (COUNT(DISTINCT ?agent) AS ?a) (COUNT(DISTINCT ?o) AS ?n)
WHERE { ?d a schema:Dataset ; prov:qualifiedAttribution ?node . ?node prov:agent ?agent ; col:order ?o
} GROUP BY ?node"""
)
#: the contact agents that two graphs both name
_IN_BOTH = (
    _CONTACTS
    + """SELECT (COUNT(DISTINCT ?agent) AS ?n) WHERE {
  GRAPH ?g1 { ?d prov:qualifiedAttribution/prov:agent ?agent }
  GRAPH ?g2 { ?d prov:qualifiedAttribution/prov:agent ?agent } FILTER (STR(?g1) < STR(?g2)) }"""
)


def test_two_versions_of_a_source_dataset_keep_their_contacts_apart(tmp_path: Path) -> None:
    """Two GBIF downloads carry one source dataset, whose node they share, with different EML
    versions (here the second lacks each EML's first creator, so everyone after moves up): in
    the union of both graphs every contact is still one agent with one name and each role node
    one agent and one order, and a contact in both versions is one agent."""
    first = DOWNLOADS[1]
    second = tmp_path / "later-version.zip"
    creator = re.compile(rb"<creator\b.*?</creator>\s*", re.S)
    dropped = 0
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(second, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("dataset/"):
                data, n = creator.subn(b"", data, count=1)
                dropped += n
            out.writestr(item, data)
    assert dropped >= 5
    with OxigraphStore() as store:
        for path, dataset in ((first, "earlier"), (second, "later")):
            ingest_files(store, [path], minter=Minter(), dataset_id=dataset)
        agents = list(store.query(_AGENT_NAMES).rows())  # type: ignore[union-attr]
        assert len(agents) >= 20
        assert [(r["agent"], int(r["n"].value)) for r in agents if int(r["n"].value) != 1] == []
        roles = list(store.query(_ROLE_NODES).rows())  # type: ignore[union-attr]
        assert roles and all(int(r["a"].value) == 1 and int(r["n"].value) == 1 for r in roles)
        both = next(store.query(_IN_BOTH).rows())  # type: ignore[union-attr]
        assert int(both["n"].value) >= 10  # the contacts both versions list


def _every_real_eml() -> list[tuple[str, bytes]]:
    """Every EML document of the real corpus: the iDigBio folder's and each download's own
    and per-dataset ones."""
    found = [
        (p.name, p.read_bytes())
        for p in sorted(IDIGBIO.iterdir())
        if p.name != "usgs_pwrc_northamerican_bees"
    ]
    for download in DOWNLOADS:
        with zipfile.ZipFile(download) as z:
            names = [
                n
                for n in z.namelist()
                if n == "metadata.xml" or n.startswith("dataset/") and n.endswith(".xml")
            ]
            found += [(f"{download.name}!{n}", z.read(n)) for n in sorted(names)]
    return found


def test_every_party_of_every_real_eml_keeps_its_role_word_and_position() -> None:
    """Over every real EML: each party is one role node whose role is ours only where the EML's
    word means it (an associatedParty's CONTENT_PROVIDER is not our contact); the word the EML
    wrote for an associatedParty or personnel is on the role node and its positionName on the
    agent (nothing a publisher wrote about a party is lost but e-mail and phone)."""
    minter = Minter()
    ctx = Context(minter=minter, dataset_id="eml")
    seen: Counter[str] = Counter()
    for name, data in _every_real_eml():
        meta = parse_eml(data, source=name)
        dataset = minter.dataset(name)
        triples = map_dataset(meta, dataset, ctx).triples
        nodes = [o for s, p, o in triples if s == dataset and p == PROV.qualifiedAttribution]
        assert len(nodes) == len(meta.contacts), name
        by_node = {n: {(p, o) for s, p, o in triples if s == n} for n in nodes}
        for contact, node in zip(meta.contacts, nodes, strict=True):
            role, word = contact_role(contact)
            assert (PROV.hadRole, role) in by_node[node], (name, contact)
            if contact.role in ("associatedParty", "personnel", "publisher"):
                assert word == (contact.party_role or contact.role)
                assert (SCHEMA.roleName, Literal(word)) in by_node[node], (name, contact)
                seen[f"{contact.party_role or contact.role} -> {role.rsplit('/', 1)[-1]}"] += 1
                if role == ROLE.contact:
                    assert "contact" in word.lower(), (name, contact)
            agent = next(o for p, o in by_node[node] if p == PROV.agent)
            if contact.position:
                assert (agent, SCHEMA.jobTitle, Literal(contact.position)) in triples
    assert seen["CONTENT_PROVIDER -> otherRole"] >= 5, seen
    assert seen["ORIGINATOR -> creator"] >= 3, seen
    assert sum(n for k, n in seen.items() if k.endswith("-> contact")) >= 5, seen
