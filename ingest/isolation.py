"""Parse files in worker processes with a time and a memory cap, so a hostile file fails alone
and the rest of the batch ingests.

Workers are fresh interpreters (`subprocess`: fork+exec, never a bare fork of a process that
holds model threads) that import only the parse step (`ingest.file_parser`). One pool serves one
ingest, so the start-up (0.15-0.3 s, workers starting in parallel; loaders are imported on first
use) is paid once per run; a run with nothing to parse starts no worker. Each worker caps its
own address space (RLIMIT_AS) and its CPU time per file (RLIMIT_CPU, a backstop), and exits
when its parent is gone; the parent enforces the wall-clock limit. A worker that overruns, runs
out of memory or dies is killed and replaced, and that file gets a clear error. Results come
back in job order, whatever order the workers finish in. A worker's log records are replayed in
the parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ingest.facts.models import ExtractedFacts
from ingest.file_parser import ParseJob, ParseResult, facts_of, parse_file, parse_text

logger = logging.getLogger(__name__)

EXIT_OUT_OF_MEMORY = 3
EXIT_ORPHANED = 4
STARTUP_TIMEOUT_S = 60.0
_MAX_STARTUP_FAILURES = 3
_MAX_LOG_RECORDS = 50
_REAP_TIMEOUT_S = 5.0
_WORKER_CODE = "from ingest.isolation import worker_main; worker_main()"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ParserPoolError(RuntimeError):
    """The parser workers cannot run at all (not a problem of one file)."""


def parse_files(
    jobs: Sequence[ParseJob],
    *,
    workers: int,
    timeout_s: float,
    memory_mb: int,
    on_done: Callable[[], None] | None = None,
) -> list[ParseResult]:
    """Parse `jobs` in up to `workers` capped worker processes (0: here, without caps)."""
    if not jobs:
        return []
    if workers <= 0:
        results = []
        for job in jobs:
            results.append(parse_file(job))
            if on_done is not None:
                on_done()
        return results
    with ParserPool(min(workers, len(jobs)), timeout_s=timeout_s, memory_mb=memory_mb) as pool:
        return pool.parse_all(jobs, on_done)


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    deadline: float  # start-up deadline until ready, then the current job's
    ready: bool = False
    index: int | None = None  # the job it is parsing
    partial: ParseResult | None = None  # that job's text, its facts pending


class ParserPool:
    """Up to `size` parser workers; use it as a context manager so no process outlives it.

    One file at a time per worker (measured: sending the next file ahead saves under 10% on
    small files, and would make a file wait behind a hostile one until that is stopped).
    """

    def __init__(self, size: int, *, timeout_s: float, memory_mb: int) -> None:
        if size < 1:
            raise ValueError("a parser pool needs at least one worker")
        self._size = size
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        self._workers: list[_Worker] = []
        self._ever_ready = False
        self._startup_failures = 0
        self._queue: deque[int] = deque()
        self._results: dict[int, ParseResult] = {}
        self._on_done: Callable[[], None] | None = None

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        return [worker.process.pid for worker in self._workers]

    @property
    def busy_pids(self) -> list[int]:
        """The process ids of the workers parsing a file right now."""
        return [worker.process.pid for worker in self._workers if worker.index is not None]

    def parse_all(
        self, jobs: Sequence[ParseJob], on_done: Callable[[], None] | None = None
    ) -> list[ParseResult]:
        """Parse every job; `on_done` is called as each file finishes. Results in job order."""
        self._queue, self._results, self._on_done = deque(range(len(jobs))), {}, on_done
        while len(self._results) < len(jobs):
            busy = sum(1 for worker in self._workers if worker.index is not None)
            while len(self._workers) < min(self._size, busy + len(self._queue)):
                self._workers.append(self._start())
            for worker in self._workers:
                if worker.ready and worker.index is None and self._queue:
                    self._send(worker, self._queue.popleft(), jobs)
            deadline = min(worker.deadline for worker in self._workers)
            timeout = max(deadline - time.monotonic(), 0.0) if deadline < float("inf") else None
            for conn in wait([worker.conn for worker in self._workers], timeout):
                worker = next(w for w in self._workers if w.conn is conn)
                self._receive(worker)
            now = time.monotonic()
            for worker in [w for w in self._workers if w.deadline <= now]:
                self._stop(worker, timed_out=True)
        results, self._results = self._results, {}
        return [results[index] for index in range(len(jobs))]

    def close(self) -> None:
        """Stop every worker: idle ones exit on end of input, busy ones are killed."""
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.ready and worker.index is None:
                worker.conn.close()
            else:
                worker.process.kill()
        for worker in workers:
            _reap(worker)

    # --- internals ------------------------------------------------------------------------------
    def _start(self) -> _Worker:
        parent_end, child_end = socket.socketpair()
        level = logging.getLogger().getEffectiveLevel()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(_PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            # One thread for numerical libraries: a parser needs none, and each thread reserves
            # address space that counts against the memory cap.
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        args = [str(child_end.fileno()), str(self._memory_mb), str(self._timeout_s), str(level)]
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_CODE, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(child_end.fileno(),),
                env=env,
            )
        finally:
            child_end.close()
        conn = Connection(parent_end.detach())
        logger.debug("started parser worker %d", process.pid)
        return _Worker(process, conn, deadline=time.monotonic() + STARTUP_TIMEOUT_S)

    def _send(self, worker: _Worker, index: int, jobs: Sequence[ParseJob]) -> None:
        worker.index = index
        worker.deadline = time.monotonic() + self._timeout_s
        with contextlib.suppress(OSError):  # it died; the next wait() sees its end of file
            worker.conn.send((index, jobs[index]))

    def _finish(self, worker: _Worker, result: ParseResult) -> None:
        """The worker's file is done; the worker is free."""
        assert worker.index is not None
        self._results[worker.index] = result
        worker.index, worker.partial, worker.deadline = None, None, float("inf")
        if self._on_done is not None:
            self._on_done()

    def _receive(self, worker: _Worker) -> None:
        try:
            message: tuple[Any, ...] = worker.conn.recv()
        except (EOFError, OSError):
            self._stop(worker, timed_out=False)
            return
        kind = message[0]
        if kind == "ready":
            worker.ready, self._ever_ready = True, True
            worker.deadline = float("inf")
            return
        _, index, payload, records = message
        _replay(records)
        if index != worker.index:  # cannot happen: one file at a time
            raise ParserPoolError(f"parser worker answered job {index}, not {worker.index}")
        if kind == "parsed" and payload.document is not None:
            worker.partial = payload
        elif kind == "parsed":
            self._finish(worker, payload)
        else:  # "facts"
            assert worker.partial is not None
            worker.partial.facts = payload
            self._finish(worker, worker.partial)

    def _stop(self, worker: _Worker, *, timed_out: bool) -> None:
        """Kill (if alive) and forget `worker`; its file, if any, fails with the reason."""
        self._workers.remove(worker)
        if timed_out:
            worker.process.kill()
        code = _reap(worker)
        if not worker.ready:
            self._startup_failures += 1
            what = "did not start in time" if timed_out else f"exited with {_describe(code)}"
            logger.error("a parser worker %s", what)
            if not self._ever_ready or self._startup_failures >= _MAX_STARTUP_FAILURES:
                raise ParserPoolError(
                    f"the parser worker process {what}; see the log above. Set "
                    "COOP_INGEST__PARSE_WORKERS=0 to parse inside the ingesting process."
                )
            return
        if worker.index is None:
            logger.warning("an idle parser worker exited with %s", _describe(code))
            return
        reason = self._reason(code, timed_out, facts_pending=worker.partial is not None)
        logger.warning("parser worker %d stopped: %s", worker.process.pid, reason)
        if worker.partial is not None:
            worker.partial.facts = ExtractedFacts(problems=[reason])
            self._finish(worker, worker.partial)
        else:
            self._finish(worker, ParseResult(error=reason))

    def _reason(self, code: int | None, timed_out: bool, *, facts_pending: bool) -> str:
        stage = "fact extraction" if facts_pending else "parsing"
        actor = "the fact extractor" if facts_pending else "the parser"
        if timed_out or code == -signal.SIGXCPU:
            return f"{stage} took longer than {self._timeout_s:g} s and was stopped"
        if code == EXIT_OUT_OF_MEMORY:
            return f"{stage} needed more than {self._memory_mb} MB of memory and was stopped"
        if code == -signal.SIGKILL:
            return f"{actor} was killed ({_describe(code)}; was the machine out of memory?)"
        if code is not None and code < 0:
            return f"{actor} crashed ({_describe(code)})"
        return f"{actor} exited unexpectedly ({_describe(code)})"


