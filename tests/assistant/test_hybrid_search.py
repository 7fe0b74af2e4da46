"""The hybrid search: served chunks only, a question asked again is not embedded again, and
the collections a search needs are asked at once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.factory import build_assistant
from assistant.resources import Resources, open_resources
from assistant.retrieval import hybrid
from assistant.retrieval.hybrid import HybridSearcher
from assistant.settings import EmbeddingsSettings
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings
from tests.processes import run_in_forked_child
from vectorstore.records import ChunkRecord, Visibility

QUESTION = "Which agreements were signed with the World Health Organization?"


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the questions it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def encode_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return super().encode_query(text)


def _indexed(folder: Path, embedder: FakeEmbedder, **overrides: object) -> Resources:
    settings = make_settings(folder / "var", **overrides)
    resources = open_resources(settings, embedder=embedder)
    IngestService(settings, resources.facts, resources.vectors, resources.lexical, embedder).ingest(
        [SAMPLE_DIR], "public"
    )
    return resources


def _searcher(resources: Resources, kept: int = 2048) -> HybridSearcher:
    assert resources.embedder is not None
    return HybridSearcher(
        resources.facts,
        resources.vectors,
        resources.lexical,
        resources.embedder,
        query_vectors_kept=kept,
    )


def test_a_question_asked_again_embeds_nothing_and_its_answer_is_the_same(tmp_path: Path):
    embedder = CountingEmbedder()
    resources = _indexed(tmp_path, embedder)
    try:
        service = build_assistant(resources)
        first = service.ask(QUESTION, "public")
        asked = len(embedder.queries)
        second = service.ask(QUESTION, "public")
        assert len(embedder.queries) == asked  # the second time, no question was embedded
        assert first.found and second.found
        assert (second.answer, second.citations) == (first.answer, first.citations)
        service.ask(
            "Who signed the agreement between the Ministry of Labor and Skolkovo?", "public"
        )
        assert len(embedder.queries) == asked + 1  # a new question is embedded
    finally:
        resources.close()


def test_kept_question_vectors_are_bounded_and_read_only(tmp_path: Path):
    embedder = CountingEmbedder()
    resources = _indexed(tmp_path, embedder)
    try:
        searcher = _searcher(resources, kept=2)
        vector = searcher.query_vector("first question", "en")
        with pytest.raises(ValueError):
            vector[0] = 5.0  # shared between requests: nobody may change it
        searcher.query_vector("second question", "en")
        searcher.query_vector("first question", "en")  # kept: most recently used now
        searcher.query_vector("third question", "en")  # pushes out "second question"
        assert embedder.queries == ["first question", "second question", "third question"]
        searcher.query_vector("second question", "en")
        assert embedder.queries[-1] == "second question"
        assert len(embedder.queries) == 4
    finally:
        resources.close()


def test_query_cache_zero_embeds_every_question(tmp_path: Path):
    embedder = CountingEmbedder()
    resources = _indexed(tmp_path, embedder, embeddings=EmbeddingsSettings(query_cache=0))
    try:
        service = build_assistant(resources)
        service.ask(QUESTION, "public")
        asked = len(embedder.queries)
        service.ask(QUESTION, "public")
        assert len(embedder.queries) == 2 * asked
    finally:
        resources.close()


def test_vectors_without_a_served_chunk_are_never_returned_and_take_no_rank(tmp_path: Path):
    """A vector left behind (an interrupted ingest, a withdrawn file) that matches the question
    best is skipped: the k results are served chunks, in the order they have without it."""
    embedder = FakeEmbedder()
    resources = _indexed(tmp_path, embedder)
    try:
        searcher = _searcher(resources)
        before = searcher.search(QUESTION, "public", k=5)
        assert len(before) == 5
        template = before[0].chunk
        orphan = replace(template, chunk_id="orphan-chunk", text=QUESTION)
        resources.vectors.add("public", [orphan], embedder.encode_passages([QUESTION]))
        assert resources.vectors.query("public", embedder.encode_query(QUESTION), 1)[0][0] == (
            "orphan-chunk"
        )
        after = _searcher(resources).search(QUESTION, "public", k=5)
        assert [hit.chunk.chunk_id for hit in after] == [hit.chunk.chunk_id for hit in before]
        assert [hit.dense_rank for hit in after] == [hit.dense_rank for hit in before]
        served = resources.facts.served_chunk_ids("public")
        assert template.chunk_id in served and "orphan-chunk" not in served
    finally:
        resources.close()


def test_a_staff_search_asks_both_collections_at_once_and_finds_both(tmp_path: Path):
    """Each of the two vector queries waits until the other has started: asked one after the
    other, the first would wait in vain (the barrier breaks after 20 s)."""
    embedder = FakeEmbedder()
    resources = _indexed(tmp_path, embedder)
    try:
        internal = tmp_path / "internal"
        internal.mkdir()
        (internal / "memo.md").write_text(
            "# Staff memo\n\nThe World Health Organization agreements are reviewed by the "
            "rector's office every March.\n",
            encoding="utf-8",
        )
        settings = make_settings(tmp_path / "var")
        IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        ).ingest([internal], "internal")
        searcher = _searcher(resources)
        alone = searcher.search(QUESTION, "staff", k=40)
        both_started = threading.Barrier(2, timeout=20)
        query = resources.vectors.query
        asked: list[str] = []

        def waiting_query(
            visibility: Visibility, vector: np.ndarray, k: int
        ) -> list[tuple[str, float]]:
            asked.append(visibility)
            both_started.wait()
            return query(visibility, vector, k)

        resources.vectors.query = waiting_query  # type: ignore[method-assign]
        together = searcher.search(QUESTION, "staff", k=40)
        assert sorted(asked) == ["internal", "public"]
        assert [hit.chunk.chunk_id for hit in together] == [hit.chunk.chunk_id for hit in alone]
        assert {hit.chunk.visibility for hit in together} == {"internal", "public"}
    finally:
        resources.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_the_query_threads_work_in_a_forked_child():
    """A child forked after the parent made its query threads gets threads of its own (the
    parent's do not exist in it; without new ones its searches would wait forever)."""
    assert hybrid._dense_threads.pool().submit(os.getpid).result(timeout=20) == os.getpid()
    pid, seen = run_in_forked_child(
        lambda: hybrid._dense_threads.pool().submit(os.getpid).result(timeout=20)
    )
    assert seen == pid


def test_the_lexical_best_are_prepared_while_the_vector_query_runs(tmp_path: Path):
    """The caller's preparation gets the lexical leg's best chunks while the vector query is
    still running, is told to stop once it has finished, and changes no result."""
    embedder = FakeEmbedder()
    resources = _indexed(tmp_path, embedder)
    try:
        searcher = _searcher(resources)
        plain = searcher.search(QUESTION, "public", k=5)
        query = resources.vectors.query
        finished = threading.Event()

        def slow_query(
            visibility: Visibility, vector: np.ndarray, k: int
        ) -> list[tuple[str, float]]:
            try:
                threading.Event().wait(0.3)
                return query(visibility, vector, k)
            finally:
                finished.set()

        resources.vectors.query = slow_query  # type: ignore[method-assign]
        prepared: list[str] = []
        stopped_after_query: list[bool] = []

        def prepare(chunks: list[ChunkRecord], stop: Callable[[], bool]) -> None:
            prepared.extend(chunk.chunk_id for chunk in chunks)
            assert not stop() and not finished.is_set()  # the vector query still runs
            for _ in range(2000):  # at most 20 s
                if stop():
                    break
                threading.Event().wait(0.01)
            stopped_after_query.append(stop() and finished.is_set())

        hits = searcher.search(QUESTION, "public", k=5, prepare=prepare)
        assert stopped_after_query == [True]
        lexical = searcher.lexical_index("public").search(QUESTION, 30)
        assert prepared == [chunk_id for chunk_id, _ in lexical[:5]]
        assert [(h.chunk, h.score, h.dense_rank, h.lexical_rank) for h in hits] == [
            (h.chunk, h.score, h.dense_rank, h.lexical_rank) for h in plain
        ]
    finally:
        resources.close()
