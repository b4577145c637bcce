"""`collectomics load`: N-Quads shards of `export --shards` loaded with a server's own bulk loader
(Virtuoso's `ld_add` + `rdf_loader_run()`, an Oxigraph server's store built offline) or through
the store's own path, each replacing a dataset atomically, against real servers on 127.0.0.1;
and the staged N-Triples, what QLever's index builder reads, checked on every real archive."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import pyoxigraph as ox
import pytest
import requests

from collectomics.errors import CollectomicsError, InputError, StoreError
from collectomics.ingest import ingest_files
from collectomics.ingest.shards import export_shards
from collectomics.iri import Minter
from collectomics.store import CATALOG, OxigraphStore, Store
from collectomics.store.bulkload import (
    VirtuosoLoader,
    build_oxigraph_location,
    load_shards,
    shard_files,
    stage_shards,
)
from helpers import REAL, REAL_ARCHIVES, run_cli
from remote_servers import Server, lease, start_oxigraph

#: Two real downloads loaded in turn as one dataset: the first version, then its replacement.
ARCHIVES = {
    "a": REAL / "rgbif-gbif-downloads" / "0000066-140928181241064.zip",
    "b": REAL / "finch-gbif-download-2015" / "0000154-150116162929234.zip",
}
DATASET = "bulk"
GRAPH = Minter().graph(DATASET)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@dataclass
class Version:
    """One version of the dataset: its shards, and what `ingest` loads from the same archive."""

    shards: Path
    triples: int
    quads: set[str]


def _quads(store: Store, graph: str) -> set[str]:
    """The current version of ``graph`` as a set of N-Triples lines, parsed and written by
    pyoxigraph (so the servers' own spelling of a term does not matter)."""
    out = Path(_tmp_dump(store))
    try:
        quads = ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS)
        return {str(q.triple) for q in quads if q.graph_name == ox.NamedNode(graph)}
    finally:
        out.unlink()


def _tmp_dump(store: Store) -> str:
    handle, name = tempfile.mkstemp(suffix=".nq")
    with open(handle, "wb") as out:
        store.dump(out, "nquads")
    return name


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Version]:
    found = {}
    for name, archive in ARCHIVES.items():
        out = tmp_path_factory.mktemp(f"shards-{name}")
        shutil.rmtree(out)
        _, files = export_shards(
            [archive], out, 2, minter=Minter(), dataset_id=DATASET, engine="processes"
        )
        assert len(files) == 2 and all(f.stat().st_size for f in files)
        with OxigraphStore() as store:
            ingest_files(store, [archive], minter=Minter(), dataset_id=DATASET)
            found[name] = Version(out, store.count(GRAPH), _quads(store, GRAPH))
    assert found["a"].triples != found["b"].triples  # so that a count tells them apart
    return found


def _broken(version: Version, tmp_path: Path) -> Path:
    """A copy of ``version``'s shards whose second shard ends in a line with a syntax error."""
    copy = tmp_path / "broken-shards"
    shutil.copytree(version.shards, copy)
    with (copy / "part-00001.nq").open("ab") as out:
        out.write(f'<https://ex.org/s> <https://ex.org/p> "never closed <{GRAPH}> .\n'.encode())
    return copy


def _staging_left(folder: Path) -> list[Path]:
    return sorted(folder.glob(".collectomics-load-*"))


# -- Virtuoso's bulk loader ---------------------------------------------------------------------


@pytest.fixture
def virtuoso(request: pytest.FixtureRequest) -> Server:
    return lease(request, "virtuoso")


def _loader(server: Server, **kwargs: object) -> VirtuosoLoader:
    return VirtuosoLoader(server.sql, user="dba", password="dba", **kwargs)  # type: ignore[arg-type]


def _waiting_in_load_list(loader: VirtuosoLoader) -> int:
    rows = loader.run(
        "select count(*) from DB.DBA.load_list where ll_file like '%.collectomics-load-%';"
    )
    return int(rows[0])


