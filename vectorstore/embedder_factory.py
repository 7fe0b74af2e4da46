"""Build the configured embedding model: USE multilingual or a sentence-transformers model."""

from __future__ import annotations

from assistant.settings import EmbeddingsSettings
from vectorstore.composite_embedder import CompositeEmbedder
from vectorstore.embeddings import Embedder, SentenceTransformerEmbedder
from vectorstore.use_embedder import UniversalSentenceEncoderEmbedder

USE_MULTILINGUAL = "use-multilingual"
COMPOSITE_SEPARATOR = "+"


def build_embedder(settings: EmbeddingsSettings) -> Embedder:
    """The embedder for `settings.model`; `a+b` fuses two models (see CompositeEmbedder)."""
    names = [name.strip() for name in settings.model.split(COMPOSITE_SEPARATOR)]
    if len(names) == 1:
        return build_single_embedder(settings)
    parts = [build_single_embedder(settings.model_copy(update={"model": n})) for n in names]
    return CompositeEmbedder(parts, [is_multilingual(name) for name in names])


def is_multilingual(model: str) -> bool:
    """Whether a model matches meaning across languages (USE, multilingual ST models)."""
    lowered = model.lower()
    return model == USE_MULTILINGUAL or "multilingual" in lowered or "labse" in lowered


def build_single_embedder(settings: EmbeddingsSettings) -> Embedder:
    """The embedder for `settings.model`: `use-multilingual` is Google's USE v3, else ST.

    Everything other than `use-multilingual` (`bundled`, a local directory, a cached model
    name) goes to `SentenceTransformerEmbedder`. Both load in the constructor; call this once
    per process and pass the result in.
    """
    if settings.model == USE_MULTILINGUAL:
        return UniversalSentenceEncoderEmbedder(
            batch_size=settings.batch_size,
            threads=settings.threads,
            query_prefix=settings.query_prefix or "",
            passage_prefix=settings.passage_prefix or "",
        )
    return SentenceTransformerEmbedder(settings)
