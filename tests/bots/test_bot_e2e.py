"""`coop bot` as a process, with the real model, against the Bot API stand-in on loopback.

Phase 1 polls (with `coop serve` running on the same data through a Chroma server, as the README
says several processes must): visitors, staff, a Russian question, a group, lists, /subscribe.
It stops with SIGTERM. Phase 2 restarts the bot as a standalone webhook server some days later:
the catch-up run sends only the reminders that became due, never one already sent. Every message
is checked as Telegram would (HTML, length) and the exchange is saved to a transcript.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.bots.botapi_standin import (
    TOKEN,
    BotApiStandIn,
    Call,
    check_html,
    message_update,
    user,
    utf16_len,
)
from tests.conftest import BIN_DIR, SAMPLE_DIR, free_port, wait_http
from tests.processes import LoggedProcess

pytestmark = pytest.mark.integration

COOP = str(BIN_DIR / "coop")
MARKER = "ZQX-42"
STAFF_ID, VISITOR_ID, RUSSIAN_ID, GROUP_ID = 5001, 5002, 5003, -1009876543210
STAFF = user(STAFF_ID, "Olga")
VISITOR = user(VISITOR_ID, "Vic")
RUSSIAN = user(RUSSIAN_ID, "Иван", "ru")
PUBLIC_QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"
INTERNAL_QUESTION = f"When does the agreement with Zanzibar Polytechnic {MARKER} expire?"
RUSSIAN_QUESTION = "Кто является президентом Ассоциации онкологических обществ СНГ?"
ZANZIBAR = f"Zanzibar Polytechnic {MARKER} (Tanzania)"
WEBHOOK_SECRET = "e2e-webhook-secret"


def coop_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.update(COOP_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    env.update(extra)
    return env


@dataclass
class Exchange:
    """The conversation as the users saw it, for the transcript."""

    standin: BotApiStandIn
    lines: list[str] = field(default_factory=list)
    seen: Counter[int] = field(default_factory=Counter)  # messages accounted for, per chat

    def note(self, text: str) -> None:
        self.lines.append(f"\n=== {text} ===")

    def send(
        self,
        sender: dict[str, Any],
        text: str,
        *,
        expect: int = 1,
        group_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        timeout: float = 120.0,
    ) -> list[Call]:
        """Queue a message; wait for `expect` replies in its chat (for 0, until the bot has
        fetched it and a moment has passed)."""
        chat_id = group_id if group_id is not None else sender["id"]
        before = len(self.standin.sent(chat_id))
        update = self.standin.push(
            message_update(self.standin, sender, text, group_id=group_id, reply_to=reply_to)
        )
        if expect:
            arrived = self.standin.wait_for(
                lambda: len(self.standin.sent(chat_id)) >= before + expect, timeout
            )
            assert arrived, f"no reply to {text!r} within {timeout} s"
        else:
            assert self.standin.wait_for(lambda: self.standin.pending_updates() == 0, timeout)
            time.sleep(2.0)
        replies = self.standin.sent(chat_id)[before:]
        self.seen[chat_id] += len(replies)
        where = "group" if group_id is not None else "private"
        self.lines.append(f"\n[{sender['first_name']} #{sender['id']}, {where}] {text}")
        if not replies:
            self.lines.append("  (no reply)")
        for reply in replies:
            body = str(reply.result["text"]).replace("\n", "\n      ")
            self.lines.append(f"  bot> {body}")
        self.lines.append(f"  (update {update['update_id']})")
        return replies

    def record_reminders(self, calls: list[Call]) -> None:
        for call in calls:
            self.seen[int(call.params["chat_id"])] += 1
            body = str(call.result["text"]).replace("\n", "\n      ")
            self.lines.append(f"\n[reminder to #{call.params['chat_id']}]\n  bot> {body}")

    def record(self, call: Call, heading: str) -> None:
        self.seen[int(call.params["chat_id"])] += 1
        body = str(call.result["text"]).replace("\n", "\n      ")
        self.lines.append(f"\n{heading}\n  bot> {body}")

    def unaccounted(self) -> dict[int, int]:
        """Chats that received messages no step of the exchange saw (a duplicate or late
        reply, which would be taken for the answer to the next message), and how many."""
        delivered = Counter(int(call.params["chat_id"]) for call in self.standin.sent())
        return {chat: n - self.seen[chat] for chat, n in delivered.items() if n != self.seen[chat]}


def only(calls: list[Call]) -> str:
    assert len(calls) == 1, [call.result["text"] for call in calls]
    return str(calls[0].result["text"])


@pytest.fixture
def corpus(tmp_path: Path, chroma_server: tuple[str, int]) -> Iterator[dict[str, str]]:
    """The sample (public) and an internal registry, ingested with the real model into a
    Chroma server; yields the environment every process shares."""
    shutil.copytree(SAMPLE_DIR, tmp_path / "sample")
    internal = tmp_path / "internal"
    internal.mkdir()
    (internal / "registry.csv").write_text(
        "Партнёр;Страна;Действует до;Ответственный;E-mail\n"
        f"Zanzibar Polytechnic {MARKER};Tanzania;2026-12-20;Olga Petrova;olga@example.org\n",
        encoding="utf-8",
    )
    (internal / "notes.md").write_text(
        f"# Internal notes\n\nThe agreement with Zanzibar Polytechnic {MARKER} covers joint "
        "courses in marine biology; the internal contact is Olga Petrova.\n",
        encoding="utf-8",
    )
    host, port = chroma_server
    env = coop_env(tmp_path / "var", COOP_CHROMA__HOST=host, COOP_CHROMA__PORT=str(port))
    for args in (["ingest", "sample"], ["ingest", "internal", "--visibility", "internal"]):
        done = subprocess.run(
            [COOP, *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    yield env


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _post_when_listening(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            return _post(url, body, headers)
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_coop_bot_against_the_bot_api_stand_in(tmp_path: Path, corpus: dict[str, str]):
    started = time.monotonic()
    standin = BotApiStandIn().start()
    exchange = Exchange(standin)
    api_port = free_port()
    public_url = f"http://127.0.0.1:{api_port}"
    env = {
        **corpus,
        "COOP_TODAY": "2026-11-25",
        "COOP_PUBLIC_URL": public_url,
        "COOP_TELEGRAM__TOKEN": TOKEN,
        "COOP_TELEGRAM__BASE_URL": standin.base_url,
        "COOP_TELEGRAM__STAFF_IDS": str(STAFF_ID),
    }
    processes: list[LoggedProcess] = []
    try:
        # -- phase 1: long polling, with the API on the same data -----------------------
        exchange.note("phase 1: coop bot (long polling), COOP_TODAY=2026-11-25; coop serve too")
        api = LoggedProcess(  # --no-bot: the token is set, and only `coop bot` may poll
            [COOP, "serve", "--port", str(api_port), "--no-bot"],
            env,
            tmp_path,
            tmp_path / "serve.log",
        )
        bot = LoggedProcess([COOP, "-v", "bot"], env, tmp_path, tmp_path / "bot-1.log")
        processes += [api, bot]
        standin.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}
        )

        start = only(exchange.send(VISITOR, "/start"))
        assert "Just write a question" in start and "/subscribe" not in start
        answer = exchange.send(VISITOR, PUBLIC_QUESTION)
        text = only(answer)
        assert "Vovchenko" in text and "Parshin" in text and "Sources\n[1]" in text
        assert f'<a href="{public_url}/sources/' in answer[0].params["text"]
        follow_up = only(exchange.send(VISITOR, "Who signed it?"))
        assert "Vovchenko" in follow_up
        visitor = only(exchange.send(VISITOR, INTERNAL_QUESTION))
        assert MARKER not in visitor.replace(INTERNAL_QUESTION, "")
        assert "olga@example.org" not in visitor and "Olga Petrova" not in visitor
        staff = only(exchange.send(STAFF, INTERNAL_QUESTION))
        assert MARKER in staff and ("2026-12-20" in staff or "20 December 2026" in staff)
        russian = only(exchange.send(RUSSIAN, RUSSIAN_QUESTION))
        assert russian.startswith("Согласно документам") and "Kaprin" in russian
        assert "Источники\n[1]" in russian  # the interface follows the user's language
        exchange.send(STAFF, "Who are our partners?", group_id=GROUP_ID, expect=0)
        in_group = exchange.send(STAFF, f"@coop_test_bot {INTERNAL_QUESTION}", group_id=GROUP_ID)
        assert MARKER not in only(in_group).replace(INTERNAL_QUESTION, "")  # groups: visitors
        assert "reply_parameters" in in_group[0].params
        listing = only(exchange.send(STAFF, "/agreements this-year"))
        assert listing.startswith("Agreements ending this year (as of 2026-11-25): 3")
        assert f"{ZANZIBAR} — agreement, ends 2026-12-20: in 25 days" in listing
        assert MARKER not in only(exchange.send(VISITOR, "/agreements 60d"))
        assert "Konovalchuk" in only(exchange.send(VISITOR, "/contacts Konovalchuk"))
        assert "staff only" in only(exchange.send(VISITOR, "/subscribe"))
        subscribed = exchange.send(STAFF, "/subscribe", expect=2)
        assert subscribed[0].result["text"].startswith("🔔 Subscribed")
        assert (
            f"{ZANZIBAR} — agreement, ends 2026-12-20: in 25 days — Olga Petrova (within 30 "
            in (subscribed[1].result["text"])
        )

        # the API answers from the same data meanwhile, and the bot's source links open there
        wait_http(f"{public_url}/readyz", timeout=120, process=api.popen)
        asked = urllib.request.Request(
            f"{public_url}/v1/ask",
            data=json.dumps({"question": PUBLIC_QUESTION}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(asked, timeout=60) as response:
            assert "Vovchenko" in json.loads(response.read())["answer"]
        href = answer[0].params["text"].split('<a href="', 1)[1].split('"', 1)[0]
        with urllib.request.urlopen(href.replace("&amp;", "&"), timeout=30) as response:
            assert response.status == 200 and "<mark" in response.read().decode()

        conflicts = [c for c in standin.calls_of("getUpdates") if c.status == 409]
        assert not conflicts, "two getUpdates pollers (is the API running its own bot?)"
        code, took = bot.terminate()
        assert code == 0 and took < 20, bot.log()
        assert "Traceback" not in bot.log(), bot.log()
        api.terminate()  # (uvicorn re-raises SIGTERM: its exit status is the signal's)
        assert [c.status for c in standin.calls_of("sendMessage")].count(429) == 1  # retried
        assert set(standin.commands) == {"", "ru"}  # the menu in both languages
        assert exchange.unaccounted() == {}, exchange.lines  # every message answered once
        phase_one = len(standin.calls)

        # -- phase 2: restarted some days later as a standalone webhook server ----------
        exchange.note("phase 2: coop bot restarted as a webhook server, COOP_TODAY=2026-12-14")
        webhook_port = free_port()
        webhook_url = f"http://127.0.0.1:{webhook_port}/telegram/webhook"
        env.update(
            COOP_TODAY="2026-12-14",
            COOP_TELEGRAM__WEBHOOK_URL=webhook_url,
            COOP_TELEGRAM__WEBHOOK_SECRET=WEBHOOK_SECRET,
            COOP_TELEGRAM__WEBHOOK_LISTEN=f"127.0.0.1:{webhook_port}",
        )
        bot = LoggedProcess([COOP, "-v", "bot"], env, tmp_path, tmp_path / "bot-2.log")
        processes.append(bot)
        before = len(standin.sent(STAFF_ID))
        assert standin.wait_for(lambda: len(standin.sent(STAFF_ID)) > before, 120), bot.log()
        exchange.record_reminders(standin.sent(STAFF_ID)[before:])  # the catch-up run
        assert standin.webhook == {
            "url": webhook_url,
            "secret_token": WEBHOOK_SECRET,
            "allowed_updates": ["message"],
        }
        update = standin.register(message_update(standin, VISITOR, "/help"))
        assert _post_when_listening(webhook_url, update, {}) == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert _post(webhook_url, update, wrong) == 403
        question = standin.register(message_update(standin, VISITOR, "Do you cooperate with Cuba?"))
        right = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        count = len(standin.sent(VISITOR_ID))
        assert _post(webhook_url, question, right) == 200
        assert standin.wait_for(lambda: len(standin.sent(VISITOR_ID)) > count, 60)
        exchange.record(
            standin.sent(VISITOR_ID)[count],
            "[Vic #5002, private, via the webhook] Do you cooperate with Cuba?",
        )
        assert "Cuba" in standin.texts(VISITOR_ID)[count]
        time.sleep(3.0)  # nothing else may follow
        assert exchange.unaccounted() == {}, exchange.lines
        code, took = bot.terminate()
        assert code == 0 and took < 20, bot.log()
        assert "Traceback" not in bot.log(), bot.log()
        assert not [c for c in standin.calls[phase_one:] if c.method == "getUpdates"]

        reminders = standin.sent(STAFF_ID)[before:]
        (late,) = [call.result["text"] for call in reminders]
        assert (
            f"{ZANZIBAR} — agreement, ends 2026-12-20: in 6 days — Olga Petrova (within 7 " in late
        )
        assert "(within 30 days)" in late  # Karaganda reached 30 days; its 90 came in phase 1
        staff_texts = standin.texts(STAFF_ID)
        for window in (30, 7):
            mentions = [
                t for t in staff_texts for line in t.splitlines()
                if ZANZIBAR in line and f"(within {window} days)" in line
            ]  # fmt: skip
            assert len(mentions) == 1, f"the {window}-day reminder came {len(mentions)} times"

        # every message as Telegram would check it
        for call in standin.calls_of("sendMessage"):
            assert call.status in (200, 429), call
            assert call.params["parse_mode"] == "HTML"
            assert 0 < utf16_len(check_html(call.params["text"]).strip()) <= 4096
        assert len(standin.sent(GROUP_ID)) == 1  # only the mention was answered
        assert standin.calls_of("sendChatAction")
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.terminate()
        standin.stop()
        transcript = tmp_path / "telegram_exchange.txt"
        transcript.write_text("\n".join(exchange.lines).strip() + "\n", encoding="utf-8")
        print(f"\nTelegram exchange ({time.monotonic() - started:.0f} s) saved to {transcript}:")
        print(transcript.read_text(encoding="utf-8"))
