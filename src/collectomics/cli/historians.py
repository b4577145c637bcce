"""Commands for historians and curators: `infer` (date bounds and flags) and `flags` (CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from collectomics.cli.common import Invocation, main
from collectomics.errors import InputError


@main.command()
@click.option(
    "--working-age",
    type=int,
    metavar="YEARS",
    help="Youngest plausible age to collect, identify or write a label "
    "[setting working_age; default 10].",
)
@click.pass_obj
def infer(obj: Invocation, working_age: int | None) -> None:
    """Derive date bounds for undated specimens and flag records outside their agents' lives."""
    from collectomics.analysis.inference import infer as run_infer

    age = obj.settings.working_age if working_age is None else working_age
    with obj.open() as store:
        report = run_infer(store, obj.minter, working_age=age)
        obj.refresh_facets(store)
    click.echo(report.summary())


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    metavar="ID",
    required=True,
    help="The dataset whose specimens' flags are listed (`all` for every dataset).",
)
@click.pass_obj
def flags(obj: Invocation, out: Path, dataset: str) -> None:
    """Write the flags `infer` raised on a dataset's specimens to OUT as CSV (- for stdout).

    Refuses (exit 2, no file written) when no `infer` run has read the dataset as loaded now."""
    from collectomics.analysis.inference import check_flags, export_flags

    with obj.open(read_only=True) as store:
        for warning in check_flags(store, obj.minter, dataset):  # refuses before OUT is made
            click.echo(f"warning: {warning}", err=True)
        if str(out) == "-":
            count = export_flags(store, obj.minter, dataset, sys.stdout)
        else:
            try:
                handle = open(out, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror}", file=str(out)) from None
            with handle:
                count = export_flags(store, obj.minter, dataset, handle)
    click.echo(f"{count} flags", err=True)
