"""Loaders turn one file into a `LoadedDocument` (see `load_file`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ingest.document import LoadedDocument, LoaderError
from ingest.loaders.docx_loader import load_docx
from ingest.loaders.html_loader import load_html
from ingest.loaders.markdown_loader import load_markdown
from ingest.loaders.pdf_loader import load_pdf
from ingest.loaders.table_loader import load_csv, load_xlsx
from ingest.loaders.text_loader import load_text

__all__ = ["SUPPORTED_SUFFIXES", "load_file"]

logger = logging.getLogger(__name__)

_LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".csv": load_csv,
    ".xlsx": load_xlsx,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)

_CONVERT_HINTS = {
    ".doc": "save it as .docx",
    ".xls": "save it as .xlsx",
    ".rtf": "save it as .docx",
    ".odt": "save it as .docx",
    ".ods": "save it as .xlsx",
    ".xlsm": "save it as .xlsx",
}


def load_file(path: Path, *, max_bytes: int) -> LoadedDocument:
    """Load `path` with the loader for its suffix (case-insensitive).

    Raises `LoaderError` with the reason to show the operator: unsupported type, too large,
    empty, unreadable, corrupt, encrypted, undecodable, or no text in it.
    """
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        hint = f"; {_CONVERT_HINTS[suffix]}" if suffix in _CONVERT_HINTS else ""
        raise LoaderError(
            f"unsupported file type '{suffix or path.name}'{hint} (supported: {supported})"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoaderError(
                f"file is too large: {_human_size(size)} ({size} bytes) exceeds the limit of "
                f"{_human_size(max_bytes)} ({max_bytes} bytes)"
            )
        if size == 0:
            raise LoaderError("empty file")
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"cannot read the file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:  # grew between stat and read
        raise LoaderError(f"file is too large: it exceeds the limit of {_human_size(max_bytes)}")
    document = loader(data)
    logger.debug("loaded %s: %d characters, %d headings", path, len(document.text),
                 len(document.headings))  # fmt: skip
    return document


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"
