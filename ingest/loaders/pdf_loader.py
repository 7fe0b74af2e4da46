"""PDF (.pdf): the text layer of each page, pages separated by a blank line."""

from __future__ import annotations

import io
import logging
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

from ingest.document import LoadedDocument, LoaderError
from ingest.normalize import BLOCK_SEPARATOR, normalize_text

logger = logging.getLogger(__name__)

_ENCRYPTED = "encrypted PDF; decrypt it first"
MAX_PAGES = 5000  # reading takes a few ms a page; a PDF this long is better split


def load_pdf(data: bytes) -> LoadedDocument:
    """Load a PDF's text layer; an encrypted PDF is opened only if its password is empty."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt_with_empty_password(reader)
        _check_page_count(_declared_pages(reader))  # before walking a huge page tree
        pages = list(reader.pages)
        _check_page_count(len(pages))
    except LoaderError:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise LoaderError(_ENCRYPTED) from exc
    except Exception as exc:  # pypdf raises many types for broken files
        raise LoaderError(f"corrupt or unreadable PDF ({exc})") from exc
    texts: list[str] = []
    warnings: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            page_text = normalize_text(page.extract_text() or "")
        except Exception as exc:  # one broken page should not lose the whole document
            warnings.append(f"page {number}: text could not be extracted ({exc})")
            logger.warning("page %d: text could not be extracted: %s", number, exc)
            continue
        if page_text:
            texts.append(page_text)
    if not texts:
        raise LoaderError("no text could be extracted (scanned PDF?)")
    return LoadedDocument(
        text=BLOCK_SEPARATOR.join(texts),
        format="pdf",
        title=_metadata_title(reader),
        warnings=warnings,
    )


def _declared_pages(reader: PdfReader) -> int:
    """The page count the document states (cheap to read; it may lie, the walk is checked too)."""
    try:
        root: Any = reader.trailer["/Root"]
        return int(root["/Pages"]["/Count"])
    except Exception:  # a missing or odd /Count: the page walk decides
        return 0


def _check_page_count(count: int) -> None:
    if count > MAX_PAGES:
        raise LoaderError(
            f"the PDF has {count:,} pages, more than the {MAX_PAGES:,} that are read from one "
            "file; split it into smaller files"
        )


def _decrypt_with_empty_password(reader: PdfReader) -> None:
    """Many PDFs are encrypted only to restrict printing and open with an empty password."""
    try:
        result = reader.decrypt("")
    except (DependencyError, NotImplementedError, PdfReadError) as exc:
        raise LoaderError(_ENCRYPTED) from exc
    if not result:
        raise LoaderError(_ENCRYPTED)


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
    except Exception as exc:  # a broken info dictionary is no reason to lose the text
        logger.warning("PDF metadata unreadable: %s", exc)
        return None
    title = normalize_text(str(metadata.title or "")) if metadata is not None else ""
    return " ".join(title.split()) or None
