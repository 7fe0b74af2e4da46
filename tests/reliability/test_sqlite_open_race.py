"""Several processes opening the same fresh SQLite file at the same moment, as two API workers
(or two test apps on one data dir) do at start-up. Switching a new file to WAL needs it to
itself, and SQLite answers "database is locked" at once, busy timeout or not, to the loser of
that race: every store must wait its turn instead of failing to start.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from assistant.answering.sessions import SessionStore
from bots.telegram.store import BotStore
from vectorstore.sqlite_files import open_database

ROUNDS = 25
PROCESSES = 4


def _open_facts_like(path: Path) -> None:
    open_database(path, ["CREATE TABLE IF NOT EXISTS t(x TEXT)"]).close()


def _open_sessions(path: Path) -> None:
    SessionStore(path).close()


def _open_bot_store(path: Path) -> None:
    BotStore(path).close()


OPENERS: dict[str, Callable[[Path], None]] = {
    "open_database": _open_facts_like,
    "SessionStore": _open_sessions,
    "BotStore": _open_bot_store,
}


def _open_together(kind: str, path: str, barrier: Barrier) -> None:
    barrier.wait()
    OPENERS[kind](Path(path))


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_processes_opening_one_new_file_together_all_start(kind: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    failed_rounds = []
    for round_no in range(ROUNDS):
        path = tmp_path / f"round-{round_no}.sqlite3"
        barrier = context.Barrier(PROCESSES)
        workers = [
            context.Process(target=_open_together, args=(kind, str(path), barrier))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        codes = [worker.exitcode for worker in workers]
        if any(code != 0 for code in codes):
            failed_rounds.append((round_no, codes))
    assert failed_rounds == [], f"processes failed to open a fresh {kind} file: {failed_rounds}"
