"""`collectomics export --shards N`: archives mapped to N-Quads shards by worker processes.

The shards of an archive, loaded together into a fresh store, are the graph `ingest` makes of it,
and the export's report is ingest's report (counts, problems in order); the batch step is pure.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from collectomics.config import ReadLimits
from collectomics.errors import InputError
from collectomics.ingest import ingest_files
from collectomics.ingest.batches import SPECIMENS, Batch, Reject, map_batch
from collectomics.ingest.pipeline import IngestReport
from collectomics.ingest.shards import export_shards, shard_dump, shard_name
from collectomics.iri import Minter
from collectomics.mapping.common import Context
from collectomics.mapping.specimens import map_specimen
from collectomics.store import OxigraphStore
from helpers import REAL, run_cli

ROOT = Path(__file__).resolve().parent.parent
QUIRKS = Path(__file__).resolve().parent / "data" / "dwca"
GBIF_2014 = REAL / "rgbif-gbif-downloads/0000066-140928181241064.zip"

ARCHIVES = [
    "rgbif-gbif-downloads/0000066-140928181241064.zip",  # verbatim, multimedia, 26 source EMLs
    "rgbif-gbif-downloads/0009886-250127130748423.zip",  # SIMPLE_CSV download
    "finch-gbif-download-2015/0000154-150116162929234.zip",
    "pydwca-gbif-results/gbif-results.zip",  # no header row
    "dwca-io-fixtures/archive-occ.zip",  # DwC 1.4 terms
    "dwca-io-fixtures/6632D8151686A3F8C71D4B5A5B1181A4.zip",  # Taxon core + occurrences, media
    "dwca-io-fixtures/Borza.txt",  # a single windows-1250 file
]
QUIRK = [
    "event-core-occurrence-ext",
    "wrong-field-count",  # row errors, short rows
    "unclosed-quote",
    "utf8-declared-cp1252-bytes",
    "multiple-locations",
    "semicolon-csv-no-meta/specimens.csv",
    "measurement-or-fact-ext",  # an extension kept verbatim, with measurer roles
]


def _lines(store: OxigraphStore, *, data_only: bool = False) -> set[str]:
    """The store's quads; ``data_only``: but the derived identity graph's (which ingest writes
    after the data, and shards of the data alone do not hold)."""
    out = io.BytesIO()
    store.dump(out, "nquads")
    derived = f"<{Minter().graph('identity')}> ."
    lines = out.getvalue().decode("utf-8").splitlines()
    return {q for q in lines if not (data_only and q.endswith(derived))}


def _content(file: Path) -> bytes:
    """A shard's N-Quads, decompressed when it is gzipped."""
    return gzip.decompress(file.read_bytes()) if file.name.endswith(".gz") else file.read_bytes()


def _loaded(files: list[Path], tmp: Path) -> set[str]:
    """Every shard loaded into one fresh store, as its N-Quads lines."""
    whole = tmp / "all-shards.nq"
    with open(whole, "wb") as out:
        for f in files:
            out.write(_content(f))
    store = OxigraphStore()
    store.restore(whole, "nquads")
    return _lines(store)


def _same_report(ingested: IngestReport, exported: IngestReport) -> None:
    a, b = ingested.to_dict(), exported.to_dict()
    a.pop("triples"), b.pop("triples")
    assert a == b  # read, loaded, rejected, extensions and every problem, in ingest's order
    assert list(ingested.terms) == list(exported.terms)  # the summary's per-file lines too
    assert exported.read == exported.loaded + exported.rejected
    for name, c in exported.extensions.items():
        assert c.read == c.loaded + c.rejected, name


def _compare(
    paths: list[Path],
    tmp: Path,
    shards: int,
    batch_size: int,
    dataset: str | None = None,
    limits: ReadLimits | None = None,
    compress: str | None = None,
) -> tuple[list[IngestReport], list[Path]]:
    store = OxigraphStore()
    ingested = ingest_files(store, paths, minter=Minter(), dataset_id=dataset, limits=limits)
    reports, files = export_shards(
        paths,
        tmp / "out",
        shards,
        minter=Minter(),
        dataset_id=dataset,
        batch_size=batch_size,
        limits=limits,
        compress=compress,
    )
    suffix = ".nq.gz" if compress == "gzip" else ".nq"
    assert [f.name for f in files] == [f"part-{i:05d}{suffix}" for i in range(shards)]
    assert sorted(p.name for p in (tmp / "out").iterdir()) == [f.name for f in files]
    assert len(reports) == len(ingested)
    for a, b in zip(ingested, reports, strict=True):
        _same_report(a, b)
    assert _loaded(files, tmp) == _lines(store, data_only=True)
    written = sum(_content(f).count(b"\n") for f in files)
    assert written == sum(r.triples for r in reports)
    return reports, files


