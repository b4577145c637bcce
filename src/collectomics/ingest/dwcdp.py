"""Read a Darwin Core Data Package (DwC-DP): validate it, map its tables, report by table.

A package is a folder or a zip holding ``datapackage.json`` and its tables (docs/dwc-dp.md).
The descriptor and every table are validated with Frictionless (frictionless-py) against the
table schemas the package declares: inline, a file of the package, or a schema named by URL,
read from the pinned copies in ``data/dwc-dp/`` (nothing is fetched). Problems are reported by
table file, row and field, as the archive reader reports them; a row whose key, reference or
required field is wrong is rejected, any other problem is a warning and the value is kept as
written. Counts add up per table: read == loaded + rejected.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest.csvfile import read_bounded
from collectomics.ingest.dwca import _CheckedZipStream
from collectomics.ingest.eml import parse_eml
from collectomics.ingest.report import Counts, IngestReport
from collectomics.ingest.sink import Sink
from collectomics.mapping.common import Context
from collectomics.mapping.dwcdp import MAPPED_TABLES, Table, map_package
from collectomics.model import DatasetMetadata
from collectomics.resources import resource_path

DESCRIPTOR = "datapackage.json"
#: Frictionless error types that reject the row they are on; others are warnings
_REJECTING = {"primary-key", "foreign-key", "missing-cell", "extra-cell", "unique-error"}


def is_package(path: Path) -> bool:
    """True for a folder with ``datapackage.json``, or a zip with one at its root."""
    if path.is_dir():
        return (path / DESCRIPTOR).is_file()
    if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return DESCRIPTOR in z.namelist()
    return False


def schema_folder() -> Path:
    """The pinned DwC-DP table schemas (data/dwc-dp/table-schemas, see its SOURCE.txt)."""
    return resource_path("dwc-dp") / "table-schemas"


def pinned_schema(name: str) -> dict[str, Any] | None:
    """The pinned table schema of the DwC-DP table ``name``, or None."""
    path = schema_folder() / f"{name}.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@contextlib.contextmanager
def opened(path: Path, limits: ReadLimits) -> Iterator[Path]:
    """The package's folder: ``path`` itself, or a zip unpacked into a temporary folder, each
    member held to the limits on decompressed size and compression ratio as archives are."""
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="dwcdp-") as tmp, zipfile.ZipFile(path) as z:
        for info in z.infolist():
            pure = PurePosixPath(info.filename)
            if pure.is_absolute() or ".." in pure.parts:
                raise InputError(
                    f"a member named {info.filename!r} would unpack outside it", file=str(path)
                )
            if info.is_dir():
                continue
            target = Path(tmp, *pure.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with _CheckedZipStream(z, info, limits) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        yield Path(tmp)


def read_descriptor(folder: Path, where: str, limits: ReadLimits | None = None) -> dict[str, Any]:
    """``datapackage.json`` as a dict; InputError naming the line and column when it is not
    JSON or not a Data Package descriptor, or is larger than ``max_json_bytes``."""
    limits = limits or ReadLimits()
    try:
        with open(folder / DESCRIPTOR, "rb") as handle:
            data = read_bounded(handle, limits.max_json_bytes, where, "max_json_bytes")
        descriptor = json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=where
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8: {exc.reason} at byte {exc.start}", file=where) from None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise InputError("a Data Package descriptor needs a 'resources' list", file=where)
    return descriptor


def resolve(descriptor: dict[str, Any], folder: Path, where: str) -> dict[str, Any]:
    """A copy of the descriptor that Frictionless can validate without the network: each
    table schema inline (a schema named by URL is the pinned one of that name), foreign keys
    to tables the package lacks left out, no remote profile."""
    resolved = {k: v for k, v in descriptor.items() if k not in ("profile", "$schema")}
    resources = []
    for number, resource in enumerate(descriptor["resources"], start=1):
        if not isinstance(resource, dict) or not resource.get("name"):
            raise InputError(f"resource {number} has no name", file=where)
        name = str(resource["name"])
        copy = dict(resource)
        path = copy.get("path")
        if isinstance(path, str) and "://" in path:
            raise InputError(
                f"resource {name!r} is at a URL ({path}); give the package with its tables",
                file=where,
            )
        schema = copy.get("schema")
        if isinstance(schema, str):
            local = folder / schema
            if "://" not in schema and local.is_file():
                copy["schema"] = json.loads(local.read_text(encoding="utf-8"))
            else:
                pinned = pinned_schema(PurePosixPath(schema).stem)
                if pinned is None:
                    raise InputError(
                        f"resource {name!r} names its schema {schema!r}, which is neither a file "
                        "of the package nor a DwC-DP table schema kept here",
                        file=where,
                    )
                copy["schema"] = pinned
        resources.append(copy)
    names = {r["name"] for r in resources}
    for r in resources:
        schema = r.get("schema")
        if isinstance(schema, dict) and schema.get("foreignKeys"):
            schema = dict(schema)
            schema["foreignKeys"] = [
                fk
                for fk in schema["foreignKeys"]
                if fk.get("reference", {}).get("resource", "") in names | {""}
            ]
            r["schema"] = schema
    resolved["resources"] = resources
    return resolved


def profile_problems(descriptor: dict[str, Any]) -> list[str]:
    """Where the descriptor breaks the DwC-DP profile (the pinned dwc-dp-profile.json; the
    Data Package part of it is Frictionless's check)."""
    import jsonschema

    profile = json.loads((resource_path("dwc-dp") / "dwc-dp-profile.json").read_text("utf-8"))
    profile["allOf"] = [part for part in profile["allOf"] if "$ref" not in part]
    validator = jsonschema.Draft4Validator(profile)
    found = []
    for error in validator.iter_errors(descriptor):
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{path}: {error.message[:300]}")
    return found


def validate(resolved: dict[str, Any], folder: Path) -> dict[str, list[Any]]:
    """Frictionless's errors for each resource name ('' for the package itself)."""
    # imported here: frictionless takes a while to import, and only packages need it
    from frictionless import FrictionlessException, Package

    errors: dict[str, list[Any]] = {}
    try:
        # columns are matched to fields by their header names, not their positions: a table
        # may hold any of its schema's fields, in any order
        for resource in resolved["resources"]:
            if isinstance(resource.get("schema"), dict):
                resource["schema"] = {**resource["schema"], "fieldsMatch": "subset"}
        package = Package.from_descriptor(resolved, basepath=str(folder))
        report = package.validate(limit_errors=100000)
    except FrictionlessException as exc:
        raise InputError(
            f"not a valid Data Package: {exc.error.message}", file=DESCRIPTOR
        ) from None
    for error in report.errors:
        errors.setdefault("", []).append(error)
    for task in report.tasks:
        errors.setdefault(task.name or "", []).extend(task.errors)
    return errors


def _keys(schema: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """A table schema's primary key field and references (see :class:`Table`)."""
    key = schema.get("primaryKey")
    if isinstance(key, list):
        key = key[0] if key else None
    refs: dict[str, str] = {}
    for fk in schema.get("foreignKeys", []) or []:
        fields = fk.get("fields")
        field_name = fields[0] if isinstance(fields, list) else fields
        target = fk.get("reference", {}).get("resource", "")
        if not isinstance(field_name, str):
            continue
        refs.setdefault(target, field_name)
        stem = field_name[:-3] if field_name.endswith("_fk") else field_name
        refs.setdefault(stem, field_name)
    return key, refs


def _rows(
    path: Path, resource: dict[str, Any], limits: ReadLimits
) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows of one table as strings, numbered as Frictionless numbers them (the header is
    row 1; blank rows are left out), and its header."""
    dialect = resource.get("dialect") or {}
    delimiter = dialect.get("delimiter") or (
        "\t" if resource.get("format") == "tsv" or path.suffix.lower() in (".tsv", ".txt") else ","
    )
    encoding = resource.get("encoding") or "utf-8"
    csv.field_size_limit(max(limits.max_field_bytes, 1024))
    rows = []
    with open(
        path, encoding="utf-8-sig" if encoding.lower() == "utf-8" else encoding, newline=""
    ) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, [])
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            rows.append((number, dict(zip(header, cells, strict=False))))
    return rows, header


def stream_package(
    path: Path,
    ctx: Context,
    report: IngestReport,
    sink: Sink,
    *,
    limits: ReadLimits | None = None,
) -> DatasetMetadata:
    """Validate, map and load one package into ``sink``; fill ``report`` per table."""
    limits = limits or ReadLimits()
    where = f"{path.name}/{DESCRIPTOR}" if path.is_dir() else f"{path.name}:{DESCRIPTOR}"
    with opened(path, limits) as folder:
        descriptor = read_descriptor(folder, where, limits)
        for problem in profile_problems(descriptor):
            report.problem(where, None, None, f"DwC-DP profile: {problem}", "warning")
        resolved = resolve(descriptor, folder, where)
        errors = validate(resolved, folder)
        for error in errors.get("", []):
            report.problem(where, None, None, error.message)
        tables: dict[str, Table] = {}
        bad_rows: dict[str, dict[int, str]] = {}
        for resource in resolved["resources"]:
            name = resource["name"]
            file = str(resource.get("path") or name)
            local = folder / file
            if not local.is_file():
                report.problem(where, None, None, f"resource {name!r}: no file {file!r}")
                continue
            schema = resource.get("schema") or {}
            key, refs = _keys(schema)
            required = {
                f["name"]
                for f in schema.get("fields", [])
                if (f.get("constraints") or {}).get("required")
            }
            table = Table(name, file, key, refs)
            table.rows, header = _rows(local, resource, limits)
            for column in sorted(required - set(header)):
                report.problem(
                    file, 1, column, "a required column of the table schema is missing", "warning"
                )
            official = pinned_schema(name)
            if official is not None:  # a DwC-DP table: its fields are the official ones
                known = {f["name"] for f in official["fields"]}
                for column in [c for c in header if c and c not in known]:
                    report.problem(
                        file,
                        1,
                        column,
                        f"not a field of the official DwC-DP table schema {name!r} "
                        "(data/dwc-dp/table-schemas); kept as written",
                        "warning",
                    )
            tables[name] = table
            rejected = bad_rows.setdefault(name, {})
            for error in errors.get(name, []):
                row = getattr(error, "row_number", None)
                field = getattr(error, "field_name", None) or next(
                    iter(getattr(error, "field_names", None) or []), None
                )
                reject = (
                    error.type in _REJECTING
                    or (error.type == "constraint-error" and field in required)
                    or (field is not None and (field == key or field in refs.values()))
                )
                if error.type == "blank-row":
                    continue
                severity = "error" if reject and row else "warning"
                reason = (
                    error.message if severity == "error" else f"{error.message}; kept as written"
                )
                report.problem(file, row, field, reason, severity)
                if reject and row:
                    rejected.setdefault(row, error.message)
        for name, table in tables.items():  # rejected rows are not mapped
            rejected = bad_rows.get(name, {})
            if rejected:
                table.rows = [(n, r) for n, r in table.rows if n not in rejected]
        for name, table in tables.items():
            counts = report.extensions.setdefault(table.file, Counts())
            n = len(bad_rows.get(name, {}))
            counts.read += n
            counts.rejected += n
            if name not in MAPPED_TABLES and table.rows:
                report.problem(
                    table.file,
                    None,
                    None,
                    f"table {name!r} has no place in the graph: its {len(table.rows)} rows are "
                    "counted as rejected, not loaded",
                    "warning",
                )
        for outcome in map_package(tables, ctx):
            table = tables[outcome.table]
            counts = report.extensions[table.file]
            counts.read += 1
            mapped = outcome.mapped
            for p in mapped.problems:
                report.problem(table.file, outcome.row, p.column, p.reason, p.severity)
            if mapped.rejected:
                counts.rejected += 1
                sink.record_done()
                continue
            counts.loaded += 1
            report.count_agents(mapped)
            if outcome.table in ("material", "occurrence") and (mapped.lines or mapped.triples):
                report.specimens += 1
            sink.mapped(mapped)
            sink.record_done()
        report.read += sum(c.read for c in report.extensions.values())
        report.loaded += sum(c.loaded for c in report.extensions.values())
        report.rejected += sum(c.rejected for c in report.extensions.values())
        return _metadata(descriptor, folder)


def _metadata(descriptor: dict[str, Any], folder: Path) -> DatasetMetadata:
    """The dataset's metadata: its eml.xml when the package has one, else the descriptor's
    title, description and licence."""
    eml = folder / "eml.xml"
    if eml.is_file():
        with contextlib.suppress(InputError):
            return parse_eml(eml.read_bytes(), source=str(eml.name))
    meta = DatasetMetadata()
    meta.title = descriptor.get("title") or None
    meta.abstract = descriptor.get("description") or None
    licences = descriptor.get("licenses") or []
    if licences and isinstance(licences[0], dict):
        meta.license = licences[0].get("path") or licences[0].get("name")
    return meta
