"""Two (or more) embedding models fused into one vector space.

Each model's unit vector is scaled by 1/√n and the parts are concatenated, so the result is a
unit vector whose cosine with another is the mean of the models' own cosines: one Chroma query
fuses both dense legs. A question can also be embedded with only some parts (the others
zeroed), e.g. only the multilingual model for a Russian question, and a stored vector can be
split back into its parts to score a sentence with the model that suits a language pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.embeddings import Embedder, Vectors


class CompositeEmbedder(Embeddings):
    """Concatenation of several embedders' scaled unit vectors."""

    def __init__(self, parts: Sequence[Embedder], multilingual: Sequence[bool]) -> None:
        if len(parts) < 2 or len(parts) != len(multilingual):
            raise ValueError("a composite needs two or more parts, each marked multilingual or not")
        self._parts = list(parts)
        self._multilingual = list(multilingual)
        self._scale = 1.0 / math.sqrt(len(parts))
        self._dimensions = [part.dimension for part in parts]
        self._key = "--".join(part.key for part in parts)

    @property
    def key(self) -> str:
        return self._key

    @property
    def dimension(self) -> int:
        return sum(self._dimensions)

    @property
    def passage_dtype(self) -> str:
        """Each part's arithmetic for passages, joined by `+` (USE is always float32)."""
        return "+".join(getattr(part, "passage_dtype", "float32") for part in self._parts)

    @property
    def multilingual_parts(self) -> list[bool]:
        """Which parts match meaning across languages."""
        return list(self._multilingual)

    def encode_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        blocks = [part.encode_passages(texts) * self._scale for part in self._parts]
        return np.hstack(blocks).astype(np.float32)

    def encode_query(self, text: str) -> Vectors:
        return self.encode_query_parts(text, [True] * len(self._parts))

    def encode_query_parts(self, text: str, use: Sequence[bool]) -> Vectors:
        """A unit query vector from the chosen parts only (the others are zero)."""
        if not any(use):
            raise ValueError("choose at least one part")
        weight = 1.0 / math.sqrt(sum(use))
        blocks = [
            part.encode_query(text) * weight if chosen else np.zeros(dimension, dtype=np.float32)
            for part, chosen, dimension in zip(self._parts, use, self._dimensions, strict=True)
        ]
        return np.concatenate(blocks).astype(np.float32)

    def part_cosines(self, vectors: Vectors, query: Vectors) -> list[Vectors]:
        """Each part's own cosine between stored rows and a query built from all parts."""
        cosines: list[Vectors] = []
        offset = 0
        for dimension in self._dimensions:
            rows = vectors[:, offset : offset + dimension]
            part_query = query[offset : offset + dimension]
            norms = np.linalg.norm(rows, axis=1) * max(float(np.linalg.norm(part_query)), 1e-12)
            cosines.append((rows @ part_query) / np.maximum(norms, 1e-12))
            offset += dimension
        return cosines

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: vectors for passages."""
        return [[float(x) for x in row] for row in self.encode_passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        """LangChain: the vector for a question."""
        return [float(x) for x in self.encode_query(text)]
