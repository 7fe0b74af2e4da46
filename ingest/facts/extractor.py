"""All facts of one loaded document: a registry's rows, or what its prose states."""

from __future__ import annotations

from ingest.document import LoadedDocument
from ingest.facts.models import ExtractedFacts
from ingest.facts.prose_extractor import extract_from_prose
from ingest.facts.registry import import_registry


def extract_facts(loaded: LoadedDocument) -> ExtractedFacts:
    """A table that is an agreements registry gives one agreement per row; any other document
    is read as prose (agreements, contacts, events)."""
    if loaded.rows:
        registry = import_registry(loaded)
        if registry is not None:
            return registry
    return extract_from_prose(loaded.text)
