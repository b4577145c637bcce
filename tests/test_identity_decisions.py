"""Reviewed links from a file (collectomics.linking.decisions): recorded as `review` records
them, refreshing the identities; a bad row is one clear error and the store is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectomics.analysis import identity
from collectomics.errors import InputError
from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.linking.decisions import COLUMNS, load_decisions
from collectomics.linking.service import links_graph, read_matches
from collectomics.resources import resource_path
from collectomics.store import Store
from remote_servers import new_store

B = "https://w3id.org/collectomics/"
AGENT = "agent/gbif-0009886-250127130748423/maria-bosch-e6bd3659"
OTHER = "agent/gbif-0009886-250127130748423/maria-bosch-daniel-1a9de3ea"


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = new_store(request, tmp_path_factory.mktemp("decisions") / "store")
    build_demo(store, Minter())
    return store


def _file(tmp_path: Path, *rows: list[str], header: tuple[str, ...] = COLUMNS) -> Path:
    import csv

    path = tmp_path / "links.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_the_demo_links_are_recorded_as_review_decisions_by_a_person(demo: Store) -> None:
    matches = read_matches(demo, Minter())
    shipped = (resource_path("demo") / "links.csv").read_text("utf-8").count("\n") - 1
    reviewed = [m for m in matches.values() if m.justification == "ManualMappingCuration"]
    assert len(reviewed) == shipped == 7
    for m in reviewed:
        assert m.status == "accepted" and m.attributed_to == B + "person/demo-curator"
        assert m.by_human and m.comment
    assert identity.fresh(demo, Minter())


def test_a_decision_joins_two_name_strings_and_refreshes_the_identities(
    demo: Store, tmp_path: Path
) -> None:
    minter = Minter()
    assert identity.load(demo, minter).resolve(B + OTHER) == B + OTHER
    row = [OTHER, "Maria Bosch Daniel", B + AGENT, "Maria Bosch", "accepted", "Ann Reviewer"]
    report = load_decisions(demo, minter, _file(tmp_path, [*row, "2026-12-06", "full name"]))
    assert report.decisions == report.accepted == 1 and report.identity is not None
    ident = identity.load(demo, minter)
    assert ident.resolve(B + OTHER) == ident.resolve(B + AGENT)
    # undone: proposed again, the two are apart
    load_decisions(
        demo, minter, _file(tmp_path, [*row[:4], "proposed", "Ann Reviewer", "2026-12-07", ""])
    )
    ident = identity.load(demo, minter)
    assert ident.resolve(B + OTHER) != ident.resolve(B + AGENT)


@pytest.mark.parametrize(
    ("row", "where"),
    [
        (
            [AGENT, "", "http://www.wikidata.org/entity/Q1", "", "maybe", "X", "2026-12-06", ""],
            "decision",
        ),
        (
            [AGENT, "", "http://www.wikidata.org/entity/Q1", "", "accepted", "", "2026-12-06", ""],
            "reviewer",
        ),
        (
            [AGENT, "", "http://www.wikidata.org/entity/Q1", "", "accepted", "X", "06/12/2026", ""],
            "date",
        ),
        (
            ["", "", "http://www.wikidata.org/entity/Q1", "", "accepted", "X", "2026-12-06", ""],
            "agent",
        ),
        ([AGENT, "", "not an iri", "", "accepted", "X", "2026-12-06", ""], "target"),
        (
            [
                "agent/nobody/x",
                "",
                "http://www.wikidata.org/entity/Q1",
                "",
                "accepted",
                "X",
                "2026-12-06",
                "",
            ],
            None,
        ),
    ],
)
def test_a_bad_row_is_one_clear_error_and_changes_nothing(
    demo: Store, tmp_path: Path, row: list[str], where: str | None
) -> None:
    minter = Minter()
    before = demo.count(links_graph(minter))
    with pytest.raises(InputError) as err:
        load_decisions(demo, minter, _file(tmp_path, row))
    assert err.value.file and err.value.row == 2
    assert err.value.column == where
    assert demo.count(links_graph(minter)) == before


def test_a_file_without_the_columns_is_refused(demo: Store, tmp_path: Path) -> None:
    path = _file(tmp_path, ["a", "b"], header=("agent", "target"))
    with pytest.raises(InputError, match="missing columns: name_as_written"):
        load_decisions(demo, Minter(), path)
