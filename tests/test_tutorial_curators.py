"""docs/tutorial-curators.md runs: its commands, in order, print what it shows.

Every `collectomics` line of its ```sh blocks is run with the real CLI (``/tmp/tut`` mapped to a
temporary folder, commands naming ``tests/data/`` run from the repository's root, the others from
that folder, which holds a copy of the GBIF download and the ```sparql blocks saved under the
names their first line gives). A plain ``` block right after a ```sh block is that block's output:
each of its lines, but ``...``, must be a line the commands print (stdout or stderr). Figures
given in the prose are checked one by one below. `validate` runs too (about 2.5 s on this store).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import run_cli

REPO = Path(__file__).resolve().parent.parent
TUTORIAL_PATH = REPO / "docs" / "tutorial-curators.md"
TUTORIAL = TUTORIAL_PATH.read_text("utf-8")
DOWNLOAD = (
    REPO / "tests" / "data" / "real" / "finch-gbif-download-2015" / "0000154-150116162929234.zip"
)
DATASET = "0000154-150116162929234"
GRAPH = f"https://w3id.org/collectomics/graph/{DATASET}"
_FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    lang: str
    body: str
    start: int
    end: int


@dataclass
class Step:
    """A ```sh block's `collectomics` commands and the output block shown after it, if any."""

    commands: list[list[str]]
    shown: list[str] | None


def _blocks() -> list[Block]:
    return [Block(m.group(1), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(TUTORIAL)]


def _commands(body: str) -> list[list[str]]:
    out = []
    for line in body.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "collectomics":
            out.append(words[1:])
    return out


def _steps() -> list[Step]:
    blocks = _blocks()
    steps = []
    for i, block in enumerate(blocks):
        if block.lang != "sh":
            continue
        commands = _commands(block.body)
        if not commands:
            continue
        shown = None
        if i + 1 < len(blocks):
            nxt = blocks[i + 1]
            if nxt.lang == "" and not TUTORIAL[block.end : nxt.start].strip():
                shown = nxt.body.splitlines()
        steps.append(Step(commands, shown))
    return steps


def _sparql_files() -> dict[str, str]:
    files = {}
    for block in _blocks():
        if block.lang == "sparql":
            first = block.body.splitlines()[0]
            m = re.fullmatch(r"# (\S+\.rq)", first.strip())
            assert m, f"a ```sparql block must start with '# NAME.rq': {first!r}"
            files[m.group(1)] = block.body
    return files


STEPS = _steps()
SPARQL = _sparql_files()


@dataclass
class Ran:
    words: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines() + self.stderr.splitlines()


@dataclass
class Run:
    """The tutorial, run: the results per step, the folder, and the dataset's graph as exported
    right before and right after its `--replace`."""

    results: list[list[Ran]]
    work: Path
    before_replace: list[str]
    after_replace: list[str]


def _graph_lines(nquads: Path) -> list[str]:
    return sorted(line for line in nquads.read_text("utf-8").splitlines() if f"<{GRAPH}>" in line)


@pytest.fixture(scope="module")
def tutorial_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    if not DOWNLOAD.exists():
        pytest.skip(f"{DOWNLOAD} is not here (tests/data/real)")
    work = tmp_path_factory.mktemp("tut")
    shutil.copy(DOWNLOAD, work / DOWNLOAD.name)
    for name, text in SPARQL.items():
        (work / name).write_text(text, "utf-8")
    before: list[str] = []
    after: list[str] = []
    results = []
    for step in STEPS:
        ran = []
        for words in step.commands:
            args = [w.replace("/tmp/tut", str(work)) for w in words]
            cwd = REPO if any(w.startswith("tests/data/") for w in words) else work
            replacing = "--replace" in args and DOWNLOAD.name in args
            if replacing:
                run_cli("--store", str(work / "store"), "export", str(work / "before.nq"), cwd=work)
                before = _graph_lines(work / "before.nq")
            r = run_cli(*args, cwd=cwd)
            ran.append(Ran(words, r.returncode, r.stdout, r.stderr))
            if replacing:
                assert r.returncode == 0, r.stderr
                run_cli("--store", str(work / "store"), "export", str(work / "after.nq"), cwd=work)
                after = _graph_lines(work / "after.nq")
        results.append(ran)
    return Run(results, work, before, after)


def test_the_tutorial_has_steps_to_check() -> None:
    shown = [s for s in STEPS if s.shown]
    assert len(STEPS) >= 10 and len(shown) >= 9, "the tutorial's commands were not found"
    assert {"locality.rq", "country.rq", "collectors.rq"} <= set(SPARQL)
    assert "python -m collectomics" in TUTORIAL


@pytest.mark.parametrize(
    "index",
    range(len(STEPS)),
    ids=[" ; ".join(" ".join(c) for c in s.commands)[:80] for s in STEPS],
)
def test_step_prints_what_the_tutorial_shows(tutorial_run: Run, index: int) -> None:
    step, ran = STEPS[index], tutorial_run.results[index]
    assert ran, f"step {index} ran no command"
    if step.shown is None:
        for r in ran:
            assert r.returncode == 0, f"{r.words}: {r.stderr}"
        return
    printed = [line for r in ran for line in r.lines]
    for line in step.shown:
        if line.strip() == "...":
            continue
        assert line in printed, f"shown but not printed: {line!r}\nprinted:\n" + "\n".join(printed)


