"""Agreements and contacts as JSON-ready rows (for `coop agreements|contacts` and the API)."""

from __future__ import annotations

from datetime import date
from typing import Any

from assistant.answering.models import viewer_url
from assistant.knowledge.merging import merge_agreements
from assistant.knowledge.periods import Period
from assistant.retrieval.audience import Audience, visibilities_for
from vectorstore.facts_db import FactsDB
from vectorstore.facts_store import list_agreements, list_contacts


def _citation(facts: FactsDB, doc_id: str, start: int, end: int) -> dict[str, Any] | None:
    document = facts.get_document(doc_id)
    if document is None:
        return None
    return {
        "doc_id": doc_id,
        "source": document.source,
        "title": document.title,
        "quote": document.text[start:end],
        "start": start,
        "end": end,
        "url": viewer_url(doc_id, start, end),
    }


def agreement_rows(
    facts: FactsDB, audience: Audience, today: date, period: Period | None = None
) -> dict[str, Any]:
    """Agreements the audience may see (ending within `period` when given), soonest first,
    with how many have no known end date."""
    rows: list[dict[str, Any]] = []
    unknown = 0
    for merged in merge_agreements(list_agreements(facts, visibilities_for(audience))):
        stored = merged.primary
        fact = stored.fact
        if fact.ends_on is None:
            unknown += 1
            if period is not None:
                continue
        elif period is not None and not period.contains(fact.ends_on):
            continue
        days_left = (fact.ends_on - today).days if fact.ends_on else None
        rows.append(
            {
                "partner": fact.partner,
                "country": fact.country,
                "kind": fact.kind,
                "signed_on": fact.signed_on.isoformat() if fact.signed_on else None,
                "ends_on": fact.ends_on.isoformat() if fact.ends_on else None,
                "ends_precision": fact.ends_precision,
                "days_left": days_left,
                "expired": days_left is not None and days_left < 0,
                "status": fact.status,
                "renewed": fact.renewed,
                "responsible": fact.responsible,
                "email": fact.email,
                "phone": fact.phone,
                "notes": fact.notes,
                "citation": _citation(facts, stored.doc_id, fact.evidence_start, fact.evidence_end),
                "also_cited": [
                    _citation(facts, o.doc_id, o.fact.evidence_start, o.fact.evidence_end)
                    for o in merged.others
                ],
            }
        )
    return {
        "as_of": today.isoformat(),
        "period": None
        if period is None
        else {
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "label": period.label_en,
        },
        "agreements": rows,
        "without_end_date": unknown,
    }


def contact_rows(facts: FactsDB, audience: Audience, query: str = "") -> list[dict[str, Any]]:
    """Contacts the audience may see whose person, role, organisation or evidence mention every
    word of `query` (all of them when it is empty)."""
    words = [w for w in query.lower().split() if w]
    rows: list[dict[str, Any]] = []
    for stored in list_contacts(facts, visibilities_for(audience)):
        fact = stored.fact
        citation = _citation(facts, stored.doc_id, fact.evidence_start, fact.evidence_end)
        haystack = " ".join(
            filter(None, [fact.person, fact.role, fact.organisation, fact.email, fact.phone,
                          stored.title, citation["quote"] if citation else ""])
        ).lower()  # fmt: skip
        if all(w in haystack for w in words):
            rows.append(
                {
                    "person": fact.person,
                    "role": fact.role,
                    "organisation": fact.organisation,
                    "phone": fact.phone,
                    "email": fact.email,
                    "citation": citation,
                }
            )
    return rows
