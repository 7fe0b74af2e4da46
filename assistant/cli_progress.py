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

from ingest.progress import Tenths

logger = logging.getLogger(__name__)


class TerminalProgress:
    """A rich progress bar on stderr; on a pipe, one line per stage and every 10 %."""

    def __init__(self) -> None:
        self._interactive = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._tenths = Tenths()

    def stage(self, name: str, total: int) -> None:
        """Begin a stage (a fresh bar line)."""
        self._tenths.start(name, total)
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
        passed_a_tenth = self._tenths.advance(steps)
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, steps)
        elif not self._interactive and passed_a_tenth:
            tenths = self._tenths
            sys.stderr.write(f"{tenths.name}: {tenths.done}/{tenths.total}\n")

    def close(self) -> None:
        """Stop drawing."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
