"""Page sections: the parts of an entity page, each computed by a library function on its own.

A page (a person's, a specimen's) is a list of :class:`Section` jobs. Each job names a
module-level function ``fn(store, minter, iri, **params) -> dict`` (importable by name, so that
it can run in another process) and the canned query or JSON route that gives the same answer
in full. :func:`run_sections` computes them and returns one :class:`SectionResult` per job: the
data, or a message saying why the section is not shown (too slow, too large, bad input), so that
one slow section degrades to a message instead of taking the page down.

This module runs the jobs one after the other in the calling process; the time limit of each
section is given by ``budget`` and enforced by the runner the web layer uses.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.store import Store


@dataclass(frozen=True)
class Section:
    """One part of a page: ``function`` is ``"module:name"``; ``more`` links the full answer."""

    name: str
    title: str
    function: str
    params: dict[str, Any] = field(default_factory=dict)
    more: str = ""


@dataclass
class SectionResult:
    """A section's answer (``data``), or why it has none (``message``), and its time."""

    name: str
    title: str
    data: Any = None
    message: str = ""
    seconds: float = 0.0
    more: str = ""

    @property
    def ok(self) -> bool:
        return not self.message

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "title": self.title, "more": self.more}
        if self.message:
            out["message"] = self.message
        else:
            out["data"] = self.data
        return out


def resolve_function(spec: str) -> Callable[..., Any]:
    """The function named ``module:name`` (only under ``collectomics``)."""
    module, _, name = spec.partition(":")
    if not module.startswith("collectomics.") or not name:
        raise ValueError(f"not a collectomics section function: {spec!r}")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise ValueError(f"{spec!r} is not a function")
    return fn  # type: ignore[no-any-return]


def run_section(store: Store, minter: Minter, iri: str, section: Section) -> SectionResult:
    """Compute one section in this process; a library error becomes the section's message."""
    started = time.monotonic()
    result = SectionResult(section.name, section.title, more=section.more)
    try:
        result.data = resolve_function(section.function)(store, minter, iri, **section.params)
    except CollectomicsError as exc:
        result.message = str(exc)
    result.seconds = time.monotonic() - started
    return result


def run_sections(
    store: Store,
    minter: Minter,
    iri: str,
    sections: Sequence[Section],
    *,
    budget: float | None = None,
) -> list[SectionResult]:
    """Compute ``sections`` in order, in this process (``budget`` is not enforced here)."""
    del budget
    return [run_section(store, minter, iri, s) for s in sections]