def test_virtuoso_bulk_load_replaces_a_dataset_atomically(
    virtuoso: Server, versions: dict[str, Version]
) -> None:
    """The first version loads with Virtuoso's own loader (two loader sessions) to the count
    ingest gives; the second goes into a new physical graph that no query sees until every
    file is in, then replaces the first at once."""
    a, b = versions["a"], versions["b"]
    store = virtuoso.store()
    loader = _loader(virtuoso, loaders=2)
    counts = load_shards(
        store, [a.shards], loader="virtuoso", virtuoso=loader, stage_dir=virtuoso.bulk_dir
    )
    assert counts == {GRAPH: a.triples}
    reader = virtuoso.store(read_only=True, catalog_ttl=0)
    assert reader.count(GRAPH) == a.triples and reader.physical_graph(GRAPH) == GRAPH

    seen: list[tuple[int, int, int, str | None, bool]] = []

    def during(step: str, done: int, total: int) -> None:
        if step == "load":  # the loader's sessions have run; the catalog is not switched yet
            on_server = GRAPH + "/v2" in virtuoso.graphs()
            seen.append((done, total, reader.count(GRAPH), reader.physical_graph(GRAPH), on_server))

    loader.on_progress = during
    counts = load_shards(
        store,
        [b.shards],
        loader="virtuoso",
        virtuoso=loader,
        replace=True,
        stage_dir=virtuoso.bulk_dir,
        on_progress=during,
    )
    assert seen and seen[-1][0] == seen[-1][1] == 2  # called once every file was in
    assert all(count == a.triples and physical == GRAPH for _, _, count, physical, _ in seen)
    assert seen[-1][4], "the new version was not on the server while the old one was current"
    assert counts == {GRAPH: b.triples}
    assert reader.count(GRAPH) == b.triples and reader.physical_graph(GRAPH) == GRAPH + "/v2"
    assert reader.count() == b.triples  # the first version is not in the dataset any more
    store.close()  # drops the replaced version once readers cannot name it
    assert GRAPH not in virtuoso.graphs() and GRAPH + "/v2" in virtuoso.graphs()
    assert _staging_left(virtuoso.bulk_dir) == []  # type: ignore[arg-type]
    assert _waiting_in_load_list(loader) == 0


def test_virtuoso_failing_shard_keeps_the_old_version(
    virtuoso: Server, versions: dict[str, Version], tmp_path: Path
) -> None:
    """A shard the loader cannot parse: one error naming the shard with the loader's message
    and line; the old version stays current and nothing of the new one stays on the server."""
    a, b = versions["a"], versions["b"]
    store = virtuoso.store()
    loader = _loader(virtuoso)
    load_shards(store, [a.shards], loader="virtuoso", virtuoso=loader, stage_dir=virtuoso.bulk_dir)
    before = virtuoso.graphs()
    broken = _broken(b, tmp_path)
    with pytest.raises(StoreError) as failure:
        load_shards(
            store,
            [broken],
            loader="virtuoso",
            virtuoso=loader,
            replace=True,
            stage_dir=virtuoso.bulk_dir,
        )
    message = str(failure.value)
    assert f"file {broken / 'part-00001.nq'}" in message
    assert "Virtuoso's bulk loader failed" in message and "TURTLE RDF loader, line" in message
    lines = (broken / "part-00001.nq").read_bytes().count(b"\n")
    assert f"line {lines}" in message or f"line {lines + 1}" in message  # at the broken line
    assert store.count(GRAPH) == a.triples and store.physical_graph(GRAPH) == GRAPH
    assert virtuoso.store(read_only=True).count(GRAPH) == a.triples
    assert virtuoso.graphs() == before
    assert _staging_left(virtuoso.bulk_dir) == []  # type: ignore[arg-type]
    assert _waiting_in_load_list(loader) == 0

    # a staging folder the server may not read (not in DirsAllowed; Virtuoso 7.2 lets its
    # loader read /tmp whatever DirsAllowed says, so the folder is in /var/tmp): said so, and
    # nothing changes
    denied_dir = Path(tempfile.mkdtemp(prefix="collectomics-test-", dir="/var/tmp"))
    try:
        with pytest.raises(StoreError, match="DirsAllowed") as denied:
            load_shards(
                store,
                [b.shards],
                loader="virtuoso",
                virtuoso=loader,
                replace=True,
                stage_dir=denied_dir,
            )
        assert _staging_left(denied_dir) == []
    finally:
        shutil.rmtree(denied_dir)
    assert "part-0000" in str(denied.value) and "Access to" in str(denied.value)
    assert store.count(GRAPH) == a.triples and virtuoso.graphs() == before
    store.close()


