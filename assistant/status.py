"""What is indexed, when, and what failed: for `coop status` (and later `GET /v1/status`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from assistant.resources import Resources
from ingest.sync import RUNNING_KEY, lexical_key
from vectorstore.records import VISIBILITIES


def collect_status(resources: Resources) -> dict[str, Any]:
    """A JSON-ready picture of every file and every index."""
    facts = resources.facts
    counts = facts.counts()
    indexes = {
        vis: {
            "documents": counts[vis][0],
            "chunks": counts[vis][1],
            "vectors": resources.vectors.count(vis),
            "collection": resources.vectors.collection_name(vis),
            "lexical_generation": facts.get_meta(lexical_key(vis)),
        }
        for vis in VISIBILITIES
    }
    files = [
        {
            "path": state.path,
            "visibility": state.visibility,
            "status": state.status,
            "chunks": state.chunks,
            "indexed_at": state.indexed_at,
            "checked_at": state.checked_at,
            "error": state.error,
            "warnings": state.warnings,
        }
        for state in facts.file_states().values()
    ]
    return {
        "data_dir": str(resources.settings.data_dir),
        "ingest_interrupted": facts.get_meta(RUNNING_KEY),
        "indexes": indexes,
        "files": files,
    }


def render_status(status: dict[str, Any]) -> None:
    """Print the status as tables."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"Data directory: {status['data_dir']}")
    if status["ingest_interrupted"]:
        console.print(
            f"[yellow]An ingest started at {status['ingest_interrupted']} did not finish; "
            "the previous state is served. Run `coop ingest` again to complete it.[/yellow]"
        )
    indexes = Table(title="Indexes")
    for column in ("visibility", "documents", "chunks", "vectors", "collection"):
        indexes.add_column(column)
    for vis, row in status["indexes"].items():
        indexes.add_row(
            vis, str(row["documents"]), str(row["chunks"]), str(row["vectors"]), row["collection"]
        )
    console.print(indexes)
    if not status["files"]:
        console.print("No files ingested yet: run `coop ingest PATH`.")
        return
    files = Table(title="Files")
    files.add_column("file", no_wrap=True)
    files.add_column("visibility", no_wrap=True)
    files.add_column("status", no_wrap=True)
    files.add_column("chunks", justify="right", no_wrap=True)
    files.add_column("indexed at (UTC)", no_wrap=True)
    files.add_column("error", overflow="fold")
    for row in status["files"]:
        indexed_at = (row["indexed_at"] or "-").replace("T", " ")[:16]
        files.add_row(
            _display_path(row["path"]),
            row["visibility"],
            row["status"],
            str(row["chunks"]),
            indexed_at,
            row["error"] or row["warnings"] or "",
            style="red" if row["status"] == "failed" else ("yellow" if row["warnings"] else None),
        )
    console.print(files)


def _display_path(path: str) -> str:
    """A path relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
