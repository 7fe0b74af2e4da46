"""Ingest jobs of `POST /v1/ingest`: a store every API worker can read, and a runner per process.

The store is one SQLite file (`<data_dir>/jobs.sqlite3`, WAL) shared by all uvicorn workers, so
`GET /v1/ingest/{job_id}` answers from whichever worker receives it. Each job records the
process that owns it (pid plus its start time, which survives pid reuse after a restart); a job
left queued or running by a process that no longer exists is marked failed ("interrupted") the
next time a store is opened or the job is read. Jobs of live processes are never touched.

The runner that executes the jobs is `assistant/api/ingest_runner.py`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from vectorstore.records import Visibility
from vectorstore.sqlite_files import immediate_transaction, open_database

logger = logging.getLogger(__name__)

JOBS_FILE = "jobs.sqlite3"
KEEP_JOBS = 1000
JobStatus = Literal["queued", "waiting", "running", "done", "failed"]
UNFINISHED: tuple[JobStatus, ...] = ("queued", "waiting", "running")
INTERRUPTED = "interrupted: the server process that ran this job stopped before it finished"
# The file `ingest.lock.IngestLock` holds; probed (never held) to tell "waiting" from "running".

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    visibility TEXT NOT NULL,
    folder TEXT NOT NULL,
    files TEXT NOT NULL,
    paths TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    owner_pid INTEGER NOT NULL,
    owner_started TEXT,
    counts TEXT,
    outcomes TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status);
"""


class FileResult(BaseModel):
    """What happened to one uploaded file."""

    file: str = Field(description="The file name as stored.")
    status: str = Field(description="added, updated, unchanged, removed or failed.")
    chunks: int = Field(description="How many passages of it are indexed.")
    error: str | None = Field(default=None, description="Why it could not be indexed.")
    warnings: list[str] = Field(default_factory=list)


class JobCounts(BaseModel):
    """Files by outcome (`changed` = an earlier version was replaced)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0


class IngestJob(BaseModel):
    """One upload being indexed, as `GET /v1/ingest/{job_id}` shows it."""

    job_id: str
    status: JobStatus = Field(
        description="queued, waiting (for another ingest to finish), running, done (see "
        "`results` for files that failed) or failed (see `error`)."
    )
    visibility: Visibility
    folder: str
    files: list[str]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    counts: JobCounts | None = Field(default=None, description="Set when the job is done.")
    results: list[FileResult] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the whole job failed.")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start_time(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, Linux); None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, started: str | None) -> bool:
    """Whether the process that owned a job still runs (and is not a reuse of its pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if started is not None:
        current = _start_time(pid)
        if current is not None and current != started:
            return False
    return True


class JobStore:
    """The jobs table; safe to use from several threads and several processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid = os.getpid()
        self._started = _start_time(self._pid)
        self._lock = threading.Lock()
        self._conn = open_database(path, [_SCHEMA])
        self._conn.row_factory = sqlite3.Row
        try:
            self.mark_interrupted()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn, self._lock)

    def create(
        self, visibility: Visibility, folder: str, files: Sequence[str], paths: Sequence[Path]
    ) -> IngestJob:
        """A new queued job owned by this process (old finished jobs beyond KEEP_JOBS go)."""
        job_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, status, visibility, folder, files, paths, created_at, "
                "owner_pid, owner_started) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    visibility,
                    folder,
                    json.dumps(list(files), ensure_ascii=False),
                    json.dumps([str(path) for path in paths], ensure_ascii=False),
                    _now(),
                    self._pid,
                    self._started,
                ),
            )
            conn.execute(
                "DELETE FROM jobs WHERE seq <= (SELECT MAX(seq) FROM jobs) - ? "
                "AND status IN ('done', 'failed')",
                (KEEP_JOBS,),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> IngestJob | None:
        """The job, or None if there is no such job."""
        self.mark_interrupted(job_id)
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def recent(self, limit: int = 20) -> list[IngestJob]:
        """The latest jobs, newest first."""
        self.mark_interrupted()
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job(row) for row in rows]

    def set_status(self, job_id: str, status: JobStatus) -> None:
        """Move an unfinished job to `waiting` or `running` (the first sets `started_at`)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, started_at = COALESCE(started_at, ?) "
                "WHERE job_id = ? AND status IN ('queued', 'waiting', 'running')",
                (status, _now(), job_id),
            )

    def finish(self, job_id: str, counts: JobCounts, results: Sequence[FileResult]) -> None:
        """The job ran to the end (some files may have failed: see `results`)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'done', finished_at = ?, counts = ?, outcomes = ? "
                "WHERE job_id = ?",
                (
                    _now(),
                    counts.model_dump_json(),
                    json.dumps([r.model_dump() for r in results], ensure_ascii=False),
                    job_id,
                ),
            )

    def fail(self, job_id: str, error: str) -> None:
        """The job as a whole failed."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE job_id = ?",
                (_now(), error, job_id),
            )

    def paths(self, job_id: str) -> list[Path]:
        """The files a job ingests."""
        with self._lock:
            row = self._conn.execute(
                "SELECT paths FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return [] if row is None else [Path(p) for p in json.loads(row["paths"])]

    def mark_interrupted(self, job_id: str | None = None) -> int:
        """Fail unfinished jobs whose owning process is gone; return how many."""
        query = "SELECT job_id, owner_pid, owner_started FROM jobs WHERE status IN (?, ?, ?)"
        parameters: tuple[Any, ...] = UNFINISHED
        if job_id is not None:
            query += " AND job_id = ?"
            parameters += (job_id,)
        with self._lock:
            rows = self._conn.execute(query, parameters).fetchall()
        dead = [row["job_id"] for row in rows if not _alive(row["owner_pid"], row["owner_started"])]
        if not dead:
            return 0
        with self._write() as conn:
            for dead_id in dead:
                conn.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? "
                    "WHERE job_id = ? AND status IN ('queued', 'waiting', 'running')",
                    (_now(), INTERRUPTED, dead_id),
                )
        logger.warning("marked %d ingest jobs of stopped processes as interrupted", len(dead))
        return len(dead)


def _job(row: sqlite3.Row) -> IngestJob:
    counts = JobCounts.model_validate_json(row["counts"]) if row["counts"] else None
    results = [FileResult.model_validate(r) for r in json.loads(row["outcomes"] or "[]")]
    return IngestJob(
        job_id=row["job_id"],
        status=row["status"],
        visibility=row["visibility"],
        folder=row["folder"],
        files=json.loads(row["files"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        counts=counts,
        results=results,
        error=row["error"],
    )