def test_virtuoso_loads_a_thousand_shards(virtuoso: Server, tmp_path: Path) -> None:
    """A thousand shards: more ld_add statements than isql takes in one ``exec=`` argument
    (200 of them were cut short): sent on its standard input, in batches, and the files found
    again in the load list by their folder."""
    shards = tmp_path / ("long-folder-name-" * 4) / "shards"
    shards.mkdir(parents=True)
    for i in range(1000):
        line = f'<https://ex.org/s{i}> <https://ex.org/p> "{i}" <{GRAPH}> .\n'
        (shards / f"part-{i:05d}.nq").write_text(line)
    store = virtuoso.store()
    loader = _loader(virtuoso, loaders=2)
    counts = load_shards(
        store, [shards], loader="virtuoso", virtuoso=loader, stage_dir=virtuoso.bulk_dir
    )
    assert counts == {GRAPH: 1000}
    assert _waiting_in_load_list(loader) == 0
    store.close()


def test_virtuoso_bad_login_is_one_clear_error(
    virtuoso: Server, versions: dict[str, Version]
) -> None:
    store = virtuoso.store()
    wrong = VirtuosoLoader(virtuoso.sql, user="dba", password="not-the-password")
    with pytest.raises(StoreError, match="cannot log in to Virtuoso's SQL port"):
        load_shards(store, [versions["a"].shards], loader="virtuoso", virtuoso=wrong)
    assert store.graphs() == []


def test_cli_load_with_virtuosos_loader(
    virtuoso: Server, versions: dict[str, Version], tmp_path: Path
) -> None:
    env = virtuoso.bulk_env()
    a, b = versions["a"], versions["b"]
    done = run_cli("load", str(a.shards), env=env)
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {a.triples} triples" in done.stdout
    again = run_cli("load", str(b.shards), env=env)
    assert again.returncode == 2 and "--replace" in again.stderr
    broken = run_cli("load", "--replace", str(_broken(b, tmp_path)), env=env)
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr
    assert [line for line in broken.stderr.splitlines() if line.startswith("error:")] == [
        line for line in broken.stderr.splitlines() if line.strip()
    ]  # one line
    assert "part-00001.nq" in broken.stderr and "bulk loader failed" in broken.stderr
    # the first version is still current (its physical graph is the dataset's own name)
    count = run_cli(
        "query",
        "-",
        input=f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}",
        env=env,
    )
    assert count.returncode == 0, count.stderr
    assert f'"value":"{a.triples}"' in count.stdout
    done = run_cli("load", "--replace", str(b.shards), env=env)
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {b.triples} triples" in done.stdout
    assert virtuoso.store().count(GRAPH) == b.triples


# -- an Oxigraph server's store, built offline ---------------------------------------------------


def test_oxigraph_server_store_built_offline(versions: dict[str, Version], tmp_path: Path) -> None:
    """Shards loaded into the data directory of an Oxigraph server that is not running: once
    it serves that directory, the remote store (and so `query`) sees the dataset as ingest
    loads it; a replace works the same way, a broken shard leaves the old version, and a
    running server's store is refused."""
    a, b = versions["a"], versions["b"]
    workdir = tmp_path / "oxigraph"
    location = workdir / "db"  # what start_oxigraph serves
    assert build_oxigraph_location(location, [a.shards]) == {GRAPH: a.triples}
    server = start_oxigraph(workdir)
    try:
        store = server.store()
        assert store.graphs() == [GRAPH]
        assert store.count() == a.triples and _quads(store, GRAPH) == a.quads
        answer = run_cli("query", "-", input=COUNT, env=server.env())
        assert answer.returncode == 0 and str(a.triples) in answer.stdout, answer.stderr
        with pytest.raises(StoreError, match="stop `oxigraph serve` first"):
            build_oxigraph_location(location, [b.shards], replace=True)
        store.close()
    finally:
        server._halt()
    with pytest.raises(StoreError, match="--replace"):
        build_oxigraph_location(location, [b.shards])
    with pytest.raises(StoreError) as failure:
        build_oxigraph_location(location, [_broken(b, tmp_path)], replace=True)
    assert "part-00001.nq" in str(failure.value) and "line" in str(failure.value)
    done = run_cli("load", "--oxigraph-location", str(location), "--replace", str(b.shards))
    assert done.returncode == 0, done.stderr
    assert f"loaded {GRAPH}: {b.triples} triples" in done.stdout
    server.restart()
    try:
        store = server.store()
        assert store.physical_graph(GRAPH) == GRAPH + "/v2"
        assert store.count() == b.triples and _quads(store, GRAPH) == b.quads
        assert server.graphs() == {GRAPH + "/v2", CATALOG}  # the first version is gone
        store.close()
    finally:
        server.stop()


