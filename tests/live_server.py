"""Serve an ASGI app with a real uvicorn server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp

from tests.conftest import free_port


@contextmanager
def serve_in_thread(app: ASGIApp, *, timeout: float = 30.0) -> Iterator[str]:
    """Run `app` on a free port until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# --- an OpenAI-compatible chat model stand-in -------------------------------------------------


@dataclass
class LLMStandIn:
    """What the stand-in model replies, and what it saw.

    `reply` is the whole answer; with `stream: true` it is sent as `pieces` (or word by word),
    one chunk every `chunk_delay` seconds. `respond`, when set, computes the reply from the
    request body (a model that obeys whatever the prompt says, for injection tests).
    """

    reply: str = "NOT_FOUND"
    status: int = 200
    delay: float = 0.0
    chunk_delay: float = 0.0
    pieces: list[str] | None = None
    respond: Callable[[dict[str, Any]], str] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    chunks_sent: int = 0
    streams_completed: int = 0
    streams_abandoned: int = 0

    def reset(self) -> None:
        fresh = LLMStandIn()
        for name in vars(fresh):
            setattr(self, name, getattr(fresh, name))

    def content(self, body: dict[str, Any]) -> str:
        return self.respond(body) if self.respond is not None else self.reply


def llm_stand_in_app(state: LLMStandIn) -> FastAPI:
    """`POST /v1/chat/completions` answering `state.reply`, whole or streamed."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        body = await request.json()
        state.requests.append(body)
        if state.delay:
            await asyncio.sleep(state.delay)
        if state.status != 200:
            return JSONResponse({"error": {"message": "boom"}}, status_code=state.status)
        content = state.content(body)
        if body.get("stream"):
            return StreamingResponse(_stream(state, body, content), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-stand-in",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "stand-in"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    return app


async def _stream(state: LLMStandIn, body: dict[str, Any], content: str) -> Any:
    pieces = state.pieces if state.pieces is not None else _words(content)
    model = body.get("model", "stand-in")
    completed = False
    try:
        for piece in pieces:
            if state.chunk_delay:
                await asyncio.sleep(state.chunk_delay)
            yield _chunk(model, {"content": piece}, None)
            state.chunks_sent += 1
        yield _chunk(model, {}, "stop")
        yield b"data: [DONE]\n\n"
        completed = True
    finally:
        if completed:
            state.streams_completed += 1
        else:
            state.streams_abandoned += 1


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": "chatcmpl-stand-in",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]
