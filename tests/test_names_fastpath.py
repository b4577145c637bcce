"""The agent-string fast path gives exactly what the general splitter gives.

``names._split_simple`` handles the commonest shapes ('Geirt, I.; K. L. Smith') without the
general splitter; it must never change a result. Hypothesis builds strings in and around its
grammar, with the words that make the general splitter act (titles, suffixes, particles,
months, team words, collector prefixes, no-agent words, 'S. N.'-like initials)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from collectomics.mapping import names

TRICKY = (
    "Dr Mr Mrs Prof Sir Jr Sr Snr Jnr De Da Del Van Von La Le Du Ter May June March Jan "
    "Curator Collector Team Museum Expedition Univ University Herbarium Sons Dept Leg Legit "
    "Lgt Fide Unknown Anon Anonymous Ignotus None Null Survey Group Smith Geirt Klitgaard "
    "Ortega Müller Ñúñez Øster Ångström"
).split()

surname_word = st.one_of(
    st.sampled_from(TRICKY),
    st.from_regex(r"[A-ZÁÉÖ][a-zäéñü]{1,9}", fullmatch=True),
)
surname = st.one_of(
    surname_word, st.tuples(surname_word, surname_word).map(lambda t: f"{t[0]}-{t[1]}")
)
initial = st.sampled_from("ABCDEFGHIJKLMNOPRSTUVWÁÖ")
initials = st.lists(st.tuples(initial, st.sampled_from(["", " "])), min_size=1, max_size=3).map(
    lambda xs: "".join(f"{c}.{space}" for c, space in xs).strip()
)
person = st.one_of(
    st.tuples(initials, surname).map(lambda t: f"{t[0]} {t[1]}"),
    st.tuples(surname, initials).map(lambda t: f"{t[0]}, {t[1]}"),
)
separator = st.sampled_from(["; ", " | ", " & ", ", ", " and ", ";", " et ", " y "])
agent_string = st.tuples(
    st.lists(st.tuples(person, separator), min_size=1, max_size=4),
    st.sampled_from(["", "", " et al.", " 1987"]),
).map(lambda t: "".join(p + s for p, s in t[0])[: -len(t[0][-1][1])] + t[1])


@settings(max_examples=1500, deadline=None)
@given(agent_string)
def test_fast_path_agrees_with_the_general_splitter(text: str) -> None:
    fast = names._split_simple(text)
    if fast is not None:
        assert fast == names._split_general(text), text


def test_fast_path_takes_the_common_shapes() -> None:
    for text, expected in [
        ("Geirt, I.", ["Geirt, I."]),
        ("I. K. Geirt", ["I. K. Geirt"]),
        (
            "Geirt, I.K.; Smith, J. | Jones-Bryce, P.",
            ["Geirt, I.K.", "Smith, J.", "Jones-Bryce, P."],
        ),
        ("I. Geirt & J.K. Smith", ["I. Geirt", "J.K. Smith"]),
    ]:
        fast = names._split_simple(text)
        assert fast is not None, text
        assert [n.written for n in fast] == expected
        assert fast == names._split_general(text)
    # left to the general splitter: titles, prefixes, teams, particles, 'et al.', bare initials
    for text in ["Dr, J.", "Leg, J.", "Museum, A.", "De, A.", "M. & J. Shorthouse", "X, A. et al."]:
        assert names._split_simple(text) is None, text


def test_hard_strings_split_the_same_either_way() -> None:
    corpus = Path(__file__).parent / "data" / "names" / "hard-strings.tsv"
    taken = 0
    for line in corpus.read_text(encoding="utf-8").splitlines()[1:]:
        text = line.split("\t")[0].strip()
        fast = names._split_simple(text)
        if fast is not None:
            taken += 1
            assert fast == names._split_general(text), text
    assert taken >= 5  # the corpus has plain lists too; the check above must have run


def test_the_fast_path_agrees_with_the_general_splitter_on_the_real_corpus() -> None:
    """Every distinct agent string of tests/data/real (tests/data/names/agent-strings.tsv)."""
    corpus = Path(__file__).parent / "data" / "names" / "agent-strings.tsv"
    taken = 0
    for line in corpus.read_text(encoding="utf-8").splitlines()[1:]:
        text = line.split("\t")[0].strip()
        fast = names._split_simple(text)
        if fast is not None:
            taken += 1
            assert fast == names._split_general(text), text
    assert taken >= 1000  # 1,023 of 3,206: most plain lists of a real collection take it
