"""The naive pipeline the benchmarks compare against: textbook splitting and top-k, and, kept
on disk, a build that resumes instead of embedding everything again."""

from __future__ import annotations

from pathlib import Path

from assistant.evaluation.naive_baseline import NaiveRetriever
from tests.conftest import FakeEmbedder
from vectorstore.records import DocumentRecord


def _document(doc_id: str, text: str) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        source=f"{doc_id}.txt",
        title=doc_id,
        format="txt",
        language="en",
        visibility="public",
        text=text,
        content_hash=doc_id,
    )


DOCUMENTS = [
    _document(
        f"doc{n}",
        " ".join(
            f"Paragraph {p} of document {n} about partner {n} and topic {p}." for p in range(40)
        ),
    )
    for n in range(6)
] + [_document("tartu", "The agreement with the University of Tartu expires on 2027-03-31.")]


def test_it_splits_1000_200_and_returns_the_top_four_with_offsets() -> None:
    naive = NaiveRetriever(FakeEmbedder(), DOCUMENTS)
    assert naive.chunk_count > len(DOCUMENTS)  # long documents are split
    hits = naive.search("When does the University of Tartu agreement expire?")
    assert len(hits) == 4
    doc_id, source, start, text = hits[0]
    assert (doc_id, source) == ("tartu", "tartu.txt")
    document = next(d for d in DOCUMENTS if d.doc_id == doc_id)
    assert document.text[start : start + len(text)] == text
    assert all(len(text) <= 1000 for _, _, _, text in hits)


def test_kept_on_disk_a_second_build_embeds_only_what_is_missing(tmp_path: Path) -> None:
    first = FakeEmbedder()
    partial = NaiveRetriever(first, DOCUMENTS[:3], persist_dir=tmp_path / "naive")
    assert partial.embedded == first.passages_embedded == partial.chunk_count
    del partial

    second = FakeEmbedder()
    # Given in another order, as a resumed build may list them.
    full = NaiveRetriever(second, list(reversed(DOCUMENTS)), persist_dir=tmp_path / "naive")
    alone = NaiveRetriever(FakeEmbedder(), DOCUMENTS)
    assert full.chunk_count == alone.chunk_count
    assert 0 < second.passages_embedded == full.embedded < full.chunk_count
    question = "When does the University of Tartu agreement expire?"
    assert full.search(question)[0] == alone.search(question)[0]

    third = FakeEmbedder()
    again = NaiveRetriever(third, DOCUMENTS, persist_dir=tmp_path / "naive")
    assert third.passages_embedded == again.embedded == 0
    assert again.search(question)[0][0] == "tartu"
