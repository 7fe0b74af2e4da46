"""A naive RAG pipeline for comparison: LangChain's splitter (1000/200), Chroma, top-k chunks.

It answers with the k retrieved chunks themselves (what a naive pipeline would hand over), never
declines, and cites each chunk by its offsets. In memory by default; with `persist_dir` its
Chroma lives on disk and a second build (or one resumed after an interruption) embeds only the
pieces not there yet, which the benchmark needs at 100k chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaClientSettings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.embeddings import Embedder
from vectorstore.records import DocumentRecord


class NaiveRetriever:
    """Splits, embeds and searches documents the textbook way, in an in-memory Chroma."""

    def __init__(
        self,
        embedder: Embedder,
        documents: list[DocumentRecord],
        k: int = 4,
        *,
        persist_dir: Path | None = None,
    ) -> None:
        self._embedder = embedder
        self._k = k
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True
        )
        settings = ChromaClientSettings(anonymized_telemetry=False)
        if persist_dir is None:
            client = chromadb.EphemeralClient(settings=settings)
            name = f"naive-{uuid.uuid4().hex[:8]}"
        else:
            client = chromadb.PersistentClient(path=str(persist_dir), settings=settings)
            name = "naive"
        self._collection = client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[Mapping[str, str | int | float | bool | None]] = []
        # Ids depend only on the documents, not on the order given: a resumed build finds
        # the pieces it already holds.
        for document in sorted(documents, key=lambda d: d.doc_id):
            pieces = splitter.create_documents(
                [document.text], metadatas=[{"doc_id": document.doc_id}]
            )
            for number, piece in enumerate(pieces):
                ids.append(f"{document.doc_id}-{number}")
                texts.append(piece.page_content)
                metadatas.append(
                    {
                        "doc_id": document.doc_id,
                        "source": document.source,
                        "start": int(piece.metadata["start_index"]),
                    }
                )
        self.chunk_count = len(ids)
        self.embedded = 0
        batch = max(1, min(client.get_max_batch_size(), 1024))
        for begin in range(0, len(ids), batch):
            end = begin + batch
            have = set(self._collection.get(ids=ids[begin:end], include=[])["ids"])
            todo = [i for i in range(begin, min(end, len(ids))) if ids[i] not in have]
            if not todo:
                continue
            self._collection.add(
                ids=[ids[i] for i in todo],
                embeddings=self._embedder.encode_passages([texts[i] for i in todo]),
                documents=[texts[i] for i in todo],
                metadatas=[metadatas[i] for i in todo],
            )
            self.embedded += len(todo)

    def search(self, question: str) -> list[tuple[str, str, int, str]]:
        """(doc_id, source, start, text) of the top-k chunks."""
        if self.chunk_count == 0:
            return []
        result = self._collection.query(
            query_embeddings=[self._embedder.encode_query(question)],
            n_results=min(self._k, self.chunk_count),
            include=["documents", "metadatas"],
        )
        documents = result["documents"][0] if result["documents"] else []
        metadatas = result["metadatas"][0] if result["metadatas"] else []
        return [
            (str(meta["doc_id"]), str(meta["source"]), int(meta["start"]), text)  # type: ignore[arg-type]
            for text, meta in zip(documents, metadatas, strict=True)
        ]
