"""The CLI end to end, in subprocesses, on a temporary on-disk store (a server under a backend)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import StoreLocation, new_location, run_cli

FIX = Path(__file__).resolve().parent / "data" / "ingest"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> StoreLocation:
    db = new_location(request, tmp_path_factory.mktemp("cli") / "store.db")
    r = run_cli("ingest", str(FIX / "specimens-mixed.csv"), "--dataset", "bcn", store=db)
    assert r.returncode == 0, r.stderr
    assert (
        "read 5, loaded 4, rejected 1" in r.stdout
    )  # row 4 has no catalogue number: its row keys it
    assert "row 5: row has 11 fields" in r.stderr
    r = run_cli("ingest", str(FIX / "people-mixed.csv"), str(FIX / "notes.ttl"), store=db)
    assert r.returncode == 0, r.stderr
    return db


def test_stats(loaded: StoreLocation) -> None:
    r = run_cli("stats", "--json", store=loaded)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["datasets"] == 3
    assert stats["specimens"] == 4 and stats["people"] == 3 and stats["documents"] == 1
    assert (
        stats["identity_links"] == 3
    )  # Blanché: Wikidata + IPNI; Pedrol: IPNI (bad ORCID left out)
    assert "https://w3id.org/collectomics/graph/bcn" in stats["graphs"]


def test_canned_query_with_parameter(loaded: StoreLocation) -> None:
    r = run_cli(
        "query", "specimens-by-country", "--param", "country=ES", "--format", "csv", store=loaded
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows == [{"country": "ES", "institution": "BCN", "specimens": "4"}]
    r = run_cli(
        "query", "specimens-by-country", "--param", "country=MY", "--format", "csv", store=loaded
    )
    assert list(csv.DictReader(io.StringIO(r.stdout))) == []


def test_query_from_stdin_and_file(loaded: StoreLocation, tmp_path: Path) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://rs.tdwg.org/dwc/terms/Event> }"
    r = run_cli("query", "-", "--format", "tsv", store=loaded, input=q)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].lstrip('"').startswith("4")  # one event per loaded record
    f = tmp_path / "q.rq"
    f.write_text(
        "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t FILTER(?t = <https://www.ica.org/standards/RiC/ontology#Record>) }"
    )
    r = run_cli("query", str(f), "--format", "ntriples", store=loaded)
    assert r.returncode == 0 and "notebook-1" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "no-such-query"], "no canned query named 'no-such-query'"),
        (["query", "specimens-by-country", "--param", "nation=ES"], "unknown parameter 'nation'"),
        (
            ["query", "person-itinerary", "--param", "agent=not an iri", "--param", "year=1983"],
            "expects an IRI",
        ),
        (["query", "-", "--format", "csv"], "syntax error"),
        (["ingest", "/nonexistent/file.csv"], "no such file"),
        (["ingest", str(FIX / "mystery.csv")], "cannot tell what this file holds"),
    ],
)
def test_errors_are_one_clear_line(loaded: StoreLocation, args: list[str], message: str) -> None:
    r = run_cli(*args, store=loaded, input="SELEC nothing")
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_reingest_needs_replace(loaded: StoreLocation) -> None:
    r = run_cli("ingest", str(FIX / "people-mixed.csv"), "--dataset", "bcn", store=loaded)
    assert r.returncode == 2 and "--replace" in r.stderr
    # the files it was loaded from: unchanged, skipped (so a command can be run again)
    r = run_cli("ingest", str(FIX / "specimens-mixed.csv"), "--dataset", "bcn", store=loaded)
    assert r.returncode == 0 and "bcn: unchanged" in r.stdout, r.stderr


def test_report_json_counts_add_up(tmp_path: Path, store_location: StoreLocation) -> None:
    db, report = store_location, tmp_path / "report.json"
    r = run_cli("ingest", str(FIX / "specimens-mixed.csv"), "--report", str(report), store=db)
    assert r.returncode == 0, r.stderr
    [data] = json.loads(report.read_text())
    assert data["read"] == data["loaded"] + data["rejected"] == 5
    assert {"file", "row", "column", "reason", "severity"} <= set(data["problems"][0])


def test_export_and_restore_round_trip(
    loaded: StoreLocation, tmp_path: Path, make_location: Callable[[str], StoreLocation]
) -> None:
    dump = tmp_path / "all.nq"
    r = run_cli("export", str(dump), store=loaded)
    assert r.returncode == 0, r.stderr
    other = make_location("restored.db")
    r = run_cli("restore", str(dump), "--yes", store=other)
    assert r.returncode == 0, r.stderr
    dump2 = tmp_path / "again.nq"
    run_cli("export", str(dump2), store=other)
    assert sorted(dump.read_text().splitlines()) == sorted(dump2.read_text().splitlines())
    r = run_cli("export", "-", "--format", "turtle", store=loaded)
    assert (
        r.returncode == 0 and "@prefix" in r.stdout or "<https://w3id.org/collectomics/" in r.stdout
    )


def test_environment_names_the_store(loaded: StoreLocation) -> None:
    r = run_cli("stats", "--json", env=loaded.settings())
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["specimens"] == 4


def test_every_command_has_help_and_docs() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    from collectomics.cli import main

    for name, command in main.commands.items():
        assert command.help, f"command {name} has no help text"
        assert f"collectomics {name}" in doc, f"docs/cli.md does not document `collectomics {name}`"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in doc, f"docs/cli.md lacks {opt} of `collectomics {name}`"