@pytest.mark.parametrize(("shards", "compress"), [(1, None), (3, None), (3, "gzip")])
@pytest.mark.parametrize("name", ARCHIVES)
def test_real_archive_shards_load_to_the_ingested_graph(
    name: str, shards: int, compress: str | None, tmp_path: Path
) -> None:
    """Gzipped shards (``compress="gzip"``) hold, decompressed, what ingest loads too."""
    reports, files = _compare([REAL / name], tmp_path, shards, batch_size=100, compress=compress)
    assert reports[0].loaded > 0
    if compress:  # whole gzip files, at gzip's fastest level (its header's XFL byte says 4)
        assert all(f.read_bytes()[:2] == b"\x1f\x8b" and f.read_bytes()[8] == 4 for f in files)
    if shards == 3 and reports[0].read >= 300:
        assert all(f.stat().st_size > 0 for f in files)  # the batches spread over the workers


def test_problems_kept_per_file_are_bounded_alike(tmp_path: Path) -> None:
    """With max_problems_per_file 3, the export keeps and omits the problems ingest does (it
    kept every worker's problems, 12 of them on the finch download, and counted none omitted)."""
    finch = REAL / "finch-gbif-download-2015/0000154-150116162929234.zip"
    [report], _ = _compare(
        [finch], tmp_path, 2, batch_size=50, limits=ReadLimits(max_problems_per_file=3)
    )
    assert len(report.problems) == 3 and sum(report.omitted.values()) > 0


@pytest.mark.parametrize("name", QUIRK)
def test_quirk_archive_shards_match_ingest(name: str, tmp_path: Path) -> None:
    _compare([QUIRKS / name], tmp_path, 2, batch_size=2)


def test_event_core_children_and_row_errors_are_reported_like_ingest(tmp_path: Path) -> None:
    [event], _ = _compare([QUIRKS / "event-core-occurrence-ext"], tmp_path / "a", 2, batch_size=1)
    assert (event.read, event.loaded) == (2, 2)
    assert event.extensions["occurrence.txt"].loaded == 5
    [broken], _ = _compare([QUIRKS / "wrong-field-count"], tmp_path / "b", 3, batch_size=1)
    rejected = [p for p in broken.problems if p.severity == "error"]
    assert [p.row for p in rejected] == [3, 5]


def test_several_archives_as_one_dataset_and_one_dataset_each(tmp_path: Path) -> None:
    paths = [QUIRKS / "multiple-locations", QUIRKS / "utf8-bom"]
    [one], _ = _compare(paths, tmp_path / "one", 2, batch_size=1, dataset="both")
    assert one.graph == Minter().graph("both") and one.read == 5
    each, files = _compare(paths, tmp_path / "each", 2, batch_size=1)
    assert len(each) == 2
    graphs = {line.rsplit(" ", 2)[-2] for f in files for line in f.read_text().splitlines()}
    assert graphs == {f"<{r.graph}>" for r in each}


def _shuffled_gbif(path: Path) -> Path:
    """The 2014 GBIF download with verbatim.txt in reverse order, a verbatim and a multimedia row
    for a core id that does not exist, and a core row without occurrenceID nor catalogNumber
    (a specimen all the same, keyed by its gbifID) that has a verbatim row."""
    with zipfile.ZipFile(GBIF_2014) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "verbatim.txt":
                head, *rows = data.decode("utf-8").splitlines(keepends=True)
                data = (
                    head
                    + "".join(reversed(rows))
                    + rows[0].replace(rows[0].split("\t")[0], "999", 1)
                    + rows[1].replace(rows[1].split("\t")[0], "997", 1)
                ).encode()
            elif info.filename == "multimedia.txt":
                head, *rows = data.decode("utf-8").splitlines(keepends=True)
                data = (
                    head + "".join(rows) + rows[0].replace(rows[0].split("\t")[0], "998", 1)
                ).encode()
            elif info.filename == "occurrence.txt":
                text = data.decode("utf-8")
                header = text.split("\n", 1)[0].split("\t")
                head, first, *rest = text.splitlines(keepends=True)
                cells = first.rstrip("\n").split("\t")
                for column in ("occurrenceID", "catalogNumber"):
                    cells[header.index(column)] = ""
                cells[0] = "997"
                data = (head + first + "".join(rest) + "\t".join(cells) + "\n").encode()
            dst.writestr(info, data)
    return path


