"""Embedding model selection: the bundled model offline, prefixes for e5 models, clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from assistant.settings import EmbeddingsSettings
from vectorstore.embeddings import (
    SPIN_ROUNDS,
    EmbeddingModelError,
    SentenceTransformerEmbedder,
    configure_offline,
    default_prefixes,
    model_key,
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
def test_passages_of_mixed_length_come_back_in_the_order_given():
    """`encode_passages` groups texts by length across batches; each vector must still be its
    own text's, whatever the order and however many batches the call spans."""
    embedder = SentenceTransformerEmbedder(EmbeddingsSettings(model="bundled", batch_size=2))
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
    assert np.allclose(together, alone, atol=1e-4)


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
