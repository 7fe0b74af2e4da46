"""A Telegram Bot API stand-in: a small threaded HTTP server on loopback implementing
`/bot<token>/<method>` for the methods the bot calls, strict where Telegram is strict.

`sendMessage` with `parse_mode=HTML` is parsed the way Telegram does: only the tags Telegram
accepts, well-formed, only the entities it knows, at most 4,096 characters (UTF-16 units) after
entity parsing, not empty; anything else gets a 400 like Telegram's. A long `getUpdates` poll
still waiting when another one arrives ends with Telegram's 409 Conflict (two bot instances
polling). Every call is recorded. The same logic also serves offline tests through
`StandInRequest` (no HTTP at all).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from telegram.request import BaseRequest, RequestData

TOKEN = "123:TEST"
BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Coop",
    "username": "coop_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_LENGTH = 4096
MAX_WAIT_S = 1.0  # getUpdates long polling is honoured up to this many seconds
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)

# Telegram's HTML: tag -> allowed attributes
ALLOWED_TAGS: dict[str, set[str]] = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "tg-spoiler": set(),
    "blockquote": {"expandable"},
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
}
_TOKEN = re.compile(
    r"(?P<tag><(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+[a-zA-Z-]+"
    r"(?:\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'|[^\s\"'<>]+))?)*)\s*>)"
    r"|(?P<entity>&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)"
    r"|(?P<text>[^<>&]+)"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'<>]+))?")


class HtmlError(ValueError):
    """Telegram's "can't parse entities"."""


def check_html(text: str) -> str:
    """The visible text of a Telegram-HTML message; HtmlError when Telegram would refuse it."""
    visible: list[str] = []
    stack: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise HtmlError(f"unexpected {text[position]!r} at byte offset {position}")
        position = match.end()
        if match.group("text") is not None:
            visible.append(match.group("text"))
            continue
        if match.group("entity") is not None:
            visible.append(html.unescape(match.group("entity")))
            continue
        name = match.group("name").lower()
        if name not in ALLOWED_TAGS:
            raise HtmlError(f"unsupported start tag {name!r}")
        if match.group("close"):
            if not stack or stack[-1] != name:
                raise HtmlError(f"unmatched end tag {name!r}")
            stack.pop()
            continue
        attrs = {a.lower(): (v or "").strip("\"'") for a, v in _ATTR.findall(match.group("attrs"))}
        unknown = set(attrs) - ALLOWED_TAGS[name]
        if unknown:
            raise HtmlError(f"unsupported attribute {sorted(unknown)} of tag {name!r}")
        if name == "a" and not html.unescape(attrs.get("href", "")).strip():
            raise HtmlError("a link without href")
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError("span needs class tg-spoiler")
        if name == "blockquote" and "blockquote" in stack:
            raise HtmlError("blockquotes can't be nested")
        if stack and stack[-1] in ("code", "pre") and not (stack[-1] == "pre" and name == "code"):
            raise HtmlError(f"{name!r} inside {stack[-1]!r}")
        stack.append(name)
    if stack:
        raise HtmlError(f"can't find end tag corresponding to start tag {stack[-1]!r}")
    return "".join(visible)


def utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One Bot API call as received, and what the stand-in answered."""

    method: str
    params: dict[str, Any]
    status: int
    result: Any
    at: float = field(default_factory=time.monotonic)


def _error(status: int, description: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return status, {"ok": False, "error_code": status, "description": description, **extra}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class BotApiStandIn:
    """The Bot API for one bot token: queue updates with `push`, read what the bot sent."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._next_update_id = 1
        self._polls = 0  # getUpdates calls so far: a newer one ends a long poll still waiting
        self._next_message_id = 1
        self._chats: dict[int, dict[str, Any]] = {}
        self._condition = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what tests use -------------------------------------------------------------------
    def register(self, update: dict[str, Any]) -> dict[str, Any]:
        """Give an update its update_id and remember its chat (for the messages sent there)."""
        with self._condition:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
            message = update.get("message")
            if message:
                self._chats[message["chat"]["id"]] = message["chat"]
        return update

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; returns it with its update_id."""
        update = self.register(update)
        with self._condition:
            self._updates.append(update)
            self._condition.notify_all()
        return update

    def new_message_id(self) -> int:
        with self._condition:
            self._next_message_id += 1
            return self._next_message_id

    def fail_next(self, method: str, status: int, description: str, **extra: Any) -> None:
        """Answer the next call of `method` with this error (e.g. 429 with retry_after)."""
        with self._condition:
            self._failures.setdefault(method, []).append(_error(status, description, **extra))

    def calls_of(self, method: str) -> list[Call]:
        with self._condition:
            return [call for call in self.calls if call.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages delivered (sendMessage calls answered 200), optionally to one chat."""
        return [
            call
            for call in self.calls_of("sendMessage")
            if call.status == 200 and (chat_id is None or int(call.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The visible text of each delivered message."""
        return [call.result["text"] for call in self.sent(chat_id)]

    def pending_updates(self) -> int:
        with self._condition:
            return len(self._updates)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until `predicate()` holds (checked whenever a call arrives)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.2))
        return True

    # -- the API --------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call (parameters as sent: strings, JSON-encoded objects)."""
        with self._condition:
            failures = self._failures.get(method)
            if failures:
                status, payload = failures.pop(0)
                self._record(method, params, status, payload)
                return status, payload
        if method == "getUpdates":
            return self._get_updates(params)
        handler = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendChatAction": self._send_chat_action,
            "sendMessage": self._send_message,
        }.get(method)
        if handler is None:
            status, payload = _error(404, "Not Found")
        else:
            status, payload = handler(params)
        with self._condition:
            self._record(method, params, status, payload)
        return status, payload

    def _record(self, method: str, params: dict[str, Any], status: int, payload: Any) -> None:
        result = payload.get("result") if isinstance(payload, dict) else None
        self.calls.append(Call(method, dict(params), status, result))
        self._condition.notify_all()

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), MAX_WAIT_S)
        deadline = time.monotonic() + timeout
        with self._condition:
            self._polls += 1
            poll = self._polls
            self._condition.notify_all()
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._condition.wait(max(0.0, deadline - time.monotonic()))
                if self._polls != poll:  # as Telegram does when a second poller shows up
                    status, payload = _error(409, CONFLICT)
                    self._record("getUpdates", params, status, payload)
                    return status, payload
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            result = self._updates[:limit]
            self.calls.append(Call("getUpdates", dict(params), 200, result))
        return 200, {"ok": True, "result": result}

    def _get_me(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": BOT_USER}

    def _delete_webhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.webhook = None
        return 200, {"ok": True, "result": True, "description": "Webhook is already deleted"}

    def _set_webhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not params.get("url"):
            return _error(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        self.webhook = {
            "url": params["url"],
            "secret_token": params.get("secret_token"),
            "allowed_updates": _json(params.get("allowed_updates")),
        }
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    def _get_webhook_info(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = self.webhook["url"] if self.webhook else ""
        return 200, {"ok": True, "result": {"url": url, "pending_update_count": 0}}

    def _set_my_commands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        commands = _json(params.get("commands"))
        if not isinstance(commands, list) or not commands:
            return _error(400, "Bad Request: commands must be a non-empty array")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                return _error(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                return _error(400, "Bad Request: command description is invalid")
        self.commands[str(params.get("language_code") or "")] = commands
        return 200, {"ok": True, "result": True}

    def _get_my_commands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": self.commands.get(params.get("language_code") or "", [])}

    def _send_chat_action(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not params.get("chat_id") or not params.get("action"):
            return _error(400, "Bad Request: chat_id and action are required")
        return 200, {"ok": True, "result": True}

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = params.get("text")
        if not params.get("chat_id") or text is None:
            return _error(400, "Bad Request: chat_id and text are required")
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "HTML"):
            return _error(400, f"Bad Request: unsupported parse_mode {parse_mode!r} here")
        if parse_mode == "HTML":
            try:
                visible = check_html(text)
            except HtmlError as exc:
                return _error(400, f"Bad Request: can't parse entities: {exc}")
        else:
            visible = text
        visible = visible.strip()
        if not visible:
            return _error(400, "Bad Request: message text is empty")
        if utf16_len(visible) > MAX_LENGTH:
            return _error(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "private"})
        message: dict[str, Any] = {
            "message_id": self.new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": visible,
        }
        reply = _json(params.get("reply_parameters"))
        if isinstance(reply, dict):
            message["reply_to_message"] = {
                "message_id": reply.get("message_id"),
                "date": int(time.time()),
                "chat": chat,
            }
        return 200, {"ok": True, "result": message}

    # -- HTTP -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What `COOP_TELEGRAM__BASE_URL` should be."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> BotApiStandIn:
        """Serve on a free loopback port, in a daemon thread."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                match = re.fullmatch(r"/bot([^/]+)/(\w+)", parts.path)
                if match is None:
                    return self._send(*_error(404, "Not Found"))
                if match.group(1) != standin.token:
                    return self._send(*_error(401, "Unauthorized"))
                params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                if body and kind.startswith("application/json"):
                    params.update(json.loads(body))
                elif body and kind.startswith("application/x-www-form-urlencoded"):
                    form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                    params.update({k: v[-1] for k, v in form.items()})
                elif body:
                    return self._send(*_error(400, f"Bad Request: unsupported body {kind}"))
                self._send(*standin.handle(match.group(2), params))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot gave up waiting (it is stopping)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> BotApiStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StandInRequest(BaseRequest):
    """A python-telegram-bot request object that talks to the stand-in without HTTP."""

    def __init__(self, standin: BotApiStandIn) -> None:
        self.standin = standin

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(  # noqa: PLR0917 - PTB's signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        params: dict[str, Any] = dict(request_data.json_parameters) if request_data else {}
        status, payload = await asyncio.to_thread(
            self.standin.handle, url.rsplit("/", 1)[-1], params
        )
        return status, json.dumps(payload).encode("utf-8")


# -- updates as Telegram sends them -------------------------------------------------------
_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")


def entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and mention entities Telegram would attach (offsets in UTF-16)."""
    found: list[dict[str, Any]] = []
    command = _COMMAND.match(text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
    for match in _MENTION.finditer(text):
        if command and match.start() < command.end():
            continue
        found.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return found


def user(user_id: int, name: str, language_code: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language_code}


def message_update(
    standin: BotApiStandIn,
    sender: dict[str, Any],
    text: str,
    *,
    group_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `message` update (without update_id) from `sender`, in a private chat or a group;
    `reply_to` is a message the bot sent (a Call's result)."""
    if group_id is None:
        chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    else:
        chat = {"id": group_id, "type": "supergroup", "title": "Partners group"}
    message: dict[str, Any] = {
        "message_id": standin.new_message_id(),
        "date": int(time.time()),
        "chat": chat,
        "from": sender,
        "text": text,
    }
    found = entities(text)
    if found:
        message["entities"] = found
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"message": message}
