"""Commands for collector networks: `network` (GEXF, GraphML, CSV, JSON), `itinerary` (GeoJSON,
CSV, JSON) and `materialise` (co-collection edges and facet counts in their own graph)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from collectomics.cli.common import Invocation, main
from collectomics.errors import InputError

_NET_EXT = {".gexf": "gexf", ".graphml": "graphml", ".csv": "csv", ".json": "json"}
_IT_EXT = {".geojson": "geojson", ".csv": "csv", ".json": "json"}


def _format(out: Path, given: str | None, table: dict[str, str], default: str) -> str:
    if given:
        return given
    return table.get(out.suffix.lower(), default)


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["co-collector", "determiner", "institution"]),
    default="co-collector",
    show_default=True,
    help="Who is tied to whom: people on the same specimens, determiners to the collectors "
    "whose specimens they identified, or people to the institutions holding their specimens.",
)
@click.option("--dataset", metavar="ID", help="Only this dataset's specimens.")
@click.option("--person", metavar="IRI", help="Only this person's (or agent's) neighbourhood.")
@click.option(
    "--depth", type=click.IntRange(1, 2), default=1, show_default=True, help="Neighbourhood rings."
)
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=0,
    metavar="N",
    help="Keep at most N people per ring of the neighbourhood, the most strongly tied [0: all].",
)
@click.option("--decade", type=int, metavar="YEAR", help="Only specimens collected in this decade.")
@click.option("--from", "start", type=int, metavar="YEAR", help="Only specimens from this year on.")
@click.option("--to", "end", type=int, metavar="YEAR", help="Only specimens up to this year.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gexf", "graphml", "csv", "json"]),
    help="Output format [default: from OUT's extension, else gexf]; csv writes "
    "OUT-nodes.csv and OUT-edges.csv (Palladio).",
)
@click.pass_obj
def network(
    obj: Invocation,
    out: Path,
    kind: str,
    dataset: str | None,
    person: str | None,
    depth: int,
    limit: int,
    decade: int | None,
    start: int | None,
    end: int | None,
    fmt: str | None,
) -> None:
    """Write a collector network with its metrics to OUT (- for stdout) for Gephi or Palladio."""
    from collectomics.analysis.network import build_network, export, to_text
    from collectomics.services.queries import check_dataset, check_node

    fmt = _format(out, fmt, _NET_EXT, "gexf")
    if decade is not None and (start is not None or end is not None):
        raise InputError("give --decade or --from/--to, not both")
    with obj.open(read_only=True) as store:
        if dataset is not None:
            check_dataset(store, obj.minter, dataset, "--dataset")
        if person is not None:
            person = check_node(store, person, "--person")
        net = build_network(
            store,
            obj.minter,
            kind,
            dataset=dataset,
            person=person,
            depth=depth,
            limit=limit,
            decade=decade,
            start=start,
            end=end,
        )
    if str(out) == "-":
        click.echo(to_text(net, fmt))
    else:
        for path in export(net, fmt, out):
            click.echo(f"wrote {path}", err=True)
    g = net.graph
    click.echo(
        f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges ({kind}, from {net.source})",
        err=True,
    )


@main.command()
@click.argument("person")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default="-",
    show_default=True,
    help="Where to write (- for stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "csv", "json"]),
    help="GeoJSON (points and a line, for QGIS), CSV or JSON [default: from --out, else json].",
)
@click.option("--from", "start", type=int, metavar="YEAR", help="Only events from this year on.")
@click.option("--to", "end", type=int, metavar="YEAR", help="Only events up to this year.")
@click.option(
    "--annotate",
    is_flag=True,
    help="Also store the flags as annotations in the person's itinerary graph.",
)
@click.pass_obj
def itinerary(
    obj: Invocation,
    person: str,
    out: Path,
    fmt: str | None,
    start: int | None,
    end: int | None,
    annotate: bool,
) -> None:
    """A person's dated, placed collecting events in order, with implausible journeys flagged."""
    from collectomics.analysis.itinerary import itinerary as run
    from collectomics.analysis.itinerary import save_flags, to_geojson, to_json, write_csv
    from collectomics.services.queries import check_node

    fmt = _format(out, fmt, _IT_EXT, "json")
    with obj.open(read_only=not annotate) as store:
        person = check_node(store, person, "PERSON")
        it = run(
            store,
            person,
            speeds=obj.settings.itinerary_speeds,
            start=start,
            end=end,
            minter=obj.minter,
        )
        if annotate:
            save_flags(store, obj.minter, it)
    if fmt == "geojson":
        text = json.dumps(to_geojson(it), ensure_ascii=False, indent=1)
    elif fmt == "csv":
        buf = io.StringIO()
        write_csv(it, buf)
        text = buf.getvalue()
    else:
        text = to_json(it)
    if str(out) == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=str(out)) from None
    click.echo(
        f"{len(it.stops)} stops, {len(it.flags)} flags, {it.undated} undated specimens",
        err=True,
    )


@main.command()
@click.option(
    "--if-stale", is_flag=True, help="Do nothing when the facets graph matches the data already."
)
@click.pass_obj
def materialise(obj: Invocation, if_stale: bool) -> None:
    """Refresh the resolved identities, then rebuild co-collection edges and specimen facet
    counts in their own named graph."""
    from collectomics.analysis import identity
    from collectomics.analysis.readers import facets_fresh
    from collectomics.services.materialise import materialise as run

    with obj.open() as store:
        # recomputed unless --if-stale: a SPARQL Update changes a graph in place, keeping the
        # version that the freshness stamp reads
        ident = identity.refresh(store, obj.minter, force=not if_stale)
        click.echo(ident.summary() if ident else identity.status(store, obj.minter))
        if if_stale and facets_fresh(store, obj.minter):
            click.echo("the facets graph is up to date")
            return
        report = run(store, obj.minter, speeds=obj.settings.itinerary_speeds)
    click.echo(report.summary())
