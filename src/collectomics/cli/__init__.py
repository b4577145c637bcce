"""The ``collectomics`` command: thin click commands over the library.

Exit codes: 0 success; 1 validation found violations; 2 usage or input error.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from collectomics.cli import historians, linking, networks  # noqa: F401  (their commands join `main`)
from collectomics.cli.common import Invocation, main
from collectomics.config import Settings
from collectomics.errors import InputError
from collectomics.iri import Minter
from collectomics.store import RDF_FORMATS, RESULT_FORMATS, Store, is_remote, open_store
from collectomics.vocab import COL

DEMO_MARKER = ".collectomics-demo"
QUERY_FORMATS = list(RESULT_FORMATS) + [f for f in RDF_FORMATS if f != "rdfxml"] + ["rdfxml"]


class _Progress:
    """Records and records/s on stderr while ingesting, when stderr is a terminal (not in CI)."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            unit=" records",
            unit_scale=True,
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
        )

    def __call__(self, n: int) -> None:
        self.bar.update(n)

    def done(self) -> None:
        self.bar.close()


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    metavar="ID",
    help="Load all FILES as one dataset with this id "
    "[default: one dataset per file, named by its stem].",
)
@click.option("--replace", is_flag=True, help="Replace a dataset already in the store.")
@click.option(
    "--report",
    "report_file",
    metavar="FILE.json",
    type=click.Path(path_type=Path),
    help="Also write the full report (every problem) as JSON.",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="Read data files in this encoding (e.g. cp1250) whatever they declare.",
)
@click.option(
    "--validate",
    "check",
    is_flag=True,
    help="Validate each loaded dataset against the shapes and name the file, row and column "
    "behind each violation (exit 1 if any; the data stays loaded).",
)
@click.pass_obj
def ingest(
    obj: Invocation,
    files: tuple[Path, ...],
    dataset: str | None,
    replace: bool,
    report_file: Path | None,
    encoding: str | None,
    check: bool,
) -> None:
    """Load Darwin Core Archives, people/specimen CSV files or RDF files, one graph per dataset."""
    from collectomics.config import ReadLimits
    from collectomics.ingest.pipeline import IngestFailed, ingest_files

    progress = _Progress()
    failed: IngestFailed | None = None
    try:
        with obj.open() as store:
            try:
                reports = ingest_files(
                    store,
                    list(files),
                    minter=obj.minter,
                    dataset_id=dataset,
                    replace=replace,
                    on_record=progress,
                    encoding=encoding,
                    limits=ReadLimits.from_settings(obj.settings),
                )
            except IngestFailed as exc:  # what was committed before it is reported, then it
                failed, reports = exc, exc.committed
            progress.done()
            obj.refresh_facets(store)
            located = _validate_loaded(obj, store, reports, encoding) if check else None
    finally:
        progress.done()
    _show_reports(reports, [r.summary() for r in reports], report_file)
    if failed is not None:
        raise failed
    if located is not None:
        from collectomics.services.validation.locate import write_lines

        for report, found in located:
            violations = [x for x in found if x.result.severity == "Violation"]
            click.echo(
                f"validate {report.dataset}: "
                + (f"does not conform: {len(violations)} violations" if violations else "conforms")
                + (f", {n} other results" if (n := len(found) - len(violations)) else "")
            )
            write_lines(found, sys.stderr)
        if any(x.result.severity == "Violation" for _, found in located for x in found):
            sys.exit(1)


def _validate_loaded(obj: Invocation, store: Store, reports: list, encoding: str | None) -> list:
    """``ingest --validate``: each loaded dataset's graph validated, its results located."""
    from collectomics.config import ReadLimits
    from collectomics.services.validation import validate_store
    from collectomics.services.validation.locate import locate

    located = []
    for report in reports:
        if report.unchanged or report.graph not in store.graphs():
            continue
        found = validate_store(store, graph=report.graph).results
        limits = ReadLimits.from_settings(obj.settings)
        located.append(
            (report, locate(found, report, minter=obj.minter, encoding=encoding, limits=limits))
        )
    return located


