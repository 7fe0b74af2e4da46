"""Split a document's canonical text into section-aware, overlapping chunks with exact offsets.

A chunk is only offsets: its text is always `doc.text[start:end]`, so a citation quoting it can
be checked character by character. Sections come from `doc.headings` (md, html, docx) or, for
plain text and pdf, from title-like lines found by `detect_headings`. A chunk never spans two
sections; within a section, paragraphs are merged up to `target_chars`, longer paragraphs are cut
at sentence ends (then at whitespace), and each chunk repeats the last sentence(s) of the previous
one when they fit in `overlap_chars`. Everything is a single pass over the text with precompiled
regexes, so megabytes chunk in well under a second or two.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ingest.document import Heading, LoadedDocument

Span = tuple[int, int]

_MAX_TITLE_CHARS = 100
_MAX_COLON_TITLE_CHARS = 40
_ABBREVIATION_WINDOW = 12
_ABBREVIATIONS = frozenset(
    {
        "e.g", "i.e", "cf", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "nos", "fig",
        "al", "approx", "inc", "ltd", "jr", "sr", "vol", "pp", "p", "ed", "eds", "dept",
        "г", "гг", "им", "т.е", "т.к", "т.н", "проф", "акад", "доц", "ул", "д", "стр", "рис",
        "см", "напр", "н.э", "тыс", "млн", "млрд", "руб", "коп", "чел", "пр", "ст", "с", "т",
    }
)  # fmt: skip
_OPENERS = frozenset("\"'«“„‘([")
_TITLE_CLOSERS = "\"'»”’"
_NOT_TITLE_ENDINGS = frozenset(".,;!…")

_BLANK_LINE = re.compile(r"\n\s*\n")
# A run of sentence punctuation (only at its first character, so runs stay linear), closing
# quotes or brackets, then whitespace; the next sentence starts at the match end.
_SENTENCE_END = re.compile(r"(?<![.!?…])([.!?…]+)[\"'»”’)\]]*\s+")
_LAST_SPACE = re.compile(r".*\s", re.DOTALL)
_NON_SPACE = re.compile(r"\S")
_LIST_ITEM = re.compile(r"[0-9A-Za-zА-Яа-яЁё]{1,3}\)\s")


@dataclass(frozen=True)
class ChunkSpan:
    """One chunk: `ord` in document order, offsets into `doc.text`, and its heading path."""

    ord: int
    start: int
    end: int
    section: str


@dataclass(frozen=True)
class _Limits:
    """Validated chunk sizes: `target <= max_chars`, `overlap >= 0`."""

    target: int
    max_chars: int
    overlap: int


def chunk_document(
    doc: LoadedDocument,
    *,
    target_chars: int = 900,
    max_chars: int = 1500,
    overlap_chars: int = 150,
) -> list[ChunkSpan]:
    """Chunk `doc.text` into ordered spans of at most `max_chars` characters.

    Every non-whitespace character is covered by some chunk; every chunk is non-empty and starts
    and ends with a non-whitespace character. The first chunk of a section starts with its
    heading line. `overlap_chars=0` disables overlap. Raises ValueError on nonsensical sizes.
    """
    if max_chars < 1 or target_chars < 1 or overlap_chars < 0:
        raise ValueError(
            "chunk sizes must be positive and overlap non-negative, got "
            f"target_chars={target_chars}, max_chars={max_chars}, overlap_chars={overlap_chars}"
        )
    limits = _Limits(min(target_chars, max_chars), max_chars, overlap_chars)
    text = doc.text
    headings = _clean_headings(text, doc.headings) if doc.headings else detect_headings(text)
    spans: list[tuple[int, int, str]] = []
    for start, end, heading, path in _sections(text, headings):
        pieces, sentence_starts = _section_pieces(text, start, end, heading, limits)
        for chunk in _pack(pieces, sentence_starts, heading is not None, limits):
            spans.append((chunk[0], chunk[1], path))
    return [ChunkSpan(i, start, end, path) for i, (start, end, path) in enumerate(spans)]


def detect_headings(text: str) -> list[Heading]:
    """Find title-like lines in plain text.

    A title is a paragraph of one short line (at most 100 characters) starting with an
    uppercase letter or a digit, not ending like a sentence or clause ('.', ',', ';', '!', '…';
    ':' only when at most 40 characters), not a list item, and followed by more text. A title
    that opens the document is level 1 (the document title); all others are level 2.
    """
    blocks = list(_paragraphs(text, 0, len(text)))
    headings: list[Heading] = []
    for index, (start, end) in enumerate(blocks[:-1]):
        if end - start <= _MAX_TITLE_CHARS and _is_title(text[start:end]):
            level = 1 if index == 0 else 2
            headings.append(Heading(start=start, end=end, level=level, text=text[start:end]))
    return headings


def _is_title(line: str) -> bool:
    if "\n" in line or not (line[0].isupper() or line[0].isdigit()):
        return False
    if not any(char.isalpha() for char in line) or _LIST_ITEM.match(line):
        return False
    if "@" in line or "://" in line:
        return False
    last = (line.rstrip(_TITLE_CLOSERS) or line)[-1]
    if last in _NOT_TITLE_ENDINGS:
        return False
    return last != ":" or len(line) <= _MAX_COLON_TITLE_CHARS


def _clean_headings(text: str, headings: Iterable[Heading]) -> list[Heading]:
    """Sort loader headings, trim them and drop any that are empty, out of range or overlapping."""
    cleaned: list[Heading] = []
    for heading in sorted(headings, key=lambda h: (h.start, h.end)):
        start, end = max(heading.start, 0), min(heading.end, len(text))
        span = _trim(text, start, end) if start < end else None
        if span is None or (cleaned and span[0] < cleaned[-1].end):
            continue
        cleaned.append(Heading(span[0], span[1], heading.level, text[span[0] : span[1]]))
    return cleaned


def _sections(text: str, headings: list[Heading]) -> Iterator[tuple[int, int, Span | None, str]]:
    """Yield (start, end, heading span, heading path) for the preamble and each heading."""
    first = headings[0].start if headings else len(text)
    if first > 0:
        yield 0, first, None, ""
    stack: list[tuple[int, str]] = []
    for index, heading in enumerate(headings):
        end = headings[index + 1].start if index + 1 < len(headings) else len(text)
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, _heading_name(heading.text)))
        path = " > ".join(name for _, name in stack if name)
        yield heading.start, end, (heading.start, heading.end), path


def _heading_name(text: str) -> str:
    return " ".join(text.strip().strip("#").split()).rstrip(":").strip()


def _section_pieces(
    text: str, start: int, end: int, heading: Span | None, limits: _Limits
) -> tuple[list[Span], list[int]]:
    """Split a section into pieces of at most `max_chars`, plus all its sentence starts."""
    paragraphs: list[Span] = []
    if heading is not None:
        paragraphs.append(heading)
        start = heading[1]
    paragraphs.extend(_paragraphs(text, start, end))
    pieces: list[Span] = []
    sentence_starts: list[int] = []
    for para_start, para_end in paragraphs:
        starts = _sentence_starts(text, para_start, para_end)
        sentence_starts.extend(starts)
        if para_end - para_start <= limits.max_chars:
            pieces.append((para_start, para_end))
        else:
            sentences = _sentences(text, starts, para_end, limits.max_chars)
            pieces.extend(_group(sentences, limits.target))
    return pieces, sentence_starts


def _paragraphs(text: str, start: int, end: int) -> Iterator[Span]:
    """Yield the trimmed, non-empty blocks of text[start:end] separated by blank lines."""
    position = start
    for match in _BLANK_LINE.finditer(text, start, end):
        span = _trim(text, position, match.start())
        if span is not None:
            yield span
        position = match.end()
    span = _trim(text, position, end)
    if span is not None:
        yield span


def _trim(text: str, start: int, end: int) -> Span | None:
    """Shrink text[start:end] to its non-whitespace core; None when it is all whitespace."""
    segment = text[start:end]
    stripped = segment.lstrip()
    if not stripped:
        return None
    return start + len(segment) - len(stripped), start + len(segment.rstrip())


def _sentence_starts(text: str, start: int, end: int) -> list[int]:
    """Offsets where sentences begin in the trimmed paragraph text[start:end]."""
    starts = [start]
    for match in _SENTENCE_END.finditer(text, start, end):
        following = match.end()
        if following >= end:
            continue
        char = text[following]
        if not (char in _OPENERS or char.isupper() or char.isdigit()):
            continue
        if match.group(1) == "." and _is_abbreviation(text, start, match.start()):
            continue
        starts.append(following)
    return starts


def _is_abbreviation(text: str, floor: int, dot: int) -> bool:
    """Whether the word just before the period at `dot` is an initial or a known abbreviation."""
    words = text[max(floor, dot - _ABBREVIATION_WINDOW) : dot].split()
    if not words:
        return False
    word = words[-1].lstrip("\"'«“„‘([")
    if len(word) == 1 and word.isupper():
        return True
    return word.lower() in _ABBREVIATIONS


def _sentences(text: str, starts: list[int], end: int, max_chars: int) -> Iterator[Span]:
    """Yield trimmed sentences, cutting any longer than `max_chars` at whitespace."""
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else end
        span = _trim(text, start, stop)
        if span is None:
            continue
        if span[1] - span[0] <= max_chars:
            yield span
        else:
            yield from _split_at_spaces(text, span[0], span[1], max_chars)


def _split_at_spaces(text: str, start: int, end: int, max_chars: int) -> Iterator[Span]:
    """Cut a trimmed span into pieces of at most `max_chars`, at the last whitespace that fits.

    A run without whitespace longer than `max_chars` is cut mid-word: there is no other way.
    """
    position = start
    while end - position > max_chars:
        match = _LAST_SPACE.match(text, position, position + max_chars + 1)
        cut = match.end() - 1 if match is not None else position + max_chars
        piece = _trim(text, position, cut)
        if piece is None:  # cannot happen: text[position] is not whitespace
            piece = (position, position + max_chars)
        yield piece
        following = _NON_SPACE.search(text, piece[1], end)
        if following is None:
            return
        position = following.start()
    yield position, end


def _group(units: Iterable[Span], target: int) -> Iterator[Span]:
    """Merge consecutive units while the merged span stays within `target` characters."""
    current: Span | None = None
    for start, end in units:
        if current is not None and end - current[0] <= target:
            current = (current[0], end)
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


def _pack(
    pieces: list[Span],
    sentence_starts: list[int],
    has_heading: bool,
    limits: _Limits,
) -> list[Span]:
    """Merge a section's pieces into chunks, each after the first opening with an overlap.

    A heading (the first piece) joins the piece after it whenever both fit in `max_chars`, so a
    heading is not left alone in a chunk just because the text after it is near `target`.
    """
    chunks: list[Span] = []
    index = 0
    while index < len(pieces):
        start, end = pieces[index]
        index += 1
        if chunks and limits.overlap > 0:
            start = _overlap_start(sentence_starts, chunks[-1], end, limits) or start
        while index < len(pieces):
            limit = limits.max_chars if has_heading and index == 1 else limits.target
            if pieces[index][1] - start > limit:
                break
            end = pieces[index][1]
            index += 1
        chunks.append((start, end))
    return chunks


def _overlap_start(
    sentence_starts: list[int], previous: Span, end: int, limits: _Limits
) -> int | None:
    """Earliest sentence start inside `previous` whose tail fits the overlap and `max_chars`.

    `end` is where the new chunk's first piece ends; the overlap must leave it within max_chars.
    """
    lowest = max(previous[1] - limits.overlap, end - limits.max_chars, previous[0] + 1)
    index = bisect.bisect_left(sentence_starts, lowest)
    if index < len(sentence_starts) and sentence_starts[index] < previous[1]:
        return sentence_starts[index]
    return None


_SOFT_WRAP_MIN_LINE = 60


def sentence_spans(text: str, start: int, end: int, *, max_chars: int = 400) -> list[Span]:
    """Trimmed sentences of text[start:end], as offsets into `text`.

    A line break ends a unit when the line ends with punctuation or is short (list items and
    titles rarely end with a period); a long line without one is a soft wrap and continues.
    Units are cut at sentence ends, and a sentence longer than `max_chars` at whitespace.
    """
    spans: list[Span] = []
    unit_start = start
    position = start
    while position < end:
        newline = text.find("\n", position, end)
        line_end = end if newline == -1 else newline
        line = text[position:line_end].rstrip()
        soft_wrap = (
            newline != -1
            and len(line) >= _SOFT_WRAP_MIN_LINE
            and line[-1:] not in _UNIT_ENDINGS
            and text[line_end + 1 : line_end + 2].strip() != ""
        )
        if not soft_wrap:
            trimmed = _trim(text, unit_start, line_end)
            if trimmed is not None:
                starts = _sentence_starts(text, trimmed[0], trimmed[1])
                spans.extend(_sentences(text, starts, trimmed[1], max_chars))
            unit_start = line_end + 1
        position = line_end + 1
    return spans


_UNIT_ENDINGS = frozenset(".!?…:;")
