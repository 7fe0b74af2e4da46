"""Reading and writing cooperation facts (agreements, contacts, events) in the facts database.

Facts are written in the ingest transaction that writes their document, and replaced with it.
Reads filter by visibility in SQL, so a visitor's query never touches internal rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from vectorstore.fact_records import AgreementFact, ContactFact, EventFact, ExtractedFacts
from vectorstore.facts_db import FactsDB
from vectorstore.records import Visibility


@dataclass(frozen=True)
class StoredAgreement:
    """An agreement as stored, with the document it was found in."""

    fact: AgreementFact
    doc_id: str
    visibility: Visibility
    title: str
    source: str


@dataclass(frozen=True)
class StoredContact:
    """A contact as stored, with its document."""

    fact: ContactFact
    doc_id: str
    title: str
    source: str


def replace_facts(
    conn: sqlite3.Connection, doc_id: str, visibility: Visibility, facts: ExtractedFacts
) -> None:
    """Put exactly these facts in place of the document's previous ones (inside a transaction)."""
    for table in ("agreements", "contacts", "events"):
        conn.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))
    conn.executemany(
        "INSERT INTO agreements(doc_id, visibility, partner, country, kind, signed_on, "
        "signed_precision, term_months, ends_on, ends_precision, status, renewed, responsible, "
        "email, phone, notes, row_number, evidence_start, evidence_end) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                doc_id, visibility, a.partner, a.country, a.kind, _iso(a.signed_on),
                a.signed_precision, a.term_months, _iso(a.ends_on), a.ends_precision, a.status,
                int(a.renewed), a.responsible, a.email, a.phone, a.notes, a.row,
                a.evidence_start, a.evidence_end,
            )
            for a in facts.agreements
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO contacts(doc_id, visibility, person, role, organisation, phone, email, "
        "evidence_start, evidence_end) VALUES(?,?,?,?,?,?,?,?,?)",
        [
            (doc_id, visibility, c.person, c.role, c.organisation, c.phone, c.email,
             c.evidence_start, c.evidence_end)
            for c in facts.contacts
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO events(doc_id, visibility, name, starts_on, ends_on, precision, place, "
        "evidence_start, evidence_end) VALUES(?,?,?,?,?,?,?,?,?)",
        [
            (doc_id, visibility, e.name, _iso(e.starts_on), _iso(e.ends_on), e.precision,
             e.place, e.evidence_start, e.evidence_end)
            for e in facts.events
        ],
    )  # fmt: skip


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _marks(visibilities: tuple[Visibility, ...]) -> str:
    return ",".join("?" * len(visibilities))


def list_agreements(db: FactsDB, visibilities: tuple[Visibility, ...]) -> list[StoredAgreement]:
    """Every agreement the given visibilities may see, ordered by end date (unknown last)."""
    rows = db.query(
        "SELECT a.*, d.title, d.source FROM agreements a JOIN documents d ON d.doc_id = a.doc_id "
        f"WHERE a.visibility IN ({_marks(visibilities)}) "
        "ORDER BY a.ends_on IS NULL, a.ends_on, a.partner",
        visibilities,
    )
    return [
        StoredAgreement(
            fact=AgreementFact(
                partner=row["partner"],
                evidence_start=row["evidence_start"],
                evidence_end=row["evidence_end"],
                kind=row["kind"],
                country=row["country"],
                signed_on=_date(row["signed_on"]),
                signed_precision=row["signed_precision"],
                term_months=row["term_months"],
                ends_on=_date(row["ends_on"]),
                ends_precision=row["ends_precision"],
                status=row["status"],
                renewed=bool(row["renewed"]),
                responsible=row["responsible"],
                email=row["email"],
                phone=row["phone"],
                notes=row["notes"],
                row=row["row_number"],
            ),
            doc_id=row["doc_id"],
            visibility=row["visibility"],
            title=row["title"],
            source=row["source"],
        )
        for row in rows
    ]


def list_contacts(db: FactsDB, visibilities: tuple[Visibility, ...]) -> list[StoredContact]:
    """Every contact the given visibilities may see."""
    return [contact for contact, _ in list_contacts_with_evidence(db, visibilities)]


def list_contacts_with_evidence(
    db: FactsDB, visibilities: tuple[Visibility, ...]
) -> list[tuple[StoredContact, str]]:
    """Every contact the given visibilities may see, with its evidence: the text at its
    offsets, cut out by SQLite (no document is read whole)."""
    rows = db.query(
        "SELECT c.*, d.title, d.source, "
        "substr(d.text, c.evidence_start + 1, c.evidence_end - c.evidence_start) AS evidence "
        "FROM contacts c JOIN documents d ON d.doc_id = c.doc_id "
        f"WHERE c.visibility IN ({_marks(visibilities)}) ORDER BY c.person, c.id",
        visibilities,
    )
    return [
        (
            StoredContact(
                fact=ContactFact(
                    evidence_start=row["evidence_start"],
                    evidence_end=row["evidence_end"],
                    person=row["person"],
                    role=row["role"],
                    organisation=row["organisation"],
                    phone=row["phone"],
                    email=row["email"],
                ),
                doc_id=row["doc_id"],
                title=row["title"],
                source=row["source"],
            ),
            row["evidence"] or "",
        )
        for row in rows
    ]


def list_events(db: FactsDB, visibilities: tuple[Visibility, ...]) -> list[tuple[EventFact, str]]:
    """Every event the given visibilities may see, with its doc_id."""
    rows = db.query(
        f"SELECT * FROM events WHERE visibility IN ({_marks(visibilities)}) ORDER BY starts_on",
        visibilities,
    )
    return [
        (
            EventFact(
                name=row["name"],
                evidence_start=row["evidence_start"],
                evidence_end=row["evidence_end"],
                starts_on=_date(row["starts_on"]),
                ends_on=_date(row["ends_on"]),
                precision=row["precision"],
                place=row["place"],
            ),
            row["doc_id"],
        )
        for row in rows
    ]