def _show_reports(reports: list, summaries: list[str], report_file: Path | None) -> None:
    """Each report's summary and first 20 errors on the console; all of them as JSON in
    ``report_file`` when given (ingest and export --shards)."""
    for report, summary in zip(reports, summaries, strict=True):
        click.echo(summary)
        errors = [p for p in report.problems if p.severity == "error"]
        for problem in errors[:20]:
            click.echo(f"  {problem}", err=True)
        if len(errors) > 20:
            click.echo(f"  ... and {len(errors) - 20} more errors (see --report)", err=True)
    if report_file:
        try:
            report_file.write_text(
                json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False)
            )
        except OSError as exc:
            raise InputError(
                f"cannot write the report: {exc.strerror or exc}", file=str(report_file)
            ) from None


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--param")
        params[name.strip()] = value
    return params


@main.command()
@click.argument("query")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of a canned query, bound as a typed RDF term (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(QUERY_FORMATS),
    default=None,
    help="Output format [json for SELECT/ASK, turtle for CONSTRUCT/DESCRIBE].",
)
@click.pass_obj
def query(obj: Invocation, query: str, params: tuple[str, ...], fmt: str | None) -> None:
    """Run QUERY: a .rq file, a canned query name (see `collectomics queries`), or - for stdin."""
    from collectomics.services.queries import Lookup, get_query, parse_query

    if query == "-":
        canned = parse_query(sys.stdin.read(), "stdin")
    elif query.endswith((".rq", ".sparql")) or Path(query).is_file():
        path = Path(query)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read query file: {exc}", file=query) from None
        canned = parse_query(text, path.stem, str(path))
    else:
        canned = get_query(query, obj.settings.queries_dir or None)
    with obj.open(read_only=True) as store:
        bound = canned.bind(_parse_params(params), Lookup(store, obj.minter))
        result = store.query(canned.text, params=bound)
        fmt = fmt or ("turtle" if result.kind == "graph" else "json")
        result.serialize(fmt, sys.stdout.buffer)
    sys.stdout.flush()


def _export_dwcdp(obj: Invocation, out: Path, dataset: str | None, shards: int | None) -> None:
    """``export --format dwc-dp``: one library call, its counts and problems printed."""
    from collectomics.services.dwcdp_export import export_package

    if shards is not None:
        raise InputError("--format dwc-dp writes one package, not shards", parameter="--shards")
    if not dataset:
        raise InputError("--format dwc-dp needs --dataset ID", parameter="--dataset")
    with obj.open(read_only=True) as store:
        result = export_package(store, dataset, out, minter=obj.minter)
    rows = ", ".join(f"{name} {n}" for name, n in result.rows.items())
    click.echo(f"wrote {out}: {rows}", err=True)
    for problem in result.problems:
        click.echo(f"invalid: {problem}", err=True)
    if result.problems:
        sys.exit(1)


@main.command("queries")
@click.pass_obj
def queries_cmd(obj: Invocation) -> None:
    """List the canned queries with their parameters."""
    from collectomics.services.queries import list_queries

    for q in list_queries(obj.settings.queries_dir or None):
        click.echo(f"{q.name}: {q.title}")
        for p in q.parameters:
            default = f" = {p.default}" if p.default is not None else ""
            kind = "|".join(p.choices) or p.type
            click.echo(f"    --param {p.name}=<{kind}>{default}  {p.help}")


@main.command()
@click.option("--graph", metavar="IRI", help="Validate one named graph only.")
@click.option(
    "--dataset", metavar="ID", help="Validate one dataset only (its graph, as ingest named it)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Report format."
)
@click.pass_obj
def validate(obj: Invocation, graph: str | None, dataset: str | None, fmt: str) -> None:
    """Check the graph against the SHACL shapes, one query per constraint in the store.
    Exit 0 conforms, 1 violations, 2 error."""
    from collectomics.services.validation import validate_store

    if graph and dataset:
        raise InputError("give --graph or --dataset, not both", parameter="--dataset")
    if dataset:
        graph = obj.minter.graph(dataset)
    with obj.open(read_only=True) as store:
        if graph and graph not in store.graphs():
            what = f"no dataset {dataset!r}" if dataset else f"no named graph {graph!r}"
            raise InputError(
                f"{what} in the store", parameter="--dataset" if dataset else "--graph"
            )
        report = validate_store(store, graph=graph, progress=_ValidationProgress())
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.conforms else 1)


