"""Answer feedback: every answer given is kept with its question, so a thumbs up or down (and an
optional comment) can later be read next to what was actually said; exported as CSV.

One SQLite file shared by every API worker and the bot. Each write is a single statement in
autocommit mode, so several processes writing at once simply wait for each other (WAL, busy
timeout) and nothing is lost.

Feedback has "thumbs" semantics: there is at most one rating per answer, and a later rating of
the same answer replaces the earlier one (and its comment). Only the audience an answer was given
to may rate it: a visitor rating a staff answer is told the answer does not exist, exactly as for
an id that was never issued, so visitors cannot probe for staff answers.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO, get_args

from assistant.answering.models import Answer
from assistant.retrieval.audience import Audience
from vectorstore.sqlite_files import open_database

logger = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.sqlite3"
MAX_COMMENT_CHARS = 2000

Rating = Literal["up", "down"]
RATINGS: tuple[str, ...] = get_args(Rating)

CSV_COLUMNS = (
    "answer_id",
    "rated_at",
    "rating",
    "comment",
    "audience",
    "channel",
    "question",
    "answer",
    "found",
    "mode",
    "language",
    "sources",
)

# A spreadsheet treats a cell starting with one of these as a formula (or strips it into one).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS answers ("
    "answer_id TEXT PRIMARY KEY, session_id TEXT, audience TEXT NOT NULL, "
    "channel TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, "
    "found INTEGER NOT NULL, mode TEXT NOT NULL, language TEXT NOT NULL, "
    "citations TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feedback ("
    "answer_id TEXT PRIMARY KEY REFERENCES answers(answer_id), "
    "rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), comment TEXT, "
    "rated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback(rated_at)",
)


class UnknownAnswerError(LookupError):
    """No answer with this id was given to this audience (it may not exist at all)."""


@dataclass(frozen=True)
class FeedbackRecord:
    """A rating as stored: the latest one for its answer."""

    answer_id: str
    audience: Audience
    rating: Rating
    comment: str | None
    rated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def spreadsheet_safe(value: str) -> str:
    """`value`, with a leading apostrophe if a spreadsheet would otherwise run it as a formula."""
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _sources_cell(citations_json: str) -> str:
    citations = json.loads(citations_json)
    return "; ".join(f"[{c['n']}] {c['source']} ({c['doc_id']})" for c in citations)


class FeedbackStore:
    """The answers given and the ratings they received, in one SQLite file.

    Safe to share between threads (one connection behind a lock) and between processes
    (WAL journal, busy timeout, one-statement writes).
    """

    def __init__(self, path: Path) -> None:
        self._conn = open_database(path, _SCHEMA)
        self._lock = threading.Lock()

    def record_answer(
        self, answer: Answer, *, question: str, audience: Audience, channel: str
    ) -> None:
        """Keep an answer as it was given, so it can be rated. Recording the same `answer_id`
        again changes nothing (the first record, and its audience, stand)."""
        citations = [{"n": c.n, "doc_id": c.doc_id, "source": c.source} for c in answer.citations]
        with self._lock:
            self._conn.execute(
                "INSERT INTO answers(answer_id, session_id, audience, channel, question, answer, "
                "found, mode, language, citations, created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(answer_id) DO NOTHING",
                (
                    answer.answer_id,
                    answer.session_id,
                    audience,
                    channel,
                    question,
                    answer.answer,
                    int(answer.found),
                    answer.mode,
                    answer.language,
                    json.dumps(citations, ensure_ascii=False),
                    _now(),
                ),
            )

    def add_feedback(
        self, answer_id: str, *, audience: Audience, rating: Rating, comment: str | None
    ) -> FeedbackRecord:
        """Rate an answer given to `audience`, replacing any earlier rating of it.

        Raises `UnknownAnswerError` when no such answer was given to this audience, and
        `ValueError` for a rating other than "up"/"down" or a comment over
        `MAX_COMMENT_CHARS`. A blank comment is stored as none.
        """
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        comment = comment.strip() if comment is not None else None
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise ValueError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
        record = FeedbackRecord(answer_id, audience, rating, comment or None, _now())
        with self._lock:
            # One statement: the audience check and the write cannot be split by another writer.
            cursor = self._conn.execute(
                "INSERT INTO feedback(answer_id, rating, comment, rated_at) "
                "SELECT answer_id, ?, ?, ? FROM answers WHERE answer_id = ? AND audience = ? "
                "ON CONFLICT(answer_id) DO UPDATE SET rating = excluded.rating, "
                "comment = excluded.comment, rated_at = excluded.rated_at",
                (record.rating, record.comment, record.rated_at, answer_id, audience),
            )
        if cursor.rowcount != 1:
            raise UnknownAnswerError(answer_id)
        logger.info("feedback %s on answer %s (%s)", rating, answer_id, audience)
        return record

    def _rows(self) -> Iterator[tuple[str, ...]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT f.answer_id, f.rated_at, f.rating, COALESCE(f.comment, ''), a.audience, "
                "a.channel, a.question, a.answer, a.found, a.mode, a.language, a.citations "
                "FROM feedback f JOIN answers a ON a.answer_id = f.answer_id "
                "ORDER BY f.rated_at, f.answer_id"
            ).fetchall()
        for *head, found, mode, language, citations in rows:
            yield (*head, "yes" if found else "no", mode, language, _sources_cell(citations))

    def write_csv(self, stream: TextIO) -> int:
        """Write a header and one row per rated answer (oldest rating first) to `stream`;
        return the number of rows, header excluded.

        Cells a spreadsheet would run as a formula get a leading apostrophe. No byte-order
        mark is written: for Excel, encode as "utf-8-sig" (a file opened with that encoding,
        or the HTTP export).
        """
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        written = 0
        for row in self._rows():
            writer.writerow([spreadsheet_safe(cell) for cell in row])
            written += 1
        return written

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def export_csv(data_dir: Path, target: TextIO) -> int:
    """Write the feedback kept under `data_dir` to `target` as CSV; return the rows written.

    Creates nothing when no feedback file exists yet (the header alone is written). Open a
    file `target` with `encoding="utf-8-sig"` so Excel shows Cyrillic correctly.
    """
    path = data_dir / FEEDBACK_FILE
    if not path.exists():
        csv.writer(target).writerow(CSV_COLUMNS)
        return 0
    store = FeedbackStore(path)
    try:
        return store.write_csv(target)
    finally:
        store.close()
