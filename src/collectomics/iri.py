"""The one place where IRIs are minted: deterministic, under one configurable base.

The same input always yields the same IRI. Readable keys (``BCN-35752``) are kept as they are;
anything else becomes a lower-case slug with a short hash of the exact key, so that two keys that
slug alike (``Blanché, C.`` and ``Blanche C``) never collide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from collectomics.model import IRI

DEFAULT_BASE = "https://w3id.org/collectomics/"
#: Names under ``graph/`` that hold what the project derives rather than a dataset: the facet
#: counts, the possible duplicates, the inferences, the identity links, and every person's
#: itinerary (``itinerary-...``). No dataset may take one as its id.
DERIVED_GRAPHS = {
    "facets": "the materialised facet counts",
    "duplicates": "the possible duplicates between datasets",
    "inferences": "the inferences",
    "links": "the identity links",
    "identity": "the resolved identities",
}
DERIVED_PREFIX = "itinerary-"


def derived_graph(dataset_id: str) -> str | None:
    """What the derived graph named ``dataset_id`` holds, or None when it is no such name."""
    if dataset_id.startswith(DERIVED_PREFIX):
        return "a person's itinerary"
    return DERIVED_GRAPHS.get(dataset_id)


_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._~-]{0,79}")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


@lru_cache(maxsize=16384)
def slug(key: str) -> str:
    """A path segment for ``key``: the key itself when it is short and IRI-safe, else slug+hash.

    Cached: role words, orders and agent names repeat on every record of an ingest.
    """
    key = key.strip()
    if key.isascii():  # NFC and NFKD leave ASCII as it is: most keys (catalogue numbers, URNs)
        ascii_ = key
    else:
        key = unicodedata.normalize("NFC", key)
        ascii_ = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
    if _SAFE.fullmatch(key) and not key.endswith("."):
        return key
    words = _NOT_WORD.sub("-", ascii_).strip("-").lower()[:60].rstrip("-")
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{words}-{digest}" if words else digest


class Minter:
    """Mints every IRI of the graph under ``base``."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not base.endswith(("/", "#")):
            base += "/"
        self.base = base

    def mint(self, kind: str, *parts: str) -> IRI:
        """``{base}{kind}/{slug(part)}/...``; ``kind`` is a fixed word chosen by the caller."""
        return IRI(self.base + "/".join([kind, *(slug(p) for p in parts)]))

    def graph(self, dataset_id: str) -> IRI:
        """The named graph that holds one source dataset."""
        return self.mint("graph", dataset_id)

    def dataset(self, dataset_id: str) -> IRI:
        """The node describing one source dataset (title, licence, source)."""
        return self.mint("dataset", dataset_id)

    def is_derived(self, graph: str) -> bool:
        """True for a graph the project derives (facets, duplicates, inferences, links, an
        itinerary): no dataset's."""
        prefix = self.base + "graph/"
        return graph.startswith(prefix) and derived_graph(graph[len(prefix) :]) is not None

    def is_source(self, graph: str) -> bool:
        """True for a graph that analyses read (networks, inference): the datasets and the
        identity links (which tie name strings to people); not what is derived from them."""
        return not self.is_derived(graph) or graph == self.graph("links")

    def dataset_of_graph(self, graph: str) -> IRI | None:
        """The node of the dataset whose named graph is ``graph`` (None: not a dataset graph,
        such as a derived one)."""
        prefix = self.base + "graph/"
        if not graph.startswith(prefix) or self.is_derived(graph):
            return None
        return IRI(self.base + "dataset/" + graph[len(prefix) :])

    def specimen(self, *key: str) -> IRI:
        """A specimen, keyed as :func:`collectomics.mapping.specimens.specimen_key` says."""
        return self.mint("specimen", *key)

    def person(self, key: str) -> IRI:
        """A person from a people table, keyed by the table's own identifier."""
        return self.mint("person", key)

    def agent(self, dataset_id: str, normalised_name: str) -> IRI:
        """A name-string agent: one per normalised name within one dataset."""
        return self.mint("agent", dataset_id, normalised_name)

    def document(self, key: str) -> IRI:
        return self.mint("document", key)

    def media(self, key: str) -> IRI:
        return self.mint("media", key)

    def part(self, parent: IRI, *parts: str) -> IRI:
        """A node that only exists as part of another (event, role node, label, identification)."""
        return IRI(parent + "/" + "/".join(slug(p) for p in parts))
