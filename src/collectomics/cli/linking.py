"""Commands for linking people: `stand-in`, `link`, `review` and `export-links`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from collectomics.cli.common import Invocation, main
from collectomics.errors import InputError

if TYPE_CHECKING:  # the commands import the linking layer when they run, not at start-up
    from collectomics.linking.orcid import OrcidClient
    from collectomics.linking.service import MatchRecord
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient


def _clients(
    obj: Invocation, *, orcid: bool = True
) -> tuple[HttpClient, WikidataClient, OrcidClient | None]:
    from collectomics.linking.orcid import OrcidClient
    from collectomics.linking.session import HttpClient
    from collectomics.linking.wikidata import WikidataClient

    s = obj.settings
    http = HttpClient(
        cache_dir=s.linking_cache or None, offline=s.linking_offline, rate=s.linking_rate
    )
    wikidata = WikidataClient(http, s.wikidata_api_url, s.wikidata_sparql_url)
    return http, wikidata, OrcidClient(http, s.orcid_api_url) if orcid else None


@main.command("stand-in")
@click.argument("service", type=click.Choice(["wikidata", "orcid"]))
@click.option("--port", type=int, default=0, help="Port on 127.0.0.1 [default: any free port].")
@click.option(
    "--data",
    "data_dir",
    metavar="DIR",
    help="Folder with ipni-authors-wikidata/ and rorcid-orcid-v3/ [setting standin_data].",
)
@click.pass_obj
def stand_in(obj: Invocation, service: str, port: int, data_dir: str | None) -> None:
    """Serve a local stand-in for Wikidata or ORCID on 127.0.0.1, fed with real records."""
    from collectomics.linking import standin

    data = standin.load(service, data_dir or obj.settings.standin_data)
    server = standin.make_server(service, data, port)
    settings = standin.urls(service, server)
    for name, url in settings.items():
        click.echo(f"export COLLECTOMICS_{name.upper()}={url}")
    click.echo(
        f"{service} stand-in on 127.0.0.1:{server.server_address[1]}; Ctrl-C stops.", err=True
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@click.option("--dataset", metavar="ID", help="Link the agents of one dataset [default: all].")
@click.option("--no-orcid", is_flag=True, help="Search Wikidata only.")
@click.pass_obj
def link(obj: Invocation, dataset: str | None, no_orcid: bool) -> None:
    """Propose matches of name-string agents to Wikidata and ORCID people (into the links graph)."""
    from collectomics.linking.service import ServiceSource
    from collectomics.linking.service import link as run_link

    http, wikidata, orcid = _clients(obj, orcid=not no_orcid)
    try:
        with obj.open() as store:
            report = run_link(
                store,
                obj.minter,
                ServiceSource(wikidata, orcid),
                dataset=dataset,
                tolerance=obj.settings.linking_date_tolerance,
            )
            obj.refresh_facets(store)
    finally:
        http.close()
    click.echo(report.summary())
    click.echo(
        f"{http.requests_made} requests, {http.cache_hits} answered from the cache", err=True
    )


@main.command()
@click.option("--accept", "accept", metavar="MATCH_IRI", multiple=True, help="Accept a match.")
@click.option("--reject", "reject", metavar="MATCH_IRI", multiple=True, help="Reject a match.")
@click.option(
    "--undo", "undo", metavar="MATCH_IRI", multiple=True, help="Set a match back to proposed."
)
@click.option("--reviewer", metavar="ORCID_OR_NAME", help="Who decides (required with a decision).")
@click.option("--note", default="", help="Why (kept with the decision).")
@click.option("--all", "show_all", is_flag=True, help="List every match, decided ones too.")
@click.option("--json", "as_json", is_flag=True, help="List as JSON.")
@click.pass_obj
def review(
    obj: Invocation,
    accept: tuple[str, ...],
    reject: tuple[str, ...],
    undo: tuple[str, ...],
    reviewer: str | None,
    note: str,
    show_all: bool,
    as_json: bool,
) -> None:
    """List proposed matches per name string with their evidence, or record decisions."""
    from collectomics.linking.service import candidates_by_agent
    from collectomics.linking.service import review as record

    decisions = [(m, "accepted") for m in accept] + [(m, "rejected") for m in reject]
    decisions += [(m, "proposed") for m in undo]
    if decisions:
        if not reviewer:
            raise InputError(
                "say who decides with --reviewer (an ORCID iD or a name)", parameter="--reviewer"
            )
        with obj.open() as store:
            for match, decision in decisions:
                rec = record(store, obj.minter, match, decision, reviewer, note=note)
                click.echo(f"{decision}: {rec.agent_name} = {rec.target_label} <{rec.target}>")
            obj.refresh_facets(store)
        return
    statuses = ("proposed", "accepted", "rejected") if show_all else ("proposed",)
    with obj.open(read_only=True) as store:
        grouped = candidates_by_agent(store, obj.minter, statuses=statuses)
    if as_json:
        out = [
            {
                "agent": agent,
                "name": recs[0].agent_name,
                "candidates": [
                    {
                        "match": r.iri,
                        "target": r.target,
                        "label": r.target_label,
                        "description": r.description,
                        "score": r.confidence,
                        "status": r.status,
                        "decided_by": r.decided_by,
                        "attributed_to": r.attributed_to,
                        "conflict": r.conflict,
                        "rule": r.comment,
                        "features": [
                            {"name": f.name, "value": f.value, "note": f.note} for f in r.features
                        ],
                    }
                    for r in recs
                ],
            }
            for agent, recs in grouped.items()
        ]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for agent, recs in grouped.items():
        click.echo(f"{recs[0].agent_name}  <{agent}>")
        for r in recs:
            click.echo(
                f"  [{r.status} by {r.decided_by}] {r.confidence:.2f} {r.target_label} "
                f"({r.description}) <{r.target}>"
            )
            if r.conflict:
                click.echo(f"      CONFLICT with the publisher's identifier: {r.conflict}")
            click.echo(f"      match {r.iri}")
            for f in r.features:
                click.echo(f"      {f.name:>12} {f.value:.2f}  {f.note}")
    if not grouped:
        click.echo("nothing to review", err=True)


@main.command("export-links")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sssom", "quickstatements", "dwc-patch"]),
    required=True,
    help="sssom: a TSV of every match; quickstatements: V1 lines for Wikidata; dwc-patch: a "
    "folder with one CSV per dataset.",
)
@click.option(
    "--check-wikidata",
    is_flag=True,
    help="quickstatements: leave out identifiers the items already have, and any second value "
    "of a single-value property (asks Wikidata).",
)
@click.option(
    "--include-machine",
    is_flag=True,
    help="quickstatements, dwc-patch: add links only the matcher accepted, each one marked "
    "[default: only links a person or the publisher decided].",
)
@click.pass_obj
def export_links(
    obj: Invocation, out: Path, fmt: str, check_wikidata: bool, include_machine: bool
) -> None:
    """Write the identity matches as SSSOM, QuickStatements or per-dataset Darwin Core patches."""
    from collectomics.linking import export
    from collectomics.linking.service import now

    with obj.open(read_only=True) as store:
        records = export.all_matches(store, obj.minter)
        if fmt == "dwc-patch":
            patches = export.dwc_patches(
                store, obj.minter, records, include_machine=include_machine
            )
    if fmt == "sssom":
        with _open(out) as handle:
            n = export.write_sssom(records, obj.minter, handle)
        click.echo(f"{n} matches", err=True)
    elif fmt == "quickstatements":
        existing: dict[str, dict[str, set[str]]] = {}
        if check_wikidata:
            existing = _existing(obj, records)
        statements = export.quickstatements(
            records, existing, now(), include_machine=include_machine
        )
        with _open(out) as handle:
            handle.write("".join(line + "\n" for line in statements.lines))
        for why in statements.left_out:
            click.echo(f"left out: {why}", err=True)
        click.echo(
            f"{len(statements.lines)} statements ({statements.machine} machine-accepted, marked); "
            f"{len(statements.left_out)} left out",
            err=True,
        )
    else:
        out.mkdir(parents=True, exist_ok=True)
        for dataset, rows in sorted(patches.items()):
            path = out / f"{dataset.replace('/', '_')}.csv"
            with open(path, "w", encoding="utf-8", newline="") as handle:
                export.write_patch(rows, handle)
            machine = sum(bool(r.get("machineAccepted")) for r in rows)
            click.echo(
                f"{path}: {len(rows)} records ({machine} with machine-accepted links)", err=True
            )


def _existing(obj: Invocation, records: list[MatchRecord]) -> dict[str, dict[str, set[str]]]:
    from collectomics.linking.export import IDENTIFIER_PROPERTIES, SINGLE_VALUE
    from collectomics.linking.service import WIKIDATA
    from collectomics.linking.wikidata import _values

    http, wikidata, _ = _clients(obj, orcid=False)
    qids = sorted({r.target[len(WIKIDATA) :] for r in records if r.target.startswith(WIKIDATA)})
    out: dict[str, dict[str, set[str]]] = {}
    try:
        for qid, entity in wikidata.entities(qids).items():
            out[qid] = {
                p: {v for v in _values(entity, p) if isinstance(v, str)}
                for p in set(IDENTIFIER_PROPERTIES.values()) | SINGLE_VALUE
            }
    finally:
        http.close()
    return out


class _open:
    """A text file to write, or stdout for '-'."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> TextIO:
        if str(self.path) == "-":
            return sys.stdout
        try:
            self.handle = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=str(self.path)) from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if str(self.path) != "-":
            self.handle.close()
