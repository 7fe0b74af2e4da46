"""`POST /v1/ask`: a question in, an answer with verifiable citations out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool

from assistant.answering.models import Answer
from assistant.api.deps import AssistantDep, AudienceDep
from assistant.api.schemas import (
    ASK_EXAMPLE_REQUEST,
    ASK_EXAMPLE_RESPONSE,
    AskRequest,
    ErrorBody,
)

router = APIRouter(prefix="/v1", tags=["assistant"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": ASK_EXAMPLE_RESPONSE}}},
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    503: {"model": ErrorBody, "description": "The model and stores are still loading."},
}


@router.post(
    "/ask",
    response_model=Answer,
    summary="Answer a question from the documents, with citations",
    responses=_RESPONSES,
)
async def ask(
    request: Annotated[
        AskRequest,
        Body(
            openapi_examples={
                "question": {"summary": "A new question", "value": ASK_EXAMPLE_REQUEST},
                "follow-up": {
                    "summary": "A follow-up in the same conversation",
                    "value": {
                        "question": "And when was it signed?",
                        "session_id": ASK_EXAMPLE_RESPONSE["session_id"],
                    },
                },
            }
        ),
    ],
    audience: AudienceDep,
    assistant: AssistantDep,
) -> Answer:
    """Answers from the documents the caller may see (staff key: public and internal; no key:
    public only). Every citation's `quote` is exactly `text[start:end]` of
    `GET /v1/sources/{doc_id}`; `found` is false when the documents do not answer. Send the
    returned `session_id` back to ask a follow-up."""
    return await run_in_threadpool(assistant.ask, request.question, audience, request.session_id)
