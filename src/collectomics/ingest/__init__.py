"""Ingest: read files, map their records, load datasets into the store; see README.md."""

from collectomics.ingest.pipeline import DatasetSpec, IngestReport, ingest_dataset, ingest_files

__all__ = ["DatasetSpec", "IngestReport", "ingest_dataset", "ingest_files"]