class _ValidationProgress:
    """One line on stderr, rewritten after each constraint, when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()

    def __call__(self, done: int, total: int, check: Any, results: int) -> None:
        if not self.live:
            return
        line = f"validating: {done}/{total} constraints, {results} results ({check.label})"
        end = "\n" if done == total else ""
        click.echo(f"\r{line[: shutil.get_terminal_size().columns - 1]}\x1b[K", err=True, nl=False)
        if end:
            click.echo("", err=True)


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["nquads", "trig", "turtle", "ntriples", "jsonld", "dwc-dp"]),
    default=None,
    help="N-Quads (default) and TriG keep the named graphs; the others merge them. dwc-dp: "
    "the --dataset as a Darwin Core Data Package in the folder OUT (docs/dwc-dp.md).",
)
@click.option(
    "--shards",
    type=int,
    metavar="N",
    help="Write N N-Quads files OUT/part-00000.nq ... for a triplestore's own bulk loader: "
    "the --from archives, mapped by N worker processes, else the store's dump.",
)
@click.option(
    "--from",
    "sources",
    multiple=True,
    metavar="ARCHIVE",
    type=click.Path(path_type=Path),
    help="A Darwin Core Archive (or Darwin Core CSV) to map with --shards (repeatable).",
)
@click.option(
    "--dataset",
    metavar="ID",
    help="With --shards: map all --from files as one dataset with this id "
    "[default: one dataset per file, as ingest names it]. With --format dwc-dp: the dataset "
    "to write.",
)
@click.option(
    "--report",
    "report_file",
    metavar="FILE.json",
    type=click.Path(path_type=Path),
    help="With --shards: also write the full report (every problem) as JSON.",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="With --shards: read data files in this encoding whatever they declare.",
)
@click.option("--force", is_flag=True, help="With --shards: replace the shards in a non-empty OUT.")
@click.option(
    "--engine",
    type=click.Choice(["dask", "processes"]),
    help="With --from: map on dask.distributed (the [scale] extra) or on collectomics' own "
    "process pool [default: dask when installed].",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --from: map on the workers of this running Dask scheduler (tcp://host:8786), "
    "one shard each; they must see OUT at the same path [default: a local cluster of N].",
)
@click.option(
    "--compress",
    type=click.Choice(["none", "gzip"]),
    help="With --shards: gzip each shard (gzip -1) as OUT/part-00000.nq.gz ..., which "
    "triplestore loaders and `load` read as they are [default: none].",
)
@click.pass_obj
def export(
    obj: Invocation,
    out: Path,
    fmt: str | None,
    shards: int | None,
    sources: tuple[Path, ...],
    dataset: str | None,
    report_file: Path | None,
    encoding: str | None,
    force: bool,
    engine: str | None,
    scheduler: str | None,
    compress: str | None,
) -> None:
    """Write the whole store to OUT (- for stdout), or N-Quads shards of archives or the store,
    or one dataset as a Darwin Core Data Package."""
    if fmt == "dwc-dp":
        _export_dwcdp(obj, out, dataset, shards)
        return
    if shards is None:
        for given, name in (
            (sources, "--from"),
            (dataset, "--dataset"),
            (report_file, "--report"),
            (encoding, "--encoding"),
            (force, "--force"),
            (engine, "--engine"),
            (scheduler, "--scheduler"),
            (compress, "--compress"),
        ):
            if given:
                raise InputError(f"{name} goes with --shards N", parameter=name)
        with obj.open(read_only=True) as store:
            if str(out) == "-":
                store.dump(sys.stdout.buffer, fmt or "nquads")
            else:
                store.dump(str(out), fmt or "nquads")
                click.echo(f"wrote {out}", err=True)
        return
    from collectomics.config import ReadLimits
    from collectomics.ingest.shards import check_shards, export_shards, shard_dump

    check_shards(shards)
    if fmt not in (None, "nquads"):
        raise InputError("--shards writes N-Quads only", parameter="--format")
    if str(out) == "-":
        raise InputError("--shards writes files into a folder, not to stdout", parameter="OUT")
    if not sources:
        for given, name in (
            (dataset, "--dataset"),
            (report_file, "--report"),
            (encoding, "--encoding"),
            (engine, "--engine"),
            (scheduler, "--scheduler"),
        ):
            if given:
                raise InputError(f"{name} goes with --from ARCHIVE", parameter=name)
        with obj.open(read_only=True) as store:
            quads, files = shard_dump(store.dump, out, shards, force=force, compress=compress)
        click.echo(f"wrote {quads} quads of the store to {len(files)} shards in {out}", err=True)
        return
    progress = _Progress()
    try:
        reports, files = export_shards(
            list(sources),
            out,
            shards,
            minter=obj.minter,
            dataset_id=dataset,
            force=force,
            on_record=progress,
            encoding=encoding,
            limits=ReadLimits.from_settings(obj.settings),
            engine=engine,
            scheduler=scheduler,
            compress=compress,
        )
    finally:
        progress.done()
    _show_reports(reports, [r.summary(shards) for r in reports], report_file)
    click.echo(f"wrote {len(files)} shards to {out}", err=True)


class _LoadProgress:
    """Bytes staged, then files loaded, on stderr when it is a terminal."""

    def __init__(self) -> None:
        self.step = ""
        self.bar: Any = None

    def __call__(self, step: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if step != self.step:
            self.done()
            self.step = step
            self.bar = tqdm(
                desc="staging shards" if step == "stage" else "loading",
                total=total,
                unit="B" if step == "stage" else " files",
                unit_scale=step == "stage",
                disable=not sys.stderr.isatty(),
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        self.bar.update(done - self.bar.n)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@main.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="Replace graphs already in the store.")
@click.option(
    "--loader",
    type=click.Choice(["graph-store", "virtuoso"]),
    help="How to load into a remote store [setting store_bulk_loader; default graph-store].",
)
@click.option(
    "--oxigraph-location",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Instead of the store, load into the data directory of an Oxigraph server that is "
    "not running (what `oxigraph serve --location DIR` then serves).",
)
@click.pass_obj
def load(
    obj: Invocation,
    shards: tuple[Path, ...],
    replace: bool,
    loader: str | None,
    oxigraph_location: Path | None,
) -> None:
    """Load N-Quads shards of `export --shards` (files, or folders of part-*.nq or
    part-*.nq.gz; gzipped files are read as they are), replacing
    the graphs they hold at once; into a remote store with the server's own bulk loader."""
    from collectomics.store.bulkload import build_oxigraph_location, load_with_settings

    progress = _LoadProgress()
    try:
        if oxigraph_location is not None:
            bulk_dir = obj.settings.store_bulk_dir
            counts = build_oxigraph_location(
                oxigraph_location,
                list(shards),
                replace=replace,
                stage_dir=Path(bulk_dir) if bulk_dir else None,
                on_progress=progress,
            )
        else:
            with obj.open() as store:
                counts = load_with_settings(
                    store,
                    list(shards),
                    obj.settings,
                    loader=loader,
                    replace=replace,
                    on_progress=progress,
                )
                progress.done()
                obj.refresh_facets(store)
    finally:
        progress.done()
    for graph, triples in sorted(counts.items()):
        click.echo(f"loaded {graph}: {triples} triples")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.pass_obj
