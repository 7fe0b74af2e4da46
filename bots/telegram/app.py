"""`build_bot(settings, services)`: the python-telegram-bot `Application`, built in one place.

It holds the handlers, the error handler, the rate limiter (bounded retries on 429), the
per-chat update order, the command menu in both languages and the reminder jobs (both set up in
`post_init`, which `run_polling`/`run_webhook` call and `EmbeddedBot.start` calls itself).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from assistant.settings import Settings
from bots.telegram import handlers
from bots.telegram.processor import PerChatUpdateProcessor
from bots.telegram.reminders import reminder_time, schedule_reminders
from bots.telegram.services import DEPS_KEY, BotDeps, BotServices
from bots.telegram.texts import COMMANDS

__all__ = ["ALLOWED_UPDATES", "BotApplication", "BotServices", "build_bot", "register_commands"]

logger = logging.getLogger(__name__)

BotApplication = Application[
    ExtBot[int],  # the rate limiter makes the bot generic in its retry count
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]
ALLOWED_UPDATES = [Update.MESSAGE]
RATE_LIMIT_RETRIES = 3

_MESSAGES = filters.UpdateType.MESSAGE  # edits of old messages are not new questions


def build_bot(
    settings: Settings, services: BotServices, *, request: BaseRequest | None = None
) -> BotApplication:
    """The Application for `settings.telegram` (token, optional Bot API `base_url`) over
    `services`; `request` replaces the HTTP client (tests)."""
    token = settings.telegram.token.get_secret_value().strip() if settings.telegram.token else ""
    if not token:
        raise ValueError("COOP_TELEGRAM__TOKEN is not set")
    reminder_time(settings.telegram.reminder_time)  # a bad setting fails now, not at 9 am
    builder = (
        ApplicationBuilder()
        .token(token)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
    )
    if settings.telegram.base_url:
        builder = builder.base_url(settings.telegram.base_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    application.bot_data[DEPS_KEY] = BotDeps(settings, services)
    for command, callback in (
        ("start", handlers.start),
        ("help", handlers.help_command),
        ("agreements", handlers.agreements),
        ("contacts", handlers.contacts),
        ("subscribe", handlers.subscribe),
        ("unsubscribe", handlers.unsubscribe),
        ("lang", handlers.lang_command),
    ):
        application.add_handler(CommandHandler(command, callback, filters=_MESSAGES))
    application.add_handler(
        MessageHandler(_MESSAGES & filters.TEXT & ~filters.COMMAND, handlers.question)
    )
    application.add_handler(MessageHandler(_MESSAGES & filters.COMMAND, handlers.unknown_command))
    application.add_error_handler(handlers.on_error)
    return application


async def register_commands(application: BotApplication) -> None:
    """The command menu, in English (the default) and in Russian."""
    english = [BotCommand(command, en) for command, en, _ in COMMANDS]
    russian = [BotCommand(command, ru) for command, _, ru in COMMANDS]
    await application.bot.set_my_commands(english)
    await application.bot.set_my_commands(russian, language_code="ru")


async def _post_init(application: BotApplication) -> None:
    try:
        await register_commands(application)
    except TelegramError as exc:  # the menu is a convenience; answering matters more
        logger.warning("could not register the command menu: %s", exc)
    if application.job_queue is not None:
        found = application.bot_data[DEPS_KEY]
        assert isinstance(found, BotDeps)
        schedule_reminders(application.job_queue, found.settings)
