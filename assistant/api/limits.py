"""(being written)"""

from __future__ import annotations

from fastapi import FastAPI

from assistant.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add this module's routes or middleware to `app` (stub)."""
