"""The answer a user receives, and its citations (the HTTP contract in DESIGN.md)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["ru", "en"]


class Citation(BaseModel):
    """A verbatim quote: `GET /v1/sources/{doc_id}` serves `text`, and
    `text[start:end] == quote`."""

    n: int = Field(description="The marker number used in the answer text, e.g. [1].")
    doc_id: str
    source: str = Field(description="The file the document came from (relative to its folder).")
    title: str
    section: str
    quote: str
    start: int
    end: int
    url: str = Field(description="The source viewer, with the quote highlighted.")


class Answer(BaseModel):
    """What `coop ask` and `POST /v1/ask` return."""

    answer: str
    citations: list[Citation]
    found: bool = Field(description="False when the documents do not answer the question.")
    mode: str = Field(description="Which answerer produced it: extractive, llm, structured.")
    language: Language
    session_id: str | None = None
    answer_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        description="Identifies this answer, e.g. for `POST /v1/feedback`.",
    )


def viewer_url(doc_id: str, start: int, end: int) -> str:
    """Where the source viewer shows a document with one quote highlighted."""
    return f"/sources/{doc_id}?start={start}&end={end}"
