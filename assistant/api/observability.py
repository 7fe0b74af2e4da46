"""(being written)"""

from __future__ import annotations

from fastapi import FastAPI

from assistant.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add this module's routes or middleware to `app` (stub)."""


def record_answer(*, found: bool, mode: str, audience: str, route: str) -> None:
    """Count one answer (stub)."""


def record_ingest(*, added: int, changed: int, removed: int, failed: int) -> None:
    """Count one ingest's files (stub)."""
