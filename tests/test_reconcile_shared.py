"""The reconciliation index shared by every process (``reconcile/ondisk.py``, issue 20): the file
answers as the index built in memory does, over every name of the demo and of the real archives;
a corrupt or truncated file is moved aside and built again with one clear warning; and under
``collectomics serve`` two worker processes map one file, built once per store version, and a
change of the store makes a new one while the last one answers."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collectomics.analysis import identity
from collectomics.analysis.network import materialise
from collectomics.ingest import ingest_files
from collectomics.ingest.demo import build_demo
from collectomics.ingest.pipeline import DatasetSpec, ingest_dataset
from collectomics.iri import Minter
from collectomics.services import reconcile as rec
from collectomics.services.reconcile import index as index_mod
from collectomics.services.reconcile import ondisk
from collectomics.services.reconcile import suggest as suggest_mod
from collectomics.services.reconcile.api import reconcile_one
from collectomics.services.reconcile.index import Index, SharedIndex, encode_entity
from collectomics.store import OxigraphStore
from helpers import REAL, REAL_ARCHIVES, run_cli, start_serve

pytestmark = pytest.mark.embedded_only("the shared index is a file beside an on-disk store")

ARCHIVES = REAL_ARCHIVES  # the real corpus (tests/data/real/archives.txt)
FIXTURE = Path(__file__).resolve().parent / "data" / "reconcile"


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo graph, the reconciliation fixture people and every archive of the real corpus
    (tests/data/real/archives.txt) in one on-disk store, with its identity and facets graphs."""
    path = tmp_path_factory.mktemp("one-index") / "store.db"
    minter = Minter()
    with OxigraphStore(path) as store:
        build_demo(store, minter)
        files = (FIXTURE / "people.csv", FIXTURE / "specimens.csv")
        ingest_dataset(store, DatasetSpec("reconcile-fixture", files), minter=minter)
        for k, name in enumerate(ARCHIVES):  # ids of their own: the demo holds one download
            [report] = ingest_files(store, [REAL / name], minter=minter, dataset_id=f"real-{k}")
            assert report.loaded > 0, report.summary()
        identity.refresh(store, minter)
        materialise(store, minter)
    return path


def _forget_opened() -> None:
    """As a process that never opened an index file (another worker, a restart)."""
    index_mod._OPENED.clear()


def _shared(path: Path) -> tuple[OxigraphStore, SharedIndex]:
    handle = OxigraphStore(path, read_only=True)
    ix = rec.index_for(handle)
    assert isinstance(ix, SharedIndex), type(ix)
    return handle, ix


def _ids(entities: Any) -> list[str]:
    return [e.id for e in entities]


def test_the_file_answers_as_the_memory_build(real_store: Path) -> None:
    """Property over every entity and every name of the demo and the real corpus: the same
    entities, postings, suggest rows and sorted keys; the same answers to a query for each name
    (untyped and typed Person), to suggest for each name's first word, and to preview."""
    _forget_opened()
    handle, shared = _shared(real_store)
    memory = Index(handle)
    memory_others, shared_others = memory.others(), shared.others()
    assert list(shared.by_id) == list(memory.by_id)
    assert len(memory.by_id) > 1000
    for e in memory.by_id.values():
        assert encode_entity(shared.by_id[e.id]) == encode_entity(e), e.id
        assert shared.by_iri[e.iri].id == e.id
        assert shared.resolve(e.iri) == memory.resolve(e.iri)
        for node in memory.agents_of.get(e.iri, ()):
            assert shared.resolve(node) == memory.resolve(node) == e.iri
    assert list(shared_others.virtual) == list(memory_others.virtual)
    for key, e in memory_others.virtual.items():
        assert encode_entity(shared_others.virtual[key]) == encode_entity(e)
    for mine, theirs in (
        (memory.family_index, shared.family_index),
        (memory.abbr_index, shared.abbr_index),
        (memory_others.keys, shared_others.keys),
        (memory_others.words, shared_others.words),
    ):
        assert sorted(k for k, v in mine.items() if v) == sorted(theirs)
        for token, es in mine.items():
            assert _ids(theirs.get(token, ())) == _ids(es), token
    for (kind, value), es in memory.id_index.items():
        assert _ids(shared.id_index.get((kind, value), ())) == _ids(es)
    assert list(shared_others.sorted_keys) == memory_others.sorted_keys
    rows = memory.suggest_words()
    assert len(shared.suggest_words()) == len(rows)
    assert [(w, r, e.id) for w, r, e in shared.suggest_words()] == [
        (w, r, e.id) for w, r, e in rows
    ]
    for word in list(memory.family_index)[:400]:
        typo = word[:-1] + ("x" if word[-1] != "x" else "y")
        assert shared.similar_family_words(typo) == memory.similar_family_words(typo)

    names = sorted({n for e in [*memory.by_id.values(), *memory_others.virtual.values()]
                    for n in e.names() if n})  # fmt: skip
    assert len(names) > 1000
    original = suggest_mod.index_for
    try:
        for name in names:
            for q in ({"query": name}, {"query": name, "type": "Person", "type_strict": "should"}):
                assert reconcile_one(shared, q) == reconcile_one(memory, q), q
            prefix = name.split()[0]
            suggest_mod.index_for = lambda store, base=rec.schema.BASE: memory  # type: ignore[misc]
            expected = rec.suggest_entities(handle, prefix)
            suggest_mod.index_for = lambda store, base=rec.schema.BASE: shared  # type: ignore[misc]
            assert rec.suggest_entities(handle, prefix) == expected, prefix
    finally:
        suggest_mod.index_for = original
    for e in list(memory.by_id.values())[:2000]:
        assert shared.get(e.id) is not None and shared.get(e.id).id == memory.get(e.id).id  # type: ignore[union-attr]
    handle.close()


