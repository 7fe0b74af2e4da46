"""Expiry reminders for subscribed staff: a daily job, plus a catch-up run after start-up.

An agreement is due in a chat when its end date is within one of the windows (e.g. 90, 30 and
7 days) and that chat has not yet been told for the *smallest* window it has reached. Sending
marks every window reached as done, so a staff member who subscribes 20 days before an end date
hears of it once (for 30 days), not three times. What was sent is kept in the bot's store, so a
restart (and its catch-up run) never repeats a reminder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes, JobQueue

from assistant.knowledge.listing import agreement_rows
from assistant.settings import Settings
from bots.telegram.rendering import DueReminder, render_reminders
from bots.telegram.sending import send_html
from bots.telegram.services import BotServices, deps

logger = logging.getLogger(__name__)

CATCH_UP_DELAY_S = 2.0
JOB_NAME = "expiry-reminders"


def agreement_key(row: Mapping[str, Any]) -> str:
    """Identifies an agreement across re-ingests: its partner and end date (a renewal with a
    new end date is a new agreement to remind of)."""
    partner = " ".join(str(row["partner"]).casefold().split())
    return f"{partner}|{row['ends_on']}"


def due_reminders(
    rows: Iterable[Mapping[str, Any]], windows: Sequence[int], sent: Mapping[str, set[int]]
) -> list[DueReminder]:
    """The agreements (rows of `agreement_rows`) a chat should hear of now, soonest first."""
    ordered = sorted({w for w in windows if w >= 0})
    due: list[DueReminder] = []
    for row in rows:
        days_left = row.get("days_left")
        if days_left is None or days_left < 0:
            continue
        reached = tuple(w for w in ordered if days_left <= w)
        if not reached:
            continue
        key = agreement_key(row)
        if reached[0] in sent.get(key, set()):
            continue
        due.append(DueReminder(key, reached[0], reached, row))
    return sorted(due, key=lambda item: (item.row["days_left"], item.key))


async def send_reminders(
    bot: Bot, settings: Settings, services: BotServices, chat_ids: Iterable[int] | None = None
) -> int:
    """Send each subscribed staff chat (or only `chat_ids`) what is due; returns how many
    chats got a reminder. A chat that fails is logged and retried on the next run."""
    async with services.reminder_lock:
        today = services.today()
        result = await asyncio.to_thread(agreement_rows, services.facts, "staff", today, None)
        subscribers = await asyncio.to_thread(services.store.subscribers, chat_ids)
        reminded = 0
        for subscriber in subscribers:
            if subscriber.user_id not in settings.telegram.staff_ids:
                logger.info("chat %s is subscribed but no longer staff", subscriber.chat_id)
                continue
            sent = await asyncio.to_thread(services.store.sent_windows, subscriber.chat_id)
            due = due_reminders(result["agreements"], settings.telegram.reminder_days, sent)
            if not due:
                continue
            message = render_reminders(
                due, today.isoformat(), subscriber.language or "en", settings.public_url
            )
            try:
                await send_html(bot, subscriber.chat_id, message)
            except Forbidden as exc:
                logger.warning(
                    "chat %s blocked the bot (%s): unsubscribed", subscriber.chat_id, exc
                )
                await asyncio.to_thread(services.store.unsubscribe, subscriber.chat_id)
                continue
            except TelegramError:
                logger.exception("could not send reminders to chat %s", subscriber.chat_id)
                continue
            done = [(item.key, window) for item in due for window in item.windows_reached]
            await asyncio.to_thread(services.store.mark_sent, subscriber.chat_id, done)
            reminded += 1
        return reminded


async def reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue callback: remind every subscribed staff chat of what is due."""
    found = deps(context)
    reminded = await send_reminders(context.bot, found.settings, found.services)
    logger.info("expiry reminders sent to %d chats", reminded)


def reminder_time(value: str) -> time:
    """`HH:MM` as a local time of day (raises ValueError with what is expected)."""
    try:
        parsed = datetime.strptime(value.strip(), "%H:%M")
    except ValueError:
        raise ValueError(
            f"COOP_TELEGRAM__REMINDER_TIME must be HH:MM (e.g. 09:00), not {value!r}"
        ) from None
    return parsed.time().replace(tzinfo=datetime.now().astimezone().tzinfo)


def schedule_reminders(job_queue: JobQueue[Any], settings: Settings) -> None:
    """The daily run at `reminder_time`, and one run shortly after start-up (catch-up)."""
    late = {"misfire_grace_time": 3600}  # a busy or suspended process still runs it
    job_queue.run_daily(
        reminder_job,
        reminder_time(settings.telegram.reminder_time),
        name=JOB_NAME,
        job_kwargs=late,
    )
    job_queue.run_once(reminder_job, CATCH_UP_DELAY_S, name=f"{JOB_NAME}-catch-up", job_kwargs=late)
