"""Agreements (memoranda, contracts, agreements) stated in one sentence, with partner, dates,
term, status and country.

- A sentence names an agreement when it has a keyword (agreement, memorandum, MoU, contract,
  соглашение, меморандум, договор) and an organisation after "with"/"between"/"с"/"между".
  Each keyword with its own partner makes its own fact, so two agreements in one sentence make
  two facts; "X and the Y" after one keyword makes two.
- A date is an end only after "until", "valid until", "expires", "extended until", "до",
  "по", "срок действия" (or a "valid from .. to .." range); a signing date only after
  "signed"/"dated"/"подписан"/"от", or before or after a "signed" verb in the same sentence.
  Dates after "meeting", "held", "встреча" and the like are neither. Without a stated end, a
  signing date plus a term ("for five years", "сроком на 5 лет") gives the end, at the
  signing date's precision (month and year ends are the last day of that month or year);
  otherwise the end stays None.
- The country is found in the partner's name, in the words right after it ("in Havana"), or
  as the only foreign country named in the sentence.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from ingest.facts.dates import find_dates
from ingest.facts.models import AgreementFact, AgreementKind, DateMatch, Precision
from ingest.facts.organisations import find_organisations, tokenize
from ingest.facts.places import places_in

_KEYWORD = re.compile(
    r"(?i)(?<!\w)(?:(?P<memorandum>memorand(?:um|a)(?:\s+of\s+understanding)?|mou|меморандум\w*)"
    r"|(?P<contract>contracts?|договор(?:а|у|ом|е|ы|ов|ам|ами|ах)?)"
    r"|(?P<agreement>agreements?|соглашени(?:е|я|ю|ем|и|й|ям|ями|ях)))(?!\w)"
)
_PARTNER_PREPOSITIONS = frozenset({"with", "between", "с", "со", "между"})
_CLAUSE_BREAK = re.compile(r"(?i)[,;]|\s(?:and|и|а также|as well as)\s")
_END_CUE = re.compile(
    r"(?i)(?<!\w)(?:until|till|through|expir\w*|ends?|ending|valid\s+to|extended\s+to"
    r"|renewed\s+to|prolonged\s+to|up\s+to|expiry\s+date|expiration\s+date|end\s+date|до|по"
    r"|истека\w*|ист[её]к\w*|окончани\w+|срок\w*\s+действия)\s*(?:on|in|at)?\s*(?:the\s+)?"
    r"(?:end\s+of\s+(?:the\s+)?)?[:\s—–-]*$"
)
_VALIDITY_CUE = re.compile(
    r"(?i)(?<!\w)(?:from|valid|force|for|period|term|с|со|на|действ\w*|срок\w*|период\w*)"
    r"\W*$"
)
_SIGN_CUE = re.compile(
    r"(?i)(?<!\w)(?:signed|concluded|dated|executed|подписан\w*|подписал\w*|заключ[её]н\w*"
    r"|заключил\w*|от)\s*(?:on|in|at)?\s*(?:the\s+)?[:\s]*$"
)
_EVENT_CUE = re.compile(
    r"(?i)(?<!\w)(?:meeting|held|visit\w*|conference|forum|congress|seminar|session|workshop"
    r"|took\s+place|встреч\w*|заседани\w*|визит\w*|конференци\w*|форум\w*|семинар\w*"
    r"|состоял\w*|прош[её]л\w*|проходил\w*|проведен\w*)[^.;\d]{0,25}$"
)
_SIGN_VERB = re.compile(
    r"(?i)(?<!\w)(?:signed|concluded|signing|подписа\w*|заключ[её]н\w*|заключил\w*)"
)
_RENEWED = re.compile(
    r"(?i)(?<!\w)(?<!more\s)(?<!более\s)(?:renewed|extended|prolonged|продл[её]н\w*|продлил\w*"
    r"|пролонгирован\w*)(?!\w)"
)
_STATUS = re.compile(
    r"(?i)(?<!\w)(?:in\s+force|(?:has\s+)?expired|terminated|continuing|continues|ongoing"
    r"|suspended|cancell?ed|действует|действующ\w+|ист[её]к\w*|расторгнут\w*|прекращ[её]н\w*"
    r"|приостановлен\w*)(?!\w)"
)
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "один": 1, "одного": 1,
    "одна": 1, "два": 2, "двух": 2, "две": 2, "три": 3, "трёх": 3, "трех": 3, "четыре": 4,
    "четырёх": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6, "шести": 6, "семь": 7,
    "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
}  # fmt: skip
_N = r"(?P<n>\d{1,2}|" + "|".join(_NUMBERS) + r")\s*(?:\(\w+\)\s*)?"
_TERMS = [
    re.compile(rf"(?i)(?<!\w)(?:period|term)\s+of\s+(?:validity\s+)?(?:is\s+)?{_N}(?P<u>years?|months?)\b"),
    re.compile(rf"(?i)(?<!\w)for\s+{_N}(?P<u>years?|months?)\b"),
    re.compile(rf"(?i)(?<!\w){_N}[-\s](?P<u>year|month)\s+(?:agreement|contract|memorandum|term)"),
    re.compile(rf"(?i)(?<!\w)(?:сроком\s+(?:на\s+)?|на\s+срок\s+|на\s+){_N}(?P<u>год\w*|лет|месяц\w*)(?!\w)"),
]  # fmt: skip
_DURATION_NOT_TERM = re.compile(r"(?i)(?:has|have)\s+been|continu|for\s+the\s+(?:last|past)|уже")


def _kind(m: re.Match[str]) -> AgreementKind:
    if m["memorandum"]:
        return "memorandum"
    return "contract" if m["contract"] else "agreement"


def _term_months(text: str, start: int, end: int) -> int | None:
    for number, pattern in enumerate(_TERMS):
        m = pattern.search(text, start, end)
        if m is None:
            continue
        if number == 1 and _DURATION_NOT_TERM.search(text, start, end):
            continue  # "has been continuing for five years" is a duration, not a term
        n = m["n"].lower()
        count = int(n) if n.isdigit() else _NUMBERS[n]
        if count == 0:
            continue
        return count * 12 if m["u"].lower()[:1] in {"y", "г", "л"} else count
    return None


def _is_range(d: DateMatch) -> bool:
    if d.precision == "day":
        return d.first != d.last
    if d.precision == "month":
        return (d.first.year, d.first.month) != (d.last.year, d.last.month)
    return d.first.year != d.last.year


def _agreement_dates(
    text: str, start: int, end: int, sentence: tuple[int, int]
) -> tuple[DateMatch | None, DateMatch | None]:
    """(signed, ends) among the dates of text[start:end]; other dates are left alone."""
    signed: DateMatch | None = None
    ends: DateMatch | None = None
    loose: list[DateMatch] = []
    for d in find_dates(text, start, end):
        before = text[max(start, d.start - 40) : d.start]
        if _END_CUE.search(before) or (_is_range(d) and _VALIDITY_CUE.search(before)):
            ends = ends or d
        elif _SIGN_CUE.search(before):
            signed = signed or d
        elif not _EVENT_CUE.search(before):
            loose.append(d)
    verb = _SIGN_VERB.search(text, *sentence)
    if signed is None and loose and verb:
        earlier = [d for d in loose if d.end <= verb.start()]
        later = [d for d in loose if d.start >= verb.end() and not _is_range(d)]
        signed = earlier[-1] if earlier else (later[0] if later else None)
    return signed, ends


def _end_after(signed: DateMatch, months: int) -> date:
    years, month0 = divmod(signed.first.month - 1 + months, 12)
    year, month = signed.first.year + years, month0 + 1
    last_day = calendar.monthrange(year, month)[1]
    if signed.precision == "day":
        return date(year, month, min(signed.first.day, last_day))
    if signed.precision == "month":
        return date(year, month, last_day)
    return date(year, 12, 31)


def _country(
    text: str, org: tuple[int, int], after_end: int, sentence: tuple[int, int]
) -> str | None:
    inside = [country for _, country, _ in places_in(text, *org)]
    foreign = [c for c in inside if c != "Russia"]
    if inside:
        return foreign[0] if foreign else inside[0]
    after = places_in(text, org[1], min(after_end, org[1] + 100))
    if after:
        return after[0][1]
    named = {country for _, country, _ in places_in(text, *sentence)} - {"Russia"}
    return named.pop() if len(named) == 1 else None


def extract_agreements(text: str, sentence: tuple[int, int]) -> list[AgreementFact]:
    """Agreements stated in the sentence text[sentence[0]:sentence[1]], one per partner."""
    start, end = sentence
    keywords = list(_KEYWORD.finditer(text, start, end))
    if not keywords:
        return []
    tokens = tokenize(text, start, end)
    starts = [t.start for t in tokens]
    found: list[tuple[re.Match[str], list[tuple[int, int]]]] = []
    for index, keyword in enumerate(keywords):
        first = next((i for i, s in enumerate(starts) if s >= keyword.start()), len(starts))
        limit = len(tokens)
        if index + 1 < len(keywords):
            limit = next(
                (i for i, s in enumerate(starts) if s >= keywords[index + 1].start()), len(starts)
            )
        orgs: list[tuple[int, int]] = []
        windows = [(first + 1, limit)] + ([(0, first)] if index == 0 else [])
        for low, high in windows:
            for p in range(low, high):
                if tokens[p].text.lower() in _PARTNER_PREPOSITIONS:
                    orgs = find_organisations(tokens, p + 1, high)
                    if orgs:
                        break
            if orgs:
                break
        spans = [(tokens[a].start, tokens[b].end) for a, b in orgs]
        found.append((keyword, spans))
    facts: list[AgreementFact] = []
    seen: set[str] = set()
    scope_start = start
    for index, (keyword, spans) in enumerate(found):
        scope_end = end
        if index + 1 < len(found):
            after = max([keyword.end()] + [b for _, b in spans])
            nxt = found[index + 1][0].start()
            breaks = list(_CLAUSE_BREAK.finditer(text, after, nxt))
            scope_end = breaks[-1].start() if breaks else nxt
        if spans:
            scope = (scope_start, scope_end)
            facts.extend(_facts_for(text, keyword, spans, scope, sentence, seen=seen))
        scope_start = scope_end
    return facts


def _facts_for(
    text: str,
    keyword: re.Match[str],
    spans: list[tuple[int, int]],
    scope: tuple[int, int],
    sentence: tuple[int, int],
    *,
    seen: set[str],
) -> list[AgreementFact]:
    signed, ends = _agreement_dates(text, *scope, sentence)
    term = _term_months(text, *scope)
    ends_on: date | None = ends.last if ends else None
    ends_precision: Precision | None = ends.precision if ends else None
    if ends is None and signed is not None and term:
        ends_on, ends_precision = _end_after(signed, term), signed.precision
    renewed = _RENEWED.search(text, *scope)
    status = _STATUS.search(text, *scope) or renewed
    facts = []
    for number, (a, b) in enumerate(spans):
        partner = text[a:b]
        if partner in seen:
            continue
        seen.add(partner)
        after_end = spans[number + 1][0] if number + 1 < len(spans) else scope[1]
        facts.append(
            AgreementFact(
                partner=partner,
                evidence_start=sentence[0],
                evidence_end=sentence[1],
                kind=_kind(keyword),
                country=_country(text, (a, b), after_end, sentence),
                signed_on=signed.first if signed else None,
                signed_precision=signed.precision if signed else None,
                term_months=term,
                ends_on=ends_on,
                ends_precision=ends_precision,
                status=status[0] if status else None,
                renewed=renewed is not None,
            )
        )
    return facts
