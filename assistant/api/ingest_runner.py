"""The runner of `POST /v1/ingest` jobs: one job at a time per process, in a background thread,
with the stores the app already opened. `IngestService` takes the per-data-dir ingest lock, so a
concurrent `coop ingest` (or a job in another worker) makes a job wait; it shows as `waiting`
until the lock is taken. Jobs and their states live in `JobStore` (`ingest_jobs.py`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.api import observability
from assistant.api.ingest_jobs import FileResult, JobCounts, JobStore
from assistant.resources import Resources
from ingest.sync import IngestReport, IngestService
from vectorstore.records import Visibility

logger = logging.getLogger(__name__)

_INGEST_LOCK_FILE = "ingest.lock"  # ingest/lock.py's file in the data directory


def summarize(report: IngestReport) -> tuple[JobCounts, list[FileResult]]:
    """A report's counts and per-file results, as a job shows them."""
    counts = JobCounts(
        added=report.count("added"),
        changed=report.count("updated"),
        unchanged=report.count("unchanged"),
        removed=report.count("removed"),
        failed=report.count("failed"),
    )
    results = [
        FileResult(
            file=outcome.source,
            status=outcome.status,
            chunks=outcome.chunks,
            error=outcome.error,
            warnings=list(outcome.warnings),
        )
        for outcome in report.outcomes
    ]
    return counts, results


def ingest_lock_busy(data_dir: Path) -> bool:
    """Whether another ingest holds the data directory's lock right now (probe, not held)."""
    try:
        fd = os.open(data_dir / _INGEST_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class RunnerStoppedError(RuntimeError):
    """The runner no longer takes jobs (the server is shutting down)."""


class _StartedHook:
    """Progress that marks a waiting job running once the ingest lock is taken."""

    def __init__(self, on_start: Callable[[], None]) -> None:
        self._on_start: Callable[[], None] | None = on_start

    def stage(self, name: str, total: int) -> None:
        """The first stage begins right after the ingest lock is taken."""
        if self._on_start is not None:
            on_start, self._on_start = self._on_start, None
            on_start()

    def advance(self, steps: int = 1) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


@dataclass(frozen=True)
class _Task:
    job_id: str
    visibility: Visibility


class IngestRunner:
    """Runs this process's jobs one at a time in a background thread (started on first use)."""

    def __init__(self, store: JobStore, resources: Callable[[], Resources | None]) -> None:
        self._store = store
        self._resources = resources
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def accepting(self) -> bool:
        """Whether jobs are still taken (false once shutting down)."""
        return not self._stopped

    def submit(self, job_id: str, visibility: Visibility) -> None:
        """Queue a job created in the store; RunnerStoppedError once shutting down."""
        with self._lock:
            if self._stopped:
                raise RunnerStoppedError("the server is shutting down")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ingest-jobs", daemon=True)
                self._thread.start()
            self._queue.put(_Task(job_id, visibility))

    def stop(self, timeout: float = 30.0) -> None:
        """Take no more jobs, fail the queued ones, and wait up to `timeout` for the current."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                self._store.fail(task.job_id, "the server shut down before this job started")
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            logger.warning(
                "an ingest job was still running at shutdown; it will be marked "
                "interrupted when the jobs are next read"
            )

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                self._run(task)
            except Exception:  # e.g. the store closed under a job that outlived shutdown
                logger.exception("ingest job %s could not be recorded", task.job_id)

    def _run(self, task: _Task) -> None:
        job_id = task.job_id
        paths = self._store.paths(job_id)
        resources = self._resources()
        if resources is None or resources.embedder is None:
            self._store.fail(job_id, "the stores or the embedding model are not loaded")
            return
        waiting = ingest_lock_busy(resources.settings.data_dir)
        self._store.set_status(job_id, "waiting" if waiting else "running")
        service = IngestService(
            resources.settings,
            resources.facts,
            resources.vectors,
            resources.lexical,
            resources.embedder,
        )
        progress = _StartedHook(lambda: self._store.set_status(job_id, "running"))
        try:
            report = service.ingest(paths, task.visibility, progress=progress)
        except Exception as exc:
            logger.exception("ingest job %s failed", job_id)
            self._store.fail(job_id, f"the ingest failed ({type(exc).__name__}: {exc})"[:300])
            observability.record_ingest(added=0, changed=0, removed=0, failed=len(paths))
            return
        counts, results = summarize(report)
        self._store.finish(job_id, counts, results)
        observability.record_ingest(
            added=counts.added, changed=counts.changed, removed=counts.removed, failed=counts.failed
        )
        logger.info(
            "ingest job %s done: added %d, changed %d, unchanged %d, failed %d",
            job_id,
            counts.added,
            counts.changed,
            counts.unchanged,
            counts.failed,
        )
