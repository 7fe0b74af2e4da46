"""Sentence vectors computed after ingest and kept on disk: a question then embeds no sentence,
answers are the same as without them, a changed document never reuses stale vectors, and what
is no longer served is forgotten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import assistant.resources
from assistant import cli
from assistant.answering.factory import build_assistant, build_selector
from assistant.resources import Resources, open_resources
from assistant.retrieval.sentences import embed_sentences
from assistant.settings import IngestSettings
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings
from vectorstore.sentence_store import sentence_key

QUESTIONS = [
    "When does the agreement with the Vietnamese Institute of Occupational Health expire?",
    "Who won the competition?",
    "Какие мероприятия проводились с партнёрами из Кубы?",
]


def _ingest(resources: Resources, embedder: FakeEmbedder, corpus: Path) -> None:
    IngestService(
        resources.settings, resources.facts, resources.vectors, resources.lexical, embedder
    ).ingest([corpus], "public")


@pytest.fixture
def corpus(resources: Resources, fake_embedder: FakeEmbedder, tmp_path: Path) -> Path:
    """The sample corpus, copied and ingested (public)."""
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, folder)
    _ingest(resources, fake_embedder, folder)
    return folder


def _answers(resources: Resources) -> list[tuple[str, list[tuple[str, int, int]]]]:
    assistant = build_assistant(resources)
    answers = [assistant.ask(q, "public") for q in QUESTIONS]
    return [(a.answer, [(c.doc_id, c.start, c.end) for c in a.citations]) for a in answers]


def test_after_the_sentence_stage_questions_embed_no_sentence_and_answer_the_same(
    resources: Resources, fake_embedder: FakeEmbedder, corpus: Path
) -> None:
    before = fake_embedder.passages_embedded
    computed_on_demand = _answers(resources)
    assert fake_embedder.passages_embedded > before  # without the stage, questions embed

    resources.sentences.prune(set(), set())  # forget everything: as if never computed
    assert resources.sentences.count() == 0
    embedded = embed_sentences(resources.facts, build_selector(resources), resources.sentences)
    assert embedded > 0 and resources.sentences.count() > 0
    before = fake_embedder.passages_embedded
    assert _answers(resources) == computed_on_demand
    assert fake_embedder.passages_embedded == before  # every sentence came from the store

    # Incremental: nothing new, nothing embedded.
    assert embed_sentences(resources.facts, build_selector(resources), resources.sentences) == 0


def test_a_changed_document_gets_new_vectors_and_a_removed_one_is_forgotten(
    resources: Resources, fake_embedder: FakeEmbedder, corpus: Path
) -> None:
    embed_sentences(resources.facts, build_selector(resources), resources.sentences)
    page = sorted(corpus.glob("*.txt"))[0]
    page.write_text(
        "Changed page.\n\nThe delegation from Hanoi arrived on 3 March 2026 for talks.\n",
        encoding="utf-8",
    )
    _ingest(resources, fake_embedder, corpus)
    before = fake_embedder.passages_embedded
    assert embed_sentences(resources.facts, build_selector(resources), resources.sentences) > 0
    assert fake_embedder.passages_embedded > before  # only the changed page's sentences
    changed = next(
        state.doc_id
        for state in resources.facts.file_states().values()
        if state.path == str(page.resolve())
    )
    assert changed is not None
    document = resources.facts.get_document(changed)
    assert document is not None
    start = document.text.index("The delegation")
    end = document.text.index("talks.") + len("talks.")
    key = sentence_key(changed, start, end, document.text[start:end])
    assert key in resources.sentences.get_many([key])

    page.unlink()
    _ingest(resources, fake_embedder, corpus)
    embed_sentences(resources.facts, build_selector(resources), resources.sentences)
    assert key not in resources.sentences.get_many([key])


def test_a_store_that_cannot_be_read_or_written_never_fails_an_answer(
    resources: Resources, fake_embedder: FakeEmbedder, corpus: Path
) -> None:
    expected = _answers(resources)
    resources.sentences._conn.execute("DROP TABLE vectors")  # every read and write now fails
    before = fake_embedder.passages_embedded
    assert _answers(resources) == expected  # answered all the same, sentences computed
    assert fake_embedder.passages_embedded > before


@pytest.mark.parametrize("keep", [True, False])
def test_coop_ingest_keeps_sentence_vectors_unless_told_not_to(
    keep: bool,
    fake_embedder: FakeEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(tmp_path / "var", ingest=IngestSettings(sentence_vectors=keep))
    monkeypatch.setattr(
        assistant.resources,
        "open_resources",
        lambda settings, **_: open_resources(settings, embedder=fake_embedder),
    )
    assert cli._run_ingest(settings, [SAMPLE_DIR], "public", as_json=True) == 0
    reported = json.loads(capsys.readouterr().out)["embedded_sentences"]
    resources = open_resources(settings, embedder=fake_embedder)
    try:
        kept = resources.sentences.count()
    finally:
        resources.close()
    assert (reported > 0, kept > 0) == (keep, keep)
    assert kept == reported
