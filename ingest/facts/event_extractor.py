"""Events (forums, conferences, seminars, ...) named in one sentence, with dates and place.

An event is kept only when a date or a place goes with it; a sentence that starts with a date
followed by a city (a dateline) is an event too.
"""

from __future__ import annotations

import re

from ingest.facts.dates import find_dates
from ingest.facts.models import EventFact
from ingest.facts.organisations import Token, is_capitalised, is_cyrillic, run_end, tokenize
from ingest.facts.places import places_in


def _words(s: str) -> list[str]:
    return s.split()


_EVENT_NOUN = re.compile(
    r"(?i)(?:forum|congress|conference|seminar|symposium|workshop|school|summit|exhibition"
    r"|session|meeting|webinar|olympiad|festival|форум\w*|конгресс\w*|конференци\w*|семинар\w*"
    r"|симпозиум\w*|саммит\w*|выставк\w*|совещани\w*|заседани\w*|школ(?:а|ы|е|у|ой)"
    r"|олимпиад\w*|фестивал\w*|вебинар\w*)"
)
_ORDINAL = re.compile(r"(?:\d+(?:st|nd|rd|th|-?[йяеоигм]{1,2})?|[IVXLC]+)")
_RU_ADJECTIVE = re.compile(
    r"(?i)[а-яё-]+(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ого|его|ому|ему|ым|им|ом|ем|ую|юю|ых|их|ыми|ими)"
)
_LEFT_STOP = frozenset(_words("the a an at in on of during within to from with by for в на во"))
_TITLE_CUES = frozenset(_words("entitled titled named called названием"))
_DATELINE_START = re.compile(r"\d|(?:[A-ZА-ЯЁ][a-zа-яё]+\.?\s+\d)")
_PLACE_CUE = re.compile(r"(?i)(?:\bin|\bat|\bв|\bво|,)\s*$")


def _event_name(tokens: list[Token], k: int) -> tuple[int, int] | None:
    i = k
    while i > 0:
        word = tokens[i - 1].text
        if word.lower() in _LEFT_STOP:
            break
        joins = word in {"and", "и"} and i > 1 and is_capitalised(tokens[i - 2].text)
        if not (
            joins
            or is_capitalised(word)
            or _ORDINAL.fullmatch(word)
            or _RU_ADJECTIVE.fullmatch(word)
        ):
            break
        i -= 1
    j = k
    for _ in range(3):
        nxt = tokens[j + 1].text if j + 1 < len(tokens) else ""
        after = tokens[j + 2].text if j + 2 < len(tokens) else ""
        if nxt[:1] in '«“„"':
            j += 1
        elif nxt.lower() in _TITLE_CUES and after[:1] in '«“„"':
            j += 2
        elif nxt in {"with", "of", "on"}:
            first = j + 3 if after == "the" else j + 2
            if first >= len(tokens) or not is_capitalised(tokens[first].text):
                break
            j = run_end(tokens, first)
        elif nxt == "с" and after.startswith("международн"):
            j += 3
        else:
            break
    j = min(j, len(tokens) - 1)
    name = tokens[i : j + 1]
    quoted = any(t.text[:1] in '«“„"' for t in name)
    ordinal_of = any(_ORDINAL.fullmatch(t.text) for t in name) and j > k
    named = is_capitalised(name[0].text) and len(name) >= 2 and is_capitalised(tokens[k].text)
    russian_named = is_cyrillic(tokens[k].text) and is_capitalised(name[0].text) and len(name) >= 2
    return (i, j) if quoted or ordinal_of or named or russian_named else None


def _place(text: str, start: int, end: int, name: tuple[int, int]) -> str | None:
    places = [p for p in places_in(text, start, end) if not name[0] <= p[0] < name[1]]
    cued = [p for p in places if _PLACE_CUE.search(text, max(start, p[0] - 4), p[0])]
    city = next((p[2] for p in cued + places if p[2]), None)
    if city:
        return city
    return next((country for _, country, city in cued), None)


def extract_events(text: str, sentence: tuple[int, int]) -> list[EventFact]:
    """Events named in the sentence text[sentence[0]:sentence[1]] that have a date or place."""
    start, end = sentence
    has_noun = _EVENT_NOUN.search(text, start, end) is not None
    if not has_noun and not _DATELINE_START.match(text, start, end):
        return []
    dates = find_dates(text, start, end)
    if dates and dates[0].start == start:
        rest = text[dates[0].end : end]
        city = places_in(text, dates[0].end, end)
        if city and city[0][2] and not rest[: city[0][0] - dates[0].end].strip(" ,"):
            d = dates[0]
            return [
                EventFact(text[start:end], start, end, d.first, d.last, d.precision, city[0][2])
            ]
    if not has_noun:
        return []
    tokens = tokenize(text, start, end)
    events: list[EventFact] = []
    taken = -1
    for k, token in enumerate(tokens):
        if k <= taken or not _EVENT_NOUN.fullmatch(token.text):
            continue
        span = _event_name(tokens, k)
        if span is None:
            continue
        taken = span[1]
        a, b = tokens[span[0]].start, tokens[span[1]].end
        outside = [d for d in dates if d.end <= a or d.start >= b]
        date_match = min(outside, key=lambda d: min(abs(d.start - b), abs(a - d.end)), default=None)
        place = _place(text, start, end, (a, b))
        if date_match is None and place is None:
            continue
        events.append(
            EventFact(
                name=text[a:b],
                evidence_start=start,
                evidence_end=end,
                starts_on=date_match.first if date_match else None,
                ends_on=date_match.last if date_match else None,
                precision=date_match.precision if date_match else None,
                place=place,
            )
        )
    return events
