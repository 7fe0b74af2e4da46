"""What operators see of the HTTP API: request ids, one access log line per request, structured
(JSON) logs, and Prometheus metrics at `/metrics`.

Request ids: every response carries `X-Request-ID` (the caller's, if it is 1–64 characters of
`[A-Za-z0-9._-]`, else a new one). The id is kept in a context variable for the duration of the
request; `RequestIdFilter` copies it onto every log record as `request_id` ("-" outside requests),
so the lines of one request can be found together.

Logs: `uvicorn_log_config(settings)` is the `log_config` for `uvicorn.run`; with it, run uvicorn
with `access_log=False`, since the middleware here writes the access line (logger
`assistant.access`: method, path without query, status, duration, client). Neither the
Authorization header nor any body is ever logged.

Metrics: created once per process on first use (`_metrics`), so any number of apps can be built
in one process. With several workers, `prepare_multiprocess_metrics` must run in the parent
before the workers start; `/metrics` then adds up every worker's numbers.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.rate_limiter import client_address
from assistant.settings import Settings

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("assistant.access")

REQUEST_ID_HEADER = "X-Request-ID"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")

# The id of the request being handled (a context variable: each request task has its own).
_request_id: ContextVar[str] = ContextVar("coop_request_id", default="-")


def current_request_id() -> str:
    """The id of the request being handled, or "-" outside a request."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current request's, or "-") to every record it sees; attach it to
    handlers so records propagated from any logger get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the access fields
    when present, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for field in _ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def uvicorn_log_config(settings: Settings, *, verbose: bool = False) -> dict[str, Any]:
    """A `logging.config.dictConfig` for `uvicorn.run(..., log_config=..., access_log=False)`:
    every logger (uvicorn's and ours) writes to stderr, as JSON lines when `api.log_format` is
    "json", else as readable lines with the request id in brackets. `verbose` shows DEBUG
    records of this project's packages."""
    formatter: dict[str, Any]
    if settings.api.log_format == "json":
        formatter = {"()": f"{__name__}.JsonLogFormatter"}
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s",
        }
    ours = "DEBUG" if verbose else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "uvicorn": {"level": "INFO"},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"level": "INFO"},
            "assistant": {"level": ours},
            "ingest": {"level": ours},
            "vectorstore": {"level": ours},
            "httpx": {"level": "WARNING"},
        },
        "root": {"level": "INFO", "handlers": ["default"]},
    }


@dataclass(frozen=True)
class _Metrics:
    registry: CollectorRegistry
    requests: Counter
    duration: Histogram
    in_progress: Gauge
    answers: Counter
    ingest_files: Counter
    rate_limited: Counter


