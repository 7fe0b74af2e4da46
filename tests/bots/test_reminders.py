"""Expiry reminders: which agreements are due, once per agreement per window, across restarts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bots.telegram.reminders import agreement_key, due_reminders, reminder_time, send_reminders
from bots.telegram.store import BotStore
from tests.bots.conftest import MARKER, STAFF, STAFF_ID, OfflineBot

WINDOWS = [90, 30, 7]


def row(partner: str, days_left: int | None, ends_on: str = "2026-12-20") -> dict[str, Any]:
    return {
        "partner": partner,
        "ends_on": ends_on if days_left is not None else None,
        "days_left": days_left,
    }


def test_the_smallest_window_reached_wins_and_expired_or_open_ended_ones_are_skipped():
    rows = [row("A", 20), row("B", 100), row("C", -1), row("D", None), row("E", 7), row("F", 0)]
    due = due_reminders(rows, WINDOWS, {})
    assert [(d.row["partner"], d.window, d.windows_reached) for d in due] == [
        ("F", 7, (7, 30, 90)),
        ("E", 7, (7, 30, 90)),
        ("A", 30, (30, 90)),
    ]


def test_a_window_already_sent_is_not_sent_again_but_a_smaller_one_is():
    key = agreement_key(row("A", 20))
    assert due_reminders([row("A", 20)], WINDOWS, {key: {30, 90}}) == []
    later = due_reminders([row("A", 6)], WINDOWS, {key: {30, 90}})
    assert [(d.window, d.windows_reached) for d in later] == [(7, (7, 30, 90))]


def test_an_agreement_key_survives_spacing_and_case_but_not_a_new_end_date():
    assert agreement_key(row("Zanzibar  Polytechnic", 1)) == agreement_key(
        row("zanzibar polytechnic", 1)
    )
    assert agreement_key(row("Z", 1, "2026-12-20")) != agreement_key(row("Z", 1, "2027-12-20"))


def test_reminder_time_must_be_hh_mm():
    assert reminder_time("09:30").hour == 9
    with pytest.raises(ValueError, match="HH:MM"):
        reminder_time("9am")


def test_the_store_remembers_across_reopening(tmp_path: Path):
    store = BotStore.in_data_dir(tmp_path)
    assert store.subscribe(1, 11) and not store.subscribe(1, 11)
    store.set_language(1, "ru")
    store.mark_sent(1, [("a|2026-12-20", 30), ("a|2026-12-20", 90)])
    store.close()
    reopened = BotStore.in_data_dir(tmp_path)
    try:
        assert [(s.chat_id, s.user_id, s.language) for s in reopened.subscribers()] == [
            (1, 11, "ru")
        ]
        assert reopened.sent_windows(1) == {"a|2026-12-20": {30, 90}}
        assert reopened.sent_windows(2) == {}
        assert reopened.unsubscribe(1) and not reopened.unsubscribe(1)
    finally:
        reopened.close()


async def test_days_pass_and_each_window_is_reminded_once(bot: OfflineBot):
    await bot.send(STAFF, "/subscribe")
    bot.standin.calls.clear()
    services, settings = bot.services, bot.settings
    assert await send_reminders(bot.application.bot, settings, services) == 0  # same day
    services.today = lambda: date(2026, 12, 14)
    assert await send_reminders(bot.application.bot, settings, services) == 1
    (message,) = bot.standin.texts(STAFF_ID)
    lines = {line.split(" — ")[0]: line for line in message.splitlines() if "•" in line}
    zanzibar = lines[f"• Zanzibar Polytechnic {MARKER} (Tanzania)"]
    assert "in 6 days" in zanzibar and "(within 7 days)" in zanzibar
    karaganda = "• National Center of Hygiene and Occupational Diseases (Karaganda) (Kazakhstan)"
    assert "(within 30 days)" in lines[karaganda]  # its 90-day reminder came on subscribing
    assert len(lines) == 4  # with Havana (7 days) and one newly within 90 days
    for _ in range(2):
        assert await send_reminders(bot.application.bot, settings, services) == 0
    services.today = lambda: date(2026, 12, 31)
    assert await send_reminders(bot.application.bot, settings, services) == 1
    assert "Karaganda" in bot.standin.texts(STAFF_ID)[-1]


async def test_staff_removed_from_the_allowlist_get_no_reminders(bot: OfflineBot):
    await bot.send(STAFF, "/subscribe")
    bot.standin.calls.clear()
    bot.services.today = lambda: date(2026, 12, 14)
    former = bot.settings.model_copy(
        update={"telegram": bot.settings.telegram.model_copy(update={"staff_ids": []})}
    )
    assert await send_reminders(bot.application.bot, former, bot.services) == 0
    assert bot.standin.sent() == []


async def test_a_chat_that_blocked_the_bot_is_unsubscribed(bot: OfflineBot):
    await bot.send(STAFF, "/subscribe")
    bot.services.today = lambda: date(2026, 12, 14)
    bot.standin.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert await send_reminders(bot.application.bot, bot.settings, bot.services) == 0
    assert bot.services.store.subscribers() == []


async def test_reminders_come_in_the_chat_language(bot: OfflineBot):
    await bot.send(STAFF, "/lang ru")
    calls = await bot.send(STAFF, "/subscribe")
    assert calls[0].result["text"].startswith("🔔 Подписка оформлена")
    assert calls[1].result["text"].startswith("⏰ Скоро истекают соглашения (на 2026-11-25)")
    assert "(в ближайшие 30 дн.)" in calls[1].result["text"]
