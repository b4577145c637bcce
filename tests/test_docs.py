"""Documentation that runs: every SPARQL recipe in docs/sparql-cookbook.md answers on the demo,
and every link between the pages reaches its file and heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collectomics.ingest.demo import build_demo
from collectomics.iri import Minter
from collectomics.store import Store
from helpers import markdown_anchors, markdown_prose, new_store

DOCS = Path(__file__).resolve().parent.parent / "docs"
COOKBOOK = (DOCS / "sparql-cookbook.md").read_text("utf-8")
PREFIXES = re.search(r"```\n(PREFIX .*?)```", COOKBOOK, re.S).group(1)  # type: ignore[union-attr]
RECIPES = re.findall(r"^## (.+?)\n.*?```sparql\n(.*?)```", COOKBOOK, re.S | re.M)


@pytest.fixture(scope="module")
def demo_store(request: pytest.FixtureRequest) -> Store:
    store = new_store(request)
    build_demo(store, Minter())
    return store


def test_cookbook_has_recipes() -> None:
    assert len(RECIPES) >= 8


@pytest.mark.parametrize(("title", "query"), RECIPES, ids=[t for t, _ in RECIPES])
def test_recipe_answers_on_the_demo(demo_store: Store, title: str, query: str) -> None:
    rows = list(demo_store.query(PREFIXES + query).rows())
    assert rows, f"recipe {title!r} returned no rows on the demo graph"


def test_readme_tour_names_agents_that_exist(demo_store: Store) -> None:
    readme = (DOCS.parent / "README.md").read_text("utf-8")
    base = re.search(r"A=(https://\S+)", readme).group(1)  # type: ignore[union-attr]
    agents = re.findall(r"\$A/([A-Za-z0-9._-]+)", readme)
    assert agents
    for agent in agents:
        ask = (
            f"ASK {{ <{base}/{agent}> a <https://w3id.org/collectomics/ontology#NameStringAgent> }}"
        )
        assert demo_store.query(ask).boolean, f"README names {base}/{agent}, not in the demo graph"


def test_links_between_pages_reach_a_file_and_a_heading() -> None:
    """Every relative link in README.md and docs/ names a file that exists and, with ``#``, a
    heading of it."""
    pages = [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        text = markdown_prose(page.read_text("utf-8"))
        for target in re.findall(r"\]\(<?([^)\s>]+)>?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif (
                anchor
                and path.suffix == ".md"
                and anchor not in markdown_anchors(path.read_text("utf-8"))
            ):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
