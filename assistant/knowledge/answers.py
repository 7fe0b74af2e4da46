"""Answers from the facts database: clear lists, every row cited verbatim."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from datetime import date

from assistant.answering.models import Answer, Citation, Language, viewer_url
from assistant.knowledge.catalog import Catalog, CatalogCache
from assistant.knowledge.merging import MergedAgreement
from assistant.knowledge.periods import Period
from assistant.knowledge.router import StructuredQuery
from assistant.retrieval.audience import Audience, visibilities_for
from vectorstore.fact_records import AgreementFact
from vectorstore.facts_db import FactsDB
from vectorstore.facts_store import StoredAgreement, StoredContact

MAX_ROWS = 25
_Others = dict[int, tuple[StoredAgreement, ...]]
KIND_RU = {"agreement": "соглашение", "memorandum": "меморандум", "contract": "договор"}


def fmt_date(day: date, language: Language) -> str:
    """15 December 2026 / 15.12.2026."""
    return day.strftime("%d.%m.%Y") if language == "ru" else f"{day.day} {day:%B %Y}"


class KnowledgeAnswerer:
    """Answers structured questions for an audience from the facts it may see."""

    def __init__(self, facts: FactsDB, today: Callable[[], date]) -> None:
        self._facts = facts
        self._today = today
        self._catalogs = CatalogCache(facts)

    def warm(self, audience: Audience) -> None:
        """Build the audience's catalog now rather than on its first question."""
        self._catalogs.get(visibilities_for(audience))

    def answer(
        self, query: StructuredQuery, language: Language, audience: Audience
    ) -> Answer | None:
        """The answer, or None when the facts hold nothing for this question (then similarity
        search may do better)."""
        catalog = self._catalogs.get(visibilities_for(audience))
        if query.intent == "contacts":
            return self._contacts(query, language, catalog)
        merged = catalog.merged
        if query.partner_terms:
            merged = catalog.with_partner(query.partner_terms)
            if not merged:
                return None  # a partner the facts do not know: the pages may still mention it
        if query.country:
            in_country = catalog.country_ids(query.country)
            if len(merged) == len(catalog.merged):  # no partner filter: the index alone decides
                merged = [catalog.merged[i] for i in sorted(in_country)]
            else:
                wanted = {id(catalog.merged[i]) for i in in_country}
                merged = [m for m in merged if id(m) in wanted]
            if not merged and query.intent == "country":
                return None
        # In catalog order (end date, unknown last), which the intents below bisect.
        agreements = catalog.primaries if merged is catalog.merged else [m.primary for m in merged]
        others: _Others = catalog.others  # other mentions, cited beside each row
        if query.intent == "expiring":
            return self._expiring(query, language, agreements, others)
        if query.intent == "signed":
            return self._signed(query, language, merged, others)
        if query.intent == "count":
            return self._count(language, agreements, others)
        return self._list(query, language, agreements, others)

    # --- intents -------------------------------------------------------------------------------
    def _expiring(
        self,
        query: StructuredQuery,
        language: Language,
        agreements: list[StoredAgreement],
        others: _Others,
    ) -> Answer:
        today = self._today()
        period = query.period
        known, unknown = _by_end(agreements)
        chosen = known
        if period is not None:
            chosen = known[_ending_before(known, period.first) : _ending_by(known, period.last)]
        citations: list[Citation] = []
        lines = [self._row(a, language, today, citations, others) for a in chosen[:MAX_ROWS]]
        head = _expiring_head(language, period, query.country, today, len(chosen))
        tail = _unknown_tail(language, unknown, listing=not chosen)
        extra: list[str] = []
        if not chosen and unknown:
            extra = [self._row(a, language, today, citations, others) for a in unknown[:MAX_ROWS]]
        text = "\n".join([head, *lines, *(["", tail] if tail else []), *extra]).strip()
        # Without a known end in the period the documents do not answer; the text still says
        # which agreements they name and what they know of them.
        return self._finish(text, citations, language, found=bool(chosen))

    def _signed(
        self,
        query: StructuredQuery,
        language: Language,
        merged: list[MergedAgreement],
        others: _Others,
    ) -> Answer | None:
        period = query.period
        assert period is not None
        # Any mention may carry the signing date (a page may say 2017 where a registry is silent).
        chosen = [
            next(a for a in _all(m) if _overlaps(a, period))
            for m in merged
            if any(_overlaps(a, period) for a in _all(m))
        ]
        if not chosen:
            return None  # nothing dated: the pages themselves may still say it
        citations: list[Citation] = []
        today = self._today()
        lines = [self._row(a, language, today, citations, others) for a in chosen[:MAX_ROWS]]
        head = (
            f"Подписано {period.label_ru}: {len(chosen)}."
            if language == "ru"
            else f"Signed {period.label_en}: {len(chosen)}."
        )
        return self._finish("\n".join([head, *lines]), citations, language, found=True)

    def _count(
        self, language: Language, agreements: list[StoredAgreement], others: _Others
    ) -> Answer:
        today = self._today()
        known, unknown = _by_end(agreements)
        ended = _ending_before(known, today)
        in_force, expired = known[ended:], known[:ended]
        citations: list[Citation] = []
        lines = [self._row(a, language, today, citations, others) for a in in_force[:MAX_ROWS]]
        if language == "ru":
            head = (
                f"На {fmt_date(today, language)} действуют {len(in_force)} соглашений с известным "
                f"сроком окончания; {len(expired)} истекли; у {len(unknown)} срок не указан."
            )
        else:
            head = (
                f"As of {fmt_date(today, language)}, {len(in_force)} agreements with a known end "
                f"date are in force; {len(expired)} have expired; {len(unknown)} have no known "
                "end date."
            )
        return self._finish("\n".join([head, *lines]), citations, language, found=bool(agreements))

    def _list(
        self,
        query: StructuredQuery,
        language: Language,
        agreements: list[StoredAgreement],
        others: _Others,
    ) -> Answer:
        today = self._today()
        citations: list[Citation] = []
        lines = [self._row(a, language, today, citations, others) for a in agreements[:MAX_ROWS]]
        country = query.country or ""
        head = (
            f"Партнёры и соглашения ({country}): {len(agreements)}."
            if language == "ru"
            else f"Partners and agreements in {country}: {len(agreements)}."
        )
        return self._finish("\n".join([head, *lines]), citations, language, found=True)

    def _contacts(
        self, query: StructuredQuery, language: Language, catalog: Catalog
    ) -> Answer | None:
        """Who to contact: about the agreements with a partner (or with the partners in a
        country) the question names, see `_partner_contacts`; otherwise the contacts whose
        text shares the most words with the question."""
        if query.partner_terms or query.country:
            return self._partner_contacts(query, language, catalog)
        stems = {w[:5] for w in _words(query.topic) if len(w) > 3}
        scored = catalog.contacts_matching(stems)
        if not scored:
            return None
        citations: list[Citation] = []
        lines = [self._contact_line(catalog.contacts[p], citations) for _, p in scored[:5]]
        head = "Контакты:" if language == "ru" else "Contacts:"
        return self._finish("\n".join([head, *lines]), citations, language, found=True)

    def _partner_contacts(
        self, query: StructuredQuery, language: Language, catalog: Catalog
    ) -> Answer | None:
        """Who the agreements' mentions say is responsible, and the people whose contact
        details name the partner. When the agreements are recorded but nobody responsible for
        them, the answer says so (not found), with what is known of them; None when the facts
        know neither (the pages may)."""
        agreements: list[MergedAgreement]
        if query.partner_terms:
            agreements = catalog.with_partner(query.partner_terms)
            if query.country:
                in_country = {id(catalog.merged[i]) for i in catalog.country_ids(query.country)}
                agreements = [m for m in agreements if id(m) in in_country]
        else:
            assert query.country is not None
            agreements = [catalog.merged[i] for i in sorted(catalog.country_ids(query.country))]
        citations: list[Citation] = []
        lines = [
            line for merged in agreements for line in self._responsible(merged, language, citations)
        ][:MAX_ROWS]
        people = catalog.contacts_naming(query.partner_terms)
        lines += [self._contact_line(catalog.contacts[p], citations) for p in people[:5]]
        if lines:
            head = "Контакты:" if language == "ru" else "Contacts:"
            return self._finish("\n".join([head, *lines]), citations, language, found=True)
        if not agreements:
            return None
        today = self._today()
        rows = [
            self._row(m.primary, language, today, citations, catalog.others)
            for m in agreements[:MAX_ROWS]
        ]
        head = (
            "В документах не указано, кто отвечает за эти соглашения:"
            if language == "ru"
            else "The documents do not say who is responsible for these agreements:"
        )
        return self._finish("\n".join([head, *rows]), citations, language, found=False)

    def _responsible(
        self, merged: MergedAgreement, language: Language, citations: list[Citation]
    ) -> list[str]:
        """One line per distinct set of contact details the agreement's mentions give (who is
        responsible, e-mail, phone), each cited; none when they give none."""
        details: dict[tuple[str, ...], list[StoredAgreement]] = {}
        for stored in _all(merged):
            fact = stored.fact
            given = tuple(p for p in (fact.responsible, fact.email, fact.phone) if p)
            if given:
                details.setdefault(given, []).append(stored)
        partner = _partner_and_kind(merged.primary.fact, language)
        label = "ответственный" if language == "ru" else "responsible"
        lines = []
        for mentions in details.values():
            first = mentions[0].fact
            who = f"{label}: {first.responsible}" if first.responsible else ""
            parts = [part for part in (who, first.email, first.phone) if part]
            marker = self._cite_all(mentions, citations)
            lines.append(f"- {partner}: {'; '.join(parts)} {marker}")
        return lines

    def _contact_line(self, contact: StoredContact, citations: list[Citation]) -> str:
        fact = contact.fact
        marker = self._cite(contact.doc_id, fact.evidence_start, fact.evidence_end, citations)
        parts = [fact.person, fact.role, fact.organisation, fact.phone, fact.email]
        return f"- {', '.join(p for p in parts if p)} {marker}"

    # --- rows and citations --------------------------------------------------------------------
    def _row(
        self,
        stored: StoredAgreement,
        language: Language,
        today: date,
        citations: list[Citation],
        others: _Others,
    ) -> str:
        fact = stored.fact
        marker = self._cite_all((stored, *others.get(id(stored), ())), citations)
        parts = [f"- {_partner_and_kind(fact, language)}"]
        if fact.signed_on:
            signed = _precise(fact.signed_on, fact.signed_precision, language)
            parts.append(f", подписано {signed}" if language == "ru" else f", signed {signed}")
        parts.append(_ending(fact.ends_on, fact.ends_precision, language, today))
        return "".join(parts) + f" {marker}"

    def _cite_all(self, mentions: Sequence[StoredAgreement], citations: list[Citation]) -> str:
        """The citation markers of these mentions of an agreement."""
        return "".join(
            self._cite(s.doc_id, s.fact.evidence_start, s.fact.evidence_end, citations)
            for s in mentions
        )

    def _cite(self, doc_id: str, start: int, end: int, citations: list[Citation]) -> str:
        for citation in citations:
            if citation.doc_id == doc_id and citation.start == start and citation.end == end:
                return f"[{citation.n}]"
        served = self._facts.get_quote(doc_id, start, end)
        if served is None:
            return ""
        citation = Citation(
            n=len(citations) + 1,
            doc_id=doc_id,
            source=served.source,
            title=served.title,
            section="",
            quote=served.text,
            start=start,
            end=end,
            url=viewer_url(doc_id, start, end),
        )
        citations.append(citation)
        return f"[{citation.n}]"

    @staticmethod
    def _finish(text: str, citations: list[Citation], language: Language, *, found: bool) -> Answer:
        return Answer(
            answer=text, citations=citations, found=found, mode="structured", language=language
        )


