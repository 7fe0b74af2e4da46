"""Word documents (.docx): paragraphs and tables in document order, styled headings."""

from __future__ import annotations

import io
import logging
import re

import docx
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.document import LoadedDocument, LoaderError
from ingest.loaders.zip_guard import check_zip
from ingest.normalize import Block, assemble_blocks, heading_line

logger = logging.getLogger(__name__)

_HEADING_STYLE = re.compile(r"^(?:heading|заголовок)\s*(\d)$", re.IGNORECASE)
_TITLE_LEVEL = 1


def load_docx(data: bytes) -> LoadedDocument:
    """Load a .docx; the title is the document property, else the Title paragraph, else the
    first heading."""
    check_zip(data, ".docx")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # zip, XML and package errors all mean the same to the user
        raise LoaderError(f"corrupt or unreadable .docx file ({exc})") from exc
    blocks: list[Block] = []
    title_paragraph = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.append(Block("\n".join(_table_rows(item))))
            continue
        level, is_title = _heading_level(item)
        blocks.append(Block(item.text, level))
        if is_title and not title_paragraph:
            title_paragraph = heading_line(item.text)
    text, headings = assemble_blocks(blocks)
    if not text:
        raise LoaderError("no text could be extracted from the .docx file")
    title = _core_title(document) or title_paragraph or (headings[0].text if headings else "")
    return LoadedDocument(text=text, format="docx", title=title or None, headings=headings)


def _heading_level(paragraph: Paragraph) -> tuple[int, bool]:
    """(heading level or 0, whether the paragraph has the Title style)."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return _TITLE_LEVEL, True
    match = _HEADING_STYLE.match(name.strip())
    return (int(match.group(1)), False) if match else (0, False)


def _table_rows(table: Table) -> list[str]:
    """One line per row, cells joined by " | "; merged cells once; empty cells skipped."""
    rows: list[str] = []
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats for every grid column it spans
                continue
            seen.add(id(cell._tc))
            value = " ".join(cell.text.split())
            if value:
                cells.append(value)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _core_title(document: Document) -> str:
    try:
        return heading_line(document.core_properties.title or "")
    except Exception as exc:  # broken core properties are no reason to lose the text
        logger.warning("docx core properties unreadable: %s", exc)
        return ""
