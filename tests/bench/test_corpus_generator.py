"""The synthetic corpus of the scale benchmark: deterministic, bilingual, with findable facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.resources import open_resources
from bench.corpus_generator import CorpusInfo, generate_corpus
from ingest.sync import IngestService
from tests.conftest import FakeEmbedder, make_settings
from vectorstore.facts_store import list_agreements

# Measured: 100% of the generated agreements of a 300-chunk corpus (seed 0) are extracted
# with the end date the generator meant; the floor leaves room for phrasing changes.
EXTRACTED_FLOOR = 0.8


def _contents(info: CorpusInfo) -> dict[str, bytes]:
    return {name: (info.root / name).read_bytes() for name in info.files}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusInfo:
    return generate_corpus(tmp_path_factory.mktemp("corpus") / "corpus", chunks=300, seed=7)


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "a", chunks=60, seed=3)
    second = generate_corpus(tmp_path / "b", chunks=60, seed=3)
    assert _contents(first) == _contents(second)
    assert first.questions == second.questions


def test_another_seed_writes_other_files(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "a", chunks=60, seed=3)
    other = generate_corpus(tmp_path / "b", chunks=60, seed=4)
    assert _contents(first) != _contents(other)


def test_both_languages_and_a_registry(corpus: CorpusInfo) -> None:
    languages = [a.language for a in corpus.agreements if not a.file.endswith(".csv")]
    russian = languages.count("ru") / len(languages)
    assert 0.15 < russian < 0.45
    texts = _contents(corpus).values()
    assert any("Соглашение" in t.decode() or "Договор" in t.decode() for t in texts)
    assert corpus.registries >= 1
    assert {Path(name).suffix for name in corpus.files} == {".md", ".txt", ".csv"}


def test_every_agreement_date_is_written_in_its_file(corpus: CorpusInfo) -> None:
    for agreement in corpus.agreements:
        text = (corpus.root / agreement.file).read_text(encoding="utf-8")
        assert agreement.partner in text
        for literal in (agreement.signed_text, agreement.ends_text):
            if literal is not None:
                assert literal in text, (agreement.file, literal)
        assert agreement.signed_text or agreement.ends_text


def test_questions_point_at_existing_files_that_hold_the_answer(corpus: CorpusInfo) -> None:
    expiry = [q for q in corpus.questions if q.kind == "expiry"]
    assert expiry and any(q.kind == "structured" for q in corpus.questions)
    assert {q.language for q in expiry} == {"en", "ru"}
    for question in expiry:
        assert question.file is not None
        path = corpus.root / question.file
        assert path.is_file()
        assert question.expected in path.read_text(encoding="utf-8")


def test_ingest_yields_about_the_target_and_extracts_the_agreements(
    corpus: CorpusInfo, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "var")
    embedder = FakeEmbedder()
    resources = open_resources(settings, embedder=embedder)
    try:
        report = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        ).ingest([corpus.root], "public")
        assert not report.failed
        assert 0.6 * 300 <= report.embedded_chunks <= 1.4 * 300
        assert abs(report.embedded_chunks - corpus.estimated_chunks) <= 0.1 * 300
        stored = list_agreements(resources.facts, ("public",))
    finally:
        resources.close()
    found = {(s.source.split("/", 1)[1], s.fact.ends_on) for s in stored}
    matched = [a for a in corpus.agreements if (a.file, a.ends_on) in found]
    share = len(matched) / len(corpus.agreements)
    assert share >= EXTRACTED_FLOOR, f"only {share:.0%} of the generated agreements extracted"
