"""Embedding model selection: the bundled model offline, prefixes for e5 models, clear errors."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.settings import EmbeddingsSettings
from tests.processes import run_in_forked_child
from vectorstore.embeddings import (
    SPIN_ROUNDS,
    EmbeddingModelError,
    ModelThread,
    SentenceTransformerEmbedder,
    configure_offline,
    default_prefixes,
    model_key,
    model_thread,
    passages_in_bfloat16,
    resolve_model_path,
)


def test_e5_models_get_query_and_passage_prefixes():
    assert default_prefixes("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert default_prefixes("bundled") == ("", "")
    assert default_prefixes("sentence-transformers/all-MiniLM-L6-v2") == ("", "")


def test_model_keys_are_stable_collection_safe_and_distinct():
    assert model_key("bundled") == "minilm-l6-v2"
    key = model_key("intfloat/multilingual-e5-small")
    assert key == model_key("intfloat/multilingual-e5-small")
    assert key != model_key("intfloat/multilingual-e5-base")
    assert all(ch.isalnum() or ch == "-" for ch in key)


def test_the_bundled_model_resolves_to_a_directory_inside_the_package():
    path = resolve_model_path("bundled")
    assert path.endswith("model")
    assert (__import__("pathlib").Path(path) / "modules.json").exists()


def test_a_model_that_is_not_available_offline_fails_with_a_clear_message():
    with pytest.raises(EmbeddingModelError, match="nothing is downloaded at run time"):
        SentenceTransformerEmbedder(EmbeddingsSettings(model="no-such-org/no-such-model-xyz"))


@pytest.mark.integration
def test_the_bundled_model_embeds_offline_and_ranks_meaning():
    real_embedder = SentenceTransformerEmbedder(EmbeddingsSettings(model="bundled"))
    vectors = real_embedder.encode_passages(
        [
            "The institute cooperates with the World Health Organization.",
            "Recipe: bake the bread for forty minutes.",
        ]
    )
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = real_embedder.encode_query("Which international organisations are partners?")
    assert float(vectors[0] @ query) > float(vectors[1] @ query)
    assert len(real_embedder.embed_query("hello")) == 384  # LangChain Embeddings interface


@pytest.mark.integration
def test_prefixes_from_settings_change_what_is_embedded():
    plain = SentenceTransformerEmbedder(EmbeddingsSettings(model="bundled"))
    prefixed = SentenceTransformerEmbedder(
        EmbeddingsSettings(model="bundled", query_prefix="query: ", passage_prefix="passage: ")
    )
    text = "cooperation agreement"
    assert not np.allclose(plain.encode_query(text), prefixed.encode_query(text))
    assert np.allclose(plain.encode_query("query: " + text), prefixed.encode_query(text), atol=1e-5)


@pytest.mark.integration
@pytest.mark.parametrize(("precision", "atol"), [("float32", 1e-4), ("bfloat16", 5e-3)])
def test_passages_of_mixed_length_come_back_in_the_order_given(precision: str, atol: float):
    """`encode_passages` groups texts by length across batches; each vector must still be its
    own text's, whatever the order and however many batches the call spans."""
    embedder = SentenceTransformerEmbedder(
        EmbeddingsSettings(model="bundled", batch_size=2, passage_precision=precision)  # type: ignore[arg-type]
    )
    texts = [
        "Short.",
        "The memorandum of understanding with the University of Tartu runs until 2027 "
        "and covers joint supervision of doctoral students in public health.",
        "Contact: Anna Petrova, international office.",
        "Erasmus+",
        "A much longer passage about the summer school, " * 8,
    ]
    together = embedder.encode_passages(texts)
    alone = np.stack([embedder.encode_passages([text])[0] for text in texts])
    assert together.shape == (len(texts), 384)
    assert np.allclose(together, alone, atol=atol)
    # Each text's vector is far from every other text's: the tolerance cannot hide a swap.
    assert float(np.max(together @ together.T - np.eye(len(texts)))) < 0.9


def test_torch_threads_are_told_to_stop_spinning_soon_unless_the_user_said_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libgomp's default spin keeps a core busy for milliseconds after each forward pass, the
    core the answer's vector query then needs; a value the user set is theirs."""
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    configure_offline()
    assert os.environ["GOMP_SPINCOUNT"] == SPIN_ROUNDS
    assert int(SPIN_ROUNDS) < 300_000  # libgomp's own default
    monkeypatch.setenv("GOMP_SPINCOUNT", "123")
    configure_offline()
    assert os.environ["GOMP_SPINCOUNT"] == "123"
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    configure_offline()
    assert "GOMP_SPINCOUNT" not in os.environ


def test_passage_precision_auto_takes_bfloat16_only_where_the_cpu_has_it(
    monkeypatch: pytest.MonkeyPatch,
):
    from vectorstore import embeddings

    def settings(precision: str, device: str = "cpu") -> EmbeddingsSettings:
        return EmbeddingsSettings(passage_precision=precision, device=device)  # type: ignore[arg-type]

    for native in (True, False):
        monkeypatch.setattr(embeddings, "native_bfloat16", lambda native=native: native)
        assert passages_in_bfloat16(settings("auto")) is native
        assert passages_in_bfloat16(settings("float32")) is False
        assert passages_in_bfloat16(settings("bfloat16")) is True  # asked for: obeyed
        assert passages_in_bfloat16(settings("auto", device="cuda")) is False


def test_an_unknown_passage_precision_is_refused_with_the_choices():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="'auto', 'float32' or 'bfloat16'"):
        EmbeddingsSettings(passage_precision="float16")  # type: ignore[arg-type]


