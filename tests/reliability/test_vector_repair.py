"""Chroma's index files torn by a crash: the next process embeds again from the facts database
what Chroma lost, and serves every chunk, instead of failing on every question.

Embedded Chroma rewrites a collection's HNSW files in place once it holds more than its sync
threshold (1,000 vectors), and a `kill -9` in the middle leaves files it cannot read. The tests
tear those files as such a kill does (the real thing is the fault test in
`test_ingest_crash.py`, where it happens now and then).
"""

from __future__ import annotations

import random
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaClientSettings
from chromadb.errors import InternalError

from assistant.resources import Resources, open_resources
from assistant.retrieval.hybrid import HybridSearcher
from assistant.settings import Settings
from ingest.repair import check_vectors, repair_mark
from ingest.sync import IngestService
from tests.conftest import FakeEmbedder, make_settings
from vectorstore.chroma_store import ChunkVectors, is_unreadable_index, open_chroma_client
from vectorstore.facts_db import FactsDB
from vectorstore.kept_vectors import KeptVectors
from vectorstore.lexical import LexicalStore
from vectorstore.records import Visibility

pytestmark = pytest.mark.integration

WORDS = [
    "agreement",
    "partner",
    "university",
    "exchange",
    "programme",
    "research",
    "clinic",
    "institute",
    "memorandum",
    "students",
    "internship",
    "conference",
    "delegation",
    "grant",
    "laboratory",
    "course",
    "visit",
    "Hanoi",
    "Serbia",
]
SYNC_THRESHOLD = 1000  # Chroma's default: below it, no index file is authoritative


def write_corpus(folder: Path, files: int, seed: int) -> None:
    """Files of many short paragraphs, each paragraph naming its file."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for number in range(files):
        paragraphs = [
            f"doc{seed}x{number} " + " ".join(rng.choice(WORDS) for _ in range(14)) + "."
            for _ in range(30)
        ]
        (folder / f"doc{number:03d}.md").write_text(
            f"# Document {number}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )


def small_chunks(data_dir: Path, **extra: object) -> Settings:
    return make_settings(
        data_dir,
        ingest={"chunk_target_chars": 200, "chunk_max_chars": 300, "chunk_overlap_chars": 0},
        **extra,
    )


def ingest(resources: Resources, folder: Path, visibility: Visibility) -> None:
    assert not resources.ingest_service().ingest([folder], visibility).failed


def reopen_chroma() -> None:
    """What a new process sees: no client cached with the files' old contents."""
    SharedSystemClient.clear_system_cache()


def tear_index_files(settings: Settings) -> list[Path]:
    """Cut every collection's HNSW metadata file short, as a kill mid-write does."""
    torn = sorted(settings.chroma_path.glob("*/index_metadata.pickle"))
    for path in torn:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    return torn


def chroma_count_fails(settings: Settings, name: str) -> bool:
    client = chromadb.PersistentClient(
        path=str(settings.chroma_path),
        settings=ChromaClientSettings(anonymized_telemetry=False),
    )
    try:
        client.get_collection(name).count()
    except InternalError as exc:
        return is_unreadable_index(exc)
    finally:
        reopen_chroma()
    return False


@pytest.fixture
def built(tmp_path: Path) -> tuple[Settings, Path, Path]:
    """1,200 public chunks (past the sync threshold: index files on disk) and a few internal."""
    settings = small_chunks(tmp_path / "var")
    public, internal = tmp_path / "public", tmp_path / "internal"
    write_corpus(public, 80, seed=1)
    write_corpus(internal, 3, seed=2)
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        ingest(resources, public, "public")
        ingest(resources, internal, "internal")
        assert len(resources.facts.served_chunk_ids("public")) > SYNC_THRESHOLD
    finally:
        resources.close()
    reopen_chroma()
    return settings, public, internal


def assert_serves_every_chunk(resources: Resources) -> None:
    for visibility in ("public", "internal"):
        served = resources.facts.served_chunk_ids(visibility)
        assert resources.vectors.all_ids(visibility) == served
    searcher = HybridSearcher(
        resources.facts,
        resources.vectors,
        resources.lexical,
        resources.embedder,  # type: ignore[arg-type]
    )
    hits = searcher.search("doc1x42 memorandum", "public", k=4)
    assert hits and hits[0].chunk.text.startswith("doc1x42")


