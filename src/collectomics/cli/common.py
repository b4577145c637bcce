"""What every command module shares: the click group `main`, the `Invocation` every command gets, and the
translation of library errors into one line on stderr and an exit code.

The command modules (``cli/__init__.py`` and its siblings) import this one and register their commands on
`main`; nothing here imports them, so the imports go one way.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from collectomics import __version__
from collectomics.config import Settings, load_settings
from collectomics.errors import CollectomicsError
from collectomics.iri import Minter
from collectomics.store import Store, open_store


class Invocation:
    """What every command gets: the resolved settings and a way to open the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, *, read_only: bool = False) -> Store:
        return open_store(
            self.settings.store,
            read_only=read_only,
            update_url=self.settings.store_update_url,
            graph_store_url=self.settings.store_graph_store_url,
        )

    @property
    def minter(self) -> Minter:
        return Minter(self.settings.base_iri)

    def report_identity(self, store: Store) -> None:
        """After a change: say on stderr how identities resolve now (the library refreshed the
        identity graph; this refreshes it only if a change bypassed the library)."""
        from collectomics.analysis import identity

        report = identity.refresh(store, self.minter)
        line = report.summary() if report else identity.status(store, self.minter)
        click.echo(f"  {line}", err=True)

    def refresh_facets(self, store: Store) -> None:
        """After a change: :meth:`report_identity`, then rebuild the facets graph and its caches
        when they no longer match the data (setting ``materialise_after_load``), saying so on
        stderr."""
        self.report_identity(store)
        if not self.settings.materialise_after_load:
            return
        from collectomics.analysis.readers import facets_fresh
        from collectomics.services.materialise import materialise

        if facets_fresh(store, self.minter):
            return
        click.echo("materialising co-collection edges and facet counts ...", err=True)
        try:
            report = materialise(store, self.minter, speeds=self.settings.itinerary_speeds)
            click.echo(f"  {report.summary()}", err=True)
        except CollectomicsError as exc:  # the load itself went through: say so, go on
            click.echo(
                f"warning: the facets graph was not rebuilt ({exc}); readers use the data "
                "until `collectomics materialise` succeeds",
                err=True,
            )


def _fail(exc: CollectomicsError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


class _Group(click.Group):
    """Turns library errors into one clear line on stderr and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CollectomicsError as exc:
            _fail(exc)


@click.group(cls=_Group)
@click.option(
    "--store",
    metavar="PATH",
    help="Store directory, or a SPARQL server as sparql+http://HOST:PORT/query "
    "[env COLLECTOMICS_STORE; default ./collectomics.db].",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Settings file [default ./collectomics.toml if present].",
)
@click.option("--base-iri", metavar="IRI", help="Base of minted IRIs [env COLLECTOMICS_BASE_IRI].")
@click.version_option(__version__, prog_name="collectomics")
@click.pass_context
def main(
    ctx: click.Context, store: str | None, config_file: str | None, base_iri: str | None
) -> None:
    """Collectomics: museum collections and the people behind them as one linked graph."""
    try:
        settings = load_settings({"store": store, "base_iri": base_iri}, config_file=config_file)
    except CollectomicsError as exc:
        _fail(exc)
    ctx.obj = Invocation(settings)
