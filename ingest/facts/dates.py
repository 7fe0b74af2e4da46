"""Dates written in English and Russian prose: days, months, seasons, years and their ranges.

Every match is an exact slice of the text (`text[m.start:m.end] == m.text`) and denotes the span
`first..last`: a day is one day, a month its whole month, a year its whole year. Choices:

- Numeric dates are day first ("05/03/2022" is 5 March); ISO "2022-03-15" is read as ISO.
- Qualified months ("late May — early June 2017", "конец мая 2017") keep month precision and
  cover whole months (1 May..30 June); seasons (autumn, осенью) are months 9-11, spring 3-5,
  summer 6-8. Winter is not read (it straddles two years).
- A bare year is a date only between 1950 and 2100 and not when directly preceded by a
  capitalised word other than a preposition ("Horizon 2020", "Vision 2030", "ISO 9001"), nor
  by a number sign, nor when followed by a unit or a count noun ("2000 participants").
- An impossible day (31.02.2022, 29 February 2023) is not a date at all.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date

from ingest.facts.models import DateMatch, Precision

MIN_YEAR = 1950
MAX_YEAR = 2100


def _words(s: str) -> list[str]:
    return s.split()


_EN_MONTH_WORDS = _words(
    "January February March April May June July August September October November December "
    "Sept Jan Feb Mar Apr Jun Jul Aug Sep Oct Nov Dec"
)
_EN_MONTH = "|".join(
    f"(?:{w}|{w.upper()})" + (r"\.?" if len(w) <= 4 and w not in {"May", "June", "July"} else "")
    for w in sorted(_EN_MONTH_WORDS, key=len, reverse=True)
)
_RU_MONTH = (
    r"(?i:январ(?:ь|я|е|ю|ём|ем)|феврал(?:ь|я|е|ю|ём|ем)|март(?:а|е|у|ом)?|апрел(?:ь|я|е|ю|ем)"
    r"|ма(?:й|я|е|ю|ем)|июн(?:ь|я|е|ю|ем)|июл(?:ь|я|е|ю|ем)|август(?:а|е|у|ом)?"
    r"|сентябр(?:ь|я|е|ю|ём|ем)|октябр(?:ь|я|е|ю|ём|ем)|ноябр(?:ь|я|е|ю|ём|ем)"
    r"|декабр(?:ь|я|е|ю|ём|ем)|янв\.|февр?\.|апр\.|авг\.|сент?\.|окт\.|нояб?\.|дек\.)"
)
_W = r"(?![A-Za-zА-Яа-яЁё])"


# Cheap guards put first so that the month alternation is only tried at a word start.
_WORD_START = r"(?<![^\W\d_])"
_MONTH_START = _WORD_START + r"(?=[JFMASONDЯФМАИСОНДяфмаисонд])"
_QUAL_START = _WORD_START + r"(?=[JFMASONDЯФМАИСОНДяфмаисондtvlembsTVLEMBSвкнсВКНС])"


def _month(name: str) -> str:
    return rf"(?P<{name}>(?:{_EN_MONTH}|{_RU_MONTH}){_W})"


_MONTH_KEYS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12, "янв": 1, "фев": 2, "мар": 3, "апр": 4, "июн": 6,
    "июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip


def _month_number(token: str) -> int:
    key = token.lower().rstrip(".")
    return _MONTH_KEYS.get(key[:3]) or 5  # every other form is май (мая, мае, ...)


def _day(name: str) -> str:
    return rf"(?<!\d)(?P<{name}>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"


def _year(name: str) -> str:
    return rf"(?P<{name}>19[5-9]\d|20\d\d|2100)(?!\d)"


_SUFFIX = r"(?:\s?(?:гг?\.|(?:года|году|годах|годом|годы|годов|год|гг|г)(?!\w)))?"
_DASH = r"\s*[-–—]\s*"
_UNTIL = r"(?:\s*[-–—]\s*|\s+(?:to|till|until|through|по|до)\s+)"
_QUAL = (
    r"(?:(?:(?:the\s+)?(?:very\s+)?(?:late|early|mid|end\s+of|beginning\s+of|start\s+of"
    r"|middle\s+of)[\s-]+(?:the\s+)?)|(?i:(?:в\s+)?(?:конец|конце|конца|начало|начале|начала"
    r"|середина|середине|середины)\s+))?"
)
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "весн": 3, "лет": 6, "осен": 9}
_SEASON = (
    r"(?P<season>(?i:spring|summer|autumn|fall|весн(?:а|ой|е|у|ы)|лет(?:о|ом|а)|осен(?:ь|ью|и)))"
)

Parts = tuple[date, date, Precision] | None
_Builder = Callable[["re.Match[str]"], Parts]


def _safe(year: int, month: int, day: int) -> date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_span(year: int, month: int) -> tuple[date, date] | None:
    first = _safe(year, month, 1)
    if first is None:
        return None
    return first, date(year, month, calendar.monthrange(year, month)[1])


def _day_range(m: re.Match[str], month1: str, month2: str) -> Parts:
    year = int(m["y"])
    first = _safe(year, _month_number(m[month1]), int(m["d1"]))
    last = _safe(year, _month_number(m[month2]), int(m["d2"]))
    if first is None or last is None or first > last:
        return None
    return first, last, "day"


def _one_day(m: re.Match[str]) -> Parts:
    month = m["m"]
    number = int(month) if month.isdigit() else _month_number(month)
    day = _safe(int(m["y"]), number, int(m["d"]))
    return (day, day, "day") if day else None


def _month_range(m: re.Match[str]) -> Parts:
    year = int(m["y"])
    first = _month_span(year, _month_number(m["m1"]))
    last = _month_span(year, _month_number(m["m2"]))
    if first is None or last is None or first[0] > last[0]:
        return None
    return first[0], last[1], "month"


def _month_year(m: re.Match[str]) -> Parts:
    span = _month_span(int(m["y"]), _month_number(m["m"]))
    return (span[0], span[1], "month") if span else None


def _season(m: re.Match[str]) -> Parts:
    key = m["season"].lower()
    start = next(v for k, v in _SEASONS.items() if key.startswith(k))
    first = _month_span(int(m["y"]), start)
    last = _month_span(int(m["y"]), start + 2)
    return (first[0], last[1], "month") if first and last else None


def _year_range(m: re.Match[str]) -> Parts:
    first, last = int(m["y1"]), int(m["y2"])
    if not first < last <= first + 100:
        return None
    return date(first, 1, 1), date(last, 12, 31), "year"


def _whole_year(m: re.Match[str]) -> Parts:
    year = int(m["y"])
    return date(year, 1, 1), date(year, 12, 31), "year"


_PATTERNS: list[tuple[re.Pattern[str], _Builder]] = [
    (
        re.compile(
            _day("d1")
            + rf"(?:{_DASH}|\s+(?:and|и|to|till|until|по)\s+)"
            + _day("d2")
            + r"\s+(?:of\s+)?"
            + _month("m")
            + r",?\s+"
            + _year("y")
            + _SUFFIX
        ),
        lambda m: _day_range(m, "m", "m"),
    ),
    (
        re.compile(
            _MONTH_START
            + _month("m")
            + r"\s+"
            + _day("d1")
            + _DASH
            + _day("d2")
            + r",?\s+"
            + _year("y")
        ),
        lambda m: _day_range(m, "m", "m"),
    ),
    (
        re.compile(
            _day("d1")
            + r"\s+(?:of\s+)?"
            + _month("m1")
            + _UNTIL
            + _day("d2")
            + r"\s+(?:of\s+)?"
            + _month("m2")
            + r",?\s+"
            + _year("y")
            + _SUFFIX
        ),
        lambda m: _day_range(m, "m1", "m2"),
    ),
    (
        re.compile(
            _QUAL_START
            + _QUAL
            + _month("m1")
            + _UNTIL
            + _QUAL
            + _month("m2")
            + r",?\s+"
            + _year("y")
            + _SUFFIX
        ),
        _month_range,
    ),
    (
        re.compile(_day("d") + r"\s+(?:of\s+)?" + _month("m") + r",?\s+" + _year("y") + _SUFFIX),
        _one_day,
    ),
    (re.compile(_MONTH_START + _month("m") + r"\s+" + _day("d") + r",?\s+" + _year("y")), _one_day),
    (
        re.compile(
            r"(?<![\d.])(?P<d>\d{1,2})(?P<sep>[./])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?![.,]?\d)"
            + _SUFFIX
        ),
        _one_day,
    ),
    (re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?![\d-])"), _one_day),
    (
        re.compile(_QUAL_START + _QUAL + _month("m") + r",?\s+(?:of\s+)?" + _year("y") + _SUFFIX),
        _month_year,
    ),
    (re.compile(_WORD_START + _SEASON + r"\s+(?:of\s+)?" + _year("y") + _SUFFIX), _season),
    (
        re.compile(
            r"(?<![\d.,/-])" + _year("y1") + _DASH + _year("y2") + r"(?![.,/-]\d)" + _SUFFIX
        ),
        _year_range,
    ),
    (
        re.compile(
            r"(?i:from|between|с|со)\s+"
            + _year("y1")
            + r"\s+(?i:to|till|until|and|по|и|до)\s+"
            + _year("y2")
            + _SUFFIX
        ),
        _year_range,
    ),
    (re.compile(r"(?<![\w.,/№#+-])" + _year("y") + r"(?![.,/-]\d)" + _SUFFIX), _whole_year),
]

# A capitalised word before a bare year makes it a name ("Horizon 2020") unless it is one of these.
_YEAR_CUES = frozenset(
    _words(
        "in since from until till by before after during of to through for at as and between year "
        "the end beginning early late mid autumn spring summer winter fall "
        "в во с со до по к за на из от после перед около между года год и конец начало "
        "середина осенью весной летом зимой"
    )
)
_COUNT_NOUNS = re.compile(
    r"\s*(?:%|(?i:people|persons|participants|delegates|members|employees|specialists|visitors"
    r"|copies|km|kg|m|rub|rubles|roubles|usd|eur|euro|euros|dollars|человек|участник\w*"
    r"|специалист\w*|сотрудник\w*|руб\w*|тыс\w*|млн|км|кг|экземпляр\w*))(?!\w)"
)
_WORD_BEFORE = re.compile(r"([\w'’.№#-]+)[\s“”\"«»]*$")
_JOINERS = re.compile(r"\s*[-–—]\s*|\s+(?:to|till|until|through|по|до)\s+", re.IGNORECASE)
_FROM = re.compile(r"(?:^|\s)(?:from|с|со)\s+$", re.IGNORECASE)
_COARSE: dict[Precision, int] = {"day": 0, "month": 1, "year": 2}


def _bare_year_allowed(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 40) : start]
    if before.rstrip()[-1:].isdigit() or before.rstrip()[-1:] in {")", "№", "#"}:
        return False
    word = _WORD_BEFORE.search(before)
    if word:
        token = word.group(1)
        if token.lower().rstrip(".") in {"no", "nr", "number", "p", "pp", "vol", "тел", "стр"}:
            return False
        if token[:1].isupper() and token.lower() not in _YEAR_CUES:
            return False
    return _COUNT_NOUNS.match(text, end) is None


def find_dates(text: str, start: int = 0, end: int | None = None) -> list[DateMatch]:
    """Every date and date range in `text[start:end]`, in order, without overlaps.

    Offsets are into `text`. Where readings overlap the longest wins, so "7 - 10 April, 2020"
    is one range, not a day plus a year.
    """
    start, stop, _ = slice(start, end).indices(len(text))  # as text[start:end] reads them
    if stop <= start:
        return []
    # An impossible reading ("29 February 2023") still claims its span, so that no shorter
    # reading inside it ("February 2023") turns a wrong date into a vaguer one.
    found: list[tuple[int, int, DateMatch | None]] = []
    for pattern, build in _PATTERNS:
        for m in pattern.finditer(text, start, stop):
            if build is _whole_year and not _bare_year_allowed(text, m.start(), m.end()):
                continue
            parts = build(m)
            match = None if parts is None else DateMatch(m.start(), m.end(), *parts, m[0])
            found.append((m.start(), m.end(), match))
    found.sort(key=lambda item: (item[0] - item[1], item[0]))
    taken = bytearray(stop - start + 1)
    chosen: list[DateMatch] = []
    for first, last, match in found:
        if any(taken[first - start : last - start]):
            continue
        taken[first - start : last - start] = b"\x01" * (last - first)
        if match is not None:
            chosen.append(match)
    chosen.sort(key=lambda d: d.start)
    return _join_ranges(text, chosen)


def _join_ranges(text: str, dates: list[DateMatch]) -> list[DateMatch]:
    """Join "1 January 2024 – 31 December 2025" and "from 1 May 2020 to 1 May 2021"."""
    joined: list[DateMatch] = []
    for current in dates:
        if joined:
            previous = joined[-1]
            gap = text[previous.end : current.start]
            joiner = _JOINERS.fullmatch(gap)
            dash = joiner is not None and gap.strip() in {"-", "–", "—"}
            from_before = _FROM.search(text[max(0, previous.start - 6) : previous.start])
            if joiner and (dash or from_before) and previous.first <= current.last:
                precision = max(previous.precision, current.precision, key=_COARSE.__getitem__)
                joined[-1] = DateMatch(
                    previous.start,
                    current.end,
                    previous.first,
                    current.last,
                    precision,
                    text[previous.start : current.end],
                )
                continue
        joined.append(current)
    return joined


_ISO_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def parse_date(text: str) -> DateMatch | None:
    """The date or range that is the whole of `text` (surrounding spaces and a final period
    allowed), else None. "2022-03-15 00:00:00" (a spreadsheet timestamp) reads as its day."""
    lead = len(text) - len(text.lstrip())
    body = text.strip().rstrip(".,;").rstrip()
    stamp = _ISO_TIMESTAMP.fullmatch(body)
    if stamp:
        inner = find_dates(text, lead, lead + 10)
        if len(inner) == 1 and inner[0].end == lead + 10:
            return DateMatch(lead, lead + len(body), inner[0].first, inner[0].last, "day", body)
        return None
    matches = find_dates(text, lead, lead + len(body))
    if len(matches) == 1 and matches[0].start == lead and matches[0].end == lead + len(body):
        return matches[0]
    return None
