"""The HTTP API's limits: a cap on request bodies (413) and questions per minute (429).

Both are pure ASGI middleware (not `BaseHTTPMiddleware`), so streamed answers pass through
unbuffered. `install` adds them inside the CORS middleware, so a browser can read a 413 or 429.

- Body size: `api.max_body_kb` KiB for every request, `api.max_upload_mb` MiB in total for
  `POST /v1/ingest`. A declared Content-Length over the cap is refused before anything is read;
  a chunked body, or one longer than it said, is counted as it arrives and refused when it
  passes the cap.
- Questions per minute: `POST /v1/ask`, `/v1/ask/stream` and `/v1/chat/completions` share one
  bucket per client, `POST /v1/feedback` has its own at twice the rate. A client is a staff key
  (hashed, with `api.staff_rate_per_minute`) or else an address (with `api.rate_per_minute`).
  A request carrying a wrong key is not counted: the route refuses it with 401. The counts live
  in `data_dir/ratelimit.sqlite3` (see `rate_limiter`), shared by all workers on the machine.
  Should that file be unusable, questions go through (with a warning in the log) rather than
  every visitor being refused.
- Bodies the routes cannot take get 422 whatever they hold: the validation errors echo the
  input, which is made JSON-safe first (raw bytes of a non-JSON body, lone surrogates,
  infinities), since FastAPI's own handler fails on those and answers 500.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api import observability
from assistant.api.deps import is_staff_key
from assistant.api.rate_limiter import RATE_LIMIT_FILE, RateLimiter, client_address
from assistant.settings import Settings

logger = logging.getLogger(__name__)

UPLOAD_PATH = "/v1/ingest"
QUESTION_PATHS = frozenset({"/v1/ask", "/v1/ask/stream", "/v1/chat/completions"})
FEEDBACK_PATH = "/v1/feedback"


class _BodyTooLargeError(Exception):
    """Raised from `receive` when a body passes its cap, to stop the app reading it."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


class BodySizeLimit:
    """413 for a request body over its cap, whether declared up front or counted as it comes."""

    def __init__(self, app: ASGIApp, *, max_body_kb: int, max_upload_mb: float) -> None:
        self.app = app
        self.max_body_kb = max_body_kb
        self.max_upload_mb = max_upload_mb

    def _cap(self, scope: Scope) -> tuple[int, str]:
        """(cap in bytes, the 413's message) for this request."""
        if scope["method"] == "POST" and scope["path"] == UPLOAD_PATH:
            return int(self.max_upload_mb * 1024 * 1024), (
                f"Upload too large: the limit is {self.max_upload_mb:g} MiB in total."
            )
        return self.max_body_kb * 1024, (
            f"Request body too large: the limit is {self.max_body_kb} KiB. Shorten the question."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, detail = self._cap(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > cap:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    exceeded = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app made of the cut-off body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # FastAPI turns a failed body read into a 400; other apps let the error through.
            if not exceeded or started:
                raise
        if exceeded and not started:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class QuestionRateLimit:
    """429 with Retry-After once a client has used up its questions (or feedback) per minute."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, settings: Settings, routes: list[BaseRoute]
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.settings = settings
        self._routes = routes
        self._route_exists: dict[str, bool] = {}

    def _is_limited(self, scope: Scope) -> bool:
        """Whether this is a POST to a limited route that this app really has."""
        path = scope["path"]
        if path not in QUESTION_PATHS and path != FEEDBACK_PATH:
            return False
        known = self._route_exists.get(path)
        if known is None:  # asked once per path: the routes are all in place by then
            known = any(route.matches(scope)[0] is Match.FULL for route in self._routes)
            self._route_exists[path] = known
        return known

    def _client(self, scope: Scope) -> tuple[str, int] | None:
        """(bucket key, questions per minute) of the caller, or None for a wrong key."""
        api = self.settings.api
        authorization = [value for name, value in scope["headers"] if name == b"authorization"]
        if not authorization:
            address = client_address(scope, trust_forwarded_for=api.trust_forwarded_for)
            return f"addr:{address}", api.rate_per_minute
        if len(authorization) > 1:
            return None
        scheme, _, token = authorization[0].decode("latin-1").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or not is_staff_key(token, self.settings):
            return None
        return f"key:{_hashed(token)}", api.staff_rate_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self._is_limited(scope):
            await self.app(scope, receive, send)
            return
        client = self._client(scope)
        if client is None or client[1] <= 0:  # a wrong key (the route says 401), or unlimited
            await self.app(scope, receive, send)
            return
        key, rate = client
        if scope["path"] == FEEDBACK_PATH:
            bucket, rate, what = "feedback", rate * 2, "feedback messages"
        else:
            bucket, what = "questions", "questions"
        try:
            decision = await anyio.to_thread.run_sync(self.limiter.check, f"{bucket}|{key}", rate)
        except sqlite3.Error:
            logger.warning("rate limiter unavailable; letting the request through", exc_info=True)
            await self.app(scope, receive, send)
            return
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        observability.record_rate_limited()
        wait = decision.retry_after
        response = JSONResponse(
            {"detail": f"Too many {what}: the limit is {rate} per minute; try again in {wait} s."},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)


def json_safe(value: Any) -> Any:
    """`value` as something JSON can always encode: bytes decoded (invalid UTF-8 replaced),
    lone surrogates replaced, non-finite floats and other objects as text."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return json_safe(str(value))


async def unprocessable_body(request: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's `{"detail": [errors]}`, every error JSON-safe."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else [str(exc)]
    return JSONResponse({"detail": json_safe(list(errors))}, status_code=422)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the body cap and, unless both rates are 0, the rate limits (innermost first), and
    the 422 handler that never fails on what a body held.

    The limiter is opened here, once per app, kept on `app.state.rate_limiter` (None when
    unlimited) and closed with the app's other closers at shutdown.
    """
    app.add_exception_handler(RequestValidationError, unprocessable_body)
    api = settings.api
    limiter: RateLimiter | None = None
    if api.rate_per_minute > 0 or api.staff_rate_per_minute > 0:
        limiter = RateLimiter(settings.data_dir / RATE_LIMIT_FILE)
        app.state.closers.append(limiter.close)
        app.add_middleware(
            QuestionRateLimit, limiter=limiter, settings=settings, routes=app.router.routes
        )
    app.state.rate_limiter = limiter
    app.add_middleware(BodySizeLimit, max_body_kb=api.max_body_kb, max_upload_mb=api.max_upload_mb)
