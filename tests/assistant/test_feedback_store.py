"""The feedback store: answers are kept as given, rated by their own audience only, one rating per
answer (the latest), exported as spreadsheet-safe CSV, and shared safely by several writers."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.models import Answer, Citation
from assistant.feedback import (
    CSV_COLUMNS,
    FEEDBACK_FILE,
    MAX_COMMENT_CHARS,
    FeedbackStore,
    UnknownAnswerError,
    export_csv,
)
from assistant.retrieval.audience import Audience


def make_answer(text: str = "The agreement was signed in 2020. [1]", **changes: object) -> Answer:
    citation = Citation(
        n=1,
        doc_id="4bd99084fc88d19c",
        source="public/sample/002.txt",
        title="Sochi",
        section="Sochi",
        quote="signed in 2020",
        start=10,
        end=24,
        url="/sources/4bd99084fc88d19c?start=10&end=24",
    )
    answer = Answer(
        answer=text,
        citations=[citation],
        found=True,
        mode="extractive",
        language="en",
        session_id="session-1",
    )
    return answer.model_copy(update=changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    opened = FeedbackStore(tmp_path / "var" / FEEDBACK_FILE)
    yield opened
    opened.close()


def export(store: FeedbackStore) -> list[dict[str, str]]:
    buffer = io.StringIO()
    written = store.write_csv(buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert written == len(rows)
    return rows


def test_a_rated_answer_is_exported_with_what_was_asked_and_answered(store):
    answer = make_answer()
    store.record_answer(answer, question="When was it signed?", audience="public", channel="api")
    record = store.add_feedback(
        answer.answer_id, audience="public", rating="up", comment="  Spot on.  "
    )
    assert record.rating == "up" and record.comment == "Spot on."
    [row] = export(store)
    assert row == {
        "answer_id": answer.answer_id,
        "rated_at": record.rated_at,
        "rating": "up",
        "comment": "Spot on.",
        "audience": "public",
        "channel": "api",
        "question": "When was it signed?",
        "answer": answer.answer,
        "found": "yes",
        "mode": "extractive",
        "language": "en",
        "sources": "[1] public/sample/002.txt (4bd99084fc88d19c)",
    }
    assert record.rated_at.endswith("+00:00")


def test_only_rated_answers_are_exported_and_the_header_always_is(store):
    store.record_answer(make_answer(), question="Q?", audience="public", channel="api")
    buffer = io.StringIO()
    assert store.write_csv(buffer) == 0
    assert buffer.getvalue().strip() == ",".join(CSV_COLUMNS)


def test_rating_again_replaces_the_earlier_rating_and_comment(store):
    answer = make_answer()
    store.record_answer(answer, question="Q?", audience="staff", channel="telegram")
    store.add_feedback(answer.answer_id, audience="staff", rating="up", comment="good")
    store.add_feedback(answer.answer_id, audience="staff", rating="down", comment=None)
    [row] = export(store)
    assert (row["rating"], row["comment"], row["channel"]) == ("down", "", "telegram")


def test_recording_an_answer_again_keeps_the_first_record(store):
    answer = make_answer()
    store.record_answer(answer, question="Original?", audience="staff", channel="api")
    store.record_answer(answer, question="Changed?", audience="public", channel="chat")
    with pytest.raises(UnknownAnswerError):
        store.add_feedback(answer.answer_id, audience="public", rating="up", comment=None)
    store.add_feedback(answer.answer_id, audience="staff", rating="up", comment=None)
    [row] = export(store)
    assert (row["question"], row["audience"], row["channel"]) == ("Original?", "staff", "api")


def test_an_unknown_answer_cannot_be_rated(store):
    with pytest.raises(UnknownAnswerError):
        store.add_feedback("0" * 32, audience="staff", rating="up", comment=None)
    assert export(store) == []


def test_an_answer_can_only_be_rated_by_the_audience_it_was_given_to(store):
    staff_answer, public_answer = make_answer(), make_answer()
    store.record_answer(staff_answer, question="Secret?", audience="staff", channel="api")
    store.record_answer(public_answer, question="Open?", audience="public", channel="api")
    with pytest.raises(UnknownAnswerError) as probing:
        store.add_feedback(staff_answer.answer_id, audience="public", rating="down", comment="x")
    with pytest.raises(UnknownAnswerError) as unknown:
        store.add_feedback("f" * 32, audience="public", rating="down", comment="x")
    assert type(probing.value) is type(unknown.value)
    with pytest.raises(UnknownAnswerError):
        store.add_feedback(public_answer.answer_id, audience="staff", rating="up", comment=None)
    assert export(store) == []


@pytest.mark.parametrize(
    ("rating", "comment"), [("meh", None), ("UP", None), ("up", "x" * (MAX_COMMENT_CHARS + 1))]
)
def test_a_bad_rating_or_overlong_comment_is_refused(store, rating, comment):
    answer = make_answer()
    store.record_answer(answer, question="Q?", audience="public", channel="api")
    with pytest.raises(ValueError, match=r"rating|comment"):
        store.add_feedback(answer.answer_id, audience="public", rating=rating, comment=comment)
    assert export(store) == []


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\t=1"])
def test_exported_cells_never_start_a_formula(store, dangerous):
    answer = make_answer(text=dangerous)
    store.record_answer(answer, question=dangerous, audience="public", channel="api")
    store.add_feedback(answer.answer_id, audience="public", rating="down", comment=dangerous)
    [row] = export(store)
    for column in ("question", "answer"):
        assert row[column] == "'" + dangerous
    assert row["comment"] == "'" + dangerous.strip()


def test_cyrillic_survives_the_export_and_a_missing_file_gives_the_header(tmp_path):
    data_dir = tmp_path / "var"
    empty = io.StringIO()
    assert export_csv(data_dir, empty) == 0
    assert empty.getvalue().strip() == ",".join(CSV_COLUMNS)
    assert not (data_dir / FEEDBACK_FILE).exists()

    store = FeedbackStore(data_dir / FEEDBACK_FILE)
    answer = make_answer(text="Соглашение подписано в 2020 году. [1]", language="ru")
    store.record_answer(answer, question="Когда подписано?", audience="public", channel="chat")
    store.add_feedback(answer.answer_id, audience="public", rating="up", comment="Спасибо!")
    store.close()

    target = data_dir / "feedback.csv"
    with target.open("w", encoding="utf-8-sig", newline="") as stream:
        assert export_csv(data_dir, stream) == 1
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    [row] = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    assert row["question"] == "Когда подписано?"
    assert row["comment"] == "Спасибо!"
    assert row["answer"] == answer.answer


def test_ratings_survive_reopening(tmp_path):
    path = tmp_path / FEEDBACK_FILE
    first = FeedbackStore(path)
    answer = make_answer()
    first.record_answer(answer, question="Q?", audience="public", channel="api")
    first.close()
    second = FeedbackStore(path)
    second.add_feedback(answer.answer_id, audience="public", rating="up", comment=None)
    assert len(export(second)) == 1
    second.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_two_stores_on_one_file_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / FEEDBACK_FILE
    stores = [FeedbackStore(path), FeedbackStore(path)]
    per_thread = 40
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(store: FeedbackStore, audience: Audience) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                answer = make_answer(text=f"answer {i}")
                store.record_answer(answer, question=f"q {i}", audience=audience, channel="api")
                store.add_feedback(
                    answer.answer_id, audience=audience, rating="up", comment=f"c {i}"
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(store, audience))
        for store in stores
        for audience in ("public", "staff")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    rows = export(stores[0])
    assert len(rows) == 4 * per_thread
    assert len({row["answer_id"] for row in rows}) == 4 * per_thread
    assert export(stores[1]) == rows
    for store in stores:
        store.close()
