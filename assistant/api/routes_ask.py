"""`POST /v1/ask` and `POST /v1/ask/stream`: a question in, an answer with verifiable citations
out, whole or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from assistant.answering.models import Answer
from assistant.answering.service import AnswerEvent, Cited, Delta, Started
from assistant.api.answer_relay import (
    AnswerFailedError,
    AnswerRelay,
    AnswerTimeoutError,
    Question,
)
from assistant.api.deps import AssistantDep, AudienceDep
from assistant.api.schemas import (
    ASK_EXAMPLE_REQUEST,
    ASK_EXAMPLE_RESPONSE,
    SSE_EXAMPLE,
    AskRequest,
    ErrorBody,
)

router = APIRouter(prefix="/v1", tags=["assistant"])

KEEP_ALIVE_S = 10.0
_TIMEOUT_DETAIL = "The answer took too long; please try again, or ask a narrower question."
_FAILED_DETAIL = "Answering failed on the server; please try again later."

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    413: {"model": ErrorBody, "description": "The request body is too large."},
    429: {
        "model": ErrorBody,
        "description": "Too many questions from this client; retry after `Retry-After` seconds.",
    },
    503: {"model": ErrorBody, "description": "The model and stores are still loading."},
    504: {"model": ErrorBody, "description": "The answer took longer than the request timeout."},
}


def _with_errors(ok: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {**ok, **_ERRORS}


_ASK_EXAMPLES = {
    "question": {"summary": "A new question", "value": ASK_EXAMPLE_REQUEST},
    "follow-up": {
        "summary": "A follow-up in the same conversation",
        "value": {
            "question": "And when was it signed?",
            "session_id": ASK_EXAMPLE_RESPONSE["session_id"],
        },
    },
}


@router.post(
    "/ask",
    response_model=Answer,
    summary="Answer a question from the documents, with citations",
    responses=_with_errors(
        {200: {"content": {"application/json": {"example": ASK_EXAMPLE_RESPONSE}}}}
    ),
)
async def ask(
    http: Request,
    request: Annotated[AskRequest, Body(openapi_examples=_ASK_EXAMPLES)],
    audience: AudienceDep,
    _assistant: AssistantDep,
) -> Answer:
    """Answers from the documents the caller may see (staff key: public and internal; no key:
    public only). Every citation's `quote` is exactly `text[start:end]` of
    `GET /v1/sources/{doc_id}`; `found` is false when the documents do not answer. Send the
    returned `session_id` back to ask a follow-up, and `answer_id` to `POST /v1/feedback`."""
    question = Question(request.question, audience, request.session_id)
    async with AnswerRelay(http.app, question, whole=True) as relay:
        try:
            return await relay.answer()
        except AnswerTimeoutError:
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, _TIMEOUT_DETAIL) from None
        except AnswerFailedError:
            raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, _FAILED_DETAIL) from None


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    summary="The same answer, streamed as server-sent events",
    responses=_with_errors(
        {
            200: {
                "description": "Server-sent events, in this order: `start` "
                "`{session_id, answer_id, language}`; `delta` `{text}` (zero or more; joined, "
                "they are the answer text with its [n] markers); `citations` "
                "`{found, citations}`; `done` (the whole answer, as `POST /v1/ask` returns it). "
                "A failure mid-stream sends `error` `{detail, status}` and ends the stream. "
                "Comment lines (`: keep-alive`) may come between events.",
                "content": {
                    "text/event-stream": {"schema": {"type": "string"}, "example": SSE_EXAMPLE}
                },
            }
        }
    ),
)
async def ask_stream(
    http: Request,
    request: Annotated[AskRequest, Body(openapi_examples=_ASK_EXAMPLES)],
    audience: AudienceDep,
    _assistant: AssistantDep,
) -> StreamingResponse:
    """Streams the answer as it is made. Closing the connection stops the work: retrieval is
    abandoned and an LLM's stream is closed. Errors found before the answer begins (401, 413,
    422, 429, 503) are ordinary JSON responses."""
    question = Question(
        request.question, audience, request.session_id, channel="stream", route="/v1/ask/stream"
    )
    return StreamingResponse(
        _server_sent_events(http, question),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _server_sent_events(http: Request, question: Question) -> AsyncIterator[bytes]:
    async with AnswerRelay(http.app, question) as relay:
        try:
            while not relay.ended:
                event = await relay.next_event(wait_s=KEEP_ALIVE_S)
                if event is not None:
                    yield sse(*_event_body(event))
                elif not relay.ended:
                    yield b": keep-alive\n\n"  # also finds out early when the client has gone
        except AnswerTimeoutError:
            yield sse("error", {"detail": _TIMEOUT_DETAIL, "status": 504})
        except AnswerFailedError:
            yield sse("error", {"detail": _FAILED_DETAIL, "status": 500})


def _event_body(event: AnswerEvent) -> tuple[str, dict[str, Any]]:
    if isinstance(event, Started):
        return "start", {
            "session_id": event.session_id,
            "answer_id": event.answer_id,
            "language": event.language,
        }
    if isinstance(event, Delta):
        return "delta", {"text": event.text}
    if isinstance(event, Cited):
        return "citations", {
            "found": event.found,
            "citations": [citation.model_dump() for citation in event.citations],
        }
    return "done", event.answer.model_dump()


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (JSON data on a single line)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
