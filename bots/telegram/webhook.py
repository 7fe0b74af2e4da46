"""Webhook mode: Telegram POSTs updates to `COOP_TELEGRAM__WEBHOOK_URL`, proving itself with the
secret token header. The same Starlette route serves inside our FastAPI app (`EmbeddedBot`) and
in the standalone server `coop bot` starts (uvicorn on `COOP_TELEGRAM__WEBHOOK_LISTEN`)."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from assistant.settings import Settings
from bots.telegram.app import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def webhook_problem(settings: Settings) -> str | None:
    """What is wrong with the webhook settings (None when fine or when not in webhook mode)."""
    telegram = settings.telegram
    if not telegram.webhook_url:
        return None
    if not telegram.webhook_url.startswith(("https://", "http://")):
        return "COOP_TELEGRAM__WEBHOOK_URL must be an https:// URL (http:// for a local Bot API)"
    secret = telegram.webhook_secret.get_secret_value() if telegram.webhook_secret else ""
    if not secret:
        return (
            "webhook mode needs COOP_TELEGRAM__WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -), "
            "so that only Telegram can post updates; unset COOP_TELEGRAM__WEBHOOK_URL to poll"
        )
    if not _SECRET.fullmatch(secret):
        return "COOP_TELEGRAM__WEBHOOK_SECRET may only hold 1-256 of A-Z a-z 0-9 _ -"
    return None


def webhook_path(settings: Settings) -> str:
    """The path Telegram posts to: the path of the webhook URL (`/` when it has none)."""
    return urlsplit(settings.telegram.webhook_url or "").path or "/"


def _secret(settings: Settings) -> str:
    secret = settings.telegram.webhook_secret
    if secret is None or not secret.get_secret_value():
        raise ValueError("webhook mode needs COOP_TELEGRAM__WEBHOOK_SECRET")
    return secret.get_secret_value()


ApplicationSource = AnyApplication | Callable[[], AnyApplication | None]


def webhook_endpoint(
    application: ApplicationSource, settings: Settings
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint: 403 without the right secret header, 503 while the application is not
    running yet (Telegram retries), 400 for what is not an update, otherwise the update is
    queued for the application and Telegram gets 200. `application` may be a function that
    returns the application once there is one (a web app mounts the route before the bot
    starts)."""
    secret = _secret(settings).encode()

    async def receive_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            logger.warning("webhook request without the right secret token refused")
            return Response(status_code=403)
        current = application if isinstance(application, Application) else application()
        if current is None or not current.running:
            return Response("the bot is starting", status_code=503)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
        try:
            update = Update.de_json(json.loads(body), current.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response("not a Telegram update", status_code=400)
        await current.update_queue.put(update)
        return Response(status_code=200)

    return receive_update


def webhook_route(application: ApplicationSource, settings: Settings) -> Route:
    """A Starlette/FastAPI route for the webhook (`app.router.routes.append(...)`); pass a
    function for `application` when the bot starts after the route is mounted."""
    return Route(webhook_path(settings), webhook_endpoint(application, settings), methods=["POST"])


def webhook_app(application: AnyApplication, settings: Settings) -> Starlette:
    """The standalone webhook server's app: just the webhook route."""
    return Starlette(routes=[webhook_route(application, settings)])


async def set_webhook(application: AnyApplication, settings: Settings) -> None:
    """Tell Telegram where to post updates, with the secret token it must send back."""
    await application.bot.set_webhook(
        url=settings.telegram.webhook_url or "",
        secret_token=_secret(settings),
        allowed_updates=ALLOWED_UPDATES,
    )
