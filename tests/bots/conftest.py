"""Offline bots: the real Application (handlers, error handler, rate limiter, store) over a small
corpus indexed with the deterministic fake embedder, talking to the Bot API stand-in through
`StandInRequest` (no HTTP). Updates are fed with `application.process_update`."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update

from assistant.answering.factory import build_assistant
from assistant.answering.sessions import SessionStore
from assistant.resources import Resources, open_resources
from assistant.settings import Settings, TelegramSettings
from bots.telegram.app import BotApplication, BotServices, build_bot
from bots.telegram.store import BotStore
from ingest.sync import IngestService
from tests.bots.botapi_standin import (
    TOKEN,
    BotApiStandIn,
    Call,
    StandInRequest,
    message_update,
    user,
)
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings

TODAY = "2026-11-25"
MARKER = "ZQX-42"
STAFF_ID = 5001
VISITOR_ID = 5002
GROUP_ID = -1001234567890
STAFF = user(STAFF_ID, "Olga")
VISITOR = user(VISITOR_ID, "Vic")
RUSSIAN_VISITOR = user(5003, "Иван", "ru")
INTERNAL_QUESTION = f"When does the agreement with Zanzibar Polytechnic {MARKER} expire?"
PUBLIC_QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"
INTERNAL_REGISTRY = (
    "Партнёр;Страна;Действует до;Ответственный;E-mail\n"
    f"Zanzibar Polytechnic {MARKER};Tanzania;2026-12-20;Olga Petrova;olga@example.org\n"
)
INTERNAL_NOTE = (
    "# Internal registry notes\n\n"
    f"The agreement with Zanzibar Polytechnic {MARKER} covers joint courses in marine "
    "biology; the internal contact is Olga Petrova.\n"
)
MARKUP_PAGE = (
    "# Wombat Institute & <b>partners</b>\n\n"
    "The Wombat Institute cooperates with <script>alert('owned')</script> partners & friends "
    "in Quokkaville.\n"
)


@pytest.fixture(scope="session")
def corpus_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample (public), a page with markup (public) and an internal registry, indexed
    once per session with the fake embedder; tests work on copies of its data dir."""
    root = tmp_path_factory.mktemp("bot-corpus")
    public, internal = root / "public", root / "internal"
    shutil.copytree(SAMPLE_DIR, public)
    (public / "markup.md").write_text(MARKUP_PAGE, encoding="utf-8")
    internal.mkdir()
    (internal / "registry.csv").write_text(INTERNAL_REGISTRY, encoding="utf-8")
    (internal / "notes.md").write_text(INTERNAL_NOTE, encoding="utf-8")
    settings = make_settings(root / "var")
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        assert resources.embedder is not None
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
        )
        assert not service.ingest([public], "public").failed
        assert not service.ingest([internal], "internal").failed
    finally:
        resources.close()
    return root / "var"


@pytest.fixture
def data_dir(corpus_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "var"
    shutil.copytree(corpus_template, target)
    return target


def bot_settings(data_dir: Path, **telegram: Any) -> Settings:
    """Test settings for the bot: the token, one staff member, today fixed."""
    values: dict[str, Any] = {"token": SecretStr(TOKEN), "staff_ids": [STAFF_ID], **telegram}
    public_url = values.pop("public_url", None)
    return make_settings(
        data_dir, today=TODAY, public_url=public_url, telegram=TelegramSettings(**values)
    )


@dataclass
class OfflineBot:
    settings: Settings
    standin: BotApiStandIn
    application: BotApplication
    services: BotServices
    resources: Resources
    sessions: SessionStore

    async def send(
        self,
        sender: dict[str, Any],
        text: str,
        *,
        group_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> list[Call]:
        """Feed one message to the application; the messages it sent in response."""
        before = len(self.standin.sent())
        update = self.standin.register(
            message_update(self.standin, sender, text, group_id=group_id, reply_to=reply_to)
        )
        await self.application.process_update(Update.de_json(update, self.application.bot))
        return self.standin.sent()[before:]

    async def close(self) -> None:
        await self.application.shutdown()
        self.services.store.close()
        self.sessions.close()
        self.resources.close()


BotFactory = Callable[..., Awaitable[OfflineBot]]


@pytest.fixture
async def make_bot(data_dir: Path) -> AsyncIterator[BotFactory]:
    """`await make_bot(**telegram_settings)` → an initialized offline bot."""
    opened: list[OfflineBot] = []

    async def make(**telegram: Any) -> OfflineBot:
        settings = bot_settings(data_dir, **telegram)
        resources = open_resources(settings, embedder=FakeEmbedder())
        sessions = SessionStore(data_dir / "sessions.sqlite3")
        store = BotStore.in_data_dir(data_dir)
        services = BotServices(
            build_assistant(resources, sessions), resources.facts, store, settings.today_date
        )
        standin = BotApiStandIn()
        application = build_bot(settings, services, request=StandInRequest(standin))
        await application.initialize()
        bot = OfflineBot(settings, standin, application, services, resources, sessions)
        opened.append(bot)
        return bot

    yield make
    for bot in opened:
        await bot.close()


@pytest.fixture
async def bot(make_bot: BotFactory) -> OfflineBot:
    return await make_bot()
