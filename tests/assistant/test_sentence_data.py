"""What the answer step reads of a chunk's sentences whatever the question (offsets, stemmed
terms, words, kinds of answer) is kept by the sentence stage: read back it is exactly what
working it out gives, answers read it instead of splitting and stemming chunks again, and data
written under other rules (an older release) is never read but written again, without
embedding anything."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assistant.retrieval.evidence as evidence_module
from assistant.answering.factory import build_assistant, build_selector
from assistant.resources import Resources
from assistant.retrieval.evidence import (
    EvidenceSelector,
    decode_sentences,
    encode_sentences,
)
from assistant.retrieval.question_analysis import (
    ANSWER_TYPES,
    AnswerType,
    answer_types_in,
    has_answer_type,
    has_type_bit,
)
from assistant.retrieval.sentences import embed_sentences
from tests.conftest import REPO, SAMPLE_DIR, FakeEmbedder
from vectorstore.lexical import BilingualTokenizer
from vectorstore.records import ChunkRecord
from vectorstore.sentence_store import SentenceStore

QUESTIONS = [
    "When does the agreement with the Vietnamese Institute of Occupational Health expire?",
    "Who won the competition?",
    "Какие мероприятия проводились с партнёрами из Кубы?",
    "What is the e-mail of the contact for the Skolkovo agreement?",
]

_PIECES = [
    "The agreement",
    "with the Northern Institute",
    "runs until 18 November 2026.",
    "Contact: Dr. N. Rubtsova,",
    "+7 495 123-45-67,",
    "office@example.org.",
    "Three visits were held:",
    "\n- 1. Exchange of students.",
    "\n- 2. Joint seminars.",
    "Соглашение с Центральным институтом",
    "действует до 16.10.2029 г.",
    "Выделено 2 млн рублей.",
    "Иван Петров подписал его.",
    "\n\n",
    "\n",
    " ",
    "WHO and IARC",
    "x",
    "Ёлка — ёж.",
]


def _chunk(text: str, section: str, start: int) -> ChunkRecord:
    return ChunkRecord(
        chunk_id="c", doc_id="d", ord=0, start=start, end=start + len(text), text=text,
        section=section, title="T", source="s.md", language="en", visibility="public",
        content_hash="",
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=14),
    separators=st.lists(st.sampled_from([" ", "\n", "\n\n", ". ", "\t"]), max_size=14),
    section=st.sampled_from(["", "Partners", "Cooperation > Agreements > Contacts"]),
    start=st.integers(min_value=0, max_value=10_000),
)
def test_kept_sentence_data_reads_back_as_it_was_worked_out(
    pieces: list[str], separators: list[str], section: str, start: int
) -> None:
    gaps = [*separators, *[" "] * len(pieces)]
    text = "".join(piece + gap for piece, gap in zip(pieces, gaps, strict=False))
    chunk = _chunk(text, section, start)
    selector = EvidenceSelector(FakeEmbedder(), BilingualTokenizer())
    worked_out = selector._compute(chunk)
    assert decode_sentences(chunk, encode_sentences(chunk, worked_out)) == worked_out
    for sentence in worked_out:
        assert sentence.text == text[sentence.start - start : sentence.end - start]
        assert sentence.types == answer_types_in(sentence.text)


def test_every_kind_of_answer_has_its_bit() -> None:
    assert set(ANSWER_TYPES) == set(get_args(AnswerType))
    assert len(ANSWER_TYPES) == len(set(ANSWER_TYPES))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=6).map(" ".join))
def test_the_kinds_of_answer_kept_say_what_checking_the_text_says(text: str) -> None:
    types = answer_types_in(text)
    for kind in (*ANSWER_TYPES, None):
        assert has_type_bit(types, kind) == has_answer_type(text, kind)


def test_the_data_format_names_the_rules_and_no_process_detail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    selector = EvidenceSelector(FakeEmbedder(), BilingualTokenizer())
    same = EvidenceSelector(FakeEmbedder(), BilingualTokenizer()).data_format
    assert selector.data_format == same
    # Another process (another string hash seed: set orders differ) names the same format.
    code = (
        "from assistant.retrieval.evidence import EvidenceSelector\n"
        "from vectorstore.lexical import BilingualTokenizer\n"
        "print(EvidenceSelector(None, BilingualTokenizer()).data_format)\n"
    )
    for seed in ("1", "2"):
        child = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True, text=True, check=True, cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert child.stdout.strip() == same
    # Other rules for splitting sentences: another format.
    monkeypatch.setattr(evidence_module, "MAX_SENTENCE_CHARS", 40)
    assert EvidenceSelector(FakeEmbedder(), BilingualTokenizer()).data_format != same


class _Counting:
    """Counts how often chunks' sentences are worked out instead of read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.chunks = 0
        original = EvidenceSelector._compute

        def compute(selector: EvidenceSelector, chunk: ChunkRecord, **kwargs: bool) -> object:
            self.chunks += chunk.chunk_id != "probe"  # the format's own probe aside
            return original(selector, chunk, **kwargs)

        monkeypatch.setattr(EvidenceSelector, "_compute", compute)


