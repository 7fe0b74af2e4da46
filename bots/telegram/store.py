"""The bot's own state (SQLite, WAL): chat languages, reminder subscriptions, reminders sent.

It lives in `settings.data_dir / "telegram.sqlite3"`, the only file the bot writes besides the
conversation sessions, so the bot and `coop serve` can run at the same time on one data dir.
Sent reminders are remembered per (chat, agreement key, window), across restarts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bots.telegram.texts import Lang
from vectorstore.sqlite_files import use_wal

STORE_FILE = "telegram.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY,
    language TEXT NOT NULL CHECK (language IN ('ru', 'en'))
);
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reminders_sent (
    chat_id INTEGER NOT NULL,
    agreement_key TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, agreement_key, window_days)
);
"""


@dataclass(frozen=True)
class Subscriber:
    """A staff member's private chat that receives expiry reminders."""

    chat_id: int
    user_id: int
    language: Lang | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class BotStore:
    """Thread-safe; call it from worker threads (`asyncio.to_thread`), never the event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
        self._lock = threading.Lock()
        with self._lock:
            use_wal(self._conn)
            self._conn.executescript(_SCHEMA)
            self._conn.commit()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> BotStore:
        """The store at its usual place under the data dir."""
        return cls(data_dir / STORE_FILE)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def language(self, chat_id: int) -> Lang | None:
        """The language chosen with /lang in this chat, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT language FROM chats WHERE chat_id = ?", (chat_id,)
            ).fetchone()
        return "ru" if row and row[0] == "ru" else "en" if row else None

    def set_language(self, chat_id: int, language: Lang) -> None:
        """Remember the chat's language."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO chats(chat_id, language) VALUES(?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET language = excluded.language",
                (chat_id, language),
            )

    def subscribe(self, chat_id: int, user_id: int) -> bool:
        """Subscribe a chat; False when it already was."""
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO subscriptions(chat_id, user_id, since) VALUES(?, ?, ?)",
                (chat_id, user_id, _now()),
            )
            return cursor.rowcount == 1

    def unsubscribe(self, chat_id: int) -> bool:
        """Unsubscribe a chat; False when it was not subscribed."""
        with self._lock, self._conn:
            cursor = self._conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
            return cursor.rowcount == 1

    def subscribers(self, chat_ids: Iterable[int] | None = None) -> list[Subscriber]:
        """Subscribed chats (only those in `chat_ids` when given), with their language."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.chat_id, s.user_id, c.language FROM subscriptions s "
                "LEFT JOIN chats c ON c.chat_id = s.chat_id ORDER BY s.chat_id"
            ).fetchall()
        wanted = None if chat_ids is None else set(chat_ids)
        return [
            Subscriber(chat_id, user_id, "ru" if language == "ru" else "en" if language else None)
            for chat_id, user_id, language in rows
            if wanted is None or chat_id in wanted
        ]

    def sent_windows(self, chat_id: int) -> dict[str, set[int]]:
        """For each agreement key, the windows already reminded of in this chat."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT agreement_key, window_days FROM reminders_sent WHERE chat_id = ?",
                (chat_id,),
            ).fetchall()
        sent: dict[str, set[int]] = {}
        for key, window in rows:
            sent.setdefault(key, set()).add(int(window))
        return sent

    def mark_sent(self, chat_id: int, items: Iterable[tuple[str, int]]) -> None:
        """Remember that these (agreement key, window) reminders reached the chat."""
        now = _now()
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO reminders_sent(chat_id, agreement_key, window_days, "
                "sent_at) VALUES(?, ?, ?, ?)",
                [(chat_id, key, window, now) for key, window in items],
            )
