"""Reading a query's form and FROM clauses by tokens: strings, IRIs and comments never count."""

from __future__ import annotations

from collectomics.endpoint import read_query


def test_from_clauses_with_prefixes_and_base() -> None:
    q = read_query(
        "BASE <http://ex.org/>\nPREFIX g: <http://ex.org/g/>\n"
        "SELECT * FROM g:one FROM NAMED <two> WHERE { ?s ?p ?o }"
    )
    assert q.form == "SELECT"
    assert q.from_graphs == ["http://ex.org/g/one"]
    assert q.from_named == ["http://ex.org/two"]
    assert "FROM" not in q.without_dataset and "WHERE { ?s ?p ?o }" in q.without_dataset


def test_construct_template_comes_before_from() -> None:
    q = read_query("CONSTRUCT { ?s ?p ?o } FROM <urn:g> WHERE { ?s ?p ?o }")
    assert q.form == "CONSTRUCT" and q.from_graphs == ["urn:g"]


def test_keywords_in_strings_comments_and_subqueries_do_not_count() -> None:
    q = read_query(
        '# DELETE everything FROM <urn:no>\nSELECT ?x { ?x ?p "FROM <urn:no> INSERT" '
        "{ SELECT ?x { ?x ?p ?o } } }"
    )
    assert q.form == "SELECT" and not q.looks_like_update and q.from_graphs == []
    q = read_query("PREFIX a: <urn:a:>\n  # a comment\n  insert data { a:b a:c a:d }")
    assert q.looks_like_update and q.form is None
    q = read_query('SELECT ("""FROM <urn:x>\n""" AS ?y) {}')
    assert q.from_graphs == []
