"""Conversations: recent turns per session, bounded and expiring, shared by workers (SQLite)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from vectorstore.sqlite_files import use_wal

MAX_TURNS = 6
TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class Turn:
    """One question, what it was resolved to for retrieval, and the documents it cited."""

    question: str
    resolved: str
    doc_ids: tuple[str, ...]


class SessionStore:
    """Keeps the last `max_turns` turns of a session for `ttl_s` seconds after its last use."""

    def __init__(
        self, path: Path, *, max_turns: int = MAX_TURNS, ttl_s: float = TTL_SECONDS
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
        use_wal(self._conn)
        # A conversation's last turns are worth no disk flush per answer: WAL with NORMAL
        # survives a crash of the process and loses at most the last turns to a power cut.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS turns (session_id TEXT NOT NULL, audience TEXT NOT NULL, "
            "at REAL NOT NULL, "
            "question TEXT NOT NULL, resolved TEXT NOT NULL, doc_ids TEXT NOT NULL)"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, at)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS turns_by_time ON turns(at)")  # expiry
        self._conn.commit()
        self._lock = threading.Lock()
        self._max_turns = max_turns
        self._ttl_s = ttl_s
        # Expired turns are never read (`recent` asks for the live ones): deleting them is
        # housekeeping, done every tenth of the expiry time (at most every minute), not at
        # every answer.
        self._sweep_every_s = min(60.0, ttl_s / 10)
        self._swept_at = float("-inf")

    @staticmethod
    def new_id() -> str:
        """A fresh, unguessable session id."""
        return uuid.uuid4().hex

    def recent(self, session_id: str, audience: str) -> list[Turn]:
        """The session's turns for this audience, oldest first; empty when it expired or never
        existed. A session is scoped to its audience: a visitor who sends a staff member's
        session id starts afresh instead of inheriting that conversation."""
        cutoff = time.time() - self._ttl_s
        with self._lock:
            rows = self._conn.execute(
                "SELECT question, resolved, doc_ids FROM turns WHERE session_id = ? "
                "AND audience = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                (session_id, audience, cutoff, self._max_turns),
            ).fetchall()
        return [Turn(q, r, tuple(filter(None, d.split(",")))) for q, r, d in reversed(rows)]

    def add(self, session_id: str, audience: str, turn: Turn, *, new: bool = False) -> None:
        """Append a turn; drop turns beyond the bound (not needed for the first turn of a
        `new` session, whose id was just made) and, now and then, those of every session past
        its expiry."""
        now = time.time()
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO turns(session_id, audience, at, question, resolved, doc_ids) "
                "VALUES(?,?,?,?,?,?)",
                (session_id, audience, now, turn.question, turn.resolved, ",".join(turn.doc_ids)),
            )
            if not new:
                self._conn.execute(
                    "DELETE FROM turns WHERE session_id = ? AND audience = ? AND at NOT IN "
                    "(SELECT at FROM turns WHERE session_id = ? AND audience = ? "
                    "ORDER BY at DESC LIMIT ?)",
                    (session_id, audience, session_id, audience, self._max_turns),
                )
            if now - self._swept_at >= self._sweep_every_s:
                self._conn.execute("DELETE FROM turns WHERE at < ?", (now - self._ttl_s,))
                self._swept_at = now

    def forget(self, session_id: str, audience: str) -> int:
        """Delete the session's turns for this audience; return how many there were."""
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "DELETE FROM turns WHERE session_id = ? AND audience = ?", (session_id, audience)
            )
        return cursor.rowcount

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
