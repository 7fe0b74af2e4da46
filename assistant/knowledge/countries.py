"""Countries named in questions and stored facts, with the extractor's table of places
(English and Russian, every case form), so both sides agree on canonical names."""

from __future__ import annotations

from ingest.facts.places import find_country

__all__ = ["find_country", "same_country"]


def same_country(stored: str | None, wanted: str) -> bool:
    """Whether a stored country (as written in a document) is `wanted`."""
    return bool(stored) and find_country(stored or "") == wanted
