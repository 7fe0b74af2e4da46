"""`POST /v1/chat/completions` and `GET /v1/models`: the assistant behind the OpenAI chat API.

Existing chat front ends and the `openai` client talk to it unchanged. The last user message is
the question; earlier user messages are the conversation (follow-ups are understood); system and
assistant messages are ignored — the documents, not the prompt, decide the answer. The message
content ends with the sources as numbered links, and the same citations come as structured data
in the extra top-level fields `citations`, `found` and `answer_id` (on the last chunk when
streaming). The caller's audience comes from the API key exactly as on `/v1/ask`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.answering.models import Answer, Citation
from assistant.answering.service import MAX_QUESTION_CHARS, Cited, Delta, Finished, Started
from assistant.api.answer_relay import (
    AnswerFailedError,
    AnswerRelay,
    AnswerTimeoutError,
    Question,
)
from assistant.api.deps import AssistantDep, AudienceDep, SettingsDep
from assistant.api.schemas import ErrorBody

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

MODEL_ID = "cooperation-assistant"
MAX_MESSAGES = 100
MAX_HISTORY = 6
KEEP_ALIVE_S = 10.0


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=32)
    text: str | None = Field(default=None, max_length=20_000)


class ChatMessage(BaseModel):
    """A chat message as the OpenAI API sends it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = Field(default=None)

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content if part.type == "text")


class ChatCompletionRequest(BaseModel):
    """The fields of an OpenAI chat completion request that matter here; others (temperature,
    max_tokens, tools, ...) are accepted and ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [{"role": "user", "content": "Which agreements expire this year?"}],
                    "stream": False,
                }
            ]
        },
    )

    model: str = Field(default=MODEL_ID, max_length=200, description="Any name; echoed back.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatCompletionChoice(BaseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """An OpenAI chat completion, plus the citations as data."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatCompletionChoice]
    citations: list[Citation] = Field(
        description="Extra field: the verified citations the [n] markers point at."
    )
    found: bool = Field(description="Extra field: false when the documents do not answer.")
    answer_id: str = Field(description="Extra field: for `POST /v1/feedback`.")


_CHAT_EXAMPLES: dict[str, Any] = {
    "question": {
        "summary": "A question",
        "value": {
            "model": MODEL_ID,
            "messages": [{"role": "user", "content": "Which agreements expire this year?"}],
        },
    },
    "follow-up, streamed": {
        "summary": "A follow-up in a conversation, streamed",
        "value": {
            "model": MODEL_ID,
            "stream": True,
            "messages": [
                {"role": "user", "content": "What did we sign with the Skolkovo Foundation?"},
                {"role": "assistant", "content": "An agreement on labour protection [1]. …"},
                {"role": "user", "content": "And who signed it?"},
            ],
        },
    },
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    413: {"model": ErrorBody, "description": "The request body is too large."},
    422: {"description": "No user message to answer, or a malformed request."},
    429: {"model": ErrorBody, "description": "Too many questions; see `Retry-After`."},
    503: {"model": ErrorBody, "description": "The model and stores are still loading."},
    504: {"model": ErrorBody, "description": "The answer took longer than the request timeout."},
}


