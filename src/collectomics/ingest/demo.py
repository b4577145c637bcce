"""The bundled demo graph: the datasets listed in ``data/demo/datasets.json``, in order."""

from __future__ import annotations

import json
from pathlib import Path

from collectomics.errors import InputError
from collectomics.ingest.pipeline import DatasetSpec, IngestReport, ingest_dataset
from collectomics.iri import Minter
from collectomics.linking.decisions import load_decisions
from collectomics.resources import resource_path
from collectomics.store import Store


def demo_specs(folder: Path | None = None) -> list[DatasetSpec]:
    """The demo's datasets as declared in its manifest."""
    folder = folder or resource_path("demo")
    manifest = folder / "datasets.json"
    try:
        entries = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the demo manifest: {exc}", file=str(manifest)) from None
    return [
        DatasetSpec(
            e["dataset"],
            tuple(folder / f for f in e["files"]),
            e.get("title"),
            e.get("license"),
            e.get("source"),
            e.get("rights_holder"),
        )
        for e in entries
    ]


#: the decisions the demo's reviewer made, recorded as ``collectomics review`` records them
LINKS = "links.csv"


def build_demo(store: Store, minter: Minter) -> list[IngestReport]:
    """Load every demo dataset into ``store`` (replacing earlier copies), then the reviewed
    links of ``links.csv`` (:mod:`collectomics.linking.decisions`), so that each demo person's
    name strings count as that person; the identity graph is refreshed last."""
    reports = [ingest_dataset(store, spec, minter=minter, replace=True) for spec in demo_specs()]
    load_decisions(store, minter, resource_path("demo") / LINKS)
    return reports
