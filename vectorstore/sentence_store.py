"""Sentence vectors kept on disk, so that answering a question embeds no sentence twice.

The answer step scores the sentences of the best chunks by their meaning, which needs a vector
per sentence. Computing those while the visitor waits cost several times the question's own
embedding; computed once after ingest (and kept here) they cost a lookup.

It is a cache, never the truth: a key holds the document, the sentence's offsets and a hash of
its text, so a changed document simply misses, and anything here may be lost or deleted
without harm. One file per embedding model (`sentences/<model>.sqlite3` in the data
directory); vectors are stored, and used, as float16.

Beside the vectors, each chunk done keeps what the answer step reads of its sentences whatever
the question (offsets, stemmed terms, words, kinds of answer), as text in a format its writer
names: reading it back costs a tenth of working it out again. A chunk whose data is in another
format (an older release's) counts as not done, and the next sentence stage writes it again.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from vectorstore.sqlite_files import immediate_transaction, model_file, open_database, rows_in

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, doc_id TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS vectors_by_doc ON vectors(doc_id);
CREATE TABLE IF NOT EXISTS chunk_sentences (
    chunk_id TEXT PRIMARY KEY, format TEXT NOT NULL, data TEXT NOT NULL
);
"""
# Which chunks had their vectors, before each kept its sentences' data too (an older file's
# table, dropped once: those chunks are done again, their vectors read back, not computed).
_OLD_DONE = "chunks_done"


def sentence_key(doc_id: str, start: int, end: int, text: str) -> str:
    """A stable key: the same sentence of the same document version, in any process."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
    return f"{doc_id}:{start}:{end}:{digest}"


def as_stored(vectors: np.ndarray) -> np.ndarray:
    """Vectors as they are kept (float16), back as float32: fresh and stored ones agree."""
    return np.asarray(vectors, dtype=np.float16).astype(np.float32)


class SentenceStore:
    """Sentence vectors by key, and the chunks that have all theirs with their sentences' data.
    Thread- and process-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_database(path, (_SCHEMA,))
        self._lock = threading.Lock()
        exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        if self._conn.execute(exists, (_OLD_DONE,)).fetchone():
            with immediate_transaction(self._conn, self._lock) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {_OLD_DONE}")

    @classmethod
    def for_model(cls, data_dir: Path, model_key: str) -> SentenceStore:
        """The store of one embedding model under `data_dir`."""
        return cls(model_file(data_dir / "sentences", model_key))

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors among `keys` (none, with a warning, when the file cannot be read:
        they are computed instead)."""
        found: dict[str, np.ndarray] = {}
        try:
            with self._lock:
                rows = rows_in(self._conn, "SELECT key, data FROM vectors WHERE key IN", keys)
            for key, data in rows:
                found[key] = np.frombuffer(data, dtype=np.float16).astype(np.float32)
        except sqlite3.Error as exc:
            logger.warning("sentence vectors could not be read (%s): they are computed", exc)
            return {}
        return found

    def put_many(self, items: Iterable[tuple[str, str, np.ndarray]]) -> None:
        """Keep (key, doc_id, vector) triples; a failure to write is logged, not raised (this
        is a cache: a full disk must not fail an answer)."""
        rows = [
            (key, doc_id, np.asarray(vector, dtype=np.float16).tobytes())
            for key, doc_id, vector in items
        ]
        if not rows:
            return
        try:
            with immediate_transaction(self._conn, self._lock) as conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO vectors (key, doc_id, data) VALUES (?, ?, ?)", rows
                )
        except sqlite3.Error as exc:
            logger.warning("sentence vectors not kept (%s): they are computed again", exc)

    def put_chunks(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Record (chunk_id, format, data) for chunks whose sentences all have vectors here."""
        with immediate_transaction(self._conn, self._lock) as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO chunk_sentences (chunk_id, format, data) VALUES (?, ?, ?)",
                list(rows),
            )

    def chunk_data(self, chunk_ids: Sequence[str], data_format: str) -> dict[str, str]:
        """The kept data of those of `chunk_ids` written in `data_format` (none, with a
        warning, when the file cannot be read: it is worked out instead)."""
        try:
            with self._lock:
                rows = rows_in(
                    self._conn,
                    "SELECT chunk_id, data FROM chunk_sentences WHERE format = ? AND chunk_id IN",
                    chunk_ids,
                    (data_format,),
                )
        except sqlite3.Error as exc:
            logger.warning("sentence data could not be read (%s): it is worked out", exc)
            return {}
        return {chunk_id: data for chunk_id, data in rows}

    def done_ids(self, data_format: str) -> set[str]:
        """Chunks whose sentences all have vectors here, and their data in `data_format`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chunk_id FROM chunk_sentences WHERE format = ?", (data_format,)
            )
            return {row[0] for row in rows}

    def prune(self, served_docs: set[str], served_chunks: set[str]) -> int:
        """Forget documents and chunks no longer served; return how many vectors went."""
        with immediate_transaction(self._conn, self._lock) as conn:
            docs = {row[0] for row in conn.execute("SELECT DISTINCT doc_id FROM vectors")}
            gone_docs = [(doc,) for doc in docs - served_docs]
            before = conn.total_changes
            conn.executemany("DELETE FROM vectors WHERE doc_id = ?", gone_docs)
            removed = conn.total_changes - before
            done = {row[0] for row in conn.execute("SELECT chunk_id FROM chunk_sentences")}
            conn.executemany(
                "DELETE FROM chunk_sentences WHERE chunk_id = ?",
                [(c,) for c in done - served_chunks],
            )
        return removed

    def count(self) -> int:
        """How many sentence vectors are kept."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