def test_gbif_summary_line_is_in_the_tutorial(tutorial_run: Run) -> None:
    first = tutorial_run.results[0][0]
    assert first.words[-1] == "report.json" and DOWNLOAD.name in first.words, first.words
    assert first.returncode == 0, first.stderr
    summary = first.stdout.splitlines()[0]
    m = re.match(
        rf"{DATASET}: read (\d+), loaded (\d+), rejected (\d+) records; (\d+) triples", summary
    )
    assert m, summary
    read, loaded, rejected, _ = map(int, m.groups())
    assert read == loaded + rejected
    assert summary in TUTORIAL.splitlines(), summary


def test_every_shown_summary_adds_up() -> None:
    for m in re.finditer(r"read (\d+), loaded (\d+), rejected (\d+)", TUTORIAL):
        read, loaded, rejected = map(int, m.groups())
        assert read == loaded + rejected, m.group(0)


def test_unchanged_reingest_and_replace(tutorial_run: Run) -> None:
    [[unchanged, replaced]] = [
        ran
        for ran in tutorial_run.results
        if any("--replace" in r.words and DOWNLOAD.name in r.words for r in ran)
    ]
    assert unchanged.returncode == 0 and ": unchanged" in unchanged.stdout, unchanged.stderr
    first = tutorial_run.results[0][0]
    assert replaced.stdout == first.stdout  # the same lines as the first load
    assert len(first.stdout.splitlines()) == 5  # and the two files' terms kept verbatim
    assert tutorial_run.before_replace and tutorial_run.before_replace == tutorial_run.after_replace


def test_every_sparql_block_is_run_and_answers(tutorial_run: Run) -> None:
    used: dict[str, int] = {}
    for ran in tutorial_run.results:
        for r in ran:
            if "query" in r.words:
                name = Path(r.words[r.words.index("query") + 1]).name
                assert r.returncode == 0, r.stderr
                rows = r.stdout.splitlines()[1:]
                assert rows, f"{name} answered no row"
                used[name] = used.get(name, 0) + 1
    assert set(used) == set(SPARQL), f"blocks not run: {set(SPARQL) - set(used)}"


def _contains(real: Any, shown: Any) -> bool:
    if isinstance(shown, dict):
        return isinstance(real, dict) and all(
            k in real and _contains(real[k], v) for k, v in shown.items()
        )
    if isinstance(shown, list):
        return isinstance(real, list) and all(any(_contains(r, s) for r in real) for s in shown)
    return bool(real == shown)


def test_json_excerpts_are_in_the_reports(tutorial_run: Run) -> None:
    reports = {}
    for path in tutorial_run.work.glob("*.json"):
        for dataset in json.loads(path.read_text("utf-8")):
            reports[dataset["dataset"]] = dataset
    excerpts = [json.loads(b.body) for b in _blocks() if b.lang == "json"]
    assert len(excerpts) >= 2
    for excerpt in excerpts:
        assert excerpt["dataset"] in reports, excerpt["dataset"]
        assert _contains(reports[excerpt["dataset"]], excerpt), json.dumps(excerpt)[:200]


def test_the_warnings_are_as_the_tutorial_counts_them(tutorial_run: Run) -> None:
    [report] = json.loads((tutorial_run.work / "report.json").read_text("utf-8"))
    problems = report["problems"]
    assert len(problems) == 12 and all(p["severity"] == "warning" for p in problems)
    assert {p["file"] for p in problems} == {f"{DOWNLOAD.name}!occurrence.txt"}
    assert not [p for p in problems if p["column"] is None]  # no term is ignored any more
    assert report["terms"]["occurrence.txt"]["gbif:issue"][0] > 0  # flags: mapped
    assert report["terms"]["occurrence.txt"]["dcterms:rights"] == [0, 382]  # kept verbatim
    assert [p["reason"] for p in problems if p["column"] == "recordedBy"] == [
        "no agent name found in '?'"
    ] * 2
    assert [p["reason"] for p in problems if p["column"] == "identifiedBy"] == [
        "no agent name found in '[no agent data]'"
    ] * 6
    assert [p["reason"] for p in problems if p["column"] == "georeferencedBy"] == [
        "no agent name found in '[no agent data]'"
    ] * 4
    for text in (
        "0 errors, 12 warnings",
        "two of the 12\nproblems",
        "four that `georeferencedBy` is",
        "six that\n`identifiedBy` is MCZ's placeholder `[no agent data]`",
        "`recordedBy` is only `?`",
        "are kept on the specimen as\n`dcterms:identifier`",
    ):
        assert text in TUTORIAL, text
    for stale in ("227", "224"):
        assert stale not in TUTORIAL, stale


