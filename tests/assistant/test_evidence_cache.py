"""The sentence pass keeps what it reads of a chunk (its sentences, their stemmed terms and
words) for the next question that retrieves it: the same evidence, no tokenizing again."""

from __future__ import annotations

from pathlib import Path

from assistant.answering.factory import build_assistant
from assistant.resources import open_resources
from assistant.retrieval.evidence import EvidenceSelector, SentenceVectorCache
from assistant.retrieval.question_analysis import analyse
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings
from vectorstore.lexical import BilingualTokenizer
from vectorstore.sentence_store import SentenceStore, as_stored

QUESTIONS = (
    "Which agreements were signed with the World Health Organization?",
    "Who is the contact for the Skolkovo agreement?",
    "When does the agreement with the World Health Organization expire?",
)


class CountingTokenizer(BilingualTokenizer):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def tokenize(self, text: str) -> list[str]:
        self.texts += 1
        return super().tokenize(text)


def test_a_chunk_retrieved_again_is_not_read_again_and_scores_the_same(tmp_path: Path):
    embedder = FakeEmbedder()
    settings = make_settings(tmp_path / "var")
    resources = open_resources(settings, embedder=embedder)
    try:
        IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        ).ingest([SAMPLE_DIR], "public")
        searcher = build_assistant(resources).searcher
        asked = []
        for question in QUESTIONS:
            vector = searcher.query_vector(question, "en")
            asked.append(
                (question, vector, searcher.search(question, "public", query_vector=vector))
            )
        kept_tokenizer, fresh_tokenizer = CountingTokenizer(), CountingTokenizer()
        kept = EvidenceSelector(embedder, kept_tokenizer, cache=SentenceVectorCache())
        fresh = EvidenceSelector(
            embedder, fresh_tokenizer, cache=SentenceVectorCache(), chunks_kept=0
        )
        first = [kept.select(q, v, hits, analyse(q)) for q, v, hits in asked]
        read = kept_tokenizer.texts
        again = [kept.select(q, v, hits, analyse(q)) for q, v, hits in asked]
        questions_only = len(QUESTIONS)  # each question's own terms are tokenized every time
        assert kept_tokenizer.texts - read == questions_only
        unkept = [fresh.select(q, v, hits, analyse(q)) for q, v, hits in asked]
        fresh_read = fresh_tokenizer.texts
        [fresh.select(q, v, hits, analyse(q)) for q, v, hits in asked]
        assert fresh_tokenizer.texts - fresh_read == fresh_read > questions_only  # all again
        assert first == again == unkept
        assert all(first)  # every question found sentences to score
        # A chunk's sentences are scored with the rank it has for this question.
        q, v, hits = asked[0]
        reordered = kept.select(q, v, list(reversed(hits)), analyse(q))
        ranks = {hit.chunk.chunk_id: rank for rank, hit in enumerate(reversed(hits))}
        for evidence in reordered:
            assert evidence.chunk_rank == ranks[evidence.chunk.chunk_id]
    finally:
        resources.close()


def test_a_sentence_repeated_across_documents_is_embedded_once_and_kept_for_each(
    tmp_path: Path,
):
    embedder = FakeEmbedder()
    store = SentenceStore(tmp_path / "sentences.sqlite")
    try:
        cache = SentenceVectorCache(store=store)
        clause = "Progress is reviewed every year by a joint working group."
        keys = ["a:0:57", "b:10:67", "c:0:20", "a:0:57"]
        texts = [clause, clause, "Contact: Dr. Ivanova", clause]
        vectors = cache.vectors(embedder, keys, texts, ["a", "b", "c", "a"])
        assert embedder.passages_embedded == 2  # the clause once, the contact line once
        assert vectors.shape == (4, embedder.dimension)
        expected = as_stored(embedder.encode_passages(texts))
        assert (vectors == expected).all()  # every row is its own text's vector
        # Both documents' copies are kept: a fresh cache over the store embeds nothing.
        before = embedder.passages_embedded
        again = SentenceVectorCache(store=store).vectors(embedder, keys[:3], texts[:3], ["a"] * 3)
        assert embedder.passages_embedded == before
        assert (again == expected[:3]).all()
    finally:
        store.close()
