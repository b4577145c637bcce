"""Reading the SHACL shapes file (``ontology/shapes.ttl`` by default) into an rdflib graph."""

from __future__ import annotations

import functools
from pathlib import Path

import rdflib
from rdflib.namespace import RDF

from collectomics.errors import InputError
from collectomics.resources import resource_path

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


class ShapesError(InputError):
    """The SHACL shapes file is missing, cannot be parsed, or is not usable SHACL."""


def default_shapes_path() -> Path:
    """The bundled shapes file (``ontology/shapes.ttl`` in a checkout)."""
    return resource_path("ontology") / "shapes.ttl"


def load_shapes(shapes_path: str | Path | None) -> rdflib.Graph:
    """The shapes graph of ``shapes_path`` (the bundled shapes if None), parsed once per
    version of the file: the same graph object, so blank-node shapes keep their labels."""
    path = Path(shapes_path) if shapes_path is not None else default_shapes_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ShapesError(f"cannot read shapes file: {exc.strerror}", file=str(path)) from None
    return _parse_shapes(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _parse_shapes(path: str, mtime_ns: int) -> rdflib.Graph:
    # Keyed on the modification time too, so that an edited shapes file is read again.
    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:  # noqa: BLE001 - rdflib parsers raise anything from IndexError up
        raise ShapesError(f"cannot parse shapes file: {exc}", file=path) from None
    if not any((None, RDF.type, kind) in graph for kind in (SH.NodeShape, SH.PropertyShape)):
        raise ShapesError("shapes file declares no sh:NodeShape or sh:PropertyShape", file=path)
    return graph
