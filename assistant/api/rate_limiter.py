"""`RateLimiter`: requests per minute per client, counted in one SQLite file so that every
uvicorn worker process on the machine shares the same counts.

The algorithm is GCRA (the "generic cell rate algorithm", a leaky bucket kept as one number per
client): each client has a theoretical arrival time (TAT); a request at `now` is allowed when
pushing the TAT one interval (`60 s / rate`) further keeps it within 60 s of `now`. A client who
was quiet for a minute may therefore send the whole minute's quota at once, then one request
every interval. Each check is one short `BEGIN IMMEDIATE` transaction (read, then write the row),
so two processes cannot both spend the last request. Rows whose TAT has passed mean the same as
no row and are pruned about once a minute.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Scope

from vectorstore.sqlite_files import open_database

logger = logging.getLogger(__name__)

RATE_LIMIT_FILE = "ratelimit.sqlite3"
WINDOW_S = 60.0
BUSY_TIMEOUT_MS = 5000
PRUNE_EVERY_S = 60.0
# Slack for float arithmetic: N intervals of 60/N s must still fit in the window.
_EPSILON_S = 1e-6

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rate_buckets "
    "(key TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS rate_buckets_tat ON rate_buckets(tat)",
)


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may go ahead; if not, how many whole seconds to wait (≥ 1)."""

    allowed: bool
    retry_after: int = 0


ALLOWED = RateDecision(allowed=True)


def client_address(scope: Scope, *, trust_forwarded_for: bool) -> str:
    """The client's address: the first X-Forwarded-For entry when the proxy in front is trusted
    to set it (`api.trust_forwarded_for`), else the connection's address."""
    if trust_forwarded_for:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                first: str = value.decode("latin-1").split(",", 1)[0].strip()
                if first:
                    return first
                break
    client = scope.get("client")
    if client:
        return str(client[0])
    return "unknown"


class RateLimiter:
    """GCRA rate limits kept in SQLite (WAL, busy timeout), shared between processes.

    Safe to share between threads (one connection behind a lock). `check` blocks for at most the
    busy timeout while another process writes, so async callers run it in a worker thread.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._conn = open_database(path, _SCHEMA, busy_timeout_s=BUSY_TIMEOUT_MS / 1000)

    def check(self, key: str, rate_per_minute: int) -> RateDecision:
        """Count one request of `key` against `rate_per_minute` (0 = unlimited, nothing stored).

        A refused request is not counted, so a client who waits `retry_after` seconds gets in.
        """
        if rate_per_minute <= 0:
            return ALLOWED
        interval = WINDOW_S / rate_per_minute
        with self._lock:
            now = self._clock()
            self._conn.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for a writer
            try:
                row = self._conn.execute(
                    "SELECT tat FROM rate_buckets WHERE key = ?", (key,)
                ).fetchone()
                new_tat = max(float(row[0]) if row else now, now) + interval
                if new_tat - now > WINDOW_S + _EPSILON_S:
                    self._conn.execute("ROLLBACK")
                    return RateDecision(False, max(1, math.ceil(new_tat - WINDOW_S - now)))
                self._conn.execute(
                    "INSERT INTO rate_buckets(key, tat) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                    (key, new_tat),
                )
                if now >= self._next_prune:
                    self._next_prune = now + PRUNE_EVERY_S
                    self._conn.execute("DELETE FROM rate_buckets WHERE tat < ?", (now,))
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return ALLOWED

    def close(self) -> None:
        """Close the connection (the counts stay in the file for the other processes)."""
        with self._lock:
            self._conn.close()