def backup(obj: Invocation, path: Path, force: bool) -> None:
    """Back up the whole store (datasets, links, reviews, inferences) to PATH (.nq.gz)."""
    from collectomics.store.backup import backup as run_backup

    with obj.open(read_only=True) as store:  # one consistent snapshot while writers go on
        manifest = run_backup(store, path, overwrite=force)
    click.echo(
        f"backed up {manifest.quads} quads in {len(manifest.graphs)} graphs to {path}", err=True
    )


@main.command()
@click.argument("dump", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["nquads", "trig"]),
    default=None,
    help="Format of a plain dump [from the file extension]; a backup is recognised as such.",
)
@click.option("--check", is_flag=True, help="Only verify a backup; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store's content.")
@click.pass_obj
def restore(obj: Invocation, dump: Path, fmt: str | None, check: bool, yes: bool) -> None:
    """Replace the whole store with a backup made by `backup`, or a dump made by `export`."""
    from collectomics.analysis import identity
    from collectomics.store.backup import is_backup, verify
    from collectomics.store.backup import restore as run_restore

    backup_file = is_backup(dump) and fmt is None
    if check:
        if not backup_file:
            raise InputError("--check verifies backups made by `backup` (.nq.gz)", file=str(dump))
        click.echo(f"{dump}: complete; {verify(dump).summary()}")
        return
    if backup_file:
        verify(dump)  # before asking: a damaged backup is refused at once
    if not yes and sys.stdin.isatty():
        click.confirm(f"Replace everything in {obj.settings.store}?", abort=True)
    with obj.open() as store:
        if backup_file:
            run_restore(store, dump)
            identity.refresh(store, obj.minter)  # derived from the restored graphs
        else:
            store.restore(dump, fmt or ("trig" if dump.suffix.lower() == ".trig" else "nquads"))
        click.echo(f"restored {store.count()} quads in {len(store.graphs())} graphs", err=True)
        obj.report_identity(store)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def stats(obj: Invocation, as_json: bool) -> None:
    """Count datasets, triples, specimens, people, documents, media and identity links, and the
    specimen records of each dataset (what its ingest report counts)."""
    from collectomics.analysis.stats import dataset_records, graph_stats, outdated_datasets

    with obj.open(read_only=True) as store:
        counts = graph_stats(store, obj.minter).to_dict()
        records = dataset_records(store, obj.minter)
        graphs = store.graphs()
        outdated = outdated_datasets(store)
    _warn_outdated(outdated)
    if as_json:
        click.echo(
            json.dumps(
                {**counts, "records": records, "graphs": graphs, "outdated": outdated}, indent=2
            )
        )
        return
    for key, value in counts.items():
        click.echo(f"{key.replace('_', ' '):>20}: {value:,}")
    for g in graphs:
        click.echo(f"{'graph':>20}: {g}" + (f" ({records[g]:,} records)" if g in records else ""))


