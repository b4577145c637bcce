"""GBIF's Parquet occurrence tables (the monthly snapshots) read as a Darwin Core source.

A snapshot's ``occurrence.parquet/`` is a folder of Parquet files (or one ``.parquet`` file)
whose columns are Darwin Core and GBIF term names in lower case (``gbifid``, ``occurrenceid``,
``recordedby``...), typed (``gbifid`` a bigint, ``decimallatitude`` a double, ``eventdate`` a
timestamp, ``recordedby``/``identifiedby``/``typestatus``/``issue`` arrays of strings).
:class:`ParquetTable` presents such a table as an :class:`~collectomics.ingest.dwca.Archive`
with one Occurrence core, so that ``ingest`` and ``export --shards`` read it as they read a
download's ``occurrence.txt``: the same mapping, report and counts.

Rows stream in record batches (:data:`BATCH_ROWS` rows, never a whole row group's text), so
memory stays bounded by one batch and the limits of :class:`~collectomics.config.ReadLimits`:
a value longer than ``max_field_bytes`` rejects its row (naming row and column), a table with
more than ``max_problems_per_file`` problems reports the first of them as every file does.
A row's "line" is its 1-based position in the table (files in name order).

pyarrow (Apache-2.0) reads the files; it is installed by the ``parquet`` extra
(``pip install collectomics[parquet]``), and a Parquet file met without it is one clear error.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.dwca import (
    DWC,
    OCCURRENCE,
    Archive,
    FieldSpec,
    FileSpec,
    Row,
    RowError,
    _Members,
    header_term,
)
from collectomics.mapping.common import Problem
from collectomics.mapping.dwc import canonical_term

#: rows converted to text at a time
BATCH_ROWS = 4096
#: how several values of an array column are joined, as GBIF's text downloads join them:
#: " | " for Darwin Core's multi-valued terms, ";" for GBIF's own lists
ARRAY_DELIMITER = " | "
GBIF_LIST_DELIMITER = ";"
GBIF_LISTS = frozenset({"issue", "mediatype", "networkkey", "protocol"})
#: Darwin Core's terms (the dwc: namespace, as the 2023 quick reference lists them), so that a
#: snapshot's lower-case column names find their term's own spelling
DWC_TERMS = {
    n.lower(): n
    for n in (
        "acceptedNameUsage acceptedNameUsageID associatedMedia associatedOccurrences "
        "associatedOrganisms associatedReferences associatedSequences associatedTaxa "
        "basisOfRecord bed behavior caste catalogNumber class collectionCode collectionID "
        "continent coordinatePrecision coordinateUncertaintyInMeters country countryCode county "
        "cultivarEpithet dataGeneralizations datasetID datasetName dateIdentified day "
        "decimalLatitude decimalLongitude degreeOfEstablishment disposition dynamicProperties "
        "earliestAgeOrLowestStage earliestEonOrLowestEonothem earliestEpochOrLowestSeries "
        "earliestEraOrLowestErathem earliestPeriodOrLowestSystem endDayOfYear "
        "establishmentMeans eventDate eventID eventRemarks eventTime eventType family "
        "fieldNotes fieldNumber footprintSpatialFit footprintSRS footprintWKT formation genus "
        "genericName geodeticDatum geologicalContextID georeferencedBy georeferencedDate "
        "georeferenceProtocol georeferenceRemarks georeferenceSources "
        "georeferenceVerificationStatus group habitat higherClassification higherGeography "
        "higherGeographyID highestBiostratigraphicZone identificationID identificationQualifier "
        "identificationReferences identificationRemarks identificationVerificationStatus "
        "identifiedBy identifiedByID individualCount individualID informationWithheld "
        "infragenericEpithet infraspecificEpithet institutionCode institutionID island "
        "islandGroup kingdom latestAgeOrHighestStage latestEonOrHighestEonothem "
        "latestEpochOrHighestSeries latestEraOrHighestErathem latestPeriodOrHighestSystem "
        "lifeStage lithostratigraphicTerms locality locationAccordingTo locationID "
        "locationRemarks lowestBiostratigraphicZone materialEntityID materialSampleID "
        "maximumDepthInMeters maximumDistanceAboveSurfaceInMeters maximumElevationInMeters "
        "member minimumDepthInMeters minimumDistanceAboveSurfaceInMeters "
        "minimumElevationInMeters month municipality nameAccordingTo nameAccordingToID "
        "namePublishedIn namePublishedInID namePublishedInYear nomenclaturalCode "
        "nomenclaturalStatus occurrenceDetails occurrenceID occurrenceRemarks occurrenceStatus "
        "order organismID organismName organismQuantity organismQuantityType organismRemarks "
        "organismScope originalNameUsage originalNameUsageID otherCatalogNumbers "
        "ownerInstitutionCode parentEventID parentNameUsage parentNameUsageID pathway phylum "
        "pointRadiusSpatialFit preparations previousIdentifications recordedBy recordedByID "
        "recordNumber reproductiveCondition sampleSizeUnit sampleSizeValue samplingEffort "
        "samplingProtocol scientificName scientificNameAuthorship scientificNameID sex "
        "specificEpithet startDayOfYear stateProvince subfamily subgenus subtribe superfamily "
        "taxonConceptID taxonID taxonomicStatus taxonRank taxonRemarks tribe typeStatus "
        "verbatimCoordinates verbatimCoordinateSystem verbatimDepth verbatimElevation "
        "verbatimEventDate verbatimIdentification verbatimLabel verbatimLatitude verbatimLocality "
        "verbatimLongitude verbatimSRS verbatimTaxonRank vernacularName waterBody year"
    ).split()
}
SUFFIX = ".parquet"
MAGIC = b"PAR1"  # a Parquet file's first (and last) four bytes


def is_parquet(path: Path) -> bool:
    """A ``.parquet`` file, or a folder of them (a snapshot's ``occurrence.parquet/``)."""
    if path.suffix.lower() == SUFFIX and not path.is_dir():
        return True
    return path.is_dir() and not (path / "meta.xml").exists() and bool(_parts(path))


def _magic(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


def _parts(path: Path) -> list[Path]:
    """The Parquet files of a table: the file itself, or the files of a folder that start
    with Parquet's magic bytes, in name order (Spark and Hive write ``part-00000...``, GBIF's
    snapshot ``000000`` without a suffix; ``_SUCCESS`` and other files are skipped)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and _magic(p))


def _pyarrow() -> Any:
    """pyarrow.parquet, or an InputError saying how to install it (an optional dependency)."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow: pip install 'collectomics[parquet]'"
        ) from None


class _TableMembers(_Members):
    """A Parquet table has no other members (no meta.xml, no EML)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        return [self.path.name]

    def open(self, name: str) -> Any:
        raise InputError("a Parquet table has no member files", file=name)


class ParquetTable(Archive):
    """A Parquet occurrence table seen as an archive with one Occurrence core and no metadata."""

    @classmethod
    def open_table(cls, path: Path, limits: ReadLimits | None = None) -> ParquetTable:
        """Read the schema of ``path`` (a file or a folder of parts): InputError, naming the
        file, when it is not Parquet, has no columns, or its parts disagree."""
        pq = _pyarrow()
        limits = limits or ReadLimits()
        parts = _parts(path)
        if not parts:
            raise InputError("a folder without Parquet files", file=str(path))
        names: list[str] | None = None
        for part in parts:
            try:
                schema = pq.read_schema(part)
            except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
                raise InputError(f"not a readable Parquet file: {exc}", file=str(part)) from None
            if names is None:
                names = list(schema.names)
            elif list(schema.names) != names:
                raise InputError(
                    f"its columns differ from those of {parts[0].name}", file=str(part)
                )
        assert names is not None
        keys = {n.lower() for n in names} & {"gbifid", "occurrenceid", "catalognumber"}
        if not keys:
            raise InputError(
                "a Parquet table without a gbifid, occurrenceid or catalognumber column: not "
                f"an occurrence table (its columns: {', '.join(names[:12])})",
                file=str(parts[0]),
            )
        fields: list[FieldSpec] = []
        seen: set[str] = set()
        problems = []
        id_index = None
        for i, name in enumerate(names):
            term = _term(name)
            if term in seen:
                problems.append(
                    Problem(path.name, None, name, "column repeats a term; ignored", "warning")
                )
                continue
            seen.add(term)
            fields.append(FieldSpec(term=term, index=i))
            if name.lower() == "gbifid":
                id_index = i
        if id_index is None:
            id_index = next((i for i, n in enumerate(names) if n.lower() == "occurrenceid"), None)
        core = FileSpec(
            name=path.name,
            row_type=OCCURRENCE,
            is_core=True,
            encoding="utf-8",
            fields_terminated_by="",
            fields_enclosed_by=None,
            lines_terminated_by="",
            ignore_header_lines=0,
            id_index=id_index,
            fields=tuple(fields),
            locations=(path.name,),
        )
        table = cls(path, _TableMembers(path), core, [], None, None, problems, limits)
        table.parts = parts
        table.columns = names
        return table

    parts: list[Path]
    columns: list[str]

    def rows(self, spec: FileSpec) -> Iterator[Row | RowError]:
        """Stream the table's rows, a record batch at a time."""
        pq = _pyarrow()
        max_chars = self.limits.max_field_bytes or 2**62
        max_row = self.limits.max_line_bytes or 2**62
        wanted = [(f.term, f.index) for f in spec.fields if f.index is not None]
        delimiters = [
            GBIF_LIST_DELIMITER if c.lower() in GBIF_LISTS else ARRAY_DELIMITER
            for c in self.columns
        ]
        line = 0
        for part in self.parts:
            try:
                # buffered reads: a column chunk is read a page at a time, not whole
                table = pq.ParquetFile(part, buffer_size=1 << 20)
                batches = table.iter_batches(batch_size=BATCH_ROWS)
                for batch in batches:
                    columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                    for r in range(batch.num_rows):
                        line += 1
                        yield self._row(
                            line, columns, r, wanted, delimiters, spec, max_chars, max_row
                        )
            except InputError:
                raise
            except Exception as exc:  # a corrupt page: the rows before it are read
                raise InputError(
                    f"cannot read past row {line}: {exc}", file=str(part), row=line + 1
                ) from None

    def _row(
        self,
        line: int,
        columns: list[list[Any]],
        r: int,
        wanted: list[tuple[str, int]],
        delimiters: list[str],
        spec: FileSpec,
        max_chars: int,
        max_row: int,
    ) -> Row | RowError:
        """One row as text, or a RowError naming the column whose value passes a limit."""
        values: dict[str, str] = {}
        size = 0
        for term, index in wanted:
            text = _text(columns[index][r], delimiters[index])
            if not text:
                continue
            if len(text) > max_chars:
                column = self.columns[index]
                return RowError(
                    line,
                    f"column {column}: a value of {len(text):,} characters passes "
                    f"max_field_bytes ({max_chars:,})",
                    spec.name,
                )
            size += len(text)
            if size > max_row:
                return RowError(
                    line,
                    f"the row's values pass max_line_bytes ({max_row:,} characters) at column "
                    f"{self.columns[index]}",
                    spec.name,
                )
            values[term] = text
        row_id = None
        if spec.id_index is not None:
            row_id = _text(columns[spec.id_index][r]) or None
        return Row(line, row_id, values, spec.name)

    def read_bytes(self, name: str) -> bytes:
        raise InputError(f"no file {name!r} in a Parquet table", file=str(self.path))

    def dataset_metadata_names(self) -> list[str]:
        return []


def _term(column: str) -> str:
    """The term IRI a snapshot column names, in the term's own case (``recordedby`` ->
    ``dwc:recordedBy``), so that reports name terms as they do for a text download."""
    term = header_term(column)
    if term.startswith(DWC):
        local = term[len(DWC) :]
        known = DWC_TERMS.get(local.lower()) or canonical_term(term)
        if known and known.lower() == local.lower():
            return DWC + known
    return term


def _text(value: Any, delimiter: str = ARRAY_DELIMITER) -> str:
    """A Parquet value as the text GBIF's downloads give it: arrays joined with ``delimiter``,
    dates and timestamps in ISO 8601 (UTC as ``Z``, seconds and milliseconds only when not
    zero), numbers as Python writes them (the shortest text that reads back the same)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return delimiter.join(t for v in value if (t := _text(v)))
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):  # a struct: not Darwin Core text
        return ""
    return str(value)


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None and value.time() == dt.time(0):
        return value.date().isoformat()
    text = value.strftime("%Y-%m-%dT%H:%M")
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        micro = f"{value.microsecond:06d}"
        text += "." + (micro[:3] if micro.endswith("000") else micro)
    offset = value.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    return text + value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:]


def open_source(
    path: Path, *, encoding: str | None = None, limits: ReadLimits | None = None
) -> Archive:
    """``Archive.open``, or a :class:`ParquetTable` for a Parquet file or folder."""
    if is_parquet(path):
        return ParquetTable.open_table(path, limits)
    return Archive.open(path, encoding=encoding, limits=limits)
