"""The facts database (SQLite): documents, their chunks, files and their ingest status.

It is the source of truth for what is served: a chunk is served only when its row is here, and
one ingest run changes it in a single transaction together with the lexical generation it
points to. Vectors in Chroma that no row names (left by a crash) are ignored and collected.
Later schema versions add the cooperation facts (agreements, contacts, events) as migrations.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vectorstore.records import ChunkRecord, DocumentRecord, Visibility, parse_visibility
from vectorstore.sqlite_files import immediate_transaction, open_database, rows_in

logger = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE roots (
        path TEXT PRIMARY KEY,
        visibility TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        format TEXT NOT NULL,
        language TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        encoding TEXT,
        text TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        indexed_at TEXT NOT NULL
    );
    CREATE TABLE chunks (
        chunk_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        section TEXT NOT NULL,
        text TEXT NOT NULL,
        language TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        content_hash TEXT NOT NULL
    );
    CREATE INDEX chunks_by_doc ON chunks(doc_id, ord);
    CREATE INDEX chunks_by_visibility ON chunks(visibility);
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        root TEXT,
        visibility TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
        error TEXT,
        doc_id TEXT,
        chunks INTEGER NOT NULL DEFAULT 0,
        indexed_at TEXT,
        checked_at TEXT NOT NULL
    );
    CREATE INDEX files_by_root ON files(root);
    """,
    # 2: cooperation facts. Each row belongs to a document (deleted with it) and keeps the
    # offsets of its evidence in the document's text. Dates are ISO strings; NULL = unknown.
    """
    ALTER TABLE files ADD COLUMN warnings TEXT;
    CREATE TABLE agreements (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        partner TEXT NOT NULL,
        country TEXT,
        kind TEXT NOT NULL,
        signed_on TEXT,
        signed_precision TEXT,
        term_months INTEGER,
        ends_on TEXT,
        ends_precision TEXT,
        status TEXT,
        renewed INTEGER NOT NULL DEFAULT 0,
        responsible TEXT,
        email TEXT,
        phone TEXT,
        notes TEXT,
        row_number INTEGER,
        evidence_start INTEGER NOT NULL,
        evidence_end INTEGER NOT NULL
    );
    CREATE INDEX agreements_by_end ON agreements(visibility, ends_on);
    CREATE INDEX agreements_by_doc ON agreements(doc_id);
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        person TEXT,
        role TEXT,
        organisation TEXT,
        phone TEXT,
        email TEXT,
        evidence_start INTEGER NOT NULL,
        evidence_end INTEGER NOT NULL
    );
    CREATE INDEX contacts_by_doc ON contacts(doc_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        name TEXT NOT NULL,
        starts_on TEXT,
        ends_on TEXT,
        precision TEXT,
        place TEXT,
        evidence_start INTEGER NOT NULL,
        evidence_end INTEGER NOT NULL
    );
    CREATE INDEX events_by_doc ON events(doc_id);
    """,
    # A visibility's chunk ids in document order, read from the index alone (no chunk text,
    # no sort): what the lexical index of that visibility is derived in.
    """
    CREATE INDEX chunks_by_visibility_doc ON chunks(visibility, doc_id, ord, chunk_id);
    DROP INDEX chunks_by_visibility;
    """,
)


@dataclass(frozen=True)
class Quote:
    """A span of a document's text, with what a citation shows of its document."""

    doc_id: str
    source: str
    title: str
    visibility: Visibility
    text: str


@dataclass(frozen=True)
class FileState:
    """What the last ingest recorded about one file."""

    path: str
    root: str | None
    visibility: Visibility
    size: int
    mtime_ns: int
    sha256: str
    pipeline: str
    status: str
    error: str | None
    doc_id: str | None
    chunks: int
    indexed_at: str | None
    checked_at: str
    warnings: str | None = None


