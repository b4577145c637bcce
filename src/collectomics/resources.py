"""Where the bundled ontology, canned queries and demo data live.

In a source checkout they are the top-level ``ontology/``, ``queries/`` and ``data/demo/``
folders; an installed wheel carries copies under ``collectomics/_resources/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent
_IN_CHECKOUT = {
    "ontology": "ontology",
    "queries": "queries",
    "demo": "data/demo",
    "dwc-dp": "data/dwc-dp",
}


def resource_path(name: str) -> Path:
    """Folder of a bundled resource: ``ontology``, ``queries``, ``demo`` or ``dwc-dp``."""
    checkout = _CHECKOUT / _IN_CHECKOUT[name]
    if checkout.is_dir():
        return checkout
    return _PACKAGE / "_resources" / name
