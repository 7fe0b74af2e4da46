"""The bot inside `coop serve`: with a token set, the API process also runs the bot on the same
stores (what `make run` does); polling by default, or the API's own webhook route."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from assistant.api.app import create_app
from assistant.resources import Resources, open_resources
from assistant.settings import Settings
from tests.api.live import wait_until_ready
from tests.bots.botapi_standin import BotApiStandIn, message_update, user
from tests.bots.conftest import STAFF_ID, bot_settings
from tests.conftest import FakeEmbedder, make_settings
from tests.live_server import serve_in_thread

QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"


def _fake_model(settings: Settings) -> Resources:
    return open_resources(settings, embedder=FakeEmbedder())


def test_the_api_process_runs_the_bot_when_a_token_is_set(data_dir: Path):
    standin = BotApiStandIn().start()
    try:
        settings = bot_settings(data_dir, base_url=standin.base_url)
        with serve_in_thread(create_app(settings, resource_factory=_fake_model)) as base:
            wait_until_ready(base)
            assert standin.wait_for(lambda: bool(standin.calls_of("getUpdates")), 30)
            standin.push(message_update(standin, user(STAFF_ID, "Olga"), QUESTION))
            assert standin.wait_for(lambda: bool(standin.texts(STAFF_ID)), 30)
            assert "Skolkovo" in standin.texts(STAFF_ID)[-1]
            # The API answers on the same stores meanwhile.
            answer = httpx.post(f"{base}/v1/ask", json={"question": QUESTION}, timeout=30)
            assert answer.status_code == 200 and answer.json()["found"] is True
    finally:
        standin.stop()


def test_in_webhook_mode_the_api_serves_the_webhook_route(data_dir: Path):
    standin = BotApiStandIn().start()
    try:
        settings = bot_settings(
            data_dir,
            base_url=standin.base_url,
            webhook_url="https://assistant.example.org/telegram/webhook",
            webhook_secret=SecretStr("s3cret-token"),
        )
        with serve_in_thread(create_app(settings, resource_factory=_fake_model)) as base:
            wait_until_ready(base)
            assert standin.wait_for(lambda: standin.webhook is not None, 30)
            assert not standin.calls_of("getUpdates")  # no polling in webhook mode
            update = standin.register(message_update(standin, user(STAFF_ID, "Olga"), QUESTION))
            url = f"{base}/telegram/webhook"
            assert httpx.post(url, json=update).status_code == 403  # no secret
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            assert httpx.post(url, json=update, headers=wrong).status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            assert httpx.post(url, json=update, headers=right).status_code == 200
            assert standin.wait_for(lambda: bool(standin.texts(STAFF_ID)), 30)
            assert "Skolkovo" in standin.texts(STAFF_ID)[-1]
    finally:
        standin.stop()


def test_without_a_token_no_bot_runs(data_dir: Path):
    app = create_app(make_settings(data_dir), resource_factory=_fake_model)
    with serve_in_thread(app) as base:
        wait_until_ready(base)
        assert app.state.telegram_bot is None
        assert httpx.post(f"{base}/", json={}).status_code == 405  # no webhook route either
