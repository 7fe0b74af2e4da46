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


class LogProgress:
    """Reports to a logger: one line when a stage begins and at every tenth of it (for work a
    server does while it starts, where there is no terminal to draw on)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._name = ""
        self._total = 0
        self._done = 0
        self._next_report = 0

    def stage(self, name: str, total: int) -> None:
        """Log the stage's start."""
        self._name, self._total, self._done = name, total, 0
        self._next_report = max(1, total // 10)
        self._logger.warning("%s: 0/%d", name, total)

    def advance(self, steps: int = 1) -> None:
        """Log each tenth done."""
        self._done += steps
        if self._total and self._done >= self._next_report:
            self._logger.warning("%s: %d/%d", self._name, self._done, self._total)
            self._next_report = self._done + max(1, self._total // 10)

    def close(self) -> None:
        """Nothing to stop."""
