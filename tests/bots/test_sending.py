"""Sending: the typing action repeats during long work and stops with it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telegram import Bot

from bots.telegram.sending import typing_action


class ActionRecorder:
    def __init__(self) -> None:
        self.actions: list[tuple[int, str]] = []

    async def send_chat_action(self, chat_id: int, action: str, **kwargs: Any) -> bool:
        self.actions.append((chat_id, str(action)))
        return True


async def test_typing_is_shown_at_once_repeated_during_long_work_and_then_stops():
    recorder = ActionRecorder()
    bot = cast(Bot, recorder)
    async with typing_action(bot, 42, every_s=0.05):
        assert recorder.actions == [(42, "typing")]  # before any work
        await asyncio.sleep(0.18)
    count = len(recorder.actions)
    assert count >= 3
    await asyncio.sleep(0.15)
    assert len(recorder.actions) == count  # stopped with the work
