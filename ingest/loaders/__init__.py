"""Loaders turn one file into a `LoadedDocument` (see `load_file`).

A loader's module is imported the first time a file of its type is loaded, so a process that
reads only text files (a parser worker, say) does not pay for the PDF, Word and Excel libraries.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import cast

from ingest.document import LoadedDocument, LoaderError

__all__ = ["SUPPORTED_SUFFIXES", "load_file"]

logger = logging.getLogger(__name__)

# suffix -> (module in ingest.loaders, function)
_LOADERS: dict[str, tuple[str, str]] = {
    ".txt": ("text_loader", "load_text"),
    ".md": ("markdown_loader", "load_markdown"),
    ".markdown": ("markdown_loader", "load_markdown"),
    ".html": ("html_loader", "load_html"),
    ".htm": ("html_loader", "load_html"),
    ".pdf": ("pdf_loader", "load_pdf"),
    ".docx": ("docx_loader", "load_docx"),
    ".csv": ("table_loader", "load_csv"),
    ".xlsx": ("table_loader", "load_xlsx"),
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
    if suffix not in _LOADERS:
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
    document = _loader(suffix)(data)
    logger.debug("loaded %s: %d characters, %d headings", path, len(document.text),
                 len(document.headings))  # fmt: skip
    return document


def _loader(suffix: str) -> Callable[[bytes], LoadedDocument]:
    module, function = _LOADERS[suffix]
    loaded = importlib.import_module(f"ingest.loaders.{module}")
    return cast(Callable[[bytes], LoadedDocument], getattr(loaded, function))


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"
