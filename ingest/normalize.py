"""Canonical text: the one normal form every loader produces and every offset points into."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from ingest.document import Heading

_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Control characters (C0 without \t and \n, DEL, C1) and invisible format characters.
_REMOVED = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_TRAILING_SPACE = re.compile("[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile("\n{3,}")
_WHITESPACE = re.compile(r"\s+")

BLOCK_SEPARATOR = "\n\n"


class Block(NamedTuple):
    """A piece of a document: a paragraph (level 0) or a heading (level 1-9)."""

    text: str
    level: int = 0


def normalize_text(s: str) -> str:
    """Return the canonical form of `s`; `normalize_text` of the result is the result.

    NFC; CRLF, CR and other line separators become ``\\n``; control and invisible characters
    go (tabs stay); no-break and other odd spaces become a space; trailing spaces and tabs are
    stripped from each line; runs of blank lines become one blank line; leading and trailing
    blank lines go. Leading spaces of a line stay (markdown indentation means something).
    """
    s = unicodedata.normalize("NFC", s)
    s = _LINE_BREAKS.sub("\n", s)
    s = _REMOVED.sub("", s)
    s = _ODD_SPACES.sub(" ", s)
    # Removing characters can bring a combining mark next to a letter it composes with.
    s = unicodedata.normalize("NFC", s)
    s = _TRAILING_SPACE.sub("", s)
    s = _BLANK_LINES.sub("\n\n", s)
    return s.strip("\n")


def heading_line(s: str) -> str:
    """Normalise `s` to one line with single spaces, as a heading is shown."""
    return _WHITESPACE.sub(" ", normalize_text(s)).strip()


def assemble_blocks(blocks: Sequence[Block]) -> tuple[str, list[Heading]]:
    """Join blocks into canonical text (a blank line between them) and locate the headings.

    Paragraph blocks are normalised; heading blocks are flattened to one line. Blocks that end
    up empty are dropped. For every heading `h`, `text[h.start:h.end] == h.text`.
    """
    parts: list[str] = []
    headings: list[Heading] = []
    offset = 0
    for block in blocks:
        piece = heading_line(block.text) if block.level > 0 else normalize_text(block.text)
        if not piece:
            continue
        if parts:
            offset += len(BLOCK_SEPARATOR)
        if block.level > 0:
            headings.append(Heading(offset, offset + len(piece), block.level, piece))
        parts.append(piece)
        offset += len(piece)
    return BLOCK_SEPARATOR.join(parts), headings