def test_oxigraph_failure_keeps_the_old_version(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    a, b = versions["a"], versions["b"]
    workdir = tmp_path / "oxigraph"
    build_oxigraph_location(workdir / "db", [a.shards])
    with pytest.raises(StoreError, match="part-00001.nq"):
        build_oxigraph_location(workdir / "db", [_broken(b, tmp_path)], replace=True)
    assert _staging_left(b.shards) == [] and _staging_left(tmp_path) == []
    server = start_oxigraph(workdir)
    try:
        store = server.store()
        assert store.physical_graph(GRAPH) == GRAPH and store.count() == a.triples
        assert server.graphs() == {GRAPH, CATALOG}  # nothing of the failed load
        store.close()
    finally:
        server.stop()


# -- the store's own path: Graph Store POSTs, pyoxigraph's bulk_load ----------------------------


def test_graph_store_path_on_each_server(
    remote_server: Server, versions: dict[str, Version], tmp_path: Path
) -> None:
    a, b = versions["a"], versions["b"]
    store = remote_server.store()
    assert load_shards(store, [a.shards / "part-00000.nq", a.shards / "part-00001.nq"]) == {
        GRAPH: a.triples
    }
    with pytest.raises(StoreError) as failure:
        load_shards(store, [_broken(b, tmp_path)], replace=True)
    assert "part-00001.nq" in str(failure.value)
    assert store.count(GRAPH) == a.triples and store.physical_graph(GRAPH) == GRAPH
    assert load_shards(store, [b.shards], replace=True) == {GRAPH: b.triples}
    if remote_server.kind == "oxigraph-server":  # Virtuoso rewrites some literals' lexical forms
        assert _quads(store, GRAPH) == b.quads
    store.close()


def test_embedded_store(versions: dict[str, Version], tmp_path: Path) -> None:
    a, b = versions["a"], versions["b"]
    with OxigraphStore(tmp_path / "store") as store:
        assert load_shards(store, [a.shards]) == {GRAPH: a.triples}
        assert _quads(store, GRAPH) == a.quads
        with pytest.raises(InputError, match="--replace"):
            load_shards(store, [b.shards])
        with pytest.raises(StoreError, match="part-00001.nq"):
            load_shards(store, [_broken(b, tmp_path)], replace=True)
        assert _quads(store, GRAPH) == a.quads
        load_shards(store, [b.shards], replace=True)
        assert _quads(store, GRAPH) == b.quads and store.graphs() == [GRAPH]


def test_bad_inputs(tmp_path: Path, versions: dict[str, Version]) -> None:
    with pytest.raises(InputError, match="no such file"):
        shard_files([tmp_path / "nope"])
    with pytest.raises(InputError, match="no shards"):
        shard_files([tmp_path])
    loose = tmp_path / "loose.nq"
    loose.write_text(
        '<https://ex.org/a> <https://ex.org/p> "x" <https://ex.org/g> .\n'
        '<https://ex.org/a> <https://ex.org/p> "in no graph" .\n'
    )
    with pytest.raises(InputError, match="outside any named graph") as failure:
        load_shards(OxigraphStore(), [loose])
    assert failure.value.file == str(loose) and failure.value.row == 2
    with pytest.raises(InputError, match="store_bulk_loader"):
        load_shards(OxigraphStore(), [versions["a"].shards], loader="fast")
    with pytest.raises(InputError, match="Virtuoso server"):
        load_shards(OxigraphStore(), [versions["a"].shards], loader="virtuoso")
    assert _staging_left(tmp_path) == []


# -- the staged N-Triples: what QLever's index builder reads -------------------------------------


def _triples_by_graph(files: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in files:
        for q in ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS):
            assert isinstance(q.graph_name, ox.NamedNode)
            found.setdefault(q.graph_name.value, set()).add(str(q.triple))
    return found


@pytest.mark.parametrize("archive", REAL_ARCHIVES)
def test_staged_ntriples_are_the_shards_one_triple_a_line(archive: str, tmp_path: Path) -> None:
    """On every real archive: the N-Triples files staged from its shards (what Virtuoso's
    loader reads, and what QLever's index builder reads as `nt` input, one file per graph)
    hold one valid triple per line (strict parsing: IRIs checked), no graph term, and
    together exactly the triples of each graph of the shards."""
    out = tmp_path / "shards"
    _, files = export_shards([REAL / archive], out, 2, minter=Minter(), engine="processes")
    staged = stage_shards(files, tmp_path / "staged")
    expected = _triples_by_graph(files)
    assert set(staged.parts) == set(expected)
    for graph, parts in staged.parts.items():
        got: set[str] = set()
        for part in parts:
            lines = part.read_bytes().splitlines()
            triples = list(ox.parse(path=str(part), format=ox.RdfFormat.N_TRIPLES))
            assert len(triples) == len(lines), f"{part}: not one triple a line"
            quads = ox.parse(path=str(part), format=ox.RdfFormat.N_QUADS)
            assert all(q.graph_name == ox.DefaultGraph() for q in quads)
            got.update(str(t) for t in triples)
        assert got == expected[graph], graph
        assert staged.triples[graph] >= len(got)
    assert sum(staged.triples.values()) == sum(f.read_bytes().count(b"\n") for f in files)


def test_staging_a_shard_of_many_graphs(tmp_path: Path) -> None:
    """A shard whose lines mix graphs (a store's dump dealt by `export --shards`), with blank
    nodes: parsed and split by graph, blank node labels kept within the file."""
    lines = []
    for i in range(3000):
        graph = f"https://ex.org/g{i % 3}"
        lines.append(f'<https://ex.org/s{i}> <https://ex.org/p> "v{i}" <{graph}> .\n')
    lines.append("_:b1 <https://ex.org/p> _:b2 <https://ex.org/g0> .\n")
    lines.append('_:b2 <https://ex.org/p> "end" <https://ex.org/g0> .\n')
    shard = tmp_path / "part-00000.nq"
    shard.write_text("".join(lines))
    with OxigraphStore() as store:
        counts = load_shards(store, [shard])
        assert counts == {
            "https://ex.org/g0": 1002,
            "https://ex.org/g1": 1000,
            "https://ex.org/g2": 1000,
        }
        rows = list(
            store.query(
                'SELECT ?o WHERE { ?a <https://ex.org/p> ?b . ?b <https://ex.org/p> "end" }'
            ).rows()
        )
        assert len(rows) == 1  # _:b2 is one node in both of its triples


def test_remote_reads_are_plain_sparql_protocol(remote_server: Server) -> None:
    """What QLever's endpoint needs of a client, as our remote store sends it to the servers
    we can run: queries as form-encoded POSTs (SPARQL 1.1 Protocol, section 2.1.2) naming
    their dataset with default-graph-uri / named-graph-uri, asking for a standard results
    format."""
    store = remote_server.store()
    store.replace_graph(GRAPH, '<https://ex.org/a> <https://ex.org/p> "x" .\n', "ntriples")
    sent: list[requests.PreparedRequest] = []
    store.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    assert store.query("ASK { ?s ?p ?o }").boolean
    assert [r["o"].value for r in store.query("SELECT ?o WHERE { ?s ?p ?o }").rows()] == ["x"]  # type: ignore[union-attr]
    assert len(sent) == 2
    for request in sent:
        assert request.method == "POST"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.headers["Accept"] in {
            "application/sparql-results+xml",
            "application/sparql-results+json",
        }
        body = request.body if isinstance(request.body, str) else (request.body or b"").decode()
        form = parse_qs(body)
        assert set(form) == {"query", "default-graph-uri", "named-graph-uri"}
        assert form["default-graph-uri"] == [GRAPH]
    store.close()


def test_errors_name_the_shard_not_the_staged_file(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    """Whatever the path, an error names the shard the user gave, never a staged file."""
    broken = _broken(versions["b"], tmp_path)
    with OxigraphStore() as store:
        with pytest.raises(CollectomicsError) as failure:
            load_shards(store, [broken], stage_dir=tmp_path)
    assert ".collectomics-load-" not in str(failure.value)
    assert str(broken / "part-00001.nq") in str(failure.value)
