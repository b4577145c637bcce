"""`backup` / `restore`: the whole store (datasets, links, reviews, inferences) round-trips to an
isomorphic graph, graph by graph; a damaged backup is refused and the store is left as it was."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic, to_canonical_graph

from collectomics.analysis.identity import fresh
from collectomics.analysis.inference import infer
from collectomics.errors import InputError
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.store import Store
from collectomics.store import backup as bk
from helpers import StoreLocation, new_location, run_cli

LINKS = """
@prefix sssom: <https://w3id.org/sssom/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<https://w3id.org/collectomics/match/1> a sssom:Mapping ;
    sssom:subject_id <https://w3id.org/collectomics/agent/x> ;
    sssom:object_id <http://www.wikidata.org/entity/Q1> ;
    sssom:confidence 0.93 ;
    prov:qualifiedAttribution [ prov:agent [ a prov:Person ; <http://xmlns.com/foaf/0.1/name> "Ann Reviewer"@en ] ;
                                 prov:atTime "2024-01-02T03:04:05Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> ] .
"""


def _graph(store: Store, name: str) -> Graph:
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        default_graphs=[name],
        default_graph_union=False,
    )
    return Graph().parse(data=result.serialize("ntriples").decode(), format="nt")  # type: ignore[union-attr]


def _snapshot(location: StoreLocation, tmp_path: Path) -> list[str]:
    """The store's quads, sorted: as dumped (an embedded store keeps blank node labels), or,
    from a server, which may relabel blank nodes (Virtuoso), with canonical labels."""
    with location.open(read_only=True) as store:
        out = tmp_path / "snapshot.nq"
        store.dump(str(out))
    if not location.remote:
        return sorted(out.read_text("utf-8").splitlines())
    dataset = Dataset()
    dataset.parse(out, format="nquads")
    return sorted(
        f"{s.n3()} {p.n3()} {o.n3()} {graph.identifier.n3()} ."
        for graph in dataset.graphs()
        for s, p, o in to_canonical_graph(graph)
    )


@pytest.fixture(scope="module")
def source(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> StoreLocation:
    """A demo store (its datasets, links and identity graphs) with inferences and a review in
    the links graph (blank nodes)."""
    path = new_location(request, tmp_path_factory.mktemp("backup") / "source.db")
    minter = Minter()
    with path.open() as store:
        build_demo(store, minter)
        infer(store, minter)
        store.add("https://w3id.org/collectomics/graph/links", LINKS, "turtle")
        store.add("https://w3id.org/collectomics/graph/empty-review", b"", "ntriples")
    return path


@pytest.fixture(scope="module")
def backup_file(source: StoreLocation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backups") / "all.nq.gz"
    r = run_cli("backup", str(out), store=source)
    assert r.returncode == 0, r.stderr
    assert "quads in 8 graphs" in r.stderr
    return out


def test_backup_holds_every_graph_with_a_manifest(source: StoreLocation, backup_file: Path) -> None:
    with gzip.open(backup_file, "rt", encoding="utf-8") as f:
        first = f.readline()
    assert first.startswith("# collectomics-backup ")
    manifest = json.loads(first.split(" ", 2)[2])
    with source.open(read_only=True) as store:
        assert manifest["graphs"] == {g: store.count(g) for g in store.graphs()}
    assert {
        "https://w3id.org/collectomics/graph/inferences",
        "https://w3id.org/collectomics/graph/links",
    } <= set(manifest["graphs"])
    assert manifest["graphs"]["https://w3id.org/collectomics/graph/empty-review"] == 0
    assert manifest["created"].endswith("Z") and manifest["collectomics"]
    assert not list(backup_file.parent.glob("*.partial"))


def test_restore_into_a_fresh_store_is_isomorphic_graph_by_graph(
    source: StoreLocation,
    backup_file: Path,
    make_location: Callable[[str], StoreLocation],
) -> None:
    target = make_location("fresh.db")
    r = run_cli("restore", str(backup_file), "--yes", store=target)
    assert r.returncode == 0, r.stderr
    identity = "https://w3id.org/collectomics/graph/identity"
    with source.open(read_only=True) as a, target.open(read_only=True) as b:
        assert a.graphs() == b.graphs()
        for name in a.graphs():
            if name == identity:
                continue  # derived: rewritten after the restore (below)
            assert a.count(name) == b.count(name), name
            assert isomorphic(_graph(a, name), _graph(b, name)), name
        # the identity graph is refreshed for the restored graphs, with the same answer
        assert fresh(b, Minter())
        resolves = (
            "SELECT ?n ?c WHERE { ?n <https://w3id.org/collectomics/ontology#resolvesTo> ?c }"
        )
        assert sorted(a.query(resolves, default_graphs=[identity]).table()) == sorted(
            b.query(resolves, default_graphs=[identity]).table()
        )
        # the links graph's blank nodes (who reviewed, when) came back
        review = _graph(b, "https://w3id.org/collectomics/graph/links")
        assert any(str(o) == "Ann Reviewer" for o in review.objects())


def test_restore_over_a_store_replaces_everything(
    source: StoreLocation,
    backup_file: Path,
    tmp_path: Path,
    make_location: Callable[[str], StoreLocation],
) -> None:
    target = make_location("other.db")
    with target.open() as store:
        store.replace_graph("https://example.org/graph/stray", "<a:b> <a:c> <a:d> .\n", "ntriples")
        store.replace_graph(
            "https://w3id.org/collectomics/graph/demo-people", "<a:b> <a:c> <a:e> .\n", "ntriples"
        )
    with target.open() as store:
        manifest = bk.restore(store, backup_file)
        assert "https://example.org/graph/stray" not in store.graphs()
        # every graph as backed up, the derived identity graph too: the store layer does not
        # recompute it (``collectomics restore`` refreshes it, above)
        assert {g: store.count(g) for g in store.graphs()} == manifest.graphs
    assert _snapshot(target, tmp_path) == _snapshot(source, tmp_path)


def _rewrite(src: Path, dst: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    with gzip.open(src, "rb") as f:
        lines = f.read().split(b"\n")
    with gzip.open(dst, "wb") as f:
        f.write(b"\n".join(edit(lines)))
    return dst


def _truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) * 2 // 3])
    return dst


def _flipped(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _edited_quad(lines: list[bytes]) -> list[bytes]:
    lines[5] = lines[5].replace(
        b"https://w3id.org/collectomics/", b"https://w3id.org/collectomicz/", 1
    )
    return lines


def _wrong_count(lines: list[bytes]) -> list[bytes]:
    head = json.loads(lines[0].split(b" ", 2)[2])
    first = next(iter(head["graphs"]))
    head["graphs"][first] += 1
    lines[0] = b"# collectomics-backup " + json.dumps(head).encode()
    return lines


DAMAGE = {
    "truncated": (_truncated, "cut short"),
    "flipped-byte": (_flipped, "not a complete collectomics backup"),
    "no-end-line": (lambda s, d: _rewrite(s, d, lambda ls: ls[:-2] + [b""]), "no end line"),
    "edited-quad": (lambda s, d: _rewrite(s, d, _edited_quad), "checksum"),
    "wrong-count": (lambda s, d: _rewrite(s, d, _wrong_count), "the manifest says"),
    "no-manifest": (lambda s, d: _rewrite(s, d, lambda ls: ls[1:]), "no manifest"),
    "empty": (lambda s, d: _rewrite(s, d, lambda ls: []), "empty"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_backup_is_refused_and_changes_nothing(
    kind: str, backup_file: Path, tmp_path: Path, store_location: StoreLocation
) -> None:
    damage, message = DAMAGE[kind]
    bad = damage(backup_file, tmp_path / "bad.nq.gz")
    with pytest.raises(InputError, match=message):
        bk.verify(bad)
    target = store_location
    with target.open() as store:
        store.replace_graph("https://example.org/graph/kept", "<a:b> <a:c> <a:d> .\n", "ntriples")
    before = _snapshot(target, tmp_path)
    with target.open() as store, pytest.raises(InputError):
        bk.restore(store, bad)
    assert _snapshot(target, tmp_path) == before


def test_cli_refuses_a_truncated_backup_in_one_line(
    backup_file: Path, tmp_path: Path, store_location: StoreLocation
) -> None:
    bad = _truncated(backup_file, tmp_path / "cut.nq.gz")
    target = store_location
    with target.open() as store:
        store.replace_graph("https://example.org/graph/kept", "<a:b> <a:c> <a:d> .\n", "ntriples")
    before = _snapshot(target, tmp_path)
    r = run_cli("restore", str(bad), "--yes", store=target)
    assert r.returncode == 2
    assert r.stderr.startswith("error: not a complete collectomics backup: the file is cut short")
    assert str(bad) in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert _snapshot(target, tmp_path) == before
    r = run_cli("restore", "--check", str(bad), store=target)
    assert r.returncode == 2 and "cut short" in r.stderr


def test_check_and_overwrite(source: StoreLocation, backup_file: Path, tmp_path: Path) -> None:
    r = run_cli("restore", "--check", str(backup_file), store=tmp_path / "unused.db")
    assert r.returncode == 0, r.stderr
    assert "complete" in r.stdout and "quads in 8 graphs" in r.stdout
    assert not (tmp_path / "unused.db").exists()
    out = tmp_path / "b.nq.gz"
    out.write_text("precious")
    r = run_cli("backup", str(out), store=source)
    assert r.returncode == 2 and "--force" in r.stderr
    assert out.read_text() == "precious"
    r = run_cli("backup", str(out), "--force", store=source)
    assert r.returncode == 0, r.stderr
    assert bk.verify(out).quads == bk.verify(backup_file).quads
    # directories, whatever the backend: --check never makes a store; a missing one is named
    r = run_cli("backup", str(tmp_path / "x.nq.gz"), store=tmp_path / "missing.db")
    assert r.returncode == 2 and "no store here yet" in r.stderr