def test_verbatim_rows_out_of_order_and_orphans(tmp_path: Path) -> None:
    archive = _shuffled_gbif(tmp_path / "shuffled.zip")
    [report], _ = _compare([archive], tmp_path, 3, batch_size=50)
    assert (report.read, report.loaded, report.rejected) == (471, 471, 0)
    assert report.extensions["verbatim.txt"].read == 472
    assert report.extensions["verbatim.txt"].loaded == 471
    assert report.extensions["multimedia.txt"].rejected == 1
    reasons = [p.reason for p in report.problems if p.severity == "error"]
    assert "no loaded core record with id '999'" in reasons
    assert "no loaded core record with id '998'" in reasons
    assert "no loaded core record with id '997'" not in reasons  # its core row is a specimen


def test_synthetic_archive(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from synthetic import write_archive
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    archive = tmp_path / "synthetic.zip"
    write_archive(archive, 3000, seed=7)
    for shards in (1, 3):
        [report], files = _compare([archive], tmp_path / str(shards), shards, batch_size=250)
        assert (report.read, report.loaded) == (3000, 3000)
        assert all(f.stat().st_size > 0 for f in files)


def test_map_batch_is_pure_and_writes_shared_descriptions_once(tmp_path: Path) -> None:
    ctx = Context("pure", Minter())
    records = [
        {"catalogNumber": f"X{i}", "institutionCode": "BCN", "recordedBy": "Font Quer, P."}
        for i in range(3)
    ]
    batch = Batch(SPECIMENS, "f.txt", [(i + 2, r, None, None) for i, r in enumerate(records)])
    first, again = map_batch(batch, ctx), map_batch(batch, ctx)
    assert first.text == again.text and first.quads == first.text.count("\n")
    assert [o.loaded for o in first.outcomes] == [True, True, True]
    graph = f"<{Minter().graph('pure')}>"
    assert all(line.endswith(f" {graph} .") for line in first.text.splitlines())
    expected = set()
    once: set[object] = set()
    for r in records:
        mapped = map_specimen(r, ctx)
        expected |= set(mapped.triples) | {t for t in mapped.once if t[0] not in once}
        once |= {t[0] for t in mapped.once}
    # the collector's description comes back once, apart from the text
    assert first.once and first.quads + len(first.once) == len(expected)
    assert not any(line.startswith(first.once[0][0].n3()) for line in first.text.splitlines())
    assert [o.subject for o in first.outcomes] == [map_specimen(r, ctx).subject for r in records]
    # a memo shared across batches (a worker's) drops what an earlier batch described
    memo: set[object] = set()
    one = map_batch(Batch(SPECIMENS, "f.txt", batch.items[:1]), ctx, memo)
    two = map_batch(Batch(SPECIMENS, "f.txt", batch.items[1:]), ctx, memo)
    assert one.quads + two.quads == first.quads
    assert one.once == first.once and two.once == []
    # a record with no identifier is its own specimen all the same, keyed by its row
    row_keyed = Minter().specimen("pure", "row", "f.txt:9")
    keyed = map_batch(Batch(SPECIMENS, "f.txt", [(9, {"locality": "x"}, None, row_keyed)]), ctx)
    assert keyed.outcomes[0].loaded and keyed.outcomes[0].subject == row_keyed
    unreadable = [(9, Reject(None, "unreadable"), None, None)]
    rejected = map_batch(Batch(SPECIMENS, "f.txt", unreadable), ctx)
    assert rejected.text == "" and not rejected.outcomes[0].loaded
    assert rejected.outcomes[0].problems[0].row == 9


def test_map_batch_takes_the_text_mappers_write(tmp_path: Path) -> None:
    """With Context.ntriples (what ingest and the workers use) mappers write part of their
    triples as N-Triples text; map_batch puts those lines in the graph too."""
    archive = tmp_path / "synthetic.zip"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from synthetic import write_archive
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    write_archive(archive, 500, seed=3)
    from collectomics.ingest.archive import renamer
    from collectomics.ingest.dwca import Archive

    with Archive.open(archive) as arc:
        rename = renamer(arc.core)
        items = [
            (row.line, {rename[t]: v for t, v in row.values.items() if t in rename}, None, None)
            for row in arc.rows(arc.core)
        ]
    batch = Batch(SPECIMENS, "f", items)
    tuples = map_batch(batch, Context("nt", Minter()))
    text = map_batch(batch, Context("nt", Minter(), ntriples=True))
    assert text.quads == tuples.quads == text.text.count("\n") > 500 * 30
    assert set(text.text.splitlines()) == set(tuples.text.splitlines())
    assert text.once == tuples.once and text.outcomes == tuples.outcomes


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    archive = QUIRKS / "utf8-bom"
    for n in (0, -1, 1000):
        with pytest.raises(InputError, match="between 1 and") as e:
            export_shards([archive], tmp_path / "o", n, minter=Minter())
        assert e.value.context["parameter"] == "--shards"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty") as e:
        export_shards([archive], busy, 2, minter=Minter())
    assert e.value.file == str(busy)
    with pytest.raises(InputError, match="mismatched tag") as e:
        export_shards([QUIRKS / "broken-meta-xml"], tmp_path / "o", 2, minter=Minter())
    assert "meta.xml" in str(e.value)
    with pytest.raises(InputError, match="no such file"):
        export_shards([tmp_path / "nope.zip"], tmp_path / "o", 2, minter=Minter())
    people = tmp_path / "people.csv"
    people.write_text("person_id,name\np1,Pius Font i Quer\n")
    with pytest.raises(InputError, match="collectomics ingest"):
        export_shards([people], tmp_path / "o", 2, minter=Minter())
    assert not (tmp_path / "o").exists()  # refused before anything was written


@pytest.mark.slow
def test_cli_export_shards_then_load_equals_cli_ingest(tmp_path: Path) -> None:
    out = tmp_path / "shards"
    r = run_cli(
        "export",
        "--shards",
        "3",
        "--from",
        str(GBIF_2014),
        "--report",
        str(tmp_path / "e.json"),
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "read 470, loaded 470, rejected 0 records" in r.stdout
    assert "written to 3 shards" in r.stdout and "Traceback" not in r.stderr
    files = sorted(out.glob("part-*.nq"))
    assert [f.name for f in files] == ["part-00000.nq", "part-00001.nq", "part-00002.nq"]
    db = tmp_path / "ingested.db"
    r = run_cli("ingest", str(GBIF_2014), "--report", str(tmp_path / "i.json"), store=db)
    assert r.returncode == 0, r.stderr
    [exported], [ingested] = (json.loads((tmp_path / f).read_text()) for f in ("e.json", "i.json"))
    exported.pop("triples"), ingested.pop("triples")
    assert exported == ingested
    whole = tmp_path / "all.nq"
    whole.write_bytes(b"".join(f.read_bytes() for f in files))
    loaded = tmp_path / "loaded.db"
    assert run_cli("restore", "--yes", str(whole), store=loaded).returncode == 0
    dumps = []
    for store in (db, loaded):
        r = run_cli("export", "-", store=store)
        assert r.returncode == 0, r.stderr
        graph = f" <{ingested['graph']}> ."  # ingest also materialises the facets graph
        dumps.append({line for line in r.stdout.splitlines() if line.endswith(graph)})
    assert dumps[0] == dumps[1] and len(dumps[0]) > 30_000
    # without --from, --shards deals the store's own dump into the files
    r = run_cli("export", "--shards", "2", str(tmp_path / "dealt"), store=db)
    assert r.returncode == 0, r.stderr
    dealt = sorted((tmp_path / "dealt").glob("part-*.nq"))
    assert len(dealt) == 2 and all(f.stat().st_size > 0 for f in dealt)
    r = run_cli("export", "-", store=db)
    lines = [line for f in dealt for line in f.read_text("utf-8").splitlines()]
    assert sorted(lines) == sorted(r.stdout.splitlines())
    # gzipped, the same lines
    gz = tmp_path / "dealt-gz"
    r2 = run_cli("export", "--shards", "2", "--compress", "gzip", str(gz), store=db)
    assert r2.returncode == 0, r2.stderr
    assert sorted(f.name for f in gz.iterdir()) == ["part-00000.nq.gz", "part-00001.nq.gz"]
    unzipped = [line for f in sorted(gz.iterdir()) for line in _content(f).decode().splitlines()]
    assert sorted(unzipped) == sorted(r.stdout.splitlines())
    # a second run into the same folder needs --force, which replaces every earlier shard
    r = run_cli("export", "--shards", "2", "--from", str(GBIF_2014), str(out))
    assert r.returncode == 2 and "not empty" in r.stderr and "--force" in r.stderr
    r = run_cli("export", "--shards", "2", "--from", str(GBIF_2014), "--force", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(f.name for f in out.iterdir()) == ["part-00000.nq", "part-00001.nq"]


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    archive = str(QUIRKS / "utf8-bom")
    cases = [
        (["--shards", "0", "--from", archive], "--shards"),
        (["--shards", "two", "--from", archive], "--shards"),
        (["--shards", "2", "--dataset", "x"], "--from"),
        (["--from", archive], "--shards"),
        (["--shards", "2", "--format", "turtle", "--from", archive], "N-Quads"),
        (["--shards", "2", "--from", str(tmp_path / "missing.zip")], "missing.zip"),
        (["--shards", "2", "--from", str(QUIRKS / "broken-meta-xml")], "meta.xml"),
    ]
    for args, says in cases:
        r = run_cli("export", *args, str(tmp_path / "out"), cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert says in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_store_dump_dealt_into_shards_keeps_blank_nodes_together(tmp_path: Path) -> None:
    notes = tmp_path / "notes.ttl"
    notes.write_text(
        "@prefix ex: <http://example.org/> .\n"
        + "".join(
            f'ex:s{i} ex:p [ ex:q "_:not a blank node {i}" ; ex:r [ ex:t {i} ] ] .\n'
            for i in range(300)
        )
    )
    store = OxigraphStore()
    ingest_files(store, [GBIF_2014, notes], minter=Minter())
    quads, files = shard_dump(store.dump, tmp_path / "out", 3)
    assert quads == store.count() and [f.name for f in files] == [shard_name(i) for i in range(3)]
    texts = [f.read_text("utf-8").splitlines() for f in files]
    assert sum(map(len, texts)) == quads and all(texts)
    blank = [line for text in texts[1:] for line in text if line.startswith("_:") or " _:" in line]
    assert blank == []  # only in the first file: its blank nodes are one node per file
    assert len([line for line in texts[0] if line.startswith("_:") or " _:" in line]) == 1200
    loaded = _loaded(files, tmp_path)
    assert len(loaded) == quads
    assert {x for x in loaded if "_:" not in x} == {x for x in _lines(store) if "_:" not in x}
    with pytest.raises(InputError, match="not empty"):
        shard_dump(store.dump, tmp_path / "out", 2)
    quads2, files2 = shard_dump(store.dump, tmp_path / "out", 2, force=True)
    assert quads2 == quads and sorted((tmp_path / "out").iterdir()) == files2


def test_a_failing_or_killed_worker_stops_the_export_and_leaves_no_shards(tmp_path: Path) -> None:
    import os
    import signal

    from collectomics.errors import CollectomicsError
    from collectomics.ingest.shards import _Pool

    ctx = Context("fail", Minter())
    pool = _Pool(tmp_path, 2, None)
    pool.submit(Batch("no such kind", "f.txt", [1]), ctx, lambda *result: None)
    with pytest.raises(CollectomicsError, match="(?s)shard worker . failed:.*KeyError"):
        pool.close()
    pool.abort()
    assert list(tmp_path.iterdir()) == []

    pool = _Pool(tmp_path, 2, None)
    os.kill(pool.procs[1].pid, signal.SIGKILL)
    with pytest.raises(CollectomicsError, match="shard worker 1 .* exited with code -9"):
        pool.close()
    pool.abort()
    assert list(tmp_path.iterdir()) == []


def test_kept_extension_rows_report_their_problems_and_agents_alike(tmp_path: Path) -> None:
    """A MeasurementOrFact row measured by 'Anon.' with a measuredByID that is no identifier:
    the unknown agent is counted and the identifier's warning reported, by ingest and by the
    export alike (both dropped them for extensions kept verbatim)."""
    import shutil

    archive = tmp_path / "mof"
    shutil.copytree(QUIRKS / "measurement-or-fact-ext", archive)
    with (archive / "measurementorfact.txt").open("a", encoding="utf-8") as handle:
        handle.write("1439645904\tsheet width\t28\tcm\tAnon.\tnot an identifier\n")
    [report], _ = _compare([archive], tmp_path, 2, batch_size=10)
    assert report.unknown_agents == 1
    assert any(
        p.file.endswith("measurementorfact.txt") and p.column == "measuredByID"
        for p in report.problems
    ), report.problems
