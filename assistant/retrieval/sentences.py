"""After an ingest: embed the candidate sentences of every served chunk that has none kept yet.

Answering a question scores the sentences of its best chunks by meaning; with their vectors
kept (`SentenceStore`), a question costs one embedding (its own) instead of one per sentence.
This stage is incremental (only chunks not done before), resumable (an interruption loses
only the batch in flight) and optional (a sentence it has not reached is embedded when a
question first needs it). It also forgets what is no longer served.
"""

from __future__ import annotations

import logging

from assistant.retrieval.evidence import EvidenceSelector
from ingest.progress import NullProgress, Progress
from vectorstore.facts_db import FactsDB
from vectorstore.records import VISIBILITIES
from vectorstore.sentence_store import SentenceStore

logger = logging.getLogger(__name__)

# Enough chunks per batch (a few thousand sentences) for the embedder to group sentences of
# like length; small enough that an interruption loses little.
CHUNKS_PER_BATCH = 512


def embed_sentences(
    facts: FactsDB,
    selector: EvidenceSelector,
    store: SentenceStore,
    progress: Progress | None = None,
) -> int:
    """Embed and keep the sentences of served chunks not done yet; return how many."""
    progress = progress or NullProgress()
    served: set[str] = set()
    for visibility in VISIBILITIES:
        served |= facts.served_chunk_ids(visibility)
    todo = sorted(served - store.done_ids(selector.data_format))
    progress.stage("sentences", len(todo))
    embedded = 0
    served_docs: set[str] = set()
    for begin in range(0, len(todo), CHUNKS_PER_BATCH):
        ids = todo[begin : begin + CHUNKS_PER_BATCH]
        chunks = facts.get_chunks(ids)
        embedded += selector.precompute([chunks[i] for i in ids if i in chunks])
        progress.advance(len(ids))
    for state in facts.file_states().values():
        if state.doc_id:
            served_docs.add(state.doc_id)
    removed = store.prune(served_docs, served)
    if embedded or removed:
        logger.info("sentence vectors: %d embedded, %d forgotten", embedded, removed)
    return embedded
