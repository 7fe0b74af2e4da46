"""Markdown (.md): the normalised source is the canonical text; ATX headings are located in it."""

from __future__ import annotations

import re

from ingest.document import Heading, LoadedDocument, LoaderError
from ingest.encoding import decode_bytes
from ingest.normalize import normalize_text

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+$|^#+$")


def load_markdown(data: bytes) -> LoadedDocument:
    """Load a markdown file; the title is the first level-1 heading, else the first heading."""
    raw, encoding = decode_bytes(data)
    text = normalize_text(raw)
    if not text:
        raise LoaderError("empty file (only whitespace)")
    headings = find_headings(text)
    level_one = [h for h in headings if h.level == 1]
    candidates = level_one or headings
    return LoadedDocument(
        text=text,
        format="md",
        title=candidates[0].text if candidates else None,
        headings=headings,
        encoding=encoding,
    )


def find_headings(text: str) -> list[Heading]:
    """ATX headings outside fenced code blocks.

    A heading's span covers its words on the `#` line, without the `#` marks: `text[start:end]`
    is the heading text, and its line starts at `text.rfind("\\n", 0, start) + 1`.
    """
    headings: list[Heading] = []
    fence: str | None = None
    offset = 0
    for line in text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        fence_match = _FENCE.match(line)
        if fence is not None:
            closing = fence_match.group(1) if fence_match else ""
            if (
                closing.startswith(fence[0])
                and len(closing) >= len(fence)
                and (line.strip() == closing)
            ):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx is None:
            continue
        content = _CLOSING_HASHES.sub("", line[atx.end() :]).strip()
        if not content:
            continue
        start = line_start + line.index(content, atx.end())
        headings.append(Heading(start, start + len(content), len(atx.group(1)), content))
    return headings
