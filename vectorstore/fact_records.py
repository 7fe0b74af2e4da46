"""Facts found in a document. Every fact keeps the offsets of its evidence in the document's
canonical text, so it can be cited verbatim (`text[evidence_start:evidence_end]`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Precision = Literal["day", "month", "year"]
AgreementKind = Literal["agreement", "memorandum", "contract", "other"]


@dataclass(frozen=True)
class DateMatch:
    """A date or date range written in a text; `first`..`last` is the span it denotes
    ("May 2017" → 2017-05-01..2017-05-31, precision "month")."""

    start: int
    end: int
    first: date
    last: date
    precision: Precision
    text: str


@dataclass(frozen=True)
class AgreementFact:
    """One agreement (or memorandum, contract) with a partner.

    `ends_on` is only set when the text states an end ("valid until", "expires on", a signed
    date plus a stated term); it is never guessed. `row` is the registry row (1-based, header
    excluded) when the fact comes from a spreadsheet.
    """

    partner: str
    evidence_start: int
    evidence_end: int
    kind: AgreementKind = "agreement"
    country: str | None = None
    signed_on: date | None = None
    signed_precision: Precision | None = None
    term_months: int | None = None
    ends_on: date | None = None
    ends_precision: Precision | None = None
    status: str | None = None  # e.g. "in force", "renewed", "terminated", as written
    renewed: bool = False
    responsible: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class ContactFact:
    """A person or office to contact."""

    evidence_start: int
    evidence_end: int
    person: str | None = None
    role: str | None = None
    organisation: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class EventFact:
    """An event with its dates and place when stated."""

    name: str
    evidence_start: int
    evidence_end: int
    starts_on: date | None = None
    ends_on: date | None = None
    precision: Precision | None = None
    place: str | None = None


@dataclass
class ExtractedFacts:
    """Everything found in one document, plus problems (e.g. registry rows that were skipped)."""

    agreements: list[AgreementFact] = field(default_factory=list)
    contacts: list[ContactFact] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
