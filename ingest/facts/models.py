"""The fact types, defined in the storage layer (`vectorstore.fact_records`) that keeps them."""

from vectorstore.fact_records import (
    AgreementFact,
    AgreementKind,
    ContactFact,
    DateMatch,
    EventFact,
    ExtractedFacts,
    Precision,
)

__all__ = [
    "AgreementFact",
    "AgreementKind",
    "ContactFact",
    "DateMatch",
    "EventFact",
    "ExtractedFacts",
    "Precision",
]
