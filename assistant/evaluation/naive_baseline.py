"""A naive RAG pipeline for comparison: LangChain's splitter (1000/200), Chroma, top-k chunks.

It answers with the k retrieved chunks themselves (what a naive pipeline would hand over), never
declines, and cites each chunk by its offsets.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import chromadb
from chromadb.config import Settings as ChromaClientSettings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.embeddings import Embedder
from vectorstore.records import DocumentRecord


class NaiveRetriever:
    """Splits, embeds and searches documents the textbook way, in an in-memory Chroma."""

    def __init__(self, embedder: Embedder, documents: list[DocumentRecord], k: int = 4) -> None:
        self._embedder = embedder
        self._k = k
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True
        )
        client = chromadb.EphemeralClient(settings=ChromaClientSettings(anonymized_telemetry=False))
        self._collection = client.create_collection(
            f"naive-{uuid.uuid4().hex[:8]}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[Mapping[str, str | int | float | bool | None]] = []
        for document in documents:
            for piece in splitter.create_documents(
                [document.text], metadatas=[{"doc_id": document.doc_id}]
            ):
                ids.append(f"{document.doc_id}-{len(ids)}")
                texts.append(piece.page_content)
                metadatas.append(
                    {
                        "doc_id": document.doc_id,
                        "source": document.source,
                        "start": int(piece.metadata["start_index"]),
                    }
                )
        self.chunk_count = len(ids)
        batch = max(1, client.get_max_batch_size())
        for begin in range(0, len(ids), batch):
            end = begin + batch
            self._collection.add(
                ids=ids[begin:end],
                embeddings=self._embedder.encode_passages(texts[begin:end]),
                documents=texts[begin:end],
                metadatas=metadatas[begin:end],  # type: ignore[arg-type]
            )

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
