"""Vectors written back, or computed again, when Chroma lost them.

Every served chunk has its vector in Chroma: an ingest writes vectors before it switches what is
served and deletes only vectors no longer served. Two things break that, and both are repaired
here:

- a process killed while embedded Chroma rewrote a collection's HNSW files leaves files Chroma
  cannot read ("Error deserializing pickle file"): the collection is dropped and every served
  chunk of its visibility is written again;
- a repair that was itself interrupted (its mark is still in the facts database) leaves a
  readable collection missing some served chunks: only those are written.

A chunk's vector is written back from the kept copy (`vectorstore.kept_vectors`) when it is
there, and embedded again only when it is not: at 100,000 chunks, about two minutes instead
of three quarters of an hour of embedding.

A collection that is merely empty is not repaired: that is what a newly configured embedding
model starts from, and the ingest fills it (with its own progress) as the files' pipeline changed.

The facts database (SQLite, one transaction per switch) is the truth, so nothing served is
lost; at worst embedding time is spent. Callers hold the ingest lock, so two processes never
repair at once and no ingest runs meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ingest.progress import NullProgress, Progress
from vectorstore.chroma_store import ChunkVectors
from vectorstore.embeddings import Embedder
from vectorstore.facts_db import FactsDB
from vectorstore.records import VISIBILITIES, Visibility

logger = logging.getLogger(__name__)

REPAIR_BATCH = 256


@dataclass
class VectorRepair:
    """What a check found and did, per visibility."""

    unreadable: dict[Visibility, str] = field(default_factory=dict)
    unfinished: list[Visibility] = field(default_factory=list)
    embedded: int = 0
    restored: int = 0  # written back from the kept copy, not embedded

    @property
    def needed(self) -> bool:
        """Whether any collection was unreadable or its repair unfinished."""
        return bool(self.unreadable or self.unfinished)

    def describe(self) -> str:
        """One line for a log or a report."""
        parts = [f"{vis}: unreadable ({reason[:160]})" for vis, reason in self.unreadable.items()]
        parts += [f"{vis}: an earlier repair was interrupted" for vis in self.unfinished]
        return "; ".join(parts) or "every collection can be read"


def repair_mark(vectors: ChunkVectors, visibility: Visibility) -> str:
    """The facts database's meta key that is set while a collection is being refilled."""
    return f"vector_repair:{vectors.collection_name(visibility)}"


def check_vectors(facts: FactsDB, vectors: ChunkVectors) -> VectorRepair:
    """Which collections cannot be read, or were being refilled when a process stopped (a
    count and a meta lookup each: cheap enough for every start and every ingest)."""
    found = VectorRepair()
    for vis in VISIBILITIES:
        reason = vectors.unreadable(vis)
        if reason is not None:
            found.unreadable[vis] = reason
        elif facts.get_meta(repair_mark(vectors, vis)) is not None:
            found.unfinished.append(vis)
    return found


def repair_vectors(
    facts: FactsDB,
    vectors: ChunkVectors,
    embedder: Embedder,
    progress: Progress | None = None,
) -> VectorRepair:
    """Check the collections and embed again what they lack. The caller holds the ingest lock."""
    progress = progress or NullProgress()
    found = check_vectors(facts, vectors)
    if not found.needed:
        return found
    logger.warning("repairing the vector index: %s", found.describe())
    for vis in VISIBILITIES:
        mark = repair_mark(vectors, vis)
        if vis in found.unreadable:
            with facts.transaction() as conn:  # set before anything is dropped
                FactsDB.set_meta(conn, mark, "refilling")
            vectors.recreate(vis)
            have: set[str] = set()
        elif vis in found.unfinished:
            have = vectors.all_ids(vis)
        else:
            continue
        missing = sorted(facts.served_chunk_ids(vis) - have)
        progress.stage(f"refilling {vis}", len(missing))
        for begin in range(0, len(missing), REPAIR_BATCH):
            batch = missing[begin : begin + REPAIR_BATCH]
            chunks = facts.get_chunks(batch)
            records = [chunks[chunk_id] for chunk_id in batch if chunk_id in chunks]
            kept = vectors.kept_vectors(vis, [record.chunk_id for record in records])
            restore = [record for record in records if record.chunk_id in kept]
            if restore:
                restored = np.stack([kept[r.chunk_id] for r in restore])
                vectors.add(vis, restore, restored, keep=False)  # already in the copy
                found.restored += len(restore)
            embed = [record for record in records if record.chunk_id not in kept]
            if embed:
                texts = [record.embedding_text() for record in embed]
                vectors.add(vis, embed, embedder.encode_passages(texts))
                found.embedded += len(embed)
            progress.advance(len(batch))
        with facts.transaction() as conn:
            FactsDB.set_meta(conn, mark, None)
    logger.warning(
        "the vector index is repaired: %d chunks written back from the kept vectors, %d "
        "embedded again",
        found.restored,
        found.embedded,
    )
    return found