@pytest.mark.integration
def test_passages_in_bfloat16_rank_as_float32_and_questions_stay_float32():
    """The ingest's faster arithmetic changes no answer: every passage's vector is within
    1e-3 of float32's in cosine, unit length, and each question finds the same best passage;
    a question's own vector is float32's exactly."""
    exact = SentenceTransformerEmbedder(
        EmbeddingsSettings(model="bundled", passage_precision="float32")
    )
    fast = SentenceTransformerEmbedder(
        EmbeddingsSettings(model="bundled", passage_precision="bfloat16")
    )
    assert (exact.passage_dtype, fast.passage_dtype) == ("float32", "bfloat16")
    passages = [
        "The memorandum of understanding with the University of Tartu runs until 31 May 2027.",
        "Contact person: Anna Petrova, head of the international office, +7 495 123-45-67.",
        "The summer school on epidemiology takes place in Kazan in July.",
        "Соглашение с Казахским национальным медицинским университетом действует до 2028 года.",
        "Erasmus+ staff mobility: two teachers per year in each direction.",
        "The joint laboratory publishes its results in open-access journals.",
    ]
    questions = [
        "When does the Tartu agreement expire?",
        "Who should I contact in the international office?",
        "Where is the summer school held?",
        "How many teachers go on Erasmus mobility?",
    ]
    a, b = exact.encode_passages(passages), fast.encode_passages(passages)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.999
    assert not np.array_equal(a, b)  # bfloat16 really ran
    for question in questions:
        vector = fast.encode_query(question)
        assert np.array_equal(vector, exact.encode_query(question))
        assert int(np.argmax(b @ vector)) == int(np.argmax(a @ vector))


def test_a_fused_embedder_says_in_which_arithmetic_each_part_embeds_passages():
    from tests.conftest import FakeEmbedder
    from vectorstore.composite_embedder import CompositeEmbedder

    minilm, use = FakeEmbedder(), FakeEmbedder()
    minilm.passage_dtype = "bfloat16"  # type: ignore[attr-defined]
    fused = CompositeEmbedder([minilm, use], [False, True])
    assert fused.passage_dtype == "bfloat16+float32"  # a part without the field: float32


def test_the_model_thread_runs_all_work_on_one_thread_whoever_asks():
    """Work asked from many threads runs on one thread, one piece at a time; work it asks for
    itself runs at once (no deadlock); an error reaches the caller."""
    worker = ModelThread()
    ran_on: list[int] = []
    running = threading.Semaphore(1)

    def work(n: int) -> int:
        assert running.acquire(blocking=False), "two pieces of work at once"
        try:
            ran_on.append(threading.get_ident())
            threading.Event().wait(0.002)
            return n * 2
        finally:
            running.release()

    with ThreadPoolExecutor(8) as callers:
        results = list(callers.map(lambda n: worker.run(work, n), range(40)))
    assert results == [n * 2 for n in range(40)]
    assert len(set(ran_on)) == 1 and ran_on[0] != threading.get_ident()
    assert worker.run(lambda: worker.run(work, 5)) == 10  # from the model thread itself
    with pytest.raises(ZeroDivisionError):
        worker.run(lambda: 1 // 0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_the_model_thread_works_in_a_forked_child():
    assert model_thread.run(os.getpid) == os.getpid()
    pid, seen = run_in_forked_child(lambda: model_thread.run(os.getpid))
    assert seen == pid


@pytest.mark.integration
def test_every_forward_pass_of_the_real_model_runs_on_the_model_thread():
    """Questions asked from request threads (a server's pool) are embedded on one thread, as
    from the main thread, with the same vectors."""
    embedder = SentenceTransformerEmbedder(EmbeddingsSettings(model="bundled"))
    passes: list[str] = []
    embedder._model.register_forward_pre_hook(
        lambda *_: passes.append(threading.current_thread().name)
    )
    questions = [f"Which agreements end in {year}?" for year in range(2026, 2034)]
    alone = [embedder.encode_query(q) for q in questions]
    with ThreadPoolExecutor(4) as callers:
        asked = list(callers.map(embedder.encode_query, questions))
    embedder.encode_passages(["The agreement ends in 2029.", "Contact: the rector's office."])
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(alone, asked, strict=True))
    assert len(passes) == 2 * len(questions) + 1
    assert {name.split("_")[0] for name in passes} == {"model"}


@pytest.mark.integration
def test_a_question_asked_during_a_long_embedding_waits_for_one_batch_only():
    """An ingest's passages go to the model thread batch by batch, so a question asked
    meanwhile (an upload while visitors ask) is embedded after the batch in progress, not
    after the whole call."""
    embedder = SentenceTransformerEmbedder(EmbeddingsSettings(model="bundled", batch_size=2))
    passes: list[int] = []
    first_batch = threading.Event()

    def record(_module: object, args: tuple[dict[str, object], ...]) -> None:
        passes.append(len(args[0]["input_ids"]))  # type: ignore[arg-type]
        first_batch.set()

    embedder._model.register_forward_pre_hook(record)
    texts = [f"The agreement number {n} ends in {2026 + n % 8}." for n in range(40)]
    with ThreadPoolExecutor(1) as ingest:
        embedded = ingest.submit(embedder.encode_passages, texts)
        assert first_batch.wait(60)
        embedder.encode_query("Which agreements end in 2029?")
        vectors = embedded.result(timeout=120)
    assert vectors.shape == (40, 384)
    assert len(passes) == 21 and passes.count(1) == 1  # 20 batches of two, one question
    assert passes.index(1) <= 2  # after the batch in progress (or the one just queued)