def kept_vectors_file(settings: Settings) -> Path:
    (path,) = (settings.data_dir / "kept-vectors").glob("*.sqlite3")
    return path


@pytest.mark.parametrize("copy", ["kept", "lost"])
def test_torn_index_files_are_refilled_when_the_next_process_opens_them(built, copy):
    """The vectors come back from the kept copy, embedding nothing; with the copy lost too,
    they are embedded again."""
    settings, _, _ = built
    torn = tear_index_files(settings)
    assert torn, "Chroma wrote no HNSW metadata file past its sync threshold"
    name = ChunkVectors(open_chroma_client(settings), FakeEmbedder.key).collection_name("public")
    reopen_chroma()
    assert chroma_count_fails(settings, name)  # what every question met before the repair
    if copy == "lost":
        kept_vectors_file(settings).unlink()

    embedder = FakeEmbedder()
    resources = open_resources(settings, embedder=embedder)
    try:
        public = len(resources.facts.served_chunk_ids("public"))
        # Only the unreadable collection is refilled; the small internal one was not torn.
        assert embedder.passages_embedded == (0 if copy == "kept" else public)
        assert_serves_every_chunk(resources)
        assert not check_vectors(resources.facts, resources.vectors).needed
        # Written back as they were computed (Chroma keeps unit vectors in a cosine space, which
        # these are already: equal up to its normalising them again).
        sample = sorted(resources.facts.served_chunk_ids("public"))[::50]
        chunks = resources.facts.get_chunks(sample)
        stored = resources.vectors._collection("public").get(ids=sample, include=["embeddings"])
        computed = FakeEmbedder().encode_passages(
            [chunks[chunk_id].embedding_text() for chunk_id in stored["ids"]]
        )
        assert np.allclose(np.asarray(stored["embeddings"], dtype=np.float32), computed, atol=1e-6)
    finally:
        resources.close()
    assert not any(path.parent.exists() for path in torn)  # Chroma leaves them; we do not

    reopen_chroma()
    again = FakeEmbedder()
    resources = open_resources(settings, embedder=again)
    try:
        assert again.passages_embedded == 0  # a healthy index costs a count, not a rebuild
        assert_serves_every_chunk(resources)
    finally:
        resources.close()


def cut_a_repair_short(facts: FactsDB, vectors: ChunkVectors, every: int) -> list[str]:
    """The state a kill leaves in the middle of a repair: its mark set, some vectors missing."""
    with facts.transaction() as conn:
        FactsDB.set_meta(conn, repair_mark(vectors, "public"), "refilling")
    lost = sorted(facts.served_chunk_ids("public"))[::every]
    vectors.delete("public", lost)
    return lost


@pytest.mark.parametrize("copy", ["kept", "lost"])
def test_a_repair_cut_short_is_completed_and_only_the_missing_chunks_are_written(built, copy):
    """From the kept copy (nothing embedded), or, where it lacks them, embedded again."""
    settings, _, _ = built
    vectors = ChunkVectors(open_chroma_client(settings), FakeEmbedder.key)
    facts = FactsDB(settings.facts_db_path)
    try:
        lost = cut_a_repair_short(facts, vectors, every=7)
    finally:
        facts.close()
    reopen_chroma()
    if copy == "lost":
        kept = KeptVectors(kept_vectors_file(settings))
        kept.delete("public", lost[::2])
        kept.close()

    embedder = FakeEmbedder()
    resources = open_resources(settings, embedder=embedder)
    try:
        assert embedder.passages_embedded == (0 if copy == "kept" else len(lost[::2]))
        assert_serves_every_chunk(resources)
        assert resources.facts.get_meta(repair_mark(resources.vectors, "public")) is None
    finally:
        resources.close()


