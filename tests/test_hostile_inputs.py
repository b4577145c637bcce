"""The bad-archive corpus: hostile inputs built at test time (small on disk), each ingested by a
real `collectomics ingest` subprocess into a real on-disk store that already holds a dataset.

Every one must end in one line on stderr naming the file (and line) and the setting to raise,
exit code 2, no traceback, the stored dataset untouched, and a peak resident memory of the
ingest process (its ``VmHWM``) under :data:`MEMORY_BOUND`. Before the readers
were bounded, the 1 GiB field ended in a MemoryError at 3.3 GB and 600,000 malformed rows peaked
at 999 MiB with a 111 MB report (issue 17, item 4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectomics.store import open_store

FIX = Path(__file__).resolve().parent / "data" / "ingest"

#: peak resident memory allowed to one ingest process, in bytes. A normal small ingest peaks at
#: about 63 MiB here (the interpreter, pyoxigraph, RocksDB and the facets that follow); each
#: input below peaked at 49-63 MiB, and the old readers at 1 GiB (600,000 malformed rows) and
#: 3.3 GB (the 1 GiB field, then a MemoryError).
MEMORY_BOUND = 400 * 1024 * 1024

#: seconds after which an ingest is taken to hang (a hang guard, not a speed assertion)
HANG = 240

OCCURRENCE = "http://rs.tdwg.org/dwc/terms/Occurrence"
META = (
    '<archive xmlns="http://rs.tdwg.org/dwc/text/"><core encoding="{encoding}" '
    'fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1" '
    f'rowType="{OCCURRENCE}"><files><location>occurrence.txt</location></files>'
    '<id index="0"/><field index="1" term="http://rs.tdwg.org/dwc/terms/catalogNumber"/>'
    '<field index="2" term="http://rs.tdwg.org/dwc/terms/recordedBy"/></core></archive>'
)
HEADER = b"id\tcatalogNumber\trecordedBy\n"


@dataclass
class Run:
    """What one ingest subprocess did."""

    code: int
    stdout: str
    stderr: str
    peak: int  # bytes


#: Runs the CLI and, at exit, writes the process's own peak resident memory (``VmHWM``, kept
#: per address space: a fresh one from exec on) to the file named by HOSTILE_TEST_PEAK_FILE.
#: ``ru_maxrss`` cannot tell it: Linux carries a forked child's pre-exec peak into it, which is
#: the test process's own size (over 600 MiB late in the whole suite).
_PEAK_RUNNER = """
import atexit, os, runpy, sys

def _peak():
    with open('/proc/self/status') as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    with open(os.environ['HOSTILE_TEST_PEAK_FILE'], 'w') as out:
        out.write(str(kib * 1024))

atexit.register(_peak)
sys.argv = ['collectomics', *sys.argv[1:]]
runpy.run_module('collectomics', run_name='__main__', alter_sys=True)
"""


def ingest(store: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """`collectomics ingest ARGS` in a subprocess; its exit code, output and peak RSS."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    full_env.update(env or {})
    peak_file = store.parent / "peak.txt"
    peak_file.unlink(missing_ok=True)
    full_env["HOSTILE_TEST_PEAK_FILE"] = str(peak_file)
    out, err = store.parent / "stdout.txt", store.parent / "stderr.txt"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-c", _PEAK_RUNNER, "--store", str(store), "ingest", *args],
            stdout=o,
            stderr=e,
            env=full_env,
        )
        try:
            proc.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"ingest {' '.join(args)} still running after {HANG} s")
    assert peak_file.exists(), f"the ingest died without exiting: {err.read_text()[-2000:]}"
    return Run(proc.returncode, out.read_text(), err.read_text(), int(peak_file.read_text()))


