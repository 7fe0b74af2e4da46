"""Running the bot: `run_bot(settings)` for `coop bot` (its own process: long polling, or a
standalone webhook server), and `EmbeddedBot` for running it inside an asyncio loop that is
already running (the API's lifespan), sharing that process's resources."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from starlette.routing import Route
from telegram.error import InvalidToken, NetworkError
from telegram.request import BaseRequest

from assistant.answering.factory import build_assistant
from assistant.answering.service import AssistantService
from assistant.answering.sessions import SessionStore
from assistant.resources import Resources, open_resources
from assistant.settings import Settings
from bots.telegram.app import ALLOWED_UPDATES, BotApplication, build_bot
from bots.telegram.reminders import reminder_time
from bots.telegram.services import BotServices
from bots.telegram.store import BotStore
from bots.telegram.webhook import set_webhook, webhook_app, webhook_problem, webhook_route
from vectorstore.facts_db import FactsDB

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def config_problem(settings: Settings) -> str | None:
    """What keeps the bot from starting with these settings, said so the user can fix it."""
    telegram = settings.telegram
    if telegram.token is None or not telegram.token.get_secret_value().strip():
        return "COOP_TELEGRAM__TOKEN is not set: create a bot with @BotFather and set its token"
    try:
        reminder_time(telegram.reminder_time)
    except ValueError as exc:
        return str(exc)
    if telegram.webhook_url:
        problem = webhook_problem(settings)
        if problem:
            return problem
        try:
            _listen_address(telegram.webhook_listen)
        except ValueError as exc:
            return str(exc)
    return None


def _listen_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"COOP_TELEGRAM__WEBHOOK_LISTEN must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


def _anything_indexed(settings: Settings) -> bool:
    """Checked before the model loads, so a fresh install is told at once what to do."""
    if not settings.facts_db_path.exists():
        return False
    facts = FactsDB(settings.facts_db_path)
    try:
        return any(docs for docs, _ in facts.counts().values())
    finally:
        facts.close()


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"coop bot: {message}\n")
    return code


class _StoppedError(Exception):
    """SIGTERM arrived before the bot was running."""


@contextmanager
def _stop_raises() -> Iterator[None]:
    """While the model loads, SIGTERM stops the start-up cleanly (as Ctrl-C does)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _StoppedError

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_services(settings: Settings) -> tuple[Resources, SessionStore, BotServices]:
    resources = open_resources(settings)
    sessions: SessionStore | None = None
    try:
        sessions = SessionStore(settings.data_dir / "sessions.sqlite3")
        assistant = build_assistant(resources, sessions)
        store = BotStore.in_data_dir(settings.data_dir)
    except BaseException:
        if sessions is not None:
            sessions.close()
        resources.close()
        raise
    services = BotServices(assistant, resources.facts, store, settings.today_date)
    return resources, sessions, services


def run_bot(settings: Settings) -> int:
    """`coop bot`: answer until SIGTERM/SIGINT, by long polling, or as a standalone webhook
    server when `COOP_TELEGRAM__WEBHOOK_URL` is set. Exit code 2 for settings to fix (no token,
    webhook without a secret, nothing indexed), 1 when the Bot API cannot be used."""
    problem = config_problem(settings)
    if problem:
        return _fail(problem, EXIT_USAGE)
    if not _anything_indexed(settings):
        return _fail("nothing is indexed yet; run `coop ingest PATH` first", EXIT_USAGE)
    try:
        with _stop_raises():
            resources, sessions, services = _open_services(settings)
    except (_StoppedError, KeyboardInterrupt):
        logger.info("stopped while starting")
        return EXIT_OK
    try:
        application = build_bot(settings, services)
        asyncio.set_event_loop(asyncio.new_event_loop())
        if settings.telegram.webhook_url:
            host, port = _listen_address(settings.telegram.webhook_listen)
            asyncio.get_event_loop().run_until_complete(
                _serve_webhook(application, settings, host, port)
            )
        else:
            logger.info("polling %s", settings.telegram.base_url or "api.telegram.org")
            application.run_polling(
                allowed_updates=ALLOWED_UPDATES, stop_signals=STOP_SIGNALS, bootstrap_retries=3
            )
    except InvalidToken as exc:
        return _fail(f"the Bot API refused the token ({exc}); check COOP_TELEGRAM__TOKEN", 2)
    except NetworkError as exc:
        where = settings.telegram.base_url or "https://api.telegram.org"
        return _fail(f"cannot use the Bot API at {where}: {exc}", EXIT_FAILED)
    except (_StoppedError, KeyboardInterrupt):
        logger.info("stopped while starting")
    finally:
        services.store.close()
        sessions.close()
        resources.close()
    return EXIT_OK


async def _serve_webhook(
    application: BotApplication, settings: Settings, host: str, port: int
) -> None:
    """The standalone webhook server, until SIGTERM/SIGINT."""
    import uvicorn  # noqa: PLC0415 - only webhook mode needs it

    # uvicorn re-raises the signal that stopped it once it is done; let that be a no-op so the
    # application below still shuts down cleanly.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, lambda signum, frame: None)
    config = uvicorn.Config(
        webhook_app(application, settings),
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    async with application:  # initialize ... shutdown
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            await set_webhook(application, settings)
            logger.info("webhook server on %s:%d", host, port)
            await uvicorn.Server(config).serve()
        finally:
            await application.stop()


class EmbeddedBot:
    """The same Application, run inside an already running loop (e.g. `coop serve`'s lifespan):
    `await start()` after the resources are loaded, `await stop()` before they are closed.
    Polls by default; in webhook mode mount `webhook_route()` in the web app instead."""

    def __init__(
        self,
        settings: Settings,
        services: BotServices,
        *,
        request: BaseRequest | None = None,
        owns_store: bool = False,
    ) -> None:
        problem = config_problem(settings)
        if problem:
            raise ValueError(problem)
        self.settings = settings
        self.services = services
        self.application = build_bot(settings, services, request=request)
        self._owns_store = owns_store

    @classmethod
    def from_resources(
        cls, settings: Settings, resources: Resources, assistant: AssistantService
    ) -> EmbeddedBot:
        """A bot over resources someone else opened (and closes); it opens and closes only its
        own store."""
        store = BotStore.in_data_dir(settings.data_dir)
        services = BotServices(assistant, resources.facts, store, settings.today_date)
        return cls(settings, services, owns_store=True)

    @property
    def webhook_mode(self) -> bool:
        """Whether Telegram posts updates to us (else we poll)."""
        return bool(self.settings.telegram.webhook_url)

    def webhook_route(self) -> Route:
        """The route to mount in the web app in webhook mode."""
        return webhook_route(self.application, self.settings)

    async def start(self) -> None:
        """Initialize, register the menu and jobs, start polling (or set the webhook), start."""
        application = self.application
        await application.initialize()
        try:
            if application.post_init is not None:
                await application.post_init(application)
            if self.webhook_mode:
                await set_webhook(application, self.settings)
            elif application.updater is not None:
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            await application.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop in reverse order; safe to call more than once."""
        application = self.application
        try:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        finally:
            if self._owns_store:
                self._owns_store = False
                self.services.store.close()
