"""Request and response bodies of the HTTP API that are not the assistant's own models
(`Answer` and `Citation` come from `assistant.answering.models`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assistant.answering.service import MAX_QUESTION_CHARS

Question = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS),
]
SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class AskRequest(BaseModel):
    """A question, optionally continuing a conversation.

    Fields other than these (for example `audience` or `visibility`) are ignored: who may see
    what is decided by the server from the API key, never by the request body.
    """

    model_config = ConfigDict(extra="ignore")

    question: Question = Field(
        description=f"The question, 1 to {MAX_QUESTION_CHARS} characters "
        "(surrounding whitespace does not count)."
    )
    session_id: SessionId | None = Field(
        default=None,
        description="The `session_id` of a previous answer, so a follow-up such as "
        "'and their e-mail?' is understood. Up to 64 characters: letters, digits, '_' and '-'.",
    )


class ErrorBody(BaseModel):
    """An error a caller can act on."""

    detail: str


def json_error(description: str) -> dict[str, Any]:
    """An error response documented as JSON, also on routes whose success is not JSON."""
    return {
        "description": description,
        "content": {"application/json": {"schema": ErrorBody.model_json_schema()}},
    }


class SourceDocument(BaseModel):
    """A document as served to citations: `text[start:end]` is exactly a citation's quote."""

    doc_id: str
    title: str
    source: str = Field(description="The file the document came from (relative to its folder).")
    text: str = Field(description="The canonical text that citation offsets point into.")
    language: str
    format: str = Field(description="The file format it was loaded from (txt, md, pdf, ...).")
    visibility: str = Field(description="`public`, or `internal` (staff only).")


ASK_EXAMPLE_REQUEST: dict[str, Any] = {
    "question": "What did the Ministry of Labor sign with the Skolkovo Foundation?",
    "session_id": None,
}

ASK_EXAMPLE_RESPONSE: dict[str, Any] = {
    "answer": "According to the documents:\nFirst Deputy Minister of Labor and Social Protection "
    "Alexei Vovchenko and Vice President of the «Skolkovo» Foundation Konstantin Parshin signed "
    "an agreement on cooperation in the field of labor protection. [1]",
    "citations": [
        {
            "n": 1,
            "doc_id": "4bd99084fc88d19c",
            "source": "sample/002_34b770f422913c14.txt",
            "title": "7 - 10 April, 2020, Sochi , Main media centre",
            "section": "7 - 10 April, 2020, Sochi , Main media centre",
            "quote": "At the Seventh Moscow «Open Innovations» International Forum, First Deputy "
            "Minister of Labor and Social Protection - Alexei Vovchenko and Vice President of "
            "the «Skolkovo» Foundation - Konstantin Parshin signed an agreement on cooperation "
            "in the field of labor protection.",
            "start": 172,
            "end": 443,
            "url": "/sources/4bd99084fc88d19c?start=172&end=443",
        }
    ],
    "found": True,
    "mode": "extractive",
    "language": "en",
    "session_id": "5f0c2b8e9d4a4f6b8a1e3c7d2b9f0a1c",
    "answer_id": "0b6e7a4f1c2d4e5f8a9b0c1d2e3f4a5b",
}

SSE_EXAMPLE = (
    'event: start\ndata: {"session_id": "5f0c2b8e9d4a4f6b8a1e3c7d2b9f0a1c", '
    '"answer_id": "0b6e7a4f1c2d4e5f8a9b0c1d2e3f4a5b", "language": "en"}\n\n'
    'event: delta\ndata: {"text": "According to the documents:\\nFirst Deputy Minister "}\n\n'
    'event: delta\ndata: {"text": "of Labor ... signed an agreement [1]"}\n\n'
    'event: citations\ndata: {"found": true, "citations": [{"n": 1, "doc_id": '
    '"4bd99084fc88d19c", "quote": "...", "start": 172, "end": 443, '
    '"url": "/sources/4bd99084fc88d19c?start=172&end=443"}]}\n\n'
    'event: done\ndata: {"answer": "...", "citations": [...], "found": true, '
    '"mode": "extractive", "language": "en", "session_id": "...", "answer_id": "..."}\n\n'
)
