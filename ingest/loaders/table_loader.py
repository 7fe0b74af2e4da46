"""Spreadsheets (.csv, .xlsx) as text: one line per row, "Header: value; Header: value".

Besides the text, every data row becomes a `TableRow` with the span of its line and its cells
by header, so a registry can be read row by row and each row cited verbatim.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ingest.document import Heading, LoadedDocument, LoaderError, TableRow
from ingest.encoding import decode_bytes
from ingest.loaders.zip_guard import check_zip
from ingest.normalize import BLOCK_SEPARATOR, Block, assemble_blocks, heading_line

logger = logging.getLogger(__name__)

_DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50


@dataclass
class TableLines:
    """One table's lines in canonical form; `cells[i]` belongs to `lines[i]` (None for a
    header-only table, whose single line lists the header)."""

    lines: list[str] = field(default_factory=list)
    cells: list[dict[str, str] | None] = field(default_factory=list)


def load_csv(data: bytes) -> LoadedDocument:
    """Load a CSV file, with a comma, semicolon or tab delimiter, in any supported encoding."""
    raw, encoding = decode_bytes(data)
    try:
        delimiter = sniff_delimiter(raw)
        table = table_lines(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's 131,072 characters
        raise LoaderError(
            f"unreadable CSV ({exc}); save it again from the spreadsheet, or split very long cells"
        ) from exc
    text, _, rows, warnings = _assemble([(None, table)])
    if not text:
        raise LoaderError("no text could be extracted (the table has no values)")
    return LoadedDocument(text=text, format="csv", encoding=encoding, rows=rows, warnings=warnings)


def load_xlsx(data: bytes) -> LoadedDocument:
    """Load an .xlsx workbook: a heading per sheet with values, then the sheet's rows."""
    import openpyxl  # noqa: PLC0415  (slow to import, with numpy; csv needs neither)

    check_zip(data, ".xlsx")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and format errors all mean the same to the user
        raise LoaderError(f"corrupt or unreadable .xlsx file ({exc})") from exc
    tables: list[tuple[str | None, TableLines]] = []
    try:
        for sheet in workbook.worksheets:
            tables.append((str(sheet.title), table_lines(sheet.iter_rows(values_only=True))))
        title = heading_line(workbook.properties.title or "")
    except Exception as exc:
        raise LoaderError(f"corrupt or unreadable .xlsx file ({exc})") from exc
    finally:
        workbook.close()
    text, headings, rows, warnings = _assemble(tables)
    if not text:
        raise LoaderError("no text could be extracted (the workbook has no values)")
    return LoadedDocument(
        text=text,
        format="xlsx",
        title=title or None,
        headings=headings,
        rows=rows,
        warnings=warnings,
    )


def _assemble(
    tables: Sequence[tuple[str | None, TableLines]],
) -> tuple[str, list[Heading], list[TableRow], list[str]]:
    """Join the tables (a level-1 heading per named sheet that has lines) into canonical text
    and locate every data row's line in it."""
    blocks: list[Block] = []
    rows: list[TableRow] = []
    expected: list[str] = []
    offset = 0
    for sheet, table in tables:
        if not table.lines:
            continue
        if sheet is not None:
            name = heading_line(sheet)
            blocks.append(Block(sheet, 1))
            if name:
                offset += (len(BLOCK_SEPARATOR) if offset else 0) + len(name)
        offset += len(BLOCK_SEPARATOR) if offset else 0
        number = 0
        for line, cells in zip(table.lines, table.cells, strict=True):
            if cells is not None:
                number += 1
                rows.append(TableRow(number, offset, offset + len(line), cells, sheet))
                expected.append(line)
            offset += len(line) + 1  # the "\n" after the line
        offset -= 1
        blocks.append(Block("\n".join(table.lines)))
    text, headings = assemble_blocks(blocks)
    if any(text[r.start : r.end] != line for r, line in zip(rows, expected, strict=True)):
        # The lines are canonical already, so this would be a bug; never cite a wrong span.
        logger.error("table rows do not match the canonical text; rows dropped")
        return text, headings, [], ["table rows could not be located in the text"]
    return text, headings, rows, []


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


def table_lines(rows: Iterable[Sequence[object]]) -> TableLines:
    """The first row with values is the header; every later row becomes
    "Header1: v1; Header2: v2" with empty cells skipped, and its cells by header (a header
    written twice gets " (column N)" in the cells; an empty one is "Column N").
    A table of only a header lists it on one line. Every line is already canonical."""
    header: list[str] | None = None
    table = TableLines()
    for row in rows:
        values = [format_cell(value) for value in row]
        if not any(values):
            continue
        if header is None:
            header = values
            continue
        names = [header[i] if i < len(header) and header[i] else f"Column {i + 1}"
                 for i in range(len(values))]  # fmt: skip
        pairs: list[str] = []
        cells: dict[str, str] = {}
        for i, (name, value) in enumerate(zip(names, values, strict=True)):
            if value:
                pairs.append(f"{name}: {value}")
                cells[name if names.index(name) == i else f"{name} (column {i + 1})"] = value
        table.lines.append("; ".join(pairs))
        table.cells.append(cells)
    if header is not None and not table.lines:
        table.lines.append("; ".join(cell for cell in header if cell))
        table.cells.append(None)
    return table


def format_cell(value: object) -> str:
    """A cell value as canonical one-line text: whole floats without ".0", dates in ISO form
    (YYYY-MM-DD, with the time only when there is one)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return heading_line(str(value))
