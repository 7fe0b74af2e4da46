"""The dense index: one Chroma collection per visibility, never one collection with a filter.

Chroma only stores vectors we computed: collections are created with no embedding function, so
Chroma's own download-a-model default never runs. Telemetry is off. Collections are named after
the embedding model, so switching models re-embeds instead of mixing vector spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaClientSettings

from assistant.settings import Settings
from vectorstore.embeddings import Vectors
from vectorstore.records import ChunkRecord, Visibility

logger = logging.getLogger(__name__)


class VectorStoreUnavailableError(RuntimeError):
    """The Chroma server cannot be reached; the message says where it was expected."""


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

    def __init__(self, client: ClientAPI, model_key: str) -> None:
        self._client = client
        self._model_key = model_key
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

    def existing_ids(self, visibility: Visibility, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids already have vectors (their embedding work is done)."""
        found: set[str] = set()
        collection = self._collection(visibility)
        for batch in _batches(ids, self._batch_size):
            found.update(collection.get(ids=list(batch), include=[])["ids"])
        return found

    def add(self, visibility: Visibility, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Upsert chunks with their vectors, in batches under Chroma's maximum batch size."""
        if len(records) != len(vectors):
            raise ValueError(f"{len(records)} records but {len(vectors)} vectors")
        collection = self._collection(visibility)
        for begin in range(0, len(records), self._batch_size):
            batch = records[begin : begin + self._batch_size]
            collection.upsert(
                ids=[record.chunk_id for record in batch],
                embeddings=vectors[begin : begin + self._batch_size],
                documents=[record.text for record in batch],
                metadatas=[_metadata(record) for record in batch],
            )

    def delete(self, visibility: Visibility, ids: Iterable[str]) -> None:
        """Remove chunks by id (missing ids are ignored)."""
        id_list = list(ids)
        collection = self._collection(visibility)
        for batch in _batches(id_list, self._batch_size):
            collection.delete(ids=list(batch))

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
        result = self._collection(visibility).query(
            query_embeddings=[vector], n_results=k, include=["distances"]
        )
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
