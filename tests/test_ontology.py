"""The ontology, the Python vocabulary generated from it and its generated reference pages."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from collectomics import vocab
from collectomics.model import IRI
from collectomics.resources import resource_path
from helpers import markdown_anchors

REPO = Path(__file__).resolve().parents[1]
# the generators are developer tools outside the wheel: .ci/tools/ (run by `python3 dev.py generate`)
sys.path.insert(0, str(REPO / ".ci" / "tools"))
import ontodoc as _ontodoc  # noqa: E402
import vocabgen as _vocabgen  # noqa: E402

TTL = resource_path("ontology") / "collectomics.ttl"
DOCS = REPO / "docs"
ONTOLOGY = URIRef("https://w3id.org/collectomics/ontology")
VERSION_BASE = "https://w3id.org/collectomics/ontology/"
OWN = {"col": _vocabgen.COL, "role": _vocabgen.ROLE, "status": _vocabgen.STATUS}

REGEN_DOCS = (
    "run `python3 dev.py generate` to regenerate docs/ontology.html and "
    "docs/ontology.md, then commit them"
)
REGEN_VOCAB = (
    "run `python3 dev.py generate` to regenerate src/collectomics/vocab.py, then commit it"
)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph().parse(TTL)


@pytest.fixture(scope="module")
def rendered(graph: Graph) -> dict[str, str]:
    return _ontodoc.outputs(graph)


def _english(graph: Graph, subject: URIRef, predicate: URIRef) -> list[Literal]:
    return [
        o
        for o in graph.objects(subject, predicate)
        if isinstance(o, Literal) and (o.language or "").lower().split("-")[0] == "en"
    ]


def _declared(graph: Graph) -> list[URIRef]:
    return sorted(
        {
            s
            for s in graph.subjects(RDF.type, None)
            if isinstance(s, URIRef) and any(str(s).startswith(ns) for ns in OWN.values())
        }
    )


# ------------------------------------------------------------------------------ the ontology


def test_ontology_parses() -> None:
    try:
        graph = Graph().parse(TTL)
    except Exception as exc:  # any parser error is the finding
        pytest.fail(f"{TTL} is not valid Turtle ({exc}); fix the syntax at the reported line")
    assert len(graph) > 100, f"{TTL} parsed to only {len(graph)} triples; is it truncated?"
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in graph, (
        f"{TTL} lacks its header; declare <{ONTOLOGY}> a owl:Ontology"
    )


def test_every_term_has_an_english_label_and_definition(graph: Graph) -> None:
    terms = _declared(graph)
    assert len(terms) > 20, "too few declared terms in col:, role:, status:; is the ontology cut?"
    missing = []
    for term in terms:
        for predicate, name in ((RDFS.label, "rdfs:label"), (SKOS.definition, "skos:definition")):
            if not _english(graph, term, predicate):
                missing.append(f'<{term}> needs {name} "..."@en')
    assert not missing, f"add to {TTL.name}:\n" + "\n".join(missing)


def test_version_iri(graph: Graph) -> None:
    versions = [str(v) for v in graph.objects(ONTOLOGY, OWL.versionIRI)]
    assert len(versions) == 1, (
        f"the ontology header needs exactly one owl:versionIRI, found {versions}; "
        f"add owl:versionIRI <{VERSION_BASE}X.Y.Z> to <{ONTOLOGY}>"
    )
    assert versions[0].startswith(VERSION_BASE) and len(versions[0]) > len(VERSION_BASE), (
        f"owl:versionIRI {versions[0]} must be under {VERSION_BASE}, e.g. <{VERSION_BASE}0.1.0>"
    )


@pytest.mark.parametrize(
    "name",
    [
        "collector",
        "determiner",
        "preparator",
        "labelWriter",
        "guide",
        "informant",
        "photographer",
        "transcriber",
        "donor",
        "owner",
    ],
)
def test_agent_role_scheme_has_role(graph: Graph, name: str) -> None:
    scheme = URIRef(_vocabgen.ROLE)
    concept = URIRef(_vocabgen.ROLE + name)
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph, (
        f"declare <{scheme}> a skos:ConceptScheme in {TTL.name}"
    )
    assert (concept, RDF.type, SKOS.Concept) in graph, (
        f"declare role:{name} a skos:Concept in {TTL.name} (the product records this role)"
    )
    assert (concept, SKOS.inScheme, scheme) in graph, (
        f"add `role:{name} skos:inScheme role:` in {TTL.name}"
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SpecimenLabel", OWL.Class),
        ("HandwritingAttribution", OWL.Class),
        ("IdentityMatch", OWL.Class),
        ("DateInference", OWL.Class),
        ("DescribedPerson", OWL.Class),
        ("confidence", OWL.DatatypeProperty),
        ("evidence", OWL.ObjectProperty),
        ("earliestDate", OWL.DatatypeProperty),
        ("latestDate", OWL.DatatypeProperty),
        ("nameAsWritten", OWL.DatatypeProperty),
        ("collectingEvent", OWL.ObjectProperty),
        ("matchStatus", OWL.ObjectProperty),
    ],
)
def test_terms_the_product_needs(graph: Graph, name: str, kind: URIRef) -> None:
    term = URIRef(_vocabgen.COL + name)
    assert (term, RDF.type, kind) in graph, (
        f"the code uses col:{name}; declare it `a owl:{kind.split('#')[1]}` in {TTL.name} "
        f"(with an rdfs:label and skos:definition) and regenerate vocab.py and the docs"
    )


# ------------------------------------------------------------------------------ generated files


def test_vocab_module_is_fresh() -> None:
    path = Path(vocab.__file__)
    assert path.read_text(encoding="utf-8") == _vocabgen.render(), (
        f"{path} is stale against {TTL.name}; {REGEN_VOCAB}"
    )


@pytest.mark.parametrize("name", [_ontodoc.HTML_NAME, _ontodoc.MD_NAME])
def test_ontology_docs_are_fresh(rendered: dict[str, str], name: str) -> None:
    path = DOCS / name
    assert path.is_file(), f"{path} is missing; {REGEN_DOCS}"
    assert path.read_text(encoding="utf-8") == rendered[name], (
        f"{path} is stale against {TTL.name}; {REGEN_DOCS}"
    )


def _vocab_terms() -> list[tuple[str, str, str]]:
    """(prefix, local name, IRI) of every term in vocab.COL, vocab.ROLE and vocab.STATUS."""
    out = []
    for prefix, cls in (("col", vocab.COL), ("role", vocab.ROLE), ("status", vocab.STATUS)):
        for attr, value in sorted(vars(cls).items()):
            if attr in {"NS", "ONTOLOGY", "SCHEME", "VERSION"} or not isinstance(value, IRI):
                continue
            out.append((prefix, attr, str(value)))
    return out


def test_every_vocab_term_has_an_anchor() -> None:
    path = DOCS / _ontodoc.HTML_NAME
    assert path.is_file(), f"{path} is missing; {REGEN_DOCS}"
    checker = _HTMLChecker()
    checker.feed(path.read_text(encoding="utf-8"))
    checker.close()
    terms = _vocab_terms()
    assert len(terms) > 20, f"vocab.py lists too few terms; {REGEN_VOCAB}"
    missing = [
        f"{prefix}:{local}"
        for prefix, local, _ in terms
        if local not in checker.ids and f"{prefix}-{local}" not in checker.ids
    ]
    missing += [f"{p}: (scheme)" for p in ("role", "status") if f"scheme-{p}" not in checker.ids]
    assert not missing, f"no anchor in {path.name} for {missing}; {REGEN_DOCS}"
    assert "SpecimenLabel" in checker.ids, f"ontology.html#SpecimenLabel must work; {REGEN_DOCS}"


# ------------------------------------------------------------------------------ page quality


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _HTMLChecker(HTMLParser):
    """Records unbalanced tags, duplicate ids, internal links and anything loaded from outside."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.fragments: set[str] = set()
        self.tags: set[str] = set()
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id" and value is not None:
                if value in self.ids:
                    self.errors.append(f"duplicate id {value!r} at {self.getpos()}")
                self.ids.add(value)
            if name == "href" and value and value.startswith("#"):
                self.fragments.add(value[1:])
            if name in {"src", "srcset"} or (name == "href" and tag == "link"):
                self.errors.append(f"external resource {name}={value!r} at {self.getpos()}")
        if tag == "style":
            self._in_style = True
        if tag not in _VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag in _VOID:
            return
        if not self.stack:
            self.errors.append(f"</{tag}> with nothing open at {self.getpos()}")
            return
        open_tag, where = self.stack.pop()
        if open_tag != tag:
            self.errors.append(f"<{open_tag}> opened at {where} closed by </{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data

    def close(self) -> None:
        super().close()
        self.errors += [f"<{tag}> opened at {where} never closed" for tag, where in self.stack]
        self.stack = []


def _check_html(text: str) -> _HTMLChecker:
    checker = _HTMLChecker()
    checker.feed(text)
    checker.close()
    return checker


def test_html_is_well_formed_and_self_contained(rendered: dict[str, str]) -> None:
    text = rendered[_ontodoc.HTML_NAME]
    assert text.startswith("<!DOCTYPE html>"), "the page must start with <!DOCTYPE html>"
    checker = _check_html(text)
    assert not checker.errors, "malformed HTML from _ontodoc:\n" + "\n".join(checker.errors)
    dangling = sorted(checker.fragments - checker.ids)
    assert not dangling, f"links to missing anchors {dangling}; fix _ontodoc's anchor map"
    assert "script" not in checker.tags, "the reference page must not carry scripts"
    assert checker.style.strip(), "the page should carry its small inline stylesheet"
    for needle in ("url(", "@import", "http"):
        assert needle not in checker.style, f"the stylesheet must not load anything ({needle!r})"
    for section in ("classes", "object-properties", "datatype-properties", "concept-schemes"):
        assert section in checker.ids, f"section #{section} missing from the HTML"
    assert "reused-vocabularies" in checker.ids, "the 'Reused vocabularies' section is missing"
    for prefix, namespace in _vocabgen.NAMESPACES.items():
        assert f"<code>{prefix}:</code>" in text and namespace in text, (
            f"prefix {prefix}: <{namespace}> missing from 'Reused vocabularies'"
        )


def test_html_shows_header_and_term_details(graph: Graph, rendered: dict[str, str]) -> None:
    text = rendered[_ontodoc.HTML_NAME]
    for value in graph.objects(ONTOLOGY, OWL.versionIRI):
        assert str(value) in text, "the version IRI is missing from the page header"
    for value in graph.objects(ONTOLOGY, OWL.versionInfo):
        assert f"<dd>{value}</dd>" in text, "the version info is missing from the page header"
    assert "creativecommons.org/publicdomain/zero/1.0/" in text, "the licence is missing"
    label = html.escape(
        str(_english(graph, URIRef(_vocabgen.COL + "SpecimenLabel"), RDFS.label)[0])
    )
    article = text[text.index('id="SpecimenLabel"') :]
    article = article[: article.index("</article>")]
    assert label in article and "rico:Record" in article and "Scope note" in article, (
        "the col:SpecimenLabel section lacks its label, superclasses or scope note"
    )
    assert "#writingMethod" in article, "a class should list the properties whose domain it is"
    prop = text[text.index('id="collectingEvent"') :]
    prop = prop[: prop.index("</article>")]
    assert "functional" in prop and "dwc:MaterialEntity" in prop and "dwc:Event" in prop, (
        "col:collectingEvent should show its domain, range and that it is functional"
    )


def test_markdown_anchors_and_links(rendered: dict[str, str]) -> None:
    text = rendered[_ontodoc.MD_NAME]
    ids = markdown_anchors(text)
    html_ids = _check_html(rendered[_ontodoc.HTML_NAME]).ids
    term_ids = html_ids - {"overview"}
    assert term_ids <= ids, f"anchors in the HTML but not the Markdown: {sorted(term_ids - ids)}"
    targets = set(re.findall(r"\]\(<?#([^)>]+)>?\)", text))
    assert targets, "the Markdown should link to its sections and terms"
    assert not targets - ids, f"Markdown links to missing anchors {sorted(targets - ids)}"
    assert "<script" not in text, "the Markdown must not carry raw HTML from the ontology"


# ------------------------------------------------------------------------------ the generator


_HOSTILE = """
@prefix col: <https://w3id.org/collectomics/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://w3id.org/collectomics/ontology> a owl:Ontology ;
    rdfs:label "Evil <script>alert(1)</script> & co"@en .
col:A a owl:Class ; rdfs:label "a <b>"@en ;
    skos:definition "x < y & \\"q\\" `tick` [l](u) | pipe *star* _under_"@en ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty col:p ; owl:someValuesFrom col:B ] .
col:B a owl:Class ; rdfs:label "b"@en ; skos:definition "b"@en .
col:p a owl:ObjectProperty, owl:FunctionalProperty ;
    rdfs:domain [ owl:unionOf ( col:A col:B ) ] ; rdfs:range col:B .
col:classes a owl:DatatypeProperty .
"""


def test_generator_escapes_and_handles_odd_ontologies(tmp_path: Path) -> None:
    ttl = tmp_path / "evil.ttl"
    ttl.write_text(_HOSTILE, encoding="utf-8")
    page = _ontodoc.render_html(ttl)
    assert "<script>" not in page and "&lt;script&gt;" in page, "text must be HTML-escaped"
    checker = _check_html(page)
    assert not checker.errors, "\n".join(checker.errors)
    assert not checker.fragments - checker.ids, "dangling internal links"
    # a term named like a section gets a prefixed anchor instead of a duplicate id
    assert {"A", "B", "p", "classes", "col-classes"} <= checker.ids
    assert "</code></a> or <a" in page, "a union domain should read 'A or B'"
    assert "</code></a> some <a" in page, "a restriction should read 'p some B'"
    markdown = _ontodoc.render_markdown(ttl)
    assert "<script>" not in markdown and r"\*star\*" in markdown and r"\|" in markdown


def test_generator_is_deterministic(graph: Graph, rendered: dict[str, str]) -> None:
    assert _ontodoc.render_html(TTL) == rendered[_ontodoc.HTML_NAME]
    assert _ontodoc.render_markdown() == rendered[_ontodoc.MD_NAME]
    reparsed = Graph().parse(data=graph.serialize(format="nt"), format="nt")
    assert _ontodoc.render_html(reparsed) == rendered[_ontodoc.HTML_NAME], (
        "output depends on triple order; sort what _ontodoc emits"
    )


def test_main_writes_and_checks(tmp_path: Path, rendered: dict[str, str]) -> None:
    assert _ontodoc.main(["--check", "--out", str(tmp_path)]) == 1
    assert _ontodoc.main(["--out", str(tmp_path)]) == 0
    for name, text in rendered.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
    assert _ontodoc.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / _ontodoc.MD_NAME).write_text("edited by hand\n", encoding="utf-8")
    assert _ontodoc.main(["--check", "--out", str(tmp_path)]) == 1


@pytest.mark.slow
def test_runs_as_a_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "tools" / "ontodoc.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / _ontodoc.HTML_NAME).is_file() and (tmp_path / _ontodoc.MD_NAME).is_file()
