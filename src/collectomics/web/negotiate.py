"""Content negotiation on the Accept header: q-values, wildcards, ``q=0`` exclusion (RFC 9110)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Other names clients use for our formats (media type -> our short name).
ALIASES = {
    "application/json": "json",
    "text/xml": "xml",
    "application/xml": "xml",
    "text/plain": "ntriples",
    "application/x-turtle": "turtle",
    "application/turtle": "turtle",
    "application/json+ld": "jsonld",
    "application/x-trig": "trig",
    "text/x-nquads": "nquads",
}


def parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    """(media range, q, specificity) for each entry of an Accept header."""
    ranges = []
    for part in (header or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media or "/" not in media:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        kind, _, sub = media.partition("/")
        specificity = 0 if kind == "*" else 1 if sub == "*" else 2
        ranges.append((media, q, specificity))
    return ranges


def quality(media: str, ranges: Sequence[tuple[str, float, int]]) -> float:
    """The q of ``media``: from the most specific range that matches it (0 if none does)."""
    kind = media.split("/")[0]
    best: tuple[int, float] | None = None
    for rng, q, specificity in ranges:
        if rng == media or rng == "*/*" or rng == kind + "/*":
            if best is None or specificity > best[0]:
                best = (specificity, q)
    return best[1] if best else 0.0


def choose(header: str | None, offered: Mapping[str, str], default: str) -> str | None:
    """The best of ``offered`` (short name -> media type) for an Accept header, or None.

    No header (or an empty one) means anything; ties go to ``default``, then to the order of
    ``offered``.
    """
    ranges = parse_accept(header)
    if not ranges:
        return default
    candidates: dict[str, float] = {}
    for name, media in offered.items():
        candidates[name] = quality(media, ranges)
    for alias, name in ALIASES.items():
        if name in offered:
            candidates[name] = max(
                candidates[name], next((q for r, q, s in ranges if r == alias and s == 2), 0.0)
            )
    order = [default] + [n for n in offered if n != default]
    best = max(order, key=lambda n: (candidates[n], -order.index(n)))
    return best if candidates[best] > 0 else None


def prefers_html(header: str | None) -> bool:
    """True when a browser asks: text/html is accepted explicitly and ranks first."""
    ranges = parse_accept(header)
    html = next((q for r, q, s in ranges if r in ("text/html", "application/xhtml+xml")), 0.0)
    return html > 0 and all(q <= html for r, q, s in ranges if r not in ("*/*",))
