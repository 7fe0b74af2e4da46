"""Which files an ingest run looks at."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class IngestPathError(ValueError):
    """A path given to ingest does not exist or cannot be read."""


@dataclass(frozen=True)
class Candidate:
    """A file to consider, with the folder it was found in (None for a file given directly)."""

    path: Path
    root: Path | None
    source: str


@dataclass
class Discovery:
    """Files found, the folders scanned, and files skipped for their type."""

    candidates: list[Candidate] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def discover(paths: Sequence[Path], suffixes: frozenset[str]) -> Discovery:
    """Expand files and folders (recursively; hidden entries skipped) into candidates.

    A file named directly is always a candidate, whatever its type, so that an unsupported type
    is reported; inside folders, files of other types are only counted as skipped.
    """
    found = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = raw.expanduser().resolve()
        if path.is_dir():
            found.roots.append(path)
            for file in _walk(path):
                if file in seen:
                    continue
                seen.add(file)
                if file.suffix.lower() in suffixes:
                    source = f"{path.name}/{file.relative_to(path).as_posix()}"
                    found.candidates.append(Candidate(file, path, source))
                else:
                    found.skipped.append(file)
        elif path.is_file():
            if path not in seen:
                seen.add(path)
                found.candidates.append(Candidate(path, None, path.name))
        else:
            raise IngestPathError(f"no such file or folder: {raw}")
    return found


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and not name.startswith("~$"):
                files.append(Path(folder) / name)
    return files