def _zip_member_stream(zf: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> None:
    """Write a member from chunks, so that a GiB never sits in memory."""
    with zf.open(name, "w", force_zip64=True) as member:
        for chunk in chunks:
            member.write(chunk)


def archive(path: Path, data: Iterator[bytes], *, encoding: str = "UTF-8") -> Path:
    """A Darwin Core Archive whose occurrence.txt is ``data`` (deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("meta.xml", META.format(encoding=encoding))
        _zip_member_stream(zf, "occurrence.txt", data)
    return path


def repeated(head: bytes, unit: bytes, total: int, tail: bytes = b"") -> Iterator[bytes]:
    """``head``, then ``unit`` repeated to ``total`` bytes, then ``tail``, in 1 MiB chunks."""
    yield head
    chunk = unit * ((1 << 20) // len(unit))
    written = 0
    while written < total:
        part = chunk[: total - written]
        written += len(part)
        yield part
    yield tail


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """An on-disk store holding the dataset ``people-mixed`` already."""
    path = tmp_path / "store.db"
    run = ingest(path, str(FIX / "people-mixed.csv"))
    assert run.code == 0, run.stderr
    return path


def _datasets(store: Path) -> dict[str, int]:
    with open_store(str(store)) as s:
        return {g: s.count(g) for g in s.graphs() if "/graph/" in g}


def _refused(run: Run, *words: str) -> None:
    """One clear line on stderr, exit 2, no traceback; memory under the bound."""
    assert run.code == 2, (run.code, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    for word in words:
        assert word in run.stderr, (word, run.stderr)
    assert run.peak < MEMORY_BOUND, f"peak {run.peak / 2**20:.0f} MiB"


# -- item 4: small inputs that took gigabytes ----------------------------------------------------

#: the zip bombs: name -> contents of occurrence.txt
BOMB_CONTENTS = {
    "field": lambda: repeated(HEADER + b"1\tA1\t", b"x", 1 << 30, b"\n"),  # one 1 GiB field
    "blank": lambda: repeated(HEADER + b"1\tA1\tSmith\n", b"\n", 1 << 30),  # 1 GiB of blank lines
    "rows": lambda: repeated(HEADER, b"1\tA1\tSmith, J.\n", 64 << 20),  # 4.5 million same rows
}
# (test id, bomb, extra settings, words the error must hold)
BOMBS = [
    ("1 GiB field: compression ratio", "field", {}, ["max_compression_ratio"]),
    (
        "1 GiB field, ratio check off: line length",
        "field",
        {"COLLECTOMICS_MAX_COMPRESSION_RATIO": "0"},
        ["row 2", "max_line_bytes"],
    ),
    ("1 GiB of blank lines: compression ratio", "blank", {}, ["max_compression_ratio"]),
    (
        "1 GiB of blank lines, ratio check off: blank run",
        "blank",
        {"COLLECTOMICS_MAX_COMPRESSION_RATIO": "0"},
        ["max_blank_lines"],
    ),
    (
        "64 MiB member, ratio check off: member size",
        "rows",
        {"COLLECTOMICS_MAX_COMPRESSION_RATIO": "0", "COLLECTOMICS_MAX_MEMBER_BYTES": "1000000"},
        ["max_member_bytes"],
    ),
]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each zip bomb, built once (about 8 s for a GiB)."""
    folder = tmp_path_factory.mktemp("bombs")
    return {name: archive(folder / f"{name}.zip", make()) for name, make in BOMB_CONTENTS.items()}


@pytest.mark.parametrize(
    ("bomb", "env", "words"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS]
)
def test_zip_bombs_are_refused_in_bounded_memory(
    store: Path, bombs: dict[str, Path], bomb: str, env: dict[str, str], words: list[str]
) -> None:
    before = _datasets(store)
    path = bombs[bomb]
    assert path.stat().st_size < 4 << 20  # a few MB at most on disk
    run = ingest(store, str(path), env=env)
    _refused(run, f"{path}!occurrence.txt", *words)
    assert _datasets(store) == before


def test_a_field_over_16_mib_in_an_archive(store: Path, tmp_path: Path) -> None:
    """Was a MemoryError traceback from the loader; now the line limit (4 MiB) refuses it."""
    before = _datasets(store)
    path = archive(tmp_path / "big.zip", repeated(HEADER + b"1\tA1\t", b"y", 17 << 20, b"\n"))
    run = ingest(store, str(path), env={"COLLECTOMICS_MAX_COMPRESSION_RATIO": "0"})
    _refused(run, "big.zip!occurrence.txt", "row 2", "max_line_bytes")
    assert _datasets(store) == before


def test_per_row_errors_are_counted_not_kept(store: Path, tmp_path: Path) -> None:
    """600,000 malformed rows (9 MB): every one is read and rejected, 1,000 are kept."""
    rows = 600_000
    path = tmp_path / "specimens.csv"
    path.write_bytes(b"catalogNumber,recordedBy\n" + b"A1,Smith,extra\n" * rows)
    report = tmp_path / "report.json"
    run = ingest(store, str(path), "--report", str(report))
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    (got,) = json.loads(report.read_text())
    assert got["read"] == rows and got["rejected"] == rows
    assert len(got["problems"]) == 1000
    assert got["omitted"] == {str(path): rows - 1000}
    assert "max_problems_per_file" in run.stdout
    assert report.stat().st_size < 1 << 20
    assert run.peak < MEMORY_BOUND, f"peak {run.peak / 2**20:.0f} MiB"


def test_a_quoted_field_spanning_many_lines(store: Path, tmp_path: Path) -> None:
    """A quote that never closes, then 100,000 lines: one runaway record, then a record per
    line (all the same specimen, "x"), their problems counted but not kept."""
    path = tmp_path / "specimens.csv"
    lines = 100_000
    path.write_bytes(b'catalogNumber,recordedBy\nA1,"never closed\n' + b"x\n" * lines)
    report = tmp_path / "report.json"
    run = ingest(
        store, str(path), "--report", str(report), env={"COLLECTOMICS_MAX_FIELD_BYTES": "65536"}
    )
    assert run.code == 0, run.stderr
    (got,) = json.loads(report.read_text())
    assert "max_field_bytes" in got["problems"][0]["reason"]
    assert got["problems"][0]["row"] == 2
    assert got["read"] > lines - 65536 // 2 and got["rejected"] >= 1
    assert len(got["problems"]) == 1000 and sum(got["omitted"].values()) > 0
    assert run.peak < MEMORY_BOUND, f"peak {run.peak / 2**20:.0f} MiB"


def test_identical_rows_keep_a_small_report(store: Path, tmp_path: Path) -> None:
    """10,000 identical rows: 10,000 specimen nodes (a repeated key is its own record, see
    docs/model.md), 9,999 'already given' warnings, of which 1,000 are kept and the rest counted.
    (30,000 rows load as 30,000 records too: their peak, ~500 MiB, is then the store's bulk
    loader's, not the report's.)"""
    rows = 10_000
    row = b"1\tA1\tSmith, J.\n"
    path = archive(tmp_path / "same.zip", repeated(HEADER, row, rows * len(row)))
    report = tmp_path / "report.json"
    run = ingest(
        store,
        str(path),
        "--report",
        str(report),
        env={"COLLECTOMICS_MAX_COMPRESSION_RATIO": "0"},
    )
    assert run.code == 0, run.stderr
    (got,) = json.loads(report.read_text())
    assert got["read"] == got["loaded"] == rows
    assert len(got["problems"]) <= 1000 + 10
    assert sum(got["omitted"].values()) >= rows - 1000 - 1
    assert report.stat().st_size < 1 << 20
    assert run.peak < MEMORY_BOUND, f"peak {run.peak / 2**20:.0f} MiB"


def test_the_same_zip_is_refused_by_default_on_its_ratio(store: Path, tmp_path: Path) -> None:
    """1.1 million identical rows in a 1 MB zip (issue 17: 2.4 GB, 193 s, a 362 MB report)."""
    rows = 1_100_000
    row = b"1\tA1\tSmith, J.\n"
    path = archive(tmp_path / "same.zip", repeated(HEADER, row, rows * len(row)))
    assert path.stat().st_size < 4 << 20
    _refused(ingest(store, str(path)), "same.zip!occurrence.txt", "max_compression_ratio")


def test_a_verbatim_file_in_another_order(store: Path, tmp_path: Path) -> None:
    """A GBIF download whose verbatim.txt pairs with no core row: 1.5 million rows (a 4 MB
    zip) used to wait in memory for partners that never come."""
    rows = 1_500_000
    ext = (
        '<extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
        f'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="{OCCURRENCE}"><files>'
        '<location>verbatim.txt</location></files><coreid index="0"/>'
        '<field index="1" term="http://rs.tdwg.org/dwc/terms/recordedBy"/></extension>'
    )
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(
            "meta.xml", META.format(encoding="UTF-8").replace("</archive>", ext + "</archive>")
        )
        zf.writestr("occurrence.txt", HEADER + b"c1\tA1\tSmith, J.\n")
        zf.writestr(
            "verbatim.txt",
            b"id\trecordedBy\n" + b"".join(b"v%d\tSmith\n" % i for i in range(rows)),
        )
    assert path.stat().st_size < 4 << 20
    before = _datasets(store)
    _refused(ingest(store, str(path)), "download.zip!verbatim.txt", "max_unpaired_rows")
    assert _datasets(store) == before
    # export --shards reads archives as ingest does, and is bounded the same way
    out = tmp_path / "shards"
    run = subprocess.run(
        [sys.executable, "-m", "collectomics", "export", "--shards", "2", "--from", str(path)]
        + [str(out)],
        capture_output=True,
        text=True,
        timeout=HANG,
        env={k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")},
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "max_unpaired_rows" in run.stderr.strip().splitlines()[-1]
    assert not out.exists() or not any(out.iterdir())


def test_a_verbatim_file_in_reverse_order_still_pairs(store: Path, tmp_path: Path) -> None:
    """Within max_unpaired_rows, rows in another order wait and pair, as before."""
    rows = 2000
    ext = (
        '<extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
        f'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="{OCCURRENCE}"><files>'
        '<location>verbatim.txt</location></files><coreid index="0"/>'
        '<field index="1" term="http://rs.tdwg.org/dwc/terms/recordedBy"/></extension>'
    )
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "meta.xml", META.format(encoding="UTF-8").replace("</archive>", ext + "</archive>")
        )
        zf.writestr(
            "occurrence.txt",
            HEADER + b"".join(b"%d\tA%d\tSmith, J.\n" % (i, i) for i in range(rows)),
        )
        zf.writestr(
            "verbatim.txt",
            b"id\trecordedBy\n" + b"".join(b"%d\tSmith\n" % i for i in reversed(range(rows))),
        )
    report = tmp_path / "report.json"
    run = ingest(store, str(path), "--report", str(report))
    assert run.code == 0, run.stderr
    (got,) = json.loads(report.read_text())
    assert got["extensions"]["verbatim.txt"] == {"read": rows, "loaded": rows, "rejected": 0}
    run = ingest(
        store,
        str(path),
        "--replace",
        env={"COLLECTOMICS_MAX_UNPAIRED_ROWS": "100"},
    )
    _refused(run, "max_unpaired_rows")


# -- item 5: tracebacks and exit 1 instead of one line and exit 2 --------------------------------

ROWS = HEADER + b"".join(b"%d\tA%d\tSmith, J.\n" % (i, i) for i in range(3000))


def _member_offset(path: Path, name: str) -> int:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    return info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)


def test_a_member_with_a_bad_crc(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("meta.xml", META.format(encoding="UTF-8"))
        zf.writestr("occurrence.txt", ROWS)
    data = bytearray(path.read_bytes())
    data[_member_offset(path, "occurrence.txt") + 500] ^= 0x01  # a digit becomes another
    path.write_bytes(bytes(data))
    before = _datasets(store)
    _refused(ingest(store, str(path)), "crc.zip!occurrence.txt", "CRC")
    assert _datasets(store) == before


def test_a_member_with_a_broken_deflate_stream(store: Path, tmp_path: Path) -> None:
    path = archive(tmp_path / "deflate.zip", iter([ROWS]))
    data = bytearray(path.read_bytes())
    data[_member_offset(path, "occurrence.txt") + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    before = _datasets(store)
    _refused(ingest(store, str(path)), "deflate.zip!occurrence.txt", "damaged")
    assert _datasets(store) == before


def test_meta_xml_declaring_utf16_for_a_utf8_file(store: Path, tmp_path: Path) -> None:
    path = archive(tmp_path / "utf16.zip", iter([ROWS]), encoding="UTF-16")
    run = ingest(store, str(path))
    _refused(run, "utf16.zip!occurrence.txt", "UTF-16", "--encoding")
    assert ingest(store, str(path), "--encoding", "utf-8").code == 0


# -- XML and JSON ----------------------------------------------------------------------------------


def test_meta_xml_with_entities_or_deep_nesting(store: Path, tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE archive [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + "]>"
    )
    deep = "<x>" * 5000 + "</x>" * 5000
    for name, meta, words in [
        ("laughs.zip", laughs + META.format(encoding="UTF-8").replace("UTF-8", "&i;"), ["entity"]),
        ("deep.zip", META.format(encoding="UTF-8").replace("</core>", deep + "</core>"), ["100"]),
    ]:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("meta.xml", meta)
            zf.writestr("occurrence.txt", ROWS)
        _refused(ingest(store, str(path)), f"{name}!meta.xml", *words)


def test_deeply_nested_json(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "documents.json"
    path.write_text('{"documents": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _refused(ingest(store, str(path)), "documents.json", "nested")


def test_json_over_max_json_bytes(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "documents.json"
    path.write_text('{"documents": []}' + " " * 2000)
    run = ingest(store, str(path), env={"COLLECTOMICS_MAX_JSON_BYTES": "1000"})
    _refused(run, "documents.json", "max_json_bytes")


def test_an_rdf_statement_over_16_mib(store: Path, tmp_path: Path) -> None:
    """pyoxigraph's parser stops at 16 MiB a statement, with a MemoryError: was a traceback."""
    path = tmp_path / "big.nt"
    path.write_bytes(
        b'<http://example.org/s> <http://example.org/p> "' + b"z" * (17 << 20) + b'" .\n'
    )
    before = _datasets(store)
    _refused(ingest(store, str(path)), "big.nt", "too large")
    assert _datasets(store) == before


def test_the_zip_check_is_exact_at_the_limit(tmp_path: Path) -> None:
    """A member right at max_member_bytes reads; one byte more does not (library level)."""
    from collectomics.config import ReadLimits
    from collectomics.errors import InputError
    from collectomics.ingest.dwca import Archive

    path = archive(tmp_path / "a.zip", iter([ROWS]))
    limits = ReadLimits(max_member_bytes=len(ROWS), max_compression_ratio=0)
    with Archive.open(path, limits=limits) as arc:
        assert sum(1 for _ in arc.rows(arc.core)) == 3000
    limits = ReadLimits(max_member_bytes=len(ROWS) - 1, max_compression_ratio=0)
    with (
        pytest.raises(InputError, match="max_member_bytes"),
        Archive.open(path, limits=limits) as a,
    ):
        list(a.rows(a.core))


# -- item 5: several files, one failing ------------------------------------------------------------


def test_a_bad_rdf_file_stops_the_command_before_anything_loads(
    store: Path, tmp_path: Path
) -> None:
    """`ingest good.csv bad.ttl` used to commit `good`, exit 2 without a report, and refuse
    the same command once `bad.ttl` was fixed."""
    before = _datasets(store)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.ttl"
    good.write_bytes((FIX / "specimens-mixed.csv").read_bytes())
    bad.write_bytes((FIX / "broken.ttl").read_bytes())
    run = ingest(store, str(good), str(bad))
    _refused(run, "bad.ttl")
    assert _datasets(store) == before
    bad.write_bytes((FIX / "notes.ttl").read_bytes())
    run = ingest(store, str(good), str(bad))
    assert run.code == 0, run.stderr
    assert set(_datasets(store)) == set(before) | {
        "https://w3id.org/collectomics/graph/good",
        "https://w3id.org/collectomics/graph/bad",
    }
    # a changed file under an existing id is refused before the new one before it loads
    new, bad = tmp_path / "new.csv", tmp_path / "bad.ttl"
    new.write_bytes((FIX / "specimens-mixed.csv").read_bytes())
    bad.write_bytes((FIX / "notes.ttl").read_bytes() + b"\n# changed\n")
    after = _datasets(store)
    _refused(ingest(store, str(new), str(bad)), "'bad'", "--replace")
    assert _datasets(store) == after


def test_a_file_failing_mid_way_keeps_and_reports_what_loaded(store: Path, tmp_path: Path) -> None:
    """Each file is its own dataset: those before the failure stay, are reported and
    materialised; the same command, once the file is fixed, loads the rest."""
    from collectomics.analysis.network import facets_fresh
    from collectomics.iri import Minter

    good, long = tmp_path / "good.csv", tmp_path / "long.csv"
    good.write_bytes((FIX / "specimens-mixed.csv").read_bytes())
    long.write_bytes(b"catalogNumber,recordedBy\nL1,Smith\nL2," + b"y" * 5000 + b"\nL3,Jones\n")
    report = tmp_path / "report.json"
    env = {"COLLECTOMICS_MAX_LINE_BYTES": "1000"}
    run = ingest(store, str(good), str(long), "--report", str(report), env=env)
    assert run.code == 2 and "Traceback" not in run.stderr, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "long.csv" in last and "row 3" in last and "max_line_bytes" in last, last
    assert "loaded before this, and kept: good" in last, last
    assert run.stdout.startswith("good: read ")
    assert [r["dataset"] for r in json.loads(report.read_text())] == ["good"]
    graphs = _datasets(store)
    assert "https://w3id.org/collectomics/graph/good" in graphs
    assert "https://w3id.org/collectomics/graph/long" not in graphs
    with open_store(str(store)) as s:
        assert facets_fresh(s, Minter())

    long.write_bytes(b"catalogNumber,recordedBy\nL1,Smith\nL2,Brown\nL3,Jones\n")
    run = ingest(store, str(good), str(long), "--report", str(report), env=env)
    assert run.code == 0, run.stderr
    got = json.loads(report.read_text())
    assert [(r["dataset"], r["unchanged"], r["loaded"]) for r in got] == [
        ("good", True, 0),
        ("long", False, 3),
    ]
    assert (
        _datasets(store)["https://w3id.org/collectomics/graph/good"]
        == graphs["https://w3id.org/collectomics/graph/good"]
    )


@pytest.mark.parametrize("limit, refused", [(19, False), (18, True)])
def test_ingest_and_export_bound_waiting_verbatim_rows_alike(
    tmp_path: Path, limit: int, refused: bool
) -> None:
    """20 records whose verbatim rows come in reverse order: pairing the first makes 19 rows
    wait. Both readers take exactly max_unpaired_rows waiting rows and refuse one more (ingest
    counted the waiting core row too, and refused at 19 what the export took)."""
    from collectomics.config import ReadLimits
    from collectomics.errors import InputError
    from collectomics.ingest import ingest_files
    from collectomics.ingest.shards import export_shards
    from collectomics.iri import Minter
    from collectomics.store import OxigraphStore

    ext = (
        '<extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
        f'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="{OCCURRENCE}"><files>'
        '<location>verbatim.txt</location></files><coreid index="0"/>'
        '<field index="1" term="http://rs.tdwg.org/dwc/terms/recordedBy"/></extension>'
    )
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "meta.xml", META.format(encoding="UTF-8").replace("</archive>", ext + "</archive>")
        )
        zf.writestr(
            "occurrence.txt", HEADER + b"".join(b"%d\tA%d\tX, J.\n" % (i, i) for i in range(20))
        )
        zf.writestr(
            "verbatim.txt",
            b"id\trecordedBy\n" + b"".join(b"%d\tX\n" % i for i in range(19, -1, -1)),
        )
    limits = ReadLimits(max_unpaired_rows=limit)
    outcomes = []
    for run in (
        lambda: ingest_files(OxigraphStore(), [path], minter=Minter(), limits=limits),
        lambda: export_shards([path], tmp_path / "out", 2, minter=Minter(), limits=limits),
    ):
        try:
            run()
            outcomes.append(False)
        except InputError as exc:
            assert "max_unpaired_rows (" + str(limit) in str(exc)
            outcomes.append(True)
    assert outcomes == [refused, refused]