def test_record_identifiers_are_kept_on_the_specimen(tutorial_run: Run) -> None:
    """The tutorial: GBIF's `dcterms:identifier` values (`urn:catalog:...`) are kept on the
    specimen as `dcterms:identifier`, and no longer read as `identifiedBy`."""
    assert "(`urn:catalog:...`, GUIDs, numbers)" in TUTORIAL
    kept = _query(
        tutorial_run,
        "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> "
        "SELECT ?c { ?s a dwc:MaterialEntity ; dwc:catalogNumber ?c ; "
        '<http://purl.org/dc/terms/identifier> "urn:catalog:AMNH:Mammals:M-239116" }',
    )
    assert kept == ["M-239116"], kept
    assert _query(
        tutorial_run,
        "SELECT (COUNT(*) AS ?n) { ?x <http://rs.tdwg.org/dwc/terms/identifiedBy> ?v "
        'FILTER(STRSTARTS(STR(?v), "urn:catalog:")) }',
    ) == ["0"]


def _query(run: Run, text: str) -> list[str]:
    r = run_cli("--store", str(run.work / "store"), "query", "-", "--format", "csv", input=text)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[1:]


def test_figures_in_the_prose(tutorial_run: Run) -> None:
    per_graph = _query(
        tutorial_run, "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    )
    counts = sorted(int(row.rsplit(",", 1)[1]) for row in per_graph)
    assert counts == [150, 712, 40689], per_graph
    assert "40,689 in the dataset's graph (40,800 written: 111 twice), 712 in the" in TUTORIAL
    assert "and 150 in the identity graph" in TUTORIAL
    assert sum(counts) == 41551 and "The 41,551 triples are" in TUTORIAL
    assert "triples: 41,551" in TUTORIAL
    [report] = json.loads((tutorial_run.work / "report.json").read_text("utf-8"))
    assert report["triples"] == 40800 == counts[2] + 111
    assert report["unknown_agents"] == 12 and '(`"unknown_agents": 12`)' in TUTORIAL
    assert _query(
        tutorial_run,
        'SELECT (COUNT(*) AS ?n) { ?s <http://rs.tdwg.org/dwc/terms/basisOfRecord> "UNKNOWN" ; '
        "a <http://rs.tdwg.org/dwc/terms/Occurrence> FILTER NOT EXISTS "
        "{ ?s a <http://rs.tdwg.org/dwc/terms/MaterialEntity> } }",
    ) == ["1"]
    collectors = _query(tutorial_run, SPARQL["collectors.rq"].replace("LIMIT 5", ""))
    for row in ("William R. Buck,19", "Willaim R. Buck,6"):
        assert row in collectors and f"`{row}`" in TUTORIAL, row
    verbatim = _query(
        tutorial_run,
        "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> PREFIX prov: <http://www.w3.org/ns/prov#> "
        "PREFIX col: <https://w3id.org/collectomics/ontology#> "
        'SELECT ?i ?v { ?s dwc:catalogNumber "16161" ; col:collectingEvent/dwc:eventDate ?i ; '
        "prov:wasDerivedFrom/dwc:eventDate ?v }",
    )
    assert verbatim == ["1986-04-18T00:00Z,1986-4-18"], verbatim
    assert "`eventDate` `1986-4-18` of catalogue number 16161" in TUTORIAL
    assert "`1986-04-18T00:00Z`" in TUTORIAL
    changed = _query(
        tutorial_run,
        "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> PREFIX prov: <http://www.w3.org/ns/prov#> "
        "SELECT ?v { ?s prov:wasDerivedFrom/dwc:recordedBy ?v } LIMIT 1",
    )
    assert changed == [], "GBIF changed a recordedBy after all: the tutorial says none"


def test_the_utf16_file_is_read_as_written(tutorial_run: Run) -> None:
    """The tutorial: the UTF-16 file loads on its own; `Blanché, Cèsar` is loaded as written."""
    assert "`Blanché, Cèsar` is loaded as written" in TUTORIAL
    r = run_cli(
        "--store",
        str(tutorial_run.work / "quirks"),
        "query",
        "-",
        "--format",
        "csv",
        input="SELECT ?v { GRAPH <https://w3id.org/collectomics/graph/bcn-utf16> "
        "{ ?s <http://rs.tdwg.org/dwc/terms/recordedBy> ?v } } ORDER BY ?v",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ['"Blanché, Cèsar"', '"Bosch, Maria & Molero, Julià"']


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal (stderr a tty), a progress line with records and records/s; the tutorial
    quotes its last state for this download."""
    if not DOWNLOAD.exists():
        pytest.skip(f"{DOWNLOAD} is not here")
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOMICS_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collectomics",
            "--store",
            str(tmp_path / "s"),
            "ingest",
            str(DOWNLOAD),
        ],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    text = seen.decode("utf-8", "replace")
    last = re.findall(r"(\d+) records \[\d\d:\d\d, [\d.]+[kM]? records/s\]", text)
    assert last and last[-1] == "444", text
    assert re.search(r"`444 records \[00:00, [\d.]+[kM]? records/s\]`", TUTORIAL)
