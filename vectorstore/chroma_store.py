"""The dense index: one Chroma collection per visibility, never one collection with a filter.

Chroma only stores vectors we computed: collections are created with no embedding function, so
Chroma's own download-a-model default never runs. Telemetry is off. Collections are named after
the embedding model, so switching models re-embeds instead of mixing vector spaces.

Chroma is an index, never the truth: every vector can be computed again from the chunks in the
facts database. Embedded Chroma rewrites its HNSW files in place, so a process killed while it
writes them leaves a collection Chroma can no longer read; `unreadable` tells that apart from
other failures and `recreate` starts the collection again (`ingest.repair` refills it).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaClientSettings
from chromadb.errors import InternalError, NotFoundError

from assistant.settings import Settings
from vectorstore.embeddings import Vectors
from vectorstore.kept_vectors import KeptVectors
from vectorstore.records import ChunkRecord, Visibility
from vectorstore.storage_errors import is_no_space

logger = logging.getLogger(__name__)


class VectorStoreUnavailableError(RuntimeError):
    """The Chroma server cannot be reached; the message says where it was expected."""


# What Chroma says when it cannot read a collection's HNSW files, e.g. "Error creating hnsw
# segment reader: Error deserializing pickle file: EOF while parsing", or "Failed to apply logs
# to the hnsw segment writer" when the files it would extend are torn.
_UNREADABLE_MARKERS = ("hnsw", "pickle", "segment reader", "deserializ")


def is_unreadable_index(exc: BaseException) -> bool:
    """Whether Chroma failed because a collection's vector index files cannot be read (and not
    because the disk is full, which a rebuild would only make worse)."""
    if not isinstance(exc, InternalError) or is_no_space(exc):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _UNREADABLE_MARKERS)


def open_chroma_client(settings: Settings) -> ClientAPI:
    """An HTTP client when `COOP_CHROMA__HOST` is set, else embedded Chroma under the data dir."""
    client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma.host,
                port=settings.chroma.port,
                ssl=settings.chroma.ssl,
                settings=client_settings,
            )
        except Exception as exc:
            raise VectorStoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma.host}:{settings.chroma.port}"
                f" ({exc}); start it with `chroma run` or unset COOP_CHROMA__HOST"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=client_settings)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


class ChunkVectors:
    """Chunk vectors in Chroma, per visibility. Accepts a ready-made client."""

    def __init__(
        self,
        client: ClientAPI,
        model_key: str,
        path: Path | None = None,
        kept: KeptVectors | None = None,
    ) -> None:
        """`path` is embedded Chroma's folder (None for a server): a collection that is
        recreated leaves its old index files there, and they are removed. `kept`, when given,
        holds a copy of every vector added (see `kept_vectors`), what a repair writes back."""
        self._client = client
        self._model_key = model_key
        self._path = path
        self.kept = kept
        self._collections: dict[Visibility, Any] = {}
        self._batch_size = max(1, min(client.get_max_batch_size(), 4096))

    def collection_name(self, visibility: Visibility) -> str:
        """`coop_public_<model>` or `coop_internal_<model>`."""
        return f"coop_{visibility}_{self._model_key}"

    def _collection(self, visibility: Visibility) -> Any:
        if visibility not in self._collections:
            self._collections[visibility] = self._client.get_or_create_collection(
                self.collection_name(visibility),
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"visibility": visibility, "model": self._model_key},
            )
        return self._collections[visibility]

    def unreadable(self, visibility: Visibility) -> str | None:
        """Why Chroma cannot read the collection's vectors (a crash tore its index files), or
        None when it can. Other failures (a server gone, a full disk) are raised."""
        try:
            self._collection(visibility).count()
        except Exception as exc:
            if is_unreadable_index(exc):
                return str(exc)
            raise
        return None

    def recreate(self, visibility: Visibility) -> None:
        """Drop the collection and start it again empty (its vectors are computed again from
        the facts database by `ingest.repair`). In embedded Chroma the dropped collection's
        index files are removed too: Chroma leaves them behind."""
        name = self.collection_name(visibility)
        folders = self._segment_folders(name)
        self._collections.pop(visibility, None)
        with contextlib.suppress(NotFoundError):
            self._client.delete_collection(name)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        logger.warning("the %s vector collection %s was dropped to be rebuilt", visibility, name)

    def _segment_folders(self, name: str) -> list[Path]:
        """Embedded Chroma's folders of a collection's vector segments (from its catalog)."""
        if self._path is None:
            return []
        catalog = self._path / "chroma.sqlite3"
        try:
            conn = sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                rows = conn.execute(
                    "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                    "WHERE c.name = ? AND s.scope = 'VECTOR'",
                    (name,),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            logger.warning("cannot list the index files of %s (%s); they stay on disk", name, exc)
            return []
        return [self._path / str(row[0]) for row in rows if (self._path / str(row[0])).is_dir()]

    def existing_ids(self, visibility: Visibility, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids already have vectors (their embedding work is done)."""
        found: set[str] = set()
        collection = self._collection(visibility)
        for batch in _batches(ids, self._batch_size):
            found.update(collection.get(ids=list(batch), include=[])["ids"])
        return found

    def add(
        self,
        visibility: Visibility,
        records: Sequence[ChunkRecord],
        vectors: Vectors,
        *,
        keep: bool = True,
    ) -> None:
        """Upsert chunks with their vectors, in batches under Chroma's maximum batch size, and
        keep a copy of the vectors (`keep=False`: they come from that copy)."""
        if len(records) != len(vectors):
            raise ValueError(f"{len(records)} records but {len(vectors)} vectors")
        collection = self._collection(visibility)
        for begin in range(0, len(records), self._batch_size):
            batch = records[begin : begin + self._batch_size]
            ids = [record.chunk_id for record in batch]
            collection.upsert(
                ids=ids,
                embeddings=vectors[begin : begin + self._batch_size],
                documents=[record.text for record in batch],
                metadatas=[_metadata(record) for record in batch],
            )
            if keep and self.kept is not None:
                self.kept.put(visibility, ids, vectors[begin : begin + self._batch_size])

    def delete(self, visibility: Visibility, ids: Iterable[str]) -> None:
        """Remove chunks by id (missing ids are ignored), from the kept copy too."""
        id_list = list(ids)
        collection = self._collection(visibility)
        for batch in _batches(id_list, self._batch_size):
            collection.delete(ids=list(batch))
        if self.kept is not None:
            self.kept.delete(visibility, id_list)

    def kept_vectors(self, visibility: Visibility, ids: Sequence[str]) -> dict[str, Vectors]:
        """The kept copies of these chunks' vectors (none without a kept copy)."""
        return self.kept.get(visibility, ids) if self.kept is not None else {}

    def keep_all(self, visibility: Visibility) -> int:
        """Copy into the kept vectors what the collection holds and they lack (a data directory
        from before they were kept); return how many. A count each when nothing is missing."""
        kept = self.kept
        if kept is None or kept.count(visibility) >= self.count(visibility):
            return 0
        missing = sorted(self.all_ids(visibility) - kept.ids(visibility))
        collection = self._collection(visibility)
        for batch in _batches(missing, self._batch_size):
            found = collection.get(ids=list(batch), include=["embeddings"])
            kept.put(visibility, found["ids"], np.asarray(found["embeddings"], dtype=np.float32))
        if missing:
            logger.info("kept a copy of %d %s vectors", len(missing), visibility)
        return len(missing)

    def all_ids(self, visibility: Visibility) -> set[str]:
        """Every chunk id in the collection (for garbage collection after a crash)."""
        collection = self._collection(visibility)
        found: set[str] = set()
        offset = 0
        while True:
            page = collection.get(include=[], limit=self._batch_size, offset=offset)["ids"]
            found.update(page)
            if len(page) < self._batch_size:
                return found
            offset += len(page)

    def count(self, visibility: Visibility) -> int:
        """How many vectors the collection holds."""
        return int(self._collection(visibility).count())

    def query(self, visibility: Visibility, vector: Vectors, k: int) -> list[tuple[str, float]]:
        """The k nearest chunk ids with their cosine distance, nearest first (fewer when the
        collection holds fewer; Chroma allows that, so no count is asked first)."""
        if k <= 0:
            return []
        try:
            result = _nearest(self._collection(visibility), vector, k)
        except NotFoundError:
            # Another process recreated the collection (a repair): look it up again, and
            # find nothing while it does not exist yet rather than create it here.
            self._collections.pop(visibility, None)
            try:
                collection = self._client.get_collection(
                    self.collection_name(visibility), embedding_function=None
                )
            except NotFoundError:
                return []
            self._collections[visibility] = collection
            result = _nearest(collection, vector, k)
        ids = result["ids"][0]
        distances = (result.get("distances") or [[0.0] * len(ids)])[0]
        return [
            (chunk_id, float(distance)) for chunk_id, distance in zip(ids, distances, strict=True)
        ]

    def heartbeat(self) -> None:
        """Raise `VectorStoreUnavailableError` when the server does not answer."""
        try:
            self._client.heartbeat()
        except Exception as exc:
            raise VectorStoreUnavailableError(f"Chroma does not answer: {exc}") from exc


def _nearest(collection: Any, vector: Vectors, k: int) -> Any:
    return collection.query(query_embeddings=[vector], n_results=k, include=["distances"])


def _metadata(record: ChunkRecord) -> dict[str, str | int]:
    return {
        "doc_id": record.doc_id,
        "ord": record.ord,
        "start": record.start,
        "end": record.end,
        "section": record.section,
        "title": record.title,
        "source": record.source,
        "language": record.language,
        "visibility": record.visibility,
        "content_hash": record.content_hash,
    }
