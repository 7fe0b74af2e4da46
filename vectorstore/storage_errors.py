"""Telling "the disk is full" apart from other failures of the stores, for a message that says
what to do.

A full disk shows up differently in each store: `OSError` ENOSPC (or EFBIG past a file-size
limit, EDQUOT past a quota) from our own files, SQLite's SQLITE_FULL ("database or disk is full"),
and from Chroma's Rust core an error whose text wraps one of those, or only a generic "failed to
apply logs" when the write that failed was deep inside it. So the error chain is searched for any
of these, and the free space of the data directory's disk is looked at as a last resort.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
SQLITE_FULL = 13
SQLITE_IOERR_WRITE = 778  # a write(2) failed outright, e.g. EFBIG past a file-size limit
NO_SPACE_PHRASES = (
    "no space left",
    "disk is full",
    "disk full",
    "file too large",
    "quota exceeded",
)
WRITE_FAILED_PHRASES = ("(code: 778)",)
# An unexplained storage failure with less than this free is taken for a full disk.
LOW_SPACE_BYTES = 64 * 1024 * 1024


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def free_bytes(folder: Path) -> int | None:
    """Free space (for unprivileged users) on the disk holding `folder`; None when unknown."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def is_no_space(exc: BaseException) -> bool:
    """Whether the error chain says a write failed for lack of space (or a size limit)."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in NO_SPACE_ERRNOS:
            return True
        if isinstance(item, sqlite3.Error) and getattr(item, "sqlite_errorcode", None) == (
            SQLITE_FULL
        ):
            return True
        text = str(item).lower()
        if any(phrase in text for phrase in NO_SPACE_PHRASES):
            return True
    return False


def is_write_failure(exc: BaseException) -> bool:
    """Whether SQLite (ours or Chroma's) reports that a write to its file failed outright."""
    for item in _chain(exc):
        if isinstance(item, sqlite3.Error) and getattr(item, "sqlite_errorcode", None) == (
            SQLITE_IOERR_WRITE
        ):
            return True
        if any(phrase in str(item) for phrase in WRITE_FAILED_PHRASES):
            return True
    return False


def describe_no_space(exc: BaseException, data_dir: Path) -> str | None:
    """A message for an error caused by a full disk (or a failed write), else None."""
    free = free_bytes(data_dir)
    where = f"{free / 1024 / 1024:.1f} MB free" if free is not None else "free space unknown"
    cause = f"{type(exc).__name__}: {str(exc)[:200]}"
    if is_no_space(exc) or (free is not None and free < LOW_SPACE_BYTES):
        return (
            f"the disk is full: no space left to write the index in {data_dir} ({where}; {cause})"
        )
    if is_write_failure(exc):
        return (
            f"the index in {data_dir} could not be written: the disk may be full or a file "
            f"over a size limit ({where}; {cause})"
        )
    return None
