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

from assistant.answering.factory import build_selector
from assistant.api import observability
from assistant.api.ingest_jobs import FileResult, JobCounts, JobStore
from assistant.resources import Resources
from assistant.retrieval.sentences import embed_sentences
from ingest.sync import IngestReport
from vectorstore.records import Visibility
from vectorstore.storage_errors import describe_no_space

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


def _counterparts(data_dir: Path, paths: list[Path], visibility: Visibility) -> list[Path]:
    """`uploads/<other visibility>/<folder>/<name>` for each uploaded `uploads/<visibility>/
    <folder>/<name>` that exists there."""
    uploads = (data_dir / "uploads").resolve()
    other = "internal" if visibility == "public" else "public"
    found = []
    for path in paths:
        try:
            relative = path.resolve().relative_to(uploads / visibility)
        except ValueError:
            continue  # not an upload
        counterpart = uploads / other / relative
        if counterpart.is_file():
            found.append(counterpart)
    return found


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


SHUTDOWN_INTERRUPTED = (
    "interrupted: the server shut down before this job finished, so nothing of it is served "
    "yet; upload the files again to index them (the work already done is reused)"
)


class RunnerStoppedError(RuntimeError):
    """The runner no longer takes jobs (the server is shutting down)."""


class _JobCancelledError(BaseException):
    """Raised inside a running ingest when the server shuts down. A BaseException, so the
    ingest's own `except Exception` handlers (a file that fails to parse) never record it as
    a file's error; the run unwinds before its switch, as after a crash."""


class _StartedHook:
    """Progress that marks a waiting job running once the ingest lock is taken, and stops the
    ingest at its next step once `cancelled` is set."""

    def __init__(self, on_start: Callable[[], None], cancelled: threading.Event) -> None:
        self._on_start: Callable[[], None] | None = on_start
        self._cancelled = cancelled

    def stage(self, name: str, total: int) -> None:
        """The first stage begins right after the ingest lock is taken."""
        self._check()
        if self._on_start is not None:
            on_start, self._on_start = self._on_start, None
            on_start()

    def advance(self, steps: int = 1) -> None:
        """Stop here if the server is shutting down."""
        self._check()

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise _JobCancelledError

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
        self._cancelled = threading.Event()
        self._current: str | None = None

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

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more jobs, fail the queued ones, stop the running one at its next step
        (nothing of it is switched in) and wait up to `timeout` for it to unwind."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._cancelled.set()
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
        current = self._current
        if thread.is_alive() and current is not None:
            logger.warning("ingest job %s was still running at shutdown", current)
            self._store.fail(current, SHUTDOWN_INTERRUPTED)

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            self._current = task.job_id
            try:
                self._run(task)
            except Exception:  # e.g. the store closed under a job that outlived shutdown
                logger.exception("ingest job %s could not be recorded", task.job_id)
            finally:
                self._current = None

    def _embed_sentences(self, resources: Resources) -> None:
        """After a job: keep the new chunks' sentence vectors, so that the first questions on
        them are fast. Optional work: a shutdown stops it, a failure is only logged (a
        question embeds what this did not reach)."""
        try:
            embed_sentences(
                resources.facts,
                build_selector(resources),
                resources.sentences,
                _StartedHook(lambda: None, self._cancelled),
            )
        except _JobCancelledError:
            logger.info("sentence vectors left for later: the server is shutting down")
        except Exception:
            logger.warning("sentence vectors not computed after the ingest", exc_info=True)

    def _run(self, task: _Task) -> None:
        job_id = task.job_id
        paths = self._store.paths(job_id)
        resources = self._resources()
        if resources is None or resources.embedder is None:
            self._store.fail(job_id, "the stores or the embedding model are not loaded")
            return
        waiting = ingest_lock_busy(resources.settings.data_dir)
        self._store.set_status(job_id, "waiting" if waiting else "running")
        service = resources.ingest_service()
        progress = _StartedHook(lambda: self._store.set_status(job_id, "running"), self._cancelled)
        try:
            report = service.ingest(paths, task.visibility, progress=progress)
            # The same file uploaded before at the other visibility is withdrawn, even when the
            # new copy failed: a document reclassified by uploading it again is never served
            # at both, and never left public by mistake.
            counterparts = _counterparts(resources.settings.data_dir, paths, task.visibility)
            if counterparts:
                withdrawn = service.withdraw(counterparts)
                for path in counterparts:
                    path.unlink(missing_ok=True)
                report.outcomes.extend(withdrawn.outcomes)
        except _JobCancelledError:
            logger.warning("ingest job %s interrupted by the shutdown", job_id)
            self._store.fail(job_id, SHUTDOWN_INTERRUPTED)
            return
        except Exception as exc:
            logger.exception("ingest job %s failed", job_id)
            no_space = describe_no_space(exc, resources.settings.data_dir)
            if no_space is not None:
                error = (
                    f"{no_space}; nothing of this job is served: free some space and upload again"
                )
            else:
                error = f"the ingest failed ({type(exc).__name__}: {exc})"
            self._store.fail(job_id, error[:400])
            observability.record_ingest(added=0, changed=0, removed=0, failed=len(paths))
            return
        counts, results = summarize(report)
        self._store.finish(job_id, counts, results)
        if resources.settings.ingest.sentence_vectors:
            self._embed_sentences(resources)
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
