"""Sending HTML messages (split to Telegram's limit) and the typing action during long work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bots.telegram.formatting import split_html

logger = logging.getLogger(__name__)

TYPING_EVERY_S = 4.0  # Telegram shows the action for about 5 seconds
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def send_html(
    bot: Bot, chat_id: int, html_text: str, *, reply_to: int | None = None
) -> list[Message]:
    """Send `html_text` as one or more messages (each within Telegram's limit); the first one
    replies to `reply_to` when given (in groups, so it is clear whom the bot answers)."""
    sent: list[Message] = []
    for index, part in enumerate(split_html(html_text)):
        extra: dict[str, Any] = {}
        if reply_to is not None and index == 0:
            extra["reply_parameters"] = ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=True
            )
        sent.append(
            await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
                **extra,
            )
        )
    return sent


@contextlib.asynccontextmanager
async def typing_action(
    bot: Bot, chat_id: int, every_s: float = TYPING_EVERY_S
) -> AsyncIterator[None]:
    """Show "typing…" in the chat at once and every `every_s` seconds until the block ends."""

    async def send() -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # the answer matters more than the indicator
            logger.warning("could not send the typing action to %s: %s", chat_id, exc)

    async def repeat() -> None:
        while True:
            await asyncio.sleep(every_s)
            await send()

    await send()
    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
