"""Agreements, contacts and events stated in English or Russian prose, found by rules.

Every fact's evidence is a sentence (or a block of contact lines) of the text it was read
from, so `text[fact.evidence_start:fact.evidence_end]` can be quoted. The text is split into
sentences (`sentence_splitter`), and each part is read by its own module:

- `agreement_extractor`: agreements with partner, signing and end dates, term, status, country;
- `event_extractor`: named events with dates and place;
- `contact_extractor`: people with roles, phones and e-mails;

which share `organisations` (partner-name recognition) and `places` (countries and cities).
"""

from __future__ import annotations

from ingest.facts.agreement_extractor import extract_agreements
from ingest.facts.contact_extractor import extract_contacts
from ingest.facts.event_extractor import extract_events
from ingest.facts.models import ExtractedFacts
from ingest.facts.sentence_splitter import sentences

__all__ = ["extract_from_prose", "sentences"]


def extract_from_prose(text: str) -> ExtractedFacts:
    """Agreements, contacts and events stated in `text` (offsets into `text`).

    Deterministic and linear in the text's size; a sentence is only looked at closely when it
    has an agreement keyword, an event word, a role word, a phone or an e-mail.
    """
    facts = ExtractedFacts()
    spans = sentences(text)
    for span in spans:
        facts.agreements.extend(extract_agreements(text, span))
        facts.events.extend(extract_events(text, span))
    facts.contacts.extend(extract_contacts(text, spans))
    return facts
