"""`create_app(settings)`: the FastAPI application; its lifespan owns the stores and the model."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from assistant.answering.factory import build_assistant
from assistant.answering.service import AssistantService
from assistant.answering.sessions import SessionStore
from assistant.api import (
    limits,
    observability,
    routes_admin,
    routes_ask,
    routes_feedback,
    routes_knowledge,
    routes_openai,
    routes_sessions,
    routes_sources,
    routes_widget,
)
from assistant.api.answer_relay import answer_pool
from assistant.resources import Resources, open_resources
from assistant.settings import Settings
from vectorstore.embeddings import configure_offline

logger = logging.getLogger(__name__)

ResourceFactory = Callable[[Settings], Resources]

SESSIONS_FILE = "sessions.sqlite3"


class _Startup:
    """Opens the stores and builds the assistant in a worker thread, then publishes both on
    `app.state`, unless the app was shut down meanwhile (then it closes what it opened)."""

    def __init__(self, app: FastAPI, settings: Settings, factory: ResourceFactory) -> None:
        self._app = app
        self._settings = settings
        self._factory = factory
        self._lock = threading.Lock()
        self._stopped = False
        self._opened: tuple[Resources, SessionStore] | None = None

    def open(self) -> None:
        """Runs in a worker thread: load everything, then publish it."""
        resources = self._factory(self._settings)
        sessions: SessionStore | None = None
        try:
            sessions = SessionStore(resources.settings.data_dir / SESSIONS_FILE)
            assistant: AssistantService = build_assistant(resources, sessions)
            assistant.warm()  # ready means the first question is as fast as the next
        except BaseException:
            if sessions is not None:
                sessions.close()
            resources.close()
            raise
        with self._lock:
            if not self._stopped:
                self._opened = (resources, sessions)
                self._app.state.assistant = assistant
                self._app.state.resources = resources
                self._app.state.sessions = sessions
                return
        sessions.close()
        resources.close()

    def close(self) -> None:
        """Close what was published; anything still loading closes itself when done."""
        with self._lock:
            self._stopped = True
            opened, self._opened = self._opened, None
            self._app.state.assistant = None
            self._app.state.resources = None
            self._app.state.sessions = None
        if opened is not None:
            resources, sessions = opened
            sessions.close()
            resources.close()


def create_app(
    settings: Settings,
    resource_factory: ResourceFactory | None = None,
    *,
    with_bot: bool = True,
) -> FastAPI:
    """Build the app; the stores, model and assistant are opened in the background at start-up,
    so `/healthz` answers at once and the rest answer 503 until they are ready.

    With a Telegram token set (and `with_bot`), the bot runs in this process too, on the same
    stores, once they are loaded: polling, or behind this app's own webhook route."""
    factory: ResourceFactory = resource_factory or open_resources
    run_bot = with_bot and settings.telegram.token is not None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = None
        app.state.assistant = None
        app.state.load_error = None
        startup = _Startup(app, settings, factory)

        async def load() -> None:
            try:
                await asyncio.to_thread(startup.open)
            except Exception as exc:  # reported by /readyz, not swallowed
                logger.exception("start-up failed")
                app.state.load_error = str(exc)
                return
            if run_bot:
                await _start_bot(app, settings)

        task = asyncio.create_task(load())
        try:
            yield
        finally:
            task.cancel()
            bot = app.state.telegram_bot
            app.state.telegram_bot = None
            if bot is not None:
                await bot.stop()
            # Jobs, pools and small stores first: they may still use the main stores.
            for close in reversed(app.state.closers):
                close()
            app.state.closers.clear()
            startup.close()

    app = FastAPI(
        title="Cooperation Assistant",
        version="0.1.0",
        description="Answers questions about international cooperation from the institution's "
        "own documents, with verifiable citations. Send `Authorization: Bearer <staff key>` "
        "to ask as staff (public and internal documents); without it you are a visitor "
        "(public documents only).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.resources = None
    app.state.assistant = None
    app.state.load_error = None
    app.state.telegram_bot = None
    # What the modules below open (SQLite stores) is closed, last first, at shutdown.
    app.state.closers = []
    app.state.answer_pool, close_pool = answer_pool()
    app.state.closers.append(close_pool)
    app.include_router(routes_ask.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_knowledge.router)
    app.include_router(routes_openai.router)
    app.include_router(routes_sessions.router)
    routes_feedback.install(app, settings)
    routes_admin.install(app, settings)
    routes_widget.install(app, settings)
    # Middleware: the last added is the outermost. Limits sit inside CORS, so a 413 or 429
    # still carries the CORS headers a browser needs to read it; observability sees everything.
    limits.install(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
        )
    observability.install(app, settings)
    if run_bot and settings.telegram.webhook_url:
        from bots.telegram.webhook import webhook_route  # noqa: PLC0415 - only with a token

        def application() -> Any:
            bot = app.state.telegram_bot
            return bot.application if bot is not None else None

        app.router.routes.append(webhook_route(application, settings))

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness: the process is up",
        responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
    )
    async def healthz() -> dict[str, str]:
        """The process is up (touches nothing)."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=None,
        summary="Readiness: the model and stores are loaded",
        responses={
            200: {"content": {"application/json": {"example": {"status": "ready"}}}},
            503: {
                "description": "Still loading, start-up failed, or the Chroma server is down.",
                "content": {"application/json": {"example": {"status": "starting", "error": None}}},
            },
        },
    )
    async def readyz(request: Request) -> Any:
        """200 once the model and stores are loaded and Chroma answers; 503 otherwise."""
        resources: Resources | None = request.app.state.resources
        if resources is None:
            error = request.app.state.load_error
            return JSONResponse(
                {"status": "failed" if error else "starting", "error": error}, status_code=503
            )
        try:
            await asyncio.to_thread(resources.vectors.heartbeat)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return {"status": "ready"}

    return app


async def _start_bot(app: FastAPI, settings: Settings) -> None:
    """Run the Telegram bot on the app's stores; a bot that cannot start leaves the API up."""
    from bots.telegram.runner import EmbeddedBot  # noqa: PLC0415 - only with a token

    bot = EmbeddedBot.from_resources(settings, app.state.resources, app.state.assistant)
    try:
        await bot.start()
    except Exception:
        logger.exception("the Telegram bot could not start; the API keeps serving")
        await bot.stop()
        return
    app.state.telegram_bot = bot
    logger.info("the Telegram bot runs in this process")


def app_from_environment() -> FastAPI:
    """The app for `COOP_*` settings from the environment: what each `coop serve --workers N`
    worker process builds (uvicorn imports this by name in every worker)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    configure_offline()
    # Several workers: each would poll Telegram and send every reminder; run `coop bot` once.
    return create_app(Settings(), with_bot=False)
