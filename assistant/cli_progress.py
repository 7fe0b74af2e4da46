"""Progress for the command line: a bar on a terminal, a few log lines otherwise."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

logger = logging.getLogger(__name__)


class TerminalProgress:
    """A rich progress bar on stderr; on a pipe, one line per stage and every 10 %."""

    def __init__(self) -> None:
        self._interactive = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._name = ""
        self._total = 0
        self._done = 0
        self._next_report = 0

    def stage(self, name: str, total: int) -> None:
        """Begin a stage (a fresh bar line)."""
        self._name, self._total, self._done = name, total, 0
        self._next_report = max(1, total // 10)
        if total == 0:
            return
        if self._interactive:
            if self._bar is None:
                self._bar = Progress(
                    TextColumn("{task.description:>10}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=Console(stderr=True),
                    transient=False,
                )
                self._bar.start()
            self._task = self._bar.add_task(name, total=total)
        else:
            sys.stderr.write(f"{name}: 0/{total}\n")

    def advance(self, steps: int = 1) -> None:
        """Move the current stage on."""
        self._done += steps
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, steps)
        elif not self._interactive and self._total and self._done >= self._next_report:
            sys.stderr.write(f"{self._name}: {self._done}/{self._total}\n")
            self._next_report = self._done + max(1, self._total // 10)

    def close(self) -> None:
        """Stop drawing."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
