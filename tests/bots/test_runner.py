"""Starting and stopping: `run_bot`'s refusals, `EmbeddedBot` polling and webhook mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from bots.telegram.runner import EmbeddedBot, config_problem, run_bot
from bots.telegram.webhook import SECRET_HEADER, webhook_route
from tests.bots.botapi_standin import BotApiStandIn, StandInRequest, message_update
from tests.bots.conftest import STAFF, VISITOR, OfflineBot, bot_settings
from tests.conftest import make_settings


def test_a_missing_token_is_a_usage_error_that_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_bot(make_settings(tmp_path)) == 2
    assert "COOP_TELEGRAM__TOKEN is not set" in capsys.readouterr().err


def test_webhook_mode_refuses_to_start_without_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = bot_settings(tmp_path, webhook_url="https://bot.example.org/telegram")
    assert run_bot(settings) == 2
    assert "COOP_TELEGRAM__WEBHOOK_SECRET" in capsys.readouterr().err
    weak = bot_settings(
        tmp_path, webhook_url="https://e.org/t", webhook_secret=SecretStr("has spaces")
    )
    assert config_problem(weak) is not None
    listen = bot_settings(
        tmp_path,
        webhook_url="https://e.org/t",
        webhook_secret=SecretStr("s3cret"),
        webhook_listen="nowhere",
    )
    assert "WEBHOOK_LISTEN" in (config_problem(listen) or "")


def test_a_bad_reminder_time_and_an_empty_index_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert "HH:MM" in (config_problem(bot_settings(tmp_path, reminder_time="9am")) or "")
    assert run_bot(bot_settings(tmp_path)) == 2
    assert "coop ingest" in capsys.readouterr().err


async def test_an_embedded_bot_polls_answers_and_stops(bot: OfflineBot):
    standin = BotApiStandIn()
    embedded = EmbeddedBot(bot.settings, bot.services, request=StandInRequest(standin))
    await embedded.start()
    try:
        assert embedded.application.running
        standin.push(message_update(standin, VISITOR, "/help"))
        standin.push(message_update(standin, STAFF, "/start"))
        assert await asyncio.to_thread(standin.wait_for, lambda: len(standin.sent()) == 2, 10)
        assert set(standin.commands) == {"", "ru"}
        assert standin.calls_of("deleteWebhook")  # polling takes over from any webhook
    finally:
        await embedded.stop()
    assert not embedded.application.running
    assert embedded.application.updater is not None and not embedded.application.updater.running
    await embedded.stop()  # twice is harmless


async def test_an_embedded_bot_in_webhook_mode_checks_the_secret(bot: OfflineBot):
    settings = bot.settings.model_copy(
        update={
            "telegram": bot.settings.telegram.model_copy(
                update={
                    "webhook_url": "https://coop.example.org/telegram/webhook",
                    "webhook_secret": SecretStr("s3cret-token"),
                }
            )
        }
    )
    standin = BotApiStandIn()
    embedded = EmbeddedBot(settings, bot.services, request=StandInRequest(standin))
    web = Starlette(routes=[embedded.webhook_route()])
    update = standin.register(message_update(standin, VISITOR, "/help"))
    # a web app mounts the route before the bot exists: until it runs, Telegram hears 503
    started: list[EmbeddedBot] = []
    early = Starlette(
        routes=[webhook_route(lambda: started[0].application if started else None, settings)]
    )
    right = {SECRET_HEADER: "s3cret-token"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=early), base_url="http://t"
    ) as c:
        assert (await c.post("/telegram/webhook", json=update, headers=right)).status_code == 503
        assert (await c.post("/telegram/webhook", json=update)).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        assert (await c.post("/telegram/webhook", json=update, headers=right)).status_code == 503
    await embedded.start()
    started.append(embedded)
    try:
        assert standin.webhook == {
            "url": "https://coop.example.org/telegram/webhook",
            "secret_token": "s3cret-token",
            "allowed_updates": ["message"],
        }
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            path = "/telegram/webhook"
            assert (await client.post(path, json=update)).status_code == 403
            wrong = {SECRET_HEADER: "guess"}
            assert (await client.post(path, json=update, headers=wrong)).status_code == 403
            assert (await client.post(path, content=b"[1,", headers=right)).status_code == 400
            assert (await client.post(path, json=update, headers=right)).status_code == 200
        assert await asyncio.to_thread(standin.wait_for, lambda: len(standin.sent()) == 1, 10)
        assert "Commands" in standin.texts()[0]
        transport = httpx.ASGITransport(app=early)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            help_again = standin.register(message_update(standin, VISITOR, "/help"))
            sent = await client.post("/telegram/webhook", json=help_again, headers=right)
            assert sent.status_code == 200
        assert await asyncio.to_thread(standin.wait_for, lambda: len(standin.sent()) == 2, 10)
        assert standin.calls_of("getUpdates") == []  # no polling in webhook mode
    finally:
        await embedded.stop()
