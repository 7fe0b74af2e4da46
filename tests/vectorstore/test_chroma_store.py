"""Chroma: one collection per visibility, batched writes, no embedding function of Chroma's own."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import ChromaSettings
from tests.conftest import make_settings
from vectorstore.chroma_store import ChunkVectors, VectorStoreUnavailableError, open_chroma_client
from vectorstore.records import ChunkRecord


def records(count: int, visibility: str = "public") -> list[ChunkRecord]:
    return [
        ChunkRecord(
            chunk_id=f"c{i}",
            doc_id="d",
            ord=i,
            start=i,
            end=i + 1,
            text=f"text {i}",
            section="",
            title="t",
            source="s.txt",
            language="en",
            visibility=visibility,  # type: ignore[arg-type]
            content_hash="h",
        )
        for i in range(count)
    ]


def unit_vectors(count: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


@pytest.fixture
def vectors(tmp_path) -> ChunkVectors:
    return ChunkVectors(open_chroma_client(make_settings(tmp_path)), "fake")


def test_writes_are_batched_under_chromas_max_batch_size(vectors, monkeypatch):
    monkeypatch.setattr(vectors, "_batch_size", 7)
    collection = vectors._collection("public")
    sizes: list[int] = []
    original = collection.upsert

    def spy(**kwargs):
        sizes.append(len(kwargs["ids"]))
        return original(**kwargs)

    monkeypatch.setattr(collection, "upsert", spy)
    vectors.add("public", records(50), unit_vectors(50))
    assert max(sizes) <= 7 and sum(sizes) == 50
    assert vectors.count("public") == 50
    assert vectors.all_ids("public") == {f"c{i}" for i in range(50)}


def test_visibilities_are_separate_collections_without_an_embedding_function(vectors):
    vectors.add("internal", records(3, "internal"), unit_vectors(3))
    assert vectors.count("public") == 0
    assert vectors.count("internal") == 3
    assert vectors.collection_name("public") != vectors.collection_name("internal")
    collection = vectors._collection("internal")
    assert collection.configuration.get("embedding_function") is None
    with pytest.raises(ValueError, match="embedding function"):
        collection.query(query_texts=["anything"], n_results=1)


def test_query_returns_nearest_first_and_existing_ids(vectors):
    data = unit_vectors(20)
    vectors.add("public", records(20), data)
    hits = vectors.query("public", data[5], 3)
    assert hits[0][0] == "c5" and hits[0][1] == pytest.approx(0.0, abs=1e-5)
    assert [d for _, d in hits] == sorted(d for _, d in hits)
    assert vectors.existing_ids("public", ["c1", "c19", "nope"]) == {"c1", "c19"}
    vectors.delete("public", ["c1", "nope"])
    assert "c1" not in vectors.all_ids("public")
    assert vectors.query("internal", data[0], 3) == []


@pytest.mark.integration
def test_server_mode_talks_to_a_real_chroma_server(chroma_server, tmp_path):
    host, port = chroma_server
    settings = make_settings(tmp_path, chroma=ChromaSettings(host=host, port=port))
    store = ChunkVectors(open_chroma_client(settings), "fake")
    store.heartbeat()
    data = unit_vectors(10)
    store.add("public", records(10), data)
    assert store.query("public", data[3], 1)[0][0] == "c3"
    assert not (tmp_path / "chroma").exists()  # nothing embedded on disk in server mode


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    from tests.conftest import free_port

    settings = make_settings(tmp_path, chroma=ChromaSettings(host="127.0.0.1", port=free_port()))
    with pytest.raises(VectorStoreUnavailableError, match="Chroma"):
        ChunkVectors(open_chroma_client(settings), "fake").heartbeat()
