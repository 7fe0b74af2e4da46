"""Opening the project's SQLite files the one way they are all used.

Every store (facts, ingest jobs, feedback, rate limits) is shared by threads and by several
processes (API workers, the bot, `coop ingest`): autocommit mode with explicit transactions,
WAL so readers never wait for a writer, and a busy timeout so writers queue instead of failing.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 30.0


def open_database(
    path: Path, schema: Sequence[str] = (), *, busy_timeout_s: float = BUSY_TIMEOUT_S
) -> sqlite3.Connection:
    """A connection to `path` (its folder created) with the schema scripts applied; closed
    again if any of that fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s
    )
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        use_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous=NORMAL")
        for script in schema:
            conn.executescript(script)
    except BaseException:
        conn.close()
        raise
    return conn


def use_wal(conn: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """Put the file in WAL mode, waiting for other processes that open it at the same moment.

    Switching the journal mode needs the file to itself, and SQLite answers "database is
    locked" at once instead of calling the busy handler when another connection is doing the
    same (two API workers starting together on a fresh data dir): retry until `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if "locked" not in message and "busy" not in message:
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


@contextmanager
def immediate_transaction(
    conn: sqlite3.Connection, lock: AbstractContextManager[object]
) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE) under `lock`: all of it commits, or none."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            # SQLite rolls back by itself after some errors (a full disk, an I/O error); a
            # second ROLLBACK would fail and hide the error that matters.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def model_file(folder: Path, model_key: str) -> Path:
    """The SQLite file in `folder` of what one embedding model computed (a readable name from
    its key, and a digest of the whole key so that two keys never share a file)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)[:80]
    digest = hashlib.blake2b(model_key.encode("utf-8"), digest_size=4).hexdigest()
    return folder / f"{name}-{digest}.sqlite3"


IN_BATCH = 500  # host parameters per statement, well under SQLite's limit


def rows_in(
    conn: sqlite3.Connection, select: str, ids: Iterable[str], params: Sequence[object] = ()
) -> list[Any]:
    """The rows of `select ... IN (ids)` for distinct ids, in batches of host parameters;
    `params` are bound before the ids (`... WHERE visibility = ? AND chunk_id IN`)."""
    distinct = list(dict.fromkeys(ids))
    rows: list[Any] = []
    for begin in range(0, len(distinct), IN_BATCH):
        batch = distinct[begin : begin + IN_BATCH]
        marks = ",".join("?" * len(batch))
        rows.extend(conn.execute(f"{select} ({marks})", (*params, *batch)).fetchall())
    return rows
