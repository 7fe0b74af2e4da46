"""Recognise questions that need the facts database (dates, counts, lists, contacts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from assistant.knowledge.countries import find_country
from assistant.knowledge.periods import Period, find_period
from assistant.retrieval.question_analysis import acronyms, match_forms, name_terms
from ingest.facts.places import is_country_name

Intent = Literal["expiring", "signed", "count", "country", "contacts"]

_AGREEMENT = re.compile(
    r"agreement|memorand|\bmous?\b|contract|treat|договор|соглашени|меморандум", re.I
)
_PARTNER = re.compile(r"partner|cooperat|collaborat|партн[её]р|сотруднича|сотрудничеств", re.I)
_EXPIRE = re.compile(
    r"expir|run(?:s)? out|\bend(?:s|ing)?\b|valid until|lapse|renew|истека|истеч|заканчива|"
    r"закончи|оканчива|срок\w* действи|действу\w* до|перестан\w+ действ|продлит|продлен",
    re.I,
)
_SIGN = re.compile(r"\bsign|conclud|\bmade\b|подписа|заключ", re.I)
_COUNT = re.compile(r"\bhow many\b|\bnumber of\b|\bсколько\b|\bколичеств", re.I)
_CONTACT = re.compile(
    r"\b(?:whom|who)\b.{0,30}\b(?:contact|ask|write|call|talk)|\bcontact (?:person|for|about)|"
    r"\bwho is responsible\b|\bresponsible for\b|к кому .{0,20}обратиться|с кем .{0,20}связаться|"
    r"\bкуда .{0,20}обратиться|контактн\w+ лиц|кто отвечает|ответственн\w+ за",
    re.I,
)
_PERSON_SIGNED = re.compile(r"^\s*(?:who|кто)\b", re.I)  # "Who signed ...?" is about people
UPCOMING_DAYS = 365


@dataclass(frozen=True)
class StructuredQuery:
    """What the facts database is asked."""

    intent: Intent
    period: Period | None = None
    country: str | None = None
    topic: str = ""
    partner_terms: tuple[str, ...] = ()  # names in the question that must be in the partner


def route(question: str, today: date) -> StructuredQuery | None:
    """A structured query for `question`, or None when similarity search should answer it."""
    query = _route(question, today)
    if query is None or (query.intent == "contacts" and not _about_agreements(question)):
        return query  # "Who should I contact about internships?": the contacts' own words
    names = partner_terms(question)
    if query.intent == "expiring" and query.period is None and query.country is None and not names:
        # "Which agreements expire?" asks what is coming up; "When does the agreement with
        # the X Institute expire?" asks for that partner's end, whenever it is.
        query = replace(query, period=_upcoming(today))
    return replace(query, partner_terms=names)


def partner_terms(question: str) -> tuple[str, ...]:
    """The words a partner's name must hold for the question to be about it: the words of the
    names it gives (`name_terms`: the kind of organisation and its field count) and its
    acronyms ("AMST", "WHO"), but countries, months and the kind of document; Russian ones by
    their stems (`match_form`)."""
    return match_forms(
        word
        for word in (*name_terms(question), *acronyms(question))
        if not is_country_name(word)
        and not _MONTH_OR_PERIOD.match(word)
        and not _AGREEMENT.match(word)
        and not _PARTNER.match(word)
    )


def _upcoming(today: date) -> Period:
    return Period(
        today,
        today + timedelta(days=UPCOMING_DAYS),
        f"in the next {UPCOMING_DAYS} days",
        f"в ближайшие {UPCOMING_DAYS} дн.",
    )


_MONTH_OR_PERIOD = re.compile(
    r"^(january|february|march|april|may|june|july|august|september|october|november|"
    r"december)$",
    re.I,
)


def _about_agreements(question: str) -> bool:
    return bool(_AGREEMENT.search(question) or _PARTNER.search(question))


def _route(question: str, today: date) -> StructuredQuery | None:
    agreement = bool(_AGREEMENT.search(question))
    partner = bool(_PARTNER.search(question))
    if _CONTACT.search(question):
        # "Who is responsible for the agreements with Cuba?" asks the registry's rows there.
        country = find_country(question) if agreement or partner else None
        return StructuredQuery("contacts", topic=question, country=country)
    if (agreement or partner) and _EXPIRE.search(question):
        # With a partner country or a partner and no period: their agreements, whenever they
        # end (`route` adds the coming year when neither is named).
        return StructuredQuery(
            "expiring", period=find_period(question, today), country=find_country(question)
        )
    if agreement and _COUNT.search(question):
        return StructuredQuery("count", country=find_country(question))
    if _SIGN.search(question) and not _PERSON_SIGNED.search(question):
        period = find_period(question, today)
        if period is not None:
            return StructuredQuery("signed", period=period, country=find_country(question))
    country = find_country(question)
    if (agreement or partner) and country and country != "Russia":
        return StructuredQuery("country", country=country)
    return None
