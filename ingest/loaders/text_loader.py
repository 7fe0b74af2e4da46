"""Plain text (.txt): decode, normalise, and take a title-like first line as the title."""

from __future__ import annotations

import logging

from ingest.document import LoadedDocument, LoaderError
from ingest.encoding import decode_bytes
from ingest.normalize import normalize_text

logger = logging.getLogger(__name__)

_MAX_TITLE_CHARS = 150
_MAX_TITLE_WORDS = 20
_SENTENCE_ENDINGS = (".", ",", ";", ":")


def load_text(data: bytes) -> LoadedDocument:
    """Load a plain text file; headings stay empty (the chunker finds title-like lines)."""
    raw, encoding = decode_bytes(data)
    text = normalize_text(raw)
    if not text:
        raise LoaderError("empty file (only whitespace)")
    logger.debug("decoded text file as %s", encoding)
    return LoadedDocument(text=text, format="txt", title=guess_title(text), encoding=encoding)


def guess_title(text: str) -> str | None:
    """The first line, when it is short, has a letter, does not read like a sentence and more
    text follows it; otherwise None."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not rest.strip() or not first or len(first) > _MAX_TITLE_CHARS:
        return None
    if len(first.split()) > _MAX_TITLE_WORDS or first.endswith(_SENTENCE_ENDINGS):
        return None
    if not any(ch.isalpha() for ch in first):
        return None
    return first
