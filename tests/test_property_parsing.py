"""Property-based tests (hypothesis, fixed seed): name-string splitting and date parsing never
raise, and keep what they promise on any text and on generated well-formed values."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectomics.iri import Minter
from collectomics.mapping.common import Context
from collectomics.mapping.dates import date_bounds
from collectomics.mapping.names import SplitName, display_form, normalise, split_agents
from collectomics.mapping.specimens import map_specimen
from collectomics.vocab import COL, DWC

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI failures reproduce
    suppress_health_check=[HealthCheck.too_slow],
)

# Text as people type it into collector fields: letters (accented too), punctuation that
# separates names, digits, brackets, and now and then anything at all.
_AGENT_ALPHABET = st.sampled_from(
    list("abcdeJKLMNOPQRSTxyzéÉñøßłÇ .,;&|/-()[]'\"?0123456789\t\n")
    + ["et al.", " and ", " y ", "&amp;"]
)
AGENT_TEXT = st.one_of(
    st.lists(_AGENT_ALPHABET, max_size=40).map("".join),
    st.text(max_size=60),
)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", text))


# -- names -------------------------------------------------------------------------------------


@SETTINGS
@given(AGENT_TEXT)
@example("Smith, J. & Jones, K.; leg. Brown et al.")
@example("(((")
@example("&amp;&amp;")
def test_splitting_never_raises_and_keeps_words_in_order(text: str) -> None:
    names = split_agents(text)
    assert all(isinstance(n, SplitName) for n in names)
    source = "".join(_words(text)).casefold()  # punctuation and quotes may go, letters stay
    position = 0
    for name in names:
        assert name.written.strip() == name.written and name.written, name
        words = _words(name.written)
        assert words, f"a name without a word: {name!r} from {text!r}"
        # every word of a name was in the input (nothing invented); names come in input order
        for word in words:
            assert word.casefold() in source, f"{word!r} of {name!r} is not in {text!r}"
        first = source.find(words[0].casefold(), position)
        if first >= 0:
            position = first
        else:  # a name may repeat a word already used (an initial): still in the input
            assert words[0].casefold() in source
        display_form(name.written)  # never raises
        normalise(name.written)


_UPPER = "ABCDEFGHJKLMNPRSTVWZÉÁÖ"
_LOWER = "abcdefghijklmnoprstuvwzéáöñ"
SURNAME = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_UPPER),
    st.text(alphabet=_LOWER, min_size=3, max_size=9),
)
INITIALS = st.lists(st.sampled_from(_UPPER), min_size=1, max_size=2).map(
    lambda cs: " ".join(c + "." for c in cs)
)
CLEAN_NAME = st.one_of(
    st.builds(lambda s, i: f"{s}, {i}", SURNAME, INITIALS),  # Smith, J. K.
    st.builds(lambda s, i: f"{i} {s}", SURNAME, INITIALS),  # J. K. Smith
    st.builds(lambda g, s: f"{g} {s}", SURNAME, SURNAME),  # Given Surname
)


@SETTINGS
@given(CLEAN_NAME)
def test_one_clean_name_splits_to_itself(name: str) -> None:
    assert split_agents(name) == [SplitName(name)]
    assert split_agents(f"  {name}  ") == [SplitName(name)]


@SETTINGS
@given(st.lists(CLEAN_NAME, min_size=2, max_size=4), st.sampled_from(["; ", " & ", " | "]))
def test_clean_names_joined_split_back_in_order(names: list[str], sep: str) -> None:
    got = split_agents(sep.join(names))
    assert [n.written for n in got] == names
    # and splitting again is idempotent
    for n in got:
        assert split_agents(n.written) == [n]


# -- dates -------------------------------------------------------------------------------------

DATE_TEXT = st.one_of(
    st.text(alphabet="0123456789-/T:Z+. ", max_size=30),
    st.text(max_size=30),
    st.dates().map(date.isoformat),
)
DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@SETTINGS
@given(DATE_TEXT)
@example("1911-03-07/20")
@example("2000-02-30")
@example("9999-12-31/1")
@example("Mon Feb 30 00:00:00 CET 1970")
def test_date_bounds_never_raise_and_are_ordered(text: str) -> None:
    bounds = date_bounds(text)
    if bounds is not None:
        earliest, latest = bounds
        assert earliest <= latest


@SETTINGS
@given(DATES)
def test_a_day_a_month_a_year(day: date) -> None:
    assert date_bounds(day.isoformat()) == (day, day)
    assert date_bounds(f"{day.isoformat()}T10:20:30Z") == (day, day)
    earliest, latest = date_bounds(day.isoformat()[:7])  # type: ignore[misc]
    assert earliest == day.replace(day=1) and earliest <= day <= latest
    assert (latest + timedelta(days=1)).day == 1 if latest < date(9999, 12, 31) else True
    assert date_bounds(str(day.year).zfill(4)) == (date(day.year, 1, 1), date(day.year, 12, 31))


@SETTINGS
@given(DATES, DATES)
def test_intervals_in_order_or_refused(a: date, b: date) -> None:
    text = f"{a.isoformat()}/{b.isoformat()}"
    if a <= b:
        assert date_bounds(text) == (a, b)
    else:
        assert date_bounds(text) is None


def _ctx() -> Context:
    return Context("props", Minter())


@SETTINGS
@given(DATE_TEXT)
def test_event_date_is_kept_as_written_whatever_it_says(text: str) -> None:
    mapped = map_specimen({"catalogNumber": "A1", "eventDate": text}, _ctx())
    assert mapped.rejected is None
    kept = [o for _, p, o in mapped.triples if p == DWC.eventDate]
    earliest = [o for _, p, o in mapped.triples if p == COL.earliestDate]
    latest = [o for _, p, o in mapped.triples if p == COL.latestDate]
    if text.strip():
        assert [k.value for k in kept] == [text.strip()]  # type: ignore[union-attr]
    else:
        assert kept == []
    assert len(earliest) == len(latest) <= 1
    if earliest:
        assert earliest[0].value <= latest[0].value  # type: ignore[union-attr]  # ISO dates compare as text
    else:  # no bounds: said so
        assert not text.strip() or any(p.column == "eventDate" for p in mapped.problems)


# found by test_one_clean_name_splits_to_itself with more examples: trailing initials "S. D."
# and "S. N." were taken for sine dato / sine numero and dropped
@pytest.mark.parametrize("name", ["Smith, S. D.", "Smith, J. S. N.", "Zhang S. D."])
def test_initials_s_d_are_not_taken_for_sine_dato(name: str) -> None:
    assert split_agents(name) == [SplitName(name)]


@pytest.mark.parametrize(
    ("text", "names"),
    [("J. Smith s.n.", ["J. Smith"]), ("S.N.", []), ("J. Smith; S.N.", ["J. Smith"])],
)
def test_sine_numero_is_still_dropped(text: str, names: list[str]) -> None:
    assert [n.written for n in split_agents(text)] == names
