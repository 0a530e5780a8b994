"""Dates as people write them, read into the ISO form a report stores.

A monitor in Almaty writes ``08.03.2026`` or «8 наурыз 2026», not ``2026-03-08``. This
module reads the forms Kazakh, Russian and English speakers use, at the three precisions
a report records (day, month, year), and returns the ISO text (``2026-03-08``,
``2026-03``, ``2026``) with its precision. It knows nothing about the web: the form
calls :func:`parse` and shows the result back with ``app.i18n.format_date``.

Accepted (case, extra spaces and a trailing «ж.», «жылы», «г.», «года» do not matter)::

    2026-03-08   08.03.2026   8.3.2026   8/3/2026      day
    8 March 2026   March 8, 2026   8 наурыз 2026   8 марта 2026   2026 жылғы 8 наурыз
    2026-03   03.2026   March 2026   наурыз 2026   2026 ж. наурыз   март 2026   month
    2026                                                                      year

Numeric dates are always day first (DD.MM.YYYY), as in Kazakhstan; a two-digit year is
refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

__all__ = ["DateError", "ParsedDate", "parse"]

_MONTHS: dict[str, int] = {}


def _names(month: int, *words: str) -> None:
    for word in words:
        _MONTHS[word] = month


# Kazakh; Russian nominative, genitive and short forms; English full and short forms.
_names(1, "қаңтар", "январь", "января", "янв", "january", "jan")
_names(2, "ақпан", "февраль", "февраля", "фев", "февр", "february", "feb")
_names(3, "наурыз", "март", "марта", "мар", "march", "mar")
_names(4, "сәуір", "апрель", "апреля", "апр", "april", "apr")
_names(5, "мамыр", "май", "мая", "may")
_names(6, "маусым", "июнь", "июня", "июн", "june", "jun")
_names(7, "шілде", "июль", "июля", "июл", "july", "jul")
_names(8, "тамыз", "август", "августа", "авг", "august", "aug")
_names(9, "қыркүйек", "сентябрь", "сентября", "сен", "сент", "september", "sep", "sept")
_names(10, "қазан", "октябрь", "октября", "окт", "october", "oct")
_names(11, "қараша", "ноябрь", "ноября", "ноя", "нояб", "november", "nov")
_names(12, "желтоқсан", "декабрь", "декабря", "дек", "december", "dec")

# Year words after (or, in Kazakh, before) the number: «2026 ж.», «2026 жылғы», «2026 г.».
_YEAR_WORD = r"(?:ж\.?|жыл(?:ы|ғы)?|г\.?|год(?:а)?|year)"
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class DateError(ValueError):
    """The text is not a date this module reads, or not a real date (31.02.2026)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: ``"format"`` (not a date) or ``"nonexistent"`` (no such day).
        self.reason = reason


@dataclass(frozen=True)
class ParsedDate:
    iso: str  # 2026-03-08 | 2026-03 | 2026
    precision: str  # day | month | year (codes.DATE_PRECISION)

    def as_date(self) -> date:
        """The first day the text can mean (for range checks)."""
        parts = [int(p) for p in self.iso.split("-")]
        return date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))


def _result(year: int, month: int | None = None, day: int | None = None) -> ParsedDate:
    try:
        date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError:
        raise DateError("nonexistent") from None
    if day is not None and month is not None:
        return ParsedDate(f"{year:04d}-{month:02d}-{day:02d}", "day")
    if month is not None:
        return ParsedDate(f"{year:04d}-{month:02d}", "month")
    return ParsedDate(f"{year:04d}", "year")


def _month(word: str) -> int:
    month = _MONTHS.get(word.rstrip("."))
    if month is None:
        raise DateError("format")
    return month


_Fields = tuple[int, "int | None", "int | None"]  # year, month, day

# Each shape, and how its groups give (year, month, day).
_PATTERNS: list[tuple[re.Pattern[str], Callable[[tuple[str, ...]], _Fields]]] = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), lambda g: (int(g[0]), int(g[1]), int(g[2]))),
    (re.compile(r"(\d{4})-(\d{1,2})"), lambda g: (int(g[0]), int(g[1]), None)),
    (re.compile(r"(\d{4})"), lambda g: (int(g[0]), None, None)),
    (re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})"),
     lambda g: (int(g[2]), int(g[1]), int(g[0]))),
    (re.compile(r"(\d{1,2})[./](\d{4})"), lambda g: (int(g[1]), int(g[0]), None)),
    (re.compile(r"(\d{1,2}) ([^\W\d_]+\.?),? (\d{4})"),  # 8 наурыз 2026
     lambda g: (int(g[2]), _month(g[1]), int(g[0]))),
    (re.compile(r"([^\W\d_]+\.?) (\d{1,2}),? (\d{4})"),  # March 8, 2026
     lambda g: (int(g[2]), _month(g[0]), int(g[1]))),
    (re.compile(r"(\d{4}) (\d{1,2}) ([^\W\d_]+)"),  # 2026 жылғы 8 наурыз
     lambda g: (int(g[0]), _month(g[2]), int(g[1]))),
    (re.compile(r"([^\W\d_]+\.?),? (\d{4})"), lambda g: (int(g[1]), _month(g[0]), None)),
    (re.compile(r"(\d{4}) ([^\W\d_]+)"),  # 2026 ж. наурыз
     lambda g: (int(g[0]), _month(g[1]), None)),
]


def _normalise(text: str) -> str:
    text = _SPACES.sub(" ", text.strip().casefold())
    # Year words: drop them wherever they stand next to a four-digit year.
    text = re.sub(rf"(\d{{4}}) ?{_YEAR_WORD}(?=$| )", r"\1", text)
    return text.strip(" .,")


def parse(text: str) -> ParsedDate:
    """Read ``text`` as a date; raises :class:`DateError` when it is not one."""
    value = _normalise(text or "")
    if not value:
        raise DateError("format")
    for pattern, fields in _PATTERNS:
        match = pattern.fullmatch(value)
        if match is not None:
            return _result(*fields(match.groups()))
    raise DateError("format")