def test_an_ingest_repairs_what_another_process_left_torn_before_it_runs(built, tmp_path):
    settings, public, _ = built
    tear_index_files(settings)
    reopen_chroma()
    (public / "doc000.md").write_text("# Changed\n\ndoc1x0 a new version.\n", encoding="utf-8")
    # The stores as a long-running server holds them (opened before the crash, no check since).
    facts = FactsDB(settings.facts_db_path)
    vectors = ChunkVectors(open_chroma_client(settings), FakeEmbedder.key, settings.chroma_path)
    embedder = FakeEmbedder()
    service = IngestService(settings, facts, vectors, LexicalStore(settings.lexical_path), embedder)
    try:
        report = service.ingest([public], "public")
        served = facts.served_chunk_ids("public")
        assert report.count("updated") == 1 and not report.failed
        assert report.repaired_chunks > SYNC_THRESHOLD  # with no kept copy: all embedded
        assert report.repaired_embedded == report.repaired_chunks
        assert vectors.all_ids("public") == served
    finally:
        facts.close()


def test_a_data_directory_from_before_vectors_were_kept_gets_its_copy_at_the_next_ingest(
    built, tmp_path
):
    """Its vectors are copied from Chroma (exactly, nothing embedded), and a repair then
    embeds nothing."""
    settings, public, _ = built
    kept_vectors_file(settings).unlink()
    reopen_chroma()
    embedder = FakeEmbedder()
    resources = open_resources(settings, embedder=embedder)
    try:
        report = resources.ingest_service().ingest([public], "public")
        served = sorted(resources.facts.served_chunk_ids("public"))
        assert report.kept_copied >= len(served) and embedder.passages_embedded == 0
        assert resources.vectors.kept is not None
        kept = resources.vectors.kept.get("public", served)
        stored = resources.vectors._collection("public").get(ids=served, include=["embeddings"])
        for chunk_id, vector in zip(stored["ids"], stored["embeddings"], strict=True):
            assert np.array_equal(kept[chunk_id], np.asarray(vector, dtype=np.float32))
    finally:
        resources.close()
    reopen_chroma()
    tear_index_files(settings)
    reopen_chroma()
    again = FakeEmbedder()
    resources = open_resources(settings, embedder=again)
    try:
        assert again.passages_embedded == 0
        assert_serves_every_chunk(resources)
    finally:
        resources.close()


def test_a_process_holding_a_collection_another_process_recreated_finds_it_again(tmp_path):
    settings = make_settings(tmp_path / "var")
    client = open_chroma_client(settings)
    reader = ChunkVectors(client, "fake")
    writer = ChunkVectors(client, "fake", settings.chroma_path)
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    assert reader.query("public", vector, 3) == []  # the reader caches the collection
    writer.recreate("public")
    assert reader.query("public", vector, 3) == []  # gone: nothing found, nothing created
    from tests.vectorstore.test_chroma_store import records, unit_vectors

    writer.add("public", records(5), unit_vectors(5))
    assert len(reader.query("public", vector, 3)) == 3


def test_only_unreadable_index_errors_count_as_damage():
    torn = InternalError(
        "Error executing plan: Error sending backfill request to compactor: Error constructing "
        "hnsw segment reader: Error deserializing pickle file: EOF while parsing"
    )
    assert is_unreadable_index(torn)
    assert is_unreadable_index(InternalError("Failed to apply logs to the hnsw segment writer"))
    # A full disk is not damage: dropping the collection would only lose more.
    assert not is_unreadable_index(
        InternalError("Failed to apply logs to the hnsw segment writer: No space left on device")
    )
    assert not is_unreadable_index(InternalError("Error executing plan: database is locked"))
    assert not is_unreadable_index(ValueError("hnsw"))


def test_a_repair_cut_short_on_a_chroma_server_is_completed(tmp_path, chroma_server):
    host, port = chroma_server
    settings = make_settings(tmp_path / "var", chroma={"host": host, "port": port})
    folder = tmp_path / "docs"
    write_corpus(folder, 4, seed=3)
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        ingest(resources, folder, "public")
        lost = cut_a_repair_short(resources.facts, resources.vectors, every=9)
    finally:
        resources.close()

    embedder = FakeEmbedder()
    resources = open_resources(settings, embedder=embedder)
    try:
        assert embedder.passages_embedded == len(lost)
        assert resources.vectors.all_ids("public") == resources.facts.served_chunk_ids("public")
    finally:
        resources.close()