def _warn_outdated(outdated: dict[str, str | None]) -> None:
    """One warning line per dataset mapped to an older graph shape than this version reads."""
    for node, shape in sorted(outdated.items()):
        click.echo(
            f"warning: dataset <{node}> was mapped by an older version of collectomics "
            f"(graph shape {shape or 'before 0.2.0'}; this version reads {COL.VERSION}): pages "
            "and queries may miss what changed; load its files again with `ingest --replace`",
            err=True,
        )


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    from collectomics.services.reconcile.index import prepare

    settings = settings.replace(host=host, port=port)
    if not is_remote(settings.store):
        prepare(settings.store, settings.base_iri)  # the shared reconciliation index, if stale
        from collectomics.analysis.stats import outdated_datasets

        with open_store(settings.store, read_only=True) as store:
            _warn_outdated(outdated_datasets(store))
    url = f"http://{settings.host}:{settings.port}/"
    message = f"Serving {settings.store} at {url} (SPARQL endpoint: {url}sparql). Ctrl-C stops."
    if sys.platform.startswith("linux"):
        # HTTP worker processes that run queries themselves (collectomics.web.server)
        from collectomics.web.server import serve_prefork

        serve_prefork(settings, announce=lambda: click.echo(message, err=True))
        return
    from waitress import serve as waitress_serve

    from collectomics.web import create_app

    app = create_app(settings)
    click.echo(message, err=True)
    try:
        waitress_serve(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            ident="collectomics",
            max_request_body_size=settings.max_request_bytes,
            max_request_header_size=max(262144, settings.max_request_bytes + 65536),
            _quiet=True,
        )
    finally:
        app.extensions["collectomics"].runner.close()  # stop the query worker processes


@main.command()
@click.option("--host", help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, help="Port [default 8000].")
@click.pass_obj
def serve(obj: Invocation, host: str | None, port: int | None) -> None:
    """Serve the store over HTTP: SPARQL at /sparql, canned queries at /queries."""
    _serve(obj.settings, host, port)


@main.command()
@click.option("--host", help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, help="Port [default 8000].")
@click.option("--build-only", is_flag=True, help="Build the demo store and stop; do not serve.")
@click.pass_context
def demo(ctx: click.Context, host: str | None, port: int | None, build_only: bool) -> None:
    """Build the bundled demo graph into a fresh store and serve it."""
    from collectomics.analysis import identity
    from collectomics.ingest.demo import build_demo

    obj: Invocation = ctx.obj
    settings = obj.settings
    # The demo gets its own store unless --store/COLLECTOMICS_STORE/the config names one.
    path = Path(settings.store if settings.sources["store"] != "default" else settings.demo_store)
    if path.exists():
        if not (path / DEMO_MARKER).exists():
            raise InputError(
                f"{path} exists and is not a demo store; choose another --store",
                parameter="--store",
            )
        shutil.rmtree(path)
    settings = settings.replace(store=str(path))
    with open_store(str(path)) as store:
        for report in build_demo(store, Minter(settings.base_iri)):
            click.echo(report.summary(), err=True)
        click.echo(identity.status(store, Minter(settings.base_iri)), err=True)
        obj.refresh_facets(store)  # the count-by-* queries read the facets graph
    (path / DEMO_MARKER).write_text("built by `collectomics demo`; rebuilt on every run\n")
    click.echo(f"Demo graph built in {path}", err=True)
    if not build_only:
        _serve(settings, host, port)
