"""Progress reporting for long ingests, without tying the pipeline to a terminal."""

from __future__ import annotations

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
