"""Reconciliation Service API 0.2 (the version OpenRefine 3.6 speaks): manifest, queries,
suggest, preview, view and data extension over the graph. No Flask here: ``web/reconcile.py`` is
the face. Names are scored with the linking matcher (``collectomics.linking.matcher``).

Identifiers are IRIs relative to the base IRI (``person/pius-font-quer``). Four types: Person
(people, then name-string agents), Specimen (catalogue number, occurrenceID, barcode),
Institution (organisations in the graph and the institution and collection codes written on
specimens) and Document (notebooks, letters and their pages).

The package, in the order a query travels:

- :mod:`.schema`: the types, the query and extension properties, limits and score thresholds;
- :mod:`.text`: folding names and identifiers into keys, reading years and countries;
- :mod:`.index`: the :class:`Index` read once per version of the store: family-name words,
  abbreviations and identifiers point at people (a token index), so a query scores a short
  list of candidates with the matcher instead of every person;
- :mod:`.scoring`: the score of each candidate and the match rule (docs/reconciliation.md):
  ``match: true`` only for the top candidate, when its score is at least ``MATCH_AT`` and at
  least ``MATCH_MARGIN`` above the runner-up (or it has no runner-up);
- :mod:`.lookup`: the entity an identifier typed as the query names (a QID, an ORCID iD, an
  IPNI id..., our IRI or id): score 100;
- :mod:`.api`: the manifest and the answers to queries; :mod:`.suggest`: suggest, flyouts,
  preview and view; :mod:`.extend`: data extension.
"""

from collectomics.services.reconcile.api import manifest, reconcile, reconcile_one
from collectomics.services.reconcile.extend import (
    extend,
    propose_properties,
    wikidata_card,
    wikidata_item,
)
from collectomics.services.reconcile.index import Entity, Index, index_for
from collectomics.services.reconcile.lookup import lookup
from collectomics.services.reconcile.schema import (
    DOCUMENT,
    EXTEND_PROPERTIES,
    INSTITUTION,
    MATCH_AT,
    MATCH_MARGIN,
    MAX_BATCH,
    MAX_QUERY_CHARS,
    PERSON,
    QUERY_PROPERTIES,
    SHORTLIST,
    SPECIMEN,
    TYPES,
)
from collectomics.services.reconcile.scoring import person_candidates, read_props
from collectomics.services.reconcile.suggest import (
    flyout,
    paged,
    preview,
    suggest_entities,
    suggest_properties,
    suggest_types,
    view,
)
from collectomics.services.reconcile.text import compact, country_code, fold, identifier, name_words

__all__ = [
    "DOCUMENT", "EXTEND_PROPERTIES", "INSTITUTION", "MATCH_AT", "MATCH_MARGIN", "MAX_BATCH",
    "MAX_QUERY_CHARS", "PERSON", "QUERY_PROPERTIES", "SHORTLIST", "SPECIMEN", "TYPES", "Entity",
    "Index", "compact", "country_code", "extend", "flyout", "fold", "identifier", "index_for", "lookup",
    "manifest", "name_words", "paged", "person_candidates", "preview", "propose_properties", "read_props", "reconcile",
    "reconcile_one", "suggest_entities", "suggest_properties", "suggest_types", "view",
    "wikidata_card", "wikidata_item",
]  # fmt: skip
