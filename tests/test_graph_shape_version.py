"""A store loaded by an older version is told, not silently half-read (issue 23).

The leaner graph of ontology 0.2.0 moved values (GBIF issue flags became ``gbif:issue``
literals, ``...ID`` values plain terms): pages reading a dataset mapped before it would miss
them without a word. Each dataset node says which graph shape it follows
(``dcterms:conformsTo`` the ontology's ``owl:versionIRI``); ``stats`` and ``serve`` warn about
datasets that follow another; running ``ingest`` again on the same files maps such a dataset
again only with ``--replace``, where a dataset of this version is skipped as unchanged.
"""

from __future__ import annotations

from pathlib import Path

import rdflib
from rdflib.namespace import OWL

from collectomics.analysis.stats import outdated_datasets
from collectomics.store import open_store
from collectomics.vocab import COL
from helpers import REAL, run_cli

ROOT = Path(__file__).resolve().parent.parent
DOWNLOAD = REAL / "rgbif-gbif-downloads" / "0009886-250127130748423.zip"
NODE = "https://w3id.org/collectomics/dataset/dl"
FORGET = f"DELETE WHERE {{ GRAPH ?g {{ <{NODE}> <http://purl.org/dc/terms/conformsTo> ?v }} }}"


def test_the_version_is_the_ontologys() -> None:
    g = rdflib.Graph().parse(ROOT / "ontology" / "collectomics.ttl")
    assert str(g.value(rdflib.URIRef(COL.ONTOLOGY), OWL.versionIRI)) == COL.VERSION


def test_an_older_dataset_is_named_and_mapped_again_only_with_replace(tmp_path: Path) -> None:
    store = tmp_path / "s"
    r = run_cli("ingest", str(DOWNLOAD), "--dataset", "dl", store=store)
    assert r.returncode == 0, r.stderr
    with open_store(str(store)) as s:
        assert outdated_datasets(s) == {}
        asked = s.query(f"ASK {{ <{NODE}> <http://purl.org/dc/terms/conformsTo> <{COL.VERSION}> }}")
        assert asked.boolean
    again = run_cli("ingest", str(DOWNLOAD), "--dataset", "dl", store=store)
    assert again.returncode == 0 and "dl: unchanged" in again.stdout, again.stderr
    assert "warning: dataset" not in run_cli("stats", store=store).stderr

    # as a store loaded before 0.2.0 holds it: the dataset node does not say
    with open_store(str(store)) as s:
        s.update(FORGET)
        assert outdated_datasets(s) == {NODE: None}
    stats = run_cli("stats", store=store)
    assert stats.returncode == 0
    assert f"warning: dataset <{NODE}> was mapped by an older version" in stats.stderr
    assert "ingest --replace" in stats.stderr
    refused = run_cli("ingest", str(DOWNLOAD), "--dataset", "dl", store=store)
    assert refused.returncode == 2
    assert "older version of collectomics" in refused.stderr and "--replace" in refused.stderr
    assert "Traceback" not in refused.stderr
    with open_store(str(store)) as s:
        assert outdated_datasets(s) == {NODE: None}  # nothing changed by the refusal
    replaced = run_cli("ingest", str(DOWNLOAD), "--dataset", "dl", "--replace", store=store)
    assert replaced.returncode == 0, replaced.stderr
    with open_store(str(store)) as s:
        assert outdated_datasets(s) == {}
    assert "warning: dataset" not in run_cli("stats", store=store).stderr
