"""What a loader hands to the chunker: one canonical text per document, plus its structure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A heading inside the canonical text; `text == doc.text[start:end]` (the heading line)."""

    start: int
    end: int
    level: int
    text: str


@dataclass(frozen=True)
class TableRow:
    """One data row of a table file: its line in the canonical text and its cells by header."""

    number: int  # 1-based, the header row excluded
    start: int
    end: int
    cells: dict[str, str]
    sheet: str | None = None


@dataclass
class LoadedDocument:
    """A parsed file.

    `text` is the canonical text: normalised (NFC, `\\n` line ends, no control characters) and
    the only text offsets ever point into; what the sources endpoint serves. `headings` are the
    headings the format itself marks (md, html, docx); for plain text and pdf they are empty and
    the chunker detects title-like lines instead.
    """

    text: str
    format: str
    title: str | None = None
    headings: list[Heading] = field(default_factory=list)
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)


class LoaderError(Exception):
    """A file that cannot be ingested; the message is the reason shown to the operator."""