def _partner_and_kind(fact: AgreementFact, language: Language) -> str:
    """ "Partner (Country) — agreement", the head of an agreement's line."""
    country = f" ({fact.country})" if fact.country else ""
    kind = KIND_RU.get(fact.kind, "документ") if language == "ru" else fact.kind
    return f"{fact.partner}{country} — {kind}"


def _end(stored: StoredAgreement) -> date:
    return stored.fact.ends_on or date.max


def _by_end(
    agreements: list[StoredAgreement],
) -> tuple[list[StoredAgreement], list[StoredAgreement]]:
    """Agreements in catalog order split into those with a known end date and the others
    (a bisection, not a pass over every agreement)."""
    known = bisect.bisect_left(agreements, True, key=lambda a: a.fact.ends_on is None)
    return agreements[:known], agreements[known:]


def _ending_before(known: list[StoredAgreement], day: date) -> int:
    """How many agreements (sorted by end date) end before `day`."""
    return bisect.bisect_left(known, day, key=_end)


def _ending_by(known: list[StoredAgreement], day: date) -> int:
    """How many agreements (sorted by end date) end on or before `day`."""
    return bisect.bisect_right(known, day, key=_end)


def _all(merged: MergedAgreement) -> tuple[StoredAgreement, ...]:
    return (merged.primary, *merged.others)


