"""Hybrid search: dense (Chroma) and lexical (BM25) hits fused by reciprocal rank fusion.

Each visibility has its own collection and lexical index; a search touches only the ones its
audience may see. Hits are resolved against the facts database, so only served chunks come
back (vectors left behind by an interrupted ingest never do).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.lru import Lru
from assistant.retrieval.audience import Audience, visibilities_for
from ingest.sync import lexical_key
from vectorstore.chroma_store import ChunkVectors
from vectorstore.composite_embedder import CompositeEmbedder
from vectorstore.embeddings import Embedder
from vectorstore.facts_db import FactsDB
from vectorstore.lexical import LexicalFormatError, LexicalIndex, LexicalStore
from vectorstore.records import ChunkRecord, Visibility
from vectorstore.threads import LazyPool

logger = logging.getLogger(__name__)


# The process's threads for vector queries. A Chroma query costs about a millisecond whatever
# the collection's size, most of it outside the GIL: a staff search's two collections are asked
# at once, and a visitor's one while the lexical index is searched.
_dense_threads = LazyPool(4, "dense-query")


# What a search's caller does with chunks while the vector query runs: (chunks, whether to
# stop now).
Prepare = Callable[[list[ChunkRecord], Callable[[], bool]], None]


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk with its fused score and where each leg ranked it (0 = first)."""

    chunk: ChunkRecord
    score: float
    similarity: float | None
    dense_rank: int | None
    lexical_rank: int | None


class HybridSearcher:
    """Searches the indexes an audience may see. Thread-safe; reloads a lexical index when an
    ingest has switched to a new generation."""

    def __init__(
        self,
        facts: FactsDB,
        vectors: ChunkVectors,
        lexical: LexicalStore,
        embedder: Embedder,
        *,
        candidates: int = 30,
        rrf_k: int = 60,
        query_vectors_kept: int = 2048,
    ) -> None:
        self._facts = facts
        self._vectors = vectors
        self._lexical = lexical
        self.embedder = embedder
        self._candidates = candidates
        self._rrf_k = rrf_k
        self._indexes: dict[Visibility, tuple[str | None, LexicalIndex]] = {}
        self._lock = threading.Lock()
        self._query_vectors: Lru[tuple[str, str], np.ndarray] = Lru(query_vectors_kept)

    def query_vector(self, query: str, language: str) -> np.ndarray:
        """The question's vector (read-only), remembered for the last `query_vectors_kept`
        questions: a question asked again (the widget's suggestions, a retry) embeds nothing.
        With fused models, a question in another language than English uses only the
        multilingual ones (an English-only model adds noise there)."""
        key = (query, language)
        vector = self._query_vectors.get(key)
        if vector is None:
            vector = self.embed_query(query, language)
            vector.setflags(write=False)
            self._query_vectors.put(key, vector)
        return vector

    def embed_query(self, query: str, language: str) -> np.ndarray:
        """The question's vector, computed now (never remembered): what `query_vector` does
        for a question it has not seen."""
        embedder = self.embedder
        if language != "en" and isinstance(embedder, CompositeEmbedder):
            use = embedder.multilingual_parts
            if any(use):
                return embedder.encode_query_parts(query, use)
        return embedder.encode_query(query)

    def lexical_index(self, visibility: Visibility) -> LexicalIndex:
        """The served lexical index of a visibility (cached per generation)."""
        return self.lexical_indexes((visibility,))[0]

    def lexical_indexes(self, visibilities: Sequence[Visibility]) -> list[LexicalIndex]:
        """The served lexical index of each visibility (cached per generation; the
        generations are read in one query)."""
        generations = self._facts.get_metas([lexical_key(v) for v in visibilities])
        indexes = []
        with self._lock:
            for visibility, generation in zip(visibilities, generations, strict=True):
                cached = self._indexes.get(visibility)
                if cached is None or cached[0] != generation:
                    cached = (generation, self._load_lexical(visibility, generation))
                    self._indexes[visibility] = cached
                    logger.info("lexical index %s loaded (generation %s)", visibility, generation)
                indexes.append(cached[1])
        return indexes

    def _load_lexical(self, visibility: Visibility, generation: str | None) -> LexicalIndex:
        try:
            return self._lexical.load(visibility, generation)
        except LexicalFormatError:
            # Written by an older version: index what is served in memory (the next
            # `coop ingest` writes it in today's layout).
            logger.warning(
                "lexical index %s (%s) has an older layout: indexing the served chunks in "
                "memory; the next ingest rewrites it",
                visibility,
                generation,
            )
            rows = self._facts.served_lexical_rows(visibility)
            return LexicalIndex.from_rows(rows, self._lexical.tokenizer)

    def search(
        self,
        query: str,
        audience: Audience,
        *,
        k: int = 8,
        query_vector: np.ndarray | None = None,
        prepare: Prepare | None = None,
    ) -> list[ScoredChunk]:
        """The k best chunks for `query` among what `audience` may see.

        While the vector query runs (mostly outside the GIL), the lexical leg's best chunks are
        read and handed to `prepare` with a function that tells when the vector query is done
        (to stop then): what the caller would do with the best chunks can begin, since most of
        them are among the fused best."""
        if not query.strip():
            return []
        vector = self.embedder.encode_query(query) if query_vector is None else query_vector
        visibilities = visibilities_for(audience)
        pool = _dense_threads.pool()
        asked = [  # the longest leg: started first
            pool.submit(self._vectors.query, visibility, vector, self._candidates)
            for visibility in visibilities
        ]
        indexes = self.lexical_indexes(visibilities)
        lexical: list[tuple[str, float]] = []
        for index in indexes:
            lexical.extend(index.search(query, self._candidates))
        lexical.sort(key=lambda hit: -hit[1])
        early: dict[str, ChunkRecord] = {}
        if prepare is not None and lexical and not all(future.done() for future in asked):
            early = self._facts.get_chunks([chunk_id for chunk_id, _ in lexical[:k]])
            prepare(
                [early[chunk_id] for chunk_id, _ in lexical[:k] if chunk_id in early],
                lambda: all(future.done() for future in asked),
            )
        # Which hits are served decides the ranks: a vector left behind (an interrupted
        # ingest, a withdrawn file) is not held by the lexical generation switched with the
        # chunks. Only the k best are read whole (and dropped if withdrawn since).
        dense = [
            hit
            for future, index in zip(asked, indexes, strict=True)
            for hit in future.result()
            if index.holds(hit[0])
        ]
        dense.sort(key=lambda hit: hit[1])  # cosine distance, nearest first
        allowed = set(visibilities_for(audience))
        scores: dict[str, float] = {}
        dense_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(dense)}
        lexical_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(lexical)}
        similarity = {chunk_id: 1.0 - distance for chunk_id, distance in dense}
        for ranking in (dense_rank, lexical_rank):
            for chunk_id, rank in ranking.items():
                scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (self._rrf_k + rank + 1)
        best = sorted(scores, key=lambda chunk_id: -scores[chunk_id])[:k]
        chunks = {chunk_id: early[chunk_id] for chunk_id in best if chunk_id in early}
        chunks.update(self._facts.get_chunks([c for c in best if c not in early]))
        best = [chunk_id for chunk_id in best if chunk_id in chunks]  # withdrawn meanwhile
        return [
            ScoredChunk(
                chunk=chunks[chunk_id],
                score=scores[chunk_id],
                similarity=similarity.get(chunk_id),
                dense_rank=dense_rank.get(chunk_id),
                lexical_rank=lexical_rank.get(chunk_id),
            )
            for chunk_id in best
            if chunks[chunk_id].visibility in allowed
        ]
