"""Records shared by the storage layer and everything above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Visibility = Literal["public", "internal"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "internal")


def parse_visibility(value: str) -> Visibility:
    """`public` or `internal`, or a ValueError that says so."""
    if value == "public":
        return "public"
    if value == "internal":
        return "internal"
    raise ValueError(f"visibility must be 'public' or 'internal', not {value!r}")


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk: `text == document.text[start:end]` of its document's canonical text."""

    chunk_id: str
    doc_id: str
    ord: int
    start: int
    end: int
    text: str
    section: str
    title: str
    source: str
    language: str
    visibility: Visibility
    content_hash: str

    def embedding_text(self) -> str:
        """What is embedded: the chunk with its title and section, so headings help recall."""
        context = " — ".join(part for part in (self.title, self.section) if part)
        return f"{context}\n{self.text}" if context else self.text


@dataclass(frozen=True)
class DocumentRecord:
    """One document: the canonical text that citations point into."""

    doc_id: str
    source: str
    title: str
    format: str
    language: str
    visibility: Visibility
    text: str
    content_hash: str
    encoding: str | None = None
