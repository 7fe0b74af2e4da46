"""A long-running process of the tests (`coop serve`, `coop bot`, …): its output in a log file,
stopped by its own pid, never by name."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class LoggedProcess:
    """A process whose stdout and stderr go to `log` (appended to)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._log, stderr=self._log)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self, grace_s: float = 30.0) -> tuple[int, float]:
        """SIGTERM, SIGKILL after `grace_s`; the exit code and how long the process took."""
        started = time.monotonic()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            code = -9
        self._log.close()
        return code, time.monotonic() - started


def run_in_forked_child(work: Callable[[], object], timeout_s: float = 60.0) -> tuple[int, object]:
    """(the child's pid, what `work()` returned in it) for a child forked now; the test fails
    when the child does not finish or fails."""
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=lambda: result.put(work()))
    child.start()
    child.join(timeout=timeout_s)
    if child.is_alive():
        child.kill()
        child.join()
        raise AssertionError("the forked child never finished its work")
    assert child.exitcode == 0
    assert child.pid is not None
    return child.pid, result.get(timeout=5)