def _overlaps(stored: StoredAgreement, period: Period) -> bool:
    signed = stored.fact.signed_on
    return signed is not None and period.first <= signed <= period.last


def _precise(day: date, precision: str | None, language: Language) -> str:
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return day.strftime("%m.%Y") if language == "ru" else f"{day:%B %Y}"
    return fmt_date(day, language)


def _ending(ends_on: date | None, precision: str | None, language: Language, today: date) -> str:
    if ends_on is None:
        return ", срок окончания не указан" if language == "ru" else ", no known end date"
    shown = _precise(ends_on, precision, language)
    days = (ends_on - today).days
    if language == "ru":
        if days < 0:
            return f", истекло {shown}"
        if days == 0:
            return f", действует до {shown}: истекает сегодня"
        if days == 1:
            return f", действует до {shown}: истекает завтра"
        return f", действует до {shown}: истекает через {days} дн."
    if days < 0:
        return f", ended {shown}: expired on {shown}"
    if days == 0:
        return f", ends {shown}: expires today"
    if days == 1:
        return f", ends {shown}: expires tomorrow"
    return f", ends {shown}: expires in {days} days"


def _expiring_head(
    language: Language, period: Period | None, country: str | None, today: date, count: int
) -> str:
    when_en = period.label_en if period else "(any date)"
    when_ru = period.label_ru if period else "(за всё время)"
    where_en = f" with partners in {country}" if country else ""
    where_ru = f" с партнёрами ({country})" if country else ""
    if language == "ru":
        if count:
            as_of = fmt_date(today, language)
            return f"Соглашения{where_ru}, срок которых истекает {when_ru} (на {as_of}): {count}."
        return f"В документах нет соглашений{where_ru} с известным сроком окончания {when_ru}."
    if count:
        return (
            f"Agreements{where_en} ending {when_en} (as of {fmt_date(today, language)}): {count}."
        )
    return f"No agreement{where_en} in the documents has a known end date {when_en}."


def _unknown_tail(language: Language, unknown: list[StoredAgreement], *, listing: bool) -> str:
    if not unknown:
        return ""
    end = ":" if listing else "."
    count = len(unknown)
    if language == "ru":
        noun = "соглашения" if count % 10 == 1 and count % 100 != 11 else "соглашений"
        return f"У {count} {noun} в документах срок окончания не указан{end}"
    if count == 1:
        return f"1 agreement in the documents has no known end date{end}"
    return f"{count} agreements in the documents have no known end date{end}"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
