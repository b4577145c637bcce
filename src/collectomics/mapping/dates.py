"""Date bounds: turn a date as written into the earliest and latest calendar days it can mean.

Understood: ISO dates and date-times (``1983-06-14``, ``1983-06-14T10:00Z``), partial dates
(``1911``, ``1911-03``), ISO intervals (``1911-03-07/1911-03-20``, ``1911-03/04``,
``1911-03-07/20``). Anything else is not guessed: :func:`date_bounds` returns None and the caller
keeps the text verbatim and reports it.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

_PART = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_TIME = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2})[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)

#: (earliest, latest) calendar days
Bounds = tuple[date, date]


def _bounds_of(text: str) -> Bounds | None:
    timed = _TIME.match(text)
    if timed:
        text = timed.group(1)
    m = _PART.match(text)
    if not m:
        return None
    year = int(m.group(1))
    if not 1 <= year <= 9999:
        return None
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d


_MONTHS = {
    m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)
}
# java.util.Date.toString(), as old GBIF portal downloads wrote dates: an exact format, not a guess
_JAVA = re.compile(
    r"^(?:mon|tue|wed|thu|fri|sat|sun) (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) "
    r"(\d{2}) \d{2}:\d{2}:\d{2} [A-Z]{2,5} (\d{4})$",
    re.I,
)


def date_bounds(text: str | None) -> Bounds | None:
    """Earliest and latest day meant by ``text``, widened to its precision; None if unparseable."""
    if not text:
        return None
    text = text.strip()
    java = _JAVA.match(text)
    if java:
        month, day, year = _MONTHS[java.group(1).lower()], int(java.group(2)), int(java.group(3))
        try:
            d = date(year, month, day)
        except ValueError:
            return None
        return d, d
    if "/" not in text:
        return _bounds_of(text)
    start_text, _, end_text = text.partition("/")
    start = _bounds_of(start_text.strip())
    if start is None:
        return None
    end_text = end_text.strip()
    end = _bounds_of(end_text)
    if end is None:
        # Abbreviated end: "1911-03-07/20" (day) or "1911-03/04" (month) borrows the start's year.
        head = start_text.strip()
        if re.fullmatch(r"\d{1,2}", end_text):
            parts = head.split("-")
            if len(parts) == 3:
                end = _bounds_of(f"{parts[0]}-{parts[1]}-{end_text}")
            elif len(parts) == 2:
                end = _bounds_of(f"{parts[0]}-{end_text}")
        elif re.fullmatch(r"\d{1,2}-\d{1,2}", end_text) and len(head.split("-")) == 3:
            end = _bounds_of(f"{head.split('-')[0]}-{end_text}")
    if end is None or end[1] < start[0]:
        return None
    return start[0], end[1]


def year_precision_type(text: str) -> str | None:
    """The XSD datatype local name that fits a partial ISO date: gYear, gYearMonth or date."""
    text = text.strip()
    if re.fullmatch(r"-?\d{4}", text):
        return "gYear"
    if re.fullmatch(r"-?\d{4}-\d{2}", text):
        return "gYearMonth"
    if re.fullmatch(r"-?\d{4}-\d{2}-\d{2}", text):
        try:
            date.fromisoformat(text.lstrip("-"))
        except ValueError:
            return None
        return "date"
    return None
