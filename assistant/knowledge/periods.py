"""Periods of time named relative to today, in English and Russian, and as CLI/API options."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS_EN = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_RU_MONTH_STEMS = (
    "январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр",
    "ноябр", "декабр",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    """A closed range of dates and how to say it."""

    first: date
    last: date
    label_en: str
    label_ru: str

    def contains(self, day: date) -> bool:
        """Whether `day` falls within the period."""
        return self.first <= day <= self.last


def year_period(year: int) -> Period:
    """The whole of `year`."""
    return Period(date(year, 1, 1), date(year, 12, 31), f"in {year}", f"в {year} году")


def next_days(today: date, days: int) -> Period:
    """Today and the next `days` days."""
    return Period(
        today,
        today + timedelta(days=days),
        f"in the next {days} days",
        f"в ближайшие {days} дн.",
    )


def parse_option(value: str, today: date) -> Period:
    """`this-year`, `next-year`, `2027` or `60d` (as given to `--expiring` or `?expiring=`)."""
    text = value.strip().lower()
    if text in ("this-year", "this_year", "year"):
        period = year_period(today.year)
        return Period(period.first, period.last, "this year", "в этом году")
    if text in ("next-year", "next_year"):
        period = year_period(today.year + 1)
        return Period(period.first, period.last, "next year", "в следующем году")
    if re.fullmatch(r"(19|20|21)\d\d", text):
        return year_period(int(text))
    match = re.fullmatch(r"(\d{1,4})\s*d(ays?)?", text)
    if match:
        return next_days(today, int(match.group(1)))
    raise ValueError(
        f"unknown period {value!r}: use this-year, next-year, a year like 2027, or 60d"
    )


_NEXT_DAYS = re.compile(
    r"(?:next|coming|within(?: the next)?)\s+(\d{1,4})\s+days?|"
    r"(?:ближайш\w+|следующ\w+|течение)\s+(\d{1,4})\s+(?:дн\w*|день|сут\w*)",
    re.IGNORECASE,
)
_IN_YEAR = re.compile(
    r"\b(?:in|for|during|в|на)\s+((?:19|20|21)\d\d)\b|\b((?:19|20|21)\d\d)\s*(?:г\b|год)", re.I
)
_BARE_YEAR = re.compile(r"\b((?:19|20|21)\d\d)\b")
_THIS_YEAR = re.compile(r"\bthis year\b|\bв (?:этом|текущем|нынешнем) году\b|\bэтого года\b", re.I)
_END_OF_YEAR = re.compile(
    r"\b(?:by|before|until|till) the end of (?:the |this )?year\b|"
    r"\bдо конца (?:этого |текущего )?года\b",
    re.I,
)
_NEXT_YEAR = re.compile(r"\bnext year\b|\bв следующем году\b|\bв будущем году\b", re.I)
_THIS_MONTH = re.compile(r"\bthis month\b|\bв этом месяце\b", re.I)
_NEXT_MONTH = re.compile(r"\bnext month\b|\bв следующем месяце\b", re.I)


def _month_period(year: int, month: int, en: str, ru: str) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last), en, ru)


def find_period(question: str, today: date) -> Period | None:
    """The period a question names, resolved against `today`; None when it names none."""
    match = _NEXT_DAYS.search(question)
    if match:
        return next_days(today, int(match.group(1) or match.group(2)))
    if _END_OF_YEAR.search(question):
        return Period(today, date(today.year, 12, 31), "by the end of the year", "до конца года")
    if _THIS_YEAR.search(question):
        period = year_period(today.year)
        return Period(period.first, period.last, "this year", "в этом году")
    if _NEXT_YEAR.search(question):
        period = year_period(today.year + 1)
        return Period(period.first, period.last, "next year", "в следующем году")
    if _THIS_MONTH.search(question):
        return _month_period(today.year, today.month, "this month", "в этом месяце")
    if _NEXT_MONTH.search(question):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return _month_period(year, month, "next month", "в следующем месяце")
    match = _IN_YEAR.search(question) or _BARE_YEAR.search(question)
    if match:
        return year_period(int(next(group for group in match.groups() if group)))
    return None
