"""Sync: unchanged files cost nothing, changes replace chunks everywhere, deletions propagate,
bad files are reported without stopping the batch, and a failed run leaves the old state served."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant.answering.factory import build_assistant
from assistant.resources import Resources
from ingest.sync import IngestReport, IngestService, lexical_key
from tests.conftest import SAMPLE_DIR, FakeEmbedder
from vectorstore.lexical import LexicalIndex
from vectorstore.records import Visibility


def service(resources: Resources) -> IngestService:
    return resources.ingest_service()


def ingest(resources: Resources, *paths: Path, visibility: Visibility = "public") -> IngestReport:
    return service(resources).ingest(list(paths), visibility)


def served(resources: Resources, visibility: Visibility) -> set[str]:
    return resources.facts.served_chunk_ids(visibility)


def lexical_ids(resources: Resources, visibility: Visibility) -> set[str]:
    generation = resources.facts.get_meta(lexical_key(visibility))
    return set(resources.lexical.load(visibility, generation).ids)


def assert_indexes_agree(resources: Resources) -> None:
    """Facts DB, Chroma and BM25 hold exactly the same chunks, per visibility."""
    for visibility in ("public", "internal"):
        ids = served(resources, visibility)
        assert resources.vectors.all_ids(visibility) == ids
        assert lexical_ids(resources, visibility) == ids


def lexical_sources(resources: Resources, visibility: Visibility, query: str) -> set[str]:
    generation = resources.facts.get_meta(lexical_key(visibility))
    hits = resources.lexical.load(visibility, generation).search(query, 10)
    return {chunk.source for chunk in resources.facts.get_chunks(i for i, _ in hits).values()}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The three seed pages (the prose documents of the sample)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for seed in SAMPLE_DIR.glob("*.txt"):
        shutil.copy(seed, folder / seed.name)
    return folder


def test_first_ingest_indexes_every_sample_document_everywhere(resources, corpus):
    report = ingest(resources, corpus)
    assert report.count("added") == 3
    assert not report.failed
    assert report.embedded_chunks == len(served(resources, "public")) > 3
    assert_indexes_agree(resources)
    assert served(resources, "internal") == set()


def test_every_chunk_is_an_exact_slice_of_its_documents_text(resources, corpus):
    ingest(resources, corpus)
    for state in resources.facts.file_states().values():
        assert state.doc_id is not None
        document = resources.facts.get_document(state.doc_id)
        assert document is not None
        chunks = resources.facts.document_chunks(state.doc_id)
        assert chunks
        for chunk in chunks:
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.language == "en"
            assert chunk.visibility == "public"
            assert chunk.title and chunk.source.startswith("corpus/")


def test_reingesting_unchanged_files_does_no_embedding_work(resources, corpus, fake_embedder):
    ingest(resources, corpus)
    before = fake_embedder.passages_embedded
    report = ingest(resources, corpus)
    assert report.count("unchanged") == 3
    assert not report.changed
    assert fake_embedder.passages_embedded == before


def test_touching_a_file_without_changing_it_does_no_embedding_work(
    resources, corpus, fake_embedder
):
    ingest(resources, corpus)
    before = fake_embedder.passages_embedded
    target = next(corpus.glob("*.txt"))
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    report = ingest(resources, corpus)
    assert report.count("unchanged") == 3
    assert fake_embedder.passages_embedded == before
    # and the new timestamp is remembered, so the file is not even hashed next time
    assert resources.facts.file_states()[str(target)].mtime_ns == target.stat().st_mtime_ns


def test_a_changed_file_replaces_its_chunks_everywhere(resources, corpus):
    ingest(resources, corpus)
    target = corpus / "002_34b770f422913c14.txt"
    doc_id = resources.facts.file_states()[str(target)].doc_id
    old_ids = {c.chunk_id for c in resources.facts.document_chunks(doc_id)}
    assert "Skolkovo" in target.read_text(encoding="utf-8")
    target.write_text(
        "Partnership with Quokkaville University\n\nWe signed a memorandum with Quokkaville "
        "University in 2024.\n",
        encoding="utf-8",
    )
    report = ingest(resources, corpus)
    assert report.count("updated") == 1 and report.count("unchanged") == 2
    new_ids = {c.chunk_id for c in resources.facts.document_chunks(doc_id)}
    assert new_ids and not (new_ids & old_ids)
    assert_indexes_agree(resources)
    assert "corpus/002_34b770f422913c14.txt" in lexical_sources(resources, "public", "Quokkaville")
    assert "corpus/002_34b770f422913c14.txt" not in lexical_sources(resources, "public", "Skolkovo")


def test_a_file_removed_from_an_ingested_folder_is_removed_everywhere(resources, corpus):
    ingest(resources, corpus)
    target = corpus / "002_34b770f422913c14.txt"
    target.unlink()
    report = ingest(resources, corpus)
    assert report.count("removed") == 1
    assert str(target) not in resources.facts.file_states()
    assert resources.facts.counts()["public"][0] == 2
    assert_indexes_agree(resources)
    assert lexical_sources(resources, "public", "Skolkovo") == set()


def test_ingesting_one_file_does_not_remove_the_rest_of_its_folder(resources, corpus):
    ingest(resources, corpus)
    report = ingest(resources, corpus / "000_72dd01ef1c94073d.txt")
    assert report.count("removed") == 0
    assert resources.facts.counts()["public"][0] == 3


def test_internal_documents_live_only_in_the_internal_indexes(resources, corpus, tmp_path):
    internal = tmp_path / "internal"
    internal.mkdir()
    (internal / "secret.md").write_text(
        "# Internal registry\n\nThe agreement with Zanzibar Polytechnic expires soon.\n",
        encoding="utf-8",
    )
    ingest(resources, corpus)
    ingest(resources, internal, visibility="internal")
    assert lexical_sources(resources, "internal", "Zanzibar") == {"internal/secret.md"}
    assert lexical_sources(resources, "public", "Zanzibar") == set()
    assert resources.vectors.count("internal") == len(served(resources, "internal")) > 0
    assert_indexes_agree(resources)


def test_reclassifying_a_folder_as_internal_withdraws_it_from_public(resources, corpus):
    ingest(resources, corpus)
    report = ingest(resources, corpus, visibility="internal")
    assert report.count("updated") == 3
    assert served(resources, "public") == set()
    assert lexical_sources(resources, "public", "Skolkovo") == set()
    assert lexical_sources(resources, "internal", "Skolkovo") == {"corpus/002_34b770f422913c14.txt"}
    assert_indexes_agree(resources)


def test_bad_files_are_reported_and_the_rest_of_the_batch_ingests(resources, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (corpus / "notes.jpg").write_bytes(b"\xff\xd8\xff")  # unsupported in a folder: skipped
    resources.settings.ingest.max_file_mb = 0.008  # 8 KB: only the 10 KB seed is too large
    report = ingest(resources, corpus)
    failed = {Path(o.path).name: o.error or "" for o in report.failed}
    assert set(failed) == {"empty.txt", "image.txt", "broken.pdf", "000_72dd01ef1c94073d.txt"}
    assert "empty" in failed["empty.txt"].lower()
    assert "binary" in failed["image.txt"].lower()
    assert "pdf" in failed["broken.pdf"].lower()
    assert "too large" in failed["000_72dd01ef1c94073d.txt"].lower()
    assert report.count("added") == 2
    assert report.skipped == 1
    states = resources.facts.file_states()
    assert states[str(corpus / "empty.txt")].status == "failed"
    assert states[str(corpus / "empty.txt")].error
    assert_indexes_agree(resources)
    # running again reports the same failures without re-reading anything
    again = ingest(resources, corpus)
    assert not again.changed
    assert {Path(o.path).name for o in again.outcomes if o.error} == set(failed)


def test_a_broken_new_version_keeps_the_previous_version_served(resources, corpus):
    ingest(resources, corpus)
    target = corpus / "002_34b770f422913c14.txt"
    before = served(resources, "public")
    target.write_bytes(b"\x00\x01\x02\x03" * 100)
    report = ingest(resources, corpus)
    assert [Path(o.path).name for o in report.failed] == [target.name]
    assert "still served" in (report.failed[0].error or "")
    assert served(resources, "public") == before
    assert "corpus/002_34b770f422913c14.txt" in lexical_sources(resources, "public", "Skolkovo")


class _BoomError(RuntimeError):
    pass


def test_a_run_that_dies_before_its_commit_leaves_the_old_state_served(
    resources, corpus, monkeypatch, fake_embedder
):
    ingest(resources, corpus)
    before_ids = served(resources, "public")
    before_generation = resources.facts.get_meta(lexical_key("public"))
    for file in corpus.glob("*.txt"):
        file.write_text(file.read_text(encoding="utf-8") + "\n\nAddendum about Wombat College.\n")

    def explode(*args: object, **kwargs: object) -> None:
        raise _BoomError("simulated crash in the middle of the commit")

    with monkeypatch.context() as patch:
        patch.setattr(resources.lexical, "write", explode)
        with pytest.raises(_BoomError):
            ingest(resources, corpus)
    # nothing of the new version is served; vectors written before the crash are invisible
    assert served(resources, "public") == before_ids
    assert resources.facts.get_meta(lexical_key("public")) == before_generation
    assert lexical_sources(resources, "public", "Wombat") == set()
    # the next run completes, reusing vectors already written, and leaves no orphans
    embedded_before = fake_embedder.passages_embedded
    report = ingest(resources, corpus)
    assert report.count("updated") == 3
    assert report.reused_chunks > 0
    assert fake_embedder.passages_embedded - embedded_before == report.embedded_chunks
    assert_indexes_agree(resources)
    assert len(lexical_sources(resources, "public", "Wombat")) == 3


def test_a_missing_path_is_a_clear_error(resources, tmp_path):
    from ingest.discovery import IngestPathError

    with pytest.raises(IngestPathError, match="no such file or folder"):
        ingest(resources, tmp_path / "nope")


def test_changing_the_embedding_model_reembeds_into_its_own_collections(
    settings, corpus, fake_embedder
):
    from assistant.resources import open_resources

    first = open_resources(settings, embedder=fake_embedder)
    ingest(first, corpus)
    first.close()

    class OtherModel(FakeEmbedder):
        key = "other-model"

    other = OtherModel()
    second = open_resources(settings, embedder=other)
    report = ingest(second, corpus)
    assert report.count("updated") == 3
    assert other.passages_embedded == report.embedded_chunks > 0
    assert second.vectors.collection_name("public") == "coop_public_other-model"
    assert_indexes_agree(second)
    second.close()


def test_a_changed_file_tokenizes_only_its_new_chunks_and_the_index_equals_a_whole_build(
    resources, corpus, monkeypatch
):
    """The next lexical generation is derived from the served one: the other files' chunks
    are not read or tokenized again, and it answers exactly as one built from every chunk."""
    ingest(resources, corpus)
    tokenized: list[str] = []
    tokenize = resources.lexical.tokenizer.tokenize

    def counting(text: str) -> list[str]:
        tokenized.append(text)
        return list(tokenize(text))

    monkeypatch.setattr(resources.lexical.tokenizer, "tokenize", counting)
    changed = sorted(corpus.glob("*.txt"))[0]
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nA new paragraph about Zanzibar.\n", "utf-8"
    )
    before = served(resources, "public")
    assert ingest(resources, corpus).count("updated") == 1
    new_chunks = served(resources, "public") - before
    assert 0 < len(tokenized) == len(new_chunks) < len(served(resources, "public"))
    assert_indexes_agree(resources)
    generation = resources.facts.get_meta(lexical_key("public"))
    derived = resources.lexical.load("public", generation)
    rows = resources.facts.served_lexical_rows("public")
    whole = LexicalIndex.from_rows(rows, resources.lexical.tokenizer)
    assert derived.ids == whole.ids
    for query in ("Zanzibar", "agreement expires", "World Health Organization contact"):
        assert derived.search(query, 20) == whole.search(query, 20)
    assert derived.search("Zanzibar", 3)[0][0] in new_chunks


def test_a_lexical_index_of_the_older_layout_is_served_and_rewritten_by_the_next_ingest(
    resources, corpus
):
    """An index written by bm25s (before term counts were kept) still answers, indexed in
    memory from the served chunks; the next ingest, even with nothing changed, rewrites it."""
    ingest(resources, corpus)
    generation = resources.facts.get_meta(lexical_key("public"))
    assert generation is not None
    folder = resources.settings.data_dir / "lexical" / "public" / generation
    expected = resources.lexical.load("public", generation).search("Minsk agreement", 5)
    for name in ("lexical.json", "counts.npz", "vocab.json"):
        (folder / name).unlink()
    (folder / "params.index.json").write_text("{}", encoding="utf-8")  # as bm25s left it
    assert not resources.lexical.current("public", generation)
    searcher = build_assistant(resources).searcher
    hits = searcher.lexical_index("public").search("Minsk agreement", 5)
    assert hits == expected
    report = ingest(resources, corpus)
    assert report.count("unchanged") == 3
    rewritten = resources.facts.get_meta(lexical_key("public"))
    assert rewritten != generation and resources.lexical.current("public", rewritten)
    assert resources.lexical.load("public", rewritten).search("Minsk agreement", 5) == expected
    assert_indexes_agree(resources)


def test_an_ingest_leaves_its_writes_in_the_database_file_not_the_log(resources, corpus):
    """Questions read the facts database by page; pages found only in the log are slower to
    read, and a serving process never copies them itself."""
    import sqlite3

    path = resources.settings.facts_db_path
    reader = sqlite3.connect(path)  # a serving process, open throughout
    reader.execute("SELECT COUNT(*) FROM chunks").fetchone()
    ingest(resources, corpus)
    assert Path(f"{path}-wal").stat().st_size == 0
    assert reader.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] > 3
    reader.close()