@functools.cache
def _metrics() -> _Metrics:
    """This process's metrics, created on first use (and only once, whatever the number of apps
    built). In multi-process mode prometheus_client also writes them to the shared directory."""
    registry = CollectorRegistry(auto_describe=True)
    return _Metrics(
        registry=registry,
        requests=Counter(
            "coop_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        ),
        duration=Histogram(
            "coop_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        ),
        in_progress=Gauge(
            "coop_http_requests_in_progress",
            "HTTP requests being handled now.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        answers=Counter(
            "coop_answers",
            "Answers given, by whether the documents answered, answer mode, audience and route.",
            ["found", "mode", "audience", "route"],
            registry=registry,
        ),
        ingest_files=Counter(
            "coop_ingest_files",
            "Files seen by ingest runs, by outcome (added, changed, removed, failed).",
            ["outcome"],
            registry=registry,
        ),
        rate_limited=Counter(
            "coop_rate_limited",
            "Requests refused with 429 because the client used up its rate.",
            registry=registry,
        ),
    )


def record_answer(*, found: bool, mode: str, audience: str, route: str) -> None:
    """Count one answer given (`route` is a route template or channel, e.g. "/v1/ask")."""
    _metrics().answers.labels(
        found=str(found).lower(), mode=mode, audience=audience, route=route
    ).inc()


def record_ingest(*, added: int, changed: int, removed: int, failed: int) -> None:
    """Count the files of one ingest run by outcome."""
    counter = _metrics().ingest_files
    for outcome, count in (
        ("added", added),
        ("changed", changed),
        ("removed", removed),
        ("failed", failed),
    ):
        counter.labels(outcome=outcome).inc(count)


def record_rate_limited() -> None:
    """Count one request refused with 429."""
    _metrics().rate_limited.inc()


def _multiprocess_dir() -> str | None:
    # prometheus_client's own switch (it reads the same variable when it is imported), not a
    # setting of this project: see `prepare_multiprocess_metrics`.
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_metrics(directory: Path) -> None:
    """Make `/metrics` add up the numbers of several worker processes: empties (or creates)
    `directory` and sets `PROMETHEUS_MULTIPROC_DIR` to it.

    Call it in the parent before the workers start (`coop serve --workers N`). This is the one
    place that writes the environment, because prometheus_client reads the variable when a
    worker imports it, before any code of ours could pass a setting; spawned workers inherit it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


def exposition() -> bytes:
    """The metrics in Prometheus text format: this process's, or every worker's when
    `PROMETHEUS_MULTIPROC_DIR` is set."""
    directory = _multiprocess_dir()
    if directory is None:
        return generate_latest(_metrics().registry)
    _metrics()  # so this process's series exist even before its first request
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class _RouteTemplates:
    """Names a request by its route template (`/v1/sources/{doc_id}`), never by its raw path,
    so the metrics' labels stay few; "unmatched" when no route has it."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._documented: list[tuple[re.Pattern[str], str]] | None = None

    def label(self, scope: Scope) -> str:
        """The template of the route that answered, else of the documented route the path
        matches (for answers given before routing: 413, 429, 404)."""
        path_format = getattr(scope.get("route"), "path_format", None)
        if isinstance(path_format, str) and path_format:
            return path_format
        if self._documented is None:
            self._documented = self._compile()
        for regex, template in self._documented:
            if regex.match(scope["path"]):
                return template
        return "unmatched"

    def _compile(self) -> list[tuple[re.Pattern[str], str]]:
        try:
            paths = self._app.openapi().get("paths", {})
        except Exception:
            logger.warning("no OpenAPI paths to name routes by; using 'unmatched'", exc_info=True)
            paths = {}
        return [(compile_path(template)[0], template) for template in paths]


def _request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class Observability:
    """Request id, access log line and HTTP metrics for every request (the outermost layer)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, routes: _RouteTemplates) -> None:
        self.app = app
        self.settings = settings
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        status = 500  # unless a response starts
        metrics = _metrics()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != header[0]
                ]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = _request_id.set(request_id)
        metrics.in_progress.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            metrics.in_progress.dec()
            method = scope["method"]
            route = self._routes.label(scope)
            metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            metrics.duration.labels(method=method, route=route).observe(duration)
            self._log_access(scope, status, duration)
            _request_id.reset(token)

    def _log_access(self, scope: Scope, status: int, duration: float) -> None:
        client = client_address(scope, trust_forwarded_for=self.settings.api.trust_forwarded_for)
        method, path = scope["method"], scope["path"]
        duration_ms = round(duration * 1000, 1)
        access_logger.info(
            '%s "%s %s" %d %.1f ms',
            client,
            method,
            path,
            status,
            duration_ms,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client": client,
            },
        )


def install(app: FastAPI, settings: Settings) -> None:
    """Add `/metrics` and the request-id / access-log / metrics middleware (outermost).

    In multi-process mode this worker's live gauges are removed at shutdown, so a stopped worker
    no longer counts in `coop_http_requests_in_progress`.
    """

    def metrics_endpoint() -> Response:
        """Prometheus metrics (text format): request counts and durations by route template,
        answers, ingested files, rate-limited requests. No document content, no key needed."""
        return Response(exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_api_route(
        "/metrics",
        metrics_endpoint,
        methods=["GET"],
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"description": "Prometheus text exposition format."}},
    )
    directory = _multiprocess_dir()
    if directory is not None:

        def forget_this_worker() -> None:
            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]

        app.state.closers.append(forget_this_worker)
    app.add_middleware(Observability, settings=settings, routes=_RouteTemplates(app))
