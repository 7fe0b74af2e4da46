"""`create_app(settings)`: the FastAPI application; its lifespan owns the stores and the model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.resources import Resources, open_resources
from assistant.settings import Settings

logger = logging.getLogger(__name__)

ResourceFactory = Callable[[Settings], Resources]


def create_app(settings: Settings, resource_factory: ResourceFactory | None = None) -> FastAPI:
    """Build the app; the stores and model are opened in the background at start-up."""
    factory: ResourceFactory = resource_factory or open_resources

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = None
        app.state.load_error = None

        async def load() -> None:
            try:
                app.state.resources = await asyncio.to_thread(factory, settings)
            except Exception as exc:  # reported by /readyz, not swallowed
                logger.exception("start-up failed")
                app.state.load_error = str(exc)

        task = asyncio.create_task(load())
        try:
            yield
        finally:
            task.cancel()
            if app.state.resources is not None:
                app.state.resources.close()

    app = FastAPI(
        title="Cooperation Assistant",
        version="0.1.0",
        description="Answers questions about international cooperation from the institution's "
        "own documents, with verifiable citations.",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up (touches nothing)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], response_model=None)
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
