"""The Reconciliation Service API 0.2 answers: manifest, queries, suggest, preview, view and
data extension."""

from __future__ import annotations

import json
import logging
from typing import Any

from collectomics.mapping.names import is_organisation_agent, is_unknown_agent
from collectomics.services.reconcile.index import Entity, Index, index_for
from collectomics.services.reconcile.lookup import lookup
from collectomics.services.reconcile.schema import (
    BASE,
    BATCH_SIZE,
    DEFAULT_LIMIT,
    DOCUMENT,
    INSTITUTION,
    MAX_BATCH,
    MAX_QUERY_CHARS,
    PERSON,
    query_type,
)
from collectomics.services.reconcile.scoring import (
    Props,
    decide,
    describe,
    person_answer,
    read_props,
    specimen_results,
    text_results,
)
from collectomics.store import Store

log = logging.getLogger(__name__)

# -- the manifest ------------------------------------------------------------------------------


def manifest(service_url: str, base: str = BASE) -> dict[str, Any]:
    """The 0.2 manifest; ``service_url`` is where ``/reconcile`` is served, e.g.
    ``http://127.0.0.1:5000/reconcile``. ``view`` leads to our own entity page."""
    return {
        "versions": ["0.2"],
        "name": "Collectomics people, specimens, institutions and documents",
        "identifierSpace": base,
        "schemaSpace": base + "ontology#",
        "defaultTypes": [dict(PERSON)],
        "view": {"url": service_url + "/view?id={{id}}"},
        "preview": {"url": service_url + "/preview?id={{id}}", "width": 400, "height": 140},
        "suggest": {
            "entity": {
                "service_url": service_url,
                "service_path": "/suggest/entity",
                "flyout_service_path": "/flyout/entity?id=${id}",
            },
            "type": {"service_url": service_url, "service_path": "/suggest/type"},
            "property": {"service_url": service_url, "service_path": "/suggest/property"},
        },
        "extend": {
            "propose_properties": {"service_url": service_url, "service_path": "/properties"},
            "property_settings": [],
        },
        "batchSize": BATCH_SIZE,
    }


def reconcile_one(ix: Index, q: Any) -> dict[str, Any]:
    """One query, standing alone; anything malformed gets an empty result list."""
    try:
        if not isinstance(q, dict):
            return {"result": []}
        text = q.get("query")
        text = text if isinstance(text, str) else ""
        text = text[:MAX_QUERY_CHARS]
        qtype = query_type(q)
        if qtype == "":
            # type_strict "should" (OpenRefine's default) is a preference: search every type;
            # "any" / "all" (or none given) are strict: nothing here is of an unknown type
            if q.get("type_strict") != "should":
                return {"result": []}
            qtype = None
        props = read_props(q.get("properties"))
        if props.unknown:
            log.info("reconciliation: unknown properties ignored: %s", ", ".join(props.unknown))
        if props.unusable:
            log.info("reconciliation: unreadable values ignored: %s", ", ".join(props.unusable))
        if not text.strip() and not props.ids:
            return {"result": []}
        named = [e for e in lookup(ix, text) if qtype in (None, e.type["id"])]
        results = [identified(e) for e in named]  # an identifier typed as the query
        may_match: Any = True
        if not named:
            results, may_match = search(ix, text, qtype, props)
        limit = q.get("limit", DEFAULT_LIMIT)
        limit = limit if isinstance(limit, int) and 0 < limit <= 100 else DEFAULT_LIMIT
        decide(results, may_match)
        return {"result": results[:limit]}
    except Exception:  # noqa: BLE001 - OpenRefine must always get a well-formed answer
        log.exception("reconciliation query failed: %.200r", q)
        return {"result": []}


def search(
    ix: Index, text: str, qtype: str | None, props: Props
) -> tuple[list[dict[str, Any]], Any]:
    """Candidates by name (or catalogue number, code, title) of the type asked for; without a
    type: people, else specimens, else institutions, else documents. With them, whether the top
    candidate may be matched (:func:`scoring.person_answer`: never for a cell of several
    names)."""
    results: list[dict[str, Any]] = []
    may_match: Any = True
    if qtype in (None, "Person"):
        # "Anon.", "s.coll.", "?" name no one (Añón), "Zoological Survey of India" names an
        # organisation: neither is ever proposed as a person
        unknown = is_unknown_agent(text) or is_organisation_agent(text)
        if not unknown or props.ids:
            results, may_match = person_answer(ix, "" if unknown else text, props)
    if qtype == "Specimen" or (qtype is None and not results):
        results = specimen_results(ix, text, props)
    if qtype == "Institution" or (qtype is None and not results):
        results = text_results(ix, text, props, INSTITUTION)
    if qtype == "Document" or (qtype is None and not results):
        results = text_results(ix, text, props, DOCUMENT)
    return results, may_match


def identified(e: Entity) -> dict[str, Any]:
    """The candidate an identifier names (a QID, an ORCID iD, an IPNI id..., our IRI or id):
    score 100, feature ``identifier_exact``."""
    return {
        "id": e.id,
        "name": e.name,
        "type": [dict(e.type)],
        "score": 100.0,
        "match": False,
        "features": [{"id": "identifier_exact", "value": 1.0}],
        "description": describe(e),
    }


def reconcile(store: Store, queries: Any, base: str = BASE) -> dict:
    """Answer a batch ``{"q0": {...}, ...}`` (or its JSON text). Bad input: empty results."""
    if isinstance(queries, (str, bytes)):
        try:
            queries = json.loads(queries)
        except (ValueError, RecursionError):
            log.warning("reconciliation: queries are not JSON")
            return {}
    if not isinstance(queries, dict):
        log.warning("reconciliation: queries are not a JSON object")
        return {}
    keys = list(queries)[:MAX_BATCH]
    try:
        ix = index_for(store, base)
    except Exception:  # noqa: BLE001 - the store failed: still a well-formed answer, logged
        log.exception("reconciliation: cannot read the store")
        return {str(key): {"result": []} for key in keys}
    return {str(key): reconcile_one(ix, queries[key]) for key in keys}
