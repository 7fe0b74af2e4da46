"""What the bot's handlers need, opened once and shared through `application.bot_data`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from telegram.ext import CallbackContext

from assistant.answering.service import AssistantService
from assistant.settings import Settings
from bots.telegram.store import BotStore
from vectorstore.facts_db import FactsDB

DEPS_KEY = "deps"


@dataclass
class BotServices:
    """The assistant, the facts database (for lists and reminders), the bot's own store, and
    what stands for today (`settings.today_date`, so `COOP_TODAY` works)."""

    assistant: AssistantService
    facts: FactsDB
    store: BotStore
    today: Callable[[], date]
    # One reminder run at a time (the daily job, the start-up catch-up and /subscribe).
    reminder_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class BotDeps:
    """Settings and services, as the handlers find them in `bot_data`."""

    settings: Settings
    services: BotServices


def deps(context: CallbackContext[Any, Any, Any, Any]) -> BotDeps:
    """The settings and services `build_bot` put into `bot_data`."""
    found = context.bot_data.get(DEPS_KEY) if isinstance(context.bot_data, dict) else None
    if not isinstance(found, BotDeps):
        raise RuntimeError("the application was not built with build_bot()")
    return found