def _reap(worker: _Worker) -> int | None:
    """Wait for the worker's exit (killing it if it lingers) and close its connection."""
    try:
        try:
            return worker.process.wait(timeout=_REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            return worker.process.wait()
    finally:
        worker.conn.close()


def _describe(code: int | None) -> str:
    if code is None:
        return "an unknown status"
    if code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _replay(records: list[logging.LogRecord]) -> None:
    for record in records:
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)


# --- the worker process ------------------------------------------------------------------------
class _Collector(logging.Handler):
    """Keeps a worker's log records (made picklable) to send back with its answer."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.source = ""
        self._records: list[logging.LogRecord] = []
        self._dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._records) >= _MAX_LOG_RECORDS:
            self._dropped += 1
            return
        record.msg = f"{self.source}: {record.getMessage()}" if self.source else record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.process = os.getpid()
        self._records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self._records = self._records, []
        if self._dropped:
            records.append(
                logging.makeLogRecord(
                    {"name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
                     "msg": f"{self.source}: {self._dropped} more log messages dropped"}
                )
            )  # fmt: skip
            self._dropped = 0
        return records


def worker_main() -> None:
    """A parser worker: `python -c ... FD MEMORY_MB TIMEOUT_S LOG_LEVEL` (see `ParserPool`)."""
    fd, memory_mb, timeout_s, level = sys.argv[1:5]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(memory_mb) * 1024 * 1024
    infinite = hard == resource.RLIM_INFINITY
    resource.setrlimit(resource.RLIMIT_AS, (cap if infinite else min(cap, hard), hard))
    _exit_with_parent(os.getppid())
    collector = _Collector(int(level))
    logging.basicConfig(level=int(level), handlers=[collector], force=True)
    logging.captureWarnings(True)
    conn = Connection(int(fd))
    conn.send(("ready", os.getpid(), []))
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            index, job = message
            collector.source = job.source
            _limit_cpu(float(timeout_s))
            result, loaded = parse_text(job)
            conn.send(("parsed", index, result, collector.take()))
            del result
            if loaded is not None:
                facts = facts_of(loaded, job.path)
                del loaded
                conn.send(("facts", index, facts, collector.take()))
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)


def _limit_cpu(timeout_s: float) -> None:
    """A backstop for the parent's wall clock: SIGXCPU once this file has had its time."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + timeout_s) + 5
    infinite = hard == resource.RLIM_INFINITY
    resource.setrlimit(resource.RLIMIT_CPU, (soft if infinite else min(soft, hard), hard))


def _exit_with_parent(parent: int) -> None:
    """Exit when the parent is gone (killed), even in the middle of a file."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
