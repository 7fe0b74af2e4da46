"""The sentence pass keeps what it reads of a chunk (its sentences, their stemmed terms and
words) for the next question that retrieves it: the same evidence, no tokenizing again."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.factory import build_assistant
from assistant.resources import Resources, open_resources
from assistant.retrieval.evidence import EvidenceSelector, SentenceVectorCache
from assistant.retrieval.question_analysis import analyse
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings
from vectorstore.lexical import BilingualTokenizer
from vectorstore.sentence_store import SentenceStore, as_stored

QUESTIONS = (
    "Which agreements were signed with the World Health Organization?",
    "Who is the contact for the Skolkovo agreement?",
    "When does the agreement with the World Health Organization expire?",
)


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Resources]:
    """Resources (with the fake embedder) that serve the sample corpus to visitors."""
    resources = open_resources(make_settings(tmp_path / "var"), embedder=FakeEmbedder())
    try:
        resources.ingest_service().ingest([SAMPLE_DIR], "public")
        yield resources
    finally:
        resources.close()


class CountingTokenizer(BilingualTokenizer):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def tokenize(self, text: str) -> list[str]:
        self.texts += 1
        return super().tokenize(text)


def test_a_chunk_retrieved_again_is_not_read_again_and_scores_the_same(sample: Resources):
    embedder = sample.embedder
    assert embedder is not None
    searcher = build_assistant(sample).searcher
    asked = []
    for question in QUESTIONS:
        vector = searcher.query_vector(question, "en")
        asked.append((question, vector, searcher.search(question, "public", query_vector=vector)))
    kept_tokenizer, fresh_tokenizer = CountingTokenizer(), CountingTokenizer()
    kept = EvidenceSelector(embedder, kept_tokenizer, cache=SentenceVectorCache())
    fresh = EvidenceSelector(embedder, fresh_tokenizer, cache=SentenceVectorCache(), chunks_kept=0)
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


class CountingStore(SentenceStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads: list[int] = []

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        self.reads.append(len(keys))
        return super().get_many(keys)


def test_chunks_prepared_ahead_are_not_read_again_and_score_the_same(
    sample: Resources, tmp_path: Path
):
    """What a search prepares while it waits (sentences, kept vectors) is what selecting then
    uses: the same evidence, no chunk tokenized and no vector read twice; a preparation told
    to stop at once prepares nothing."""
    embedder = sample.embedder
    assert embedder is not None
    searcher = build_assistant(sample).searcher
    question = QUESTIONS[0]
    vector = searcher.query_vector(question, "en")
    hits = searcher.search(question, "public", query_vector=vector)
    chunks = [hit.chunk for hit in hits]
    store = CountingStore(tmp_path / "sentences.sqlite3")
    EvidenceSelector(embedder, BilingualTokenizer(), cache=SentenceVectorCache(store=store)).select(
        question, vector, hits, analyse(question)
    )  # the store now keeps every sentence vector of these chunks
    plain = EvidenceSelector(
        embedder, BilingualTokenizer(), cache=SentenceVectorCache(store=store)
    ).select(question, vector, hits, analyse(question))

    tokenizer = CountingTokenizer()
    selector = EvidenceSelector(embedder, tokenizer, cache=SentenceVectorCache(store=store))
    selector.prepare(chunks, lambda: True)
    assert tokenizer.texts == 0
    store.reads.clear()
    selector.prepare(chunks, lambda: False)
    prepared = tokenizer.texts
    assert prepared > 0 and len(store.reads) == 1
    evidence = selector.select(question, vector, hits, analyse(question))
    assert tokenizer.texts - prepared == 1  # the question alone
    assert len(store.reads) == 1  # every vector was in memory
    assert evidence == plain and evidence


def test_the_decline_check_reads_the_words_kept_with_the_sentences_as_it_would_the_text(
    sample: Resources,
):
    """The evidence carries each sentence's words, worked out once per chunk; the decline
    check decides from them exactly as from the text itself."""
    from dataclasses import replace

    from assistant.answering.decline import focus_covered

    embedder = sample.embedder
    assert embedder is not None
    assistant = build_assistant(sample)
    searcher = assistant.searcher
    selector = EvidenceSelector(embedder, BilingualTokenizer())
    decided = []
    for question in (
        *QUESTIONS,
        "Кто подписал соглашение с ВОЗ?",
        "When does the agreement with the Quokkaville Institute expire?",
        "Which agreements did the Brazil office sign in 2017?",
    ):
        vector = searcher.query_vector(question, "en")
        profile = analyse(question)
        evidence = selector.select(
            question, vector, searcher.search(question, "public", query_vector=vector), profile
        )
        assert evidence and all(item.words for item in evidence)
        bare = [replace(item, words=frozenset(), capitalised=frozenset()) for item in evidence]
        decided.append(focus_covered(profile, evidence))
        assert decided[-1] == focus_covered(profile, bare)
    assert True in decided and False in decided  # both outcomes were compared
