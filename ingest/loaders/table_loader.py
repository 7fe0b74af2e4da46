"""Spreadsheets (.csv, .xlsx) as text: one line per row, "Header: value; Header: value"."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence

import openpyxl

from ingest.document import LoadedDocument, LoaderError
from ingest.encoding import decode_bytes
from ingest.normalize import Block, assemble_blocks, heading_line

logger = logging.getLogger(__name__)

_DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50


def load_csv(data: bytes) -> LoadedDocument:
    """Load a CSV file, with a comma, semicolon or tab delimiter, in any supported encoding."""
    raw, encoding = decode_bytes(data)
    delimiter = sniff_delimiter(raw)
    rows = list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter))
    text, _ = assemble_blocks([Block("\n".join(rows_as_lines(rows)))])
    if not text:
        raise LoaderError("no text could be extracted (the table has no values)")
    return LoadedDocument(text=text, format="csv", encoding=encoding)


def load_xlsx(data: bytes) -> LoadedDocument:
    """Load an .xlsx workbook: a heading per sheet with values, then the sheet's rows."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and format errors all mean the same to the user
        raise LoaderError(f"corrupt or unreadable .xlsx file ({exc})") from exc
    blocks: list[Block] = []
    try:
        for sheet in workbook.worksheets:
            lines = rows_as_lines(sheet.iter_rows(values_only=True))
            if lines:
                blocks.append(Block(str(sheet.title), 1))
                blocks.append(Block("\n".join(lines)))
        title = heading_line(workbook.properties.title or "")
    except Exception as exc:
        raise LoaderError(f"corrupt or unreadable .xlsx file ({exc})") from exc
    finally:
        workbook.close()
    text, headings = assemble_blocks(blocks)
    if not text:
        raise LoaderError("no text could be extracted (the workbook has no values)")
    return LoadedDocument(text=text, format="xlsx", title=title or None, headings=headings)


def sniff_delimiter(text: str) -> str:
    """The delimiter (comma, semicolon, tab) that splits the first lines most consistently."""
    sample = "\n".join(text.splitlines()[:_SNIFF_LINES])
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(r)]
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def rows_as_lines(rows: Iterable[Sequence[object]]) -> list[str]:
    """The first row with values is the header; every later row becomes
    "Header1: v1; Header2: v2" with empty cells skipped. A table of only a header lists it."""
    header: list[str] | None = None
    lines: list[str] = []
    for row in rows:
        cells = [format_cell(value) for value in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        pairs = [
            f"{header[i] if i < len(header) and header[i] else f'Column {i + 1}'}: {value}"
            for i, value in enumerate(cells)
            if value
        ]
        lines.append("; ".join(pairs))
    if header is not None and not lines:
        return ["; ".join(cell for cell in header if cell)]
    return lines


def format_cell(value: object) -> str:
    """A cell value as text: whole floats without ".0", dates in ISO form, one line."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())
