"""Progress reporting for long ingests, without tying the pipeline to a terminal."""

from __future__ import annotations

import logging
from typing import Protocol


class Progress(Protocol):
    """Receives the stages of a run and how far each has got."""

    def stage(self, name: str, total: int) -> None:
        """A new stage with `total` steps begins."""
        ...

    def advance(self, steps: int = 1) -> None:
        """`steps` more steps of the current stage are done."""
        ...

    def close(self) -> None:
        """The run is over."""
        ...


class NullProgress:
    """Reports nothing."""

    def stage(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, steps: int = 1) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class Tenths:
    """Where a stage stands, and whether it has just passed another tenth: for progress told
    in lines (a log, a pipe) rather than drawn."""

    def __init__(self) -> None:
        self.name = ""
        self.total = 0
        self.done = 0
        self._next = 0

    def start(self, name: str, total: int) -> None:
        """A new stage of `total` steps."""
        self.name, self.total, self.done = name, total, 0
        self._next = max(1, total // 10)

    def advance(self, steps: int) -> bool:
        """Count `steps` more; True when that passes the next tenth."""
        self.done += steps
        if not self.total or self.done < self._next:
            return False
        self._next = self.done + max(1, self.total // 10)
        return True


class LogProgress:
    """Reports to a logger: one line when a stage begins and at every tenth of it (for work a
    server does while it starts, where there is no terminal to draw on)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._tenths = Tenths()

    def stage(self, name: str, total: int) -> None:
        """Log the stage's start."""
        self._tenths.start(name, total)
        if total:
            self._logger.warning("%s: 0/%d", name, total)

    def advance(self, steps: int = 1) -> None:
        """Log each tenth done."""
        if self._tenths.advance(steps):
            tenths = self._tenths
            self._logger.warning("%s: %d/%d", tenths.name, tenths.done, tenths.total)

    def close(self) -> None:
        """Nothing to stop."""
