"""A copy of every chunk vector written to Chroma, kept beside the data in SQLite.

Chroma is an index, and its files can be torn by a kill (see `chroma_store`): the vectors are
then gone with them, and computing them again costs the whole embedding time of a visibility
(about 45 minutes at 100,000 chunks on 2 cores). With this copy, a repair writes the kept
vectors back instead (seconds), and embeds only chunks the copy lacks.

It is a cache, never the truth: a chunk id names the chunk's text, title and section, so a kept
vector is right for its id as long as the model is the same (one file per model), and anything
here may be lost without harm (the chunk is embedded again). Vectors are kept as Chroma holds
them (float32), so a refilled collection answers exactly as before. A failure to write is
logged, not raised: a full disk must not fail an ingest for a copy.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vectorstore.records import Visibility
from vectorstore.sqlite_files import immediate_transaction, model_file, open_database, rows_in

logger = logging.getLogger(__name__)

# A rowid table: its rows (1.5 KB vectors) are appended as written, half the size of a
# WITHOUT ROWID table whose B-tree splits around them (211 against 470 MB at 100k chunks).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    visibility TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (visibility, chunk_id)
);
"""


class KeptVectors:
    """Chunk vectors by visibility and chunk id. Thread- and process-safe."""

    def __init__(self, path: Path) -> None:
        self._conn = open_database(path, (_SCHEMA,))
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, data_dir: Path, model_key: str) -> KeptVectors:
        """The copy of one embedding model's vectors under `data_dir`."""
        return cls(model_file(data_dir / "kept-vectors", model_key))

    def put(self, visibility: Visibility, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Keep the vectors of these chunks (replacing what was kept for them)."""
        rows = [
            (visibility, chunk_id, np.asarray(vector, dtype=np.float32).tobytes())
            for chunk_id, vector in zip(ids, vectors, strict=True)
        ]
        try:
            with immediate_transaction(self._conn, self._lock) as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO kept (visibility, chunk_id, data) VALUES (?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            logger.warning("chunk vectors not kept (%s): a repair would embed them again", exc)

    def get(self, visibility: Visibility, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The kept vectors among these chunks (none, with a warning, when the file cannot be
        read: they are embedded instead)."""
        try:
            with self._lock:
                rows = rows_in(
                    self._conn,
                    "SELECT chunk_id, data FROM kept WHERE visibility = ? AND chunk_id IN",
                    ids,
                    (visibility,),
                )
        except sqlite3.Error as exc:
            logger.warning("kept chunk vectors could not be read (%s): they are embedded", exc)
            return {}
        return {chunk_id: np.frombuffer(data, dtype=np.float32) for chunk_id, data in rows}

    def delete(self, visibility: Visibility, ids: Sequence[str]) -> None:
        """Forget these chunks' vectors (no longer served)."""
        rows = [(visibility, chunk_id) for chunk_id in ids]
        try:
            with immediate_transaction(self._conn, self._lock) as conn:
                conn.executemany("DELETE FROM kept WHERE visibility = ? AND chunk_id = ?", rows)
        except sqlite3.Error as exc:
            logger.warning("kept chunk vectors not deleted (%s)", exc)

    def ids(self, visibility: Visibility) -> set[str]:
        """The chunks whose vectors are kept."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chunk_id FROM kept WHERE visibility = ?", (visibility,)
            ).fetchall()
        return {row[0] for row in rows}

    def count(self, visibility: Visibility) -> int:
        """How many vectors of a visibility are kept."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM kept WHERE visibility = ?", (visibility,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