def test_built_once_then_opened(real_store: Path) -> None:
    """A second handle (another worker) opens the file the first one built; nothing is built
    again for the same version."""
    _forget_opened()
    handle, first = _shared(real_store)
    files = ondisk.complete_files(first.path.parent)
    stamp = first.path.stat()
    _forget_opened()
    other, second = _shared(real_store)
    assert second is not first and second.path == first.path
    assert (
        second.path.stat().st_ino == stamp.st_ino
        and second.path.stat().st_mtime_ns == stamp.st_mtime_ns
    )
    assert ondisk.complete_files(first.path.parent) == files
    handle.close()
    other.close()


@pytest.mark.parametrize("damage", ["truncated", "overwritten", "not sqlite"])
def test_a_damaged_file_is_built_again(
    real_store: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    _forget_opened()
    handle, ix = _shared(real_store)
    path = ix.path
    inode = path.stat().st_ino
    size = path.stat().st_size
    _forget_opened()
    del ix
    if damage == "truncated":
        os.truncate(path, size // 2)
    elif damage == "overwritten":
        with open(path, "r+b") as f:
            f.seek(size // 3)
            f.write(os.urandom(64 * 1024))
    else:
        path.write_bytes(b"this is not an index\n" * 100)
    with caplog.at_level(logging.WARNING, logger="collectomics.services.reconcile.index"):
        again = rec.index_for(OxigraphStore(real_store, read_only=True))
    assert isinstance(again, SharedIndex) and again.path == path
    assert path.stat().st_ino != inode
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(path) in w and "built again" in w for w in warnings), warnings
    assert path.with_name(path.name + ".corrupt").exists()
    answer = rec.reconcile(handle, {"q0": {"query": "Font Quer"}})
    assert answer["q0"]["result"], answer
    handle.close()


def test_a_file_that_breaks_while_in_use_is_built_again(
    real_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A read that fails (a disk error, a file overwritten under a running worker) answers
    well-formed, and the next request gets a file built again."""
    _forget_opened()
    handle, ix = _shared(real_store)

    def broken(*args: Any) -> Any:
        ix.reader.broken = True
        raise ondisk.CorruptIndex(ix.path, "cannot be read by SQLite (disk I/O error)")

    ix.reader.rows = broken  # type: ignore[method-assign]
    ix._live.clear()
    ix._recent.clear()
    assert rec.reconcile(handle, {"q0": {"query": "Font Quer"}}) == {"q0": {"result": []}}
    with caplog.at_level(logging.WARNING, logger="collectomics.services.reconcile.index"):
        again = rec.index_for(handle)
    assert again is not ix and isinstance(again, SharedIndex)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(ix.path) in w and "built again" in w for w in warnings), warnings
    assert rec.reconcile(handle, {"q0": {"query": "Font Quer"}})["q0"]["result"]
    handle.close()


# -- under `collectomics serve` ----------------------------------------------------------------------


def _workers(pid: int) -> list[int]:
    """The HTTP worker processes of the server ``pid`` (not the index builder it started)."""
    found = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"worker_main" in f.read():
                    found.append(child)
        except OSError:
            continue
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _mapped(pid: int, folder: Path) -> set[tuple[str, int]]:
    """The index files of ``folder`` that process ``pid`` maps: (name, inode)."""
    out = set()
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith(str(folder)):
                    out.add((Path(parts[5]).name, int(parts[4])))
    except OSError:
        pass
    return out


def _builds(log: Path) -> list[str]:
    return [
        line for line in log.read_text("utf-8").splitlines() if "reconciliation index built" in line
    ]


@pytest.fixture
def served(real_store: Path, tmp_path: Path) -> Iterator[tuple[str, Any, Path, Path]]:
    log = tmp_path / "serve.log"
    folder = real_store / ondisk.CACHE_DIR / ondisk.FOLDER
    for f in ondisk.complete_files(folder):  # built by the tests above: this server builds its own
        f.unlink()
    with log.open("w", encoding="utf-8") as err:
        base, proc = start_serve(real_store, tmp_path, {"COLLECTOMICS_WORKERS": "2"}, stderr=err)
        try:
            yield base, proc, log, real_store
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    assert "Traceback" not in log.read_text("utf-8")


def _until(what: str, check: Any, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _ask(base: str, text: str) -> list[dict[str, Any]]:
    body = {"queries": json.dumps({"q0": {"query": text, "type": "Person"}})}
    r = requests.post(base + "/reconcile", data=body, timeout=300)
    assert r.status_code == 200, r.text
    return list(r.json()["q0"]["result"])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pre-fork server")
def test_two_workers_share_one_file_built_once_per_version(
    served: tuple[str, Any, Path, Path], tmp_path: Path
) -> None:
    base, proc, log, store = served
    folder = store / ondisk.CACHE_DIR / ondisk.FOLDER
    workers = _workers(proc.pid)
    assert len(workers) >= 2, workers

    def both_mapped() -> set[tuple[str, int]] | None:
        with requests.Session() as a, requests.Session() as b:  # two connections: two workers
            for s in (a, b):
                s.post(
                    base + "/reconcile",
                    data={"queries": json.dumps({"q0": {"query": "Font Quer"}})},
                    timeout=300,
                )
        maps = [_mapped(pid, folder) for pid in _workers(proc.pid)]  # a retired one is replaced
        common = set.intersection(*maps) if len(maps) >= 2 and all(maps) else set()
        return common or None

    common = _until("both workers map one index file", both_mapped)
    assert len(common) == 1, common
    assert len(_builds(log)) == 1, log.read_text("utf-8")
    ((name, inode),) = common
    assert (folder / name).stat().st_ino == inode

    # a change of the store: a new dataset, loaded by the CLI beside the running server
    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,name,given_name,family_name\nzq1,Zebulon Quaxley,Zebulon,Quaxley\n", "utf-8"
    )
    r = run_cli("ingest", str(people), "--dataset", "latecomers", store=store)
    assert r.returncode == 0, r.stderr
    assert _ask(base, "Font Quer")  # answered at once, from the last version meanwhile
    found = _until("the new person is found", lambda: _ask(base, "Zebulon Quaxley"))
    assert found[0]["name"] == "Zebulon Quaxley"
    newer = _until("both workers map the new file", lambda: (both_mapped() or set()) - common)
    assert len(newer) == 1, (newer, common)  # one new file, shared
    assert len(_builds(log)) == 2, log.read_text("utf-8")


def test_an_update_in_place_makes_a_new_version(tmp_path: Path) -> None:
    """A SPARQL update through /sparql keeps every graph's version; the service refreshes the
    identity graph after it (as after a Graph Store POST), so the index key changes and the
    person the update added is found."""
    from collectomics.config import load_settings
    from collectomics.web import create_app

    path = tmp_path / "s.db"
    r = run_cli("ingest", str(FIXTURE / "people.csv"), "--dataset", "people", store=path)
    assert r.returncode == 0, r.stderr
    _forget_opened()
    with OxigraphStore(path, read_only=True) as handle:
        before = ondisk.version_key(handle, rec.schema.BASE)
        assert not rec.reconcile(handle, {"q0": {"query": "Zebulon Quaxley"}})["q0"]["result"]
    env = {"COLLECTOMICS_ALLOW_UPDATES": "1", "COLLECTOMICS_UPDATE_TOKEN": "t"}
    graph = rec.schema.BASE + "graph/people"
    person = rec.schema.BASE + "person/zq1"
    update = (
        f"INSERT DATA {{ GRAPH <{graph}> {{ <{person}> a <http://xmlns.com/foaf/0.1/Person> ; "
        '<http://xmlns.com/foaf/0.1/name> "Zebulon Quaxley" } }'
    )
    with OxigraphStore(path) as store:
        client = create_app(load_settings(environ=env), store=store).test_client()
        r = client.post(
            "/sparql", data=update.encode("utf-8"), content_type="application/sparql-update",
            headers={"Authorization": "Bearer t"},
        )  # fmt: skip
        assert r.status_code in (200, 204), r.data
    with OxigraphStore(path, read_only=True) as handle:
        assert ondisk.version_key(handle, rec.schema.BASE) != before
        q = {"q0": {"query": "Zebulon Quaxley"}}
        # the last version answers while the new one is built
        found = _until("the person is found", lambda: rec.reconcile(handle, q)["q0"]["result"])
        assert found[0]["id"] == "person/zq1", found