class FactsDB:
    """A thread-safe handle on the SQLite facts database (WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_database(path)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

    def checkpoint(self, *, wait: bool = False) -> bool:
        """Copy what the write-ahead log holds into the database file; with `wait`, also
        empty the log, waiting (up to the busy timeout) for readers of older snapshots.
        Return whether the log was all copied (a failure is logged, not raised).

        A reader looks every page up in the log before the file: after an ingest of 100k
        chunks left a 113 MB log, reading 4 chunks by id took 0.165 ms, and 0.057 ms once
        it was copied. Processes that only read never copy it themselves."""
        mode = "TRUNCATE" if wait else "PASSIVE"
        try:
            with self._lock:
                busy, _, _ = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:
            logger.warning("the facts database's log was not copied into it: %s", exc)
            return False
        return not busy

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of it commits, or none of it."""
        with immediate_transaction(self._conn, self._lock) as conn:
            yield conn

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        return self.get_metas([key])[0]

    def get_metas(self, keys: Sequence[str]) -> tuple[str | None, ...]:
        """Several values of the meta table, in the order of `keys`, read at once."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT key, value FROM meta WHERE key IN ({', '.join('?' * len(keys))})",
                tuple(keys),
            ).fetchall()
        found = {str(key): str(value) for key, value in rows}
        return tuple(found.get(key) for key in keys)

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
        """Set (or with None, delete) a meta value inside a transaction."""
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- files --------------------------------------------------------------------------------
    def file_states(self) -> dict[str, FileState]:
        """Every file ingest knows about, by path."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM files ORDER BY path").fetchall()
        return {row["path"]: _file_state(row) for row in rows}

    @staticmethod
    def upsert_file(conn: sqlite3.Connection, state: FileState) -> None:
        """Record a file's status inside a transaction."""
        conn.execute(
            "INSERT OR REPLACE INTO files(path, root, visibility, size, mtime_ns, sha256, "
            "pipeline, status, error, doc_id, chunks, indexed_at, checked_at, warnings) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                state.path,
                state.root,
                state.visibility,
                state.size,
                state.mtime_ns,
                state.sha256,
                state.pipeline,
                state.status,
                state.error,
                state.doc_id,
                state.chunks,
                state.indexed_at,
                state.checked_at,
                state.warnings,
            ),
        )

    @staticmethod
    def delete_file(conn: sqlite3.Connection, path: str) -> None:
        """Forget a file inside a transaction."""
        conn.execute("DELETE FROM files WHERE path = ?", (path,))

    @staticmethod
    def add_root(conn: sqlite3.Connection, path: str, visibility: Visibility, now: str) -> None:
        """Remember an ingested folder."""
        conn.execute(
            "INSERT INTO roots(path, visibility, added_at) VALUES(?,?,?) "
            "ON CONFLICT(path) DO UPDATE SET visibility = excluded.visibility",
            (path, visibility, now),
        )

    # --- documents and chunks -----------------------------------------------------------------
    @staticmethod
    def replace_document(
        conn: sqlite3.Connection,
        document: DocumentRecord,
        path: str,
        chunks: Sequence[ChunkRecord],
        now: str,
    ) -> None:
        """Put a document and exactly these chunks in place of whatever it had."""
        conn.execute("DELETE FROM documents WHERE doc_id = ? OR path = ?", (document.doc_id, path))
        conn.execute(
            "INSERT INTO documents(doc_id, path, source, title, format, language, visibility, "
            "encoding, text, content_hash, indexed_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (
                document.doc_id,
                path,
                document.source,
                document.title,
                document.format,
                document.language,
                document.visibility,
                document.encoding,
                document.text,
                document.content_hash,
                now,
            ),
        )
        conn.executemany(
            'INSERT INTO chunks(chunk_id, doc_id, ord, start, "end", section, text, language, '
            "visibility, content_hash) VALUES(?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    chunk.chunk_id,
                    chunk.doc_id,
                    chunk.ord,
                    chunk.start,
                    chunk.end,
                    chunk.section,
                    chunk.text,
                    chunk.language,
                    chunk.visibility,
                    chunk.content_hash,
                )
                for chunk in chunks
            ],
        )

    @staticmethod
    def delete_document(conn: sqlite3.Connection, doc_id: str) -> None:
        """Remove a document and its chunks inside a transaction."""
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def chunk_ids_of(self, doc_id: str) -> list[tuple[str, Visibility]]:
        """The chunk ids a document is served with, and their visibility."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chunk_id, visibility FROM chunks WHERE doc_id = ?", (doc_id,)
            ).fetchall()
        return [(row[0], parse_visibility(row[1])) for row in rows]

    @staticmethod
    def lexical_rows(conn: sqlite3.Connection, visibility: Visibility) -> list[tuple[str, str]]:
        """(chunk_id, lexical text) of every chunk of a visibility, in a stable order."""
        rows = conn.execute(
            f"SELECT c.chunk_id, {_LEXICAL_TEXT} FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id WHERE c.visibility = ? "
            "ORDER BY c.doc_id, c.ord",
            (visibility,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    @staticmethod
    def lexical_order(conn: sqlite3.Connection, visibility: Visibility) -> list[str]:
        """The chunk ids of a visibility in `lexical_rows`'s order (no text is read)."""
        rows = conn.execute(
            "SELECT chunk_id FROM chunks WHERE visibility = ? ORDER BY doc_id, ord",
            (visibility,),
        ).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def lexical_texts(conn: sqlite3.Connection, chunk_ids: Iterable[str]) -> dict[str, str]:
        """The lexical text of these chunks, by id."""
        rows = rows_in(
            conn,
            f"SELECT c.chunk_id, {_LEXICAL_TEXT} FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN",
            chunk_ids,
        )
        return {row[0]: row[1] for row in rows}

    def served_lexical_rows(self, visibility: Visibility) -> list[tuple[str, str]]:
        """`lexical_rows` of what is served now (outside any ingest)."""
        with self._lock:
            return self.lexical_rows(self._conn, visibility)

    def query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query (for the fact readers)."""
        with self._lock:
            return self._conn.execute(sql, parameters).fetchall()

    def served_chunk_ids(self, visibility: Visibility) -> set[str]:
        """Every chunk id that is served for a visibility."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chunk_id FROM chunks WHERE visibility = ?", (visibility,)
            ).fetchall()
        return {row[0] for row in rows}

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        """A document with its canonical text."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else _document(row)

    def get_quote(self, doc_id: str, start: int, end: int) -> Quote | None:
        """`text[start:end]` of a document (`start` ≥ 0), cut by SQLite, with the document's
        source, title and visibility: a citation is checked without reading its document
        whole. None when there is no such document."""
        if start < 0:
            raise ValueError(f"a quote starts at offset {start}")
        with self._lock:
            row = self._conn.execute(
                "SELECT source, title, visibility, substr(text, ?, ?) FROM documents "
                "WHERE doc_id = ?",
                (start + 1, max(0, end - start), doc_id),
            ).fetchone()
        if row is None:
            return None
        source, title, visibility, text = row
        return Quote(doc_id, source, title, parse_visibility(visibility), text)

    def get_chunks(self, chunk_ids: Iterable[str]) -> dict[str, ChunkRecord]:
        """Chunks by id (ids that are not served are absent from the result)."""
        rows = self._chunk_rows(
            "SELECT c.*, d.title, d.source FROM chunks c JOIN documents d "
            "ON d.doc_id = c.doc_id WHERE c.chunk_id IN",
            chunk_ids,
        )
        return {row["chunk_id"]: _chunk(row) for row in rows}

    def _chunk_rows(self, select: str, chunk_ids: Iterable[str]) -> list[sqlite3.Row]:
        with self._lock:
            return rows_in(self._conn, select, chunk_ids)

    def document_chunks(self, doc_id: str) -> list[ChunkRecord]:
        """A document's chunks in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.*, d.title, d.source FROM chunks c JOIN documents d "
                "ON d.doc_id = c.doc_id WHERE c.doc_id = ? ORDER BY c.ord",
                (doc_id,),
            ).fetchall()
        return [_chunk(row) for row in rows]

    def counts(self) -> dict[Visibility, tuple[int, int]]:
        """(documents, chunks) per visibility."""
        result: dict[Visibility, tuple[int, int]] = {"public": (0, 0), "internal": (0, 0)}
        with self._lock:
            for row in self._conn.execute(
                "SELECT d.visibility, COUNT(DISTINCT d.doc_id), COUNT(c.chunk_id) FROM documents d "
                "LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.visibility"
            ):
                result[parse_visibility(row[0])] = (int(row[1]), int(row[2]))
        return result


# What BM25 indexes of a chunk: its document's title, its section and its text.
_LEXICAL_TEXT = "d.title || ' ' || c.section || ' ' || c.text"


def _file_state(row: sqlite3.Row) -> FileState:
    return FileState(
        path=row["path"],
        root=row["root"],
        visibility=parse_visibility(row["visibility"]),
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        pipeline=row["pipeline"],
        status=row["status"],
        error=row["error"],
        doc_id=row["doc_id"],
        chunks=row["chunks"],
        indexed_at=row["indexed_at"],
        checked_at=row["checked_at"],
        warnings=row["warnings"],
    )


def _document(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        doc_id=row["doc_id"],
        source=row["source"],
        title=row["title"],
        format=row["format"],
        language=row["language"],
        visibility=parse_visibility(row["visibility"]),
        text=row["text"],
        content_hash=row["content_hash"],
        encoding=row["encoding"],
    )


def _chunk(row: sqlite3.Row) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        ord=row["ord"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        section=row["section"],
        title=row["title"],
        source=row["source"],
        language=row["language"],
        visibility=parse_visibility(row["visibility"]),
        content_hash=row["content_hash"],
    )
