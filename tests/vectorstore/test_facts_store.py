"""Facts read back from SQLite: a contact's evidence, cut out by SQLite, is exactly the
document's text at the contact's offsets, whatever the script (Python counts code points, and
so does SQLite's substr on text)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore.fact_records import ContactFact, ExtractedFacts
from vectorstore.facts_db import FactsDB
from vectorstore.facts_store import list_contacts, list_contacts_with_evidence, replace_facts
from vectorstore.records import DocumentRecord, Visibility


@contextmanager
def _one_document(
    text: str, visibility: Visibility, facts: ExtractedFacts | None = None
) -> Iterator[FactsDB]:
    """A facts database holding one document `d1` (page.txt, "Page") with these facts."""
    with tempfile.TemporaryDirectory() as folder:
        db = FactsDB(Path(folder) / "facts.sqlite3")
        try:
            document = DocumentRecord(
                doc_id="d1", source="page.txt", title="Page", format="txt", language="en",
                visibility=visibility, text=text, content_hash="h",
            )  # fmt: skip
            with db.transaction() as conn:
                FactsDB.replace_document(conn, document, "/tmp/page.txt", [], "2026-11-25")
                if facts is not None:
                    replace_facts(conn, "d1", visibility, facts)
            yield db
        finally:
            db.close()


ALPHABET = st.sampled_from([*"ab Zё Жщ\n—«»é", "\u0301", "😀", "𝔄", "\t"])


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(ALPHABET, min_size=1, max_size=200),
    spans=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=6),
    internal=st.booleans(),
)
def test_a_contacts_evidence_is_its_documents_text_at_its_offsets(text, spans, internal):
    visibility: Visibility = "internal" if internal else "public"
    other: Visibility = "public" if internal else "internal"
    contacts = [
        ContactFact(
            evidence_start=min(a, b, len(text)),
            evidence_end=min(max(a, b), len(text)),
            person=f"Person {i}",
        )
        for i, (a, b) in enumerate(spans)
    ]
    with _one_document(text, visibility, ExtractedFacts(contacts=contacts)) as db:
        found = list_contacts_with_evidence(db, ("public", "internal"))
        assert [contact for contact, _ in found] == list_contacts(db, ("public", "internal"))
        assert len(found) == len(contacts)
        for contact, evidence in found:
            fact = contact.fact
            assert evidence == text[fact.evidence_start : fact.evidence_end]
        assert list_contacts_with_evidence(db, (other,)) == []


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(ALPHABET, max_size=200),
    spans=st.lists(st.tuples(st.integers(0, 220), st.integers(0, 220)), min_size=1, max_size=6),
    internal=st.booleans(),
)
def test_a_quote_is_its_documents_text_at_its_offsets(text, spans, internal):
    """What a citation is checked against: cut by SQLite, equal to Python's slice, past the
    end and backwards alike."""
    visibility: Visibility = "internal" if internal else "public"
    with _one_document(text, visibility) as db:
        for start, end in spans:
            quote = db.get_quote("d1", start, end)
            assert quote is not None
            assert quote.text == text[start:end]
            assert (quote.source, quote.title, quote.visibility) == ("page.txt", "Page", visibility)
        assert db.get_quote("d2", 0, 1) is None