@router.get(
    "/models",
    summary="The one model this server offers (for chat front ends)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "object": "list",
                        "data": [
                            {
                                "id": MODEL_ID,
                                "object": "model",
                                "created": 0,
                                "owned_by": "cooperation",
                            }
                        ],
                    }
                }
            }
        }
    },
)
async def list_models() -> dict[str, Any]:
    """OpenAI's model list, with the assistant as its only model."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "cooperation"}],
    }


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completion (streaming or not), answered from the documents",
    responses={
        200: {
            "description": "A chat completion (JSON), or with `stream: true` server-sent "
            "`chat.completion.chunk` events ending with `data: [DONE]`.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_ERRORS,
    },
)
async def chat_completions(
    http: Request,
    request: Annotated[ChatCompletionRequest, Body(openapi_examples=_CHAT_EXAMPLES)],
    audience: AudienceDep,
    settings: SettingsDep,
    _assistant: AssistantDep,
) -> Any:
    """Answers the last user message from the documents the caller may see. Send the staff key
    as the API key (`Authorization: Bearer <key>`) for internal documents too."""
    question, history = _question_and_history(request.messages)
    asked = Question(
        question, audience, history=history, channel="chat", route="/v1/chat/completions"
    )
    base = (settings.public_url or str(http.base_url)).rstrip("/")
    if request.stream:
        return StreamingResponse(
            _chunks(http, asked, request.model, base),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    async with AnswerRelay(http.app, asked, whole=True) as relay:
        try:
            answer = await relay.answer()
        except AnswerTimeoutError:
            raise HTTPException(
                status.HTTP_504_GATEWAY_TIMEOUT, "The answer took too long."
            ) from None
        except AnswerFailedError:
            raise HTTPException(
                status.HTTP_500_INTERNAL_SERVER_ERROR, "Answering failed."
            ) from None
    return ChatCompletion(
        id=f"chatcmpl-{answer.answer_id}",
        created=int(time.time()),
        model=request.model,
        choices=[
            ChatCompletionChoice(
                message=ChatCompletionMessage(content=answer.answer + sources_text(answer, base))
            )
        ],
        citations=answer.citations,
        found=answer.found,
        answer_id=answer.answer_id,
    )


def _question_and_history(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The last user message (422 unless it ends the conversation) and the earlier ones."""
    last = messages[-1]
    question = " ".join(last.text().split())
    if last.role != "user" or not question:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "The last message must be a user message with text: it is the question.",
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"The question is longer than {MAX_QUESTION_CHARS} characters.",
        )
    earlier = [m.text()[:MAX_QUESTION_CHARS] for m in messages[:-1] if m.role == "user"]
    return question, [text for text in earlier if text.strip()][-MAX_HISTORY:]


def sources_text(answer: Answer, base: str) -> str:
    """The citations as a numbered list of links to the source viewer (Markdown)."""
    if not answer.citations:
        return ""
    lines = ["", "", "Sources:" if answer.language == "en" else "Источники:"]
    for citation in answer.citations:
        label = citation.title or citation.source
        if citation.section and citation.section != citation.title:
            label = f"{label} — {citation.section}"
        label = label.replace("[", "(").replace("]", ")")
        lines.append(f"[{citation.n}] [{label}]({base}{citation.url})")
    return "\n".join(lines)


async def _chunks(http: Request, asked: Question, model: str, base: str) -> AsyncIterator[bytes]:
    """`chat.completion.chunk` events: the role, text deltas, the sources, then the stop chunk
    carrying the citations as data, then `[DONE]`."""
    created = int(time.time())
    completion_id = "chatcmpl-pending"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

    async with AnswerRelay(http.app, asked) as relay:
        try:
            while not relay.ended:
                event = await relay.next_event(wait_s=KEEP_ALIVE_S)
                if event is None:
                    if not relay.ended:
                        yield b": keep-alive\n\n"
                elif isinstance(event, Started):
                    completion_id = f"chatcmpl-{event.answer_id}"
                    yield chunk({"role": "assistant", "content": ""})
                elif isinstance(event, Delta):
                    yield chunk({"content": event.text})
                elif isinstance(event, Cited):
                    continue
                elif isinstance(event, Finished):
                    answer = event.answer
                    sources = sources_text(answer, base)
                    if sources:
                        yield chunk({"content": sources})
                    yield chunk(
                        {},
                        "stop",
                        citations=[c.model_dump() for c in answer.citations],
                        found=answer.found,
                        answer_id=answer.answer_id,
                    )
        except AnswerTimeoutError:
            yield _error_event("The answer took too long.", "timeout")
            return
        except AnswerFailedError:
            yield _error_event("Answering failed.", "server_error")
            return
        yield b"data: [DONE]\n\n"


def _error_event(message: str, kind: str) -> bytes:
    """An error as OpenAI's streaming API sends one (the `openai` client raises it)."""
    body = {"error": {"message": message, "type": kind}}
    return f"data: {json.dumps(body)}\n\n".encode()
