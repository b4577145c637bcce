"""Page sections: the parts of an entity page, each computed by a library function on its own.

A page (a person's, a specimen's) is a list of :class:`Section` jobs. Each job names a
module-level function ``fn(store, minter, iri, **params) -> dict`` (importable by name, so that
it can run in another process) and the canned query or JSON route that gives the same answer
in full. :func:`run_sections` computes them and returns one :class:`SectionResult` per job: the
data, or a message saying why the section is not shown (too slow, too large, bad input), so that
one slow section degrades to a message instead of taking the page down.

Two ways to run them. In the library and the CLI, one after the other in the calling process
(``budget`` is not enforced: nothing here can stop a query). Under a *runner* (the web layer's
worker pool, ``collectomics.services.endpoint.WorkerPool.call``), each in a worker process of its own, as
many at once as the pool has workers, each with its own time limit ``budget`` (the
``section_timeout`` setting): past it the worker is killed, so the work stops and its CPU is
freed, and the section says :data:`TOO_LARGE`. The web layer hands the runner over for the time
of a request (:func:`use_runner`), so page code calls ``run_sections`` the same way everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.model import Literal
from collectomics.services.endpoint import (
    EndpointBusy,
    QueryTimeout,
    resolve_function,  # a section is such a function
)
from collectomics.services.queries import get_query
from collectomics.store import Store

#: What a section past its time budget says (its ``more`` link leads to the full answer).
TOO_LARGE = "too large to show here, see the query"
#: Most sections computed at once under a runner (the runner's pool bounds the work itself).
MAX_PARALLEL = 16


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


class Runner(Protocol):
    """Runs a named library function as ``function(store, *args, **kwargs)`` elsewhere, under a
    time limit, and returns its JSON answer (``collectomics.services.endpoint.WorkerPool``)."""

    def call(
        self,
        function: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        wait: float | None = None,
        setting: str = "query_timeout",
    ) -> Any: ...


@dataclass(frozen=True)
class _Block:
    runner: Runner
    budget: float
    wait: float | None
    #: every section computed in the block, for the ``Server-Timing`` header
    results: list[SectionResult] = field(default_factory=list)


_CURRENT: ContextVar[_Block | None] = ContextVar("collectomics_section_runner", default=None)


@contextmanager
def use_runner(
    runner: Runner, budget: float, wait: float | None = None
) -> Iterator[list[SectionResult]]:
    """Within this block (and this thread or context), ``run_sections`` computes sections with
    ``runner``, ``budget`` seconds each (0: no limit), waiting at most ``wait`` seconds for a
    free worker (None: as long as it takes). Yields the list of the sections computed so far,
    which the web layer reports in a ``Server-Timing`` header."""
    context = _Block(runner, budget, wait)
    token = _CURRENT.set(context)
    try:
        yield context.results
    finally:
        _CURRENT.reset(token)


def server_timing(results: Sequence[SectionResult]) -> str:
    """A ``Server-Timing`` header value (W3C Server Timing) naming each section and its time
    in milliseconds, with why it has no data when it has none."""
    parts = []
    for r in results:
        name = "".join(c if c.isalnum() or c in "-_." else "-" for c in r.name) or "section"
        part = f"{name};dur={r.seconds * 1000:.1f}"
        if r.message:
            why = "too large" if r.message.startswith(TOO_LARGE) else "no data"
            part += f';desc="{why}"'
        parts.append(part)
    return ", ".join(parts)


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


def run_section_with(
    runner: Runner,
    minter: Minter,
    iri: str,
    section: Section,
    budget: float,
    wait: float | None = None,
) -> SectionResult:
    """Compute one section with ``runner`` within ``budget`` seconds; past it, or when no worker
    was free, or on a library error, the section's message says why."""
    started = time.monotonic()
    result = SectionResult(section.name, section.title, more=section.more)
    try:
        result.data = runner.call(
            section.function,
            (minter, iri),
            section.params,
            timeout=budget,
            wait=wait,
            setting="section_timeout",
        )
    except QueryTimeout:
        result.message = (
            f"{TOO_LARGE}: it took longer than {budget:g} s (the section_timeout setting)"
        )
    except EndpointBusy:
        result.message = "not computed: every worker stayed busy; reload the page, or see the query"
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
    runner: Runner | None = None,
    wait: float | None = None,
) -> list[SectionResult]:
    """Compute ``sections``; their results in the same order.

    With a runner (given, or handed over by :func:`use_runner`), each in a worker, several at
    once, within ``budget`` seconds, or the budget handed over when that is smaller (a page may
    ask for less than the ``section_timeout`` setting, not more); else one after the other in
    this process, where ``budget`` is not enforced."""
    context = _CURRENT.get()
    if runner is None and context is not None:
        runner = context.runner
        if budget is None or budget <= 0:
            budget = context.budget
        elif context.budget > 0:
            budget = min(budget, context.budget)
        wait = context.wait if wait is None else wait
    if runner is None:
        return [run_section(store, minter, iri, s) for s in sections]
    limit = 0.0 if budget is None else budget
    if len(sections) <= 1:
        results = [run_section_with(runner, minter, iri, s, limit, wait) for s in sections]
    else:
        with ThreadPoolExecutor(min(len(sections), MAX_PARALLEL), "section") as pool:
            futures = [
                pool.submit(run_section_with, runner, minter, iri, s, limit, wait) for s in sections
            ]
            results = [f.result() for f in futures]
    if context is not None:
        context.results.extend(results)
    return results


def query_rows(
    store: Store,
    minter: Minter,
    iri: str,
    *,
    query: str,
    parameter: str = "agent",
    values: Mapping[str, str] | None = None,
    queries_dir: str = "",
    limit: int = 100,
) -> dict[str, Any]:
    """A section that is a canned query: its first ``limit`` rows with ``iri`` bound to
    ``parameter`` (and ``values`` to the others), as plain strings, and whether there were more.
    Its ``more`` link is the query itself (``/queries/NAME?...``)."""
    del minter
    canned = get_query(query, queries_dir or None)
    bound = canned.bind({**(values or {}), parameter: iri})
    result = store.query(canned.text, params=bound)  # bound where the plan starts (the store)
    rows: list[dict[str, str]] = []
    more = False
    for row in result.rows():
        if len(rows) >= limit:
            more = True
            break
        rows.append({k: v.value if isinstance(v, Literal) else str(v) for k, v in row.items()})
    return {"variables": result.variables, "rows": rows, "more": more}
