"""Open the stores once per process and hand them to whatever needs them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.settings import Settings
from ingest.lock import IngestLock
from ingest.progress import LogProgress
from ingest.repair import check_vectors, repair_vectors
from ingest.sync import IngestService
from vectorstore.chroma_store import ChunkVectors, open_chroma_client
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import Embedder, model_key
from vectorstore.facts_db import FactsDB
from vectorstore.kept_vectors import KeptVectors
from vectorstore.lexical import LexicalStore
from vectorstore.sentence_store import SentenceStore

logger = logging.getLogger(__name__)


@dataclass
class Resources:
    """The opened stores; `embedder` is None when the caller did not need the model."""

    settings: Settings
    facts: FactsDB
    vectors: ChunkVectors
    lexical: LexicalStore
    embedder: Embedder | None
    sentences: SentenceStore

    def ingest_service(self) -> IngestService:
        """An ingest into these stores (the embedding model must be loaded)."""
        if self.embedder is None:
            raise RuntimeError("the embedding model is not loaded: open the resources with it")
        return IngestService(self.settings, self.facts, self.vectors, self.lexical, self.embedder)

    def close(self) -> None:
        """Release what was opened."""
        self.sentences.close()
        if self.vectors.kept is not None:
            self.vectors.kept.close()
        self.facts.close()


def open_resources(
    settings: Settings, *, load_model: bool = True, embedder: Embedder | None = None
) -> Resources:
    """Open the facts DB, Chroma (embedded or server) and the lexical store; load the model."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if embedder is None and load_model:
        embedder = build_embedder(settings.embeddings)
    key = embedder.key if embedder is not None else model_key(settings.embeddings.model)
    facts = FactsDB(settings.facts_db_path)
    facts.checkpoint()  # a log an ingest left behind would slow every read (never waits)
    try:
        kept = KeptVectors.for_model(settings.data_dir, key)
    except Exception:
        facts.close()
        raise
    try:
        embedded = None if settings.chroma.host else settings.chroma_path
        vectors = ChunkVectors(open_chroma_client(settings), key, embedded, kept)
    except Exception:
        kept.close()
        facts.close()
        raise
    lexical = LexicalStore(settings.lexical_path)
    try:
        sentences = SentenceStore.for_model(settings.data_dir, key)
    except Exception:
        kept.close()
        facts.close()
        raise
    resources = Resources(settings, facts, vectors, lexical, embedder, sentences)
    if embedder is not None:
        try:
            _repair_vectors(resources, embedder)
        except Exception:
            resources.close()
            raise
    return resources


def _repair_vectors(resources: Resources, embedder: Embedder) -> None:
    """Embed again what Chroma lost (a crash tore its files) before anything is served, under
    the ingest lock; a count per collection when nothing is wrong."""
    if not check_vectors(resources.facts, resources.vectors).needed:
        return
    with IngestLock(resources.settings.data_dir):
        repair_vectors(resources.facts, resources.vectors, embedder, LogProgress(logger))