def _answers(resources: Resources) -> list[tuple[str, list[tuple[str, int, int]]]]:
    assistant = build_assistant(resources)
    answers = [assistant.ask(q, "public") for q in QUESTIONS]
    return [(a.answer, [(c.doc_id, c.start, c.end) for c in a.citations]) for a in answers]


@pytest.fixture
def served(resources: Resources, tmp_path: Path) -> Resources:
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, folder)
    resources.ingest_service().ingest([folder], "public")
    return resources


def test_after_the_sentence_stage_answers_read_sentences_and_answer_the_same(
    served: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _Counting(monkeypatch)
    worked_out = _answers(served)  # nothing kept yet: every chunk is worked out
    assert counting.chunks > 0

    embed_sentences(served.facts, build_selector(served), served.sentences)
    counting.chunks = 0
    assert _answers(served) == worked_out
    assert counting.chunks == 0  # every chunk's sentences were read back


def test_data_of_other_rules_is_not_read_and_is_written_again_without_embedding(
    served: Resources, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    embed_sentences(served.facts, build_selector(served), served.sentences)
    expected = _answers(served)
    kept = served.sentences.done_ids(build_selector(served).data_format)
    assert kept

    # A new release splits, stems or types sentences otherwise: its format differs.
    monkeypatch.setattr(evidence_module, "SENTENCE_DATA_LAYOUT", 999)
    counting = _Counting(monkeypatch)
    assert served.sentences.done_ids(build_selector(served).data_format) == set()
    assert _answers(served) == expected  # worked out, not read in the old format
    assert counting.chunks > 0

    before = fake_embedder.passages_embedded
    embed_sentences(served.facts, build_selector(served), served.sentences)
    assert fake_embedder.passages_embedded == before  # the vectors were kept: none embedded
    assert served.sentences.done_ids(build_selector(served).data_format) == kept
    counting.chunks = 0
    assert _answers(served) == expected
    assert counting.chunks == 0


def test_a_store_from_before_the_sentence_data_gets_it_at_the_next_stage_without_embedding(
    served: Resources, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    """A file an older release wrote (vectors, and a table of the chunks done) is opened
    without error; its chunks count as not done until the next sentence stage, which reads
    their vectors back instead of embedding them."""
    embed_sentences(served.facts, build_selector(served), served.sentences)
    path = tmp_path / "older.sqlite3"
    with sqlite3.connect(path) as older:
        older.executescript(
            "CREATE TABLE vectors (key TEXT PRIMARY KEY, doc_id TEXT NOT NULL, data BLOB NOT NULL);"
            "CREATE INDEX vectors_by_doc ON vectors(doc_id);"
            "CREATE TABLE chunks_done (chunk_id TEXT PRIMARY KEY);"
        )
        older.execute(f"ATTACH DATABASE '{served.sentences.path}' AS current")
        older.execute("INSERT INTO vectors SELECT * FROM current.vectors")
        older.execute("INSERT INTO chunks_done SELECT chunk_id FROM current.chunk_sentences")
    older.close()
    store = SentenceStore(path)
    try:
        selector = build_selector(served)
        assert store.done_ids(selector.data_format) == set()
        vectors = store.count()
        before = fake_embedder.passages_embedded
        assert embed_sentences(served.facts, EvidenceSelector(
            fake_embedder, served.lexical.tokenizer,
            cache=evidence_module.SentenceVectorCache(store=store),
        ), store) > 0  # fmt: skip
        assert fake_embedder.passages_embedded == before
        assert store.count() == vectors
        assert store.done_ids(selector.data_format) == served.sentences.done_ids(
            selector.data_format
        )
    finally:
        store.close()
    with sqlite3.connect(path) as reopened:
        tables = {row[0] for row in reopened.execute("SELECT name FROM sqlite_master")}
    reopened.close()
    assert "chunks_done" not in tables
